//! Multi-precision numeric evaluation (256-bit binary floats, complex where needed), used to
//! confirm what the f64 evaluator finds close: two values that agree to 1e-9 in f64 are only
//! called equal if they also agree to [`MP_REL_TOL`] here. This removes the near misses that
//! an f64 tolerance cannot see (`\sqrt{123456789012}` vs `\sqrt{123456789013}`, `\pi` vs
//! `\pi + 10^{-12}`).
//!
//! Every operation goes through a [`Context`] and returns an error instead of panicking; an
//! operation it does not support (a function of a complex argument, a huge trigonometric
//! argument, a series) gives `None`, and the caller keeps the f64 verdict for that value.

use std::sync::OnceLock;

use dashu_float::round::mode::HalfEven;
use dashu_float::{Context, FBig};
use dashu_int::IBig;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

use super::budget::{Budget, OutOfFuel};
use super::eval::exact;
use super::expr::{Const, Expr, Func};

type F = FBig<HalfEven, 2>;

/// Working precision in bits (about 77 decimal digits).
const PREC: usize = 256;
/// Relative tolerance of a multi-precision comparison: leaves ~37 digits for cancellation.
pub const MP_REL_TOL: f64 = 1e-40;
/// Absolute floor of a comparison (about 2^-200): `\sin\pi` against 0.
const MP_ABS_TOL_LOG2: isize = -200;
/// Largest numerator / denominator (bits) converted from an exact rational.
const MAX_RATIONAL_BITS: u64 = 4096;
/// Largest |argument| of a trigonometric function (larger ones need a huge argument
/// reduction).
const MAX_TRIG_ARG: f64 = 1e6;
/// Largest |argument| of `exp` / `sinh` / `cosh`.
const MAX_EXP_ARG: f64 = 1e4;
/// Fuel spent per multi-precision operation.
const OP_FUEL: u64 = 8;

/// pi and e at working precision, computed once per process.
static PI: OnceLock<Option<F>> = OnceLock::new();
static E: OnceLock<Option<F>> = OnceLock::new();

fn constant(cell: &OnceLock<Option<F>>, make: fn() -> Option<F>) -> Option<F> {
    cell.get_or_init(make).clone()
}

/// A complex value; `im == None` is a real number.
#[derive(Clone, Debug)]
pub struct Mc {
    pub re: F,
    pub im: Option<F>,
}

fn ctx() -> Context<HalfEven> {
    Context::new(PREC)
}

fn ok(r: dashu_float::FpResult<F>) -> Option<F> {
    r.ok().map(dashu_float::round::Rounded::value)
}

fn real(x: F) -> Mc {
    Mc { re: x, im: None }
}

fn zero() -> F {
    F::ZERO
}

fn is_zero(x: &F) -> bool {
    x.repr().significand() == &IBig::ZERO
}

fn is_neg(x: &F) -> bool {
    *x < F::ZERO
}

fn abs(x: &F) -> F {
    if is_neg(x) {
        -x.clone()
    } else {
        x.clone()
    }
}

fn to_f64(x: &F) -> f64 {
    x.to_f64().value()
}

fn ibig(x: &BigInt) -> IBig {
    IBig::from_le_bytes(&x.to_signed_bytes_le())
}

/// An exact rational at working precision.
fn from_rational(q: &BigRational) -> Option<F> {
    if q.numer().bits() > MAX_RATIONAL_BITS || q.denom().bits() > MAX_RATIONAL_BITS {
        return None;
    }
    let n = F::from(ibig(q.numer()));
    if q.is_integer() {
        // Exact; every later operation rounds to the working precision through `ctx()`.
        return Some(n);
    }
    let d = F::from(ibig(q.denom()));
    ok(ctx().div(n.repr(), d.repr()))
}

fn from_f64(x: f64) -> Option<F> {
    F::try_from(x).ok()
}

fn add(a: &F, b: &F) -> Option<F> {
    ok(ctx().add(a.repr(), b.repr()))
}

fn sub(a: &F, b: &F) -> Option<F> {
    ok(ctx().sub(a.repr(), b.repr()))
}

fn mul(a: &F, b: &F) -> Option<F> {
    ok(ctx().mul(a.repr(), b.repr()))
}

fn div(a: &F, b: &F) -> Option<F> {
    if is_zero(b) {
        return None;
    }
    ok(ctx().div(a.repr(), b.repr()))
}

