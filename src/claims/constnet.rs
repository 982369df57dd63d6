//! K4, K5, K6, K7 on ConstNet (E2): rounding-level noise breaks the symmetry, a broken ConstNet
//! trains like He, the signal at init, and exact symmetry without a breaker.
use super::evidence::{
    Evidence, Runs, chance, distinct, first_above, gap_trajectory, group, hashes, largest,
    require_seeds,
};
use super::judge::{Decision, Estimate, Flaw, Judgement};
use super::pace::{require_caught_up, require_levelled, trained_he};
use super::stats::{Interval, Point, Welch, all_of, holm};
use super::{ClaimRow, acc_text, judged};
use super::{Criterion, Judge};
use crate::experiment::{
    BreakerMatchesHe, ClaimId, ConstNetAtInit, RoundingBreaksSymmetry, SymmetryStays,
};
use crate::experiment::{group, named};
use crate::records::RunFiles;
use crate::runs::ExperimentRuns;

/// The largest gap over every logged step of every run.
fn largest_of(runs: &Runs) -> Evidence<f64> {
    let mut most = 0.0f64;
    for (_, f) in runs {
        most = most.max(largest(&gap_trajectory(f)?));
    }
    Ok(most)
}

/// Requires the run without a breaker to have stayed exactly symmetric.
fn require_clean_control(j: &mut Judgement, none: &Runs, min_seeds: usize) -> Evidence<()> {
    require_seeds(j, NO_BREAKER_RUNS, none.len(), min_seeds);
    let gap = largest_of(none)?;
    j.require(
        "without a breaker the gap stays exactly 0 (K7)",
        gap == 0.0,
        format!("largest gap {gap:.1e}"),
        "the deterministic runs are not symmetric: see K7",
    );
    Ok(())
}

/// The runs without a symmetry breaker, as the preconditions name them.
const NO_BREAKER_RUNS: &str = "ConstNet without a breaker";

/// K4 and its CPU stand-in K4-cpu: which breaker each reads, and the words of its criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundingBreaker {
    /// The GPU's nondeterministic kernels (group "nondeterministic"): K4 itself.
    Gpu,
    /// Gradient noise of relative std 2^-24 (group "grad-noise"): K4-cpu.
    CpuStandIn,
}

impl RoundingBreaker {
    fn id(self) -> ClaimId {
        match self {
            RoundingBreaker::Gpu => ClaimId::K4,
            RoundingBreaker::CpuStandIn => ClaimId::K4Cpu,
        }
    }

    /// The breaker claim `id` reads, if it is K4 or K4-cpu.
    fn of_claim(id: ClaimId) -> Option<RoundingBreaker> {
        [RoundingBreaker::Gpu, RoundingBreaker::CpuStandIn]
            .into_iter()
            .find(|b| b.id() == id)
    }

    /// The breaker K4 is shown by in a runs folder: the GPU's kernels where it has their runs,
    /// else the CPU stand-in.
    pub fn of(e: &ExperimentRuns) -> RoundingBreaker {
        if e.finished(RoundingBreaker::Gpu.group()).is_empty() {
            RoundingBreaker::CpuStandIn
        } else {
            RoundingBreaker::Gpu
        }
    }

    pub fn group(self) -> &'static str {
        match self {
            RoundingBreaker::Gpu => group::NONDETERMINISTIC,
            RoundingBreaker::CpuStandIn => group::GRAD_NOISE,
        }
    }

    /// Its name in a figure's legend.
    pub fn label(self) -> &'static str {
        match self {
            RoundingBreaker::Gpu => self.form(),
            RoundingBreaker::CpuStandIn => "gradient noise 2^-24 (CPU stand-in)",
        }
    }

    fn form(self) -> &'static str {
        match self {
            RoundingBreaker::Gpu => "nondeterministic CUDA kernels",
            RoundingBreaker::CpuStandIn => "gradient noise 2^-24",
        }
    }
}

