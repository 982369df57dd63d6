//! K1, symmetric dynamics: with tied `k-unique:1` and no breaker, hidden features that start
//! identical stay identical. Exactly, where the float32 kernels treat all features alike; within
//! drift_bound_ulps() elsewhere (SIMD-tail units, docs/paper.md, arithmetic), and such drift is
//! reported. Negative control: every breaker on the same configuration breaks the symmetry beyond
//! that bound.
use crate::common;

use featdiv::config::Config;
use featdiv::data::Dataset;
use featdiv::metrics::largest_gap;
use featdiv::train::Outcome;
use proptest::prelude::*;

thread_local! {
    // Tensors are not Sync: each test thread loads the (small) fixture once.
    static DATA: &'static Dataset = Box::leak(Box::new(common::fashion_small()));
}

fn data() -> &'static Dataset {
    DATA.with(|d| *d)
}

/// Tied `k-unique:1` (or `init`) at `width` x `depth` for 30 steps, with `extra` overrides.
fn probe(init: &str, (width, depth, batch, seed, lr): Case, extra: &[&str]) -> Config {
    let hidden = format!("model.hidden={:?}", vec![width; depth]);
    let batch = format!("train.batch_size={batch}");
    let lr = format!("train.lr={lr}");
    let mut sets = vec![
        hidden.as_str(),
        batch.as_str(),
        lr.as_str(),
        "train.steps=30",
        "train.epochs=0",
    ];
    sets.extend_from_slice(extra);
    common::toy(init, seed, &sets)
}

/// width, depth, batch, seed, lr
type Case = (usize, usize, usize, u64, f64);

/// How a breaker parts the features, which decides where it must.
#[derive(Clone, Copy, PartialEq)]
enum Acts {
    /// At init (init noise, untied rows): the features start 1e-2 of the He std apart, about
    /// 1e5 ulps, and symmetric dynamics cannot bring two different rows back within the drift
    /// bound in 30 steps, so these must exceed it in every case.
    AtInit,
    /// Only through gradients (dropout, gradient noise relative to the gradient): it parts two
    /// features only on a (sample, step) where they are active and it treats them differently.
    /// Where ReLU leaves the tied feature active on a handful of draws (it dies after a large
    /// step, say), every one of them can treat them alike: with dropout 0.1 on width 4, two in
    /// three draws do. The deep run found such a case (width 4, batch 15, seed 544, lr 0.046):
    /// dropout left the gap exactly 0, with features that had moved. So in the property these
    /// are reported where they did not part the features, and asserted on the fixed live
    /// networks of every_breaker_breaks_a_learning_network.
    InTraining,
}

/// The breakers of the toy model, at sizes that must break the symmetry.
fn breakers(case: Case) -> Vec<(&'static str, Acts, Config)> {
    vec![
        (
            "dropout 0.1",
            Acts::InTraining,
            probe("k-unique:1", case, &["breakers.dropout=0.1"]),
        ),
        (
            "init noise 0.01",
            Acts::AtInit,
            probe("k-unique:1", case, &["breakers.init_noise=0.01"]),
        ),
        (
            "grad noise 0.01",
            Acts::InTraining,
            probe("k-unique:1", case, &["breakers.grad_noise=0.01"]),
        ),
        (
            "untied",
            Acts::AtInit,
            probe("k-unique-untied:1", case, &[]),
        ),
    ]
}

/// Ulps tied features may drift and still count as identical: K1's criterion in e1-toy.toml.
fn drift_bound_ulps() -> u64 {
    common::criteria("e1-toy.toml")
        .k1
        .expect("E1 declares K1")
        .drift_bound_ulps
}

fn run(cfg: &Config) -> Outcome {
    common::outcome(cfg, data())
}

fn final_gap(o: &Outcome) -> (f64, u64) {
    largest_gap(&o.diversity_final)
}

proptest! {
    // Each case trains 5 small models for 30 steps (~0.2 s): 24 cases keep this file near 10 s.
    #![proptest_config(common::proptest_config(24, "proptest-regressions/claim_k1_symmetry.txt"))]

    #[test]
    fn tied_features_stay_identical_without_a_breaker(
        width in 2usize..300,
        depth in 1usize..3,
        batch in 1usize..160,
        seed in 0u64..1_000,
        lr in 0.005f64..0.05,
    ) {
        let case = (width, depth, batch, seed, lr);
        // A run whose loss diverged (tiny batches at the larger rates) is outside the property:
        // its gap is undefined, so the case is rejected rather than judged.
        let o = common::try_outcome(&probe("k-unique:1", case, &[]), data());
        prop_assume!(o.is_ok(), "diverged without a breaker: {:?}", o.as_ref().err());
        let o = o.unwrap();
        let (gap, ulps) = final_gap(&o);
        if width.is_power_of_two() && width >= 8 {
            prop_assert_eq!(
                gap,
                0.0,
                "width {} (a power of two) must stay exactly symmetric",
                width
            );
        } else {
            let bound = drift_bound_ulps();
            prop_assert!(ulps <= bound, "width {width}: drift {ulps} ulps over bound {bound}");
            if ulps > 0 {
                eprintln!(
                    "K1 report: width {width} depth {depth} batch {batch} drifted {ulps} ulps \
                     ({gap:.2e}) in 30 steps without a breaker"
                );
            }
        }
        // Negative control, where the features learn at all (a dead ReLU layer learns nothing).
        for (name, acts, cfg) in breakers(case) {
            // A breaker whose run diverged, or whose features barely learned (a nearly dead
            // ReLU layer), shows no gap to judge: reported, not counted.
            let ob = match common::try_outcome(&cfg, data()) {
                Ok(ob) if ob.feature_motion >= 1e-4 => ob,
                Ok(_) => continue,
                Err(d) => {
                    eprintln!(
                        "K1 control {name} at width {width} depth {depth} batch {batch}: {d}"
                    );
                    continue;
                }
            };
            let (bgap, bulps) = final_gap(&ob);
            if acts == Acts::InTraining && bulps <= drift_bound_ulps() {
                eprintln!(
                    "K1 control {name} at width {width} depth {depth} batch {batch} seed {seed} \
                     lr {lr}: gap {bgap:.2e} ({bulps} ulps), the features active on too few draws \
                     for it to act"
                );
                continue;
            }
            prop_assert!(
                bulps > drift_bound_ulps(),
                "{name}: gap {bgap:.2e} ({bulps} ulps) did not exceed the drift bound"
            );
        }
    }
}

#[test]
fn every_breaker_breaks_a_learning_network() {
    // A depth-1 net at these settings learns (checked), so no breaker can be skipped here.
    for width in [8, 100, 256] {
        let case = (width, 1, 64, 0, 0.02);
        let o = run(&probe("k-unique:1", case, &[]));
        assert!(o.feature_motion > 0.0, "the features learn");
        for (name, _, cfg) in breakers(case) {
            let ob = run(&cfg);
            assert!(ob.feature_motion > 0.0, "{name}: features learn");
            let (_, ulps) = final_gap(&ob);
            assert!(
                ulps > drift_bound_ulps(),
                "{name} at width {width}: {ulps} ulps"
            );
        }
    }
}
