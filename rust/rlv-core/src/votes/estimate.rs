//! Test-time-scaling estimators for one problem, for k = 1, 2, 4, ... up to N.
//!
//! * pass@k: unbiased closed form `1 - C(N-c, k) / C(N, k)` (c correct samples).
//! * Best-of-k: exact closed form over the samples sorted by score. Samples tied on score
//!   form a block; the best of a random k-subset lies in block b with probability
//!   `(C(N - before_b, k) - C(N - before_b - size_b, k)) / C(N, k)` and is then a uniform
//!   member of the block, so the block earns its fraction of correct samples. Samples
//!   without a class never win.
//! * majority@k, weighted@k: mean over R random k-subsets (drawn without replacement; for
//!   k > N/2 the complement is drawn). A tie between t classes earns c/t when c of them are
//!   correct, so the estimate does not depend on sample order. k = 1 and k = N are computed
//!   exactly (the mean over every subset).
//!
//! The random stream of a problem depends only on `(seed, problem index, k)`, so results are
//! identical for any thread count and any batch split.

use super::fixed_score;
use crate::error::{Error, Result};

/// Default number of random subsets per k.
pub const DEFAULT_SUBSETS: usize = 100;

/// One problem's samples, as the estimators need them.
#[derive(Clone, Copy, Debug)]
pub struct ProblemSamples<'a> {
    /// Class of each sample (`None`: no readable answer).
    pub class_of: &'a [Option<u32>],
    /// Whether each class is correct.
    pub class_correct: &'a [bool],
    /// Whether each sample is correct (pass@k and Best-of-k).
    pub sample_correct: &'a [bool],
    /// Verifier scores in [0, 1] (weighted@k and Best-of-k).
    pub scores: Option<&'a [f64]>,
}

/// Estimates for each requested k (`NaN` where k exceeds the problem's sample count).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Estimates {
    pub pass: Vec<f64>,
    pub majority: Vec<f64>,
    /// Empty when the problem has no scores.
    pub weighted: Vec<f64>,
    /// Empty when the problem has no scores.
    pub best_of: Vec<f64>,
}

/// Check a list of k values (each at least 1).
///
/// # Errors
/// [`Error::InvalidValue`] for a zero k.
pub fn check_ks(ks: &[usize]) -> Result<()> {
    if let Some(i) = ks.iter().position(|&k| k == 0) {
        return Err(Error::InvalidValue {
            name: "ks",
            index: i,
            value: "0".into(),
            expected: "k >= 1",
        });
    }
    Ok(())
}

/// `C(a, k) / C(n, k)` (0 when a < k), as a product that never overflows.
fn comb_ratio(a: usize, k: usize, n: usize) -> f64 {
    if a < k {
        return 0.0;
    }
    let mut r = 1.0;
    for i in 0..k {
        #[allow(clippy::cast_precision_loss)]
        {
            r *= (a - i) as f64 / (n - i) as f64;
        }
    }
    r
}

/// Unbiased pass@k from `n` samples of which `c` are correct (`NaN` when k > n).
#[must_use]
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    if k > n || k == 0 {
        return f64::NAN;
    }
    1.0 - comb_ratio(n - c.min(n), k, n)
}

/// Exact Best-of-k (see the module docs).
fn best_of_k(order: &[(f64, bool)], n: usize, k: usize) -> f64 {
    let mut total = 0.0;
    let mut before = 0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        let mut correct = 0usize;
        while j < order.len() && order[j].0 == order[i].0 {
            correct += usize::from(order[j].1);
            j += 1;
        }
        let size = j - i;
        if correct > 0 {
            let p = comb_ratio(n - before, k, n) - comb_ratio(n - before - size, k, n);
            #[allow(clippy::cast_precision_loss)]
            {
                total += p * correct as f64 / size as f64;
            }
        }
        before += size;
        i = j;
    }
    total
}

