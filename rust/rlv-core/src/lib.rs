//! rlv-core: the pure-Rust core of rlv (no pyo3).
//!
//! * [`advantages`]: sequence-level advantage estimators (GRPO / Dr. GRPO, RLOO,
//!   REINFORCE++-baseline) over ragged groups, with NaN rewards as unscorable samples.
//! * [`grading`]: final-answer extraction and math-equivalence checking, bounded by a work
//!   budget so that no input can hang, panic or need a signal.
//! * [`votes`]: answer classes by math equivalence and votes over a problem's samples.
//! * [`estimators`]: the test-time-scaling estimators (pass@k, Best-of-k, majority@k,
//!   weighted@k).
//! * [`lengths`]: length selection by verifier confidence (sequential + parallel scaling).
//! * [`rescore`]: streaming rescoring of `rlv sample` dumps (grade, cluster, vote, estimate).
//! * [`parallel`]: the dedicated thread pool used by batch APIs (results never depend on the
//!   thread count).

pub mod advantages;
pub mod error;
pub mod estimators;
pub mod grading;
pub mod lengths;
pub mod parallel;
pub mod rescore;
pub mod votes;

pub use error::{Error, Result};
