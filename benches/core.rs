//! Criterion benchmarks of the pure-Rust grading core (no Python).
//!
//! Run from the repository root:
//!
//! ```text
//! cargo bench -p rlv-core --bench core                 # all groups
//! cargo bench -p rlv-core --bench core -- grading/grade  # one group
//! ```
//!
//! Groups:
//! * `grading/grade`: one `grade` call per answer kind (a small fixed mix of typical answers,
//!   gold as a bare LaTeX answer, completion as a sentence with `\boxed{}`);
//! * `grading/grade_batch`: 1k and 10k pairs of that mix, reported as elements per second,
//!   with the default thread count and with one thread;
//! * `grading/extract`: answer extraction from a full MATH-style solution.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rlv_core::grading::{extract_answer, grade, grade_batch, GradeOptions, Mode};

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

criterion_group!(benches, bench_grade, bench_grade_batch, bench_extract);
criterion_main!(benches);
