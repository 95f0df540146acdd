//! Fuzz the whole grading pipeline (extraction, lexer, parser, evaluator, equivalence) on
//! arbitrary bytes: no input may panic, and every call must stay within its work budget
//! (libFuzzer's `-timeout` catches hangs). The input is split at the first NUL byte into a
//! completion and a gold answer (invalid UTF-8 is replaced, as the Python binding does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlv_core::grading::budget::Budget;
use rlv_core::grading::parse::parse;
use rlv_core::grading::{
    extract_answer, extract_choice, extract_gold, grade, is_equiv, GradeOptions, Mode,
};

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&c| c == 0) {
        Some(p) => (&data[..p], &data[p + 1..]),
        None => (data, &data[..0]),
    };
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let opts = GradeOptions::default();
    let _ = extract_answer(&a, Mode::Lenient);
    let _ = extract_answer(&a, Mode::Strict);
    let _ = extract_gold(&b);
    let _ = extract_choice(&a, "ABCD");
    let _ = parse(&a, &mut Budget::new(opts.fuel));
    let _ = grade(&a, &b, &opts);
    let _ = is_equiv(&a, &b, &opts);
    let _ = is_equiv(&b, &a, &opts);
});
