//! A small pool of child `featdiv train` processes: at most `jobs` at a time, each dying with
//! this process, each reported as it ends with what it said on stderr. A child's stderr comes to
//! this process through a pipe, not a file in OUT, so its last words survive a full disk. If the
//! pool itself fails, it stops its children before it returns.
use crate::experiment::PlannedRun;
use anyhow::{Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// A run's child process, the thread reading its stderr, and the slot (0..jobs) it holds: on
/// CUDA, child k sees GPU k only.
struct Running<'a> {
    child: Child,
    stderr: Option<JoinHandle<String>>,
    run: &'a PlannedRun,
    partial: PathBuf,
    slot: usize,
}

/// How a child ended: its exit status and what it wrote to stderr.
pub struct Ended {
    pub status: ExitStatus,
    pub stderr: String,
}

pub struct Pool {
    pub featdiv: PathBuf,
    pub jobs: usize,
}

impl Pool {
    /// Starts every run of `queue` that `claim` grants in `partial(run)`, and calls
    /// `done(run, partial, status)` as each ends (status Err: it could not start). Returns early,
    /// with its children stopped, if `claim` or `done` returns an error or a child cannot be
    /// waited for.
    pub fn run<'a>(
        &self,
        queue: &[&'a PlannedRun],
        partial: impl Fn(&PlannedRun) -> PathBuf,
        claim: &mut impl FnMut(&'a PlannedRun) -> Result<bool>,
        mut done: impl FnMut(&'a PlannedRun, &Path, Result<Ended>) -> Result<()>,
    ) -> Result<()> {
        let mut running: Vec<Running<'a>> = Vec::new();
        let result = self.drive(queue, &partial, claim, &mut done, &mut running);
        if result.is_err() {
            for r in &mut running {
                // The child may have ended meanwhile: nothing to stop then.
                let _ = r.child.kill();
                let _ = r.child.wait();
            }
        }
        result
    }

    fn drive<'a>(
        &self,
        queue: &[&'a PlannedRun],
        partial: &impl Fn(&PlannedRun) -> PathBuf,
        claim: &mut impl FnMut(&'a PlannedRun) -> Result<bool>,
        done: &mut impl FnMut(&'a PlannedRun, &Path, Result<Ended>) -> Result<()>,
        running: &mut Vec<Running<'a>>,
    ) -> Result<()> {
        let mut queue = queue.iter().copied();
        loop {
            while running.len() < self.jobs.max(1) {
                let Some(run) = queue.next() else { break };
                if !claim(run)? {
                    continue;
                }
                let slot = (0..self.jobs)
                    .find(|k| running.iter().all(|r| r.slot != *k))
                    .unwrap_or(0);
                let dir = partial(run);
                match spawn(&self.featdiv, run, &dir, slot) {
                    Ok(mut child) => {
                        let stderr = child.stderr.take().map(|mut pipe| {
                            std::thread::spawn(move || {
                                let mut text = String::new();
                                // A child that dies mid-line leaves a partial read: keep it.
                                let _ = pipe.read_to_string(&mut text);
                                text
                            })
                        });
                        running.push(Running {
                            child,
                            stderr,
                            run,
                            partial: dir,
                            slot,
                        });
                    }
                    Err(e) => done(run, &dir, Err(e))?,
                }
            }
            if running.is_empty() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut i = 0;
            while i < running.len() {
                let status = running[i].child.try_wait().with_context(|| {
                    format!(
                        "cannot wait for the run in {}",
                        running[i].partial.display()
                    )
                })?;
                match status {
                    Some(status) => {
                        let r = running.swap_remove(i);
                        let stderr = r
                            .stderr
                            .map(|t| {
                                t.join()
                                    .unwrap_or_else(|_| "(its stderr reader panicked)".into())
                            })
                            .unwrap_or_default();
                        done(r.run, &r.partial, Ok(Ended { status, stderr }))?;
                    }
                    None => i += 1,
                }
            }
        }
    }
}

/// Where a spawned run's side files go: beside its partial folder, not in its records.
pub fn side_file(partial: &Path, what: &str) -> PathBuf {
    partial.with_extension(what)
}

/// A child `featdiv train` that dies with this process (a killed sweep leaves no orphan that
/// could still rename a run into place).
fn spawn(featdiv: &Path, r: &PlannedRun, partial: &Path, slot: usize) -> Result<Child> {
    std::fs::create_dir_all(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let base = side_file(partial, "base.toml");
    crate::files::write_atomic(&base, r.base.as_bytes())?;
    let mut cmd = Command::new(featdiv);
    cmd.arg("train").arg("--config").arg(&base);
    for o in &r.overrides {
        cmd.arg("--set").arg(o);
    }
    // Only a run asking for "cuda" (any GPU) is pinned; cuda:N names its own.
    if r.overrides.iter().any(|o| o == "device=\"cuda\"") {
        cmd.env("CUDA_VISIBLE_DEVICES", slot.to_string());
    }
    cmd.arg("--out")
        .arg(partial)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
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
