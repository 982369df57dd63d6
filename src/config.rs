//! The run configuration: a public TOML shape (see README), `--set key=value` overrides, and
//! validation that names the offending key.
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub threads: usize,
    #[serde(default = "auto")]
    pub device: String,
    pub data: DataConfig,
    pub model: ModelConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub breakers: BreakerConfig,
    #[serde(default)]
    pub determinism: crate::determinism::DeterminismConfig,
    #[serde(default)]
    pub record: RecordConfig,
}

/// Extra measurements a run records beside its losses, accuracies and per-layer diversity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// Perturbation propagation (DIGEST section 6) at init and after every epoch, on the first
    /// 128 test images in eval mode.
    #[serde(default)]
    pub perturbation: bool,
    /// The activation the perturbation is injected at: 0 = the stem's output, so LeakyNet's
    /// groups of four layers line up after it.
    #[serde(default)]
    pub perturbation_layer: usize,
    /// Its rms relative to the activation's.
    #[serde(default = "default_perturbation_eps")]
    pub perturbation_eps: f64,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            perturbation: false,
            perturbation_layer: 0,
            perturbation_eps: default_perturbation_eps(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// "fashion-mnist" | "mnist" | "cifar10" | "npz" | "synthetic"
    pub source: String,
    /// Folder (IDX, CIFAR) or file (npz). Default for fashion-mnist: data/fashion-mnist.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// false: step t uses the rows of batch (t mod n_batches), in file order.
    #[serde(default)]
    pub shuffle: bool,
    #[serde(default)]
    pub augment: bool,
    /// Keep only the first N training / test examples (0: all).
    #[serde(default)]
    pub train_subset: usize,
    #[serde(default)]
    pub test_subset: usize,
    /// Normalize with the data set's mean and std (on by default).
    #[serde(default = "yes")]
    pub normalize: bool,
}

