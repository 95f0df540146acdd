//! Integration tests for final-answer extraction.

use std::time::{Duration, Instant};

use proptest::prelude::*;
// `extract_answer_with` is not re-exported from `grading` (yet); use the module path.
use rlv_core::grading::extract::{alternatives, extract_answer_with};
use rlv_core::grading::{extract_answer, extract_gold, ExtractConfig, Mode, Rule};

const L: Mode = Mode::Lenient;
const S: Mode = Mode::Strict;

fn ex(text: &str, mode: Mode) -> Option<(&str, Rule)> {
    extract_answer(text, mode).map(|e| (e.span, e.rule))
}

fn gold(text: &str) -> Option<(&str, Rule)> {
    extract_gold(text).map(|e| (e.span, e.rule))
}

#[track_caller]
fn check(text: &str, mode: Mode, span: &str, rule: Rule) {
    assert_eq!(
        ex(text, mode),
        Some((span, rule)),
        "input: {text:?} mode: {mode:?}"
    );
}

#[track_caller]
fn check_both(text: &str, span: &str, rule: Rule) {
    check(text, L, span, rule);
    check(text, S, span, rule);
}

#[track_caller]
fn none(text: &str, mode: Mode) {
    assert_eq!(ex(text, mode), None, "input: {text:?} mode: {mode:?}");
}

/// The span must be a trimmed sub-slice of the input.
#[track_caller]
fn assert_subslice(text: &str, span: &str) {
    let t0 = text.as_ptr() as usize;
    let s0 = span.as_ptr() as usize;
    assert!(
        s0 >= t0 && s0 + span.len() <= t0 + text.len(),
        "span is not a sub-slice"
    );
    assert_eq!(span, span.trim(), "span is not trimmed");
    assert!(!span.is_empty(), "empty span");
}

// ------------------------------------------------------------------------------------
// Boxed
// ------------------------------------------------------------------------------------

#[test]
fn boxed_basic_and_last_wins() {
    check_both("so $x = \\boxed{5}$.", "5", Rule::Boxed);
    check_both("\\boxed{1} then later \\boxed{2}", "2", Rule::Boxed);
    check_both("\\fbox{7}", "7", Rule::Boxed);
    check_both("\\boxed{ \\frac{1}{2} }", "\\frac{1}{2}", Rule::Boxed);
}

#[test]
fn boxed_nested_braces() {
    check_both(
        "\\boxed{\\frac{\\sqrt{3}}{2}}",
        "\\frac{\\sqrt{3}}{2}",
        Rule::Boxed,
    );
    check_both("\\boxed{\\{1,2\\}}", "\\{1,2\\}", Rule::Boxed);
    check_both(
        "\\boxed{\\left\\{ x \\right\\}}.",
        "\\left\\{ x \\right\\}",
        Rule::Boxed,
    );
    // A nested box: the outer one is the last to close.
    check_both("\\boxed{\\boxed{3}}", "\\boxed{3}", Rule::Boxed);
    check_both(
        "$\\boxed{\\{1\\pm\\sqrt{5},-2\\}}.$",
        "\\{1\\pm\\sqrt{5},-2\\}",
        Rule::Boxed,
    );
}

#[test]
fn boxed_tex_style_and_space() {
    check_both("the result is \\boxed 5.", "5", Rule::Boxed);
    check_both("\\boxed 12", "12", Rule::Boxed);
    check_both("\\boxed \\pi", "\\pi", Rule::Boxed);
    check_both("\\boxed {x+1}", "x+1", Rule::Boxed);
    check_both("\\boxed\n{42}", "42", Rule::Boxed);
    // `\boxedfoo` is another command.
    none("\\boxedfoo{3}", S);
}

#[test]
fn boxed_unclosed_and_empty() {
    // The unclosed last box is skipped; the previous complete box wins.
    check_both("\\boxed{3} and then \\boxed{4", "3", Rule::Boxed);
    none("\\boxed{4", S);
    // Empty box: try earlier boxes.
    check_both("\\boxed{9} ... \\boxed{}", "9", Rule::Boxed);
    none("\\boxed{  }", S);
}

#[test]
fn boxed_unbalanced_dollar() {
    check_both("$\\boxed{28 pct}", "28 pct", Rule::Boxed);
    check_both("$\\boxed{28}$ pct", "28", Rule::Boxed);
}

#[test]
fn boxed_double_backslash() {
    check_both("the answer should be \\\\boxed{004}.", "004", Rule::Boxed);
}

