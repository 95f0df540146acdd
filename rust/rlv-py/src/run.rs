//! The single "enter Rust" helper: release the GIL, compute, catch panics, check signals.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

use crate::errors::{panic_to_py, to_py};

/// Items per GIL-released chunk. Between chunks the GIL is re-acquired briefly so that
/// Ctrl-C (`KeyboardInterrupt`) is delivered promptly.
pub const CHUNK: usize = 16_384;

/// Run `f` with the GIL released, converting a panic into `rlv.exceptions.InternalError`.
///
/// `f` must only touch owned Rust data (never `Bound`/`Py` values).
pub fn detached<T, F>(py: Python<'_>, context: &str, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|p| panic_to_py(p.as_ref(), context))
}

/// Run `f` without releasing the GIL (tiny work), converting a panic as [`detached`] does.
pub fn attached<T, F>(context: &str, f: F) -> PyResult<T>
where
    F: FnOnce() -> T,
{
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_to_py(p.as_ref(), context))
}

/// Process `0..len` in chunks of [`CHUNK`]: each chunk runs with the GIL released, and
/// `py.check_signals()` runs between chunks. `f` gets the index range of its chunk and
/// appends its results to the output.
pub fn chunked<T, F>(py: Python<'_>, len: usize, context: &str, f: F) -> PyResult<Vec<T>>
where
    T: Send,
    F: Fn(Range<usize>) -> rlv_core::Result<Vec<T>> + Send + Sync,
{
    let mut out = Vec::with_capacity(len);
    let mut start = 0;
    loop {
        let end = (start + CHUNK).min(len);
        let part = detached(py, context, || f(start..end))?.map_err(to_py)?;
        out.extend(part);
        if end >= len {
            return Ok(out);
        }
        start = end;
        py.check_signals()?;
    }
}
