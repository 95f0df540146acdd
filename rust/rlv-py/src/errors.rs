//! The Python exception tree of rlv and the one mapping from core errors to Python.
//!
//! Outcomes (no answer, unparseable, budget exceeded, ...) are statuses, never exceptions;
//! only misuse and internal failures raise.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::PyErr;

create_exception!(
    rlv.exceptions,
    RlvError,
    PyException,
    "Base class of every exception raised by rlv itself (not for bad arguments, which raise \
     ValueError / TypeError)."
);

create_exception!(
    rlv.exceptions,
    InternalError,
    RlvError,
    "A bug in rlv: the Rust core panicked. Please report the input that triggered it."
);

create_exception!(
    rlv.exceptions,
    DumpError,
    RlvError,
    "A row of a sample dump is malformed: the message names the file, the line and the field."
);

/// Newtype so that `?` converts core errors in binding code (orphan rule).
pub struct CoreError(pub rlv_core::Error);

impl From<rlv_core::Error> for CoreError {
    fn from(e: rlv_core::Error) -> Self {
        Self(e)
    }
}

impl From<CoreError> for PyErr {
    fn from(CoreError(e): CoreError) -> Self {
        let msg = e.to_string();
        // Exhaustive on purpose: a new core variant must get its Python type here.
        match e {
            rlv_core::Error::LengthMismatch { .. }
            | rlv_core::Error::InvalidOption { .. }
            | rlv_core::Error::InvalidGroups(_)
            | rlv_core::Error::InvalidValue { .. } => PyValueError::new_err(msg),
            rlv_core::Error::Dump { .. } => DumpError::new_err(msg),
            rlv_core::Error::Io { .. } => PyOSError::new_err(msg),
            rlv_core::Error::ThreadPool(_) => RlvError::new_err(msg),
        }
    }
}

/// Map a core error to a Python exception.
pub fn to_py(e: rlv_core::Error) -> PyErr {
    CoreError(e).into()
}

/// Turn a caught panic payload into [`InternalError`].
pub fn panic_to_py(payload: &(dyn std::any::Any + Send), context: &str) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    InternalError::new_err(format!("rlv core panicked while {context}: {what}"))
}
