//! Grading bindings: each function is "extract arguments -> run core -> build outputs".

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rlv_core::grading::{self as core, Status};

use crate::convert::{grade_options, lossy, parse_mode, string_vec};
use crate::run::{attached, chunked, detached};

/// Inputs longer than this (bytes) are graded with the GIL released.
const DETACH_BYTES: usize = 2048;

/// Names of the statuses, indexed by their int8 code.
#[pyfunction]
pub fn status_names() -> Vec<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).collect()
}

/// Extract the final answer of a model output: `(answer, rule)`, both `None` if no answer.
#[pyfunction]
#[pyo3(signature = (text, *, mode = "lenient"))]
pub fn extract_answer(
    text: &Bound<'_, PyString>,
    mode: &str,
) -> PyResult<(Option<String>, Option<&'static str>)> {
    let mode = parse_mode(mode).map_err(crate::errors::to_py)?;
    let text = lossy(text);
    let ext = attached("extracting an answer", || core::extract_answer(&text, mode))?;
    Ok(match ext {
        Some(e) => (Some(e.span.to_string()), Some(e.rule.as_str())),
        None => (None, None),
    })
}

/// The letter chosen in a multiple-choice answer: `(letter, rule)`, both `None` if none.
#[pyfunction]
#[pyo3(signature = (text, *, choices = "ABCD"))]
pub fn extract_choice(
    text: &Bound<'_, PyString>,
    choices: &str,
) -> PyResult<(Option<String>, Option<&'static str>)> {
    let text = lossy(text);
    let found = attached("extracting a choice", || {
        core::extract_choice(&text, choices)
    })?;
    Ok(match found {
        Some((c, rule)) => (Some(c.to_string()), Some(rule.as_str())),
        None => (None, None),
    })
}

/// Compare two already-extracted answers; returns the status name.
#[pyfunction]
#[pyo3(signature = (a, b, **options))]
pub fn is_equiv(
    py: Python<'_>,
    a: &Bound<'_, PyString>,
    b: &Bound<'_, PyString>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<&'static str> {
    let opts = grade_options("lenient", options)?;
    let (a, b) = (lossy(a), lossy(b));
    let context = "comparing two answers";
    let status = if a.len() + b.len() > DETACH_BYTES {
        let (a, b) = (a.into_owned(), b.into_owned());
        detached(py, context, move || core::is_equiv(&a, &b, &opts))?
    } else {
        attached(context, || core::is_equiv(&a, &b, &opts))?
    };
    Ok(status.as_str())
}

/// `(status, answer, rule, gold_answer)` as returned to Python.
type VerdictTuple = (
    &'static str,
    Option<String>,
    Option<&'static str>,
    Option<String>,
);

/// Grade one completion: `(status, answer, rule, gold_answer)`.
#[pyfunction]
#[pyo3(signature = (completion, gold, *, mode = "lenient", **options))]
pub fn grade(
    py: Python<'_>,
    completion: &Bound<'_, PyString>,
    gold: &Bound<'_, PyString>,
    mode: &str,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<VerdictTuple> {
    let opts = grade_options(mode, options)?;
    let (c, g) = (lossy(completion), lossy(gold));
    let context = "grading a completion";
    let v = if c.len() + g.len() > DETACH_BYTES {
        let (c, g) = (c.into_owned(), g.into_owned());
        detached(py, context, move || core::grade(&c, &g, &opts))?
    } else {
        attached(context, || core::grade(&c, &g, &opts))?
    };
    Ok((
        v.status.as_str(),
        v.answer,
        v.rule.map(|r| r.as_str()),
        v.gold_answer,
    ))
}

/// Grade many pairs with the GIL released: `(rewards float32, status codes int8)`.
#[pyfunction]
#[pyo3(signature = (completions, golds, *, mode = "lenient", num_threads = None, **options))]
#[allow(clippy::type_complexity)]
pub fn grade_batch<'py>(
    py: Python<'py>,
    completions: &Bound<'py, PyAny>,
    golds: &Bound<'py, PyAny>,
    mode: &str,
    num_threads: Option<usize>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<i8>>)> {
    let opts = grade_options(mode, options)?;
    let threads = crate::convert::num_threads(num_threads)?;
    // 1. Copy to owned strings while holding the GIL (validates lengths early).
    let completions = string_vec(completions, "completions")?;
    let golds = string_vec(golds, "golds")?;
    if completions.len() != golds.len() {
        return Err(crate::errors::to_py(rlv_core::Error::LengthMismatch {
            left_name: "completions",
            left: completions.len(),
            right_name: "golds",
            right: golds.len(),
        }));
    }
    // 2. Grade chunk by chunk with the GIL released, checking for Ctrl-C in between.
    let statuses = chunked(py, completions.len(), "grading a batch", |r| {
        core::grade_batch_status(&completions[r.clone()], &golds[r], &opts, threads)
    })?;
    // 3. Columnar outputs.
    let rewards: Vec<f32> = statuses.iter().map(|s| s.reward()).collect();
    let codes: Vec<i8> = statuses.iter().map(|s| s.code()).collect();
    Ok((
        PyArray1::from_vec(py, rewards),
        PyArray1::from_vec(py, codes),
    ))
}
