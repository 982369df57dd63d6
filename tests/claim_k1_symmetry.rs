//! K1, symmetric dynamics: with tied `k-unique:1` and no breaker, hidden features that start
//! identical stay identical. Exactly, where the float32 kernels treat all features alike; within
//! DRIFT_BOUND_ULPS elsewhere (SIMD-tail units, DIGEST section 7), and such drift is reported.
//! Negative control: every breaker on the same configuration breaks the symmetry beyond that bound.
mod common;

use featdiv::claims::study::DRIFT_BOUND_ULPS;
use featdiv::claims::toy::{ToyRun, final_gap};
use featdiv::data::Dataset;
use proptest::prelude::*;
use tch::Device;

thread_local! {
    // Tensors are not Sync: each test thread loads the (small) fixture once.
    static DATA: &'static Dataset = Box::leak(Box::new(common::fashion_small()));
}

fn data() -> &'static Dataset {
    DATA.with(|d| *d)
}

fn probe(width: usize, depth: usize, batch: usize, seed: u64, lr: f64) -> ToyRun {
    let mut r = ToyRun::new("k-unique:1", seed);
    r.hidden = vec![width; depth];
    r.batch_size = batch;
    r.lr = lr;
    r.steps = 30;
    r
}

/// The breakers of the toy model, at sizes that must break the symmetry.
fn breakers(base: &ToyRun) -> Vec<(&'static str, ToyRun)> {
    let mut dropout = base.clone();
    dropout.breakers.dropout = 0.1;
    let mut init_noise = base.clone();
    init_noise.breakers.init_noise = 0.01;
    let mut grad_noise = base.clone();
    grad_noise.breakers.grad_noise = 0.01;
    let mut untied = base.clone();
    untied.init = "k-unique-untied:1".into();
    vec![
        ("dropout 0.1", dropout),
        ("init noise 0.01", init_noise),
        ("grad noise 0.01", grad_noise),
        ("untied", untied),
    ]
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
        let base = probe(width, depth, batch, seed, lr);
        let o = base.run(data(), Device::Cpu).unwrap();
        let (gap, ulps) = final_gap(&o);
        if width.is_power_of_two() && width >= 8 {
            prop_assert_eq!(gap, 0.0, "width {} (a power of two) must stay exactly symmetric", width);
        } else {
            prop_assert!(ulps <= DRIFT_BOUND_ULPS, "width {}: drift {} ulps over bound {}", width, ulps, DRIFT_BOUND_ULPS);
            if ulps > 0 {
                eprintln!("K1 report: width {width} depth {depth} batch {batch} drifted {ulps} ulps ({gap:.2e}) in 30 steps without a breaker");
            }
        }
        // Negative control, where the features learn at all (a dead ReLU layer learns nothing).
        for (name, run) in breakers(&base) {
            let ob = run.run(data(), Device::Cpu).unwrap();
            // Features that barely learned (a nearly dead ReLU layer) cannot show a gap either.
            if ob.feature_motion < 1e-4 {
                continue;
            }
            let (bgap, bulps) = final_gap(&ob);
            prop_assert!(bulps > DRIFT_BOUND_ULPS, "{}: gap {:.2e} ({} ulps) did not exceed the drift bound", name, bgap, bulps);
        }
    }
}

#[test]
fn every_breaker_breaks_a_learning_network() {
    // A depth-1 net at these settings learns (checked), so no breaker can be skipped here.
    for width in [8, 100, 256] {
        let base = probe(width, 1, 64, 0, 0.02);
        let o = base.run(data(), Device::Cpu).unwrap();
        assert!(o.feature_motion > 0.0, "the features learn");
        for (name, run) in breakers(&base) {
            let ob = run.run(data(), Device::Cpu).unwrap();
            assert!(ob.feature_motion > 0.0, "{name}: features learn");
            let (_, ulps) = final_gap(&ob);
            assert!(
                ulps > DRIFT_BOUND_ULPS,
                "{name} at width {width}: {ulps} ulps"
            );
        }
    }
}
