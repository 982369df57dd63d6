//! Record sets drawn from a known truth, one builder per family of claims: each puts the
//! quantity a claim tests (a difference to He, a rise, a fraction of seeds, a trend, a log width
//! ratio) where a scenario says, draws every run's accuracy around it with a spread over seeds
//! plus the test set's binomial noise, and meets every precondition, so that the verdict depends
//! on the test alone.
use super::Rng;
use crate::claims::lab::{LEAKY, Lab, MLP, Story, WRN};
use crate::experiment::Criteria;
use crate::experiment::{group, named};
use crate::runs::ExperimentRuns;

/// The lab's test set: the binomial noise every drawn accuracy carries.
const N_TEST: f64 = 10_000.0;
/// He's accuracy in every draw: the toy model's and ConstNet's, as measured.
pub const HE: f64 = 0.87;
const CHANCE: f64 = 0.1;
/// Runs at chance, as a difference to He.
pub const CHANCE_DIFF: f64 = CHANCE - HE;
const NO_GAP: [f64; 5] = [0.0; 5];
/// A rounding-level breaker amplified past 1e-3.
pub const PARTED: [f64; 5] = [0.0, 5e-8, 1e-6, 1e-3 / 2.0, 2e-2];

/// How a draw's seeds spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seeds {
    /// Runs a group (the compared groups; baselines as their experiment has them).
    pub n: usize,
    /// Standard deviation of a run's accuracy over seeds (of its log width for K9), beside the
    /// test set's binomial noise.
    pub spread: f64,
}

/// One accuracy around `mu`: seed noise and the test set's binomial noise.
fn accuracy(rng: &mut Rng, mu: f64, spread: f64) -> f64 {
    let binomial = (mu * (1.0 - mu) / N_TEST).max(0.0).sqrt();
    (mu + spread * rng.normal() + binomial * rng.normal()).clamp(0.0, 1.0)
}

fn stories(rng: &mut Rng, n: usize, mu: f64, spread: f64, gaps: &[f64]) -> Vec<Story> {
    (0..n)
        .map(|_| Story::learned(accuracy(rng, mu, spread), gaps))
        .collect()
}

/// Runs stuck at chance: exactly 1 / classes, every evaluation.
fn at_chance(n: usize) -> Vec<Story> {
    (0..n)
        .map(|_| Story {
            curve: vec![CHANCE; 4],
            ..Story::learned(CHANCE, &NO_GAP)
        })
        .collect()
}

/// E1 for K1: He and tied k-unique:1 runs `diff` from He.
pub fn k1(c: &Criteria, s: Seeds, diff: f64, rng: &mut Rng) -> Vec<ExperimentRuns> {
    let he = stories(rng, s.n, HE, s.spread, &NO_GAP);
    let tied = stories(rng, s.n, HE + diff, s.spread, &NO_GAP);
    let lab = Lab::new(named::E1_TOY, c.clone(), MLP)
        .group(group::HE, group::HE, None, &[], &he)
        .group(group::K_CURVE, "tied K=1", Some(1.0), &[], &tied);
    vec![lab.e]
}

/// E1 for K2: a K curve from chance at K = 1 rising by `rise` to K = 256, monotone in log K.
pub fn k2(c: &Criteria, s: Seeds, rise: f64, rng: &mut Rng) -> Vec<ExperimentRuns> {
    let he = stories(rng, s.n, HE, s.spread, &NO_GAP);
    let mut lab =
        Lab::new(named::E1_TOY, c.clone(), MLP).group(group::HE, group::HE, None, &[], &he);
    for k in [1.0f64, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0] {
        let mu = CHANCE + 0.2 + rise * k.log2() / 8.0;
        let runs = stories(rng, s.n, mu, s.spread, &NO_GAP);
        lab = lab.group(group::K_CURVE, &format!("tied K={k}"), Some(k), &[], &runs);
    }
    vec![lab.e]
}

/// K3's small eps: each seed escapes chance with probability `escape`, the escaped `gap` from
/// He (the same truth at every small eps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Escapes {
    pub escape: f64,
    pub gap: f64,
}

