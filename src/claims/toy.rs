//! K1, K2, K3 on the toy model (E1): identical features behave as one, accuracy rises with the
//! number of unique features, and a small init noise restores He's accuracy.
use super::evidence::{
    Evidence, Runs, accuracy, catching_up, final_ulps, group, hashes, points, require_caught_up,
    require_levelled, require_seeds, require_trained,
};
use super::judge::{Decision, Flaw, Judgement};
use super::stats::{Interval, Point, spearman, spearman_critical_at, welch};
use super::{ClaimRow, acc_text, judged};
use crate::experiment::{ClaimId, K1, K2, K3, Weighing};
use crate::runs::ExperimentRuns;
use std::collections::BTreeSet;

fn accuracy_word(w: &Weighing) -> String {
    format!("{:?} accuracy", w.accuracy).to_lowercase()
}

fn weighing_text(w: &Weighing) -> String {
    format!(
        "{}, one-sided {:.0}% intervals over at least {} seeds; He must beat chance by {} and rise at most {} over its last quarter",
        accuracy_word(w),
        100.0 * w.confidence,
        w.min_seeds,
        w.learned,
        w.plateau
    )
}

/// The tied k-unique:1 runs without a breaker (K = 1 of the K curve, and the symmetry widths),
/// each once.
fn tied_runs(e: &ExperimentRuns) -> Runs<'_> {
    let mut seen = BTreeSet::new();
    e.finished("k-curve")
        .into_iter()
        .filter(|(p, _)| p.x == Some(1.0))
        .chain(e.finished("symmetry"))
        .filter(|(p, _)| seen.insert(p.hash.clone()))
        .collect()
}

fn width_of(p: &crate::experiment::PlannedRun) -> String {
    p.overrides
        .iter()
        .find_map(|o| o.strip_prefix("model.hidden="))
        .map_or_else(|| "256".into(), |h| h.trim_matches(['[', ']']).to_string())
}

/// Decides a "no more than `margin` better" comparison: holds if the upper bound is within it,
/// refuted if the lower bound is beyond it.
fn at_most(i: Interval, margin: f64, what: &str) -> Decision {
    if i.hi <= margin {
        Decision::Holds
    } else if i.lo > margin {
        Decision::Refuted(format!("{what} by {} (more than {margin})", i.text()))
    } else {
        Decision::Inconclusive(format!(
            "{what}: the interval {} straddles {margin}; more seeds would decide",
            i.text()
        ))
    }
}

pub fn k1(e: &ExperimentRuns, c: &K1) -> ClaimRow {
    let criterion = format!(
        "tied k-unique:1 runs whose features stayed within {} ulps beat a width-1 net by at most {} ({})",
        c.drift_bound_ulps,
        c.margin,
        weighing_text(&c.weighing)
    );
    let j = Judgement::new(ClaimId::K1, &e.plan.scale, criterion, &c.rationale);
    judged(j, |j| judge_k1(j, e, c))
}

fn judge_k1(j: &mut Judgement, e: &ExperimentRuns, c: &K1) -> Evidence<Decision> {
    let w = &c.weighing;
    require_trained(j, "He", &e.finished("he"), w)?;
    let (mut kept, mut parted) = (Vec::new(), Vec::new());
    for (p, f) in tied_runs(e) {
        let ulps = final_ulps(f)?;
        if ulps <= c.drift_bound_ulps {
            kept.push((p, f));
        } else {
            parted.push(format!(
                "width {} seed {} ({ulps} ulps)",
                width_of(p),
                p.seed
            ));
        }
    }
    let width1 = e.finished("width-1");
    require_seeds(
        j,
        "tied runs that stayed identical",
        kept.len(),
        w.min_seeds,
    );
    require_seeds(j, "width-1 net", width1.len(), w.min_seeds);
    let tied: Vec<f64> = kept
        .iter()
        .map(|(_, f)| accuracy(f, w.accuracy))
        .collect::<Evidence<_>>()?;
    let one: Vec<f64> = width1
        .iter()
        .map(|(_, f)| accuracy(f, w.accuracy))
        .collect::<Evidence<_>>()?;
    let i = welch(&tied, &one, w.confidence);
    j.measure(format!(
        "tied k-unique:1 that stayed identical {} ({} runs) vs a width-1 net {}: difference {}",
        acc_text(&Point::new(0.0, tied.clone())),
        tied.len(),
        acc_text(&Point::new(0.0, one.clone())),
        i.text()
    ));
    if !parted.is_empty() {
        j.measure(format!(
            "left out, parted by float32 rounding (K4 evidence): {}",
            parted.join(", ")
        ));
    }
    if let (Some(he), Some(untied)) = (group(e, "he", w.accuracy)?, group(e, "untied", w.accuracy)?)
    {
        j.measure(format!(
            "control: untied k-unique:1 {} vs He {}",
            acc_text(&untied),
            acc_text(&he)
        ));
    }
    j.runs(hashes(&kept).into_iter().chain(hashes(&width1)));
    Ok(at_most(
        i,
        c.margin,
        "tied k-unique:1 beats the width-1 net",
    ))
}

