//! Rescoring bindings (`rlv.scaling.rescore`): the streaming dump reader.

use std::sync::Mutex;

use numpy::{PyArray1, PyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rlv_core::estimators::{self, Estimates};
use rlv_core::rescore::{self as dump, Batch, Config, Decision, Format, Layout, ScoreAgg};

use crate::convert::num_threads;
use crate::errors::to_py;
use crate::estimators::estimates_array;
use crate::grading::{resolve_options, GradeOptions};
use crate::run::detached;

/// Build the core [`Config`] from the keyword arguments of the Python layer.
#[allow(clippy::too_many_arguments)]
fn config(
    fields: Option<&Bound<'_, PyDict>>,
    format: &str,
    layout: &str,
    score_agg: Option<&str>,
    ks: Vec<usize>,
    subsets: usize,
    seed: u64,
    skip_invalid: bool,
    max_comparisons: u64,
    threads: Option<usize>,
    chunk_bytes: usize,
    grade: rlv_core::grading::GradeOptions,
) -> PyResult<Config> {
    let mut f = dump::Fields::default();
    if let Some(fields) = fields {
        for (k, v) in fields.iter() {
            let k: String = k.extract()?;
            let v: String = v.extract()?;
            f.set(&k, &v).map_err(to_py)?;
        }
    }
    estimators::check_ks(&ks).map_err(to_py)?;
    Ok(Config {
        fields: f,
        format: Format::parse(format).map_err(to_py)?,
        layout: Layout::parse(layout).map_err(to_py)?,
        score_agg: score_agg.map(ScoreAgg::parse).transpose().map_err(to_py)?,
        grade,
        ks,
        subsets,
        seed,
        skip_invalid,
        max_comparisons,
        num_threads: num_threads(threads)?,
        chunk_bytes,
    })
}

/// One processed chunk of a dump: typed getters over the problems' results (columns as
/// numpy arrays), read by the Python driver for decision rows and fed to [`RescoreTotals`].
#[pyclass(module = "rlv._core", frozen)]
pub struct RescoreBatch {
    batch: Batch,
    k: usize,
}

/// A vote method's decisions of a batch: the majority vote's for every problem, the others'
/// only on problems with scores (`None` elsewhere).
fn method_decisions<'a>(b: &'a Batch, method: &str) -> PyResult<Vec<Option<&'a Decision>>> {
    let p = &b.problems;
    Ok(match method {
        "majority" => p.iter().map(|x| Some(&x.majority)).collect(),
        "weighted" => p.iter().map(|x| x.weighted.as_ref()).collect(),
        "best_of_n" => p.iter().map(|x| x.best_of_n.as_ref()).collect(),
        other => {
            return Err(PyValueError::new_err(format!(
                "invalid value {other:?} for option method; allowed: \"majority\", \"weighted\", \"best_of_n\""
            )))
        }
    })
}

fn counts<'py>(
    py: Python<'py>,
    b: &Batch,
    f: impl Fn(&dump::ProblemResult) -> usize,
) -> Bound<'py, PyArray1<i64>> {
    PyArray1::from_vec(
        py,
        b.problems
            .iter()
            .map(|x| i64::try_from(f(x)).unwrap_or(i64::MAX))
            .collect(),
    )
}

#[pymethods]
impl RescoreBatch {
    /// Problem ids, in dump order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.batch.problems.iter().map(|x| x.id.clone()).collect()
    }
    /// Gold answers as read from the gold field.
    #[getter]
    fn golds(&self) -> Vec<String> {
        self.batch
            .problems
            .iter()
            .map(|x| x.gold_answer.clone())
            .collect()
    }
    #[getter]
    fn samples<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        counts(py, &self.batch, |x| x.samples)
    }
    #[getter]
    fn answered<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        counts(py, &self.batch, |x| x.answered)
    }
    #[getter]
    fn correct<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        counts(py, &self.batch, |x| x.correct)
    }
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        counts(py, &self.batch, |x| x.classes)
    }
    /// Whether each problem has verifier scores.
    #[getter]
    fn has_scores<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_vec(
            py,
            self.batch
                .problems
                .iter()
                .map(|x| x.weighted.is_some())
                .collect(),
        )
    }
    /// Estimates, `(problems, 4, len(ks))`: pass, majority, weighted, best_of_n.
    #[getter]
    fn estimates<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray3<f64>> {
        let refs: Vec<&Estimates> = self.batch.problems.iter().map(|x| &x.estimates).collect();
        estimates_array(py, &refs, self.k)
    }
    /// The full-pool decisions of `method`: `(answers, samples (-1: none), correct, support,
    /// tied)`, one entry per problem (a problem without scores: no answer, -1, False, NaN, 0
    /// for the score-based methods).
    #[allow(clippy::type_complexity)]
    fn decisions<'py>(
        &self,
        py: Python<'py>,
        method: &str,
    ) -> PyResult<(
        Vec<Option<String>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<bool>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<u32>>,
    )> {
        let ds = method_decisions(&self.batch, method)?;
        Ok((
            ds.iter()
                .map(|x| x.and_then(|x| x.answer.clone()))
                .collect(),
            PyArray1::from_vec(
                py,
                ds.iter()
                    .map(|x| {
                        x.and_then(|x| x.sample)
                            .map_or(-1, |s| i64::try_from(s).unwrap_or(-1))
                    })
                    .collect(),
            ),
            PyArray1::from_vec(
                py,
                ds.iter().map(|x| x.is_some_and(|x| x.correct)).collect(),
            ),
            PyArray1::from_vec(
                py,
                ds.iter()
                    .map(|x| x.map_or(f64::NAN, |x| x.support))
                    .collect(),
            ),
            PyArray1::from_vec(py, ds.iter().map(|x| x.map_or(0, |x| x.tied)).collect()),
        ))
    }
}

