//! The paper's claims K1-K9, each judged by one function on the runs of the experiments that
//! measure it, against a baseline trained in the same experiment. The report only renders the
//! rows; tests and `make claims` call the same functions.
pub mod constnet;
pub mod leakynet;
pub mod stats;
pub mod toy;
pub mod width;

use crate::runs::{ExperimentRuns, Finished};
use serde::Serialize;
use stats::Point;
use std::collections::BTreeMap;

/// A claim's verdict at the scale it was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold at this scale",
            Verdict::NotRun => "not run",
        })
    }
}

/// "Comes within" margin of a baseline, in accuracy (toy and deep claims alike).
pub const MARGIN: f64 = 0.05;
/// A symmetry gap above this is macroscopic: the features have visibly parted (K4).
pub const MACRO_GAP: f64 = 1e-3;
/// Within this factor of He's effective width, per layer (median), counts as "near" (K9).
pub const WIDTH_FACTOR: f64 = 2.0;

/// The claims in the paper's words (docs/paper.md, the claims).
pub const CLAIMS: &[(&str, &str)] = &[
    (
        "K1",
        "A complete lack of feature diversity at initialization (all hidden features identical) harms training: the network behaves as a width-1 network.",
    ),
    (
        "K2",
        "Accuracy of a one-hidden-layer ReLU network falls as the number of unique features at initialization falls.",
    ),
    (
        "K3",
        "A relatively small added noise counteracts the lack of diversity.",
    ),
    (
        "K4",
        "Even the noise of standard non-deterministic GPU computation is enough to break the symmetry.",
    ),
    (
        "K5",
        "ConstNet (identical features, almost all weights 0) trains to the accuracy of its randomly initialized counterpart, given a symmetry breaker.",
    ),
    (
        "K6",
        "ConstNet has perfect signal propagation and stable gradients at initialization.",
    ),
    (
        "K7",
        "Without any symmetry breaker ConstNet stays channel-symmetric for the whole of training.",
    ),
    (
        "K8",
        "LeakyNet: channel-averaging layers erase inter-channel perturbations and so hinder symmetry breaking; more averaging layers, lower accuracy.",
    ),
    (
        "K9",
        "Given a symmetry breaker, training ends near solutions of a characteristic effective width, whatever the initial diversity.",
    ),
];

/// One claim's row of the claims table.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub id: String,
    pub claim: String,
    pub measured: String,
    pub verdict: Verdict,
    pub scale: String,
}

fn verdict(ok: bool) -> Verdict {
    if ok {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    }
}

fn claim_text(id: &str) -> String {
    CLAIMS
        .iter()
        .find(|c| c.0 == id)
        .map_or(String::new(), |c| c.1.to_string())
}

fn row(id: &str, measured: String, verdict: Verdict, scale: &str) -> ClaimRow {
    ClaimRow {
        id: id.into(),
        claim: claim_text(id),
        measured,
        verdict,
        scale: scale.into(),
    }
}

/// The same "not run" row for each of `ids`.
fn not_run(ids: &[&str], why: &str, scale: &str) -> Vec<ClaimRow> {
    ids.iter()
        .map(|id| row(id, why.to_string(), Verdict::NotRun, scale))
        .collect()
}

/// The experiment measuring a claim, with all its runs finished; else why not.
fn complete<'a>(exps: &'a [ExperimentRuns], name: &str) -> Result<&'a ExperimentRuns, String> {
    let e = exps
        .iter()
        .find(|e| e.plan.experiment == name)
        .ok_or_else(|| format!("experiment {name} is not in these runs"))?;
    let done = e.runs.iter().filter(|r| r.result.is_some()).count();
    if done < e.runs.len() {
        return Err(format!(
            "{name}: {done} of {} runs finished (run reproduce or the missing sweep shards)",
            e.runs.len()
        ));
    }
    if e.runs.is_empty() {
        return Err(format!("{name}: no runs on this device"));
    }
    Ok(e)
}

/// Accuracy points of a group, by x (or one point at x = 0), over seeds.
pub fn points(e: &ExperimentRuns, group: &str, best: bool) -> Vec<Point> {
    let mut by_x: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for (p, f) in e.finished(group) {
        let x = p.x.unwrap_or(0.0);
        let acc = if best {
            f.summary.best_test_acc
        } else {
            f.summary.final_test_acc
        };
        // Keyed by x scaled to an integer: floats are not Ord.
        by_x.entry((x * 1e6).round() as i64)
            .or_insert((x, Vec::new()))
            .1
            .push(acc);
    }
    by_x.into_values().map(|(x, a)| Point::new(x, a)).collect()
}

/// All of a group's accuracies as one point (x = 0), if it has finished runs.
pub fn one_point(e: &ExperimentRuns, group: &str, best: bool) -> Option<Point> {
    let accs: Vec<f64> = points(e, group, best)
        .into_iter()
        .flat_map(|p| p.accs)
        .collect();
    (!accs.is_empty()).then(|| Point::new(0.0, accs))
}

/// Largest symmetry gap over layers at each logged step.
pub fn gap_trajectory(f: &Finished) -> Vec<(usize, f64)> {
    f.steps
        .iter()
        .map(|s| {
            (
                s.step,
                s.layers.iter().map(|l| l.gap_abs).fold(0.0, f64::max),
            )
        })
        .collect()
}

/// Mean ± std of a group's accuracy, as text.
fn acc_text(p: &Point) -> String {
    format!("{:.3}±{:.3}", p.mean, p.std)
}

/// All claims K1..K9, in order.
pub fn claims_table(exps: &[ExperimentRuns]) -> Vec<ClaimRow> {
    let mut rows = toy::claims(exps);
    rows.extend(constnet::claims(exps));
    rows.push(leakynet::k8(exps));
    rows.push(width::k9(exps));
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}