impl DataConfig {
    /// Fashion-MNIST from `path` (default data/fashion-mnist): shuffled, normalized, all of it.
    pub fn fashion_mnist(path: Option<PathBuf>) -> DataConfig {
        DataConfig {
            source: "fashion-mnist".into(),
            path,
            shuffle: true,
            augment: false,
            train_subset: 0,
            test_subset: 0,
            normalize: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// "mlp" (the toy model) | "wrn" (the paper's Wide-ResNet skeleton).
    pub arch: String,
    /// Default: from the data set.
    #[serde(default)]
    pub classes: Option<usize>,
    /// mlp: hidden widths.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// mlp: "he" | "xavier" | "zero" | "k-unique:K" | "k-unique-untied:K";
    /// wrn: "constnet" | "he" | "constnet+residual:S".
    #[serde(default = "he")]
    pub init: String,
    /// wrn: depth d, (d - 4) % 3 == 0.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// wrn: widen factor k (channels 16, 16k, 32k, 64k).
    #[serde(default = "one")]
    pub widen: usize,
    /// wrn, leakynet: batch-norm momentum (the authors' double forward made it 0.19 in effect).
    #[serde(default = "default_bn_momentum")]
    pub bn_momentum: f64,
    /// leakynet: the LeakyReLU slope alpha.
    #[serde(default = "default_leaky_slope")]
    pub leaky_slope: f64,
}

impl ModelConfig {
    /// The toy model: an MLP with these hidden widths.
    pub fn mlp(hidden: Vec<usize>, init: &str) -> ModelConfig {
        ModelConfig {
            arch: "mlp".into(),
            classes: None,
            hidden,
            init: init.into(),
            depth: default_depth(),
            widen: 1,
            bn_momentum: default_bn_momentum(),
            leaky_slope: default_leaky_slope(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    #[serde(default)]
    pub steps: usize,
    #[serde(default)]
    pub epochs: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    #[serde(default)]
    pub nesterov: bool,
    /// Applies to every parameter, biases included (as in the authors' code).
    #[serde(default)]
    pub weight_decay: f64,
    /// "constant" | "multistep" | "from-end" | "cosine"
    #[serde(default = "constant")]
    pub schedule: String,
    /// Milestones as fractions of the run for "multistep" (each cuts the rate by `gamma`).
    #[serde(default = "default_milestones")]
    pub milestones: Vec<f64>,
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Write a record (loss, lr, diversity metrics) every this many steps.
    #[serde(default = "one")]
    pub log_every: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// eps: W += eps * Z * std_He on every hidden layer at init.
    #[serde(default)]
    pub init_noise: f64,
    #[serde(default)]
    pub dropout: f64,
    /// Relative std of elementwise noise on each gradient: g += grad_noise * |g| * z.
    #[serde(default)]
    pub grad_noise: f64,
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn auto() -> String {
    "auto".into()
}
fn he() -> String {
    "he".into()
}
fn constant() -> String {
    "constant".into()
}
fn default_perturbation_eps() -> f64 {
    1e-3
}
fn default_hidden() -> Vec<usize> {
    vec![256]
}
fn default_depth() -> usize {
    16
}
fn default_bn_momentum() -> f64 {
    0.1
}
fn default_leaky_slope() -> f64 {
    0.01
}
fn default_batch() -> usize {
    128
}
fn default_lr() -> f64 {
    0.05
}
fn default_momentum() -> f64 {
    0.9
}
fn default_milestones() -> Vec<f64> {
    vec![0.5, 0.75]
}
fn default_gamma() -> f64 {
    0.1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: default_batch(),
            steps: 0,
            epochs: 2,
            lr: default_lr(),
            momentum: default_momentum(),
            nesterov: false,
            weight_decay: 0.0,
            schedule: constant(),
            milestones: default_milestones(),
            gamma: default_gamma(),
            log_every: 1,
        }
    }
}

pub const SOURCES: &[&str] = &["fashion-mnist", "mnist", "cifar10", "npz", "synthetic"];
pub const SCHEDULES: &[&str] = &["constant", "multistep", "from-end", "cosine"];
pub const ARCHS: &[&str] = &["mlp", "wrn", "leakynet"];

impl Config {
    /// Parses TOML text, applies `key=value` overrides, and validates.
    pub fn from_toml_str(text: &str, overrides: &[String]) -> Result<Config> {
        let mut value: toml::Table = toml::from_str(text).context("config is not valid TOML")?;
        for o in overrides {
            apply_override(&mut value, o)?;
        }
        // serde_path_to_error names the offending key (e.g. determinism.tf32) in type errors.
        let cfg: Config =
            serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
                anyhow::anyhow!("invalid config key {}: {}", e.path(), e.inner().message())
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Config::from_toml_str(&text, overrides)
            .with_context(|| format!("in config {}", path.display()))
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).context("cannot serialize config")
    }

    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        let b = &self.breakers;
        check(self.threads >= 1, "threads", "must be >= 1")?;
        check(
            ["auto", "cpu", "cuda"].contains(&self.device.as_str())
                || self.device.starts_with("cuda:"),
            "device",
            "must be auto, cpu, cuda or cuda:N",
        )?;
        check(
            SOURCES.contains(&self.data.source.as_str()),
            "data.source",
            &format!(
                "unknown source {:?}; expected one of {SOURCES:?}",
                self.data.source
            ),
        )?;
        check(
            self.data.source != "npz" || self.data.path.is_some(),
            "data.path",
            "required when data.source = \"npz\"",
        )?;
        check(
            ARCHS.contains(&self.model.arch.as_str()),
            "model.arch",
            &format!(
                "unknown arch {:?}; expected one of {ARCHS:?}",
                self.model.arch
            ),
        )?;
        check(
            self.model.classes != Some(0),
            "model.classes",
            "must be >= 1",
        )?;
        check(
            !self.model.hidden.is_empty(),
            "model.hidden",
            "needs at least one layer",
        )?;
        check(
            self.model.hidden.iter().all(|&h| h > 0),
            "model.hidden",
            "widths must be > 0",
        )?;
        if self.model.arch == "leakynet" {
            crate::init::parse_leaky_code(&self.model.init, self.model.depth)
                .map_err(|e| anyhow::anyhow!("invalid config key model.init: {e}"))?;
        } else {
            let init = crate::init::InitSpec::parse(&self.model.init)
                .map_err(|e| anyhow::anyhow!("invalid config key model.init: {e}"))?;
            check(
                init.archs().contains(&self.model.arch.as_str()),
                "model.init",
                &format!(
                    "{:?} does not apply to arch {:?} (it applies to {:?})",
                    self.model.init,
                    self.model.arch,
                    init.archs()
                ),
            )?;
        }
        check(
            (0.0..1.0).contains(&self.model.leaky_slope),
            "model.leaky_slope",
            "must be in [0, 1)",
        )?;
        crate::models::parts::per_group(self.model.depth)?;
        check(self.model.widen >= 1, "model.widen", "must be >= 1")?;
        check(
            (0.0..=1.0).contains(&self.model.bn_momentum),
            "model.bn_momentum",
            "must be in [0, 1]",
        )?;
        check(
            crate::determinism::MODES.contains(&self.determinism.mode.as_str()),
            "determinism.mode",
            &format!(
                "unknown mode {:?}; expected one of {:?}",
                self.determinism.mode,
                crate::determinism::MODES
            ),
        )?;
        check(t.batch_size > 0, "train.batch_size", "must be > 0")?;
        check(
            (t.steps > 0) != (t.epochs > 0),
            "train.steps",
            "exactly one of train.steps and train.epochs must be > 0",
        )?;
        check(
            t.lr.is_finite() && t.lr > 0.0,
            "train.lr",
            "must be a finite number > 0",
        )?;
        check(
            (0.0..1.0).contains(&t.momentum),
            "train.momentum",
            "must be in [0, 1)",
        )?;
        check(
            !t.nesterov || t.momentum > 0.0,
            "train.nesterov",
            "needs momentum > 0",
        )?;
        check(
            t.weight_decay.is_finite() && t.weight_decay >= 0.0,
            "train.weight_decay",
            "must be a finite number >= 0",
        )?;
        check(
            SCHEDULES.contains(&t.schedule.as_str()),
            "train.schedule",
            &format!(
                "unknown schedule {:?}; expected one of {SCHEDULES:?}",
                t.schedule
            ),
        )?;
        check(
            t.milestones.iter().all(|m| (0.0..=1.0).contains(m)),
            "train.milestones",
            "fractions must lie in [0, 1]",
        )?;
        check(
            t.gamma > 0.0 && t.gamma <= 1.0,
            "train.gamma",
            "must be in (0, 1]",
        )?;
        check(t.log_every > 0, "train.log_every", "must be > 0")?;
        check(
            b.init_noise.is_finite() && b.init_noise >= 0.0,
            "breakers.init_noise",
            "must be a finite number >= 0",
        )?;
        check(
            (0.0..1.0).contains(&b.dropout),
            "breakers.dropout",
            "must be in [0, 1)",
        )?;
        check(
            b.grad_noise.is_finite() && b.grad_noise >= 0.0,
            "breakers.grad_noise",
            "must be a finite number >= 0",
        )?;
        let r = &self.record;
        check(
            r.perturbation_eps.is_finite() && r.perturbation_eps > 0.0,
            "record.perturbation_eps",
            "must be a finite number > 0",
        )?;
        Ok(())
    }

    /// True when any symmetry breaker is configured.
    pub fn has_breaker(&self) -> bool {
        self.breakers.init_noise > 0.0
            || self.breakers.dropout > 0.0
            || self.breakers.grad_noise > 0.0
    }
}

fn check(ok: bool, key: &str, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("invalid config key {key}: {what}")
    }
}

/// `a.b.c=value`: value parsed as TOML (number, bool, array, quoted string), else taken as a string.
fn apply_override(root: &mut toml::Table, spec: &str) -> Result<()> {
    let (key, raw) = spec
        .split_once('=')
        .with_context(|| format!("override {spec:?} is not of the form key=value"))?;
    let key = key.trim();
    let value = parse_value(raw.trim());
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("override {spec:?}: empty key segment");
    }
    let mut table = root;
    for part in &parts[..parts.len() - 1] {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .with_context(|| format!("override {spec:?}: {part} is not a table"))?;
    }
    table.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}
