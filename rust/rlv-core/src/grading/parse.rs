//! Recursive-descent parser: tokens -> [`Expr`].
//!
//! Grammar (loosest first):
//! ```text
//! list    := item ((',' | ';' | 'and' | 'or') item)*
//! item    := rel | rel '\in' union            (x \in S reads as S)
//! rel     := union (relop union)*
//! union   := sum ('\cup' sum)*
//! sum     := term (('+' | '-' | '\pm' | '\mp') term)*
//! term    := unary (('*' | '/' | ':' | juxtaposition) unary)*
//! unary   := ('-' | '+') unary | power
//! power   := postfix ('^' exponent)?          (right associative)
//! postfix := atom ('!' | '%' | '°' | '_' sub | "'")*
//! ```
//! TeX argument rules are followed for `\frac12` (= 1/2) and `\sqrt 10` (= sqrt(1)*0); a
//! multi-digit exponent `2^10` is read as 2^10 (the ASCII reading, which is what models mean).
//! Depth is bounded by [`MAX_DEPTH`]; running past it is a budget error, not a stack overflow.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::One;

use super::budget::{Budget, MAX_DEPTH};
use super::expr::{Const, Expr, Func, Number, RelOp};
use super::lexer::{tokenize, LexError, Tok};

/// Why a span could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not math we can read.
    Invalid,
    /// Too large / too deep / out of fuel.
    Budget,
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        match e {
            LexError::Invalid => ParseError::Invalid,
            LexError::TooBig => ParseError::Budget,
        }
    }
}

type PResult<T> = Result<T, ParseError>;

const FUNCS: &[(&str, Func)] = &[
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("tan", Func::Tan),
    ("tg", Func::Tan),
    ("cot", Func::Cot),
    ("sec", Func::Sec),
    ("csc", Func::Csc),
    ("arcsin", Func::Asin),
    ("arccos", Func::Acos),
    ("arctan", Func::Atan),
    ("sinh", Func::Sinh),
    ("cosh", Func::Cosh),
    ("tanh", Func::Tanh),
    ("ln", Func::Ln),
    ("log", Func::Log),
    ("lg", Func::Log),
    ("exp", Func::Exp),
    ("gcd", Func::Gcd),
    ("lcm", Func::Lcm),
    ("abs", Func::Abs),
    ("floor", Func::Floor),
    ("ceil", Func::Ceil),
];

const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
];

/// Two-letter words that are units rather than a product of two variables.
const SHORT_UNITS: &[&str] = &[
    "cm", "mm", "km", "ft", "kg", "lb", "oz", "hr", "mi", "yd", "ml", "mL", "cc", "mg", "ms", "kW",
    "Hz", "pm", "am", "sq", "in",
];

/// Decorations whose argument is read as-is (`\vec{v}` is `v`).
const DECORATIONS: &[&str] = &[
    "vec",
    "hat",
    "bar",
    "tilde",
    "widehat",
    "widetilde",
    "overline",
    "underline",
    "dot",
    "ddot",
    "overrightarrow",
    "mathring",
];

struct Parser<'b> {
    /// `;` at depth 0 separates groups instead of items.
    semicolon_groups: bool,
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    budget: &'b mut Budget,
}

fn is_int_num(n: &Number) -> bool {
    n.decimals.is_none() && n.value.is_integer()
}

