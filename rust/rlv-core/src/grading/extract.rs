//! Final-answer extraction: find the span of a model output (or of a gold solution) that
//! holds the final answer.
//!
//! The extractor is a set of hand-written, linear-time scanners (no regex, no recursion).
//! Every returned span is a trimmed sub-slice of the input; the scanners only slice at ASCII
//! delimiters or at checked char boundaries, so any UTF-8 input is safe.
//!
//! # Search region (`<think>` handling)
//!
//! * If the text contains `</think>`, only the part after the **last** `</think>` is searched
//!   (the reasoning trace is never graded).
//! * If it contains `<think>` but no `</think>`, the model never finished thinking: the result
//!   is `None` in **both** modes (a truncated trace has no final answer; the number fallback
//!   would otherwise reward random intermediate values).
//!
//! # Priority order (completions, [`extract_answer`])
//!
//! The first rule that yields a non-empty span wins. Within a rule the **last** occurrence in
//! the search region wins (earlier ones are tried only if the last one is empty).
//!
//! | # | [`Rule`]                  | Anchor                                                          | Strict | Lenient |
//! |---|---------------------------|-----------------------------------------------------------------|:------:|:-------:|
//! | 0 | `FinalAnswer` (Minerva)   | `final answer is X. I hope it is correct.`                      |  yes   |   yes   |
//! | 1 | `Boxed` / `BoxedList`     | last `\boxed{..}` / `\fbox{..}` (brace-matched; `\boxed 5`)      |  yes   |   yes   |
//! | 2 | `FinalAnswer`             | `final answer is X`, `Final Answer: X`, `**Final Answer**`⏎`X`  |  yes   |   yes   |
//! | 3 | `Gsm8k`                   | `#### X` (X must be answer-like, not a markdown heading)        |  yes   |   yes   |
//! | 4 | `AnswerIs`                | `the answer is X`                                               |  yes   |   yes   |
//! | 5 | `AnswerColon`             | `Answer: X`, `**Answer:** X`, `Answer $X$` / `Answer \[X\]`     |  yes   |   yes   |
//! | 6 | `Whole`                   | the whole region, if short, one line, no words, no `$`/`\(`/`\[` |   no   |   yes   |
//! | 7 | `Bold`                    | last answer-like `**X**` on one line                            |   no   |   yes   |
//! | 8 | `MathSpan` / `LastNumber` | last `$$..$$`, `\[..\]`, `$..$`, `\(..\)` (single-line `$`/`\(`) |   no   |   yes   |
//! |   |                           | or last number (`-1,000.5`, `.5`, `3/4`, `2,74`, `28%`)         |        |         |
//!
//! * Rule 0 is math-verify's top-priority Minerva format: a model that boxes an intermediate
//!   value and then closes with the Minerva sentence means the sentence.
//! * Rules 6–7 run when either fallback of [`ExtractConfig`] is on (heuristics, never explicit
//!   anchors). Rule 6 reads bare completions such as `\frac{10}{9}`, `-5` or `½` whole, and a
//!   completion that is one word of 2 to 24 ASCII letters and nothing else (`odd`,
//!   `**Neither.**`); any other prose is not read whole.
//!   Bold: only a short `**X**` with a digit or math, at most one prose word, not a heading
//!   (`**Step 2:**`, `**Final Answer**`) counts.
//! * Rule 8: the math span needs `math_fallback`, the number `number_fallback`. With both on,
//!   the one that ends **later** in the text wins (a number inside the last math span belongs
//!   to it), like math-verify's rightmost match: `.. $d=\frac{90}{n}$ .. there are 12` gives
//!   `12`. A number is returned as written; digits glued to a preceding letter (`AZYUK2A`) are
//!   not a number. Math spans joined as boxes are (see below) form one answer:
//!   `$x = 2$ and $x = 3$` is a [`Rule::MathList`], `$2$ or $3$` a [`Rule::Hedged`] answer.
//!
//! Anchors are matched case-insensitively and must start at a word boundary.
//!
//! # Phrase anchors (rules 2–5)
//!
//! The answer is the text after the phrase (leading whitespace and newlines skipped) up to the
//! end of the sentence: a newline or a `.` followed by whitespace, outside math delimiters and
//! braces (so `3.5`, `$x=1.5$` and `\frac{a}{b}` are never cut), at most 4 KiB. It is then
//! cleaned, repeatedly: "I hope it is correct" and what follows is dropped; trailing
//! `.` `,` `;` `:` and whitespace are stripped; one wrapping `**..**`, `"..."`, `$$..$$`,
//! `$..$`, `\(..\)`, `\[..\]` is removed; a lone currency `$` is removed. If the text contains a
//! `\boxed{}` its content is used. A trailing clause (`, which ..`, ` because ..`, `, since ..`,
//! `, so ..`, `, where ..`) is cut, and a sentence such as `The largest $n$ is 34` is reduced to
//! what follows its last top-level ` is ` / ` are ` / ` equals ` / ` be ` / ` was `. If the
//! remainder is still prose (two or more words outside math), its last math span, else its
//! last number, is used.
//!
//! # Boxed lists
//!
//! Several boxes written as one answer (`\boxed{1} and \boxed{2}`, `\boxed{1}, \boxed{2}`,
//! `$\boxed{-2}$ \quad\text{and}\quad $\boxed{1}$`, `\boxed{1}\boxed{2}`) give
//! [`Rule::BoxedList`] with a span that runs from the first `\boxed` to the last box's closing
//! brace; the parser strips the `\boxed{}` wrappers and reads `,`/`and` as list separators.
//! Two boxes join when the gap between them is at most 70 bytes and either holds only
//! separators (whitespace, `$`, `\(` `\)` `\[` `\]`, `\quad`, `\,`, `,`, `;`, `\text{..}`), or
//! holds the word `and` and at most two other words (`\boxed{1} papers and \boxed{2}`,
//! `\boxed{(3,3)} \text{ for part (a) and } \boxed{(1,1)}`), or is under 10 bytes with no
//! letters at all (`\boxed{a} ++ \boxed{b}`); a sentence end (`. `) never joins.
//! A list whose boxes all hold the same text is just the last box.
//!
//! # Alternatives (hedged finals)
//!
//! Boxes joined by a gap of at most 70 bytes that holds the word `or` and no sentence end
//! (`\boxed{2} or \boxed{3}`, `\boxed{15\frac{39}{40}}, or \boxed{\frac{639}{40}}`) are
//! alternatives: [`Rule::Hedged`], with a span from the first box to the last. The grader
//! calls it equal only when every alternative is ([`alternatives`] splits the span), so
//! offering more alternatives never raises a reward. The same holds for math spans after an
//! anchor (`The answer is $2$ or $3$`) and in the lenient math-span fallback. Gold answers
//! never hedge: their alternatives are forms of one answer and the last one is read.
//!
//! # Gold answers ([`extract_gold`])
//!
//! Last box (or box list) > `#### N` > phrase anchors (rules 2, 4, 5) > for a prose solution
//! (several words and sentence punctuation): last math span, then last number > otherwise the
//! whole trimmed gold ([`Rule::Whole`]) with one wrapping `$..$`/`\(..\)`/`\[..\]`/`$$..$$`
//! removed. An empty gold gives `None`.

/// Extraction mode for completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Anchors first, then the last bold span, the last math span, then the last number.
    #[default]
    Lenient,
    /// Explicit anchors only (for RL rewards).
    Strict,
}

impl Mode {
    /// Parse `"lenient"` or `"strict"`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] for any other string.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "lenient" => Ok(Self::Lenient),
            "strict" => Ok(Self::Strict),
            _ => Err(crate::Error::InvalidOption {
                option: "mode",
                value: s.to_string(),
                allowed: "\"lenient\", \"strict\"",
            }),
        }
    }

    /// The option string (`"lenient"`, `"strict"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lenient => "lenient",
            Self::Strict => "strict",
        }
    }
}

/// Fine-grained extraction switches (a [`Mode`] maps onto one of these).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtractConfig {
    /// Fall back to the last `$...$` / `\(...\)` / `\[...\]` / `$$...$$` span.
    pub math_fallback: bool,
    /// Fall back to the last number in the text.
    pub number_fallback: bool,
}