impl Mc {
    fn im_or_zero(&self) -> F {
        self.im.clone().unwrap_or_else(zero)
    }

    fn normalized(re: F, im: F) -> Mc {
        if is_zero(&im) {
            real(re)
        } else {
            Mc { re, im: Some(im) }
        }
    }

    fn add(&self, o: &Mc) -> Option<Mc> {
        let re = add(&self.re, &o.re)?;
        Some(match (&self.im, &o.im) {
            (None, None) => real(re),
            _ => Mc::normalized(re, add(&self.im_or_zero(), &o.im_or_zero())?),
        })
    }

    fn neg(&self) -> Mc {
        Mc {
            re: -self.re.clone(),
            im: self.im.clone().map(|x| -x),
        }
    }

    fn mul(&self, o: &Mc) -> Option<Mc> {
        match (&self.im, &o.im) {
            (None, None) => Some(real(mul(&self.re, &o.re)?)),
            _ => {
                let (a, b) = (&self.re, self.im_or_zero());
                let (c, d) = (&o.re, o.im_or_zero());
                let re = sub(&mul(a, c)?, &mul(&b, &d)?)?;
                let im = add(&mul(a, &d)?, &mul(&b, c)?)?;
                Some(Mc::normalized(re, im))
            }
        }
    }

    fn div(&self, o: &Mc) -> Option<Mc> {
        match (&self.im, &o.im) {
            (None, None) => Some(real(div(&self.re, &o.re)?)),
            _ => {
                let (a, b) = (&self.re, self.im_or_zero());
                let (c, d) = (&o.re, o.im_or_zero());
                let den = add(&mul(c, c)?, &mul(&d, &d)?)?;
                let re = div(&add(&mul(a, c)?, &mul(&b, &d)?)?, &den)?;
                let im = div(&sub(&mul(&b, c)?, &mul(a, &d)?)?, &den)?;
                Some(Mc::normalized(re, im))
            }
        }
    }

    fn modulus(&self) -> Option<F> {
        match &self.im {
            None => Some(abs(&self.re)),
            Some(im) => ok(ctx().sqrt(add(&mul(&self.re, &self.re)?, &mul(im, im)?)?.repr())),
        }
    }

    /// Principal logarithm.
    fn ln(&self) -> Option<Mc> {
        if self.im.is_none() && !is_neg(&self.re) {
            if is_zero(&self.re) {
                return None;
            }
            return Some(real(ok(ctx().ln(self.re.repr(), None))?));
        }
        let m = self.modulus()?;
        if is_zero(&m) {
            return None;
        }
        let re = ok(ctx().ln(m.repr(), None))?;
        let im = ok(ctx().atan2(self.im_or_zero().repr(), self.re.repr(), None))?;
        Some(Mc::normalized(re, im))
    }

    fn exp(&self) -> Option<Mc> {
        if to_f64(&self.re).abs() > MAX_EXP_ARG {
            return None;
        }
        let m = ok(ctx().exp(self.re.repr(), None))?;
        match &self.im {
            None => Some(real(m)),
            Some(im) => {
                if to_f64(im).abs() > MAX_TRIG_ARG {
                    return None;
                }
                let c = ok(ctx().cos(im.repr(), None))?;
                let s = ok(ctx().sin(im.repr(), None))?;
                Some(Mc::normalized(mul(&m, &c)?, mul(&m, &s)?))
            }
        }
    }

    /// Integer power by repeated squaring (|n| <= 4096).
    fn powi(&self, n: i64) -> Option<Mc> {
        if n.unsigned_abs() > 4096 {
            return None;
        }
        let mut acc = real(F::ONE);
        let mut base = self.clone();
        let mut k = n.unsigned_abs();
        while k > 0 {
            if k & 1 == 1 {
                acc = acc.mul(&base)?;
            }
            k >>= 1;
            if k > 0 {
                base = base.mul(&base)?;
            }
        }
        if n < 0 {
            real(F::ONE).div(&acc)
        } else {
            Some(acc)
        }
    }
}

