//! Advantage bindings: numpy float32/float64 rewards in, an array of the same dtype out.
//!
//! Each function is "index the groups in place (GIL held) -> copy the rewards to an owned
//! buffer -> run the core on the index (GIL released for large batches) -> return the output
//! array". The owned buffers (and the core's scratch space)
//! are kept between calls in one process-wide [`Scratch`]: on a 1M-reward batch the page
//! faults of fresh buffers cost more than the arithmetic. Torch tensors, dtype conversion and
//! the choice of backend are handled by the Python wrapper `rlv.advantages`.

use std::sync::{Mutex, OnceLock, TryLockError};

use numpy::{
    Element, PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use rlv_core::advantages::{self as core, Groups, Real, Scale, Stats, Workspace};

use crate::errors::to_py;
use crate::run::{attached, detached};

/// Batches with more rewards than this run with the GIL released (1M rewards take a few ms;
/// 50k take about a hundred microseconds, where releasing starts to pay off).
const DETACH_LEN: usize = 50_000;

/// Scratch kept between calls is dropped when it exceeds this many bytes (a batch of about
/// 5M rewards), so that one huge call does not pin its memory for the process lifetime.
const KEEP_BYTES: usize = 256 << 20;

/// `(n_groups, n_unscorable, n_singleton_groups, n_zero_variance_groups, n_empty_groups)`.
type StatsTuple = (usize, usize, usize, usize, usize);

fn stats_tuple(s: Stats) -> StatsTuple {
    (
        s.n_groups,
        s.n_unscorable,
        s.n_singleton_groups,
        s.n_zero_variance_groups,
        s.n_empty_groups,
    )
}

/// Owned copies of the inputs and the core's workspace, reused across calls.
#[derive(Default)]
struct Scratch {
    ws: Workspace,
    r32: Vec<f32>,
    r64: Vec<f64>,
    ids: Vec<i64>,
    weights: Vec<f64>,
}

impl Scratch {
    fn bytes(&self) -> usize {
        self.ws.capacity_bytes()
            + self.r32.capacity() * 4
            + (self.r64.capacity() + self.ids.capacity() + self.weights.capacity()) * 8
    }
}

/// Run `f` with the shared scratch, or with a fresh one if another thread is using it.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    static SCRATCH: OnceLock<Mutex<Scratch>> = OnceLock::new();
    let pool = SCRATCH.get_or_init(|| Mutex::new(Scratch::default()));
    let mut guard = match pool.try_lock() {
        Ok(g) => g,
        // Every buffer is overwritten before use, so a panic mid-call leaves nothing stale.
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return f(&mut Scratch::default()),
    };
    let out = f(&mut guard);
    if guard.bytes() > KEEP_BYTES {
        *guard = Scratch::default();
    }
    out
}

/// Copy a 1-D array (contiguous or not) into `buf` (cleared first).
fn copy_into<T: Element + Copy>(a: &PyReadonlyArray1<'_, T>, buf: &mut Vec<T>) {
    buf.clear();
    match a.as_slice() {
        Ok(s) => buf.extend_from_slice(s),
        Err(_) => buf.extend(a.as_array().iter().copied()),
    }
}

fn describe(obj: &Bound<'_, PyAny>) -> String {
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        let dtype = a
            .dtype()
            .str()
            .map_or_else(|_| "?".to_string(), |s| s.to_string());
        return format!("a {}-D array of dtype {dtype}", a.ndim());
    }
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

fn int_array<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<PyReadonlyArray1<'py, i64>> {
    obj.extract::<PyReadonlyArray1<'py, i64>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a 1-D numpy array of int64, not {}",
            describe(obj)
        ))
    })
}