impl From<Mode> for ExtractConfig {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Lenient => Self {
                math_fallback: true,
                number_fallback: true,
            },
            Mode::Strict => Self {
                math_fallback: false,
                number_fallback: false,
            },
        }
    }
}

/// Which rule produced the answer span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Content of the last `\boxed{}` / `\fbox{}`.
    Boxed,
    /// Several adjacent boxes (`\boxed{1} and \boxed{2}`); the span keeps the wrappers.
    BoxedList,
    /// Several adjacent math spans read as one list (`$x = 2$ and $x = 3$`, lenient
    /// fallback); the span keeps the delimiters.
    MathList,
    /// Alternatives offered as the final answer (`\boxed{2} or \boxed{3}`, `$2$ or $3$`):
    /// equal only when every alternative is ([`alternatives`] splits the span).
    Hedged,
    FinalAnswer,
    AnswerIs,
    AnswerColon,
    Gsm8k,
    Bold,
    MathSpan,
    LastNumber,
    /// The whole text is the answer (bare gold answers).
    Whole,
    /// The first stand-alone choice letter of a multiple-choice answer (`extract_choice`).
    Choice,
}

impl Rule {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Boxed => "boxed",
            Rule::BoxedList => "boxed_list",
            Rule::MathList => "math_list",
            Rule::Hedged => "hedged",
            Rule::FinalAnswer => "final_answer",
            Rule::AnswerIs => "answer_is",
            Rule::AnswerColon => "answer_colon",
            Rule::Gsm8k => "gsm8k",
            Rule::Bold => "bold",
            Rule::MathSpan => "math_span",
            Rule::LastNumber => "last_number",
            Rule::Whole => "whole",
            Rule::Choice => "choice",
        }
    }
}

/// An answer span (a slice of the input) and the rule that found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extraction<'a> {
    pub span: &'a str,
    pub rule: Rule,
}

/// A short list kept inline (most texts have a box or two and a few `answer`s): no
/// allocation unless it grows past `N`.
struct Small<T: Copy + Default, const N: usize> {
    inline: [T; N],
    len: usize,
    /// Every item, once there are more than `N`.
    spill: Vec<T>,
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    fn new() -> Self {
        Self {
            inline: [T::default(); N],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn from_vec(spill: Vec<T>) -> Self {
        Self {
            inline: [T::default(); N],
            len: 0,
            spill,
        }
    }

    fn push(&mut self, v: T) {
        if self.spill.is_empty() && self.len < N {
            self.inline[self.len] = v;
            self.len += 1;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline[..self.len]);
            }
            self.spill.push(v);
        }
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for Small<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

impl<T: Copy + Default, const N: usize> std::ops::DerefMut for Small<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        if self.spill.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.spill
        }
    }
}

/// Longest anchored answer text considered (bytes after the anchor phrase).
const MAX_ANCHOR_LEN: usize = 4096;
/// How many occurrences of one phrase anchor are tried (last first) before giving up.
const MAX_ANCHOR_TRIES: usize = 32;
/// How many word-boundary occurrences of one phrase are looked at (last first).
const MAX_ANCHOR_SEEN: usize = 256;
/// Longest gap (bytes) between two boxes of a [`Rule::BoxedList`].
const MAX_LIST_GAP: usize = 70;

// ---------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------

/// Extract the final answer of a model output.
#[must_use]
pub fn extract_answer(text: &str, mode: Mode) -> Option<Extraction<'_>> {
    extract_answer_with(text, ExtractConfig::from(mode))
}

/// Extract with explicit switches.
#[must_use]
pub fn extract_answer_with(text: &str, cfg: ExtractConfig) -> Option<Extraction<'_>> {
    let region = answer_region(text)?;
    let answers = answer_positions(region.as_bytes());
    if let Some(e) = minerva_rule(region, &answers) {
        return Some(e);
    }
    if let Some(e) = boxed_rule(region, true) {
        return Some(e);
    }
    if let Some(e) = final_answer_rule(region, &answers) {
        return Some(e);
    }
    if let Some(e) = gsm8k_rule(region) {
        return Some(e);
    }
    if let Some(e) = answer_is_rule(region, &answers) {
        return Some(e);
    }
    if let Some(e) = answer_colon_rule(region, &answers) {
        return Some(e);
    }
    if !(cfg.math_fallback || cfg.number_fallback) {
        return None;
    }
    if let Some(span) = bare_answer(region) {
        return Some(Extraction {
            span,
            rule: Rule::Whole,
        });
    }
    if let Some(span) = last_bold(region) {
        return Some(Extraction {
            span,
            rule: Rule::Bold,
        });
    }
    let math = if cfg.math_fallback {
        last_math_chain(region)
    } else {
        None
    };
    let num = if cfg.number_fallback {
        last_number(region)
    } else {
        None
    };
    match (math, num) {
        (Some(m), Some(n)) if offset(region, n) >= offset(region, m.span) + m.span.len() => {
            Some(Extraction {
                span: n,
                rule: Rule::LastNumber,
            })
        }
        (Some(m), _) => Some(m),
        (None, Some(n)) => Some(Extraction {
            span: n,
            rule: Rule::LastNumber,
        }),
        (None, None) => None,
    }
}

/// A gold never hedges: alternatives in a solution are equivalent forms of one answer
/// (`\boxed{15\frac{39}{40}}` or `\boxed{\frac{639}{40}}`), so its last one is read.
fn unhedge(e: Extraction<'_>) -> Extraction<'_> {
    if e.rule != Rule::Hedged {
        return e;
    }
    match alternatives(e.span).last() {
        Some(&span) => Extraction {
            span,
            rule: Rule::Boxed,
        },
        None => e,
    }
}

/// The alternatives of a [`Rule::Hedged`] span (or the items of a [`Rule::BoxedList`] /
/// [`Rule::MathList`] span): the box contents when the span starts with a box, else the
/// contents of its math spans; empty ones are left out.
#[must_use]
pub fn alternatives(span: &str) -> Vec<&str> {
    let b = span.as_bytes();
    if b.first() == Some(&b'\\') && box_name_len(b, 1).is_some() {
        return box_contents(span)
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
    }
    math_spans(span)
        .into_iter()
        .map(|(a, e)| clean(&span[a..e]))
        .filter(|c| !c.is_empty())
        .collect()
}

/// The last non-empty math span, joined with the math spans before it when only separators
/// lie between them: `$x = 2$ and $x = 3$` is a [`Rule::MathList`], `$2$ or $3$` a
/// [`Rule::Hedged`] answer (the gaps are read as between boxes, see [`gap_kind`]).
fn last_math_chain(text: &str) -> Option<Extraction<'_>> {
    let spans = math_spans(text);
    let content = |k: usize| clean(&text[spans[k].0..spans[k].1]);
    let last = (0..spans.len()).rev().find(|&k| !content(k).is_empty())?;
    let last_content = content(last);
    // Inside the chain, spans are only compared as written (cheap on long chains).
    let raw = |k: usize| text[spans[k].0..spans[k].1].trim();
    let last_raw = raw(last);
    let mut first = last;
    let mut hedged = false;
    let mut all_same = true;
    while first > 0 {
        let prev = first - 1;
        let gap = gap_kind(&text[spans[prev].1..spans[first].0]);
        if gap == Gap::Apart {
            break;
        }
        let c = raw(prev);
        if c.is_empty() {
            break;
        }
        hedged |= gap == Gap::Or;
        all_same &= c == last_raw;
        first = prev;
    }
    if first == last || all_same {
        return Some(Extraction {
            span: last_content,
            rule: Rule::MathSpan,
        });
    }
    let start = outer_start(text, spans[first].0);
    let end = outer_end(text, spans[last].1);
    Some(Extraction {
        span: &text[start..end],
        rule: if hedged { Rule::Hedged } else { Rule::MathList },
    })
}

/// Start of the opening delimiter of the math span whose content starts at `a`.
fn outer_start(text: &str, a: usize) -> usize {
    let head = &text[..a];
    if ["$$", "\\(", "\\["].iter().any(|d| head.ends_with(d)) {
        a - 2
    } else if head.ends_with('$') {
        a - 1
    } else {
        a
    }
}