#[test]
fn boxed_lists() {
    check_both(
        "\\boxed{1} and \\boxed{2}",
        "\\boxed{1} and \\boxed{2}",
        Rule::BoxedList,
    );
    check_both(
        "\\boxed{1}, \\boxed{2}, \\boxed{3}.",
        "\\boxed{1}, \\boxed{2}, \\boxed{3}",
        Rule::BoxedList,
    );
    check_both(
        "$\\boxed{1}\\boxed{2}$",
        "\\boxed{1}\\boxed{2}",
        Rule::BoxedList,
    );
    check_both(
        "are: \\[ \\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}. \\]",
        "\\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}",
        Rule::BoxedList,
    );
    check_both(
        "$\\boxed{a}$ and $\\boxed{b}$.",
        "\\boxed{a}$ and $\\boxed{b}",
        Rule::BoxedList,
    );
    check_both(
        "\\boxed{35 cm} ++++++ \\boxed{4}",
        "\\boxed{35 cm} ++++++ \\boxed{4}",
        Rule::BoxedList,
    );
    // `or` offers alternatives (here two forms of one value): every one is graded.
    check_both(
        "$\\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$ inches.",
        "\\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}",
        Rule::Hedged,
    );
    // Far apart: the last one.
    check_both(
        "\\boxed{1} no no no no no no no no no no no no no no no no no no no no no no \\boxed{2}",
        "2",
        Rule::Boxed,
    );
    // Repeated identical boxes are one answer.
    check_both(
        "\\boxed{143} **Final Answer** \\boxed{143}",
        "143",
        Rule::Boxed,
    );
    check_both("\\boxed{5}, \\boxed{5}", "5", Rule::Boxed);
    // Prose between boxes.
    check_both(
        "\\boxed{1} is wrong, the answer is \\boxed{2}",
        "2",
        Rule::Boxed,
    );
}

#[test]
fn boxed_beats_other_anchors() {
    check_both("The answer is 7. Hence \\boxed{8}", "8", Rule::Boxed);
    check_both(
        "\\boxed{8}. Final Answer: The final answer is 7.",
        "8",
        Rule::Boxed,
    );
    check_both("#### 3\n\\boxed{4}", "4", Rule::Boxed);
}

// ------------------------------------------------------------------------------------
// Final answer
// ------------------------------------------------------------------------------------

#[test]
fn final_answer_minerva() {
    check_both(
        "Final Answer: The final answer is $5$. I hope it is correct.",
        "5",
        Rule::FinalAnswer,
    );
    // The Minerva sentence (with "I hope it is correct") outranks boxes.
    check_both(
        "The final answer is $\\boxed{5}$. I hope it is correct.",
        "5",
        Rule::FinalAnswer,
    );
    check_both(
        "So $\\boxed{255}$. Final Answer: The final answer is $10,455$. I hope it is correct.",
        "10,455",
        Rule::FinalAnswer,
    );
    // Without "I hope it is correct" the box wins.
    check_both(
        "So $\\boxed{255}$. The final answer is $10,455$.",
        "255",
        Rule::Boxed,
    );
    check_both(
        "Final Answer: The final answer is \\((-6, 10)\\). I hope it is correct.",
        "(-6, 10)",
        Rule::FinalAnswer,
    );
    check_both(
        "So 12,000,023. Final Answer: The final answer is 12,000,023. I hope it is correct. <|im_start|>user",
        "12,000,023",
        Rule::FinalAnswer,
    );
    check_both(
        "Final Answer: The final answer is 16386.16.",
        "16386.16",
        Rule::FinalAnswer,
    );
    check_both(
        "The final answer is $14{,}916$. I hope it is correct.",
        "14{,}916",
        Rule::FinalAnswer,
    );
    check_both(
        "the final answer is 3.5 I hope it is correct",
        "3.5",
        Rule::FinalAnswer,
    );
}

#[test]
fn final_answer_variants() {
    check_both("**Final Answer:** $x = 2$", "x = 2", Rule::FinalAnswer);
    check_both("Final answer: 42", "42", Rule::FinalAnswer);
    check_both("FINAL ANSWER: -3", "-3", Rule::FinalAnswer);
    check_both(
        "### Final Answer\n\n$$\\frac{1}{3}$$\n",
        "\\frac{1}{3}",
        Rule::FinalAnswer,
    );
    check_both(
        "**Final Answer**\nThe integers are 1 and -2.",
        "1 and -2",
        Rule::FinalAnswer,
    );
    check_both("The final answer is: \\[ 9 \\]", "9", Rule::FinalAnswer);
    // Sentence forms are reduced to the answer part.
    check_both(
        "Final Answer: The largest $n$ is 34.",
        "34",
        Rule::FinalAnswer,
    );
    check_both(
        "Final Answer: The maximum number of points that could be in the domain of $f(x)$ is 19. <|im_start|>user",
        "19",
        Rule::FinalAnswer,
    );
    check_both(
        "Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct.",
        "3",
        Rule::FinalAnswer,
    );
    check_both(
        "The final answer is 5, which is prime.",
        "5",
        Rule::FinalAnswer,
    );
    check_both(
        "Final Answer: The final answer is \\\"$12 $ and $13 $\\\". I hope it is correct.",
        "$12 $ and $13 $",
        Rule::FinalAnswer,
    );
    // Not an anchor: "final answer" without a connector.
    none("Before the final answer, let me check 5.", S);
    // Last occurrence wins.
    check_both(
        "The final answer is 3.\nWait. The final answer is 4.",
        "4",
        Rule::FinalAnswer,
    );
}

#[test]
fn final_answer_beats_later_rules() {
    check_both("The answer is 3. Final answer: 4", "4", Rule::FinalAnswer);
    check_both("Final answer: 4\nAnswer: 3", "4", Rule::FinalAnswer);
}

// ------------------------------------------------------------------------------------
// GSM8K
// ------------------------------------------------------------------------------------

