//! One dump row, as rescoring reads it: the configured fields in a loose form that keeps
//! what the row checks of `super` need (the kind of a value of the wrong type, the first bad
//! item of a list), with completions reduced to their extracted answers.
//!
//! Two readers produce a [`Top`]:
//!
//! * [`parse_typed`], when every field path is a distinct top-level key (the usual case):
//!   serde visitors read the configured fields straight from the JSON text. A completion is
//!   extracted while its (unescaped) text is at hand and never stored; every other value is
//!   walked and validated exactly as a `serde_json::Value` parse would (the same parser
//!   calls), without building it. Syntax errors are therefore the same, with the same
//!   messages.
//! * [`from_value`], for dotted paths or fields sharing a key: the row is parsed into a
//!   `serde_json::Value` and the fields are taken out of it in the order the checks use them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::{take, Fields, Layout};
use crate::grading::extract::alternatives;
use crate::grading::{answer_text, extract_answer, is_equiv, GradeOptions, Mode, Rule, Status};

/// The answers of one problem's samples, in one buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Answers {
    text: String,
    spans: Vec<Option<(usize, usize)>>,
}

impl Answers {
    pub(super) fn with_capacity(n: usize) -> Self {
        Self {
            text: String::new(),
            spans: Vec::with_capacity(n),
        }
    }