impl Judge for RoundingBreaksSymmetry {
    fn judge(&self, id: ClaimId, e: &ExperimentRuns, all: &[ExperimentRuns]) -> ClaimRow {
        // The claims' table gives this criterion to K4 and K4-cpu only.
        match RoundingBreaker::of_claim(id) {
            Some(breaker) => k4(e, self, all, breaker),
            None => {
                let why = format!("{id} cannot be judged by K4's criterion");
                super::judge::not_run(id, &why, &e.plan.scale)
            }
        }
    }
}

/// K4 (`Gpu`) or K4-cpu (`CpuStandIn`): in every seed the breaker's first gap is at rounding
/// level and the gap then passes `macro_gap`, while the run without a breaker stays exactly
/// symmetric. An exact statement about each run's records, not an estimate: a seed in which
/// the gap did not pass is a counter-example. K4 is not run without GPU runs: the stand-in
/// shows that training amplifies an asymmetric rounding-level perturbation, which is what
/// gradient noise is by construction, not that nondeterministic reductions part channels.
pub fn k4(
    e: &ExperimentRuns,
    c: &RoundingBreaksSymmetry,
    all: &[ExperimentRuns],
    b: RoundingBreaker,
) -> ClaimRow {
    if b == RoundingBreaker::Gpu && RoundingBreaker::of(e) != b {
        let skipped = e.plan.skipped.join(", ");
        return super::judge::not_run(
            ClaimId::K4,
            &k4_without_gpu(if skipped.is_empty() {
                "no CUDA device"
            } else {
                &skipped
            }),
            &e.plan.scale,
        );
    }
    let j = Judgement::new(b.id(), &e.plan.scale, k4_criterion(c, b), &c.rationale);
    judged(j, |j| judge_k4(j, e, c, all, b))
}

fn judge_k4(
    j: &mut Judgement,
    e: &ExperimentRuns,
    c: &RoundingBreaksSymmetry,
    all: &[ExperimentRuns],
    b: RoundingBreaker,
) -> Evidence<Decision> {
    require_clean_control(j, &e.finished(group::NO_BREAKER), c.min_seeds)?;
    let form = b.form();
    let runs = e.finished(b.group());
    require_seeds(j, form, runs.len(), c.min_seeds);
    j.runs(hashes(&runs));
    let mut reached = 0;
    let mut grew = 0;
    for (p, f) in &runs {
        let t = gap_trajectory(f)?;
        let first = t.iter().find(|g| g.1 > 0.0).copied();
        j.require(
            &format!("{form}, seed {}: the gap starts at rounding level", p.seed),
            first.is_none_or(|(_, g)| g < c.rounding_gap),
            first.map_or("no gap".into(), |(s, g)| format!("{g:.1e} at step {s}")),
            "the breaker is not rounding-level: check its size",
        );
        let end = t.last().map_or(0.0, |g| g.1);
        match first_above(&t, c.macro_gap) {
            Some((step, _)) => {
                reached += 1;
                j.measure(format!(
                    "{form}, seed {}: gap > {:.0e} at step {step} (final {end:.2e})",
                    p.seed, c.macro_gap
                ));
            }
            None => {
                grew += usize::from(first.is_some_and(|(_, g)| end > g));
                j.measure(format!(
                    "{form}, seed {}: never > {:.0e} (final {end:.2e})",
                    p.seed, c.macro_gap
                ));
            }
        }
    }
    j.estimate(Estimate::exact(
        format!(
            "seeds of {} whose gap passed {:.0e}",
            runs.len(),
            c.macro_gap
        ),
        reached as f64,
    ));
    if b == RoundingBreaker::CpuStandIn {
        j.measure(rounding_in_the_toy_model(all, c.macro_gap)?);
    }
    Ok(if reached == runs.len() {
        Decision::Holds
    } else if grew == 0 {
        Decision::Refuted(k4_never_grew(runs.len() - reached, runs.len()))
    } else {
        Decision::Undecided(k4_out_of_budget(reached, runs.len(), c.macro_gap))
    })
}