/// End of the closing delimiter of the math span whose content ends at `e`.
fn outer_end(text: &str, e: usize) -> usize {
    let tail = &text[e..];
    if ["$$", "\\)", "\\]"].iter().any(|d| tail.starts_with(d)) {
        e + 2
    } else if tail.starts_with('$') {
        e + 1
    } else {
        e
    }
}

/// Byte offset of a sub-slice within its parent.
fn offset(parent: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(parent.as_ptr() as usize)
}

/// Longest single word read as a whole completion (`odd`, `neither`, `Wednesday`).
const MAX_BARE_WORD: usize = 24;

/// A short, single-line completion without prose words or math delimiters is the answer
/// itself (`\frac{10}{9}`, `-5`, `x = 3`, `1½`); so is a completion that is one word of letters
/// and nothing else (`odd`, `**Yes.**`), at most [`MAX_BARE_WORD`] letters.
fn bare_answer(region: &str) -> Option<&str> {
    let t = region.trim();
    if t.is_empty()
        || t.len() > 200
        || t.contains(['\n', '$'])
        || t.contains("\\(")
        || t.contains("\\[")
    {
        return None;
    }
    let c = clean(t);
    if count_words_upto(t, 1) > 0 {
        let one_word =
            (2..=MAX_BARE_WORD).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphabetic());
        return one_word.then_some(c);
    }
    // A letter or digit, or a Unicode number (`½`).
    let readable = c.bytes().any(|b| b.is_ascii_alphanumeric()) || c.chars().any(char::is_numeric);
    readable.then_some(c)
}

/// Read a gold: a solution with `\boxed{}` or `#### N` (or a phrase anchor, or for a prose
/// solution its last math span / number), else the whole (trimmed, delimiter-stripped) text
/// as a bare answer. `None` for an empty gold.
#[must_use]
pub fn extract_gold(gold: &str) -> Option<Extraction<'_>> {
    let t = gold.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(e) = boxed_rule(t, false) {
        return Some(e);
    }
    if let Some(e) = gsm8k_rule(t) {
        return Some(unhedge(e));
    }
    // A gold whose last `\boxed{` is never closed (a typo in the dataset): the rest of the
    // text. (Completions get no such leniency: a truncated box is no answer.)
    if let Some(p) = t.rfind("boxed{") {
        let rest = t[p + "boxed{".len()..].trim_end_matches('$').trim();
        if !rest.is_empty() {
            return Some(Extraction {
                span: rest,
                rule: Rule::Boxed,
            });
        }
    }
    let answers = answer_positions(t.as_bytes());
    if let Some(e) = final_answer_rule(t, &answers)
        .or_else(|| answer_is_rule(t, &answers))
        .or_else(|| answer_colon_rule(t, &answers))
    {
        return Some(unhedge(e));
    }
    if is_prose_solution(t) {
        if let Some(span) = last_math_span(t) {
            return Some(Extraction {
                span,
                rule: Rule::MathSpan,
            });
        }
        if let Some(span) = last_number(t) {
            return Some(Extraction {
                span,
                rule: Rule::LastNumber,
            });
        }
    }
    let span = strip_math_delims(t);
    (!span.is_empty()).then_some(Extraction {
        span,
        rule: Rule::Whole,
    })
}

/// The part of a completion that is searched: after the last `</think>`; `None` when a
/// `<think>` is never closed.
#[must_use]
pub fn answer_region(text: &str) -> Option<&str> {
    if memchr::memchr(b'<', text.as_bytes()).is_none() {
        return Some(text);
    }
    if let Some(p) = text.rfind("</think>") {
        Some(&text[p + "</think>".len()..])
    } else if text.contains("<think>") {
        None
    } else {
        Some(text)
    }
}

/// Content (trimmed) of the last non-empty `\boxed{..}` / `\fbox{..}` / `\boxed 5`.
#[must_use]
pub fn last_boxed(text: &str) -> Option<&str> {
    let boxes = find_boxes(text);
    boxes
        .iter()
        .rev()
        .map(|b| text[b.content.0..b.content.1].trim())
        .find(|c| !c.is_empty())
}

/// Remove wrapping math delimiters (`$$..$$`, `$..$`, `\(..\)`, `\[..\]`), repeatedly, when
/// one pair encloses the whole (trimmed) text. `$1$ and $2$` is left alone.
#[must_use]
pub fn strip_math_delims(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let next = strip_one_math_wrapper(s).trim();
        if next.len() == s.len() {
            return s;
        }
        s = next;
    }
}

/// Content (cleaned) of the last non-empty math span: `$$..$$`, `\[..\]` (may span lines),
/// `$..$`, `\(..\)` (single line). `\$` is not a delimiter.
#[must_use]
pub fn last_math_span(text: &str) -> Option<&str> {
    let spans = math_spans(text);
    spans
        .iter()
        .rev()
        .map(|&(a, b)| clean(&text[a..b]))
        .find(|c| !c.is_empty())
}

/// The last number of the text, as written: optional sign (`-`, `−`), digits with `,` / `{,}`
/// / `,\!` / single-space thousands groups, a decimal part (`.5`, decimal comma `2,74`), an
/// optional `/denominator` and `%`. Digits glued to a preceding letter (`AZYUK2A`) are not a
/// number.
#[must_use]
pub fn last_number(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut last = None;
    let mut i = 0;
    while i < n {
        let c = b[i];
        let starts =
            c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts {
            i += 1;
            continue;
        }
        let prev = prev_char(text, i);
        if prev.is_some_and(|p| p.is_alphanumeric() || p == '_') || (c == b'.' && prev == Some('.'))
        {
            // Inside a word (or `..5`): skip the whole alphanumeric run.
            while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            continue;
        }
        let (start, end) = scan_number(text, i);
        last = Some((start, end));
        i = end.max(i + 1);
    }
    last.map(|(a, b)| &text[a..b])
}

// ---------------------------------------------------------------------------------------
// Boxes
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct BoxSpan {
    /// Byte offset of the backslash of `\boxed` / `\fbox`.
    cmd: usize,
    /// Content range.
    content: (usize, usize),
    /// One past the closing brace (or the token).
    end: usize,
}

/// The contents of every complete `\boxed{}` / `\fbox{}` in `text`, in order (used to read
/// a [`Rule::BoxedList`] span as a list of answers).
#[must_use]
pub fn box_contents(text: &str) -> Vec<&str> {
    find_boxes(text)
        .iter()
        .map(|b| text[b.content.0..b.content.1].trim())
        .collect()
}

/// Most box commands for which [`find_boxes`] matches each box's braces on its own.
const MAX_DIRECT_BOXES: usize = 8;

/// All complete boxes, ordered by `end`.
///
/// The scan of [`find_boxes_scan`] finds every `\boxed` / `\fbox` (a backslash, the name, no
/// letter after it): a backslash it skips is the second byte of an escape `\\`, and then it
/// reads the name right after that pair. A box's content ends at the brace that closes its
/// opening brace, which only depends on the text after it. So with few commands in the text
/// (found by a fast substring search), each box is matched on its own: the same boxes,
/// without scanning the whole text byte by byte.
fn find_boxes(text: &str) -> Small<BoxSpan, 4> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Small::new();
    let mut cmds = 0usize;
    // Each name ends in `box` (`\boxed` at 0, `\fbox` at 1): look at every `x`.
    for x in memchr::memchr_iter(b'x', b) {
        let Some(q) = x.checked_sub(2) else { continue };
        if &b[q..x] != b"bo" {
            continue;
        }
        let p = if q > 0 && b[q - 1] == b'f' { q - 1 } else { q };
        if p == 0 || b[p - 1] != b'\\' {
            continue;
        }
        let Some(len) = box_name_len(b, p) else {
            continue;
        };
        cmds += 1;
        if cmds > MAX_DIRECT_BOXES {
            return Small::from_vec(find_boxes_scan(text));
        }
        let cmd = p - 1;
        let mut j = p + len;
        while j < n && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
            j += 1;
        }
        if j < n && b[j] == b'{' {
            if let Some(close) = closing_brace(b, j + 1) {
                out.push(BoxSpan {
                    cmd,
                    content: (j + 1, close),
                    end: close + 1,
                });
            }
        } else if let Some((ts, te)) = tex_token(text, j) {
            out.push(BoxSpan {
                cmd,
                content: (ts, te),
                end: te,
            });
        }
    }
    // Ends are distinct: the order is the one the scan gives.
    out.sort_unstable_by_key(|bx| bx.end);
    out
}

