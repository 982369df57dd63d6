//! The toy model's figures (E1): K1 identical features at every width, K2 accuracy against K,
//! K3 accuracy against the init noise.
use super::*;

pub(super) fn k1(e: &ExperimentRuns) -> Option<Figure> {
    let tied: Vec<Point> = accuracies(e, group::SYMMETRY, Accuracy::Final);
    (!tied.is_empty()).then(|| {
        figure(
            ClaimId::K1,
            "k1-tied-vs-width",
            caption(K1_CAPTION, e),
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

/// K1's figure caption; the scale of the runs follows it.
const K1_CAPTION: &str = "K1: final test accuracy of tied k-unique:1 at each hidden width, \
                          without a breaker. Look for every width sitting at the level of a \
                          width-1 net, far below He.";

/// K2's figure caption; the scale of the runs follows it.
const K2_CAPTION: &str = "K2: final test accuracy of the toy model against the number K of unique \
                          features at init (tied), every seed and the mean with its 95% interval. \
                          Look for accuracy rising with K from the width-1 level to He's.";

pub(super) fn k2(e: &ExperimentRuns) -> Option<Figure> {
    let k = accuracies(e, group::K_CURVE, Accuracy::Final);
    (!k.is_empty()).then(|| {
        figure(
            ClaimId::K2,
            "k2-accuracy-vs-k",
            caption(K2_CAPTION, e),
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

/// K3's figure caption, with the largest eps that counts as small; the scale of the runs follows
/// it.
fn k3_caption(small_eps: f64) -> String {
    format!(
        "K3: tied k-unique:1 with init noise eps times the He std (log axis), every seed and the \
         mean with its 95% interval; noise left of the dashed line counts as small (eps <= \
         {small_eps}). Look for a small eps reaching the margin below He."
    )
}

pub(super) fn k3(e: &ExperimentRuns) -> Option<Figure> {
    let all = accuracies(e, group::EPS_CURVE, Accuracy::Final);
    let eps: Vec<Point> = all.iter().filter(|p| p.x > 0.0).cloned().collect();
    let zero = all.iter().find(|p| p.x == 0.0);
    let c = e.plan.criteria.k3.as_ref()?;
    let mut hlines: Vec<(String, f64)> = he_line(e).into_iter().collect();
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
            caption(&k3_caption(c.small_eps), e),
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
