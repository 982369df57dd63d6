//! ConstNet's figures (E2): K4 rounding-level noise breaking the symmetry and the breaking step
//! against the noise, K5 accuracy against He, K6 the first losses, K7 exact symmetry.
use super::*;
use crate::claims::constnet::RoundingBreaker;

/// K4's figure caption; the scale of the runs follows it.
const K4_CAPTION: &str = "K4: ConstNet's largest channel gap against the step, each seed thin and \
                          the mean bold, with a rounding-level breaker and without one (exact \
                          zeros on the bottom row). Look for the breaker's gap climbing from \
                          rounding level past the macroscopic line while the control stays at \
                          exactly 0.";

/// K5's figure caption; the scale of the runs follows it.
const K5_CAPTION: &str = "K5: test accuracy against the epoch for He and ConstNet with each \
                          breaker (and none), each seed thin and the mean bold. Look for every \
                          breaker reaching He's level and ConstNet without a breaker staying far \
                          below.";

/// K6's figure caption; the scale of the runs follows it.
const K6_CAPTION: &str = "K6: the training loss of ConstNet without a breaker over its first \
                          logged steps, each seed; the dashed line is ln(10). Look for the first \
                          loss sitting exactly on ln(classes): logits 0 at init.";

/// K7's figure caption; the scale of the runs follows it.
const K7_CAPTION: &str = "K7: ConstNet's largest channel gap against the step without a breaker \
                          (every seed, on the exact-zero row when the channels are bitwise \
                          identical) and with dropout (the control). Look for the no-breaker runs \
                          never leaving the zero row.";

pub(super) fn k4(e: &ExperimentRuns) -> Option<Figure> {
    let breaker = RoundingBreaker::of(e);
    let (name, broken) = (breaker.label(), runs_of(e, breaker.group()));
    let level = e.plan.criteria.k4.as_ref().map(|c| c.macro_gap);
    (!broken.is_empty()).then(|| {
        figure(
            ClaimId::K4,
            "k4-rounding-breaks-symmetry",
            caption(K4_CAPTION, e),
            gap_chart(
                "Rounding-level noise against exact symmetry",
                &[
                    (name, broken),
                    ("no breaker", runs_of(e, group::NO_BREAKER)),
                ],
                level,
            ),
        )
    })
}

pub(super) fn k5(e: &ExperimentRuns) -> Option<Figure> {
    let acc_curve = |f: &Finished| f.evals.iter().map(|ev| (ev.epoch, ev.test_acc)).collect();
    let series = he_and_constnets(e, acc_curve);
    (!series.is_empty()).then(|| {
        figure(
            ClaimId::K5,
            "k5-accuracy-vs-epoch",
            caption(K5_CAPTION, e),
            Chart {
                title: "ConstNet with a breaker against He".into(),
                x_label: "epoch".into(),
                y_label: "test accuracy".into(),
                series,
                ..Chart::default()
            },
        )
    })
}

pub(super) fn k6(e: &ExperimentRuns) -> Option<Figure> {
    let runs = runs_of(e, group::NO_BREAKER);
    let loss = |f: &Finished| {
        f.steps
            .iter()
            .take(12)
            .map(|s| ((s.step + 1) as f64, s.loss))
            .collect()
    };
    (!runs.is_empty()).then(|| {
        figure(
            ClaimId::K6,
            "k6-loss-at-init",
            caption(K6_CAPTION, e),
            Chart {
                title: "ConstNet's first losses".into(),
                x_label: "step + 1 (log)".into(),
                y_label: "training loss".into(),
                x_log: true,
                series: runs_and_mean("ConstNet, no breaker", &runs, 0, loss),
                hlines: vec![("ln(10)".into(), 10f64.ln())],
                ..Chart::default()
            },
        )
    })
}

pub(super) fn k7(e: &ExperimentRuns) -> Option<Figure> {
    let none = runs_of(e, group::NO_BREAKER);
    (!none.is_empty()).then(|| {
        figure(
            ClaimId::K7,
            "k7-exact-symmetry",
            caption(K7_CAPTION, e),
            gap_chart(
                "Exact symmetry without a breaker",
                &[
                    ("no breaker", none),
                    ("dropout (control)", runs_of(e, group::DROPOUT)),
                ],
                None,
            ),
        )
    })
}

/// Breaking step against the breaker's size, each run a dot and each group's fitted line, with
/// float32 rounding marked: beside K4 (rounding-level noise) and K3 (a small noise suffices).
pub(super) fn growth_figure(fits: &[GrowthFit]) -> Option<Figure> {
    let mut series = Vec::new();
    for (i, fit) in fits.iter().enumerate() {
        let broke: Vec<(f64, f64)> = fit
            .points
            .iter()
            .filter_map(|p| p.breaking_step.map(|s| (p.sigma, s as f64)))
            .collect();
        series.push(Series {
            label: format!("{}, each run", fit.group),
            points: broke.clone(),
            style: Style::Dots,
            colour: i,
            ..Series::default()
        });
        if let Some(l) = fit.line {
            let (lo, hi) = broke.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
                (lo.min(p.0), hi.max(p.0))
            });
            let at = |sigma: f64| (sigma, l.intercept + l.slope * sigma.ln());
            series.push(Series {
                label: format!(
                    "{}, fit: lambda {:.3} a step",
                    fit.group,
                    fit.lambda_from_breaking.unwrap_or(f64::NAN)
                ),
                points: vec![at(lo), at(hi)],
                colour: i,
                ..Series::default()
            });
        }
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    let fits_text: Vec<String> = fits.iter().map(GrowthFit::text).collect();
    Some(figure(
        ClaimId::K4,
        "k4-breaking-step-vs-noise",
        growth_caption(fits.first().map_or(1e-3, |f| f.macro_gap), &fits_text),
        Chart {
            title: "Larger noise breaks the symmetry sooner".into(),
            x_label: "relative gradient noise sigma (log)".into(),
            y_label: "breaking step".into(),
            x_log: true,
            series,
            vlines: vec![("float32 rounding 2^-24".into(), 2f64.powi(-24))],
            ..Chart::default()
        },
    ))
}

/// The breaking-step figure's caption: the gap that counts as broken, then each fit in words.
fn growth_caption(macro_gap: f64, fits: &[String]) -> String {
    format!(
        "Breaking step (the first logged step at which ConstNet's largest channel gap passes \
         {macro_gap:.0e}) against the relative size sigma of the gradient noise, each run a dot, \
         each configuration's least-squares line in ln sigma. Look for the steps falling linearly \
         in ln sigma (exponential growth of the gap at rate lambda) above float32 rounding, and no \
         dot below it: noise that rounds away leaves the channels exactly identical. {}",
        fits.join(" ")
    )
}
