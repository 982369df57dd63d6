//! A small pool of child `featdiv worker` processes: at most `jobs` at a time, each training one
//! run after another (`worker`), each dying with this process. A run is reported as it ends, with
//! the worker's report, or with its exit status and what it said on stderr if it died in the run.
//! A worker's stderr comes to this process through a pipe, not a file in OUT, so its last words
//! survive a full disk. If the pool itself fails, it stops its workers before it returns.
use super::worker::{Job, Report};
use crate::config::DeviceSpec;
use crate::experiment::PlannedRun;
use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How a run ended in its worker.
pub enum Ended {
    /// The worker trained it and said how that went.
    Reported(Report),
    /// The worker ended while the run was in it: its exit status and what it said on stderr.
    Died { status: ExitStatus, stderr: String },
}

pub struct Pool {
    pub featdiv: PathBuf,
    pub jobs: usize,
}

/// Runs share a worker only when they ask for the same threads and device: a process keeps its
/// thread pool and CUDA state. None: a run pinned to one GPU, alone in its worker.
type Key = Option<(usize, DeviceSpec)>;

/// What a worker's stdout reader says: a report line, or that the worker closed its stdout.
enum Event {
    Line(usize, String),
    Closed(usize),
}

/// A worker process, the threads reading its output, and the run it is training.
struct Worker<'a> {
    id: usize,
    child: Child,
    stdin: Option<ChildStdin>,
    /// What it wrote to stderr since its current run started.
    said: Arc<Mutex<String>>,
    stderr: Option<JoinHandle<()>>,
    key: Key,
    /// 0..jobs: on CUDA, a pinned worker sees GPU `slot` only.
    slot: usize,
    run: Option<(&'a PlannedRun, PathBuf)>,
}

