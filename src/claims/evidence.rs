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

/// One point per x of a group (x = 0 without one): its distinct runs' accuracies over seeds,
/// floored at the test set's binomial noise.
pub fn points(e: &ExperimentRuns, group: &str, which: Accuracy) -> Evidence<Vec<Point>> {
    let mut by_x: BTreeMap<i64, (f64, Runs)> = BTreeMap::new();
    for (p, f) in e.finished(group) {
        let x = p.x.unwrap_or(0.0);
        // Keyed by x scaled to an integer: floats are not Ord.
        by_x.entry((x * 1e6).round() as i64)
            .or_insert((x, Vec::new()))
            .1
            .push((p, f));
    }
    by_x.into_values()
        .map(|(x, runs)| point(x, &distinct(runs), which))
        .collect()
}

/// The accuracies of `runs` as one point at `x`, floored at the test set's binomial noise.
pub fn point(x: f64, runs: &[(&PlannedRun, &Finished)], which: Accuracy) -> Evidence<Point> {
    let accs = runs
        .iter()
        .map(|(_, f)| accuracy(f, which))
        .collect::<Evidence<Vec<f64>>>()?;
    let n_test = runs.first().map_or(0, |(_, f)| f.data.test);
    Ok(Point::accuracies(x, accs, n_test))
}

/// All of a group's distinct runs as one point (x = 0); None if it has no finished runs.
pub fn group(e: &ExperimentRuns, name: &str, which: Accuracy) -> Evidence<Option<Point>> {
    let runs = distinct(e.finished(name));
    if runs.is_empty() {
        return Ok(None);
    }
    point(0.0, &runs, which).map(Some)
}

/// The runs that replicate something: of runs whose records agree bit for bit (one
/// configuration planned under two names, or seeds that changed nothing a run depends on), the
/// first. Two such runs are one observation, not two.
pub fn distinct<'a>(runs: Runs<'a>) -> Runs<'a> {
    let mut seen = std::collections::BTreeSet::new();
    runs.into_iter()
        .filter(|(_, f)| seen.insert(fingerprint(f)))
        .collect()
}

/// FNV-1a over the bits of what a run measured: its accuracies, losses and symmetry gaps.
pub fn fingerprint(f: &Finished) -> u64 {
    let values = [
        f.summary.final_test_acc,
        f.summary.best_test_acc,
        f.summary.final_loss,
    ]
    .into_iter()
    .chain(f.evals.iter().flat_map(|e| [e.test_acc, e.loss]))
    .chain(f.steps.iter().map(|s| s.loss))
    .chain(
        f.steps
            .iter()
            .flat_map(|s| s.layers.iter().map(|l| l.gap_abs)),
    );
    values.fold(0xcbf2_9ce4_8422_2325, |h, v| {
        v.to_bits().to_le_bytes().iter().fold(h, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    })
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
                "the records do not say how many classes data {:?} has (schema 1); train the run \
                 again",
                f.data.name
            ),
        )),
    }
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
