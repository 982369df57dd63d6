//! For every claim, the truths its calibration draws from: where its criterion's boundary is
//! (the worst case for "holds", and for "refuted", of each family its test controls), and the
//! declared effect its power is stated at. Seeds and spreads are those of the standard profile
//! as measured in the exploratory runs (docs/results.md).
use super::Declared;
use super::Rng;
use super::truths::{self, Breakers, CHANCE_DIFF, Escapes, Seeds};
use crate::claims::Verdict;
use crate::experiment::{ClaimId, Criteria, Weighing};
use crate::experiment::{group, named};
use crate::runs::ExperimentRuns;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The truth on the boundary (or on the wrong side): how often the verdict reads holds.
    SizeHolds,
    /// The truth on the holds side of the boundary: how often it reads refuted.
    SizeRefuted,
    /// The declared effect: how often it reads holds.
    Power,
}

impl Kind {
    /// The verdict a draw of this kind counts.
    pub fn counts(self) -> Verdict {
        match self {
            Kind::SizeHolds | Kind::Power => Verdict::Holds,
            Kind::SizeRefuted => Verdict::Refuted,
        }
    }
}

type Draw = Box<dyn Fn(&mut Rng) -> Vec<ExperimentRuns>>;

/// One truth of one claim, and how to draw a record set from it.
pub struct Scenario {
    pub id: ClaimId,
    pub kind: Kind,
    /// The claim's declared level (0: an exact check).
    pub alpha: f64,
    /// The truth in words.
    pub truth: String,
    pub draw: Draw,
}

fn scenario(id: ClaimId, kind: Kind, alpha: f64, truth: String, draw: Draw) -> Scenario {
    Scenario {
        id,
        kind,
        alpha,
        truth,
        draw,
    }
}

fn alpha(w: &Weighing) -> f64 {
    1.0 - w.confidence
}

fn need<'a, T>(c: &'a Option<T>, id: &str) -> Result<&'a T> {
    c.as_ref()
        .with_context(|| format!("the experiment that should declare {id} does not"))
}

/// Every claim's scenarios, built on the criteria the experiment files declare.
pub fn scenarios(d: &Declared) -> Result<Vec<Scenario>> {
    let (e1, e2, e3, e4) = (
        d.of(named::E1_TOY)?.clone(),
        d.of(named::E2_CONSTNET)?.clone(),
        d.of(named::E3_LEAKYNET)?.clone(),
        d.of(named::E4_DIVERSITY)?.clone(),
    );
    let mut out = toy(&e1)?;
    out.extend(constnet(&e2, &e4)?);
    out.extend(leakynet(&e3)?);
    out.extend(width(&e2, &e4)?);
    out.extend(exact(&e2, &e4)?);
    Ok(out)
}

fn toy(c: &Criteria) -> Result<Vec<Scenario>> {
    let mut out = toy_k1_k2(c)?;
    out.extend(toy_k3(c)?);
    Ok(out)
}

fn toy_k1_k2(c: &Criteria) -> Result<Vec<Scenario>> {
    let (k1, k2) = (need(&c.k1, "K1")?, need(&c.k2, "K2")?);
    let mut out = Vec::new();
    let s1 = Seeds {
        n: 10,
        spread: 0.005,
    };
    for (kind, diff, truth) in [
        (
            Kind::SizeHolds,
            -k1.margin,
            "tied runs exactly the margin below He",
        ),
        (
            Kind::SizeRefuted,
            -k1.margin,
            "tied runs exactly the margin below He",
        ),
        (
            Kind::Power,
            CHANCE_DIFF,
            "tied runs at chance (as measured)",
        ),
    ] {
        let c = c.clone();
        let draw: Draw = Box::new(move |r| truths::k1(&c, s1, diff, r));
        let text = format!("{truth}; {} seeds a group, spread {}", s1.n, s1.spread);
        out.push(scenario(ClaimId::K1, kind, alpha(&k1.weighing), text, draw));
    }
    let s2 = Seeds { n: 5, spread: 0.01 };
    for (kind, rise, truth) in [
        (
            Kind::SizeHolds,
            k2.growth,
            "a monotone K curve rising by exactly the growth",
        ),
        (
            Kind::SizeRefuted,
            k2.growth,
            "a monotone K curve rising by exactly the growth",
        ),
        (
            Kind::Power,
            0.55,
            "a monotone K curve rising by 0.55 (as measured)",
        ),
    ] {
        let c = c.clone();
        let draw: Draw = Box::new(move |r| truths::k2(&c, s2, rise, r));
        let text = format!("{truth}; {} seeds a K, spread {}", s2.n, s2.spread);
        out.push(scenario(ClaimId::K2, kind, alpha(&k2.weighing), text, draw));
    }
    Ok(out)
}

