//! Scaling-estimator bindings (`rlv.scaling.estimators`): convert, release the GIL, convert
//! back.

use numpy::{PyArray3, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rlv_core::estimators::{self, Estimates, ProblemSamples};

use crate::errors::to_py;
use crate::run::detached;

/// Estimates as a `(problems, 4, len(ks))` array: pass, majority, weighted, best_of (NaN
/// where undefined: k > N, or no scores).
pub(crate) fn estimates_array<'py>(
    py: Python<'py>,
    est: &[&Estimates],
    k: usize,
) -> Bound<'py, PyArray3<f64>> {
    let mut flat = Vec::with_capacity(est.len() * 4 * k);
    for e in est {
        for m in [&e.pass, &e.majority, &e.weighted, &e.best_of] {
            if m.is_empty() {
                flat.extend(std::iter::repeat_n(f64::NAN, k));
            } else {
                flat.extend_from_slice(m);
            }
        }
    }
    let arr = numpy::ndarray::Array3::from_shape_vec((est.len(), 4, k), flat)
        .unwrap_or_else(|_| numpy::ndarray::Array3::from_elem((est.len(), 4, k), f64::NAN));
    PyArray3::from_owned_array(py, arr)
}

/// The scaling estimators from per-problem classes and correctness.
#[pyfunction]
#[pyo3(signature = (class_of, class_correct, sample_correct, scores, *, ks, subsets, seed, first_index = 0, num_threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn estimate<'py>(
    py: Python<'py>,
    class_of: Vec<PyReadonlyArray1<'py, i32>>,
    class_correct: Vec<PyReadonlyArray1<'py, bool>>,
    sample_correct: Vec<PyReadonlyArray1<'py, bool>>,
    scores: Option<Vec<PyReadonlyArray1<'py, f64>>>,
    ks: Vec<usize>,
    subsets: usize,
    seed: u64,
    first_index: u64,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    estimators::check_ks(&ks).map_err(to_py)?;
    let threads = crate::convert::num_threads(num_threads)?;
    let n = class_of.len();
    if class_correct.len() != n
        || sample_correct.len() != n
        || scores.as_ref().is_some_and(|s| s.len() != n)
    {
        return Err(PyValueError::new_err(
            "class_of, class_correct, sample_correct (and scores) must have one entry per problem",
        ));
    }
    let mut owned = Vec::with_capacity(n);
    for i in 0..n {
        let cls: Vec<Option<u32>> = class_of[i]
            .as_array()
            .iter()
            .map(|&c| u32::try_from(c).ok())
            .collect();
        let cc = class_correct[i].as_array().to_vec();
        let sc = sample_correct[i].as_array().to_vec();
        let s = scores.as_ref().map(|s| s[i].as_array().to_vec());
        if sc.len() != cls.len() {
            return Err(PyValueError::new_err(format!(
                "problem {i}: sample_correct has {} entries for {} samples",
                sc.len(),
                cls.len()
            )));
        }
        if let Some(bad) = cls.iter().flatten().find(|&&c| c as usize >= cc.len()) {
            return Err(PyValueError::new_err(format!(
                "problem {i}: class {bad} but class_correct has {} classes",
                cc.len()
            )));
        }
        if let Some(s) = &s {
            rlv_core::votes::check_scores(s, cls.len())
                .map_err(|e| PyValueError::new_err(format!("problem {i}: {e}")))?;
        }
        owned.push((cls, cc, sc, s));
    }
    let k = ks.len();
    let est = detached(py, "estimating", || {
        let problems: Vec<ProblemSamples<'_>> = owned
            .iter()
            .map(|(c, cc, sc, s)| ProblemSamples {
                class_of: c,
                class_correct: cc,
                sample_correct: sc,
                scores: s.as_deref(),
            })
            .collect();
        estimators::estimate_batch(&problems, &ks, subsets, seed, first_index, threads)
    })?
    .map_err(to_py)?;
    let refs: Vec<&Estimates> = est.iter().collect();
    Ok(estimates_array(py, &refs, k))
}
