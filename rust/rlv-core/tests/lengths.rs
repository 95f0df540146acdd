//! Length selection by verifier confidence: a hand-computed example, the invariants of the
//! tau sweep, and the input checks.

use proptest::prelude::*;
use rlv_core::lengths::{
    check_problem, select, select_batch, BudgetPool, Confidence, LengthProblem, Settings,
};
use rlv_core::Error;

/// One budget's data, owned.
#[derive(Clone, Debug)]
struct Pool {
    class_of: Vec<Option<u32>>,
    class_correct: Vec<bool>,
    scores: Vec<f64>,
    cut: Vec<u64>,
    forced: Vec<u64>,
}

impl Pool {
    fn sample_correct(&self) -> Vec<bool> {
        self.class_of
            .iter()
            .map(|c| c.is_some_and(|c| self.class_correct.get(c as usize) == Some(&true)))
            .collect()
    }
}

fn run(
    budgets: &[u64],
    pools: &[Pool],
    verify: u64,
    s: &Settings,
) -> rlv_core::Result<rlv_core::lengths::LengthEstimates> {
    let correct: Vec<Vec<bool>> = pools.iter().map(Pool::sample_correct).collect();
    let p = LengthProblem {
        budgets,
        pools: pools
            .iter()
            .zip(&correct)
            .map(|(b, sc)| BudgetPool {
                class_of: &b.class_of,
                class_correct: &b.class_correct,
                sample_correct: sc,
                scores: &b.scores,
                cut: &b.cut,
                forced: &b.forced,
            })
            .collect(),
        verify_tokens: verify,
    };
    Ok(select_batch(std::slice::from_ref(&p), s, 0, Some(1))?.remove(0))
}

/// Three samples, budgets 10 and 20, one verification costs 2 tokens.
/// Budget 10: sample 0 has no answer yet (score 0.5), sample 1 answers A (wrong, 0.25),
/// sample 2 answers B (right, 0.25) and has ended after 5 tokens.
/// Budget 20: samples 0 and 1 now answer B (0.75, 0.5); sample 2 is unchanged.
fn example() -> (Vec<u64>, Vec<Pool>) {
    (
        vec![10, 20],
        vec![
            Pool {
                class_of: vec![None, Some(0), Some(1)],
                class_correct: vec![false, true],
                scores: vec![0.5, 0.25, 0.25],
                cut: vec![10, 10, 5],
                forced: vec![0, 0, 0],
            },
            Pool {
                class_of: vec![Some(0), Some(0), Some(0)],
                class_correct: vec![true],
                scores: vec![0.75, 0.5, 0.25],
                cut: vec![18, 20, 5],
                forced: vec![0, 0, 0],
            },
        ],
    )
}

