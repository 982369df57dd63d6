//! K1, K2, K3 on the toy model (E1), and the untied-weights control reported beside K1.
use super::stats::{Point, monotone_within_noise, noise, threshold};
use super::{ClaimRow, MARGIN, complete, not_run, one_point, points, row, verdict};
use crate::config::ModelSpec;
use crate::runs::ExperimentRuns;
use std::collections::BTreeMap;

/// Ulps (at the layer's scale) that features of a tied init may drift without a breaker:
/// float32 kernels treat SIMD-tail units differently (docs/paper.md, arithmetic). Measured here:
/// at most 6 ulps in the quick profile; the bound leaves room for other CPUs' vector widths.
pub const DRIFT_BOUND_ULPS: u64 = 32;

/// What the toy-model claims are judged on: curves over seeds, a He baseline of the same
/// experiment.
pub struct ToyEvidence {
    pub width: usize,
    pub margin: f64,
    pub he: Point,
    pub width1: Point,
    pub k_curve: Vec<Point>,
    pub eps_curve: Vec<Point>,
    pub untied: Point,
    /// (width, largest drift in ulps) of tied k-unique:1 without a breaker.
    pub symmetry: Vec<(usize, u64)>,
}

/// K2: accuracy never falls with K beyond seed noise, and rises by more than `growth` from the
/// first K to the last.
pub fn check_k2(curve: &[Point], growth: f64) -> Result<(), String> {
    monotone_within_noise(curve, 0.02)?;
    let rise = curve[curve.len() - 1].mean - curve[0].mean;
    if rise > growth {
        Ok(())
    } else {
        Err(format!(
            "accuracy rises only {rise:.3} from K={} to K={} (needs > {growth})",
            curve[0].x,
            curve[curve.len() - 1].x
        ))
    }
}

/// K3: the smallest eps within `margin` of the baseline exists, and accuracy is monotone in eps
/// within seed noise up to it: the range of "small" noise the claim is about. Beyond it the noise
/// is a random init of another scale, and accuracy may fall for that reason alone.
pub fn check_k3(curve: &[Point], baseline: f64, margin: f64) -> Result<f64, String> {
    let eps = threshold(curve, baseline, margin).ok_or_else(|| {
        format!("no eps in the grid comes within {margin} of the baseline {baseline:.3}")
    })?;
    let upto = curve
        .iter()
        .position(|p| p.x == eps)
        .unwrap_or(curve.len() - 1);
    monotone_within_noise(&curve[..=upto], 0.02)?;
    Ok(eps)
}

/// The largest drift (ulps) of the tied runs without a breaker, per width.
fn symmetry(e: &ExperimentRuns) -> Vec<(usize, u64)> {
    let mut by_w: BTreeMap<usize, u64> = BTreeMap::new();
    for (p, f) in e.finished("symmetry") {
        let ulps = f
            .summary
            .diversity_final
            .iter()
            .map(|l| l.gap_ulps)
            .max()
            .unwrap_or(0);
        let w = by_w.entry(p.x.unwrap_or(0.0) as usize).or_insert(0);
        *w = (*w).max(ulps);
    }
    by_w.into_iter().collect()
}

/// The hidden width of E1's He runs (0 if unknown).
fn he_width(e: &ExperimentRuns) -> usize {
    e.finished("he")
        .first()
        .and_then(|(p, _)| p.config().ok())
        .and_then(|c| match c.model.spec {
            ModelSpec::Mlp { hidden, .. } => hidden.first().copied(),
            ModelSpec::Wrn(_) | ModelSpec::LeakyNet(_) => None,
        })
        .unwrap_or(0)
}

/// E1's evidence, or why it is missing.
fn evidence(e: &ExperimentRuns) -> Result<ToyEvidence, String> {
    let (Some(he), Some(width1), Some(untied)) = (
        one_point(e, "he", false),
        one_point(e, "width-1", false),
        one_point(e, "untied", false),
    ) else {
        return Err("e1-toy lacks one of the groups he, width-1, untied".to_string());
    };
    Ok(ToyEvidence {
        width: he_width(e),
        margin: MARGIN,
        he,
        width1,
        k_curve: points(e, "k-curve", false),
        eps_curve: points(e, "eps-curve", false),
        untied,
        symmetry: symmetry(e),
    })
}

fn curve_text(c: &[Point]) -> String {
    c.iter()
        .map(|p| format!("{}: {:.3}±{:.3}", p.x, p.mean, p.std))
        .collect::<Vec<_>>()
        .join(", ")
}

/// K1: tied k-unique:1 no better than a width-1 net, and the features stay within the drift
/// bound without a breaker. The untied control is reported beside it.
pub fn k1(ev: &ToyEvidence, scale: &str) -> ClaimRow {
    let (k1, width1, he) = (&ev.k_curve[0], &ev.width1, &ev.he);
    let worst_drift = ev.symmetry.iter().map(|s| s.1).max().unwrap_or(0);
    let holds = worst_drift <= DRIFT_BOUND_ULPS && k1.mean <= width1.mean + noise(k1, width1, 0.02);
    let control = verdict(ev.untied.mean >= he.mean - ev.margin);
    row(
        "K1",
        format!(
            "tied k-unique:1 {:.3}±{:.3} vs a width-1 net {:.3}±{:.3} (He width {} {:.3}); largest drift without a breaker {} ulps (bound {}), per width: {:?}; control ({control}): k-unique-untied:1 {:.3}±{:.3} vs He {:.3}±{:.3}",
            k1.mean,
            k1.std,
            width1.mean,
            width1.std,
            ev.width,
            he.mean,
            worst_drift,
            DRIFT_BOUND_ULPS,
            ev.symmetry,
            ev.untied.mean,
            ev.untied.std,
            he.mean,
            he.std
        ),
        verdict(holds),
        scale,
    )
}

/// K2: accuracy falls as the number K of unique features falls.
pub fn k2(ev: &ToyEvidence, scale: &str) -> ClaimRow {
    let k2 = check_k2(&ev.k_curve, 0.2);
    row(
        "K2",
        format!(
            "accuracy by K: {}{}",
            curve_text(&ev.k_curve),
            k2.as_ref()
                .err()
                .map_or(String::new(), |e| format!(" ({e})"))
        ),
        verdict(k2.is_ok()),
        scale,
    )
}

/// K3: a small init noise brings tied k-unique:1 within the margin of He.
pub fn k3(ev: &ToyEvidence, scale: &str) -> ClaimRow {
    let k3 = check_k3(&ev.eps_curve, ev.he.mean, ev.margin);
    row(
        "K3",
        format!(
            "tied k-unique:1 + eps noise: {}; smallest eps within {} of He ({:.3}): {}",
            curve_text(&ev.eps_curve),
            ev.margin,
            ev.he.mean,
            k3.as_ref().map_or_else(|e| e.clone(), |e| e.to_string())
        ),
        verdict(k3.is_ok()),
        scale,
    )
}

/// K1, K2, K3 from E1's runs.
pub fn claims(exps: &[ExperimentRuns]) -> Vec<ClaimRow> {
    const IDS: [&str; 3] = ["K1", "K2", "K3"];
    let e = match complete(exps, "e1-toy") {
        Ok(e) => e,
        Err(why) => return not_run(&IDS, &why, ""),
    };
    let scale = &e.plan.scale;
    match evidence(e) {
        Ok(ev) => vec![k1(&ev, scale), k2(&ev, scale), k3(&ev, scale)],
        Err(why) => not_run(&IDS, &why, scale),
    }
}
