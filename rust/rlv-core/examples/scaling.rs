//! Thread scaling of `grade_batch_status` on a fixed mix (pure Rust, no Python), against two
//! plain scoped threads as the reference for what the machine allows.
//! `cargo run --release --example scaling`
use rlv_core::grading::{grade_batch_status, GradeOptions};
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
    let n = 20_000;
    let comps: Vec<&str> = (0..n).map(|i| pairs[i % pairs.len()].1).collect();
    let golds: Vec<&str> = (0..n).map(|i| pairs[i % pairs.len()].0).collect();
    let opts = GradeOptions::default();
    for threads in [1, 2, 1, 2] {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            let _ = grade_batch_status(&comps, &golds, &opts, Some(threads));
        }
        let dt = t.elapsed().as_secs_f64();
        eprintln!("{threads} threads: {:.0} pairs/s", 20.0 * n as f64 / dt);
    }
    // Two plain scoped threads, one half each (no rayon).
    let t = std::time::Instant::now();
    for _ in 0..20 {
        let (c1, c2) = comps.split_at(n / 2);
        let (g1, g2) = golds.split_at(n / 2);
        std::thread::scope(|s| {
            let h = s.spawn(|| grade_batch_status(c1, g1, &opts, Some(1)));
            let _ = grade_batch_status(c2, g2, &opts, Some(1));
            let _ = h.join();
        });
    }
    let dt = t.elapsed().as_secs_f64();
    eprintln!("2 scoped threads: {:.0} pairs/s", 20.0 * n as f64 / dt);
}
