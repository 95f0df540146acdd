//! Criterion benchmarks of the pure-Rust core (no Python).
//!
//! Run from the repository root:
//!
//! ```text
//! cargo bench -p rlv-core --bench core                 # all groups
//! cargo bench -p rlv-core --bench core -- grading/grade  # one group
//! cargo bench -p rlv-core --bench core -- advantages    # the advantage estimators
//! cargo bench -p rlv-core --bench core -- rescore       # rescoring a sample dump
//! ```
//!
//! Groups:
//! * `grading/grade`: one `grade` call per answer kind (a small fixed mix of typical answers,
//!   gold as a bare LaTeX answer, completion as a sentence with `\boxed{}`);
//! * `grading/grade_batch`: 1k and 10k pairs of that mix, reported as elements per second,
//!   with the default thread count and with one thread;
//! * `grading/extract`: answer extraction from a full MATH-style solution;
//! * `advantages`: GRPO, RLOO and REINFORCE++-baseline on 1M rewards in 125k shuffled groups
//!   of 1-15 samples (the random-access worst case: every group accumulator is a cache miss);
//! * `rescore`: a generated per-problem dump (200 problems x 64 samples, written once to a
//!   temporary file) rescored by the streaming [`Rescorer`] on one thread and on the default
//!   thread count, and its two heaviest stages alone: clustering (extracted answers, one
//!   thread) and the scaling estimators (k up to 64).

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rlv_core::advantages::{
    grpo_into, reinforce_pp_baseline_into, rloo_into, Groups, Scale, Workspace,
};
use rlv_core::estimators::{estimate, ProblemSamples};
use rlv_core::grading::{answer_text, extract_answer, grade, grade_batch, GradeOptions, Mode};
use rlv_core::rescore::{Config, Rescorer};
use rlv_core::votes::{cluster_prepared, DEFAULT_MAX_COMPARISONS};

/// `(kind, gold, completion)`: typical final answers of math benchmarks.
const MIX: &[(&str, &str, &str)] = &[
    (
        "int",
        "42",
        "Adding the two counts gives $40 + 2$, so the answer is $\\boxed{42}$.",
    ),
    (
        "int_wrong",
        "42",
        "Adding the two counts, the answer is $\\boxed{43}$.",
    ),
    (
        "fraction",
        "\\frac{3}{4}",
        "Simplifying, we get $\\boxed{\\dfrac{3}{4}}$.",
    ),
    (
        "neg_fraction",
        "-\\frac{7}{2}",
        "Therefore $x = \\boxed{-\\frac{7}{2}}$.",
    ),
    ("decimal", "0.75", "So the probability is $\\boxed{0.75}$."),
    (
        "radical",
        "2\\sqrt{2}",
        "The distance is $\\boxed{\\sqrt{8}}$.",
    ),
    (
        "pi",
        "\\frac{9}{4}\\pi",
        "The area is $\\boxed{\\frac94\\pi}$.",
    ),
    (
        "interval",
        "[-1, 2) \\cup (3, \\infty)",
        "The solution set is $\\boxed{[-1,2)\\cup(3,\\infty)}$.",
    ),
    (
        "tuple",
        "\\left( 3, \\frac{\\pi}{2} \\right)",
        "In polar form, $\\boxed{(3, \\pi/2)}$.",
    ),
    (
        "expression",
        "x^2+2x+1",
        "Expanding, the polynomial is $\\boxed{(x+1)^2}$.",
    ),
    (
        "text",
        "\\text{Evelyn}",
        "Evelyn is fastest, so the answer is $\\boxed{\\text{Evelyn}}$.",
    ),
];

/// A MATH-style reference solution (extraction benchmark).
const SOLUTION: &str = "We have that $r = \\sqrt{0^2 + 3^2} = 3.$  Also, if we draw the line \
connecting the origin and $(0,3),$ this line makes an angle of $\\frac{\\pi}{2}$ with the \
positive $x$-axis.\n\n[asy]\nunitsize(0.8 cm);\n\ndraw((-0.5,0)--(3.5,0));\n\
draw((0,-0.5)--(0,3.5));\ndraw(arc((0,0),3,0,90),red,Arrow(6));\n\ndot((0,3), red);\n\
label(\"$(0,3)$\", (0,3), W);\ndot((3,0), red);\n[/asy]\n\nTherefore, the polar coordinates \
are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$";