/// Value of `e` at a point (`env` gives each variable, exactly representable in f64), or
/// `None` where this evaluator cannot follow it.
///
/// # Errors
/// [`OutOfFuel`] when the budget runs out.
pub fn mp_numeric(
    e: &Expr,
    env: &dyn Fn(&str) -> f64,
    budget: &mut Budget,
) -> Result<Option<Mc>, OutOfFuel> {
    budget.spend(OP_FUEL)?;
    Ok(match e {
        Expr::Num(n) => from_rational(&n.value).map(real),
        Expr::Sym(s) => from_f64(env(s)).map(real),
        Expr::Const(c) => match c {
            Const::Pi => constant(&PI, || Some(F::pi(PREC))).map(real),
            Const::E => constant(&E, || ok(ctx().exp(F::ONE.repr(), None))).map(real),
            Const::I => Some(Mc {
                re: zero(),
                im: Some(F::ONE),
            }),
            Const::Infinity => None,
        },
        Expr::Add(v) => {
            let mut acc = real(zero());
            for x in v {
                let Some(y) = mp_numeric(x, env, budget)? else {
                    return Ok(None);
                };
                let Some(s) = acc.add(&y) else {
                    return Ok(None);
                };
                acc = s;
            }
            Some(acc)
        }
        Expr::Mul(v) => {
            let mut acc = real(F::ONE);
            for x in v {
                let Some(y) = mp_numeric(x, env, budget)? else {
                    return Ok(None);
                };
                let Some(p) = acc.mul(&y) else {
                    return Ok(None);
                };
                acc = p;
            }
            Some(acc)
        }
        Expr::Neg(a) => mp_numeric(a, env, budget)?.map(|x| x.neg()),
        Expr::Div(a, b) => {
            let (Some(x), Some(y)) = (mp_numeric(a, env, budget)?, mp_numeric(b, env, budget)?)
            else {
                return Ok(None);
            };
            x.div(&y)
        }
        Expr::Pow(a, b) => pow(a, b, env, budget)?,
        Expr::Func(f, args) => func(*f, args, env, budget)?,
        Expr::Unit(a, _) => mp_numeric(a, env, budget)?,
        Expr::Percent(a) => {
            mp_numeric(a, env, budget)?.and_then(|x| x.div(&real(F::from(IBig::from(100u8)))))
        }
        _ => None,
    })
}

fn pow(
    a: &Expr,
    b: &Expr,
    env: &dyn Fn(&str) -> f64,
    budget: &mut Budget,
) -> Result<Option<Mc>, OutOfFuel> {
    let Some(base) = mp_numeric(a, env, budget)? else {
        return Ok(None);
    };
    // A rational exponent: integer powers exactly, odd roots of negative reals real (as
    // the f64 evaluator does), other roots of positive reals by `nth_root`.
    let mut scratch = Budget::new(1_000);
    if let Ok(Some(q)) = exact(b, &mut scratch) {
        let (Some(p), Some(d)) = (q.numer().to_i64(), q.denom().to_u64()) else {
            return Ok(None);
        };
        budget.spend(OP_FUEL * 8)?;
        if d == 1 {
            return Ok(base.powi(p));
        }
        if base.im.is_none() && d <= 64 {
            let neg = is_neg(&base.re);
            if !neg || d % 2 == 1 {
                let Ok(n) = usize::try_from(d) else {
                    return Ok(None);
                };
                let Some(root) = ok(ctx().nth_root(n, abs(&base.re).repr())) else {
                    return Ok(None);
                };
                let root = if neg { -root } else { root };
                return Ok(real(root).powi(p));
            }
        }
    }
    let Some(ex) = mp_numeric(b, env, budget)? else {
        return Ok(None);
    };
    budget.spend(OP_FUEL * 8)?;
    if is_zero(&base.re) && base.im.is_none() {
        return Ok(if ex.im.is_none() && !is_neg(&ex.re) && !is_zero(&ex.re) {
            Some(real(zero()))
        } else {
            None
        });
    }
    Ok(base.ln().and_then(|l| l.mul(&ex)).and_then(|x| x.exp()))
}

/// Longest `\sum` / `\prod` evaluated term by term in multi-precision.
const MAX_MP_SERIES_TERMS: f64 = 1_000.0;

