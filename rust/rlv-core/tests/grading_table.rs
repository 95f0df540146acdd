//! The shared grading table, `tests/grading_table.jsonl` at the repository root: one
//! hand-checked row per line, read by this test and by `tests/test_grading_table.py`, so the
//! core and the Python API are held to the same verdicts.
//!
//! Row fields (the format of a `rlv conformance` corpus): `id`, `kind` (`answer_equiv`: two
//! extracted answers through [`is_equiv`]; `grade`: a full `completion` through [`grade`]),
//! `category` (the class of inputs, one per former table group and issue-20 class), `gold`,
//! `pred` or `completion`, `expected` (whether the verdict is `equal`), optional `options`
//! (grading options by their Python names) and `note`.
//!
//! Rows that exercise Rust-only details (which extraction rule fired, inputs too large for a
//! table) stay below as ordinary tests.

use rlv_core::grading::{grade, is_equiv, GradeOptions, Mode, PercentPolicy, Rule, Status};
use serde_json::{Map, Value};

const TABLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/grading_table.jsonl"
));

/// The core's options for a row's `options` object (the Python keyword names); an unknown
/// name or a value of the wrong type fails the test with the row's id.
fn options(id: &str, given: Option<&Map<String, Value>>) -> GradeOptions {
    let mut o = GradeOptions::default();
    for (name, value) in given.into_iter().flatten() {
        match name.as_str() {
            "mode" => {
                o.mode = match value.as_str() {
                    Some("lenient") => Mode::Lenient,
                    Some("strict") => Mode::Strict,
                    _ => not_understood(id, name, value),
                }
            }
            "percent" => {
                o.percent = value
                    .as_str()
                    .and_then(|s| PercentPolicy::parse(s).ok())
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            "ordered_lists" => {
                o.ordered_lists = value
                    .as_bool()
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            "interval_inequality" => {
                o.interval_inequality = value
                    .as_bool()
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            "strict_vars" => {
                o.strict_vars = value
                    .as_bool()
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            "min_decimals" => {
                o.min_decimals = Some(
                    value
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .unwrap_or_else(|| not_understood(id, name, value)),
                )
            }
            "rel_tol" => {
                o.rel_tol = value
                    .as_f64()
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            "fuel" => {
                o.fuel = value
                    .as_u64()
                    .unwrap_or_else(|| not_understood(id, name, value))
            }
            _ => not_understood(id, name, value),
        }
    }
    o
}

fn not_understood<T>(id: &str, name: &str, value: &Value) -> T {
    panic!("{id}: option {name} = {value} is not understood")
}

fn text<'a>(id: &str, row: &'a Map<String, Value>, field: &str) -> &'a str {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{id}: missing string field {field:?}"))
}

#[test]
fn grading_table() {
    let mut bad = Vec::new();
    let mut rows = 0;
    for (line, raw) in TABLE.lines().enumerate() {
        let row: Map<String, Value> = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("grading_table.jsonl line {}: {e}", line + 1));
        let id = text("?", &row, "id");
        let want = row
            .get("expected")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("{id}: `expected` must be true or false"));
        let opts = options(id, row.get("options").and_then(Value::as_object));
        let gold = text(id, &row, "gold");
        match text(id, &row, "kind") {
            "answer_equiv" => {
                let pred = text(id, &row, "pred");
                let st = is_equiv(gold, pred, &opts);
                if (st == Status::Equal) != want {
                    bad.push(format!(
                        "{id}: {gold:?} vs {pred:?}: want {want}, got {st:?}"
                    ));
                }
                // Equality is symmetric: the swapped pair gets the same verdict.
                let swapped = is_equiv(pred, gold, &opts);
                if (swapped == Status::Equal) != (st == Status::Equal) {
                    bad.push(format!(
                        "{id}: asymmetric: {gold:?} vs {pred:?}: {st:?} / {swapped:?}"
                    ));
                }
            }
            "grade" => {
                let completion = text(id, &row, "completion");
                let v = grade(completion, gold, &opts);
                if v.correct() != want {
                    bad.push(format!(
                        "{id}: grade({completion:?}, {gold:?}): want {want}, got {v:?}"
                    ));
                }
            }
            kind => panic!("{id}: unknown kind {kind:?}"),
        }
        rows += 1;
    }
    // The table holds 677 rows; a truncated file must not pass as a short table.
    assert!(
        rows >= 677,
        "only {rows} rows read from grading_table.jsonl"
    );
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn adversarial_inputs_terminate() {
    let opts = GradeOptions::default();
    let deep = format!("{}1{}", "{".repeat(10_000), "}".repeat(10_000));
    let big = "1".repeat(1 << 20);
    let deep_frac = format!("{}1{}", "\\frac{".repeat(5000), "}{2}".repeat(5000));
    let cases = [
        (deep.as_str(), "1"),
        (big.as_str(), "1"),
        (deep_frac.as_str(), "1"),
    ];
    for (a, b) in cases {
        let t = std::time::Instant::now();
        let st = is_equiv(a, b, &opts);
        assert!(
            t.elapsed().as_millis() < 500,
            "{a:.40}: {st:?} took {:?}",
            t.elapsed()
        );
        assert_ne!(st, Status::Equal, "{a:.40} vs {b}");
    }
}

#[test]
fn unclosed_box_is_not_the_boxed_answer() {
    // A completion with an unclosed box is not answered by the box.
    let v = grade(
        "so the answer is \\boxed{4",
        "4",
        &GradeOptions {
            mode: Mode::Strict,
            ..GradeOptions::default()
        },
    );
    assert_ne!(v.rule, Some(Rule::Boxed), "{v:?}");
}