fn pairs(n: usize) -> (Vec<String>, Vec<String>) {
    let mut completions = Vec::with_capacity(n);
    let mut golds = Vec::with_capacity(n);
    for i in 0..n {
        let (_, gold, completion) = MIX[i % MIX.len()];
        completions.push(completion.to_string());
        golds.push(gold.to_string());
    }
    (completions, golds)
}

fn bench_grade(c: &mut Criterion) {
    let opts = GradeOptions::default();
    let mut group = c.benchmark_group("grading/grade");
    for &(kind, gold, completion) in MIX {
        group.bench_with_input(
            BenchmarkId::from_parameter(kind),
            &(gold, completion),
            |b, p| {
                b.iter(|| grade(black_box(p.1), black_box(p.0), &opts));
            },
        );
    }
    group.finish();
}

fn bench_grade_batch(c: &mut Criterion) {
    let opts = GradeOptions::default();
    let mut group = c.benchmark_group("grading/grade_batch");
    group.sample_size(20);
    for n in [1_000usize, 10_000] {
        let (completions, golds) = pairs(n);
        let elements = u64::try_from(n).unwrap_or(u64::MAX);
        group.throughput(Throughput::Elements(elements));
        group.bench_with_input(BenchmarkId::new("default_threads", n), &n, |b, _| {
            b.iter(|| grade_batch(black_box(&completions), black_box(&golds), &opts, None));
        });
        group.bench_with_input(BenchmarkId::new("1_thread", n), &n, |b, _| {
            b.iter(|| grade_batch(black_box(&completions), black_box(&golds), &opts, Some(1)));
        });
    }
    group.finish();
}

fn bench_extract(c: &mut Criterion) {
    let mut group = c.benchmark_group("grading/extract");
    let bytes = u64::try_from(SOLUTION.len()).unwrap_or(u64::MAX);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("math_solution/lenient", |b| {
        b.iter(|| extract_answer(black_box(SOLUTION), Mode::Lenient));
    });
    group.bench_function("math_solution/strict", |b| {
        b.iter(|| extract_answer(black_box(SOLUTION), Mode::Strict));
    });
    group.finish();
}

/// A deterministic LCG (the benches need no RNG crate): `next() % m` for small `m`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % m
    }
}

fn bench_advantages(c: &mut Criterion) {
    let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
    let mut ids: Vec<i64> = Vec::new();
    for g in 0..125_000i64 {
        for _ in 0..=rng.next(15) {
            ids.push(g);
        }
    }
    for i in (1..ids.len()).rev() {
        let j = usize::try_from(rng.next(i as u64 + 1)).unwrap_or(0);
        ids.swap(i, j);
    }
    let rewards: Vec<f32> = (0..ids.len())
        .map(|_| rng.next(1000) as f32 / 1000.0)
        .collect();
    let mut ws = Workspace::new();
    let mut out = vec![0f32; rewards.len()];
    let mut group = c.benchmark_group("advantages");
    group.sample_size(20);
    group.throughput(Throughput::Elements(rewards.len() as u64));
    group.bench_function("grpo/1M_shuffled", |b| {
        b.iter(|| {
            grpo_into(
                &mut ws,
                black_box(&rewards),
                Groups::Ids(&ids),
                Scale::Group,
                1e-6,
                &mut out,
            )
        });
    });
    group.bench_function("rloo/1M_shuffled", |b| {
        b.iter(|| rloo_into(&mut ws, black_box(&rewards), Groups::Ids(&ids), &mut out));
    });
    group.bench_function("reinforce_pp_baseline/1M_shuffled", |b| {
        b.iter(|| {
            reinforce_pp_baseline_into(
                &mut ws,
                black_box(&rewards),
                Groups::Ids(&ids),
                None,
                1e-6,
                &mut out,
            )
        });
    });
    group.finish();
}

