//! Shards: three local shards started at once into one folder, a real Slurm job array on a
//! one-node loopback cluster, and the Kubernetes indexed Job's own command each merge to the
//! report of one unsharded sweep, byte for byte.
use crate::common;

use common::sweeps::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use tempfile::TempDir;

#[test]
fn three_shards_merge_to_the_unsharded_report() {
    let (unsharded, _) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    // The three shards run at once, into one folder, as on a cluster with shared storage.
    let children: Vec<_> = (0..3)
        .map(|i| {
            sweep_e1(&out, &["--shard", &format!("{i}/3")])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
    // Negative control: two of three shards leave the claims "not run".
    let partial = TempDir::new().unwrap();
    let pout = partial.path().join("runs");
    for i in 0..2 {
        ok(sweep_e1(&pout, &["--shard", &format!("{i}/3")])
            .output()
            .unwrap());
    }
    let o = ok(featdiv(&[
        "report",
        "--runs",
        s(&pout),
        "--out",
        s(&partial.path().join("r")),
    ]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("K1 NOT RUN") && text.contains("runs finished"),
        "{text}"
    );
}

/// The Kubernetes manifest's own command, run for each completion index.
#[test]
fn the_kubernetes_indexed_job_shards_merge() {
    let (unsharded, _) = e1_unsharded();
    let yaml = std::fs::read_to_string(common::root().join("ci/k8s/sweep-job.yaml")).unwrap();
    let field = |key: &str| -> String {
        yaml.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{key} missing"))
            .trim()
            .trim_matches('"')
            .to_string()
    };
    assert_eq!(field("completionMode"), "Indexed");
    let completions: usize = field("completions").parse().unwrap();
    let lines: Vec<&str> = yaml.lines().collect();
    let shards_at = lines
        .iter()
        .position(|l| l.contains("name: SHARDS"))
        .unwrap();
    let shards = lines[shards_at + 1]
        .trim()
        .trim_start_matches("value:")
        .trim();
    assert_eq!(
        shards.trim_matches('"'),
        completions.to_string(),
        "SHARDS == completions"
    );
    let args_at = lines.iter().position(|l| l.trim() == "args:").unwrap();
    let script = lines[args_at + 1]
        .trim()
        .trim_start_matches("- ")
        .to_string();
    assert!(script.contains("$JOB_COMPLETION_INDEX/$SHARDS"), "{script}");

    let dir = TempDir::new().unwrap();
    // The report links each run relative to itself, so the runs folder is named as in the
    // unsharded sweep for the two reports to match byte for byte.
    let out = dir.path().join("runs");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_featdiv"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for index in 0..completions {
        let o = Command::new("sh")
            .args(["-c", &script])
            .current_dir(common::root())
            .env("PATH", &path)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SHARDS", completions.to_string())
            .env("EXPERIMENT", E1)
            .env("PROFILE", "smoke")
            .env("RESULTS", &out)
            .output()
            .unwrap();
        ok(o);
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
}

/// The Slurm job array, submitted for real to a one-node cluster on loopback.
#[test]
fn the_slurm_job_array_shards_merge() {
    let have = |b: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !common::is_root()
        || !["sbatch", "munged", "slurmctld", "slurmd"]
            .into_iter()
            .all(have)
    {
        common::skip(
            "the_slurm_job_array_shards_merge",
            "needs root and Slurm (slurm-wlm, munge) to start a one-node cluster",
            "sudo ci/setup-test-tools, then make test as root",
        );
        return;
    }
    let (unsharded, _) = e1_unsharded();
    let root = common::root();
    let up = Command::new(root.join("ci/slurm/local-cluster"))
        .arg("start")
        .output()
        .unwrap();
    ok(up);
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let o = Command::new("sbatch")
        .args([
            "--wait",
            "--array=0-2",
            &format!("--output={}/slurm-%a.out", dir.path().display()),
            "ci/slurm/sweep.sbatch",
            E1,
            "smoke",
            s(&out),
        ])
        .current_dir(&root)
        .env("FEATDIV", env!("CARGO_BIN_EXE_featdiv"))
        .output()
        .unwrap();
    let logs: String = (0..3)
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("slurm-{i}.out"))).unwrap_or_default()
        })
        .collect();
    assert!(
        o.status.success(),
        "sbatch: {}\n{}\nlogs:\n{logs}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for i in 0..3 {
        assert!(logs.contains(&format!("shard {i}/3")), "{logs}");
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
}
