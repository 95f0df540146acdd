//! Offline rescoring of sample dumps: read JSONL (plain, gzip, zstd) or Parquet rows, one per
//! problem or one per sample, extract and grade answers, cluster them, vote, and compute every scaling
//! estimator per problem, streaming in bounded chunks.
//!
//! [`Rescorer`] is the streaming reader (memory bounded by two chunks and the largest
//! problem); [`process_problem`] is the per-problem work.
//!
//! Each chunk (whole lines, read into a reused buffer) goes through the thread pool twice:
//! rows are parsed in parallel, completions reduced to their extracted answers as they are
//! parsed (`row`), then grouped into problems in order, then the problems are graded,
//! clustered and estimated in parallel while the next chunk is read.

mod parquet;
mod read;
mod row;
mod totals;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

pub use read::{open, Compression, Opened, Source};
pub use totals::{estimate_row, AnswerExample, Totals, ESTIMATORS, MAX_LISTED_INVALID};

use crate::error::{Error, Result};
use crate::estimators::{estimate, Estimates, ProblemSamples, DEFAULT_SUBSETS};
use crate::grading::equiv::{compare_prepared, Prepared};
use crate::grading::{extract_gold, GradeOptions, Status};
use crate::votes::{cluster_prepared, vote, VoteMethod, DEFAULT_MAX_COMPARISONS};
use row::{answer_of, Answers, Flex, One, ScoreVal, Scores, Texts, Top, Typed};

/// Where each field lives in a row (dotted paths reach into objects: `verifier.p_yes`, and
/// into lists by index: `resps.0`). `None`: the role is not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    pub problem_id: String,
    pub gold: String,
    /// Per-problem rows: the list of completions.
    pub completions: String,
    /// Per-sample rows: the completion.
    pub completion: String,
    pub scores: Option<String>,
    pub score: Option<String>,
    /// Pre-extracted answers (per-problem rows: a list; per-sample rows: a string).
    pub answers: Option<String>,
    pub answer: Option<String>,
    /// Roles set by [`Fields::set`] (the user's mapping), which presets never override.
    explicit: Vec<&'static str>,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            problem_id: "problem_id".into(),
            gold: "gold".into(),
            completions: "completions".into(),
            completion: "completion".into(),
            scores: Some("scores".into()),
            score: Some("score".into()),
            answers: Some("answers".into()),
            answer: Some("answer".into()),
            explicit: Vec::new(),
        }
    }
}

/// The field roles, as `--field NAME=PATH` names them.
const ROLES: [&str; 8] = [
    "problem_id",
    "gold",
    "completions",
    "completion",
    "scores",
    "score",
    "answers",
    "answer",
];

/// Roles read from one row of a layout: a path may serve only one of them.
fn layout_roles(layout: Layout) -> &'static [&'static str] {
    match layout {
        Layout::PerProblem => &["problem_id", "gold", "completions", "answers", "scores"],
        Layout::PerSample => &["problem_id", "gold", "completion", "answer", "score"],
        Layout::Auto => &ROLES,
    }
}

impl Fields {
    /// Set one field by name (`"completions"`, `"gold"`, ...): an explicit mapping, which
    /// wins over a detected dump format's.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an unknown field name, an empty path, or a path already
    /// mapped explicitly to another role read from the same rows (`gold=answer` with
    /// `answer=answer`).
    pub fn set(&mut self, name: &str, path: &str) -> Result<()> {
        if path.is_empty() {
            return Err(Error::InvalidOption {
                option: "field",
                value: format!("{name}="),
                allowed: "a non-empty field name or dotted path",
            });
        }
        let Some(role) = ROLES.iter().copied().find(|r| *r == name) else {
            return Err(Error::InvalidOption {
                option: "field",
                value: name.to_string(),
                allowed: "problem_id, gold, completions, completion, scores, score, answers, \
                          answer",
            });
        };
        for layout in [Layout::PerProblem, Layout::PerSample] {
            let roles = layout_roles(layout);
            if !roles.contains(&role) {
                continue;
            }
            for other in &self.explicit {
                if *other != role && roles.contains(other) && self.get(other) == Some(path) {
                    return Err(Error::InvalidOption {
                        option: "field",
                        value: format!("{name}={path} (already {other}={path})"),
                        allowed: "one role per field: a field cannot be both, e.g. the gold \
                                  and the sample's answer",
                    });
                }
            }
        }
        self.put(role, Some(path.to_string()));
        if !self.explicit.contains(&role) {
            self.explicit.push(role);
        }
        Ok(())
    }

    /// The path of a role (`None`: not read).
    #[must_use]
    pub fn get(&self, role: &str) -> Option<&str> {
        match role {
            "problem_id" => Some(&self.problem_id),
            "gold" => Some(&self.gold),
            "completions" => Some(&self.completions),
            "completion" => Some(&self.completion),
            "scores" => self.scores.as_deref(),
            "score" => self.score.as_deref(),
            "answers" => self.answers.as_deref(),
            "answer" => self.answer.as_deref(),
            _ => None,
        }
    }

    fn put(&mut self, role: &str, path: Option<String>) {
        match role {
            "problem_id" => self.problem_id = path.unwrap_or_default(),
            "gold" => self.gold = path.unwrap_or_default(),
            "completions" => self.completions = path.unwrap_or_default(),
            "completion" => self.completion = path.unwrap_or_default(),
            "scores" => self.scores = path,
            "score" => self.score = path,
            "answers" => self.answers = path,
            "answer" => self.answer = path,
            _ => {}
        }
    }

    /// Whether the user mapped this role.
    #[must_use]
    pub fn is_explicit(&self, role: &str) -> bool {
        self.explicit.contains(&role)
    }

    /// The mapping with a dump format's preset applied under the explicit roles, and every
    /// optional role (answers, scores) that was not mapped explicitly and reads a path
    /// another role of its layout reads dropped: with `gold=answer`, the `answer` field is
    /// the gold, never also a sample's answer.
    fn resolved(&self, preset: &[(&'static str, Option<&str>)]) -> Self {
        let mut f = self.clone();
        for (role, path) in preset {
            if !self.is_explicit(role) {
                f.put(role, path.map(str::to_string));
            }
        }
        for layout in [Layout::PerProblem, Layout::PerSample] {
            let roles = layout_roles(layout);
            for role in ["answers", "answer", "scores", "score"] {
                if !roles.contains(&role) || f.is_explicit(role) {
                    continue;
                }
                let Some(path) = f.get(role).map(str::to_string) else {
                    continue;
                };
                if roles
                    .iter()
                    .any(|o| *o != role && f.get(o) == Some(path.as_str()))
                {
                    f.put(role, None);
                }
            }
        }
        f
    }

    /// The effective mapping as `(role, path)` pairs (unread roles left out).
    #[must_use]
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        ROLES
            .iter()
            .filter_map(|r| self.get(r).map(|p| (*r, p.to_string())))
            .collect()
    }
}

/// A format's field mapping: `(role, path)`, `None` for a role that is not read.
type Preset = Vec<(&'static str, Option<&'static str>)>;

/// The tool that wrote a dump, recognised by the fields of its first row; each has a preset
/// field mapping (explicit `--field` mappings win over it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Detected from the first row.
    Auto,
    /// rlv's own field names (`gold`, `completions` / `completion`, `scores` / `score`).
    Rlv,
    /// huggingface/search-and-learn `save_dataset` rows: gold in `answer`, `completions`,
    /// per-step PRM `scores` (combined with `last` unless `score_agg` says otherwise).
    SearchAndLearn,
    /// Qwen2.5-Math `math_eval.py` rows: `idx`, `gt`, completions in `code` (`pred` and their
    /// own boolean `score` are not read).
    QwenMath,
    /// lm-evaluation-harness `--log_samples` rows: `doc_id`, `target`, `resps[0]` (the
    /// generations of the doc's request); rows of one `filter` only (the first row's).
    LmEval,
    /// verl validation dumps (`trainer.validation_data_dir`): one row per sample, `input`
    /// (the prompt: rows of a prompt are contiguous), `output`, `gts`; the `score` is the
    /// training reward (a grade, not a verifier's probability) and is not read.
    Verl,
}

