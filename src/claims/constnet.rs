//! K4, K5, K6, K7 on ConstNet (E2): rounding-level noise breaks the symmetry, a broken ConstNet
//! trains like He, the signal at init, and exact symmetry without a breaker. Also the closed form
//! of ConstNet's signal at init (docs/paper.md, ConstNet) and a training helper that records the
//! symmetry gap.
use super::{
    ClaimRow, MACRO_GAP, MARGIN, Verdict, acc_text, complete, gap_trajectory, not_run, one_point,
    row, verdict,
};
use crate::experiment::PlannedRun;
use crate::runs::{ExperimentRuns, Finished};
use tch::{Kind, Tensor};

type Runs<'a> = [(&'a PlannedRun, &'a Finished)];

/// Batch norm in training mode at init (scale 1, shift 0): batch statistics, biased variance.
fn bn_train(s: &Tensor) -> Tensor {
    let mean = s.mean_dim([0i64, 2, 3].as_slice(), true, Kind::Float);
    let var = s.var_correction([0i64, 2, 3].as_slice(), tch::Scalar::int(0), true);
    (s - mean) / (var + 1e-5).sqrt()
}

/// ConstNet's pre-classifier feature at init, per sample [B], identical for every channel:
/// s0 = the mean over colours; then ReLU(BN(.)) and stride-2 subsampling at each group transition
/// (and at the widening of group 1 when widen > 1); then the mean over space of ReLU(s). Depth
/// never acts on the signal: identity blocks add a zero residual.
pub fn constnet_features_closed_form(x: &Tensor, widen: usize) -> Tensor {
    let mut s = x.mean_dim([1i64].as_slice(), true, Kind::Float);
    for (group, stride) in [(1, 1), (2, 2), (3, 2)] {
        if group > 1 || widen > 1 {
            s = bn_train(&s).relu();
            if stride == 2 {
                s = s.slice(2, 0, None, 2).slice(3, 0, None, 2);
            }
        }
    }
    s.relu()
        .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
}

/// Trains `cfg` on `ds` and returns, at every logged step, the largest symmetry gap over the
/// feature layers (0 while every group of features that started identical still is).
pub fn train_gap_trajectory(
    cfg: &crate::config::Config,
    ds: &crate::data::Dataset,
    device: tch::Device,
) -> anyhow::Result<Vec<(usize, f64)>> {
    let mut gaps = Vec::new();
    crate::train::train(cfg, ds, device, &mut |line| {
        if let crate::records::Line::Step(r) = line {
            gaps.push((
                r.step,
                r.layers.iter().map(|l| l.gap_abs).fold(0.0, f64::max),
            ));
        }
        Ok(())
    })?;
    Ok(gaps)
}

/// The largest gap over every logged step of every run.
fn largest_gap(runs: &Runs) -> f64 {
    runs.iter()
        .flat_map(|(_, f)| gap_trajectory(f))
        .map(|g| g.1)
        .fold(0.0, f64::max)
}

/// Per run: the first logged step whose gap passes MACRO_GAP, if any.
fn first_macro(runs: &Runs) -> Vec<String> {
    runs.iter()
        .map(|(p, f)| {
            let traj = gap_trajectory(f);
            let last = traj.last().map_or(0.0, |t| t.1);
            match traj.iter().find(|t| t.1 > MACRO_GAP) {
                Some(t) => format!(
                    "seed {}: gap > {MACRO_GAP:.0e} at step {} (final {last:.2e})",
                    p.seed, t.0
                ),
                None => format!(
                    "seed {}: never > {MACRO_GAP:.0e} (final {last:.2e})",
                    p.seed
                ),
            }
        })
        .collect()
}

