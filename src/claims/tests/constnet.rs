//! K4-K7 (and K4-cpu), ConstNet's claims (claims/constnet.rs), on E2's records.
use super::*;

/// An edit of the records, for one precondition.
type Edit = fn(&mut Vec<ExperimentRuns>);

/// Caps every logged channel gap of E2's runs of group `g` at `most`.
fn cap_gaps(e: &mut [ExperimentRuns], g: &str, most: f64) {
    for f in group(e, ClaimId::K4Cpu, g) {
        for l in f.steps.iter_mut().flat_map(|s| s.layers.iter_mut()) {
            l.gap_abs = l.gap_abs.min(most);
        }
    }
}

#[test]
fn k4_refuted_when_the_gap_never_grows() {
    let row = planted(ClaimId::K4Cpu, |e| cap_gaps(e, "grad-noise", 5e-8));
    assert_verdict(&row, Verdict::Refuted, "did not grow");
}

#[test]
fn k4_undecided_when_the_budget_ran_out_or_the_control_parted() {
    let row = planted(ClaimId::K4Cpu, |e| cap_gaps(e, "grad-noise", 1e-4));
    assert_verdict(&row, Verdict::Undecided, "budget ran out");
    let row = planted(ClaimId::K4Cpu, |e| {
        group(e, ClaimId::K4Cpu, "none")[0].steps[2].layers[0].gap_abs = 1e-9
    });
    assert_verdict(&row, Verdict::Undecided, "stays exactly 0");
}

#[test]
fn k5_refuted_when_a_breaker_stays_below_he() {
    let row = planted(ClaimId::K5, |e| {
        set_curve(group(e, ClaimId::K5, "dropout"), 0.5)
    });
    assert_verdict(&row, Verdict::Refuted, "+dropout");
}

#[test]
fn k5_undecided_for_each_precondition() {
    let cases: [(&str, Edit); 4] = [
        ("the channels parted", |e| {
            for f in group(e, ClaimId::K5, "dropout") {
                f.steps
                    .iter_mut()
                    .for_each(|s| s.layers.iter_mut().for_each(|l| l.gap_abs = 0.0));
            }
        }),
        ("He learned", |e| {
            set_curve(group(e, ClaimId::K5, "he"), 0.2)
        }),
        ("without a breaker", |e| {
            set_curve(group(e, ClaimId::K5, "none"), 0.8)
        }),
        ("at least 2 seeds", |e| {
            e[1].runs
                .retain(|r| !(r.planned.group == "dropout" && r.planned.seed == 1));
            e[1].plan
                .runs
                .retain(|r| !(r.group == "dropout" && r.seed == 1));
        }),
    ];
    for (why, plant) in cases {
        let row = planted(ClaimId::K5, plant);
        assert_verdict(&row, Verdict::Undecided, why);
    }
}

#[test]
fn k5_undecided_when_a_breaker_straddles_the_margin() {
    let row = planted(ClaimId::K5, |e| {
        for (f, acc) in group(e, ClaimId::K5, "dropout")
            .into_iter()
            .zip([0.6, 0.85])
        {
            f.summary.best_test_acc = acc;
        }
    });
    assert_verdict(&row, Verdict::Undecided, "straddles");
}

#[test]
fn k6_refuted_by_a_wrong_first_loss_or_a_second_channel() {
    let row = planted(ClaimId::K6, |e| {
        group(e, ClaimId::K6, "none")[0].steps[0].loss = 2.0
    });
    assert_verdict(&row, Verdict::Refuted, "seed 0");
    let row = planted(ClaimId::K6, |e| {
        group(e, ClaimId::K6, "none")[1].summary.diversity_init[0].distinct_exact = 2
    });
    assert_verdict(&row, Verdict::Refuted, "seed 1");
}

#[test]
fn k6_empty_or_nan_records_are_flaws() {
    let row = planted(ClaimId::K6, |e| {
        group(e, ClaimId::K6, "none")[0]
            .summary
            .diversity_init
            .clear()
    });
    assert_verdict(&row, Verdict::Undecided, "lists no layers");
    let row = planted(ClaimId::K6, |e| {
        group(e, ClaimId::K6, "none")[0].steps[0].loss = f64::NAN
    });
    assert_verdict(&row, Verdict::Undecided, "the loss at step 0 is NaN");
    let row = planted(ClaimId::K6, |e| {
        group(e, ClaimId::K6, "none")[0]
            .steps
            .retain(|s| s.step != 0)
    });
    assert_verdict(&row, Verdict::Undecided, "no record of step 0");
}