/// CPU evidence from E1: tied MLP features that float32 rounding alone parted (no breaker).
fn rounding_in_the_toy_model(all: &[ExperimentRuns], macro_gap: f64) -> Evidence<String> {
    let Some(e1) = all.iter().find(|e| e.plan.experiment == named::E1_TOY) else {
        return Ok("no E1 runs to look for rounding in the toy model".into());
    };
    let mut parted = Vec::new();
    for (p, f) in e1.finished(group::SYMMETRY) {
        if let Some((step, _)) = first_above(&gap_trajectory(f)?, macro_gap) {
            parted.push(format!("{} seed {} at step {step}", p.variant, p.seed));
        }
    }
    Ok(if parted.is_empty() {
        format!("toy model without a breaker: no tied run's gap passed {macro_gap:.0e}")
    } else {
        format!(
            "toy model without a breaker, parted by float32 rounding alone (gap > \
             {macro_gap:.0e}): {}",
            parted.join(", ")
        )
    })
}

/// K5, "matches its random twin": for every breaker, H0 mean(breaker) - mean(He) <= -margin
/// against H1 above it (Welch, non-inferiority); every breaker must pass (an intersection: each
/// at alpha, no correction). Refuted when some breaker is shown more than `margin` below He
/// (Holm over the breakers). Unit: a distinct seed (init, data order, breaker draws).
impl Criterion for BreakerMatchesHe {
    fn statement(&self) -> String {
        let w = &self.weighing;
        format!(
            "every breaker's {} accuracy within {} of He (non-inferiority, one-sided Welch at \
             alpha {:.2} over at least {} distinct seeds, spreads floored at the test set's \
             binomial noise; every breaker must pass), once it has parted the channels (gap past \
             {:.0e}), levelled off (rise at most {} per epoch) and, if short of He, stopped \
             catching up with it at the high learning rate (closed at most {} per epoch over its \
             last quarter, but for one standard error); refuted when a breaker is shown more than \
             {} below He (Holm over the breakers); the run without a breaker more than {} below \
             He; He beats chance by {} and levelled off at its high learning rate",
            format!("{:?}", w.accuracy).to_lowercase(),
            self.margin,
            1.0 - w.confidence,
            w.min_seeds,
            self.macro_gap,
            w.plateau,
            self.catch_up,
            self.margin,
            self.margin,
            w.learned
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let w = &self.weighing;
        let he_runs = trained_he(j, e, w)?;
        let he = group(e, group::HE, w.accuracy)?
            .ok_or_else(|| Flaw::new(&e.plan.experiment, "no He runs"))?;
        let none = group(e, group::NO_BREAKER, w.accuracy)?
            .ok_or_else(|| Flaw::new(&e.plan.experiment, "no run without a breaker"))?;
        let control = Welch::of(&none, &he);
        let alpha = 1.0 - w.confidence;
        j.measure(format!(
            "He {}; ConstNet, no breaker {} ({})",
            acc_text(&he),
            acc_text(&none),
            control.interval(w.confidence).text()
        ));
        j.require(
            &format!(
                "without a breaker ConstNet stays more than {} below He",
                self.margin
            ),
            control.p_below(-self.margin) <= alpha,
            control.interval(w.confidence).text(),
            "the breakers have nothing to show at this budget",
        );
        j.runs(
            hashes(&he_runs)
                .into_iter()
                .chain(hashes(&e.finished(group::NO_BREAKER))),
        );
        let mut tests = Vec::new();
        for name in group::BREAKERS {
            if let Some(t) = judge_breaker(j, e, name, &he, self)? {
                tests.push((name, t));
            }
        }
        j.require_breakers(&tests.iter().map(|(g, _)| *g).collect::<Vec<_>>());
        let below: Vec<f64> = tests.iter().map(|(_, t)| t.p_below(-self.margin)).collect();
        let within: Vec<f64> = tests.iter().map(|(_, t)| t.p_above(-self.margin)).collect();
        if let Some(((g, t), _)) = tests.iter().zip(&within).max_by(|a, b| a.1.total_cmp(b.1)) {
            j.estimate(Estimate::bounded(
                format!("+{g} minus He"),
                &t.interval(w.confidence),
            ));
        }
        Ok(
            if let Some(i) = holm(&below, alpha).iter().position(|r| *r) {
                let (g, t) = &tests[i];
                Decision::Refuted(k5_shown_below(g, self.margin, &t.interval(w.confidence)))
            } else if !tests.is_empty() && all_of(&within) <= alpha {
                Decision::Holds
            } else {
                Decision::Undecided(k5_straddles(self.margin))
            },
        )
    }
}

/// One breaker's preconditions (seeds, channels parted, levelled off) and its accuracy against
/// He's; None if the experiment has no runs of it.
fn judge_breaker(
    j: &mut Judgement,
    e: &ExperimentRuns,
    name: &str,
    he: &Point,
    c: &BreakerMatchesHe,
) -> Evidence<Option<Welch>> {
    let w = &c.weighing;
    let runs = distinct(e.finished(name));
    let Some(acc) = group(e, name, w.accuracy)? else {
        return Ok(None);
    };
    require_seeds(j, name, runs.len(), w.min_seeds);
    for (run, f) in &runs {
        let t = gap_trajectory(f)?;
        j.require(
            &format!(
                "{name}, seed {}: the channels parted (gap past {:.0e})",
                run.seed, c.macro_gap
            ),
            first_above(&t, c.macro_gap).is_some(),
            format!(
                "largest gap {:.1e} in {} steps",
                largest(&t),
                f.summary.steps
            ),
            "a longer budget, for the breaker to act",
        );
    }
    require_levelled(j, name, &runs, w)?;
    let t = Welch::of(&acc, he);
    // A shortfall counts against the claim only once the breaker stopped catching up.
    if t.p_above(-c.margin) > 1.0 - w.confidence {
        let he_runs = distinct(e.finished(group::HE));
        require_caught_up(j, (name, &runs), ("He", &he_runs), c.catch_up, w)?;
    }
    j.measure(format!(
        "+{name} {} ({})",
        acc_text(&acc),
        t.interval(w.confidence).text()
    ));
    j.runs(hashes(&runs));
    Ok(Some(t))
}

impl Criterion for ConstNetAtInit {
    fn statement(&self) -> String {
        format!(
            "for every run without a breaker: at init every conv has exactly one distinct channel, \
             and the loss at step 0 is ln(classes) within {:.0e} (the closed form and the step-0 \
             gradients are checked by make test)",
            self.loss_tol
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let none = e.finished(group::NO_BREAKER);
        require_seeds(j, NO_BREAKER_RUNS, none.len(), 1);
        j.runs(hashes(&none));
        let mut broken = Vec::new();
        let mut most = 0;
        for (p, f) in &none {
            let layers = &f.summary.diversity_init;
            if layers.is_empty() {
                return Err(Flaw::new(
                    RunFiles(&f.dir).summary(),
                    "diversity_init lists no layers",
                ));
            }
            let step0 = f.steps.iter().find(|s| s.step == 0);
            let loss = step0
                .map(|s| s.loss)
                .ok_or_else(|| Flaw::new(RunFiles(&f.dir).steps(), "no record of step 0"))?;
            if !loss.is_finite() {
                return Err(Flaw::new(
                    RunFiles(&f.dir).steps(),
                    format!("the loss at step 0 is {loss}"),
                ));
            }
            let want = -chance(f)?.ln();
            let distinct: Vec<usize> = layers.iter().map(|l| l.distinct_exact).collect();
            most = distinct.iter().copied().fold(most, usize::max);
            j.measure(format!(
                "seed {}: loss at step 0 {loss:.6} vs ln(classes) {want:.6}; distinct channels per \
                 conv {distinct:?}",
                p.seed
            ));
            if distinct.iter().any(|&d| d != 1) || (loss - want).abs() > self.loss_tol {
                broken.push(format!("seed {}", p.seed));
            }
        }
        j.estimate(Estimate::exact(
            "most distinct channels of a conv at init",
            most as f64,
        ));
        Ok(if broken.is_empty() {
            Decision::Holds
        } else {
            Decision::Refuted(k6_not_at_init(&broken))
        })
    }
}

impl Criterion for SymmetryStays {
    fn statement(&self) -> String {
        format!(
            "in every run without a breaker (at least {} seeds) the largest channel gap over every \
             logged step and layer is exactly 0; the dropout runs, parted, show the measure sees a \
             gap",
            self.min_seeds
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let none = e.finished(group::NO_BREAKER);
        require_seeds(j, NO_BREAKER_RUNS, none.len(), self.min_seeds);
        let dropout = e.finished(group::DROPOUT);
        let control = largest_of(&dropout)?;
        j.require(
            "the dropout control parts the channels (gap > 0)",
            !dropout.is_empty() && control > 0.0,
            format!("largest gap {control:.2e}"),
            "add the dropout variant, or a longer budget",
        );
        let gap = largest_of(&none)?;
        let logged: usize = none.iter().map(|(_, f)| f.steps.len()).sum();
        j.estimate(Estimate::exact(
            "largest channel gap without a breaker",
            gap,
        ));
        j.measure(format!(
            "largest channel gap over {logged} logged steps of {} seeds (all layers): {gap:.1e}; \
             control with dropout: {control:.2e}",
            none.len()
        ));
        j.runs(hashes(&none));
        Ok(if gap == 0.0 {
            Decision::Holds
        } else {
            Decision::Refuted(k7_gap_opened(gap))
        })
    }
}

// The criteria and reasons of K4-K7 in words: templates, so the judges read as logic.

/// K4's criterion in words, with its thresholds, for its breaker (`b`).
fn k4_criterion(c: &RoundingBreaksSymmetry, b: RoundingBreaker) -> String {
    format!(
        "in every seed {} (first gap below {:.0e}) opens ConstNet's symmetry gap past {:.0e} \
         within the budget, while the run without it stays exactly symmetric",
        b.form(),
        c.rounding_gap,
        c.macro_gap
    )
}

/// Why K4 is not run: `missing` says what the runs lack (the skipped variants, or no device).
fn k4_without_gpu(missing: &str) -> String {
    format!(
        "K4 needs runs with the GPU's nondeterministic kernels and these runs have none \
         ({missing}); the CPU stand-in is judged apart as K4-cpu"
    )
}

/// K4 undecided: every seed's gap grew, but only `reached` of `seeds` passed `macro_gap`.
fn k4_out_of_budget(reached: usize, seeds: usize, macro_gap: f64) -> String {
    format!(
        "{reached} of {seeds} seeds passed {macro_gap:.0e}; the others grew but the budget ran \
         out: a longer run would decide"
    )
}

/// K5 undecided: some breaker's bound straddles the margin.
fn k5_straddles(margin: f64) -> String {
    format!(
        "a breaker is not shown within {margin} of He (its bound straddles -{margin}): more seeds \
         would decide"
    )
}

/// K4 refuted: in `stuck` of `seeds` seeds the breaker's gap never grew.
fn k4_never_grew(stuck: usize, seeds: usize) -> String {
    format!("in {stuck} of {seeds} seeds the gap did not grow at all")
}

/// K5 refuted: breaker `g` is shown more than `margin` below He, by `t`.
fn k5_shown_below(g: &str, margin: f64, t: &Interval) -> String {
    format!("+{g} is shown more than {margin} below He: {}", t.text())
}

/// K6 refuted: the runs not in ConstNet's state at init, each with why.
fn k6_not_at_init(broken: &[String]) -> String {
    format!("not ConstNet's state at init in {}", broken.join(", "))
}

/// K7 refuted: the largest gap a run without a breaker reached.
fn k7_gap_opened(gap: f64) -> String {
    format!("without a breaker the gap reached {gap:.2e}")
}
