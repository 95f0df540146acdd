//! Offline rescoring of sample dumps: read JSONL (plain, gzip, zstd) rows, one per problem or
//! one per sample, extract and grade answers, cluster them, vote, and compute every scaling
//! estimator per problem, streaming in bounded chunks.
//!
//! [`Rescorer`] is the streaming reader (memory bounded by two chunks and the largest
//! problem); [`process_problem`] is the per-problem work.
//!
//! Each chunk (whole lines, read into a reused buffer) goes through the thread pool twice:
//! rows are parsed in parallel, completions reduced to their extracted answers as they are
//! parsed (`row`), then grouped into problems in order, then the problems are graded,
//! clustered and estimated in parallel while the next chunk is read.

mod read;
mod row;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

pub use read::{open, Compression, Opened};

use crate::error::{Error, Result};
use crate::grading::equiv::{compare_prepared, Prepared};
use crate::grading::{extract_gold, GradeOptions, Status};
use crate::votes::{
    cluster_prepared, estimate, vote, Estimates, ProblemSamples, VoteMethod,
    DEFAULT_MAX_COMPARISONS, DEFAULT_SUBSETS,
};
use row::{answer_of, Answers, Flex, One, ScoreVal, Scores, Texts, Top, Typed};

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
                     score_agg = last | min | prod | mean",
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
    },
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
    let list_at = |p: &str| matches!(take(&mut row.clone(), p), Some(Value::Array(_)));
    if list_at(&f.completions) || list_at(&f.answers) {
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
    cx: &RowCtx<'_>,
    line: &[u8],
) -> std::result::Result<Row, InvalidRow> {
    let top = match typed {
        Some(t) => row::parse_typed(t, line).map_err(|e| malformed(cx, line, &e))?,
        None => {
            let v: Value = serde_json::from_slice(line).map_err(|e| malformed(cx, line, &e))?;
            row::from_value(v, &cfg.fields, layout, cfg.grade.mode)
        }
    };
    match top {
        Top::Object(raw) => build_row(cfg, layout, cx, *raw),
        Top::NotObject(kind) => Err(cx.bad(None, format!("expected a JSON object, got {kind}"))),
    }
}

fn build_row(
    cfg: &Config,
    layout: Layout,
    cx: &RowCtx<'_>,
    raw: row::RawRow,
) -> std::result::Result<Row, InvalidRow> {
    let f = &cfg.fields;
    let gold = match raw.gold {
        Some(g) => text_of(cx, g, &f.gold)?,
        None => return Err(cx.bad(Some(&f.gold), "missing (map it with field gold=NAME)")),
    };
    let id = match raw.id {
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
        let (answer, given) = if let Some(a) = raw.answer {
            (one_of(cx, a, &f.answer)?, true)
        } else if let Some(c) = raw.completion {
            (one_of(cx, c, &f.completion)?, false)
        } else {
            return Err(cx.bad(
                Some(&f.completion),
                format!(
                    "missing (and no {:?}); map it with field completion=NAME",
                    f.answer
                ),
            ));
        };
        let score = match raw.score {
            Some(s) => Some(score_of(cx, &s, &f.score, cfg.score_agg)?),
            None => None,
        };
        return Ok(Row::Sample {
            id,
            gold,
            answer,
            given,
            score,
            line: cx.line,
        });
    }
    let (list, field, given) = if let Some(a) = raw.answers {
        (a, &f.answers, true)
    } else if let Some(c) = raw.completions {
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
    let answers = match list {
        Texts::NotList(kind) => {
            return Err(cx.bad(Some(field), format!("expected a list, got {kind}")))
        }
        Texts::List {
            bad: Some(kind), ..
        } => {
            return Err(cx.bad(
                Some(field),
                format!("expected a string or a number, got {kind}"),
            ))
        }
        Texts::List { answers, bad: None } => answers,
    };
    let scores = match raw.scores {
        None | Some(Scores::Null) => None,
        Some(Scores::List(s)) => {
            if s.len() != answers.len() {
                return Err(cx.bad(
                    Some(&f.scores),
                    format!(
                        "has {} scores for {} samples in {field:?}",
                        s.len(),
                        answers.len()
                    ),
                ));
            }
            Some(
                s.iter()
                    .map(|x| score_of(cx, x, &f.scores, cfg.score_agg))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )
        }
        Some(Scores::NotList(kind)) => {
            return Err(cx.bad(Some(&f.scores), format!("expected a list, got {kind}")))
        }
    };
    Ok(Row::Problem(Gathered {
        id: id.unwrap_or_else(|| format!("line-{}", cx.line)),
        gold,
        answers,
        given,
        scores,
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
            .map_err(|e| cx.bad(Some(&cfg.fields.scores), e.to_string()))?;
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
    chunks: Chunks,
    bytes_read: Arc<std::sync::atomic::AtomicU64>,
    file_size: u64,
    compression: Compression,
    cfg: Config,
    layout: Layout,
    /// The typed row reader (once the layout is known, when the fields allow it).
    typed: Option<Typed>,
    /// The next chunk, read while the previous one was processed.
    ahead: Option<std::io::Result<Chunk>>,
    /// A chunk buffer to reuse.
    spare: Vec<u8>,
    /// Per-sample layout: the problem being read (it may continue in the next chunk).
    pending: Option<Gathered>,
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
            chunks: Chunks {
                reader: opened.reader,
                chunk_bytes: cfg.chunk_bytes,
                carry: Vec::new(),
                lines: 0,
                eof: false,
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
        .map_err(|e| self.io_error(&e, self.chunks.lines))?;
        if self.chunks.done() {
            self.done = true;
        }
        let lines = split_lines(&chunk);
        let mut invalid = Vec::new();
        if self.layout == Layout::Auto {
            if let Some(&(line, a, b)) = lines.first() {
                let cx = RowCtx {
                    file: &self.file,
                    line,
                };
                match parse_json(&cx, &chunk.text()[a..b]) {
                    Ok(v) => self.layout = detect_layout(&v, &self.cfg.fields),
                    Err(bad) => return Err(bad.into_error()),
                }
            }
        }
        if self.typed.is_none() && self.layout != Layout::Auto {
            self.typed = Typed::new(&self.cfg.fields, self.layout, self.cfg.grade.mode);
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
        let rows = par_map(pool, &lines, |&(line, a, b)| {
            let cx = RowCtx { file, line };
            parse_line(cfg, typed, layout, &cx, &chunk.text()[a..b])
        });
        drop(lines);
        self.spare = chunk.buf;
        let mut problems: Vec<Gathered> = Vec::new();
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
                    answer,
                    given,
                    score,
                    line,
                }) => {
                    if let Err(bad) = self.add_sample(
                        id,
                        gold,
                        answer.as_deref(),
                        given,
                        score,
                        line,
                        &mut problems,
                    ) {
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
        collect(results, cfg.skip_invalid, invalid).map(Some)
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
        let typed = Typed::new(&cfg.fields, layout, cfg.grade.mode).expect("typed reader");
        let a = format!("{:?}", parse_line(cfg, Some(&typed), layout, &cx, line));
        let b = format!("{:?}", parse_line(cfg, None, layout, &cx, line));
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
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient).is_some());
        f.set("scores", "verifier.p_yes").unwrap();
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient).is_none());
        let mut f = Fields::default();
        f.set("answers", "completions").unwrap();
        assert!(Typed::new(&f, Layout::PerProblem, crate::grading::Mode::Lenient).is_none());
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
