//! Layered equivalence of two answers, cheapest check first:
//!
//! 1. canonical string equality (whitespace, `\left`/`\right`, `\dfrac`, `$`, ... removed);
//! 2. parse both sides; normalise units, percent (per policy), `\pm`, one-element lists;
//! 3. structural comparison of answer structures (tuples ordered, sets unordered by bipartite
//!    matching, intervals by endpoints and openness, equations up to a non-zero factor,
//!    inequalities as intervals);
//! 4. scalars: exact rational arithmetic when both sides are rational; a decimal against an
//!    exact value uses a tolerance tied to the digits written (`0.333` = 1/3, `0.3` != 1/3 as
//!    it has one significant digit); otherwise numeric identity testing (complex f64) at
//!    deterministic pseudo-random points with a relative tolerance.

use std::sync::OnceLock;

use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

use super::budget::{Budget, OutOfFuel};
use super::eval::{const_name, exact, exact_env, exact_small, numeric, Small, SmallQ, C64};
use super::expr::{Const, Expr, Func, RelOp};
use super::mp::{mp_close, mp_is_zero, mp_numeric, mp_ratio, Mc};
use super::parse::{decimal_comma, normalize_text, parse, ParseError};
use super::{GradeOptions, PercentPolicy, Status};

/// Why a comparison could not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    Budget,
}

impl From<OutOfFuel> for Fail {
    fn from(_: OutOfFuel) -> Self {
        Fail::Budget
    }
}

type R<T> = Result<T, Fail>;

/// Remove layout noise so that identical answers compare equal as strings.
#[must_use]
pub fn canonical_string(s: &str) -> String {
    let mut t = s.trim().to_string();
    for (a, b) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\displaystyle", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("\\!", ""),
        ("\\,", ""),
        ("\\;", ""),
        ("\\:", ""),
        ("\\ ", ""),
        ("$", ""),
        ("^{\\circ}", "^\\circ"),
    ] {
        if t.contains(a) {
            t = t.replace(a, b);
        }
    }
    let mut out: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// Compare a gold span and a predicted span.
pub fn compare_spans(gold: &str, pred: &str, opts: &GradeOptions, budget: &mut Budget) -> Status {
    let gc = canonical_string(gold);
    if gc.is_empty() {
        return Status::InvalidGold;
    }
    let pc = canonical_string(pred);
    if pc.is_empty() {
        return Status::Unparseable;
    }
    if gc == pc {
        return Status::Equal;
    }
    let g = match parse(gold, budget) {
        Ok(g) => g,
        Err(ParseError::Budget) => return Status::BudgetExceeded,
        Err(ParseError::Invalid) => return Status::InvalidGold,
    };
    let p = match parse(pred, budget) {
        Ok(p) => p,
        Err(ParseError::Budget) => return Status::BudgetExceeded,
        Err(ParseError::Invalid) => return Status::Unparseable,
    };
    compare_parsed(gold, &g, pred, &p, opts, budget)
}

/// Compare two parsed spans (the raw texts are needed for the decimal-comma retry).
fn compare_parsed(
    gold: &str,
    g: &Expr,
    pred: &str,
    p: &Expr,
    opts: &GradeOptions,
    budget: &mut Budget,
) -> Status {
    let mut r = equal_exprs(g, p, opts, budget);
    // A number written with a decimal comma (`2,74`) against a decimal (`2.74`).
    if r == Ok(false) {
        let alt = if is_decimal_literal(p) {
            decimal_comma(gold)
                .and_then(|s| parse(&s, budget).ok())
                .map(|g2| (g2, p.clone()))
        } else if is_decimal_literal(g) {
            decimal_comma(pred)
                .and_then(|s| parse(&s, budget).ok())
                .map(|p2| (g.clone(), p2))
        } else {
            None
        };
        if let Some((g2, p2)) = alt {
            r = equal_exprs(&g2, &p2, opts, budget);
        }
    }
    match r {
        Ok(true) => Status::Equal,
        Ok(false) => Status::NotEqual,
        Err(Fail::Budget) => Status::BudgetExceeded,
    }
}

/// How a prepared answer may be compared cheaply before the full check.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    /// An exactly written rational value (not a decimal): two different values of this kind
    /// are never equal.
    Exact(BigRational),
    /// A scalar without variables: its value, and how far an equal answer can lie from it
    /// (half a unit in the last written place for decimals, 0 otherwise).
    Scalar { value: C64, slack: f64 },
    /// A relation (`x = 498`, `\gcd(54, 42) = 6`, `x > 3`, `3x + 4y = 0`).
    ///
    /// Against an answer with an [`Key::Exact`] or [`Key::Scalar`] key (a number), a relation
    /// can only be equal through the value it assigns (`x = 498` equals `498`; see `Ctx::eq`):
    /// `value` is the key of that value, or `None` when it assigns none (an inequality, an
    /// unsolved equation), and then it never equals a number. Two single equations are
    /// compared through `equation` (see [`EquationPrint`]); anything else may be equal.
    Relation {
        value: Option<Box<Key>>,
        equation: Option<Box<EquationPrint>>,
    },
    /// Anything else (structures, expressions with variables, text).
    Other,
}

/// An answer span parsed once, for many comparisons (clustering a problem's answers).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The span as written.
    pub raw: String,
    /// [`canonical_string`] of the span.
    pub canon: String,
    /// The parsed span; `Err` when it cannot be read or the budget ran out.
    pub parsed: Result<Expr, ParseError>,
    /// Cheap comparison key (meaningful only when `parsed` is `Ok`).
    pub key: Key,
}

impl Prepared {
    /// Parse `span` and compute its key under `opts`, with a fresh budget of `opts.fuel`.
    #[must_use]
    pub fn new(span: &str, opts: &GradeOptions) -> Self {
        Self::with_canon(span, canonical_string(span), opts)
    }

    /// As [`Prepared::new`] when the caller already has `canon == canonical_string(span)`.
    #[must_use]
    pub fn with_canon(span: &str, canon: String, opts: &GradeOptions) -> Self {
        let mut budget = Budget::new(opts.fuel);
        let parsed = if canon.is_empty() {
            Err(ParseError::Invalid)
        } else {
            parse(span, &mut budget)
        };
        let key = match &parsed {
            Ok(e) => key_of(e, opts, &mut budget),
            Err(_) => Key::Other,
        };
        Self {
            raw: span.to_string(),
            canon,
            parsed,
            key,
        }
    }

    /// Whether the span could be read.
    #[must_use]
    pub fn readable(&self) -> bool {
        self.parsed.is_ok()
    }
}

/// The comparison key of a parsed answer (see [`Key`]).
fn key_of(e: &Expr, opts: &GradeOptions, budget: &mut Budget) -> Key {
    // Two percent readings (or renamed variables) make equality depend on the other side.
    if opts.percent == PercentPolicy::Either || !opts.strict_vars {
        return Key::Other;
    }
    let n = normalize(e, opts.percent == PercentPolicy::Value);
    if let Expr::Rel(v, ops) = &n {
        // Compared with a number, the relation reduces to its assigned value (already
        // normalised, as `normalize` maps a relation's operands), or is unequal.
        let assign = as_rel_assignment(&n);
        let equation = match (v.as_slice(), ops.as_slice()) {
            ([l, r], [RelOp::Eq]) => Some(Box::new(EquationPrint::new(
                l,
                r,
                assign.map(|(x, rx)| (x.clone(), rx.clone())),
                opts.fuel,
                budget,
            ))),
            _ => None,
        };
        let value = assign.map(|(_, rhs)| {
            Box::new(match equation.as_deref().and_then(|e| e.sides.as_ref()) {
                // A single equation assigns its right-hand side: its key is there already.
                Some((_, r)) => r.clone(),
                None if matches!(rhs, Expr::Rel(..)) => Key::Other,
                None => normalized_key(rhs, budget),
            })
        });
        return Key::Relation { value, equation };
    }
    normalized_key(&n, budget)
}

/// What `Ctx::rel_eq` looks at when it compares two single equations `l1 = r1`, `l2 = r2`
/// (normalised), computed once per answer: they are equal only
///
/// * as assignments to the same name with equal values (`x = 498`, `x = 498.0`), or
/// * when `l1 - r1` and `l2 - r2` are proportional at the sample points (`Ctx::equation_eq`).
///
/// The differences are evaluated here at every sample point, exactly as `equation_eq`
/// evaluates them (numeric evaluation is deterministic), so [`Key::may_equal`] replays its
/// decision on stored values. Two equations without variables (`34^2 = 1156`) are equal
/// only side by side, which the keys of the sides can rule out.
#[derive(Clone, Debug, PartialEq)]
pub struct EquationPrint {
    /// `(name, value)` of an assignment.
    assign: Option<(Expr, Expr)>,
    /// `l - r` has free variables.
    has_vars: bool,
    /// Without variables: the keys of `l` and `r`.
    sides: Option<(Key, Key)>,
    /// `l - r` needs integer sample points.
    discrete: bool,
    /// `l - r` is a rational function (compared exactly at rational points).
    rational: bool,
    /// `l - r`, and the work budget of its evaluation.
    f: Expr,
    fuel: u64,
    /// `l - r` at the real and at the integer sample points (`None`: out of budget),
    /// evaluated when first needed.
    real: OnceLock<Option<Points>>,
    int: OnceLock<Option<Points>>,
    /// `l - r` exactly at the rational points (`None`: not rational or out of budget).
    exact: OnceLock<Option<ExactPts>>,
}