/// E1 for K3: He, eps = 0 at chance, and the four small eps drawn from `t`.
pub fn k3(c: &Criteria, s: Seeds, t: Escapes, rng: &mut Rng) -> Vec<ExperimentRuns> {
    let he = stories(rng, 10, HE, s.spread, &NO_GAP);
    let mut lab = Lab::new(named::E1_TOY, c.clone(), MLP)
        .group(group::HE, group::HE, None, &[], &he)
        .group(group::EPS_CURVE, "eps=0", Some(0.0), &[], &at_chance(10));
    for eps in [0.01, 0.03, 0.1, 0.3] {
        let runs: Vec<Story> = (0..s.n)
            .map(|_| {
                if rng.uniform() < t.escape {
                    Story::learned(accuracy(rng, HE + t.gap, s.spread), &PARTED)
                } else {
                    at_chance(1).remove(0)
                }
            })
            .collect();
        lab = lab.group(
            group::EPS_CURVE,
            &format!("eps={eps}"),
            Some(eps),
            &[],
            &runs,
        );
    }
    vec![lab.e]
}

/// E2's truth: He's seeds, and each breaker's accuracy difference to He (None: not run).
#[derive(Debug, Clone, PartialEq)]
pub struct Breakers {
    /// dropout, grad-noise, init-noise, nondeterministic.
    pub diffs: [Option<f64>; 4],
}

/// E2 (and E4, analysing it): He, the run without a breaker well below it, each breaker.
pub fn e2(
    (c2, c4): (&Criteria, &Criteria),
    s: Seeds,
    b: &Breakers,
    rng: &mut Rng,
) -> Vec<ExperimentRuns> {
    let he = stories(rng, s.n, HE, s.spread, &NO_GAP);
    let mut none = stories(rng, 2, 0.5, s.spread, &NO_GAP);
    none.iter_mut().for_each(|s| s.identical_at_init = true);
    let mut lab = Lab::new(named::E2_CONSTNET, c2.clone(), WRN)
        .group(group::HE, group::HE, None, &[], &he)
        .group(group::NO_BREAKER, group::NO_BREAKER, None, &[], &none);
    for (g, diff) in group::BREAKERS.iter().zip(&b.diffs) {
        if let Some(d) = diff {
            let mut runs = stories(rng, s.n, HE + d, s.spread, &PARTED);
            runs.iter_mut()
                .for_each(|s| s.widths = vec![1.0, 20.0, 20.0, 20.0, 20.0]);
            lab = lab.group(g, g, None, &[], &runs);
        }
    }
    let mut e4 = Lab::new(named::E4_DIVERSITY, c4.clone(), WRN).e;
    e4.plan.analysis_of = vec![named::E2_CONSTNET.into()];
    vec![lab.e, e4]
}

/// Sets every final width of E2's runs: He's around 20, each breaker's `log_ratio` from it,
/// each run's log width spread by `spread`.
pub fn widths(exps: &mut [ExperimentRuns], log_ratio: &[f64; 4], spread: f64, rng: &mut Rng) {
    let groups =
        std::iter::once((group::HE, 0.0)).chain(group::BREAKERS.into_iter().zip(*log_ratio));
    for (g, r) in groups {
        for f in Lab::runs_mut(&mut exps[0], g) {
            let w = (20f64.ln() + r + spread * rng.normal()).exp();
            f.summary
                .diversity_final
                .iter_mut()
                .for_each(|l| l.width_participation = w);
        }
    }
}

/// E3 for K8: the authors' seven codes, the structured ones at `means` (in the order of
/// `CODES[1..]`), the random one near He.
pub fn k8(c: &Criteria, s: Seeds, means: &[f64; 6], rng: &mut Rng) -> Vec<ExperimentRuns> {
    let mut lab = Lab::new(named::E3_LEAKYNET, c.clone(), LEAKY);
    let all = std::iter::once(HE).chain(means.iter().copied());
    for ((code, reach), mu) in CODES.iter().zip(all) {
        let mut runs = stories(rng, s.n, mu, s.spread, &PARTED);
        runs.iter_mut().for_each(|s| s.reach = *reach);
        let set = format!("model.init={code:?}");
        lab = lab.group("code", code, None, &[set.as_str()], &runs);
    }
    vec![lab.e]
}

/// The authors' LeakyNet codes with the reach of a perturbation at init through each.
pub const CODES: [(&str, f64); 7] = [
    ("h_hhhh_hhhh_hhhh", 0.05),
    ("i_iiii_iiii_iiii", 1.0),
    ("1_iiii_iiii_iiii", 1.0),
    ("1_iiii_11ii_iiii", 0.0),
    ("1_iiii_1111_iiii", 0.0),
    ("1_ii11_ii11_ii11", 0.0),
    ("1_1111_1111_1111", 0.0),
];
