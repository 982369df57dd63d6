//! Runs planned runs into `OUT/runs/<hash>/`, skipping finished ones, one at a time in this
//! process or several as child processes (`--jobs`). A run trains in
//! `OUT/runs/.partial-<hash>-<pid>@<host>` and is renamed into place only when it has finished: a folder named by a hash is always a
//! finished run, so a killed sweep resumes by training what has no folder yet.
use crate::experiment::{Experiment, Host, PROFILES, Plan, PlannedRun};
use crate::records::write_json;
use anyhow::{Context, Result, bail, ensure};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// "I/N": this shard runs every N-th unique run, starting at the I-th (0-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let err = || format!("--shard {s:?}: expected I/N with 0 <= I < N, e.g. 0/3");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| err())?,
            n.trim().parse().map_err(|_| err())?,
        );
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };
}

/// How runs are executed.
#[derive(Debug, Clone)]
pub enum Executor {
    /// In this process, one after another.
    InProcess,
    /// `jobs` child processes of this featdiv binary (`featdiv train`) at a time.
    Spawn { featdiv: PathBuf, jobs: usize },
}

#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub trained: usize,
    pub skipped: usize,
    pub failed: Vec<String>,
}

pub fn runs_dir(out: &Path) -> PathBuf {
    out.join("runs")
}

pub fn run_dir(out: &Path, hash: &str) -> PathBuf {
    runs_dir(out).join(hash)
}

/// Writes the plans to `OUT/plan/<experiment>.json` (shards write identical ones).
pub fn write_plans(out: &Path, plans: &[Plan]) -> Result<()> {
    for p in plans {
        write_json(
            &out.join("plan").join(format!("{}.json", p.experiment)),
            &serde_json::to_value(p)?,
        )?;
    }
    Ok(())
}

/// The unique runs of `plans` (by hash, first occurrence), and this shard's share of them.
pub fn shard_runs(plans: &[Plan], shard: Shard) -> Vec<PlannedRun> {
    let mut seen = BTreeSet::new();
    plans
        .iter()
        .flat_map(|p| p.runs.iter())
        .filter(|r| seen.insert(r.hash.clone()))
        .enumerate()
        .filter(|(i, _)| i % shard.count == shard.index)
        .map(|(_, r)| r.clone())
        .collect()
}

/// Trains every run of `runs` without a finished folder under `out`.
pub fn execute(runs: &[PlannedRun], out: &Path, executor: &Executor) -> Result<Tally> {
    let dir = runs_dir(out);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    remove_stale_partials(&dir)?;
    let mut tally = Tally::default();
    let pending: Vec<&PlannedRun> = runs
        .iter()
        .filter(|r| {
            let done = run_dir(out, &r.hash).join("summary.json").exists();
            tally.skipped += done as usize;
            !done
        })
        .collect();
    if tally.skipped > 0 {
        eprintln!(
            "{} of {} runs already finished under {}: skipped",
            tally.skipped,
            runs.len(),
            dir.display()
        );
    }
    let total = pending.len();
    let started = Instant::now();
    let report = |k: usize, r: &PlannedRun, result: &Result<()>, tally: &mut Tally| {
        let status = match result {
            Ok(()) => {
                tally.trained += 1;
                summary_line(&run_dir(out, &r.hash))
            }
            Err(e) => {
                tally.failed.push(format!(
                    "{} {} seed {}: {e:#}",
                    r.experiment, r.variant, r.seed
                ));
                format!("FAILED: {e:#}")
            }
        };
        eprintln!(
            "[{k:>3}/{total}] {:<16} {:<28} seed {:<3} {}  ({:.0} s elapsed)",
            r.experiment,
            r.variant,
            r.seed,
            status,
            started.elapsed().as_secs_f64()
        );
    };
    match executor {
        Executor::InProcess => {
            for (k, r) in pending.iter().enumerate() {
                let result = run_in_process(r, out);
                report(k + 1, r, &result, &mut tally);
            }
        }
        Executor::Spawn { featdiv, jobs } => {
            let mut queue = pending.iter().copied();
            // Slot k of `jobs`: on CUDA, child k sees GPU k only.
            let mut running: Vec<(Child, &PlannedRun, PathBuf, usize)> = Vec::new();
            let mut finished = 0;
            loop {
                while running.len() < (*jobs).max(1) {
                    let Some(r) = queue.next() else { break };
                    let slot = (0..*jobs)
                        .find(|k| running.iter().all(|x| x.3 != *k))
                        .unwrap_or(0);
                    let gpu = r
                        .overrides
                        .iter()
                        .any(|o| o == "device=\"cuda\"")
                        .then_some(slot);
                    let partial = partial_dir(out, &r.hash);
                    match spawn(featdiv, r, &partial, gpu) {
                        Ok(child) => running.push((child, r, partial, slot)),
                        Err(e) => {
                            finished += 1;
                            report(finished, r, &Err(e), &mut tally);
                        }
                    }
                }
                if running.is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
                let mut i = 0;
                while i < running.len() {
                    if let Some(status) = running[i].0.try_wait()? {
                        let (_, r, partial, _) = running.swap_remove(i);
                        let result = if status.success() {
                            finish(&partial, out, &r.hash)
                        } else {
                            fail(&partial, out, &r.hash).and_then(|log| {
                                bail!("featdiv train exited with {status}: {}", log.trim())
                            })
                        };
                        finished += 1;
                        report(finished, r, &result, &mut tally);
                    } else {
                        i += 1;
                    }
                }
            }
        }
    }
    Ok(tally)
}

