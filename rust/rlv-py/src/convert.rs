//! Conversions at the Python edge: strings (lossy, never failing on lone surrogates),
//! string sequences, and thread counts. Grading options: [`crate::grading::GradeOptions`].

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::errors::to_py;

/// Read a Python `str` as UTF-8. Lone surrogates (e.g. `"\ud800"`), which have no UTF-8
/// form, become one U+FFFD each, so that such input still gets a status instead of an
/// exception.
pub fn lossy<'a>(s: &'a Bound<'_, PyString>) -> Cow<'a, str> {
    match s.to_cow() {
        Ok(c) => c,
        Err(_) => Cow::Owned(surrogates_replaced(s)),
    }
}

/// Slow path of [`lossy`]: round-trip through UTF-16 so that each unpaired surrogate maps to
/// exactly one replacement character (a UTF-8 round-trip would give three).
fn surrogates_replaced(s: &Bound<'_, PyString>) -> String {
    let utf16 = s
        .call_method1("encode", ("utf-16-le", "surrogatepass"))
        .and_then(|b| b.cast_into::<PyBytes>().map_err(PyErr::from));
    match utf16 {
        Ok(bytes) => {
            let units: Vec<u16> = bytes
                .as_bytes()
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        Err(_) => s.to_string_lossy().into_owned(),
    }
}

fn item_to_string(item: &Bound<'_, PyAny>, name: &str, i: usize) -> PyResult<String> {
    match item.cast::<PyString>() {
        Ok(s) => Ok(lossy(s).into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name}[{i}] must be str, not {}",
            item.get_type().name()?
        ))),
    }
}

/// Copy a list/tuple/iterable of `str` into owned Rust strings (GIL held).
pub fn string_vec(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not a single str"
        )));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            out.push(item_to_string(&item, name, i)?);
        }
        return Ok(out);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        let mut out = Vec::with_capacity(tuple.len());
        for (i, item) in tuple.iter().enumerate() {
            out.push(item_to_string(&item, name, i)?);
        }
        return Ok(out);
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not {}",
            obj.get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))
    })?;
    let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        out.push(item_to_string(&item?, name, i)?);
    }
    Ok(out)
}

/// `None` (default thread count) or a positive integer.
pub fn num_threads(n: Option<usize>) -> PyResult<Option<usize>> {
    match n {
        Some(0) => Err(to_py(rlv_core::Error::InvalidOption {
            option: "num_threads",
            value: "0".to_string(),
            allowed: "None or an integer >= 1",
        })),
        other => Ok(other),
    }
}
