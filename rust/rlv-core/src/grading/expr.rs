//! The answer AST: exact numbers, symbols, operators, functions and answer structures
//! (lists, sets, tuples, intervals, unions, matrices, relations, text).

use num_bigint::BigInt;
use num_rational::BigRational;

/// A written number: its exact value and, for decimals, how it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number {
    pub value: BigRational,
    /// Digits written after the decimal point (`None` for integers, fractions, repeating
    /// decimals and scientific notation with an integer mantissa).
    pub decimals: Option<u32>,
    /// Significant digits written.
    pub sig_digits: u32,
}

impl Number {
    #[must_use]
    pub fn int(v: i64) -> Self {
        Self {
            value: BigRational::from_integer(BigInt::from(v)),
            decimals: None,
            sig_digits: 0,
        }
    }
}

/// Named constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    Pi,
    E,
    I,
    Infinity,
}

/// Elementary functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    /// `\log`: base 10 unless a base is given (`\log_b`, stored as a second argument).
    Log,
    Exp,
    /// `\sqrt[n]{x}`: args `[x, n]` (n = 2 for plain `\sqrt`).
    Root,
    Abs,
    Floor,
    Ceil,
    Factorial,
    Binom,
    Gcd,
    Lcm,
    /// `\sum_{k=lo}^{hi} body`: args `[body, Sym(k), lo, hi]`.
    Sum,
    /// `\prod_{k=lo}^{hi} body`: args `[body, Sym(k), lo, hi]`.
    Prod,
}

/// Relation operators (chains like `a < b \le c` are kept as sequences).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Approx,
}

impl RelOp {
    /// The operator read right to left (`a < b` is `b > a`).
    #[must_use]
    pub fn flip(self) -> Self {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Le => RelOp::Ge,
            RelOp::Gt => RelOp::Lt,
            RelOp::Ge => RelOp::Le,
            o => o,
        }
    }
}

/// An expression or answer structure.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(Number),
    /// A variable (letters, greek letters, constant subscripts): `x`, `\alpha`, `x_1`.
    Sym(String),
    /// A term of a sequence with a variable index: `F_{n-k-1}`, `a_n`.
    Indexed(String, Box<Expr>),
    Const(Const),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Neg(Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Func(Func, Vec<Expr>),
    /// `x\%`.
    Percent(Box<Expr>),
    /// A quantity followed by a unit or words that do not change its value (`10 cm`,
    /// `5\text{ apples}`, `90^\circ`).
    Unit(Box<Expr>, String),
    /// `a \pm b`: the two values `a + b`, `a - b`.
    PlusMinus(Box<Expr>, Box<Expr>),
    /// A bare comma/`and`/`;` separated list of answers.
    List(Vec<Expr>),
    /// `\{a, b\}`.
    Set(Vec<Expr>),
    /// `(a, b, c)`; a 2-tuple may also be read as an open interval.
    Tuple(Vec<Expr>),
    Interval {
        lo: Box<Expr>,
        hi: Box<Expr>,
        lo_closed: bool,
        hi_closed: bool,
    },
    /// `A \cup B \cup ...`.
    Union(Vec<Expr>),
    Matrix(Vec<Vec<Expr>>),
    /// A relation chain: `operands.len() == ops.len() + 1`.
    Rel(Vec<Expr>, Vec<RelOp>),
    /// Plain text (names, words, multiple-choice letters), normalised.
    Text(String),
}

