//! The verdicts' own tests: for every claim, a synthetic record set that holds, one refuted, one
//! undecided for each precondition, and broken records (NaN, empty, failed, missing); and a
//! property: planting any single contradiction into a record set that holds moves the verdict
//! away from "holds".
use super::lab::{LEAKY, Lab, MLP, Story, WRN, shipped_criteria};
use super::{ClaimRow, Verdict, claims_table};
use crate::experiment::ClaimId;
use crate::runs::{ExperimentRuns, Finished, Records};

fn flat(acc: f64) -> Story {
    Story {
        curve: vec![acc; 4],
        ..Story::learned(acc, &[0.0; 5])
    }
}

fn around(acc: f64, spread: f64, gaps: &[f64], n: usize) -> Vec<Story> {
    (0..n)
        .map(|i| Story::learned(acc + spread * (i as f64 - (n as f64 - 1.0) / 2.0), gaps))
        .collect()
}

const NO_GAP: [f64; 5] = [0.0; 5];
/// A rounding-level breaker amplified past 1e-3.
const PARTED: [f64; 5] = [0.0, 5e-8, 1e-6, 1e-3 / 2.0, 2e-2];

/// E1 whose records make K1, K2 and K3 hold.
pub fn e1() -> ExperimentRuns {
    let chance = |n| vec![flat(0.1); n];
    let mut lab = Lab::new("e1-toy", shipped_criteria("e1-toy.toml"), MLP)
        .group("he", "he", None, &[], &around(0.83, 0.002, &NO_GAP, 3))
        .group(
            "width-1",
            "width-1",
            None,
            &["model.hidden=[1]"],
            &around(0.12, 0.02, &NO_GAP, 3),
        )
        .group(
            "untied",
            "untied",
            None,
            &[],
            &around(0.82, 0.002, &NO_GAP, 3),
        )
        .group("k-curve", "K=1", Some(1.0), &[], &chance(3));
    for (k, acc) in [(2.0, 0.2), (16.0, 0.6), (256.0, 0.83)] {
        lab = lab.group(
            "k-curve",
            &format!("K={k}"),
            Some(k),
            &[],
            &around(acc, 0.01, &NO_GAP, 3),
        );
    }
    lab.group("eps-curve", "eps=0", Some(0.0), &[], &chance(3))
        .group(
            "eps-curve",
            "eps=0.1",
            Some(0.1),
            &[],
            &around(0.815, 0.003, &PARTED, 8),
        )
        .group(
            "symmetry",
            "width 7",
            Some(7.0),
            &["model.hidden=[7]"],
            &chance(3),
        )
        .e
}

/// E2 whose records make K4, K5, K6 and K7 hold.
pub fn e2() -> ExperimentRuns {
    let mut none = flat(0.23);
    none.identical_at_init = true;
    let breaker = |acc| {
        let mut s = around(acc, 0.004, &PARTED, 2);
        s.iter_mut()
            .for_each(|s| s.widths = vec![1.0, 12.0, 15.0, 16.0, 16.0]);
        s
    };
    Lab::new("e2-constnet", shipped_criteria("e2-constnet.toml"), WRN)
        .group(
            "he",
            "he",
            None,
            &["model.init=he"],
            &around(0.80, 0.004, &NO_GAP, 2),
        )
        .group("none", "none", None, &[], &[none.clone(), none])
        .group("dropout", "dropout", None, &[], &breaker(0.795))
        .group("grad-noise", "grad-noise", None, &[], &breaker(0.79))
        .group(
            "nondeterministic",
            "nondeterministic",
            None,
            &[],
            &breaker(0.792),
        )
        .e
}

/// E4, analysing E2, whose criterion makes K9 hold on `e2()`.
pub fn e4() -> ExperimentRuns {
    let mut e = Lab::new("e4-diversity", shipped_criteria("e4-diversity.toml"), WRN).e;
    e.plan.analysis_of = vec!["e2-constnet".into()];
    e
}

/// E3 whose records make K8 hold: accuracy falls with the averaging layers.
pub fn e3() -> ExperimentRuns {
    let mut lab = Lab::new("e3-leakynet", shipped_criteria("e3-leakynet.toml"), LEAKY);
    for (code, acc, reach) in [
        ("h_hhhh_hhhh_hhhh", 0.7, 0.05),
        ("i_iiii_iiii_iiii", 0.5, 1.0),
        ("1_iiii_iiii_iiii", 0.5, 1.0),
        ("1_iiii_11ii_iiii", 0.4, 0.0),
        ("1_iiii_1111_iiii", 0.3, 0.0),
        ("1_ii11_ii11_ii11", 0.25, 0.0),
        ("1_1111_1111_1111", 0.2, 0.0),
    ] {
        let mut stories = around(acc, 0.004, &PARTED, 2);
        stories.iter_mut().for_each(|s| s.reach = reach);
        let set = format!("model.init={code:?}");
        lab = lab.group("code", code, None, &[set.as_str()], &stories);
    }
    lab.e
}