#[test]
fn gsm8k_anchor() {
    check_both(
        "She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18",
        "18",
        Rule::Gsm8k,
    );
    check_both("#### 1,000", "1,000", Rule::Gsm8k);
    check_both("#### -3.5\n", "-3.5", Rule::Gsm8k);
    check_both("#### $18", "18", Rule::Gsm8k);
    check_both("#### 3\n#### 4", "4", Rule::Gsm8k);
    // Markdown headings are not GSM8K answers.
    none("#### Step 1: compute\nthen we get stuff", S);
    check("#### Step 1\nWe get 5 apples.", L, "5", Rule::LastNumber);
    none("##### 5", S);
    // Priority: #### beats "the answer is".
    check_both("The answer is 3.\n#### 4", "4", Rule::Gsm8k);
}

// ------------------------------------------------------------------------------------
// "The answer is" / "Answer:"
// ------------------------------------------------------------------------------------

#[test]
fn answer_is() {
    check_both("Therefore the answer is 143.", "143", Rule::AnswerIs);
    check_both(
        "So the answer is $\\frac{1}{2}$.",
        "\\frac{1}{2}",
        Rule::AnswerIs,
    );
    check_both("The answer is: **7**", "7", Rule::AnswerIs);
    check_both("the answer is \\(x=3\\), done", "x=3", Rule::AnswerIs);
    check_both(
        "THE ANSWER IS 12 I hope it is correct",
        "12",
        Rule::AnswerIs,
    );
    check_both("The answer is 5 because 2+3=5.", "5", Rule::AnswerIs);
    check_both("The answer is 3.5 meters.", "3.5 meters", Rule::AnswerIs);
    check_both(
        "the answer is 1. Hmm, actually the answer is 2.",
        "2",
        Rule::AnswerIs,
    );
    check_both("the answer is $\\$18$.", "18", Rule::AnswerIs);
    check_both("the answer is $18.", "18", Rule::AnswerIs);
    none("the answer isn't obvious", S);
}

#[test]
fn answer_colon() {
    check_both("Answer: 9", "9", Rule::AnswerColon);
    check_both("**Answer:** $\\sqrt{2}$", "\\sqrt{2}", Rule::AnswerColon);
    check_both("**Answer**: 12", "12", Rule::AnswerColon);
    check_both("answer:\n\n 3/4\n", "3/4", Rule::AnswerColon);
    check_both("Answer \\[ 9 \\]", "9", Rule::AnswerColon);
    check_both("Answer $ 9 $", "9", Rule::AnswerColon);
    check_both("Answer $$ 9 $$", "9", Rule::AnswerColon);
    check_both("Answer \\( 9 \\)", "9", Rule::AnswerColon);
    check_both("Answer \\( (9+1) \\)", "(9+1)", Rule::AnswerColon);
    check_both("Answer \\[ \n 9 \n \\]", "9", Rule::AnswerColon);
    check_both("Answer $$ \n 9 \n $$", "9", Rule::AnswerColon);
    check_both(
        "Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $",
        "\\frac{1}{2} \\$ = \\frac{10}{9}",
        Rule::AnswerColon,
    );
    // Newline inside single-dollar / `\(` math: not a math span.
    none("Answer $ \n 9 \n $", S);
    none("Answer \\( \n 9 \n \\)", S);
    check("Answer $ \n 9 \n $", L, "9", Rule::LastNumber);
    // "answers" is not "answer".
    none("answers: 5", S);
    // "answer is" beats "Answer:".
    check_both("Answer: 3\nSo the answer is 4.", "4", Rule::AnswerIs);
}

// ------------------------------------------------------------------------------------
// Bold
// ------------------------------------------------------------------------------------

#[test]
fn bold_lenient_only() {
    check(
        "So she has **18** apples; 3 more than 15.",
        L,
        "18",
        Rule::Bold,
    );
    none("So she has **18** apples.", S);
    check("**Step 1:** compute $x = 5$.", L, "x = 5", Rule::MathSpan);
    check("**Step 2** gives 7", L, "7", Rule::LastNumber);
    check("We get **$x = 4$**. Then 9", L, "x = 4", Rule::Bold);
    check("**Important note** 5", L, "5", Rule::LastNumber);
    let only_bold = ExtractConfig {
        math_fallback: false,
        number_fallback: true,
    };
    assert_eq!(
        extract_answer_with("**7** then 8", only_bold).map(|e| e.rule),
        Some(Rule::Bold)
    );
}

// ------------------------------------------------------------------------------------
// Fallbacks
// ------------------------------------------------------------------------------------

#[test]
fn math_span_fallback() {
    check(
        "Therefore $x \\geq 5$ is the solution.",
        L,
        "x \\geq 5",
        Rule::MathSpan,
    );
    none("Therefore $x \\geq 5$ is the solution.", S);
    check("We find that $x \\lt 3$.", L, "x \\lt 3", Rule::MathSpan);
    check("$\\frac13 $", L, "\\frac13", Rule::MathSpan);
    check(
        "first $1$ then \\(2\\) then \\[3\\] then $$4$$ end",
        L,
        "4",
        Rule::MathSpan,
    );
    check("first $$4$$ then \\[3\\]", L, "3", Rule::MathSpan);
    check("costs \\$5 and $x$", L, "x", Rule::MathSpan);
    check(
        "are $-14,$ $-7,$ and $14.$",
        L,
        "$-14,$ $-7,$ and $14.$",
        Rule::MathList,
    );
    check("a $x$ b $ $", L, "x", Rule::MathSpan);
    check(
        "The identity matrix is $ \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} $.",
        L,
        "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}",
        Rule::MathSpan,
    );
    let math_only = ExtractConfig {
        math_fallback: true,
        number_fallback: false,
    };
    assert_eq!(extract_answer_with("it is 5", math_only), None);
    assert_eq!(
        extract_answer_with("it is $5$ or 6", math_only).map(|e| (e.span, e.rule)),
        Some(("5", Rule::MathSpan))
    );
}

