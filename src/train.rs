//! The training core: config + data -> model (init, breakers) -> SGD steps -> record lines.
use crate::breakers::{add_grad_noise, add_init_noise};
use crate::config::{Config, TrainConfig};
use crate::data::{Batches, Dataset, Split, augment_batch};
use crate::metrics::{LayerDiversity, layer_diversity, propagate};
use crate::models::{DataShape, Model};
use crate::precision::PrecisionInForce;
use crate::records::{EvalLine, Line, PerturbationLine, StepLine, Timings};
use crate::schedule::lr_at;
use anyhow::{Context, Result};
use std::time::Instant;
use tch::nn::{Optimizer, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// What a run ends with, beside its records.
#[derive(Debug, Clone)]
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
    pub evals: Vec<EvalLine>,
    /// The precision and memory format in force, read back during the first step.
    pub precision: PrecisionInForce,
    pub timings: Timings,
}

/// Runs `f`, adding its wall time to `slot`.
fn timed<T>(slot: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *slot += t.elapsed().as_secs_f64();
    out
}

/// Where a run's record lines go, in order.
pub type Sink<'a> = dyn FnMut(&Line) -> Result<()> + 'a;

/// Builds and initializes the model a config names, with the init-noise breaker applied.
pub fn build_model(cfg: &Config, ds: &Dataset, device: Device) -> Result<Box<dyn Model>> {
    let classes = cfg.model.classes_for(ds.classes)?;
    let shape = DataShape {
        example: &ds.example_shape(),
        classes: classes as i64,
    };
    let model = crate::models::build(&cfg.model.spec, shape, cfg.breakers.dropout, device)
        .with_context(|| format!("cannot build the {} model", cfg.model.arch()))?;
    add_init_noise(&model.feature_layers(), cfg.breakers.init_noise);
    Ok(model)
}

/// Images an evaluation batch. Small enough for a layer's activations to stay in cache on a CPU:
/// against 1,000, evaluation ran 1.7x faster for WRN-10-1 and LeakyNet-16-1 in bf16 +
/// channels_last and 2.4x for WRN-10-1 in fp32, with byte-identical records.
const EVAL_BATCH: i64 = 256;