    pub(super) fn push(&mut self, a: Option<&str>) {
        self.spans.push(a.map(|a| {
            let start = self.text.len();
            self.text.push_str(a);
            (start, self.text.len())
        }));
    }

    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(super) fn get(&self, i: usize) -> Option<&str> {
        self.spans
            .get(i)
            .copied()
            .flatten()
            .and_then(|(a, b)| self.text.get(a..b))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The answer of one sample: a completion's extracted answer, or a given answer as is.
///
/// A hedged final answer (`\boxed{2} or \boxed{3}`, [`Rule::Hedged`]) votes only when all
/// its alternatives are one value (`\boxed{\frac12} or \boxed{0.5}`, compared with the
/// default options): then it is its first alternative; otherwise it has no answer, so that
/// offering alternatives never wins a vote or a pass (as in [`crate::grading::grade`]).
pub(super) fn answer_of(text: &str, is_answer: bool, mode: Mode) -> Option<Cow<'_, str>> {
    if is_answer {
        return Some(Cow::Borrowed(text));
    }
    let ext = extract_answer(text, mode)?;
    if ext.rule != Rule::Hedged {
        return Some(answer_text(ext));
    }
    let alts = alternatives(ext.span);
    let (first, rest) = alts.split_first()?;
    let opts = GradeOptions {
        mode,
        ..GradeOptions::default()
    };
    rest.iter()
        .all(|alt| is_equiv(first, alt, &opts) == Status::Equal)
        .then_some(Cow::Borrowed(*first))
}

/// A scalar field (gold, problem id).
#[derive(Debug)]
pub(super) enum Flex {
    Null,
    Num(Number),
    Str(String),
    /// Anything else, by kind (`"a boolean"`, `"a list"`, `"an object"`).
    Other(&'static str),
}

/// A list of texts (per-problem completions or answers).
#[derive(Debug)]
pub(super) enum Texts {
    /// Not a list: its kind.
    NotList(&'static str),
    List {
        answers: Answers,
        /// Kind of the first item that is neither a string, a number nor null.
        bad: Option<&'static str>,
    },
}

/// One text (a per-sample completion or answer): its answer, or the kind of a bad value.
pub(super) type One = Result<Option<String>, &'static str>;

/// One score.
#[derive(Debug)]
pub(super) enum ScoreVal {
    Num(f64),
    /// A list of step scores; `None` when it holds a non-number.
    Steps(Option<Vec<f64>>),
    /// Anything else (null included), by kind.
    Other(&'static str),
}

/// The per-problem score list.
#[derive(Debug)]
pub(super) enum Scores {
    Null,
    NotList(&'static str),
    List(Vec<ScoreVal>),
}

/// The fields of one row (`None`: absent).
#[derive(Debug, Default)]
pub(super) struct RawRow {
    pub gold: Option<Flex>,
    pub id: Option<Flex>,
    /// Per-problem rows.
    pub answers: Option<Texts>,
    pub completions: Option<Texts>,
    pub scores: Option<Scores>,
    /// Per-sample rows.
    pub answer: Option<One>,
    pub completion: Option<One>,
    pub score: Option<ScoreVal>,
    /// The value of the row-selecting field (lm-eval's `filter`).
    pub select: Option<Flex>,
}

/// A parsed row.
#[derive(Debug)]
pub(super) enum Top {
    Object(Box<RawRow>),
    /// Valid JSON that is not an object: its kind.
    NotObject(&'static str),
}

// ---------------------------------------------------------------------------------------
// From a serde_json::Value (dotted paths, shared keys)
// ---------------------------------------------------------------------------------------

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(super) fn flex_of(v: Value) -> Flex {
    match v {
        Value::Null => Flex::Null,
        Value::Number(n) => Flex::Num(n),
        Value::String(s) => Flex::Str(s),
        other => Flex::Other(kind(&other)),
    }
}

fn one_of(v: Value, is_answer: bool, mode: Mode) -> One {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(answer_of(&s, is_answer, mode).map(Cow::into_owned)),
        Value::Number(n) => Ok(answer_of(&n.to_string(), is_answer, mode).map(Cow::into_owned)),
        other => Err(kind(&other)),
    }
}

fn texts_of(v: Value, is_answer: bool, mode: Mode) -> Texts {
    let Value::Array(items) = v else {
        return Texts::NotList(kind(&v));
    };
    let mut answers = Answers::with_capacity(items.len());
    let mut bad = None;
    for item in items {
        match one_of(item, is_answer, mode) {
            Ok(a) => answers.push(a.as_deref()),
            Err(k) => {
                bad = bad.or(Some(k));
                answers.push(None);
            }
        }
    }
    Texts::List { answers, bad }
}

fn score_val(v: &Value) -> ScoreVal {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map_or(ScoreVal::Other("a number"), ScoreVal::Num),
        Value::Array(items) => ScoreVal::Steps(items.iter().map(Value::as_f64).collect()),
        other => ScoreVal::Other(kind(other)),
    }
}

/// The fields of a row parsed as a `Value`, taken out in the order the row checks read them
/// (so that fields mapped to one key behave as they always did: the first one takes it).
pub(super) fn from_value<'a>(
    mut v: Value,
    f: &'a Fields,
    layout: Layout,
    mode: Mode,
    select: Option<&'a str>,
) -> Top {
    if !v.is_object() {
        return Top::NotObject(kind(&v));
    }
    let v = &mut v;
    // A key mapped to several roles goes to the first one that reads it (taking a value
    // leaves null behind, which the next role must not read as the row's value).
    let mut taken: Vec<&str> = Vec::new();
    let mut opt = |p: Option<&'a str>| {
        let p = p?;
        if taken.contains(&p) {
            return None;
        }
        taken.push(p);
        take(v, p)
    };
    let mut r = RawRow {
        select: opt(select).map(flex_of),
        gold: opt(Some(&f.gold)).map(flex_of),
        id: opt(Some(&f.problem_id)).map(flex_of),
        ..RawRow::default()
    };
    if layout == Layout::PerSample {
        r.answer = opt(f.answer.as_deref()).map(|a| one_of(a, true, mode));
        r.completion = opt(Some(&f.completion)).map(|c| one_of(c, false, mode));
        r.score = opt(f.score.as_deref()).map(|s| score_val(&s));
    } else {
        r.answers = opt(f.answers.as_deref()).map(|a| texts_of(a, true, mode));
        r.completions = opt(Some(&f.completions)).map(|c| texts_of(c, false, mode));
        r.scores = opt(f.scores.as_deref()).map(|s| match s {
            Value::Null => Scores::Null,
            Value::Array(items) => Scores::List(items.iter().map(score_val).collect()),
            other => Scores::NotList(kind(&other)),
        });
    }
    Top::Object(Box::new(r))
}

// ---------------------------------------------------------------------------------------
// Typed reading
// ---------------------------------------------------------------------------------------

/// Which field a key of the row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Gold,
    Id,
    Answers,
    Completions,
    Scores,
    Answer,
    Completion,
    Score,
    Select,
    Skip,
}

/// What the typed reader needs to know: the field names (distinct, top-level), the layout
/// and the extraction mode.
#[derive(Clone, Debug)]
pub(super) struct Typed {
    names: Vec<(String, Slot)>,
    mode: Mode,
}

impl Typed {
    /// The typed reader for `layout`, or `None` when a field path is dotted or two fields
    /// share a key (the `Value` reader handles those).
    pub(super) fn new(
        f: &Fields,
        layout: Layout,
        mode: Mode,
        select: Option<&str>,
    ) -> Option<Self> {
        let all = [
            Some(f.problem_id.as_str()),
            Some(f.gold.as_str()),
            Some(f.completions.as_str()),
            Some(f.completion.as_str()),
            f.scores.as_deref(),
            f.score.as_deref(),
            f.answers.as_deref(),
            f.answer.as_deref(),
            select,
        ];
        let all: Vec<&str> = all.into_iter().flatten().collect();
        for (i, a) in all.iter().enumerate() {
            if a.contains('.') || all[..i].contains(a) {
                return None;
            }
        }
        let mut names = vec![
            (Some(f.gold.clone()), Slot::Gold),
            (Some(f.problem_id.clone()), Slot::Id),
            (select.map(str::to_string), Slot::Select),
        ];
        match layout {
            Layout::PerSample => names.extend([
                (f.answer.clone(), Slot::Answer),
                (Some(f.completion.clone()), Slot::Completion),
                (f.score.clone(), Slot::Score),
            ]),
            Layout::PerProblem => names.extend([
                (f.answers.clone(), Slot::Answers),
                (Some(f.completions.clone()), Slot::Completions),
                (f.scores.clone(), Slot::Scores),
            ]),
            Layout::Auto => return None,
        }
        let names = names
            .into_iter()
            .filter_map(|(n, s)| n.map(|n| (n, s)))
            .collect();
        Some(Self { names, mode })
    }