fn toy_k3(c: &Criteria) -> Result<Vec<Scenario>> {
    let k3 = need(&c.k3, "K3")?;
    let mut out = Vec::new();
    let s3 = Seeds {
        n: 20,
        spread: 0.02,
    };
    let (fraction, margin) = (k3.escape_fraction, k3.margin);
    for (kind, t, truth) in [
        (
            Kind::SizeHolds,
            Escapes {
                escape: fraction,
                gap: 0.0,
            },
            "at every small eps exactly the declared fraction escapes, at He's accuracy",
        ),
        (
            Kind::SizeHolds,
            Escapes {
                escape: 1.0,
                gap: -margin,
            },
            "at every small eps every seed escapes, exactly the margin below He",
        ),
        (
            Kind::SizeRefuted,
            Escapes {
                escape: fraction,
                gap: 0.0,
            },
            "at every small eps exactly the declared fraction escapes, at He's accuracy",
        ),
        (
            Kind::SizeRefuted,
            Escapes {
                escape: 1.0,
                gap: -margin,
            },
            "at every small eps every seed escapes, exactly the margin below He",
        ),
        (
            Kind::Power,
            Escapes {
                escape: 0.9,
                gap: -0.01,
            },
            "at every small eps 90% of seeds escape, 0.01 below He",
        ),
    ] {
        let c = c.clone();
        let draw: Draw = Box::new(move |r| truths::k3(&c, s3, t, r));
        let text = format!("{truth}; {} seeds an eps, spread {}", s3.n, s3.spread);
        out.push(scenario(ClaimId::K3, kind, alpha(&k3.weighing), text, draw));
    }
    Ok(out)
}

/// ConstNet's seeds in the standard profile: 3 a breaker, spread as measured.
const E2_SEEDS: Seeds = Seeds {
    n: 3,
    spread: 0.005,
};

fn e2_scenario(
    (id, kind, a): (ClaimId, Kind, f64),
    (c2, c4): (&Criteria, &Criteria),
    b: Breakers,
    truth: &str,
) -> Scenario {
    let (c2, c4) = (c2.clone(), c4.clone());
    let draw: Draw = Box::new(move |r| truths::e2((&c2, &c4), E2_SEEDS, &b, r));
    let text = format!(
        "{truth}; {} seeds a group, spread {}",
        E2_SEEDS.n, E2_SEEDS.spread
    );
    scenario(id, kind, a, text, draw)
}

fn constnet(c2: &Criteria, c4: &Criteria) -> Result<Vec<Scenario>> {
    let k5 = need(&c2.k5, "K5")?;
    let (m, a) = (-k5.margin, alpha(&k5.weighing));
    let cpu = |d: [f64; 3]| Breakers {
        diffs: [Some(d[0]), Some(d[1]), Some(d[2]), None],
    };
    Ok(vec![
        e2_scenario(
            (ClaimId::K5, Kind::SizeHolds, a),
            (c2, c4),
            cpu([m, 0.0, 0.0]),
            "one breaker exactly the margin below He, the others at He",
        ),
        e2_scenario(
            (ClaimId::K5, Kind::SizeRefuted, a),
            (c2, c4),
            cpu([m, m, m]),
            "every breaker exactly the margin below He",
        ),
        e2_scenario(
            (ClaimId::K5, Kind::Power, a),
            (c2, c4),
            cpu([0.0; 3]),
            "every breaker at He's accuracy",
        ),
    ])
}

fn leakynet(c: &Criteria) -> Result<Vec<Scenario>> {
    let k8 = need(&c.k8, "K8")?;
    let s = Seeds { n: 2, spread: 0.03 };
    let flat = [0.6; 6];
    let measured = [0.836, 0.836, 0.655, 0.516, 0.337, 0.383];
    let mut out = Vec::new();
    for (kind, means, truth) in [
        (
            Kind::SizeHolds,
            flat,
            "every structured code at one accuracy",
        ),
        (
            Kind::SizeRefuted,
            flat,
            "every structured code at one accuracy",
        ),
        (
            Kind::Power,
            measured,
            "accuracy by averaging layers as measured (0.84 ... 0.34)",
        ),
    ] {
        let c = c.clone();
        let draw: Draw = Box::new(move |r| truths::k8(&c, s, &means, r));
        let text = format!("{truth}; {} seeds a code, spread {}", s.n, s.spread);
        out.push(scenario(ClaimId::K8, kind, alpha(&k8.weighing), text, draw));
    }
    Ok(out)
}