impl Format {
    /// Parse `"auto"`, `"rlv"`, `"search-and-learn"`, `"qwen-math"`, `"lm-eval"`, `"verl"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Self::Auto,
            "rlv" => Self::Rlv,
            "search-and-learn" => Self::SearchAndLearn,
            "qwen-math" => Self::QwenMath,
            "lm-eval" => Self::LmEval,
            "verl" => Self::Verl,
            _ => {
                return Err(Error::InvalidOption {
                    option: "format",
                    value: s.to_string(),
                    allowed: "\"auto\", \"rlv\", \"search-and-learn\", \"qwen-math\", \
                              \"lm-eval\", \"verl\"",
                })
            }
        })
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Rlv => "rlv",
            Self::SearchAndLearn => "search-and-learn",
            Self::QwenMath => "qwen-math",
            Self::LmEval => "lm-eval",
            Self::Verl => "verl",
        }
    }

    /// The format a first row's top-level keys identify (rlv's when none matches).
    #[must_use]
    pub fn detect(row: &Value) -> Self {
        let has = |k: &str| row.get(k).is_some();
        if has("gold") {
            Self::Rlv
        } else if has("doc_id") && has("resps") && has("target") {
            Self::LmEval
        } else if has("idx") && has("gt") && has("code") {
            Self::QwenMath
        } else if has("input") && has("output") && has("gts") {
            Self::Verl
        } else if matches!(row.get("completions"), Some(Value::Array(_))) && has("answer") {
            Self::SearchAndLearn
        } else {
            Self::Rlv
        }
    }

    /// The preset mapping (`None`: the role is not read), the layout it implies, and the
    /// field whose first-row value selects the rows to read.
    fn preset(self, row: &Value) -> (Preset, Layout, Option<&'static str>) {
        match self {
            Self::Auto | Self::Rlv => (Vec::new(), Layout::Auto, None),
            Self::SearchAndLearn => {
                let id = ["unique_id", "problem"]
                    .into_iter()
                    .find(|k| row.get(*k).is_some());
                let mut p = vec![
                    ("gold", Some("answer")),
                    ("completions", Some("completions")),
                    ("scores", Some("scores")),
                    ("answers", None),
                    ("answer", None),
                ];
                if let Some(id) = id {
                    p.push(("problem_id", Some(id)));
                }
                (p, Layout::PerProblem, None)
            }
            Self::QwenMath => (
                vec![
                    ("problem_id", Some("idx")),
                    ("gold", Some("gt")),
                    ("completions", Some("code")),
                    ("answers", None),
                    ("scores", None),
                ],
                Layout::PerProblem,
                None,
            ),
            Self::LmEval => (
                vec![
                    ("problem_id", Some("doc_id")),
                    ("gold", Some("target")),
                    ("completions", Some("resps.0")),
                    ("answers", None),
                    ("scores", None),
                ],
                Layout::PerProblem,
                row.get("filter").is_some().then_some("filter"),
            ),
            Self::Verl => (
                vec![
                    ("problem_id", Some("input")),
                    ("gold", Some("gts")),
                    ("completion", Some("output")),
                    ("answer", None),
                    ("score", None),
                ],
                Layout::PerSample,
                None,
            ),
        }
    }
}

/// Row layout of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Decided by the first row: a list under `completions` (or `answers`) means one row per
    /// problem, otherwise one row per sample.
    Auto,
    PerProblem,
    PerSample,
}

impl Layout {
    /// Parse `"auto"`, `"per-problem"`, `"per-sample"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "per-problem" => Ok(Self::PerProblem),
            "per-sample" => Ok(Self::PerSample),
            _ => Err(Error::InvalidOption {
                option: "layout",
                value: s.to_string(),
                allowed: "\"auto\", \"per-problem\", \"per-sample\"",
            }),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::PerProblem => "per-problem",
            Self::PerSample => "per-sample",
        }
    }
}

/// How a list of step scores (a process reward model's, as search-and-learn writes them)
/// becomes one score. Without one, a list score is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreAgg {
    Last,
    Min,
    Prod,
    Mean,
}

impl ScoreAgg {
    /// Parse `"last"`, `"min"`, `"prod"`, `"mean"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "last" => Ok(Self::Last),
            "min" => Ok(Self::Min),
            "prod" => Ok(Self::Prod),
            "mean" => Ok(Self::Mean),
            _ => Err(Error::InvalidOption {
                option: "score_agg",
                value: s.to_string(),
                allowed: "\"last\", \"min\", \"prod\", \"mean\"",
            }),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Last => "last",
            Self::Min => "min",
            Self::Prod => "prod",
            Self::Mean => "mean",
        }
    }

    fn apply(self, v: &[f64]) -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        Some(match self {
            Self::Last => v[v.len() - 1],
            Self::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            Self::Prod => v.iter().product(),
            #[allow(clippy::cast_precision_loss)]
            Self::Mean => v.iter().sum::<f64>() / v.len() as f64,
        })
    }
}

/// Everything a rescoring run needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub fields: Fields,
    /// The tool that wrote the dump (its preset mapping); [`Format::Auto`]: detected from
    /// the first row of each file.
    pub format: Format,
    pub layout: Layout,
    pub score_agg: Option<ScoreAgg>,
    pub grade: GradeOptions,
    /// k values of the scaling curves (k larger than a problem's sample count: NaN).
    pub ks: Vec<usize>,
    /// Random subsets per k for majority@k / weighted@k.
    pub subsets: usize,
    pub seed: u64,
    /// Count and report invalid rows instead of failing on the first one.
    pub skip_invalid: bool,
    /// Cap on full equivalence checks per problem when clustering.
    pub max_comparisons: u64,
    pub num_threads: Option<usize>,
    /// Decompressed bytes read per chunk (memory bound besides the largest problem).
    pub chunk_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fields: Fields::default(),
            format: Format::Auto,
            layout: Layout::Auto,
            score_agg: None,
            grade: GradeOptions::default(),
            ks: vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
            subsets: DEFAULT_SUBSETS,
            seed: 0,
            skip_invalid: false,
            max_comparisons: DEFAULT_MAX_COMPARISONS,
            num_threads: None,
            chunk_bytes: 16 << 20,
        }
    }
}

/// One problem's samples, read from a dump or given in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub id: String,
    pub gold: String,
    /// Completions, or pre-extracted answers when `texts_are_answers`.
    pub texts: Vec<Option<String>>,
    pub texts_are_answers: bool,
    pub scores: Option<Vec<f64>>,
    /// Where the problem starts (for error messages).
    pub file: Arc<str>,
    pub line: u64,
}

/// A row that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRow {
    pub file: Arc<str>,
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl InvalidRow {
    fn into_error(self) -> Error {
        Error::Dump {
            file: self.file.to_string(),
            line: self.line,
            field: self.field,
            message: self.message,
        }
    }
}

/// The decision of one vote on the full pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The winning answer as written by its first sample (`None`: no sample had an answer).
    pub answer: Option<String>,
    /// The sample that carries the decision.
    pub sample: Option<usize>,
    pub correct: bool,
    /// Class size, score sum or best score (see [`crate::votes::VoteOutcome`]).
    pub support: f64,
    /// Classes (or samples, for Best-of-N) tied for the win; the first one won.
    pub tied: u32,
}

/// Everything computed for one problem.
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemResult {
    pub id: String,
    /// The gold answer as read from the gold field.
    pub gold_answer: String,
    pub samples: usize,
    /// Samples with a class (a readable answer).
    pub answered: usize,
    /// Samples graded correct.
    pub correct: usize,
    pub classes: usize,
    pub majority: Decision,
    /// `None` when the problem has no scores.
    pub weighted: Option<Decision>,
    pub best_of_n: Option<Decision>,
    pub estimates: Estimates,
    /// Full equivalence checks run while clustering.
    pub comparisons: u64,
    /// The comparison cap stopped the merging.
    pub truncated: bool,
    /// Classes whose members were not all graded the same against the gold.
    pub mixed_classes: usize,
}

/// Take the value at a dotted path out of the row (leaving `null`), without copying it.
fn take(row: &mut Value, path: &str) -> Option<Value> {
    if row.get(path).is_some() {
        return row.get_mut(path).map(Value::take);
    }
    if !path.contains('.') {
        return None;
    }
    let mut cur = row;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get_mut(part)?,
            Value::Array(a) => a.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur.take())
}

