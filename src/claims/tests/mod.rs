//! The verdicts' own tests, one module per subject as in claims/: for every claim, a synthetic
//! record set that holds, one refuted, one undecided for each precondition, and broken records
//! (NaN, empty, failed, missing); and a property: planting any single contradiction into a record
//! set that holds moves the verdict away from "holds". Here, the builders they share: the holding
//! records of E1-E4 and the edits and reads of them.
use super::lab::{LEAKY, Lab, MLP, Story, WRN, shipped_criteria};
use super::{ClaimRow, Verdict, claims_table};
use crate::experiment::ClaimId;
use crate::runs::{ExperimentRuns, Finished};

mod constnet;
mod evidence;
mod leakynet;
mod planted;
mod table;
mod toy;
mod width;

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

/// The finished runs of `group` at `x` (a K, an eps): `Lab::runs_mut` for one point of a curve.
fn runs_at<'a>(e: &'a mut ExperimentRuns, group: &str, x: f64) -> Vec<&'a mut Finished> {
    e.runs
        .iter_mut()
        .filter(|r| r.planned.group == group && r.planned.x == Some(x))
        .filter_map(|r| r.finished_mut())
        .collect()
}