/// The group description as given (indexed in place by [`GroupArg::index`]).
enum GroupArg<'py> {
    Ids(PyReadonlyArray1<'py, i64>),
    Sizes(PyReadonlyArray1<'py, i64>),
    Uniform(usize),
}

impl<'py> GroupArg<'py> {
    fn extract(
        groups: Option<&Bound<'py, PyAny>>,
        sizes: Option<&Bound<'py, PyAny>>,
        group_size: Option<usize>,
    ) -> PyResult<Self> {
        match (groups, sizes, group_size) {
            (Some(g), None, None) => Ok(Self::Ids(int_array(g, "groups")?)),
            (None, Some(s), None) => Ok(Self::Sizes(int_array(s, "sizes")?)),
            (None, None, Some(n)) => Ok(Self::Uniform(n)),
            _ => Err(PyValueError::new_err(
                "give exactly one of groups (ids), sizes or group_size",
            )),
        }
    }
}

impl GroupArg<'_> {
    /// Index the groups into `ws` for `n` samples, reading contiguous ids or sizes in place
    /// (the GIL is held: no Python code can resize or free the array meanwhile) and copying
    /// strided ones into `buf` first. This saves the copy of the ids: the only step of an
    /// estimator that reads them runs here, and the rest uses the index.
    fn index(&self, ws: &mut Workspace, n: usize, buf: &mut Vec<i64>) -> PyResult<()> {
        let groups = match self {
            Self::Ids(a) => Groups::Ids(contiguous(a, buf)),
            Self::Sizes(a) => Groups::Sizes(contiguous(a, buf)),
            Self::Uniform(size) => Groups::Uniform(*size),
        };
        ws.index_groups(groups, n).map_err(to_py)
    }
}

/// The array's data if it is contiguous, else a copy of it in `buf`.
fn contiguous<'a>(a: &'a PyReadonlyArray1<'_, i64>, buf: &'a mut Vec<i64>) -> &'a [i64] {
    match a.as_slice() {
        Ok(s) => s,
        Err(_) => {
            copy_into(a, buf);
            buf
        }
    }
}

/// Which estimator to run, with its options.
#[derive(Clone, Copy)]
enum Estimator {
    Grpo { scale: Scale, eps: f64 },
    Rloo,
    ReinforcePp { weighted: bool, eps: f64 },
}

/// The float types of the binding: which scratch buffer holds the rewards.
trait Float: Real + Element {
    fn buffer<'a>(r32: &'a mut Vec<f32>, r64: &'a mut Vec<f64>) -> &'a mut Vec<Self>;
}

impl Float for f32 {
    fn buffer<'a>(r32: &'a mut Vec<f32>, _: &'a mut Vec<f64>) -> &'a mut Vec<f32> {
        r32
    }
}

impl Float for f64 {
    fn buffer<'a>(_: &'a mut Vec<f32>, r64: &'a mut Vec<f64>) -> &'a mut Vec<f64> {
        r64
    }
}

/// Index the groups (in place, GIL held), copy the rewards and weights into the scratch,
/// allocate the output array (numpy's allocator), run the estimator (GIL released for large
/// batches) and return `(advantages, stats)`.
fn compute<'py, T: Float>(
    py: Python<'py>,
    rewards: &PyReadonlyArray1<'py, T>,
    groups: &GroupArg<'py>,
    weights: Option<&PyReadonlyArray1<'py, f64>>,
    est: Estimator,
) -> PyResult<(Bound<'py, PyAny>, StatsTuple)> {
    let n = rewards.len();
    let out = PyArray1::<T>::zeros(py, n, false);
    let stats = with_scratch(|sc| {
        let Scratch {
            ws,
            r32,
            r64,
            ids,
            weights: wbuf,
        } = sc;
        groups.index(ws, n, ids)?;
        let r = T::buffer(r32, r64);
        copy_into(rewards, r);
        if let Some(w) = weights {
            copy_into(w, wbuf);
        }
        let mut rw = out.readwrite();
        let dst = rw
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (r, wbuf) = (&r[..], &wbuf[..]);
        let work = move || {
            let g = Groups::Indexed;
            match est {
                Estimator::Grpo { scale, eps } => core::grpo_into(ws, r, g, scale, eps, dst),
                Estimator::Rloo => core::rloo_into(ws, r, g, dst),
                Estimator::ReinforcePp { weighted, eps } => {
                    let w = weighted.then_some(wbuf);
                    core::reinforce_pp_baseline_into(ws, r, g, w, eps, dst)
                }
            }
        };
        let context = "computing advantages";
        if n > DETACH_LEN {
            detached(py, context, work)?
        } else {
            attached(context, work)?
        }
        .map_err(to_py)
    })?;
    Ok((out.into_any(), stats_tuple(stats)))
}

