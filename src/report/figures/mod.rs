//! The report's figures, one builder per claim, each drawn for its data: every seed as a faint
//! point or line, the mean bold with its interval, the baseline as a reference line, exact zeros
//! on a row of their own. Figures no claim needs (E4's per-layer diversity, E5 after training)
//! come last. Flawed records draw nothing: the claim's row names the flaw.
use super::Figure;
mod constnet;
mod leakynet;
mod toy;
mod width;

use super::svg::{Chart, Series, Style};
use crate::claims;
use crate::claims::evidence::{gap_trajectory, points};
use crate::claims::growth::GrowthFit;
use crate::claims::stats::{Point, mean_interval, mean_std, median, spearman};
use crate::experiment::{Accuracy, ClaimId};
use crate::experiment::{group, named};
use crate::metrics::LayerDiversity;
use crate::runs::{ExperimentRuns, Finished};

/// A group's accuracy points by x; none where the records are flawed.
fn accuracies(e: &ExperimentRuns, group: &str, which: Accuracy) -> Vec<Point> {
    points(e, group, which).unwrap_or_default()
}

/// The pooled mean accuracy of a group, if it has runs.
fn mean_of(e: &ExperimentRuns, group: &str, which: Accuracy) -> Option<f64> {
    let accs: Vec<f64> = accuracies(e, group, which)
        .into_iter()
        .flat_map(|p| p.accs)
        .collect();
    (!accs.is_empty()).then(|| mean_std(&accs).0)
}

/// Every seed as a faint dot, and the mean with its two-sided 95% interval over seeds.
fn seeds_and_mean(label: &str, pts: &[Point], colour: usize) -> Vec<Series> {
    let dots = Series {
        label: format!("{label}, each seed"),
        points: pts
            .iter()
            .flat_map(|p| p.accs.iter().map(move |a| (p.x, *a)))
            .collect(),
        style: Style::Dots,
        colour,
        ..Series::default()
    };
    let mean = Series {
        label: format!("{label}, mean and 95% interval"),
        points: pts.iter().map(|p| (p.x, p.mean)).collect(),
        interval: Some(
            pts.iter()
                .map(|p| {
                    let i = mean_interval(&p.accs, 0.975);
                    (i.lo.max(0.0), i.hi.min(1.0))
                })
                .collect(),
        ),
        colour,
        ..Series::default()
    };
    vec![dots, mean]
}

/// Curves of `value(run)` against x, one thin line a seed and their mean bold.
fn runs_and_mean(
    label: &str,
    runs: &[&Finished],
    colour: usize,
    value: impl Fn(&Finished) -> Vec<(f64, f64)>,
) -> Vec<Series> {
    let curves: Vec<Vec<(f64, f64)>> = runs.iter().map(|f| value(f)).collect();
    let mut out: Vec<Series> = curves
        .iter()
        .enumerate()
        .map(|(i, c)| Series {
            label: format!("{label}, each seed"),
            points: c.clone(),
            style: Style::Thin,
            colour,
            unlisted: i > 0,
            ..Series::default()
        })
        .collect();
    let n = curves.iter().map(Vec::len).min().unwrap_or(0);
    let mean = (0..n)
        .map(|k| {
            let ys: Vec<f64> = curves.iter().map(|c| c[k].1).collect();
            (curves[0][k].0, mean_std(&ys).0)
        })
        .collect();
    out.push(Series {
        label: format!("{label}, mean"),
        points: mean,
        colour,
        ..Series::default()
    });
    out
}

/// A caption, then the scale of the runs it draws.
fn caption(text: &str, e: &ExperimentRuns) -> String {
    format!("{text} {}", e.plan.scale)
}

fn figure(claim: ClaimId, id: &str, caption: String, chart: Chart) -> Figure {
    Figure {
        claim: Some(claim),
        id: id.into(),
        caption,
        chart,
    }
}

fn baselines(e: &ExperimentRuns) -> Vec<(String, f64)> {
    let width1 = mean_of(e, group::WIDTH_1, Accuracy::Final);
    let width1 = width1.map(|w| (format!("a width-1 net, mean {w:.3}"), w));
    he_line(e).into_iter().chain(width1).collect()
}

/// He's mean final accuracy as a horizontal line, where the experiment has He runs.
fn he_line(e: &ExperimentRuns) -> Option<(String, f64)> {
    let h = mean_of(e, group::HE, Accuracy::Final)?;
    Some((format!("He, mean {h:.3}"), h))
}

/// The largest gap over layers against step + 1, per logged step.
fn gap_curve(f: &Finished) -> Vec<(f64, f64)> {
    gap_trajectory(f)
        .unwrap_or_default()
        .into_iter()
        .map(|(s, g)| ((s + 1) as f64, g))
        .collect()
}