impl Expr {
    /// Number of nodes (used to bound work).
    #[must_use]
    pub fn size(&self) -> usize {
        1 + match self {
            Expr::Num(_) | Expr::Sym(_) | Expr::Const(_) | Expr::Text(_) => 0,
            Expr::Add(v)
            | Expr::Mul(v)
            | Expr::Func(_, v)
            | Expr::List(v)
            | Expr::Set(v)
            | Expr::Tuple(v)
            | Expr::Union(v)
            | Expr::Rel(v, _) => v.iter().map(Expr::size).sum(),
            Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) | Expr::Indexed(_, a) => a.size(),
            Expr::Div(a, b) | Expr::Pow(a, b) | Expr::PlusMinus(a, b) => a.size() + b.size(),
            Expr::Interval { lo, hi, .. } => lo.size() + hi.size(),
            Expr::Matrix(rows) => rows.iter().flatten().map(Expr::size).sum(),
        }
    }

    /// The same node with every direct child replaced by `f(child)` (leaves are cloned).
    #[must_use]
    pub fn map_children(&self, f: &dyn Fn(&Expr) -> Expr) -> Expr {
        let fv = |v: &[Expr]| v.iter().map(f).collect::<Vec<_>>();
        let fb = |a: &Expr| Box::new(f(a));
        match self {
            Expr::Num(_) | Expr::Sym(_) | Expr::Const(_) | Expr::Text(_) => self.clone(),
            Expr::Indexed(n, i) => Expr::Indexed(n.clone(), fb(i)),
            Expr::Add(v) => Expr::Add(fv(v)),
            Expr::Mul(v) => Expr::Mul(fv(v)),
            Expr::Func(g, v) => Expr::Func(*g, fv(v)),
            Expr::List(v) => Expr::List(fv(v)),
            Expr::Set(v) => Expr::Set(fv(v)),
            Expr::Tuple(v) => Expr::Tuple(fv(v)),
            Expr::Union(v) => Expr::Union(fv(v)),
            Expr::Rel(v, ops) => Expr::Rel(fv(v), ops.clone()),
            Expr::Neg(a) => Expr::Neg(fb(a)),
            Expr::Percent(a) => Expr::Percent(fb(a)),
            Expr::Unit(a, u) => Expr::Unit(fb(a), u.clone()),
            Expr::Div(a, b) => Expr::Div(fb(a), fb(b)),
            Expr::Pow(a, b) => Expr::Pow(fb(a), fb(b)),
            Expr::PlusMinus(a, b) => Expr::PlusMinus(fb(a), fb(b)),
            Expr::Interval {
                lo,
                hi,
                lo_closed,
                hi_closed,
            } => Expr::Interval {
                lo: fb(lo),
                hi: fb(hi),
                lo_closed: *lo_closed,
                hi_closed: *hi_closed,
            },
            Expr::Matrix(rows) => Expr::Matrix(rows.iter().map(|r| fv(r)).collect()),
        }
    }

    /// Whether this is an answer structure (not a single scalar expression).
    #[must_use]
    pub fn is_structure(&self) -> bool {
        matches!(
            self,
            Expr::List(_)
                | Expr::Set(_)
                | Expr::Tuple(_)
                | Expr::Interval { .. }
                | Expr::Union(_)
                | Expr::Matrix(_)
                | Expr::Rel(..)
                | Expr::PlusMinus(..)
                | Expr::Text(_)
        )
    }

    /// Collect the free variable names (sorted, deduplicated).
    pub fn free_vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Sym(s) => {
                if let Err(pos) = out.binary_search(s) {
                    out.insert(pos, s.clone());
                }
            }
            Expr::Num(_) | Expr::Const(_) | Expr::Text(_) => {}
            Expr::Indexed(name, idx) => {
                let key = format!("{name}[]");
                if let Err(pos) = out.binary_search(&key) {
                    out.insert(pos, key);
                }
                idx.free_vars(out);
            }
            Expr::Func(Func::Sum | Func::Prod, v) if v.len() == 4 => {
                // The summation variable is bound.
                let mut inner = Vec::new();
                v[0].free_vars(&mut inner);
                let bound = match &v[1] {
                    Expr::Sym(s) => Some(s.as_str()),
                    _ => None,
                };
                for name in inner {
                    if Some(name.as_str()) != bound {
                        if let Err(pos) = out.binary_search(&name) {
                            out.insert(pos, name);
                        }
                    }
                }
                v[2].free_vars(out);
                v[3].free_vars(out);
            }
            Expr::Add(v)
            | Expr::Mul(v)
            | Expr::Func(_, v)
            | Expr::List(v)
            | Expr::Set(v)
            | Expr::Tuple(v)
            | Expr::Union(v)
            | Expr::Rel(v, _) => v.iter().for_each(|e| e.free_vars(out)),
            Expr::Neg(a) | Expr::Percent(a) | Expr::Unit(a, _) => a.free_vars(out),
            Expr::Div(a, b) | Expr::Pow(a, b) | Expr::PlusMinus(a, b) => {
                a.free_vars(out);
                b.free_vars(out);
            }
            Expr::Interval { lo, hi, .. } => {
                lo.free_vars(out);
                hi.free_vars(out);
            }
            Expr::Matrix(rows) => rows.iter().flatten().for_each(|e| e.free_vars(out)),
        }
    }
}
