//! Runs planned runs into `OUT/runs/<hash>/`, skipping finished ones, one at a time in this
//! process or several at a time in child worker processes (`--jobs`). A run trains in
//! `OUT/runs/.partial-<hash>-<pid>@<host>` and is renamed into place only when it has finished:
//! a folder named by a hash is always a finished run, so a killed sweep resumes by training what
//! has no folder yet.
mod owner;
mod pool;
pub mod worker;

use crate::experiment::{Experiment, Host, Plan, PlannedRun, ProfileName};
use crate::files::write_json;
use crate::records::{OutDir, RunFiles};
use anyhow::{Context, Result, ensure};
use owner::{Claim, Owner};
use pool::{Ended, Pool, side_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use worker::Report;

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
    /// `jobs` child processes of this featdiv binary (`featdiv worker`), each training runs in
    /// turn.
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
    /// Runs another process holds, with their owners, and when that was last said.
    held: Vec<String>,
    waited: Option<Instant>,
}

impl Progress<'_> {
    /// Waits a moment for runs another sweep is training, saying so now and then.
    fn wait_for(&mut self, todo: &[&PlannedRun]) {
        if todo.is_empty() {
            return;
        }
        if self.waited.is_none_or(|w| w.elapsed().as_secs() >= 30) {
            crate::say!(
                "waiting for {} runs another sweep into this folder is training: {}",
                todo.len(),
                self.held.join(", ")
            );
            self.waited = Some(Instant::now());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }

    fn report(&mut self, r: &PlannedRun, result: &Result<()>) {
        self.done += 1;
        let status = match result {
            Ok(()) => {
                self.tally.trained += 1;
                summary_line(&OutDir(self.out).run(&r.hash))
            }
            Err(e) => {
                let e = crate::files::error_text(e);
                let what = format!("{} {} seed {}: {e}", r.experiment, r.variant, r.seed);
                self.tally.failed.push(what);
                format!("FAILED: {e}")
            }
        };
        crate::say!(
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

/// Trains every run of `runs` without a finished folder under `out`. Runs another sweep into the
/// same folder is training are left to it and waited for; a run whose output cannot be written
/// (a full disk) stops the sweep at once, with the file and the cause.
pub fn execute(runs: &[PlannedRun], out: &Path, executor: &Executor) -> Result<Tally> {
    let dir = OutDir(out).runs();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let me = Owner::this_process();
    me.remove_stale(&dir)?;
    let unfinished = |r: &&PlannedRun| !RunFiles(&OutDir(out).run(&r.hash)).summary().exists();
    let mut todo: Vec<&PlannedRun> = runs.iter().filter(unfinished).collect();
    let skipped = runs.len() - todo.len();
    if skipped > 0 {
        crate::say!(
            "{skipped} of {} runs already finished under {}: skipped",
            runs.len(),
            dir.display()
        );
    }
    let mut progress = Progress {
        out,
        total: todo.len(),
        done: 0,
        started: Instant::now(),
        tally: Tally {
            skipped,
            ..Tally::default()
        },
        held: Vec::new(),
        waited: None,
    };
    while !todo.is_empty() {
        let held = run_round(&todo, out, executor, &me, &mut progress)?;
        todo = held.into_iter().filter(unfinished).collect();
        progress.wait_for(&todo);
    }
    Ok(progress.tally)
}

/// The context of a run's error that stops the sweep: OUT's file system is full.
const OUT_FULL: &str = "stopping the sweep: the file system of OUT is full; free space and run it \
                        again (finished runs are kept)";

/// Trains the runs of `todo` this process can claim; returns those another process holds.
fn run_round<'a>(
    todo: &[&'a PlannedRun],
    out: &Path,
    executor: &Executor,
    me: &Owner,
    progress: &mut Progress,
) -> Result<Vec<&'a PlannedRun>> {
    let mut held = Vec::new();
    let mut finished_meanwhile = 0;
    let mut claim = |r: &'a PlannedRun| -> Result<bool> {
        match me.claim(out, &r.hash)? {
            // Another sweep may have finished it since this one listed what to do.
            Claim::Ours if RunFiles(&OutDir(out).run(&r.hash)).summary().exists() => {
                finished_meanwhile += 1;
                me.release(out, &r.hash).map(|()| false)
            }
            Claim::Ours => Ok(true),
            Claim::Held(owner) => {
                held.push((r, owner));
                Ok(false)
            }
        }
    };
    let mut ended = |r: &PlannedRun, result: Result<()>| -> Result<()> {
        let released = me.release(out, &r.hash);
        progress.report(r, &result);
        match result {
            Err(e) if crate::files::out_of_space(&e) => Err(e.context(OUT_FULL)),
            _ => released,
        }
    };
    match executor {
        Executor::InProcess => {
            let mut data = crate::data::DataCache::default();
            for &r in todo {
                if claim(r)? {
                    let partial = me.partial_dir(out, &r.hash);
                    ended(r, run_in_process(r, out, &partial, &mut data))?;
                }
            }
        }
        Executor::Spawn { featdiv, jobs } => {
            let pool = Pool {
                featdiv: featdiv.clone(),
                jobs: *jobs,
            };
            pool.run(
                todo,
                |r| me.partial_dir(out, &r.hash),
                &mut claim,
                |r, partial, status| {
                    ended(
                        r,
                        status.and_then(|s| child_ended(s, partial, out, &r.hash)),
                    )
                },
            )?;
        }
    }
    progress.tally.skipped += finished_meanwhile;
    progress.held = held
        .iter()
        .map(|(r, owner)| format!("{} ({owner})", r.hash))
        .collect();
    Ok(held.into_iter().map(|(r, _)| r).collect())
}

/// Moves a worker's run into place, or its records to `<hash>.failed` with the run's error (or,
/// if the worker died in it, its exit status and what it said). A run that stopped on a full disk
/// is an out-of-space error here too.
fn child_ended(e: Ended, partial: &Path, out: &Path, hash: &str) -> Result<()> {
    let (error, no_space) = match e {
        Ended::Reported(Report { error: None, .. }) => return finish(partial, out, hash),
        Ended::Reported(Report {
            error: Some(error),
            no_space,
        }) => (anyhow::anyhow!(error), no_space),
        Ended::Died { status, stderr } => {
            let said = stderr.trim();
            let said = said.strip_prefix("error: ").unwrap_or(said);
            let error = anyhow::anyhow!("featdiv worker exited with {status}: {said}");
            (error, status.code() == Some(crate::files::EXIT_NO_SPACE))
        }
    };
    let full = no_space || crate::files::out_of_space(&error) || crate::files::disk_full(out);
    let error = if full {
        anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOSPC))
            .context(error.to_string())
    } else {
        error
    };
    crate::files::and_then_keep(Err(error), fail(partial, out, hash))
}

/// With a progress bar on a terminal, per-epoch lines in a log (long runs of the paper profile).
fn run_in_process(
    r: &PlannedRun,
    out: &Path,
    partial: &Path,
    data: &mut crate::data::DataCache,
) -> Result<()> {
    let cfg = r.config()?;
    match crate::single_run::run_to_dir(&cfg, &r.base, &r.overrides, partial, false, data) {
        Ok(_) => finish(partial, out, &r.hash),
        Err(e) => crate::files::and_then_keep(Err(e), fail(partial, out, &r.hash)),
    }
}

/// A worker's run config beside its partial folder: not part of the run's records.
fn remove_side_files(partial: &Path) -> Result<()> {
    let path = side_file(partial, "base.toml");
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
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
        crate::say!(
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
    crate::say!(
        "{} runs (shard {}/{}) -> {}",
        runs.len(),
        shard.index,
        shard.count,
        out.display()
    );
    let tally = execute(&runs, out, executor)?;
    crate::say!(
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