/// Values at the sample points of `Ctx::equation_eq`.
type Points = [C64; POINTS as usize];

/// `f` at the f64 sample points (integer ones when `int`).
fn float_points(f: &Expr, int: bool, budget: &mut Budget) -> Result<Points, OutOfFuel> {
    let sample = sampler(int);
    let mut out = [C64::NAN; POINTS as usize];
    for (k, o) in (0..POINTS).zip(out.iter_mut()) {
        *o = numeric(f, &|name: &str| sample(name, k), budget)?;
    }
    Ok(out)
}

impl EquationPrint {
    fn new(
        l: &Expr,
        r: &Expr,
        assign: Option<(Expr, Expr)>,
        fuel: u64,
        key_budget: &mut Budget,
    ) -> Self {
        let f = difference(l, r);
        let has_vars = has_vars(&f);
        let sides =
            (!has_vars).then(|| (normalized_key(l, key_budget), normalized_key(r, key_budget)));
        Self {
            assign,
            has_vars,
            sides,
            discrete: is_discrete(&f),
            rational: rational_class(&f),
            f,
            fuel,
            real: OnceLock::new(),
            int: OnceLock::new(),
            exact: OnceLock::new(),
        }
    }

    /// `l - r` at the sample points, as `equation_eq` computes them.
    fn points(&self, int: bool) -> Option<&Points> {
        let cell = if int { &self.int } else { &self.real };
        cell.get_or_init(|| float_points(&self.f, int, &mut Budget::new(self.fuel)).ok())
            .as_ref()
    }

    /// `l - r` at the rational points, as `equation_eq` computes them.
    fn exact_pts(&self) -> Option<&ExactPts> {
        if !self.rational {
            return None;
        }
        self.exact
            .get_or_init(|| exact_points(&self.f, &mut Budget::new(self.fuel)).ok())
            .as_ref()
    }

    /// Whether `rel_eq` can find `self` (the gold's side) and `o` equal.
    fn may_equal(&self, o: &Self, values: (Option<&Key>, Option<&Key>), rel_tol: f64) -> bool {
        // An assignment to the same name with a value that may be equal.
        if let ((Some((x, rx)), Some((y, ry))), (Some(kx), Some(ky))) =
            ((&self.assign, &o.assign), values)
        {
            if is_assignable(x) && same_name(x, y, rx, ry) && kx.may_equal(ky, rel_tol) {
                return true;
            }
        }
        // Without variables the sides are compared instead, possibly swapped
        // (`Ctx::scalar_eq`, which for numbers is `Ctx::eq`, which their keys may rule out).
        if !self.has_vars && !o.has_vars {
            let number = |k: &Key| matches!(k, Key::Exact(_) | Key::Scalar { .. });
            let may = |a: &Key, b: &Key| !(number(a) && number(b)) || a.may_equal(b, rel_tol);
            return match (&self.sides, &o.sides) {
                (Some((l1, r1)), Some((l2, r2))) => {
                    (may(l1, l2) && may(r1, r2)) || (may(l1, r2) && may(r1, l2))
                }
                _ => true,
            };
        }
        // The first stage of `equation_eq`; only its "no" is final (an identity pair is
        // compared side by side, a "yes" may still be refuted in multi-precision).
        let int = self.discrete || o.discrete;
        let (ef, eg) = (self.exact_pts(), o.exact_pts());
        let mut float = || Some((*self.points(int)?, *o.points(int)?));
        let exact_pair = if self.rational && o.rational {
            (ef, eg)
        } else {
            (None, None)
        };
        equation_stage1(exact_pair, &mut float) != Prop::No
    }
}

/// `l - r`, as `Ctx::equation_eq` builds it.
fn difference(l: &Expr, r: &Expr) -> Expr {
    Expr::Add(vec![l.clone(), Expr::Neg(Box::new(r.clone()))])
}

/// The proportionality test of `Ctx::equation_eq` in f64, one sample point at a time.
#[derive(Default)]
struct Proportional {
    ratio: Option<C64>,
    valid: u32,
    zeros: u32,
}

impl Proportional {
    /// Take the values of both sides at one point; `false` once they are not proportional.
    fn feed(&mut self, fv: C64, gv: C64) -> bool {
        if !fv.is_finite() || !gv.is_finite() {
            return true;
        }
        let (fa, ga) = (fv.abs(), gv.abs());
        if fa < 1e-12 && ga < 1e-12 {
            self.valid += 1;
            self.zeros += 1;
            return true;
        }
        if fa < 1e-12 || ga < 1e-12 {
            return false;
        }
        let q = fv.div_pub(gv);
        match self.ratio {
            None => self.ratio = Some(q),
            Some(r) => {
                if r.minus(q).abs() > 1e-8 * r.abs().max(q.abs()) {
                    return false;
                }
            }
        }
        self.valid += 1;
        true
    }

    /// The verdict once every point was fed.
    fn verdict(&self) -> Prop {
        if self.valid < MIN_VALID_POINTS {
            Prop::Unknown
        } else if self.zeros == self.valid {
            Prop::BothZero
        } else {
            Prop::Yes
        }
    }
}

/// Exact values at the rational points when both differences are rational functions.
type ExactPts = Vec<Option<BigRational>>;

/// The first stage of comparing two equations' differences `f`, `g` (shared by
/// `Ctx::equation_eq` and [`EquationPrint::may_equal`], so that a key never rules out what
/// the full check accepts): exactly at rational points when both are rational functions
/// (and enough points are defined), else in f64 at the sample points.
fn equation_stage1(
    exact_pts: (Option<&ExactPts>, Option<&ExactPts>),
    float_pts: &mut dyn FnMut() -> Option<(Points, Points)>,
) -> Prop {
    if let (Some(f), Some(g)) = exact_pts {
        let p = exact_proportional(f, g);
        if p != Prop::Unknown {
            return p;
        }
    }
    let Some((f, g)) = float_pts() else {
        return Prop::Unknown;
    };
    let mut check = Proportional::default();
    for (&fv, &gv) in f.iter().zip(&g) {
        if !check.feed(fv, gv) {
            return Prop::No;
        }
    }
    check.verdict()
}

/// [`key_of`] of an expression that is already normalised.
fn normalized_key(n: &Expr, budget: &mut Budget) -> Key {
    let mut vars = Vec::new();
    n.free_vars(&mut vars);
    if !vars.is_empty() || n.is_structure() || matches!(n, Expr::Rel(..) | Expr::Text(_)) {
        return Key::Other;
    }
    if let Some((value, half, _)) = as_decimal(n) {
        if let (Some(v), Some(h)) = (value.to_f64(), half.to_f64()) {
            return Key::Scalar {
                value: C64::real(v),
                slack: h,
            };
        }
        return Key::Other;
    }
    match exact(n, budget) {
        Ok(Some(q)) => return Key::Exact(q),
        Ok(None) => {}
        Err(_) => return Key::Other,
    }
    match numeric(n, &|_| 0.0, budget) {
        Ok(v) if v.is_finite() => Key::Scalar {
            value: v,
            slack: 0.0,
        },
        _ => Key::Other,
    }
}

impl Key {
    /// Whether two answers with these keys can be equal (false only when they certainly
    /// differ). `rel_tol` is the comparison's relative tolerance.
    #[must_use]
    pub fn may_equal(&self, other: &Key, rel_tol: f64) -> bool {
        let (a, sa, b, sb) = match (self, other) {
            (Key::Exact(x), Key::Exact(y)) => return x == y,
            (Key::Other, _) | (_, Key::Other) => return true,
            (
                Key::Relation {
                    value: va,
                    equation: ea,
                },
                Key::Relation {
                    value: vb,
                    equation: eb,
                },
            ) => {
                let (Some(ea), Some(eb)) = (ea, eb) else {
                    return true;
                };
                // Either side may play the gold's role.
                return ea.may_equal(eb, (va.as_deref(), vb.as_deref()), rel_tol)
                    || eb.may_equal(ea, (vb.as_deref(), va.as_deref()), rel_tol);
            }
            (Key::Relation { value, .. }, number) | (number, Key::Relation { value, .. }) => {
                return value.as_ref().is_some_and(|v| v.may_equal(number, rel_tol))
            }
            (Key::Exact(x), Key::Scalar { value, slack }) => (q_c64(x), 0.0, *value, *slack),
            (Key::Scalar { value, slack }, Key::Exact(y)) => (*value, *slack, q_c64(y), 0.0),
            (
                Key::Scalar { value, slack },
                Key::Scalar {
                    value: v2,
                    slack: s2,
                },
            ) => (*value, *slack, *v2, *s2),
        };
        let scale = a.abs().max(b.abs()).max(1.0);
        a.minus(b).abs() <= sa + sb + margin(rel_tol) * scale
    }

    /// The real part used to sort scalar keys (None for [`Key::Other`]).
    #[must_use]
    pub fn sort_value(&self) -> Option<f64> {
        match self {
            Key::Exact(q) => Some(q_c64(q).re),
            Key::Scalar { value, .. } => Some(value.re),
            Key::Relation { .. } | Key::Other => None,
        }
    }

