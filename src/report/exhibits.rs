//! The report's figures, one builder per experiment: E1's accuracy curves, E2's symmetry gap,
//! E4's per-layer diversity of the E2 runs, E3's LeakyNet accuracy and E5's perturbation reach.
use super::Figure;
use super::figures::{self, Chart, Series};
use crate::claims::evidence::{gap_trajectory, points};
use crate::claims::stats::{Point, threshold};
use crate::experiment::Accuracy;
use crate::metrics::LayerDiversity;
use crate::records::PerturbationLine;
use crate::runs::{ExperimentRuns, Finished};

fn find<'a>(exps: &'a [ExperimentRuns], name: &str) -> Option<&'a ExperimentRuns> {
    exps.iter().find(|e| e.plan.experiment == name)
}

fn accuracy_series(label: &str, pts: &[Point]) -> Series {
    Series {
        label: label.into(),
        points: pts.iter().map(|p| (p.x, p.mean)).collect(),
        err: Some(pts.iter().map(|p| p.std).collect()),
        dashed: false,
    }
}

/// A group's accuracy points; none where the records are flawed (the claims rows name the flaw).
fn accuracies(e: &ExperimentRuns, group: &str, which: Accuracy) -> Vec<Point> {
    points(e, group, which).unwrap_or_default()
}

/// All of a group's accuracies pooled: its mean, if it has runs.
fn baseline(e: &ExperimentRuns, group: &str, which: Accuracy) -> Option<f64> {
    let accs: Vec<f64> = accuracies(e, group, which)
        .into_iter()
        .flat_map(|p| p.accs)
        .collect();
    (!accs.is_empty()).then(|| Point::new(0.0, accs).mean)
}

pub(super) fn figures_of(exps: &[ExperimentRuns]) -> Vec<Figure> {
    let mut figs = Vec::new();
    if let Some(e) = find(exps, "e1-toy") {
        figs.extend(e1_figures(e));
    }
    if let Some(e) = find(exps, "e2-constnet") {
        figs.extend(e2_figures(e));
        if find(exps, "e4-diversity").is_some() {
            figs.extend(diversity_figures(e));
        }
    }
    if let Some(e) = find(exps, "e3-leakynet") {
        figs.extend(e3_figures(e));
    }
    if find(exps, "e5-perturbation").is_some() {
        figs.extend(perturbation_figures(exps));
    }
    figs
}

/// E1 (K2, K3): accuracy against K, and against eps with the threshold.
fn e1_figures(e: &ExperimentRuns) -> Vec<Figure> {
    let mut figs = Vec::new();
    let he = baseline(e, "he", Accuracy::Final);
    let w1 = baseline(e, "width-1", Accuracy::Final);
    let mut hlines = Vec::new();
    if let Some(h) = he {
        hlines.push((format!("He {h:.3}"), h));
    }
    if let Some(w) = w1 {
        hlines.push((format!("width-1 net {w:.3}"), w));
    }
    let k = accuracies(e, "k-curve", Accuracy::Final);
    if !k.is_empty() {
        figs.push(Figure {
            id: "e1-accuracy-vs-k".into(),
            caption: format!(
                "K2: final test accuracy of the toy model against the number K of unique features at init (tied), mean ± std over seeds. {}",
                e.plan.scale
            ),
            chart: Chart {
                title: "Accuracy vs unique features K".into(),
                x_label: "K (log)".into(),
                y_label: "test accuracy".into(),
                x_log: true,
                series: vec![accuracy_series("tied k-unique:K", &k)],
                hlines: hlines.clone(),
                ..Default::default()
            },
        });
    }
    let eps: Vec<_> = accuracies(e, "eps-curve", Accuracy::Final)
        .into_iter()
        .filter(|p| p.x > 0.0)
        .collect();
    if !eps.is_empty() {
        let margin = e.plan.criteria.k3.as_ref().map(|c| c.margin);
        let threshold = he.zip(margin).and_then(|(h, m)| threshold(&eps, h, m));
        figs.push(Figure {
            id: "e1-accuracy-vs-eps".into(),
            caption: format!(
                "K3: tied k-unique:1 with init noise eps (log axis); the red line is the smallest eps whose mean is within K3's margin ({}) of He{}. {}",
                margin.map_or("no K3 criterion".into(), |m| m.to_string()),
                threshold.map_or(" (none in the grid)".into(), |t| format!(": {t}")),
                e.plan.scale
            ),
            chart: Chart {
                title: "Accuracy vs init noise eps".into(),
                x_label: "eps (log)".into(),
                y_label: "test accuracy".into(),
                x_log: true,
                series: vec![accuracy_series("tied k-unique:1 + eps", &eps)],
                hlines,
                vlines: threshold
                    .map(|t| vec![(format!("threshold {t}"), t)])
                    .unwrap_or_default(),
                ..Default::default()
            },
        });
    }
    figs
}

