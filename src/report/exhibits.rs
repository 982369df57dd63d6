//! The report's figures, one builder per claim, each drawn for its data: every seed as a faint
//! point or line, the mean bold with its interval, the baseline as a reference line, exact zeros
//! on a row of their own. Figures no claim needs (E4's per-layer diversity, E5 after training)
//! come last. Flawed records draw nothing: the claim's row names the flaw.
use super::Figure;
use super::figures::{Chart, Series, Style};
use crate::claims::constnet::RoundingBreaker;
use crate::claims::evidence::{gap_trajectory, points};
use crate::claims::growth::GrowthFit;
use crate::claims::stats::{Point, mean_interval, mean_std, median, spearman};
use crate::experiment::{Accuracy, ClaimId};
use crate::experiment::{group, named};
use crate::metrics::LayerDiversity;
use crate::runs::{ExperimentRuns, Finished};

fn find<'a>(exps: &'a [ExperimentRuns], name: &str) -> Option<&'a ExperimentRuns> {
    exps.iter().find(|e| e.plan.experiment == name)
}

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

fn figure(claim: ClaimId, id: &str, caption: String, chart: Chart) -> Figure {
    Figure {
        claim: Some(claim),
        id: id.into(),
        caption,
        chart,
    }
}

fn baselines(e: &ExperimentRuns) -> Vec<(String, f64)> {
    let mut lines = Vec::new();
    if let Some(h) = mean_of(e, group::HE, Accuracy::Final) {
        lines.push((format!("He, mean {h:.3}"), h));
    }
    if let Some(w) = mean_of(e, group::WIDTH_1, Accuracy::Final) {
        lines.push((format!("a width-1 net, mean {w:.3}"), w));
    }
    lines
}

fn k1(e: &ExperimentRuns) -> Option<Figure> {
    let tied: Vec<Point> = accuracies(e, group::SYMMETRY, Accuracy::Final);
    (!tied.is_empty()).then(|| {
        figure(
            ClaimId::K1,
            "k1-tied-vs-width",
            format!(
                "K1: final test accuracy of tied k-unique:1 at each hidden width, without a breaker. Look for every width sitting at the level of a width-1 net, far below He. {}",
                e.plan.scale
            ),
            Chart {
                title: "Identical features at every width".into(),
                x_label: "hidden width (log)".into(),
                y_label: "final test accuracy".into(),
                x_log: true,
                series: seeds_and_mean("tied k-unique:1", &tied, 0),
                hlines: baselines(e),
                ..Chart::default()
            },
        )
    })
}

fn k2(e: &ExperimentRuns) -> Option<Figure> {
    let k = accuracies(e, group::K_CURVE, Accuracy::Final);
    (!k.is_empty()).then(|| {
        figure(
            ClaimId::K2,
            "k2-accuracy-vs-k",
            format!(
                "K2: final test accuracy of the toy model against the number K of unique features at init (tied), every seed and the mean with its 95% interval. Look for accuracy rising with K from the width-1 level to He's. {}",
                e.plan.scale
            ),
            Chart {
                title: "Accuracy vs unique features K".into(),
                x_label: "K, unique features at init (log)".into(),
                y_label: "final test accuracy".into(),
                x_log: true,
                series: seeds_and_mean("tied k-unique:K", &k, 0),
                hlines: baselines(e),
                ..Chart::default()
            },
        )
    })
}

