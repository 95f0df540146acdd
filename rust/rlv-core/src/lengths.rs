//! Length selection by verifier confidence: sequential + parallel test-time scaling.
//!
//! A problem has N samples, each cut at budgets `L_1 < ... < L_m` tokens (one long
//! generation serves every budget: the sample at budget `L` is the first `L` tokens of the
//! longest one, plus a forced answer when budget forcing is on). At each budget the samples
//! have an answer class (or none) and a verifier score. The stopping rule, for a threshold
//! tau: weighted-vote the pool at `L_1`, `L_2`, ... and stop at the first budget whose
//! confidence reaches tau (the last budget otherwise); the answer is that budget's weighted
//! vote.
//!
//! Confidence of a pool ([`Confidence`]), with `W` the winning class's score sum:
//! * `Share`: `W / (sum of the scores of every sample of the pool)`, samples without an
//!   answer included (their score counts against the winner, so a pool where most samples
//!   have not reached an answer is not confident); 0 when every score is 0.
//! * `Mass`: `W / k` (k the pool size): the winner's share of the largest possible score
//!   sum; low when few samples agree even if nothing else has an answer.
//!
//! Tokens spent (per sample, generation + verification), for the sequential procedure that
//! stops at budget `j`: the cut tokens `cut_j`, plus at every budget `j' <= j` where the
//! sample's cut is new the forced-answer tokens of that budget and, where its score is read,
//! `verify_tokens`. A cut is new at `j'` when `j' = 1` or it grew (`cut_j' > cut_j'-1`); a
//! sample that ended before `L_j'-1` keeps its answer and score, at no cost. A score is read
//! when the sample has an answer (the vote), and with `Share` also when it has none (the
//! denominator); `Mass` never reads the score of a sample without an answer, so such cuts
//! are not verified. Fixed budget `j`: majority costs `cut_j + forced_j`, weighted adds one
//! verification per answered sample.
//!
//! Estimators over random size-k subsets of the N samples:
//! * fixed budgets: the estimators of [`crate::estimators`] per budget (pass@k and
//!   Best-of-k exact, majority@k and weighted@k exact for k = 1 and k = N, Monte Carlo in
//!   between); their token means are exact (linearity: the mean over k-subsets of a sum is k
//!   times the mean over samples);
//! * the stopping rule: exact when there are at most `subsets` k-subsets (every subset is
//!   enumerated), Monte Carlo over `subsets` random k-subsets otherwise (seeded by
//!   `(seed, problem index, k)`, with the variance of the mean reported). Every tau is
//!   evaluated on the same subsets, so the tokens spent are non-decreasing in tau for every
//!   subset and therefore on average.
//!
//! Ties between classes earn `c/t` (c correct among t tied), as in the estimators.

use crate::error::{Error, Result};
use crate::estimators::{self, check_ks, stream_seed, Estimates, ProblemSamples, SplitMix};
use crate::votes::{check_scores, fixed_score};

/// How confident a weighted vote is (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Confidence {
    /// Winning class's share of the pool's total score.
    Share,
    /// Winning class's score sum over the pool size.
    Mass,
}

impl Confidence {
    /// Parse `"share"` or `"mass"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "share" => Ok(Self::Share),
            "mass" => Ok(Self::Mass),
            _ => Err(Error::InvalidOption {
                option: "confidence",
                value: s.to_string(),
                allowed: "\"share\", \"mass\"",
            }),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Share => "share",
            Self::Mass => "mass",
        }
    }
}

/// One budget's pool of one problem.
#[derive(Clone, Copy, Debug)]
pub struct BudgetPool<'a> {
    /// Class of each sample at this budget (`None`: no readable answer).
    pub class_of: &'a [Option<u32>],
    /// Whether each class of this budget is correct.
    pub class_correct: &'a [bool],
    /// Whether each sample is correct (pass@k, Best-of-k of the fixed budget).
    pub sample_correct: &'a [bool],
    /// Verifier scores in [0, 1].
    pub scores: &'a [f64],
    /// Generated tokens of each sample's cut (at most the budget).
    pub cut: &'a [u64],
    /// Tokens of the forced answer appended to the cut (0: none).
    pub forced: &'a [u64],
}