fn word_func(w: &str) -> Option<Func> {
    FUNCS.iter().find(|(n, _)| *n == w).map(|(_, f)| *f)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn at_op(&self, c: char) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == c)
    }

    fn eat_op(&mut self, c: char) -> bool {
        if self.at_op(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_cmd(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(x)) if x == name)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::Budget);
        }
        self.budget.spend(1).map_err(|_| ParseError::Budget)
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn is_separator(&self) -> bool {
        match self.peek() {
            Some(Tok::Op(',')) => true,
            Some(Tok::Op(';')) => !self.semicolon_groups || self.depth > 0,
            Some(Tok::Word(w)) => matches!(w.to_ascii_lowercase().as_str(), "and" | "or"),
            Some(Tok::Text(t)) => {
                let t = t.trim();
                t.is_empty() || matches!(t.to_ascii_lowercase().as_str(), "and" | "or" | "," | ";")
            }
            _ => false,
        }
    }

    /// The word of a separator token (`or`, `and`), lowercased; `None` for punctuation.
    fn separator_word(&self) -> Option<String> {
        let w = match self.peek()? {
            Tok::Word(w) => w.to_ascii_lowercase(),
            Tok::Text(t) => t.trim().to_ascii_lowercase(),
            _ => return None,
        };
        matches!(w.as_str(), "and" | "or").then_some(w)
    }

    // list := item (sep item)*
    fn list(&mut self, closers: &[char]) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        // The word of every gap between two items (`None`: punctuation only).
        let mut joins: Vec<Option<String>> = Vec::new();
        loop {
            let mut word = None;
            while self.is_separator() {
                if let Some(w) = self.separator_word() {
                    word = Some(w);
                }
                self.pos += 1;
            }
            if !items.is_empty() {
                joins.push(word);
            }
            match self.peek() {
                None => break,
                Some(Tok::Op(c)) if closers.contains(c) => break,
                Some(Tok::RSet | Tok::End(_)) => break,
                _ => {}
            }
            let before = self.pos;
            items.push(self.item()?);
            if self.pos == before {
                return Err(ParseError::Invalid);
            }
            if !self.is_separator() {
                break;
            }
        }
        joins.truncate(items.len().saturating_sub(1));
        Ok(join_inequalities(items, &joins))
    }

    fn item(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.rel();
        self.leave();
        r
    }

    fn relop(&self) -> Option<RelOp> {
        match self.peek()? {
            Tok::Op('=') => Some(RelOp::Eq),
            Tok::Op('<') => Some(RelOp::Lt),
            Tok::Op('>') => Some(RelOp::Gt),
            Tok::Le => Some(RelOp::Le),
            Tok::Ge => Some(RelOp::Ge),
            Tok::Ne => Some(RelOp::Ne),
            Tok::Approx => Some(RelOp::Approx),
            Tok::Cmd(c) if c == "equiv" || c == "coloneqq" => Some(RelOp::Eq),
            _ => None,
        }
    }

    fn rel(&mut self) -> PResult<Expr> {
        let first = self.union()?;
        if self.at_cmd("in") {
            self.pos += 1;
            return self.union();
        }
        self.rel_from(first)
    }

    /// The rest of a relation chain whose first operand is read.
    fn rel_from(&mut self, first: Expr) -> PResult<Expr> {
        let mut operands = vec![first];
        let mut ops = Vec::new();
        while let Some(op) = self.relop() {
            self.pos += 1;
            ops.push(op);
            operands.push(self.union()?);
        }
        if ops.is_empty() {
            Ok(operands.pop().unwrap_or(Expr::List(vec![])))
        } else {
            Ok(Expr::Rel(operands, ops))
        }
    }

    fn union(&mut self) -> PResult<Expr> {
        let first = self.sum()?;
        if !self.at_cmd("cup") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.at_cmd("cup") {
            self.pos += 1;
            parts.push(self.sum()?);
        }
        Ok(Expr::Union(parts))
    }

    fn sum(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.sum_inner();
        self.leave();
        r
    }

    fn sum_inner(&mut self) -> PResult<Expr> {
        let mut terms: Vec<Expr> = Vec::new();
        let mut pm: Option<(Expr, Expr)> = None;
        // Leading \pm: `\pm 3`.
        if self.at_cmd("pm") || self.at_cmd("mp") {
            self.pos += 1;
            let t = self.term()?;
            pm = Some((Expr::Num(Number::int(0)), t));
        } else {
            terms.push(self.term()?);
        }
        loop {
            match self.peek() {
                Some(Tok::Op('+')) => {
                    self.pos += 1;
                    terms.push(self.term()?);
                }
                Some(Tok::Op('-')) => {
                    self.pos += 1;
                    let t = self.term()?;
                    terms.push(Expr::Neg(Box::new(t)));
                }
                Some(Tok::Cmd(c)) if c == "pm" || c == "mp" => {
                    self.pos += 1;
                    let t = self.term()?;
                    let base = match terms.len() {
                        0 => Expr::Num(Number::int(0)),
                        1 => terms.pop().unwrap_or(Expr::List(vec![])),
                        _ => Expr::Add(std::mem::take(&mut terms)),
                    };
                    if pm.is_some() {
                        return Err(ParseError::Invalid);
                    }
                    pm = Some((base, t));
                }
                _ => break,
            }
        }
        let body = match terms.len() {
            0 => None,
            1 => terms.pop(),
            _ => Some(Expr::Add(terms)),
        };
        Ok(match (pm, body) {
            (Some((a, b)), None) => Expr::PlusMinus(Box::new(a), Box::new(b)),
            // `a \pm b + c`: fold the tail into the centre.
            (Some((a, b)), Some(rest)) => {
                Expr::PlusMinus(Box::new(Expr::Add(vec![a, rest])), Box::new(b))
            }
            (None, Some(e)) => e,
            (None, None) => return Err(ParseError::Invalid),
        })
    }

    /// Can the next token start an implicit factor?
    fn starts_factor(&self) -> bool {
        match self.peek() {
            Some(Tok::Num(_) | Tok::Letter(_) | Tok::LSet | Tok::Begin(_)) => true,
            Some(Tok::Word(w)) => !matches!(w.to_ascii_lowercase().as_str(), "and" | "or"),
            Some(Tok::Text(t)) => {
                let t = t.trim().to_ascii_lowercase();
                !(t.is_empty() || matches!(t.as_str(), "and" | "or" | "," | ";"))
            }
            Some(Tok::Op('(' | '{')) => true,
            Some(Tok::Cmd(c)) => !matches!(
                c.as_str(),
                "cup"
                    | "cap"
                    | "in"
                    | "pm"
                    | "mp"
                    | "to"
                    | "rightarrow"
                    | "implies"
                    | "iff"
                    | "setminus"
                    | "notin"
                    | "equiv"
                    | "coloneqq"
                    | "rfloor"
                    | "rceil"
                    | "Rightarrow"
                    | "Longrightarrow"
                    | "quad"
                    | "text"
            ),
            _ => false,
        }
    }

    fn term(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.term_inner();
        self.leave();
        r
    }

    fn term_inner(&mut self) -> PResult<Expr> {
        let mut acc = self.unary()?;
        loop {
            self.budget.spend(1).map_err(|_| ParseError::Budget)?;
            if self.eat_op('*') {
                let r = self.unary()?;
                acc = mul(acc, r);
            } else if self.eat_op('/') || self.eat_op(':') {
                let r = self.unary()?;
                acc = Expr::Div(Box::new(acc), Box::new(r));
            } else if self.starts_factor() {
                let r = self.unary()?;
                acc = mul(acc, r);
            } else {
                break;
            }
        }
        Ok(acc)
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = if self.eat_op('-') {
            self.unary().map(|e| Expr::Neg(Box::new(e)))
        } else if self.eat_op('+') {
            self.unary()
        } else {
            self.power()
        };
        self.leave();
        r
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.postfix()?;
        if !self.at_op('^') {
            return Ok(base);
        }
        self.pos += 1;
        // Degree sign written as an exponent: `90^\circ`, `90^{\circ}`.
        if matches!(self.peek(), Some(Tok::Degree)) {
            self.pos += 1;
            return self.after_postfix(Expr::Unit(Box::new(base), "degree".into()));
        }
        if self.at_op('{')
            && matches!(self.toks.get(self.pos + 1), Some(Tok::Degree))
            && matches!(self.toks.get(self.pos + 2), Some(Tok::Op('}')))
        {
            self.pos += 3;
            return self.after_postfix(Expr::Unit(Box::new(base), "degree".into()));
        }
        self.enter()?;
        let exp = if self.at_op('{') {
            self.tex_arg()
        } else if self.eat_op('-') {
            self.power().map(|e| Expr::Neg(Box::new(e)))
        } else {
            self.eat_op('+');
            self.power()
        };
        self.leave();
        let exp = exp?;
        Ok(Expr::Pow(Box::new(base), Box::new(exp)))
    }

    fn after_postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            match self.peek() {
                Some(Tok::Op('!')) => {
                    self.pos += 1;
                    e = Expr::Func(Func::Factorial, vec![e]);
                }
                Some(Tok::Percent) => {
                    self.pos += 1;
                    e = Expr::Percent(Box::new(e));
                }
                Some(Tok::Word(w)) if matches!(w.as_str(), "percent" | "percentage" | "pct") => {
                    self.pos += 1;
                    e = Expr::Percent(Box::new(e));
                }
                Some(Tok::Degree) => {
                    self.pos += 1;
                    e = Expr::Unit(Box::new(e), "degree".into());
                }
                Some(Tok::Op('\'')) => {
                    self.pos += 1;
                    e = match e {
                        Expr::Sym(s) => Expr::Sym(format!("{s}'")),
                        other => other,
                    };
                }
                Some(Tok::Op('_')) => {
                    self.pos += 1;
                    let sub = self.tex_arg()?;
                    let name = match &e {
                        Expr::Sym(s) => s.clone(),
                        Expr::Num(n) => n.value.to_string(),
                        Expr::Const(Const::E) => "e".into(),
                        Expr::Const(Const::I) => "i".into(),
                        Expr::Const(Const::Pi) => "pi".into(),
                        _ => return Err(ParseError::Invalid),
                    };
                    e = match (&e, &sub) {
                        // `F_n`, `a_{n-k-1}`: a term of a sequence with a variable index.
                        (Expr::Sym(_), s) if !matches!(s, Expr::Num(_) | Expr::Text(_)) => {
                            Expr::Indexed(name, Box::new(sub))
                        }
                        _ => Expr::Sym(format!("{name}_{}", canon_sub(&sub))),
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let a = self.atom()?;
        self.after_postfix(a)
    }

    /// One TeX macro argument: a braced group, or a single token (a single digit of a
    /// multi-digit number, as TeX does).
    fn tex_arg(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.tex_arg_inner();
        self.leave();
        r
    }

    fn tex_arg_inner(&mut self) -> PResult<Expr> {
        match self.peek().cloned() {
            Some(Tok::Op('{')) => {
                self.pos += 1;
                let items = self.list(&['}'])?;
                if !self.eat_op('}') {
                    return Err(ParseError::Invalid);
                }
                one_or_list(items)
            }
            Some(Tok::Num(n)) if is_int_num(&n) => {
                let digits = n.value.to_string();
                if digits.len() > 1 && !digits.starts_with('-') {
                    let (first, rest) = digits.split_at(1);
                    let rest_val: BigInt = rest.parse().unwrap_or_default();
                    self.toks[self.pos] = Tok::Num(Number {
                        value: BigRational::from_integer(rest_val),
                        decimals: None,
                        sig_digits: u32::try_from(rest.len()).unwrap_or(0),
                    });
                    let f: i64 = first.parse().unwrap_or(0);
                    Ok(Expr::Num(Number::int(f)))
                } else {
                    self.pos += 1;
                    Ok(Expr::Num(n))
                }
            }
            Some(Tok::Word(w)) => {
                // `\frac ab`: the first letter only.
                let mut chars = w.chars();
                let first = chars.next().unwrap_or('x');
                let rest: String = chars.collect();
                if rest.len() == 1 {
                    self.toks[self.pos] = Tok::Letter(rest.chars().next().unwrap_or('x'));
                } else {
                    self.toks[self.pos] = Tok::Word(rest);
                }
                Ok(letter_expr(first))
            }
            Some(_) => self.postfix_no_power(),
            None => Err(ParseError::Invalid),
        }
    }

    fn postfix_no_power(&mut self) -> PResult<Expr> {
        self.atom()
    }

    /// The argument of `\sin`, `\log`, ...: a parenthesised group or a tight product.
    fn func_arg(&mut self) -> PResult<Expr> {
        // A bracketed argument ends at its bracket: `\cos(x)^2` is `(\cos x)^2`, as
        // `\cos^2(x)` is (the power is read by the caller, on the function value).
        if self.at_op('(') || self.at_op('{') || self.at_op('[') {
            return self.atom();
        }
        let mut acc = self.power()?;
        while matches!(
            self.peek(),
            Some(Tok::Num(_) | Tok::Letter(_) | Tok::Cmd(_))
        ) && self.starts_factor()
            && !self.at_func()
        {
            let r = self.power()?;
            acc = mul(acc, r);
        }
        Ok(acc)
    }

    fn at_func(&self) -> bool {
        match self.peek() {
            Some(Tok::Cmd(c)) => word_func(c).is_some(),
            _ => false,
        }
    }

    fn func_call(&mut self, f: Func) -> PResult<Expr> {
        // Optional power on the function name (`\sin^2 x`) and base (`\log_2 8`).
        let mut fpow = None;
        let mut base = None;
        for _ in 0..2 {
            if self.eat_op('^') {
                fpow = Some(self.tex_arg()?);
            } else if self.eat_op('_') {
                base = Some(self.tex_arg()?);
            }
        }
        let arg = match f {
            Func::Gcd | Func::Lcm => {
                if !self.eat_op('(') {
                    return Err(ParseError::Invalid);
                }
                let items = self.list(&[')'])?;
                if !self.eat_op(')') {
                    return Err(ParseError::Invalid);
                }
                let mut e = Expr::Func(f, items);
                if let Some(p) = fpow {
                    e = Expr::Pow(Box::new(e), Box::new(p));
                }
                return Ok(e);
            }
            _ => self.func_arg()?,
        };
        let mut args = vec![arg];
        if let Some(b) = base {
            args.push(b);
        }
        let mut e = Expr::Func(f, args);
        if let Some(p) = fpow {
            // `\sin^{-1} x` is arcsin.
            if let Expr::Neg(inner) = &p {
                if matches!(&**inner, Expr::Num(n) if n.value.is_one()) {
                    let inv = match f {
                        Func::Sin => Some(Func::Asin),
                        Func::Cos => Some(Func::Acos),
                        Func::Tan => Some(Func::Atan),
                        _ => None,
                    };
                    if let Some(g) = inv {
                        if let Expr::Func(_, a) = e {
                            return Ok(Expr::Func(g, a));
                        }
                    }
                }
            }
            e = Expr::Pow(Box::new(e), Box::new(p));
        }
        Ok(e)
    }

    /// `\sum_{k=a}^{b} body` (limits in either order); the body is one term.
    fn series(&mut self, f: Func) -> PResult<Expr> {
        let (mut lower, mut upper) = (None, None);
        for _ in 0..2 {
            if self.eat_op('_') {
                lower = Some(self.tex_arg()?);
            } else if self.eat_op('^') {
                upper = Some(self.tex_arg()?);
            }
        }
        let (Some(Expr::Rel(lv, ops)), Some(hi)) = (lower, upper) else {
            return Err(ParseError::Invalid);
        };
        let ([Expr::Sym(var), lo], [RelOp::Eq]) = (lv.as_slice(), ops.as_slice()) else {
            return Err(ParseError::Invalid);
        };
        let body = self.term()?;
        Ok(Expr::Func(
            f,
            vec![body, Expr::Sym(var.clone()), lo.clone(), hi],
        ))
    }

    fn group(&mut self, open: char) -> PResult<Expr> {
        let closers: &[char] = match open {
            '(' | '[' => &[')', ']'],
            _ => &['}'],
        };
        let items = self.list(closers)?;
        let close = match self.bump() {
            Some(Tok::Op(c)) if closers.contains(&c) => c,
            _ => return Err(ParseError::Invalid),
        };
        if open == '{' {
            // `{1, 2, 3}` written with plain braces is meant as a set.
            return if items.len() >= 2 {
                Ok(Expr::Set(items))
            } else {
                one_or_list(items)
            };
        }
        let n = items.len();
        match (open, close, n) {
            (_, _, 0) => Err(ParseError::Invalid),
            ('(', ')', 1) | ('[', ']', 1) => {
                Ok(items.into_iter().next().unwrap_or(Expr::List(vec![])))
            }
            ('(', ')', 2) => Ok(Expr::Tuple(items)),
            (_, _, 2) => {
                let mut it = items.into_iter();
                let lo = it.next().unwrap_or(Expr::List(vec![]));
                let hi = it.next().unwrap_or(Expr::List(vec![]));
                Ok(Expr::Interval {
                    lo: Box::new(lo),
                    hi: Box::new(hi),
                    lo_closed: open == '[',
                    hi_closed: close == ']',
                })
            }
            ('(', ')', _) | ('[', ']', _) => Ok(Expr::Tuple(items)),
            _ => Err(ParseError::Invalid),
        }
    }

    fn matrix(&mut self, env: &str) -> PResult<Expr> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        let mut row: Vec<Expr> = Vec::new();
        while !self.env_end(env)? {
            match self.peek() {
                Some(Tok::Op('&')) => self.pos += 1,
                Some(Tok::RowSep) => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                _ => {
                    let before = self.pos;
                    row.push(self.item()?);
                    if self.pos == before {
                        return Err(ParseError::Invalid);
                    }
                }
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(ParseError::Invalid);
        }
        Ok(Expr::Matrix(rows))
    }

    /// At the `\end{env}` of the environment being read: consume it and say so. Every call
    /// spends fuel; the end of input or another environment's `\end` is an error.
    fn env_end(&mut self, env: &str) -> PResult<bool> {
        self.budget.spend(1).map_err(|_| ParseError::Budget)?;
        match self.peek() {
            None => Err(ParseError::Invalid),
            Some(Tok::End(e)) if e == env => {
                self.pos += 1;
                Ok(true)
            }
            Some(Tok::End(_)) => Err(ParseError::Invalid),
            Some(_) => Ok(false),
        }
    }

    /// `\begin{cases} x = 1 \\ y = 2 \end{cases}`: a system, read as the list of its rows
    /// (`x = 1, y = 2`). An alignment `&` next to a relation (`x &= 1`) is layout. A row that
    /// still has two cells is a piecewise definition (`x & x > 0`), which is not read.
    fn cases(&mut self, env: &str) -> PResult<Expr> {
        let mut rows: Vec<Expr> = Vec::new();
        let mut cells = 0usize;
        while !self.env_end(env)? {
            match self.peek() {
                Some(Tok::RowSep) => {
                    self.pos += 1;
                    cells = 0;
                }
                Some(Tok::Op('&')) => {
                    self.pos += 1;
                    if self.relop().is_none() {
                        cells += 1;
                    } else if let Some(Expr::Rel(..)) | None = rows.last() {
                        return Err(ParseError::Invalid);
                    } else {
                        // `x &= 1`: continue the row's relation.
                        let lhs = rows.pop().unwrap_or(Expr::List(vec![]));
                        rows.push(self.rel_from(lhs)?);
                    }
                }
                _ => {
                    if cells > 0 {
                        return Err(ParseError::Invalid);
                    }
                    let before = self.pos;
                    let items = self.list(&[])?;
                    if self.pos == before {
                        return Err(ParseError::Invalid);
                    }
                    rows.extend(items);
                }
            }
        }
        one_or_list(rows)
    }

    fn atom(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.atom_inner();
        self.leave();
        r
    }

    #[allow(clippy::too_many_lines)]
    fn atom_inner(&mut self) -> PResult<Expr> {
        let Some(t) = self.bump() else {
            return Err(ParseError::Invalid);
        };
        match t {
            Tok::Num(n) => Ok(self.mixed_number(n)),
            Tok::Letter(c) => Ok(letter_expr(c)),
            Tok::Word(w) => self.word(&w),
            Tok::Text(t) => Ok(text_expr(&t)),
            Tok::Op(c @ ('(' | '[' | '{')) => self.group(c),
            Tok::Op('|') => {
                let inner = self.sum()?;
                if !self.eat_op('|') {
                    return Err(ParseError::Invalid);
                }
                Ok(Expr::Func(Func::Abs, vec![inner]))
            }
            Tok::LSet => {
                let items = self.list(&[])?;
                if !matches!(self.bump(), Some(Tok::RSet)) {
                    return Err(ParseError::Invalid);
                }
                Ok(Expr::Set(items))
            }
            Tok::Begin(env) => match env.trim_end_matches('*') {
                "pmatrix" | "bmatrix" | "Bmatrix" | "vmatrix" | "Vmatrix" | "matrix"
                | "smallmatrix" | "array" => self.matrix(&env),
                "cases" | "dcases" | "rcases" => self.cases(&env),
                _ => Err(ParseError::Invalid),
            },
            Tok::Cmd(c) => self.command(&c),
            _ => Err(ParseError::Invalid),
        }
    }

    /// An integer directly followed by a numeric fraction is a mixed number:
    /// `2\frac{1}{2}` and `2\frac12` are 5/2 (anywhere, also after `\cdot`). Anything else
    /// juxtaposed is a product.
    fn mixed_number(&mut self, whole: Number) -> Expr {
        if !is_int_num(&whole) {
            return Expr::Num(whole);
        }
        let t = |k: usize| self.toks.get(self.pos + k);
        let is_frac =
            matches!(t(0), Some(Tok::Cmd(c)) if matches!(c.as_str(), "frac" | "dfrac" | "tfrac"));
        if !is_frac {
            return Expr::Num(whole);
        }
        let int_at = |k: usize| match t(k) {
            Some(Tok::Num(n)) if is_int_num(n) => Some(n.clone()),
            _ => None,
        };
        let braced = matches!(t(1), Some(Tok::Op('{')))
            && matches!(t(3), Some(Tok::Op('}')))
            && matches!(t(4), Some(Tok::Op('{')))
            && matches!(t(6), Some(Tok::Op('}')));
        let (num, den, used) = if braced {
            match (int_at(2), int_at(5)) {
                (Some(a), Some(b)) => (a, b, 7),
                _ => return Expr::Num(whole),
            }
        } else {
            // TeX style `\frac12`: two single digits.
            match int_at(1) {
                Some(n) if n.value.to_string().len() == 2 => {
                    let digits = n.value.to_string();
                    let d = |k: usize| i64::from(digits.as_bytes()[k] - b'0');
                    (Number::int(d(0)), Number::int(d(1)), 2)
                }
                _ => return Expr::Num(whole),
            }
        };
        self.pos += used;
        Expr::Add(vec![
            Expr::Num(whole),
            Expr::Div(Box::new(Expr::Num(num)), Box::new(Expr::Num(den))),
        ])
    }

    fn word(&mut self, w: &str) -> PResult<Expr> {
        let lower = w.to_ascii_lowercase();
        if let Some(f) = word_func(&lower) {
            return self.func_call(f);
        }
        match lower.as_str() {
            "pi" => return Ok(Expr::Const(Const::Pi)),
            "inf" | "infty" | "infinity" | "oo" => return Ok(Expr::Const(Const::Infinity)),
            "sqrt" => {
                let a = self.func_arg()?;
                return Ok(Expr::Func(Func::Root, vec![a, Expr::Num(Number::int(2))]));
            }
            _ => {}
        }
        if w.len() >= 3 || SHORT_UNITS.contains(&w) {
            return Ok(Expr::Text(lower));
        }
        // Two letters: an implicit product (`xy`).
        let mut chars = w.chars();
        let a = chars.next().unwrap_or('x');
        let b = chars.next().unwrap_or('x');
        Ok(mul(letter_expr(a), letter_expr(b)))
    }

    #[allow(clippy::too_many_lines)]
    fn command(&mut self, c: &str) -> PResult<Expr> {
        if let Some(f) = word_func(c) {
            return self.func_call(f);
        }
        match c {
            "frac" | "dfrac" | "tfrac" | "cfrac" | "flatfrac" => {
                let n = self.tex_arg()?;
                let d = self.tex_arg()?;
                Ok(Expr::Div(Box::new(n), Box::new(d)))
            }
            "binom" | "dbinom" | "tbinom" | "choose" => {
                let n = self.tex_arg()?;
                let k = self.tex_arg()?;
                Ok(Expr::Func(Func::Binom, vec![n, k]))
            }
            "sqrt" => {
                let mut index = Expr::Num(Number::int(2));
                if self.eat_op('[') {
                    let items = self.list(&[']'])?;
                    if !self.eat_op(']') {
                        return Err(ParseError::Invalid);
                    }
                    index = one_or_list(items)?;
                }
                let x = if self.at_op('(') {
                    self.postfix()?
                } else {
                    self.tex_arg()?
                };
                Ok(Expr::Func(Func::Root, vec![x, index]))
            }
            "sum" | "prod" => self.series(if c == "sum" { Func::Sum } else { Func::Prod }),
            "pi" => Ok(Expr::Const(Const::Pi)),
            "infty" | "infin" | "infinity" => Ok(Expr::Const(Const::Infinity)),
            "emptyset" | "varnothing" => Ok(Expr::Set(vec![])),
            "imath" => Ok(Expr::Const(Const::I)),
            "lfloor" | "lceil" => {
                let inner = self.sum()?;
                let close = if c == "lfloor" { "rfloor" } else { "rceil" };
                if !self.at_cmd(close) {
                    return Err(ParseError::Invalid);
                }
                self.pos += 1;
                let f = if c == "lfloor" {
                    Func::Floor
                } else {
                    Func::Ceil
                };
                Ok(Expr::Func(f, vec![inner]))
            }
            "pmod" | "bmod" | "mod" => {
                let m = self.tex_arg()?;
                Ok(Expr::Text(format!("mod {}", canon_sub(&m))))
            }
            "pm" | "mp" => {
                let t = self.term()?;
                Ok(Expr::PlusMinus(
                    Box::new(Expr::Num(Number::int(0))),
                    Box::new(t),
                ))
            }
            _ if DECORATIONS.contains(&c) => self.tex_arg(),
            _ if GREEK.contains(&c) => Ok(Expr::Sym(c.to_string())),
            _ => Err(ParseError::Invalid),
        }
    }
}

/// Inequalities in one variable joined by words: `x \ge 1 \text{ or } x \le 0` is the union
/// of their solution sets, `x > 1 \text{ and } x < 3` (a lower and an upper bound) the chain
/// `1 < x < 3`. Anything else is left as a list.
fn join_inequalities(items: Vec<Expr>, joins: &[Option<String>]) -> Vec<Expr> {
    if items.len() < 2 || joins.len() + 1 != items.len() {
        return items;
    }
    let all = |w: &str| joins.iter().all(|j| j.as_deref() == Some(w));
    let mut var: Option<String> = None;
    let mut bounds = Vec::with_capacity(items.len());
    for it in &items {
        let Some((x, op, c)) = one_var_inequality(it) else {
            return items;
        };
        if var.as_ref().is_some_and(|v| *v != x) {
            return items;
        }
        var = Some(x);
        bounds.push((op, c));
    }
    let Some(x) = var else { return items };
    if all("or") {
        return vec![Expr::Union(items)];
    }
    if all("and") {
        if let [(o1, c1), (o2, c2)] = bounds.as_slice() {
            let lower = |o: RelOp| matches!(o, RelOp::Gt | RelOp::Ge);
            let upper = |o: RelOp| matches!(o, RelOp::Lt | RelOp::Le);
            let ((lo_op, lo), (hi_op, hi)) = if lower(*o1) && upper(*o2) {
                ((*o1, c1), (*o2, c2))
            } else if upper(*o1) && lower(*o2) {
                ((*o2, c2), (*o1, c1))
            } else {
                return items;
            };
            return vec![Expr::Rel(
                vec![lo.clone(), Expr::Sym(x), hi.clone()],
                vec![lo_op.flip(), hi_op],
            )];
        }
    }
    items
}

/// `x op c` or `c op x` with `x` a variable and `c` constant: `(x, op as x op c, c)`.
fn one_var_inequality(e: &Expr) -> Option<(String, RelOp, Expr)> {
    let Expr::Rel(v, ops) = e else { return None };
    let ([a, b], [op]) = (v.as_slice(), ops.as_slice()) else {
        return None;
    };
    if !matches!(op, RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge) {
        return None;
    }
    let constant = |e: &Expr| {
        let mut vars = Vec::new();
        e.free_vars(&mut vars);
        vars.is_empty()
    };
    match (a, b) {
        (Expr::Sym(x), c) if constant(c) => Some((x.clone(), *op, c.clone())),
        (c, Expr::Sym(x)) if constant(c) => Some((x.clone(), op.flip(), c.clone())),
        _ => None,
    }
}

fn mul(a: Expr, b: Expr) -> Expr {
    match a {
        Expr::Mul(mut v) => {
            v.push(b);
            Expr::Mul(v)
        }
        a => Expr::Mul(vec![a, b]),
    }
}

fn letter_expr(c: char) -> Expr {
    match c {
        'e' => Expr::Const(Const::E),
        'i' => Expr::Const(Const::I),
        'π' => Expr::Const(Const::Pi),
        c => Expr::Sym(c.to_string()),
    }
}

fn one_or_list(mut items: Vec<Expr>) -> PResult<Expr> {
    match items.len() {
        0 => Err(ParseError::Invalid),
        1 => Ok(items.pop().unwrap_or(Expr::List(vec![]))),
        _ => Ok(Expr::List(items)),
    }
}

/// Plain text content of `\text{...}`: a number if it is one, else normalised words.
fn text_expr(t: &str) -> Expr {
    let trimmed = t.trim();
    if let Ok(toks) = tokenize(trimmed) {
        if let [Tok::Num(n)] = toks.as_slice() {
            return Expr::Num(n.clone());
        }
    }
    Expr::Text(normalize_text(trimmed))
}

/// Lowercase, keep letters, digits and single spaces.
#[must_use]
pub fn normalize_text(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut space = false;
    for ch in t.chars() {
        if ch.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(ch.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

fn canon_sub(e: &Expr) -> String {
    match e {
        Expr::Num(n) => n.value.to_string(),
        Expr::Sym(s) => s.clone(),
        Expr::Const(Const::E) => "e".into(),
        Expr::Const(Const::I) => "i".into(),
        Expr::Const(Const::Pi) => "pi".into(),
        Expr::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// A span that is only a number written with a decimal comma (`1000,99`, `0,111`, `2,74`),
/// rewritten with a point. `1,000` (a thousands separator) and `-2,1` (one digit after the
/// comma: read as a list) are not.
#[must_use]
pub fn decimal_comma(s: &str) -> Option<String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let (a, b) = body.split_once(',')?;
    if a.is_empty() || b.is_empty() || !a.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !b.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `1,000` is a thousands separator; `-2,1` is a list of two answers.
    let zero_head = a == "0";
    if !(zero_head || b.len() == 2 || (b.len() >= 4 && a.len() >= 4)) {
        return None;
    }
    Some(format!("{}{a}.{b}", if neg { "-" } else { "" }))
}

/// Parse an answer span into an [`Expr`].
///
/// # Errors
/// [`ParseError::Invalid`] for text that is not math we read; [`ParseError::Budget`] when
/// the span is too large or too deep.
pub fn parse(span: &str, budget: &mut Budget) -> PResult<Expr> {
    if span.len() > super::budget::MAX_SPAN_BYTES {
        return Err(ParseError::Budget);
    }
    let toks = tokenize(span)?;
    budget
        .spend(toks.len() as u64)
        .map_err(|_| ParseError::Budget)?;
    let mut p = Parser {
        semicolon_groups: true,
        toks,
        pos: 0,
        depth: 0,
        budget,
    };
    // Top level: `;` separates groups (`p=5, q=2; p=7, q=2` is two pairs).
    let mut groups: Vec<Vec<Expr>> = vec![p.list(&[])?];
    while p.eat_op(';') {
        groups.push(p.list(&[])?);
    }
    if p.pos != p.toks.len() {
        return Err(ParseError::Invalid);
    }
    groups.retain(|g| !g.is_empty());
    if groups.len() > 1 && groups.iter().all(|g| g.len() >= 2) {
        return Ok(Expr::List(groups.into_iter().map(Expr::Tuple).collect()));
    }
    one_or_list(groups.into_iter().flatten().collect())
}