/// The `}` that closes a `{` just before `from`, read as [`find_boxes_scan`] reads text.
fn closing_brace(b: &[u8], from: usize) -> Option<usize> {
    let n = b.len();
    let mut depth = 1usize;
    let mut i = from;
    while i < n {
        match b[i] {
            b'\\' => {
                let name_at = if b.get(i + 1) == Some(&b'\\') {
                    i + 2
                } else {
                    i + 1
                };
                if let Some(len) = box_name_len(b, name_at) {
                    i = name_at + len;
                } else if i + 1 < n {
                    i += 2;
                } else {
                    i += 1;
                }
            }
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => i = memchr::memchr3(b'\\', b'{', b'}', &b[i..]).map_or(n, |k| i + k),
        }
    }
    None
}

/// All complete boxes, ordered by `end`. One pass, iterative brace matching.
fn find_boxes_scan(text: &str) -> Vec<BoxSpan> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    // Stack of open braces: Some(cmd) when the brace opens a box.
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut pending: Option<(usize, usize)> = None; // (cmd, brace position)
    let mut i = 0;
    while i < n {
        match b[i] {
            b'\\' => {
                // `\\boxed` (a doubled backslash) is also read as a box: nobody means the
                // word "boxed" after a line break.
                let name_at = if b.get(i + 1) == Some(&b'\\') {
                    i + 2
                } else {
                    i + 1
                };
                if let Some(len) = box_name_len(b, name_at) {
                    let cmd = name_at - 1;
                    let mut j = name_at + len;
                    while j < n && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
                        j += 1;
                    }
                    if j < n && b[j] == b'{' {
                        pending = Some((cmd, j));
                    } else if let Some((ts, te)) = tex_token(text, j) {
                        out.push(BoxSpan {
                            cmd,
                            content: (ts, te),
                            end: te,
                        });
                    }
                    i = name_at + len;
                } else if i + 1 < n {
                    // Escaped character (`\{`, `\}`, `\\`, `\$`) or a command: skip two bytes
                    // (a multibyte char's tail bytes never match an ASCII delimiter).
                    i += 2;
                } else {
                    i += 1;
                }
            }
            b'{' => {
                let tag = match pending {
                    Some((cmd, at)) if at == i => Some(cmd),
                    _ => None,
                };
                pending = None;
                stack.push(tag);
                i += 1;
            }
            b'}' => {
                // Closing brace: `i` is the position of `}`; the open position is not needed
                // for plain braces, but box braces must know their content start.
                if let Some(Some(cmd)) = stack.pop() {
                    // Content starts after the `{` that follows the command.
                    let open = box_open_brace(b, cmd);
                    out.push(BoxSpan {
                        cmd,
                        content: (open + 1, i),
                        end: i + 1,
                    });
                }
                i += 1;
            }
            // Every other byte is skipped: jump to the next one that matters.
            _ => i = memchr::memchr3(b'\\', b'{', b'}', &b[i..]).map_or(n, |k| i + k),
        }
    }
    out.sort_by_key(|bx| bx.end);
    out
}

/// Length of `boxed` / `fbox` at `at` when followed by a non-letter.
fn box_name_len(b: &[u8], at: usize) -> Option<usize> {
    for name in [&b"boxed"[..], &b"fbox"[..]] {
        if b.len() >= at + name.len()
            && &b[at..at + name.len()] == name
            && !b.get(at + name.len()).is_some_and(u8::is_ascii_alphabetic)
        {
            return Some(name.len());
        }
    }
    None
}

/// Position of the `{` that opens the box whose command starts at `cmd`.
fn box_open_brace(b: &[u8], cmd: usize) -> usize {
    let mut j = cmd + 1;
    while j < b.len() && b[j] != b'{' {
        j += 1;
    }
    j
}

/// A TeX-style argument without braces (`\boxed 5`, `\boxed \pi`): a command name, a run of
/// digits (with `.`; more practical than TeX's single character), or one other character.
fn tex_token(text: &str, j: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let n = b.len();
    if j >= n {
        return None;
    }
    let c = b[j];
    if c == b'\\' {
        let mut k = j + 1;
        while k < n && b[k].is_ascii_alphabetic() {
            k += 1;
        }
        return (k > j + 1).then_some((j, k));
    }
    if c.is_ascii_digit() {
        let mut k = j;
        while k < n
            && (b[k].is_ascii_digit()
                || (b[k] == b'.' && b.get(k + 1).is_some_and(u8::is_ascii_digit)))
        {
            k += 1;
        }
        return Some((j, k));
    }
    let ch = text.get(j..).and_then(|t| t.chars().next())?;
    ch.is_alphanumeric().then_some((j, j + ch.len_utf8()))
}

/// Boxed rule over a region: last non-empty box, possibly extended into a box list, or with
/// `hedge`, into [`Rule::Hedged`] alternatives when a gap holds the word `or`.
fn boxed_rule(text: &str, hedge: bool) -> Option<Extraction<'_>> {
    let boxes = find_boxes(text);
    let content = |bx: &BoxSpan| text[bx.content.0..bx.content.1].trim();
    let last_idx = (0..boxes.len())
        .rev()
        .find(|&k| !content(&boxes[k]).is_empty())?;
    let last = boxes[last_idx];
    let mut first = last;
    let mut count = 1usize;
    let mut all_same = true;
    let mut hedged = false;
    let mut k = last_idx;
    while k > 0 {
        k -= 1;
        let cand = boxes[k];
        if cand.end > first.cmd {
            // Nested inside (or overlapping) the current first box.
            continue;
        }
        let gap = gap_kind(&text[cand.end..first.cmd]);
        if content(&cand).is_empty() || gap == Gap::Apart || (gap == Gap::Or && !hedge) {
            break;
        }
        hedged |= gap == Gap::Or;
        if content(&cand) != content(&last) {
            all_same = false;
        }
        first = cand;
        count += 1;
    }
    if count >= 2 && !all_same {
        let span = text[first.cmd..last.end].trim();
        return Some(Extraction {
            span,
            rule: if hedged {
                Rule::Hedged
            } else {
                Rule::BoxedList
            },
        });
    }
    Some(Extraction {
        span: content(&last),
        rule: Rule::Boxed,
    })
}

/// How two answers (boxes or math spans) are joined by the text between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gap {
    /// Only separators, or `and` with at most two other words: one list.
    List,
    /// The word `or` within [`MAX_LIST_GAP`] bytes and no sentence end: alternatives.
    Or,
    /// Anything else: separate answers (the last one counts).
    Apart,
}

/// How the text `g` between two answers joins them.
fn gap_kind(g: &str) -> Gap {
    if g.len() > MAX_LIST_GAP {
        return Gap::Apart;
    }
    if g.len() < 10 && !g.bytes().any(|c| c.is_ascii_alphabetic()) {
        return Gap::List;
    }
    let b = g.as_bytes();
    let (mut has_and, mut has_or, mut others, mut only_sep) = (false, false, 0usize, true);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            let j = skip(b, i + 1, |c| c.is_ascii_alphabetic());
            if j == i + 1 {
                // `\,` `\;` `\(` `\)` `\[` `\]` `\ ` are separators; other escapes are not.
                if !b.get(i + 1).is_some_and(|d| b",;:!()[] ".contains(d)) {
                    only_sep = false;
                }
                i += 2;
                continue;
            }
            let name = &g[i + 1..j];
            if !matches!(
                name,
                "quad" | "qquad" | "text" | "textrm" | "textnormal" | "mbox" | "mathrm"
            ) {
                only_sep = false;
            }
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let j = skip(b, i, |c| c.is_ascii_alphabetic());
            let w = &g[i..j];
            if w.eq_ignore_ascii_case("or") {
                has_or = true;
            } else if w.eq_ignore_ascii_case("and") {
                has_and = true;
            } else {
                only_sep = false;
                if w.len() >= 2 {
                    others += 1;
                }
            }
            i = j;
            continue;
        }
        if c == b'.' && b.get(i + 1).is_none_or(u8::is_ascii_whitespace) {
            return Gap::Apart;
        }
        if !(c.is_ascii_whitespace() || matches!(c, b'$' | b',' | b';' | b'{' | b'}' | b'~')) {
            only_sep = false;
        }
        i += 1;
    }
    if has_or {
        Gap::Or
    } else if only_sep || (has_and && others <= 2) {
        Gap::List
    } else {
        Gap::Apart
    }
}