#[test]
fn bare_completion_is_whole() {
    check("-5", L, "-5", Rule::Whole);
    check("\\frac{10}{9}", L, "\\frac{10}{9}", Rule::Whole);
    check("-\\frac{10}{9}", L, "-\\frac{10}{9}", Rule::Whole);
    check("  x = 3.  ", L, "x = 3", Rule::Whole);
    check("**18**", L, "18", Rule::Whole);
    none("-5", S);
    // Words or math delimiters: not bare.
    check("$28$ %", L, "28", Rule::MathSpan);
    check("28 pct", L, "28", Rule::LastNumber);
    check("1\n2", L, "2", Rule::LastNumber);
}

#[test]
fn math_and_number_fallbacks_take_the_later() {
    // The later of (last math span, last number) wins, like math-verify's rightmost match.
    check(
        "each gives $d = \\frac{90}{n}$. Therefore, there are 12 sequences.",
        L,
        "12",
        Rule::LastNumber,
    );
    check(
        "so 12 sequences, namely $d = 5$.",
        L,
        "d = 5",
        Rule::MathSpan,
    );
    check("the value $x = 5.$", L, "x = 5", Rule::MathSpan);
    check("increases by 100%.", L, "100%", Rule::LastNumber);
}

#[test]
fn number_fallback() {
    check("we get -5", L, "-5", Rule::LastNumber);
    check("we get 7,425,000", L, "7,425,000", Rule::LastNumber);
    check("we get 1 000", L, "1 000", Rule::LastNumber);
    check("we get 1000.0", L, "1000.0", Rule::LastNumber);
    check("we get 1000,99", L, "1000,99", Rule::LastNumber);
    check("Soucis : 2,74 $ a..", L, "2,74", Rule::LastNumber);
    check("we get .4", L, ".4", Rule::LastNumber);
    check("we get 1,000.99$", L, "1,000.99", Rule::LastNumber);
    check(
        "the number is not 10 which is 1,000.99€",
        L,
        "1,000.99",
        Rule::LastNumber,
    );
    check(
        "so the number is 10 which is 1,000.99m²",
        L,
        "1,000.99",
        Rule::LastNumber,
    );
    check(
        "not it's not 10 it's 1,000.99m²",
        L,
        "1,000.99",
        Rule::LastNumber,
    );
    check("P(A) = 2/3 <|im_start|>user", L, "2/3", Rule::LastNumber);
    check("it grew by 28%.", L, "28%", Rule::LastNumber);
    check("it grew by 28 %.", L, "28 %", Rule::LastNumber);
    check("x − 3 gives −4", L, "−4", Rule::LastNumber);
    check("we get 3-5", L, "5", Rule::LastNumber);
    check("values 1, 2, 3.", L, "3", Rule::LastNumber);
    check("we get 1.2.3", L, "1.2", Rule::LastNumber);
    none("AZYUK2A", L);
    none("no digits here", L);
    none("say x2 and y3", L);
    check("x2 and y3", L, "x2 and y3", Rule::Whole);
    none("-5", S);
    none("we get 5", S);
    let num_only = ExtractConfig {
        math_fallback: false,
        number_fallback: true,
    };
    assert_eq!(
        extract_answer_with("$x$ is 5", num_only).map(|e| (e.span, e.rule)),
        Some(("5", Rule::LastNumber))
    );
}

// ------------------------------------------------------------------------------------
// Think tags
// ------------------------------------------------------------------------------------

#[test]
fn think_tags() {
    check_both(
        "<think>maybe \\boxed{1}</think>So \\boxed{2}",
        "2",
        Rule::Boxed,
    );
    check_both(
        "<think>a</think> b </think> The answer is 3.",
        "3",
        Rule::AnswerIs,
    );
    // Only after the last </think>; the reasoning is never searched.
    none("<think>\\boxed{1}</think> I am not sure.", S);
    none("<think>\\boxed{1}</think> I am not sure.", L);
    // Unclosed <think>: the model never finished.
    none("<think> the answer is \\boxed{5}", S);
    none("<think> the answer is \\boxed{5}", L);
    // Closing tag only (template puts <think> in the prompt).
    check_both("reasoning... 7</think>\n\\boxed{8}", "8", Rule::Boxed);
    none("reasoning \\boxed{7}</think>", L);
}

// ------------------------------------------------------------------------------------
// Gold
// ------------------------------------------------------------------------------------

