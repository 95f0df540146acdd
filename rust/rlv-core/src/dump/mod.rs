//! Offline rescoring of sample dumps: read JSONL (plain, gzip, zstd) rows, one per problem or
//! one per sample, extract and grade answers, cluster them, vote, and compute every scaling
//! estimator per problem, streaming in bounded chunks.
//!
//! [`Rescorer`] is the streaming reader (memory bounded by the chunk size and the largest
//! problem); [`process_problem`] is the per-problem work.

mod read;

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

pub use read::{open, Compression, Opened};

use crate::error::{Error, Result};
use crate::grading::equiv::{compare_prepared, Prepared};
use crate::grading::{answer_text, extract_answer, extract_gold, GradeOptions, Status};
use crate::votes::{
    cluster_prepared, estimate, vote, Estimates, ProblemSamples, VoteMethod,
    DEFAULT_MAX_COMPARISONS, DEFAULT_SUBSETS,
};

/// Where each field lives in a row (dotted paths reach into objects: `verifier.p_yes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    pub problem_id: String,
    pub gold: String,
    /// Per-problem rows: the list of completions.
    pub completions: String,
    /// Per-sample rows: the completion.
    pub completion: String,
    pub scores: String,
    pub score: String,
    /// Pre-extracted answers (per-problem rows: a list; per-sample rows: a string).
    pub answers: String,
    pub answer: String,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            problem_id: "problem_id".into(),
            gold: "gold".into(),
            completions: "completions".into(),
            completion: "completion".into(),
            scores: "scores".into(),
            score: "score".into(),
            answers: "answers".into(),
            answer: "answer".into(),
        }
    }
}

impl Fields {
    /// Set one field by name (`"completions"`, `"gold"`, ...).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an unknown field name or an empty path.
    pub fn set(&mut self, name: &str, path: &str) -> Result<()> {
        if path.is_empty() {
            return Err(Error::InvalidOption {
                option: "field",
                value: format!("{name}="),
                allowed: "a non-empty field name or dotted path",
            });
        }
        let slot = match name {
            "problem_id" => &mut self.problem_id,
            "gold" => &mut self.gold,
            "completions" => &mut self.completions,
            "completion" => &mut self.completion,
            "scores" => &mut self.scores,
            "score" => &mut self.score,
            "answers" => &mut self.answers,
            "answer" => &mut self.answer,
            _ => {
                return Err(Error::InvalidOption {
                    option: "field",
                    value: name.to_string(),
                    allowed: "problem_id, gold, completions, completion, scores, score, answers, \
                              answer",
                })
            }
        };
        *slot = path.to_string();
        Ok(())
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

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A string or a number, as text.
fn text_of(cx: &RowCtx<'_>, v: Value, field: &str) -> std::result::Result<String, InvalidRow> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(cx.bad(
            Some(field),
            format!("expected a string or a number, got {}", kind(&other)),
        )),
    }
}