    /// The largest distance (in value) from which [`Key::may_equal`] can still hold.
    #[must_use]
    pub fn reach(&self, rel_tol: f64) -> f64 {
        match self {
            Key::Exact(q) => margin(rel_tol) * q_c64(q).abs().max(1.0),
            Key::Scalar { value, slack } => slack + margin(rel_tol) * value.abs().max(1.0),
            Key::Relation { .. } | Key::Other => f64::INFINITY,
        }
    }
}

/// Relative distance beyond which two key values certainly differ: a generous multiple of the
/// comparison's tolerance, so that keys only skip pairs the full check would reject.
fn margin(rel_tol: f64) -> f64 {
    rel_tol.max(1e-9) * 1e3 + 1e-12
}

fn q_c64(q: &BigRational) -> C64 {
    C64::real(q.to_f64().unwrap_or(f64::NAN))
}

/// Compare two prepared answers; `gold` plays the gold's role (an unreadable gold gives
/// [`Status::InvalidGold`]).
#[must_use]
pub fn compare_prepared(gold: &Prepared, pred: &Prepared, opts: &GradeOptions) -> Status {
    if gold.canon.is_empty() {
        return Status::InvalidGold;
    }
    if pred.canon.is_empty() {
        return Status::Unparseable;
    }
    if gold.canon == pred.canon {
        return Status::Equal;
    }
    let g = match &gold.parsed {
        Ok(g) => g,
        Err(ParseError::Budget) => return Status::BudgetExceeded,
        Err(ParseError::Invalid) => return Status::InvalidGold,
    };
    let p = match &pred.parsed {
        Ok(p) => p,
        Err(ParseError::Budget) => return Status::BudgetExceeded,
        Err(ParseError::Invalid) => return Status::Unparseable,
    };
    if !gold.key.may_equal(&pred.key, opts.rel_tol) {
        return Status::NotEqual;
    }
    let mut budget = Budget::new(opts.fuel);
    compare_parsed(&gold.raw, g, &pred.raw, p, opts, &mut budget)
}

fn is_decimal_literal(e: &Expr) -> bool {
    as_decimal(e).is_some()
}

/// Rename variables by `map` (pairs `from -> to`).
fn rename(e: &Expr, map: &[(String, String)]) -> Expr {
    match e {
        Expr::Sym(n) => match map.iter().find(|(f, _)| f == n) {
            Some((_, t)) => Expr::Sym(t.clone()),
            None => e.clone(),
        },
        Expr::Indexed(nm, idx) => {
            let key = format!("{nm}[]");
            let new = map
                .iter()
                .find(|(f, _)| *f == key)
                .map_or(nm.as_str(), |(_, t)| t.trim_end_matches("[]"));
            Expr::Indexed(new.to_string(), Box::new(rename(idx, map)))
        }
        _ => e.map_children(&|x| rename(x, map)),
    }
}

/// Compare two parsed answers under the options (percent policy may try two readings,
/// `strict_vars = false` renames the prediction's variables to the gold's).
fn equal_exprs(g: &Expr, p: &Expr, opts: &GradeOptions, budget: &mut Budget) -> R<bool> {
    if !opts.strict_vars {
        let (mut gv, mut pv) = (Vec::new(), Vec::new());
        g.free_vars(&mut gv);
        p.free_vars(&mut pv);
        if gv.len() == pv.len() && gv != pv {
            let map: Vec<(String, String)> = pv.into_iter().zip(gv).collect();
            let renamed = rename(p, &map);
            if equal_readings(g, &renamed, opts, budget)? {
                return Ok(true);
            }
        }
    }
    equal_readings(g, p, opts, budget)
}

