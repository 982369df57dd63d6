//! Experiments of `featdiv reproduce` and `featdiv sweep`: one TOML file each (see
//! `configs/experiments/`), a base run config with named variants, seeds and profiles, expanded
//! into planned runs. A run is named by a hash of its resolved config, so the same run planned
//! twice (by two experiments, or two shards) is one folder and is trained once.
use crate::config::Config;
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// smoke: a minute-long pass over every experiment on the committed fixture data, for tests and for
/// checking a set-up; its numbers mean nothing.
pub const PROFILES: &[&str] = &["quick", "full", "paper", "smoke"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Short id, e.g. "e2-constnet"; also the plan file's name.
    pub name: String,
    pub title: String,
    /// The claims (K1..K9) this experiment measures.
    pub claims: Vec<String>,
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// An analysis of other experiments' runs (E4, E5): no runs of its own.
    #[serde(default)]
    pub analysis_of: Vec<String>,
    /// A run config (the `featdiv train` format); variants and profiles override keys of it.
    #[serde(default)]
    pub base: toml::Table,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    /// The series it belongs to in the report (e.g. "k-curve", "eps-curve", "baseline").
    #[serde(default)]
    pub group: String,
    /// Its position on the series' x axis (K, eps, ...).
    #[serde(default)]
    pub x: Option<f64>,
    #[serde(default)]
    pub set: Vec<String>,
    /// "cuda": the variant only exists on a CUDA device (e.g. nondeterministic cuDNN).
    #[serde(default)]
    pub device: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// In words, for the report: data, model, budget.
    pub scale: String,
    #[serde(default)]
    pub set: Vec<String>,
    pub seeds: Option<Vec<u64>>,
    /// "cuda": the profile refuses to start without a GPU.
    #[serde(default)]
    pub requires_device: Option<String>,
    /// Measured or estimated wall time, for the docs and the progress line.
    #[serde(default)]
    pub expected_time: Option<String>,
}

/// One run of an experiment, as written to the plan file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedRun {
    pub experiment: String,
    pub variant: String,
    pub group: String,
    pub x: Option<f64>,
    pub seed: u64,
    /// Hash of the resolved config: the run's folder name.
    pub hash: String,
    /// The base config as TOML, and the overrides that make this run of it.
    pub base: String,
    pub overrides: Vec<String>,
}

/// An experiment expanded for one profile: what the plan file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub experiment: String,
    pub title: String,
    pub claims: Vec<String>,
    pub analysis_of: Vec<String>,
    pub profile: String,
    pub scale: String,
    pub device: String,
    pub runs: Vec<PlannedRun>,
    /// Variants left out on this device (e.g. CUDA-only ones on a CPU).
    pub skipped: Vec<String>,
}

/// Overrides every run of a `reproduce` or `sweep` gets: the data folder and the device.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// A folder of data sets (`DIR/fashion-mnist`, `DIR/cifar-10-batches-bin`, as under `data/`):
    /// every run whose config names no `data.path` reads its source from here.
    pub data_dir: Option<PathBuf>,
    /// A resolved device: "cpu", "cuda" or "cuda:N" (never "auto": the hash must say where a run ran).
    pub device: String,
}

