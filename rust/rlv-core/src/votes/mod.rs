//! Answer classes and votes over a problem's samples.
//!
//! * [`cluster`]: answer classes by real math equivalence, with one parse per distinct answer
//!   (not one comparison per pair of samples): identical spans share a parse, exactly written
//!   equal values share a key, and only answers whose cheap keys cannot rule out equality are
//!   compared with the full checker. Classes are the connected components of
//!   [`crate::grading::is_equiv`] over the distinct answers.
//! * [`vote`]: majority, verifier-weighted majority and Best-of-N on one pool.
//!
//! The test-time-scaling estimators built on votes are in [`crate::estimators`].

mod cluster;

pub use cluster::{cluster, cluster_prepared, Clustered, Clustering, DEFAULT_MAX_COMPARISONS};

use crate::error::{Error, Result};
use crate::grading::GradeOptions;

/// How one pool of samples picks its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoteMethod {
    /// The largest class (verifier-free; never looks at scores). Ties: first appearance.
    Majority,
    /// The class with the largest sum of scores. Ties: first appearance.
    Weighted,
    /// The sample with the highest score (among samples with a class). Ties: first sample.
    BestOfN,
}

impl VoteMethod {
    /// Parse `"majority"`, `"weighted"`, `"best_of_n"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "majority" => Ok(Self::Majority),
            "weighted" => Ok(Self::Weighted),
            "best_of_n" => Ok(Self::BestOfN),
            _ => Err(Error::InvalidOption {
                option: "method",
                value: s.to_string(),
                allowed: "\"majority\", \"weighted\", \"best_of_n\"",
            }),
        }
    }

    /// Whether the method needs verifier scores.
    #[must_use]
    pub fn needs_scores(self) -> bool {
        self != Self::Majority
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Majority => "majority",
            Self::Weighted => "weighted",
            Self::BestOfN => "best_of_n",
        }
    }
}

/// Scores are summed in fixed point with this many fractional bits, so that class sums are
/// exact, do not depend on the order of the samples, and ties are real ties.
pub const SCORE_FRACTION_BITS: u32 = 32;

/// A score in [0, 1] as fixed point (see [`SCORE_FRACTION_BITS`]).
#[must_use]
pub fn fixed_score(s: f64) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let v = (s.clamp(0.0, 1.0) * f64::from(1u32 << 31) * 2.0).round() as u64;
    v
}

/// Check that scores are numbers in [0, 1] and as many as the samples.
///
/// # Errors
/// [`Error::LengthMismatch`] or [`Error::InvalidValue`] (NaN, outside [0, 1]).
pub fn check_scores(scores: &[f64], n: usize) -> Result<()> {
    if scores.len() != n {
        return Err(Error::LengthMismatch {
            left_name: "answers",
            left: n,
            right_name: "scores",
            right: scores.len(),
        });
    }
    if let Some((i, s)) = scores
        .iter()
        .enumerate()
        .find(|(_, s)| !(0.0..=1.0).contains(*s))
    {
        return Err(Error::InvalidValue {
            name: "scores",
            index: i,
            value: s.to_string(),
            expected: "a number in [0, 1]",
        });
    }
    Ok(())
}

/// The result of one vote.
#[derive(Clone, Debug, PartialEq)]
pub struct VoteOutcome {
    /// The winning class (`None` when no sample has a class).
    pub class: Option<u32>,
    /// The sample that represents the decision: the class's first member for the votes, the
    /// chosen sample for Best-of-N.
    pub sample: Option<usize>,
    /// Majority: the class size; weighted: the class's score sum; Best-of-N: the score.
    pub support: f64,
    /// Number of classes (or, for Best-of-N, samples) that tied for the win.
    pub tied: u32,
}

