//! Properties that plant a defect in the holding records (any single contradiction of a claim's
//! evidence, a failed or missing run) and never read "holds"; and planted evidence a sound test
//! must not accept: a difference that clears its threshold only because the runs have no spread,
//! and replicates that are copies.
use super::*;
use crate::runs::Records;

type Plant = fn(&mut [ExperimentRuns], usize);

/// The `i`-th (mod their number) finished run of `group` in experiment `e`.
fn nth<'a>(exps: &'a mut [ExperimentRuns], e: usize, group: &str, i: usize) -> &'a mut Finished {
    let mut runs = Lab::runs_mut(&mut exps[e], group);
    let n = runs.len();
    runs.swap_remove(i % n)
}

fn nan_gap(f: &mut Finished, i: usize) {
    let n = f.steps.len();
    let s = &mut f.steps[i % n];
    let m = s.layers.len();
    s.layers[i % m].gap_abs = f64::NAN;
}

/// Single contradictions of each claim's evidence, each chosen to be one a record could carry:
/// (claim, what is planted, where).
fn contradictions() -> Vec<(ClaimId, &'static str, Plant)> {
    let mut all = toy_contradictions();
    all.extend(rounding_contradictions());
    all.extend(deep_contradictions());
    all
}

fn rounding_contradictions() -> Vec<(ClaimId, &'static str, Plant)> {
    vec![
        (ClaimId::K4Cpu, "a channel gap in the control", |e, i| {
            let f = nth(e, 1, "none", i);
            let n = f.steps.len();
            f.steps[i % n].layers[0].gap_abs = 1e-10;
        }),
        (ClaimId::K4Cpu, "a NaN gap of the breaker", |e, i| {
            nan_gap(nth(e, 1, "grad-noise", i), i)
        }),
        (ClaimId::K4, "a NaN gap of the GPU breaker", |e, i| {
            nan_gap(nth(e, 1, "nondeterministic", i), i)
        }),
    ]
}

fn toy_contradictions() -> Vec<(ClaimId, &'static str, Plant)> {
    vec![
        (ClaimId::K1, "the tied runs at He's accuracy", |e, _| {
            set_curve(tied_mut(e), 0.83)
        }),
        (ClaimId::K1, "a NaN accuracy of a tied run", |e, i| {
            nth(e, 0, "symmetry", i).summary.final_test_acc = f64::NAN
        }),
        (ClaimId::K1, "a NaN accuracy of the width-1 net", |e, i| {
            nth(e, 0, "width-1", i).summary.final_test_acc = f64::NAN
        }),
        (ClaimId::K2, "a run of the largest K at chance", |e, i| {
            let f = runs_at(&mut e[0], "k-curve", 256.0).swap_remove(i % 3);
            f.summary.final_test_acc = 0.1;
        }),
        (ClaimId::K3, "a small-noise run halfway to He", |e, i| {
            let f = runs_at(&mut e[0], "eps-curve", 0.1).swap_remove(i % 3);
            f.summary.final_test_acc = 0.5;
        }),
        (ClaimId::K3, "a NaN accuracy of He", |e, i| {
            nth(e, 0, "he", i).summary.final_test_acc = f64::NAN
        }),
    ]
}

fn deep_contradictions() -> Vec<(ClaimId, &'static str, Plant)> {
    vec![
        (ClaimId::K5, "a breaker run far below He", |e, i| {
            nth(e, 1, "dropout", i).summary.best_test_acc = 0.3
        }),
        (ClaimId::K5, "a NaN accuracy of a breaker", |e, i| {
            nth(e, 1, "grad-noise", i).summary.best_test_acc = f64::NAN
        }),
        (ClaimId::K6, "a wrong loss at step 0", |e, i| {
            nth(e, 1, "none", i).steps[0].loss += 0.01
        }),
        (ClaimId::K6, "a second channel at init", |e, i| {
            let f = nth(e, 1, "none", i);
            let n = f.summary.diversity_init.len();
            f.summary.diversity_init[i % n].distinct_exact = 2;
        }),
        (ClaimId::K7, "a channel gap without a breaker", |e, i| {
            let f = nth(e, 1, "none", i);
            let n = f.steps.len();
            let s = &mut f.steps[i % n];
            let m = s.layers.len();
            s.layers[i % m].gap_abs = 1e-12;
        }),
        (ClaimId::K7, "a NaN gap without a breaker", |e, i| {
            nan_gap(nth(e, 1, "none", i), i)
        }),
        (
            ClaimId::K8,
            "an averaging code that does not erase",
            |e, i| {
                let f = e[2]
                    .runs
                    .iter_mut()
                    .filter(|r| {
                        r.planned.variant.starts_with("1_")
                            && r.planned.variant != "1_iiii_iiii_iiii"
                    })
                    .nth(i % 8)
                    .and_then(|r| r.finished_mut())
                    .unwrap();
                f.perturbations[0].reach[0].ratio = 0.01;
            },
        ),
        (
            ClaimId::K8,
            "an identity code that does not pass",
            |e, i| {
                let f = e[2]
                    .runs
                    .iter_mut()
                    .filter(|r| r.planned.variant.ends_with("iiii_iiii_iiii"))
                    .nth(i % 4)
                    .and_then(|r| r.finished_mut())
                    .unwrap();
                f.perturbations[0].reach[0].ratio = 0.05;
            },
        ),
        (ClaimId::K9, "a breaker far from He's width", |e, i| {
            let f = nth(e, 1, "dropout", i);
            f.summary
                .diversity_final
                .iter_mut()
                .for_each(|l| l.width_participation = 200.0);
        }),
        (ClaimId::K9, "a NaN width", |e, i| {
            let f = nth(e, 1, "grad-noise", i);
            let n = f.summary.diversity_final.len();
            f.summary.diversity_final[i % n].width_participation = f64::NAN;
        }),
    ]
}

