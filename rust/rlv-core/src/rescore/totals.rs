//! Running totals of a rescoring run over its batches (one or more files): counts, full-pool
//! votes, and per estimator and k the count, sum and sum of squares of the defined estimates
//! (the moments of the normal confidence intervals), so memory does not grow with the dump;
//! optionally every estimate (for bootstrap intervals).

use super::{Batch, InvalidRow, ProblemResult};

/// Invalid rows listed (all are counted).
pub const MAX_LISTED_INVALID: usize = 100;

/// The estimators, in the order of the estimate arrays: pass, majority, weighted, Best-of-N.
pub const ESTIMATORS: usize = 4;

/// The first answer-field disagreement of the run: file, line, the answer field's value, the
/// completion's own answer.
pub type AnswerExample = (String, u64, String, Option<String>);

/// Totals over every batch added so far.
#[derive(Clone, Debug)]
pub struct Totals {
    /// Number of k values (the estimate arrays are `ESTIMATORS x k`).
    pub k: usize,
    pub problems: u64,
    pub samples: u64,
    pub answered: u64,
    pub correct: u64,
    pub classes: u64,
    pub comparisons: u64,
    pub truncated: u64,
    pub mixed: u64,
    /// Problems with verifier scores.
    pub with_scores: u64,
    /// Correct full-pool votes: majority (over every problem), weighted and Best-of-N (over
    /// the problems with scores).
    pub votes: [u64; 3],
    /// Defined (not NaN) estimates, per estimator and k (row-major, `ESTIMATORS x k`).
    pub n: Vec<i64>,
    /// Their sums: per batch, summed over its problems in order, then added here.
    pub s1: Vec<f64>,
    /// Their sums of squares, likewise.
    pub s2: Vec<f64>,
    /// Every problem's estimates (`problems x ESTIMATORS x k`, NaN where undefined), kept
    /// only when asked for.
    pub kept: Option<Vec<f64>>,
    /// The first [`MAX_LISTED_INVALID`] invalid rows.
    pub invalid: Vec<InvalidRow>,
    pub invalid_count: u64,
    pub skipped: u64,
    /// Samples whose answer field was compared with the completion's answer.
    pub compared: u64,
    pub disagree: u64,
    pub example: Option<AnswerExample>,
}

/// A problem's estimates as one `ESTIMATORS x k` row-major array (NaN for an estimator the
/// problem has none of: no scores).
pub fn estimate_row(p: &ProblemResult, k: usize) -> impl Iterator<Item = f64> + '_ {
    let e = &p.estimates;
    [&e.pass, &e.majority, &e.weighted, &e.best_of]
        .into_iter()
        .flat_map(move |m| {
            let nan = if m.is_empty() { k } else { 0 };
            m.iter().copied().chain(std::iter::repeat_n(f64::NAN, nan))
        })
}

impl Totals {
    /// Empty totals for `k` k values; `keep`: keep every estimate.
    #[must_use]
    pub fn new(k: usize, keep: bool) -> Self {
        Self {
            k,
            problems: 0,
            samples: 0,
            answered: 0,
            correct: 0,
            classes: 0,
            comparisons: 0,
            truncated: 0,
            mixed: 0,
            with_scores: 0,
            votes: [0; 3],
            n: vec![0; ESTIMATORS * k],
            s1: vec![0.0; ESTIMATORS * k],
            s2: vec![0.0; ESTIMATORS * k],
            kept: keep.then(Vec::new),
            invalid: Vec::new(),
            invalid_count: 0,
            skipped: 0,
            compared: 0,
            disagree: 0,
            example: None,
        }
    }