struct RowCtx<'a> {
    file: &'a Arc<str>,
    line: u64,
}

impl RowCtx<'_> {
    fn bad(&self, field: Option<&str>, message: impl Into<String>) -> InvalidRow {
        InvalidRow {
            file: Arc::clone(self.file),
            line: self.line,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// A string or a number, as text.
fn text_of(cx: &RowCtx<'_>, v: Flex, field: &str) -> std::result::Result<String, InvalidRow> {
    match v {
        Flex::Str(s) => Ok(s),
        Flex::Num(n) => Ok(n.to_string()),
        Flex::Null => Err(cx.bad(Some(field), "expected a string or a number, got null")),
        Flex::Other(kind) => Err(cx.bad(
            Some(field),
            format!("expected a string or a number, got {kind}"),
        )),
    }
}

fn score_of(
    cx: &RowCtx<'_>,
    v: &ScoreVal,
    field: &str,
    agg: Option<ScoreAgg>,
) -> std::result::Result<f64, InvalidRow> {
    let s = match v {
        ScoreVal::Num(x) => Some(*x),
        ScoreVal::Steps(items) => {
            let Some(agg) = agg else {
                return Err(cx.bad(
                    Some(field),
                    "a score is a list (step scores); choose how to combine them with \
                     --score-agg last|min|prod|mean",
                ));
            };
            let Some(nums) = items else {
                return Err(cx.bad(Some(field), "a list score holds a non-number"));
            };
            agg.apply(nums)
        }
        ScoreVal::Other(kind) => {
            return Err(cx.bad(
                Some(field),
                format!("expected a score in [0, 1], got {kind}"),
            ))
        }
    };
    match s {
        Some(s) if (0.0..=1.0).contains(&s) => Ok(s),
        Some(s) => Err(cx.bad(
            Some(field),
            format!("score {s} is outside [0, 1] (scores are verifier probabilities)"),
        )),
        None => Err(cx.bad(Some(field), "empty list score")),
    }
}

/// A per-sample text: its answer, or the error for a value of the wrong type.
fn one_of(cx: &RowCtx<'_>, v: One, field: &str) -> std::result::Result<Option<String>, InvalidRow> {
    v.map_err(|kind| {
        cx.bad(
            Some(field),
            format!("expected a string or a number, got {kind}"),
        )
    })
}

/// One problem's samples as rescoring reads them: answers already extracted.
#[derive(Clone, Debug)]
struct Gathered {
    id: String,
    gold: String,
    answers: Answers,
    /// The answers were given (not extracted from completions).
    given: bool,
    scores: Option<Vec<f64>>,
    line: u64,
    check: AnswerCheck,
}

/// An answer field (`answer` / `answers`) checked against the completion's own answer, on
/// the samples whose row has both (a null answer field is not compared).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerCheck {
    /// Samples with both an answer field and a completion.
    pub compared: u64,
    /// Of those, the samples whose answer field is not equivalent to the completion's
    /// extracted answer (or whose completion has no answer).
    pub disagree: u64,
    /// The first disagreement: line, the answer field's value, the completion's answer.
    pub example: Option<(u64, String, Option<String>)>,
}

impl AnswerCheck {
    fn note(
        &mut self,
        line: u64,
        field: Option<&str>,
        completion: Option<&str>,
        opts: &GradeOptions,
    ) {
        let Some(a) = field else { return };
        self.compared += 1;
        let agree = completion
            .is_some_and(|c| c == a || crate::grading::is_equiv(a, c, opts) == Status::Equal);
        if !agree {
            self.disagree += 1;
            if self.example.is_none() {
                self.example = Some((line, a.to_string(), completion.map(str::to_string)));
            }
        }
    }

    /// Add another check's counts (keeping the earliest example).
    pub fn add(&mut self, o: &Self) {
        self.compared += o.compared;
        self.disagree += o.disagree;
        if let Some((line, ..)) = &o.example {
            if self.example.as_ref().is_none_or(|(l, ..)| line < l) {
                self.example.clone_from(&o.example);
            }
        }
    }
}

/// One parsed row.
#[derive(Debug)]
enum Row {
    Problem(Gathered),
    Sample {
        id: String,
        gold: String,
        answer: Option<String>,
        given: bool,
        score: Option<f64>,
        line: u64,
        /// `None`: nothing compared (boxed: most rows have no answer field).
        check: Option<Box<AnswerCheck>>,
    },
    /// A row the selecting field leaves out (lm-eval rows of another filter).
    Skipped,
}

fn malformed(cx: &RowCtx<'_>, line: &[u8], e: &serde_json::Error) -> InvalidRow {
    let hint = if memchr::memmem::find(line, b"NaN").is_some()
        || memchr::memmem::find(line, b"Infinity").is_some()
    {
        " (NaN and Infinity are not JSON; a score must be a number in [0, 1])"
    } else {
        ""
    };
    cx.bad(None, format!("malformed JSON: {e}{hint}"))
}

fn parse_json(cx: &RowCtx<'_>, line: &[u8]) -> std::result::Result<Value, InvalidRow> {
    let v: Value = serde_json::from_slice(line).map_err(|e| malformed(cx, line, &e))?;
    if !v.is_object() {
        return Err(cx.bad(
            None,
            format!("expected a JSON object, got {}", row::kind(&v)),
        ));
    }
    Ok(v)
}

/// The layout a row implies (for [`Layout::Auto`]).
fn detect_layout(row: &Value, f: &Fields) -> Layout {
    // Once per file: a copy to look into with the one path walker ([`take`]).
    let list_at = |p: Option<&str>| {
        p.is_some_and(|p| matches!(take(&mut row.clone(), p), Some(Value::Array(_))))
    };
    if list_at(Some(&f.completions)) || list_at(f.answers.as_deref()) {
        Layout::PerProblem
    } else {
        Layout::PerSample
    }
}

/// Parse one row: typed when the fields allow it, else through a `Value`.
fn parse_line(
    cfg: &Config,
    typed: Option<&Typed>,
    layout: Layout,
    select: Option<(&str, &str)>,
    cx: &RowCtx<'_>,
    line: &[u8],
) -> std::result::Result<Row, InvalidRow> {
    match typed {
        Some(t) => {
            let top = row::parse_typed(t, line).map_err(|e| malformed(cx, line, &e))?;
            row_of(cfg, layout, select, cx, top)
        }
        None => {
            let v: Value = serde_json::from_slice(line).map_err(|e| malformed(cx, line, &e))?;
            parse_value(cfg, layout, select, cx, v)
        }
    }
}

/// Parse one row given as a JSON value (a Parquet row, or a line the typed reader cannot
/// read).
fn parse_value(
    cfg: &Config,
    layout: Layout,
    select: Option<(&str, &str)>,
    cx: &RowCtx<'_>,
    v: Value,
) -> std::result::Result<Row, InvalidRow> {
    let top = row::from_value(
        v,
        &cfg.fields,
        layout,
        cfg.grade.mode,
        select.map(|(p, _)| p),
    );
    row_of(cfg, layout, select, cx, top)
}

fn row_of(
    cfg: &Config,
    layout: Layout,
    select: Option<(&str, &str)>,
    cx: &RowCtx<'_>,
    top: Top,
) -> std::result::Result<Row, InvalidRow> {
    match top {
        Top::Object(raw) => build_row(cfg, layout, select.map(|(_, v)| v), cx, *raw),
        Top::NotObject(kind) => Err(cx.bad(None, format!("expected a JSON object, got {kind}"))),
    }
}

/// A list of texts, or the error for a value of the wrong type.
fn list_of(cx: &RowCtx<'_>, t: Texts, field: &str) -> std::result::Result<Answers, InvalidRow> {
    match t {
        Texts::NotList(kind) => Err(cx.bad(Some(field), format!("expected a list, got {kind}"))),
        Texts::List {
            bad: Some(kind), ..
        } => Err(cx.bad(
            Some(field),
            format!("expected a string or a number, got {kind}"),
        )),
        Texts::List { answers, bad: None } => Ok(answers),
    }
}

/// The selecting field's value as text (`None`: absent or not a string or number).
fn select_text(v: Option<Flex>) -> Option<String> {
    match v? {
        Flex::Str(s) => Some(s),
        Flex::Num(n) => Some(n.to_string()),
        Flex::Null | Flex::Other(_) => None,
    }
}

/// Build a row from its fields. Precedence between a sample's answer field (`answer` /
/// `answers`) and its completion: the completion's own extracted answer is used, unless
/// the answer field was mapped explicitly (`--field answer=NAME`); the answer field alone is
/// used when the row has no completion. When a row has both, they are compared
/// ([`AnswerCheck`]).
fn build_row(
    cfg: &Config,
    layout: Layout,
    select: Option<&str>,
    cx: &RowCtx<'_>,
    raw: row::RawRow,
) -> std::result::Result<Row, InvalidRow> {
    if let Some(want) = select {
        if select_text(raw.select).as_deref() != Some(want) {
            return Ok(Row::Skipped);
        }
    }
    let f = &cfg.fields;
    let gold = match raw.gold {
        Some(g) => text_of(cx, g, &f.gold)?,
        None => {
            return Err(cx.bad(
                Some(&f.gold),
                "missing (map the gold answer's field with --field gold=NAME)",
            ))
        }
    };
    let id = match raw.id {
        Some(x) => Some(text_of(cx, x, &f.problem_id)?),
        None => None,
    };
    let opts = &cfg.grade;
    if layout == Layout::PerSample {
        let Some(id) = id else {
            return Err(cx.bad(
                Some(&f.problem_id),
                "missing (per-sample rows are grouped by it; map it with --field \
                 problem_id=NAME)",
            ));
        };
        let answer_field = f.answer.as_deref().unwrap_or("answer");
        let given = match raw.answer {
            Some(a) => Some(one_of(cx, a, answer_field)?),
            None => None,
        };
        let own = match raw.completion {
            Some(c) => Some(one_of(cx, c, &f.completion)?),
            None => None,
        };
        let mut check = AnswerCheck::default();
        let (answer, from_field) = match (given, own) {
            (Some(a), Some(c)) => {
                check.note(cx.line, a.as_deref(), c.as_deref(), opts);
                if f.is_explicit("answer") {
                    (a, true)
                } else {
                    (c, false)
                }
            }
            (Some(a), None) => (a, true),
            (None, Some(c)) => (c, false),
            (None, None) => {
                return Err(cx.bad(
                    Some(&f.completion),
                    match &f.answer {
                        Some(a) => format!(
                            "missing (and no {a:?}); map the completion's field with --field \
                             completion=NAME"
                        ),
                        None => "missing; map the completion's field with --field \
                                 completion=NAME"
                            .to_string(),
                    },
                ));
            }
        };
        let score = match (raw.score, &f.score) {
            (Some(s), Some(field)) => Some(score_of(cx, &s, field, cfg.score_agg)?),
            _ => None,
        };
        return Ok(Row::Sample {
            id,
            gold,
            answer,
            given: from_field,
            score,
            line: cx.line,
            check: (check.compared > 0).then(|| Box::new(check)),
        });
    }
    let answers_field = f.answers.as_deref().unwrap_or("answers");
    let given = match raw.answers {
        Some(a) => Some(list_of(cx, a, answers_field)?),
        None => None,
    };
    let own = match raw.completions {
        Some(c) => Some(list_of(cx, c, &f.completions)?),
        None => None,
    };
    let mut check = AnswerCheck::default();
    let (answers, field, from_field) = match (given, own) {
        (Some(a), Some(c)) => {
            for i in 0..a.len().max(c.len()) {
                check.note(cx.line, a.get(i), c.get(i), opts);
            }
            if f.is_explicit("answers") {
                (a, answers_field, true)
            } else {
                (c, f.completions.as_str(), false)
            }
        }
        (Some(a), None) => (a, answers_field, true),
        (None, Some(c)) => (c, f.completions.as_str(), false),
        (None, None) => {
            return Err(cx.bad(
                Some(&f.completions),
                match &f.answers {
                    Some(a) => format!(
                        "missing (and no {a:?}); map the completions' field with --field \
                         completions=NAME"
                    ),
                    None => "missing; map the completions' field with --field completions=NAME"
                        .to_string(),
                },
            ));
        }
    };
    let scores_field = f.scores.as_deref().unwrap_or("scores");
    let scores = match raw.scores {
        None | Some(Scores::Null) => None,
        Some(Scores::List(s)) => {
            if s.len() != answers.len() {
                return Err(cx.bad(
                    Some(scores_field),
                    format!(
                        "has {} scores for {} samples in {field:?}",
                        s.len(),
                        answers.len()
                    ),
                ));
            }
            Some(
                s.iter()
                    .map(|x| score_of(cx, x, scores_field, cfg.score_agg))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )
        }
        Some(Scores::NotList(kind)) => {
            return Err(cx.bad(Some(scores_field), format!("expected a list, got {kind}")))
        }
    };
    Ok(Row::Problem(Gathered {
        id: id.unwrap_or_else(|| format!("line-{}", cx.line)),
        gold,
        answers,
        given: from_field,
        scores,
        line: cx.line,
        check,
    }))
}

fn decision(
    method: VoteMethod,
    class_of: &[Option<u32>],
    n_classes: usize,
    scores: Option<&[f64]>,
    class_correct: &[bool],
    answers: &[Option<&str>],
) -> Result<Decision> {
    let v = vote(class_of, n_classes, scores, method)?;
    Ok(Decision {
        answer: v.sample.and_then(|s| answers[s].map(str::to_string)),
        sample: v.sample,
        correct: v.class.is_some_and(|c| class_correct[c as usize]),
        support: v.support,
        tied: v.tied,
    })
}

/// Grade, cluster, vote and estimate one problem. `index` seeds its random subsets.
///
/// # Errors
/// The problem as an [`InvalidRow`]: an unreadable gold, scores of the wrong length or
/// outside [0, 1].
pub fn process_problem(
    p: &Problem,
    cfg: &Config,
    index: u64,
) -> std::result::Result<ProblemResult, InvalidRow> {
    let cx = RowCtx {
        file: &p.file,
        line: p.line,
    };
    // Answers: given, or extracted from the completions.
    let answers: Vec<Option<std::borrow::Cow<'_, str>>> = p
        .texts
        .iter()
        .map(|t| answer_of(t.as_deref()?, p.texts_are_answers, cfg.grade.mode))
        .collect();
    let refs: Vec<Option<&str>> = answers.iter().map(|a| a.as_deref()).collect();
    process_answers(&cx, &p.id, &p.gold, &refs, p.scores.as_deref(), cfg, index)
}

fn process_gathered(
    p: &Gathered,
    file: &Arc<str>,
    cfg: &Config,
    index: u64,
) -> std::result::Result<ProblemResult, InvalidRow> {
    let cx = RowCtx { file, line: p.line };
    let refs: Vec<Option<&str>> = p.answers.iter().collect();
    process_answers(&cx, &p.id, &p.gold, &refs, p.scores.as_deref(), cfg, index)
}

/// [`process_problem`] on extracted answers.
fn process_answers(
    cx: &RowCtx<'_>,
    id: &str,
    gold: &str,
    answers: &[Option<&str>],
    scores: Option<&[f64]>,
    cfg: &Config,
    index: u64,
) -> std::result::Result<ProblemResult, InvalidRow> {
    let opts = &cfg.grade;
    let Some(gold_ext) = extract_gold(gold) else {
        return Err(cx.bad(Some(&cfg.fields.gold), "empty gold"));
    };
    let gold_text = crate::grading::answer_text(gold_ext);
    let gold = Prepared::new(&gold_text, opts);
    if !gold.readable() {
        return Err(cx.bad(
            Some(&cfg.fields.gold),
            format!("the gold answer {:?} cannot be read", gold_text.as_ref()),
        ));
    }
    if let Some(s) = scores {
        crate::votes::check_scores(s, answers.len())
            .map_err(|e| cx.bad(cfg.fields.scores.as_deref(), e.to_string()))?;
    }
    let clustered = cluster_prepared(answers, opts, cfg.max_comparisons);
    let cl = &clustered.clustering;
    let distinct_correct: Vec<bool> = clustered
        .distinct
        .iter()
        .map(|d| compare_prepared(&gold, d, opts) == Status::Equal)
        .collect();
    let sample_correct: Vec<bool> = clustered
        .distinct_of
        .iter()
        .zip(&cl.class_of)
        .map(|(d, c)| c.is_some() && d.is_some_and(|d| distinct_correct[d as usize]))
        .collect();
    let class_correct: Vec<bool> = cl.first.iter().map(|&s| sample_correct[s]).collect();
    let mut mixed = vec![false; cl.n_classes()];
    for (s, c) in cl.class_of.iter().enumerate() {
        if let Some(c) = c {
            if sample_correct[s] != class_correct[*c as usize] {
                mixed[*c as usize] = true;
            }
        }
    }
    let mk = |m| {
        decision(
            m,
            &cl.class_of,
            cl.n_classes(),
            scores,
            &class_correct,
            answers,
        )
        .map_err(|e| cx.bad(None, e.to_string()))
    };
    let majority = mk(VoteMethod::Majority)?;
    let (weighted, best_of_n) = if scores.is_some() {
        (
            Some(mk(VoteMethod::Weighted)?),
            Some(mk(VoteMethod::BestOfN)?),
        )
    } else {
        (None, None)
    };
    let estimates = estimate(
        &ProblemSamples {
            class_of: &cl.class_of,
            class_correct: &class_correct,
            sample_correct: &sample_correct,
            scores,
        },
        &cfg.ks,
        cfg.subsets,
        cfg.seed,
        index,
    );
    Ok(ProblemResult {
        id: id.to_string(),
        gold_answer: gold_text.into_owned(),
        samples: answers.len(),
        answered: cl.class_of.iter().filter(|c| c.is_some()).count(),
        correct: sample_correct.iter().filter(|&&c| c).count(),
        classes: cl.n_classes(),
        majority,
        weighted,
        best_of_n,
        estimates,
        comparisons: cl.comparisons,
        truncated: cl.truncated,
        mixed_classes: mixed.iter().filter(|&&m| m).count(),
    })
}

/// Results of one chunk of a dump.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub problems: Vec<ProblemResult>,
    /// Rows skipped (only with `skip_invalid`).
    pub invalid: Vec<InvalidRow>,
    /// Samples in `problems`.
    pub samples: u64,
    /// Rows left out by the selecting field (lm-eval rows of another filter).
    pub skipped: u64,
    /// Answer fields checked against the completions (rows of `problems` only).
    pub answer_check: AnswerCheck,
}