fn gap_chart(title: &str, groups: &[(&str, Vec<&Finished>)], level: Option<f64>) -> Chart {
    let mut series = Vec::new();
    for (i, (name, runs)) in groups.iter().enumerate() {
        series.extend(runs_and_mean(name, runs, i, gap_curve));
    }
    Chart {
        title: title.into(),
        x_label: "step + 1 (log)".into(),
        y_label: "largest channel gap max |W[c] - W[c']| (log)".into(),
        x_log: true,
        y_log: true,
        series,
        hlines: level
            .map(|l| vec![(format!("macroscopic: {l:.0e}"), l)])
            .unwrap_or_default(),
        ..Chart::default()
    }
}

fn runs_of<'a>(e: &'a ExperimentRuns, group: &str) -> Vec<&'a Finished> {
    e.finished(group).into_iter().map(|(_, f)| f).collect()
}

/// He, ConstNet without a breaker and with each breaker, each seed and the mean, one colour a
/// group (the same colour for a group in every E2 figure).
fn he_and_constnets(
    e: &ExperimentRuns,
    value: impl Fn(&Finished) -> Vec<(f64, f64)> + Copy,
) -> Vec<Series> {
    let mut series = Vec::new();
    for (i, g) in [group::HE, group::NO_BREAKER]
        .into_iter()
        .chain(group::BREAKERS)
        .enumerate()
    {
        let runs = runs_of(e, g);
        if !runs.is_empty() {
            let label = if g == group::HE {
                "He".to_string()
            } else {
                format!("ConstNet, {g}")
            };
            series.extend(runs_and_mean(&label, &runs, i, value));
        }
    }
    series
}

type Builder = fn(&ExperimentRuns) -> Option<Figure>;

/// Each claim's figure builder, in the report's order (K4's breaking-step figure follows K4's).
const BEFORE_GROWTH: &[(ClaimId, Builder)] = &[
    (ClaimId::K1, toy::k1),
    (ClaimId::K2, toy::k2),
    (ClaimId::K3, toy::k3),
    (ClaimId::K4, constnet::k4),
];
const AFTER_GROWTH: &[(ClaimId, Builder)] = &[
    (ClaimId::K5, constnet::k5),
    (ClaimId::K6, constnet::k6),
    (ClaimId::K7, constnet::k7),
    (ClaimId::K8, leakynet::k8),
];

/// Every figure: the claims' in order, each drawn from the runs the claim is judged on (found
/// as the claims find them), then the rest.
pub(super) fn figures_of(exps: &[ExperimentRuns], growth: &[GrowthFit]) -> Vec<Figure> {
    let runs_of_claim = |id| claims::measured_by(exps, id).ok().map(|s| s.measured);
    let draw = |builders: &'static [(ClaimId, Builder)]| {
        builders
            .iter()
            .filter_map(move |&(id, build)| runs_of_claim(id).and_then(build))
    };
    let mut figs: Vec<Figure> = draw(BEFORE_GROWTH).collect();
    figs.extend(constnet::growth_figure(growth));
    figs.extend(draw(AFTER_GROWTH));
    if exps
        .iter()
        .any(|e| e.plan.experiment == named::E5_PERTURBATION)
    {
        figs.extend(super::layers::perturbation_figures(exps));
    }
    if let Some(e) = runs_of_claim(ClaimId::K9) {
        figs.extend(width::k9(e));
        figs.extend(super::layers::diversity_figures(e));
    }
    figs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// K9's figure is drawn after E5's per-layer figures, beside E4's diversity figures.
    const DRAWN_APART: [ClaimId; 1] = [ClaimId::K9];

    /// The claims but K4-cpu (drawn in K4's figure) that none of `builders` draws.
    fn without_figure(builders: &[(ClaimId, Builder)]) -> Vec<ClaimId> {
        let listed = builders.iter().map(|&(id, _)| id).chain(DRAWN_APART);
        let drawn: std::collections::BTreeSet<ClaimId> = listed.collect();
        let wanted = ClaimId::ALL.into_iter().filter(|&id| id != ClaimId::K4Cpu);
        wanted.filter(|id| !drawn.contains(id)).collect()
    }

    #[test]
    fn every_claim_but_k4_cpu_has_a_figure_builder() {
        let all: Vec<(ClaimId, Builder)> = [BEFORE_GROWTH, AFTER_GROWTH].concat();
        assert_eq!(without_figure(&all), []);
        // Negative control: without K5's line, K5 is missing.
        let without_k5: Vec<_> = all.into_iter().filter(|b| b.0 != ClaimId::K5).collect();
        assert_eq!(without_figure(&without_k5), [ClaimId::K5]);
    }
}