fn equal_readings(g: &Expr, p: &Expr, opts: &GradeOptions, budget: &mut Budget) -> R<bool> {
    let readings: &[bool] = match opts.percent {
        PercentPolicy::Strip => &[false],
        PercentPolicy::Value => &[true],
        PercentPolicy::Either => &[false, true],
    };
    for &as_value in readings {
        let gn = normalize(g, as_value);
        let pn = normalize(p, as_value);
        let mut cx = Ctx { opts, budget };
        if cx.eq(&gn, &pn)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_text_factor(e: &Expr) -> bool {
    match e {
        Expr::Text(_) => true,
        // `\text{ cm}^2`
        Expr::Pow(b, _) => matches!(&**b, Expr::Text(_)),
        _ => false,
    }
}

/// Normalise: drop units and words attached to a quantity, read percent, expand `\pm`
/// inside collections, unwrap one-element lists.
fn normalize(e: &Expr, percent_value: bool) -> Expr {
    let n = |x: &Expr| normalize(x, percent_value);
    // `\frac{-1 \pm \sqrt{13}}{4}`: two answers.
    if !matches!(e, Expr::PlusMinus(..)) && has_pm(e) {
        return Expr::List(vec![n(&pick_pm(e, true)), n(&pick_pm(e, false))]);
    }
    if let Expr::Rel(v, ops) = e {
        if v.iter().any(has_pm) {
            let plus = Expr::Rel(v.iter().map(|x| pick_pm(x, true)).collect(), ops.clone());
            let minus = Expr::Rel(v.iter().map(|x| pick_pm(x, false)).collect(), ops.clone());
            return Expr::List(vec![n(&plus), n(&minus)]);
        }
    }
    match e {
        // `\sin 30^\circ`: a degree sign inside a trigonometric argument changes the value.
        Expr::Func(
            f @ (Func::Sin | Func::Cos | Func::Tan | Func::Cot | Func::Sec | Func::Csc),
            args,
        ) => Expr::Func(*f, args.iter().map(|x| n(&degrees_to_radians(x))).collect()),
        Expr::Unit(a, _) => n(a),
        Expr::Percent(a) => {
            if percent_value {
                Expr::Div(
                    Box::new(n(a)),
                    Box::new(Expr::Num(super::expr::Number::int(100))),
                )
            } else {
                n(a)
            }
        }
        Expr::Mul(v) if !v.is_empty() && is_text_factor(&v[0]) && !v.iter().all(is_text_factor) => {
            // Leading words are not a unit: keep the product (it will not equal a number).
            Expr::Mul(v.iter().map(n).collect())
        }
        Expr::Mul(v) => {
            let keep: Vec<Expr> = v.iter().filter(|x| !is_text_factor(x)).map(n).collect();
            if keep.is_empty() {
                // All words: one text answer.
                let words: Vec<String> = v
                    .iter()
                    .filter_map(|x| match x {
                        Expr::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                return Expr::Text(words.join(" "));
            }
            if keep.len() == 1 {
                keep.into_iter().next().unwrap_or(Expr::List(vec![]))
            } else {
                Expr::Mul(keep)
            }
        }
        Expr::PlusMinus(a, b) => {
            let (a, b) = (n(a), n(b));
            Expr::List(pm_pair(a, b))
        }
        Expr::List(v) => {
            let items = expand_pm(v.iter().map(n));
            if items.len() == 1 {
                items.into_iter().next().unwrap_or(Expr::List(vec![]))
            } else {
                Expr::List(items)
            }
        }
        Expr::Set(v) => Expr::Set(expand_pm(v.iter().map(n))),
        _ => e.map_children(&n),
    }
}

/// Replace every `v^\circ` by `v \cdot \pi / 180`.
fn degrees_to_radians(e: &Expr) -> Expr {
    match e {
        Expr::Unit(a, u) if u == "degree" => Expr::Mul(vec![
            degrees_to_radians(a),
            Expr::Div(
                Box::new(Expr::Const(Const::Pi)),
                Box::new(Expr::Num(super::expr::Number::int(180))),
            ),
        ]),
        _ => e.map_children(&degrees_to_radians),
    }
}

fn pm_pair(a: Expr, b: Expr) -> Vec<Expr> {
    vec![
        Expr::Add(vec![a.clone(), b.clone()]),
        Expr::Add(vec![a, Expr::Neg(Box::new(b))]),
    ]
}

fn expand_pm(items: impl Iterator<Item = Expr>) -> Vec<Expr> {
    let mut out = Vec::new();
    for it in items {
        match it {
            Expr::List(v) => out.extend(v),
            other => out.push(other),
        }
    }
    out
}

struct Ctx<'a, 'b> {
    opts: &'a GradeOptions,
    budget: &'b mut Budget,
}

/// Deterministic sample value of variable `name` at point `k` (FNV-1a hash), covering both
/// signs and the branches of non-analytic functions: points `k % 4 == 0` lie in
/// `[0.3, 2.3)`, `1` in `(-3, -0.3]`, `2` are integers (`k % 8 == 2`) or half-integers in
/// `[-6, 6.5]`, `3` in `[2.3, 10.3)`. Every value is an f64, so the multi-precision check
/// evaluates at exactly the same point.
fn sample_value(name: &str, k: u32) -> f64 {
    let h = fnv(name, k);
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    match k % 4 {
        0 => 0.3 + 2.0 * u,
        1 => -(0.3 + 2.7 * u),
        2 => {
            #[allow(clippy::cast_precision_loss)]
            let i = ((h >> 7) % 13) as f64 - 6.0;
            if k % 8 == 2 {
                i
            } else {
                i + 0.5
            }
        }
        _ => 2.3 + 8.0 * u,
    }
}

/// The sample points of numeric identity testing: integer ones for expressions with sums,
/// products and sequences ([`is_discrete`]), else [`sample_value`].
fn sampler(int: bool) -> fn(&str, u32) -> f64 {
    if int {
        sample_int
    } else {
        sample_value
    }
}

/// Deterministic rational sample point of variable `name` for exact identity testing:
/// integers in `[-30, 30]` (`k % 3 == 0`), fractions `n / d` with `|n| <= 10^6`,
/// `2 <= d <= 998` (`k % 3 == 1`), half-integers in `[-20, 20]` (`k % 3 == 2`).
fn sample_rat(name: &str, k: u32) -> SmallQ {
    let h = fnv(name, k ^ 0x5bd1_e995);
    let int = |m: u64, off: i128| i128::from(m) - off;
    let (n, d) = match k % 3 {
        0 => (int((h >> 9) % 61, 30), 1),
        1 => (int(h % 2_000_001, 1_000_000), int(2 + (h >> 40) % 997, 0)),
        _ => (int((h >> 9) % 81, 40), 2),
    };
    SmallQ::new(n, d).unwrap_or(SmallQ::ZERO)
}

fn fnv(name: &str, k: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain(k.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Integer sample values (2..=9) for expressions with sums, products and sequences, whose
/// bounds and indices must be integers.
fn sample_int(name: &str, k: u32) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = (fnv(name, k) % 8) as f64;
    2.0 + v
}

/// Whether an expression needs integer sample points.
fn is_discrete(e: &Expr) -> bool {
    match e {
        Expr::Func(Func::Sum | Func::Prod | Func::Factorial | Func::Binom, _)
        | Expr::Indexed(..) => true,
        Expr::Add(v) | Expr::Mul(v) | Expr::Func(_, v) | Expr::Rel(v, _) => {
            v.iter().any(is_discrete)
        }
        Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) => is_discrete(a),
        Expr::Div(a, b) | Expr::Pow(a, b) | Expr::PlusMinus(a, b) => {
            is_discrete(a) || is_discrete(b)
        }
        _ => false,
    }
}

const POINTS: u32 = 12;
const MIN_VALID_POINTS: u32 = 3;
/// Rational points of exact identity testing, and how many must be defined on both sides.
const EXACT_POINTS: u32 = 8;
const MIN_EXACT_POINTS: usize = 5;
/// Numeric matches confirmed in multi-precision per comparison (each costs far more than
/// an f64 evaluation; one disagreement is enough to reject).
const MP_CONFIRM_POINTS: u32 = 2;

/// `e = c * \sqrt{r}` with rationals `c` and `r >= 0` (in `i128`), for products and
/// quotients of rationals and square roots of rationals; `None` for anything else or on
/// overflow.
fn sqrt_form(e: &Expr) -> Option<(SmallQ, SmallQ)> {
    let one = SmallQ::new(1, 1)?;
    let leaf = |x: &Expr| match exact_small(x, &|_| None) {
        Some(Small::Value(q)) => Some(q),
        _ => None,
    };
    match e {
        Expr::Func(Func::Root, v) if v.len() == 2 => {
            let (n, r) = (leaf(&v[1])?, leaf(&v[0])?);
            (n == SmallQ::new(2, 1)? && r.signum() >= 0).then_some((one, r))
        }
        Expr::Neg(a) => {
            let (c, r) = sqrt_form(a)?;
            Some((c.checked_neg()?, r))
        }
        Expr::Mul(v) => v.iter().try_fold((one, one), |(c, r), x| {
            let (cx, rx) = sqrt_form(x)?;
            Some((c.checked_mul(cx)?, r.checked_mul(rx)?))
        }),
        Expr::Div(a, b) => {
            let ((ca, ra), (cb, rb)) = (sqrt_form(a)?, sqrt_form(b)?);
            // ca √ra / (cb √rb) = ca / (cb rb) √(ra rb)
            Some((
                ca.checked_mul(cb.checked_mul(rb)?.recip()?)?,
                ra.checked_mul(rb)?,
            ))
        }
        _ => leaf(e).map(|q| (q, one)),
    }
}

/// `c1 \sqrt{r1} = c2 \sqrt{r2}`: same sign and `c1^2 r1 = c2^2 r2` (`None` on overflow).
fn sqrt_forms_equal(x: (SmallQ, SmallQ), y: (SmallQ, SmallQ)) -> Option<bool> {
    let sign = |(c, r): (SmallQ, SmallQ)| c.signum() * r.signum();
    let sq = |(c, r): (SmallQ, SmallQ)| c.checked_mul(c)?.checked_mul(r);
    Some(sign(x) == sign(y) && sq(x)? == sq(y)?)
}

/// Whether `e` is a rational function of its variables (with `|.|`, floor and ceiling):
/// such expressions are compared exactly at rational points.
fn rational_class(e: &Expr) -> bool {
    match e {
        Expr::Num(_) | Expr::Sym(_) | Expr::Const(Const::Pi | Const::E) => true,
        Expr::Add(v) | Expr::Mul(v) => v.iter().all(rational_class),
        Expr::Neg(a) | Expr::Unit(a, _) => rational_class(a),
        Expr::Div(a, b) => rational_class(a) && rational_class(b),
        Expr::Pow(b, x) => {
            rational_class(b) && !has_vars(x) && {
                let mut scratch = Budget::new(1_000);
                matches!(exact(x, &mut scratch), Ok(Some(q))
                    if q.is_integer() && q.numer().bits() <= 8)
            }
        }
        Expr::Func(Func::Abs | Func::Floor | Func::Ceil, v) => {
            v.len() == 1 && rational_class(&v[0])
        }
        _ => false,
    }
}

/// Exact values of a [`rational_class`] expression at the rational sample points (`None`
/// where it is undefined or too large).
fn exact_points(e: &Expr, budget: &mut Budget) -> Result<Vec<Option<BigRational>>, OutOfFuel> {
    let vars = exact_vars(e);
    (0..EXACT_POINTS)
        .map(|k| exact_point(e, &vars, k, budget))
        .collect()
}

/// The free variables of `e`, and pi / e when present (sampled like variables, see
/// `eval::const_name`).
fn exact_vars(e: &Expr) -> Vec<String> {
    let mut vars = Vec::new();
    e.free_vars(&mut vars);
    vars.extend(
        [Const::Pi, Const::E]
            .into_iter()
            .filter(|c| has_const(e, *c))
            .filter_map(const_name)
            .map(str::to_string),
    );
    vars
}

/// `e` exactly at rational point `k` (`None`: undefined there or too large).
fn exact_point(
    e: &Expr,
    vars: &[String],
    k: u32,
    budget: &mut Budget,
) -> Result<Option<BigRational>, OutOfFuel> {
    Ok(exact_point_small(e, vars, k, budget)?.big())
}

/// A value at a rational point: reduced `i128` parts, or big (`None`: undefined).
enum Pt {
    Small(SmallQ),
    Big(Option<BigRational>),
}

impl Pt {
    fn big(self) -> Option<BigRational> {
        match self {
            Pt::Small(q) => Some(q.to_big()),
            Pt::Big(q) => q,
        }
    }
}

/// [`exact_point`] without converting an `i128` result.
fn exact_point_small(
    e: &Expr,
    vars: &[String],
    k: u32,
    budget: &mut Budget,
) -> Result<Pt, OutOfFuel> {
    budget.spend(e.size() as u64)?;
    let vals: Vec<(&str, SmallQ)> = vars
        .iter()
        .map(|v| (v.as_str(), sample_rat(v, k)))
        .collect();
    let find = |name: &str| vals.iter().find(|(n, _)| *n == name).map(|(_, q)| *q);
    // `i128` rationals first; big rationals when they overflow.
    Ok(match exact_small(e, &find) {
        Some(Small::Value(q)) => Pt::Small(q),
        Some(Small::Undefined) => Pt::Big(None),
        None => Pt::Big(exact_env(
            e,
            &|name: &str| find(name).map(SmallQ::to_big),
            budget,
        )?),
    })
}

/// Outcome of comparing two functions' values point by point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prop {
    /// Proportional with a non-zero constant (or equal) at every valid point.
    Yes,
    No,
    /// Both zero at every valid point (two identities).
    BothZero,
    /// Too few points where both are defined.
    Unknown,
}

/// `f` and `g` proportional at the rational points, exactly: `f(p) g(q) = f(q) g(p)`.
fn exact_proportional(f: &[Option<BigRational>], g: &[Option<BigRational>]) -> Prop {
    let mut ratio: Option<BigRational> = None;
    let (mut valid, mut zeros) = (0, 0);
    for (fv, gv) in f.iter().zip(g) {
        let (Some(fv), Some(gv)) = (fv, gv) else {
            continue;
        };
        valid += 1;
        match (fv.is_zero(), gv.is_zero()) {
            (true, true) => zeros += 1,
            (false, false) => {
                let q = fv / gv;
                if ratio.as_ref().is_some_and(|r| *r != q) {
                    return Prop::No;
                }
                ratio = Some(q);
            }
            _ => return Prop::No,
        }
    }
    if valid < MIN_EXACT_POINTS {
        Prop::Unknown
    } else if zeros == valid {
        Prop::BothZero
    } else {
        Prop::Yes
    }
}

fn as_rel_assignment(e: &Expr) -> Option<(&Expr, &Expr)> {
    // `x = v` or a chain `a = b = v`: the last right-hand side, if the left is a symbol.
    if let Expr::Rel(v, ops) = e {
        if !ops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx)) {
            return None;
        }
        // `x = 1/3 \approx 0.33`: the exact value is the one before the first `\approx`.
        let end = match ops.iter().position(|o| *o == RelOp::Approx) {
            Some(k) if k > 0 => k,
            _ => v.len() - 1,
        };
        // A chain, an assignment to a name, or arithmetic (`\frac12 + 1 = \frac32`); an
        // unsolved equation (`3x + 4y + 14 = 0`) is not reduced to its right-hand side.
        if v.len() >= 3 || is_assignable(&v[0]) || (!has_vars(&v[0]) && !has_vars(&v[end])) {
            return Some((&v[0], &v[end]));
        }
    }
    None
}

/// A left-hand side that names the answer: `x`, `x_1`, `f(x)`, `(x, y)`, `|AB|`, `A:B`.
fn is_assignable(e: &Expr) -> bool {
    fn names(e: &Expr) -> bool {
        match e {
            Expr::Sym(_) => true,
            Expr::Mul(v) => v.iter().all(names),
            Expr::Func(Func::Abs, v) => v.iter().all(names),
            Expr::Div(a, b) => names(a) && names(b),
            _ => false,
        }
    }
    match e {
        Expr::Sym(_) | Expr::Indexed(..) => true,
        // A function value `f(x)`, `f(2)`.
        Expr::Mul(v) if v.len() == 2 && matches!(v[0], Expr::Sym(_)) && !v[1].is_structure() => {
            true
        }
        Expr::Tuple(v) => v.iter().all(|x| matches!(x, Expr::Sym(_))),
        _ => names(e),
    }
}

/// Two left-hand sides that name the same thing: equal, or the same function at a dummy
/// argument that neither right-hand side uses (`W(n) = 1` and `W(x) = 1`).
fn same_name(x: &Expr, y: &Expr, rx: &Expr, ry: &Expr) -> bool {
    if x == y {
        return true;
    }
    let (Expr::Mul(a), Expr::Mul(b)) = (x, y) else {
        return false;
    };
    match (a.as_slice(), b.as_slice()) {
        ([Expr::Sym(f), Expr::Sym(u)], [Expr::Sym(g), Expr::Sym(v)]) if f == g => {
            let mut vars = Vec::new();
            rx.free_vars(&mut vars);
            ry.free_vars(&mut vars);
            !vars.contains(u) && !vars.contains(v)
        }
        _ => false,
    }
}

/// Whether a scalar expression contains `\pm`.
fn has_pm(e: &Expr) -> bool {
    match e {
        Expr::PlusMinus(..) => true,
        Expr::Add(v) | Expr::Mul(v) | Expr::Func(_, v) => v.iter().any(has_pm),
        Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) => has_pm(a),
        Expr::Div(a, b) | Expr::Pow(a, b) => has_pm(a) || has_pm(b),
        _ => false,
    }
}

