//! Experiments of `featdiv reproduce` and `featdiv sweep`: one TOML file each (see
//! `configs/experiments/`), a base run config with named variants, seeds and profiles, expanded
//! into planned runs. A run is named by a hash of its resolved config, so the same run planned
//! twice (by two experiments, or two shards) is one folder and is trained once.
mod budget;
mod claim_table;
mod criteria;
pub mod registration;
pub mod stage;
mod vocabulary;

pub use budget::Budget;
pub use criteria::{
    Accuracy, AccuracyRisesWithK, AveragingHinders, BreakerMatchesHe, CharacteristicWidth, ClaimId,
    ConstNetAtInit, Criteria, Growth, IdenticalFeaturesHarm, Rationale, RoundingBreaksSymmetry,
    SmallNoiseSuffices, SymmetryStays, Weighing,
};
pub use registration::Registration;
pub use stage::{ExperimentStage, Provenance, Stage, stage_of};
pub use vocabulary::{group, named};

use crate::config::{Config, DeviceSpec, Precision};
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The scale an experiment runs at; each experiment file says what each means for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    /// Subsets and short budgets, to see every experiment through; claims it cannot decide say so.
    Quick,
    /// The budgets the verdicts are published at, chosen to decide every claim a CPU can.
    Standard,
    /// All of Fashion-MNIST on a CPU.
    Full,
    /// The authors' scale, on a GPU.
    Paper,
    /// A short pass over every experiment on the committed fixture data, for tests and for
    /// checking a set-up; its numbers mean nothing.
    Smoke,
}

impl ProfileName {
    pub const ALL: [ProfileName; 5] = [
        ProfileName::Quick,
        ProfileName::Standard,
        ProfileName::Full,
        ProfileName::Paper,
        ProfileName::Smoke,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProfileName::Quick => "quick",
            ProfileName::Standard => "standard",
            ProfileName::Full => "full",
            ProfileName::Paper => "paper",
            ProfileName::Smoke => "smoke",
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProfileName {
    type Err = String;
    fn from_str(s: &str) -> Result<ProfileName, String> {
        ProfileName::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ProfileName::ALL.iter().map(|p| p.name()).collect();
                format!("unknown profile {s:?}; expected one of {names:?}")
            })
    }
}

/// A device a variant or profile cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeedsDevice {
    Cuda,
}

