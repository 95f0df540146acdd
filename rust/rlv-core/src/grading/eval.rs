//! Evaluation: exact (big rationals, bounded) and numeric (complex f64 at sample points).

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::budget::{Budget, OutOfFuel, MAX_INT_BITS};
use super::expr::{Const, Expr, Func};

/// A complex number in f64.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct C64 {
    pub re: f64,
    pub im: f64,
}

impl C64 {
    pub const NAN: C64 = C64 {
        re: f64::NAN,
        im: f64::NAN,
    };

    #[must_use]
    pub fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }

    #[must_use]
    pub fn is_finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }

    #[must_use]
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }

    fn is_real(self) -> bool {
        self.im == 0.0 || self.im.abs() <= 1e-14 * self.re.abs().max(1.0)
    }

    fn add(self, o: Self) -> Self {
        Self {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }

    #[must_use]
    pub fn minus(self, o: Self) -> Self {
        Self {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }

    fn mul(self, o: Self) -> Self {
        if self.im == 0.0 && o.im == 0.0 {
            return Self::real(self.re * o.re);
        }
        Self {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }

    #[must_use]
    pub fn div_pub(self, o: Self) -> Self {
        self.div(o)
    }

    fn div(self, o: Self) -> Self {
        if self.im == 0.0 && o.im == 0.0 {
            return Self::real(self.re / o.re);
        }
        let d = o.re * o.re + o.im * o.im;
        Self {
            re: (self.re * o.re + self.im * o.im) / d,
            im: (self.im * o.re - self.re * o.im) / d,
        }
    }

    fn ln(self) -> Self {
        Self {
            re: self.abs().ln(),
            im: self.im.atan2(self.re),
        }
    }

    fn exp(self) -> Self {
        let m = self.re.exp();
        if self.im == 0.0 {
            return Self::real(m);
        }
        Self {
            re: m * self.im.cos(),
            im: m * self.im.sin(),
        }
    }

    fn powc(self, e: Self) -> Self {
        if self.is_real() && e.is_real() {
            let (b, x) = (self.re, e.re);
            if b >= 0.0 || x.fract() == 0.0 {
                return Self::real(b.powf(x));
            }
        }
        if self.re == 0.0 && self.im == 0.0 {
            return if e.re > 0.0 {
                Self::real(0.0)
            } else {
                Self::NAN
            };
        }
        self.ln().mul(e).exp()
    }
}

/// Exact value of a rational expression, `None` when it is not rational (or not
/// representable within the bounds).
///
/// # Errors
/// [`OutOfFuel`] when the budget runs out.
pub fn exact(e: &Expr, budget: &mut Budget) -> Result<Option<BigRational>, OutOfFuel> {
    exact_env(e, &|_| None, budget)
}

/// Values of variables for [`exact_env`] (`None`: not rational / unknown).
pub type RatEnv<'a> = &'a dyn Fn(&str) -> Option<BigRational>;

/// [`exact`] with the variables valued by `env`.
///
/// # Errors
/// [`OutOfFuel`] when the budget runs out.
pub fn exact_env(
    e: &Expr,
    env: RatEnv<'_>,
    budget: &mut Budget,
) -> Result<Option<BigRational>, OutOfFuel> {
    budget.spend(1)?;
    let exact = |x: &Expr, b: &mut Budget| exact_env(x, env, b);
    Ok(match e {
        Expr::Num(n) => Some(n.value.clone()),
        Expr::Sym(s) => env(s),
        Expr::Const(c) => const_name(*c).and_then(env),
        Expr::Add(v) => {
            let mut acc = BigRational::zero();
            for x in v {
                let Some(y) = exact(x, budget)? else {
                    return Ok(None);
                };
                spend_bits(&y, budget)?;
                acc += y;
            }
            Some(acc)
        }
        Expr::Mul(v) => {
            let mut acc = BigRational::one();
            for x in v {
                let Some(y) = exact(x, budget)? else {
                    return Ok(None);
                };
                spend_bits(&y, budget)?;
                acc *= y;
                if bits(&acc) > MAX_INT_BITS {
                    return Ok(None);
                }
            }
            Some(acc)
        }
        Expr::Neg(a) => exact(a, budget)?.map(|x| -x),
        Expr::Div(a, b) => {
            let (Some(x), Some(y)) = (exact(a, budget)?, exact(b, budget)?) else {
                return Ok(None);
            };
            if y.is_zero() {
                return Ok(None);
            }
            Some(x / y)
        }
        Expr::Pow(b, x) => {
            let (Some(base), Some(ex)) = (exact(b, budget)?, exact(x, budget)?) else {
                return Ok(None);
            };
            pow_exact(&base, &ex, budget)?
        }
        Expr::Func(f, args) => func_exact(*f, args, env, budget)?,
        Expr::Unit(a, _) => exact(a, budget)?,
        _ => None,
    })
}

fn bits(x: &BigRational) -> u64 {
    x.numer().bits() + x.denom().bits()
}

fn spend_bits(x: &BigRational, budget: &mut Budget) -> Result<(), OutOfFuel> {
    budget.spend(bits(x) / 256)
}

fn to_i64(x: &BigRational) -> Option<i64> {
    if x.is_integer() {
        x.numer().to_i64()
    } else {
        None
    }
}

fn nth_root_exact(x: &BigInt, n: u32) -> Option<BigInt> {
    if x.is_negative() {
        if n % 2 == 1 {
            return nth_root_exact(&-x, n).map(|r| -r);
        }
        return None;
    }
    let r = x.nth_root(n);
    (num_traits::pow(r.clone(), n as usize) == *x).then_some(r)
}

fn pow_exact(
    base: &BigRational,
    ex: &BigRational,
    budget: &mut Budget,
) -> Result<Option<BigRational>, OutOfFuel> {
    let q = ex.denom().to_u32().filter(|&q| q <= 64);
    let Some(q) = q else { return Ok(None) };
    let Some(p) = ex.numer().to_i64() else {
        return Ok(None);
    };
    if base.is_zero() {
        return Ok(match p.signum() {
            1 => Some(BigRational::zero()),
            0 => Some(BigRational::one()),
            _ => None,
        });
    }
    // Root first (exact only when the base is a perfect q-th power).
    let rooted = if q == 1 {
        base.clone()
    } else {
        let (Some(n), Some(d)) = (
            nth_root_exact(base.numer(), q),
            nth_root_exact(base.denom(), q),
        ) else {
            return Ok(None);
        };
        BigRational::new(n, d)
    };
    let mag = p.unsigned_abs();
    let est = bits(&rooted).saturating_mul(mag);
    if est > MAX_INT_BITS {
        return Ok(None);
    }
    budget.spend(est / 64 + 1)?;
    let Ok(mag) = usize::try_from(mag) else {
        return Ok(None);
    };
    let r = num_traits::pow(rooted, mag);
    Ok(Some(if p < 0 { r.recip() } else { r }))
}

fn func_exact(
    f: Func,
    args: &[Expr],
    env: RatEnv<'_>,
    budget: &mut Budget,
) -> Result<Option<BigRational>, OutOfFuel> {
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        let Some(v) = exact_env(a, env, budget)? else {
            return Ok(None);
        };
        vals.push(v);
    }
    Ok(match (f, vals.as_slice()) {
        (Func::Root, [x, n]) => {
            let Some(n) = to_i64(n)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n >= 1)
            else {
                return Ok(None);
            };
            pow_exact(x, &BigRational::new(BigInt::one(), BigInt::from(n)), budget)?
        }
        (Func::Abs, [x]) => Some(x.abs()),
        (Func::Floor, [x]) => Some(x.floor()),
        (Func::Ceil, [x]) => Some(x.ceil()),
        (Func::Factorial, [x]) => {
            let Some(n) = to_i64(x).filter(|&n| (0..=3000).contains(&n)) else {
                return Ok(None);
            };
            budget.spend(u64::try_from(n).unwrap_or(0))?;
            let mut acc = BigInt::one();
            for k in 2..=n {
                acc *= k;
            }
            Some(BigRational::from_integer(acc))
        }
        (Func::Binom, [n, k]) => {
            let (Some(n), Some(k)) = (to_i64(n), to_i64(k)) else {
                return Ok(None);
            };
            if !(0..=100_000).contains(&n) {
                return Ok(None);
            }
            if k < 0 || k > n {
                return Ok(Some(BigRational::zero()));
            }
            let k = k.min(n - k);
            budget.spend(u64::try_from(k).unwrap_or(0))?;
            let mut acc = BigInt::one();
            for j in 0..k {
                acc = acc * (n - j) / (j + 1);
            }
            Some(BigRational::from_integer(acc))
        }
        (Func::Gcd | Func::Lcm, vs) if !vs.is_empty() && vs.iter().all(BigRational::is_integer) => {
            let mut acc = vs[0].numer().abs();
            for v in &vs[1..] {
                acc = if f == Func::Gcd {
                    acc.gcd(v.numer())
                } else {
                    acc.lcm(v.numer())
                };
            }
            Some(BigRational::from_integer(acc))
        }
        _ => None,
    })
}

