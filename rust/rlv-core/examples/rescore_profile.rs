//! Where the time of `rlv rescore` goes, stage by stage, on one thread:
//! `cargo run --release --example rescore_profile -- DUMP.jsonl` (one row per problem).
#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::time::Instant;

use rlv_core::grading::{answer_text, extract_answer, GradeOptions, Mode};
use rlv_core::votes::{cluster_prepared, estimate, ProblemSamples};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: rescore_profile DUMP.jsonl");
    let t = Instant::now();
    let lines: Vec<Vec<u8>> = std::io::BufReader::new(std::fs::File::open(&path).unwrap())
        .split(b'\n')
        .map(Result::unwrap)
        .filter(|l| !l.is_empty())
        .collect();
    println!("read lines     {:>8.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let rows: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    println!("json parse     {:>8.3} s", t.elapsed().as_secs_f64());
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r["completions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
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
    let clusters: Vec<_> = answers
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
    let ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
    let scores: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            r["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let t = Instant::now();
    let mut acc = 0.0;
    for (i, c) in clusters.iter().enumerate() {
        let cl = &c.clustering;
        let correct = vec![false; cl.n_classes()];
        let sc = vec![false; cl.class_of.len()];
        let e = estimate(
            &ProblemSamples {
                class_of: &cl.class_of,
                class_correct: &correct,
                sample_correct: &sc,
                scores: Some(&scores[i]),
            },
            &ks,
            100,
            0,
            i as u64,
        );
        acc += e.majority[3];
    }
    println!(
        "estimate       {:>8.3} s  ({acc})",
        t.elapsed().as_secs_f64()
    );
}