/// Fraction of `split` classified correctly (eval mode, batches of `EVAL_BATCH`), at the run's
/// precision and memory format: the forward pass a model trained that way makes.
pub fn accuracy(model: &dyn Model, split: &Split, train: &TrainConfig) -> f64 {
    let _guard = tch::no_grad_guard();
    let device = model.var_store().device();
    let n = split.len() as i64;
    let mut correct = 0i64;
    let mut start = 0;
    while start < n {
        let len = EVAL_BATCH.min(n - start);
        let x = crate::precision::batch(train.memory_format, split.images.narrow(0, start, len));
        let logits = {
            let _region = crate::precision::autocast(train.precision, device);
            model.forward_t(&x, false)
        };
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

/// Trains per `cfg` on `ds` (already on `device`), passing every record line to `sink`. Seeds the
/// global generator and sets the thread count first, so a run is a function of its config.
pub fn train(
    cfg: &Config,
    ds: &Dataset,
    device: Device,
    sink: &mut Sink,
) -> Result<(Box<dyn Model>, Outcome)> {
    let _turn = crate::determinism::global_state_lock();
    cfg.train.check_precision(device.is_cuda())?;
    let mut switches = cfg.determinism.clone();
    switches.tf32 |= cfg.train.precision == crate::config::Precision::Tf32;
    crate::determinism::apply(&switches);
    tch::set_num_threads(cfg.threads as i32);
    tch::manual_seed(cfg.seed as i64);
    if device.is_cuda() {
        tch::Cuda::manual_seed_all(cfg.seed);
    }
    let started = Instant::now();
    let model = build_model(cfg, ds, device)?;
    crate::precision::apply_format(cfg.train.memory_format, model.var_store());
    let mut run = Training::new(cfg, ds, model.as_ref(), sink)?;
    for step in 0..run.total {
        run.step(step)?;
    }
    let outcome = run.finish(started);
    Ok((model, outcome))
}

/// The state of a run between steps.
struct Training<'a, 's> {
    cfg: &'a Config,
    ds: &'a Dataset,
    model: &'a dyn Model,
    sink: &'a mut Sink<'s>,
    opt: Optimizer,
    vars: Vec<Tensor>,
    batches: Batches,
    total: usize,
    per_epoch: usize,
    diversity_init: Vec<LayerDiversity>,
    weights_init: Vec<Tensor>,
    evals: Vec<EvalLine>,
    final_loss: f64,
    precision: PrecisionInForce,
    timings: Timings,
}

impl<'a, 's> Training<'a, 's> {
    fn new(
        cfg: &'a Config,
        ds: &'a Dataset,
        model: &'a dyn Model,
        sink: &'a mut Sink<'s>,
    ) -> Result<Self> {
        let t = &cfg.train;
        let diversity_init = diversity_of(model, true);
        let weights_init = model
            .feature_layers()
            .iter()
            .map(|l| l.weight.detach().copy())
            .collect();
        let opt = tch::nn::Sgd {
            momentum: t.momentum,
            dampening: 0.0,
            wd: t.weight_decay,
            nesterov: t.nesterov,
        }
        .build(model.var_store(), t.lr)
        .context("cannot build the SGD optimizer")?;
        let (total, per_epoch) = budget(cfg, ds.train.len());
        let mut run = Training {
            cfg,
            ds,
            model,
            sink,
            opt,
            vars: model.var_store().trainable_variables(),
            batches: Batches::new(ds.train.len(), t.batch_size, cfg.data.shuffle),
            total,
            per_epoch,
            diversity_init,
            weights_init,
            evals: Vec::new(),
            final_loss: f64::NAN,
            precision: PrecisionInForce {
                precision: t.precision,
                memory_format: t.memory_format,
                bf16_autocast: false,
                channels_last: false,
            },
            timings: Timings::default(),
        };
        run.record_perturbation(0)?;
        Ok(run)
    }

    fn epoch(&self, step: usize) -> f64 {
        step as f64 / self.per_epoch as f64
    }

    fn step(&mut self, step: usize) -> Result<()> {
        let started = Instant::now();
        let lr = lr_at(&self.cfg.train, step, self.total, self.per_epoch);
        self.opt.set_lr(lr);
        let (x, y) = self.batches.get(&self.ds.train, step);
        let x = if self.cfg.data.augment {
            augment_batch(&x)?
        } else {
            x
        };
        let x = crate::precision::batch(self.cfg.train.memory_format, x);
        let loss = {
            let device = self.model.var_store().device();
            let _region = crate::precision::autocast(self.cfg.train.precision, device);
            if step == 0 {
                self.precision.bf16_autocast = crate::precision::bf16_autocast_in_force(device);
                self.precision.channels_last =
                    crate::precision::params_channels_last(self.model.var_store());
            }
            self.model.forward_t(&x, true).cross_entropy_for_logits(&y)
        };
        self.opt.zero_grad();
        loss.backward();
        add_grad_noise(&self.vars, self.cfg.breakers.grad_noise);
        // Powers of two too, so the symmetry gap's growth can be drawn on a log axis of steps.
        let last = step + 1 == self.total;
        let logged =
            step.is_multiple_of(self.cfg.train.log_every) || step.is_power_of_two() || last;
        let mut metrics_s = 0.0;
        if logged {
            self.final_loss = finite_loss(&loss, step)?;
            let model = self.model;
            let layers = timed(&mut metrics_s, || diversity_of(model, false));
            let line = Line::Step(StepLine {
                step,
                epoch: self.epoch(step),
                loss: self.final_loss,
                lr,
                layers,
            });
            (self.sink)(&line)?;
        }
        self.opt.step();
        self.timings.metrics_s += metrics_s;
        self.timings.training_s += started.elapsed().as_secs_f64() - metrics_s;
        if (step + 1).is_multiple_of(self.per_epoch) || last {
            if !logged {
                self.final_loss = finite_loss(&loss, step)?;
            }
            self.evaluate(step + 1, lr)?;
            self.record_perturbation(step + 1)?;
        }
        Ok(())
    }

    /// Test accuracy and diversity after `step` steps.
    fn evaluate(&mut self, step: usize, lr: f64) -> Result<()> {
        let (model, test, train) = (self.model, &self.ds.test, &self.cfg.train);
        let test_acc = timed(&mut self.timings.evaluation_s, || {
            accuracy(model, test, train)
        });
        let layers = timed(&mut self.timings.metrics_s, || diversity_of(model, false));
        let e = EvalLine {
            step,
            epoch: self.epoch(step),
            test_acc,
            loss: self.final_loss,
            lr,
            layers,
        };
        (self.sink)(&Line::Eval(e.clone()))?;
        self.evals.push(e);
        Ok(())
    }

    /// Perturbation propagation on the first 128 test images, if the config asks for it.
    fn record_perturbation(&mut self, step: usize) -> Result<()> {
        let r = &self.cfg.record;
        if !r.perturbation {
            return Ok(());
        }
        let probe = self
            .ds
            .test
            .images
            .narrow(0, 0, 128.min(self.ds.test.len() as i64));
        if step == 0 {
            let activations =
                tch::no_grad(|| self.model.activations_t(&probe.narrow(0, 0, 1), false));
            r.check_layer(activations.len())?;
        }
        let model = self.model;
        let reach = timed(&mut self.timings.perturbation_s, || {
            propagate(
                model,
                &probe,
                r.perturbation_layer,
                r.perturbation_eps,
                false,
            )
        })?;
        let line = Line::Perturbation(PerturbationLine {
            step,
            epoch: self.epoch(step),
            at: r.perturbation_layer,
            eps: r.perturbation_eps,
            reach,
        });
        (self.sink)(&line)
    }

    fn finish(mut self, started: Instant) -> Outcome {
        let model = self.model;
        let diversity_final = timed(&mut self.timings.metrics_s, || diversity_of(model, true));
        let (best_step, best_test_acc) =
            self.evals
                .iter()
                .map(|e| (e.step, e.test_acc))
                .fold(
                    (0, f64::NAN),
                    |b, e| if b.1.is_nan() || e.1 > b.1 { e } else { b },
                );
        Outcome {
            final_test_acc: self.evals.last().map_or(f64::NAN, |e| e.test_acc),
            best_test_acc,
            best_step,
            steps: self.total,
            steps_per_epoch: self.per_epoch,
            final_loss: self.final_loss,
            wall_time_s: started.elapsed().as_secs_f64(),
            feature_motion: feature_motion(self.model, &self.weights_init),
            diversity_init: self.diversity_init,
            diversity_final,
            evals: self.evals,
            precision: self.precision,
            timings: self.timings,
        }
    }
}

/// The error of a run whose loss left the finite numbers: callers can tell it from a broken
/// set-up with `err.downcast_ref::<Diverged>()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diverged {
    pub step: usize,
    pub loss: f64,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "training diverged: the loss at step {} is {}; lower train.lr or check the data",
            self.step, self.loss
        )
    }
}

