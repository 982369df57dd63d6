//! K9 on the E2 runs (analysed by E4): given a breaker, ConstNet ends near He's effective width.
use super::constnet::BREAKERS;
use super::evidence::{
    Evidence, Runs, first_above, gap_trajectory, hashes, high_lr_evals, last_quarter_start,
    require_seeds,
};
use super::judge::{Decision, Flaw, Judgement};
use super::stats::{mean_interval, mean_std, median};
use super::{ClaimRow, judged};
use crate::experiment::{ClaimId, K9};
use crate::metrics::LayerDiversity;
use crate::records::RunFiles;
use crate::runs::{ExperimentRuns, Finished};

/// Every layer's participation-ratio width, finite, or a flaw naming the file.
fn widths(f: &Finished, layers: &[LayerDiversity], what: &str) -> Evidence<Vec<f64>> {
    if layers.is_empty() {
        return Err(Flaw::new(
            RunFiles(&f.dir).summary(),
            format!("{what} lists no layers"),
        ));
    }
    layers
        .iter()
        .map(|l| {
            let w = l.width_participation;
            if w.is_finite() && w > 0.0 {
                Ok(w)
            } else {
                Err(Flaw::new(
                    RunFiles(&f.dir).summary(),
                    format!("{what}: the width of {} is {w}", l.name),
                ))
            }
        })
        .collect()
}

/// He's final width per layer, mean over seeds.
fn he_widths(he: &Runs) -> Evidence<Vec<f64>> {
    let per_run = he
        .iter()
        .map(|(_, f)| widths(f, &f.summary.diversity_final, "diversity_final"))
        .collect::<Evidence<Vec<_>>>()?;
    let n = per_run.first().map_or(0, Vec::len);
    Ok((0..n)
        .map(|i| {
            mean_std(
                &per_run
                    .iter()
                    .filter_map(|w| w.get(i).copied())
                    .collect::<Vec<_>>(),
            )
            .0
        })
        .collect())
}

/// How much a group's median width moved over the last quarter of its evaluations at a high
/// learning rate (fraction of the last; `high_lr_evals`: a decayed rate freezes a width that was
/// still moving), mean over seeds; None with fewer than two such evaluations.
fn settling(runs: &Runs) -> Evidence<Option<f64>> {
    let mut moves = Vec::new();
    for (_, f) in runs {
        let curve = f
            .evals
            .iter()
            .take(high_lr_evals(f))
            .map(|e| {
                widths(f, &e.layers, &format!("the evaluation at step {}", e.step)).map(median)
            })
            .collect::<Evidence<Vec<f64>>>()?;
        if curve.len() < 2 {
            return Ok(None);
        }
        let (earlier, last) = (
            curve[last_quarter_start(curve.len())],
            curve[curve.len() - 1],
        );
        moves.push((last - earlier).abs() / last);
    }
    Ok((!moves.is_empty()).then(|| mean_std(&moves).0))
}

/// Per seed, the median over layers of the factor between a run's final width and He's.
fn factors(runs: &Runs, he: &[f64]) -> Evidence<Vec<f64>> {
    runs.iter()
        .map(|(_, f)| {
            let w = widths(f, &f.summary.diversity_final, "diversity_final")?;
            if w.len() != he.len() {
                return Err(Flaw::new(
                    RunFiles(&f.dir).summary(),
                    format!("{} layers, He has {}", w.len(), he.len()),
                ));
            }
            Ok(median(
                w.iter().zip(he).map(|(a, b)| (a / b).max(b / a)).collect(),
            ))
        })
        .collect()
}

/// Requires a group's median width to have settled: training has ended near a width.
fn require_settled(j: &mut Judgement, name: &str, runs: &Runs, c: &K9) -> Evidence<()> {
    let moved = settling(runs)?;
    j.require(
        &format!(
            "{name}'s width settled: moved at most {} over the last quarter of the high learning rate",
            c.width_plateau
        ),
        moved.is_some_and(|m| m <= c.width_plateau),
        moved.map_or("fewer than two evaluations at a high rate".into(), |m| {
            format!("moved {m:.3}")
        }),
        "a longer budget",
    );
    Ok(())
}

pub fn k9(e: &ExperimentRuns, c: &K9) -> ClaimRow {
    let criterion = format!(
        "for every breaker, the final effective width (participation ratio, median over layers of the factor to He's) within {} of He's (one-sided {:.0}% upper bound over at least {} seeds), once the breaker has parted the channels (gap past {:.0e}) and its median width and He's have settled before the learning rate decayed (moved under {} over the last quarter of the evaluations at a high rate, at least half the first)",
        c.width_factor,
        100.0 * c.confidence,
        c.min_seeds,
        c.macro_gap,
        c.width_plateau
    );
    let j = Judgement::new(ClaimId::K9, &e.plan.scale, criterion, &c.rationale);
    judged(j, |j| judge_k9(j, e, c))
}

fn judge_k9(j: &mut Judgement, e: &ExperimentRuns, c: &K9) -> Evidence<Decision> {
    let he_runs = e.finished("he");
    require_seeds(j, "He", he_runs.len(), c.min_seeds);
    require_settled(j, "He", &he_runs, c)?;
    let he = he_widths(&he_runs)?;
    j.runs(hashes(&he_runs));
    let mut judged = Vec::new();
    for g in BREAKERS.iter().copied().chain(["none"]) {
        let runs = e.finished(g);
        if runs.is_empty() {
            continue;
        }
        let f = factors(&runs, &he)?;
        let i = mean_interval(&f, c.confidence);
        let init = median(widths(
            runs[0].1,
            &runs[0].1.summary.diversity_init,
            "diversity_init",
        )?);
        j.measure(format!(
            "{g}: width {init:.1} at init, factor to He's final width {:.2} [{:.2}, {:.2}]",
            i.diff, i.lo, i.hi
        ));
        if g == "none" {
            continue;
        }
        require_seeds(j, g, runs.len(), c.min_seeds);
        for (r, f) in &runs {
            j.require(
                &format!(
                    "{g}, seed {}: the channels parted (gap past {:.0e})",
                    r.seed, c.macro_gap
                ),
                first_above(&gap_trajectory(f)?, c.macro_gap).is_some(),
                format!("{} steps", f.summary.steps),
                "a longer budget, for the breaker to act",
            );
        }
        require_settled(j, g, &runs, c)?;
        j.runs(hashes(&runs));
        judged.push((g, i));
    }
    j.measure(format!(
        "He's final width {:.1} (median over layers)",
        median(he.clone())
    ));
    j.require_breakers(&judged.iter().map(|(g, _)| *g).collect::<Vec<_>>());
    Ok(
        if let Some((g, i)) = judged.iter().find(|(_, i)| i.lo > c.width_factor) {
            Decision::Refuted(format!(
                "{g} ends a factor {:.2} (lower bound {:.2}) from He's width",
                i.diff, i.lo
            ))
        } else if judged.iter().all(|(_, i)| i.hi <= c.width_factor) {
            Decision::Holds
        } else {
            Decision::Inconclusive(format!(
                "a breaker's interval straddles the factor {}: more seeds would decide",
                c.width_factor
            ))
        },
    )
}
