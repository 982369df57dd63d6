//! K8 on LeakyNet (E3): channel-averaging layers erase inter-channel perturbations at init, and
//! more averaging layers mean lower accuracy.
use super::stats::{Point, spearman, spearman_critical};
use super::{ClaimRow, Verdict, acc_text, complete, row, verdict};
use crate::config::{LeakyCode, ModelSpec};
use crate::experiment::PlannedRun;
use crate::runs::{ExperimentRuns, Finished};

/// One init code's evidence: its accuracy over seeds and the perturbation's reach at init.
struct Code {
    code: LeakyCode,
    acc: Point,
    /// Reach of the perturbation at init to the last activation, of its first seed.
    reach: Option<f64>,
}

/// The init code of a LeakyNet run, from its config.
fn code_of(p: &PlannedRun) -> Option<LeakyCode> {
    match p.config().ok()?.model.spec {
        ModelSpec::LeakyNet(l) => Some(l.code),
        ModelSpec::Mlp { .. } | ModelSpec::Wrn(_) => None,
    }
}

fn code(runs: &[(&PlannedRun, &Finished)]) -> Option<Code> {
    let (first, f) = runs.first()?;
    let accs = runs.iter().map(|(_, f)| f.summary.best_test_acc).collect();
    let reach = f
        .perturbations
        .iter()
        .find(|p| p.step == 0)
        .and_then(|p| p.reach.last())
        .map(|r| r.ratio);
    Some(Code {
        code: code_of(first)?,
        acc: Point::new(0.0, accs),
        reach,
    })
}

/// The mechanism, at init: averaging layers erase the perturbation, identity layers pass it.
fn erasure_at_init(codes: &[Code]) -> bool {
    let erased = codes
        .iter()
        .filter(|c| c.code.averaging_layers() > 0)
        .all(|c| c.reach.is_some_and(|r| r < 1e-4));
    let passed = codes
        .iter()
        .filter(|c| !c.code.has_random() && c.code.averaging_layers() == 0)
        .all(|c| c.reach.is_some_and(|r| r > 0.1));
    erased && passed && codes.iter().any(|c| c.reach.is_some())
}

fn listing(codes: &[Code]) -> String {
    codes
        .iter()
        .map(|c| {
            format!(
                "{} ({} avg) {}{}",
                c.code,
                c.code.averaging_layers(),
                acc_text(&c.acc),
                c.reach
                    .map_or(String::new(), |r| format!(", reach at init {r:.1e}"))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// K8 from E3's runs: the erasure at init, and Spearman's rho between the number of averaging
/// layers and accuracy over the structured (non-random) codes.
pub fn k8(exps: &[ExperimentRuns]) -> ClaimRow {
    let e = match complete(exps, "e3-leakynet") {
        Ok(e) => e,
        Err(why) => return row("K8", why, Verdict::NotRun, ""),
    };
    let codes: Vec<Code> = e
        .by_variant()
        .iter()
        .filter_map(|(_, runs)| code(runs))
        .collect();
    // The random init is the baseline; the claim is about the structured codes.
    let structured: Vec<&Code> = codes.iter().filter(|c| !c.code.has_random()).collect();
    let n_avg: Vec<f64> = structured
        .iter()
        .map(|c| c.code.averaging_layers() as f64)
        .collect();
    let accs: Vec<f64> = structured.iter().map(|c| c.acc.mean).collect();
    let rho = spearman(&n_avg, &accs);
    let critical = spearman_critical(n_avg.len());
    let mechanism = erasure_at_init(&codes);
    row(
        "K8",
        format!(
            "erasure at init (perturbation at the stem's output, reach to the last layer < 1e-4 through any averaging layer, > 0.1 through identities only): {}. Best test accuracy per code: {}. Spearman rho(averaging layers, accuracy) over the {} structured codes = {} (holds if <= -{critical:.3}, the one-sided 5% critical value)",
            if mechanism { "holds" } else { "does not hold" },
            listing(&codes),
            n_avg.len(),
            if rho.is_nan() {
                "undefined: every structured code reached the same accuracy".to_string()
            } else {
                format!("{rho:.2}")
            }
        ),
        verdict(mechanism && rho <= -critical),
        &e.plan.scale,
    )
}
