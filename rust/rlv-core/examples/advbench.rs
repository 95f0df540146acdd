//! Timing of the advantage estimators on 1M rewards in 125k shuffled groups (pure Rust).
//! `cargo run --release --example advbench`
use rlv_core::advantages::{grpo_into, Groups, Scale, Workspace};
fn main() {
    // Deterministic LCG so the example needs no RNG crate.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        s >> 33
    };
    let mut ids: Vec<i64> = Vec::new();
    for g in 0..125_000i64 {
        let size = 1 + (next() % 15) as i64;
        for _ in 0..size {
            ids.push(g);
        }
    }
    for i in (1..ids.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let rewards: Vec<f32> = (0..ids.len())
        .map(|_| (next() % 1000) as f32 / 1000.0)
        .collect();
    let mut ws = Workspace::new();
    let mut out = vec![0f32; rewards.len()];
    let mut times = Vec::new();
    for _ in 0..31 {
        let t = std::time::Instant::now();
        grpo_into(
            &mut ws,
            &rewards,
            Groups::Ids(&ids),
            Scale::Group,
            1e-6,
            &mut out,
        )
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "n={} grpo median {:.2} ms min {:.2} ms",
        rewards.len(),
        times[15],
        times[0]
    );
}