#[test]
fn k7_refuted_by_any_gap_and_never_held_by_a_nan() {
    let row = planted(ClaimId::K7, |e| {
        group(e, ClaimId::K7, "none")[1].steps[3].layers[1].gap_abs = 1e-12
    });
    assert_verdict(&row, Verdict::Refuted, "reached");
    let row = planted(ClaimId::K7, |e| {
        group(e, ClaimId::K7, "none")[1].steps[3].layers[1].gap_abs = f64::NAN
    });
    assert_verdict(&row, Verdict::Undecided, "is NaN");
    let row = planted(ClaimId::K7, |e| {
        group(e, ClaimId::K7, "none")[0]
            .steps
            .iter_mut()
            .for_each(|s| s.layers.clear())
    });
    assert_verdict(&row, Verdict::Undecided, "lists no layers");
}

#[test]
fn k7_undecided_when_the_control_shows_no_gap() {
    let row = planted(ClaimId::K7, |e| {
        for f in group(e, ClaimId::K7, "dropout") {
            f.steps
                .iter_mut()
                .for_each(|s| s.layers.iter_mut().for_each(|l| l.gap_abs = 0.0));
        }
    });
    assert_verdict(&row, Verdict::Undecided, "dropout control");
}

#[test]
fn k5_reads_the_declared_accuracy_best_not_final() {
    // A breaker that peaked at He's level and fell: its best accuracy holds K5, its final would
    // not.
    let row = planted(ClaimId::K5, |e| {
        for f in group(e, ClaimId::K5, "dropout") {
            f.summary.final_test_acc = 0.4;
        }
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
}

#[test]
fn k5_undecided_while_a_breaker_still_catches_up_when_the_rate_decays() {
    // Flat after the decay, so "levelled off" passes: only the high-rate stretch shows that the
    // breaker closed 0.15 of its gap in its last quarter and was cut short.
    let row = planted(ClaimId::K5, |e| {
        set_schedule(group(e, ClaimId::K5, "he"), &HE_DECAYED, 4);
        set_schedule(group(e, ClaimId::K5, "dropout"), &CHASING, 4);
    });
    assert_verdict(&row, Verdict::Undecided, "dropout caught up");
    let check = row
        .preconditions
        .iter()
        .find(|c| c.what.starts_with("dropout caught up"))
        .expect("the catch-up precondition is listed");
    assert!(
        check
            .value
            .starts_with("closed +0.1500 +- 0.0000 per epoch"),
        "{}",
        check.value
    );
    assert!(
        check.remedy.contains("at least 2 more epoch(s)"),
        "{}",
        check.remedy
    );
}

#[test]
fn k5_catching_up_only_holds_back_a_shortfall() {
    // Controls for the test above. The same shortfall reached at a constant rate (last quarter
    // flat) is a refutation; a breaker still gaining but already within the margin holds.
    let row = planted(ClaimId::K5, |e| {
        set_schedule(group(e, ClaimId::K5, "he"), &HE_DECAYED, 8);
        set_schedule(group(e, ClaimId::K5, "dropout"), &CHASING, 8);
    });
    assert_verdict(&row, Verdict::Refuted, "+dropout");
    let close = [0.2, 0.3, 0.45, 0.6, 0.795, 0.795, 0.795, 0.795];
    let row = planted(ClaimId::K5, |e| {
        set_schedule(group(e, ClaimId::K5, "he"), &HE_DECAYED, 4);
        set_schedule(group(e, ClaimId::K5, "dropout"), &close, 4);
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
}

/// The holding E2 with K5's margin set to 2^-4, so that accuracies in sixteenths sit exactly on
/// it (0.05 is not a sum of powers of two: no pair of accuracies differs by exactly 0.05).
fn e2_with_margin_on_the_grid() -> Vec<ExperimentRuns> {
    let mut e = all();
    if let Some(c) = e[1].plan.criteria.k5.as_mut() {
        c.margin = 0.0625;
    }
    e
}

#[test]
fn k5_a_control_exactly_the_margin_below_he_does_not_stay_more_than_it_below() {
    let mut e = e2_with_margin_on_the_grid();
    set_curve(group(&mut e, ClaimId::K5, "he"), 0.8125);
    set_curve(group(&mut e, ClaimId::K5, "none"), 0.75);
    assert_verdict(
        &verdict_of(&e, ClaimId::K5),
        Verdict::Undecided,
        "without a breaker",
    );
    // A sixteenth further down it does.
    set_curve(group(&mut e, ClaimId::K5, "none"), 0.6875);
    assert_eq!(verdict_of(&e, ClaimId::K5).verdict, Verdict::Holds);
}

#[test]
fn k5_a_breaker_shown_within_the_margin_holds_without_a_catch_up_check() {
    // A breaker shown within the margin needs no catch-up check, so this one, still rising
    // steeply when the rate decayed, holds.
    let chasing = [0.2, 0.4, 0.55, 0.78, 0.78, 0.78, 0.78, 0.78];
    let he = [0.6, 0.75, 0.8125, 0.8125, 0.8125, 0.8125, 0.8125, 0.8125];
    let mut e = e2_with_margin_on_the_grid();
    set_schedule(group(&mut e, ClaimId::K5, "he"), &he, 4);
    set_schedule(group(&mut e, ClaimId::K5, "dropout"), &chasing, 4);
    let row = verdict_of(&e, ClaimId::K5);
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
    // Exactly the margin below He is on the boundary: not shown within it, and the same rise
    // is a budget cut short.
    let at_margin = chasing.map(|a| a - 0.0325);
    set_schedule(group(&mut e, ClaimId::K5, "dropout"), &at_margin, 4);
    assert_verdict(
        &verdict_of(&e, ClaimId::K5),
        Verdict::Undecided,
        "caught up",
    );
}

#[test]
fn k4_a_first_gap_at_the_rounding_bound_is_not_rounding_level() {
    // The criterion: the gap starts *below* 1e-6.
    let at_bound = |gap: f64| {
        planted(ClaimId::K4Cpu, |e| {
            for f in group(e, ClaimId::K4Cpu, "grad-noise") {
                f.steps[1].layers.iter_mut().for_each(|l| l.gap_abs = gap);
            }
        })
    };
    assert_verdict(&at_bound(1e-6), Verdict::Undecided, "rounding level");
    assert_eq!(at_bound(0.99e-6).verdict, Verdict::Holds);
}

#[test]
fn k6_a_first_loss_exactly_the_tolerance_from_ln_classes_passes() {
    // ln 10 lies in [2, 4), where 2^-7 is a whole number of ulps: the difference is exact.
    let first_loss = |loss: f64| {
        let mut e = all();
        if let Some(c) = e[1].plan.criteria.k6.as_mut() {
            c.loss_tol = 2f64.powi(-7);
        }
        for f in group(&mut e, ClaimId::K6, "none") {
            f.steps[0].loss = loss;
        }
        verdict_of(&e, ClaimId::K6)
    };
    // As the judge computes it: -ln(1 / classes), which is not 10f64.ln() to the last bit.
    let ln10 = -(1.0f64 / 10.0).ln();
    assert_eq!(first_loss(ln10 + 2f64.powi(-7)).verdict, Verdict::Holds);
    assert_eq!(first_loss(ln10 - 2f64.powi(-7)).verdict, Verdict::Holds);
    assert_eq!(first_loss(ln10 + 2f64.powi(-6)).verdict, Verdict::Refuted);
}

#[test]
fn k4_is_not_run_without_gpu_runs_and_its_stand_in_is_its_own_row() {
    let mut exps = all();
    exps[1]
        .runs
        .retain(|r| r.planned.group != "nondeterministic");
    exps[1].plan.skipped = vec!["constnet, nondeterministic cuDNN (needs cuda)".into()];
    let k4 = verdict_of(&exps, ClaimId::K4);
    assert_verdict(&k4, Verdict::NotRun, "needs cuda");
    assert!(k4.reason.unwrap_or_default().contains("K4-cpu"));
    let cpu = verdict_of(&exps, ClaimId::K4Cpu);
    assert_eq!(cpu.verdict, Verdict::Holds, "{:?}", cpu.reason);
    assert!(
        cpu.criterion.contains("gradient noise 2^-24"),
        "{}",
        cpu.criterion
    );
    assert!(cpu.claim.contains("stand-in"), "{}", cpu.claim);
    // With GPU runs, K4 reads them and only them.
    let gpu = verdict_of(&all(), ClaimId::K4);
    assert_eq!(gpu.verdict, Verdict::Holds, "{:?}", gpu.reason);
    assert!(gpu.criterion.contains("nondeterministic CUDA kernels"));
    assert!(!gpu.measured.contains("gradient noise"), "{}", gpu.measured);
}

#[test]
fn k4_lists_the_toy_runs_that_rounding_alone_parted() {
    let row = verdict_of(&all(), ClaimId::K4Cpu);
    assert!(
        row.measured.contains("no tied run's gap passed"),
        "{}",
        row.measured
    );
    let row = planted(ClaimId::K4Cpu, |e| {
        let symmetry = Lab::runs_mut(&mut e[0], "symmetry");
        for (s, gap) in symmetry
            .into_iter()
            .next()
            .into_iter()
            .flat_map(|f| f.steps.iter_mut().zip(PARTED))
        {
            s.layers.iter_mut().for_each(|l| l.gap_abs = gap);
        }
    });
    assert!(
        row.measured
            .contains("parted by float32 rounding alone (gap > 1e-3): width 7 seed 0 at step 8"),
        "{}",
        row.measured
    );
}
