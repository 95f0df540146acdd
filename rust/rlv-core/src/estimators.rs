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

use crate::error::{Error, Result};
use crate::votes::fixed_score;

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

/// `comb_ratio(a, k, n)` for every `a` of `avals` and every `k` of `kd` (sorted, distinct,
/// each at most `n`), row-major by `a`. Bit-identical to [`comb_ratio`] (the same factors
/// multiplied in the same order), but the product for k is the prefix of the product for a
/// larger k, so each `a` runs its product once up to its largest k; and four `a`s run side
/// by side (independent products instead of one chain of dependent multiplications).
fn comb_ratio_table(avals: &[usize], kd: &[usize], n: usize) -> Vec<f64> {
    const LANES: usize = 4;
    let nk = kd.len();
    let mut out = vec![0.0; avals.len() * nk];
    for (g, chunk) in avals.chunks(LANES).enumerate() {
        let mut a = [0.0f64; LANES];
        for (l, &x) in chunk.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            {
                a[l] = x as f64;
            }
        }
        let amax = chunk.iter().copied().max().unwrap_or(0);
        let mut r = [1.0f64; LANES];
        let mut i = 0usize;
        for (j, &k) in kd.iter().enumerate() {
            if k > amax {
                break;
            }
            while i < k {
                #[allow(clippy::cast_precision_loss)]
                let (fi, d) = (i as f64, (n - i) as f64);
                for l in 0..LANES {
                    // `(a - i) as f64` exactly (integers far below 2^53); lanes with a < i
                    // compute garbage that is never read.
                    r[l] *= (a[l] - fi) / d;
                }
                i += 1;
            }
            for (l, &x) in chunk.iter().enumerate() {
                out[(g * LANES + l) * nk + j] = if x < k { 0.0 } else { r[l] };
            }
        }
    }
    out
}

/// Exact Best-of-k (see the module docs) for every k of `ks` (`NaN` where k > n).
fn best_of_ks(order: &[(f64, bool)], n: usize, ks: &[usize]) -> Vec<f64> {
    // Blocks of samples tied on score that hold a correct sample:
    // (n - before, n - before - size, correct, size).
    let mut blocks: Vec<(usize, usize, usize, usize)> = Vec::new();
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
            blocks.push((n - before, n - before - size, correct, size));
        }
        before += size;
        i = j;
    }
    // Every `a` needed (descending), and where its row is.
    let mut avals: Vec<usize> = blocks.iter().flat_map(|b| [b.0, b.1]).collect();
    avals.sort_unstable_by(|x, y| y.cmp(x));
    avals.dedup();
    let mut kd: Vec<usize> = ks.iter().copied().filter(|&k| k <= n).collect();
    kd.sort_unstable();
    kd.dedup();
    let table = comb_ratio_table(&avals, &kd, n);
    let row = |a: usize| avals.binary_search_by(|x| a.cmp(x)).unwrap_or(0) * kd.len();
    let rows: Vec<(usize, usize)> = blocks.iter().map(|b| (row(b.0), row(b.1))).collect();
    ks.iter()
        .map(|&k| {
            let Ok(j) = kd.binary_search(&k) else {
                return f64::NAN;
            };
            let mut total = 0.0;
            for (&(hi, lo), &(_, _, correct, size)) in rows.iter().zip(&blocks) {
                let p = table[hi + j] - table[lo + j];
                #[allow(clippy::cast_precision_loss)]
                {
                    total += p * correct as f64 / size as f64;
                }
            }
            total
        })
        .collect()
}

/// SplitMix64: small, fast, and good enough for drawing subsets.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..m` (multiply-shift; bias below 2^-40 for the sizes used here).
    pub(crate) fn below(&mut self, m: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let v = ((u128::from(self.next()) * m as u128) >> 64) as usize;
        v
    }
}

