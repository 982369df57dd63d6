//! Runs planned runs into `OUT/runs/<hash>/`, skipping finished ones, one at a time in this
//! process or several as child processes (`--jobs`). A run trains in
//! `OUT/runs/.partial-<hash>-<pid>@<host>` and is renamed into place only when it has finished:
//! a folder named by a hash is always a finished run, so a killed sweep resumes by training what
//! has no folder yet.
mod pool;

use crate::experiment::{Experiment, Host, Plan, PlannedRun, ProfileName};
use crate::files::write_json;
use crate::records::{OutDir, RunFiles};
use anyhow::{Context, Result, bail, ensure};
use pool::{Pool, side_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
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

/// Writes the plans to `OUT/plan/<experiment>.json` (shards write identical ones).
pub fn write_plans(out: &Path, plans: &[Plan]) -> Result<()> {
    for p in plans {
        write_json(&OutDir(out).plan(&p.experiment), p)?;
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

/// Counts and prints each run as it ends.
struct Progress<'a> {
    out: &'a Path,
    total: usize,
    done: usize,
    started: Instant,
    tally: Tally,
}

impl Progress<'_> {
    fn report(&mut self, r: &PlannedRun, result: &Result<()>) {
        self.done += 1;
        let status = match result {
            Ok(()) => {
                self.tally.trained += 1;
                summary_line(&OutDir(self.out).run(&r.hash))
            }
            Err(e) => {
                let what = format!("{} {} seed {}: {e:#}", r.experiment, r.variant, r.seed);
                self.tally.failed.push(what);
                format!("FAILED: {e:#}")
            }
        };
        eprintln!(
            "[{:>3}/{}] {:<16} {:<28} seed {:<3} {}  ({:.0} s elapsed)",
            self.done,
            self.total,
            r.experiment,
            r.variant,
            r.seed,
            status,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Trains every run of `runs` without a finished folder under `out`.
pub fn execute(runs: &[PlannedRun], out: &Path, executor: &Executor) -> Result<Tally> {
    let dir = OutDir(out).runs();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let me = Owner::this_process();
    me.remove_stale_partials(&dir)?;
    let pending: Vec<&PlannedRun> = runs
        .iter()
        .filter(|r| !RunFiles(&OutDir(out).run(&r.hash)).summary().exists())
        .collect();
    let skipped = runs.len() - pending.len();
    if skipped > 0 {
        eprintln!(
            "{skipped} of {} runs already finished under {}: skipped",
            runs.len(),
            dir.display()
        );
    }
    let mut progress = Progress {
        out,
        total: pending.len(),
        done: 0,
        started: Instant::now(),
        tally: Tally {
            skipped,
            ..Tally::default()
        },
    };
    match executor {
        Executor::InProcess => {
            for r in pending {
                let result = run_in_process(r, out, &me.partial_dir(out, &r.hash));
                progress.report(r, &result);
            }
        }
        Executor::Spawn { featdiv, jobs } => {
            let pool = Pool {
                featdiv: featdiv.clone(),
                jobs: *jobs,
            };
            pool.run(
                &pending,
                |r| me.partial_dir(out, &r.hash),
                |r, partial, status| {
                    let result = status.and_then(|s| child_ended(s, partial, out, &r.hash));
                    progress.report(r, &result);
                    Ok(())
                },
            )?;
        }
    }
    Ok(progress.tally)
}

/// Moves a child's run into place, or its records to `<hash>.failed` with the child's log as the
/// error.
fn child_ended(status: ExitStatus, partial: &Path, out: &Path, hash: &str) -> Result<()> {
    if status.success() {
        return finish(partial, out, hash);
    }
    let log_path = side_file(partial, "log");
    let log = std::fs::read_to_string(&log_path).with_context(|| {
        format!(
            "featdiv train exited with {status}, and its log {} cannot be read",
            log_path.display()
        )
    })?;
    fail(partial, out, hash)?;
    bail!("featdiv train exited with {status}: {}", log.trim())
}

/// Who trains a partial run: this process on this machine.
struct Owner {
    pid: u32,
    /// None when this machine cannot be told from others (see `crate::host::identity`).
    host: Result<String>,
}

impl Owner {
    fn this_process() -> Owner {
        Owner {
            pid: std::process::id(),
            host: crate::host::identity(),
        }
    }

    fn partial_dir(&self, out: &Path, hash: &str) -> PathBuf {
        let host = self.host.as_deref().unwrap_or("unknown-host");
        OutDir(out)
            .runs()
            .join(format!(".partial-{hash}-{}@{host}", self.pid))
    }

    /// Partial folders of this machine's processes that no longer run (killed sweeps): their runs
    /// start over. Another machine's partial folders are left to it; a machine that cannot tell
    /// itself from others removes none.
    fn remove_stale_partials(&self, dir: &Path) -> Result<()> {
        let host = match &self.host {
            Ok(h) => h,
            Err(why) => {
                eprintln!(
                    "sweep: leaving partial runs of killed sweeps in {} alone: {why:#}",
                    dir.display()
                );
                return Ok(());
            }
        };
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("cannot read an entry of {}", dir.display()))?
                .path();
            if stale_partial_of(&path, host) {
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
}

/// `.partial-<hash>-<pid>@<host>[.log|.base.toml]` of `host` whose process no longer runs.
fn stale_partial_of(path: &Path, host: &str) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let Some((owner, at)) = name
        .as_deref()
        .and_then(|n| n.strip_prefix(".partial-"))
        .and_then(|rest| rest.split_once('@'))
    else {
        return false;
    };
    let on_this_host = at.split('.').next() == Some(host);
    let pid = owner.rsplit('-').next().and_then(|p| p.parse::<i32>().ok());
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = pid.is_some_and(|p| unsafe { libc::kill(p, 0) } == 0);
    on_this_host && !alive
}

/// With a progress bar on a terminal, per-epoch lines in a log (long runs of the paper profile).
fn run_in_process(r: &PlannedRun, out: &Path, partial: &Path) -> Result<()> {
    let cfg = r.config()?;
    match crate::runner::run_to_dir(&cfg, &r.base, &r.overrides, partial, false) {
        Ok(_) => finish(partial, out, &r.hash),
        Err(e) => crate::files::and_then_keep(Err(e), fail(partial, out, &r.hash)),
    }
}

/// The spawned run's config and log beside its partial folder: not part of the run's records.
fn remove_side_files(partial: &Path) -> Result<()> {
    for side in ["base.toml", "log"] {
        let path = side_file(partial, side);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Moves a finished run into place. If another process finished the same run meanwhile, keeps
/// theirs: both are the same config, so either is the run.
fn finish(partial: &Path, out: &Path, hash: &str) -> Result<()> {
    remove_side_files(partial)?;
    let dest = OutDir(out).run(hash);
    if RunFiles(&dest).summary().exists() {
        return std::fs::remove_dir_all(partial)
            .with_context(|| format!("cannot remove {}", partial.display()));
    }
    std::fs::rename(partial, &dest)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))
}

/// Keeps a failed run's records in `OUT/runs/<hash>.failed/` for inspection (replacing an older
/// failure); a later sweep tries the run again.
fn fail(partial: &Path, out: &Path, hash: &str) -> Result<()> {
    remove_side_files(partial)?;
    let dest = OutDir(out).failed(hash);
    if dest.exists() {
        std::fs::remove_dir_all(&dest)
            .with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    if partial.exists() {
        std::fs::rename(partial, &dest)
            .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))?;
    }
    Ok(())
}

/// "acc 0.8421  12.3 s" from a finished run's summary, for the progress line.
fn summary_line(dir: &Path) -> String {
    let path = RunFiles(dir).summary();
    let summary = std::fs::read_to_string(&path)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(serde_json::from_str::<crate::records::Summary>(&t)?));
    match summary.map(|s| s.result) {
        Ok(crate::records::RunResult::Done(d)) => {
            format!("acc {:.4}  {:.1} s", d.final_test_acc, d.wall_time_s)
        }
        Ok(crate::records::RunResult::Failed { error }) => format!("failed: {error}"),
        Err(e) => format!("done (summary unreadable: {e:#})"),
    }
}

/// Bounds `jobs` by the cores (CPU runs) or GPUs (CUDA runs) of this machine.
pub fn bound_jobs(jobs: usize, cuda: bool) -> Result<usize> {
    ensure!(jobs >= 1, "--jobs must be >= 1");
    let limit = if cuda {
        // One run a GPU: runs on one GPU would contend, and cuda:N pins each child.
        tch::Cuda::device_count().max(1) as usize
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    if jobs > limit {
        eprintln!(
            "--jobs {jobs} is more than the {limit} {} this machine has: using {limit}",
            if cuda { "GPUs" } else { "cores" }
        );
    }
    Ok(jobs.min(limit))
}

/// Plans every experiment that has `profile` (the others are left out) and loads each data set
/// the runs need, so a missing file or device stops everything before any run starts.
pub fn plan_all(
    experiments: &[Experiment],
    profile: ProfileName,
    host: &Host,
) -> Result<Vec<Plan>> {
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
