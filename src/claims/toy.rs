//! K1, K2, K3 on the toy model (E1), each a stated test (docs/judging.md): identical features
//! harm training (superiority against He), accuracy rises with the number of unique features
//! (rank correlation and a rise, both required), and a small init noise counteracts the lack of
//! diversity (most seeds escape chance, and the escaped come within a margin of He).
use super::Criterion;
use super::acc_text;
use super::evidence::{
    Evidence, Runs, distinct, final_ulps, group, hashes, point, points, require_seeds,
};
use super::judge::{Decision, Estimate, Flaw, Judgement};
use super::pace::{catching_up, require_caught_up, require_levelled, trained_he};
use super::stats::{Binomial, Interval, Point, Welch, all_of, holm, spearman, spearman_p};
use crate::experiment::group;
use crate::experiment::{AccuracyRisesWithK, IdenticalFeaturesHarm, SmallNoiseSuffices, Weighing};
use crate::runs::ExperimentRuns;
use std::collections::BTreeSet;

/// How a criterion weighs its runs, in words.
pub fn weighing_text(w: &Weighing) -> String {
    format!(
        "{} accuracy; each test one-sided at alpha {:.2} over at least {} distinct seeds, every \
         group's spread floored at its test set's binomial noise; He beats chance by {} and rises \
         at most {} per epoch (but for one standard error) over the last quarter of its high \
         learning rate",
        format!("{:?}", w.accuracy).to_lowercase(),
        1.0 - w.confidence,
        w.min_seeds,
        w.learned,
        w.plateau
    )
}

/// The tied k-unique:1 runs without a breaker (K = 1 of the K curve, and the symmetry widths),
/// each once.
fn tied_runs(e: &ExperimentRuns) -> Runs<'_> {
    let mut seen = BTreeSet::new();
    e.finished(group::K_CURVE)
        .into_iter()
        .filter(|(p, _)| p.x == Some(1.0))
        .chain(e.finished(group::SYMMETRY))
        .filter(|(p, _)| seen.insert(p.hash.clone()))
        .collect()
}

fn width_of(p: &crate::experiment::PlannedRun) -> String {
    p.overrides
        .iter()
        .find_map(|o| o.strip_prefix("model.hidden="))
        .map_or_else(|| "256".into(), |h| h.trim_matches(['[', ']']).to_string())
}

/// K1, "harms training": H0 mean(tied) - mean(He) >= -margin against H1 below it (Welch,
/// one-sided at alpha); refuted by the mirror test (the tied runs no more than `margin` below
/// He). Unit: a seed, its tied runs whose features stayed identical averaged over the widths
/// (runs of one seed share their data order; runs with identical records count once). "Behaves
/// as a width-1 network" is the exact identity of tests/it/claim_k1_identity.rs, not a comparison
/// of accuracies: the plain width-1 net at the same rate trains differently and is only measured
/// beside it.
impl Criterion for IdenticalFeaturesHarm {
    fn statement(&self) -> String {
        format!(
            "harms training (superiority): tied k-unique:1 runs whose features stayed within {} \
             ulps fall more than {} below He (one-sided Welch test); refuted when they are shown \
             no more than {} below it. \"Behaves as a width-1 network\" is an exact identity, \
             checked by make test (tests/it/claim_k1_identity.rs: the tied net equals a \
             reparametrized width-1 net step for step); the plain width-1 net at the same rate is \
             measured, not judged ({})",
            self.drift_bound_ulps,
            self.margin,
            self.margin,
            weighing_text(&self.weighing)
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let w = &self.weighing;
        let he_runs = trained_he(j, e, w)?;
        let (kept, parted) = kept_identical(e, self)?;
        let tied = per_seed(&kept, w)?;
        require_seeds(
            j,
            "seeds of tied runs that stayed identical",
            tied.accs.len(),
            w.min_seeds,
        );
        let he = point(0.0, &he_runs, w.accuracy)?;
        let t = Welch::of(&tied, &he);
        j.estimate(Estimate::bounded(
            "tied minus He",
            &t.interval(w.confidence),
        ));
        j.measure(format!(
            "tied k-unique:1 that stayed identical {} ({} distinct runs, {} seeds) vs He {}: \
             difference {}",
            acc_text(&tied),
            kept.len(),
            tied.accs.len(),
            acc_text(&he),
            t.interval(w.confidence).text()
        ));
        if !parted.is_empty() {
            j.measure(format!(
                "left out, parted by float32 rounding (K4-cpu evidence): {}",
                parted.join(", ")
            ));
        }
        let width1 = distinct(e.finished(group::WIDTH_1));
        if !width1.is_empty() {
            let one = point(0.0, &width1, w.accuracy)?;
            j.measure(format!(
                "beside it, not judged: a plain width-1 net at the same rate {} (tied minus it {})",
                acc_text(&one),
                Welch::of(&tied, &one).interval(w.confidence).text()
            ));
        }
        if let Some(untied) = group(e, group::UNTIED, w.accuracy)? {
            j.measure(format!("control: untied k-unique:1 {}", acc_text(&untied)));
        }
        j.runs(hashes(&kept).into_iter().chain(hashes(&he_runs)));
        let alpha = 1.0 - w.confidence;
        Ok(if t.p_below(-self.margin) <= alpha {
            Decision::Holds
        } else if t.p_above(-self.margin) <= alpha {
            Decision::Refuted(k1_no_harm(self.margin, &t.interval(w.confidence)))
        } else {
            Decision::Undecided(k1_straddles(&t.interval(w.confidence), self.margin))
        })
    }
}

/// The tied runs whose features stayed identical, and the others in words.
fn kept_identical<'a>(
    e: &'a ExperimentRuns,
    c: &IdenticalFeaturesHarm,
) -> Evidence<(Runs<'a>, Vec<String>)> {
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
    Ok((distinct(kept), parted))
}