/// `\sum` / `\prod` with integer bounds (an empty range gives 0 / 1), as the f64 evaluator
/// reads them.
fn series(
    f: Func,
    args: &[Expr],
    env: &dyn Fn(&str) -> f64,
    budget: &mut Budget,
) -> Result<Option<Mc>, OutOfFuel> {
    let [body, Expr::Sym(var), lo, hi] = args else {
        return Ok(None);
    };
    let bound = |e: &Expr, b: &mut Budget| -> Result<Option<f64>, OutOfFuel> {
        Ok(mp_numeric(e, env, b)?
            .filter(|v| v.im.is_none())
            .map(|v| to_f64(&v.re))
            .filter(|v| v.fract() == 0.0 && v.abs() < 1e15))
    };
    let (Some(l), Some(h)) = (bound(lo, budget)?, bound(hi, budget)?) else {
        return Ok(None);
    };
    if h - l > MAX_MP_SERIES_TERMS {
        return Ok(None);
    }
    let mut acc = real(if f == Func::Sum { zero() } else { F::ONE });
    let mut k = l;
    while k <= h {
        let inner = |name: &str| if name == var { k } else { env(name) };
        let Some(v) = mp_numeric(body, &inner, budget)? else {
            return Ok(None);
        };
        let next = if f == Func::Sum {
            acc.add(&v)
        } else {
            acc.mul(&v)
        };
        let Some(next) = next else {
            return Ok(None);
        };
        acc = next;
        k += 1.0;
    }
    Ok(Some(acc))
}

fn real_arg(x: &Mc, limit: f64) -> Option<&F> {
    (x.im.is_none() && to_f64(&x.re).abs() <= limit).then_some(&x.re)
}

#[allow(clippy::too_many_lines)]
fn func(
    f: Func,
    args: &[Expr],
    env: &dyn Fn(&str) -> f64,
    budget: &mut Budget,
) -> Result<Option<Mc>, OutOfFuel> {
    if matches!(f, Func::Sum | Func::Prod) {
        return series(f, args, env, budget);
    }
    if matches!(f, Func::Gcd | Func::Lcm) {
        return Ok(None);
    }
    if matches!(f, Func::Factorial | Func::Binom) {
        // Integers: exactly, as the exact evaluator computes them.
        let mut scratch = Budget::new(budget.left().min(20_000));
        let e = Expr::Func(f, args.to_vec());
        return Ok(exact(&e, &mut scratch)
            .ok()
            .flatten()
            .and_then(|q| from_rational(&q))
            .map(real));
    }
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        let Some(v) = mp_numeric(a, env, budget)? else {
            return Ok(None);
        };
        vals.push(v);
    }
    budget.spend(OP_FUEL * 16)?;
    let c = ctx();
    let trig = |x: &Mc, g: fn(&Context<HalfEven>, &F) -> Option<F>| -> Option<Mc> {
        real_arg(x, MAX_TRIG_ARG).and_then(|r| g(&c, r)).map(real)
    };
    let one = F::ONE;
    Ok(match (f, vals.as_slice()) {
        (Func::Sin, [x]) => trig(x, |c, r| ok(c.sin(r.repr(), None))),
        (Func::Cos, [x]) => trig(x, |c, r| ok(c.cos(r.repr(), None))),
        (Func::Tan, [x]) => trig(x, |c, r| ok(c.tan(r.repr(), None))),
        (Func::Cot, [x]) => {
            trig(x, |c, r| ok(c.tan(r.repr(), None))).and_then(|t| real(one).div(&t))
        }
        (Func::Sec, [x]) => {
            trig(x, |c, r| ok(c.cos(r.repr(), None))).and_then(|t| real(one).div(&t))
        }
        (Func::Csc, [x]) => {
            trig(x, |c, r| ok(c.sin(r.repr(), None))).and_then(|t| real(one).div(&t))
        }
        (Func::Asin, [x]) => trig(x, |c, r| ok(c.asin(r.repr(), None))),
        (Func::Acos, [x]) => trig(x, |c, r| ok(c.acos(r.repr(), None))),
        (Func::Atan, [x]) => trig(x, |c, r| ok(c.atan(r.repr(), None))),
        (Func::Sinh, [x]) => real_arg(x, MAX_EXP_ARG)
            .and_then(|r| ok(c.sinh(r.repr(), None)))
            .map(real),
        (Func::Cosh, [x]) => real_arg(x, MAX_EXP_ARG)
            .and_then(|r| ok(c.cosh(r.repr(), None)))
            .map(real),
        (Func::Tanh, [x]) => real_arg(x, MAX_EXP_ARG)
            .and_then(|r| ok(c.tanh(r.repr(), None)))
            .map(real),
        (Func::Exp, [x]) => x.exp(),
        (Func::Ln, [x]) => x.ln(),
        (Func::Log, [x]) => {
            let ten = real(F::from(IBig::from(10u8)));
            match (x.ln(), ten.ln()) {
                (Some(a), Some(b)) => a.div(&b),
                _ => None,
            }
        }
        (Func::Log, [x, b]) => match (x.ln(), b.ln()) {
            (Some(a), Some(b)) => a.div(&b),
            _ => None,
        },
        (Func::Root, [x, n]) => {
            let n = n.re.to_f64().value();
            if n.fract() != 0.0 || !(1.0..=64.0).contains(&n) || n.is_nan() || x.im.is_some() {
                None
            } else {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let k = n as usize;
                let neg = is_neg(&x.re);
                if neg && k.is_multiple_of(2) {
                    // Even root of a negative real: principal complex value.
                    x.ln()
                        .and_then(|l| l.div(&real(F::from(IBig::from(k)))))
                        .and_then(|l| l.exp())
                } else {
                    ok(c.nth_root(k, abs(&x.re).repr())).map(|r| real(if neg { -r } else { r }))
                }
            }
        }
        (Func::Abs, [x]) => x.modulus().map(real),
        (Func::Floor, [x]) => x.im.is_none().then(|| real(x.re.floor())),
        (Func::Ceil, [x]) => x.im.is_none().then(|| real(x.re.ceil())),
        _ => None,
    })
}