// ---------------------------------------------------------------------------------------
// Phrase anchors
// ---------------------------------------------------------------------------------------

/// Word-boundary occurrences of `answer` (any case), last first, at most
/// [`MAX_ANCHOR_SEEN`]. One backward pass serves all three phrase rules.
fn answer_positions(b: &[u8]) -> Small<usize, 8> {
    let mut out = Small::new();
    // Every occurrence has its one `w` at offset 3 (and occurrences never overlap), so the
    // `w`s from the end give the occurrences from the end.
    for w in memchr::memchr2_iter(b'w', b'W', b).rev() {
        let Some(p) = w.checked_sub(3) else { break };
        if !starts_with_ci(b, p, b"answer") {
            continue;
        }
        if p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_') {
            continue;
        }
        out.push(p);
        if out.len() >= MAX_ANCHOR_SEEN {
            break;
        }
    }
    out
}

/// Try anchor occurrences (last first); `start_of` maps an occurrence of `answer` to the start
/// of the answer text (or rejects it); the first non-empty refined answer wins.
fn phrase_rule<'a>(
    text: &'a str,
    answers: &[usize],
    rule: Rule,
    start_of: impl Fn(&'a str, usize) -> Option<usize>,
) -> Option<Extraction<'a>> {
    phrase_rule_if(text, answers, rule, start_of, false)
}

/// [`phrase_rule`]; with `need_hope`, only sentences followed by "I hope it is correct"
/// (the Minerva format) count.
fn phrase_rule_if<'a>(
    text: &'a str,
    answers: &[usize],
    rule: Rule,
    start_of: impl Fn(&'a str, usize) -> Option<usize>,
    need_hope: bool,
) -> Option<Extraction<'a>> {
    let mut tries = 0;
    for &p in answers {
        let Some(s) = start_of(text, p) else { continue };
        tries += 1;
        let e = sentence_end(text, s);
        if need_hope && !followed_by_hope(text, s, e) {
            if tries >= MAX_ANCHOR_TRIES {
                break;
            }
            continue;
        }
        let found = refine_anchor(&text[s..e]);
        if !found.span.is_empty() {
            return Some(Extraction {
                span: found.span,
                rule: if found.rule == Rule::Hedged {
                    Rule::Hedged
                } else {
                    rule
                },
            });
        }
        if tries >= MAX_ANCHOR_TRIES {
            break;
        }
    }
    None
}

/// `The final answer is X. I hope it is correct.` (Minerva): outranks boxes.
fn minerva_rule<'a>(text: &'a str, answers: &[usize]) -> Option<Extraction<'a>> {
    phrase_rule_if(text, answers, Rule::FinalAnswer, final_answer_start, true)
}

/// Whether "I hope it is correct" is inside `text[s..e]` or right after it.
fn followed_by_hope(text: &str, s: usize, e: usize) -> bool {
    const HOPE: &[u8] = b"i hope it is correct";
    let b = text.as_bytes();
    if find_ci(&b[s..e], HOPE).is_some() {
        return true;
    }
    let k = skip(b, e, |c| c.is_ascii_whitespace() || c == b'.');
    starts_with_ci(b, k, HOPE)
}

fn final_answer_rule<'a>(text: &'a str, answers: &[usize]) -> Option<Extraction<'a>> {
    phrase_rule(text, answers, Rule::FinalAnswer, final_answer_start)
}

/// Start of the answer after `final answer` + connector (`is`, `:`, `=`, or a heading
/// line break); `p` is the position of `answer`.
fn final_answer_start(t: &str, p: usize) -> Option<usize> {
    {
        let b = t.as_bytes();
        let n = b.len();
        // `final answer`: `final` plus one space or tab right before `answer`.
        let q = p.checked_sub(6)?;
        if !(b[q..q + 5].eq_ignore_ascii_case(b"final") && matches!(b[q + 5], b' ' | b'\t')) {
            return None;
        }
        if q > 0 && (b[q - 1].is_ascii_alphanumeric() || b[q - 1] == b'_') {
            return None;
        }
        let heading = line_prefix_is_markup(b, q);
        let mut j = p + "answer".len();
        j = skip(b, j, |c| matches!(c, b' ' | b'\t' | b'*' | b'_'));
        if starts_with_ci(b, j, b"is") && !b.get(j + 2).is_some_and(u8::is_ascii_alphanumeric) {
            j += 2;
            j = skip(b, j, |c| matches!(c, b' ' | b'\t' | b'*'));
            if b.get(j) == Some(&b':') {
                j += 1;
            }
        } else if b.get(j) == Some(&b':') || b.get(j) == Some(&b'=') {
            j += 1;
        } else if !(heading && (j >= n || matches!(b[j], b'\n' | b'\r'))) {
            return None;
        }
        Some(after_connector(b, j))
    }
}

fn answer_is_rule<'a>(text: &'a str, answers: &[usize]) -> Option<Extraction<'a>> {
    phrase_rule(text, answers, Rule::AnswerIs, |t, p| {
        let b = t.as_bytes();
        if !starts_with_ci(b, p, b"answer is") {
            return None;
        }
        let mut j = p + "answer is".len();
        if b.get(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'\'')
        {
            return None;
        }
        j = skip(b, j, |c| matches!(c, b' ' | b'\t' | b'*'));
        if b.get(j) == Some(&b':') {
            j += 1;
        }
        Some(after_connector(b, j))
    })
}

fn answer_colon_rule<'a>(text: &'a str, answers: &[usize]) -> Option<Extraction<'a>> {
    phrase_rule(text, answers, Rule::AnswerColon, |t, p| {
        let b = t.as_bytes();
        let mut j = p + "answer".len();
        if b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        j = skip(b, j, |c| matches!(c, b' ' | b'\t' | b'*' | b'_'));
        if b.get(j) == Some(&b':') {
            return Some(after_connector(b, j + 1));
        }
        // `Answer $9$`, `Answer \[ 9 \]`: a well-formed math span right after the word.
        let k = skip(b, j, |c| c.is_ascii_whitespace());
        let (cs, ce, _) = math_span_at(t, k)?;
        (!t[cs..ce].trim().is_empty()).then_some(k)
    })
}

fn gsm8k_rule(text: &str) -> Option<Extraction<'_>> {
    let b = text.as_bytes();
    let mut end = b.len();
    let mut tries = 0;
    while let Some(p) = text[..end].rfind("####") {
        end = p;
        if (p > 0 && b[p - 1] == b'#') || b.get(p + 4) == Some(&b'#') {
            continue;
        }
        tries += 1;
        let s = skip(b, p + 4, |c| matches!(c, b' ' | b'\t'));
        let e = sentence_end(text, s);
        let raw = &text[s..e];
        let found = refine_anchor(raw);
        if !found.span.is_empty() && count_words(clean(raw)) == 0 && !raw.trim_end().ends_with(':')
        {
            return Some(Extraction {
                span: found.span,
                rule: if found.rule == Rule::Hedged {
                    Rule::Hedged
                } else {
                    Rule::Gsm8k
                },
            });
        }
        if tries >= MAX_ANCHOR_TRIES {
            break;
        }
    }
    None
}

/// Skip markup glued to a connector (`Answer:**`), then whitespace.
fn after_connector(b: &[u8], j: usize) -> usize {
    let j = skip(b, j, |c| c == b'*' || c == b'_');
    skip(b, j, |c| c.is_ascii_whitespace())
}