#[test]
fn gold_forms() {
    assert_eq!(gold("\\frac{1}{2}"), Some(("\\frac{1}{2}", Rule::Whole)));
    assert_eq!(gold("  [3, 5) "), Some(("[3, 5)", Rule::Whole)));
    assert_eq!(gold("2\\sqrt{3}"), Some(("2\\sqrt{3}", Rule::Whole)));
    assert_eq!(
        gold("\\text{Evelyn}"),
        Some(("\\text{Evelyn}", Rule::Whole))
    );
    assert_eq!(gold("10, 4, -2"), Some(("10, 4, -2", Rule::Whole)));
    assert_eq!(gold("$9$"), Some(("9", Rule::Whole)));
    assert_eq!(gold("\\(x\\)"), Some(("x", Rule::Whole)));
    assert_eq!(gold("\\[ x+1 \\]"), Some(("x+1", Rule::Whole)));
    assert_eq!(gold("$$ 5 $$"), Some(("5", Rule::Whole)));
    assert_eq!(gold("$1$ and $2$"), Some(("$1$ and $2$", Rule::Whole)));
    assert_eq!(gold("no solution"), Some(("no solution", Rule::Whole)));
    assert_eq!(gold("-5"), Some(("-5", Rule::Whole)));
    assert_eq!(gold("1,000.99"), Some(("1,000.99", Rule::Whole)));
    assert_eq!(
        gold("$-2 \\\\le x \\\\le 7$"),
        Some(("-2 \\\\le x \\\\le 7", Rule::Whole))
    );
    assert_eq!(gold(""), None);
    assert_eq!(gold("   \n "), None);
    assert_eq!(gold("$$"), None);
}

#[test]
fn gold_solutions() {
    assert_eq!(gold("so $x = \\boxed{3}$."), Some(("3", Rule::Boxed)));
    assert_eq!(
        gold("Janet sells 9 eggs.\nShe makes $18.\n#### 18"),
        Some(("18", Rule::Gsm8k))
    );
    assert_eq!(gold("The answer is 5"), Some(("5", Rule::AnswerIs)));
    assert_eq!(
        gold("$\\boxed{1}\\boxed{2}$"),
        Some(("\\boxed{1}\\boxed{2}", Rule::BoxedList))
    );
    assert_eq!(
        gold("x \\in \\boxed{\\{-1\\} \\cup [0,7)}.$"),
        Some(("\\{-1\\} \\cup [0,7)", Rule::Boxed))
    );
    assert_eq!(
        gold("Since $x = 2$, we get that the value is $y = 7$. So it holds."),
        Some(("y = 7", Rule::MathSpan))
    );
    assert_eq!(
        gold("We count them. There are 12 of them in total."),
        Some(("12", Rule::LastNumber))
    );
    assert_eq!(
        gold(
            "$less than or equal to zero between its roots.\n\nThus:\n\n\\[ \\boxed{[-2, 7]} \\]$"
        ),
        Some(("[-2, 7]", Rule::Boxed))
    );
    // A `<think>` in a gold is not special.
    assert_eq!(gold("<think> 5"), Some(("<think> 5", Rule::Whole)));
}

// ------------------------------------------------------------------------------------
// Unicode and robustness
// ------------------------------------------------------------------------------------

#[test]
fn unicode_edges() {
    check_both("réponse: \\boxed{é}", "é", Rule::Boxed);
    check_both("\\boxed{日本}", "日本", Rule::Boxed);
    check_both("La réponse finale — the answer is ½.", "½", Rule::AnswerIs);
    check("π≈$3.14$€", L, "3.14", Rule::MathSpan);
    check("é5 then ü 6", L, "6", Rule::LastNumber);
    none("voilà é5", L);
    check("\\€$x$\\é", L, "x", Rule::MathSpan);
    for s in [
        "\\",
        "$",
        "$$",
        "\\(",
        "\\[",
        "{",
        "}",
        "\\boxed",
        "\\boxed{",
        "**",
        "####",
        "é\\",
        "\\é",
        "$é",
        "\\boxed é",
    ] {
        let _ = ex(s, L);
        let _ = ex(s, S);
        let _ = gold(s);
    }
    check_both("\\boxed é", "é", Rule::Boxed);
}

#[test]
fn answer_span_is_subslice() {
    let cases = [
        "The final answer is $\\boxed{5}$. I hope it is correct.",
        "**Final Answer**\nThe integers are 1 and -2.",
        "\\boxed{1} and \\boxed{2}",
        "so 1,000.99€",
        "Answer: $x$",
    ];
    for c in cases {
        let e = extract_answer(c, L).expect("extracts");
        assert_subslice(c, e.span);
    }
}

fn assert_fast(label: &str, text: &str) {
    // Warm-up run, then the timed one (debug builds are ~10x slower than release).
    let _ = extract_answer(text, L);
    let t = Instant::now();
    let a = extract_answer(text, L);
    let b = extract_answer(text, S);
    let g = extract_gold(text);
    let dt = t.elapsed();
    for e in [a, b, g].into_iter().flatten() {
        assert_subslice(text, e.span);
    }
    let limit = if cfg!(debug_assertions) {
        Duration::from_millis(1500)
    } else {
        Duration::from_millis(30)
    };
    eprintln!("{label}: {} bytes in {dt:?}", text.len());
    assert!(dt < limit, "{label} took {dt:?}");
}

