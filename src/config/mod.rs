//! The run configuration: the public TOML shape (docs/config.md), `--set key=value` overrides, and
//! the one place where text becomes types. Every error names the offending key; nothing below
//! this module knows a key's name.
mod codes;
mod model;

pub use codes::{LeakyCode, LeakyLayerInit, MlpInit, WrnInit};
pub use model::{LeakySpec, ModelConfig, ModelSpec, WrnSpec, per_group};

use anyhow::{Context, Result, bail};
use model::RawModel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A run's configuration. `M` is the `[model]` table: typed (`ModelConfig`) everywhere but in
/// this module, which reads and prints it as text (`RawModel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config<M = ModelConfig> {
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub threads: usize,
    #[serde(default)]
    pub device: DeviceSpec,
    pub data: DataConfig,
    pub model: M,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub breakers: BreakerConfig,
    #[serde(default)]
    pub determinism: DeterminismConfig,
    #[serde(default)]
    pub record: RecordConfig,
}

/// `device`: auto | cpu | cuda | cuda:N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    /// CUDA device 0 where libtorch sees one, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// `cuda` (None) or `cuda:N`.
    Cuda(Option<usize>),
}

impl FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<DeviceSpec, String> {
        match s {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(None)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(|i| DeviceSpec::Cuda(Some(i)))
                .ok_or_else(|| format!("unknown device {s:?}; expected auto, cpu, cuda or cuda:N")),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(None) => f.write_str("cuda"),
            DeviceSpec::Cuda(Some(i)) => write!(f, "cuda:{i}"),
        }
    }
}

impl TryFrom<String> for DeviceSpec {
    type Error = String;
    fn try_from(s: String) -> Result<DeviceSpec, String> {
        s.parse()
    }
}

impl From<DeviceSpec> for String {
    fn from(d: DeviceSpec) -> String {
        d.to_string()
    }
}

/// Extra measurements a run records beside its losses, accuracies and per-layer diversity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    /// Perturbation propagation (docs/paper.md, measures) at init and after every epoch, on the
    /// first 128 test images in eval mode.
    pub perturbation: bool,
    /// The activation the perturbation is injected at: 0 = the stem's output, so LeakyNet's
    /// groups of four layers line up after it.
    pub perturbation_layer: usize,
    /// Its rms relative to the activation's.
    pub perturbation_eps: f64,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            perturbation: false,
            perturbation_layer: 0,
            perturbation_eps: 1e-3,
        }
    }
}

impl RecordConfig {
    /// Checks `perturbation_layer` against the model's number of activations.
    pub fn check_layer(&self, activations: usize) -> Result<()> {
        if self.perturbation_layer >= activations {
            bail!(
                "invalid config key record.perturbation_layer: {} is out of range, the model has \
                 {activations} activations",
                self.perturbation_layer
            );
        }
        Ok(())
    }
}

/// `data.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    FashionMnist,
    Mnist,
    Cifar10,
    Npz,
    Synthetic,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::FashionMnist => "fashion-mnist",
            Source::Mnist => "mnist",
            Source::Cifar10 => "cifar10",
            Source::Npz => "npz",
            Source::Synthetic => "synthetic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub source: Source,
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
            source: Source::FashionMnist,
            path,
            shuffle: true,
            augment: false,
            train_subset: 0,
            test_subset: 0,
            normalize: true,
        }
    }
}

/// `train.schedule`: the learning rate over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    Constant,
    /// Cut by `gamma` at each of `milestones` (fractions of the run).
    Multistep,
    /// The authors': x0.2 at epochs E-140, E-80, E-40 counted from the end.
    FromEnd,
    Cosine,
}