/// K4: GPU nondeterminism where it ran; rounding-level gradient noise as the CPU stand-in.
pub fn k4(e: &ExperimentRuns) -> ClaimRow {
    let none_gap = largest_gap(&e.finished("none"));
    let gpu = e.finished("nondeterministic");
    let stand_in = format!(
        "CPU stand-in, gradient noise at float32 rounding (relative std 2^-24): {}; without a breaker the gap stays {none_gap:.1e}",
        first_macro(&e.finished("grad-noise")).join("; ")
    );
    if gpu.is_empty() {
        return row(
            "K4",
            format!(
                "GPU nondeterminism not run (no CUDA device in this report; {}). {stand_in}",
                e.plan.skipped.join(", ")
            ),
            Verdict::NotRun,
            &e.plan.scale,
        );
    }
    let reaches = gpu
        .iter()
        .all(|(_, f)| gap_trajectory(f).iter().any(|t| t.1 > MACRO_GAP));
    row(
        "K4",
        format!(
            "nondeterministic cuDNN: {}. {stand_in}",
            first_macro(&gpu).join("; ")
        ),
        verdict(reaches && none_gap == 0.0),
        &e.plan.scale,
    )
}

/// K5: every breaker within MARGIN of He (best accuracy), none far below.
pub fn k5(e: &ExperimentRuns) -> ClaimRow {
    let (Some(he), Some(nb)) = (one_point(e, "he", true), one_point(e, "none", true)) else {
        return row(
            "K5",
            "e2-constnet lacks the he or none group".into(),
            Verdict::NotRun,
            &e.plan.scale,
        );
    };
    let mut parts = vec![
        format!("He {}", acc_text(&he)),
        format!("ConstNet, no breaker {}", acc_text(&nb)),
    ];
    let mut ok = nb.mean < he.mean - MARGIN;
    for g in ["dropout", "grad-noise", "init-noise", "nondeterministic"] {
        if let Some(p) = one_point(e, g, true) {
            parts.push(format!("+{g} {} ({:+.3})", acc_text(&p), p.mean - he.mean));
            ok &= p.mean >= he.mean - MARGIN;
        }
    }
    row(
        "K5",
        format!("best test accuracy: {}; margin {MARGIN}", parts.join(", ")),
        verdict(ok),
        &e.plan.scale,
    )
}

/// K6: at init every channel identical and the loss ln(classes).
pub fn k6(e: &ExperimentRuns) -> ClaimRow {
    let k6: Vec<(bool, f64, f64)> = e
        .finished("none")
        .iter()
        .map(|(p, f)| {
            let classes = p.config().ok().and_then(|c| c.model.classes).unwrap_or(10) as f64;
            let identical = f
                .summary
                .diversity_init
                .iter()
                .all(|l| l.distinct_exact == 1);
            let loss0 = f.steps.first().map_or(f64::NAN, |s| s.loss);
            (identical, loss0, classes.ln())
        })
        .collect();
    let ok = !k6.is_empty()
        && k6
            .iter()
            .all(|(same, l, want)| *same && (l - want).abs() < 1e-5);
    row(
        "K6",
        format!(
            "ConstNet at init: every conv has 1 distinct channel: {}; loss at step 0 {} vs ln(classes) {:.6} (the closed form and the step-0 gradients are checked in make test: K6)",
            k6.iter().all(|k| k.0),
            k6.iter()
                .map(|k| format!("{:.6}", k.1))
                .collect::<Vec<_>>()
                .join(", "),
            k6.first().map_or(f64::NAN, |k| k.2)
        ),
        verdict(ok),
        &e.plan.scale,
    )
}

/// K7: no breaker, gap exactly 0 at every logged step; dropout parts the channels (control).
pub fn k7(e: &ExperimentRuns) -> ClaimRow {
    let none = e.finished("none");
    let none_gap = largest_gap(&none);
    let dropout_gap = largest_gap(&e.finished("dropout"));
    let steps = none.first().map_or(0, |(_, f)| f.summary.steps);
    row(
        "K7",
        format!(
            "largest channel gap over {} logged steps of {steps} (all layers, {} seeds): {none_gap:.1e}; control with dropout 0.01: {dropout_gap:.2e}",
            none.first().map_or(0, |(_, f)| f.steps.len()),
            none.len()
        ),
        verdict(!none.is_empty() && none_gap == 0.0 && dropout_gap > 0.0),
        &e.plan.scale,
    )
}

/// K4 to K7 from E2's runs.
pub fn claims(exps: &[ExperimentRuns]) -> Vec<ClaimRow> {
    match complete(exps, "e2-constnet") {
        Ok(e) => vec![k4(e), k5(e), k6(e), k7(e)],
        Err(why) => not_run(&["K4", "K5", "K6", "K7"], &why, ""),
    }
}