/// Whether only markdown markup (`#`, `*`, `>`, spaces) precedes position `p` on its line.
fn line_prefix_is_markup(b: &[u8], p: usize) -> bool {
    let mut k = p;
    while k > 0 {
        let c = b[k - 1];
        if c == b'\n' {
            return true;
        }
        if !matches!(c, b'#' | b'*' | b'_' | b'>' | b' ' | b'\t') {
            return false;
        }
        k -= 1;
    }
    true
}

/// End of the answer sentence starting at `s`: a top-level newline, or `.` followed by
/// whitespace / end, outside math and braces; at most [`MAX_ANCHOR_LEN`] bytes.
fn sentence_end(text: &str, s: usize) -> usize {
    let b = text.as_bytes();
    let mut limit = (s + MAX_ANCHOR_LEN).min(b.len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    #[derive(PartialEq)]
    enum M {
        Out,
        Dollar,
        DDollar,
        Paren,
        Bracket,
    }
    let mut mode = M::Out;
    let mut depth = 0usize;
    let mut i = s;
    while i < limit {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match mode {
            M::Out => match c {
                b'\\' => {
                    match next {
                        Some(b'(') => mode = M::Paren,
                        Some(b'[') => mode = M::Bracket,
                        _ => {}
                    }
                    i += 2;
                    continue;
                }
                b'$' => {
                    if next == Some(b'$') {
                        mode = M::DDollar;
                        i += 2;
                        continue;
                    }
                    mode = M::Dollar;
                }
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b'\n' | b'\r' if depth == 0 => return i,
                b'.' if depth == 0 && next.is_none_or(|d| d.is_ascii_whitespace()) => return i,
                b'<' if next == Some(b'|') => return i,
                _ => {}
            },
            M::Dollar | M::Paren => match c {
                b'\\' => {
                    if mode == M::Paren && next == Some(b')') {
                        mode = M::Out;
                    }
                    i += 2;
                    continue;
                }
                b'$' if mode == M::Dollar => mode = M::Out,
                b'\n' | b'\r' => return i,
                _ => {}
            },
            M::DDollar | M::Bracket => match c {
                b'\\' => {
                    if mode == M::Bracket && next == Some(b']') {
                        mode = M::Out;
                    }
                    i += 2;
                    continue;
                }
                b'$' if mode == M::DDollar && next == Some(b'$') => {
                    mode = M::Out;
                    i += 2;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    limit.min(b.len())
}

/// Clean an anchored answer text and reduce a sentence to its answer part. The rule is
/// [`Rule::Hedged`] for alternatives (`\boxed{2} or \boxed{3}`, `$2$ or $3$`), else
/// [`Rule::Whole`] (the caller names its own rule).
fn refine_anchor(s: &str) -> Extraction<'_> {
    let whole = |span| Extraction {
        span,
        rule: Rule::Whole,
    };
    let t = clean(s);
    if t.is_empty() {
        return whole(t);
    }
    if let Some(e) = boxed_rule(t, true) {
        return e;
    }
    let t = clean(cut_clause(t));
    // `$2$ or $3$`: math spans offered as alternatives (the chain must cover `t`).
    if t.starts_with(['$', '\\']) {
        if let Some(e) = last_math_chain(t) {
            if e.rule == Rule::Hedged && e.span.len() == t.len() {
                return e;
            }
        }
    }
    whole(refine_sentence(t))
}

/// [`refine_anchor`] after boxes: reduce a sentence to its answer part.
fn refine_sentence(t: &str) -> &str {
    // `$x=3$, done` / `$12$ cm`: a leading math span followed by plain words only.
    if let Some((cs, ce, end)) = math_span_at(t, 0) {
        let rest = &t[end..];
        let inner = clean(&t[cs..ce]);
        if !inner.is_empty()
            && end < t.len()
            && !rest
                .bytes()
                .any(|c| c.is_ascii_digit() || matches!(c, b'$' | b'\\' | b'{'))
        {
            return inner;
        }
    }
    let t = match split_copula(t) {
        Some(rest) if !clean(rest).is_empty() => clean(rest),
        _ => t,
    };
    if count_words(t) >= 2 {
        if let Some(m) = last_math_span(t) {
            return m;
        }
        if let Some(num) = last_number(t) {
            return num;
        }
    }
    t
}

/// Per-byte "top level" flags: outside `$..$`, `\(..\)`, `\[..\]`, braces.
fn top_level_mask(s: &str) -> Vec<bool> {
    let b = s.as_bytes();
    let mut mask = vec![false; b.len()];
    let mut depth = 0usize;
    let mut in_math = 0u8; // 0 out, 1 `$`, 2 `\(`/`\[`
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            match (in_math, b.get(i + 1)) {
                (0, Some(b'(' | b'[')) => in_math = 2,
                (2, Some(b')' | b']')) => in_math = 0,
                _ => {}
            }
            i += 2;
            continue;
        }
        if c == b'$' {
            if in_math == 0 {
                in_math = 1;
            } else if in_math == 1 {
                in_math = 0;
            }
            i += 1;
            continue;
        }
        if in_math == 0 {
            match c {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                _ => mask[i] = depth == 0,
            }
        }
        i += 1;
    }
    mask
}

/// Cut a trailing explanatory clause (`5, which is odd` -> `5`).
fn cut_clause(s: &str) -> &str {
    const CLAUSES: [&[u8]; 11] = [
        b", which",
        b" which ",
        b" because ",
        b", because",
        b", since",
        b" since ",
        b", so ",
        b", where",
        b" where ",
        b", as ",
        b" i.e.",
    ];
    let b = s.as_bytes();
    let mask = top_level_mask(s);
    for i in 0..b.len() {
        if !mask[i] {
            continue;
        }
        if CLAUSES.iter().any(|c| starts_with_ci(b, i, c)) && i > 0 {
            return &s[..i];
        }
    }
    s
}

/// The text after the last top-level copula (`The largest $n$ is 34` -> `34`).
fn split_copula(s: &str) -> Option<&str> {
    const COPULAS: [&[u8]; 5] = [b" is ", b" are ", b" equals ", b" be ", b" was "];
    let b = s.as_bytes();
    let mask = top_level_mask(s);
    let mut best = None;
    for (i, _) in mask.iter().enumerate().filter(|(_, &top)| top) {
        for c in COPULAS {
            if starts_with_ci(b, i, c) {
                best = Some(i + c.len());
            }
        }
    }
    best.map(|k| &s[k..])
}

/// Strip noise around an answer, repeatedly (see the module docs).
fn clean(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let before = s.len();
        if let Some(p) = find_ci(s.as_bytes(), b"i hope it is correct") {
            s = s[..p].trim();
        }
        // Trailing punctuation (but keep `\;`, `\,`, `\.`).
        loop {
            let bs = s.as_bytes();
            match bs.last() {
                Some(b'.' | b',' | b';' | b':')
                    if !(bs.len() >= 2 && bs[bs.len() - 2] == b'\\') =>
                {
                    s = s[..s.len() - 1].trim_end();
                }
                _ => break,
            }
        }
        s = s.strip_prefix(':').unwrap_or(s).trim_start();
        s = strip_one_wrapper(s).trim();
        s = strip_lone_dollar(s).trim();
        if s.matches("**").count() == 1 {
            s = s
                .strip_prefix("**")
                .or_else(|| s.strip_suffix("**"))
                .unwrap_or(s)
                .trim();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// One enclosing `**..**`, `"..."`, or math-delimiter pair.
fn strip_one_wrapper(s: &str) -> &str {
    if s.len() >= 4 && s.starts_with("**") && s.ends_with("**") && !s[2..s.len() - 2].contains("**")
    {
        return &s[2..s.len() - 2];
    }
    if s.len() >= 4
        && s.starts_with("\\\"")
        && s.ends_with("\\\"")
        && !s[2..s.len() - 2].contains('"')
    {
        return &s[2..s.len() - 2];
    }
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') && !s[1..s.len() - 1].contains('"') {
        return &s[1..s.len() - 1];
    }
    strip_one_math_wrapper(s)
}

fn strip_one_math_wrapper(s: &str) -> &str {
    let b = s.as_bytes();
    let n = b.len();
    if n >= 4 && s.starts_with("$$") && s.ends_with("$$") {
        let inner = &s[2..n - 2];
        if !inner.contains("$$") {
            return inner;
        }
    }
    if n >= 2 && b[0] == b'$' && b[n - 1] == b'$' && b[n - 2] != b'\\' {
        let inner = &s[1..n - 1];
        if unescaped_dollars(inner) == 0 {
            return inner;
        }
    }
    if n >= 4 && s.starts_with("\\(") && s.ends_with("\\)") && !s[2..n - 2].contains("\\)") {
        return &s[2..n - 2];
    }
    if n >= 4 && s.starts_with("\\[") && s.ends_with("\\]") && !s[2..n - 2].contains("\\]") {
        return &s[2..n - 2];
    }
    s
}

/// A single unescaped `$` at either end (currency, or a stray delimiter) is removed.
fn strip_lone_dollar(s: &str) -> &str {
    if unescaped_dollars(s) != 1 {
        if let Some(rest) = s.strip_prefix("\\$") {
            if rest.starts_with(|c: char| c.is_ascii_digit()) && unescaped_dollars(rest) == 0 {
                return rest;
            }
        }
        return s;
    }
    if let Some(rest) = s.strip_prefix('$') {
        return rest;
    }
    if let Some(rest) = s.strip_suffix('$') {
        if !rest.ends_with('\\') {
            return rest;
        }
    }
    s
}

fn unescaped_dollars(s: &str) -> usize {
    let b = s.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'$' => {
                count += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    count
}

// ---------------------------------------------------------------------------------------
// Words / prose detection
// ---------------------------------------------------------------------------------------

/// Words that do not make an answer "prose".
const MATH_WORDS: [&str; 24] = [
    "and", "or", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "lg", "exp", "sqrt", "pi",
    "mod", "gcd", "lcm", "max", "min", "arcsin", "arccos", "arctan", "sinh", "cosh",
];

/// Text commands whose braced argument is skipped when counting words.
const TEXT_CMDS: [&str; 10] = [
    "text",
    "textbf",
    "textit",
    "textrm",
    "textnormal",
    "mbox",
    "mathrm",
    "mathbf",
    "operatorname",
    "mathit",
];

/// Number of prose words (letter runs of length >= 2 outside math, commands and `\text{}`).
fn count_words(s: &str) -> usize {
    count_words_upto(s, usize::MAX)
}

/// [`count_words`], stopping once `cap` words are seen.
fn count_words_upto(s: &str, cap: usize) -> usize {
    let b = s.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut in_math = false;
    let mut count = 0;
    while i < n {
        if !s.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let c = b[i];
        if c == b'\\' {
            let mut j = i + 1;
            while j < n && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            let name = &s[i + 1..j];
            if j == i + 1 {
                i += 2;
                continue;
            }
            // `\begin{pmatrix}`: the environment name is not a word of prose.
            if TEXT_CMDS.contains(&name) || name == "begin" || name == "end" {
                let k = skip(b, j, |c| c == b' ');
                if b.get(k) == Some(&b'{') {
                    j = skip_group(b, k);
                }
            }
            i = j;
            continue;
        }
        if c == b'$' {
            in_math = !in_math;
            i += 1;
            continue;
        }
        if in_math {
            i += 1;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        if ch.is_alphabetic() {
            let start = i;
            let mut len = 0;
            for ch in s[i..].chars() {
                if !ch.is_alphabetic() {
                    break;
                }
                i += ch.len_utf8();
                len += 1;
            }
            let word = &s[start..i];
            if len >= 2
                && !MATH_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
                && !is_list_word(word)
            {
                count += 1;
                if count >= cap {
                    return count;
                }
            }
            continue;
        }
        i += ch.len_utf8().max(1);
    }
    count
}

/// `or` / `and` between answers, also glued to the next answer's capital (`1orW(x)=-1`).
fn is_list_word(w: &str) -> bool {
    ["or", "and"].iter().any(|sep| {
        w.strip_prefix(sep).is_some_and(|rest| {
            rest.is_empty() || (rest.len() == 1 && rest.as_bytes()[0].is_ascii_uppercase())
        })
    })
}

/// Index after the group that opens at `b[k] == b'{'` (iterative; end of text if unclosed).
fn skip_group(b: &[u8], k: usize) -> usize {
    let mut depth = 0usize;
    let mut i = k;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A gold that reads like a worked solution rather than a bare answer.
fn is_prose_solution(s: &str) -> bool {
    let words = count_words_upto(s, 6);
    words >= 6 || (words >= 3 && (s.contains(". ") || s.contains('\n') || s.ends_with('.')))
}

// ---------------------------------------------------------------------------------------
// Bold
// ---------------------------------------------------------------------------------------

const HEADING_WORDS: [&str; 22] = [
    "step",
    "case",
    "part",
    "method",
    "approach",
    "problem",
    "question",
    "example",
    "solution",
    "answer",
    "final",
    "note",
    "check",
    "verification",
    "conclusion",
    "summary",
    "hint",
    "lemma",
    "claim",
    "stage",
    "phase",
    "round",
];

/// Last `**X**` on one line that looks like an answer (short, has a digit or math, at most
/// one prose word, not a heading such as `**Step 2:**`).
fn last_bold(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut best = None;
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < n {
        match b[i] {
            b'\n' => {
                open = None;
                i += 1;
            }
            b'*' if b.get(i + 1) == Some(&b'*') => {
                match open {
                    None => open = Some(i + 2),
                    Some(o) => {
                        if let Some(c) = bold_answer(&text[o..i]) {
                            best = Some(c);
                        }
                        open = None;
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    best
}

fn bold_answer(content: &str) -> Option<&str> {
    let raw = content.trim();
    if raw.is_empty() || raw.len() > 80 || raw.ends_with(':') {
        return None;
    }
    let c = clean(raw);
    if c.is_empty() || count_words(c) > 1 {
        return None;
    }
    let first: String = c
        .chars()
        .take_while(|ch| ch.is_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    if HEADING_WORDS.contains(&first.as_str()) {
        return None;
    }
    c.bytes()
        .any(|ch| ch.is_ascii_digit() || ch == b'\\' || ch == b'$')
        .then_some(c)
}

// ---------------------------------------------------------------------------------------
// Math spans
// ---------------------------------------------------------------------------------------

/// Content ranges of all math spans, in order. Linear: a failed search for a closer is
/// remembered so that later openers of the same kind fail at once.
fn math_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut no_close_dd = false;
    let mut no_close_bracket = false;
    let mut fail_paren_until = 0usize;
    let mut fail_dollar_until = 0usize;
    let mut i = 0;
    while i < n {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(b'(') => {
                    if i < fail_paren_until {
                        i += 2;
                        continue;
                    }
                    match find_close(b, i + 2, Close::Paren) {
                        Ok(c) => {
                            push_span(&mut out, b, i + 2, c);
                            i = c + 2;
                        }
                        Err(lim) => {
                            fail_paren_until = lim;
                            i += 2;
                        }
                    }
                }
                Some(b'[') => {
                    if no_close_bracket {
                        i += 2;
                        continue;
                    }
                    match find_close(b, i + 2, Close::Bracket) {
                        Ok(c) => {
                            push_span(&mut out, b, i + 2, c);
                            i = c + 2;
                        }
                        Err(_) => {
                            no_close_bracket = true;
                            i += 2;
                        }
                    }
                }
                Some(_) => i += 2,
                None => i += 1,
            },
            b'$' => {
                if b.get(i + 1) == Some(&b'$') && !no_close_dd {
                    match find_close(b, i + 2, Close::DDollar) {
                        Ok(c) => {
                            push_span(&mut out, b, i + 2, c);
                            i = c + 2;
                            continue;
                        }
                        Err(_) => no_close_dd = true,
                    }
                }
                if i < fail_dollar_until {
                    i += 1;
                    continue;
                }
                match find_close(b, i + 1, Close::Dollar) {
                    Ok(c) => {
                        push_span(&mut out, b, i + 1, c);
                        i = c + 1;
                    }
                    Err(lim) => {
                        fail_dollar_until = lim;
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Record a span unless its content is blank.
fn push_span(out: &mut Vec<(usize, usize)>, b: &[u8], a: usize, e: usize) {
    if b[a..e].iter().any(|c| !c.is_ascii_whitespace()) {
        out.push((a, e));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Close {
    Dollar,
    DDollar,
    Paren,
    Bracket,
}

/// Position of the closer, or `Err(limit)`: no closer in `from..limit`.
fn find_close(b: &[u8], from: usize, kind: Close) -> Result<usize, usize> {
    find_close_until(b, from, kind, b.len())
}

/// [`find_close`] that gives up at byte `limit`.
fn find_close_until(b: &[u8], from: usize, kind: Close, limit: usize) -> Result<usize, usize> {
    let limit = limit.min(b.len());
    let mut i = from;
    while i < limit {
        match b[i] {
            b'\\' => {
                match (kind, b.get(i + 1)) {
                    (Close::Paren, Some(b')')) | (Close::Bracket, Some(b']')) => return Ok(i),
                    _ => {}
                }
                i += 2;
                continue;
            }
            b'$' => match kind {
                Close::Dollar => return Ok(i),
                Close::DDollar if b.get(i + 1) == Some(&b'$') => return Ok(i),
                _ => {}
            },
            b'\n' if matches!(kind, Close::Dollar | Close::Paren) => return Err(i),
            _ => {}
        }
        i += 1;
    }
    Err(limit)
}

/// A well-formed math span opening exactly at `k`: (content start, content end, span end).
fn math_span_at(text: &str, k: usize) -> Option<(usize, usize, usize)> {
    let b = text.as_bytes();
    let lim = k.saturating_add(MAX_ANCHOR_LEN);
    let close = |from, kind| find_close_until(b, from, kind, lim).ok();
    match (b.get(k), b.get(k + 1)) {
        (Some(b'$'), Some(b'$')) => close(k + 2, Close::DDollar).map(|c| (k + 2, c, c + 2)),
        (Some(b'$'), _) => close(k + 1, Close::Dollar).map(|c| (k + 1, c, c + 1)),
        (Some(b'\\'), Some(b'(')) => close(k + 2, Close::Paren).map(|c| (k + 2, c, c + 2)),
        (Some(b'\\'), Some(b'[')) => close(k + 2, Close::Bracket).map(|c| (k + 2, c, c + 2)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------

/// The char that ends just before byte `i` (`i` must be a char boundary).
fn prev_char(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|t| t.chars().next_back())
}

/// Scan a number whose first digit (or leading `.`) is at `i`; returns its span including a
/// sign, fraction denominator and percent sign.
fn scan_number(text: &str, i: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let n = b.len();
    let digits = |mut k: usize| {
        while k < n && b[k].is_ascii_digit() {
            k += 1;
        }
        k
    };
    let mut start = i;
    let mut j = i;
    let mut has_int = false;
    if b[i].is_ascii_digit() {
        j = digits(i);
        has_int = true;
        let first_len = j - i;
        let mut grouped = false;
        if first_len <= 3 {
            loop {
                let sep_len = if text[j..].starts_with(",\\!") || text[j..].starts_with("{,}") {
                    3
                } else if matches!(b.get(j), Some(b',' | b' ')) {
                    1
                } else {
                    0
                };
                if sep_len == 0 {
                    break;
                }
                let g = j + sep_len;
                let ge = digits(g);
                if ge - g == 3 && !b.get(ge).is_some_and(u8::is_ascii_digit) {
                    j = ge;
                    grouped = true;
                } else {
                    break;
                }
            }
        }
        // Decimal comma: `2,74`, `1000,99` (one or two digits, not followed by more list).
        if !grouped && b.get(j) == Some(&b',') {
            let ge = digits(j + 1);
            let len = ge - (j + 1);
            if (1..=2).contains(&len)
                && !matches!(b.get(ge), Some(b',' | b'.'))
                && !b.get(ge).is_some_and(u8::is_ascii_alphanumeric)
            {
                j = ge;
            }
        }
    }
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = digits(j + 1);
    }
    // Simple fraction `3/4`.
    if has_int && b.get(j) == Some(&b'/') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        let e = digits(j + 1);
        let decimal_after = b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit);
        if b.get(e) != Some(&b'/') && !decimal_after {
            j = e;
        }
    }
    // Percent.
    if b.get(j) == Some(&b'%') {
        j += 1;
    } else if text[j..].starts_with("\\%") || text[j..].starts_with(" %") {
        j += 2;
    }
    // Sign.
    let sign_ok = |s: usize| {
        let before = prev_char(text, s);
        !before.is_some_and(|p| p.is_alphanumeric() || p == ')' || p == '_')
    };
    if start > 0 && b[start - 1] == b'-' && sign_ok(start - 1) {
        start -= 1;
    } else if text[..start].ends_with('\u{2212}') && sign_ok(start - '\u{2212}'.len_utf8()) {
        start -= '\u{2212}'.len_utf8();
    }
    (start, j)
}

// ---------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------

fn skip(b: &[u8], mut j: usize, pred: impl Fn(u8) -> bool) -> usize {
    while j < b.len() && pred(b[j]) {
        j += 1;
    }
    j
}

fn starts_with_ci(b: &[u8], at: usize, needle: &[u8]) -> bool {
    b.len() >= at + needle.len() && b[at..at + needle.len()].eq_ignore_ascii_case(needle)
}

fn find_ci(b: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || b.len() < needle.len() {
        return None;
    }
    let (f, m) = (needle[0].to_ascii_lowercase(), needle.len());
    (0..=b.len() - m)
        .find(|&i| b[i].to_ascii_lowercase() == f && b[i..i + m].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spans(v: &[BoxSpan]) -> Vec<(usize, (usize, usize), usize)> {
        v.iter().map(|b| (b.cmd, b.content, b.end)).collect()
    }

    #[test]
    fn direct_boxes_are_the_scanned_boxes() {
        for t in [
            "\\boxed{1}",
            "\\\\boxed{1}",
            "\\\\\\boxed{1}",
            "a \\fbox{2} \\boxed 5 \\boxed\\pi \\boxed{\\boxed{3}}",
            "\\fboxed{1} \\boxedx{2} fbox{3} \\boxed  \n{4}",
            "\\boxed{\\{ 1 \\} \\\\}  } \\boxed{",
            "\\boxed{\\frac{1}{2}} and \\boxed{3}.",
            "\\boxed",
            "x\\boxed{\\fbox{x}}x",
        ] {
            assert_eq!(spans(&find_boxes(t)), spans(&find_boxes_scan(t)), "{t:?}");
        }
        let many = "\\boxed{1} ".repeat(MAX_DIRECT_BOXES + 2);
        assert_eq!(find_boxes(&many).len(), MAX_DIRECT_BOXES + 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
        #[test]
        fn direct_boxes_match_the_scan(parts in proptest::collection::vec(
            prop_oneof![
                Just("\\"), Just("{"), Just("}"), Just("boxed"), Just("fbox"), Just("\\boxed"),
                Just("\\fbox"), Just("\\boxed{"), Just(" "), Just("\n"), Just("x"), Just("5"),
                Just("\\pi"), Just("é"), Just("f"), Just("bo"),
            ],
            0..24,
        )) {
            let t: String = parts.concat();
            prop_assert_eq!(spans(&find_boxes(&t)), spans(&find_boxes_scan(&t)));
        }

        #[test]
        fn answer_positions_match_a_plain_search(parts in proptest::collection::vec(
            prop_oneof![
                Just("answer"), Just("ANSWER"), Just("Answer"), Just("aNsWeR"), Just("w"),
                Just("answ"), Just("er"), Just(" "), Just("_"), Just("x"), Just("é"),
            ],
            0..24,
        )) {
            let t: String = parts.concat();
            let b = t.as_bytes();
            let want: Vec<usize> = (0..b.len().saturating_sub(5))
                .rev()
                .filter(|&p| starts_with_ci(b, p, b"answer"))
                .filter(|&p| p == 0 || !(b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_'))
                .collect();
            prop_assert_eq!(answer_positions(b).to_vec(), want);
        }
    }
}