/// Totals of a rescoring run over its batches ([`dump::Totals`]): what the report is built
/// from.
#[pyclass(module = "rlv._core")]
pub struct RescoreTotals(Mutex<dump::Totals>);

impl RescoreTotals {
    fn get(&self) -> std::sync::MutexGuard<'_, dump::Totals> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn estimator_grid<'py, T: numpy::Element + Copy>(
    py: Python<'py>,
    v: &[T],
    k: usize,
) -> PyResult<Bound<'py, numpy::PyArray2<T>>> {
    let arr = numpy::ndarray::Array2::from_shape_vec((dump::ESTIMATORS, k), v.to_vec())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(numpy::PyArray2::from_owned_array(py, arr))
}

#[pymethods]
impl RescoreTotals {
    #[new]
    #[pyo3(signature = (k, *, keep = false))]
    fn new(k: usize, keep: bool) -> Self {
        Self(Mutex::new(dump::Totals::new(k, keep)))
    }

    /// Add a batch read from `file`.
    fn add(&self, batch: &RescoreBatch, file: &str) {
        self.get().add(&batch.batch, file);
    }

    #[getter]
    fn problems(&self) -> u64 {
        self.get().problems
    }
    #[getter]
    fn samples(&self) -> u64 {
        self.get().samples
    }
    #[getter]
    fn answered(&self) -> u64 {
        self.get().answered
    }
    #[getter]
    fn correct(&self) -> u64 {
        self.get().correct
    }
    #[getter]
    fn classes(&self) -> u64 {
        self.get().classes
    }
    #[getter]
    fn comparisons(&self) -> u64 {
        self.get().comparisons
    }
    #[getter]
    fn truncated(&self) -> u64 {
        self.get().truncated
    }
    #[getter]
    fn mixed(&self) -> u64 {
        self.get().mixed
    }
    #[getter]
    fn with_scores(&self) -> u64 {
        self.get().with_scores
    }
    /// Correct full-pool votes per method (as floats, like the accuracies built from them).
    #[getter]
    fn votes(&self) -> Vec<(&'static str, f64)> {
        let v = self.get().votes;
        #[allow(clippy::cast_precision_loss)]
        let f = |x: u64| x as f64;
        vec![
            ("majority", f(v[0])),
            ("weighted", f(v[1])),
            ("best_of_n", f(v[2])),
        ]
    }
    /// Defined estimates per estimator and k, `(4, len(ks))` int64.
    #[getter]
    fn n<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<i64>>> {
        let t = self.get();
        estimator_grid(py, &t.n, t.k)
    }
    /// Their sums, `(4, len(ks))`.
    #[getter]
    fn s1<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let t = self.get();
        estimator_grid(py, &t.s1, t.k)
    }
    /// Their sums of squares, `(4, len(ks))`.
    #[getter]
    fn s2<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let t = self.get();
        estimator_grid(py, &t.s2, t.k)
    }
    /// Every estimate, `(problems, 4, len(ks))` (NaN: undefined), if kept.
    #[getter]
    fn kept<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray3<f64>>>> {
        let t = self.get();
        let Some(kept) = t.kept.as_ref() else {
            return Ok(None);
        };
        let shape = (
            kept.len() / (dump::ESTIMATORS * t.k).max(1),
            dump::ESTIMATORS,
            t.k,
        );
        let arr = numpy::ndarray::Array3::from_shape_vec(shape, kept.clone())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Some(PyArray3::from_owned_array(py, arr)))
    }
    /// The first invalid rows: `(file, line, field, message)`.
    #[getter]
    fn invalid(&self) -> Vec<(String, u64, Option<String>, String)> {
        self.get()
            .invalid
            .iter()
            .map(|r| {
                (
                    r.file.to_string(),
                    r.line,
                    r.field.clone(),
                    r.message.clone(),
                )
            })
            .collect()
    }
    #[getter]
    fn invalid_count(&self) -> u64 {
        self.get().invalid_count
    }
    #[getter]
    fn skipped(&self) -> u64 {
        self.get().skipped
    }
    #[getter]
    fn compared(&self) -> u64 {
        self.get().compared
    }
    #[getter]
    fn disagree(&self) -> u64 {
        self.get().disagree
    }
    /// The first answer-field disagreement: `(file, line, answer field, completion's answer)`.
    #[getter]
    fn example(&self) -> Option<dump::AnswerExample> {
        self.get().example.clone()
    }
}

