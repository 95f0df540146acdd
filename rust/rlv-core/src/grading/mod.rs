//! Math-answer grading: extraction of the final answer, parsing into a small AST and a
//! layered equivalence check (exact rationals, then exact-ish numeric identity testing),
//! all bounded by a work budget.
//!
//! Entry points: [`extract_answer`], [`is_equiv`], [`grade`], [`grade_batch`].

pub mod budget;
pub mod choice;
pub mod equiv;
pub mod eval;
pub mod expr;
pub mod extract;
pub mod lexer;
pub mod mp;
pub mod parse;

pub use choice::extract_choice;
pub use extract::{
    extract_answer, extract_answer_with, extract_gold, ExtractConfig, Extraction, Mode, Rule,
};

use crate::error::{Error, Result};
use budget::Budget;

/// Outcome of grading one completion against one gold answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum Status {
    /// The extracted answer equals the gold answer.
    Equal = 0,
    /// Both sides were read and they differ.
    NotEqual = 1,
    /// No final answer could be extracted from the completion.
    NoAnswer = 2,
    /// An answer span was found but could not be read as math or as a plain-text answer.
    Unparseable = 3,
    /// The work budget ran out (huge numbers, deep nesting, exponent towers, huge inputs).
    BudgetExceeded = 4,
    /// The gold itself could not be read. Never rewarded.
    InvalidGold = 5,
}

impl Status {
    /// All statuses, in code order.
    pub const ALL: [Status; 6] = [
        Status::Equal,
        Status::NotEqual,
        Status::NoAnswer,
        Status::Unparseable,
        Status::BudgetExceeded,
        Status::InvalidGold,
    ];

    /// The stable string name used by the Python API and reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Equal => "equal",
            Status::NotEqual => "not_equal",
            Status::NoAnswer => "no_answer",
            Status::Unparseable => "unparseable",
            Status::BudgetExceeded => "budget_exceeded",
            Status::InvalidGold => "invalid_gold",
        }
    }

    /// The stable integer code (the `i8` of the batch API).
    #[must_use]
    pub fn code(self) -> i8 {
        self as i8
    }

    /// Whether this status earns the reward.
    #[must_use]
    pub fn is_correct(self) -> bool {
        self == Status::Equal
    }

    /// The RL reward of this status: 1 for [`Status::Equal`]; NaN for
    /// [`Status::InvalidGold`] (the gold is unusable, so the sample is unscorable and drops
    /// out of the advantage baselines, see [`crate::advantages`]); 0 for every other status
    /// (a wrong, missing, unreadable or too costly answer earns nothing).
    #[must_use]
    pub fn reward(self) -> f32 {
        match self {
            Status::Equal => 1.0,
            Status::InvalidGold => f32::NAN,
            Status::NotEqual | Status::NoAnswer | Status::Unparseable | Status::BudgetExceeded => {
                0.0
            }
        }
    }
}

/// How a percent sign is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PercentPolicy {
    /// `28\%` is the number 28 (the sign is a unit): equals `28`, not `0.28`. Default; matches
    /// the MATH convention and math-verify.
    #[default]
    Strip,
    /// `28\%` is the number 0.28: equals `0.28`, not `28`.
    Value,
    /// `28\%` equals both `28` and `0.28`.
    Either,
}

impl PercentPolicy {
    /// Parse the option string (`"strip"`, `"value"`, `"either"`).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "strip" => Ok(Self::Strip),
            "value" => Ok(Self::Value),
            "either" => Ok(Self::Either),
            _ => Err(Error::InvalidOption {
                option: "percent",
                value: s.to_string(),
                allowed: "\"strip\", \"value\", \"either\"",
            }),
        }
    }

    /// The option string (`"strip"`, `"value"`, `"either"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strip => "strip",
            Self::Value => "value",
            Self::Either => "either",
        }
    }
}

