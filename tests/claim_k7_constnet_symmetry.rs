//! K7: ConstNet trained on CPU without a breaker stays exactly channel-symmetric (spread 0 in
//! weights, batch-norm parameters and activations) for T steps, over random depth, widen factor,
//! batch size, learning rate and seed. Negative control: dropout 0.01 on the residual branch
//! makes the spread > 0 within 10 steps.
mod common;

use featdiv::config::Config;
use featdiv::metrics::channel_symmetry;
use featdiv::train::train;
use proptest::prelude::*;

const STEPS: usize = 10;

fn config(depth: usize, widen: usize, batch: usize, lr: f64, seed: u64, dropout: f64) -> Config {
    let text = format!(
        r#"seed = {seed}
threads = 1
device = "cpu"
[data]
source = "fashion-mnist"
path = "{}"
shuffle = true
test_subset = 64
[model]
arch = "wrn"
depth = {depth}
widen = {widen}
init = "constnet"
[train]
batch_size = {batch}
steps = {STEPS}
epochs = 0
lr = {lr}
momentum = 0.9
weight_decay = 5e-4
log_every = 1000
[breakers]
dropout = {dropout}
"#,
        common::fixture("fashion-mnist-small").display()
    );
    Config::from_toml_str(&text, &[]).unwrap()
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
    #![proptest_config(common::proptest_config(8, "proptest-regressions/claim_k7_constnet_symmetry.txt"))]

    #[test]
    fn constnet_stays_channel_symmetric_without_a_breaker(
        depth in prop::sample::select(vec![7usize, 10]),
        widen in 1usize..3,
        batch in 4usize..33,
        lr in 0.01f64..0.1,
        seed in 0u64..1000,
    ) {
        let (spread, sym) = spread_after_training(&config(depth, widen, batch, lr, seed, 0.0));
        prop_assert_eq!(spread, 0.0, "symmetry lost without a breaker: {:?}", sym);
        prop_assert!(!sym.parameters.is_empty() && !sym.activations.is_empty());
        // Negative control.
        let (spread, _) = spread_after_training(&config(depth, widen, batch, lr, seed, 0.01));
        prop_assert!(spread > 0.0, "dropout 0.01 must break the symmetry within {} steps", STEPS);
    }
}
