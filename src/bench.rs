//! `featdiv bench`: one epoch of the 784-256-10 MLP on Fashion-MNIST, as bench/mlp_epoch.py does
//! in PyTorch eager (shuffled batches of 128, SGD momentum 0.9, then test accuracy), and a
//! training step of ConstNet WRN-16-2 as bench/wrn_step.py does.
use crate::config::{
    BreakerConfig, Config, DataConfig, DeviceSpec, MlpInit, ModelConfig, TrainConfig, WrnInit,
};
use crate::models::wrn::{Wrn, WrnShape};
use crate::models::{Model, init::init_wrn};
use anyhow::Result;
use std::path::Path;
use tch::nn::OptimizerConfig;

/// The toy model's config for one epoch on `data_dir` with `threads`.
fn mlp_epoch(data_dir: &Path, threads: usize, seed: u64) -> Config {
    Config {
        seed,
        threads,
        device: DeviceSpec::Cpu,
        data: DataConfig::fashion_mnist(Some(data_dir.to_path_buf())),
        model: ModelConfig::mlp(vec![256], MlpInit::He),
        train: TrainConfig {
            epochs: 1,
            // Metrics only at the last step and powers of two: the bench times training.
            log_every: usize::MAX / 2,
            ..TrainConfig::default()
        },
        breakers: BreakerConfig::default(),
        determinism: Default::default(),
        record: Default::default(),
    }
}

/// Wall seconds of each repeat (sorted).
pub fn bench_epoch(data_dir: &Path, threads: usize, repeats: usize) -> Result<Vec<f64>> {
    let cfg = mlp_epoch(data_dir, threads, 0);
    let ds = crate::data::load(&cfg.data, 0)?;
    let mut secs = Vec::new();
    for seed in 0..repeats.max(1) as u64 {
        let cfg = mlp_epoch(data_dir, threads, seed);
        let t = std::time::Instant::now();
        crate::train::train(&cfg, &ds, tch::Device::Cpu, &mut |_| Ok(()))?;
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    Ok(secs)
}

/// Wall seconds of `steps` training steps (after 3 warm-up steps) of ConstNet WRN-16-2 on one
/// random 3x32x32 batch of 128, SGD 0.03 / 0.9 / 5e-4, as bench/wrn_step.py does (sorted).
pub fn bench_wrn_step(threads: usize, steps: usize) -> Result<Vec<f64>> {
    tch::set_num_threads(threads as i32);
    tch::manual_seed(0);
    let shape = WrnShape {
        widen: 2,
        ..WrnShape::default()
    };
    let mut net = Wrn::new(tch::Device::Cpu, &shape)?;
    init_wrn(&mut net, WrnInit::ConstNet)?;
    let mut opt = tch::nn::Sgd {
        momentum: 0.9,
        dampening: 0.0,
        wd: 5e-4,
        nesterov: false,
    }
    .build(net.var_store(), 0.03)?;
    let x = tch::Tensor::randn([128, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
    let y = tch::Tensor::randint(10, [128], (tch::Kind::Int64, tch::Device::Cpu));
    let mut secs = Vec::new();
    for i in 0..steps + 3 {
        let t = std::time::Instant::now();
        let loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        let _ = loss.double_value(&[]);
        if i >= 3 {
            secs.push(t.elapsed().as_secs_f64());
        }
    }
    secs.sort_by(f64::total_cmp);
    Ok(secs)
}