/// This machine's short name, as a file-name-safe word: shards on other machines of a cluster
/// share OUT, and only this machine can tell whether one of its processes still runs.
fn this_host() -> String {
    let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let short = name.trim().split('.').next().unwrap_or_default();
    let safe: String = short
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "localhost".into()
    } else {
        safe
    }
}

fn partial_dir(out: &Path, hash: &str) -> PathBuf {
    runs_dir(out).join(format!(
        ".partial-{hash}-{}@{}",
        std::process::id(),
        this_host()
    ))
}

/// With a progress bar on a terminal, per-epoch lines in a log (long runs of the paper profile).
fn run_in_process(r: &PlannedRun, out: &Path) -> Result<()> {
    let cfg = r.config()?;
    let partial = partial_dir(out, &r.hash);
    match crate::runner::run_to_dir(&cfg, &r.base, &r.overrides, &partial, false) {
        Ok(_) => finish(&partial, out, &r.hash),
        Err(e) => {
            fail(&partial, out, &r.hash)?;
            Err(e)
        }
    }
}

/// A child `featdiv train` that dies with this process (a killed sweep leaves no orphan that
/// could still rename a run into place).
fn spawn(featdiv: &Path, r: &PlannedRun, partial: &Path, gpu: Option<usize>) -> Result<Child> {
    std::fs::create_dir_all(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let base = partial.with_extension("base.toml");
    std::fs::write(&base, &r.base).with_context(|| format!("cannot write {}", base.display()))?;
    let log = std::fs::File::create(partial.with_extension("log"))
        .with_context(|| format!("cannot create the log of {}", partial.display()))?;
    let mut cmd = Command::new(featdiv);
    cmd.arg("train").arg("--config").arg(&base);
    for o in &r.overrides {
        cmd.arg("--set").arg(o);
    }
    if let Some(gpu) = gpu {
        cmd.env("CUDA_VISIBLE_DEVICES", gpu.to_string());
    }
    cmd.arg("--out")
        .arg(partial)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .with_context(|| format!("cannot start {}", featdiv.display()))
}

/// The spawned run's config and log beside its partial folder: not part of the run's records.
fn remove_side_files(partial: &Path) {
    for side in ["base.toml", "log"] {
        let _ = std::fs::remove_file(partial.with_extension(side));
    }
}

/// Moves a finished run into place. If another process finished the same run meanwhile, keeps
/// theirs: both are the same config, so either is the run.
fn finish(partial: &Path, out: &Path, hash: &str) -> Result<()> {
    remove_side_files(partial);
    let dest = run_dir(out, hash);
    if dest.join("summary.json").exists() {
        return std::fs::remove_dir_all(partial)
            .with_context(|| format!("cannot remove {}", partial.display()));
    }
    std::fs::rename(partial, &dest)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))
}

