//! Whether a group had finished learning when the verdict was taken: how fast its accuracy still
//! rose, or its gap to a baseline still closed, per epoch over the last quarter of its
//! evaluations at a high learning rate (a decayed rate freezes a curve whether or not it had
//! settled), over seeds, with an allowance for seed noise: a precondition fails where the mean
//! pace is beyond its declared limit by more than one standard error of that mean. One, not a
//! t quantile: with two or three seeds a confidence bound would let almost any pace pass, and a
//! precondition guards a verdict, so it must be able to fail. No spread measured (one run, or
//! seeds that agree) allows nothing: the mean pace itself is compared.
use super::evidence::{Evidence, Runs, accuracy, chance, distinct, require_seeds};
use super::judge::{Flaw, Judgement};
use super::stats::{Point, mean_std};
use crate::experiment::{Accuracy, Weighing, group};
use crate::records::RunFiles;
use crate::runs::{ExperimentRuns, Finished};

/// A run's accuracy after each evaluation as `which` reads it (the running best, or as it was),
/// with the epoch of each; a NaN is a flaw naming the records.
fn curve(f: &Finished, which: Accuracy) -> Evidence<Vec<(f64, f64)>> {
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
        let acc = match which {
            Accuracy::Best => best,
            Accuracy::Final => e.test_acc,
        };
        curve.push((e.epoch, acc));
    }
    Ok(curve)
}

/// The index at which the last quarter of `n >= 1` evaluations starts: every measure of whether a
/// curve has settled compares its last value with this one.
pub fn last_quarter_start(n: usize) -> usize {
    (3 * (n - 1)) / 4
}

/// How many of a run's first evaluations were taken while the learning rate was still at least
/// half its first value: the stretch in which a measure that is still moving shows it.
pub fn high_lr_evals(f: &Finished) -> usize {
    let first = f.evals.first().map_or(0.0, |e| e.lr);
    f.evals.iter().take_while(|e| e.lr >= first / 2.0).count()
}

/// Which evaluations a pace is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stretch {
    /// The last quarter of the evaluations at a high learning rate.
    HighRate,
    /// The last quarter of all the evaluations.
    Whole,
}

/// Per run, its accuracy's rise per epoch over the last quarter of `stretch`, as a point over
/// seeds; with the epochs spanned. None if a run has under two evaluations there.
fn rise_rates(runs: &Runs, which: Accuracy, stretch: Stretch) -> Evidence<Option<(Point, f64)>> {
    let (mut rates, mut spans) = (Vec::new(), Vec::new());
    for (_, f) in runs {
        let mut c = curve(f, which)?;
        if stretch == Stretch::HighRate {
            c.truncate(high_lr_evals(f));
        }
        if c.len() < 2 {
            return Ok(None);
        }
        let ((e0, a0), (e1, a1)) = (c[last_quarter_start(c.len())], c[c.len() - 1]);
        let span = (e1 - e0).max(f64::MIN_POSITIVE);
        rates.push((a1 - a0) / span);
        spans.push(span);
    }
    if rates.is_empty() {
        return Ok(None);
    }
    Ok(Some((Point::new(0.0, rates), mean_std(&spans).0)))
}

/// A pace's mean and its allowance: one standard error of the mean over seeds (0 for one run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub mean: f64,
    pub se: f64,
}

impl Pace {
    fn of(p: &Point) -> Pace {
        let se = if p.accs.len() < 2 { 0.0 } else { p.se() };
        Pace { mean: p.mean, se }
    }

    /// `a` minus `b`, their allowances combined.
    fn minus(a: Pace, b: Pace) -> Pace {
        Pace {
            mean: a.mean - b.mean,
            se: (a.se.powi(2) + b.se.powi(2)).sqrt(),
        }
    }

    /// Within `limit`, but for an allowance of one standard error.
    pub fn within(&self, limit: f64) -> bool {
        self.mean - self.se <= limit
    }
}

/// The experiment's distinct He runs, required to have learned (`require_trained`).
pub fn trained_he<'a>(
    j: &mut Judgement,
    e: &'a ExperimentRuns,
    w: &Weighing,
) -> Evidence<Runs<'a>> {
    let he_runs = distinct(e.finished(group::HE));
    require_trained(j, "He", &he_runs, w)?;
    Ok(he_runs)
}

/// Requires a baseline (`name`, its runs) to have learned: its mean accuracy beats chance by
/// `w.learned`, and over the last quarter of its high-rate evaluations it rose by at most
/// `w.plateau` per epoch, but for one standard error: an undertrained baseline lowers every bar.
pub fn require_trained(j: &mut Judgement, name: &str, runs: &Runs, w: &Weighing) -> Evidence<()> {
    require_seeds(j, name, runs.len(), w.min_seeds);
    let Some((_, first)) = runs.first() else {
        return Ok(());
    };
    let chance = chance(first)?;
    let accs = runs
        .iter()
        .map(|(_, f)| accuracy(f, w.accuracy))
        .collect::<Evidence<Vec<f64>>>()?;
    let mean = mean_std(&accs).0;
    j.require(
        &format!(
            "{name} learned: mean accuracy above chance ({chance:.2}) by {}",
            w.learned
        ),
        mean - chance >= w.learned,
        format!("{mean:.3}"),
        "train longer or on more data",
    );
    require_flat(j, name, runs, w, Stretch::HighRate)
}