fn collect(
    results: Vec<std::result::Result<ProblemResult, InvalidRow>>,
    skip_invalid: bool,
    mut invalid: Vec<InvalidRow>,
    mut batch: Batch,
) -> Result<Batch> {
    for r in results {
        match r {
            Ok(p) => {
                batch.samples += p.samples as u64;
                batch.problems.push(p);
            }
            Err(bad) if skip_invalid => invalid.push(bad),
            Err(bad) => return Err(bad.into_error()),
        }
    }
    invalid.sort_by_key(|r| r.line);
    batch.invalid = invalid;
    Ok(batch)
}

/// Whole lines of decompressed text, read in chunks of about `chunk_bytes`.
struct Chunks {
    reader: Box<dyn std::io::BufRead + Send>,
    chunk_bytes: usize,
    /// Text read past the end of the last chunk (the start of the next line).
    carry: Vec<u8>,
    /// Lines handed out so far.
    lines: u64,
    eof: bool,
}

/// A chunk of whole lines (`buf[..len]`); `first_line` is the number of the line before it.
struct Chunk {
    /// Reused from chunk to chunk (initialised once, when it grows).
    buf: Vec<u8>,
    len: usize,
    first_line: u64,
}

impl Chunk {
    fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Chunks {
    /// The next chunk, in `buf`: the lines up to and including the one that reaches
    /// `chunk_bytes` (fewer at the end of the file; empty once it is read).
    fn next(&mut self, mut buf: Vec<u8>) -> std::io::Result<Chunk> {
        let target = self.chunk_bytes.max(1);
        let mut len = self.carry.len();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf[..len].copy_from_slice(&self.carry);
        self.carry.clear();
        // Bytes before this offset hold no newline that ends the chunk.
        let mut scanned = target - 1;
        loop {
            if len > scanned {
                if let Some(p) = memchr::memchr(b'\n', &buf[scanned..len]) {
                    let end = scanned + p + 1;
                    self.carry.extend_from_slice(&buf[end..len]);
                    len = end;
                    break;
                }
                scanned = len;
            }
            if self.eof {
                break;
            }
            let want = target.saturating_sub(len).max(1 << 16);
            if buf.len() < len + want {
                buf.resize(len + want, 0);
            }
            match self.reader.read(&mut buf[len..len + want]) {
                Ok(0) => self.eof = true,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let first_line = self.lines;
        let text = &buf[..len];
        let newlines = memchr::memchr_iter(b'\n', text).count() as u64;
        self.lines += newlines + u64::from(text.last().is_some_and(|&b| b != b'\n'));
        Ok(Chunk {
            buf,
            len,
            first_line,
        })
    }

    fn done(&self) -> bool {
        self.eof && self.carry.is_empty()
    }
}

/// The rows of a dump, chunk by chunk: lines of JSONL text or Parquet rows.
enum Rows {
    Lines(Chunks),
    Parquet(Box<parquet::ParquetRows>),
}

/// One chunk of rows.
enum Piece {
    Text(Chunk),
    /// Parquet rows; the first is row `first + 1` (numbered like JSONL lines). `None`: the
    /// end of the file.
    Values {
        rows: Option<arrow_array::RecordBatch>,
        first: u64,
    },
}

impl Rows {
    fn next(&mut self, buf: Vec<u8>) -> std::io::Result<Piece> {
        match self {
            Self::Lines(c) => c.next(buf).map(Piece::Text),
            Self::Parquet(p) => {
                let first = p.rows();
                p.next().map(|rows| Piece::Values { rows, first })
            }
        }
    }

    fn done(&self) -> bool {
        match self {
            Self::Lines(c) => c.done(),
            Self::Parquet(p) => p.done(),
        }
    }

    /// Lines (rows) handed out so far.
    fn lines(&self) -> u64 {
        match self {
            Self::Lines(c) => c.lines,
            Self::Parquet(p) => p.rows(),
        }
    }
}

/// The non-blank lines of a chunk: (line number, byte range).
fn split_lines(c: &Chunk) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = c.first_line;
    let text = c.text();
    let n = text.len();
    while start < n {
        let end = memchr::memchr(b'\n', &text[start..]).map_or(n, |p| start + p + 1);
        line += 1;
        if !text[start..end].iter().all(u8::is_ascii_whitespace) {
            out.push((line, start, end));
        }
        start = end;
    }
    out
}

/// Map `f` over `items` in order on the pool (`None`: on this thread), one item per task.
fn par_map<T: Sync, R: Send>(
    pool: Option<&rayon::ThreadPool>,
    items: &[T],
    f: impl Fn(&T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    match pool {
        Some(p) if items.len() > 1 => p.install(|| items.par_iter().map(f).collect()),
        _ => items.iter().map(f).collect(),
    }
}

/// Streaming rescoring of one dump file.
pub struct Rescorer {
    file: Arc<str>,
    chunks: Rows,
    bytes_read: Arc<std::sync::atomic::AtomicU64>,
    file_size: u64,
    compression: Compression,
    cfg: Config,
    layout: Layout,
    /// The typed row reader (once the layout is known, when the fields allow it).
    typed: Option<Typed>,
    /// The next chunk, read while the previous one was processed.
    ahead: Option<std::io::Result<Piece>>,
    /// A chunk buffer to reuse.
    spare: Vec<u8>,
    /// Per-sample layout: the problem being read (it may continue in the next chunk).
    pending: Option<Gathered>,
    seen: HashSet<String>,
    next_index: u64,
    done: bool,
    /// The dump format (detected from the first row under [`Format::Auto`]).
    format: Format,
    /// The format's preset is applied (once the first row is read).
    resolved: bool,
    /// `--score-agg` came from the format's preset, not from the caller.
    preset_score_agg: bool,
    /// The selecting field and the value rows must have (lm-eval's `filter`).
    select: Option<(String, String)>,
    /// Non-blank lines read.
    rows: u64,
    /// A field of the first row that may hold the gold, when the gold's field is missing.
    gold_hint: Option<&'static str>,
}

/// Fields that often hold the gold answer in other tools' dumps (for the hint of a missing
/// gold).
const GOLD_LIKE: [&str; 7] = [
    "answer",
    "gt",
    "gts",
    "target",
    "ground_truth",
    "reference",
    "solution",
];

impl Rescorer {
    /// Open a dump. Problems get indices `first_index, first_index + 1, ...` (pass the
    /// number of problems of earlier files to continue their random streams).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; invalid `ks`; `subsets` 0.
    pub fn open(path: &str, cfg: Config, first_index: u64) -> Result<Self> {
        Self::open_named(path, path, cfg, first_index)
    }

    /// As [`Rescorer::open`], naming the file `name` in error messages (e.g. the Parquet file
    /// a temporary JSONL file was converted from).
    ///
    /// # Errors
    /// As [`Rescorer::open`].
    pub fn open_named(path: &str, name: &str, cfg: Config, first_index: u64) -> Result<Self> {
        crate::estimators::check_ks(&cfg.ks)?;
        if cfg.subsets == 0 {
            return Err(Error::InvalidOption {
                option: "subsets",
                value: "0".into(),
                allowed: "an integer >= 1",
            });
        }
        let cfg_format = cfg.format;
        let opened = open(path, cfg.chunk_bytes).map_err(|e| match e {
            Error::Io { message, .. } => Error::Io {
                file: name.to_string(),
                message,
            },
            other => other,
        })?;
        Ok(Self {
            file: Arc::from(name),
            chunks: match opened.source {
                Source::Lines(reader) => Rows::Lines(Chunks {
                    reader,
                    chunk_bytes: cfg.chunk_bytes,
                    carry: Vec::new(),
                    lines: 0,
                    eof: false,
                }),
                Source::Parquet(rows) => Rows::Parquet(rows),
            },
            bytes_read: opened.bytes_read,
            file_size: opened.file_size,
            compression: opened.compression,
            layout: cfg.layout,
            typed: None,
            cfg,
            ahead: None,
            spare: Vec::new(),
            pending: None,
            seen: HashSet::new(),
            next_index: first_index,
            done: false,
            format: cfg_format,
            resolved: false,
            preset_score_agg: false,
            select: None,
            rows: 0,
            gold_hint: None,
        })
    }

    /// Bytes of the file read so far, and the file size (for progress bars).
    #[must_use]
    pub fn progress(&self) -> (u64, u64) {
        (self.bytes_read.load(Ordering::Relaxed), self.file_size)
    }

    #[must_use]
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The layout in use (decided by the first row under [`Layout::Auto`]).
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The dump format (decided by the first row under [`Format::Auto`]).
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The field mapping in use (the format's preset under the explicit mapping, once the
    /// first row is read).
    #[must_use]
    pub fn fields(&self) -> &Fields {
        &self.cfg.fields
    }

    /// How list scores are combined, and whether that came from the format's preset.
    #[must_use]
    pub fn score_agg(&self) -> (Option<ScoreAgg>, bool) {
        (self.cfg.score_agg, self.preset_score_agg)
    }

    /// The selecting field and the value read rows have (lm-eval's `filter`).
    #[must_use]
    pub fn select(&self) -> Option<(&str, &str)> {
        self.select.as_ref().map(|(f, v)| (f.as_str(), v.as_str()))
    }

    /// Apply the dump format's preset, decided from the first row.
    fn resolve(&mut self, first: &Value) {
        if self.format == Format::Auto {
            self.format = Format::detect(first);
        }
        let (preset, layout, select) = self.format.preset(first);
        self.cfg.fields = self.cfg.fields.resolved(&preset);
        if self.layout == Layout::Auto {
            self.layout = layout;
        }
        if self.format == Format::SearchAndLearn && self.cfg.score_agg.is_none() {
            // What search-and-learn's own voting uses.
            self.cfg.score_agg = Some(ScoreAgg::Last);
            self.preset_score_agg = true;
        }
        if let Some(field) = select {
            let mut row = first.clone();
            if let Some(v) = select_text(take(&mut row, field).map(row::flex_of)) {
                self.select = Some((field.to_string(), v));
            }
        }
        if self.layout == Layout::Auto {
            self.layout = detect_layout(first, &self.cfg.fields);
        }
        if take(&mut first.clone(), &self.cfg.fields.gold).is_none() {
            self.gold_hint = GOLD_LIKE.into_iter().find(|k| first.get(*k).is_some());
        }
        self.resolved = true;
    }

    /// A row error, with a hint when the gold is missing and the first row has a field that
    /// may hold it.
    fn hinted(&self, mut bad: InvalidRow) -> InvalidRow {
        if let Some(k) = self.gold_hint {
            if bad.field.as_deref() == Some(self.cfg.fields.gold.as_str())
                && bad.message.starts_with("missing")
            {
                bad.message.push_str(&format!(
                    "; the first row has {k:?}: if it holds the gold answer, --field gold={k}"
                ));
            }
        }
        bad
    }

    /// Index the next problem will get.
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    fn io_error(&self, e: &std::io::Error, first_line: u64) -> Error {
        Error::Io {
            file: self.file.to_string(),
            message: format!("read error after line {first_line}: {e}"),
        }
    }

    /// Read and process the next chunk; `None` at the end of the file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Dump`] (unless `skip_invalid`), [`Error::ThreadPool`].
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        if self.done && self.pending.is_none() {
            return Ok(None);
        }
        let chunk = match self.ahead.take() {
            Some(c) => c,
            None => self.chunks.next(std::mem::take(&mut self.spare)),
        }
        .map_err(|e| self.io_error(&e, self.chunks.lines()))?;
        if self.chunks.done() {
            self.done = true;
        }
        let lines = match &chunk {
            Piece::Text(c) => split_lines(c),
            Piece::Values { .. } => Vec::new(),
        };
        self.rows += match &chunk {
            Piece::Text(_) => lines.len(),
            Piece::Values { rows, .. } => rows.as_ref().map_or(0, |b| b.num_rows()),
        } as u64;
        if self.done && self.rows == 0 {
            let what = if self.chunks.lines() == 0 {
                "the file is empty".to_string()
            } else {
                format!("the file has only blank lines ({})", self.chunks.lines())
            };
            return Err(Error::Dump {
                file: self.file.to_string(),
                line: 0,
                field: None,
                message: format!("no rows to rescore: {what}"),
            });
        }
        let mut invalid = Vec::new();
        if !self.resolved {
            match &chunk {
                Piece::Text(c) => {
                    if let Some(&(line, a, b)) = lines.first() {
                        let cx = RowCtx {
                            file: &self.file,
                            line,
                        };
                        match parse_json(&cx, &c.text()[a..b]) {
                            Ok(v) => self.resolve(&v),
                            Err(bad) => return Err(bad.into_error()),
                        }
                    }
                }
                Piece::Values { rows, first } => {
                    if let Some(b) = rows.as_ref().filter(|b| b.num_rows() > 0) {
                        match parquet::row_value(b, 0) {
                            Ok(v) => self.resolve(&v),
                            Err(message) => {
                                let cx = RowCtx {
                                    file: &self.file,
                                    line: first + 1,
                                };
                                return Err(cx.bad(None, message).into_error());
                            }
                        }
                    }
                }
            }
        }
        let select = self.select.as_ref().map(|(f, v)| (f.as_str(), v.as_str()));
        if self.typed.is_none() && self.layout != Layout::Auto {
            self.typed = Typed::new(
                &self.cfg.fields,
                self.layout,
                self.cfg.grade.mode,
                select.map(|(f, _)| f),
            );
        }
        let threads = self
            .cfg
            .num_threads
            .unwrap_or_else(crate::parallel::default_num_threads)
            .max(1);
        let pool = if threads > 1 {
            Some(crate::parallel::pool(threads)?)
        } else {
            None
        };
        let pool = pool.as_deref();
        let layout = self.layout;
        let (cfg, file, typed) = (&self.cfg, &self.file, self.typed.as_ref());
        let rows = match chunk {
            Piece::Text(chunk) => {
                let rows = par_map(pool, &lines, |&(line, a, b)| {
                    let cx = RowCtx { file, line };
                    parse_line(cfg, typed, layout, select, &cx, &chunk.text()[a..b])
                });
                drop(lines);
                self.spare = chunk.buf;
                rows
            }
            Piece::Values { rows, first } => {
                let idx: Vec<usize> = (0..rows.as_ref().map_or(0, |b| b.num_rows())).collect();
                par_map(pool, &idx, |&i| {
                    let cx = RowCtx {
                        file,
                        line: first + 1 + i as u64,
                    };
                    match rows.as_ref().map(|b| parquet::row_value(b, i)) {
                        Some(Ok(v)) => parse_value(cfg, layout, select, &cx, v),
                        Some(Err(message)) => Err(cx.bad(None, message)),
                        None => Err(cx.bad(None, "no such Parquet row")),
                    }
                })
            }
        };
        let mut problems: Vec<Gathered> = Vec::new();
        let mut batch = Batch::default();
        for row in rows {
            match row {
                Err(bad) if self.cfg.skip_invalid => invalid.push(self.hinted(bad)),
                Err(bad) => return Err(self.hinted(bad).into_error()),
                Ok(Row::Skipped) => batch.skipped += 1,
                Ok(Row::Problem(p)) => {
                    if self.seen.contains(&p.id) {
                        let bad = RowCtx {
                            file: &self.file,
                            line: p.line,
                        }
                        .bad(
                            Some(&self.cfg.fields.problem_id),
                            format!("duplicate problem id {:?}", p.id),
                        );
                        if self.cfg.skip_invalid {
                            invalid.push(bad);
                            continue;
                        }
                        return Err(bad.into_error());
                    }
                    self.seen.insert(p.id.clone());
                    batch.answer_check.add(&p.check);
                    problems.push(p);
                }
                Ok(Row::Sample {
                    id,
                    gold,
                    answer,
                    given,
                    score,
                    line,
                    check,
                }) => {
                    match self.add_sample(
                        id,
                        gold,
                        answer.as_deref(),
                        given,
                        score,
                        line,
                        &mut problems,
                    ) {
                        Ok(()) => {
                            if let Some(c) = &check {
                                batch.answer_check.add(c);
                            }
                        }
                        Err(bad) if self.cfg.skip_invalid => invalid.push(bad),
                        Err(bad) => return Err(bad.into_error()),
                    }
                }
            }
        }
        if self.done {
            if let Some(p) = self.pending.take() {
                problems.push(p);
            }
        }
        let first = self.next_index;
        self.next_index += problems.len() as u64;
        let (cfg, file) = (&self.cfg, &self.file);
        let idx: Vec<usize> = (0..problems.len()).collect();
        let process = || {
            par_map(pool, &idx, |&i| {
                process_gathered(&problems[i], file, cfg, first + i as u64)
            })
        };
        // Read the next chunk while this one is processed.
        let results = match pool {
            Some(p) if !self.done => {
                let (chunks, spare) = (&mut self.chunks, std::mem::take(&mut self.spare));
                let (ahead, results) = p.install(|| rayon::join(|| chunks.next(spare), process));
                self.ahead = Some(ahead);
                results
            }
            _ => process(),
        };
        collect(results, cfg.skip_invalid, invalid, batch).map(Some)
    }

    /// Append a per-sample row to the pending problem (closing it when the id changes).
    #[allow(clippy::too_many_arguments)]
    fn add_sample(
        &mut self,
        id: String,
        gold: String,
        answer: Option<&str>,
        given: bool,
        score: Option<f64>,
        line: u64,
        out: &mut Vec<Gathered>,
    ) -> std::result::Result<(), InvalidRow> {
        let cx = RowCtx {
            file: &self.file,
            line,
        };
        let f = &self.cfg.fields;
        if let Some(p) = &mut self.pending {
            if p.id == id {
                if p.gold != gold {
                    return Err(cx.bad(
                        Some(&f.gold),
                        format!("differs from the gold of problem {id:?} on line {}", p.line),
                    ));
                }
                if p.given != given {
                    return Err(cx.bad(
                        f.answer.as_deref(),
                        format!("some rows of problem {id:?} have it and some do not"),
                    ));
                }
                match (&mut p.scores, score) {
                    (Some(s), Some(v)) => s.push(v),
                    (None, None) => {}
                    _ => {
                        return Err(cx.bad(
                            f.score.as_deref(),
                            format!("some rows of problem {id:?} have a score and some do not"),
                        ))
                    }
                }
                p.answers.push(answer);
                return Ok(());
            }
            if let Some(done) = self.pending.take() {
                out.push(done);
            }
        }
        if !self.seen.insert(id.clone()) {
            return Err(cx.bad(
                Some(&f.problem_id),
                format!(
                    "problem {id:?} appeared earlier, separated by other problems: rows of a \
                     problem must be contiguous (sort the dump by {:?})",
                    f.problem_id
                ),
            ));
        }
        let mut answers = Answers::default();
        answers.push(answer);
        self.pending = Some(Gathered {
            id,
            gold,
            answers,
            given,
            scores: score.map(|s| vec![s]),
            line,
            check: AnswerCheck::default(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a row with the typed reader and through a `Value`: the same outcome.
    fn both(cfg: &Config, layout: Layout, line: &[u8]) -> String {
        let file: Arc<str> = Arc::from("t.jsonl");
        let cx = RowCtx {
            file: &file,
            line: 7,
        };
        let typed = Typed::new(&cfg.fields, layout, cfg.grade.mode, None).expect("typed reader");
        let a = format!(
            "{:?}",
            parse_line(cfg, Some(&typed), layout, None, &cx, line)
        );
        let b = format!("{:?}", parse_line(cfg, None, layout, None, &cx, line));
        assert_eq!(a, b, "{}", String::from_utf8_lossy(line));
        a
    }

    #[test]
    fn typed_rows_read_like_values() {
        let per_problem: &[&[u8]] = &[
            br#"{"problem_id": 1, "gold": "2", "completions": ["\\boxed{2}", "x", null, 3, -4, 2.5e3, "\u00e9 \ud83d\ude00"], "scores": [0.1, 1, 0, 0.5, 0.25, 1e-3, 0]}"#,
            br#"{"problem_id": 1, "gold": "2", "answers": ["2", null, 7], "completions": 3}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a", true]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a", {"x": [1]}, [2]]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": {"a": 1}}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": "a"}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": null}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": 1.5}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": []}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [[0.2, 0.9]]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [[0.2, "x"]]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [[]]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [null]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [true]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": ["0.5"]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [1.5]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [-1]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": 0.5}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": null}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": {}}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a", "b"], "scores": [0.5]}"#,
            br#"{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [NaN]}"#,
            br#"{"problem_id": [1], "gold": "2", "completions": ["a"]}"#,
            br#"{"problem_id": null, "gold": "2", "completions": ["a"]}"#,
            br#"{"problem_id": 1.25, "gold": 3, "completions": ["a"]}"#,
            br#"{"problem_id": 1, "gold": false, "completions": ["a"]}"#,
            br#"{"problem_id": 1, "gold": null, "completions": ["a"]}"#,
            br#"{"problem_id": 1, "completions": ["a"]}"#,
            br#"{"gold": "2", "completions": ["a"]}"#,
            br#"{"gold": "2"}"#,
            br#"{"gold": "1", "gold": "2", "completions": ["a"], "completions": ["\\boxed{5}"]}"#,
            br#"{"gold": "2", "completions": ["a"], "other": {"deep": [1, {"x": null}], "s": "\n\t\"\\"}}"#,
            br#"{"gold": "2", "completions": ["a"], "other": "\ud800"}"#,
            br#"{"gold": "2", "completions": ["a\u0000b"], "other": 1e400}"#,
            br#"{"gold": "2", "completions": ["a"],}"#,
            br#"{"gold": "2", "completions": ["a"]} x"#,
            br#"{"gold": "2", "completions": ["a",]}"#,
            br#"{"gold": "2", "completions": ["a"]"#,
            br#"{"gold": "2", "completions": ["a" "b"]}"#,
            br#"{"gold": "2", "completions": ["a	b"]}"#,
            br#"{"gold": "2", "completions": ["a"], "x": tru}"#,
            br#"{"gold": "2", "completions": ["a"], "x": 01}"#,
            br#"{"gold": "2", "completions": ["a"], "x": -}"#,
            br#"{"gold": "2", "completions": ["a"], "x": "\q"}"#,
            br#"{"gold": "2", "completions": ["a"], 5: 1}"#,
            b"{\"gold\": \"2\", \"completions\": [\"a\"], \"x\": \"\xff\"}",
            b"{\"gold\": \"2\", \"completions\": [\"\xc3\xa9\"]}\r\n",
            br#"[1, 2]"#,
            br#"[1, {"a": ]"#,
            br#""gold""#,
            br#"12"#,
            br#"-1.5"#,
            br#"null"#,
            br#"true"#,
            br#""#,
            br#"{}"#,
        ];
        let per_sample: &[&[u8]] = &[
            br#"{"problem_id": "a", "gold": "1", "completion": "so \\boxed{1}", "score": 0.5}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": 12, "score": 1}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": null}"#,
            br#"{"problem_id": "a", "gold": "1", "answer": null, "completion": "x"}"#,
            br#"{"problem_id": "a", "gold": "1", "answer": "3", "score": null}"#,
            br#"{"problem_id": "a", "gold": "1", "answer": ["3"]}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": {"t": 1}}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": "x", "score": [0.1, 0.4]}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": "x", "score": [0.1, null]}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": "x", "score": "0.3"}"#,
            br#"{"problem_id": "a", "gold": "1", "completion": "x", "score": 2}"#,
            br#"{"problem_id": "a", "gold": "1", "completions": ["x"]}"#,
            br#"{"gold": "1", "completion": "x"}"#,
            br#"{"problem_id": "a", "completion": "x"}"#,
            br#"{"problem_id": true, "gold": "1", "completion": "x"}"#,
        ];
        for agg in [None, Some(ScoreAgg::Last), Some(ScoreAgg::Mean)] {
            for mode in [crate::grading::Mode::Lenient, crate::grading::Mode::Strict] {
                let cfg = Config {
                    score_agg: agg,
                    grade: GradeOptions {
                        mode,
                        ..GradeOptions::default()
                    },
                    ..Config::default()
                };
                for line in per_problem {
                    both(&cfg, Layout::PerProblem, line);
                }
                for line in per_sample.iter().chain(per_problem) {
                    both(&cfg, Layout::PerSample, line);
                }
            }
        }
        let ok = both(&Config::default(), Layout::PerProblem, per_problem[0]);
        assert!(ok.starts_with("Ok(Problem("), "{ok}");
        let bad = both(&Config::default(), Layout::PerProblem, per_problem[2]);
        assert!(
            bad.contains("expected a string or a number, got a boolean"),
            "{bad}"
        );
    }

    #[test]
    fn fields_sharing_a_key_or_dotted_use_values() {
        let mut f = Fields::default();
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient, None).is_some());
        f.set("scores", "verifier.p_yes").unwrap();
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient, None).is_none());
        let mut f = Fields::default();
        f.set("answers", "completions").unwrap();
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient, None).is_none());
    }

    #[test]
    fn a_path_serves_one_role() {
        let mut f = Fields::default();
        f.set("gold", "answer").unwrap();
        let err = f.set("answer", "answer").unwrap_err().to_string();
        assert!(err.contains("already gold=answer"), "{err}");
        // Roles of different layouts may share a path.
        f.set("completions", "text").unwrap();
        f.set("completion", "text").unwrap();
        // The default `answer` role reads the gold's field: dropped, never both.
        let r = f.resolved(&[]);
        assert_eq!(r.answer, None);
        assert_eq!(r.answers.as_deref(), Some("answers"));
        // An explicit mapping wins over a preset.
        let mut f = Fields::default();
        f.set("gold", "solution").unwrap();
        let r = f.resolved(&[("gold", Some("answer")), ("answer", None)]);
        assert_eq!((r.gold.as_str(), r.answer.as_deref()), ("solution", None));
    }

    #[test]
    fn formats_are_detected_by_their_fields() {
        let cases = [
            (
                r#"{"gold": "1", "answer": "2", "completions": []}"#,
                Format::Rlv,
            ),
            (
                r#"{"problem": "p", "answer": "2", "completions": ["a"], "scores": [[0.5]]}"#,
                Format::SearchAndLearn,
            ),
            (
                r#"{"idx": 0, "gt": "1", "code": ["a"], "pred": ["1"], "score": [true]}"#,
                Format::QwenMath,
            ),
            (
                r#"{"doc_id": 0, "doc": {}, "target": "1", "resps": [["a"]], "filtered_resps": ["1"]}"#,
                Format::LmEval,
            ),
            (
                r#"{"input": "p", "output": "a", "gts": "1", "score": 1.0, "step": 3}"#,
                Format::Verl,
            ),
            (
                r#"{"problem_id": 1, "answer": "2", "completion": "a"}"#,
                Format::Rlv,
            ),
        ];
        for (row, want) in cases {
            let v: Value = serde_json::from_str(row).unwrap();
            assert_eq!(Format::detect(&v), want, "{row}");
            assert_eq!(Format::parse(want.as_str()).unwrap(), want);
        }
    }

    #[test]
    fn the_completion_wins_over_an_unmapped_answer_field() {
        let file: Arc<str> = Arc::from("t.jsonl");
        let cx = RowCtx {
            file: &file,
            line: 3,
        };
        let line =
            br#"{"problem_id": "a", "gold": "0.5", "answer": "0.5", "completion": "\boxed{0.25}"}"#;
        let cfg = Config::default();
        let Ok(Row::Sample {
            answer,
            check: Some(check),
            ..
        }) = parse_line(&cfg, None, Layout::PerSample, None, &cx, line)
        else {
            panic!("not a sample row");
        };
        assert_eq!(answer.as_deref(), Some("0.25"));
        assert_eq!((check.compared, check.disagree), (1, 1));
        assert_eq!(
            check.example,
            Some((3, "0.5".to_string(), Some("0.25".to_string())))
        );
        let mut cfg = Config::default();
        cfg.fields.set("answer", "answer").unwrap();
        let Ok(Row::Sample { answer, .. }) =
            parse_line(&cfg, None, Layout::PerSample, None, &cx, line)
        else {
            panic!("not a sample row");
        };
        assert_eq!(answer.as_deref(), Some("0.5"));
    }

    #[test]
    fn a_key_mapped_twice_goes_to_the_first_role() {
        let file: Arc<str> = Arc::from("t.jsonl");
        let cx = RowCtx {
            file: &file,
            line: 1,
        };
        let mut cfg = Config::default();
        cfg.fields.set("answers", "completions").unwrap();
        let line = br#"{"gold": "2", "completions": ["2", "so \\boxed{3}"]}"#;
        let row = parse_line(&cfg, None, Layout::PerProblem, None, &cx, line);
        let Ok(Row::Problem(p)) = row else {
            panic!("{row:?}");
        };
        // Read as given answers (the mapped role), not also as completions.
        assert!(p.given);
        assert_eq!(
            p.answers.iter().collect::<Vec<_>>(),
            [Some("2"), Some("so \\boxed{3}")]
        );
        assert_eq!(p.check.compared, 0);
    }

    #[test]
    fn chunks_are_whole_lines() {
        let text = b"{\"a\": 1}\n\n  \n{\"b\": 22}\r\nlast line without newline";
        for chunk_bytes in [1, 2, 5, 9, 10, 11, 30, 1000] {
            let mut chunks = Chunks {
                reader: Box::new(std::io::BufReader::with_capacity(3, &text[..])),
                chunk_bytes,
                carry: Vec::new(),
                lines: 0,
                eof: false,
            };
            let mut lines = Vec::new();
            let mut buf = Vec::new();
            loop {
                let c = chunks.next(buf).unwrap();
                if c.text().is_empty() {
                    assert!(chunks.done());
                    break;
                }
                assert!(c.text().ends_with(b"\n") || chunks.done());
                for (line, a, b) in split_lines(&c) {
                    lines.push((line, String::from_utf8_lossy(&c.text()[a..b]).into_owned()));
                }
                buf = c.buf;
            }
            let want: Vec<(u64, String)> = vec![
                (1, "{\"a\": 1}\n".into()),
                (4, "{\"b\": 22}\r\n".into()),
                (5, "last line without newline".into()),
            ];
            assert_eq!(lines, want, "chunk_bytes {chunk_bytes}");
        }
    }
}