/// Replace every `a \pm b` by `a + b` (sign +1) or `a - b` (sign -1).
fn pick_pm(e: &Expr, plus: bool) -> Expr {
    match e {
        Expr::PlusMinus(a, b) => {
            let b = pick_pm(b, plus);
            Expr::Add(vec![
                pick_pm(a, plus),
                if plus { b } else { Expr::Neg(Box::new(b)) },
            ])
        }
        _ => e.map_children(&|x| pick_pm(x, plus)),
    }
}

fn has_const(e: &Expr, c: Const) -> bool {
    match e {
        Expr::Const(k) => *k == c,
        Expr::Num(_) | Expr::Sym(_) | Expr::Text(_) => false,
        Expr::Add(v) | Expr::Mul(v) | Expr::Func(_, v) => v.iter().any(|x| has_const(x, c)),
        Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) => has_const(a, c),
        Expr::Div(a, b) | Expr::Pow(a, b) => has_const(a, c) || has_const(b, c),
        _ => false,
    }
}

fn has_infinity(e: &Expr) -> bool {
    match e {
        Expr::Const(Const::Infinity) => true,
        Expr::Num(_) | Expr::Sym(_) | Expr::Const(_) | Expr::Text(_) => false,
        Expr::Add(v) | Expr::Mul(v) | Expr::Func(_, v) => v.iter().any(has_infinity),
        Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) => has_infinity(a),
        Expr::Div(a, b) | Expr::Pow(a, b) | Expr::PlusMinus(a, b) => {
            has_infinity(a) || has_infinity(b)
        }
        _ => false,
    }
}

fn is_ineq(op: RelOp) -> bool {
    matches!(
        op,
        RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge | RelOp::Ne
    )
}

fn inf(neg: bool) -> Expr {
    let i = Expr::Const(Const::Infinity);
    if neg {
        Expr::Neg(Box::new(i))
    } else {
        i
    }
}

fn interval(lo: Expr, hi: Expr, lo_closed: bool, hi_closed: bool) -> Expr {
    Expr::Interval {
        lo: Box::new(lo),
        hi: Box::new(hi),
        lo_closed,
        hi_closed,
    }
}

fn has_vars(e: &Expr) -> bool {
    let mut v = Vec::new();
    e.free_vars(&mut v);
    !v.is_empty()
}

/// Read an inequality in one variable as a set: `x > 3` -> `(3, \infty)`,
/// `1 < x \le 2` -> `(1, 2]`, `x \ne 3` -> `(-\infty, 3) \cup (3, \infty)`.
fn rel_to_set(e: &Expr) -> Option<Expr> {
    let Expr::Rel(v, ops) = e else { return None };
    if !ops.iter().all(|o| is_ineq(*o)) {
        return None;
    }
    let is_var = |x: &Expr| matches!(x, Expr::Sym(_));
    match (v.as_slice(), ops.as_slice()) {
        ([a, b], [op]) => {
            let (c, op) = if is_var(a) && !has_vars(b) {
                (b, *op)
            } else if is_var(b) && !has_vars(a) {
                (a, op.flip())
            } else {
                return solve_linear(a, b, *op);
            };
            Some(match op {
                RelOp::Lt => interval(inf(true), c.clone(), false, false),
                RelOp::Le => interval(inf(true), c.clone(), false, true),
                RelOp::Gt => interval(c.clone(), inf(false), false, false),
                RelOp::Ge => interval(c.clone(), inf(false), true, false),
                RelOp::Ne => Expr::Union(vec![
                    interval(inf(true), c.clone(), false, false),
                    interval(c.clone(), inf(false), false, false),
                ]),
                _ => return None,
            })
        }
        ([a, x, b], [o1, o2])
            if is_assignable(x) && !matches!(x, Expr::Func(..)) && !has_vars(a) && !has_vars(b) =>
        {
            let (lo, hi, lo_op, hi_op) = match (o1, o2) {
                (RelOp::Lt | RelOp::Le, RelOp::Lt | RelOp::Le) => (a, b, *o1, *o2),
                (RelOp::Gt | RelOp::Ge, RelOp::Gt | RelOp::Ge) => (b, a, o2.flip(), o1.flip()),
                _ => return None,
            };
            Some(interval(
                lo.clone(),
                hi.clone(),
                lo_op == RelOp::Le,
                hi_op == RelOp::Le,
            ))
        }
        _ => None,
    }
}

/// A union with inequality parts (the parser's reading of `x < -1 \text{ or } x > 1`) as the
/// union of the parts' solution sets; `None` when it has no relation part or one is not an
/// inequality in one variable.
fn rel_union_to_set(e: &Expr) -> Option<Expr> {
    let Expr::Union(parts) = e else { return None };
    if !parts.iter().any(|p| matches!(p, Expr::Rel(..))) {
        return None;
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Expr::Rel(..) => match rel_to_set(p)? {
                Expr::Union(v) => out.extend(v),
                s => out.push(s),
            },
            other => out.push(other.clone()),
        }
    }
    Some(Expr::Union(out))
}

/// Replace variable `name` by `val`.
fn substitute(e: &Expr, name: &str, val: &Expr) -> Expr {
    match e {
        Expr::Sym(n) if n == name => val.clone(),
        _ => e.map_children(&|x| substitute(x, name, val)),
    }
}