/// One accuracy a seed, the mean over the widths a seed was trained at: runs of one seed share
/// their data order, so a seed, not a run, is the replicate.
fn per_seed(runs: &Runs, w: &Weighing) -> Evidence<Point> {
    let mut by_seed: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (p, f) in runs {
        let acc = super::evidence::accuracy(f, w.accuracy)?;
        by_seed.entry(p.seed).or_default().push(acc);
    }
    let means = by_seed
        .into_values()
        .map(|a| a.iter().sum::<f64>() / a.len() as f64)
        .collect();
    let n_test = runs.first().map_or(0, |(_, f)| f.data.test);
    Ok(Point::accuracies(0.0, means, n_test))
}

/// K2: holds when both Spearman's rho(K, accuracy) > 0 and the rise from the smallest K to the
/// largest > `growth` are shown at alpha (an intersection: each test at alpha, no correction),
/// with the smallest K no longer catching up with the largest; refuted when either contrary
/// (rise < growth, rho < 0) is shown, Holm over the two. Unit: a distinct run.
impl Criterion for AccuracyRisesWithK {
    fn statement(&self) -> String {
        format!(
            "accuracy rises with K: Spearman rho(K, accuracy) over every distinct run above 0 and \
             the rise from the smallest K to the largest above {} (Welch), each one-sided; the \
             smallest K stopped catching up with the largest at the high learning rate; refuted \
             when the rise is shown below {} or rho below 0 (Holm over the two) ({})",
            self.growth,
            self.growth,
            weighing_text(&self.weighing)
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let w = &self.weighing;
        trained_he(j, e, w)?;
        let curve = points(e, group::K_CURVE, w.accuracy)?;
        j.require(
            "three or more values of K",
            curve.len() >= 3,
            format!("{}", curve.len()),
            "add K values to the experiment",
        );
        for p in &curve {
            require_seeds(j, &format!("K = {}", p.x), p.accs.len(), w.min_seeds);
        }
        j.runs(hashes(&e.finished(group::K_CURVE)));
        j.measure(format!("accuracy by K: {}", curve_text(&curve)));
        let (Some(lo), Some(hi)) = (curve.first(), curve.last()) else {
            return Ok(Decision::Undecided(K2_NO_CURVE.into()));
        };
        let (ks, accs): (Vec<f64>, Vec<f64>) = curve
            .iter()
            .flat_map(|p| p.accs.iter().map(move |a| (p.x, *a)))
            .unzip();
        let rho = spearman(&ks, &accs);
        let rise = Welch::of(hi, lo);
        let (p_up, p_down) = (spearman_p(&ks, &accs, false), spearman_p(&ks, &accs, true));
        j.estimate(Estimate::bounded(
            format!("rise from K = {} to K = {}", lo.x, hi.x),
            &rise.interval(w.confidence),
        ));
        j.measure(format!(
            "Spearman rho(K, accuracy) = {rho:.2} over {} runs (permutation p {p_up:.4}); rise \
             from K = {} to K = {}: {}",
            ks.len(),
            lo.x,
            hi.x,
            rise.interval(w.confidence).text()
        ));
        let alpha = 1.0 - w.confidence;
        let holds = all_of(&[p_up, rise.p_above(self.growth)]);
        let contrary = [rise.p_below(self.growth), p_down];
        Ok(if holds <= alpha {
            let (name, base) = (format!("K = {}", lo.x), format!("K = {}", hi.x));
            let runs = |x: f64| -> Runs {
                distinct(
                    e.finished(group::K_CURVE)
                        .into_iter()
                        .filter(|(p, _)| p.x == Some(x))
                        .collect(),
                )
            };
            require_caught_up(
                j,
                (&name, &runs(lo.x)),
                (&base, &runs(hi.x)),
                self.catch_up,
                w,
            )?;
            Decision::Holds
        } else if holm(&contrary, alpha).contains(&true) {
            Decision::Refuted(k2_no_rise(&rise.interval(w.confidence), self.growth, rho))
        } else {
            Decision::Undecided(k2_unsettled(rho, &rise.interval(w.confidence)))
        })
    }
}

fn curve_text(c: &[Point]) -> String {
    c.iter()
        .map(|p| format!("{}: {}", p.x, acc_text(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The distinct eps-curve runs at noise `x`.
fn eps_runs(e: &ExperimentRuns, x: f64) -> Runs<'_> {
    distinct(
        e.finished(group::EPS_CURVE)
            .into_iter()
            .filter(|(r, _)| r.x == Some(x))
            .collect(),
    )
}

/// One small eps judged in K3's two parts: which seeds escaped chance, and how the escaped
/// compare with He.
struct Escape {
    eps: f64,
    escaped: Binomial,
    /// The escaped seeds against He, None with fewer than two escaped.
    gap: Option<Welch>,
}

impl Escape {
    fn of(
        x: f64,
        runs: &Runs,
        he: &Point,
        c: &SmallNoiseSuffices,
        chance: f64,
    ) -> Evidence<Escape> {
        let all = point(x, runs, c.weighing.accuracy)?;
        let escaped: Runs = runs
            .iter()
            .zip(&all.accs)
            .filter(|(_, a)| **a >= chance + c.escaped_above)
            .map(|(r, _)| *r)
            .collect();
        let gap = (escaped.len() >= 2)
            .then(|| point(x, &escaped, c.weighing.accuracy).map(|p| Welch::of(&p, he)))
            .transpose()?;
        Ok(Escape {
            eps: x,
            escaped: Binomial {
                k: escaped.len(),
                n: runs.len(),
            },
            gap,
        })
    }

    /// The p-value of "this eps counteracts": both parts, an intersection.
    fn p_holds(&self, c: &SmallNoiseSuffices) -> f64 {
        let gap = self.gap.map_or(1.0, |g| g.p_above(-c.margin));
        all_of(&[self.escaped.p_above(c.escape_fraction), gap])
    }

    /// The p-value of "this eps fails": either part shown contrary, Holm over the two.
    fn p_fails(&self, c: &SmallNoiseSuffices) -> f64 {
        let gap = self.gap.map_or(1.0, |g| g.p_below(-c.margin));
        (2.0 * self.escaped.p_below(c.escape_fraction).min(gap)).min(1.0)
    }

    /// The part of "this eps counteracts" with the weaker evidence, as the number to show.
    fn estimate(&self, c: &SmallNoiseSuffices) -> Estimate {
        let confidence = c.weighing.confidence;
        let fraction = self.escaped.p_above(c.escape_fraction);
        match self.gap {
            Some(g) if g.p_above(-c.margin) >= fraction => Estimate::bounded(
                format!("eps = {}: escaped minus He", self.eps),
                &g.interval(confidence),
            ),
            _ => {
                let (lo, hi) = self.escaped.bounds(confidence);
                Estimate::bounded(
                    format!("eps = {}: fraction of seeds escaped", self.eps),
                    &Interval {
                        diff: self.escaped.k as f64 / self.escaped.n.max(1) as f64,
                        lo,
                        hi,
                    },
                )
            }
        }
    }

    fn text(&self, confidence: f64) -> String {
        let (lo, hi) = self.escaped.bounds(confidence);
        let gap = self.gap.map_or("fewer than two escaped".into(), |g| {
            g.interval(confidence).text()
        });
        format!(
            "{}: {} of {} seeds escaped [{lo:.2}, {hi:.2}], escaped minus He {gap}",
            self.eps, self.escaped.k, self.escaped.n
        )
    }
}

/// K3: for some eps in (0, small_eps], (a) the fraction of seeds that escape chance is above
/// `escape_fraction` (exact binomial test) and (b) the escaped seeds' accuracy is above He's
/// minus `margin` (Welch, non-inferiority); (a) and (b) an intersection, the eps a family under
/// Holm. Refuted when every small eps fails one part (Holm over its two, an intersection over
/// the eps) and has stopped catching up with He. Unit: a distinct seed.
impl Criterion for SmallNoiseSuffices {
    fn statement(&self) -> String {
        format!(
            "for some eps in (0, {}] (Holm over them): more than {} of the seeds escape chance \
             (accuracy above chance by {}; exact binomial test) and the escaped come within {} of \
             He (Welch, non-inferiority); eps = 0 stays more than {} below He; refuted when every \
             small eps fails a part and has stopped catching up with He (closed at most {} per \
             epoch of its gap over the last quarter of the high learning rate) ({})",
            self.small_eps,
            self.escape_fraction,
            self.escaped_above,
            self.margin,
            self.margin,
            self.catch_up,
            weighing_text(&self.weighing)
        )
    }

    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision> {
        let w = &self.weighing;
        let he_runs = trained_he(j, e, w)?;
        let Some((_, first)) = he_runs.first() else {
            return Err(Flaw::new(&e.plan.experiment, "no He runs"));
        };
        let chance = super::evidence::chance(first)?;
        let he = point(0.0, &he_runs, w.accuracy)?;
        let curve = points(e, group::EPS_CURVE, w.accuracy)?;
        j.measure(format!(
            "He {}; tied k-unique:1 + eps: {}",
            acc_text(&he),
            curve_text(&curve)
        ));
        j.runs(
            hashes(&he_runs)
                .into_iter()
                .chain(hashes(&e.finished(group::EPS_CURVE))),
        );
        require_control(j, &curve, &he, self);
        let small: Vec<f64> = curve
            .iter()
            .map(|p| p.x)
            .filter(|x| *x > 0.0 && *x <= self.small_eps)
            .collect();
        j.require(
            &format!("eps values in (0, {}]", self.small_eps),
            !small.is_empty(),
            format!("{}", small.len()),
            "add small eps values to the experiment",
        );
        let mut judged = Vec::new();
        for &x in &small {
            let runs = eps_runs(e, x);
            require_seeds(j, &format!("eps = {x}"), runs.len(), w.min_seeds);
            require_levelled(j, &format!("eps = {x}"), &runs, w)?;
            judged.push(Escape::of(x, &runs, &he, self, chance)?);
        }
        j.measure(format!(
            "small eps: {}",
            judged
                .iter()
                .map(|s| s.text(w.confidence))
                .collect::<Vec<_>>()
                .join("; ")
        ));
        decide_k3(j, e, self, (&judged, &he_runs))
    }
}

/// eps = 0 must stay more than the margin below He: else there is nothing to counteract.
fn require_control(j: &mut Judgement, curve: &[Point], he: &Point, c: &SmallNoiseSuffices) {
    let control = curve.iter().find(|p| p.x == 0.0).map(|p| Welch::of(p, he));
    j.require(
        &format!(
            "without noise (eps = 0) tied k-unique:1 stays more than {} below He",
            c.margin
        ),
        control.is_some_and(|t| t.p_below(-c.margin) <= 1.0 - c.weighing.confidence),
        control.map_or("no eps = 0 runs".into(), |t| {
            t.interval(c.weighing.confidence).text()
        }),
        "nothing to counteract at this budget: check the eps = 0 runs",
    );
}

fn decide_k3(
    j: &mut Judgement,
    e: &ExperimentRuns,
    c: &SmallNoiseSuffices,
    (judged, he_runs): (&[Escape], &Runs),
) -> Evidence<Decision> {
    let alpha = 1.0 - c.weighing.confidence;
    let holding: Vec<f64> = judged.iter().map(|s| s.p_holds(c)).collect();
    if let Some(best) = judged
        .iter()
        .zip(&holding)
        .min_by(|a, b| a.1.total_cmp(b.1))
    {
        j.estimate(best.0.estimate(c));
    }
    if let Some(i) = holm(&holding, alpha).iter().position(|r| *r) {
        j.measure(format!("eps = {} counteracts it", judged[i].eps));
        return Ok(Decision::Holds);
    }
    let failing: Vec<f64> = judged.iter().map(|s| s.p_fails(c)).collect();
    if !judged.is_empty() && all_of(&failing) <= alpha {
        // A shortfall counts against the claim only once the eps stopped catching up.
        for s in judged {
            let name = format!("eps = {}", s.eps);
            require_caught_up(
                j,
                (&name, &eps_runs(e, s.eps)),
                ("He", he_runs),
                c.catch_up,
                &c.weighing,
            )?;
        }
        return Ok(Decision::Refuted(k3_every_eps_fails(c)));
    }
    measure_catch_up(j, e, (judged, he_runs), &c.weighing)?;
    Ok(Decision::Undecided(k3_neither_shown(judged.len(), alpha)))
}

/// How fast each small eps still closed on He at the end of the high learning rate: what more
/// seeds alone would not settle, said beside bounds they would narrow.
fn measure_catch_up(
    j: &mut Judgement,
    e: &ExperimentRuns,
    (judged, he): (&[Escape], &Runs),
    w: &Weighing,
) -> Evidence<()> {
    let mut closing = Vec::new();
    for s in judged {
        if let Some(u) = catching_up(he, &eps_runs(e, s.eps), w.accuracy)? {
            closing.push(format!(
                "{}: {:+.4} per epoch, {:.3} behind",
                s.eps, u.per_epoch.mean, u.left
            ));
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

/// K3 refuted: why, with its thresholds.
fn k3_every_eps_fails(c: &SmallNoiseSuffices) -> String {
    format!(
        "every eps up to {} fails: too few seeds escape chance, or the escaped stay more than {} \
         below He",
        c.small_eps, c.margin
    )
}

/// K3 undecided: neither a small eps that counteracts nor every one failing is shown, over
/// `eps` of them.
fn k3_neither_shown(eps: usize, alpha: f64) -> String {
    format!(
        "no small eps is shown to counteract (Holm over {eps} at alpha {alpha:.2}), nor every one \
         shown to fail; more seeds would narrow the bounds"
    )
}

/// K1 refuted: the tied runs are shown no more than `margin` below He, by `t`.
fn k1_no_harm(margin: f64, t: &Interval) -> String {
    format!(
        "the tied runs are shown no more than {margin} below He: {}",
        t.text()
    )
}

/// K1 undecided: tied minus He, `t`, straddles -`margin`.
fn k1_straddles(t: &Interval, margin: f64) -> String {
    format!(
        "tied minus He {} straddles -{margin}; more seeds would decide",
        t.text()
    )
}

/// K2 undecided: the experiment has no K curve.
const K2_NO_CURVE: &str = "no K curve";

/// K2 refuted: a rise of at most `growth` or a falling rho is shown.
fn k2_no_rise(rise: &Interval, growth: f64, rho: f64) -> String {
    format!(
        "accuracy does not rise with K: rise {} (needs more than {growth}), rho {rho:.2}",
        rise.text()
    )
}

/// K2 undecided: neither the rise nor its contrary is shown.
fn k2_unsettled(rho: f64, rise: &Interval) -> String {
    format!(
        "rho {rho:.2} and rise {} do not settle it; more seeds would",
        rise.text()
    )
}
