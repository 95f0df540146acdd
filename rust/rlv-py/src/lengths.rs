//! Length-selection bindings (`rlv.scaling.lengths`): convert, release the GIL, convert back.

use numpy::ndarray::{Array2, Array3, Array4};
use numpy::{PyArray2, PyArray3, PyArray4, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rlv_core::lengths::{self, BudgetPool, Confidence, LengthEstimates, LengthProblem, Settings};

use crate::errors::to_py;
use crate::run::detached;

/// One problem's arrays, owned (`[budget][sample]`).
struct Owned {
    class_of: Vec<Vec<Option<u32>>>,
    class_correct: Vec<Vec<bool>>,
    sample_correct: Vec<Vec<bool>>,
    scores: Vec<Vec<f64>>,
    cut: Vec<Vec<u64>>,
    forced: Vec<Vec<u64>>,
}

fn rows<T: Copy + numpy::Element>(a: &PyReadonlyArray2<'_, T>) -> Vec<Vec<T>> {
    a.as_array()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect()
}

type Out<'py> = (
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray2<bool>>,
    Bound<'py, PyArray4<f64>>,
    Bound<'py, PyArray3<f64>>,
);

/// Length selection by verifier confidence over many problems (see `rlv_core::lengths`).
#[pyfunction]
#[pyo3(signature = (budgets, class_of, class_correct, sample_correct, scores, cut, forced, verify_tokens, *, ks, taus, subsets, seed, confidence = "share", first_index = 0, num_threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn length_select<'py>(
    py: Python<'py>,
    budgets: Vec<u64>,
    class_of: Vec<PyReadonlyArray2<'py, i32>>,
    class_correct: Vec<Vec<PyReadonlyArray1<'py, bool>>>,
    sample_correct: Vec<PyReadonlyArray2<'py, bool>>,
    scores: Vec<PyReadonlyArray2<'py, f64>>,
    cut: Vec<PyReadonlyArray2<'py, u64>>,
    forced: Vec<PyReadonlyArray2<'py, u64>>,
    verify_tokens: Vec<u64>,
    ks: Vec<usize>,
    taus: Vec<f64>,
    subsets: usize,
    seed: u64,
    confidence: &str,
    first_index: u64,
    num_threads: Option<usize>,
) -> PyResult<Out<'py>> {
    let settings = Settings {
        ks,
        taus,
        subsets,
        seed,
        confidence: Confidence::parse(confidence).map_err(to_py)?,
    };
    lengths::check_settings(&settings).map_err(to_py)?;
    let threads = crate::convert::num_threads(num_threads)?;
    let n = class_of.len();
    if [
        class_correct.len(),
        sample_correct.len(),
        scores.len(),
        cut.len(),
        forced.len(),
        verify_tokens.len(),
    ]
    .iter()
    .any(|&l| l != n)
    {
        return Err(PyValueError::new_err(
            "class_of, class_correct, sample_correct, scores, cut, forced and verify_tokens \
             must have one entry per problem",
        ));
    }
    let mut owned = Vec::with_capacity(n);
    for i in 0..n {
        owned.push(Owned {
            class_of: class_of[i]
                .as_array()
                .rows()
                .into_iter()
                .map(|r| r.iter().map(|&c| u32::try_from(c).ok()).collect())
                .collect(),
            class_correct: class_correct[i]
                .iter()
                .map(|a| a.as_array().to_vec())
                .collect(),
            sample_correct: rows(&sample_correct[i]),
            scores: rows(&scores[i]),
            cut: rows(&cut[i]),
            forced: rows(&forced[i]),
        });
    }
    let m = budgets.len();
    let problems: Vec<LengthProblem<'_>> = owned
        .iter()
        .zip(&verify_tokens)
        .map(|(o, &v)| LengthProblem {
            budgets: &budgets,
            pools: (0..o.class_of.len())
                .map(|j| BudgetPool {
                    class_of: &o.class_of[j],
                    class_correct: o.class_correct.get(j).map_or(&[], |c| &c[..]),
                    sample_correct: o.sample_correct.get(j).map_or(&[], |c| &c[..]),
                    scores: o.scores.get(j).map_or(&[], |c| &c[..]),
                    cut: o.cut.get(j).map_or(&[], |c| &c[..]),
                    forced: o.forced.get(j).map_or(&[], |c| &c[..]),
                })
                .collect(),
            verify_tokens: v,
        })
        .collect();
    for (i, p) in problems.iter().enumerate() {
        if p.pools.len() != m
            || [
                owned[i].class_correct.len(),
                owned[i].sample_correct.len(),
                owned[i].scores.len(),
                owned[i].cut.len(),
                owned[i].forced.len(),
            ]
            .iter()
            .any(|&l| l != m)
        {
            return Err(PyValueError::new_err(format!(
                "problem {i}: every array needs one row per budget ({m})"
            )));
        }
        lengths::check_problem(p)
            .map_err(|e| PyValueError::new_err(format!("problem {i}: {e}")))?;
    }
    let est = detached(py, "selecting lengths", || {
        lengths::select_batch(&problems, &settings, first_index, threads)
    })?
    .map_err(to_py)?;
    Ok(arrays(py, &est, m, settings.ks.len(), settings.taus.len()))
}

fn arrays<'py>(py: Python<'py>, est: &[LengthEstimates], m: usize, k: usize, t: usize) -> Out<'py> {
    let p = est.len();
    let grid = |f: fn(&LengthEstimates) -> &Vec<Vec<f64>>| {
        let flat: Vec<f64> = est
            .iter()
            .flat_map(|e| f(e).iter().flatten().copied())
            .collect();
        let a = Array3::from_shape_vec((p, k, t), flat)
            .unwrap_or_else(|_| Array3::from_elem((p, k, t), f64::NAN));
        PyArray3::from_owned_array(py, a)
    };
    let exact: Vec<bool> = est.iter().flat_map(|e| e.exact.iter().copied()).collect();
    let exact =
        Array2::from_shape_vec((p, k), exact).unwrap_or_else(|_| Array2::from_elem((p, k), false));
    let mut fixed = Vec::with_capacity(p * m * 4 * k);
    let mut tokens = Vec::with_capacity(p * m * 2);
    for e in est {
        for (j, f) in e.fixed.iter().enumerate() {
            for v in [&f.pass, &f.majority, &f.weighted, &f.best_of] {
                fixed.extend_from_slice(v);
            }
            tokens.push(e.fixed_tokens_majority[j]);
            tokens.push(e.fixed_tokens_weighted[j]);
        }
    }
    let fixed = Array4::from_shape_vec((p, m, 4, k), fixed)
        .unwrap_or_else(|_| Array4::from_elem((p, m, 4, k), f64::NAN));
    let tokens = Array3::from_shape_vec((p, m, 2), tokens)
        .unwrap_or_else(|_| Array3::from_elem((p, m, 2), f64::NAN));
    (
        grid(|e| &e.accuracy),
        grid(|e| &e.accuracy_var),
        grid(|e| &e.tokens),
        grid(|e| &e.stop_budget),
        PyArray2::from_owned_array(py, exact),
        PyArray4::from_owned_array(py, fixed),
        PyArray3::from_owned_array(py, tokens),
    )
}
