//! K9 on the E2 runs (analysed by E4): given a breaker, ConstNet ends near He's effective width.
use super::Criterion;
use super::evidence::{
    Evidence, Runs, distinct, first_above, gap_trajectory, hashes, require_seeds,
};
use super::judge::{Decision, Estimate, Flaw, Judgement};
use super::pace::{high_lr_evals, last_quarter_start};
use super::stats::{Interval, Point, Welch, all_of, holm, mean_std, median};
use crate::experiment::CharacteristicWidth;
use crate::experiment::group;
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

/// Per run, the mean over layers of ln(final participation-ratio width): the log of its
/// geometric-mean width, so that a difference of two groups' means is the mean log ratio of
/// their widths, and each group keeps its own seed variance.
fn log_widths(runs: &Runs, layers: Option<usize>) -> Evidence<Point> {
    let mut logs = Vec::new();
    for (_, f) in runs {
        let w = widths(f, &f.summary.diversity_final, "diversity_final")?;
        if let Some(n) = layers
            && w.len() != n
        {
            return Err(Flaw::new(
                RunFiles(&f.dir).summary(),
                format!("{} layers, He has {n}", w.len()),
            ));
        }
        logs.push(w.iter().map(|x| x.ln()).sum::<f64>() / w.len() as f64);
    }
    Ok(Point::new(0.0, logs))
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

/// Requires a group's median width to have settled: training has ended near a width.
fn require_settled(
    j: &mut Judgement,
    name: &str,
    runs: &Runs,
    c: &CharacteristicWidth,
) -> Evidence<()> {
    let moved = settling(runs)?;
    j.require(
        &format!(
            "{name}'s width settled: moved at most {} over the last quarter of the high learning \
             rate",
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

/// K9, "ends near a characteristic width": for every breaker, the mean log ratio d of its
/// final width to He's (per run the mean over layers of ln width; Welch over both groups, so
/// He's seed variance counts) is equivalent to 0 within ln(width_factor): two one-sided tests
/// (Schuirmann), every breaker must pass (an intersection). Refuted when some breaker is shown
/// outside the band on either side (Holm over breakers and sides). Unit: a distinct seed.
impl Criterion for CharacteristicWidth {
    fn statement(&self) -> String {
        format!(
            "for every breaker, the final effective width (participation ratio; per run the \
             geometric mean over layers) equivalent to He's within a factor {} (two one-sided \
             Welch tests on the log ratio at alpha {:.2}, over at least {} distinct seeds of each \
             group); refuted when a breaker is shown beyond the factor (Holm over breakers and \
             sides); once the breaker has parted the channels (gap past {:.0e}) and its median \
             width and He's have settled before the learning rate decayed (moved under {} over the \
             last quarter of the evaluations at a high rate, at least half the first)",
            self.width_factor,
            1.0 - self.confidence,
            self.min_seeds,
            self.macro_gap,
            self.width_plateau
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let he_runs = distinct(e.finished(group::HE));
        require_seeds(j, "He", he_runs.len(), self.min_seeds);
        require_settled(j, "He", &he_runs, self)?;
        let he = log_widths(&he_runs, None)?;
        let layers = he_runs
            .first()
            .map(|(_, f)| f.summary.diversity_final.len());
        j.runs(hashes(&he_runs));
        let mut tests = Vec::new();
        for name in group::BREAKERS.iter().copied().chain([group::NO_BREAKER]) {
            let runs = distinct(e.finished(name));
            if runs.is_empty() {
                continue;
            }
            let t = Welch::of(&log_widths(&runs, layers)?, &he);
            let init = median(widths(
                runs[0].1,
                &runs[0].1.summary.diversity_init,
                "diversity_init",
            )?);
            let i = t.interval(self.confidence);
            j.measure(format!(
                "{name}: width {init:.1} at init, final width to He's x{:.2} [x{:.2}, x{:.2}]",
                i.diff.exp(),
                i.lo.exp(),
                i.hi.exp()
            ));
            if name == group::NO_BREAKER {
                continue;
            }
            require_breaker(j, name, &runs, self)?;
            j.runs(hashes(&runs));
            tests.push((name, t));
        }
        j.measure(format!(
            "He's final width {:.1} (geometric mean over layers, mean over seeds)",
            he.mean.exp()
        ));
        j.require_breakers(&tests.iter().map(|(g, _)| *g).collect::<Vec<_>>());
        if let Some(e) = weakest_width(&tests, self) {
            j.estimate(e);
        }
        Ok(decide_k9(&tests, self))
    }
}

/// A breaker's preconditions: seeds, channels parted in every seed, width settled.
fn require_breaker(
    j: &mut Judgement,
    name: &str,
    runs: &Runs,
    c: &CharacteristicWidth,
) -> Evidence<()> {
    require_seeds(j, name, runs.len(), c.min_seeds);
    for (r, f) in runs {
        j.require(
            &format!(
                "{name}, seed {}: the channels parted (gap past {:.0e})",
                r.seed, c.macro_gap
            ),
            first_above(&gap_trajectory(f)?, c.macro_gap).is_some(),
            format!("{} steps", f.summary.steps),
            "a longer budget, for the breaker to act",
        );
    }
    require_settled(j, name, runs, c)
}

/// The final width, as a factor of He's, of the breaker least shown to be within the band (of
/// those tied, the one farthest from He's width).
fn weakest_width(tests: &[(&str, Welch)], c: &CharacteristicWidth) -> Option<Estimate> {
    let band = c.width_factor.ln();
    let within = |t: &Welch| all_of(&[t.p_above(-band), t.p_below(band)]);
    let (g, t) = tests.iter().max_by(|a, b| {
        let far = |t: &Welch| t.interval(c.confidence).diff.abs();
        within(&a.1)
            .total_cmp(&within(&b.1))
            .then(far(&a.1).total_cmp(&far(&b.1)))
    })?;
    let i = t.interval(c.confidence);
    Some(Estimate::bounded(
        format!("+{g} final width, as a factor of He's"),
        &Interval {
            diff: i.diff.exp(),
            lo: i.lo.exp(),
            hi: i.hi.exp(),
        },
    ))
}

fn decide_k9(tests: &[(&str, Welch)], c: &CharacteristicWidth) -> Decision {
    let alpha = 1.0 - c.confidence;
    let band = c.width_factor.ln();
    let within: Vec<f64> = tests
        .iter()
        .map(|(_, t)| all_of(&[t.p_above(-band), t.p_below(band)]))
        .collect();
    let outside: Vec<f64> = tests
        .iter()
        .flat_map(|(_, t)| [t.p_above(band), t.p_below(-band)])
        .collect();
    if let Some(i) = holm(&outside, alpha).iter().position(|r| *r) {
        let (g, t) = tests[i / 2];
        let x = t.interval(c.confidence);
        Decision::Refuted(k9_beyond(g, &x, c.width_factor))
    } else if !tests.is_empty() && all_of(&within) <= alpha {
        Decision::Holds
    } else {
        Decision::Undecided(k9_not_shown_within(c.width_factor))
    }
}

/// K9 refuted: breaker `g` ends beyond `factor` of He's width; `x` is the log ratio's interval.
fn k9_beyond(g: &str, x: &Interval, factor: f64) -> String {
    let (d, lo, hi) = (x.diff.exp(), x.lo.exp(), x.hi.exp());
    format!("{g} ends a factor x{d:.2} [x{lo:.2}, x{hi:.2}] from He's width, beyond {factor}")
}

/// K9 undecided: some breaker is shown neither within the factor nor beyond it.
fn k9_not_shown_within(factor: f64) -> String {
    format!(
        "a breaker's width is not shown within a factor {factor} of He's: more seeds would decide"
    )
}
