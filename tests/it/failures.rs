//! Failure injections on E1's smoke sweep: two sweeps into one folder share the work, a killed
//! worker fails its run alone, and a full disk stops the sweep at once with the file and the
//! cause; every finished run stays whole, and a restart ends with the records and report of an
//! uninterrupted sweep.
use crate::common;

use common::sweeps::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// "trained N" of a sweep's last lines.
fn trained(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("trained "))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no tally in:\n{stderr}"))
}

#[test]
fn two_sweeps_into_one_folder_train_each_run_once() {
    let (unsharded, reference) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let a = sweep_e1(&out, &["--jobs", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = sweep_e1(&out, &["--jobs", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (
        ok(a.wait_with_output().unwrap()),
        ok(b.wait_with_output().unwrap()),
    );
    let (a, b) = (
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr),
    );
    let unique = records(reference).len();
    assert_eq!(
        trained(&a) + trained(&b),
        unique,
        "each run trained once:\n{a}\n{b}"
    );
    assert!(
        trained(&a) > 0 && trained(&b) > 0,
        "the work is shared:\n{a}\n{b}"
    );
    assert_eq!(records(&out), records(reference));
    assert_same_report(&out, &dir.path().join("report"), unsharded);
    let left: Vec<_> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        left.is_empty(),
        "claims or partial runs left behind: {left:?}"
    );
}

/// The pids of this process's children: a sweep's `featdiv worker` processes.
fn workers_of(parent: u32) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1));
        if ppid == Some(&parent.to_string()) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn a_killed_worker_fails_its_run_alone_and_a_restart_finishes() {
    let (_, reference) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let sweep = sweep_e1(&out, &["--jobs", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let victim = loop {
        if let Some(&pid) = workers_of(sweep.id()).first() {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no worker started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: a plain kill(2) of our own grandchild.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    let first = sweep.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        !first.status.success() && err.contains("signal: 9"),
        "{err}"
    );
    assert_eq!(
        err.matches("FAILED").count(),
        1,
        "one run failed, the others went on:\n{err}"
    );
    ok(sweep_e1(&out, &[]).output().unwrap());
    assert_eq!(records(&out), records(reference));
}

/// A tmpfs of `size` at `dir`, or None (with the reason printed) where mounting is not allowed.
fn tmpfs(dir: &Path, size: &str) -> Option<()> {
    let o = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .ok()?;
    if o.status.success() {
        Some(())
    } else {
        let reason = format!(
            "cannot mount a tmpfs ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        common::skip(
            "a_full_disk_stops_the_sweep_at_once_and_a_restart_finishes",
            &reason,
            "make test as root, as CI does",
        );
        None
    }
}

#[test]
fn a_full_disk_stops_the_sweep_at_once_and_a_restart_finishes() {
    let (_, reference) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    if tmpfs(&disk, "3m").is_none() {
        return;
    }
    let out = disk.join("runs");
    let o = sweep_e1(&out, &["--jobs", "2"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let full = Command::new("mount")
        .args(["-o", "remount,size=200m"])
        .arg(&disk)
        .status();
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("stopping the sweep"),
        "{err}"
    );
    // A panicking worker exits 101; the bare digits also turn up in the temporary file names.
    assert!(
        !err.contains("exited with exit status: 101"),
        "a worker panicked:\n{err}"
    );
    assert!(
        err.matches("FAILED").count() <= 2,
        "it went on starting runs:\n{err}"
    );
    // Every run that finished is whole.
    let before = records(&out);
    for (hash, (steps, summary)) in &before {
        assert!(
            summary["status"] == "done" && steps.ends_with('\n'),
            "{hash}"
        );
    }
    assert!(full.unwrap().success(), "remount");
    ok(sweep_e1(&out, &[]).output().unwrap());
    let after = records(&out);
    assert_eq!(after, records(reference));
    for (hash, r) in before {
        assert_eq!(after[&hash], r, "a finished run was touched: {hash}");
    }
    let _ = Command::new("umount").arg(&disk).status();
}