/// `[train]`. A key left out takes its value from `Default`, the one statement of the defaults
/// (docs/config.md shows them), except that naming `steps` alone leaves `epochs` at 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub batch_size: usize,
    pub steps: usize,
    pub epochs: usize,
    pub lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    /// Applies to every parameter, biases included (as in the authors' code).
    pub weight_decay: f64,
    pub schedule: Schedule,
    /// Milestones as fractions of the run for "multistep" (each cuts the rate by `gamma`).
    pub milestones: Vec<f64>,
    pub gamma: f64,
    /// Write a record (loss, lr, diversity metrics) every this many steps.
    pub log_every: usize,
    /// fp32 (the authors'), bf16 (autocast: bf16 compute, fp32 master weights, loss and
    /// optimizer), or tf32 (CUDA matmuls and convolutions in TF32).
    #[serde(skip_serializing_if = "is_default")]
    pub precision: Precision,
    /// contiguous (NCHW, the authors') or channels_last (NHWC) for images and conv weights.
    #[serde(skip_serializing_if = "is_default")]
    pub memory_format: MemoryFormat,
}

/// Keys added after runs were named by their config's hash print only when they differ from
/// their default, so every earlier run keeps its name.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// `train.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    #[default]
    Fp32,
    Bf16,
    Tf32,
}

/// `train.memory_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryFormat {
    #[default]
    Contiguous,
    ChannelsLast,
}

impl Precision {
    pub const ALL: [Precision; 3] = [Precision::Fp32, Precision::Bf16, Precision::Tf32];

    /// The name `train.precision` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Tf32 => "tf32",
        }
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown precision {s:?}; expected fp32, bf16 or tf32"))
    }
}

impl MemoryFormat {
    pub const ALL: [MemoryFormat; 2] = [MemoryFormat::Contiguous, MemoryFormat::ChannelsLast];

    /// The name `train.memory_format` gives it.
    pub fn name(self) -> &'static str {
        match self {
            MemoryFormat::Contiguous => "contiguous",
            MemoryFormat::ChannelsLast => "channels-last",
        }
    }
}

impl FromStr for MemoryFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<MemoryFormat, String> {
        MemoryFormat::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("unknown memory format {s:?}; expected contiguous or channels-last")
            })
    }
}

impl TrainConfig {
    /// Checks the precision against the device it runs on: TF32 exists on CUDA only.
    pub fn check_precision(&self, cuda: bool) -> Result<()> {
        check(
            self.precision != Precision::Tf32 || cuda,
            "train.precision",
            "tf32 needs a CUDA device (on a CPU use fp32 or bf16)",
        )
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: 128,
            steps: 0,
            epochs: 2,
            lr: 0.05,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            milestones: vec![0.5, 0.75],
            gamma: 0.1,
            log_every: 1,
            precision: Precision::default(),
            memory_format: MemoryFormat::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// eps: W += eps * Z * std_He on every hidden layer at init.
    pub init_noise: f64,
    pub dropout: f64,
    /// Relative std of elementwise noise on each gradient: g += grad_noise * |g| * z.
    pub grad_noise: f64,
}

/// `determinism.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeterminismMode {
    /// Deterministic cuDNN and deterministic algorithms.
    Deterministic,
    /// Both off: on CUDA, atomic-add reductions vary from run to run.
    Nondeterministic,
    /// Leave libtorch's switches as they are.
    #[default]
    Default,
}

/// The `[determinism]` table; `crate::determinism` applies it and reads back what is in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeterminismConfig {
    pub mode: DeterminismMode,
    /// cuDNN benchmark (picks algorithms by timing, so they can vary run to run).
    pub benchmark: bool,
    /// TF32 for matmul and cuDNN convolutions.
    pub tf32: bool,
}

fn one() -> usize {
    1
}

/// A budget is steps or epochs: a `[train]` table that names `steps` alone means no epochs,
/// rather than the default 2 epochs beside it (which `validate` would refuse).
fn steps_alone_means_no_epochs(value: &mut toml::Table) {
    if let Some(toml::Value::Table(train)) = value.get_mut("train")
        && train.contains_key("steps")
        && !train.contains_key("epochs")
    {
        train.insert("epochs".into(), toml::Value::Integer(0));
    }
}
fn yes() -> bool {
    true
}

