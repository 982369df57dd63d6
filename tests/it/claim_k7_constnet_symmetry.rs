//! K7: ConstNet trained on CPU without a breaker stays exactly channel-symmetric (spread 0 in
//! weights, batch-norm parameters and activations) for T steps, over random depth, widen factor,
//! batch size, learning rate and seed. Negative control: dropout 0.01 on the residual branch
//! makes the spread > 0 within 10 steps.
use crate::common;

use featdiv::config::Config;
use featdiv::metrics::channel_symmetry;
use featdiv::train::train;
use proptest::prelude::*;

const STEPS: usize = 10;

/// `configs/constnet.toml` on the fixture for STEPS steps, with this case's shape and rates.
/// Precision and memory format (train.precision, train.memory_format): every combination a CPU
/// runs.
const NUMERICS: [(&str, &str); 4] = [
    ("fp32", "contiguous"),
    ("fp32", "channels-last"),
    ("bf16", "contiguous"),
    ("bf16", "channels-last"),
];

#[allow(clippy::too_many_arguments)]
fn config_at(
    depth: usize,
    widen: usize,
    batch: usize,
    lr: f64,
    seed: u64,
    dropout: f64,
    (precision, format): (&str, &str),
) -> Config {
    let sets = [
        format!("train.precision={precision}"),
        format!("train.memory_format={format}"),
        format!("model.depth={depth}"),
        format!("model.widen={widen}"),
        format!("train.batch_size={batch}"),
        format!("train.lr={lr:?}"),
        format!("seed={seed}"),
        format!("breakers.dropout={dropout:?}"),
        format!("train.steps={STEPS}"),
        "train.log_every=1000".into(),
        "data.test_subset=64".into(),
        "device=\"cpu\"".into(),
    ];
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    common::shipped("constnet.toml", &sets)
}

fn spread_after_training(cfg: &Config) -> (f64, featdiv::metrics::ChannelSymmetry) {
    let ds = featdiv::data::load(&cfg.data, cfg.seed).unwrap();
    let (model, _) = train(cfg, &ds, tch::Device::Cpu, &mut |_| Ok(())).unwrap();
    let probe = ds.train.images.narrow(0, 0, 8);
    let sym = channel_symmetry(model.as_ref(), &probe, true);
    (sym.max(), sym)
}

proptest! {
    // Two 10-step WRN trainings per case (~1 s): 8 cases.
    #![proptest_config(common::proptest_config(
        8,
        "proptest-regressions/claim_k7_constnet_symmetry.txt"
    ))]

    #[test]
    fn constnet_stays_channel_symmetric_without_a_breaker(
        depth in prop::sample::select(vec![7usize, 10]),
        widen in 1usize..3,
        batch in 4usize..33,
        lr in 0.01f64..0.1,
        seed in 0u64..1000,
        numerics in prop::sample::select(NUMERICS.to_vec()),
    ) {
        let cfg = config_at(depth, widen, batch, lr, seed, 0.0, numerics);
        let (spread, sym) = spread_after_training(&cfg);
        prop_assert_eq!(
            spread,
            0.0,
            "symmetry lost without a breaker at {:?}: {:?}",
            numerics,
            sym
        );
        prop_assert!(!sym.parameters.is_empty() && !sym.activations.is_empty());
        // Negative control.
        let dropout = config_at(depth, widen, batch, lr, seed, 0.01, numerics);
        let (spread, _) = spread_after_training(&dropout);
        prop_assert!(spread > 0.0, "dropout 0.01 must break the symmetry within {} steps", STEPS);
    }
}
