//! The registration (`configs/registration.toml`): for each experiment, the hash of everything
//! in its file that can move a verdict, frozen before the runs that are to confirm it, and the
//! smallest seed offset whose seeds no run has seen yet. Only `featdiv register` writes it, so
//! changing a criterion, a profile or a variant after looking at results shows: a plan of the
//! changed file no longer matches, and its verdicts are exploratory (`experiment::stage`).
use super::{Criteria, Experiment, Growth, NeedsDevice, ProfileName, Variant, fnv1a};
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where `featdiv register` writes by default, and where the report looks (from the current
/// directory, as `configs/experiments` is found).
pub const DEFAULT_PATH: &str = "configs/registration.toml";

/// The offset a newly registered experiment's fresh seeds start at: every shipped profile
/// declares seeds below 100, and exploratory runs so far stayed below 1000.
pub const FRESH_SEEDS_FROM: u64 = 1000;

const HEADER: &str = "# Written by `featdiv register` (make register), never by hand: the \
                      experiment files as frozen for
# confirmatory runs. `hash` covers \
                      everything in an experiment's file that can move a verdict
# (criteria, \
                      growth, base config, variants, seeds, profiles' overrides), not its \
                      comments, title,
# or profiles' scale and expected_time. A run folder is \
                      confirmatory when every plan in it was made
# from files with these hashes, \
                      at a seed offset >= fresh_seeds_from (seeds no run has seen), at
# the \
                      declared budget and precision (docs/judging.md, exploratory and \
                      confirmatory).
";

/// The registration file: one entry an experiment, in file-name order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[serde(default)]
    pub experiments: Vec<Entry>,
}

/// One experiment as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The experiment's `name`.
    pub name: String,
    /// Its file in the experiments folder, for messages.
    pub file: String,
    /// `frozen_hash` of the file as registered.
    pub hash: String,
    /// The smallest `--seed-offset` whose seeds count as fresh.
    pub fresh_seeds_from: u64,
}

/// What of a profile can move a verdict: its words (`scale`, `expected_time`) cannot.
#[derive(Serialize)]
struct FrozenProfile<'a> {
    set: &'a [String],
    seeds: &'a Option<Vec<u64>>,
    variant_seeds: &'a BTreeMap<String, Vec<u64>>,
    requires_device: &'a Option<NeedsDevice>,
}

/// What of an experiment file can move a verdict. Its `title` and the TOML's comments and layout
/// cannot, so they are not in it.
#[derive(Serialize)]
struct Frozen<'a> {
    name: &'a str,
    claims: &'a Criteria,
    growth: &'a Option<Growth>,
    seeds: &'a [u64],
    analysis_of: &'a [String],
    base: &'a toml::Table,
    variants: &'a [Variant],
    profiles: BTreeMap<ProfileName, FrozenProfile<'a>>,
}

/// FNV-1a of the parsed experiment as JSON with sorted keys: a canonical form, so that only a
/// change of what was parsed changes it. The flags (`--budget`, `--precision`, `--seed-offset`)
/// are not part of the file and not hashed; a plan records them beside this hash.
pub fn frozen_hash(e: &Experiment) -> Result<String> {
    let profiles = e
        .profiles
        .iter()
        .map(|(name, p)| {
            let frozen = FrozenProfile {
                set: &p.set,
                seeds: &p.seeds,
                variant_seeds: &p.variant_seeds,
                requires_device: &p.requires_device,
            };
            (*name, frozen)
        })
        .collect();
    let frozen = Frozen {
        name: &e.name,
        claims: &e.claims,
        growth: &e.growth,
        seeds: &e.seeds,
        analysis_of: &e.analysis_of,
        base: &e.base,
        variants: &e.variants,
        profiles,
    };
    // Through a Value, whose map sorts its keys whatever order the file wrote them in.
    let value = serde_json::to_value(&frozen)
        .with_context(|| format!("cannot serialize experiment {} to hash it", e.name))?;
    Ok(fnv1a(&value.to_string()))
}

impl Registration {
    pub fn from_file(path: &Path) -> Result<Registration> {
        let r: Registration = crate::files::read_toml(path, "registration")?;
        r.check()
            .with_context(|| format!("in the registration {}", path.display()))?;
        Ok(r)
    }

