//! K8 on LeakyNet (E3): channel-averaging layers erase a perturbation at init, and accuracy falls
//! with their number.
use super::Criterion;
use super::acc_text;
use super::evidence::{Evidence, distinct, hashes, point, require_seeds};
use super::judge::{Decision, Estimate, Flaw, Judgement};
use super::pace::{require_caught_up, require_trained};
use super::stats::{Point, spearman, spearman_p};
use crate::config::{LeakyCode, ModelSpec};
use crate::experiment::{AveragingHinders, PlannedRun};
use crate::records::RunFiles;
use crate::runs::{ExperimentRuns, Finished};

/// One init code's runs and its evidence.
struct Code<'a> {
    code: LeakyCode,
    runs: Vec<(&'a PlannedRun, &'a Finished)>,
    acc: Point,
    /// The perturbation's reach at init to the last activation, per seed.
    reach: Vec<f64>,
}

/// The init code of a LeakyNet run, from its config.
fn code_of(p: &PlannedRun) -> Evidence<LeakyCode> {
    let flaw = |what: String| Flaw::new(format!("plan of {}, run {}", p.experiment, p.hash), what);
    match p.config().map_err(|e| flaw(format!("{e:#}")))?.model.spec {
        ModelSpec::LeakyNet(l) => Ok(l.code),
        ModelSpec::Mlp { .. } | ModelSpec::Wrn(_) => Err(flaw("not a LeakyNet run".into())),
    }
}

/// The reach at init of the perturbation injected at the stem's output, to the last activation.
fn reach_at_init(f: &Finished) -> Evidence<f64> {
    let file = || RunFiles(&f.dir).steps();
    let p = f
        .perturbations
        .iter()
        .find(|p| p.step == 0)
        .ok_or_else(|| {
            Flaw::new(
                file(),
                "no perturbation record at step 0 (record.perturbation)",
            )
        })?;
    let r = p
        .reach
        .last()
        .ok_or_else(|| Flaw::new(file(), "the perturbation record at step 0 lists no layer"))?;
    if r.ratio.is_finite() {
        Ok(r.ratio)
    } else {
        Err(Flaw::new(
            file(),
            format!("the reach at step 0 is {}", r.ratio),
        ))
    }
}

fn codes<'a>(e: &'a ExperimentRuns, c: &AveragingHinders) -> Evidence<Vec<Code<'a>>> {
    let mut out = Vec::new();
    for (_, runs) in e.by_variant() {
        let Some((first, _)) = runs.first() else {
            continue;
        };
        let code = code_of(first)?;
        let runs = distinct(runs);
        let acc = point(0.0, &runs, c.weighing.accuracy)?;
        let reach = runs
            .iter()
            .map(|(_, f)| reach_at_init(f))
            .collect::<Evidence<_>>()?;
        out.push(Code {
            code,
            runs,
            acc,
            reach,
        });
    }
    Ok(out)
}

/// Whether the mechanism holds at init: every averaging code erases, every identity code passes.
fn erasure(codes: &[Code], c: &AveragingHinders) -> Result<(), String> {
    for k in codes.iter().filter(|k| !k.code.has_random()) {
        let worst = |f: fn(f64, f64) -> f64, init| k.reach.iter().copied().fold(init, f);
        if k.code.averaging_layers() > 0 && worst(f64::max, 0.0) >= c.erase_below {
            return Err(format!(
                "{} does not erase it: reach {:.1e}",
                k.code,
                worst(f64::max, 0.0)
            ));
        }
        if k.code.averaging_layers() == 0 && worst(f64::min, f64::INFINITY) <= c.pass_above {
            return Err(format!(
                "{} does not pass it: reach {:.1e}",
                k.code,
                worst(f64::min, f64::INFINITY)
            ));
        }
    }
    Ok(())
}

