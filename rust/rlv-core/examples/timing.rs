//! Rough single-thread timing of `grade` on a typical answer mix (the real benchmark is
//! benches/bench_grade.py and the criterion bench).
use rlv_core::grading::{grade, GradeOptions};
fn main() {
    let pairs = [
        ("42", "The answer is $\\boxed{42}$."),
        ("\\frac{3}{4}", "So we get $\\boxed{\\frac{3}{4}}$."),
        ("-\\frac{7}{2}", "Hence $\\boxed{-3.5}$."),
        ("2\\sqrt{3}", "Thus $\\boxed{\\sqrt{12}}$."),
        ("[3, 5)", "The interval is $\\boxed{[3,5)}$."),
        ("(x+1)^2", "Expanding, $\\boxed{x^2+2x+1}$."),
        ("\\frac{\\pi}{4}", "Angle: $\\boxed{\\frac{\\pi}{4}}$"),
        ("1,000", "#### 1000"),
    ];
    let opts = GradeOptions::default();
    let n = 200_000;
    let t = std::time::Instant::now();
    let mut ok = 0;
    for i in 0..n {
        let (g, p) = pairs[i % pairs.len()];
        ok += usize::from(grade(p, g, &opts).correct());
    }
    let dt = t.elapsed().as_secs_f64();
    eprintln!("{ok}/{n} correct, {:.0} pairs/s", n as f64 / dt);
    for (g, p) in pairs {
        let t = std::time::Instant::now();
        for _ in 0..20000 {
            let _ = grade(p, g, &opts);
        }
        eprintln!(
            "{:>10.2} us  {g}",
            t.elapsed().as_secs_f64() / 20000.0 * 1e6
        );
    }
}
