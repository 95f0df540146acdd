//! `rlv._core`: the thin pyo3 binding of `rlv-core`.
//!
//! No algorithms live here: only argument conversion, the GIL policy (see [`run`]) and the
//! mapping of core errors to Python exceptions (see [`errors`]). Users import the public API
//! from the `rlv` Python package, never from `rlv._core` directly.

mod advantages;
mod convert;
mod errors;
mod estimators;
mod grading;
mod lengths;
mod rescore;
mod run;
mod votes;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _core {
    #[pymodule_export]
    use crate::advantages::{grpo_advantages, reinforce_pp_baseline_advantages, rloo_advantages};
    #[pymodule_export]
    use crate::errors::{DumpError, InternalError, RlvError};
    #[pymodule_export]
    use crate::estimators::estimate;
    #[pymodule_export]
    use crate::grading::{
        extract_answer, extract_choice, grade, grade_batch, is_equiv, status_names, GradeOptions,
    };
    #[pymodule_export]
    use crate::lengths::length_select;
    #[pymodule_export]
    use crate::rescore::{RescoreBatch, RescoreTotals, Rescorer};
    #[pymodule_export]
    use crate::votes::{vote, vote_batch};

    use super::{Bound, PyModule, PyModuleMethods, PyResult};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add(
            "build_profile",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        )?;
        m.add("DEFAULT_FUEL", rlv_core::grading::budget::DEFAULT_FUEL)?;
        m.add("CHUNK_SIZE", crate::run::CHUNK)?;
        Ok(())
    }
}