/// SplitMix64: small, fast, and good enough for drawing subsets.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..m` (multiply-shift; bias below 2^-40 for the sizes used here).
    fn below(&mut self, m: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let v = ((u128::from(self.next()) * m as u128) >> 64) as usize;
        v
    }
}

fn stream_seed(seed: u64, problem: u64, k: usize) -> u64 {
    let mut s = SplitMix(seed ^ 0x5851_f42d_4c95_7f2d);
    let a = s.next();
    let mut s = SplitMix(a ^ problem.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let b = s.next();
    let mut s = SplitMix(b ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    s.next()
}

/// Credit of the winners among present classes: `correct tied / tied`.
fn credit<T: Copy + PartialOrd + Default>(
    values: &[T],
    present: &[u32],
    class_correct: &[bool],
) -> f64 {
    let mut best: Option<T> = None;
    let (mut tied, mut correct) = (0u32, 0u32);
    for (c, (&v, &p)) in values.iter().zip(present).enumerate() {
        if p == 0 {
            continue;
        }
        match best {
            Some(b) if v < b => {}
            Some(b) if v == b => {
                tied += 1;
                correct += u32::from(class_correct[c]);
            }
            _ => {
                best = Some(v);
                tied = 1;
                correct = u32::from(class_correct[c]);
            }
        }
    }
    if tied == 0 {
        0.0
    } else {
        f64::from(correct) / f64::from(tied)
    }
}

/// Scratch space of the subset estimators.
struct Subsets {
    perm: Vec<u32>,
    counts: Vec<u32>,
    sums: Vec<u64>,
}

impl Subsets {
    /// Mean credit of majority and (when `WEIGHTED`) weighted votes over `rounds` random
    /// k-subsets (k = n: the one full subset). Slot `counts.len() - 1` holds samples without
    /// a class.
    #[allow(clippy::too_many_arguments)]
    fn run<const WEIGHTED: bool>(
        &mut self,
        slot: &[u32],
        w: &[u64],
        full_counts: &[u32],
        full_sums: &[u64],
        k: usize,
        rounds: usize,
        rng: &mut SplitMix,
        class_correct: &[bool],
    ) -> (f64, f64) {
        let n = slot.len();
        let n_classes = class_correct.len();
        let complement = k == n || 2 * k > n;
        let m = if complement { n - k } else { k };
        let (mut maj, mut wei) = (0.0, 0.0);
        for _ in 0..rounds {
            for i in 0..m {
                let j = i + rng.below(n - i);
                self.perm.swap(i, j);
            }
            if complement {
                self.counts.copy_from_slice(full_counts);
                if WEIGHTED {
                    self.sums.copy_from_slice(full_sums);
                }
                for &s in &self.perm[..m] {
                    let c = slot[s as usize] as usize;
                    self.counts[c] -= 1;
                    if WEIGHTED {
                        self.sums[c] -= w[s as usize];
                    }
                }
            } else {
                self.counts.fill(0);
                if WEIGHTED {
                    self.sums.fill(0);
                }
                for &s in &self.perm[..m] {
                    let c = slot[s as usize] as usize;
                    self.counts[c] += 1;
                    if WEIGHTED {
                        self.sums[c] += w[s as usize];
                    }
                }
            }
            let counts = &self.counts[..n_classes];
            maj += credit(counts, counts, class_correct);
            if WEIGHTED {
                wei += credit(&self.sums[..n_classes], counts, class_correct);
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let r = rounds as f64;
        (maj / r, wei / r)
    }
}

/// Estimates for one problem. `problem` is the problem's index (it seeds its random stream).
#[must_use]
pub fn estimate(
    p: &ProblemSamples<'_>,
    ks: &[usize],
    subsets: usize,
    seed: u64,
    problem: u64,
) -> Estimates {
    let n = p.class_of.len();
    let n_classes = p.class_correct.len();
    let c = p.sample_correct.iter().filter(|&&x| x).count();
    let mut out = Estimates {
        pass: ks.iter().map(|&k| pass_at_k(n, c, k)).collect(),
        ..Estimates::default()
    };
    let fixed: Option<Vec<u64>> = p
        .scores
        .map(|s| s.iter().map(|&x| fixed_score(x)).collect());
    // Best-of-k order: samples with a class, by score (descending); ties keep their order
    // (irrelevant to the estimate).
    if let Some(s) = p.scores {
        let mut order: Vec<(f64, bool)> = p
            .class_of
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| (s[i], p.sample_correct[i]))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.best_of = ks
            .iter()
            .map(|&k| {
                if k > n {
                    f64::NAN
                } else {
                    best_of_k(&order, n, k)
                }
            })
            .collect();
    }
    // Full-pool class counts and sums.
    let mut full_counts = vec![0u32; n_classes];
    let mut full_sums = vec![0u64; n_classes];
    for (i, cl) in p.class_of.iter().enumerate() {
        if let Some(cl) = cl {
            full_counts[*cl as usize] += 1;
            if let Some(f) = &fixed {
                full_sums[*cl as usize] += f[i];
            }
        }
    }
    // Exact k = 1: the class of one random sample.
    #[allow(clippy::cast_precision_loss)]
    let at_one = p
        .class_of
        .iter()
        .filter(|c| c.is_some_and(|c| p.class_correct[c as usize]))
        .count() as f64
        / n.max(1) as f64;
    // Classes as dense slots; samples without a class go to a dummy slot `n_classes` that
    // the credit scan never looks at.
    #[allow(clippy::cast_possible_truncation)]
    let slot: Vec<u32> = p
        .class_of
        .iter()
        .map(|c| c.unwrap_or(n_classes as u32))
        .collect();
    // The dummy slot holds the samples without a class (complements subtract them too).
    #[allow(clippy::cast_possible_truncation)]
    full_counts.push(p.class_of.iter().filter(|c| c.is_none()).count() as u32);
    full_sums.push(fixed.as_ref().map_or(0, |f| {
        p.class_of
            .iter()
            .zip(f)
            .filter(|(c, _)| c.is_none())
            .map(|(_, w)| *w)
            .sum()
    }));
    let mut sub = Subsets {
        #[allow(clippy::cast_possible_truncation)]
        perm: (0..n as u32).collect(),
        counts: vec![0u32; n_classes + 1],
        sums: vec![0u64; n_classes + 1],
    };
    for &k in ks {
        if k > n {
            out.majority.push(f64::NAN);
            if fixed.is_some() {
                out.weighted.push(f64::NAN);
            }
            continue;
        }
        if k == 1 {
            out.majority.push(at_one);
            if fixed.is_some() {
                out.weighted.push(at_one);
            }
            continue;
        }
        let rounds = if k == n { 1 } else { subsets.max(1) };
        let mut rng = SplitMix(stream_seed(seed, problem, k));
        let (maj, wei) = match &fixed {
            Some(w) => sub.run::<true>(
                &slot,
                w,
                &full_counts,
                &full_sums,
                k,
                rounds,
                &mut rng,
                p.class_correct,
            ),
            None => sub.run::<false>(
                &slot,
                &[],
                &full_counts,
                &full_sums,
                k,
                rounds,
                &mut rng,
                p.class_correct,
            ),
        };
        out.majority.push(maj);
        if fixed.is_some() {
            out.weighted.push(wei);
        }
    }
    out
}

/// [`estimate`] over many problems on a thread pool; problem `i` of the batch gets index
/// `first_index + i`.
///
/// # Errors
/// [`Error::ThreadPool`] if the pool cannot start.
pub fn estimate_batch(
    problems: &[ProblemSamples<'_>],
    ks: &[usize],
    subsets: usize,
    seed: u64,
    first_index: u64,
    num_threads: Option<usize>,
) -> Result<Vec<Estimates>> {
    let idx: Vec<usize> = (0..problems.len()).collect();
    crate::parallel::map_ordered(&idx, num_threads, |&i| {
        estimate(&problems[i], ks, subsets, seed, first_index + i as u64)
    })
}
