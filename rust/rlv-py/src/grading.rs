//! Grading bindings: each function is "extract arguments -> run core -> build outputs", and
//! [`GradeOptions`], the grading options validated once, when built.

use std::hash::{Hash, Hasher};

use numpy::PyArray1;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use rlv_core::grading::{self as core, Mode, PercentPolicy, Status};

use crate::convert::{lossy, string_vec};
use crate::run::{attached, chunked, detached};

/// Inputs longer than this (bytes) are graded with the GIL released.
const DETACH_BYTES: usize = 2048;

/// The grading options and what each accepts, in the words of the one error text per option
/// (Python notation: the values are given from Python).
const OPTIONS: [(&str, &str); 8] = [
    ("mode", "'lenient', 'strict'"),
    ("ordered_lists", "True or False"),
    ("percent", "'strip', 'value', 'either'"),
    ("interval_inequality", "True or False"),
    ("strict_vars", "True or False"),
    ("min_decimals", "None or an integer in 0..64"),
    ("rel_tol", "a finite number >= 0"),
    ("fuel", "an integer in [1, 2**64-1]"),
];

/// Why an option value was refused: its type (`TypeError`) or its value (`ValueError`).
#[derive(Clone, Copy)]
enum Bad {
    Type,
    Value,
}

/// The one error text of `option`: `invalid value <repr> for option <name>; allowed: ...`.
fn bad_option(bad: Bad, option: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let allowed = OPTIONS
        .iter()
        .find(|(name, _)| *name == option)
        .map_or("", |(_, allowed)| allowed);
    let repr = value
        .repr()
        .map_or_else(|_| "<unprintable>".to_string(), |r| r.to_string());
    let msg = format!("invalid value {repr} for option {option}; allowed: {allowed}");
    match bad {
        Bad::Type => PyTypeError::new_err(msg),
        Bad::Value => PyValueError::new_err(msg),
    }
}

/// A `str` option (`mode`, `percent`): anything else is a bad value, as a wrong string is.
fn str_option<T>(
    option: &str,
    value: &Bound<'_, PyAny>,
    parse: fn(&str) -> rlv_core::Result<T>,
) -> PyResult<T> {
    value
        .cast::<PyString>()
        .ok()
        .and_then(|s| s.to_str().ok().and_then(|s| parse(s).ok()))
        .ok_or_else(|| bad_option(Bad::Value, option, value))
}

/// A `bool` option (`bool` or `numpy.bool_`; an `int` is refused).
fn bool_option(option: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    value
        .extract::<bool>()
        .map_err(|_| bad_option(Bad::Type, option, value))
}

/// An integer option (`int` or a numpy integer; `bool` is refused): out of `u64` range is a
/// bad value.
fn u64_option(option: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<PyBool>() {
        return Err(bad_option(Bad::Type, option, value));
    }
    let index = if value.is_instance_of::<PyInt>() {
        value.clone()
    } else {
        value
            .call_method0(pyo3::intern!(value.py(), "__index__"))
            .map_err(|_| bad_option(Bad::Type, option, value))?
    };
    index
        .extract::<u64>()
        .map_err(|_| bad_option(Bad::Value, option, value))
}

/// A real-number option (`float`, `int`, numpy floats; `bool` and strings are refused).
fn f64_option(option: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<PyBool>() || value.is_instance_of::<PyString>() {
        return Err(bad_option(Bad::Type, option, value));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(f.value());
    }
    let bad = if value.is_instance_of::<PyInt>() {
        Bad::Value // too large for a float
    } else {
        Bad::Type
    };
    value
        .extract::<f64>()
        .map_err(|_| bad_option(bad, option, value))
}

/// Set one option from its Python value, validated: the type here, the range by the core's
/// [`core::GradeOptions::check`] (every other field is already valid, so a failure is this
/// option's).
fn set_option(opts: &mut core::GradeOptions, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    match key {
        "mode" => opts.mode = str_option(key, value, Mode::parse)?,
        "ordered_lists" => opts.ordered_lists = bool_option(key, value)?,
        "percent" => opts.percent = str_option(key, value, PercentPolicy::parse)?,
        "interval_inequality" => opts.interval_inequality = bool_option(key, value)?,
        "strict_vars" => opts.strict_vars = bool_option(key, value)?,
        "min_decimals" => {
            opts.min_decimals = if value.is_none() {
                None
            } else {
                let n = u64_option(key, value)?;
                Some(u32::try_from(n).map_err(|_| bad_option(Bad::Value, key, value))?)
            }
        }
        "rel_tol" => opts.rel_tol = f64_option(key, value)?,
        "fuel" => opts.fuel = u64_option(key, value)?,
        other => {
            let names: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
            let name = PyString::new(value.py(), other).repr()?;
            return Err(PyTypeError::new_err(format!(
                "unexpected option {name}; allowed: {}",
                names.join(", ")
            )));
        }
    }
    opts.check().map_err(|_| bad_option(Bad::Value, key, value))
}

