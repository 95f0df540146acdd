//! Errors are misuse (bad options, mismatched lengths), never outcomes: an unparseable answer
//! is a [`crate::grading::Status`], not an error.

/// Everything that can go wrong when rlv-core is called incorrectly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two parallel inputs have different lengths.
    #[error("{left_name} has length {left}, but {right_name} has length {right}")]
    LengthMismatch {
        left_name: &'static str,
        left: usize,
        right_name: &'static str,
        right: usize,
    },
    /// An option has a value outside its allowed set.
    #[error("invalid value {value:?} for option {option}; allowed: {allowed}")]
    InvalidOption {
        option: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// The thread pool could not be built.
    #[error("could not build the thread pool: {0}")]
    ThreadPool(String),
}

pub type Result<T> = std::result::Result<T, Error>;