proptest::proptest! {
    // Each case judges the synthetic records once (well under a millisecond).
    #![proptest_config(super::super::lab::proptest_config(64))]

    #[test]
    fn a_planted_contradiction_never_reads_holds(which in 0usize..19, at in 0usize..64) {
        let all_plants = contradictions();
        let (id, what, plant) = all_plants[which % all_plants.len()];
        let mut exps = all();
        plant(&mut exps, at);
        let row = verdict_of(&exps, id);
        proptest::prop_assert_ne!(
            row.verdict,
            Verdict::Holds,
            "{} with {}: {}",
            id,
            what,
            row.measured
        );
    }

    #[test]
    fn a_failed_or_missing_run_never_reads_holds(
        claim in 0..ClaimId::ALL.len(),
        at in 0usize..64,
        failed in proptest::bool::ANY,
    ) {
        let id = ClaimId::ALL[claim];
        let mut exps = all();
        let runs = &mut exps[experiment_of(id)].runs;
        let n = runs.len();
        let run = &mut runs[at % n];
        run.records = if failed {
            Records::Failed("runs/x/summary.json".into(), "planted".into())
        } else {
            Records::Pending
        };
        let row = verdict_of(&exps, id);
        proptest::prop_assert_ne!(row.verdict, Verdict::Holds, "{}", id);
    }
}

#[test]
fn agreement_to_the_last_digit_on_a_small_test_set_is_not_certainty() {
    // Every He run at 0.80 and every breaker at 0.77, on 100 test images: without a floor
    // the interval is the point -0.03, inside the margin; their binomial noise (0.04 a run)
    // says the seeds cannot tell.
    let row = planted(ClaimId::K5, |e| {
        for r in e[1].runs.iter_mut() {
            if let Some(f) = r.finished_mut() {
                f.data.test = 100;
            }
        }
        set_curve(group(e, ClaimId::K5, "he"), 0.80);
        for g in ["dropout", "grad-noise", "nondeterministic"] {
            set_curve(group(e, ClaimId::K5, g), 0.77);
        }
    });
    assert_verdict(&row, Verdict::Undecided, "not shown within");
    // The same accuracies on 10,000 images each are evidence.
    let row = planted(ClaimId::K5, |e| {
        set_curve(group(e, ClaimId::K5, "he"), 0.80);
        for g in ["dropout", "grad-noise", "nondeterministic"] {
            set_curve(group(e, ClaimId::K5, g), 0.77);
        }
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
}

#[test]
fn widths_without_spread_decide_nothing() {
    // Log widths have no binomial floor: with no spread at all there is no noise measured.
    let row = planted(ClaimId::K9, |e| {
        for g in ["he", "dropout", "grad-noise", "nondeterministic"] {
            for f in group(e, ClaimId::K9, g) {
                f.summary
                    .diversity_final
                    .iter_mut()
                    .for_each(|l| l.width_participation = 18.0);
            }
        }
    });
    assert_verdict(&row, Verdict::Undecided, "not shown within");
}

/// K3's eps = 0.1 with 3 distinct escaped seeds, copied into all 8 of its runs.
fn copied_seeds(e: &mut [ExperimentRuns]) {
    let runs = runs_at(&mut e[0], "eps-curve", 0.1);
    let originals: Vec<Finished> = runs.iter().take(3).map(|f| (**f).clone()).collect();
    for (i, f) in runs.into_iter().enumerate() {
        *f = originals[i % 3].clone();
    }
}

#[test]
fn copies_of_a_run_are_one_replicate() {
    // 8 of 8 escaped would be a majority shown (p 0.004); 3 of 3 is not (p 0.125).
    let row = planted(ClaimId::K3, |e| copied_seeds(e));
    assert_verdict(
        &row,
        Verdict::Undecided,
        "no small eps is shown to counteract",
    );
    assert!(
        row.measured.contains("3 of 3 seeds escaped"),
        "{}",
        row.measured
    );
    // K5: a breaker whose second seed is a copy of its first has one seed.
    let row = planted(ClaimId::K5, |e| {
        let mut runs = group(e, ClaimId::K5, "dropout");
        let first = (*runs[0]).clone();
        *runs[1] = first;
    });
    assert_verdict(&row, Verdict::Undecided, "dropout: at least 2 seeds");
}