impl NeedsDevice {
    fn met_by(self, device: DeviceSpec) -> bool {
        match self {
            NeedsDevice::Cuda => matches!(device, DeviceSpec::Cuda(_)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Short id, e.g. "e2-constnet"; also the plan file's name.
    pub name: String,
    pub title: String,
    /// The claims judged on this experiment's runs, each with its criterion (`[claims.Kn]`).
    #[serde(default)]
    pub claims: Criteria,
    /// A measurement of how fast a breaker parts the channels (`[growth]`), if any.
    #[serde(default)]
    pub growth: Option<Growth>,
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
    pub profiles: BTreeMap<ProfileName, Profile>,
    /// Set by `--budget`, not by the file: every run's training budget times this.
    #[serde(skip)]
    pub budget: Budget,
    /// Set by `--precision`, not by the file: every run in this precision (`train.precision`).
    #[serde(skip)]
    pub precision: Option<Precision>,
    /// Set by `--seed-offset`, not by the file: added to every seed the file declares, so the
    /// runs are on seeds no run before saw (a confirmatory run, `experiment::stage`).
    #[serde(skip)]
    pub seed_offset: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub device: Option<NeedsDevice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// In words, for the report: data, model, budget.
    pub scale: String,
    #[serde(default)]
    pub set: Vec<String>,
    pub seeds: Option<Vec<u64>>,
    /// Seeds of named variants, in place of the profile's: a claim whose evidence is spread
    /// over seeds (a bimodal outcome) gets more of them without multiplying every other
    /// variant's runs.
    #[serde(default)]
    pub variant_seeds: BTreeMap<String, Vec<u64>>,
    /// "cuda": the profile refuses to start without a GPU.
    #[serde(default)]
    pub requires_device: Option<NeedsDevice>,
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
    /// The claims judged on these runs, and their criteria as the experiment file declared them.
    pub claims: Vec<ClaimId>,
    #[serde(default)]
    pub criteria: Criteria,
    /// The experiment's `[growth]` measurement; absent from plans without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<Growth>,
    pub analysis_of: Vec<String>,
    pub profile: ProfileName,
    pub scale: String,
    pub device: DeviceSpec,
    pub runs: Vec<PlannedRun>,
    /// Variants left out on this device (e.g. CUDA-only ones on a CPU).
    pub skipped: Vec<String>,
    /// The seed offset, budget, precision and experiment hash it was planned with, which say
    /// whether its verdicts are confirmatory (`stage_of`); flat in the plan file.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Overrides every run of a `reproduce` or `sweep` gets: the data folder and the device.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// A folder of data sets (`DIR/fashion-mnist`, `DIR/cifar-10-batches-bin`, as under `data/`):
    /// every run whose config names no `data.path` reads its source from here.
    pub data_dir: Option<PathBuf>,
    /// A resolved device: cpu, cuda or cuda:N (never auto: the hash must say where a run ran).
    pub device: DeviceSpec,
}

impl Experiment {
    pub fn from_file(path: &Path) -> Result<Experiment> {
        let e: Experiment = crate::files::read_toml(path, "experiment")?;
        e.check()
            .with_context(|| format!("in experiment {}", path.display()))?;
        Ok(e)
    }

    fn check(&self) -> Result<()> {
        self.claims.check()?;
        if let Some(g) = &self.growth {
            g.check()?;
        }
        let mut names = std::collections::BTreeSet::new();
        for v in &self.variants {
            ensure!(
                names.insert(&v.name),
                "invalid key variants: the name {:?} is used twice",
                v.name
            );
        }
        // A claim is judged on the runs of one experiment (claims::measured_by).
        let claims: Vec<String> = self.claims.ids().iter().map(|id| id.to_string()).collect();
        ensure!(
            self.analysis_of.len() <= 1 || claims.is_empty(),
            "invalid key analysis_of: an experiment that declares claims ({}) analyses one \
             experiment's runs, not {}",
            claims.join(", "),
            self.analysis_of.len()
        );
        ensure!(
            self.analysis_of.is_empty() || self.variants.is_empty(),
            "an experiment is either an analysis (analysis_of) or has variants, not both"
        );
        for (name, p) in &self.profiles {
            for (variant, seeds) in &p.variant_seeds {
                ensure!(
                    self.variants.iter().any(|v| &v.name == variant),
                    "invalid key profiles.{name}.variant_seeds: no variant is named {variant:?}"
                );
                ensure!(
                    !seeds.is_empty(),
                    "invalid key profiles.{name}.variant_seeds: no seeds for {variant:?}"
                );
            }
        }
        Ok(())
    }

    /// The runs of this experiment under `profile` on `host`; None if the experiment does not
    /// take part in the profile.
    pub fn plan(&self, profile: ProfileName, host: &Host) -> Result<Option<Plan>> {
        let Some(p) = self.profiles.get(&profile) else {
            return Ok(None);
        };
        if let Some(need) = p.requires_device {
            ensure!(
                need.met_by(host.device),
                "profile {profile} of experiment {} needs --device cuda; this run has {}",
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
            if let Some(need) = v.device
                && !need.met_by(host.device)
            {
                skipped.push(format!("{} (needs cuda)", v.name));
                continue;
            }
            for &declared in p.variant_seeds.get(&v.name).unwrap_or(&seeds) {
                let context = || {
                    format!(
                        "experiment {}, variant {:?}, profile {profile}",
                        self.name, v.name
                    )
                };
                let seed = self.shifted(declared).with_context(context)?;
                runs.push(
                    self.planned_run(v, seed, p, &base, host)
                        .with_context(context)?,
                );
            }
        }
        Ok(Some(Plan {
            experiment: self.name.clone(),
            title: self.title.clone(),
            claims: self.claims.ids(),
            criteria: self.claims.clone(),
            growth: self.growth.clone(),
            analysis_of: self.analysis_of.clone(),
            profile,
            scale: self.scale_text(p),
            device: host.device,
            runs,
            skipped,
            provenance: Provenance {
                seed_offset: self.seed_offset,
                budget: self.budget,
                precision: self.precision,
                frozen_hash: Some(registration::frozen_hash(self)?),
                registered: None,
            },
        }))
    }

    /// A declared seed moved by `--seed-offset`. A config's seed is a TOML integer, so the
    /// largest is i64::MAX; past it is an error rather than a wrap onto seeds already used.
    fn shifted(&self, seed: u64) -> Result<u64> {
        seed.checked_add(self.seed_offset)
            .filter(|&s| i64::try_from(s).is_ok())
            .with_context(|| {
                format!(
                    "--seed-offset {}: seed {seed} would pass the largest seed a config holds \
                     ({}); choose a smaller offset",
                    self.seed_offset,
                    i64::MAX
                )
            })
    }
}

impl Experiment {
    /// The profile's scale in words, with the budget factor and precision where they are not
    /// as declared.
    fn scale_text(&self, p: &Profile) -> String {
        let mut text = p.scale.clone();
        if !self.budget.is_as_declared() {
            text += &format!(
                "; at {} the budget (--budget: every run's epochs, or steps, times that)",
                self.budget
            );
        }
        if let Some(precision) = self.precision {
            text += &format!(
                "; every run in {} (--precision, in place of any precision named above)",
                precision.name()
            );
        }
        if self.seed_offset != 0 {
            text += &format!(
                "; every seed + {} (--seed-offset: seeds the declared ones never were)",
                self.seed_offset
            );
        }
        text
    }

    /// Variant `v` with `seed` under profile `p`: the profile's overrides, then the variant's,
    /// seed, device, the budget factor (of the epochs or steps those made), the precision and
    /// (for a named data set without a path) the host's data folder.
    fn planned_run(
        &self,
        v: &Variant,
        seed: u64,
        p: &Profile,
        base: &str,
        host: &Host,
    ) -> Result<PlannedRun> {
        let mut overrides = p.set.clone();
        overrides.extend(v.set.iter().cloned());
        overrides.push(format!("seed={seed}"));
        overrides.push(format!("device={:?}", host.device.to_string()));
        let mut cfg = Config::from_toml_str(base, &overrides)?;
        if let Some(stretch) = self.budget.override_for(&cfg.train)? {
            overrides.push(stretch);
            cfg = Config::from_toml_str(base, &overrides)?;
        }
        // Only where it changes something: a run already in this precision keeps its hash.
        if let Some(precision) = self.precision
            && cfg.train.precision != precision
        {
            overrides.push(format!("train.precision={:?}", precision.name()));
            cfg =
                Config::from_toml_str(base, &overrides).context("--precision cannot apply here")?;
        }
        if let Some(dir) = &host.data_dir
            && cfg.data.path.is_none()
            && let Some(name) = crate::data::default_path(cfg.data.source)
                .and_then(|p| p.file_name().map(|n| n.to_owned()))
        {
            let path = dir.join(name);
            overrides.push(format!("data.path={:?}", path.display().to_string()));
            cfg = Config::from_toml_str(base, &overrides)?;
        }
        Ok(PlannedRun {
            experiment: self.name.clone(),
            variant: v.name.clone(),
            group: v.group.clone(),
            x: v.x,
            seed,
            hash: config_hash(&cfg)?,
            base: base.to_string(),
            overrides,
        })
    }
}

impl PlannedRun {
    pub fn config(&self) -> Result<Config> {
        Config::from_toml_str(&self.base, &self.overrides)
    }
}

/// The experiment files of a folder, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Experiment>> {
    let paths = crate::files::files_with_extension(dir, "toml")
        .context("cannot list the experiment files")?;
    if paths.is_empty() {
        bail!("no experiment (*.toml) in {}", dir.display());
    }
    paths.iter().map(|p| Experiment::from_file(p)).collect()
}

/// FNV-1a (64 bit) of the resolved config's TOML. 16 hex digits.
pub fn config_hash(cfg: &Config) -> Result<String> {
    Ok(fnv1a(&cfg.to_toml()?))
}

/// FNV-1a (64 bit) of `text`, 16 hex digits: stable across machines and Rust versions, unlike
/// std's hasher.
pub fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
