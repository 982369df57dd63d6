//! The training core: config + data -> model (init, breakers) -> SGD steps -> events.
use crate::breakers::{add_grad_noise, add_init_noise};
use crate::claims::perturbation::{Reach, propagate};
use crate::config::Config;
use crate::data::{Batches, Dataset, Split, augment_batch};
use crate::init::{InitSpec, init_leakynet, init_mlp, init_wrn, parse_leaky_code};
use crate::metrics::{LayerDiversity, layer_diversity};
use crate::models::{LeakyNet, LeakyShape, Mlp, Model, Wrn, WrnShape};
use crate::schedule::lr_at;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: usize,
    pub epoch: f64,
    pub loss: f64,
    pub lr: f64,
    pub layers: Vec<LayerDiversity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalRecord {
    pub step: usize,
    pub epoch: f64,
    pub test_acc: f64,
    /// Training loss of the epoch's last batch, and the rate it was trained with.
    pub loss: f64,
    pub lr: f64,
    /// Diversity of every feature layer at this point (E4: diversity over training).
    pub layers: Vec<LayerDiversity>,
}

/// Perturbation propagation measured at `step` (0: at init), when `record.perturbation` is on.
#[derive(Debug, Clone, Serialize)]
pub struct PerturbationRecord {
    pub step: usize,
    pub epoch: f64,
    pub at: usize,
    pub eps: f64,
    pub reach: Vec<Reach>,
}

