//! The evidence claims read from runs, checked before it is judged: a NaN, an empty list of
//! layers, a missing evaluation is a `Flaw` naming the file, never a number that passes.
use super::judge::Flaw;
use super::stats::Point;
use crate::experiment::{Accuracy, PlannedRun};
use crate::records::RunFiles;
use crate::runs::{ExperimentRuns, Finished};
use std::collections::BTreeMap;

pub type Evidence<T> = Result<T, Flaw>;

/// The accuracy a criterion reads, finite, or a flaw naming the summary.
pub fn accuracy(f: &Finished, which: Accuracy) -> Evidence<f64> {
    let (value, key) = match which {
        Accuracy::Best => (f.summary.best_test_acc, "best_test_acc"),
        Accuracy::Final => (f.summary.final_test_acc, "final_test_acc"),
    };
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Flaw::new(
            RunFiles(&f.dir).summary(),
            format!("{key} is {value}, not an accuracy"),
        ))
    }
}

/// One point per x of a group (x = 0 without one): its runs' accuracies over seeds.
pub fn points(e: &ExperimentRuns, group: &str, which: Accuracy) -> Evidence<Vec<Point>> {
    let mut by_x: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for (p, f) in e.finished(group) {
        let x = p.x.unwrap_or(0.0);
        // Keyed by x scaled to an integer: floats are not Ord.
        by_x.entry((x * 1e6).round() as i64)
            .or_insert((x, Vec::new()))
            .1
            .push(accuracy(f, which)?);
    }
    Ok(by_x.into_values().map(|(x, a)| Point::new(x, a)).collect())
}

/// All of a group's accuracies as one point (x = 0); None if it has no finished runs.
pub fn group(e: &ExperimentRuns, name: &str, which: Accuracy) -> Evidence<Option<Point>> {
    let accs: Vec<f64> = points(e, name, which)?
        .into_iter()
        .flat_map(|p| p.accs)
        .collect();
    Ok((!accs.is_empty()).then(|| Point::new(0.0, accs)))
}

/// The largest symmetry gap over the layers of every logged step.
pub fn gap_trajectory(f: &Finished) -> Evidence<Vec<(usize, f64)>> {
    let file = || RunFiles(&f.dir).steps();
    if f.steps.is_empty() {
        return Err(Flaw::new(file(), "no step was logged"));
    }
    f.steps
        .iter()
        .map(|s| {
            if s.layers.is_empty() {
                return Err(Flaw::new(
                    file(),
                    format!("step {} lists no layers", s.step),
                ));
            }
            let mut largest = 0.0f64;
            for l in &s.layers {
                if !l.gap_abs.is_finite() {
                    return Err(Flaw::new(
                        file(),
                        format!("step {}: the gap of {} is {}", s.step, l.name, l.gap_abs),
                    ));
                }
                largest = largest.max(l.gap_abs);
            }
            Ok((s.step, largest))
        })
        .collect()
}

/// The largest gap over a trajectory.
pub fn largest(trajectory: &[(usize, f64)]) -> f64 {
    trajectory.iter().map(|t| t.1).fold(0.0, f64::max)
}

/// The first logged step whose gap passes `level`.
pub fn first_above(trajectory: &[(usize, f64)], level: f64) -> Option<(usize, f64)> {
    trajectory.iter().find(|t| t.1 > level).copied()
}

/// The largest final drift in ulps over the layers.
pub fn final_ulps(f: &Finished) -> Evidence<u64> {
    let layers = &f.summary.diversity_final;
    if layers.is_empty() {
        return Err(Flaw::new(
            RunFiles(&f.dir).summary(),
            "diversity_final lists no layers",
        ));
    }
    if let Some(l) = layers.iter().find(|l| !l.gap_abs.is_finite()) {
        return Err(Flaw::new(
            RunFiles(&f.dir).summary(),
            format!("the final gap of {} is {}", l.name, l.gap_abs),
        ));
    }
    Ok(layers.iter().map(|l| l.gap_ulps).max().unwrap_or(0))
}

