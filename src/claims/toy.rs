//! Claims K1-K3 on the toy model (one hidden ReLU layer), and the untied-weights control.
//! Every function here trains through `crate::train`, exactly as `featdiv train` does.
use crate::config::{BreakerConfig, Config, DataConfig, ModelConfig, TrainConfig};
use crate::data::Dataset;
use crate::metrics::LayerDiversity;
use crate::train::{Outcome, train};
use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;
use tch::Device;

/// Shape of one toy run; `config()` turns it into the public config.
#[derive(Debug, Clone, Serialize)]
pub struct ToyRun {
    pub hidden: Vec<usize>,
    pub init: String,
    pub seed: u64,
    pub batch_size: usize,
    pub lr: f64,
    pub steps: usize,
    pub epochs: usize,
    pub shuffle: bool,
    pub threads: usize,
    pub breakers: BreakerConfig,
}

impl ToyRun {
    pub fn new(init: &str, seed: u64) -> ToyRun {
        ToyRun {
            hidden: vec![256],
            init: init.to_string(),
            seed,
            batch_size: 128,
            lr: 0.05,
            steps: 0,
            epochs: 2,
            shuffle: true,
            threads: 1,
            breakers: BreakerConfig::default(),
        }
    }

    pub fn config(&self, data_path: Option<PathBuf>) -> Config {
        Config {
            seed: self.seed,
            threads: self.threads,
            device: "cpu".into(),
            data: DataConfig {
                shuffle: self.shuffle,
                ..DataConfig::fashion_mnist(data_path)
            },
            model: ModelConfig::mlp(self.hidden.clone(), &self.init),
            train: TrainConfig {
                batch_size: self.batch_size,
                steps: self.steps,
                epochs: if self.steps > 0 { 0 } else { self.epochs },
                lr: self.lr,
                // Metrics only at the last step and powers of two: the claims read the outcome.
                log_every: usize::MAX / 2,
                ..TrainConfig::default()
            },
            breakers: self.breakers.clone(),
            determinism: Default::default(),
            record: Default::default(),
        }
    }

    /// Trains on `ds` (already on `device`).
    pub fn run(&self, ds: &Dataset, device: Device) -> Result<Outcome> {
        let cfg = self.config(None);
        cfg.validate()?;
        let (_, outcome) = train(&cfg, ds, device, &mut |_| Ok(()))?;
        Ok(outcome)
    }
}

/// The largest symmetry gap over layers at the end of a run.
pub fn final_gap(outcome: &Outcome) -> (f64, u64) {
    max_gap(&outcome.diversity_final)
}

pub fn max_gap(layers: &[LayerDiversity]) -> (f64, u64) {
    layers
        .iter()
        .fold((0.0, 0), |(a, u), l| (a.max(l.gap_abs), u.max(l.gap_ulps)))
}

/// Mean and sample standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// One point of a curve: accuracies over seeds at one setting.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub x: f64,
    pub accs: Vec<f64>,
    pub mean: f64,
    pub std: f64,
}

impl Point {
    pub fn new(x: f64, accs: Vec<f64>) -> Point {
        let (mean, std) = mean_std(&accs);
        Point { x, accs, mean, std }
    }
    fn se(&self) -> f64 {
        self.std / (self.accs.len() as f64).sqrt()
    }
}

/// Seed noise allowed between two points: 3 combined standard errors, at least `floor`.
pub fn noise(a: &Point, b: &Point, floor: f64) -> f64 {
    (3.0 * (a.se().powi(2) + b.se().powi(2)).sqrt()).max(floor)
}

/// Ok if the curve never falls by more than seed noise from one point to the next; else the
/// first offending pair.
pub fn monotone_within_noise(curve: &[Point], floor: f64) -> std::result::Result<(), String> {
    for w in curve.windows(2) {
        let drop = w[0].mean - w[1].mean;
        if drop > noise(&w[0], &w[1], floor) {
            return Err(format!(
                "accuracy falls from {:.4} at x={} to {:.4} at x={} (noise allowance {:.4})",
                w[0].mean,
                w[0].x,
                w[1].mean,
                w[1].x,
                noise(&w[0], &w[1], floor)
            ));
        }
    }
    Ok(())
}

/// Smallest x whose mean accuracy is within `margin` of `baseline`.
pub fn threshold(curve: &[Point], baseline: f64, margin: f64) -> Option<f64> {
    curve
        .iter()
        .find(|p| p.mean >= baseline - margin)
        .map(|p| p.x)
}

/// K2: accuracy never falls with K beyond seed noise, and rises by more than `growth` from the
/// first K to the last.
pub fn check_k2(curve: &[Point], growth: f64) -> std::result::Result<(), String> {
    monotone_within_noise(curve, 0.02)?;
    let rise = curve[curve.len() - 1].mean - curve[0].mean;
    if rise > growth {
        Ok(())
    } else {
        Err(format!(
            "accuracy rises only {rise:.3} from K={} to K={} (needs > {growth})",
            curve[0].x,
            curve[curve.len() - 1].x
        ))
    }
}

/// K3: the smallest eps within `margin` of the baseline exists, and accuracy is monotone in eps
/// within seed noise up to it: the range of "small" noise the claim is about. Beyond it the noise
/// is a random init of another scale, and accuracy may fall for that reason alone.
pub fn check_k3(curve: &[Point], baseline: f64, margin: f64) -> std::result::Result<f64, String> {
    let eps = threshold(curve, baseline, margin).ok_or_else(|| {
        format!("no eps in the grid comes within {margin} of the baseline {baseline:.3}")
    })?;
    let upto = curve
        .iter()
        .position(|p| p.x == eps)
        .unwrap_or(curve.len() - 1);
    monotone_within_noise(&curve[..=upto], 0.02)?;
    Ok(eps)
}