/// Keeps a failed run's records in `OUT/runs/<hash>.failed/` for inspection (replacing an older
/// failure); a later sweep tries the run again. Returns the child's log.
fn fail(partial: &Path, out: &Path, hash: &str) -> Result<String> {
    let log = std::fs::read_to_string(partial.with_extension("log")).unwrap_or_default();
    remove_side_files(partial);
    let dest = runs_dir(out).join(format!("{hash}.failed"));
    if dest.exists() {
        std::fs::remove_dir_all(&dest)
            .with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    if partial.exists() {
        std::fs::rename(partial, &dest)
            .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))?;
    }
    Ok(log)
}

/// Partial folders of this machine's processes that no longer run (killed sweeps): their runs
/// start over. Another machine's partial folders are left to it.
fn remove_stale_partials(dir: &Path) -> Result<()> {
    let host = this_host();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        // .partial-<hash>-<pid>@<host>[.log|.base.toml]
        let Some((owner, at)) = name
            .as_deref()
            .and_then(|n| n.strip_prefix(".partial-"))
            .and_then(|rest| rest.split_once('@'))
        else {
            continue;
        };
        let on_this_host = at.split('.').next() == Some(host.as_str());
        let pid = owner.rsplit('-').next().and_then(|p| p.parse::<i32>().ok());
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = pid.is_some_and(|p| unsafe { libc::kill(p, 0) } == 0);
        if on_this_host && !alive {
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("cannot remove the stale {}", path.display()))?;
        }
    }
    Ok(())
}

fn summary_line(dir: &Path) -> String {
    let read = || -> Option<String> {
        let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(format!(
            "acc {:.4}  {:.1} s",
            v["final_test_acc"].as_f64()?,
            v["wall_time_s"].as_f64()?
        ))
    };
    read().unwrap_or_else(|| "done".into())
}

/// Bounds `jobs` by the cores (CPU runs) or GPUs (CUDA runs) of this machine.
pub fn bound_jobs(jobs: usize, device: &str) -> Result<usize> {
    ensure!(jobs >= 1, "--jobs must be >= 1");
    let limit = if device.starts_with("cuda") {
        // One run a GPU: runs on one GPU would contend, and cuda:N pins each child.
        tch::Cuda::device_count().max(1) as usize
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    if jobs > limit {
        eprintln!(
            "--jobs {jobs} is more than the {limit} this machine has for {device}: using {limit}"
        );
    }
    Ok(jobs.min(limit))
}

/// Plans every experiment that has `profile` (the others are left out) and loads each data set
/// the runs need, so a missing file or device stops everything before any run starts.
pub fn plan_all(experiments: &[Experiment], profile: &str, host: &Host) -> Result<Vec<Plan>> {
    ensure!(
        PROFILES.contains(&profile),
        "unknown profile {profile:?}; expected one of {PROFILES:?}"
    );
    let mut plans = Vec::new();
    for e in experiments {
        if let Some(p) = e.plan(profile, host)? {
            plans.push(p);
        }
    }
    ensure!(
        !plans.is_empty(),
        "no experiment takes part in profile {profile}"
    );
    let mut checked = BTreeSet::new();
    for r in plans.iter().flat_map(|p| p.runs.iter()) {
        let cfg = r.config()?;
        let key = toml::to_string(&cfg.data)?;
        if checked.insert(key) {
            crate::data::load(&cfg.data, cfg.seed).with_context(|| {
                format!(
                    "experiment {} (variant {:?}) cannot load its data; nothing was run",
                    r.experiment, r.variant
                )
            })?;
        }
    }
    Ok(plans)
}

/// Writes the plans, trains this shard's unfinished runs, and fails if any run failed.
pub fn run_plans(plans: &[Plan], shard: Shard, out: &Path, executor: &Executor) -> Result<()> {
    write_plans(out, plans)?;
    let runs = shard_runs(plans, shard);
    eprintln!(
        "{} runs (shard {}/{}) -> {}",
        runs.len(),
        shard.index,
        shard.count,
        out.display()
    );
    let tally = execute(&runs, out, executor)?;
    eprintln!(
        "trained {}, already finished {}, failed {}",
        tally.trained,
        tally.skipped,
        tally.failed.len()
    );
    ensure!(
        tally.failed.is_empty(),
        "{} runs failed (records in {}/runs/*.failed):\n{}",
        tally.failed.len(),
        out.display(),
        tally.failed.join("\n")
    );
    Ok(())
}