/// Chance accuracy, 1 / classes: from the records, or for schema-1 records of a named data set,
/// from the data set (all of featdiv's named sets have 10 classes).
pub fn chance(f: &Finished) -> Evidence<f64> {
    let classes = f.data.classes.or(match f.data.name.as_str() {
        "fashion-mnist" | "mnist" | "cifar10" | "synthetic" => Some(10),
        _ => None,
    });
    match classes {
        Some(c) if c >= 1 => Ok(1.0 / c as f64),
        _ => Err(Flaw::new(
            RunFiles(&f.dir).summary(),
            format!(
                "the records do not say how many classes data {:?} has (schema 1); train the run again",
                f.data.name
            ),
        )),
    }
}

/// A run's accuracy after each evaluation as `which` reads it (the running best, or as it was);
/// a NaN is a flaw naming the records.
fn curve(f: &Finished, which: Accuracy) -> Evidence<Vec<f64>> {
    let mut curve = Vec::with_capacity(f.evals.len());
    let mut best = f64::NEG_INFINITY;
    for e in &f.evals {
        if !e.test_acc.is_finite() {
            return Err(Flaw::new(
                RunFiles(&f.dir).steps(),
                format!(
                    "the evaluation at step {} has test_acc {}",
                    e.step, e.test_acc
                ),
            ));
        }
        best = best.max(e.test_acc);
        curve.push(match which {
            Accuracy::Best => best,
            Accuracy::Final => e.test_acc,
        });
    }
    Ok(curve)
}

/// The index at which the last quarter of `n >= 1` evaluations starts: every measure of whether a
/// curve has settled compares its last value with this one.
pub fn last_quarter_start(n: usize) -> usize {
    (3 * (n - 1)) / 4
}

/// How much a run's accuracy (as `which` reads it: the running best, or as it was) rose over the
/// last quarter of its evaluations; None with fewer than two evaluations.
pub fn late_rise(f: &Finished, which: Accuracy) -> Evidence<Option<f64>> {
    let curve = curve(f, which)?;
    if curve.len() < 2 {
        return Ok(None);
    }
    let earlier = curve[last_quarter_start(curve.len())];
    Ok(Some(curve[curve.len() - 1] - earlier))
}

/// How many of a run's first evaluations were taken while the learning rate was still at least
/// half its first value: the stretch in which a measure that is still moving shows it, since a
/// decayed rate freezes every measure whether or not it had settled.
pub fn high_lr_evals(f: &Finished) -> usize {
    let first = f.evals.first().map_or(0.0, |e| e.lr);
    f.evals.iter().take_while(|e| e.lr >= first / 2.0).count()
}

/// The mean curve of `runs` over their high-learning-rate evaluations (`high_lr_evals`).
fn high_lr_curve(runs: &[(&PlannedRun, &Finished)], which: Accuracy) -> Evidence<Vec<f64>> {
    let mut sum: Vec<f64> = Vec::new();
    for (_, f) in runs {
        let mut c = curve(f, which)?;
        c.truncate(high_lr_evals(f));
        if sum.is_empty() {
            sum = c;
        } else {
            sum.truncate(c.len());
            sum.iter_mut().zip(&c).for_each(|(s, v)| *s += v);
        }
    }
    Ok(sum.iter().map(|s| s / runs.len() as f64).collect())
}

/// A group's gap to a baseline over the last quarter of the high-learning-rate stretch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchUp {
    /// How much of the gap the group closed: positive while it is still catching up.
    pub closed: f64,
    /// Over this many evaluations.
    pub evals: usize,
    /// The gap left when the stretch ended.
    pub left: f64,
}

/// How a group's gap to a baseline (mean curves over seeds) moved over the last quarter of the
/// high-learning-rate stretch. None with fewer than two evaluations in that stretch.
pub fn catching_up(
    baseline: &[(&PlannedRun, &Finished)],
    runs: &[(&PlannedRun, &Finished)],
    which: Accuracy,
) -> Evidence<Option<CatchUp>> {
    let base = high_lr_curve(baseline, which)?;
    let own = high_lr_curve(runs, which)?;
    let n = base.len().min(own.len());
    if n < 2 {
        return Ok(None);
    }
    let (a, b) = (last_quarter_start(n), n - 1);
    Ok(Some(CatchUp {
        closed: (own[b] - own[a]) - (base[b] - base[a]),
        evals: b - a,
        left: base[b] - own[b],
    }))
}

/// The runs of a group, with its planned-run records.
pub type Runs<'a> = Vec<(&'a PlannedRun, &'a Finished)>;