impl Experiment {
    pub fn from_file(path: &Path) -> Result<Experiment> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment {}", path.display()))?;
        let e: Experiment = serde_path_to_error::deserialize(toml::de::Deserializer::new(&text))
            .map_err(|e| {
                anyhow::anyhow!(
                    "experiment {}: invalid key {}: {}",
                    path.display(),
                    e.path(),
                    e.inner().message()
                )
            })?;
        e.check()
            .with_context(|| format!("in experiment {}", path.display()))?;
        Ok(e)
    }

    fn check(&self) -> Result<()> {
        for p in self.profiles.keys() {
            ensure!(
                PROFILES.contains(&p.as_str()),
                "invalid key profiles.{p}: a profile is one of {PROFILES:?}"
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for v in &self.variants {
            ensure!(
                names.insert(&v.name),
                "invalid key variants: the name {:?} is used twice",
                v.name
            );
            if let Some(d) = &v.device {
                ensure!(
                    d == "cuda",
                    "invalid key variants.device of {:?}: only \"cuda\" restricts a variant",
                    v.name
                );
            }
        }
        ensure!(
            self.analysis_of.is_empty() || self.variants.is_empty(),
            "an experiment is either an analysis (analysis_of) or has variants, not both"
        );
        Ok(())
    }

    /// The runs of this experiment under `profile` on `host`; None if the experiment does not
    /// take part in the profile.
    pub fn plan(&self, profile: &str, host: &Host) -> Result<Option<Plan>> {
        let Some(p) = self.profiles.get(profile) else {
            return Ok(None);
        };
        if let Some(need) = &p.requires_device {
            ensure!(
                host.device.starts_with(need.as_str()),
                "profile {profile} of experiment {} needs --device {need}; this run has {}",
                self.name,
                host.device
            );
        }
        let base = toml::to_string(&self.base).context("cannot serialize the base config")?;
        let seeds = p.seeds.clone().unwrap_or_else(|| self.seeds.clone());
        ensure!(
            self.variants.is_empty() || !seeds.is_empty(),
            "experiment {}: no seeds (set seeds, or profiles.{profile}.seeds)",
            self.name
        );
        let mut runs = Vec::new();
        let mut skipped = Vec::new();
        for v in &self.variants {
            if let Some(d) = &v.device
                && !host.device.starts_with(d.as_str())
            {
                skipped.push(format!("{} (needs {d})", v.name));
                continue;
            }
            for &seed in &seeds {
                let mut overrides = p.set.clone();
                overrides.extend(v.set.iter().cloned());
                overrides.push(format!("seed={seed}"));
                overrides.push(format!("device={:?}", host.device));
                let context = || {
                    format!(
                        "experiment {}, variant {:?}, profile {profile}",
                        self.name, v.name
                    )
                };
                let mut cfg = Config::from_toml_str(&base, &overrides).with_context(context)?;
                if let Some(dir) = &host.data_dir
                    && cfg.data.path.is_none()
                    && let Some(name) = crate::data::default_path(&cfg.data.source)
                        .and_then(|p| p.file_name().map(|n| n.to_owned()))
                {
                    let path = dir.join(name);
                    overrides.push(format!("data.path={:?}", path.display().to_string()));
                    cfg = Config::from_toml_str(&base, &overrides).with_context(context)?;
                }
                runs.push(PlannedRun {
                    experiment: self.name.clone(),
                    variant: v.name.clone(),
                    group: v.group.clone(),
                    x: v.x,
                    seed,
                    hash: config_hash(&cfg)?,
                    base: base.clone(),
                    overrides,
                });
            }
        }
        Ok(Some(Plan {
            experiment: self.name.clone(),
            title: self.title.clone(),
            claims: self.claims.clone(),
            analysis_of: self.analysis_of.clone(),
            profile: profile.to_string(),
            scale: p.scale.clone(),
            device: host.device.clone(),
            runs,
            skipped,
        }))
    }
}

impl PlannedRun {
    pub fn config(&self) -> Result<Config> {
        Config::from_toml_str(&self.base, &self.overrides)
    }
}

/// The experiment files of a folder, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Experiment>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the experiments folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no experiment (*.toml) in {}", dir.display());
    }
    paths.iter().map(|p| Experiment::from_file(p)).collect()
}

/// FNV-1a (64 bit) of the resolved config's TOML: stable across machines and Rust versions,
/// unlike std's hasher. 16 hex digits.
pub fn config_hash(cfg: &Config) -> Result<String> {
    let text = cfg.to_toml()?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Ok(format!("{h:016x}"))
}
