//! The records of a run, one schema for the writer (`single_run`) and the readers (`runs`, the
//! report, tests): the run folder's files, the lines of `steps.jsonl` and `summary.json`.
//! Non-finite floats are written as null and read back as NaN.
use crate::environment::Environment;
use crate::files::nan_if_null;
use crate::metrics::{LayerDiversity, Reach};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the records' format, in every summary.json. 1: before the field existed.
pub const SCHEMA: u32 = 2;

/// The folder of a sweep or reproduce (`--out`), shared by its shards.
pub struct OutDir<'a>(pub &'a Path);

impl OutDir<'_> {
    /// One `Plan` (JSON) an experiment: what the report reads.
    pub fn plans(&self) -> PathBuf {
        self.0.join("plan")
    }
    pub fn plan(&self, experiment: &str) -> PathBuf {
        self.plans().join(format!("{experiment}.json"))
    }
    /// One folder a finished run, named by the hash of its resolved config.
    pub fn runs(&self) -> PathBuf {
        self.0.join("runs")
    }
    pub fn run(&self, hash: &str) -> PathBuf {
        self.runs().join(hash)
    }
    /// The records of a run's last failed attempt, kept for inspection.
    pub fn failed(&self, hash: &str) -> PathBuf {
        self.runs().join(format!("{hash}.failed"))
    }
}

/// The files of a run folder.
pub struct RunFiles<'a>(pub &'a Path);

impl RunFiles<'_> {
    /// The config as the user gave it (overrides as comments on top).
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
    /// The config with every default and override applied: what the run's hash is taken of.
    pub fn resolved_config(&self) -> PathBuf {
        self.0.join("config.resolved.toml")
    }
    /// One `Line` a record.
    pub fn steps(&self) -> PathBuf {
        self.0.join("steps.jsonl")
    }
    /// The `Summary`, written last: a folder with one is a finished (or failed) run.
    pub fn summary(&self) -> PathBuf {
        self.0.join("summary.json")
    }
    /// The trained weights.
    pub fn weights(&self) -> PathBuf {
        self.0.join("weights.safetensors")
    }
}

/// One line of `steps.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    Step(StepLine),
    Eval(EvalLine),
    Perturbation(PerturbationLine),
}

/// A logged training step: the loss of its batch and every feature layer's diversity before the
/// step's update.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepLine {
    pub step: usize,
    pub epoch: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    pub lr: f64,
    pub layers: Vec<LayerDiversity>,
}

/// An end-of-epoch evaluation (and the last step): test accuracy, the training loss of the
/// epoch's last batch and the rate it was trained with, and the diversity at this point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalLine {
    pub step: usize,
    pub epoch: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub test_acc: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    pub lr: f64,
    #[serde(default)]
    pub layers: Vec<LayerDiversity>,
}

/// Perturbation propagation measured after `step` steps (0: at init).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PerturbationLine {
    pub step: usize,
    pub epoch: f64,
    /// The activation it was injected at.
    pub at: usize,
    pub eps: f64,
    pub reach: Vec<Reach>,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default = "schema_1")]
    pub schema: u32,
    #[serde(flatten)]
    pub result: RunResult,
    pub data: DataInfo,
    pub environment: Environment,
}

fn schema_1() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunResult {
    Done(Done),
    Failed { error: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Done {
    #[serde(deserialize_with = "nan_if_null")]
    pub final_test_acc: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub best_test_acc: f64,
    pub best_step: usize,
    pub accuracy_note: String,
    pub steps: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub final_loss: f64,
    pub wall_time_s: f64,
    pub diversity_init: Vec<LayerDiversity>,
    pub diversity_final: Vec<LayerDiversity>,
    /// Where the wall time went (absent before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

/// Where a run's wall time went, in seconds: what a budget buys, and what it pays for besides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Forward, backward and update steps.
    pub training_s: f64,
    /// Per-layer diversity of logged steps, evaluations and the summary.
    pub metrics_s: f64,
    /// Test accuracy after each epoch.
    pub evaluation_s: f64,
    /// Perturbation propagation records.
    pub perturbation_s: f64,
}

/// Which data a run saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataInfo {
    pub name: String,
    pub train: usize,
    pub test: usize,
    /// Where the test split came from (e.g. "t10k files", "same as train").
    pub test_split: String,
    pub steps_per_epoch: usize,
    /// The model's classes (chance accuracy is 1 / classes); absent in schema 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
}

pub const ACCURACY_NOTE: &str = "final = after the last step; best = max over end-of-epoch \
                                 evaluations (the authors reported best)";