/// Grading options from keyword arguments (defaults: [`core::GradeOptions::default`]).
fn options_from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<core::GradeOptions> {
    let mut opts = core::GradeOptions::default();
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key = key.cast_into::<PyString>().map_err(PyErr::from)?;
            set_option(&mut opts, key.to_str()?, &value)?;
        }
    }
    Ok(opts)
}

/// The options of a call: `options=GradeOptions(...)` as is (validated when it was built),
/// or the keyword options, validated now. Both at once is a `TypeError`.
pub fn resolve_options(
    options: Option<&GradeOptions>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<core::GradeOptions> {
    match (options, kwargs.filter(|k| !k.is_empty())) {
        (Some(o), None) => Ok(o.0.clone()),
        (Some(_), Some(_)) => Err(PyTypeError::new_err(
            "pass either options=GradeOptions(...) or keyword options, not both",
        )),
        (None, kwargs) => options_from_kwargs(kwargs),
    }
}

/// Grading options, validated once when built (one error text per bad option: `TypeError`
/// for a wrong type, `ValueError` for a wrong value). Immutable, hashable, comparable.
#[pyclass(module = "rlv.grading", name = "GradeOptions", frozen)]
pub struct GradeOptions(core::GradeOptions);

#[pymethods]
impl GradeOptions {
    #[new]
    #[pyo3(signature = (**options))]
    fn new(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        options_from_kwargs(options).map(Self)
    }

    #[getter]
    fn mode(&self) -> &'static str {
        self.0.mode.as_str()
    }
    #[getter]
    fn ordered_lists(&self) -> bool {
        self.0.ordered_lists
    }
    #[getter]
    fn percent(&self) -> &'static str {
        self.0.percent.as_str()
    }
    #[getter]
    fn interval_inequality(&self) -> bool {
        self.0.interval_inequality
    }
    #[getter]
    fn strict_vars(&self) -> bool {
        self.0.strict_vars
    }
    #[getter]
    fn min_decimals(&self) -> Option<u32> {
        self.0.min_decimals
    }
    #[getter]
    fn rel_tol(&self) -> f64 {
        self.0.rel_tol
    }
    #[getter]
    fn fuel(&self) -> u64 {
        self.0.fuel
    }

    /// The options as keyword arguments: `GradeOptions(**o.to_dict()) == o`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("mode", self.mode())?;
        d.set_item("ordered_lists", self.0.ordered_lists)?;
        d.set_item("percent", self.percent())?;
        d.set_item("interval_inequality", self.0.interval_inequality)?;
        d.set_item("strict_vars", self.0.strict_vars)?;
        d.set_item("min_decimals", self.0.min_decimals)?;
        d.set_item("rel_tol", self.0.rel_tol)?;
        d.set_item("fuel", self.0.fuel)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::with_capacity(OPTIONS.len());
        for (key, value) in self.to_dict(py)?.iter() {
            parts.push(format!("{}={}", key, value.repr()?));
        }
        Ok(format!("GradeOptions({})", parts.join(", ")))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.0 == other.0
    }

    fn __hash__(&self) -> u64 {
        let o = &self.0;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            o.mode,
            o.ordered_lists,
            o.percent.as_str(),
            o.interval_inequality,
            o.strict_vars,
            o.min_decimals,
            o.rel_tol.to_bits(),
            o.fuel,
        )
            .hash(&mut h);
        h.finish()
    }

    /// Pickling: rebuilt from its keyword arguments.
    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<((), Bound<'py, PyDict>)> {
        Ok(((), self.to_dict(py)?))
    }
}

/// Names of the statuses, indexed by their int8 code.
#[pyfunction]
pub fn status_names() -> Vec<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).collect()
}

/// Extract the final answer of a model output: `(answer, rule)`, both `None` if no answer.
#[pyfunction]
#[pyo3(signature = (text, *, mode = None))]
pub fn extract_answer(
    text: &Bound<'_, PyString>,
    mode: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<String>, Option<&'static str>)> {
    let mode = match mode {
        Some(m) => str_option("mode", m, Mode::parse)?,
        None => Mode::default(),
    };
    let text = lossy(text);
    let ext = attached("extracting an answer", || core::extract_answer(&text, mode))?;
    Ok(match ext {
        Some(e) => (Some(e.span.to_string()), Some(e.rule.as_str())),
        None => (None, None),
    })
}