const DUMP_PROBLEMS: usize = 200;
const DUMP_SAMPLES: usize = 64;
const DUMP_KS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// One problem of the generated dump: its gold, completions (the gold in several equivalent
/// renderings, a few repeated wrong answers, some completions without an answer) and scores.
fn dump_problem(rng: &mut Lcg, p: usize) -> (String, Vec<String>, Vec<f64>) {
    let (num, den) = (p as u64 % 17 + 1, p as u64 % 5 + 2);
    let gold = format!("\\frac{{{num}}}{{{den}}}");
    let right = [
        gold.clone(),
        format!("\\dfrac{{{num}}}{{{den}}}"),
        format!("{num}/{den}"),
        format!("\\frac{{{}}}{{{}}}", 2 * num, 2 * den),
    ];
    let wrong = [
        format!("\\frac{{{den}}}{{{num}}}"),
        format!("{}", num + 1),
        format!("-\\frac{{{num}}}{{{den}}}"),
        format!("{num}\\sqrt{{2}}"),
    ];
    let p_correct = rng.next(100);
    let mut completions = Vec::with_capacity(DUMP_SAMPLES);
    let mut scores = Vec::with_capacity(DUMP_SAMPLES);
    for _ in 0..DUMP_SAMPLES {
        let correct = rng.next(100) < p_correct;
        let text = if rng.next(50) == 0 {
            "We first simplify the expression and then".to_string()
        } else {
            let answer = if correct {
                &right[usize::try_from(rng.next(4)).unwrap_or(0)]
            } else {
                &wrong[usize::try_from(rng.next(4)).unwrap_or(0)]
            };
            format!(
                "Let $x = {num}$ and $y = {den}$. Dividing, $\\frac{{x}}{{y}}$ gives the \
                 ratio, so the answer is $\\boxed{{{answer}}}$."
            )
        };
        completions.push(text);
        let base = if correct { 500 } else { 200 };
        scores.push((base + rng.next(500)) as f64 / 1000.0);
    }
    (gold, completions, scores)
}

fn bench_rescore(c: &mut Criterion) {
    let mut rng = Lcg(7);
    let problems: Vec<_> = (0..DUMP_PROBLEMS)
        .map(|p| dump_problem(&mut rng, p))
        .collect();
    let path = std::env::temp_dir().join(format!("rlv-bench-rescore-{}.jsonl", std::process::id()));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp dump"));
        for (p, (gold, completions, scores)) in problems.iter().enumerate() {
            let row = serde_json::json!({
                "problem_id": format!("p{p}"),
                "gold": gold,
                "completions": completions,
                "scores": scores,
            });
            writeln!(f, "{row}").expect("temp dump");
        }
        f.flush().expect("temp dump");
    }
    let path_str = path.to_str().expect("temp path is UTF-8").to_string();
    let samples = (DUMP_PROBLEMS * DUMP_SAMPLES) as u64;
    let mut group = c.benchmark_group("rescore");
    group.sample_size(10);
    group.throughput(Throughput::Elements(samples));
    for (name, threads) in [("1_thread", Some(1)), ("default_threads", None)] {
        group.bench_function(BenchmarkId::new("pipeline", name), |b| {
            b.iter(|| {
                let cfg = Config {
                    ks: DUMP_KS.to_vec(),
                    num_threads: threads,
                    ..Config::default()
                };
                let mut r = Rescorer::open(&path_str, cfg, 0).expect("open dump");
                let mut n = 0usize;
                while let Some(batch) = r.next_batch().expect("rescore") {
                    n += batch.problems.len();
                }
                assert_eq!(n, DUMP_PROBLEMS);
            });
        });
    }
    let opts = GradeOptions::default();
    let answers: Vec<Vec<Option<String>>> = problems
        .iter()
        .map(|(_, completions, _)| {
            completions
                .iter()
                .map(|t| extract_answer(t, Mode::Lenient).map(|e| answer_text(e).into_owned()))
                .collect()
        })
        .collect();
    group.bench_function("cluster", |b| {
        b.iter(|| {
            for a in &answers {
                black_box(cluster_prepared(a, &opts, DEFAULT_MAX_COMPARISONS));
            }
        });
    });
    let pools: Vec<_> = answers
        .iter()
        .map(|a| {
            let cl = cluster_prepared(a, &opts, DEFAULT_MAX_COMPARISONS).clustering;
            // Class 0 stands for the correct one: the estimators' cost does not depend on which.
            let sample_correct: Vec<bool> = cl.class_of.iter().map(|k| *k == Some(0)).collect();
            let class_correct: Vec<bool> = (0..cl.n_classes()).map(|k| k == 0).collect();
            (cl.class_of, class_correct, sample_correct)
        })
        .collect();
    group.bench_function("estimate", |b| {
        b.iter(|| {
            for (i, ((class_of, class_correct, sample_correct), (_, _, scores))) in
                pools.iter().zip(&problems).enumerate()
            {
                black_box(estimate(
                    &ProblemSamples {
                        class_of,
                        class_correct,
                        sample_correct,
                        scores: Some(scores),
                    },
                    &DUMP_KS,
                    100,
                    0,
                    i as u64,
                ));
            }
        });
    });
    group.finish();
    std::fs::remove_file(&path).ok();
}

criterion_group!(
    benches,
    bench_grade,
    bench_grade_batch,
    bench_extract,
    bench_advantages,
    bench_rescore
);
criterion_main!(benches);
