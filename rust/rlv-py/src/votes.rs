//! Vote bindings (`rlv.scaling.votes`): convert, release the GIL, convert back.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rlv_core::votes::{self, VoteMethod};

use crate::convert::lossy;
use crate::errors::to_py;
use crate::grading::{resolve_options, GradeOptions};
use crate::run::detached;

/// A list of `str | None` (any sequence) as owned optional strings.
fn opt_strings(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<Option<String>>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a sequence of str | None, not a single str"
        )));
    }
    let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        if item.is_none() {
            out.push(None);
        } else if let Ok(s) = item.cast::<PyString>() {
            out.push(Some(lossy(s).into_owned()));
        } else {
            return Err(PyTypeError::new_err(format!(
                "{name}[{i}] must be str or None, not {}",
                item.get_type().name()?
            )));
        }
    }
    Ok(out)
}

fn scores_vec(obj: Option<PyReadonlyArray1<'_, f64>>) -> Option<Vec<f64>> {
    obj.map(|a| a.as_array().to_vec())
}

type VoteTuple = (Option<u32>, Option<usize>, f64, u32, usize, bool);

/// `(class_of int32 (-1: no class), (winner class, winner sample, support, tied, n_classes,
/// truncated))` of one pool's [`votes::PoolVote`].
fn vote_tuple(p: votes::PoolVote) -> (Vec<i32>, VoteTuple) {
    let cl = p.clustering;
    let n_classes = cl.n_classes();
    let class_of = cl
        .class_of
        .iter()
        .map(|c| c.map_or(-1, |c| i32::try_from(c).unwrap_or(i32::MAX)))
        .collect();
    let v = p.outcome;
    (
        class_of,
        (
            v.class,
            v.sample,
            v.support,
            v.tied,
            n_classes,
            cl.truncated,
        ),
    )
}

/// Cluster and vote over one pool of answers.
#[pyfunction]
#[pyo3(signature = (answers, scores = None, *, method = "majority", max_comparisons = 50000, options = None, **kwargs))]
pub fn vote<'py>(
    py: Python<'py>,
    answers: &Bound<'py, PyAny>,
    scores: Option<PyReadonlyArray1<'py, f64>>,
    method: &str,
    max_comparisons: u64,
    options: Option<PyRef<'py, GradeOptions>>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyArray1<i32>>, VoteTuple)> {
    let opts = resolve_options(options.as_deref(), kwargs)?;
    let method = VoteMethod::parse(method).map_err(to_py)?;
    let answers = opt_strings(answers, "answers")?;
    let scores = scores_vec(scores);
    let (class_of, t) = vote_tuple(
        detached(py, "voting", || {
            votes::cluster_and_vote(&answers, scores.as_deref(), method, &opts, max_comparisons)
        })?
        .map_err(to_py)?,
    );
    Ok((PyArray1::from_vec(py, class_of), t))
}

/// [`vote`] over many problems on the thread pool.
#[pyfunction]
#[pyo3(signature = (answers, scores = None, *, method = "majority", max_comparisons = 50000, num_threads = None, options = None, **kwargs))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn vote_batch<'py>(
    py: Python<'py>,
    answers: &Bound<'py, PyAny>,
    scores: Option<&Bound<'py, PyAny>>,
    method: &str,
    max_comparisons: u64,
    num_threads: Option<usize>,
    options: Option<PyRef<'py, GradeOptions>>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<(Bound<'py, PyArray1<i32>>, VoteTuple)>> {
    let opts = resolve_options(options.as_deref(), kwargs)?;
    let method = VoteMethod::parse(method).map_err(to_py)?;
    let threads = crate::convert::num_threads(num_threads)?;
    let mut problems = Vec::new();
    for (i, a) in answers.try_iter()?.enumerate() {
        problems.push(opt_strings(&a?, &format!("answers[{i}]"))?);
    }
    let scores: Option<Vec<Vec<f64>>> = match scores {
        None => None,
        Some(s) => {
            let mut out = Vec::new();
            for item in s.try_iter()? {
                out.push(item?.extract::<Vec<f64>>()?);
            }
            Some(out)
        }
    };
    let results = detached(py, "voting a batch", || {
        votes::cluster_and_vote_batch(
            &problems,
            scores.as_deref(),
            method,
            &opts,
            max_comparisons,
            threads,
        )
    })?
    .map_err(to_py)?;
    Ok(results
        .into_iter()
        .map(|p| {
            let (c, t) = vote_tuple(p);
            (PyArray1::from_vec(py, c), t)
        })
        .collect())
}
