//! Where the time of `rlv rescore` goes (k up to 512, R = 100). Three modes:
//!
//! * `cargo run --release --example rescore_profile -- --pipeline THREADS DUMP.jsonl [OUT]`:
//!   the whole streaming [`rlv_core::dump::Rescorer`] (either layout) on THREADS threads, as
//!   `rlv rescore` runs it; OUT gets one debug line per problem result (to compare runs).
//! * `cargo run --release --example rescore_profile -- DUMP.jsonl` (one row per problem):
//!   stage by stage on one thread, with the public building blocks. The rescorer's own row
//!   reader is typed and extracts answers while it parses (faster than `serde_json::Value`
//!   plus extraction here); `RLV_PROFILE_DETAIL=1` lists the problems with the most full
//!   equivalence checks.
//! * `cargo run --release --example rescore_profile -- --estimate DUMP.jsonl`: the
//!   estimators alone, per k, with and without scores.
#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::time::Instant;

use rlv_core::grading::equiv::{compare_prepared, Prepared};
use rlv_core::grading::{answer_text, extract_answer, extract_gold, GradeOptions, Mode, Status};
use rlv_core::votes::{cluster_prepared, estimate, Clustered, ProblemSamples};

const KS: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

fn pipeline(threads: usize, path: &str, dump: Option<&str>) {
    use std::io::Write;
    let mut out = dump.map(|d| std::io::BufWriter::new(std::fs::File::create(d).unwrap()));
    let cfg = rlv_core::dump::Config {
        num_threads: Some(threads),
        ..rlv_core::dump::Config::default()
    };
    let t = Instant::now();
    let mut r = rlv_core::dump::Rescorer::open(path, cfg, 0).unwrap();
    let (mut problems, mut samples, mut maj) = (0usize, 0u64, 0.0);
    while let Some(b) = r.next_batch().unwrap() {
        problems += b.problems.len();
        samples += b.samples;
        for p in &b.problems {
            maj += p.estimates.majority.last().copied().unwrap_or(0.0);
            if let Some(o) = out.as_mut() {
                writeln!(o, "{p:?}").unwrap();
            }
        }
    }
    println!(
        "pipeline ({threads} threads) {:>8.3} s: {problems} problems, {samples} samples, \
         majority@max {:.4}",
        t.elapsed().as_secs_f64(),
        maj / problems.max(1) as f64
    );
}

/// Rows of a per-problem dump.
fn rows(path: &str) -> Vec<serde_json::Value> {
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .split(b'\n')
        .map(Result::unwrap)
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(&l).unwrap())
        .collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Class and sample correctness of a clustered pool against the gold.
fn correctness(c: &Clustered, gold: &str, opts: &GradeOptions) -> (Vec<bool>, Vec<bool>) {
    let gold = Prepared::new(&answer_text(extract_gold(gold).unwrap()), opts);
    let distinct: Vec<bool> = c
        .distinct
        .iter()
        .map(|d| compare_prepared(&gold, d, opts) == Status::Equal)
        .collect();
    let cl = &c.clustering;
    let sample: Vec<bool> = c
        .distinct_of
        .iter()
        .zip(&cl.class_of)
        .map(|(d, k)| k.is_some() && d.is_some_and(|d| distinct[d as usize]))
        .collect();
    let class = cl.first.iter().map(|&s| sample[s]).collect();
    (class, sample)
}

fn stages(path: &str) {
    let t = Instant::now();
    let rows = rows(path);
    println!("read + parse   {:>8.3} s", t.elapsed().as_secs_f64());
    let texts: Vec<Vec<String>> = rows.iter().map(|r| strings(&r["completions"])).collect();
    let t = Instant::now();
    let answers: Vec<Vec<Option<String>>> = texts
        .iter()
        .map(|p| {
            p.iter()
                .map(|c| extract_answer(c, Mode::Lenient).map(|e| answer_text(e).into_owned()))
                .collect()
        })
        .collect();
    println!("extract        {:>8.3} s", t.elapsed().as_secs_f64());
    let opts = GradeOptions::default();
    let t = Instant::now();
    let clusters: Vec<Clustered> = answers
        .iter()
        .map(|a| cluster_prepared(a, &opts, 50_000))
        .collect();
    println!("cluster        {:>8.3} s", t.elapsed().as_secs_f64());
    if std::env::var_os("RLV_PROFILE_DETAIL").is_some() {
        let mut worst: Vec<(u64, usize)> = clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clustering.comparisons, i))
            .collect();
        worst.sort_unstable_by(|a, b| b.cmp(a));
        for &(cmp, i) in worst.iter().take(5) {
            let c = &clusters[i];
            println!(
                "problem {i}: {cmp} comparisons, {} distinct, {} classes",
                c.distinct.len(),
                c.clustering.n_classes()
            );
            for d in c.distinct.iter().take(12) {
                println!("    {:?} -> {:?}", d.raw, d.key);
            }
        }
    }
    let t = Instant::now();
    let graded: Vec<(Vec<bool>, Vec<bool>)> = clusters
        .iter()
        .zip(&rows)
        .map(|(c, r)| correctness(c, r["gold"].as_str().unwrap(), &opts))
        .collect();
    println!("grade          {:>8.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut acc = 0.0;
    for (i, ((c, (cc, sc)), r)) in clusters.iter().zip(&graded).zip(&rows).enumerate() {
        let e = estimate(
            &ProblemSamples {
                class_of: &c.clustering.class_of,
                class_correct: cc,
                sample_correct: sc,
                scores: Some(&numbers(&r["scores"])),
            },
            &KS,
            100,
            0,
            i as u64,
        );
        acc += e.majority[3];
    }
    println!(
        "estimate       {:>8.3} s  ({acc:.3})",
        t.elapsed().as_secs_f64()
    );
}

fn estimate_per_k(path: &str) {
    let opts = GradeOptions::default();
    let problems: Vec<_> = rows(path)
        .iter()
        .map(|r| {
            let answers: Vec<Option<String>> = strings(&r["completions"])
                .iter()
                .map(|c| extract_answer(c, Mode::Lenient).map(|e| answer_text(e).into_owned()))
                .collect();
            let c = cluster_prepared(&answers, &opts, 50_000);
            let (cc, sc) = correctness(&c, r["gold"].as_str().unwrap(), &opts);
            (c.clustering.class_of, cc, sc, numbers(&r["scores"]))
        })
        .collect();
    let all = KS.to_vec();
    for ks in KS.iter().map(|&k| vec![k]).chain([all]) {
        for with_scores in [false, true] {
            let t = Instant::now();
            let mut acc = 0.0;
            for (i, p) in problems.iter().enumerate() {
                let e = estimate(
                    &ProblemSamples {
                        class_of: &p.0,
                        class_correct: &p.1,
                        sample_correct: &p.2,
                        scores: with_scores.then_some(&p.3[..]),
                    },
                    &ks,
                    100,
                    0,
                    i as u64,
                );
                acc += e.majority[0];
            }
            println!(
                "ks {ks:?} scores {with_scores}: {:.3} s ({acc:.1})",
                t.elapsed().as_secs_f64()
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: rescore_profile [--pipeline THREADS | --estimate] DUMP.jsonl [OUT]";
    match args.get(1).map(String::as_str) {
        Some("--pipeline") => pipeline(
            args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1),
            args.get(3).expect(usage),
            args.get(4).map(String::as_str),
        ),
        Some("--estimate") => estimate_per_k(args.get(2).expect(usage)),
        Some(path) => stages(path),
        None => println!("{usage}"),
    }
}