/// `a op b` with one variable entering linearly (`-x > -1`, `2x + 1 \le 5`): the solution
/// set as an interval, with an exact endpoint expression.
fn solve_linear(a: &Expr, b: &Expr, op: RelOp) -> Option<Expr> {
    let mut vars = Vec::new();
    a.free_vars(&mut vars);
    b.free_vars(&mut vars);
    let [x] = vars.as_slice() else { return None };
    if a.size() + b.size() > 200 {
        return None;
    }
    let h = Expr::Add(vec![a.clone(), Expr::Neg(Box::new(b.clone()))]);
    let at = |k: i64| substitute(&h, x, &Expr::Num(super::expr::Number::int(k)));
    let mut budget = Budget::new(20_000);
    let vals: Vec<f64> = (0..3)
        .map(|k| numeric(&at(k), &|_| f64::NAN, &mut budget).map(|c| c.re))
        .collect::<Result<_, _>>()
        .ok()?;
    let (s1, s2) = (vals[1] - vals[0], vals[2] - vals[1]);
    if !s1.is_finite() || s1 == 0.0 || (s1 - s2).abs() > 1e-9 * s1.abs().max(1.0) {
        return None;
    }
    // h(x) = s (x - c) with c = -h(0) / (h(1) - h(0)).
    let h0 = at(0);
    let c = Expr::Neg(Box::new(Expr::Div(
        Box::new(h0.clone()),
        Box::new(Expr::Add(vec![at(1), Expr::Neg(Box::new(h0))])),
    )));
    let op = if s1 > 0.0 { op } else { op.flip() };
    let xs = Expr::Sym(x.clone());
    rel_to_set(&Expr::Rel(vec![xs, c], vec![op]))
}

fn text_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Text(t) => Some(normalize_text(t)),
        Expr::Sym(s) => Some(normalize_text(s)),
        Expr::Const(Const::E) => Some("e".into()),
        Expr::Const(Const::I) => Some("i".into()),
        Expr::Mul(v) => {
            let parts: Option<Vec<String>> = v.iter().map(text_of).collect();
            parts.map(|p| p.join(""))
        }
        _ => None,
    }
}

/// Significant digits a rounded decimal must show to stand for a value that has a finite
/// decimal expansion (see `Ctx::scalar_eq`).
const MIN_SIG_DIGITS_ROUNDED: u32 = 10;

/// Whether `q` has a finite decimal expansion (its denominator has no prime factor but 2 and 5).
fn has_finite_decimal(q: &BigRational) -> bool {
    let mut d = q.denom().clone();
    for p in [2u32, 5] {
        let p = num_bigint::BigInt::from(p);
        while (&d % &p).is_zero() {
            d /= &p;
        }
    }
    d == num_bigint::BigInt::from(1)
}

/// A decimal literal (possibly negated or in scientific notation): value, half a unit in
/// the last written place, significant digits.
fn as_decimal(e: &Expr) -> Option<(BigRational, BigRational, u32)> {
    match e {
        Expr::Num(n) => {
            let d = n.decimals?;
            if d > 60 {
                return None;
            }
            let half = BigRational::new(
                5.into(),
                num_traits::pow(num_bigint::BigInt::from(10), d as usize + 1),
            );
            Some((n.value.clone(), half, n.sig_digits))
        }
        Expr::Neg(a) => as_decimal(a).map(|(v, h, s)| (-v, h, s)),
        Expr::Mul(v) if v.len() == 2 => {
            let (val, half, sig) = as_decimal(&v[0])?;
            // `1.5 \times 10^{3}`
            if let Expr::Pow(b, x) = &v[1] {
                if matches!(&**b, Expr::Num(n) if n.value == BigRational::from_integer(10.into())) {
                    let mut scratch = Budget::new(1000);
                    let scale = exact(&v[1], &mut scratch).ok().flatten()?;
                    let _ = x;
                    return Some((val * &scale, half * scale, sig));
                }
            }
            None
        }
        _ => None,
    }
}

impl Ctx<'_, '_> {
    fn spend(&mut self, n: u64) -> R<()> {
        self.budget.spend(n).map_err(Fail::from)
    }

