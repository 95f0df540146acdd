//! Tokenizer for LaTeX and plain-text math answers.
//!
//! Layout commands (`\left`, `\,`, `\displaystyle`, `$`, font wrappers such as `\mathrm`,
//! `\boxed`, ...) are dropped here, so the parser sees only math. Numbers are read exactly,
//! with their written precision: thousands separators (`1,000`, `1{,}000`, `1 000`),
//! decimals, `.5`, repeating decimals (`0.\overline{3}`, `0.1\dot{6}`, `0.\dot{1}\dot{2}`, `0.(3)`),
//! scientific notation (`2.5e-2`; `1.5e3` is emitted as `(1.5 * 10^{3})` so that the mantissa
//! keeps its written digits) and Unicode vulgar fractions (`½` is `(1/2)`, `1½` is `(1+1/2)`).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::expr::Number;

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(Number),
    /// One letter (a variable or constant name).
    Letter(char),
    /// A run of two or more ASCII letters (function name, unit, word or implicit product).
    Word(String),
    /// A control sequence `\name` (without the backslash).
    Cmd(String),
    /// Single-character operator or bracket: `+ - * / ^ _ ( ) [ ] { } , ; = < > ! | & : '`.
    Op(char),
    Le,
    Ge,
    Ne,
    Approx,
    /// `\{` and `\}`.
    LSet,
    RSet,
    /// `\\` (matrix row separator).
    RowSep,
    Percent,
    Degree,
    /// `\text{...}` and friends: the raw content.
    Text(String),
    /// `\begin{env}` / `\end{env}`.
    Begin(String),
    End(String),
}

/// Why a span could not be tokenized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexError {
    /// Something we do not read (an unknown character).
    Invalid,
    /// A number with more digits than the budget allows.
    TooBig,
}

/// Layout-only control sequences, dropped entirely.
const SKIP_CMDS: &[&str] = &[
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "Biggl",
    "Biggr",
    "middle",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "quad",
    "qquad",
    "limits",
    "nolimits",
    "hfill",
    "enspace",
    "thinspace",
    "medspace",
    "thickspace",
    "negthinspace",
    "ldots",
    "cdots",
    "dots",
    "vphantom",
    "hphantom",
    "phantom",
    "allowbreak",
    "nonumber",
    "notag",
];

/// Wrappers whose argument is read as ordinary math (`\boxed{x}` is `{x}`).
const TRANSPARENT_WRAPPERS: &[&str] = &[
    "boxed",
    "fbox",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathnormal",
    "mathbb",
    "mathcal",
    "boldsymbol",
    "bm",
    "operatorname",
    "rm",
    "bf",
    "it",
    "color",
    "textcolor",
];

/// Text commands whose content is kept as raw text.
const TEXT_CMDS: &[&str] = &[
    "text",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "texttt",
    "textnormal",
    "mbox",
    "hbox",
    "emph",
];

/// Maximum decimal digits in one number literal.
const MAX_DIGITS: usize = 4000;

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    out: Vec<Tok>,
}

fn pow10(n: usize) -> BigInt {
    num_traits::pow(BigInt::from(10u32), n)
}

/// Digits as an integer (`digits` is ASCII digits only).
fn int_of(digits: &str) -> BigInt {
    if digits.is_empty() {
        return BigInt::zero();
    }
    // Parsing validated ASCII digits cannot fail; up to 19 digits fit a u64.
    if digits.len() <= 19 {
        if let Ok(v) = digits.parse::<u64>() {
            return BigInt::from(v);
        }
    }
    digits.parse::<BigInt>().unwrap_or_default()
}

fn sig_digits(int_part: &str, frac: &str) -> u32 {
    let all: String = format!("{int_part}{frac}");
    let t = all.trim_start_matches('0');
    u32::try_from(t.len()).unwrap_or(u32::MAX)
}

/// The Unicode vulgar fractions (`½`, `⅔`, ...) as (numerator, denominator).
fn vulgar_fraction(c: char) -> Option<(i64, i64)> {
    Some(match c {
        '½' => (1, 2),
        '⅓' => (1, 3),
        '⅔' => (2, 3),
        '¼' => (1, 4),
        '¾' => (3, 4),
        '⅕' => (1, 5),
        '⅖' => (2, 5),
        '⅗' => (3, 5),
        '⅘' => (4, 5),
        '⅙' => (1, 6),
        '⅚' => (5, 6),
        '⅐' => (1, 7),
        '⅛' => (1, 8),
        '⅜' => (3, 8),
        '⅝' => (5, 8),
        '⅞' => (7, 8),
        '⅑' => (1, 9),
        '⅒' => (1, 10),
        '↉' => (0, 3),
        _ => return None,
    })
}

