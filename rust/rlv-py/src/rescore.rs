//! Rescoring bindings (`rlv.scaling.rescore`): the streaming dump reader.

use std::sync::Mutex;

use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
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
        subsets: subsets.max(1),
        seed,
        skip_invalid,
        max_comparisons,
        num_threads: num_threads(threads)?,
        chunk_bytes: chunk_bytes.max(1),
    })
}

fn decisions<'py>(py: Python<'py>, ds: &[Option<&Decision>]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(
        "answer",
        ds.iter()
            .map(|x| x.and_then(|x| x.answer.clone()))
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "sample",
        PyArray1::from_vec(
            py,
            ds.iter()
                .map(|x| {
                    x.and_then(|x| x.sample)
                        .map_or(-1, |s| i64::try_from(s).unwrap_or(-1))
                })
                .collect(),
        ),
    )?;
    d.set_item(
        "correct",
        PyArray1::from_vec(
            py,
            ds.iter().map(|x| x.is_some_and(|x| x.correct)).collect(),
        ),
    )?;
    d.set_item(
        "support",
        PyArray1::from_vec(
            py,
            ds.iter()
                .map(|x| x.map_or(f64::NAN, |x| x.support))
                .collect(),
        ),
    )?;
    d.set_item(
        "tied",
        PyArray1::from_vec(py, ds.iter().map(|x| x.map_or(0, |x| x.tied)).collect()),
    )?;
    Ok(d)
}

/// A processed chunk as a dict of columns.
fn batch_dict<'py>(py: Python<'py>, b: &Batch, k: usize) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let p = &b.problems;
    let col = |f: &dyn Fn(&dump::ProblemResult) -> i64| -> Vec<i64> { p.iter().map(f).collect() };
    let as_i64 = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
    d.set_item("id", p.iter().map(|x| x.id.clone()).collect::<Vec<_>>())?;
    d.set_item(
        "gold",
        p.iter().map(|x| x.gold_answer.clone()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "samples",
        PyArray1::from_vec(py, col(&|x| as_i64(x.samples))),
    )?;
    d.set_item(
        "answered",
        PyArray1::from_vec(py, col(&|x| as_i64(x.answered))),
    )?;
    d.set_item(
        "correct",
        PyArray1::from_vec(py, col(&|x| as_i64(x.correct))),
    )?;
    d.set_item(
        "classes",
        PyArray1::from_vec(py, col(&|x| as_i64(x.classes))),
    )?;
    d.set_item(
        "comparisons",
        PyArray1::from_vec(
            py,
            col(&|x| i64::try_from(x.comparisons).unwrap_or(i64::MAX)),
        ),
    )?;
    d.set_item(
        "mixed_classes",
        PyArray1::from_vec(py, col(&|x| as_i64(x.mixed_classes))),
    )?;
    d.set_item(
        "truncated",
        PyArray1::from_vec(py, p.iter().map(|x| x.truncated).collect()),
    )?;
    d.set_item(
        "has_scores",
        PyArray1::from_vec(py, p.iter().map(|x| x.weighted.is_some()).collect()),
    )?;
    let refs: Vec<&Estimates> = p.iter().map(|x| &x.estimates).collect();
    d.set_item("estimates", estimates_array(py, &refs, k))?;
    let votes = PyDict::new(py);
    votes.set_item(
        "majority",
        decisions(py, &p.iter().map(|x| Some(&x.majority)).collect::<Vec<_>>())?,
    )?;
    votes.set_item(
        "weighted",
        decisions(
            py,
            &p.iter().map(|x| x.weighted.as_ref()).collect::<Vec<_>>(),
        )?,
    )?;
    votes.set_item(
        "best_of_n",
        decisions(
            py,
            &p.iter().map(|x| x.best_of_n.as_ref()).collect::<Vec<_>>(),
        )?,
    )?;
    d.set_item("votes", votes)?;
    let invalid = PyList::empty(py);
    for r in &b.invalid {
        invalid.append((
            r.file.to_string(),
            r.line,
            r.field.clone(),
            r.message.clone(),
        ))?;
    }
    d.set_item("invalid", invalid)?;
    d.set_item("sample_count", b.samples)?;
    d.set_item("skipped", b.skipped)?;
    let c = &b.answer_check;
    d.set_item("answer_compared", c.compared)?;
    d.set_item("answer_disagree", c.disagree)?;
    d.set_item("answer_example", c.example.clone())?;
    Ok(d)
}

/// Streaming reader of one dump file (JSONL, optionally gzip / zstd compressed).
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

    /// The next processed chunk as a dict of columns, or `None` at the end of the file.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
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
            Some(b) => batch_dict(py, &b, self.k).map(Some),
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

    /// `"none"`, `"gzip"` or `"zstd"`.
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