    fn slot(&self, key: &str) -> Slot {
        self.names
            .iter()
            .find(|(n, _)| n == key)
            .map_or(Slot::Skip, |(_, s)| *s)
    }
}

/// Parse one row.
///
/// # Errors
/// The JSON syntax error (the same as `serde_json::from_slice::<Value>` gives).
pub(super) fn parse_typed(t: &Typed, line: &[u8]) -> serde_json::Result<Top> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let top = de.deserialize_any(RowVisitor(t))?;
    de.end()?;
    Ok(top)
}

/// Consumes any value, validating it as a `Value` parse would, building nothing.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

/// The kind of a parsed float: as in a `Value`, a number that is not finite becomes null.
fn f64_kind(v: f64) -> &'static str {
    if v.is_finite() {
        "a number"
    } else {
        "null"
    }
}

/// Visits any value and gives its kind.
struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok("a boolean")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok("a number")
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok("a number")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(f64_kind(v))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok("a string")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok("null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element_seed(Skip)?.is_some() {}
        Ok("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_key_seed(Skip)?.is_some() {
            a.next_value_seed(Skip)?;
        }
        Ok("an object")
    }
}

struct RowVisitor<'a>(&'a Typed);

impl<'de> Visitor<'de> for RowVisitor<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::NotObject("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
        Ok(Top::NotObject("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
        Ok(Top::NotObject("a number"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Top, E> {
        Ok(Top::NotObject(f64_kind(v)))
    }

    fn visit_str<E>(self, _: &str) -> Result<Top, E> {
        Ok(Top::NotObject("a string"))
    }

    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::NotObject("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Top, A::Error> {
        Ok(Top::NotObject(SkipVisitor.visit_seq(a)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Top, A::Error> {
        let t = self.0;
        let mut r = RawRow::default();
        // Later duplicates of a key replace earlier ones, as in a `Value` map.
        while let Some(slot) = a.next_key_seed(KeySeed(t))? {
            match slot {
                Slot::Gold => r.gold = Some(a.next_value_seed(FlexSeed)?),
                Slot::Id => r.id = Some(a.next_value_seed(FlexSeed)?),
                Slot::Answers => r.answers = Some(a.next_value_seed(TextsSeed(true, t.mode))?),
                Slot::Completions => {
                    r.completions = Some(a.next_value_seed(TextsSeed(false, t.mode))?);
                }
                Slot::Scores => r.scores = Some(a.next_value_seed(ScoresSeed)?),
                Slot::Answer => r.answer = Some(a.next_value_seed(OneSeed(true, t.mode))?),
                Slot::Completion => {
                    r.completion = Some(a.next_value_seed(OneSeed(false, t.mode))?);
                }
                Slot::Score => r.score = Some(a.next_value_seed(ScoreSeed)?),
                Slot::Select => r.select = Some(a.next_value_seed(FlexSeed)?),
                Slot::Skip => {
                    a.next_value_seed(Skip)?;
                }
            }
        }
        Ok(Top::Object(Box::new(r)))
    }
}

struct KeySeed<'a>(&'a Typed);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Slot;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Slot, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Slot, E> {
        Ok(self.0.slot(v))
    }
}

/// A number as a `Value` holds it (`None`: not finite, which a `Value` reads as null).
fn num_f64(v: f64) -> Option<Number> {
    Number::from_f64(v)
}

struct FlexSeed;

impl<'de> DeserializeSeed<'de> for FlexSeed {
    type Value = Flex;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Flex, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlexSeed {
    type Value = Flex;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Flex, E> {
        Ok(Flex::Other("a boolean"))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Flex, E> {
        Ok(Flex::Num(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Flex, E> {
        Ok(Flex::Num(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Flex, E> {
        Ok(num_f64(v).map_or(Flex::Null, Flex::Num))
    }

    fn visit_str<E>(self, v: &str) -> Result<Flex, E> {
        Ok(Flex::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Flex, E> {
        Ok(Flex::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Flex, E> {
        Ok(Flex::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Flex, A::Error> {
        Ok(Flex::Other(SkipVisitor.visit_seq(a)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Flex, A::Error> {
        Ok(Flex::Other(SkipVisitor.visit_map(a)?))
    }
}

/// One text: `(is_answer, mode)`.
struct OneSeed(bool, Mode);

impl OneSeed {
    fn text(&self, v: &str) -> One {
        Ok(answer_of(v, self.0, self.1).map(Cow::into_owned))
    }
}

impl<'de> DeserializeSeed<'de> for OneSeed {
    type Value = One;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<One, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneSeed {
    type Value = One;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<One, E> {
        Ok(Err("a boolean"))
    }

    fn visit_i64<E>(self, v: i64) -> Result<One, E> {
        Ok(self.text(&Number::from(v).to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<One, E> {
        Ok(self.text(&Number::from(v).to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<One, E> {
        Ok(match num_f64(v) {
            Some(n) => self.text(&n.to_string()),
            None => Ok(None),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<One, E> {
        Ok(self.text(v))
    }

    fn visit_unit<E>(self) -> Result<One, E> {
        Ok(Ok(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<One, A::Error> {
        Ok(Err(SkipVisitor.visit_seq(a)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<One, A::Error> {
        Ok(Err(SkipVisitor.visit_map(a)?))
    }
}

/// One item of a list of texts, pushed straight into the answers: `(is_answer, mode)`.
struct ItemSeed<'a> {
    answers: &'a mut Answers,
    is_answer: bool,
    mode: Mode,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    /// The kind of a bad item.
    type Value = Option<&'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ItemSeed<'_> {
    fn text(self, v: &str) -> Option<&'static str> {
        self.answers
            .push(answer_of(v, self.is_answer, self.mode).as_deref());
        None
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        self.answers.push(None);
        Ok(Some("a boolean"))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.text(&Number::from(v).to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.text(&Number::from(v).to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        match num_f64(v) {
            Some(n) => Ok(self.text(&n.to_string())),
            None => {
                self.answers.push(None);
                Ok(None)
            }
        }
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.text(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        self.answers.push(None);
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.answers.push(None);
        Ok(Some(SkipVisitor.visit_seq(a)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.answers.push(None);
        Ok(Some(SkipVisitor.visit_map(a)?))
    }
}

/// A list of texts: `(is_answer, mode)`.
struct TextsSeed(bool, Mode);

impl<'de> DeserializeSeed<'de> for TextsSeed {
    type Value = Texts;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Texts, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextsSeed {
    type Value = Texts;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Texts, E> {
        Ok(Texts::NotList("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Texts, E> {
        Ok(Texts::NotList("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Texts, E> {
        Ok(Texts::NotList("a number"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Texts, E> {
        Ok(Texts::NotList(f64_kind(v)))
    }

    fn visit_str<E>(self, _: &str) -> Result<Texts, E> {
        Ok(Texts::NotList("a string"))
    }

    fn visit_unit<E>(self) -> Result<Texts, E> {
        Ok(Texts::NotList("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Texts, A::Error> {
        let mut answers = Answers::with_capacity(a.size_hint().unwrap_or(0));
        let mut bad = None;
        while let Some(b) = a.next_element_seed(ItemSeed {
            answers: &mut answers,
            is_answer: self.0,
            mode: self.1,
        })? {
            bad = bad.or(b);
        }
        Ok(Texts::List { answers, bad })
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Texts, A::Error> {
        Ok(Texts::NotList(SkipVisitor.visit_map(a)?))
    }
}

/// One score.
struct ScoreSeed;

impl<'de> DeserializeSeed<'de> for ScoreSeed {
    type Value = ScoreVal;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ScoreVal, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScoreSeed {
    type Value = ScoreVal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<ScoreVal, E> {
        Ok(ScoreVal::Other("a boolean"))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E>(self, v: i64) -> Result<ScoreVal, E> {
        Ok(ScoreVal::Num(v as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E>(self, v: u64) -> Result<ScoreVal, E> {
        Ok(ScoreVal::Num(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<ScoreVal, E> {
        Ok(if v.is_finite() {
            ScoreVal::Num(v)
        } else {
            ScoreVal::Other("null")
        })
    }

    fn visit_str<E>(self, _: &str) -> Result<ScoreVal, E> {
        Ok(ScoreVal::Other("a string"))
    }

    fn visit_unit<E>(self) -> Result<ScoreVal, E> {
        Ok(ScoreVal::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<ScoreVal, A::Error> {
        let mut steps = Some(Vec::new());
        while let Some(s) = a.next_element_seed(ScoreSeed)? {
            match (s, &mut steps) {
                (ScoreVal::Num(x), Some(v)) => v.push(x),
                _ => steps = None,
            }
        }
        Ok(ScoreVal::Steps(steps))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<ScoreVal, A::Error> {
        Ok(ScoreVal::Other(SkipVisitor.visit_map(a)?))
    }
}

/// The per-problem score list.
struct ScoresSeed;

impl<'de> DeserializeSeed<'de> for ScoresSeed {
    type Value = Scores;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scores, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScoresSeed {
    type Value = Scores;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Scores, E> {
        Ok(Scores::NotList("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Scores, E> {
        Ok(Scores::NotList("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Scores, E> {
        Ok(Scores::NotList("a number"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scores, E> {
        Ok(if v.is_finite() {
            Scores::NotList("a number")
        } else {
            Scores::Null
        })
    }

    fn visit_str<E>(self, _: &str) -> Result<Scores, E> {
        Ok(Scores::NotList("a string"))
    }

    fn visit_unit<E>(self) -> Result<Scores, E> {
        Ok(Scores::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Scores, A::Error> {
        let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0));
        while let Some(s) = a.next_element_seed(ScoreSeed)? {
            v.push(s);
        }
        Ok(Scores::List(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Scores, A::Error> {
        Ok(Scores::NotList(SkipVisitor.visit_map(a)?))
    }
}
