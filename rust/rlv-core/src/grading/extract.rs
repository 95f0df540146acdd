//! Final-answer extraction. PLACEHOLDER: being rewritten (full anchor set, priorities,
//! </think> handling); interface is fixed.

/// Extraction mode for completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Anchors first, then the last math span, then the last number.
    #[default]
    Lenient,
    /// Explicit anchors only (for RL rewards).
    Strict,
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
            Mode::Lenient => Self { math_fallback: true, number_fallback: true },
            Mode::Strict => Self { math_fallback: false, number_fallback: false },
        }
    }
}

/// Which rule produced the answer span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Boxed,
    FinalAnswer,
    AnswerIs,
    AnswerColon,
    Gsm8k,
    Bold,
    MathSpan,
    LastNumber,
    /// The whole text is the answer (bare gold answers).
    Whole,
}

impl Rule {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Boxed => "boxed",
            Rule::FinalAnswer => "final_answer",
            Rule::AnswerIs => "answer_is",
            Rule::AnswerColon => "answer_colon",
            Rule::Gsm8k => "gsm8k",
            Rule::Bold => "bold",
            Rule::MathSpan => "math_span",
            Rule::LastNumber => "last_number",
            Rule::Whole => "whole",
        }
    }
}

/// An answer span (a slice of the input) and the rule that found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extraction<'a> {
    pub span: &'a str,
    pub rule: Rule,
}

fn last_boxed(text: &str) -> Option<&str> {
    let start = text.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Extract the final answer of a model output.
#[must_use]
pub fn extract_answer(text: &str, mode: Mode) -> Option<Extraction<'_>> {
    extract_answer_with(text, ExtractConfig::from(mode))
}

/// Extract with explicit switches.
#[must_use]
pub fn extract_answer_with(text: &str, _cfg: ExtractConfig) -> Option<Extraction<'_>> {
    if let Some(s) = last_boxed(text) {
        return Some(Extraction { span: s.trim(), rule: Rule::Boxed });
    }
    if let Some(p) = text.rfind("####") {
        return Some(Extraction { span: text[p + 4..].trim(), rule: Rule::Gsm8k });
    }
    None
}

/// Read a gold: a solution with `\boxed{}` or `#### N`, else the whole (trimmed) text as a
/// bare answer. `None` for an empty gold.
#[must_use]
pub fn extract_gold(gold: &str) -> Option<Extraction<'_>> {
    if let Some(s) = last_boxed(gold) {
        return Some(Extraction { span: s.trim(), rule: Rule::Boxed });
    }
    if let Some(p) = gold.rfind("####") {
        return Some(Extraction { span: gold[p + 4..].trim(), rule: Rule::Gsm8k });
    }
    let t = gold.trim();
    (!t.is_empty()).then_some(Extraction { span: t, rule: Rule::Whole })
}