/// Requires a group's accuracy to have levelled off by the end of the run: over the last
/// quarter of its evaluations it rose by at most `w.plateau` per epoch beyond seed noise.
pub fn require_levelled(j: &mut Judgement, name: &str, runs: &Runs, w: &Weighing) -> Evidence<()> {
    require_flat(j, name, runs, w, Stretch::Whole)
}

fn require_flat(
    j: &mut Judgement,
    name: &str,
    runs: &Runs,
    w: &Weighing,
    stretch: Stretch,
) -> Evidence<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let over = match stretch {
        Stretch::HighRate => "the last quarter of the high learning rate",
        Stretch::Whole => "the last quarter of the run",
    };
    let what = format!(
        "{name} levelled off: rose at most {} per epoch over {over}, but for one standard error",
        w.plateau
    );
    let Some((rates, span)) = rise_rates(runs, w.accuracy, stretch)? else {
        j.require(
            &what,
            false,
            "under two evaluations there: no curve to judge".into(),
            "train two or more epochs (before the first decay)",
        );
        return Ok(());
    };
    let pace = Pace::of(&rates);
    j.require(
        &what,
        pace.within(w.plateau),
        format!(
            "{:+.4} +- {:.4} per epoch over {span:.1} epochs",
            pace.mean, pace.se
        ),
        "a longer budget (more epochs)",
    );
    Ok(())
}

/// A group's gap to a baseline over the last quarter of the high-learning-rate stretch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchUp {
    /// How fast the group closed its gap, per epoch: positive while it is still catching up.
    pub per_epoch: Pace,
    /// Over this many epochs (mean over the group's runs).
    pub epochs: f64,
    /// The gap left when the stretch ended (baseline's mean minus the group's).
    pub left: f64,
}

/// How a group's gap to a baseline moved over the last quarter of the high-learning-rate
/// stretch, per epoch over seeds. None with fewer than two evaluations in that stretch.
pub fn catching_up(baseline: &Runs, runs: &Runs, which: Accuracy) -> Evidence<Option<CatchUp>> {
    let (Some((base, _)), Some((own, epochs))) = (
        rise_rates(baseline, which, Stretch::HighRate)?,
        rise_rates(runs, which, Stretch::HighRate)?,
    ) else {
        return Ok(None);
    };
    let end = |runs: &Runs| -> Evidence<f64> {
        let mut ends = Vec::new();
        for (_, f) in runs {
            let mut c = curve(f, which)?;
            c.truncate(high_lr_evals(f));
            ends.extend(c.last().map(|e| e.1));
        }
        Ok(mean_std(&ends).0)
    };
    Ok(Some(CatchUp {
        per_epoch: Pace::minus(Pace::of(&own), Pace::of(&base)),
        epochs,
        left: end(baseline)? - end(runs)?,
    }))
}

/// Requires a group (name, runs) to have stopped closing its gap to a baseline (name, runs)
/// before the learning rate decayed: at most `catch_up` per epoch over the last quarter of the
/// high-rate evaluations, beyond seed noise; else the budget, not the group, set the shortfall.
pub fn require_caught_up(
    j: &mut Judgement,
    (name, runs): (&str, &Runs),
    (base, baseline): (&str, &Runs),
    catch_up: f64,
    w: &Weighing,
) -> Evidence<()> {
    let what = format!(
        "{name} caught up: closed at most {catch_up} per epoch of its gap to {base} over the last \
         quarter of the high learning rate, but for one standard error"
    );
    let Some(u) = catching_up(baseline, runs, w.accuracy)? else {
        j.require(
            &what,
            false,
            "under two evaluations at a high learning rate".into(),
            "train two or more epochs before the first decay",
        );
        return Ok(());
    };
    let i = u.per_epoch;
    // The pace kept up would close what is left in this many epochs: a lower bound on the extra
    // high-rate budget, since catching up slows as it nears.
    let more = if i.mean > 0.0 {
        format!(
            "a longer budget: at least {:.0} more epoch(s) at the high rate, at its last pace",
            (u.left.max(0.0) / i.mean).ceil()
        )
    } else {
        "a longer budget".into()
    };
    j.require(
        &what,
        i.within(catch_up),
        format!(
            "closed {:+.4} +- {:.4} per epoch over {:.1} epochs, {:.3} still behind when the rate \
             decayed",
            i.mean, i.se, u.epochs, u.left
        ),
        &more,
    );
    Ok(())
}