/// The hashes of runs, for the row's drill-down.
pub fn hashes(runs: &[(&PlannedRun, &Finished)]) -> Vec<String> {
    runs.iter().map(|(p, _)| p.hash.clone()).collect()
}

/// Requires `runs` (a group named `name`) to have at least `min` seeds.
pub fn require_seeds(j: &mut super::judge::Judgement, name: &str, runs: usize, min: usize) -> bool {
    j.require(
        &format!("{name}: at least {min} seeds"),
        runs >= min,
        format!("{runs} finished"),
        "run more seeds (the experiment's seeds, or its profile's)",
    )
}

/// Requires a baseline (`name`, its runs) to have learned: its mean accuracy beats chance by
/// `w.learned`, and it gained at most `w.plateau` over the last quarter of its evaluations.
pub fn require_trained(
    j: &mut super::judge::Judgement,
    name: &str,
    runs: &[(&PlannedRun, &Finished)],
    w: &crate::experiment::Weighing,
) -> Evidence<()> {
    require_seeds(j, name, runs.len(), w.min_seeds);
    let Some((_, first)) = runs.first() else {
        return Ok(());
    };
    let chance = chance(first)?;
    let accs = runs
        .iter()
        .map(|(_, f)| accuracy(f, w.accuracy))
        .collect::<Evidence<Vec<f64>>>()?;
    let mean = super::stats::mean_std(&accs).0;
    j.require(
        &format!(
            "{name} learned: mean accuracy above chance ({chance:.2}) by {}",
            w.learned
        ),
        mean - chance >= w.learned,
        format!("{mean:.3}"),
        "train longer or on more data",
    );
    require_levelled(j, name, runs, w)
}

/// Requires a group's accuracy to have levelled off: its mean rise over the last quarter of the
/// evaluations at most `w.plateau`.
pub fn require_levelled(
    j: &mut super::judge::Judgement,
    name: &str,
    runs: &[(&PlannedRun, &Finished)],
    w: &crate::experiment::Weighing,
) -> Evidence<()> {
    let mut rises = Vec::new();
    for (_, f) in runs {
        match late_rise(f, w.accuracy)? {
            Some(r) => rises.push(r),
            None => {
                j.require(
                    &format!("{name} levelled off"),
                    false,
                    "one evaluation: no curve to judge".into(),
                    "train two or more epochs",
                );
                return Ok(());
            }
        }
    }
    if rises.is_empty() {
        return Ok(());
    }
    let rise = super::stats::mean_std(&rises).0;
    j.require(
        &format!(
            "{name} levelled off: rose at most {} over the last quarter",
            w.plateau
        ),
        rise <= w.plateau,
        format!("rose {rise:+.3}"),
        "a longer budget (more epochs)",
    );
    Ok(())
}

/// Requires a group (name, runs) to have stopped closing its gap to a baseline (name, runs)
/// before the learning rate decayed: more than `catch_up` over the last quarter of the
/// high-rate evaluations, and the budget, not the group, set the shortfall that remains.
pub fn require_caught_up(
    j: &mut super::judge::Judgement,
    (name, runs): (&str, &Runs),
    (base, baseline): (&str, &Runs),
    catch_up: f64,
    which: Accuracy,
) -> Evidence<()> {
    let what = format!(
        "{name} caught up: closed at most {catch_up} of its gap to {base} over the last quarter of the high learning rate"
    );
    let Some(u) = catching_up(baseline, runs, which)? else {
        j.require(
            &what,
            false,
            "under two evaluations at a high learning rate".into(),
            "train two or more epochs before the first decay",
        );
        return Ok(());
    };
    // The pace of the last quarter, kept up, would close what is left in this many evaluations:
    // a lower bound on the extra high-rate budget, since catching up slows as it nears.
    let more = if u.closed > 0.0 {
        format!(
            "a longer budget: at least {:.0} more evaluation(s) at the high rate, at its last pace",
            (u.left.max(0.0) / u.closed * u.evals as f64).ceil()
        )
    } else {
        "a longer budget".into()
    };
    j.require(
        &what,
        u.closed <= catch_up,
        format!(
            "closed {:+.3} in {} evaluation{}, {:.3} still behind when the rate decayed",
            u.closed,
            u.evals,
            if u.evals == 1 { "" } else { "s" },
            u.left
        ),
        &more,
    );
    Ok(())
}
