//! Property tests for the parser and the equivalence checker.

use proptest::prelude::*;
use rlv_core::grading::{grade, is_equiv, GradeOptions, Mode, PercentPolicy, Status};

fn opts() -> GradeOptions {
    GradeOptions::default()
}

/// Renderings of p/q that must all be equal.
fn renderings(p: i64, q: i64) -> Vec<String> {
    let (sign, ap) = if p < 0 { ("-", -p) } else { ("", p) };
    let mut v = vec![
        format!("{sign}\\frac{{{ap}}}{{{q}}}"),
        format!("{sign}\\dfrac{{{ap}}}{{{q}}}"),
        format!("{p}/{q}"),
        format!("\\frac{{{p}}}{{{q}}}"),
        format!("\\frac{{{}}}{{{}}}", 2 * p, 2 * q),
        format!("{sign}\\left(\\frac{{{ap}}}{{{q}}}\\right)"),
    ];
    // Finite decimal when q has only factors 2 and 5.
    let mut d = q;
    while d % 2 == 0 {
        d /= 2;
    }
    while d % 5 == 0 {
        d /= 5;
    }
    if d == 1 {
        let mut k = 0u32;
        while (10i64.pow(k) * p) % q != 0 {
            k += 1;
        }
        let scaled = 10i64.pow(k) * p / q;
        let s = if k == 0 {
            format!("{scaled}")
        } else {
            let a = scaled.abs().to_string();
            let pad = format!("{a:0>width$}", width = k as usize + 1);
            let (i, f) = pad.split_at(pad.len() - k as usize);
            format!("{}{i}.{f}", if scaled < 0 { "-" } else { "" })
        };
        v.push(s);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_text(a in ".{0,200}", b in ".{0,200}") {
        let _ = is_equiv(&a, &b, &opts());
        let _ = grade(&a, &b, &opts());
    }

    #[test]
    fn never_panics_on_latexish_text(a in "[\\\\{}()\\[\\]^_0-9a-z+*/=<>,.|&!%$ -]{0,80}", b in "[\\\\{}()\\[\\]^_0-9a-z+*/=<>,.|&!%$ -]{0,80}") {
        let sa = is_equiv(&a, &b, &opts());
        let sb = is_equiv(&b, &a, &opts());
        // Equality is symmetric whenever both sides are readable.
        if !matches!(sa, Status::InvalidGold | Status::Unparseable | Status::BudgetExceeded)
            && !matches!(sb, Status::InvalidGold | Status::Unparseable | Status::BudgetExceeded) {
            prop_assert_eq!(sa == Status::Equal, sb == Status::Equal, "{:?} vs {:?}", a, b);
        }
    }

    #[test]
    fn fraction_renderings_are_equal(p in -500i64..500, q in 1i64..200) {
        let r = renderings(p, q);
        for x in &r {
            for y in &r {
                prop_assert_eq!(is_equiv(x, y, &opts()), Status::Equal, "{} vs {}", x, y);
            }
        }
    }

    #[test]
    fn off_by_one_is_not_equal(n in -100_000i64..100_000) {
        let a = n.to_string();
        let b = (n + 1).to_string();
        prop_assert_eq!(is_equiv(&a, &b, &opts()), Status::NotEqual);
        prop_assert_eq!(is_equiv(&a, &format!("{}", -n - 1), &opts()) == Status::Equal, false);
    }

    #[test]
    fn large_powers_differ(n in 60u32..2000) {
        let a = format!("2^{{{n}}}");
        let b = format!("2^{{{}}}", n + 1);
        prop_assert_eq!(is_equiv(&a, &b, &opts()), Status::NotEqual);
        let c = format!("\\frac{{1}}{{2^{{{n}}}}}");
        let d = format!("\\frac{{1}}{{2^{{{}}}}}", n + 1);
        prop_assert_eq!(is_equiv(&c, &d, &opts()), Status::NotEqual);
    }

    #[test]
    fn boxed_wrapping_does_not_change_verdict(p in -50i64..50, q in 1i64..20) {
        for r in renderings(p, q) {
            let gold = &renderings(p, q)[0];
            let v = grade(&format!("So the answer is $\\boxed{{{r}}}$."), gold, &opts());
            prop_assert_eq!(v.status, Status::Equal, "{}", r);
        }
    }
}

/// A small rational answer in one of several forms (`-3`, `\frac{2}{5}`, `0.4`, `x = 7`).
fn answer() -> impl Strategy<Value = String> {
    (-12i64..12, 1i64..6, 0usize..4).prop_map(|(p, q, form)| match form {
        0 => format!("{p}"),
        1 => renderings(p, q)[0].clone(),
        2 => renderings(p, q).last().cloned().unwrap_or_default(),
        _ => format!("x = {p}"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Offering an alternative never raises the reward: a completion that offers `y` beside
    /// `x` is equal only if `x` alone and `y` alone are (strict and lenient).
    #[test]
    fn alternatives_never_raise_the_reward(
        x in answer(),
        y in answer(),
        gold in prop_oneof![answer(), (answer(), answer()).prop_map(|(a, b)| format!("{a}, {b}"))],
        form in 0usize..4,
        strict in any::<bool>(),
    ) {
        let mode = if strict { rlv_core::grading::Mode::Strict } else { rlv_core::grading::Mode::Lenient };
        let o = GradeOptions { mode, ..GradeOptions::default() };
        let (single, hedged) = match form {
            0 => ("\\boxed{X}", "\\boxed{X} or \\boxed{Y}"),
            1 => ("\\boxed{X}", "\\boxed{Y} or \\boxed{X}"),
            2 => ("The answer is $X$.", "The answer is $X$ or $Y$."),
            _ => ("We get $X$.", "We get $Y$, or $X$."),
        };
        let with = |t: &str, a: &str, b: &str| t.replace('X', a).replace('Y', b);
        let both = grade(&with(hedged, &x, &y), &gold, &o).status;
        if both == Status::Equal {
            prop_assert_eq!(grade(&with(single, &x, ""), &gold, &o).status, Status::Equal);
            prop_assert_eq!(grade(&with(single, &y, ""), &gold, &o).status, Status::Equal);
        }
    }
}

proptest! {
    /// The `i128` fast path of exact evaluation agrees with big rationals wherever it gives
    /// a value (issue 20: rational functions are compared exactly at rational points).
    #[test]
    fn small_rationals_agree_with_big(
        a in -50i64..50, b in -50i64..50, c in 1i64..20,
        xn in -1_000_000i64..1_000_000, xd in 1i64..1000, form in 0usize..6,
    ) {
        use rlv_core::grading::budget::Budget;
        use rlv_core::grading::eval::{exact_env, exact_small, Small, SmallQ};
        use rlv_core::grading::parse::parse;
        let src = [
            format!("(x + {a})^{{{c}}} - x^2 / {c}"),
            format!("\\frac{{x^2 + {a}x + {b}}}{{x - {b}}}"),
            format!("|x - {a}| + \\lfloor x / {c} \\rfloor - \\lceil {b} x \\rceil"),
            format!("x^{{-{c}}} + {a}"),
            format!("\\frac{{1}}{{x}} - \\frac{{{a}}}{{x + {c}}}"),
            format!("{b}x^3 - {a}x^2 + x - {c}"),
        ][form].clone();
        let mut budget = Budget::new(1_000_000);
        let e = parse(&src, &mut budget).expect("parses");
        let x = SmallQ::new(i128::from(xn), i128::from(xd)).expect("point");
        let big = exact_env(&e, &|_| Some(x.to_big()), &mut budget).expect("fuel");
        match exact_small(&e, &|_| Some(x)) {
            Some(Small::Value(q)) => prop_assert_eq!(Some(q.to_big()), big, "{}", src),
            Some(Small::Undefined) => prop_assert_eq!(None, big, "{}", src),
            None => {}
        }
    }
}

#[test]
fn reward_of_each_status() {
    for s in Status::ALL {
        let r = s.reward();
        match s {
            Status::Equal => assert_eq!(r, 1.0),
            Status::InvalidGold => assert!(r.is_nan(), "{s:?} -> {r}"),
            _ => assert_eq!(r, 0.0, "{s:?}"),
        }
        // Only a correct verdict is ever rewarded.
        assert_eq!(r == 1.0, s.is_correct(), "{s:?}");
    }
}

proptest! {
    /// The reward of a graded pair is 1 exactly when the verdict is equal, NaN exactly when
    /// the gold is unusable, 0 otherwise.
    #[test]
    fn reward_follows_the_verdict(p in -50i64..50, q in 1i64..20, r in -50i64..50) {
        let gold = format!("\\frac{{{p}}}{{{q}}}");
        let completion = format!("The answer is $\\boxed{{{r}/{q}}}$.");
        let status = grade(&completion, &gold, &opts()).status;
        let reward = status.reward();
        prop_assert_eq!(reward == 1.0, status == Status::Equal);
        prop_assert_eq!(reward == 1.0, p == r);
        prop_assert!(reward == 0.0 || reward == 1.0);
    }
}

#[test]
fn grade_options_check_names_the_bad_option() {
    let bad = |o: GradeOptions| match o.check() {
        Err(rlv_core::Error::InvalidOption { option, .. }) => option,
        other => panic!("{other:?}"),
    };
    assert!(GradeOptions::default().check().is_ok());
    let ok_edges = GradeOptions {
        min_decimals: Some(64),
        rel_tol: 0.0,
        fuel: 1,
        ..GradeOptions::default()
    };
    assert!(ok_edges.check().is_ok());
    let d = GradeOptions::default;
    assert_eq!(
        bad(GradeOptions {
            min_decimals: Some(65),
            ..d()
        }),
        "min_decimals"
    );
    for rel_tol in [-1e-9, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(bad(GradeOptions { rel_tol, ..d() }), "rel_tol");
    }
    assert_eq!(bad(GradeOptions { fuel: 0, ..d() }), "fuel");
}

#[test]
fn option_strings_round_trip() {
    for m in [Mode::Lenient, Mode::Strict] {
        assert_eq!(Mode::parse(m.as_str()), Ok(m));
    }
    for p in [
        PercentPolicy::Strip,
        PercentPolicy::Value,
        PercentPolicy::Either,
    ] {
        assert_eq!(PercentPolicy::parse(p.as_str()), Ok(p));
    }
    assert!(Mode::parse("loose").is_err());
    assert!(PercentPolicy::parse("Strip").is_err());
}
