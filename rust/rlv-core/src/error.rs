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
    /// Group ids or sizes that cannot describe the samples (negative sizes, sizes that do not
    /// add up to the number of samples, a group size that does not divide it).
    #[error("invalid groups: {0}")]
    InvalidGroups(String),
    /// An input value outside its allowed range (e.g. an infinite reward).
    #[error("{name}[{index}] is {value}; expected {expected}")]
    InvalidValue {
        name: &'static str,
        index: usize,
        value: String,
        expected: &'static str,
    },
    /// A row of a sample dump is malformed (bad JSON, a missing field, a score outside
    /// [0, 1], lists of different lengths, an unreadable gold, ...). `line` is 1-based.
    /// `line` 0: the file as a whole (e.g. an empty file).
    #[error("{file}:{}{}{message}", if *line > 0 { format!("{line}: ") } else { " ".to_string() }, field.as_ref().map(|f| format!("field {f:?}: ")).unwrap_or_default())]
    Dump {
        file: String,
        line: u64,
        field: Option<String>,
        message: String,
    },
    /// A dump could not be opened or read.
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    /// The thread pool could not be built.
    #[error("could not build the thread pool: {0}")]
    ThreadPool(String),
}

pub type Result<T> = std::result::Result<T, Error>;
