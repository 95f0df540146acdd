//! rlv-core: the pure-Rust core of rlv (no pyo3).
//!
//! * [`advantages`]: sequence-level advantage estimators (GRPO / Dr. GRPO, RLOO,
//!   REINFORCE++-baseline) over ragged groups, with NaN rewards as unscorable samples.
//! * [`grading`]: final-answer extraction and math-equivalence checking, bounded by a work
//!   budget so that no input can hang, panic or need a signal.
//! * [`parallel`]: the dedicated thread pool used by batch APIs (results never depend on the
//!   thread count).

pub mod advantages;
pub mod error;
pub mod grading;
mod id_table;
pub mod parallel;
mod prefetch;

pub use error::{Error, Result};
pub mod dump;
pub mod votes;
