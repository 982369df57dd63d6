//! `featdiv worker`: a child of a sweep that trains runs in turn, as the sweep sends them, in one
//! process. Starting a process per run cost about 1.3 s of a run (loading libtorch, decoding the
//! data set), as long as a toy run trains; a worker pays it once. Each run's records are those of
//! a fresh `featdiv train` (tests/it/reproduce_report.rs checks it): every run sets its seed,
//! thread count, determinism switches and precision itself, and the cached data set is only read.
//!
//! The protocol is one JSON line each way per run: a `Job` on stdin, a `Report` on stdout (after
//! `REPORT_TAG`) when the run has ended. The worker exits when its stdin closes.
use crate::data::DataCache;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Marks a report line on the worker's stdout; any other line there (a library that prints) is
/// passed on as what the worker said.
pub const REPORT_TAG: &str = "featdiv-report ";

/// A run to train: its config file (the planned run's base), overrides, and the folder to write.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub config: PathBuf,
    pub overrides: Vec<String>,
    pub out: PathBuf,
}

/// How a run ended, if the worker lived to say so.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// The run's error (with its causes), None when it finished.
    pub error: Option<String>,
    /// The error was a full disk.
    pub no_space: bool,
}

/// Trains the jobs read from stdin until it closes, reporting each on stdout.
pub fn serve() -> Result<()> {
    let mut data = DataCache::default();
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line.context("cannot read the next job from the sweep")?;
        let job: Job = serde_json::from_str(&line)
            .with_context(|| format!("the sweep sent a job that is not valid JSON: {line:?}"))?;
        let report = match train(&job, &mut data) {
            Ok(()) => Report {
                error: None,
                no_space: false,
            },
            Err(e) => Report {
                error: Some(format!("{e:#}")),
                no_space: crate::files::out_of_space(&e),
            },
        };
        writeln!(stdout, "{REPORT_TAG}{}", serde_json::to_string(&report)?)
            .and_then(|()| stdout.flush())
            .context("cannot report to the sweep")?;
    }
    Ok(())
}

/// What `featdiv train --config C --set ... --out O --quiet` does, with the data cached.
fn train(job: &Job, data: &mut DataCache) -> Result<()> {
    crate::single_run::run_config_file(&job.config, &job.overrides, &job.out, true, data)
        .map(|_| ())
}