/// One problem: its budgets and one pool per budget (the same samples in each).
#[derive(Clone, Debug)]
pub struct LengthProblem<'a> {
    pub budgets: &'a [u64],
    pub pools: Vec<BudgetPool<'a>>,
    /// Tokens one verification costs (see the module docs).
    pub verify_tokens: u64,
}

/// What to estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub ks: Vec<usize>,
    /// Thresholds, each in [0, 1].
    pub taus: Vec<f64>,
    /// Subsets per k for the Monte Carlo estimates (and the enumeration limit).
    pub subsets: usize,
    pub seed: u64,
    pub confidence: Confidence,
}

/// Estimates of one problem. `[k][tau]` arrays are `NaN` where k exceeds the sample count.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LengthEstimates {
    /// Accuracy of the stopping rule, `[k][tau]`.
    pub accuracy: Vec<Vec<f64>>,
    /// Variance of that estimate over its random subsets (0 when exact), `[k][tau]`.
    pub accuracy_var: Vec<Vec<f64>>,
    /// Mean tokens spent per sample, `[k][tau]`.
    pub tokens: Vec<Vec<f64>>,
    /// Mean budget (in tokens) at which the rule stopped, `[k][tau]`.
    pub stop_budget: Vec<Vec<f64>>,
    /// Whether every k-subset was enumerated, `[k]`.
    pub exact: Vec<bool>,
    /// The estimators of each fixed budget, `[budget]`.
    pub fixed: Vec<Estimates>,
    /// Mean tokens per sample of fixed-budget majority voting (generation only), `[budget]`.
    pub fixed_tokens_majority: Vec<f64>,
    /// Mean tokens per sample of fixed-budget weighted voting (one verification per answered
    /// sample).
    pub fixed_tokens_weighted: Vec<f64>,
}

fn invalid(name: &'static str, index: usize, value: String, expected: &'static str) -> Error {
    Error::InvalidValue {
        name,
        index,
        value,
        expected,
    }
}

/// Check the settings.
///
/// # Errors
/// [`Error::InvalidValue`] for a zero k, a tau outside [0, 1], or zero subsets.
pub fn check_settings(s: &Settings) -> Result<()> {
    check_ks(&s.ks)?;
    if let Some((i, t)) = s
        .taus
        .iter()
        .enumerate()
        .find(|(_, t)| !(0.0..=1.0).contains(*t))
    {
        return Err(invalid("taus", i, t.to_string(), "a number in [0, 1]"));
    }
    if s.subsets == 0 {
        return Err(invalid("subsets", 0, "0".into(), "subsets >= 1"));
    }
    Ok(())
}

fn same_len(
    left_name: &'static str,
    left: usize,
    right_name: &'static str,
    right: usize,
) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            left_name,
            left,
            right_name,
            right,
        })
    }
}

