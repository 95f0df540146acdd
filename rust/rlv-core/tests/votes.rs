//! Votes, clustering, estimators and dump reading of the pure-Rust core.

use std::io::Write;

use proptest::prelude::*;
use rlv_core::estimators::{estimate, pass_at_k, ProblemSamples};
use rlv_core::grading::equiv::{compare_prepared, Prepared};
use rlv_core::grading::{is_equiv, GradeOptions, PercentPolicy, Status};
use rlv_core::rescore::{Config, Rescorer};
use rlv_core::votes::{
    cluster, cluster_and_vote, cluster_and_vote_batch, vote, VoteMethod, DEFAULT_MAX_COMPARISONS,
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

/// Relations, and the numbers and structures they may equal.
const RELATIONS: [&str; 75] = [
    "x = 498",
    "x=498",
    "x = 498.0",
    "y = 498",
    "498 = x",
    "2x = 996",
    "x - 498 = 0",
    "x = 12",
    "x = \\frac{996}{2}",
    "498",
    "498.0",
    "\\{498\\}",
    "12",
    "x = 1000000000",
    "x = 2000000000",
    "x = 10^{12}",
    "y = 10^{12}",
    "10^{12}",
    "x = 1/3 \\approx 0.33",
    "0.33",
    "\\frac{1}{3}",
    "x \\approx 0.333",
    "x > 3",
    "(3, \\infty)",
    "x \\ge 3",
    "1 < x < 2",
    "(1, 2)",
    "x^2 = 4",
    "x = \\pm 2",
    "2, -2",
    "x = 2",
    "f(x) = 2",
    "f(y) = 2",
    "W(n) = 1",
    "W(x) = 1",
    "\\gcd(54, 42) = 6",
    "6",
    "y = 2x + 1",
    "y - 2x = 1",
    "2y = 4x + 2",
    "x + y = 3",
    "(x, y) = (1, 2)",
    "x = y = 3",
    "3 = 3",
    "34^2 = 1156",
    "1156 = 34^2",
    "\\binom{3}{2} = 3",
    "\\gcd(39, 3) = 3",
    "(x + 1)^2 = x^2 + 2x + 1",
    "2 + 2 = 4",
    "2 + 2 = 5",
    "(1, 2) = (1, 2)",
    "0.5 = \\frac{1}{2}",
    // Issue 20: exact equations, tautologies side by side, false chains, perturbations.
    "x = 20000",
    "x = 20001",
    "x = 1000000000",
    "x = 2000000000",
    "2x = 40000",
    "(x+39)(x+49) = x^2+88x+1911",
    "x^2+88x+1911 = (x+39)(x+49)",
    "26^2 = 676",
    "676 = 26^2",
    "x^2 + 2x + 1 = (x + 1)^2",
    "7 = 6",
    "x = 2 + 3 = 5",
    "x = 2 + 3 = 6",
    "y = \\sin x",
    "y = \\sin x + 10^{-15}",
    "2y = 2\\sin x",
    "x = \\pi",
    "x = \\pi + 10^{-12}",
    "\\sin 30^\\circ = \\frac12",
    "\\frac12",
    "6",
    "5",
];

/// Keys only rule out pairs that the full check finds unequal: the prepared comparison
/// (keys first) and `is_equiv` agree on equality, for every pair in both roles.
#[test]
fn keys_never_rule_out_equal_answers() {
    for opts in [
        GradeOptions::default(),
        GradeOptions {
            percent: PercentPolicy::Value,
            ..GradeOptions::default()
        },
        GradeOptions {
            interval_inequality: false,
            ..GradeOptions::default()
        },
        GradeOptions {
            rel_tol: 1e-4,
            ..GradeOptions::default()
        },
    ] {
        let prepared: Vec<Prepared> = RELATIONS.iter().map(|a| Prepared::new(a, &opts)).collect();
        let mut pruned = 0;
        for (a, pa) in RELATIONS.iter().zip(&prepared) {
            for (b, pb) in RELATIONS.iter().zip(&prepared) {
                let full = is_equiv(a, b, &opts) == Status::Equal;
                let keyed = compare_prepared(pa, pb, &opts) == Status::Equal;
                assert_eq!(full, keyed, "{a:?} vs {b:?}");
                if !pa.key.may_equal(&pb.key, opts.rel_tol) {
                    pruned += 1;
                    assert!(!full, "{a:?} vs {b:?} ruled out but equal");
                }
            }
        }
        assert!(pruned > 500, "{pruned}");
        // Classes are the connected components of pairwise equality.
        let answers: Vec<Option<&str>> = RELATIONS.iter().map(|a| Some(*a)).collect();
        let got = cluster(&answers, &opts, DEFAULT_MAX_COMPARISONS).class_of;
        let n = RELATIONS.len();
        let mut comp: Vec<usize> = (0..n).collect();
        fn root(c: &mut [usize], mut x: usize) -> usize {
            while c[x] != x {
                x = c[x];
            }
            x
        }
        for (i, a) in RELATIONS.iter().enumerate() {
            for (j, b) in RELATIONS.iter().enumerate().skip(i + 1) {
                if is_equiv(a, b, &opts) == Status::Equal {
                    let (ri, rj) = (root(&mut comp, i), root(&mut comp, j));
                    comp[ri.max(rj)] = ri.min(rj);
                }
            }
        }
        for i in 0..n {
            for j in 0..n {
                assert_eq!(
                    got[i] == got[j],
                    root(&mut comp, i) == root(&mut comp, j),
                    "{:?} vs {:?}",
                    RELATIONS[i],
                    RELATIONS[j]
                );
            }
        }
    }
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
fn cluster_and_vote_is_cluster_then_vote() {
    let answers = [
        Some("1/2"),
        Some("3"),
        None,
        Some("0.5"),
        Some("3"),
        Some("\\frac12"),
    ];
    let scores = [0.1, 0.9, 0.5, 0.2, 0.8, 0.3];
    let opts = GradeOptions::default();
    for method in [
        VoteMethod::Majority,
        VoteMethod::Weighted,
        VoteMethod::BestOfN,
    ] {
        let pool = cluster_and_vote(
            &answers,
            Some(&scores),
            method,
            &opts,
            DEFAULT_MAX_COMPARISONS,
        )
        .unwrap();
        let cl = cluster(&answers, &opts, DEFAULT_MAX_COMPARISONS);
        let v = vote(&cl.class_of, cl.n_classes(), Some(&scores), method).unwrap();
        assert_eq!(pool.clustering, cl);
        assert_eq!(pool.outcome, v);
    }
    // The 1/2 class has three members, 3 has two: majority picks 1/2 (class 0), weighted
    // picks 3 (1.7 against 0.6), Best-of-N the 0.9 sample.
    let pick = |m| {
        cluster_and_vote(&answers, Some(&scores), m, &opts, DEFAULT_MAX_COMPARISONS)
            .unwrap()
            .outcome
    };
    assert_eq!(pick(VoteMethod::Majority).class, Some(0));
    assert_eq!(pick(VoteMethod::Weighted).class, Some(1));
    assert_eq!(pick(VoteMethod::BestOfN).sample, Some(1));
    // Methods that need scores fail without them.
    assert!(cluster_and_vote(&answers, None, VoteMethod::Weighted, &opts, 10).is_err());
}

#[test]
fn cluster_and_vote_batch_matches_one_by_one_on_any_thread_count() {
    let pools: Vec<Vec<Option<String>>> = (0..40)
        .map(|p| {
            (0..9)
                .map(|i| (i % 4 != 3).then(|| format!("{}/{}", (p + i) % 3, 1 + i % 2)))
                .collect()
        })
        .collect();
    let scores: Vec<Vec<f64>> = (0..40)
        .map(|p| {
            (0..9)
                .map(|i| f64::from((p * 7 + i * 3) % 10) / 10.0)
                .collect()
        })
        .collect();
    let opts = GradeOptions::default();
    let one_by_one: Vec<_> = pools
        .iter()
        .zip(&scores)
        .map(|(a, s)| {
            cluster_and_vote(
                a,
                Some(s),
                VoteMethod::Weighted,
                &opts,
                DEFAULT_MAX_COMPARISONS,
            )
            .unwrap()
        })
        .collect();
    for threads in [Some(1), Some(2), Some(3), None] {
        let batch = cluster_and_vote_batch(
            &pools,
            Some(&scores),
            VoteMethod::Weighted,
            &opts,
            DEFAULT_MAX_COMPARISONS,
            threads,
        )
        .unwrap();
        assert_eq!(batch, one_by_one, "{threads:?}");
    }
    let err = cluster_and_vote_batch(
        &pools,
        Some(&scores[1..]),
        VoteMethod::Weighted,
        &opts,
        DEFAULT_MAX_COMPARISONS,
        None,
    );
    assert!(
        matches!(err, Err(rlv_core::Error::LengthMismatch { .. })),
        "{err:?}"
    );
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