pub enum Event<'a> {
    Step(&'a StepRecord),
    Eval(&'a EvalRecord),
    Perturbation(&'a PerturbationRecord),
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub final_test_acc: f64,
    pub best_test_acc: f64,
    pub best_step: usize,
    pub steps: usize,
    pub steps_per_epoch: usize,
    pub final_loss: f64,
    pub wall_time_s: f64,
    /// max |W_final - W_init| over the feature layers: 0 means the features never learned.
    pub feature_motion: f64,
    pub diversity_init: Vec<LayerDiversity>,
    pub diversity_final: Vec<LayerDiversity>,
    pub evals: Vec<EvalRecord>,
}

/// Builds and initializes the model a config names (breakers at init applied).
pub fn build_model(cfg: &Config, ds: &Dataset, device: Device) -> Result<Box<dyn Model>> {
    let classes = cfg.model.classes.unwrap_or(ds.classes);
    if classes < ds.classes {
        bail!(
            "invalid config key model.classes: {classes} is fewer than the {} classes of the data",
            ds.classes
        );
    }
    let in_channels = ds.example_shape()[0];
    let init_error = |e: String| anyhow::anyhow!("invalid config key model.init: {e}");
    let model: Box<dyn Model> = match cfg.model.arch.as_str() {
        "leakynet" => {
            let code = parse_leaky_code(&cfg.model.init, cfg.model.depth).map_err(init_error)?;
            let shape = LeakyShape {
                depth: cfg.model.depth,
                widen: cfg.model.widen,
                in_channels,
                classes: classes as i64,
                slope: cfg.model.leaky_slope,
                bn_momentum: cfg.model.bn_momentum,
                dropout: cfg.breakers.dropout,
            };
            let mut net = LeakyNet::new(device, &shape)?;
            init_leakynet(&mut net, &code)?;
            Box::new(net)
        }
        "wrn" => {
            let spec = InitSpec::parse(&cfg.model.init).map_err(init_error)?;
            let shape = WrnShape {
                depth: cfg.model.depth,
                widen: cfg.model.widen,
                in_channels,
                classes: classes as i64,
                bn_momentum: cfg.model.bn_momentum,
                dropout: cfg.breakers.dropout,
                normalization: spec != InitSpec::Fixup,
            };
            let mut wrn = Wrn::new(device, &shape)?;
            init_wrn(&mut wrn, &spec)?;
            Box::new(wrn)
        }
        _ => {
            let mut mlp = Mlp::new(
                device,
                ds.input_dim(),
                &cfg.model.hidden,
                classes as i64,
                cfg.breakers.dropout,
            );
            init_mlp(
                &mut mlp,
                &InitSpec::parse(&cfg.model.init).map_err(init_error)?,
            )?;
            Box::new(mlp)
        }
    };
    add_init_noise(&model.feature_layers(), cfg.breakers.init_noise);
    Ok(model)
}

/// Fraction of `split` classified correctly (eval mode, batches of 1000).
pub fn accuracy(model: &dyn Model, split: &Split) -> f64 {
    let _guard = tch::no_grad_guard();
    let n = split.len() as i64;
    let mut correct = 0i64;
    let mut start = 0;
    while start < n {
        let len = 1000.min(n - start);
        let logits = model.forward_t(&split.images.narrow(0, start, len), false);
        correct += logits
            .argmax(-1, false)
            .eq_tensor(&split.labels.narrow(0, start, len))
            .sum(Kind::Int64)
            .int64_value(&[]);
        start += len;
    }
    correct as f64 / n.max(1) as f64
}

/// Diversity of every feature layer; `with_all` adds the costly kernel-level correlation.
pub fn diversity_of(model: &dyn Model, with_all: bool) -> Vec<LayerDiversity> {
    model
        .feature_layers()
        .iter()
        .map(|l| layer_diversity(l, with_all))
        .collect()
}

/// Total steps of a run and steps an epoch.
pub fn budget(cfg: &Config, n_train: usize) -> (usize, usize) {
    let per_epoch = Batches::new(n_train, cfg.train.batch_size, cfg.data.shuffle).per_epoch();
    let total = if cfg.train.steps > 0 {
        cfg.train.steps
    } else {
        cfg.train.epochs * per_epoch
    };
    (total, per_epoch)
}

/// libtorch's default generator and thread count are process-global: runs in one process take
/// turns, so that each run's random draws depend on its seed alone, not on other threads.
pub fn global_state_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Trains per `cfg` on `ds` (already on `device`), calling `sink` for every record. Seeds the
/// global generator and sets the thread count first, so a run is a function of its config.
pub fn train(
    cfg: &Config,
    ds: &Dataset,
    device: Device,
    sink: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<(Box<dyn Model>, Outcome)> {
    let _turn = global_state_lock();
    crate::determinism::apply(&cfg.determinism)?;
    tch::set_num_threads(cfg.threads as i32);
    tch::manual_seed(cfg.seed as i64);
    if device.is_cuda() {
        tch::Cuda::manual_seed_all(cfg.seed);
    }
    let started = Instant::now();
    let model = build_model(cfg, ds, device)?;
    let diversity_init = diversity_of(model.as_ref(), true);
    let weights_init: Vec<Tensor> = model
        .feature_layers()
        .iter()
        .map(|l| l.weight.detach().copy())
        .collect();
    let t = &cfg.train;
    let mut opt = tch::nn::Sgd {
        momentum: t.momentum,
        dampening: 0.0,
        wd: t.weight_decay,
        nesterov: t.nesterov,
    }
    .build(model.var_store(), t.lr)
    .context("cannot build the SGD optimizer")?;
    let vars = model.var_store().trainable_variables();
    let mut batches = Batches::new(ds.train.len(), t.batch_size, cfg.data.shuffle);
    let (total, per_epoch) = budget(cfg, ds.train.len());
    let mut evals = Vec::new();
    let mut final_loss = f64::NAN;
    record_perturbation(cfg, ds, model.as_ref(), 0, per_epoch, sink)?;
    for step in 0..total {
        let lr = lr_at(t, step, total, per_epoch);
        opt.set_lr(lr);
        let (x, y) = batches.get(&ds.train, step);
        let x = if cfg.data.augment {
            augment_batch(&x)?
        } else {
            x
        };
        let loss = model.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.zero_grad();
        loss.backward();
        add_grad_noise(&vars, cfg.breakers.grad_noise);
        // Powers of two too, so the symmetry gap's growth can be drawn on a log axis of steps.
        let logged = step % t.log_every == 0 || step.is_power_of_two() || step + 1 == total;
        if logged {
            final_loss = finite_loss(&loss, step)?;
            let layers = diversity_of(model.as_ref(), false);
            sink(Event::Step(&StepRecord {
                step,
                epoch: step as f64 / per_epoch as f64,
                loss: final_loss,
                lr,
                layers,
            }))?;
        }
        opt.step();
        if (step + 1) % per_epoch == 0 || step + 1 == total {
            if !logged {
                final_loss = finite_loss(&loss, step)?;
            }
            let e = EvalRecord {
                step: step + 1,
                epoch: (step + 1) as f64 / per_epoch as f64,
                test_acc: accuracy(model.as_ref(), &ds.test),
                loss: final_loss,
                lr,
                layers: diversity_of(model.as_ref(), false),
            };
            sink(Event::Eval(&e))?;
            evals.push(e);
            record_perturbation(cfg, ds, model.as_ref(), step + 1, per_epoch, sink)?;
        }
    }
    let (best_step, best_test_acc) =
        evals
            .iter()
            .map(|e| (e.step, e.test_acc))
            .fold(
                (0, f64::NAN),
                |b, e| if b.1.is_nan() || e.1 > b.1 { e } else { b },
            );
    let outcome = Outcome {
        final_test_acc: evals.last().map_or(f64::NAN, |e| e.test_acc),
        best_test_acc,
        best_step,
        steps: total,
        steps_per_epoch: per_epoch,
        final_loss,
        wall_time_s: started.elapsed().as_secs_f64(),
        feature_motion: feature_motion(model.as_ref(), &weights_init),
        diversity_init,
        diversity_final: diversity_of(model.as_ref(), true),
        evals,
    };
    Ok((model, outcome))
}

/// Perturbation propagation on the first 128 test images, if the config asks for it.
fn record_perturbation(
    cfg: &Config,
    ds: &Dataset,
    model: &dyn Model,
    step: usize,
    per_epoch: usize,
    sink: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<()> {
    let r = &cfg.record;
    if !r.perturbation {
        return Ok(());
    }
    let probe = ds.test.images.narrow(0, 0, 128.min(ds.test.len() as i64));
    let reach = propagate(
        model,
        &probe,
        r.perturbation_layer,
        r.perturbation_eps,
        false,
    )
    .context("invalid config key record.perturbation_layer")?;
    sink(Event::Perturbation(&PerturbationRecord {
        step,
        epoch: step as f64 / per_epoch as f64,
        at: r.perturbation_layer,
        eps: r.perturbation_eps,
        reach,
    }))
}

fn finite_loss(loss: &Tensor, step: usize) -> Result<f64> {
    let v = loss.double_value(&[]);
    if !v.is_finite() {
        bail!(
            "training diverged: the loss at step {step} is {v}; lower train.lr or check the data"
        );
    }
    Ok(v)
}

fn feature_motion(model: &dyn Model, init: &[Tensor]) -> f64 {
    let _guard = tch::no_grad_guard();
    model
        .feature_layers()
        .iter()
        .zip(init)
        .map(|(l, w0)| (&l.weight - w0).abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}