/// E2 (K4, K7): the symmetry gap of every breaker's first seed against the step.
fn e2_figures(e: &ExperimentRuns) -> Vec<Figure> {
    let mut figs = Vec::new();
    let mut series = Vec::new();
    // He's channels were never identical, so it has no symmetry gap to draw.
    for g in e.groups().into_iter().filter(|g| g != "he") {
        if let Some((p, f)) = e.finished(&g).first() {
            series.push(Series::new(
                format!("{g} (seed {})", p.seed),
                gap_trajectory(f)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(s, gap)| ((s + 1) as f64, gap))
                    .collect(),
            ));
        }
    }
    if !series.is_empty() {
        figs.push(Figure {
            id: "e2-symmetry-gap".into(),
            caption: format!(
                "K4, K7: largest channel-symmetry gap over all layers against the step, for ConstNet with each breaker (He's channels were never identical: no gap to draw). A gap of exactly 0 is drawn at {:.0e}. {}",
                figures::LOG_FLOOR,
                e.plan.scale
            ),
            chart: Chart {
                title: "Symmetry gap vs step".into(),
                x_label: "step + 1 (log)".into(),
                y_label: "max |W[c] - W[c']| (log)".into(),
                x_log: true,
                y_log: true,
                series,
                ..Default::default()
            },
        });
    }
    figs
}

/// E3 (K8): LeakyNet's best accuracy per init code.
fn e3_figures(e: &ExperimentRuns) -> Vec<Figure> {
    let mut figs = Vec::new();
    let variants = e.by_variant();
    let pts: Vec<Point> = variants
        .iter()
        .enumerate()
        .filter(|(_, (_, runs))| !runs.is_empty())
        .map(|(i, (_, runs))| {
            let accs = runs.iter().map(|(_, f)| f.summary.best_test_acc).collect();
            Point::new(i as f64, accs)
        })
        .collect();
    let codes: Vec<String> = variants.into_iter().map(|(code, _)| code).collect();
    if !pts.is_empty() {
        figs.push(Figure {
            id: "e3-leakynet-accuracy".into(),
            caption: format!(
                "K8: best test accuracy of LeakyNet per init code (h random, i identity, 1 channel averaging), mean ± std over seeds. {}",
                e.plan.scale
            ),
            chart: Chart {
                title: "LeakyNet accuracy per init code".into(),
                x_label: "init code".into(),
                y_label: "best test accuracy".into(),
                series: vec![accuracy_series("LeakyNet", &pts)],
                x_categories: codes,
                ..Default::default()
            },
        });
    }
    figs
}

/// A per-layer measure E4 draws against the epoch.
struct Measure {
    /// Part of the figure's id.
    what: &'static str,
    title: &'static str,
    pick: fn(&LayerDiversity) -> f64,
    y_log: bool,
}

const MEASURES: [Measure; 4] = [
    Measure::new(
        "correlation",
        "forward correlation rho",
        |l| l.forward,
        false,
    ),
    Measure::new(
        "backward",
        "backward correlation rho",
        |l| l.backward,
        false,
    ),
    Measure::new("gap", "symmetry gap (log)", |l| l.gap_abs, true),
    Measure::new(
        "width",
        "effective width (participation ratio, log)",
        |l| l.width_participation,
        true,
    ),
];