/// Check one problem: strictly increasing positive budgets, one pool per budget, the same
/// number of samples everywhere (at least one), classes in range, scores in [0, 1], cuts
/// within their budget and non-decreasing from budget to budget.
///
/// # Errors
/// [`Error::LengthMismatch`] or [`Error::InvalidValue`] naming what is wrong.
pub fn check_problem(p: &LengthProblem<'_>) -> Result<()> {
    if p.budgets.is_empty() {
        return Err(invalid("budgets", 0, "[]".into(), "at least one budget"));
    }
    for (j, w) in p.budgets.windows(2).enumerate() {
        if w[1] <= w[0] {
            return Err(invalid(
                "budgets",
                j + 1,
                w[1].to_string(),
                "budgets strictly increasing",
            ));
        }
    }
    if p.budgets[0] == 0 {
        return Err(invalid("budgets", 0, "0".into(), "budgets >= 1"));
    }
    same_len("budgets", p.budgets.len(), "pools", p.pools.len())?;
    let n = p.pools[0].class_of.len();
    if n == 0 {
        return Err(invalid("samples", 0, "0".into(), "at least one sample"));
    }
    for (j, pool) in p.pools.iter().enumerate() {
        same_len(
            "class_of",
            n,
            "class_of of a later budget",
            pool.class_of.len(),
        )?;
        same_len("class_of", n, "sample_correct", pool.sample_correct.len())?;
        same_len("class_of", n, "cut", pool.cut.len())?;
        same_len("class_of", n, "forced", pool.forced.len())?;
        check_scores(pool.scores, n)?;
        if let Some(&c) = pool
            .class_of
            .iter()
            .flatten()
            .find(|&&c| c as usize >= pool.class_correct.len())
        {
            return Err(invalid(
                "class_of",
                j,
                c.to_string(),
                "a class below the number of classes of its budget",
            ));
        }
        if let Some(i) = pool.cut.iter().position(|&c| c > p.budgets[j]) {
            return Err(invalid(
                "cut",
                i,
                pool.cut[i].to_string(),
                "at most the budget",
            ));
        }
        if j > 0 {
            let prev = p.pools[j - 1].cut;
            if let Some(i) = (0..n).find(|&i| pool.cut[i] < prev[i]) {
                return Err(invalid(
                    "cut",
                    i,
                    pool.cut[i].to_string(),
                    "cuts non-decreasing from budget to budget",
                ));
            }
        }
    }
    Ok(())
}

