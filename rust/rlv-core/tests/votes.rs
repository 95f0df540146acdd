//! Votes, clustering, estimators and dump reading of the pure-Rust core.

use std::io::Write;

use proptest::prelude::*;
use rlv_core::dump::{Config, Rescorer};
use rlv_core::grading::GradeOptions;
use rlv_core::votes::{
    cluster, estimate, pass_at_k, vote, ProblemSamples, VoteMethod, DEFAULT_MAX_COMPARISONS,
};

fn classes(answers: &[Option<&str>]) -> Vec<Option<u32>> {
    cluster(answers, &GradeOptions::default(), DEFAULT_MAX_COMPARISONS).class_of
}

#[test]
fn clusters_by_value_and_by_full_check() {
    let got = classes(&[
        Some("\\frac12"),
        Some("0.5"),
        Some("x+1"),
        None,
        Some("1+x"),
        Some(""),
        Some("\\sqrt{2}"),
        Some("2^{1/2}"),
        Some("x = 3"),
        Some("3"),
    ]);
    let want = [
        Some(0),
        Some(0),
        Some(1),
        None,
        Some(1),
        None,
        Some(2),
        Some(2),
        Some(3),
        Some(3),
    ];
    assert_eq!(got, want);
}

#[test]
fn votes_and_ties() {
    let cls = [Some(0), Some(1), Some(1), Some(0), None];
    let maj = vote(&cls, 2, None, VoteMethod::Majority).unwrap();
    assert_eq!((maj.class, maj.sample, maj.tied), (Some(0), Some(0), 2));
    let s = [0.1, 0.9, 0.2, 0.1, 1.0];
    let w = vote(&cls, 2, Some(&s), VoteMethod::Weighted).unwrap();
    assert_eq!(w.class, Some(1));
    let b = vote(&cls, 2, Some(&s), VoteMethod::BestOfN).unwrap();
    assert_eq!(
        (b.class, b.sample),
        (Some(1), Some(1)),
        "no-class sample 4 never wins"
    );
    assert!(vote(&cls, 2, None, VoteMethod::Weighted).is_err());
    assert!(vote(
        &cls,
        2,
        Some(&[0.5, f64::NAN, 0.1, 0.1, 0.1]),
        VoteMethod::Weighted
    )
    .is_err());
}

#[test]
fn pass_at_k_closed_form() {
    assert!((pass_at_k(4, 1, 2) - 0.5).abs() < 1e-15);
    assert_eq!(pass_at_k(10, 0, 5), 0.0);
    assert_eq!(pass_at_k(10, 10, 1), 1.0);
    assert!(pass_at_k(3, 1, 4).is_nan());
}

proptest! {
    #[test]
    fn estimates_are_probabilities_and_exact_at_the_ends(
        cls in proptest::collection::vec(-1i32..4, 1..40),
        correct in proptest::collection::vec(any::<bool>(), 4),
        scores in proptest::collection::vec(0.0f64..=1.0, 40),
        seed in any::<u64>(),
    ) {
        let n = cls.len();
        let class_of: Vec<Option<u32>> = cls.iter().map(|&c| u32::try_from(c).ok()).collect();
        let sample_correct: Vec<bool> = class_of.iter().map(|c| c.is_some_and(|c| correct[c as usize])).collect();
        let p = ProblemSamples {
            class_of: &class_of,
            class_correct: &correct,
            sample_correct: &sample_correct,
            scores: Some(&scores[..n]),
        };
        let ks = [1, 2, 3, 5, 8, 16, 32, n];
        let e = estimate(&p, &ks, 30, seed, 7);
        for m in [&e.pass, &e.majority, &e.weighted, &e.best_of] {
            for (&k, &v) in ks.iter().zip(m.iter()) {
                if k > n { prop_assert!(v.is_nan()); } else { prop_assert!((-1e-12..=1.0 + 1e-12).contains(&v)); }
            }
        }
        // Same seed, same numbers; k = N does not depend on the seed.
        let again = estimate(&p, &ks, 30, seed, 7);
        // (Debug strings: NaN entries compare equal that way.)
        prop_assert_eq!(format!("{e:?}"), format!("{again:?}"));
        let other = estimate(&p, &ks, 30, seed ^ 1, 7);
        prop_assert_eq!(e.majority.last(), other.majority.last());
    }

    #[test]
    fn clustering_never_panics(answers in proptest::collection::vec(proptest::option::of("[0-9x+\\-\\\\{}()., ]{0,12}"), 0..30)) {
        let refs: Vec<Option<&str>> = answers.iter().map(|a| a.as_deref()).collect();
        let c = cluster(&refs, &GradeOptions::default(), 500);
        prop_assert_eq!(c.class_of.len(), answers.len());
        for (i, &f) in c.first.iter().enumerate() {
            prop_assert_eq!(c.class_of[f], Some(i as u32));
        }
    }
}

fn write(path: &std::path::Path, text: &[u8]) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(text)
        .unwrap();
}

fn run(path: &std::path::Path, cfg: Config) -> rlv_core::Result<usize> {
    let mut r = Rescorer::open(path.to_str().unwrap(), cfg, 0)?;
    let mut problems = 0;
    while let Some(b) = r.next_batch()? {
        problems += b.problems.len();
    }
    Ok(problems)
}

#[test]
fn reads_gzip_members_and_reports_bad_rows() {
    let dir = std::env::temp_dir().join(format!("rlv-votes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let row = |id: u32| {
        format!("{{\"problem_id\": {id}, \"gold\": \"2\", \"completions\": [\"\\\\boxed{{2}}\", \"\\\\boxed{{3}}\"]}}\n")
    };
    // Two concatenated gzip members.
    let mut gz = Vec::new();
    for id in 0..2 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(row(id).as_bytes()).unwrap();
        gz.extend(enc.finish().unwrap());
    }
    let p = dir.join("two.jsonl.gz");
    write(&p, &gz);
    assert_eq!(run(&p, Config::default()).unwrap(), 2);

    let bad = dir.join("bad.jsonl");
    write(
        &bad,
        format!("{}{{\"problem_id\": 5}}\n", row(0)).as_bytes(),
    );
    let err = run(&bad, Config::default()).unwrap_err().to_string();
    assert!(
        err.contains("bad.jsonl:2: field \"gold\": missing"),
        "{err}"
    );
    let cfg = Config {
        skip_invalid: true,
        ..Config::default()
    };
    assert_eq!(run(&bad, cfg).unwrap(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