/// Numeric value at a point: `env` gives the value of each free variable.
///
/// # Errors
/// [`OutOfFuel`] when the budget runs out.
pub fn numeric(e: &Expr, env: &dyn Fn(&str) -> f64, budget: &mut Budget) -> Result<C64, OutOfFuel> {
    budget.spend(1)?;
    Ok(match e {
        Expr::Num(n) => C64::real(n.value.to_f64().unwrap_or(f64::NAN)),
        Expr::Sym(s) => C64::real(env(s)),
        Expr::Const(c) => match c {
            Const::Pi => C64::real(std::f64::consts::PI),
            Const::E => C64::real(std::f64::consts::E),
            Const::I => C64 { re: 0.0, im: 1.0 },
            Const::Infinity => C64::real(f64::INFINITY),
        },
        Expr::Add(v) => {
            let mut acc = C64::real(0.0);
            for x in v {
                acc = acc.add(numeric(x, env, budget)?);
            }
            acc
        }
        Expr::Mul(v) => {
            let mut acc = C64::real(1.0);
            for x in v {
                acc = acc.mul(numeric(x, env, budget)?);
            }
            acc
        }
        Expr::Neg(a) => {
            let x = numeric(a, env, budget)?;
            C64 {
                re: -x.re,
                im: -x.im,
            }
        }
        Expr::Div(a, b) => {
            let d = numeric(b, env, budget)?;
            if d.re == 0.0 && d.im == 0.0 {
                // Division by zero is undefined, not infinite.
                return Ok(C64::NAN);
            }
            numeric(a, env, budget)?.div(d)
        }
        Expr::Pow(a, b) => {
            let base = numeric(a, env, budget)?;
            let ex = numeric(b, env, budget)?;
            // Odd roots of negative reals stay real: (-8)^(1/3) = -2.
            if base.is_real() && ex.is_real() && base.re < 0.0 {
                if let Some(r) = exact(b, budget)? {
                    if r.denom().is_odd() && !r.denom().is_one() {
                        let m = (-base.re).powf(ex.re);
                        return Ok(C64::real(if r.numer().is_odd() { -m } else { m }));
                    }
                }
            }
            base.powc(ex)
        }
        Expr::Func(f @ (Func::Sum | Func::Prod), args) => match args.as_slice() {
            [body, Expr::Sym(var), lo, hi] => series(*f, body, var, lo, hi, env, budget)?,
            _ => C64::NAN,
        },
        Expr::Func(f, args) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(numeric(a, env, budget)?);
            }
            func_numeric(*f, &vals)
        }
        Expr::Indexed(name, idx) => {
            let i = numeric(idx, env, budget)?;
            if !i.is_finite() {
                return Ok(C64::NAN);
            }
            // A deterministic value per (sequence, index).
            let key = if (i.re - i.re.round()).abs() < 1e-9 && i.im == 0.0 {
                format!("{name}[{}]", i.re.round())
            } else {
                format!("{name}[{:x}:{:x}]", i.re.to_bits(), i.im.to_bits())
            };
            C64::real(env(&key))
        }
        Expr::Unit(a, _) => numeric(a, env, budget)?,
        Expr::Percent(a) => numeric(a, env, budget)?.div(C64::real(100.0)),
        _ => C64::NAN,
    })
}

