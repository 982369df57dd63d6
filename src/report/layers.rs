//! Per-layer figures: E5's perturbation reach at every layer (at init for K8, after training as
//! more), and E4's correlations, gap and width of every layer of every E2 run (more figures).
use super::Figure;
use super::svg::{Chart, Series, Style};
use crate::experiment::ClaimId;
use crate::metrics::LayerDiversity;
use crate::records::PerturbationLine;
use crate::runs::{ExperimentRuns, Finished};

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

/// One series a layer: the measure at init (epoch 0) and after each epoch.
fn per_layer(f: &Finished, pick: fn(&LayerDiversity) -> f64) -> Vec<Series> {
    let mut epochs: Vec<(f64, &Vec<LayerDiversity>)> = vec![(0.0, &f.summary.diversity_init)];
    epochs.extend(f.evals.iter().map(|ev| (ev.epoch, &ev.layers)));
    f.summary
        .diversity_init
        .iter()
        .enumerate()
        .map(|(i, layer)| Series {
            label: layer.name.trim_end_matches(".weight").to_string(),
            points: epochs
                .iter()
                .filter_map(|(ep, ls)| ls.get(i).map(|l| (*ep, pick(l))))
                .collect(),
            colour: i,
            ..Series::default()
        })
        .collect()
}

/// E4: four charts per E2 group (its first seed), after the claims' figures.
pub(super) fn diversity_figures(e: &ExperimentRuns) -> Vec<Figure> {
    let mut figs = Vec::new();
    for g in e.groups() {
        let Some((p, f)) = e.finished(&g).first().copied() else {
            continue;
        };
        for m in &MEASURES {
            figs.push(Figure {
                claim: None,
                id: format!("e4-{}-{g}", m.what),
                caption: format!(
                    "E4: {} of every feature layer against the epoch, run \"{g}\" (seed {}); \
                     epoch 0 is the init{}.",
                    m.title,
                    p.seed,
                    if m.y_log {
                        "; exact zeros on the bottom row"
                    } else {
                        ""
                    }
                ),
                chart: Chart {
                    title: format!("{g}: {}", m.title),
                    x_label: "epoch".into(),
                    y_label: m.title.into(),
                    y_log: m.y_log,
                    series: per_layer(f, m.pick),
                    ..Chart::default()
                },
            });
        }
    }
    figs
}

fn reach_line(p: &PerturbationLine) -> Vec<(f64, f64)> {
    p.reach
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64, x.ratio))
        .collect()
}

/// E5: the reach of a perturbation injected at the stem's output, at every later activation, per
/// variant (its first seed): at init (K8's mechanism) and after training.
pub(super) fn perturbation_figures(exps: &[ExperimentRuns]) -> Vec<Figure> {
    let mut at_init = Vec::new();
    let mut at_end = Vec::new();
    for e in exps {
        for (variant, runs) in e.by_variant() {
            let Some((_, f)) = runs.first() else { continue };
            let label = format!("{}: {variant}", e.plan.experiment);
            let colour = at_init.len();
            let series = |p: &PerturbationLine| Series {
                label: label.clone(),
                points: reach_line(p),
                colour,
                style: Style::Line,
                ..Series::default()
            };
            if let (Some(first), Some(last)) = (f.perturbations.first(), f.perturbations.last()) {
                at_init.push(series(first));
                at_end.push(series(last));
            }
        }
    }
    let chart = |when: &str, series| Chart {
        title: format!("Perturbation reach {when}"),
        x_label: "activations after the injection".into(),
        y_label: "inter-channel deviation / injected (log)".into(),
        y_log: true,
        series,
        ..Chart::default()
    };
    let mut figs = Vec::new();
    if !at_init.is_empty() {
        figs.push(Figure {
            claim: Some(ClaimId::K8),
            id: "e5-perturbation-init".into(),
            caption:
                "K8, E5: the rms inter-channel deviation caused by a perturbation injected at the \
                 stem's output, relative to its size, at every later activation at init (eval \
                 mode, 128 test images). Look for every code with an averaging layer dropping to \
                 the exact-zero row at its first averaging layer, and identity codes keeping it \
                 whole."
                    .into(),
            chart: chart("at init", at_init),
        });
        figs.push(Figure {
            claim: None,
            id: "e5-perturbation-end".into(),
            caption: "E5: the same after training.".into(),
            chart: chart("after training", at_end),
        });
    }
    figs
}