/// Vote over one pool. `class_of[i]` is the class of sample `i` (classes numbered by first
/// appearance, as [`cluster`] gives them); `scores` are needed by the weighted vote and
/// Best-of-N and must be in [0, 1].
///
/// # Errors
/// [`Error::InvalidOption`] when a method needs scores and none are given, or the errors of
/// [`check_scores`].
pub fn vote(
    class_of: &[Option<u32>],
    n_classes: usize,
    scores: Option<&[f64]>,
    method: VoteMethod,
) -> Result<VoteOutcome> {
    if let Some(s) = scores {
        check_scores(s, class_of.len())?;
    }
    let none = VoteOutcome {
        class: None,
        sample: None,
        support: 0.0,
        tied: 0,
    };
    let first_member = |c: u32| class_of.iter().position(|&x| x == Some(c));
    match method {
        VoteMethod::Majority => {
            let mut counts = vec![0u64; n_classes];
            for c in class_of.iter().flatten() {
                counts[*c as usize] += 1;
            }
            Ok(pick_max(&counts).map_or(none, |(c, v, t)| VoteOutcome {
                class: Some(c),
                sample: first_member(c),
                #[allow(clippy::cast_precision_loss)]
                support: v as f64,
                tied: t,
            }))
        }
        VoteMethod::Weighted => {
            let s = needs(scores, method)?;
            let mut present = vec![false; n_classes];
            let mut sums = vec![0u64; n_classes];
            for (i, c) in class_of.iter().enumerate() {
                if let Some(c) = c {
                    present[*c as usize] = true;
                    sums[*c as usize] += fixed_score(s[i]);
                }
            }
            Ok(pick_max_present(&sums, &present).map_or(none, |(c, _, t)| {
                let sum: f64 = class_of
                    .iter()
                    .zip(s)
                    .filter(|(x, _)| **x == Some(c))
                    .map(|(_, v)| *v)
                    .sum();
                VoteOutcome {
                    class: Some(c),
                    sample: first_member(c),
                    support: sum,
                    tied: t,
                }
            }))
        }
        VoteMethod::BestOfN => {
            let s = needs(scores, method)?;
            let mut best: Option<(usize, f64)> = None;
            let mut tied = 0;
            for (i, c) in class_of.iter().enumerate() {
                if c.is_none() {
                    continue;
                }
                match best {
                    Some((_, b)) if s[i] < b => {}
                    Some((_, b)) if s[i] == b => tied += 1,
                    _ => {
                        best = Some((i, s[i]));
                        tied = 1;
                    }
                }
            }
            Ok(best.map_or(none, |(i, v)| VoteOutcome {
                class: class_of[i],
                sample: Some(i),
                support: v,
                tied,
            }))
        }
    }
}

/// Classes and vote of one pool of answers ([`cluster_and_vote`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolVote {
    /// The answer classes of the pool.
    pub clustering: Clustering,
    /// The vote over those classes.
    pub outcome: VoteOutcome,
}

/// Cluster one pool of answers by math equivalence ([`cluster`]) and vote over the classes
/// ([`vote`]): the whole decision for one problem's samples.
///
/// # Errors
/// The errors of [`vote`] (scores missing for a method that needs them, bad scores).
pub fn cluster_and_vote<S: AsRef<str>>(
    answers: &[Option<S>],
    scores: Option<&[f64]>,
    method: VoteMethod,
    opts: &GradeOptions,
    max_comparisons: u64,
) -> Result<PoolVote> {
    let clustering = cluster(answers, opts, max_comparisons);
    let outcome = vote(&clustering.class_of, clustering.n_classes(), scores, method)?;
    Ok(PoolVote {
        clustering,
        outcome,
    })
}

/// [`cluster_and_vote`] over many pools on up to `num_threads` threads (`None`: the default
/// count); results in input order, independent of the thread count. `scores`, when given,
/// has one entry per pool.
///
/// # Errors
/// [`Error::LengthMismatch`] when `scores` has another length than `pools`, the first error
/// of [`cluster_and_vote`] in pool order, or a thread-pool error.
pub fn cluster_and_vote_batch<S: AsRef<str> + Sync>(
    pools: &[Vec<Option<S>>],
    scores: Option<&[Vec<f64>]>,
    method: VoteMethod,
    opts: &GradeOptions,
    max_comparisons: u64,
    num_threads: Option<usize>,
) -> Result<Vec<PoolVote>> {
    if let Some(s) = scores {
        if s.len() != pools.len() {
            return Err(Error::LengthMismatch {
                left_name: "answers",
                left: pools.len(),
                right_name: "scores",
                right: s.len(),
            });
        }
    }
    let idx: Vec<usize> = (0..pools.len()).collect();
    crate::parallel::map_ordered(&idx, num_threads, |&i| {
        cluster_and_vote(
            &pools[i],
            scores.map(|s| s[i].as_slice()),
            method,
            opts,
            max_comparisons,
        )
    })?
    .into_iter()
    .collect()
}

fn needs(scores: Option<&[f64]>, method: VoteMethod) -> Result<&[f64]> {
    scores.ok_or(Error::InvalidOption {
        option: "method",
        value: method.as_str().to_string(),
        allowed: "\"majority\" when no scores are given",
    })
}

/// Index, value and tie count of the largest non-zero count (first index wins ties).
fn pick_max(counts: &[u64]) -> Option<(u32, u64, u32)> {
    let present: Vec<bool> = counts.iter().map(|&c| c > 0).collect();
    pick_max_present(counts, &present)
}

/// Index, value and tie count of the largest value among the present classes (a present
/// class may have a zero sum); the first index wins ties.
fn pick_max_present(sums: &[u64], present: &[bool]) -> Option<(u32, u64, u32)> {
    let mut best: Option<(u32, u64, u32)> = None;
    for (i, (&v, &p)) in sums.iter().zip(present).enumerate() {
        if !p {
            continue;
        }
        match best {
            Some((_, b, _)) if v < b => {}
            Some((c, b, t)) if v == b => best = Some((c, b, t + 1)),
            #[allow(clippy::cast_possible_truncation)]
            _ => best = Some((i as u32, v, 1)),
        }
    }
    best
}