/// Longest series evaluated term by term.
const MAX_SERIES_TERMS: f64 = 10_000.0;

/// `\sum` / `\prod` of `body` for `var` from `lo` to `hi` (integers; an empty range gives
/// 0 / 1).
fn series(
    f: Func,
    body: &Expr,
    var: &str,
    lo: &Expr,
    hi: &Expr,
    env: &dyn Fn(&str) -> f64,
    budget: &mut Budget,
) -> Result<C64, OutOfFuel> {
    let (l, h) = (numeric(lo, env, budget)?, numeric(hi, env, budget)?);
    let int = |v: C64| (v.im == 0.0 && (v.re - v.re.round()).abs() < 1e-9).then(|| v.re.round());
    let (Some(l), Some(h)) = (int(l), int(h)) else {
        return Ok(C64::NAN);
    };
    if h - l > MAX_SERIES_TERMS {
        return Ok(C64::NAN);
    }
    let mut acc = C64::real(if f == Func::Sum { 0.0 } else { 1.0 });
    let mut k = l;
    while k <= h {
        let inner = |name: &str| if name == var { k } else { env(name) };
        let v = numeric(body, &inner, budget)?;
        acc = if f == Func::Sum {
            acc.add(v)
        } else {
            acc.mul(v)
        };
        k += 1.0;
    }
    Ok(acc)
}