    /// The registration at `path`, or None where there is no file.
    pub fn load_if_exists(path: &Path) -> Result<Option<Registration>> {
        if path.exists() {
            Registration::from_file(path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn check(&self) -> Result<()> {
        let mut names = BTreeSet::new();
        for e in &self.experiments {
            ensure!(
                names.insert(&e.name),
                "invalid key experiments: {:?} is registered twice",
                e.name
            );
            ensure!(
                e.hash.len() == 16 && e.hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "invalid key experiments.hash of {:?}: {:?} is not 16 hex digits",
                e.name,
                e.hash
            );
        }
        Ok(())
    }

    pub fn entry(&self, experiment: &str) -> Option<&Entry> {
        self.experiments.iter().find(|e| e.name == experiment)
    }

    /// The registration of every experiment file in `dir`. Fresh seeds start where `previous`
    /// had them (a re-registration never makes seen seeds fresh again), at `fresh_from` if given
    /// (only upwards), else at `FRESH_SEEDS_FROM` for an experiment new to the registration.
    pub fn of_dir(
        dir: &Path,
        previous: Option<&Registration>,
        fresh_from: Option<u64>,
    ) -> Result<Registration> {
        let paths = crate::files::files_with_extension(dir, "toml")
            .context("cannot list the experiment files")?;
        if paths.is_empty() {
            bail!("no experiment (*.toml) in {}", dir.display());
        }
        let mut experiments = Vec::new();
        for path in &paths {
            let e = Experiment::from_file(path)?;
            let before = previous.and_then(|r| r.entry(&e.name));
            let kept = before.map(|b| b.fresh_seeds_from);
            if let (Some(asked), Some(kept)) = (fresh_from, kept) {
                ensure!(
                    asked >= kept,
                    "--fresh-seeds-from {asked} is below the {kept} {} is registered with: seeds \
                     from {asked} on may have been seen already",
                    e.name
                );
            }
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
            experiments.push(Entry {
                hash: frozen_hash(&e)?,
                name: e.name,
                file: file.unwrap_or_default(),
                fresh_seeds_from: fresh_from.or(kept).unwrap_or(FRESH_SEEDS_FROM),
            });
        }
        let r = Registration { experiments };
        r.check()
            .with_context(|| format!("in the experiments of {}", dir.display()))?;
        Ok(r)
    }

    /// The file's text: a header saying what it is, then the entries.
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self).context("cannot serialize the registration")?;
        Ok(format!("{HEADER}\n{body}"))
    }

    /// What differs from `before` (None: no registration yet), a line each; empty if nothing.
    pub fn changes_since(&self, before: Option<&Registration>) -> Vec<String> {
        let empty = Registration::default();
        let before = before.unwrap_or(&empty);
        let mut lines = Vec::new();
        for new in &self.experiments {
            let Some(old) = before.entry(&new.name) else {
                lines.push(format!(
                    "{}: registered ({}, hash {}, fresh seeds from offset {})",
                    new.name, new.file, new.hash, new.fresh_seeds_from
                ));
                continue;
            };
            if old.hash != new.hash {
                lines.push(format!(
                    "{}: {} changed since its registration (hash {} -> {})",
                    new.name, new.file, old.hash, new.hash
                ));
            }
            if old.file != new.file {
                lines.push(format!("{}: file {} -> {}", new.name, old.file, new.file));
            }
            if old.fresh_seeds_from != new.fresh_seeds_from {
                lines.push(format!(
                    "{}: fresh seeds from offset {} -> {}",
                    new.name, old.fresh_seeds_from, new.fresh_seeds_from
                ));
            }
        }
        for old in &before.experiments {
            if self.entry(&old.name).is_none() {
                lines.push(format!("{}: no longer registered (no such file)", old.name));
            }
        }
        lines
    }
}

/// `featdiv register`: registers the experiment files of `dir` in `file`, writing it (whole,
/// atomically) only if something changed. Returns what changed, a line each.
pub fn register(dir: &Path, file: &Path, fresh_from: Option<u64>) -> Result<Vec<String>> {
    let before = Registration::load_if_exists(file)?;
    let now = Registration::of_dir(dir, before.as_ref(), fresh_from)?;
    let changes = now.changes_since(before.as_ref());
    if !changes.is_empty() {
        crate::files::write_atomic(file, now.to_toml()?.as_bytes())?;
    }
    Ok(changes)
}
