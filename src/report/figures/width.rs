//! The effective-width figure (E2 read by E4): K9 width over training.
use super::*;

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

/// K9's figure caption; the scale of the runs follows it.
const K9_CAPTION: &str = "K9: effective width (participation ratio of the feature correlations, \
                          median over layers) against the epoch; epoch 0 is the init. Look for \
                          the broken ConstNets ending near He's width, whatever width they \
                          started from.";

pub(super) fn k9(e: &ExperimentRuns) -> Option<Figure> {
    let series = he_and_constnets(e, width_curve);
    (!series.is_empty()).then(|| {
        figure(
            ClaimId::K9,
            "k9-width-vs-epoch",
            caption(K9_CAPTION, e),
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