#[test]
fn huge_inputs_are_fast() {
    let mb = 1 << 20;
    let prose = "The cat sat on 3 mats; $x = 2.5$ and \\(y\\). ".repeat(mb / 45);
    assert_fast("prose 1MB", &prose);
    let with_box = format!("{prose}\\boxed{{42}}");
    assert_eq!(ex(&with_box, S), Some(("42", Rule::Boxed)));
    assert_fast("nested braces", &"{".repeat(10_000));
    assert_fast(
        "nested braces closed",
        &format!("\\boxed{{{}}}{}", "{".repeat(10_000), "}".repeat(10_000)),
    );
    assert_fast("unclosed boxes", &"\\boxed{".repeat(10_000));
    assert_fast("unclosed boxes 1MB", &"\\boxed{".repeat(mb / 7));
    assert_fast("dollars", &"$".repeat(mb));
    assert_fast("dollar-newline", &"$ a\n".repeat(mb / 4));
    assert_fast("brackets", &"\\[".repeat(mb / 2));
    assert_fast("parens", &"\\(".repeat(mb / 2));
    assert_fast("ddollar", &"$$ x".repeat(mb / 4));
    assert_fast("answers", &"answer is answer: ".repeat(mb / 18));
    assert_fast("final answers", &"final answer is ".repeat(mb / 16));
    assert_fast("answer math", &"Answer \\[ ".repeat(mb / 10));
    assert_fast("hashes", &"#### ".repeat(mb / 5));
    assert_fast("bold", &"**".repeat(mb / 2));
    assert_fast("digits", &"1,000,".repeat(mb / 6));
    assert_fast("digits2", &"1.".repeat(mb / 2));
    assert_fast("backslashes", &"\\".repeat(mb));
    assert_fast("unicode", &"é½日$".repeat(mb / 10));
    assert_fast("think", &format!("{}</think>", "<think>".repeat(mb / 7)));
    let deep_box = format!("{}{}", "\\boxed{".repeat(10_000), "}".repeat(10_000));
    assert_fast("nested boxes", &deep_box);
    assert!(ex(&deep_box, S).is_some());
    let boxes = "\\boxed{1}, ".repeat(mb / 11);
    assert_fast("box list", &boxes);
}

// ------------------------------------------------------------------------------------
// Property tests
// ------------------------------------------------------------------------------------

fn tricky_string() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "\\boxed{",
        "\\fbox",
        "\\boxed ",
        "{",
        "}",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\",
        "\\$",
        "**",
        "####",
        "</think>",
        "<think>",
        "final answer is ",
        "Final Answer: ",
        "the answer is ",
        "Answer:",
        "answer ",
        " and ",
        " or ",
        ", ",
        ".",
        "\n",
        " ",
        "-",
        "−",
        "1",
        "23",
        ",000",
        ".5",
        "/4",
        "%",
        "é",
        "日",
        "½",
        "x",
        "I hope it is correct",
        "\\text{",
        "\\quad",
        " is ",
        ", which",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_any_string(s in any::<String>()) {
        for m in [L, S] {
            if let Some(e) = extract_answer(&s, m) {
                assert_subslice(&s, e.span);
            }
        }
        if let Some(e) = extract_gold(&s) {
            assert_subslice(&s, e.span);
        }
    }

    #[test]
    fn never_panics_tricky(s in tricky_string()) {
        for m in [L, S] {
            if let Some(e) = extract_answer(&s, m) {
                assert_subslice(&s, e.span);
            }
        }
        for cfg in [
            ExtractConfig { math_fallback: true, number_fallback: false },
            ExtractConfig { math_fallback: false, number_fallback: true },
        ] {
            if let Some(e) = extract_answer_with(&s, cfg) {
                assert_subslice(&s, e.span);
            }
        }
        if let Some(e) = extract_gold(&s) {
            assert_subslice(&s, e.span);
        }
    }

    #[test]
    fn strict_is_anchor_only(s in tricky_string()) {
        if let Some(e) = extract_answer(&s, S) {
            prop_assert!(matches!(
                e.rule,
                Rule::Boxed | Rule::BoxedList | Rule::Hedged | Rule::FinalAnswer | Rule::AnswerIs | Rule::AnswerColon | Rule::Gsm8k
            ));
            // Strict answers are also what lenient mode returns.
            prop_assert_eq!(extract_answer(&s, L), Some(e));
        }
    }
}

// ------------------------------------------------------------------------------------
// Datasets
// ------------------------------------------------------------------------------------

/// Minimal JSON reader: the string fields of one flat JSON object.
fn json_strings(line: &str) -> Vec<(String, String)> {
    fn string(c: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        let mut out = String::new();
        while let Some(ch) = c.next() {
            match ch {
                '"' => break,
                '\\' => match c.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('u') => {
                        let hex = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                            let h: String = c.by_ref().take(4).collect();
                            u32::from_str_radix(&h, 16).unwrap_or(0xFFFD)
                        };
                        let mut u = hex(c);
                        if (0xD800..0xDC00).contains(&u) && c.peek() == Some(&'\\') {
                            c.next();
                            c.next();
                            let lo = hex(c);
                            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
                    }
                    Some(other) => out.push(other),
                    None => break,
                },
                _ => out.push(ch),
            }
        }
        out
    }
    let mut c = line.chars().peekable();
    let mut out = Vec::new();
    let mut key: Option<String> = None;
    let mut depth = 0;
    while let Some(ch) = c.next() {
        match ch {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '"' => {
                let s = string(&mut c);
                if depth != 1 {
                    continue;
                }
                match key.take() {
                    None => {
                        key = Some(s);
                        // Expect ':' next.
                    }
                    Some(k) => out.push((k, s)),
                }
            }
            ',' if depth == 1 => key = None,
            _ => {}
        }
    }
    out
}