/// Streaming reader of one dump file (JSONL, optionally gzip / zstd compressed, or Parquet).
#[pyclass(module = "rlv._core")]
pub struct Rescorer {
    /// `None` after a failed chunk (the reader's position is then unknown). The mutex makes
    /// the reader shareable between Python threads; calls on one reader are serialised.
    inner: Mutex<Option<dump::Rescorer>>,
    k: usize,
}

impl Rescorer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<dump::Rescorer>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[pymethods]
impl Rescorer {
    #[new]
    #[pyo3(signature = (path, *, name = None, first_index = 0, fields = None, format = "auto", layout = "auto", score_agg = None, ks, subsets, seed, skip_invalid = false, max_comparisons = 50000, num_threads = None, chunk_bytes = 16777216, options = None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: &str,
        name: Option<&str>,
        first_index: u64,
        fields: Option<&Bound<'_, PyDict>>,
        format: &str,
        layout: &str,
        score_agg: Option<&str>,
        ks: Vec<usize>,
        subsets: usize,
        seed: u64,
        skip_invalid: bool,
        max_comparisons: u64,
        num_threads: Option<usize>,
        chunk_bytes: usize,
        options: Option<PyRef<'_, GradeOptions>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let cfg = config(
            fields,
            format,
            layout,
            score_agg,
            ks,
            subsets,
            seed,
            skip_invalid,
            max_comparisons,
            num_threads,
            chunk_bytes,
            resolve_options(options.as_deref(), kwargs)?,
        )?;
        let k = cfg.ks.len();
        let inner = dump::Rescorer::open_named(path, name.unwrap_or(path), cfg, first_index)
            .map_err(to_py)?;
        Ok(Self {
            inner: Mutex::new(Some(inner)),
            k,
        })
    }

    /// The next processed chunk, or `None` at the end of the file.
    fn next_batch(&self, py: Python<'_>) -> PyResult<Option<RescoreBatch>> {
        let taken = self.lock().take();
        let Some(mut inner) = taken else {
            return Err(PyValueError::new_err(
                "this Rescorer failed earlier and cannot continue",
            ));
        };
        let (inner, out) = detached(py, "rescoring a dump", move || {
            let r = inner.next_batch();
            (inner, r)
        })?;
        let out = out.map_err(to_py)?;
        *self.lock() = Some(inner);
        match out {
            None => Ok(None),
            Some(batch) => Ok(Some(RescoreBatch { batch, k: self.k })),
        }
    }

    /// `(bytes read, file size)`; compressed bytes for compressed dumps.
    fn progress(&self) -> (u64, u64) {
        self.lock()
            .as_ref()
            .map_or((0, 0), dump::Rescorer::progress)
    }

    /// `"per-problem"` or `"per-sample"` once the first chunk is read (`"auto"` before).
    #[getter]
    fn layout(&self) -> &'static str {
        self.lock().as_ref().map_or("auto", |r| r.layout().as_str())
    }

    /// The dump format: detected from the first row under `format="auto"` (`"auto"` before
    /// the first chunk is read).
    #[getter]
    fn format(&self) -> &'static str {
        self.lock().as_ref().map_or("auto", |r| r.format().as_str())
    }

    /// The field mapping in use, `{role: path}` (roles that are not read left out).
    #[getter]
    fn fields(&self) -> Vec<(&'static str, String)> {
        self.lock()
            .as_ref()
            .map_or_else(Vec::new, |r| r.fields().pairs())
    }

    /// `(score_agg, from_preset)`: how list scores are combined, and whether the dump
    /// format's preset chose it.
    #[getter]
    fn score_agg(&self) -> (Option<&'static str>, bool) {
        self.lock().as_ref().map_or((None, false), |r| {
            let (agg, preset) = r.score_agg();
            (agg.map(ScoreAgg::as_str), preset)
        })
    }

    /// `(field, value)`: only rows whose field has this value are read (lm-eval's
    /// `filter`), or `None`.
    #[getter]
    fn select(&self) -> Option<(String, String)> {
        self.lock()
            .as_ref()
            .and_then(|r| r.select().map(|(f, v)| (f.to_string(), v.to_string())))
    }

    /// `"none"`, `"gzip"`, `"zstd"` or `"parquet"`.
    #[getter]
    fn compression(&self) -> &'static str {
        self.lock()
            .as_ref()
            .map_or("none", |r| r.compression().as_str())
    }

    /// Index the next problem gets (pass it as `first_index` of the next file).
    #[getter]
    fn next_index(&self) -> u64 {
        self.lock().as_ref().map_or(0, dump::Rescorer::next_index)
    }
}