pub(crate) fn stream_seed(seed: u64, problem: u64, k: usize) -> u64 {
    let mut s = SplitMix(seed ^ 0x5851_f42d_4c95_7f2d);
    let a = s.next();
    let mut s = SplitMix(a ^ problem.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let b = s.next();
    let mut s = SplitMix(b ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    s.next()
}

/// Credit of the winners of the majority vote (`counts`) and, when `WEIGHTED`, of the
/// weighted vote (`sums`) among the present classes (a non-zero count): `correct tied /
/// tied`. Two branch-free passes (which classes a random subset holds is unpredictable):
/// the largest value (values are non-negative, so absent classes can count as 0), then the
/// present classes that hold it. Leaves `counts` and `sums` all zero (the dummy slot after
/// the classes included).
fn credit_and_clear<const WEIGHTED: bool>(
    counts: &mut [u32],
    sums: &mut [u64],
    class_correct: &[bool],
) -> (f64, f64) {
    let n_classes = class_correct.len();
    let (mut best_m, mut best_w) = (0u32, 0u64);
    for (&c, &s) in counts[..n_classes].iter().zip(&sums[..n_classes]) {
        best_m = best_m.max(c);
        if WEIGHTED {
            best_w = best_w.max(if c == 0 { 0 } else { s });
        }
    }
    let (mut tied_m, mut ok_m, mut tied_w, mut ok_w) = (0u32, 0u32, 0u32, 0u32);
    for ((c, s), &ok) in counts[..n_classes]
        .iter_mut()
        .zip(sums[..n_classes].iter_mut())
        .zip(class_correct)
    {
        let win = *c != 0 && *c == best_m;
        tied_m += u32::from(win);
        ok_m += u32::from(win && ok);
        if WEIGHTED {
            let win = *c != 0 && *s == best_w;
            tied_w += u32::from(win);
            ok_w += u32::from(win && ok);
            *s = 0;
        }
        *c = 0;
    }
    for c in &mut counts[n_classes..] {
        *c = 0;
    }
    for s in &mut sums[n_classes..] {
        *s = 0;
    }
    let ratio = |ok: u32, tied: u32| {
        if tied == 0 {
            0.0
        } else {
            f64::from(ok) / f64::from(tied)
        }
    };
    (ratio(ok_m, tied_m), ratio(ok_w, tied_w))
}

/// The credit of [`credit_and_clear`] over the classes listed in `touched` only (the present
/// ones).
fn credit_sparse<T: Copy + Ord + Default>(
    values: &[T],
    touched: &[u32],
    class_correct: &[bool],
) -> f64 {
    let mut best = T::default();
    for &c in touched {
        best = best.max(values[c as usize]);
    }
    let (mut tied, mut correct) = (0u32, 0u32);
    for &c in touched {
        let win = values[c as usize] == best;
        tied += u32::from(win);
        correct += u32::from(win && class_correct[c as usize]);
    }
    if tied == 0 {
        0.0
    } else {
        f64::from(correct) / f64::from(tied)
    }
}

/// Scratch space of the subset estimators. `counts` and `sums` are all zero between rounds.
struct Subsets {
    /// The samples as (slot, fixed-point score), in the order of the running partial
    /// Fisher-Yates shuffle (slot `n_classes`: no class).
    items: Vec<(u32, u64)>,
    counts: Vec<u32>,
    sums: Vec<u64>,
    /// Classes present in a small subset.
    touched: Vec<u32>,
    /// Four interleaved tallies per slot (`4 * slot + lane`), zero between rounds.
    counts4: Vec<u32>,
    sums4: Vec<u64>,
}

impl Subsets {
    /// Mean credit of majority and (when `WEIGHTED`) weighted votes over `rounds` random
    /// k-subsets (k = n: the one full subset). Slot `counts.len() - 1` holds samples without
    /// a class.
    fn run<const WEIGHTED: bool>(
        &mut self,
        full_counts: &[u32],
        full_sums: &[u64],
        k: usize,
        rounds: usize,
        rng: &mut SplitMix,
        class_correct: &[bool],
    ) -> (f64, f64) {
        let n = self.items.len();
        let n_classes = class_correct.len();
        let complement = k == n || 2 * k > n;
        let m = if complement { n - k } else { k };
        // Few draws among many classes: look only at the classes drawn.
        let sparse = !complement && 2 * m < n_classes;
        let (mut maj, mut wei) = (0.0, 0.0);
        for _ in 0..rounds {
            for i in 0..m {
                let j = i + rng.below(n - i);
                self.items.swap(i, j);
            }
            if complement {
                self.counts.copy_from_slice(full_counts);
                if WEIGHTED {
                    self.sums.copy_from_slice(full_sums);
                }
                for &(c, w) in &self.items[..m] {
                    let c = c as usize;
                    self.counts[c] -= 1;
                    if WEIGHTED {
                        self.sums[c] -= w;
                    }
                }
            } else if sparse {
                for &(c, w) in &self.items[..m] {
                    let cu = c as usize;
                    if cu < n_classes {
                        if self.counts[cu] == 0 {
                            self.touched.push(c);
                        }
                        self.counts[cu] += 1;
                        if WEIGHTED {
                            self.sums[cu] += w;
                        }
                    }
                }
                maj += credit_sparse(&self.counts, &self.touched, class_correct);
                if WEIGHTED {
                    wei += credit_sparse(&self.sums, &self.touched, class_correct);
                }
                for &c in &self.touched {
                    self.counts[c as usize] = 0;
                    self.sums[c as usize] = 0;
                }
                self.touched.clear();
                continue;
            } else {
                // Four interleaved tallies: one class often holds most samples, and with a
                // single tally each draw would wait for the previous increment of the same
                // counter.
                let mut quads = self.items[..m].chunks_exact(4);
                for q in quads.by_ref() {
                    for (lane, &(c, w)) in q.iter().enumerate() {
                        let at = 4 * c as usize + lane;
                        self.counts4[at] += 1;
                        if WEIGHTED {
                            self.sums4[at] += w;
                        }
                    }
                }
                for &(c, w) in quads.remainder() {
                    let c = c as usize;
                    self.counts[c] += 1;
                    if WEIGHTED {
                        self.sums[c] += w;
                    }
                }
                for (c, t) in self.counts.iter_mut().zip(self.counts4.chunks_exact_mut(4)) {
                    *c += t[0] + t[1] + t[2] + t[3];
                    t.fill(0);
                }
                if WEIGHTED {
                    for (s, t) in self.sums.iter_mut().zip(self.sums4.chunks_exact_mut(4)) {
                        *s += t[0] + t[1] + t[2] + t[3];
                        t.fill(0);
                    }
                }
            }
            let (m_credit, w_credit) =
                credit_and_clear::<WEIGHTED>(&mut self.counts, &mut self.sums, class_correct);
            maj += m_credit;
            wei += w_credit;
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
    // Best-of-k order: samples with a class, by score (descending); the order of tied
    // samples is irrelevant (a block only counts its correct samples).
    if let Some(s) = p.scores {
        let mut order: Vec<(f64, bool)> = p
            .class_of
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| (s[i], p.sample_correct[i]))
            .collect();
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        out.best_of = best_of_ks(&order, n, ks);
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
        items: slot
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, fixed.as_ref().map_or(0, |f| f[i])))
            .collect(),
        counts: vec![0u32; n_classes + 1],
        sums: vec![0u64; n_classes + 1],
        touched: Vec::new(),
        counts4: vec![0u32; 4 * (n_classes + 1)],
        sums4: vec![0u64; 4 * (n_classes + 1)],
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
        let (maj, wei) = if fixed.is_some() {
            sub.run::<true>(
                &full_counts,
                &full_sums,
                k,
                rounds,
                &mut rng,
                p.class_correct,
            )
        } else {
            sub.run::<false>(
                &full_counts,
                &full_sums,
                k,
                rounds,
                &mut rng,
                p.class_correct,
            )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimators as first written (one product per block and k, index permutation,
    /// scan of every class): the fast ones must give the very same numbers.
    fn reference(
        p: &ProblemSamples<'_>,
        ks: &[usize],
        subsets: usize,
        seed: u64,
        problem: u64,
    ) -> Estimates {
        fn best_of_k(order: &[(f64, bool)], n: usize, k: usize) -> f64 {
            let (mut total, mut before, mut i) = (0.0, 0, 0);
            while i < order.len() {
                let (mut j, mut correct) = (i, 0usize);
                while j < order.len() && order[j].0 == order[i].0 {
                    correct += usize::from(order[j].1);
                    j += 1;
                }
                let size = j - i;
                if correct > 0 {
                    let p = comb_ratio(n - before, k, n) - comb_ratio(n - before - size, k, n);
                    total += p * correct as f64 / size as f64;
                }
                before += size;
                i = j;
            }
            total
        }
        fn credit(values: &[u64], present: &[u32], class_correct: &[bool]) -> f64 {
            let mut best: Option<u64> = None;
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
        let n = p.class_of.len();
        let nc = p.class_correct.len();
        let c = p.sample_correct.iter().filter(|&&x| x).count();
        let mut out = Estimates {
            pass: ks.iter().map(|&k| pass_at_k(n, c, k)).collect(),
            ..Estimates::default()
        };
        let w: Vec<u64> = p
            .scores
            .map_or(vec![0; n], |s| s.iter().map(|&x| fixed_score(x)).collect());
        if let Some(s) = p.scores {
            let mut order: Vec<(f64, bool)> = (0..n)
                .filter(|&i| p.class_of[i].is_some())
                .map(|i| (s[i], p.sample_correct[i]))
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
        let at_one = p
            .class_of
            .iter()
            .filter(|c| c.is_some_and(|c| p.class_correct[c as usize]))
            .count() as f64
            / n.max(1) as f64;
        let slot: Vec<usize> = p
            .class_of
            .iter()
            .map(|c| c.map_or(nc, |c| c as usize))
            .collect();
        let mut perm: Vec<usize> = (0..n).collect();
        for &k in ks {
            let scored = p.scores.is_some();
            if k > n || k == 1 {
                let v = if k > n { f64::NAN } else { at_one };
                out.majority.push(v);
                if scored {
                    out.weighted.push(v);
                }
                continue;
            }
            let rounds = if k == n { 1 } else { subsets.max(1) };
            let mut rng = SplitMix(stream_seed(seed, problem, k));
            let (mut maj, mut wei) = (0.0, 0.0);
            for _ in 0..rounds {
                let complement = k == n || 2 * k > n;
                let m = if complement { n - k } else { k };
                for i in 0..m {
                    let j = i + rng.below(n - i);
                    perm.swap(i, j);
                }
                let mut counts = vec![0u32; nc + 1];
                let mut sums = vec![0u64; nc + 1];
                let chosen: Vec<usize> = if complement {
                    perm[m..].to_vec()
                } else {
                    perm[..m].to_vec()
                };
                for s in chosen {
                    counts[slot[s]] += 1;
                    sums[slot[s]] += w[s];
                }
                let counts64: Vec<u64> = counts.iter().map(|&x| u64::from(x)).collect();
                maj += credit(&counts64[..nc], &counts[..nc], p.class_correct);
                wei += credit(&sums[..nc], &counts[..nc], p.class_correct);
            }
            out.majority.push(maj / rounds as f64);
            if scored {
                out.weighted.push(wei / rounds as f64);
            }
        }
        out
    }

    #[test]
    fn fast_estimators_give_the_reference_numbers() {
        let mut rng = SplitMix(11);
        let ks = [
            1, 2, 3, 4, 5, 8, 16, 31, 32, 64, 100, 128, 255, 256, 257, 300, 511, 512, 600,
        ];
        for case in 0..60 {
            let n = 1 + rng.below(if case % 3 == 0 { 40 } else { 600 });
            let classes = 1 + rng.below(if case % 2 == 0 { 4 } else { 60 });
            let class_of: Vec<Option<u32>> = (0..n)
                .map(|_| {
                    (rng.below(20) != 0).then(|| {
                        let c = rng.below(classes);
                        (if rng.below(2) == 0 { 0 } else { c }) as u32
                    })
                })
                .collect();
            // Renumber by first appearance.
            let mut first: Vec<u32> = Vec::new();
            let class_of: Vec<Option<u32>> = class_of
                .iter()
                .map(|c| {
                    c.map(|c| match first.iter().position(|&x| x == c) {
                        Some(i) => i as u32,
                        None => {
                            first.push(c);
                            (first.len() - 1) as u32
                        }
                    })
                })
                .collect();
            let class_correct: Vec<bool> = (0..first.len()).map(|_| rng.below(3) == 0).collect();
            let sample_correct: Vec<bool> = class_of
                .iter()
                .map(|c| c.is_some_and(|c| class_correct[c as usize]) && rng.below(10) != 0)
                .collect();
            let levels = 1 + rng.below(if case % 4 == 0 { 3 } else { 10_000 });
            let scores: Vec<f64> = (0..n)
                .map(|_| rng.below(levels + 1) as f64 / levels as f64)
                .collect();
            for scored in [false, true] {
                let p = ProblemSamples {
                    class_of: &class_of,
                    class_correct: &class_correct,
                    sample_correct: &sample_correct,
                    scores: scored.then_some(&scores[..]),
                };
                let got = estimate(&p, &ks, 25, 3, case);
                let want = reference(&p, &ks, 25, 3, case);
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "case {case}");
            }
        }
    }
}