/// Dispatch on the rewards' dtype.
fn run<'py>(
    py: Python<'py>,
    rewards: &Bound<'py, PyAny>,
    groups: &GroupArg<'py>,
    weights: Option<&PyReadonlyArray1<'py, f64>>,
    est: Estimator,
) -> PyResult<(Bound<'py, PyAny>, StatsTuple)> {
    if let Ok(a) = rewards.extract::<PyReadonlyArray1<'py, f64>>() {
        return compute(py, &a, groups, weights, est);
    }
    if let Ok(a) = rewards.extract::<PyReadonlyArray1<'py, f32>>() {
        return compute(py, &a, groups, weights, est);
    }
    Err(PyTypeError::new_err(format!(
        "rewards must be a 1-D numpy array of float32 or float64, not {}",
        describe(rewards)
    )))
}

/// GRPO advantages (`scale`: `"group"`, `"batch"` or `"none"` = Dr. GRPO).
#[pyfunction]
#[pyo3(signature = (rewards, *, groups = None, sizes = None, group_size = None, scale = "group", eps = 1e-6))]
pub fn grpo_advantages<'py>(
    py: Python<'py>,
    rewards: &Bound<'py, PyAny>,
    groups: Option<&Bound<'py, PyAny>>,
    sizes: Option<&Bound<'py, PyAny>>,
    group_size: Option<usize>,
    scale: &str,
    eps: f64,
) -> PyResult<(Bound<'py, PyAny>, StatsTuple)> {
    let scale = Scale::parse(scale).map_err(to_py)?;
    let groups = GroupArg::extract(groups, sizes, group_size)?;
    run(py, rewards, &groups, None, Estimator::Grpo { scale, eps })
}

/// RLOO (leave-one-out) advantages.
#[pyfunction]
#[pyo3(signature = (rewards, *, groups = None, sizes = None, group_size = None))]
pub fn rloo_advantages<'py>(
    py: Python<'py>,
    rewards: &Bound<'py, PyAny>,
    groups: Option<&Bound<'py, PyAny>>,
    sizes: Option<&Bound<'py, PyAny>>,
    group_size: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, StatsTuple)> {
    let groups = GroupArg::extract(groups, sizes, group_size)?;
    run(py, rewards, &groups, None, Estimator::Rloo)
}

/// REINFORCE++-baseline advantages (group mean baseline, then batch whitening).
#[pyfunction]
#[pyo3(signature = (rewards, *, groups = None, sizes = None, group_size = None, weights = None, eps = 1e-8))]
pub fn reinforce_pp_baseline_advantages<'py>(
    py: Python<'py>,
    rewards: &Bound<'py, PyAny>,
    groups: Option<&Bound<'py, PyAny>>,
    sizes: Option<&Bound<'py, PyAny>>,
    group_size: Option<usize>,
    weights: Option<&Bound<'py, PyAny>>,
    eps: f64,
) -> PyResult<(Bound<'py, PyAny>, StatsTuple)> {
    let groups = GroupArg::extract(groups, sizes, group_size)?;
    let weights = match weights {
        None => None,
        Some(w) => Some(w.extract::<PyReadonlyArray1<'py, f64>>().map_err(|_| {
            PyTypeError::new_err(format!(
                "weights must be a 1-D numpy array of float64, not {}",
                describe(w)
            ))
        })?),
    };
    let est = Estimator::ReinforcePp {
        weighted: weights.is_some(),
        eps,
    };
    run(py, rewards, &groups, weights.as_ref(), est)
}