fn settings(ks: Vec<usize>, taus: Vec<f64>, confidence: Confidence) -> Settings {
    Settings {
        ks,
        taus,
        subsets: 100,
        seed: 0,
        confidence,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn hand_computed_example_share() {
    let (budgets, pools) = example();
    let s = settings(vec![2, 3, 4], vec![0.2, 0.4, 0.6], Confidence::Share);
    let e = run(&budgets, &pools, 2, &s).unwrap();
    // Tokens spent by each sample up to budget 10: cut + one verification = 12, 12, 7;
    // up to budget 20: 12 + 8 + 2 = 22, 12 + 10 + 2 = 24, and 7 (sample 2 ended: no new
    // tokens, no new verification).
    // k = 3 (the whole pool): at 10, classes A and B tie at 0.25 of a total 1.0: confidence
    // 0.25, credit 1/2; at 20, confidence 1, credit 1.
    let k3 = 1;
    assert!(e.exact[k3]);
    let want_acc = [0.5, 1.0, 1.0];
    let want_tok = [31.0 / 3.0, 53.0 / 3.0, 53.0 / 3.0];
    let want_stop = [10.0, 20.0, 20.0];
    for t in 0..3 {
        assert!(close(e.accuracy[k3][t], want_acc[t]), "{:?}", e.accuracy);
        assert!(close(e.tokens[k3][t], want_tok[t]), "{:?}", e.tokens);
        assert!(close(e.stop_budget[k3][t], want_stop[t]));
        assert_eq!(e.accuracy_var[k3][t], 0.0);
    }
    // k = 2, the three subsets enumerated:
    //   {0,1}: at 10 confidence 0.25/0.75 = 1/3, credit 0 (A); spent 24 then 46
    //   {0,2}: at 10 confidence 1/3, credit 1 (B); spent 19 then 29
    //   {1,2}: at 10 confidence 0.25/0.5 = 1/2, credit 1/2; spent 19 then 31
    // and at 20 every subset is confident (1) and right.
    let k2 = 0;
    assert!(e.exact[k2]);
    let want_acc = [0.5, 2.5 / 3.0, 1.0];
    let want_tok = [62.0 / 6.0, 94.0 / 6.0, 106.0 / 6.0];
    let want_stop = [10.0, 50.0 / 3.0, 20.0];
    for t in 0..3 {
        assert!(close(e.accuracy[k2][t], want_acc[t]), "{:?}", e.accuracy);
        assert!(close(e.tokens[k2][t], want_tok[t]), "{:?}", e.tokens);
        assert!(
            close(e.stop_budget[k2][t], want_stop[t]),
            "{:?}",
            e.stop_budget
        );
    }
    // k = 4 > N: undefined.
    assert!(e.accuracy[2].iter().all(|x| x.is_nan()));
    // Fixed budgets: tokens per sample, generation only (majority) and plus one
    // verification per answered sample (weighted: 2 of 3 at budget 10); weighted@3 at
    // budget 10 is the A/B tie.
    assert!(close(e.fixed_tokens_majority[0], 25.0 / 3.0));
    assert!(close(e.fixed_tokens_majority[1], 43.0 / 3.0));
    assert!(close(e.fixed_tokens_weighted[0], 29.0 / 3.0));
    assert!(close(e.fixed_tokens_weighted[1], 49.0 / 3.0));
    assert!(close(e.fixed[0].weighted[k3], 0.5));
    assert!(close(e.fixed[0].majority[k3], 0.5));
    assert!(close(e.fixed[1].weighted[k3], 1.0));
}

#[test]
fn hand_computed_example_mass() {
    let (budgets, pools) = example();
    // Mass: winner's sum over k. k = 2 at budget 10: {0,1} 0.25/2, {0,2} 0.25/2, {1,2} 0.25/2
    // = 0.125 each; at 20: 1.25/2, 1/2, 0.75/2. Mass never reads the score of a sample
    // without an answer, so sample 0 is not verified at 10: spent 10, 12, 7 up to 10 and
    // 20, 24, 7 up to 20.
    let s = settings(vec![2], vec![0.1, 0.2, 0.45, 0.7], Confidence::Mass);
    let e = run(&budgets, &pools, 2, &s).unwrap();
    let want_acc = [0.5, 1.0, 1.0, 1.0];
    let want_tok = [58.0 / 6.0, 102.0 / 6.0, 102.0 / 6.0, 102.0 / 6.0];
    for t in 0..4 {
        assert!(close(e.accuracy[0][t], want_acc[t]), "{:?}", e.accuracy);
        assert!(close(e.tokens[0][t], want_tok[t]), "{:?}", e.tokens);
    }
}

#[test]
fn forced_answers_are_paid_at_every_fresh_budget() {
    let (budgets, mut pools) = example();
    // Sample 0 was cut inside its reasoning at both budgets and got a forced answer of 3
    // tokens each time; sample 2 ended, so its forced tokens (none) are not paid again.
    pools[0].forced = vec![3, 0, 0];
    pools[1].forced = vec![3, 0, 0];
    let s = settings(vec![3], vec![0.0, 1.0], Confidence::Share);
    let e = run(&budgets, &pools, 2, &s).unwrap();
    // tau 0: stop at 10: (15 + 12 + 7) / 3; tau 1: (15 + 8 + 5 + 24 + 7) / 3.
    assert!(close(e.tokens[0][0], 34.0 / 3.0));
    assert!(close(e.tokens[0][1], 59.0 / 3.0));
    assert!(close(e.fixed_tokens_majority[1], (21.0 + 20.0 + 5.0) / 3.0));
}

#[test]
fn bad_inputs_are_errors() {
    let (budgets, pools) = example();
    let s = settings(vec![2], vec![0.5], Confidence::Share);
    let err = |b: &[u64], p: &[Pool], s: &Settings| run(b, p, 0, s).unwrap_err();
    assert!(matches!(
        err(&[20, 10], &pools, &s),
        Error::InvalidValue {
            name: "budgets",
            ..
        }
    ));
    assert!(matches!(
        err(&[10], &pools, &s),
        Error::LengthMismatch { .. }
    ));
    let mut bad = pools.clone();
    bad[1].cut[0] = 9; // shrinks
    assert!(matches!(
        err(&budgets, &bad, &s),
        Error::InvalidValue { name: "cut", .. }
    ));
    let mut bad = pools.clone();
    bad[0].cut[0] = 11; // over the budget
    assert!(matches!(
        err(&budgets, &bad, &s),
        Error::InvalidValue { name: "cut", .. }
    ));
    let mut bad = pools.clone();
    bad[0].scores[1] = 1.5;
    assert!(matches!(
        err(&budgets, &bad, &s),
        Error::InvalidValue { name: "scores", .. }
    ));
    let mut bad = pools.clone();
    bad[0].class_of[1] = Some(7);
    assert!(matches!(
        err(&budgets, &bad, &s),
        Error::InvalidValue {
            name: "class_of",
            ..
        }
    ));
    let mut bad = pools.clone();
    bad[1].scores.pop();
    assert!(matches!(
        err(&budgets, &bad, &s),
        Error::LengthMismatch { .. }
    ));
    let t = settings(vec![2], vec![1.5], Confidence::Share);
    assert!(matches!(
        err(&budgets, &pools, &t),
        Error::InvalidValue { name: "taus", .. }
    ));
    let t = settings(vec![0], vec![0.5], Confidence::Share);
    assert!(matches!(
        err(&budgets, &pools, &t),
        Error::InvalidValue { .. }
    ));
    assert!(matches!(
        Confidence::parse("max"),
        Err(Error::InvalidOption { .. })
    ));
}

fn arb_problem() -> impl Strategy<Value = (Vec<u64>, Vec<Pool>, u64)> {
    (1usize..10, 1usize..5, 1usize..4).prop_flat_map(|(n, m, classes)| {
        (
            prop::collection::vec(1u64..50, m),
            prop::collection::vec(
                (
                    prop::collection::vec(prop::option::of(0..classes as u32), n),
                    prop::collection::vec(any::<bool>(), classes),
                    prop::collection::vec(0u32..=4, n),
                    prop::collection::vec(0u64..=1000, n),
                    prop::collection::vec(0u64..5, n),
                ),
                m,
            ),
            0u64..20,
        )
            .prop_map(move |(steps, raw, verify)| {
                let mut budgets = Vec::with_capacity(m);
                let mut b = 0;
                for s in steps {
                    b += s;
                    budgets.push(b);
                }
                // Each sample's full length; its cut at a budget is min(length, budget).
                let lengths: Vec<u64> = raw[0].3.iter().map(|x| x % (b + 1)).collect();
                let pools = raw
                    .into_iter()
                    .enumerate()
                    .map(|(j, (class_of, class_correct, scores, _, forced))| Pool {
                        class_of,
                        class_correct,
                        scores: scores.iter().map(|&s| f64::from(s) / 4.0).collect(),
                        cut: lengths.iter().map(|&l| l.min(budgets[j])).collect(),
                        forced,
                    })
                    .collect();
                (budgets, pools, verify)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For sorted taus, the tokens spent and the stopping budget never decrease (every tau
    /// sees the same subsets); accuracies are probabilities; tau = 0 stops at the first
    /// budget, so (where every subset is enumerated, and with the mass confidence, which
    /// verifies what the fixed weighted vote verifies) its tokens are the first fixed
    /// budget's weighted tokens, and with the
    /// whole pool its accuracy is weighted@N at that budget.
    #[test]
    fn tau_sweep_is_monotone((budgets, pools, verify) in arb_problem(),
                             mut taus in prop::collection::vec(0.0f64..=1.0, 1..8),
                             subsets in 1usize..30,
                             mass in any::<bool>()) {
        taus.push(0.0);
        taus.sort_by(f64::total_cmp);
        let n = pools[0].class_of.len();
        let ks: Vec<usize> = (1..=n).collect();
        let confidence = if mass { Confidence::Mass } else { Confidence::Share };
        let s = Settings { ks, taus: taus.clone(), subsets, seed: 3, confidence };
        let e = run(&budgets, &pools, verify, &s).unwrap();
        for ki in 0..n {
            for t in 1..taus.len() {
                prop_assert!(e.tokens[ki][t] >= e.tokens[ki][t - 1] - 1e-9);
                prop_assert!(e.stop_budget[ki][t] >= e.stop_budget[ki][t - 1] - 1e-9);
            }
            for t in 0..taus.len() {
                prop_assert!((0.0..=1.0).contains(&e.accuracy[ki][t]));
                prop_assert!(e.accuracy_var[ki][t] >= 0.0);
            }
            // (Share also verifies the samples without an answer, which the fixed weighted
            // vote does not read.)
            if e.exact[ki] && mass {
                prop_assert!((e.tokens[ki][0] - e.fixed_tokens_weighted[0]).abs() < 1e-9);
            }
        }
        prop_assert!(e.exact[n - 1]);
        prop_assert!((e.accuracy[n - 1][0] - e.fixed[0].weighted[n - 1]).abs() < 1e-12);
        // One budget: the rule is the fixed weighted vote whatever tau.
        if budgets.len() == 1 {
            for t in 0..taus.len() {
                prop_assert!((e.accuracy[n - 1][t] - e.fixed[0].weighted[n - 1]).abs() < 1e-12);
            }
        }
        // Direct call gives the same numbers as the batch.
        let correct: Vec<Vec<bool>> = pools.iter().map(Pool::sample_correct).collect();
        let p = LengthProblem {
            budgets: &budgets,
            pools: pools.iter().zip(&correct).map(|(b, sc)| BudgetPool {
                class_of: &b.class_of, class_correct: &b.class_correct, sample_correct: sc,
                scores: &b.scores, cut: &b.cut, forced: &b.forced,
            }).collect(),
            verify_tokens: verify,
        };
        check_problem(&p).unwrap();
        prop_assert_eq!(format!("{:?}", select(&p, &s, 0)), format!("{e:?}"));
    }
}