fn all() -> Vec<ExperimentRuns> {
    vec![e1(), e2(), e3(), e4()]
}

fn verdict_of(exps: &[ExperimentRuns], id: ClaimId) -> ClaimRow {
    claims_table(exps)
        .into_iter()
        .find(|r| r.id == id)
        .expect("every claim has a row")
}

fn experiment_of(id: ClaimId) -> usize {
    match id {
        ClaimId::K1 | ClaimId::K2 | ClaimId::K3 => 0,
        ClaimId::K4 | ClaimId::K4Cpu | ClaimId::K5 | ClaimId::K6 | ClaimId::K7 | ClaimId::K9 => 1,
        ClaimId::K8 => 2,
    }
}

fn group<'a>(exps: &'a mut [ExperimentRuns], id: ClaimId, g: &str) -> Vec<&'a mut Finished> {
    Lab::runs_mut(&mut exps[experiment_of(id)], g)
}

#[test]
fn every_claim_holds_on_its_holding_records() {
    for row in claims_table(&all()) {
        assert_eq!(
            row.verdict,
            Verdict::Holds,
            "{}: {:?} {}",
            row.id,
            row.reason,
            row.measured
        );
        assert!(row.preconditions.iter().all(|c| c.met), "{}", row.id);
        assert!(
            !row.criterion.is_empty() && !row.rationale.is_empty(),
            "{}",
            row.id
        );
    }
}

/// Runs a plant on the holding records and returns the claim's row.
fn planted(id: ClaimId, plant: impl FnOnce(&mut Vec<ExperimentRuns>)) -> ClaimRow {
    let mut exps = all();
    plant(&mut exps);
    verdict_of(&exps, id)
}

fn assert_verdict(row: &ClaimRow, want: Verdict, why: &str) {
    assert_eq!(
        row.verdict, want,
        "{}: {:?}; {}",
        row.id, row.reason, row.measured
    );
    let reason = row.reason.clone().unwrap_or_default();
    assert!(
        reason.contains(why),
        "{}: {why:?} not in {reason:?}",
        row.id
    );
}

fn set_curve(runs: Vec<&mut Finished>, acc: f64) {
    for f in runs {
        f.summary.final_test_acc = acc;
        f.summary.best_test_acc = acc;
        f.evals.iter_mut().for_each(|e| e.test_acc = acc);
    }
}

/// The tied k-unique:1 runs K1 reads: K = 1 of the K curve and the symmetry widths.
fn tied_mut(e: &mut [ExperimentRuns]) -> Vec<&mut Finished> {
    e[0].runs
        .iter_mut()
        .filter(|r| r.planned.x == Some(1.0) || r.planned.group == "symmetry")
        .filter_map(|r| r.finished_mut())
        .collect()
}

#[test]
fn k1_refuted_when_identical_features_train_as_well_as_he() {
    let row = planted(ClaimId::K1, |e| set_curve(tied_mut(e), 0.83));
    assert_verdict(&row, Verdict::Refuted, "no more than 0.05 below He");
}

#[test]
fn k1_is_judged_against_he_and_the_width_1_net_only_measured() {
    // A width-1 net far better than the tied runs (or at chance) moves nothing: it trains
    // differently from the tied net, which is a reparametrized width-1 net, not a plain one.
    for width1 in [0.9, 0.1] {
        let row = planted(ClaimId::K1, |e| {
            set_curve(Lab::runs_mut(&mut e[0], "width-1"), width1)
        });
        assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
        assert!(row.measured.contains("not judged"), "{}", row.measured);
    }
}

#[test]
fn k1_leaves_out_parted_runs_and_needs_enough_that_stayed() {
    // Every tied run parted: nothing left to judge K1 on.
    let row = planted(ClaimId::K1, |e| {
        for r in e[0]
            .runs
            .iter_mut()
            .filter(|r| r.planned.x == Some(1.0) || r.planned.group == "symmetry")
        {
            if let Some(f) = r.finished_mut() {
                f.summary
                    .diversity_final
                    .iter_mut()
                    .for_each(|l| l.gap_ulps = 10_000);
            }
        }
    });
    assert_verdict(&row, Verdict::Undecided, "tied runs that stayed identical");
    assert!(
        row.measured.contains("parted by float32 rounding"),
        "{}",
        row.measured
    );
    // Each parted run named by its width: the symmetry runs' own, the K curve's 256.
    for run in [
        "width 7 seed 0 (10000 ulps)",
        "width 256 seed 0 (10000 ulps)",
    ] {
        assert!(row.measured.contains(run), "{run}: {}", row.measured);
    }
}

#[test]
fn the_toy_claims_state_how_they_weigh_their_runs() {
    let weighing = "final accuracy; each test one-sided at alpha 0.05 over at least 3 distinct seeds, every group's spread floored at its test set's binomial noise; He beats chance by 0.3 and rises at most 0.02 per epoch (but for one standard error) over the last quarter of its high learning rate";
    for id in [ClaimId::K1, ClaimId::K2, ClaimId::K3] {
        let row = verdict_of(&all(), id);
        assert!(row.criterion.contains(weighing), "{id}: {}", row.criterion);
    }
}