impl Pool {
    /// Trains every run of `queue` that `claim` grants, in `partial(run)`, and calls
    /// `done(run, partial, ended)` as each ends (Err: it could not be started). Returns early,
    /// with its workers stopped, if `claim` or `done` returns an error or a worker cannot be
    /// waited for.
    pub fn run<'a>(
        &self,
        queue: &[&'a PlannedRun],
        partial: impl Fn(&PlannedRun) -> PathBuf,
        claim: &mut impl FnMut(&'a PlannedRun) -> Result<bool>,
        mut done: impl FnMut(&'a PlannedRun, &Path, Result<Ended>) -> Result<()>,
    ) -> Result<()> {
        let mut workers: Vec<Worker<'a>> = Vec::new();
        let result = self.drive(queue, &partial, claim, &mut done, &mut workers);
        match result {
            Ok(()) => workers.into_iter().try_for_each(retire),
            Err(e) => {
                for w in &mut workers {
                    // The worker may have ended meanwhile: nothing to stop then.
                    let _ = w.child.kill();
                    let _ = w.child.wait();
                }
                Err(e)
            }
        }
    }

    fn drive<'a>(
        &self,
        queue: &[&'a PlannedRun],
        partial: &impl Fn(&PlannedRun) -> PathBuf,
        claim: &mut impl FnMut(&'a PlannedRun) -> Result<bool>,
        done: &mut impl FnMut(&'a PlannedRun, &Path, Result<Ended>) -> Result<()>,
        workers: &mut Vec<Worker<'a>>,
    ) -> Result<()> {
        let (events, inbox) = channel();
        let mut queue = queue.iter().copied();
        let mut next_id = 0;
        loop {
            while busy(workers) < self.jobs.max(1) {
                let Some(run) = queue.next() else { break };
                if !claim(run)? {
                    continue;
                }
                let dir = partial(run);
                if let Err(e) = self.start(run, &dir, workers, &events, &mut next_id) {
                    done(run, &dir, Err(e))?;
                }
            }
            if busy(workers) == 0 {
                return Ok(());
            }
            self.next_event(&inbox, workers, done)?;
        }
    }

    /// Waits for a worker to report or close, and passes on what that means for its run.
    fn next_event<'a>(
        &self,
        inbox: &Receiver<Event>,
        workers: &mut Vec<Worker<'a>>,
        done: &mut impl FnMut(&'a PlannedRun, &Path, Result<Ended>) -> Result<()>,
    ) -> Result<()> {
        // The pool holds a sender, so the channel cannot close while it waits.
        let event = inbox.recv().context("the workers' reports stopped")?;
        let id = match &event {
            Event::Line(id, _) | Event::Closed(id) => *id,
        };
        // A retired worker closes after it has been waited for: nothing to report then.
        let Some(i) = workers.iter().position(|w| w.id == id) else {
            return Ok(());
        };
        match event {
            Event::Line(_, line) => {
                let Some((run, dir)) = workers[i].run.take() else {
                    bail!("a featdiv worker reported on no run: {line:?}");
                };
                if workers[i].key.is_none() {
                    retire(workers.swap_remove(i))?;
                }
                let report = serde_json::from_str::<Report>(&line)
                    .map(Ended::Reported)
                    .with_context(|| format!("a featdiv worker's report is not valid: {line:?}"));
                done(run, &dir, report)
            }
            Event::Closed(_) => {
                let mut w = workers.swap_remove(i);
                let status = w.child.wait().context("cannot wait for a featdiv worker")?;
                let stderr = said(&mut w);
                match w.run {
                    Some((run, dir)) => done(run, &dir, Ok(Ended::Died { status, stderr })),
                    // Between runs: nothing was lost, but a failing worker is not passed over.
                    None if !status.success() => {
                        bail!("a featdiv worker exited with {status} between runs: {stderr}")
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Hands `run` to an idle worker for its key, or to a new one.
    fn start<'a>(
        &self,
        run: &'a PlannedRun,
        dir: &Path,
        workers: &mut Vec<Worker<'a>>,
        events: &Sender<Event>,
        next_id: &mut usize,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let config = side_file(dir, "base.toml");
        crate::files::write_atomic(&config, run.base.as_bytes())?;
        let key = key(run);
        let idle = workers
            .iter()
            .position(|w| w.run.is_none() && key.is_some() && w.key == key);
        let i = match idle {
            Some(i) => i,
            None => {
                // Make room: an idle worker for other runs gives way.
                if workers.len() >= self.jobs.max(1)
                    && let Some(j) = workers.iter().position(|w| w.run.is_none())
                {
                    retire(workers.swap_remove(j))?;
                }
                let slot = (0..self.jobs)
                    .find(|k| workers.iter().all(|w| w.slot != *k))
                    .unwrap_or(0);
                workers.push(spawn(&self.featdiv, key, slot, *next_id, events)?);
                *next_id += 1;
                workers.len() - 1
            }
        };
        let w = &mut workers[i];
        if let Ok(mut text) = w.said.lock() {
            text.clear();
        }
        let job = Job {
            config,
            overrides: run.overrides.clone(),
            out: dir.to_path_buf(),
        };
        w.run = Some((run, dir.to_path_buf()));
        let line = serde_json::to_string(&job)?;
        if let Some(stdin) = &mut w.stdin {
            // A worker that died cannot take the job; its closing, with its exit status and
            // last words, is reported for this run when it comes.
            let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        }
        if w.key.is_none() {
            // One run only: the worker exits when it has reported.
            w.stdin = None;
        }
        Ok(())
    }
}

fn busy(workers: &[Worker]) -> usize {
    workers.iter().filter(|w| w.run.is_some()).count()
}

fn key(run: &PlannedRun) -> Key {
    // Only a run asking for "cuda" (any GPU) is pinned; cuda:N names its own.
    if run.overrides.iter().any(|o| o == "device=\"cuda\"") {
        return None;
    }
    // A config that does not parse gets a worker of its own, which reports the error.
    run.config().ok().map(|c| (c.threads, c.device))
}

/// Closes an idle worker's stdin and waits for it to exit.
fn retire(mut w: Worker) -> Result<()> {
    w.stdin = None;
    let status = w.child.wait().context("cannot wait for a featdiv worker")?;
    if !status.success() {
        bail!(
            "a featdiv worker exited with {status} when its runs were done: {}",
            said(&mut w)
        );
    }
    Ok(())
}

/// What a worker that has exited said on stderr in its last run.
fn said(w: &mut Worker) -> String {
    if let Some(t) = w.stderr.take()
        && t.join().is_err()
    {
        return "(its stderr reader panicked)".into();
    }
    w.said.lock().map(|t| t.clone()).unwrap_or_default()
}

/// Where a run's side files go: beside its partial folder, not in its records.
pub fn side_file(partial: &Path, what: &str) -> PathBuf {
    partial.with_extension(what)
}

/// A `featdiv worker` that dies with this process (a killed sweep leaves no orphan that could
/// still rename a run into place), with threads passing on its reports and its stderr.
fn spawn<'a>(
    featdiv: &Path,
    key: Key,
    slot: usize,
    id: usize,
    events: &Sender<Event>,
) -> Result<Worker<'a>> {
    let mut cmd = Command::new(featdiv);
    cmd.arg("worker");
    if key.is_none() {
        cmd.env("CUDA_VISIBLE_DEVICES", slot.to_string());
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
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
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {} worker", featdiv.display()))?;
    let (stdin, stdout, stderr) =
        match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(anyhow!("a featdiv worker started without its pipes"));
            }
        };
    let reports = events.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if reports.send(Event::Line(id, l)).is_err() {
                        return;
                    }
                }
                // An unreadable pipe ends like a closed one: the exit status tells why.
                Err(_) => break,
            }
        }
        let _ = reports.send(Event::Closed(id));
    });
    let said = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&said);
    let stderr = std::thread::spawn(move || {
        let mut pipe = stderr;
        let mut buf = [0u8; 4096];
        // A worker that dies mid-line leaves a partial read: keep it.
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut text) = sink.lock() {
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    Ok(Worker {
        id,
        child,
        stdin: Some(stdin),
        said,
        stderr: Some(stderr),
        key,
        slot,
        run: None,
    })
}