    /// Add one batch of the file `file`.
    pub fn add(&mut self, b: &Batch, file: &str) {
        let width = ESTIMATORS * self.k;
        let mut s1 = vec![0.0; width];
        let mut s2 = vec![0.0; width];
        for p in &b.problems {
            self.problems += 1;
            self.answered += p.answered as u64;
            self.correct += p.correct as u64;
            self.classes += p.classes as u64;
            self.comparisons += p.comparisons;
            self.truncated += u64::from(p.truncated);
            self.mixed += p.mixed_classes as u64;
            self.votes[0] += u64::from(p.majority.correct);
            if p.weighted.is_some() {
                self.with_scores += 1;
                self.votes[1] += u64::from(p.weighted.as_ref().is_some_and(|d| d.correct));
                self.votes[2] += u64::from(p.best_of_n.as_ref().is_some_and(|d| d.correct));
            }
            for (i, v) in estimate_row(p, self.k).enumerate().take(width) {
                if let Some(kept) = self.kept.as_mut() {
                    kept.push(v);
                }
                if !v.is_nan() {
                    self.n[i] += 1;
                    s1[i] += v;
                    s2[i] += v * v;
                }
            }
        }
        for i in 0..width {
            self.s1[i] += s1[i];
            self.s2[i] += s2[i];
        }
        self.samples += b.samples;
        self.skipped += b.skipped;
        let c = &b.answer_check;
        self.compared += c.compared;
        self.disagree += c.disagree;
        if self.example.is_none() {
            if let Some((line, given, own)) = &c.example {
                self.example = Some((file.to_string(), *line, given.clone(), own.clone()));
            }
        }
        for r in &b.invalid {
            self.invalid_count += 1;
            if self.invalid.len() < MAX_LISTED_INVALID {
                self.invalid.push(r.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::estimators::Estimates;
    use crate::rescore::{AnswerCheck, Decision};

    fn decision(correct: bool) -> Decision {
        Decision {
            answer: Some("1".to_string()),
            sample: Some(0),
            correct,
            support: 1.0,
            tied: 1,
        }
    }

    fn problem(pass: f64, scored: bool) -> ProblemResult {
        ProblemResult {
            id: format!("p{pass}"),
            gold_answer: "1".to_string(),
            samples: 4,
            answered: 3,
            correct: 2,
            classes: 2,
            majority: decision(pass > 0.5),
            weighted: scored.then(|| decision(true)),
            best_of_n: scored.then(|| decision(false)),
            estimates: Estimates {
                pass: vec![pass, f64::NAN],
                majority: vec![pass / 2.0, 1.0],
                weighted: if scored { vec![0.25, 0.5] } else { Vec::new() },
                best_of: if scored { vec![0.75, 1.0] } else { Vec::new() },
            },
            comparisons: 5,
            truncated: false,
            mixed_classes: 1,
        }
    }

    fn invalid(line: u64) -> InvalidRow {
        InvalidRow {
            file: Arc::from("d.jsonl"),
            line,
            field: None,
            message: "bad".to_string(),
        }
    }

    #[test]
    fn totals_count_sum_and_keep() {
        let mut t = Totals::new(2, true);
        let b1 = Batch {
            problems: vec![problem(1.0, true), problem(0.5, false)],
            invalid: (1..=60).map(invalid).collect(),
            samples: 8,
            skipped: 1,
            answer_check: AnswerCheck {
                compared: 3,
                disagree: 1,
                example: Some((7, "2".to_string(), None)),
            },
        };
        let b2 = Batch {
            problems: vec![problem(0.25, true)],
            invalid: (61..=120).map(invalid).collect(),
            samples: 4,
            ..Batch::default()
        };
        t.add(&b1, "a.jsonl");
        t.add(&b2, "b.jsonl");
        assert_eq!(
            (t.problems, t.samples, t.answered, t.correct),
            (3, 12, 9, 6)
        );
        assert_eq!(
            (t.classes, t.comparisons, t.mixed, t.truncated),
            (6, 15, 3, 0)
        );
        assert_eq!(t.with_scores, 2);
        // majority: 1.0 > 0.5 only; weighted always correct, Best-of-N never (scored only).
        assert_eq!(t.votes, [1, 2, 0]);
        // pass@k1 over 3 problems, pass@k2 undefined everywhere; weighted only when scored.
        assert_eq!(&t.n, &[3, 0, 3, 3, 2, 2, 2, 2]);
        assert_eq!(t.s1[0], (1.0 + 0.5) + 0.25);
        assert_eq!(t.s2[0], (1.0 + 0.25) + 0.0625);
        assert_eq!(t.s1[4], 0.25 + 0.25);
        let kept = t.kept.as_ref().unwrap();
        assert_eq!(kept.len(), 3 * ESTIMATORS * 2);
        assert!(kept[1].is_nan() && kept[8 + 4].is_nan(), "{kept:?}");
        assert_eq!(
            (t.invalid_count, t.invalid.len()),
            (120, MAX_LISTED_INVALID)
        );
        assert_eq!(t.invalid.last().map(|r| r.line), Some(100));
        assert_eq!((t.skipped, t.compared, t.disagree), (1, 3, 1));
        assert_eq!(
            t.example,
            Some(("a.jsonl".to_string(), 7, "2".to_string(), None))
        );
        assert!(Totals::new(2, false).kept.is_none());
    }
}