/// A repeating block written with dots (`\dot{1}2\dot{3}` or a single `\dot{3}`, braces
/// optional) at byte `j`: the block's digits and the end position.
fn dotted_block(s: &str, j: usize) -> Option<(String, usize)> {
    fn dot_digit(s: &str, j: usize) -> Option<(char, usize)> {
        let rest = s.get(j..)?.strip_prefix("\\dot")?;
        let (d, used) = if let Some(r) = rest.strip_prefix('{') {
            let d = r.chars().next()?;
            (d, r.strip_prefix(d)?.strip_prefix('}').map(|_| 3)?)
        } else {
            (rest.chars().next()?, 1)
        };
        d.is_ascii_digit().then_some((d, j + "\\dot".len() + used))
    }
    let (first, mut k) = dot_digit(s, j)?;
    let mut block = String::from(first);
    let mid_end = k + s[k..].bytes().take_while(u8::is_ascii_digit).count();
    if let Some((last, end)) = dot_digit(s, mid_end) {
        block.push_str(&s[k..mid_end]);
        block.push(last);
        k = end;
    }
    Some((block, k))
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.i + off).copied()
    }

    fn digits_from(&self, start: usize) -> usize {
        let mut j = start;
        while j < self.b.len() && self.b[j].is_ascii_digit() {
            j += 1;
        }
        j
    }

    /// Read the brace-matched group starting at `self.i` (which must be `{`); returns the
    /// inner slice and moves past the closing brace.
    fn braced(&mut self) -> Option<&'a str> {
        if self.b.get(self.i) != Some(&b'{') {
            return None;
        }
        let start = self.i + 1;
        let mut depth = 0usize;
        let mut j = self.i;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => {
                    j += 2;
                    continue;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i = j + 1;
                        return self.s.get(start..j);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        None
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn number(&mut self) -> Result<(), LexError> {
        let s = self.s;
        let b = self.b;
        let start = self.i;
        let mut int_digits = String::new();
        let mut j = self.digits_from(self.i);
        int_digits.push_str(&s[start..j]);
        // Thousands separators: `,ddd`, `{,}ddd`, ` ddd` (only after a 1-3 digit head).
        if (1..=3).contains(&(j - start)) && !int_digits.starts_with('0') {
            loop {
                let (sep_len, ok) = if b.get(j) == Some(&b',') {
                    (1, true)
                } else if s[j..].starts_with("{,}") {
                    (3, true)
                } else if b.get(j) == Some(&b' ') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                    (1, true)
                } else {
                    (0, false)
                };
                if !ok {
                    break;
                }
                let g = j + sep_len;
                let e = self.digits_from(g);
                if e - g == 3 && !b.get(e).is_some_and(u8::is_ascii_digit) {
                    int_digits.push_str(&s[g..e]);
                    j = e;
                } else {
                    break;
                }
            }
        }
        let mut frac = String::new();
        let mut decimals = None;
        let mut repeating = String::new();
        if b.get(j) == Some(&b'.') {
            let f0 = j + 1;
            let fe = self.digits_from(f0);
            if fe > f0 {
                frac.push_str(&s[f0..fe]);
                decimals = Some(u32::try_from(fe - f0).unwrap_or(u32::MAX));
                j = fe;
            } else if j > start || fe > f0 {
                j = f0; // `5.` is 5
            }
            if s[j..].starts_with("\\overline{") || s[j..].starts_with("\\bar{") {
                let open = j + s[j..].find('{').unwrap_or(0);
                let de = self.digits_from(open + 1);
                if de > open + 1 && b.get(de) == Some(&b'}') {
                    repeating.push_str(&s[open + 1..de]);
                    j = de + 1;
                    decimals = None;
                }
            } else if b.get(j) == Some(&b'(')
                && self.digits_from(j + 1) > j + 1
                && b.get(self.digits_from(j + 1)) == Some(&b')')
            {
                // `0.(3)`, `0.1(6)`: the repeating block in parentheses.
                let de = self.digits_from(j + 1);
                repeating.push_str(&s[j + 1..de]);
                j = de + 1;
                decimals = None;
            } else if let Some((block, end)) = dotted_block(s, j) {
                // `0.\dot{3}`, `0.1\dot{6}`, `0.\dot{1}\dot{2}`: dots over the first and last
                // digit of the repeating block (one dot: a single repeating digit).
                repeating.push_str(&block);
                j = end;
                decimals = None;
            }
        }
        if int_digits.len() + frac.len() + repeating.len() > MAX_DIGITS {
            return Err(LexError::TooBig);
        }
        let sig = sig_digits(&int_digits, &frac);
        let mut value = if frac.is_empty() {
            // An integer: already in lowest terms.
            BigRational::from_integer(int_of(&int_digits))
        } else {
            BigRational::new(
                int_of(&int_digits) * pow10(frac.len()) + int_of(&frac),
                pow10(frac.len()),
            )
        };
        if !repeating.is_empty() {
            // 0.ab(cd)... = (abcd - ab) / (10^|ab| (10^|cd| - 1)) added to the integer part.
            let nr = repeating.len();
            let num = int_of(&format!("{frac}{repeating}")) - int_of(&frac);
            let den = pow10(frac.len()) * (pow10(nr) - BigInt::one());
            value = BigRational::from_integer(int_of(&int_digits)) + BigRational::new(num, den);
        }
        // Scientific notation: mantissa immediately followed by e/E and a signed integer.
        let mut sci_exp: Option<u32> = None;
        if matches!(b.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            let neg = match b.get(k) {
                Some(b'-') => {
                    k += 1;
                    true
                }
                Some(b'+') => {
                    k += 1;
                    false
                }
                _ => false,
            };
            let ke = self.digits_from(k);
            if ke > k && ke - k <= 4 && !b.get(ke).is_some_and(u8::is_ascii_alphabetic) {
                let e: usize = s[k..ke].parse().unwrap_or(0);
                if e > MAX_DIGITS {
                    return Err(LexError::TooBig);
                }
                let e32 = u32::try_from(e).unwrap_or(u32::MAX);
                match decimals {
                    // `1.09951162778E+12`: more places shifted than written. The value is
                    // read as `1.09951162778 \times 10^{12}`, so the tolerance of the digits
                    // written applies (an integer would demand every digit).
                    Some(d) if !neg && e32 > d => sci_exp = Some(e32),
                    _ => {
                        let scale = BigRational::from_integer(pow10(e));
                        value = if neg { value / scale } else { value * scale };
                        decimals = if neg {
                            Some(decimals.unwrap_or(0) + e32)
                        } else {
                            decimals.map(|d| d - e32)
                        };
                    }
                }
                j = ke;
            }
        }
        self.i = j;
        let mantissa = Tok::Num(Number {
            value,
            decimals,
            sig_digits: sig,
        });
        match sci_exp {
            None => self.out.push(mantissa),
            Some(e) => self.out.extend([
                Tok::Op('('),
                mantissa,
                Tok::Op('*'),
                Tok::Num(Number::int(10)),
                Tok::Op('^'),
                Tok::Op('{'),
                Tok::Num(Number::int(i64::from(e))),
                Tok::Op('}'),
                Tok::Op(')'),
            ]),
        }
        Ok(())
    }

    fn command(&mut self) -> Result<(), LexError> {
        let s = self.s;
        let b = self.b;
        // `\\frac` (a doubled backslash from an escaped string) is `\frac`.
        if b.get(self.i + 1) == Some(&b'\\')
            && b.get(self.i + 2).is_some_and(u8::is_ascii_alphabetic)
        {
            self.i += 1;
        }
        let start = self.i + 1;
        let Some(&c) = b.get(start) else {
            self.i = start;
            return Ok(());
        };
        if !c.is_ascii_alphabetic() {
            // Control symbol.
            self.i = start + 1;
            match c {
                b'{' => self.out.push(Tok::LSet),
                b'}' => self.out.push(Tok::RSet),
                b'\\' => self.out.push(Tok::RowSep),
                b'%' => self.out.push(Tok::Percent),
                b'|' => self.out.push(Tok::Op('|')),
                // `\(`, `\)`, `\[`, `\]` are math delimiters, not brackets.
                b'$' | b',' | b';' | b':' | b'!' | b' ' | b'>' | b'\n' | b'\t' | b'/' | b'('
                | b')' | b'[' | b']' => {}
                _ => {
                    if c >= 0x80 {
                        // Backslash before a non-ASCII char: skip the backslash only.
                        self.i = start;
                    } else {
                        return Err(LexError::Invalid);
                    }
                }
            }
            return Ok(());
        }
        let mut j = start;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        let name = &s[start..j];
        self.i = j;
        if SKIP_CMDS.contains(&name) {
            if matches!(name, "vphantom" | "hphantom" | "phantom") {
                self.skip_ws();
                let _ = self.braced();
            }
            return Ok(());
        }
        // `\quadx` (a missing space): the spacing command, then the letters.
        for sp in ["qquad", "quad"] {
            if name.len() > sp.len() && name.starts_with(sp) {
                self.i = start + sp.len();
                return Ok(());
            }
        }
        if matches!(name, "boxed" | "fbox") {
            // Adjacent boxes are separate answers: `\boxed{1}\boxed{2}` is `1, 2`.
            if matches!(
                self.out.last(),
                Some(
                    Tok::Num(_)
                        | Tok::Letter(_)
                        | Tok::Word(_)
                        | Tok::Op(')' | ']' | '}')
                        | Tok::RSet
                        | Tok::Text(_)
                )
            ) {
                self.out.push(Tok::Op(','));
            }
            return Ok(());
        }
        if TRANSPARENT_WRAPPERS.contains(&name) {
            if matches!(name, "color" | "textcolor") {
                self.skip_ws();
                let _ = self.braced();
            }
            return Ok(());
        }
        if TEXT_CMDS.contains(&name) {
            self.skip_ws();
            match self.braced() {
                Some(t) => self.out.push(Tok::Text(t.to_string())),
                None => return Err(LexError::Invalid),
            }
            return Ok(());
        }
        if name == "begin" || name == "end" {
            self.skip_ws();
            let env = self.braced().ok_or(LexError::Invalid)?.trim().to_string();
            if name == "begin" && env == "array" {
                // Skip the column spec `{ccc}`.
                self.skip_ws();
                let _ = self.braced();
            }
            self.out.push(if name == "begin" {
                Tok::Begin(env)
            } else {
                Tok::End(env)
            });
            return Ok(());
        }
        match name {
            "le" | "leq" | "leqslant" => self.out.push(Tok::Le),
            "ge" | "geq" | "geqslant" => self.out.push(Tok::Ge),
            "ne" | "neq" => self.out.push(Tok::Ne),
            "approx" | "simeq" | "sim" => self.out.push(Tok::Approx),
            "lt" => self.out.push(Tok::Op('<')),
            "gt" => self.out.push(Tok::Op('>')),
            "circ" | "degree" => self.out.push(Tok::Degree),
            "lbrace" => self.out.push(Tok::LSet),
            "rbrace" => self.out.push(Tok::RSet),
            "lvert" | "rvert" | "vert" | "mid" => self.out.push(Tok::Op('|')),
            "langle" => self.out.push(Tok::Op('(')),
            "rangle" => self.out.push(Tok::Op(')')),
            "lbrack" => self.out.push(Tok::Op('[')),
            "rbrack" => self.out.push(Tok::Op(']')),
            "lparen" => self.out.push(Tok::Op('(')),
            "rparen" => self.out.push(Tok::Op(')')),
            "cdot" | "times" | "ast" => self.out.push(Tok::Op('*')),
            "div" => self.out.push(Tok::Op('/')),
            "colon" => self.out.push(Tok::Op(':')),
            "prime" => self.out.push(Tok::Op('\'')),
            "cr" | "newline" => self.out.push(Tok::RowSep),
            _ => self.out.push(Tok::Cmd(name.to_string())),
        }
        Ok(())
    }

    /// A vulgar fraction `n/d` (`½`): `(n/d)`, or with an integer written right before it
    /// a mixed number (`1½` is `(1 + 1/2)`, so `-1½` is -3/2).
    fn vulgar(&mut self, n: i64, d: i64, glued: bool) {
        let whole = match self.out.last() {
            Some(Tok::Num(w)) if glued && w.decimals.is_none() && w.value.is_integer() => {
                self.out.pop()
            }
            _ => None,
        };
        self.out.push(Tok::Op('('));
        if let Some(w) = whole {
            self.out.extend([w, Tok::Op('+')]);
        }
        self.out.extend([
            Tok::Num(Number::int(n)),
            Tok::Op('/'),
            Tok::Num(Number::int(d)),
            Tok::Op(')'),
        ]);
    }

    fn run(mut self) -> Result<Vec<Tok>, LexError> {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'$' | b'~' | b'"' | b'`' => self.i += 1,
                b'0'..=b'9' => self.number()?,
                b'.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                    self.number()?;
                }
                b'\\' => self.command()?,
                b'a'..=b'z' | b'A'..=b'Z' => {
                    let start = self.i;
                    while self.i < self.b.len() && self.b[self.i].is_ascii_alphabetic() {
                        self.i += 1;
                        // `1orW(x)`: a separator glued to the next answer's capital.
                        let run = &self.s[start..self.i];
                        if (run == "or" || run == "and")
                            && self.b.get(self.i).is_some_and(u8::is_ascii_uppercase)
                        {
                            break;
                        }
                    }
                    let w = &self.s[start..self.i];
                    if w.len() == 1 {
                        self.out.push(Tok::Letter(char::from(c)));
                    } else {
                        self.out.push(Tok::Word(w.to_string()));
                    }
                }
                b'<' | b'>' | b'!' | b'=' => {
                    let next = self.peek_at(1);
                    self.i += 1;
                    match (c, next) {
                        (b'<', Some(b'=')) => {
                            self.i += 1;
                            self.out.push(Tok::Le);
                        }
                        (b'>', Some(b'=')) => {
                            self.i += 1;
                            self.out.push(Tok::Ge);
                        }
                        (b'!', Some(b'=')) => {
                            self.i += 1;
                            self.out.push(Tok::Ne);
                        }
                        (b'=', Some(b'=')) => {
                            self.i += 1;
                            self.out.push(Tok::Op('='));
                        }
                        _ => self.out.push(Tok::Op(char::from(c))),
                    }
                }
                b'*' => {
                    if self.peek_at(1) == Some(b'*') {
                        self.i += 2;
                        self.out.push(Tok::Op('^'));
                    } else {
                        self.i += 1;
                        self.out.push(Tok::Op('*'));
                    }
                }
                b'%' => {
                    self.i += 1;
                    self.out.push(Tok::Percent);
                }
                b'+' | b'-' | b'/' | b'^' | b'_' | b'(' | b')' | b'[' | b']' | b'{' | b'}'
                | b',' | b';' | b'|' | b'&' | b':' | b'\'' => {
                    self.i += 1;
                    self.out.push(Tok::Op(char::from(c)));
                }
                b'.' | b'?' => self.i += 1,
                _ if c < 0x80 => return Err(LexError::Invalid),
                _ => {
                    let ch = self.peek().unwrap_or('\u{fffd}');
                    let glued = self.i > 0 && self.b[self.i - 1].is_ascii_digit();
                    self.i += ch.len_utf8();
                    if let Some((n, d)) = vulgar_fraction(ch) {
                        self.vulgar(n, d, glued);
                        continue;
                    }
                    match ch {
                        '−' | '–' | '—' => self.out.push(Tok::Op('-')),
                        '×' | '·' | '⋅' | '∙' => self.out.push(Tok::Op('*')),
                        '÷' | '\u{2044}' | '\u{2215}' => self.out.push(Tok::Op('/')),
                        '≤' | '⩽' => self.out.push(Tok::Le),
                        '≥' | '⩾' => self.out.push(Tok::Ge),
                        '≠' => self.out.push(Tok::Ne),
                        '≈' => self.out.push(Tok::Approx),
                        '∞' => self.out.push(Tok::Cmd("infty".into())),
                        'π' => self.out.push(Tok::Cmd("pi".into())),
                        '√' => self.out.push(Tok::Cmd("sqrt".into())),
                        '∪' => self.out.push(Tok::Cmd("cup".into())),
                        '∩' => self.out.push(Tok::Cmd("cap".into())),
                        '∈' => self.out.push(Tok::Cmd("in".into())),
                        '±' => self.out.push(Tok::Cmd("pm".into())),
                        '°' => self.out.push(Tok::Degree),
                        '²' | '³' => {
                            self.out.push(Tok::Op('^'));
                            self.out
                                .push(Tok::Num(Number::int(if ch == '²' { 2 } else { 3 })));
                        }
                        '€' | '£' | '¥' | '₹' | '\u{a0}' | '\u{2009}' | '\u{202f}' | '…' => {
                        }
                        c if c.is_alphabetic() => self.out.push(Tok::Letter(c)),
                        _ => return Err(LexError::Invalid),
                    }
                }
            }
        }
        Ok(self.out)
    }
}