/// The letter chosen in a multiple-choice answer: `(letter, rule)`, both `None` if none.
#[pyfunction]
#[pyo3(signature = (text, *, choices = "ABCD"))]
pub fn extract_choice(
    text: &Bound<'_, PyString>,
    choices: &str,
) -> PyResult<(Option<String>, Option<&'static str>)> {
    let text = lossy(text);
    let found = attached("extracting a choice", || {
        core::extract_choice(&text, choices)
    })?;
    Ok(match found {
        Some((c, rule)) => (Some(c.to_string()), Some(rule.as_str())),
        None => (None, None),
    })
}

/// Compare two already-extracted answers; returns the status name.
#[pyfunction]
#[pyo3(signature = (a, b, *, options = None, **kwargs))]
pub fn is_equiv(
    py: Python<'_>,
    a: &Bound<'_, PyString>,
    b: &Bound<'_, PyString>,
    options: Option<PyRef<'_, GradeOptions>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<&'static str> {
    let opts = resolve_options(options.as_deref(), kwargs)?;
    let (a, b) = (lossy(a), lossy(b));
    let context = "comparing two answers";
    let status = if a.len() + b.len() > DETACH_BYTES {
        let (a, b) = (a.into_owned(), b.into_owned());
        detached(py, context, move || core::is_equiv(&a, &b, &opts))?
    } else {
        attached(context, || core::is_equiv(&a, &b, &opts))?
    };
    Ok(status.as_str())
}

/// `(status, answer, rule, gold_answer)` as returned to Python.
type VerdictTuple = (
    &'static str,
    Option<String>,
    Option<&'static str>,
    Option<String>,
);

/// Grade one completion: `(status, answer, rule, gold_answer)`.
#[pyfunction]
#[pyo3(signature = (completion, gold, *, options = None, **kwargs))]
pub fn grade(
    py: Python<'_>,
    completion: &Bound<'_, PyString>,
    gold: &Bound<'_, PyString>,
    options: Option<PyRef<'_, GradeOptions>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<VerdictTuple> {
    let opts = resolve_options(options.as_deref(), kwargs)?;
    let (c, g) = (lossy(completion), lossy(gold));
    let context = "grading a completion";
    let v = if c.len() + g.len() > DETACH_BYTES {
        let (c, g) = (c.into_owned(), g.into_owned());
        detached(py, context, move || core::grade(&c, &g, &opts))?
    } else {
        attached(context, || core::grade(&c, &g, &opts))?
    };
    Ok((
        v.status.as_str(),
        v.answer,
        v.rule.map(|r| r.as_str()),
        v.gold_answer,
    ))
}

/// Grade many pairs with the GIL released: `(rewards float32, status codes int8)`.
#[pyfunction]
#[pyo3(signature = (completions, golds, *, num_threads = None, options = None, **kwargs))]
#[allow(clippy::type_complexity)]
pub fn grade_batch<'py>(
    py: Python<'py>,
    completions: &Bound<'py, PyAny>,
    golds: &Bound<'py, PyAny>,
    num_threads: Option<usize>,
    options: Option<PyRef<'py, GradeOptions>>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<i8>>)> {
    let opts = resolve_options(options.as_deref(), kwargs)?;
    let threads = crate::convert::num_threads(num_threads)?;
    // 1. Copy to owned strings while holding the GIL (validates lengths early).
    let completions = string_vec(completions, "completions")?;
    let golds = string_vec(golds, "golds")?;
    if completions.len() != golds.len() {
        return Err(crate::errors::to_py(rlv_core::Error::LengthMismatch {
            left_name: "completions",
            left: completions.len(),
            right_name: "golds",
            right: golds.len(),
        }));
    }
    // 2. Grade chunk by chunk with the GIL released, checking for Ctrl-C in between.
    let statuses = chunked(py, completions.len(), "grading a batch", |r| {
        core::grade_batch_status(&completions[r.clone()], &golds[r], &opts, threads)
    })?;
    // 3. Columnar outputs.
    let rewards: Vec<f32> = statuses.iter().map(|s| s.reward()).collect();
    let codes: Vec<i8> = statuses.iter().map(|s| s.code()).collect();
    Ok((
        PyArray1::from_vec(py, rewards),
        PyArray1::from_vec(py, codes),
    ))
}