/// Whether two multi-precision values agree to [`MP_REL_TOL`] (relative to the larger
/// modulus; an absolute floor of 2^-200).
#[must_use]
pub fn mp_close(a: &Mc, b: &Mc) -> bool {
    let Some(d) = a.neg().add(b).and_then(|x| x.modulus()) else {
        return false;
    };
    if is_zero(&d) {
        return true;
    }
    let (Some(ma), Some(mb)) = (a.modulus(), b.modulus()) else {
        return false;
    };
    let scale = if ma > mb { ma } else { mb };
    let floor = F::from_parts(IBig::ONE, MP_ABS_TOL_LOG2);
    if d <= floor {
        return true;
    }
    let Some(tol) = from_f64(MP_REL_TOL).and_then(|t| mul(&t, &scale)) else {
        return false;
    };
    d <= tol
}

/// `a / b` (None when `b` is zero).
#[must_use]
pub fn mp_ratio(a: &Mc, b: &Mc) -> Option<Mc> {
    if is_zero(&b.re) && b.im.as_ref().is_none_or(is_zero) {
        return None;
    }
    a.div(b)
}

/// Whether a value is zero within the absolute floor of [`mp_close`].
#[must_use]
pub fn mp_is_zero(a: &Mc) -> bool {
    a.modulus()
        .is_some_and(|m| m <= F::from_parts(IBig::ONE, MP_ABS_TOL_LOG2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::parse::parse;

    fn val(s: &str) -> Option<Mc> {
        let mut b = Budget::new(1_000_000);
        let e = parse(s, &mut b).expect("parse");
        mp_numeric(&e, &|_| 0.7, &mut b).expect("fuel")
    }

    fn close(a: &str, b: &str) -> bool {
        mp_close(&val(a).expect(a), &val(b).expect(b))
    }

    #[test]
    fn distinguishes_what_f64_cannot() {
        assert!(!close("\\sqrt{123456789012}", "\\sqrt{123456789013}"));
        assert!(!close("\\pi + 10^{-12}", "\\pi"));
        assert!(!close("\\sin x + 10^{-15}", "\\sin x"));
        assert!(close("\\sin^2 x + \\cos^2 x", "1"));
        assert!(close("2\\sqrt{2}", "\\sqrt{8}"));
        assert!(close("e^{i\\pi}", "-1"));
        assert!(close("\\sqrt[3]{-8}", "-2"));
        assert!(close("\\ln(e^3)", "3"));
        assert!(close("\\sin\\pi", "0"));
        assert!(close("\\sum_{k=1}^{4} k^2", "30"));
        assert!(!close(
            "\\sum_{k=1}^{4} \\sqrt{k}",
            "\\sum_{k=1}^{4} \\sqrt{k} + 10^{-20}"
        ));
    }

    #[test]
    fn unsupported_is_none_not_panic() {
        assert!(val("\\sin(10^{30})").is_none());
        assert!(val("e^{10^{9}}").is_none());
        assert!(val("\\ln 0").is_none());
        assert!(val("\\frac{1}{0}").is_none());
        assert!(val("\\sum_{k=1}^{10^{6}} k").is_none());
    }
}
