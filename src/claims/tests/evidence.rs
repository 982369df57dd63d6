//! Flawed, missing and failed records (a run not finished or failed, a NaN accuracy, an
//! analysis without its experiment), and the evidence checks of claims/evidence.rs and
//! claims/pace.rs that read a run's records.
use super::super::Verdict;
use super::super::evidence::*;
use super::super::lab::{Lab, Story, finished};
use super::super::pace::{catching_up, high_lr_evals};
use super::{all, assert_verdict, e1, e2, e4, experiment_of, planted, verdict_of};
use crate::experiment::{Accuracy, ClaimId};
use crate::runs::Records;

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

#[test]
fn an_analysis_without_its_experiment_is_not_run() {
    let row = verdict_of(&[e1(), e4()], ClaimId::K9);
    assert_verdict(&row, Verdict::NotRun, "analyses e2-constnet");
}

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