#[test]
fn k1_undecided_when_he_did_not_learn() {
    let row = planted(ClaimId::K1, |e| {
        set_curve(Lab::runs_mut(&mut e[0], "he"), 0.15)
    });
    assert_verdict(&row, Verdict::Undecided, "He learned");
}

#[test]
fn k1_straddling_interval_is_undecided() {
    // Tied runs around 0.05 below He, spread wide: the bound straddles -0.05.
    let row = planted(ClaimId::K1, |e| {
        for (f, acc) in tied_mut(e)
            .into_iter()
            .zip([0.70, 0.86, 0.74, 0.82, 0.78, 0.78])
        {
            f.summary.final_test_acc = acc;
        }
    });
    assert_verdict(&row, Verdict::Undecided, "straddles");
}

#[test]
fn k2_refuted_when_accuracy_does_not_rise_with_k() {
    let row = planted(ClaimId::K2, |e| {
        set_curve(Lab::runs_mut(&mut e[0], "k-curve"), 0.5)
    });
    assert_verdict(&row, Verdict::Refuted, "does not rise");
}

#[test]
fn k2_a_rise_of_exactly_the_declared_growth_settles_nothing() {
    // "More than" the growth holds, "less than" it refutes; exactly it (0.5, on a binary grid so
    // that the difference is exact) is neither.
    let rising_by = |top: f64| k2_with_curve(&[(1.0, 0.25), (256.0, top)]);
    assert_verdict(&rising_by(0.75), Verdict::Undecided, "do not settle it");
    // Nor does a weak rank correlation, well inside (-critical, +critical).
    let zigzag = k2_with_curve(&[(1.0, 0.25), (2.0, 0.9), (16.0, 0.3), (256.0, 0.75)]);
    assert_verdict(&zigzag, Verdict::Undecided, "do not settle it");
    let row = rising_by(0.8125);
    assert_eq!(row.verdict, Verdict::Holds);
    // The curve as measured, K by K.
    assert!(
        row.measured
            .contains("accuracy by K: 1: 0.250±0.000, 2: 0.200±"),
        "{}",
        row.measured
    );
}

/// K2 on the holding records, its growth set to 0.5 and every seed of each listed K at the
/// listed accuracy.
fn k2_with_curve(accs: &[(f64, f64)]) -> ClaimRow {
    let mut e = all();
    if let Some(c) = e[0].plan.criteria.k2.as_mut() {
        c.growth = 0.5;
    }
    for &(k, acc) in accs {
        set_curve(runs_at(&mut e[0], "k-curve", k), acc);
    }
    verdict_of(&e, ClaimId::K2)
}

#[test]
fn k2_needs_three_values_of_k() {
    let row = planted(ClaimId::K2, |e| {
        e[0].runs
            .retain(|r| r.planned.group != "k-curve" || r.planned.x.is_some_and(|x| x < 3.0));
        e[0].plan
            .runs
            .retain(|r| r.group != "k-curve" || r.x.is_some_and(|x| x < 3.0));
    });
    assert_verdict(&row, Verdict::Undecided, "three or more values of K");
}

#[test]
fn k3_refuted_when_small_noise_stays_at_chance() {
    let row = planted(ClaimId::K3, |e| {
        set_curve(runs_at(&mut e[0], "eps-curve", 0.1), 0.1);
    });
    assert_verdict(&row, Verdict::Refuted, "every eps");
}

#[test]
fn k3_undecided_while_the_noisy_runs_still_rise() {
    let row = planted(ClaimId::K3, |e| {
        for f in runs_at(&mut e[0], "eps-curve", 0.1) {
            let n = f.evals.len();
            f.evals[n - 1].test_acc = f.evals[n - 2].test_acc + 0.2;
        }
    });
    assert_verdict(&row, Verdict::Undecided, "levelled off");
}

#[test]
fn k3_undecided_when_there_is_nothing_to_counteract() {
    let row = planted(ClaimId::K3, |e| {
        set_curve(runs_at(&mut e[0], "eps-curve", 0.0), 0.83);
    });
    assert_verdict(&row, Verdict::Undecided, "without noise");
}

#[test]
fn k4_refuted_when_the_gap_never_grows() {
    let row = planted(ClaimId::K4Cpu, |e| {
        for f in group(e, ClaimId::K4Cpu, "grad-noise") {
            f.steps.iter_mut().for_each(|s| {
                s.layers
                    .iter_mut()
                    .for_each(|l| l.gap_abs = l.gap_abs.min(5e-8))
            });
        }
    });
    assert_verdict(&row, Verdict::Refuted, "did not grow");
}