/// Tokenize an answer span.
///
/// # Errors
/// [`LexError`] when the span contains something that is not math.
pub fn tokenize(s: &str) -> Result<Vec<Tok>, LexError> {
    // Thin spaces inside numbers (`12,\!000`, `12\,000`) are only layout.
    let cleaned;
    let s = if s.contains("\\!") || s.contains("\\,") {
        cleaned = s
            .replace(",\\! ", ",")
            .replace("\\!", "")
            .replace("\\,", " ");
        cleaned.as_str()
    } else {
        s
    };
    Lexer {
        s,
        b: s.as_bytes(),
        i: 0,
        out: Vec::new(),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Number {
        match tokenize(s).unwrap().as_slice() {
            [Tok::Num(n)] => n.clone(),
            t => panic!("{s}: {t:?}"),
        }
    }

    fn r(a: i64, b: i64) -> BigRational {
        BigRational::new(BigInt::from(a), BigInt::from(b))
    }

    #[test]
    fn numbers() {
        assert_eq!(num("1,000").value, r(1000, 1));
        assert_eq!(num("1{,}000").value, r(1000, 1));
        assert_eq!(num("1 000 000").value, r(1_000_000, 1));
        assert_eq!(num("0.25").value, r(1, 4));
        assert_eq!(num("0.25").decimals, Some(2));
        assert_eq!(num(".5").value, r(1, 2));
        assert_eq!(num("0.\\overline{3}").value, r(1, 3));
        assert_eq!(num("0.1\\overline{6}").value, r(1, 6));
        assert_eq!(num("1.25e1").value, r(25, 2));
        assert_eq!(num("1.25e1").decimals, Some(1));
        assert_eq!(num("15e2").value, r(1500, 1));
        assert_eq!(num("2.5E-2").value, r(1, 40));
        assert_eq!(num("1,000.99").value, r(100_099, 100));
    }

    #[test]
    fn scientific_beyond_written_places_keeps_its_digits() {
        // `1.5e3` is `(1.5 * 10^{3})`: the mantissa keeps its written precision.
        let t = tokenize("1.5e3").unwrap();
        assert_eq!(t.len(), 9);
        assert!(matches!(&t[1], Tok::Num(n) if n.value == r(3, 2) && n.decimals == Some(1)));
        assert_eq!(t[6], Tok::Num(Number::int(3)));
        // `2e` is 2 times e; a letter after the exponent is no exponent.
        assert_eq!(tokenize("2e").unwrap().len(), 2);
        assert_eq!(tokenize("3e5x").unwrap().len(), 4);
    }

    #[test]
    fn repeating_dots_and_vulgar_fractions() {
        assert_eq!(num("0.\\dot{3}").value, r(1, 3));
        assert_eq!(num("0.1\\dot{6}").value, r(1, 6));
        assert_eq!(num("0.\\dot{1}\\dot{2}").value, r(4, 33));
        assert_eq!(num("0.\\dot{1}2\\dot{3}").value, r(41, 333));
        assert_eq!(num("2.\\dot{9}").value, r(3, 1));
        assert_eq!(num("0.(3)").value, r(1, 3));
        assert_eq!(num("0.1(6)").value, r(1, 6));
        // Not a repeating block: a product with a bracket.
        assert_eq!(tokenize("0.5(x)").unwrap().len(), 4);
        // `\dots` is not a dot over a digit.
        assert!(tokenize("0.\\dots").unwrap().len() == 1);
        let half = tokenize("½").unwrap();
        assert_eq!(half.len(), 5);
        let mixed = tokenize("-1½").unwrap();
        assert_eq!(mixed[0], Tok::Op('-'));
        assert_eq!(mixed[1], Tok::Op('('));
        assert_eq!(mixed[3], Tok::Op('+'));
        // Not glued: `2 ½` is a product of two factors, not a mixed number.
        assert_eq!(tokenize("2 ½").unwrap().len(), 6);
    }

    #[test]
    fn list_commas_are_not_thousands() {
        let t = tokenize("1,2").unwrap();
        assert_eq!(t.len(), 3);
        let t = tokenize("10, 400").unwrap();
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn huge_number_is_bounded() {
        let s = "9".repeat(100_000);
        assert_eq!(tokenize(&s), Err(LexError::TooBig));
    }
}