fn width(c2: &Criteria, c4: &Criteria) -> Result<Vec<Scenario>> {
    let k9 = need(&c4.k9, "K9")?;
    let band = k9.width_factor.ln();
    let spread = 0.1;
    let mut out = Vec::new();
    for (kind, ratios, truth) in [
        (
            Kind::SizeHolds,
            [band, 0.0, 0.0, 0.0],
            "one breaker's width exactly the factor above He's",
        ),
        (
            Kind::SizeRefuted,
            [band, band, -band, 0.0],
            "two breakers exactly the factor above He's width, one below",
        ),
        (Kind::Power, [0.0; 4], "every breaker at He's width"),
    ] {
        let (c2, c4) = (c2.clone(), c4.clone());
        let b = Breakers {
            diffs: [Some(0.0), Some(0.0), Some(0.0), None],
        };
        let draw: Draw = Box::new(move |r| {
            let mut exps = truths::e2((&c2, &c4), E2_SEEDS, &b, r);
            truths::widths(&mut exps, &ratios, spread, r);
            exps
        });
        let text = format!(
            "{truth}; {} seeds a group, log width spread {spread}",
            E2_SEEDS.n
        );
        out.push(scenario(ClaimId::K9, kind, 1.0 - k9.confidence, text, draw));
    }
    Ok(out)
}

/// K4, K4-cpu, K6 and K7 check each run's records exactly: the boundary is a single
/// counter-example planted in a random run, which must never read holds.
fn exact(c2: &Criteria, c4: &Criteria) -> Result<Vec<Scenario>> {
    let k6 = need(&c2.k6, "K6")?.loss_tol;
    let gpu = Breakers {
        diffs: [Some(0.0), Some(0.0), Some(0.0), Some(0.0)],
    };
    let mut out = Vec::new();
    let plants: [(ClaimId, &str, Plant); 4] = [
        (
            ClaimId::K4,
            "one GPU seed never passes the macroscopic gap",
            stuck(group::NONDETERMINISTIC),
        ),
        (
            ClaimId::K4Cpu,
            "one gradient-noise seed never passes the macroscopic gap",
            stuck(group::GRAD_NOISE),
        ),
        (
            ClaimId::K6,
            "one seed's first loss off ln(classes) by more than the tolerance",
            wrong_loss(k6),
        ),
        (
            ClaimId::K7,
            "one seed without a breaker with a non-zero gap at one step",
            one_gap(),
        ),
    ];
    for (id, truth, plant) in plants {
        for (kind, planted) in [(Kind::SizeHolds, true), (Kind::Power, false)] {
            let (c2, c4, b, plant) = (c2.clone(), c4.clone(), gpu.clone(), plant.clone());
            let draw: Draw = Box::new(move |r| {
                let mut exps = truths::e2((&c2, &c4), E2_SEEDS, &b, r);
                if planted {
                    plant(&mut exps, r);
                }
                exps
            });
            let text = if planted {
                truth.to_string()
            } else {
                "every run as the claim says".into()
            };
            out.push(scenario(id, kind, 0.0, text, draw));
        }
    }
    Ok(out)
}

type Plant = std::rc::Rc<dyn Fn(&mut [ExperimentRuns], &mut Rng)>;

fn stuck(group: &'static str) -> Plant {
    std::rc::Rc::new(move |exps, r| {
        let runs = crate::claims::lab::Lab::runs_mut(&mut exps[0], group);
        let n = runs.len();
        if let Some(f) = runs.into_iter().nth(r.below(n)) {
            // From rounding level (5e-8) up to a top below the macroscopic level.
            let top = 1e-6 + r.uniform() * (1e-3 - 1e-6);
            let n = f.steps.len().max(2);
            for (i, s) in f.steps.iter_mut().enumerate().skip(1) {
                let g = 5e-8 * (top / 5e-8).powf((i - 1) as f64 / (n - 2).max(1) as f64);
                s.layers.iter_mut().for_each(|l| l.gap_abs = g);
            }
        }
    })
}

fn wrong_loss(tol: f64) -> Plant {
    std::rc::Rc::new(move |exps, r| {
        let runs = crate::claims::lab::Lab::runs_mut(&mut exps[0], group::NO_BREAKER);
        let n = runs.len();
        if let Some(f) = runs.into_iter().nth(r.below(n)) {
            let off = tol * (1.0 + 9.0 * r.uniform());
            f.steps[0].loss += if r.uniform() < 0.5 { off } else { -off };
        }
    })
}

fn one_gap() -> Plant {
    std::rc::Rc::new(|exps, r| {
        let runs = crate::claims::lab::Lab::runs_mut(&mut exps[0], group::NO_BREAKER);
        let n = runs.len();
        if let Some(f) = runs.into_iter().nth(r.below(n)) {
            let at = r.below(f.steps.len());
            f.steps[at].layers[0].gap_abs = 10f64.powf(-10.0 + 7.0 * r.uniform());
        }
    })
}
