//! A small pool of child `featdiv worker` processes: at most `jobs` at a time, each training one
//! run after another (`worker`), each dying with this process. A run is reported as it ends, with
//! the worker's report, or with its exit status and what it said on stderr if it died in the run.
//! A worker's stderr comes to this process through a pipe, not a file in OUT, so its last words
//! survive a full disk. If the pool itself fails, it stops its workers before it returns.
use super::worker::{Job, REPORT_TAG, Report};
use crate::config::DeviceSpec;
use crate::experiment::PlannedRun;
use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
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
            Ok(()) => {
                // Every worker is waited for; the first that failed is the error.
                let mut first = Ok(());
                for w in workers {
                    let retired = retire(w);
                    if first.is_ok() {
                        first = retired;
                    }
                }
                first
            }
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
    let said = Arc::new(Mutex::new(String::new()));
    let reports = events.clone();
    let sink = Arc::clone(&said);
    std::thread::spawn(move || pass_reports(stdout, id, &reports, &sink));
    let sink = Arc::clone(&said);
    let stderr = std::thread::spawn(move || keep_stderr(stderr, &sink));
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

/// Passes a worker's report lines on as events, and keeps any other line as what it said; says
/// when its stdout closes.
fn pass_reports(stdout: ChildStdout, id: usize, reports: &Sender<Event>, said: &Mutex<String>) {
    // An unreadable pipe ends like a closed one: the exit status tells why.
    for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        match line.strip_prefix(REPORT_TAG) {
            Some(report) => {
                if reports.send(Event::Line(id, report.to_string())).is_err() {
                    return;
                }
            }
            None => {
                if let Ok(mut text) = said.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        }
    }
    let _ = reports.send(Event::Closed(id));
}

/// Keeps what a worker writes to stderr, until it closes.
fn keep_stderr(mut pipe: ChildStderr, said: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    // A worker that dies mid-line leaves a partial read: keep it.
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        if let Ok(mut text) = said.lock() {
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in for `featdiv worker`: a shell script.
    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("worker.sh");
        std::fs::write(
            &path,
            format!("#!/bin/sh\n[ \"$1\" = worker ] || exit 9\n{body}"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn run(n: u64) -> PlannedRun {
        PlannedRun {
            experiment: "e".into(),
            variant: "v".into(),
            group: "g".into(),
            x: None,
            seed: n,
            hash: format!("run{n}"),
            base: "[data]\nsource = \"synthetic\"\n[model]\narch = \"mlp\"\n".into(),
            overrides: Vec::new(),
        }
    }

    /// What the pool said about each run, in order: Ok(report's error) or Err(exit status, stderr).
    fn outcomes(worker: &Path, jobs: usize, runs: &[PlannedRun]) -> Result<Vec<String>> {
        let dir = worker.parent().unwrap().to_path_buf();
        let pool = Pool {
            featdiv: worker.to_path_buf(),
            jobs,
        };
        let queue: Vec<&PlannedRun> = runs.iter().collect();
        let mut said = Vec::new();
        pool.run(
            &queue,
            |r| dir.join(&r.hash),
            &mut |_| Ok(true),
            |r, _, ended| {
                said.push(match ended? {
                    Ended::Reported(rep) => format!("{} reported {:?}", r.hash, rep.error),
                    Ended::Died { status, stderr } => {
                        format!("{} died {:?}: {}", r.hash, status.code(), stderr.trim())
                    }
                });
                Ok(())
            },
        )?;
        Ok(said)
    }

    #[test]
    fn a_worker_trains_runs_in_turn_and_other_output_is_not_a_report() {
        let dir = tempfile::TempDir::new().unwrap();
        let ok = r#"featdiv-report {"error":null,"no_space":false}"#;
        let worker = script(
            dir.path(),
            &format!(
                "while read job; do echo \"a library's line\"; echo '{ok}'; done\necho started >> \
                 {}/starts\n",
                dir.path().display()
            ),
        );
        let said = outcomes(&worker, 1, &[run(0), run(1), run(2)]).unwrap();
        assert_eq!(said.len(), 3);
        assert!(
            said.iter().all(|s| s.ends_with("reported None")),
            "{said:?}"
        );
        // One worker took all three runs.
        let starts = std::fs::read_to_string(dir.path().join("starts")).unwrap();
        assert_eq!(starts.lines().count(), 1);
    }

    #[test]
    fn a_worker_that_dies_fails_its_run_with_its_last_words_and_a_new_one_goes_on() {
        let dir = tempfile::TempDir::new().unwrap();
        let count = dir.path().join("count");
        // The first worker prints a line that is not a report and dies in its first run.
        let worker = script(
            dir.path(),
            &format!(
                "if [ ! -e {c} ]; then touch {c}; read job; echo 'not a report'; echo 'boom' >&2; \
                 exit 3; fi\nwhile read job; do echo 'featdiv-report \
                 {{\"error\":\"bad\",\"no_space\":false}}'; done\n",
                c = count.display()
            ),
        );
        let said = outcomes(&worker, 1, &[run(0), run(1)]).unwrap();
        assert_eq!(said.len(), 2, "{said:?}");
        // Its stdout and stderr are read by two threads: either may come first.
        let died = said[0].strip_prefix("run0 died Some(3): ").unwrap_or("");
        let mut lines: Vec<&str> = died.lines().collect();
        lines.sort();
        assert_eq!(lines, ["boom", "not a report"], "{said:?}");
        assert_eq!(said[1], "run1 reported Some(\"bad\")");
    }

    #[test]
    fn a_worker_failing_between_runs_is_an_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let worker = script(
            dir.path(),
            "read job; echo 'featdiv-report {\"error\":null,\"no_space\":false}'\nread job; echo \
             'lost my stdin' >&2; exit 4\n",
        );
        let err = outcomes(&worker, 1, &[run(0)]).unwrap_err();
        assert!(
            format!("{err:#}").contains("exit status: 4")
                && format!("{err:#}").contains("lost my stdin"),
            "{err:#}"
        );
    }
}