/// K8: (a) at init a perturbation is erased by any averaging layer and passed by identities
/// (an exact statement about each run's records); (b) accuracy falls with the number of
/// averaging layers: H0 Spearman rho(averaging layers, accuracy) >= 0 against H1 below 0, over
/// the distinct runs of the structured codes (one test; a code that is the same function as
/// another on these inputs, such as a 1/C_in centre tap on one channel, trains byte-identical
/// runs and counts once); with the identity codes trained and each averaging code no longer
/// catching up with them. Refuted by rho shown above 0 or the mechanism failing at init.
impl Criterion for AveragingHinders {
    fn statement(&self) -> String {
        let w = &self.weighing;
        format!(
            "at init a perturbation at the stem's output reaches the last layer below {:.0e} \
             through any averaging layer and above {} through identities only; over the structured \
             codes' distinct runs, Spearman rho(averaging layers, {} accuracy) below 0 (one-sided \
             permutation test at alpha {:.2}); the identity codes beat chance by {} and level off \
             (at most {} per epoch but for one standard error), and each averaging code has \
             stopped catching up with them at the high learning rate (closed at most {} per epoch \
             over its last quarter) (at least {} distinct seeds a code)",
            self.erase_below,
            self.pass_above,
            format!("{:?}", w.accuracy).to_lowercase(),
            1.0 - w.confidence,
            w.learned,
            w.plateau,
            self.catch_up,
            w.min_seeds
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let codes = codes(e, self)?;
        for k in &codes {
            require_seeds(
                j,
                &k.code.to_string(),
                k.runs.len(),
                self.weighing.min_seeds,
            );
            j.measure(format!(
                "{} ({} avg) {}, reach at init {:.1e}",
                k.code,
                k.code.averaging_layers(),
                acc_text(&k.acc),
                k.reach.iter().copied().fold(0.0, f64::max)
            ));
            j.runs(hashes(&k.runs));
        }
        let structured: Vec<&Code> = codes.iter().filter(|k| !k.code.has_random()).collect();
        let identity: Vec<_> = structured
            .iter()
            .filter(|k| k.code.averaging_layers() == 0)
            .flat_map(|k| k.runs.iter().copied())
            .collect();
        let identity = distinct(identity);
        require_trained(j, "the identity codes", &identity, &self.weighing)?;
        if let Err(why) = erasure(&codes, self) {
            return Ok(Decision::Refuted(k8_not_erased(&why)));
        }
        let pooled = distinct(
            structured
                .iter()
                .flat_map(|k| k.runs.iter().copied())
                .collect(),
        );
        let (n_avg, accs) = trend(&structured, &pooled, self)?;
        let rho = spearman(&n_avg, &accs);
        let (p_fall, p_rise) = (
            spearman_p(&n_avg, &accs, true),
            spearman_p(&n_avg, &accs, false),
        );
        j.estimate(Estimate::tested(
            "Spearman rho(averaging layers, accuracy)",
            rho,
            p_fall,
        ));
        j.measure(format!(
            "erasure at init holds; Spearman rho(averaging layers, accuracy) = {rho:.2} over {} \
             distinct runs of {} structured codes (permutation p {p_fall:.4})",
            n_avg.len(),
            structured.len()
        ));
        let alpha = 1.0 - self.weighing.confidence;
        Ok(if p_fall <= alpha {
            // A shortfall counts for the claim only once the averaging codes stopped catching up.
            for k in structured.iter().filter(|k| k.code.averaging_layers() > 0) {
                let name = k.code.to_string();
                let baseline = ("the identity codes", &identity);
                require_caught_up(j, (&name, &k.runs), baseline, self.catch_up, &self.weighing)?;
            }
            Decision::Holds
        } else if p_rise <= alpha {
            Decision::Refuted(k8_rises(rho))
        } else if rho.is_nan() {
            Decision::Undecided(K8_NO_SPREAD.into())
        } else {
            Decision::Undecided(k8_fall_not_shown(rho, p_fall))
        })
    }
}

/// The (averaging layers, accuracy) pairs of the pooled distinct structured runs.
fn trend(
    structured: &[&Code],
    pooled: &[(&PlannedRun, &Finished)],
    c: &AveragingHinders,
) -> Evidence<(Vec<f64>, Vec<f64>)> {
    let mut pairs = (Vec::new(), Vec::new());
    for (p, f) in pooled {
        let Some(k) = structured
            .iter()
            .find(|k| k.runs.iter().any(|(r, _)| r.hash == p.hash))
        else {
            continue;
        };
        pairs.0.push(k.code.averaging_layers() as f64);
        pairs
            .1
            .push(super::evidence::accuracy(f, c.weighing.accuracy)?);
    }
    Ok(pairs)
}

/// K8 undecided: the fall of accuracy with the averaging layers is not shown.
fn k8_fall_not_shown(rho: f64, p_fall: f64) -> String {
    format!(
        "rho {rho:.2} is not shown below 0 (p {p_fall:.2e}): more seeds or a longer budget would \
         decide"
    )
}

/// K8 refuted: at init the averaging layers did not erase the perturbation (`why`).
fn k8_not_erased(why: &str) -> String {
    format!("the mechanism fails at init: {why}")
}

/// K8 refuted: accuracy is shown to rise with the averaging layers (Spearman's `rho`).
fn k8_rises(rho: f64) -> String {
    format!("accuracy rises with the averaging layers: rho {rho:.2}")
}

/// K8 undecided: no spread of accuracy to rank the codes by.
const K8_NO_SPREAD: &str = "every structured code reached the same accuracy";
