//! Resuming: a sweep killed with SIGKILL and started again finishes without redoing finished runs
//! and with the records of an uninterrupted sweep; only this machine's dead partial runs are
//! cleared.
use crate::common;

use common::sweeps::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

#[test]
fn a_killed_sweep_resumes_without_redoing_finished_runs() {
    let (_, reference) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let mut child = sweep_e1(&out, &["--jobs", "2"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no clean-up) once a few runs have finished.
    let start = Instant::now();
    let finished = |out: &Path| -> usize {
        std::fs::read_dir(out.join("runs")).map_or(0, |d| {
            d.filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                !n.to_string_lossy().starts_with('.')
            })
            .count()
        })
    };
    while finished(&out) < 6 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Its child processes die with it: nothing more appears.
    std::thread::sleep(Duration::from_millis(1500));
    let before: BTreeMap<String, std::time::SystemTime> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let t = std::fs::metadata(p.join("summary.json"))
                .unwrap()
                .modified()
                .unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), t)
        })
        .collect();
    let total = records(reference).len();
    assert!(
        before.len() < total,
        "the kill came too late to test resuming"
    );
    let o = ok(sweep_e1(&out, &[]).output().unwrap());
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains(&format!(
            "{} of {total} runs already finished",
            before.len()
        )),
        "{log}"
    );
    for (hash, t) in &before {
        let now = std::fs::metadata(out.join("runs").join(hash).join("summary.json"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(&now, t, "run {hash} was redone");
    }
    let stray: Vec<_> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "partial runs left behind: {stray:?}");
    assert_eq!(records(&out), records(reference));
}

#[test]
fn only_this_machines_dead_partial_runs_are_cleared() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let host = featdiv::host::identity().unwrap();
    let ours = out.join("runs").join(format!(".partial-abc-{dead}@{host}"));
    let theirs = out
        .join("runs")
        .join(format!(".partial-abc-{dead}@elsewhere-0123456789ab"));
    // A node with the same host name but another machine id (a cluster whose nodes all answer
    // "localhost"): not this machine.
    let (name, _) = host.rsplit_once('-').unwrap();
    let namesake = out
        .join("runs")
        .join(format!(".partial-abc-{dead}@{name}-000000000000"));
    let alive = out
        .join("runs")
        .join(format!(".partial-abc-{}@{host}", std::process::id()));
    for d in [&ours, &theirs, &namesake, &alive] {
        std::fs::create_dir_all(d).unwrap();
    }
    // A kill in the middle of writing a partial run's base config leaves its atomic-write temp.
    let cut_short = out
        .join("runs")
        .join(format!("..partial-abc-{dead}@{host}.base.toml.tmp-{dead}"));
    let theirs_cut_short = out.join("runs").join(format!(
        "..partial-abc-{dead}@elsewhere-0123456789ab.base.toml.tmp-{dead}"
    ));
    for f in [&cut_short, &theirs_cut_short] {
        std::fs::write(f, "seed = 0").unwrap();
    }
    // One run of E1 (shard 0 of 100): the sweep starts by clearing stale partial runs.
    ok(sweep_e1(&out, &["--shard", "0/100"]).output().unwrap());
    assert!(!ours.exists(), "a dead process of this machine: cleared");
    assert!(!cut_short.exists(), "its cut-short write: cleared");
    assert!(theirs_cut_short.exists(), "another machine's write: kept");
    assert!(theirs.exists(), "another machine's run in progress: kept");
    assert!(
        namesake.exists(),
        "a namesake machine's run in progress: kept"
    );
    assert!(alive.exists(), "a live process of this machine: kept");
}
