//! Multiple-choice answers (`A`-`D`, or any set of letters).
//!
//! Order: an explicit anchor (`\boxed{B}`, "the answer is (C)", "Answer: D") whose answer is
//! one choice letter, optionally wrapped (`(B)`, `\text{B}`, `**B**`, `B.`, `B) because ...`);
//! then the first stand-alone choice letter of the text (not part of a word: the `A` in
//! "Answer" does not count, the `B` in "Because B is valid" does).

use super::extract::{alternatives, answer_region, extract_answer, Mode, Rule};

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'\\'
}

/// Strip wrappers around a single letter: `(B)`, `\text{B}`, `**B**`, `B.`, `B)`, `B: ...`.
fn letter_of(span: &str, choices: &str) -> Option<char> {
    let mut t = span.trim();
    for w in ["\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"] {
        if let Some(inner) = t.strip_prefix(w).and_then(|r| r.strip_suffix('}')) {
            t = inner.trim();
        }
    }
    let t = t.trim_matches(|c: char| matches!(c, '*' | '$' | ' ' | '"' | '\''));
    let t = t.strip_prefix('(').unwrap_or(t);
    let mut chars = t.chars();
    let c = chars.next()?;
    let rest = chars.as_str();
    let ends = rest.is_empty() || rest.starts_with([')', '.', ':', ',', ' ', ']', '}']);
    (choices.contains(c) && c.is_alphabetic() && ends).then_some(c)
}

/// The chosen letter of a multiple-choice answer, and the rule that found it.
#[must_use]
pub fn extract_choice(text: &str, choices: &str) -> Option<(char, Rule)> {
    let region = answer_region(text)?;
    if let Some(e) = extract_answer(region, Mode::Strict) {
        if e.rule == Rule::Hedged {
            // `\boxed{A} or \boxed{B}`: one letter only if every alternative names it.
            let letters: Vec<Option<char>> = alternatives(e.span)
                .into_iter()
                .map(|a| letter_of(a, choices))
                .collect();
            return match letters.first() {
                Some(&Some(c)) if letters.iter().all(|l| *l == Some(c)) => Some((c, e.rule)),
                _ => None,
            };
        }
        if let Some(c) = letter_of(e.span, choices) {
            return Some((c, e.rule));
        }
    }
    let b = region.as_bytes();
    for (i, c) in region.char_indices() {
        if !c.is_alphabetic() || !choices.contains(c) {
            continue;
        }
        let before_ok = i == 0 || !is_word_byte(b[i - 1]);
        let j = i + c.len_utf8();
        let after_ok = j >= b.len() || !is_word_byte(b[j]);
        if before_ok && after_ok {
            return Some((c, Rule::Choice));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(t: &str) -> Option<char> {
        extract_choice(t, "ABCD").map(|(c, _)| c)
    }

    #[test]
    fn anchors_and_first_letter() {
        assert_eq!(ch("The answer is A."), Some('A'));
        assert_eq!(ch("Final answer is B"), Some('B'));
        assert_eq!(ch("No valid answer here"), None);
        assert_eq!(ch("A. Because B is not valid"), Some('A'));
        assert_eq!(ch("Because B is valid"), Some('B'));
        assert_eq!(ch("so the answer is $\\boxed{\\text{(C)}}$"), Some('C'));
        assert_eq!(ch("I think A is wrong. The answer is (D)."), Some('D'));
        assert_eq!(ch("Answer: **B**"), Some('B'));
        assert_eq!(
            extract_choice("The answer is U.", "U").map(|x| x.0),
            Some('U')
        );
        assert_eq!(ch("<think>A? B?</think> The answer is C"), Some('C'));
    }

    #[test]
    fn hedged_letters_are_no_choice() {
        assert_eq!(ch("The answer is \\boxed{A} or \\boxed{B}."), None);
        assert_eq!(ch("\\boxed{B} or \\boxed{\\text{(B)}}"), Some('B'));
        assert_eq!(ch("\\boxed{C}"), Some('C'));
    }
}