impl std::error::Error for Diverged {}

fn finite_loss(loss: &Tensor, step: usize) -> Result<f64> {
    let v = loss.double_value(&[]);
    if !v.is_finite() {
        return Err(Diverged { step, loss: v }.into());
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

/// Trains `cfg` on `ds` and returns, at every logged step, the largest symmetry gap over the
/// feature layers (0 while every group of features that started identical still is).
pub fn train_for_gaps(cfg: &Config, ds: &Dataset, device: Device) -> Result<Vec<(usize, f64)>> {
    let mut gaps = Vec::new();
    train(cfg, ds, device, &mut |line| {
        if let Line::Step(r) = line {
            gaps.push((r.step, crate::metrics::largest_gap(&r.layers).0));
        }
        Ok(())
    })?;
    Ok(gaps)
}

#[cfg(test)]
mod gap_tests {
    #[test]
    fn train_for_gaps_logs_every_logged_step_and_sees_a_breaker() {
        // The tied toy MLP on the committed fixture for 20 steps, logged every 5 (and at powers of
        // two): without a breaker the gap is exactly 0 at every logged step, with init noise 0.05
        // it is open from step 0.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = format!(
            "data.path={:?}",
            root.join("fixtures/fashion-mnist-small")
                .display()
                .to_string()
        );
        let trajectory = |breaker: &str| {
            let mut sets = vec![
                data.clone(),
                "model.init=\"k-unique:1\"".into(),
                "model.hidden=[16]".into(),
                "threads=1".into(),
                "train.epochs=0".into(),
                "train.steps=20".into(),
                "train.log_every=5".into(),
                "data.test_subset=64".into(),
            ];
            sets.extend(breaker.split_terminator(';').map(String::from));
            let cfg =
                crate::config::Config::from_file(&root.join("configs/toy.toml"), &sets).unwrap();
            let ds = crate::data::load(&cfg.data, cfg.seed).unwrap();
            super::train_for_gaps(&cfg, &ds, tch::Device::Cpu).unwrap()
        };
        let tied = trajectory("");
        let steps: Vec<usize> = tied.iter().map(|(s, _)| *s).collect();
        // Logged: the powers of two, every log_every, and the last step.
        assert_eq!(steps, [0, 1, 2, 4, 5, 8, 10, 15, 16, 19]);
        assert!(tied.iter().all(|(_, g)| *g == 0.0), "{tied:?}");
        let broken = trajectory("breakers.init_noise=0.05");
        assert_eq!(broken.len(), tied.len());
        assert!(broken.iter().all(|(_, g)| *g > 1e-3), "{broken:?}");
    }
}