#[test]
fn k4_undecided_when_the_budget_ran_out_or_the_control_parted() {
    let row = planted(ClaimId::K4Cpu, |e| {
        for f in group(e, ClaimId::K4Cpu, "grad-noise") {
            f.steps.iter_mut().for_each(|s| {
                s.layers
                    .iter_mut()
                    .for_each(|l| l.gap_abs = l.gap_abs.min(1e-4))
            });
        }
    });
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
fn k8_refuted_when_averaging_does_not_erase_or_accuracy_rises() {
    let row = planted(ClaimId::K8, |e| {
        let f = e[2]
            .runs
            .iter_mut()
            .find(|r| r.planned.variant == "1_1111_1111_1111")
            .and_then(|r| r.finished_mut())
            .unwrap();
        f.perturbations[0].reach[0].ratio = 0.5;
    });
    assert_verdict(&row, Verdict::Refuted, "does not erase");
    let row = planted(ClaimId::K8, |e| {
        for r in e[2].runs.iter_mut() {
            let code = crate::config::LeakyCode::parse(&r.planned.variant, 16).unwrap();
            let acc = 0.25 + 0.02 * code.averaging_layers() as f64 + 0.001 * r.planned.seed as f64;
            set_curve(r.finished_mut().into_iter().collect(), acc);
        }
    });
    assert_verdict(&row, Verdict::Refuted, "rises with the averaging layers");
}

#[test]
fn k8_undecided_until_the_identity_codes_learn() {
    let row = planted(ClaimId::K8, |e| {
        for r in e[2]
            .runs
            .iter_mut()
            .filter(|r| !r.planned.variant.starts_with('h'))
        {
            let code = crate::config::LeakyCode::parse(&r.planned.variant, 16).unwrap();
            let acc = 0.15 - 0.004 * code.averaging_layers() as f64 + 0.001 * r.planned.seed as f64;
            set_curve(r.finished_mut().into_iter().collect(), acc);
        }
    });
    assert_verdict(&row, Verdict::Undecided, "identity codes learned");
}

#[test]
fn k8_no_trend_is_undecided() {
    let row = planted(ClaimId::K8, |e| {
        for r in e[2]
            .runs
            .iter_mut()
            .filter(|r| !r.planned.variant.starts_with('h'))
        {
            // Codes apart by a little, in no order of their averaging layers.
            let code = (r.planned.variant.matches('1').count() % 3) as f64;
            let acc = 0.5 + 0.01 * r.planned.seed as f64 + 0.002 * code;
            set_curve(r.finished_mut().into_iter().collect(), acc);
        }
    });
    assert_verdict(&row, Verdict::Undecided, "is not shown below 0");
}

#[test]
fn k9_refuted_when_a_breaker_ends_far_from_he() {
    let row = planted(ClaimId::K9, |e| {
        for f in group(e, ClaimId::K9, "dropout") {
            f.summary
                .diversity_final
                .iter_mut()
                .for_each(|l| l.width_participation = 1.5);
            f.evals.iter_mut().for_each(|ev| {
                ev.layers
                    .iter_mut()
                    .for_each(|l| l.width_participation = 1.5)
            });
        }
    });
    assert_verdict(&row, Verdict::Refuted, "dropout ends a factor");
}

#[test]
fn k9_undecided_while_widths_still_move() {
    let row = planted(ClaimId::K9, |e| {
        for f in group(e, ClaimId::K9, "he") {
            let n = f.evals.len();
            f.evals[n - 1]
                .layers
                .iter_mut()
                .for_each(|l| l.width_participation = 40.0);
        }
    });
    assert_verdict(&row, Verdict::Undecided, "He's width settled");
}

#[test]
fn missing_runs_are_not_run_and_failed_runs_undecided() {
    let mut exps = all();
    exps[1].runs[0].records = Records::Pending;
    for id in [
        ClaimId::K4,
        ClaimId::K4Cpu,
        ClaimId::K5,
        ClaimId::K6,
        ClaimId::K7,
        ClaimId::K9,
    ] {
        assert_verdict(&verdict_of(&exps, id), Verdict::NotRun, "runs finished");
    }
    exps[1].runs[0].records = Records::Failed("runs/x/summary.json".into(), "disk full".into());
    assert_verdict(
        &verdict_of(&exps, ClaimId::K5),
        Verdict::Undecided,
        "runs/x/summary.json: the run failed: disk full",
    );
    let row = verdict_of(&[e2()], ClaimId::K1);
    assert_verdict(&row, Verdict::NotRun, "no experiment");
}

#[test]
fn a_nan_accuracy_is_never_a_verdict() {
    for (id, g) in [
        (ClaimId::K1, "width-1"),
        (ClaimId::K2, "k-curve"),
        (ClaimId::K3, "he"),
        (ClaimId::K5, "grad-noise"),
        (ClaimId::K8, "code"),
    ] {
        let row = planted(id, |e| {
            let f = &mut Lab::runs_mut(&mut e[experiment_of(id)], g)[0];
            f.summary.final_test_acc = f64::NAN;
            f.summary.best_test_acc = f64::NAN;
        });
        assert_verdict(&row, Verdict::Undecided, "not an accuracy");
    }
}

type Plant = fn(&mut [ExperimentRuns], usize);
/// An edit of the records, for one precondition.
type Edit = fn(&mut Vec<ExperimentRuns>);

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
    #![proptest_config(super::lab::proptest_config(64))]

    #[test]
    fn a_planted_contradiction_never_reads_holds(which in 0usize..19, at in 0usize..64) {
        let all_plants = contradictions();
        let (id, what, plant) = all_plants[which % all_plants.len()];
        let mut exps = all();
        plant(&mut exps, at);
        let row = verdict_of(&exps, id);
        proptest::prop_assert_ne!(row.verdict, Verdict::Holds, "{} with {}: {}", id, what, row.measured);
    }

    #[test]
    fn a_failed_or_missing_run_never_reads_holds(claim in 0usize..10, at in 0usize..64, failed in proptest::bool::ANY) {
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
fn verdicts_and_claims_read_as_words() {
    let words: Vec<String> = [
        Verdict::Holds,
        Verdict::Refuted,
        Verdict::Undecided,
        Verdict::NotRun,
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    assert_eq!(words, ["holds", "refuted", "undecided", "not run"]);
    for id in ClaimId::ALL {
        let text = id.text();
        assert!(text.len() > 40 && text.ends_with('.'), "{id}: {text}");
    }
    assert!(ClaimId::K5.text().contains("ConstNet"));
    assert!(ClaimId::K8.text().starts_with("LeakyNet"));
}

mod evidence_checks {
    use super::super::evidence::*;
    use super::super::lab::{Story, finished};
    use super::super::pace::{catching_up, high_lr_evals};
    use crate::experiment::Accuracy;

    fn run(curve: &[f64]) -> crate::runs::Finished {
        finished(&Story {
            curve: curve.to_vec(),
            ..Story::learned(0.5, &[0.0, 1e-7, 1e-2])
        })
    }

    #[test]
    fn accuracies_are_checked_and_best_differs_from_final() {
        let f = run(&[0.2, 0.6, 0.7, 0.4]);
        assert_eq!(accuracy(&f, Accuracy::Best), Ok(0.7));
        assert_eq!(accuracy(&f, Accuracy::Final), Ok(0.4));
        let mut bad = f.clone();
        bad.summary.final_test_acc = 1.5;
        assert!(
            accuracy(&bad, Accuracy::Final)
                .unwrap_err()
                .what
                .contains("not an accuracy")
        );
        bad.summary.best_test_acc = f64::NAN;
        assert!(accuracy(&bad, Accuracy::Best).is_err());
    }

    /// A run evaluated at `accs` with learning rates `lrs`.
    fn scheduled(accs: &[f64], lrs: &[f64]) -> crate::runs::Finished {
        let mut f = run(accs);
        f.evals.iter_mut().zip(lrs).for_each(|(e, lr)| e.lr = *lr);
        f
    }

    #[test]
    fn the_high_rate_lasts_while_the_rate_is_at_least_half_its_first() {
        let f = scheduled(&[0.1; 5], &[0.1, 0.1, 0.06, 0.05, 0.04]);
        assert_eq!(high_lr_evals(&f), 4);
        let cut = scheduled(&[0.1; 3], &[0.1, 0.02, 0.1]);
        assert_eq!(high_lr_evals(&cut), 1, "the stretch ends at the first cut");
        let mut none = run(&[0.1]);
        none.evals.clear();
        assert_eq!(high_lr_evals(&none), 0);
    }

    #[test]
    fn catching_up_needs_two_high_rate_evaluations() {
        let e = super::e2();
        let plan = e.plan.runs[0].clone();
        let he = scheduled(&[0.5, 0.7, 0.8], &[0.1, 0.1, 0.01]);
        let pair = |f| vec![(&plan, f)];
        let two = scheduled(&[0.2, 0.4, 0.45], &[0.1, 0.1, 0.01]);
        // Over evaluations 0 -> 1 (epochs 1 -> 2): the group gained 0.2, He 0.2: nothing
        // closed per epoch, 0.3 left.
        let c = catching_up(&pair(&he), &pair(&two), Accuracy::Final)
            .unwrap()
            .unwrap();
        assert_eq!((c.epochs, c.left), (1.0, 0.7 - 0.4));
        assert!(c.per_epoch.mean.abs() < 1e-12, "{c:?}");
        let one = scheduled(&[0.2, 0.4], &[0.1, 0.01]);
        assert_eq!(
            catching_up(&pair(&he), &pair(&one), Accuracy::Final),
            Ok(None)
        );
        let mut empty = one.clone();
        empty.evals.clear();
        assert_eq!(
            catching_up(&pair(&he), &pair(&empty), Accuracy::Final),
            Ok(None)
        );
    }

    #[test]
    fn gaps_and_ulps_are_checked() {
        let f = run(&[0.5, 0.5]);
        let t = gap_trajectory(&f).unwrap();
        assert_eq!(t.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(largest(&t), 1e-2);
        assert_eq!(first_above(&t, 1e-3), Some((2, 1e-2)));
        assert_eq!(first_above(&t, 1e-2), None);
        assert_eq!(final_ulps(&f), Ok(1_000));
        let mut empty = f.clone();
        empty.steps.clear();
        assert!(gap_trajectory(&empty).unwrap_err().what.contains("no step"));
        empty.summary.diversity_final.clear();
        assert!(final_ulps(&empty).is_err());
        let mut nan = f.clone();
        nan.summary.diversity_final[0].gap_abs = f64::NAN;
        assert!(final_ulps(&nan).unwrap_err().what.contains("NaN"));
    }

    #[test]
    fn chance_comes_from_the_records_or_the_named_data_set() {
        let mut f = run(&[0.5, 0.5]);
        assert_eq!(chance(&f), Ok(0.1));
        f.data.classes = Some(4);
        assert_eq!(chance(&f), Ok(0.25));
        f.data.classes = None;
        assert_eq!(chance(&f), Ok(0.1));
        f.data.name = "npz".into();
        assert!(chance(&f).unwrap_err().what.contains("classes"));
        f.data.classes = Some(0);
        assert!(chance(&f).is_err());
    }
}

#[test]
fn k5_reads_the_declared_accuracy_best_not_final() {
    // A breaker that peaked at He's level and fell: its best accuracy holds K5, its final would not.
    let row = planted(ClaimId::K5, |e| {
        for f in group(e, ClaimId::K5, "dropout") {
            f.summary.final_test_acc = 0.4;
        }
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
}

#[test]
fn an_analysis_without_its_experiment_is_not_run() {
    let row = verdict_of(&[e1(), e4()], ClaimId::K9);
    assert_verdict(&row, Verdict::NotRun, "analyses e2-constnet");
}

/// `runs` evaluated along `curve`, the learning rate decayed fivefold after the first `high`.
fn set_schedule(mut runs: Vec<&mut Finished>, curve: &[f64], high: usize) {
    set_evals(&mut runs, curve, high, |e, acc| e.test_acc = acc);
    for f in runs {
        f.summary.best_test_acc = curve.iter().copied().fold(f64::NAN, f64::max);
        f.summary.final_test_acc = curve[curve.len() - 1];
    }
}

/// Rebuilds each run's evaluations from its first, one per value, with the learning rate cut
/// after the first `high`; `set` writes a value into its evaluation.
fn set_evals(
    runs: &mut [&mut Finished],
    values: &[f64],
    high: usize,
    set: impl Fn(&mut crate::records::EvalLine, f64),
) {
    for f in runs {
        let template = f.evals[0].clone();
        f.evals = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let mut e = template.clone();
                e.step = (i + 1) * 10;
                e.epoch = (i + 1) as f64;
                e.lr = if i < high { 0.03 } else { 0.006 };
                set(&mut e, v);
                e
            })
            .collect();
    }
}

const HE_DECAYED: [f64; 8] = [0.6, 0.75, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8];

/// A breaker that rose steeply until the rate decayed, then froze 0.1 below He's 0.8.
const CHASING: [f64; 8] = [0.2, 0.3, 0.45, 0.6, 0.7, 0.7, 0.7, 0.7];

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

#[test]
fn k3_refutation_waits_for_the_small_eps_to_stop_catching_up() {
    let refuted = |e: &mut Vec<ExperimentRuns>| {
        for f in Lab::runs_mut(&mut e[0], "eps-curve") {
            if f.summary.final_test_acc > 0.5 {
                f.summary.final_test_acc = 0.7;
            }
        }
    };
    let row = planted(ClaimId::K3, |e| refuted(e));
    assert_verdict(&row, Verdict::Refuted, "every eps");
    let row = planted(ClaimId::K3, |e| {
        refuted(e);
        set_schedule(Lab::runs_mut(&mut e[0], "he"), &HE_DECAYED, 4);
        let small: Vec<&mut Finished> = Lab::runs_mut(&mut e[0], "eps-curve")
            .into_iter()
            .filter(|f| f.summary.final_test_acc == 0.7)
            .collect();
        set_schedule(small, &CHASING, 4);
    });
    assert_verdict(&row, Verdict::Undecided, "eps = 0.1 caught up");
}

/// `runs` with one evaluation per entry of `widths` (every layer's width), the learning rate
/// decayed fivefold after the first `high`; the last width is the final one.
fn set_widths(mut runs: Vec<&mut Finished>, widths: &[f64], high: usize) {
    set_evals(&mut runs, widths, high, |e, w| {
        e.layers.iter_mut().for_each(|l| l.width_participation = w)
    });
    for f in runs {
        let last = widths[widths.len() - 1];
        f.summary
            .diversity_final
            .iter_mut()
            .for_each(|l| l.width_participation = last);
    }
}

const WIDTH_FROZEN: [f64; 8] = [4.0, 8.0, 12.0, 14.0, 16.0, 16.0, 16.0, 16.0];

#[test]
fn k9_undecided_while_a_breaker_width_still_grows_when_the_rate_decays() {
    // Flat after the decay; over the last quarter of the high rate the width grew 12 -> 14.
    let row = planted(ClaimId::K9, |e| {
        set_widths(group(e, ClaimId::K9, "dropout"), &WIDTH_FROZEN, 4)
    });
    assert_verdict(&row, Verdict::Undecided, "dropout's width settled");
    let check = row
        .preconditions
        .iter()
        .find(|c| c.what.starts_with("dropout's width settled"))
        .expect("the settling precondition is listed");
    assert!(check.value.contains("moved 0.143"), "{}", check.value);
}

#[test]
fn k9_holds_when_the_same_widths_grew_at_a_constant_rate() {
    // Control for the test above: at a constant rate the last quarter (16, 16, 16) is settled.
    let row = planted(ClaimId::K9, |e| {
        set_widths(group(e, ClaimId::K9, "dropout"), &WIDTH_FROZEN, 8)
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
}

/// E3's runs of one LeakyNet code.
fn code_runs<'a>(exps: &'a mut [ExperimentRuns], code: &str) -> Vec<&'a mut Finished> {
    exps[2]
        .runs
        .iter_mut()
        .filter(|r| r.planned.variant == code)
        .filter_map(|r| r.finished_mut())
        .collect()
}

#[test]
fn k8_holds_only_once_the_averaging_codes_stopped_catching_up() {
    let identity = [0.3, 0.45, 0.49, 0.5, 0.5, 0.5, 0.5, 0.5];
    let chasing = [0.1, 0.15, 0.25, 0.35, 0.4, 0.4, 0.4, 0.4];
    let plant = |high: usize| {
        move |e: &mut Vec<ExperimentRuns>| {
            for code in ["i_iiii_iiii_iiii", "1_iiii_iiii_iiii"] {
                set_schedule(code_runs(e, code), &identity, high);
            }
            set_schedule(code_runs(e, "1_iiii_11ii_iiii"), &chasing, high);
        }
    };
    // Cut short while gaining 0.09 on the identity codes: undecided.
    let row = planted(ClaimId::K8, plant(4));
    assert_verdict(&row, Verdict::Undecided, "1_iiii_11ii_iiii caught up");
    // Control: the same curves at a constant rate, whose last quarter is flat.
    let row = planted(ClaimId::K8, plant(8));
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
    // Only the averaging codes are held to catching up: the identity codes are the baseline.
    let checked: Vec<&str> = row
        .preconditions
        .iter()
        .filter_map(|c| c.what.split_once(" caught up").map(|(code, _)| code))
        .collect();
    assert_eq!(
        checked,
        [
            "1_iiii_11ii_iiii",
            "1_iiii_1111_iiii",
            "1_ii11_ii11_ii11",
            "1_1111_1111_1111"
        ]
    );
}

#[test]
fn acc_text_is_mean_and_sample_std_to_three_places() {
    let p = crate::claims::stats::Point::new(0.0, vec![0.8, 0.9]);
    assert_eq!(super::acc_text(&p), "0.850±0.071");
}

#[test]
fn every_row_links_the_runs_it_rests_on() {
    let exps = all();
    let planned: Vec<String> = exps
        .iter()
        .flat_map(|e| e.runs.iter().map(|r| r.planned.hash.clone()))
        .collect();
    for row in claims_table(&exps) {
        assert!(!row.runs.is_empty(), "{} links no run", row.id);
        for h in &row.runs {
            assert!(planned.contains(h), "{}: {h:?} is not a run", row.id);
        }
    }
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

#[test]
fn k9_a_breaker_exactly_the_declared_factor_from_he_is_not_shown_within_it() {
    let ending_at = |w: f64| {
        planted(ClaimId::K9, |e| {
            for f in group(e, ClaimId::K9, "dropout") {
                f.summary
                    .diversity_final
                    .iter_mut()
                    .for_each(|l| l.width_participation = w);
            }
        })
    };
    // He ends near width 20 (its seeds 1% apart): 10 is a factor of 2, on the boundary of the
    // band, where equivalence is not shown; well inside it holds, well outside it is refuted.
    assert_verdict(&ending_at(10.0), Verdict::Undecided, "not shown within");
    assert_eq!(ending_at(14.0).verdict, Verdict::Holds);
    assert_verdict(&ending_at(5.0), Verdict::Refuted, "dropout ends a factor");
    assert_verdict(&ending_at(60.0), Verdict::Refuted, "dropout ends a factor");
}

#[test]
fn k9_two_high_rate_evaluations_are_enough_to_see_a_width_settle() {
    let row = planted(ClaimId::K9, |e| {
        set_widths(group(e, ClaimId::K9, "dropout"), &[16.0, 16.0], 2)
    });
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
    let row = planted(ClaimId::K9, |e| {
        set_widths(group(e, ClaimId::K9, "dropout"), &[16.0], 1)
    });
    assert_verdict(&row, Verdict::Undecided, "dropout's width settled");
}

#[test]
fn k9_a_zero_or_infinite_width_is_a_flaw_not_a_width() {
    for bad in [0.0, f64::INFINITY] {
        let row = planted(ClaimId::K9, |e| {
            group(e, ClaimId::K9, "dropout")[0].summary.diversity_final[0].width_participation = bad
        });
        assert_verdict(&row, Verdict::Undecided, "the width of");
    }
}

/// The finished runs of `group` at `x` (a K, an eps): `Lab::runs_mut` for one point of a curve.
fn runs_at<'a>(e: &'a mut ExperimentRuns, group: &str, x: f64) -> Vec<&'a mut Finished> {
    e.runs
        .iter_mut()
        .filter(|r| r.planned.group == group && r.planned.x == Some(x))
        .filter_map(|r| r.finished_mut())
        .collect()
}

#[test]
fn k3_judges_only_the_eps_in_the_small_range() {
    // eps = 0 is the control, not a small noise: one small eps (0.1) in the holding records.
    let row = verdict_of(&all(), ClaimId::K3);
    let check = row
        .preconditions
        .iter()
        .find(|c| c.what.starts_with("eps values in"))
        .expect("the check is listed");
    assert_eq!(check.value, "1");
}

#[test]
fn k3_a_control_exactly_the_margin_below_he_does_not_stay_more_than_it_below() {
    let control_at = |acc: f64| {
        let mut e = all();
        if let Some(c) = e[0].plan.criteria.k3.as_mut() {
            c.margin = 0.0625; // a binary fraction, so that the difference is exact
        }
        set_curve(Lab::runs_mut(&mut e[0], "he"), 0.8125);
        set_curve(runs_at(&mut e[0], "eps-curve", 0.0), acc);
        verdict_of(&e, ClaimId::K3)
    };
    assert_verdict(&control_at(0.75), Verdict::Undecided, "without noise");
    assert_eq!(control_at(0.6875).verdict, Verdict::Holds);
}

/// The eight eps = 0.1 runs at accuracies cycling through `accs`.
fn eps_at(e: &mut [ExperimentRuns], accs: &[f64]) {
    for (f, acc) in runs_at(&mut e[0], "eps-curve", 0.1)
        .into_iter()
        .zip(accs.iter().cycle())
    {
        set_curve(vec![f], *acc);
    }
}

/// Escaped seeds 0.046 below He's 0.83, their bound about [-0.054, -0.038]: neither shown
/// within 0.05 nor beyond it.
const STRADDLING: [f64; 3] = [0.775, 0.775, 0.80];

#[test]
fn k3_a_small_eps_whose_parts_straddle_their_thresholds_is_undecided() {
    // Every seed escaped, but the escaped straddle the margin.
    let row = planted(ClaimId::K3, |e| eps_at(e, &STRADDLING));
    assert_eq!(row.verdict, Verdict::Undecided, "{:?}", row.reason);
    let reason = row.reason.unwrap_or_default();
    assert!(reason.contains("more seeds would narrow"), "{reason}");
    // Close to He, but only 5 of 8 seeds escaped: 5 of 8 shows no majority, nor its absence.
    let row = planted(ClaimId::K3, |e| {
        eps_at(e, &[0.815, 0.1, 0.815, 0.1, 0.815, 0.1, 0.815, 0.815])
    });
    assert_eq!(row.verdict, Verdict::Undecided, "{:?}", row.reason);
    assert!(
        row.measured.contains("5 of 8 seeds escaped"),
        "{}",
        row.measured
    );
    // Negative control: all eight escaped and close to He holds; none escaped refutes.
    let row = planted(ClaimId::K3, |e| eps_at(e, &[0.815, 0.82]));
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
    let row = planted(ClaimId::K3, |e| eps_at(e, &[0.1]));
    assert_verdict(&row, Verdict::Refuted, "too few seeds escape");
}

#[test]
fn k3_an_undecided_interval_says_how_far_each_small_eps_still_closes_on_he() {
    // eps = 0.1 straddles the margin (as above); `rise` is how steeply it climbed at the high rate.
    let straddling = |rise: f64| {
        planted(ClaimId::K3, move |e| {
            let he = HE_DECAYED.map(|a| a + 0.03); // the lab's He, 0.83, reached late
            set_schedule(Lab::runs_mut(&mut e[0], "he"), &he, 4);
            for (f, acc) in runs_at(&mut e[0], "eps-curve", 0.1)
                .into_iter()
                .zip(STRADDLING.iter().cycle().copied())
            {
                let curve: Vec<f64> = (0..8).map(|i| acc - rise * (3 - i.min(3)) as f64).collect();
                set_schedule(vec![f], &curve, 4);
            }
        })
    };
    let closed = |row: &ClaimRow| -> f64 {
        assert_eq!(row.verdict, Verdict::Undecided, "{:?}", row.reason);
        let m = &row.measured;
        let at = m.find("gap to He closed").unwrap_or_else(|| panic!("{m}"));
        let v = m[at..]
            .split("0.1: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{m}"));
        v.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(closed(&straddling(0.1)) > 0.02);
    // The negative control: the same end, reached early and held, closes nothing.
    assert!(closed(&straddling(0.0)) <= 0.0);
}

/// Planted evidence a sound test must not accept: a difference that clears its threshold only
/// because the runs have no spread, and replicates that are copies.
mod planted_evidence {
    use super::*;

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
}