fn score_of(
    cx: &RowCtx<'_>,
    v: &Value,
    field: &str,
    agg: Option<ScoreAgg>,
) -> std::result::Result<f64, InvalidRow> {
    let s = match v {
        Value::Number(n) => n.as_f64(),
        Value::Array(items) => {
            let Some(agg) = agg else {
                return Err(cx.bad(
                    Some(field),
                    "a score is a list (step scores); choose how to combine them with \
                     score_agg = last | min | prod | mean",
                ));
            };
            let nums: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
            let Some(nums) = nums else {
                return Err(cx.bad(Some(field), "a list score holds a non-number"));
            };
            agg.apply(&nums)
        }
        other => {
            return Err(cx.bad(
                Some(field),
                format!("expected a score in [0, 1], got {}", kind(other)),
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

fn opt_text(
    cx: &RowCtx<'_>,
    v: Value,
    field: &str,
) -> std::result::Result<Option<String>, InvalidRow> {
    match v {
        Value::Null => Ok(None),
        other => text_of(cx, other, field).map(Some),
    }
}

/// One parsed row.
enum Row {
    Problem(Problem),
    Sample {
        id: String,
        gold: String,
        text: Option<String>,
        is_answer: bool,
        score: Option<f64>,
        line: u64,
    },
}

fn parse_json(cx: &RowCtx<'_>, line: &[u8]) -> std::result::Result<Value, InvalidRow> {
    let v: Value = serde_json::from_slice(line).map_err(|e| {
        let hint =
            if line.windows(3).any(|w| w == b"NaN") || line.windows(8).any(|w| w == b"Infinity") {
                " (NaN and Infinity are not JSON; a score must be a number in [0, 1])"
            } else {
                ""
            };
        cx.bad(None, format!("malformed JSON: {e}{hint}"))
    })?;
    if !v.is_object() {
        return Err(cx.bad(None, format!("expected a JSON object, got {}", kind(&v))));
    }
    Ok(v)
}

/// The layout a row implies (for [`Layout::Auto`]).
fn detect_layout(row: &Value, f: &Fields) -> Layout {
    // Once per file: a copy to look into with the one path walker ([`take`]).
    let list_at = |p: &str| matches!(take(&mut row.clone(), p), Some(Value::Array(_)));
    if list_at(&f.completions) || list_at(&f.answers) {
        Layout::PerProblem
    } else {
        Layout::PerSample
    }
}

fn parse_row(
    cfg: &Config,
    layout: Layout,
    cx: &RowCtx<'_>,
    mut v: Value,
) -> std::result::Result<Row, InvalidRow> {
    let v = &mut v;
    let f = &cfg.fields;
    let gold = match take(v, &f.gold) {
        Some(g) => text_of(cx, g, &f.gold)?,
        None => return Err(cx.bad(Some(&f.gold), "missing (map it with field gold=NAME)")),
    };
    let id = match take(v, &f.problem_id) {
        Some(x) => Some(text_of(cx, x, &f.problem_id)?),
        None => None,
    };
    if layout == Layout::PerSample {
        let Some(id) = id else {
            return Err(cx.bad(
                Some(&f.problem_id),
                "missing (per-sample rows are grouped by it; map it with field problem_id=NAME)",
            ));
        };
        let (text, is_answer) = if let Some(a) = take(v, &f.answer) {
            (opt_text(cx, a, &f.answer)?, true)
        } else if let Some(c) = take(v, &f.completion) {
            (opt_text(cx, c, &f.completion)?, false)
        } else {
            return Err(cx.bad(
                Some(&f.completion),
                format!(
                    "missing (and no {:?}); map it with field completion=NAME",
                    f.answer
                ),
            ));
        };
        let score = match take(v, &f.score) {
            Some(s) => Some(score_of(cx, &s, &f.score, cfg.score_agg)?),
            None => None,
        };
        return Ok(Row::Sample {
            id,
            gold,
            text,
            is_answer,
            score,
            line: cx.line,
        });
    }
    let (list, field, is_answer) = if let Some(a) = take(v, &f.answers) {
        (a, &f.answers, true)
    } else if let Some(c) = take(v, &f.completions) {
        (c, &f.completions, false)
    } else {
        return Err(cx.bad(
            Some(&f.completions),
            format!(
                "missing (and no {:?}); map it with field completions=NAME",
                f.answers
            ),
        ));
    };
    let Value::Array(items) = list else {
        return Err(cx.bad(Some(field), format!("expected a list, got {}", kind(&list))));
    };
    let texts = items
        .into_iter()
        .map(|x| opt_text(cx, x, field))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let scores = match take(v, &f.scores) {
        None | Some(Value::Null) => None,
        Some(Value::Array(s)) => {
            if s.len() != texts.len() {
                return Err(cx.bad(
                    Some(&f.scores),
                    format!(
                        "has {} scores for {} samples in {field:?}",
                        s.len(),
                        texts.len()
                    ),
                ));
            }
            Some(
                s.iter()
                    .map(|x| score_of(cx, x, &f.scores, cfg.score_agg))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )
        }
        Some(other) => {
            return Err(cx.bad(
                Some(&f.scores),
                format!("expected a list, got {}", kind(&other)),
            ))
        }
    };
    Ok(Row::Problem(Problem {
        id: id.unwrap_or_else(|| format!("line-{}", cx.line)),
        gold,
        texts,
        texts_are_answers: is_answer,
        scores,
        file: Arc::clone(cx.file),
        line: cx.line,
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
    let opts = &cfg.grade;
    let Some(gold_ext) = extract_gold(&p.gold) else {
        return Err(cx.bad(Some(&cfg.fields.gold), "empty gold"));
    };
    let gold_text = answer_text(gold_ext);
    let gold = Prepared::new(&gold_text, opts);
    if !gold.readable() {
        return Err(cx.bad(
            Some(&cfg.fields.gold),
            format!("the gold answer {:?} cannot be read", gold_text.as_ref()),
        ));
    }
    if let Some(s) = &p.scores {
        crate::votes::check_scores(s, p.texts.len())
            .map_err(|e| cx.bad(Some(&cfg.fields.scores), e.to_string()))?;
    }
    // Answers: given, or extracted from the completions.
    let answers: Vec<Option<std::borrow::Cow<'_, str>>> = p
        .texts
        .iter()
        .map(|t| {
            let t = t.as_deref()?;
            if p.texts_are_answers {
                Some(std::borrow::Cow::Borrowed(t))
            } else {
                extract_answer(t, opts.mode).map(answer_text)
            }
        })
        .collect();
    let clustered = cluster_prepared(&answers, opts, cfg.max_comparisons);
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
    let answer_refs: Vec<Option<&str>> = answers.iter().map(|a| a.as_deref()).collect();
    let scores = p.scores.as_deref();
    let mk = |m| {
        decision(
            m,
            &cl.class_of,
            cl.n_classes(),
            scores,
            &class_correct,
            &answer_refs,
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
        id: p.id.clone(),
        gold_answer: gold_text.into_owned(),
        samples: p.texts.len(),
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
}

fn collect(
    results: Vec<std::result::Result<ProblemResult, InvalidRow>>,
    skip_invalid: bool,
    mut invalid: Vec<InvalidRow>,
) -> Result<Batch> {
    let mut batch = Batch::default();
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

/// Streaming rescoring of one dump file.
pub struct Rescorer {
    file: Arc<str>,
    opened: Opened,
    cfg: Config,
    layout: Layout,
    line: u64,
    /// Per-sample layout: the problem being read (it may continue in the next chunk).
    pending: Option<Problem>,
    seen: HashSet<String>,
    next_index: u64,
    done: bool,
}

impl Rescorer {
    /// Open a dump. Problems get indices `first_index, first_index + 1, ...` (pass the
    /// number of problems of earlier files to continue their random streams).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; invalid `ks`.
    pub fn open(path: &str, cfg: Config, first_index: u64) -> Result<Self> {
        Self::open_named(path, path, cfg, first_index)
    }

    /// As [`Rescorer::open`], naming the file `name` in error messages (e.g. the Parquet file
    /// a temporary JSONL file was converted from).
    ///
    /// # Errors
    /// As [`Rescorer::open`].
    pub fn open_named(path: &str, name: &str, cfg: Config, first_index: u64) -> Result<Self> {
        crate::votes::check_ks(&cfg.ks)?;
        let opened = open(path).map_err(|e| match e {
            Error::Io { message, .. } => Error::Io {
                file: name.to_string(),
                message,
            },
            other => other,
        })?;
        Ok(Self {
            file: Arc::from(name),
            opened,
            layout: cfg.layout,
            cfg,
            line: 0,
            pending: None,
            seen: HashSet::new(),
            next_index: first_index,
            done: false,
        })
    }

    /// Bytes of the file read so far, and the file size (for progress bars).
    #[must_use]
    pub fn progress(&self) -> (u64, u64) {
        (
            self.opened.bytes_read.load(Ordering::Relaxed),
            self.opened.file_size,
        )
    }

    #[must_use]
    pub fn compression(&self) -> Compression {
        self.opened.compression
    }

    /// The layout in use (decided by the first row under [`Layout::Auto`]).
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Index the next problem will get.
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    fn read_lines(&mut self) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut lines = Vec::new();
        let mut bytes = 0usize;
        while bytes < self.cfg.chunk_bytes {
            let mut buf = Vec::new();
            let n = self
                .opened
                .reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::Io {
                    file: self.file.to_string(),
                    message: format!("read error after line {}: {e}", self.line),
                })?;
            if n == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            bytes += n;
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            lines.push((self.line, buf));
        }
        Ok(lines)
    }

    /// Read and process the next chunk; `None` at the end of the file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Dump`] (unless `skip_invalid`), [`Error::ThreadPool`].
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        if self.done && self.pending.is_none() {
            return Ok(None);
        }
        let lines = self.read_lines()?;
        let mut invalid = Vec::new();
        if self.layout == Layout::Auto {
            if let Some((line, text)) = lines.first() {
                let cx = RowCtx {
                    file: &self.file,
                    line: *line,
                };
                match parse_json(&cx, text) {
                    Ok(v) => self.layout = detect_layout(&v, &self.cfg.fields),
                    Err(bad) => return Err(bad.into_error()),
                }
            }
        }
        let layout = self.layout;
        let (cfg, file) = (&self.cfg, &self.file);
        let rows = crate::parallel::map_ordered(&lines, cfg.num_threads, |(line, text)| {
            let cx = RowCtx { file, line: *line };
            parse_json(&cx, text).and_then(|v| parse_row(cfg, layout, &cx, v))
        })?;
        drop(lines);
        let mut problems: Vec<Problem> = Vec::new();
        for row in rows {
            match row {
                Err(bad) if self.cfg.skip_invalid => invalid.push(bad),
                Err(bad) => return Err(bad.into_error()),
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
                    problems.push(p);
                }
                Ok(Row::Sample {
                    id,
                    gold,
                    text,
                    is_answer,
                    score,
                    line,
                }) => {
                    if let Err(bad) =
                        self.add_sample(id, gold, text, is_answer, score, line, &mut problems)
                    {
                        if self.cfg.skip_invalid {
                            invalid.push(bad);
                        } else {
                            return Err(bad.into_error());
                        }
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
        let cfg = &self.cfg;
        let idx: Vec<usize> = (0..problems.len()).collect();
        let results = crate::parallel::map_ordered(&idx, cfg.num_threads, |&i| {
            process_problem(&problems[i], cfg, first + i as u64)
        })?;
        collect(results, cfg.skip_invalid, invalid).map(Some)
    }

    /// Append a per-sample row to the pending problem (closing it when the id changes).
    #[allow(clippy::too_many_arguments)]
    fn add_sample(
        &mut self,
        id: String,
        gold: String,
        text: Option<String>,
        is_answer: bool,
        score: Option<f64>,
        line: u64,
        out: &mut Vec<Problem>,
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
                if p.texts_are_answers != is_answer {
                    return Err(cx.bad(
                        Some(&f.answer),
                        format!("some rows of problem {id:?} have it and some do not"),
                    ));
                }
                match (&mut p.scores, score) {
                    (Some(s), Some(v)) => s.push(v),
                    (None, None) => {}
                    _ => {
                        return Err(cx.bad(
                            Some(&f.score),
                            format!("some rows of problem {id:?} have a score and some do not"),
                        ))
                    }
                }
                p.texts.push(text);
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
        self.pending = Some(Problem {
            id,
            gold,
            texts: vec![text],
            texts_are_answers: is_answer,
            scores: score.map(|s| vec![s]),
            file: Arc::clone(&self.file),
            line,
        });
        Ok(())
    }
}