pub fn k2(e: &ExperimentRuns, c: &K2) -> ClaimRow {
    let criterion = format!(
        "accuracy rises in rank with K (Spearman over every run, one-sided) and by more than {} from the smallest K to the largest ({})",
        c.growth,
        weighing_text(&c.weighing)
    );
    let j = Judgement::new(ClaimId::K2, &e.plan.scale, criterion, &c.rationale);
    judged(j, |j| judge_k2(j, e, c))
}

fn judge_k2(j: &mut Judgement, e: &ExperimentRuns, c: &K2) -> Evidence<Decision> {
    let w = &c.weighing;
    require_trained(j, "He", &e.finished("he"), w)?;
    let curve = points(e, "k-curve", w.accuracy)?;
    j.require(
        "three or more values of K",
        curve.len() >= 3,
        format!("{}", curve.len()),
        "add K values to the experiment",
    );
    for p in &curve {
        require_seeds(j, &format!("K = {}", p.x), p.accs.len(), w.min_seeds);
    }
    j.runs(hashes(&e.finished("k-curve")));
    j.measure(format!("accuracy by K: {}", curve_text(&curve)));
    let (Some(lo), Some(hi)) = (curve.first(), curve.last()) else {
        return Ok(Decision::Inconclusive("no K curve".into()));
    };
    let (ks, accs): (Vec<f64>, Vec<f64>) = curve
        .iter()
        .flat_map(|p| p.accs.iter().map(move |a| (p.x, *a)))
        .unzip();
    let rho = spearman(&ks, &accs);
    let critical = spearman_critical_at(ks.len(), w.confidence);
    let rise = welch(&hi.accs, &lo.accs, w.confidence);
    j.measure(format!(
        "Spearman rho(K, accuracy) = {rho:.2} over {} runs (critical {critical:.3}); rise from K = {} to K = {}: {}",
        ks.len(),
        lo.x,
        hi.x,
        rise.text()
    ));
    Ok(if rho >= critical && rise.lo > c.growth {
        Decision::Holds
    } else if rise.hi < c.growth || rho <= -critical {
        Decision::Refuted(format!(
            "accuracy does not rise with K: rise {} (needs more than {}), rho {rho:.2}",
            rise.text(),
            c.growth
        ))
    } else {
        Decision::Inconclusive(format!(
            "rho {rho:.2} (critical {critical:.3}) and rise {} do not settle it; more seeds would",
            rise.text()
        ))
    })
}