    #[allow(clippy::too_many_lines)]
    fn eq(&mut self, a: &Expr, b: &Expr) -> R<bool> {
        self.spend(1)?;
        // `x < -1 \text{ or } x > 1` (a union of inequalities): the union of their sets.
        if self.opts.interval_inequality {
            if let Some(s) = rel_union_to_set(a) {
                return self.eq(&s, b);
            }
            if let Some(s) = rel_union_to_set(b) {
                return self.eq(a, &s);
            }
        }
        // Relations.
        match (a, b) {
            (Expr::Rel(..), Expr::Rel(..)) => return self.rel_eq(a, b),
            (Expr::Rel(..), _) | (_, Expr::Rel(..)) => {
                let (r, other) = if matches!(a, Expr::Rel(..)) {
                    (a, b)
                } else {
                    (b, a)
                };
                if let Some((_, rhs)) = as_rel_assignment(r) {
                    if !self.chain_true(r)? {
                        return Ok(false);
                    }
                    let rhs = rhs.clone();
                    return if std::ptr::eq(r, a) {
                        self.eq(&rhs, other)
                    } else {
                        self.eq(other, &rhs)
                    };
                }
                if self.opts.interval_inequality {
                    if let Some(s) = rel_to_set(r) {
                        return if std::ptr::eq(r, a) {
                            self.eq(&s, other)
                        } else {
                            self.eq(other, &s)
                        };
                    }
                    if matches!(other, Expr::Interval { .. } | Expr::Union(_))
                        || matches!(other, Expr::Tuple(t) if t.len() == 2)
                    {
                        return self.rel_set_sampled(r, other);
                    }
                }
                return Ok(false);
            }
            _ => {}
        }
        // Text answers.
        if matches!(a, Expr::Text(_)) || matches!(b, Expr::Text(_)) {
            return Ok(match (text_of(a), text_of(b)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            });
        }
        match (a, b) {
            (Expr::Tuple(x), Expr::Tuple(y)) => self.ordered(x, y),
            (Expr::Tuple(x), Expr::List(y)) | (Expr::List(x), Expr::Tuple(y)) => self.ordered(x, y),
            (Expr::List(x), Expr::List(y)) => {
                if self.opts.ordered_lists {
                    self.ordered(x, y)
                } else {
                    self.unordered(&dedup_syntactic(x), &dedup_syntactic(y))
                }
            }
            (Expr::Set(x), Expr::Set(y) | Expr::List(y)) | (Expr::List(x), Expr::Set(y)) => {
                self.unordered(&dedup_syntactic(x), &dedup_syntactic(y))
            }
            (Expr::Set(x), other) | (other, Expr::Set(x))
                if x.len() == 1 && !other.is_structure() =>
            {
                let (l, r) = if matches!(a, Expr::Set(_)) {
                    (&x[0], other)
                } else {
                    (other, &x[0])
                };
                self.eq(l, r)
            }
            (Expr::Interval { .. }, Expr::Interval { .. }) => self.interval_eq(a, b),
            (Expr::Tuple(t), Expr::Interval { .. }) if t.len() == 2 => {
                let ia = interval(t[0].clone(), t[1].clone(), false, false);
                self.interval_eq(&ia, b)
            }
            (Expr::Interval { .. }, Expr::Tuple(t)) if t.len() == 2 => {
                let ib = interval(t[0].clone(), t[1].clone(), false, false);
                self.interval_eq(a, &ib)
            }
            (Expr::Union(x), Expr::Union(y)) => self.unordered(x, y),
            (Expr::Union(x), Expr::Interval { .. }) => self.unordered(x, std::slice::from_ref(b)),
            (Expr::Interval { .. }, Expr::Union(y)) => self.unordered(std::slice::from_ref(a), y),
            (Expr::Matrix(x), Expr::Matrix(y)) => {
                if x.len() != y.len() || x.iter().zip(y).any(|(r, s)| r.len() != s.len()) {
                    return Ok(false);
                }
                for (r, s) in x.iter().zip(y) {
                    if !self.ordered(r, s)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (Expr::Matrix(m), Expr::Tuple(t)) | (Expr::Tuple(t), Expr::Matrix(m)) => {
                let flat: Vec<Expr> = if m.iter().all(|r| r.len() == 1) {
                    m.iter().map(|r| r[0].clone()).collect()
                } else if m.len() == 1 {
                    m[0].clone()
                } else {
                    return Ok(false);
                };
                if matches!(a, Expr::Matrix(_)) {
                    self.ordered(&flat, t)
                } else {
                    self.ordered(t, &flat)
                }
            }
            _ if a.is_structure() || b.is_structure() => Ok(false),
            _ => self.scalar_eq(a, b),
        }
    }

    fn ordered(&mut self, x: &[Expr], y: &[Expr]) -> R<bool> {
        if x.len() != y.len() {
            return Ok(false);
        }
        for (p, q) in x.iter().zip(y) {
            if !self.eq(p, q)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Multiset equality by bipartite matching (Kuhn's algorithm).
    fn unordered(&mut self, x: &[Expr], y: &[Expr]) -> R<bool> {
        if x.len() != y.len() {
            return Ok(false);
        }
        let n = x.len();
        if n > 256 {
            return Err(Fail::Budget);
        }
        self.spend((n * n) as u64)?;
        let mut adj = vec![Vec::new(); n];
        for (i, p) in x.iter().enumerate() {
            for (j, q) in y.iter().enumerate() {
                if self.eq(p, q)? {
                    adj[i].push(j);
                }
            }
            if adj[i].is_empty() {
                return Ok(false);
            }
        }
        let mut match_y: Vec<Option<usize>> = vec![None; n];
        for i in 0..n {
            let mut seen = vec![false; n];
            if !augment(i, &adj, &mut match_y, &mut seen) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn interval_eq(&mut self, a: &Expr, b: &Expr) -> R<bool> {
        let (
            Expr::Interval {
                lo: l1,
                hi: h1,
                lo_closed: lc1,
                hi_closed: hc1,
            },
            Expr::Interval {
                lo: l2,
                hi: h2,
                lo_closed: lc2,
                hi_closed: hc2,
            },
        ) = (a, b)
        else {
            return Ok(false);
        };
        Ok(lc1 == lc2 && hc1 == hc2 && self.eq(l1, l2)? && self.eq(h1, h2)?)
    }

    /// A relation in one variable that is not linear (`1 \le |z| \le 2`, `x^2 < 4`) against
    /// an interval or a union: equal when membership agrees at every endpoint of the set,
    /// just beside it, and at spread-out sample points.
    fn rel_set_sampled(&mut self, rel: &Expr, set: &Expr) -> R<bool> {
        let Expr::Rel(operands, ops) = rel else {
            return Ok(false);
        };
        if !ops.iter().all(|o| is_ineq(*o)) {
            return Ok(false);
        }
        let mut vars = Vec::new();
        rel.free_vars(&mut vars);
        let [x] = vars.as_slice() else {
            return Ok(false);
        };
        if has_vars(set) {
            return Ok(false);
        }
        let parts: Vec<&Expr> = match set {
            Expr::Union(v) => v.iter().collect(),
            other => vec![other],
        };
        // Intervals as (lo, hi, lo_closed, hi_closed) in f64; points of a set as [p, p].
        let mut ivs: Vec<(f64, f64, bool, bool)> = Vec::new();
        for part in parts {
            let as_open;
            let part = match part {
                Expr::Tuple(t) if t.len() == 2 => {
                    as_open = interval(t[0].clone(), t[1].clone(), false, false);
                    &as_open
                }
                p => p,
            };
            match part {
                Expr::Interval {
                    lo,
                    hi,
                    lo_closed,
                    hi_closed,
                } => {
                    let l = numeric(lo, &|_| f64::NAN, self.budget)?;
                    let h = numeric(hi, &|_| f64::NAN, self.budget)?;
                    if l.im != 0.0 || h.im != 0.0 || l.re.is_nan() || h.re.is_nan() {
                        return Ok(false);
                    }
                    ivs.push((l.re, h.re, *lo_closed, *hi_closed));
                }
                Expr::Set(v) => {
                    for e in v {
                        let p = numeric(e, &|_| f64::NAN, self.budget)?;
                        if !p.is_finite() || p.im != 0.0 {
                            return Ok(false);
                        }
                        ivs.push((p.re, p.re, true, true));
                    }
                }
                _ => return Ok(false),
            }
        }
        let in_set = |t: f64| {
            ivs.iter()
                .any(|&(l, h, lc, hc)| (t > l || (lc && t == l)) && (t < h || (hc && t == h)))
        };
        let mut points: Vec<f64> = Vec::new();
        let finite: Vec<f64> = ivs
            .iter()
            .flat_map(|&(l, h, _, _)| [l, h])
            .filter(|v| v.is_finite())
            .collect();
        for &e in &finite {
            let d = 1e-6 * e.abs().max(1.0);
            points.extend([e, e - d, e + d]);
        }
        let lo = finite.iter().copied().fold(-10.0_f64, f64::min) - 10.0;
        let hi = finite.iter().copied().fold(10.0_f64, f64::max) + 10.0;
        for k in 0..32 {
            points.push(lo + (hi - lo) * (f64::from(k) + 0.37) / 32.0);
        }
        points.extend([-1e6, 1e6]);
        for t in points {
            self.spend(1)?;
            let env = |name: &str| if name == x { t } else { f64::NAN };
            let mut vals = Vec::with_capacity(operands.len());
            for o in operands {
                let v = numeric(o, &env, self.budget)?;
                if !v.is_finite() || v.im.abs() > 1e-12 {
                    vals.clear();
                    break;
                }
                vals.push(v.re);
            }
            if vals.is_empty() {
                continue;
            }
            let holds = ops.iter().enumerate().all(|(i, op)| {
                let (a, b) = (vals[i], vals[i + 1]);
                let tol = 1e-9 * a.abs().max(b.abs()).max(1.0);
                match op {
                    RelOp::Lt => a < b - tol,
                    RelOp::Le => a <= b + tol,
                    RelOp::Gt => a > b + tol,
                    RelOp::Ge => a >= b - tol,
                    RelOp::Ne => (a - b).abs() > tol,
                    _ => false,
                }
            });
            if holds != in_set(t) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn rel_eq(&mut self, a: &Expr, b: &Expr) -> R<bool> {
        let (Expr::Rel(va, oa), Expr::Rel(vb, ob)) = (a, b) else {
            return Ok(false);
        };
        // Inequalities in one variable: compare as sets.
        if let (Some(sa), Some(sb)) = (rel_to_set(a), rel_to_set(b)) {
            return self.eq(&sa, &sb);
        }
        // Assignments to the same name (chains read by their last right-hand side).
        if let (Some((x, rx)), Some((y, ry))) = (as_rel_assignment(a), as_rel_assignment(b)) {
            if is_assignable(x)
                && same_name(x, y, rx, ry)
                && self.chain_true(a)?
                && self.chain_true(b)?
                && self.eq(rx, ry)?
            {
                return Ok(true);
            }
        }
        // Equations.
        if oa.len() == 1 && ob.len() == 1 && oa[0] == RelOp::Eq && ob[0] == RelOp::Eq {
            return self.equation_eq(&va[0], &va[1], &vb[0], &vb[1]);
        }
        // Chains: same operators in the same or reversed direction, operands pairwise equal.
        if oa.len() == ob.len() {
            if oa == ob && self.ordered(va, vb)? {
                return Ok(true);
            }
            let flipped: Vec<RelOp> = ob.iter().rev().map(|o| o.flip()).collect();
            if *oa == flipped {
                let rev: Vec<Expr> = vb.iter().rev().cloned().collect();
                return self.ordered(va, &rev);
            }
        }
        Ok(false)
    }

    /// `l1 = r1` vs `l2 = r2`: `l1 - r1` and `l2 - r2` proportional with a non-zero
    /// constant; exactly when both are rational functions, else numerically (f64, then
    /// confirmed in multi-precision). Two identities (`(x+1)^2 = x^2+2x+1`) and two
    /// statements without variables (`26^2 = 676`) are compared side by side (either
    /// orientation), never as `0 = 0`.
    fn equation_eq(&mut self, l1: &Expr, r1: &Expr, l2: &Expr, r2: &Expr) -> R<bool> {
        let f = difference(l1, r1);
        let g = difference(l2, r2);
        let mut vars = Vec::new();
        f.free_vars(&mut vars);
        g.free_vars(&mut vars);
        if vars.is_empty() {
            return self.side_by_side(l1, r1, l2, r2);
        }
        let int = is_discrete(&f) || is_discrete(&g);
        let exact_pts = if rational_class(&f) && rational_class(&g) {
            Some((
                exact_points(&f, self.budget)?,
                exact_points(&g, self.budget)?,
            ))
        } else {
            None
        };
        let mut float_err = None;
        let budget = &mut *self.budget;
        let mut float = || match (float_points(&f, int, budget), float_points(&g, int, budget)) {
            (Ok(x), Ok(y)) => Some((x, y)),
            _ => {
                float_err = Some(Fail::Budget);
                None
            }
        };
        let stage1 = equation_stage1(
            exact_pts
                .as_ref()
                .map_or((None, None), |(x, y)| (Some(x), Some(y))),
            &mut float,
        );
        if let Some(e) = float_err {
            return Err(e);
        }
        let exact_decided = exact_pts
            .as_ref()
            .is_some_and(|(x, y)| exact_proportional(x, y) != Prop::Unknown);
        match stage1 {
            Prop::No | Prop::Unknown => Ok(false),
            Prop::BothZero => self.side_by_side(l1, r1, l2, r2),
            Prop::Yes if exact_decided => Ok(true),
            Prop::Yes => self.mp_proportional(&f, &g, int),
        }
    }

    /// Two equations side by side: `l1 = l2` and `r1 = r2`, or swapped.
    fn side_by_side(&mut self, l1: &Expr, r1: &Expr, l2: &Expr, r2: &Expr) -> R<bool> {
        Ok((self.scalar_eq(l1, l2)? && self.scalar_eq(r1, r2)?)
            || (self.scalar_eq(l1, r2)? && self.scalar_eq(r1, l2)?))
    }

    /// Whether multi-precision confirmation applies (`rel_tol` at or below the default;
    /// a looser `rel_tol` asks for the f64 comparison only).
    fn confirm_mp(&self) -> bool {
        self.opts.rel_tol <= 1e-9
    }

    /// Confirm a numeric proportionality in multi-precision: the ratio `f / g` is the same
    /// at the first [`MP_CONFIRM_POINTS`] points where both are non-zero and evaluable.
    fn mp_proportional(&mut self, f: &Expr, g: &Expr, int: bool) -> R<bool> {
        if !self.confirm_mp() {
            return Ok(true);
        }
        let sample = sampler(int);
        let mut first: Option<Mc> = None;
        let mut used = 0;
        for k in 0..POINTS {
            if used >= MP_CONFIRM_POINTS {
                break;
            }
            let env = |name: &str| sample(name, k);
            let (Some(fv), Some(gv)) = (
                mp_numeric(f, &env, self.budget)?,
                mp_numeric(g, &env, self.budget)?,
            ) else {
                continue;
            };
            match (mp_is_zero(&fv), mp_is_zero(&gv)) {
                (true, true) => continue,
                (false, false) => {}
                _ => return Ok(false),
            }
            let Some(q) = mp_ratio(&fv, &gv) else {
                continue;
            };
            used += 1;
            match &first {
                None => first = Some(q),
                Some(r) => {
                    if !mp_close(r, &q) {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Confirm a numeric match of two values in multi-precision (`true` when it cannot be
    /// evaluated there: the f64 verdict stands).
    fn mp_confirms(&mut self, a: &Expr, b: &Expr, env: &dyn Fn(&str) -> f64) -> R<bool> {
        let (Some(x), Some(y)) = (
            mp_numeric(a, env, self.budget)?,
            mp_numeric(b, env, self.budget)?,
        ) else {
            return Ok(true);
        };
        Ok(mp_close(&x, &y))
    }

    /// A relation chain read through its last value must be true: every `=` link between
    /// two operands of its variable-free tail holds (`x = 2 + 3 = 5`, `\frac12 + 1 =
    /// \frac32`; not `7 = 6`). `\approx` links are not checked.
    fn chain_true(&mut self, rel: &Expr) -> R<bool> {
        let Expr::Rel(v, ops) = rel else {
            return Ok(true);
        };
        let start = v.iter().rposition(has_vars).map_or(0, |i| i + 1);
        for (i, op) in ops.iter().enumerate().skip(start) {
            if *op == RelOp::Eq && !self.scalar_eq(&v[i], &v[i + 1])? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn scalar_eq(&mut self, a: &Expr, b: &Expr) -> R<bool> {
        self.spend(4)?;
        if a == b {
            return Ok(true);
        }
        let ea = exact(a, self.budget)?;
        let eb = exact(b, self.budget)?;
        let da = as_decimal(a);
        let db = as_decimal(b);
        // A decimal against an exact (non-decimal) value: tolerance from the written digits.
        let dec_vs_exact = match (&da, &db) {
            (Some(d), None) => Some((d, false)),
            (None, Some(d)) => Some((d, true)),
            _ => None,
        };
        // `min_decimals = n`: a decimal that shows fewer than n places is not precise enough
        // to stand for an exact value (it can still equal it exactly, checked above/below).
        if let (Some(((_, half, _), _)), Some(n)) = (&dec_vs_exact, self.opts.min_decimals) {
            let n = n.min(64);
            let needed = BigRational::new(
                5.into(),
                num_traits::pow(num_bigint::BigInt::from(10), n as usize + 1),
            );
            if *half > needed {
                return Ok(ea.is_some() && ea == eb);
            }
        }
        if let (Some(x), Some(y)) = (&ea, &eb) {
            if x == y {
                return Ok(true);
            }
            if let Some(((val, half, sig), dec_is_b)) = dec_vs_exact {
                let other = if dec_is_b { x } else { y };
                // A value with a finite decimal expansion (`1234`, `\frac18`) can be written
                // exactly: a rounded form of it counts only when it keeps at least
                // `MIN_SIG_DIGITS_ROUNDED` significant digits (`1.09951162778E+12` for
                // `4^{20}`), so that `1.2E3` is not rewarded for `1234`. Values without one
                // (`\frac13`) keep the two-digit rule (`0.33`).
                let min_sig = if has_finite_decimal(other) {
                    MIN_SIG_DIGITS_ROUNDED
                } else {
                    2
                };
                return Ok(*sig >= min_sig && (other - val).abs() <= *half);
            }
            return Ok(false);
        }
        let mut vars = Vec::new();
        a.free_vars(&mut vars);
        b.free_vars(&mut vars);
        if vars.is_empty() {
            let va = numeric(a, &|_| f64::NAN, self.budget)?;
            let vb = numeric(b, &|_| f64::NAN, self.budget)?;
            // An infinite value from finite notation is an overflow (a power tower), not a
            // number we can compare.
            let overflow =
                |v: C64, e: &Expr| (v.re.is_infinite() || v.im.is_infinite()) && !has_infinity(e);
            if overflow(va, a) || overflow(vb, b) {
                return Err(Fail::Budget);
            }
            if let Some(((val, half, sig), dec_is_b)) = dec_vs_exact {
                let other = if db.is_some() { va } else { vb };
                if !other.is_finite() {
                    return Ok(false);
                }
                // A decimal that is the value itself (`\cos 60^\circ` = `0.5`), whatever
                // its digits.
                let other_expr = if dec_is_b { a } else { b };
                let dec = Expr::Num(super::expr::Number {
                    value: val.clone(),
                    decimals: None,
                    sig_digits: 0,
                });
                if self.confirm_mp()
                    && (other.re - val.to_f64().unwrap_or(f64::NAN)).abs()
                        <= 1e-12 * other.abs().max(1.0)
                    && matches!(
                        (mp_numeric(other_expr, &|_| f64::NAN, self.budget)?,
                         mp_numeric(&dec, &|_| f64::NAN, self.budget)?),
                        (Some(x), Some(y)) if mp_close(&x, &y)
                    )
                {
                    return Ok(true);
                }
                let (Some(v), Some(h)) = (val.to_f64(), half.to_f64()) else {
                    return Ok(false);
                };
                return Ok(*sig >= 2
                    && other.im.abs() <= h
                    && (other.re - v).abs() <= h * (1.0 + 1e-9) + 1e-15 * v.abs());
            }
            if !self.close(va, vb, ea.as_ref().or(eb.as_ref())) {
                return Ok(false);
            }
            if !self.confirm_mp() {
                return Ok(true);
            }
            // Confirm: `c \sqrt{r}` forms (`2\sqrt{3}`, `\frac{\sqrt2}{2}`) exactly, anything
            // else in multi-precision.
            if let Some(v) = sqrt_form(a)
                .zip(sqrt_form(b))
                .and_then(|(x, y)| sqrt_forms_equal(x, y))
            {
                return Ok(v);
            }
            return self.mp_confirms(a, b, &|_| f64::NAN);
        }
        // Rational functions: exact identity testing at rational points (zero tolerance).
        if rational_class(a) && rational_class(b) {
            // Point by point, stopping at the first difference.
            let (va, vb) = (exact_vars(a), exact_vars(b));
            let mut valid = 0;
            for k in 0..EXACT_POINTS {
                let pa = exact_point_small(a, &va, k, self.budget)?;
                let pb = exact_point_small(b, &vb, k, self.budget)?;
                // Reduced `i128` rationals are equal exactly when their parts are.
                let same = match (pa, pb) {
                    (Pt::Small(x), Pt::Small(y)) => Some(x == y),
                    (x, y) => match (x.big(), y.big()) {
                        (Some(x), Some(y)) => Some(x == y),
                        _ => None,
                    },
                };
                match same {
                    Some(false) => return Ok(false),
                    Some(true) => valid += 1,
                    None => {}
                }
            }
            if valid >= MIN_EXACT_POINTS {
                return Ok(true);
            }
        }
        // Identity testing at sample points: f64, each match confirmed in multi-precision at
        // the first few points.
        let sample = sampler(is_discrete(a) || is_discrete(b));
        let mut valid = 0;
        let mut confirmed = 0;
        for k in 0..POINTS {
            let env = |name: &str| sample(name, k);
            let va = numeric(a, &env, self.budget)?;
            let vb = numeric(b, &env, self.budget)?;
            if !va.is_finite() || !vb.is_finite() {
                if va.is_finite() != vb.is_finite() && !(va.re.is_nan() || vb.re.is_nan()) {
                    return Ok(false);
                }
                continue;
            }
            if !self.close(va, vb, None) {
                return Ok(false);
            }
            if self.confirm_mp() && confirmed < MP_CONFIRM_POINTS {
                confirmed += 1;
                if !self.mp_confirms(a, b, &env)? {
                    return Ok(false);
                }
            }
            valid += 1;
        }
        Ok(valid >= MIN_VALID_POINTS)
    }

    /// Numeric closeness with the relative tolerance; an exact zero on one side allows an
    /// absolute 1e-12.
    fn close(&self, a: C64, b: C64, exact_side: Option<&BigRational>) -> bool {
        if a.re.is_infinite() || b.re.is_infinite() {
            return a.re == b.re && a.im == b.im;
        }
        if !a.is_finite() || !b.is_finite() {
            return false;
        }
        let d = a.minus(b).abs();
        let scale = a.abs().max(b.abs());
        if d <= self.opts.rel_tol * scale {
            return true;
        }
        exact_side.is_some_and(Zero::is_zero) && d <= 1e-12
    }
}

fn augment(i: usize, adj: &[Vec<usize>], match_y: &mut [Option<usize>], seen: &mut [bool]) -> bool {
    for &j in &adj[i] {
        if seen[j] {
            continue;
        }
        seen[j] = true;
        if match_y[j].is_none_or(|k| augment(k, adj, match_y, seen)) {
            match_y[j] = Some(i);
            return true;
        }
    }
    false
}

/// Sets ignore syntactic duplicates (`\{1, 1, 2\}` = `\{1, 2\}`).
fn dedup_syntactic(v: &[Expr]) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}
