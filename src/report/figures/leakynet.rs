//! LeakyNet's figure (E3): K8 accuracy against the number of channel-averaging layers.
use super::*;

fn leaky_code(name: &str) -> Option<crate::config::LeakyCode> {
    crate::config::LeakyCode::parse(name, 16).ok()
}

/// K8's figure caption, with Spearman's rho over its runs; the scale of the runs follows it.
fn k8_caption(rho: f64, runs: usize) -> String {
    format!(
        "K8: LeakyNet's best test accuracy against the number of channel-averaging layers of its \
         init code (each seed, and each code's mean labelled), Spearman rho = {rho:.2} over \
         {runs} runs (the criterion and its critical value are in the panel). Look for accuracy \
         falling as averaging layers are added."
    )
}

pub(super) fn k8(e: &ExperimentRuns) -> Option<Figure> {
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
            caption(&k8_caption(rho, xs.len()), e),
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