impl Measure {
    const fn new(
        what: &'static str,
        title: &'static str,
        pick: fn(&LayerDiversity) -> f64,
        y_log: bool,
    ) -> Measure {
        Measure {
            what,
            title,
            pick,
            y_log,
        }
    }
}

/// One series a layer: the measure at init (epoch 0) and after every epoch.
fn per_layer(f: &Finished, pick: fn(&LayerDiversity) -> f64) -> Vec<Series> {
    let mut epochs: Vec<(f64, &Vec<LayerDiversity>)> = vec![(0.0, &f.summary.diversity_init)];
    epochs.extend(f.evals.iter().map(|ev| (ev.epoch, &ev.layers)));
    f.summary
        .diversity_init
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            Series::new(
                layer.name.trim_end_matches(".weight"),
                epochs
                    .iter()
                    .filter_map(|(ep, ls)| ls.get(i).map(|l| (*ep, pick(l))))
                    .collect(),
            )
        })
        .collect()
}

/// E4: forward and backward correlation, symmetry gap and effective width per layer against the
/// epoch, four charts per E2 group (its first seed).
fn diversity_figures(e: &ExperimentRuns) -> Vec<Figure> {
    let mut figs = Vec::new();
    for g in e.groups() {
        let Some((p, f)) = e.finished(&g).first().copied() else {
            continue;
        };
        for m in &MEASURES {
            let zeros = if m.y_log {
                format!(" Values of 0 are drawn at {:.0e}.", figures::LOG_FLOOR)
            } else {
                String::new()
            };
            figs.push(Figure {
                id: format!("e4-{}-{g}", m.what),
                caption: format!(
                    "K9: {} of every feature layer against the epoch, ConstNet/He run \"{g}\" (seed {}). Epoch 0 is the init.{zeros}",
                    m.title, p.seed
                ),
                chart: Chart {
                    title: format!("{g}: {}", m.title),
                    x_label: "epoch".into(),
                    y_label: m.title.into(),
                    y_log: m.y_log,
                    series: per_layer(f, m.pick),
                    ..Default::default()
                },
            });
        }
    }
    figs
}

/// E5: size of an injected inter-channel perturbation at every later layer (relative to its
/// injected size), at init and at the end of training, for the runs that recorded it.
fn perturbation_figures(exps: &[ExperimentRuns]) -> Vec<Figure> {
    let mut at_init = Vec::new();
    let mut at_end = Vec::new();
    for e in exps {
        let mut seen = Vec::new();
        for r in &e.runs {
            let Some(f) = &r.result else { continue };
            if f.perturbations.is_empty() || seen.contains(&r.planned.variant) {
                continue;
            }
            seen.push(r.planned.variant.clone());
            let label = format!("{}: {}", e.plan.experiment, r.planned.variant);
            let line = |p: &PerturbationLine| -> Vec<(f64, f64)> {
                p.reach
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (i as f64, x.ratio))
                    .collect()
            };
            if let Some(p) = f.perturbations.first() {
                at_init.push(Series::new(label.clone(), line(p)));
            }
            if let Some(p) = f.perturbations.last() {
                at_end.push(Series::new(label, line(p)));
            }
        }
    }
    let mut figs = Vec::new();
    for (id, when, series) in [
        ("init", "at init", at_init),
        ("end", "after training", at_end),
    ] {
        if series.is_empty() {
            continue;
        }
        figs.push(Figure {
            id: format!("e5-perturbation-{id}"),
            caption: format!(
                "K8, K9: rms inter-channel deviation caused by a perturbation injected at the stem's output, relative to its injected size, at every later activation, {when} (eval mode, 128 test images; 0 drawn at {:.0e}).",
                figures::LOG_FLOOR
            ),
            chart: Chart {
                title: format!("Perturbation propagation {when}"),
                x_label: "activations after the injection".into(),
                y_label: "deviation / injected (log)".into(),
                y_log: true,
                series,
                ..Default::default()
            },
        });
    }
    figs
}