fn k3(e: &ExperimentRuns) -> Option<Figure> {
    let all = accuracies(e, group::EPS_CURVE, Accuracy::Final);
    let eps: Vec<Point> = all.iter().filter(|p| p.x > 0.0).cloned().collect();
    let zero = all.iter().find(|p| p.x == 0.0);
    let c = e.plan.criteria.k3.as_ref()?;
    let mut hlines = baselines(e);
    hlines.retain(|l| l.0.starts_with("He"));
    if let Some(he) = hlines.first().map(|h| h.1) {
        hlines.push((format!("He - {} (the margin)", c.margin), he - c.margin));
    }
    if let Some(z) = zero {
        hlines.push((format!("eps = 0, mean {:.3}", z.mean), z.mean));
    }
    (!eps.is_empty()).then(|| {
        figure(
            ClaimId::K3,
            "k3-accuracy-vs-eps",
            format!(
                "K3: tied k-unique:1 with init noise eps times the He std (log axis), every seed and the mean with its 95% interval; noise left of the dashed line counts as small (eps <= {}). Look for a small eps reaching the margin below He. {}",
                c.small_eps, e.plan.scale
            ),
            Chart {
                title: "Accuracy vs init noise eps".into(),
                x_label: "eps, init noise relative to the He std (log)".into(),
                y_label: "final test accuracy".into(),
                x_log: true,
                series: seeds_and_mean("tied k-unique:1 + eps", &eps, 0),
                hlines,
                vlines: vec![(format!("small eps <= {}", c.small_eps), c.small_eps)],
                ..Chart::default()
            },
        )
    })
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

fn k4(e: &ExperimentRuns) -> Option<Figure> {
    let breaker = RoundingBreaker::of(e);
    let (name, broken) = (breaker.label(), runs_of(e, breaker.group()));
    let level = e.plan.criteria.k4.as_ref().map(|c| c.macro_gap);
    (!broken.is_empty()).then(|| {
        figure(
            ClaimId::K4,
            "k4-rounding-breaks-symmetry",
            format!(
                "K4: ConstNet's largest channel gap against the step, each seed thin and the mean bold, with a rounding-level breaker and without one (exact zeros on the bottom row). Look for the breaker's gap climbing from rounding level past the macroscopic line while the control stays at exactly 0. {}",
                e.plan.scale
            ),
            gap_chart("Rounding-level noise against exact symmetry", &[(name, broken), ("no breaker", runs_of(e, group::NO_BREAKER))], level),
        )
    })
}

fn k5(e: &ExperimentRuns) -> Option<Figure> {
    let acc_curve = |f: &Finished| f.evals.iter().map(|ev| (ev.epoch, ev.test_acc)).collect();
    let series = he_and_constnets(e, acc_curve);
    (!series.is_empty()).then(|| {
        figure(
            ClaimId::K5,
            "k5-accuracy-vs-epoch",
            format!(
                "K5: test accuracy against the epoch for He and ConstNet with each breaker (and none), each seed thin and the mean bold. Look for every breaker reaching He's level and ConstNet without a breaker staying far below. {}",
                e.plan.scale
            ),
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

fn k6(e: &ExperimentRuns) -> Option<Figure> {
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
            format!(
                "K6: the training loss of ConstNet without a breaker over its first logged steps, each seed; the dashed line is ln(10). Look for the first loss sitting exactly on ln(classes): logits 0 at init. {}",
                e.plan.scale
            ),
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

fn k7(e: &ExperimentRuns) -> Option<Figure> {
    let none = runs_of(e, group::NO_BREAKER);
    (!none.is_empty()).then(|| {
        figure(
            ClaimId::K7,
            "k7-exact-symmetry",
            format!(
                "K7: ConstNet's largest channel gap against the step without a breaker (every seed, on the exact-zero row when the channels are bitwise identical) and with dropout (the control). Look for the no-breaker runs never leaving the zero row. {}",
                e.plan.scale
            ),
            gap_chart("Exact symmetry without a breaker", &[("no breaker", none), ("dropout (control)", runs_of(e, group::DROPOUT))], None),
        )
    })
}

fn leaky_code(name: &str) -> Option<crate::config::LeakyCode> {
    crate::config::LeakyCode::parse(name, 16).ok()
}

fn k8(e: &ExperimentRuns) -> Option<Figure> {
    let mut dots = Vec::new();
    let mut means = Series {
        label: "each code's mean (labelled)".into(),
        style: Style::Labelled,
        colour: 0,
        ..Series::default()
    };
    let mut hlines = Vec::new();
    for (variant, runs) in e.by_variant() {
        let code = leaky_code(&variant)?;
        let accs: Vec<f64> = runs.iter().map(|(_, f)| f.summary.best_test_acc).collect();
        if code.has_random() {
            hlines.push((
                format!("random init {variant}, mean {:.3}", mean_std(&accs).0),
                mean_std(&accs).0,
            ));
            continue;
        }
        let x = code.averaging_layers() as f64;
        dots.extend(accs.iter().map(|&a| (x, a)));
        means.points.push((x, mean_std(&accs).0));
        means.labels.push(variant.clone());
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = dots.iter().copied().unzip();
    let rho = spearman(&xs, &ys);
    let dots = Series {
        label: "each seed".into(),
        points: dots,
        style: Style::Dots,
        colour: 0,
        ..Series::default()
    };
    (!means.points.is_empty()).then(|| {
        figure(
            ClaimId::K8,
            "k8-accuracy-vs-averaging-layers",
            format!(
                "K8: LeakyNet's best test accuracy against the number of channel-averaging layers of its init code (each seed, and each code's mean labelled), Spearman rho = {rho:.2} over {} runs (the criterion and its critical value are in the panel). Look for accuracy falling as averaging layers are added. {}",
                xs.len(),
                e.plan.scale
            ),
            Chart {
                title: "Accuracy vs averaging layers".into(),
                x_label: "channel-averaging layers in the init code".into(),
                y_label: "best test accuracy".into(),
                series: vec![dots, means],
                hlines,
                ..Chart::default()
            },
        )
    })
}

/// The median over layers of a run's effective width, at init and after each epoch.
fn width_curve(f: &Finished) -> Vec<(f64, f64)> {
    let median_width =
        |ls: &[LayerDiversity]| median(ls.iter().map(|l| l.width_participation).collect());
    std::iter::once((0.0, median_width(&f.summary.diversity_init)))
        .chain(
            f.evals
                .iter()
                .map(|ev| (ev.epoch, median_width(&ev.layers))),
        )
        .collect()
}

fn k9(e: &ExperimentRuns) -> Option<Figure> {
    let series = he_and_constnets(e, width_curve);
    (!series.is_empty()).then(|| {
        figure(
            ClaimId::K9,
            "k9-width-vs-epoch",
            format!(
                "K9: effective width (participation ratio of the feature correlations, median over layers) against the epoch; epoch 0 is the init. Look for the broken ConstNets ending near He's width, whatever width they started from. {}",
                e.plan.scale
            ),
            Chart {
                title: "Effective width over training".into(),
                x_label: "epoch".into(),
                y_label: "effective width, median over layers (log)".into(),
                y_log: true,
                series,
                ..Chart::default()
            },
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
        format!(
            "Breaking step (the first logged step at which ConstNet's largest channel gap passes {:.0e}) against the relative size sigma of the gradient noise, each run a dot, each configuration's least-squares line in ln sigma. Look for the steps falling linearly in ln sigma (exponential growth of the gap at rate lambda) above float32 rounding, and no dot below it: noise that rounds away leaves the channels exactly identical. {}",
            fits.first().map_or(1e-3, |f| f.macro_gap),
            fits_text.join(" ")
        ),
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

/// Every figure: the claims' in order, then the rest.
pub(super) fn figures_of(exps: &[ExperimentRuns], growth: &[GrowthFit]) -> Vec<Figure> {
    let mut figs = Vec::new();
    if let Some(e) = find(exps, named::E1_TOY) {
        figs.extend([k1(e), k2(e), k3(e)].into_iter().flatten());
    }
    if let Some(e) = find(exps, named::E2_CONSTNET) {
        figs.extend(k4(e));
    }
    figs.extend(growth_figure(growth));
    if let Some(e) = find(exps, named::E2_CONSTNET) {
        figs.extend([k5(e), k6(e), k7(e)].into_iter().flatten());
    }
    if let Some(e) = find(exps, named::E3_LEAKYNET) {
        figs.extend(k8(e));
    }
    if find(exps, named::E5_PERTURBATION).is_some() {
        figs.extend(super::layers::perturbation_figures(exps));
    }
    if let Some(e) = find(exps, named::E2_CONSTNET)
        && find(exps, named::E4_DIVERSITY).is_some()
    {
        figs.extend(k9(e));
        figs.extend(super::layers::diversity_figures(e));
    }
    figs
}