/// Every grading policy, with the defaults documented in `docs/grading.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeOptions {
    /// Extraction mode for the completion (the gold is always read as a bare answer or as a
    /// solution with `\boxed{}` / `#### N`).
    pub mode: Mode,
    /// Bare comma lists (`10, 4, -2`) are ordered (Hendrycks) instead of unordered (default).
    pub ordered_lists: bool,
    /// How `%` is read.
    pub percent: PercentPolicy,
    /// An inequality (`x > 3`) may equal the matching interval (`(3, \infty)`). Default true.
    pub interval_inequality: bool,
    /// Variables are compared by name (`f(x)` != `f(y)`). When false, the prediction's free
    /// variables are renamed to the gold's (both sorted by name) when both have the same
    /// number of them, as math-verify's `strict=False` does.
    pub strict_vars: bool,
    /// A decimal compared with an exact value must show at least this many decimal places
    /// (`Some(4)`: `0.333` is not `1/3`, `0.3333` is). `None` (default): any decimal with at
    /// least two significant digits that rounds correctly. Like math-verify's
    /// `float_rounding`.
    pub min_decimals: Option<u32>,
    /// Relative tolerance for numeric comparison of two exactly written values that are not
    /// rational (radicals, pi, trig values). Decimals use a tolerance tied to their digits.
    pub rel_tol: f64,
    /// Work budget (abstract steps) per comparison.
    pub fuel: u64,
}

/// The largest accepted [`GradeOptions::min_decimals`].
pub const MAX_MIN_DECIMALS: u32 = 64;

impl GradeOptions {
    /// Check the numeric options: `min_decimals` at most [`MAX_MIN_DECIMALS`], `rel_tol`
    /// finite and >= 0, `fuel` >= 1 (the other fields are valid by construction).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first invalid option, in field order.
    pub fn check(&self) -> Result<()> {
        if let Some(n) = self.min_decimals.filter(|&n| n > MAX_MIN_DECIMALS) {
            return Err(Error::InvalidOption {
                option: "min_decimals",
                value: n.to_string(),
                allowed: "None or an integer in 0..=64",
            });
        }
        if !(self.rel_tol.is_finite() && self.rel_tol >= 0.0) {
            return Err(Error::InvalidOption {
                option: "rel_tol",
                value: self.rel_tol.to_string(),
                allowed: "a finite number >= 0",
            });
        }
        if self.fuel == 0 {
            return Err(Error::InvalidOption {
                option: "fuel",
                value: "0".to_string(),
                allowed: "an integer >= 1",
            });
        }
        Ok(())
    }
}

impl Default for GradeOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Lenient,
            ordered_lists: false,
            percent: PercentPolicy::Strip,
            interval_inequality: true,
            strict_vars: true,
            min_decimals: None,
            rel_tol: 1e-9,
            fuel: budget::DEFAULT_FUEL,
        }
    }
}

/// Verdict for one (completion, gold) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// The extracted answer span of the completion, if any.
    pub answer: Option<String>,
    /// The extraction rule that fired for the completion, if any.
    pub rule: Option<Rule>,
    /// The answer span read from the gold, if any.
    pub gold_answer: Option<String>,
}

impl Verdict {
    #[must_use]
    pub fn correct(&self) -> bool {
        self.status.is_correct()
    }
}

/// Compare two already-extracted answers (LaTeX or plain text).
///
/// Returns [`Status::Equal`], [`Status::NotEqual`], [`Status::Unparseable`] (either side is
/// empty/unreadable; `a` is treated as the gold, so an unreadable `a` gives
/// [`Status::InvalidGold`]) or [`Status::BudgetExceeded`].
#[must_use]
pub fn is_equiv(a: &str, b: &str, opts: &GradeOptions) -> Status {
    let mut budget = Budget::new(opts.fuel);
    equiv::compare_spans(a, b, opts, &mut budget)
}