/// `C(n, k)`, saturating at `u64::MAX`.
fn binomial(n: usize, k: usize) -> u64 {
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        r = r * (n - i) as u128 / (i + 1) as u128;
        if r > u128::from(u64::MAX) {
            return u64::MAX;
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let v = r as u64;
    v
}

/// The next k-combination of `0..n` in lexicographic order (`false` after the last).
fn next_combination(idx: &mut [usize], n: usize) -> bool {
    let k = idx.len();
    let mut i = k;
    while i > 0 {
        i -= 1;
        if idx[i] < n - k + i {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Per-sample data of a problem in the layout the subset loop reads.
struct Prepared {
    /// `[budget][sample]` class slot (`u32::MAX`: none).
    class: Vec<Vec<u32>>,
    /// `[budget][sample]` fixed-point score.
    weight: Vec<Vec<u64>>,
    /// `[budget][sample]` tokens spent by the sequential procedure up to that budget.
    spent: Vec<Vec<u64>>,
    /// `[budget]` number of classes.
    n_classes: Vec<usize>,
}

fn prepare(p: &LengthProblem<'_>, confidence: Confidence) -> Prepared {
    let n = p.pools[0].class_of.len();
    let mut spent = Vec::with_capacity(p.pools.len());
    let mut acc = vec![0u64; n];
    for (j, pool) in p.pools.iter().enumerate() {
        for (i, a) in acc.iter_mut().enumerate() {
            let prev_cut = if j == 0 { 0 } else { p.pools[j - 1].cut[i] };
            let fresh = j == 0 || pool.cut[i] > prev_cut;
            *a += pool.cut[i] - prev_cut;
            if fresh {
                // A verification is paid where its score is read: the vote reads answered
                // samples only; the share confidence also reads the others (denominator).
                let read = pool.class_of[i].is_some() || confidence == Confidence::Share;
                *a += pool.forced[i] + if read { p.verify_tokens } else { 0 };
            }
        }
        spent.push(acc.clone());
    }
    Prepared {
        class: p
            .pools
            .iter()
            .map(|b| b.class_of.iter().map(|c| c.unwrap_or(u32::MAX)).collect())
            .collect(),
        weight: p
            .pools
            .iter()
            .map(|b| b.scores.iter().map(|&s| fixed_score(s)).collect())
            .collect(),
        spent,
        n_classes: p.pools.iter().map(|b| b.class_correct.len()).collect(),
    }
}

/// Running sums of the stopping rule for one k.
struct Tally {
    acc: Vec<f64>,
    acc2: Vec<f64>,
    tokens: Vec<f64>,
    stop: Vec<f64>,
}

/// Scratch space of the subset loop: per-budget class sums and presence flags (all zero /
/// false between subsets), the classes a subset touched, and each budget's
/// `(confidence, credit, tokens spent)` for the current subset.
struct Scratch {
    sums: Vec<Vec<u64>>,
    present: Vec<Vec<bool>>,
    touched: Vec<u32>,
    per_budget: Vec<(f64, f64, u64)>,
}

/// Evaluate the stopping rule on one subset for every tau and add to `t`.
fn run_subset(
    idx: &[usize],
    pr: &Prepared,
    p: &LengthProblem<'_>,
    s: &Settings,
    sc: &mut Scratch,
    t: &mut Tally,
) {
    let Scratch {
        sums,
        present,
        touched,
        per_budget,
    } = sc;
    let k = idx.len();
    for (j, slot) in per_budget.iter_mut().enumerate() {
        let (class, weight) = (&pr.class[j], &pr.weight[j]);
        let (sum, seen) = (&mut sums[j], &mut present[j]);
        let mut total = 0u64;
        let mut spent = 0u64;
        for &i in idx {
            total += weight[i];
            spent += pr.spent[j][i];
            let c = class[i];
            if c != u32::MAX {
                if !seen[c as usize] {
                    seen[c as usize] = true;
                    touched.push(c);
                }
                sum[c as usize] += weight[i];
            }
        }
        let best = touched.iter().map(|&c| sum[c as usize]).max().unwrap_or(0);
        let (mut tied, mut correct) = (0u32, 0u32);
        for &c in touched.iter() {
            if sum[c as usize] == best {
                tied += 1;
                correct += u32::from(p.pools[j].class_correct[c as usize]);
            }
            sum[c as usize] = 0;
            seen[c as usize] = false;
        }
        touched.clear();
        let credit = if tied == 0 {
            0.0
        } else {
            f64::from(correct) / f64::from(tied)
        };
        #[allow(clippy::cast_precision_loss)]
        let conf = if tied == 0 {
            0.0
        } else {
            match s.confidence {
                Confidence::Share if total == 0 => 0.0,
                Confidence::Share => best as f64 / total as f64,
                Confidence::Mass => best as f64 / (k as f64 * fixed_score(1.0) as f64),
            }
        };
        *slot = (conf, credit, spent);
    }
    let m = per_budget.len();
    for (ti, &tau) in s.taus.iter().enumerate() {
        let stop = per_budget.iter().position(|b| b.0 >= tau).unwrap_or(m - 1);
        let (_, credit, spent) = per_budget[stop];
        t.acc[ti] += credit;
        t.acc2[ti] += credit * credit;
        #[allow(clippy::cast_precision_loss)]
        {
            t.tokens[ti] += spent as f64;
            t.stop[ti] += p.budgets[stop] as f64;
        }
    }
}

/// Estimates for one problem (call [`check_problem`] and [`check_settings`] first; the
/// batch entry point does). `problem` seeds its random subsets.
#[must_use]
pub fn select(p: &LengthProblem<'_>, s: &Settings, problem: u64) -> LengthEstimates {
    let n = p.pools[0].class_of.len();
    let m = p.budgets.len();
    let nt = s.taus.len();
    let pr = prepare(p, s.confidence);
    let mut out = LengthEstimates::default();
    for pool in &p.pools {
        out.fixed.push(estimators::estimate(
            &ProblemSamples {
                class_of: pool.class_of,
                class_correct: pool.class_correct,
                sample_correct: pool.sample_correct,
                scores: Some(pool.scores),
            },
            &s.ks,
            s.subsets,
            s.seed,
            problem,
        ));
        #[allow(clippy::cast_precision_loss)]
        let gen = pool
            .cut
            .iter()
            .zip(pool.forced)
            .map(|(&c, &f)| (c + f) as f64)
            .sum::<f64>()
            / n as f64;
        out.fixed_tokens_majority.push(gen);
        // The weighted vote reads the scores of the answered samples only.
        #[allow(clippy::cast_precision_loss)]
        let answered = pool.class_of.iter().filter(|c| c.is_some()).count() as f64 / n as f64;
        #[allow(clippy::cast_precision_loss)]
        out.fixed_tokens_weighted
            .push(gen + answered * p.verify_tokens as f64);
    }
    let mut sc = Scratch {
        sums: pr.n_classes.iter().map(|&c| vec![0u64; c]).collect(),
        present: pr.n_classes.iter().map(|&c| vec![false; c]).collect(),
        touched: Vec::new(),
        per_budget: vec![(0.0, 0.0, 0u64); m],
    };
    let mut perm: Vec<usize> = (0..n).collect();
    for &k in &s.ks {
        if k > n {
            for v in [
                &mut out.accuracy,
                &mut out.accuracy_var,
                &mut out.tokens,
                &mut out.stop_budget,
            ] {
                v.push(vec![f64::NAN; nt]);
            }
            out.exact.push(false);
            continue;
        }
        let mut t = Tally {
            acc: vec![0.0; nt],
            acc2: vec![0.0; nt],
            tokens: vec![0.0; nt],
            stop: vec![0.0; nt],
        };
        let exact = binomial(n, k) <= s.subsets as u64;
        let rounds = if exact {
            let mut idx: Vec<usize> = (0..k).collect();
            let mut count = 0usize;
            loop {
                run_subset(&idx, &pr, p, s, &mut sc, &mut t);
                count += 1;
                if !next_combination(&mut idx, n) {
                    break;
                }
            }
            count
        } else {
            let mut rng = SplitMix(stream_seed(s.seed, problem, k));
            for _ in 0..s.subsets {
                for i in 0..k {
                    let j = i + rng.below(n - i);
                    perm.swap(i, j);
                }
                run_subset(&perm[..k], &pr, p, s, &mut sc, &mut t);
            }
            s.subsets
        };
        #[allow(clippy::cast_precision_loss)]
        let (r, kf) = (rounds as f64, k as f64);
        let mean: Vec<f64> = t.acc.iter().map(|a| a / r).collect();
        let var: Vec<f64> = if exact {
            vec![0.0; nt]
        } else {
            t.acc2
                .iter()
                .zip(&mean)
                .map(|(a2, mu)| {
                    let sample_var = if rounds > 1 {
                        ((a2 - r * mu * mu) / (r - 1.0)).max(0.0)
                    } else {
                        0.0
                    };
                    sample_var / r
                })
                .collect()
        };
        out.accuracy.push(mean);
        out.accuracy_var.push(var);
        out.tokens
            .push(t.tokens.iter().map(|x| x / r / kf).collect());
        out.stop_budget.push(t.stop.iter().map(|x| x / r).collect());
        out.exact.push(exact);
    }
    out
}

/// [`select`] over many problems on the thread pool, after checking every input; problem
/// `i` of the batch gets index `first_index + i`.
///
/// # Errors
/// The errors of [`check_settings`], the first error of [`check_problem`] (its message
/// prefixed by the problem's position is left to the caller), or a thread-pool error.
pub fn select_batch(
    problems: &[LengthProblem<'_>],
    s: &Settings,
    first_index: u64,
    num_threads: Option<usize>,
) -> Result<Vec<LengthEstimates>> {
    check_settings(s)?;
    for p in problems {
        check_problem(p)?;
    }
    let idx: Vec<usize> = (0..problems.len()).collect();
    crate::parallel::map_ordered(&idx, num_threads, |&i| {
        select(&problems[i], s, first_index + i as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_enumerate_every_subset_once() {
        let mut idx = vec![0, 1];
        let mut seen = vec![idx.clone()];
        while next_combination(&mut idx, 4) {
            seen.push(idx.clone());
        }
        assert_eq!(
            seen,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(binomial(4, 2), 6);
        assert_eq!(binomial(64, 32), 1_832_624_140_942_590_534);
        assert_eq!(binomial(200, 100), u64::MAX);
    }
}