impl Config {
    /// Parses TOML text, applies `key=value` overrides, and checks every value.
    pub fn from_toml_str(text: &str, overrides: &[String]) -> Result<Config> {
        let mut value: toml::Table = toml::from_str(text).context("config is not valid TOML")?;
        for o in overrides {
            apply_override(&mut value, o)?;
        }
        steps_alone_means_no_epochs(&mut value);
        // serde_path_to_error names the offending key (e.g. determinism.tf32) in type errors.
        let raw: Config<RawModel> = serde_path_to_error::deserialize(toml::Value::Table(value))
            .map_err(|e| {
                anyhow::anyhow!("invalid config key {}: {}", e.path(), e.inner().message())
            })?;
        let model = raw
            .model
            .parse()
            .map_err(|(key, what)| anyhow::anyhow!("invalid config key {key}: {what}"))?;
        let cfg = raw.with_model(model);
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Config::from_toml_str(&text, overrides)
            .with_context(|| format!("in config {}", path.display()))
    }

    /// The resolved config as TOML, keys in the documented order: what `config.resolved.toml`
    /// holds and what a run's hash is taken of.
    pub fn to_toml(&self) -> Result<String> {
        let raw = self.clone().with_model(RawModel::from(&self.model));
        toml::to_string(&raw).context("cannot serialize config")
    }

    /// Checks the numeric ranges that the types leave open.
    pub fn validate(&self) -> Result<()> {
        check(self.threads >= 1, "threads", "must be >= 1")?;
        check(
            self.data.source != Source::Npz || self.data.path.is_some(),
            "data.path",
            "required when data.source = \"npz\"",
        )?;
        // A config that names the CPU cannot train in TF32; one on "auto" is checked when the
        // device is known (train).
        if self.device == DeviceSpec::Cpu {
            self.train.check_precision(false)?;
        }
        self.validate_train()?;
        self.validate_breakers()
    }

    fn validate_train(&self) -> Result<()> {
        let t = &self.train;
        check(t.batch_size > 0, "train.batch_size", "must be > 0")?;
        check(
            (t.steps > 0) != (t.epochs > 0),
            "train.steps",
            "exactly one of train.steps and train.epochs must be > 0",
        )?;
        check(
            finite_at_least(t.lr, 0.0) && t.lr > 0.0,
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
            finite_at_least(t.weight_decay, 0.0),
            "train.weight_decay",
            "must be a finite number >= 0",
        )?;
        check(
            t.milestones.iter().all(|m| (0.0..=1.0).contains(m)),
            "train.milestones",
            "fractions must lie in [0, 1]",
        )?;
        // A repeated or backward milestone is a typo: the schedule would count it anyway.
        check(
            t.milestones.windows(2).all(|w| w[0] < w[1]),
            "train.milestones",
            "fractions must increase",
        )?;
        check(
            t.gamma > 0.0 && t.gamma <= 1.0,
            "train.gamma",
            "must be in (0, 1]",
        )?;
        check(t.log_every > 0, "train.log_every", "must be > 0")
    }

    fn validate_breakers(&self) -> Result<()> {
        let b = &self.breakers;
        check(
            finite_at_least(b.init_noise, 0.0),
            "breakers.init_noise",
            "must be a finite number >= 0",
        )?;
        check(
            (0.0..1.0).contains(&b.dropout),
            "breakers.dropout",
            "must be in [0, 1)",
        )?;
        check(
            finite_at_least(b.grad_noise, 0.0),
            "breakers.grad_noise",
            "must be a finite number >= 0",
        )?;
        let eps = self.record.perturbation_eps;
        check(
            finite_at_least(eps, 0.0) && eps > 0.0,
            "record.perturbation_eps",
            "must be a finite number > 0",
        )
    }
}

impl<M> Config<M> {
    /// The same config with another `[model]` table.
    fn with_model<N>(self, model: N) -> Config<N> {
        Config {
            seed: self.seed,
            threads: self.threads,
            device: self.device,
            data: self.data,
            model,
            train: self.train,
            breakers: self.breakers,
            determinism: self.determinism,
            record: self.record,
        }
    }
}

fn finite_at_least(x: f64, lo: f64) -> bool {
    x.is_finite() && x >= lo
}

fn check(ok: bool, key: &str, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("invalid config key {key}: {what}")
    }
}

/// `a.b.c=value`: value parsed as TOML (number, bool, array, quoted string), else taken as a
/// string.
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