fn gamma_int(n: f64) -> f64 {
    if n < 0.0 || n.fract() != 0.0 {
        return f64::NAN;
    }
    if n > 170.0 {
        return f64::INFINITY;
    }
    let mut acc = 1.0;
    let mut k = 2.0;
    while k <= n {
        acc *= k;
        k += 1.0;
    }
    acc
}

fn func_numeric(f: Func, v: &[C64]) -> C64 {
    let real1 = |g: fn(f64) -> f64| -> C64 {
        match v {
            [x] if x.is_real() => C64::real(g(x.re)),
            _ => C64::NAN,
        }
    };
    match f {
        Func::Sin => real1(f64::sin),
        Func::Cos => real1(f64::cos),
        Func::Tan => real1(f64::tan),
        Func::Cot => real1(|x| 1.0 / x.tan()),
        Func::Sec => real1(|x| 1.0 / x.cos()),
        Func::Csc => real1(|x| 1.0 / x.sin()),
        Func::Asin => real1(f64::asin),
        Func::Acos => real1(f64::acos),
        Func::Atan => real1(f64::atan),
        Func::Sinh => real1(f64::sinh),
        Func::Cosh => real1(f64::cosh),
        Func::Tanh => real1(f64::tanh),
        Func::Exp => match v {
            [x] => x.exp(),
            _ => C64::NAN,
        },
        Func::Ln => match v {
            [x] if x.is_real() && x.re > 0.0 => C64::real(x.re.ln()),
            [x] => x.ln(),
            _ => C64::NAN,
        },
        Func::Log => match v {
            [x] => x.ln().div(C64::real(10f64.ln())),
            [x, b] => x.ln().div(b.ln()),
            _ => C64::NAN,
        },
        Func::Root => match v {
            [x, n] if n.is_real() => {
                if x.is_real() && x.re < 0.0 && n.re.fract() == 0.0 && (n.re as i64) % 2 != 0 {
                    C64::real(-(-x.re).powf(1.0 / n.re))
                } else {
                    x.powc(C64::real(1.0 / n.re))
                }
            }
            _ => C64::NAN,
        },
        Func::Abs => match v {
            [x] => C64::real(x.abs()),
            _ => C64::NAN,
        },
        Func::Floor => real1(f64::floor),
        Func::Ceil => real1(f64::ceil),
        Func::Factorial => real1(gamma_int),
        Func::Binom => match v {
            [n, k] if n.is_real() && k.is_real() => {
                C64::real(gamma_int(n.re) / (gamma_int(k.re) * gamma_int(n.re - k.re)))
            }
            _ => C64::NAN,
        },
        Func::Gcd | Func::Lcm | Func::Sum | Func::Prod => C64::NAN,
    }
}

/// The name under which exact evaluation asks `env` for a transcendental constant (never
/// the name of a parsed variable). Identity testing treats pi and e as variables: a
/// rational function of pi (or of e) that vanishes at the constant vanishes identically,
/// as the constant is transcendental.
#[must_use]
pub fn const_name(c: Const) -> Option<&'static str> {
    match c {
        Const::Pi => Some("#pi"),
        Const::E => Some("#e"),
        Const::I | Const::Infinity => None,
    }
}

/// A rational with `i128` parts (`den > 0`, reduced): the fast path of exact evaluation at
/// small rational points. Every operation is checked; an overflow gives `None` and the
/// caller falls back to big rationals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmallQ {
    num: i128,
    den: i128,
}

fn gcd_i128(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    if let (Ok(x), Ok(y)) = (u64::try_from(a), u64::try_from(b)) {
        return i128::from(binary_gcd(x, y));
    }
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i128::try_from(a).unwrap_or(1)
}

/// Stein's binary gcd (no divisions).
fn binary_gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

impl SmallQ {
    pub const ZERO: SmallQ = SmallQ { num: 0, den: 1 };

    /// `num / den` reduced (`None` when `den` is zero or on overflow).
    #[must_use]
    pub fn new(num: i128, den: i128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let g = gcd_i128(num, den);
        let (mut n, mut d) = if g > 1 {
            (num / g, den / g)
        } else {
            (num, den)
        };
        if d < 0 {
            n = n.checked_neg()?;
            d = d.checked_neg()?;
        }
        Some(Self { num: n, den: d })
    }

    /// From a big rational that fits.
    #[must_use]
    pub fn from_big(q: &BigRational) -> Option<Self> {
        Some(Self {
            num: q.numer().to_i128()?,
            den: q.denom().to_i128()?,
        })
    }

