//! `featdiv bench`: one epoch of the 784-256-10 MLP on Fashion-MNIST, as bench/mlp_epoch.py does
//! in PyTorch eager (shuffled batches of 128, SGD momentum 0.9, then test accuracy); a training
//! step of ConstNet WRN-d-k at a precision and memory format, as bench/wrn_step.py does; and the
//! machine's matrix-product peak, so that both can be stated as a fraction of it.
use crate::config::{
    BreakerConfig, Config, DataConfig, DeviceSpec, MemoryFormat, MlpInit, ModelConfig, Precision,
    TrainConfig, WrnInit,
};
use crate::models::parts::{STEM_CHANNELS, slots};
use crate::models::wrn::{Wrn, WrnShape};
use crate::models::{Model, init::init_wrn};
use anyhow::Result;
use std::path::Path;
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

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

/// Wall seconds of each repeat (sorted), and the floating-point operations of one epoch.
pub fn bench_epoch(data_dir: &Path, threads: usize, repeats: usize) -> Result<(Vec<f64>, f64)> {
    let cfg = mlp_epoch(data_dir, threads, 0);
    let ds = crate::data::load(&cfg.data, 0)?;
    let mut secs = Vec::new();
    for seed in 0..repeats.max(1) as u64 {
        let cfg = mlp_epoch(data_dir, threads, seed);
        let t = Instant::now();
        crate::train::train(&cfg, &ds, Device::Cpu, &mut |_| Ok(()))?;
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    // Per image: 784x256 + 256x10 multiply-adds forward, twice that backward (the first layer's
    // input gradient is not needed, counted anyway: under 1/3 of the total); test: forward only.
    let macs = (784 * 256 + 256 * 10) as f64;
    let flops = 2.0 * macs * (3.0 * ds.train.len() as f64 + ds.test.len() as f64);
    Ok((secs, flops))
}

/// A WRN training step to time: the net, its precision and memory format, on a device.
#[derive(Debug, Clone, Copy)]
pub struct WrnStep {
    pub depth: usize,
    pub widen: usize,
    pub batch: i64,
    pub precision: Precision,
    pub memory_format: MemoryFormat,
    pub device: Device,
}

impl WrnStep {
    /// Floating-point operations of one step on 3x32x32 images: the convolutions' and the head's
    /// multiply-adds (each slot of `crate::models::parts::slots`: a 3x3 conv, and a 1x1 shortcut
    /// where the shape changes), x2 for a multiply and an add, x3 for the forward and the two
    /// backward products (input and weight gradients). Batch norm, ReLU and the optimizer are
    /// left out (a few %).
    pub fn flops(&self) -> Result<f64> {
        let stem = 3 * STEM_CHANNELS * 9 * 32 * 32;
        let mut side = 32;
        let mut macs = stem;
        let mut width = STEM_CHANNELS;
        for s in slots(self.depth, self.widen)? {
            side /= s.stride;
            macs += s.in_c * s.out_c * 9 * side * side;
            if s.in_c != s.out_c || s.stride != 1 {
                macs += s.in_c * s.out_c * side * side;
            }
            width = s.out_c;
        }
        macs += width * 10;
        Ok(6.0 * macs as f64 * self.batch as f64)
    }
}

/// Wall seconds of `steps` training steps (after 3 warm-up steps) of ConstNet `s` on one random
/// 3x32x32 batch, SGD 0.03 / 0.9 / 5e-4, through the trainer's own precision and layout calls,
/// as bench/wrn_step.py does (sorted).
pub fn bench_wrn_step(s: &WrnStep, threads: usize, steps: usize) -> Result<Vec<f64>> {
    tch::set_num_threads(threads as i32);
    tch::manual_seed(0);
    crate::determinism::apply(&crate::config::DeterminismConfig {
        tf32: s.precision == Precision::Tf32,
        ..Default::default()
    });
    let shape = WrnShape {
        depth: s.depth,
        widen: s.widen,
        ..WrnShape::default()
    };
    let mut net = Wrn::new(s.device, &shape)?;
    init_wrn(&mut net, WrnInit::ConstNet)?;
    crate::precision::apply_format(s.memory_format, net.var_store());
    let mut opt = tch::nn::Sgd {
        momentum: 0.9,
        dampening: 0.0,
        wd: 5e-4,
        nesterov: false,
    }
    .build(net.var_store(), 0.03)?;
    let x = Tensor::randn([s.batch, 3, 32, 32], (Kind::Float, s.device));
    let x = crate::precision::batch(s.memory_format, x);
    let y = Tensor::randint(10, [s.batch], (Kind::Int64, s.device));
    let mut secs = Vec::new();
    for i in 0..steps + 3 {
        let t = Instant::now();
        let loss = {
            let _region = crate::precision::autocast(s.precision, s.device);
            net.forward_t(&x, true).cross_entropy_for_logits(&y)
        };
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

/// The best rate (FLOP/s) of an n x n matrix product in `kind` over `repeats`, after a warm-up:
/// the peak the steps are measured against.
pub fn gemm_peak(n: i64, kind: Kind, device: Device, threads: usize, repeats: usize) -> f64 {
    tch::set_num_threads(threads as i32);
    let a = Tensor::randn([n, n], (Kind::Float, device)).to_kind(kind);
    let b = Tensor::randn([n, n], (Kind::Float, device)).to_kind(kind);
    let _ = a.matmul(&b);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let c = a.matmul(&b);
        // Reading one element waits for the product on any device.
        let _ = c.double_value(&[0, 0]);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best
}

/// Where `plans` train runs in bf16 on the CPU and a 1024² product runs slower in bf16 than in
/// fp32 at their thread count, the note saying so; None otherwise. bf16 autocast doubled the step
/// rate on a CPU with AMX and slowed it on one with AVX-512 BF16 alone, so the declared profile
/// is not the fastest everywhere; a product in each (a tenth of a second) tells which CPU this is.
pub fn bf16_slower(plans: &[crate::experiment::Plan]) -> Result<Option<String>> {
    let mut threads = None;
    for r in plans.iter().flat_map(|p| &p.runs) {
        let cfg = r.config()?;
        if cfg.train.precision == crate::config::Precision::Bf16
            && cfg.device == crate::config::DeviceSpec::Cpu
        {
            threads = Some(cfg.threads);
            break;
        }
    }
    let Some(threads) = threads else {
        return Ok(None);
    };
    let before = tch::get_num_threads();
    let rate = |kind| gemm_peak(1024, kind, Device::Cpu, threads, 3) / 1e9;
    let (fp32, bf16) = (rate(Kind::Float), rate(Kind::BFloat16));
    tch::set_num_threads(before);
    Ok((bf16 < fp32).then(|| {
        format!(
            "note: runs planned in bf16 on this CPU, where bf16 is the slower (a 1024² product on \
             {threads} thread(s): bf16 {bf16:.0} GFLOP/s, fp32 {fp32:.0}; no AMX?); --precision \
             fp32 would train them faster, as other runs in another folder"
        )
    }))
}