fn field<'a>(rec: &'a [(String, String)], name: &str) -> Option<&'a str> {
    rec.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn read_lines(rel: &str) -> Option<Vec<String>> {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(
            s.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Err(e) => {
            eprintln!("skipping: cannot read {path}: {e}");
            None
        }
    }
}

#[test]
fn json_helper_works() {
    let rec = json_strings(r#"{"a": "x\"y\\z\n\u00e9\ud83d\ude00", "n": 3, "b": "{not nested}"}"#);
    assert_eq!(field(&rec, "a"), Some("x\"y\\z\né😀"));
    assert_eq!(field(&rec, "b"), Some("{not nested}"));
    assert_eq!(field(&rec, "n"), None);
}

#[test]
fn math500_gold_extraction() {
    let Some(lines) = read_lines("../../../shared/data/math/test.jsonl") else {
        return;
    };
    let mut exact = 0;
    let mut mismatches = Vec::new();
    for line in &lines {
        let rec = json_strings(line);
        let (Some(sol), Some(ans)) = (field(&rec, "solution"), field(&rec, "answer")) else {
            panic!("bad record: {line}");
        };
        let got = extract_gold(sol).map(|e| e.span);
        if got == Some(ans.trim()) {
            exact += 1;
        } else {
            mismatches.push((ans.to_string(), got.map(str::to_string)));
        }
        // The completion extractor agrees with the gold extractor on MATH solutions (a
        // gold's alternative forms are read by the last one, a completion's are all graded).
        let pred = extract_answer(sol, S).map(|e| match e.rule {
            Rule::Hedged => *alternatives(e.span).last().unwrap_or(&e.span),
            _ => e.span,
        });
        assert_eq!(pred, got);
    }
    eprintln!("MATH-500 gold extraction: {exact}/{} exact", lines.len());
    for (ans, got) in &mismatches {
        eprintln!("  answer {ans:?}  extracted {got:?}");
    }
    assert_eq!(lines.len(), 500);
    assert!(exact >= 480, "only {exact}/500 exact");
}

#[test]
fn gsm8k_gold_extraction() {
    let Some(lines) = read_lines("../../../shared/data/gsm8k/test.jsonl") else {
        return;
    };
    let mut exact = 0;
    for line in &lines {
        let rec = json_strings(line);
        let ans = field(&rec, "answer").expect("answer field");
        let want = ans.rsplit("####").next().unwrap().trim();
        let got = extract_gold(ans);
        if got
            == Some(rlv_core::grading::Extraction {
                span: want,
                rule: Rule::Gsm8k,
            })
        {
            exact += 1;
        } else {
            eprintln!("  gsm8k mismatch: want {want:?} got {got:?}");
        }
    }
    eprintln!("GSM8K gold extraction: {exact}/{}", lines.len());
    assert_eq!(exact, lines.len());
    assert_eq!(lines.len(), 1319);
}

#[test]
fn conformance_preds() {
    // Selected predictions of the math-verify conformance corpus.
    check("Answer \\[ 9 \\]", L, "9", Rule::AnswerColon);
    check(
        "Therefore $x \\geq 5$ is the solution.",
        L,
        "x \\geq 5",
        Rule::MathSpan,
    );
    check("$\\boxed{28 pct}", L, "28 pct", Rule::Boxed);
    check("Soucis : 2,74 $ a..", L, "2,74", Rule::LastNumber);
    check(
        "the number is not 10 which is 1,000.99€",
        L,
        "1,000.99",
        Rule::LastNumber,
    );
    check(
        "The final answer is $\\boxed{5}$. I hope it is correct.",
        L,
        "5",
        Rule::FinalAnswer,
    );
    none("AZYUK2A", L);
    check(
        "$x = 5+5+1 = 7 =11$",
        L,
        "x = 5+5+1 = 7 =11",
        Rule::MathSpan,
    );
    check(
        "is $\\boxed{11,\\! 111,\\! 111,\\! 100}$",
        L,
        "11,\\! 111,\\! 111,\\! 100",
        Rule::Boxed,
    );
    check(
        "Rounded, Paula's investment is worth $\\boxed{\\$16386.17}$ after 5 years. I hope it is correct. <|im_start|>user",
        L,
        "\\$16386.17",
        Rule::Boxed,
    );
    check(
        "the minimum error in the measurement of the position increases by 100%.",
        L,
        "100%",
        Rule::LastNumber,
    );
    check(
        "So, Anna pays approximately $7.78 for her fudge. Final Answer: The final answer is 7.78.",
        L,
        "7.78",
        Rule::FinalAnswer,
    );
    check(
        "Dr. Zaius has $10,200 + $255 = $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.",
        L,
        "10,455",
        Rule::FinalAnswer,
    );
    check(
        "Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.",
        L,
        "120",
        Rule::FinalAnswer,
    );
}

// ------------------------------------------------------------------------------------
// Hedged finals and bare words (issue 20)
// ------------------------------------------------------------------------------------

fn grade_status(completion: &str, gold: &str, mode: Mode) -> rlv_core::grading::Status {
    let opts = rlv_core::grading::GradeOptions {
        mode,
        ..Default::default()
    };
    rlv_core::grading::grade(completion, gold, &opts).status
}

#[test]
fn hedged_boxes_are_alternatives() {
    use rlv_core::grading::Status::{Equal, NotEqual};
    check_both(
        "\\boxed{2} or \\boxed{3}",
        "\\boxed{2} or \\boxed{3}",
        Rule::Hedged,
    );
    check_both(
        "So $\\boxed{2}$ \\text{ or } $\\boxed{3}$.",
        "\\boxed{2}$ \\text{ or } $\\boxed{3}",
        Rule::Hedged,
    );
    check_both(
        "The answer is \\boxed{2} or \\boxed{3}.",
        "\\boxed{2} or \\boxed{3}",
        Rule::Hedged,
    );
    assert_eq!(alternatives("\\boxed{2} or \\boxed{3}"), vec!["2", "3"]);
    for mode in [L, S] {
        for (completion, gold, want) in [
            ("\\boxed{2} or \\boxed{3}", "3", NotEqual),
            ("\\boxed{2} or \\boxed{3}", "2", NotEqual),
            ("\\boxed{2} or \\boxed{3}", "2, 3", NotEqual),
            ("\\boxed{3} or \\boxed{3.0}", "3", Equal),
            ("\\boxed{\\frac12} or \\boxed{0.5}", "\\frac{1}{2}", Equal),
            ("\\boxed{\\frac12} or \\boxed{0.6}", "\\frac{1}{2}", NotEqual),
            ("\\boxed{1} or \\boxed{2} or \\boxed{3}", "3", NotEqual),
            ("\\boxed{1} and \\boxed{2} or \\boxed{3}", "1, 2", NotEqual),
            ("\\boxed{2} and \\boxed{3}", "2, 3", Equal),
            ("\\boxed{2}, \\boxed{3}", "2, 3", Equal),
            ("\\boxed{2} and \\boxed{3}", "3", NotEqual),
            // Far apart: the last box is the answer (a correction, not an alternative).
            (
                "\\boxed{2} is what I first got, but after checking every step again the answer is \\boxed{3}",
                "3",
                Equal,
            ),
            ("The answer is $2$ or $3$.", "3", NotEqual),
            ("The answer is $2$ or $3$.", "2, 3", NotEqual),
            ("Final Answer: The final answer is \\boxed{2} or \\boxed{3}. I hope it is correct.", "3", NotEqual),
        ] {
            assert_eq!(grade_status(completion, gold, mode), want, "{completion:?} vs {gold:?} ({mode:?})");
        }
    }
    // A gold's alternatives are forms of one answer: its last box is read.
    assert_eq!(
        gold("so $\\boxed{2}$ or equivalently $\\boxed{2.0}$"),
        Some(("2.0", Rule::Boxed))
    );
}

#[test]
fn math_spans_joined_in_the_fallback() {
    use rlv_core::grading::Status::{Equal, NotEqual};
    let sols = "The solutions are $x = 2$ and $x = 3$.";
    check(sols, L, "$x = 2$ and $x = 3$", Rule::MathList);
    none(sols, S);
    assert_eq!(grade_status(sols, "3", L), NotEqual);
    assert_eq!(grade_status(sols, "2", L), NotEqual);
    assert_eq!(grade_status(sols, "2, 3", L), Equal);
    assert_eq!(grade_status(sols, "3, 2", L), Equal);
    let hedge = "It is either $x = 2$ or $x = 3$.";
    check(hedge, L, "$x = 2$ or $x = 3$", Rule::Hedged);
    assert_eq!(grade_status(hedge, "3", L), NotEqual);
    assert_eq!(grade_status(hedge, "2, 3", L), NotEqual);
    // Prose between the spans: only the last one.
    check(
        "We have $x = 2$. Substituting back, we get $y = 3$.",
        L,
        "y = 3",
        Rule::MathSpan,
    );
    // Repeating one value is one answer.
    check("$5$ and again $5$", L, "5", Rule::MathSpan);
}

#[test]
fn single_bare_word_completion() {
    use rlv_core::grading::Status::{Equal, NoAnswer, NotEqual};
    for w in ["odd", "Odd.", "**even**", "neither", "Yes", "no"] {
        assert_eq!(
            ex(w, L).map(|e| e.1),
            Some(Rule::Whole),
            "{w:?} is a bare word answer"
        );
        none(w, S);
    }
    assert_eq!(grade_status("odd", "\\text{odd}", L), Equal);
    assert_eq!(grade_status("odd", "odd", L), Equal);
    assert_eq!(grade_status("odd", "\\text{even}", L), NotEqual);
    assert_eq!(grade_status("odd", "\\text{odd}", S), NoAnswer);
    assert_eq!(grade_status("Neither.", "\\text{neither}", L), Equal);
    // Prose is not a bare word: no answer (no number, no math).
    for prose in [
        "I think it is odd",
        "odd even",
        "The function is odd.",
        "odd\nanswer",
        "Supercalifragilisticexpialidocious",
        "odd, probably",
    ] {
        assert_ne!(
            ex(prose, L).map(|e| e.1),
            Some(Rule::Whole),
            "{prose:?} must not be read whole"
        );
        assert_ne!(grade_status(prose, "\\text{odd}", L), Equal, "{prose:?}");
    }
    // A word never equals a number.
    assert_eq!(grade_status("seven", "7", L), NotEqual);
    // A bare Unicode fraction is an answer too.
    check("½", L, "½", Rule::Whole);
    check("1½", L, "1½", Rule::Whole);
    assert_eq!(grade_status("1½", "\\frac32", L), Equal);
}