    #[must_use]
    pub fn to_big(self) -> BigRational {
        BigRational::new_raw(BigInt::from(self.num), BigInt::from(self.den))
    }

    /// `self + o` (`None` on overflow).
    #[must_use]
    pub fn checked_add(self, o: Self) -> Option<Self> {
        if self.den == 1 && o.den == 1 {
            return Some(Self {
                num: self.num.checked_add(o.num)?,
                den: 1,
            });
        }
        let n = self
            .num
            .checked_mul(o.den)?
            .checked_add(o.num.checked_mul(self.den)?)?;
        Self::new(n, self.den.checked_mul(o.den)?)
    }

    /// `self * o` (`None` on overflow).
    #[must_use]
    pub fn checked_mul(self, o: Self) -> Option<Self> {
        if self.den == 1 && o.den == 1 {
            return Some(Self {
                num: self.num.checked_mul(o.num)?,
                den: 1,
            });
        }
        Self::new(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?)
    }

    /// `-self` (`None` on overflow).
    #[must_use]
    pub fn checked_neg(self) -> Option<Self> {
        Some(Self {
            num: self.num.checked_neg()?,
            den: self.den,
        })
    }

    /// `1 / self` (`None` for zero).
    #[must_use]
    pub fn recip(self) -> Option<Self> {
        Self::new(self.den, self.num)
    }

    /// -1, 0 or 1.
    #[must_use]
    pub fn signum(self) -> i128 {
        self.num.signum()
    }

    fn floor(self) -> Self {
        Self {
            num: self.num.div_euclid(self.den),
            den: 1,
        }
    }
}

/// Outcome of [`exact_small`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Small {
    Value(SmallQ),
    /// Division by zero (or `0^{-n}`).
    Undefined,
}

/// Exact value of a rational function (numbers, variables, `+ - * /`, integer powers,
/// `|.|`, floor, ceiling, units) in `i128` rationals; `None` on overflow or an unsupported
/// node (the caller then uses [`exact_env`]).
pub fn exact_small(e: &Expr, env: &dyn Fn(&str) -> Option<SmallQ>) -> Option<Small> {
    use Small::{Undefined, Value};
    let v = |x: &Expr| exact_small(x, env);
    Some(match e {
        Expr::Num(n) => Value(SmallQ::from_big(&n.value)?),
        Expr::Sym(s) => Value(env(s)?),
        Expr::Const(c) => Value(env(const_name(*c)?)?),
        Expr::Add(xs) | Expr::Mul(xs) => {
            let add = matches!(e, Expr::Add(_));
            let mut acc = SmallQ {
                num: i128::from(!add),
                den: 1,
            };
            let mut undefined = false;
            for x in xs {
                match v(x)? {
                    Value(y) => {
                        acc = if add {
                            acc.checked_add(y)?
                        } else {
                            acc.checked_mul(y)?
                        }
                    }
                    Undefined => undefined = true,
                }
            }
            if undefined {
                Undefined
            } else {
                Value(acc)
            }
        }
        Expr::Neg(a) => match v(a)? {
            Value(x) => Value(x.checked_neg()?),
            Undefined => Undefined,
        },
        Expr::Div(a, b) => match (v(a)?, v(b)?) {
            (Value(x), Value(y)) if y.num != 0 => Value(x.checked_mul(y.recip()?)?),
            _ => Undefined,
        },
        Expr::Pow(b, x) => {
            let Value(ex) = v(x)? else {
                return Some(Undefined);
            };
            if ex.den != 1 || ex.num.abs() > 256 {
                return None;
            }
            let Value(base) = v(b)? else {
                return Some(Undefined);
            };
            if base.num == 0 && ex.num < 0 {
                return Some(Undefined);
            }
            let mut acc = SmallQ { num: 1, den: 1 };
            for _ in 0..ex.num.unsigned_abs() {
                acc = acc.checked_mul(base)?;
            }
            Value(if ex.num < 0 { acc.recip()? } else { acc })
        }
        Expr::Func(f @ (Func::Abs | Func::Floor | Func::Ceil), args) if args.len() == 1 => {
            match v(&args[0])? {
                Value(x) => Value(match f {
                    Func::Abs => SmallQ {
                        num: x.num.checked_abs()?,
                        den: x.den,
                    },
                    Func::Floor => x.floor(),
                    // ceil(x) = -floor(-x)
                    _ => x.checked_neg()?.floor().checked_neg()?,
                }),
                Undefined => Undefined,
            }
        }
        Expr::Unit(a, _) => v(a)?,
        _ => return None,
    })
}