/// The text compared for an extracted span: a list of boxes (`\boxed{1} and \boxed{2}`) or
/// of math spans (`$x = 2$ and $x = 3$`) is read as the list of their contents (`1, 2`).
/// A [`Rule::Hedged`] span is returned as written ([`grade`] compares each alternative).
pub fn answer_text(e: Extraction<'_>) -> std::borrow::Cow<'_, str> {
    if matches!(e.rule, Rule::BoxedList | Rule::MathList) {
        let parts = extract::alternatives(e.span);
        if parts.len() >= 2 {
            return std::borrow::Cow::Owned(parts.join(", "));
        }
    }
    std::borrow::Cow::Borrowed(e.span)
}

/// A final answer that offers alternatives is equal only when every alternative is: offering
/// more alternatives never raises the reward. The alternatives share one work budget.
/// [`Status::NotEqual`] if any alternative is not equal, else the first other status.
fn hedged_status(gold: &str, span: &str, opts: &GradeOptions) -> Status {
    let alts = extract::alternatives(span);
    let mut budget = Budget::new(opts.fuel);
    if alts.is_empty() {
        return equiv::compare_spans(gold, span, opts, &mut budget);
    }
    let mut worst = Status::Equal;
    for alt in alts {
        match equiv::compare_spans(gold, alt, opts, &mut budget) {
            Status::Equal => {}
            st @ (Status::InvalidGold | Status::NotEqual) => return st,
            st => {
                if worst == Status::Equal {
                    worst = st;
                }
            }
        }
    }
    worst
}

/// Grade one completion against one gold (a bare answer, or a solution with `\boxed{}` or
/// `#### N`).
#[must_use]
pub fn grade(completion: &str, gold: &str, opts: &GradeOptions) -> Verdict {
    let (status, ext, gold_span) = grade_borrowed(completion, gold, opts);
    Verdict {
        status,
        answer: ext.map(|e| e.span.to_string()),
        rule: ext.map(|e| e.rule),
        gold_answer: gold_span.map(|e| e.span.to_string()),
    }
}

/// [`grade`] without allocating the verdict: the status, the completion's extraction and the
/// gold's extraction, borrowing from the inputs.
#[must_use]
pub fn grade_borrowed<'a>(
    completion: &'a str,
    gold: &'a str,
    opts: &GradeOptions,
) -> (Status, Option<Extraction<'a>>, Option<Extraction<'a>>) {
    let ext = extract_answer(completion, opts.mode);
    let Some(gold_span) = extract_gold(gold) else {
        return (Status::InvalidGold, ext, None);
    };
    let Some(ext) = ext else {
        return (Status::NoAnswer, None, Some(gold_span));
    };
    let gold_text = answer_text(gold_span);
    let status = if ext.rule == Rule::Hedged {
        hedged_status(&gold_text, ext.span, opts)
    } else {
        is_equiv(&gold_text, &answer_text(ext), opts)
    };
    (status, Some(ext), Some(gold_span))
}

/// Grade many pairs on a thread pool; results are in input order and identical for any
/// thread count.
///
/// # Errors
/// [`Error::LengthMismatch`] if the two slices differ in length; [`Error::ThreadPool`] if
/// the pool cannot start.
pub fn grade_batch<S: AsRef<str> + Sync>(
    completions: &[S],
    golds: &[S],
    opts: &GradeOptions,
    num_threads: Option<usize>,
) -> Result<Vec<Verdict>> {
    if completions.len() != golds.len() {
        return Err(Error::LengthMismatch {
            left_name: "completions",
            left: completions.len(),
            right_name: "golds",
            right: golds.len(),
        });
    }
    let idx: Vec<usize> = (0..completions.len()).collect();
    crate::parallel::map_ordered(&idx, num_threads, |&i| {
        grade(completions[i].as_ref(), golds[i].as_ref(), opts)
    })
}

/// Statuses only (cheaper to move across threads than full verdicts).
///
/// # Errors
/// As [`grade_batch`].
pub fn grade_batch_status<S: AsRef<str> + Sync>(
    completions: &[S],
    golds: &[S],
    opts: &GradeOptions,
    num_threads: Option<usize>,
) -> Result<Vec<Status>> {
    if completions.len() != golds.len() {
        return Err(Error::LengthMismatch {
            left_name: "completions",
            left: completions.len(),
            right_name: "golds",
            right: golds.len(),
        });
    }
    let idx: Vec<usize> = (0..completions.len()).collect();
    crate::parallel::map_ordered(&idx, num_threads, |&i| {
        grade_borrowed(completions[i].as_ref(), golds[i].as_ref(), opts).0
    })
}