fn curve_text(c: &[Point]) -> String {
    c.iter()
        .map(|p| format!("{}: {}", p.x, acc_text(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The eps-curve runs at noise `x`.
fn eps_runs(e: &ExperimentRuns, x: f64) -> Runs<'_> {
    e.finished("eps-curve")
        .into_iter()
        .filter(|(r, _)| r.x == Some(x))
        .collect()
}

pub fn k3(e: &ExperimentRuns, c: &K3) -> ClaimRow {
    let criterion = format!(
        "some eps in (0, {}] brings tied k-unique:1 within {} of He (lower bound), while eps = 0 stays more than {} below; refuted only once every small eps has stopped catching up with He at the high learning rate (closed at most {} of the gap over its last quarter) ({})",
        c.small_eps,
        c.margin,
        c.margin,
        c.catch_up,
        weighing_text(&c.weighing)
    );
    let j = Judgement::new(ClaimId::K3, &e.plan.scale, criterion, &c.rationale);
    judged(j, |j| judge_k3(j, e, c))
}

fn judge_k3(j: &mut Judgement, e: &ExperimentRuns, c: &K3) -> Evidence<Decision> {
    let w = &c.weighing;
    let he_runs = e.finished("he");
    require_trained(j, "He", &he_runs, w)?;
    let he =
        group(e, "he", w.accuracy)?.ok_or_else(|| Flaw::new(&e.plan.experiment, "no He runs"))?;
    let curve = points(e, "eps-curve", w.accuracy)?;
    j.measure(format!(
        "He {}; tied k-unique:1 + eps: {}",
        acc_text(&he),
        curve_text(&curve)
    ));
    j.runs(
        hashes(&he_runs)
            .into_iter()
            .chain(hashes(&e.finished("eps-curve"))),
    );
    let zero = curve.iter().find(|p| p.x == 0.0);
    let control = zero.map(|p| welch(&p.accs, &he.accs, w.confidence));
    j.require(
        &format!(
            "without noise (eps = 0) tied k-unique:1 stays more than {} below He",
            c.margin
        ),
        control.is_some_and(|i| i.hi < -c.margin),
        control.map_or("no eps = 0 runs".into(), |i| i.text()),
        "nothing to counteract at this budget: check the eps = 0 runs",
    );
    let small: Vec<&Point> = curve
        .iter()
        .filter(|p| p.x > 0.0 && p.x <= c.small_eps)
        .collect();
    j.require(
        &format!("eps values in (0, {}]", c.small_eps),
        !small.is_empty(),
        format!("{}", small.len()),
        "add small eps values to the experiment",
    );
    for p in &small {
        require_seeds(j, &format!("eps = {}", p.x), p.accs.len(), w.min_seeds);
        require_levelled(j, &format!("eps = {}", p.x), &eps_runs(e, p.x), w)?;
    }
    let judged: Vec<(f64, Interval)> = small
        .iter()
        .map(|p| (p.x, welch(&p.accs, &he.accs, w.confidence)))
        .collect();
    j.measure(format!(
        "small eps against He: {}",
        judged
            .iter()
            .map(|(x, i)| format!("{x}: {}", i.text()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(
        if let Some((x, _)) = judged.iter().find(|(_, i)| i.lo >= -c.margin) {
            j.measure(format!("eps = {x} comes within {} of He", c.margin));
            Decision::Holds
        } else if judged.iter().all(|(_, i)| i.hi < -c.margin) {
            // A shortfall counts against the claim only once the eps stopped catching up.
            for p in &small {
                let runs = eps_runs(e, p.x);
                let name = format!("eps = {}", p.x);
                require_caught_up(j, (&name, &runs), ("He", &he_runs), c.catch_up, w.accuracy)?;
            }
            Decision::Refuted(format!(
                "every eps up to {} stays more than {} below He",
                c.small_eps, c.margin
            ))
        } else {
            measure_catch_up(j, e, (&small, &he_runs), w)?;
            Decision::Inconclusive(format!(
                "no small eps is within {} of He beyond seed noise, nor all clearly below; more seeds would narrow the intervals (refuting would also need every small eps to have stopped catching up with He)",
                c.margin
            ))
        },
    )
}

/// How far each small eps closed on He over the last quarter of the high learning rate: what
/// more seeds alone would not settle, said beside an interval they would narrow.
fn measure_catch_up(
    j: &mut Judgement,
    e: &ExperimentRuns,
    (small, he): (&[&Point], &Runs),
    w: &Weighing,
) -> Evidence<()> {
    let mut closing = Vec::new();
    for p in small {
        if let Some(u) = catching_up(he, &eps_runs(e, p.x), w.accuracy)? {
            closing.push(format!("{}: {:+.3}, {:.3} behind", p.x, u.closed, u.left));
        }
    }
    if !closing.is_empty() {
        j.measure(format!(
            "gap to He closed over the last quarter of the high learning rate: {}",
            closing.join(", ")
        ));
    }
    Ok(())
}
