//! ci/gpu-check's own logic, on a CPU: its pre-checks stop with their own exit codes and
//! messages, and in CPU mode (FEATDIV_GPU_CHECK_DEVICE=cpu, a tiny scale) a planted failing run
//! makes the whole check fail while the real runs pass and are summarized.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundle folder holding this build's featdiv (and, if asked, a stand-in cuda_properties).
fn bundle(dir: &Path, with_properties: bool) -> PathBuf {
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_featdiv"), b.join("featdiv")).unwrap();
    if with_properties {
        std::os::unix::fs::symlink("/bin/true", b.join("cuda_properties")).unwrap();
    }
    b
}

fn gpu_check(bundle: &Path, out: &Path, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(root().join("ci/gpu-check"));
    cmd.env("FEATDIV_BUNDLE", bundle).env("OUT", out);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn pre_checks_stop_with_their_own_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = gpu_check(&empty, &dir.path().join("out"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("make gpu-bundle"), "{}", text(&o));

    let has_gpu = Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_gpu {
        let b = bundle(dir.path(), true);
        let o = gpu_check(&b, &dir.path().join("out"), &[]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert!(text(&o).contains("no NVIDIA GPU"), "{}", text(&o));
    }
}

#[test]
fn a_planted_failing_run_fails_the_check_and_the_others_are_summarized() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path(), false);
    let out = dir.path().join("out");
    let o = gpu_check(
        &b,
        &out,
        &[
            ("FEATDIV_GPU_CHECK_DEVICE", "cpu"),
            ("FEATDIV_GPU_CHECK_PLANT", "1"),
        ],
    );
    let said = text(&o);
    assert_eq!(o.status.code(), Some(1), "{said}");
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    for run in [
        "he",
        "constnet-deterministic",
        "constnet-dropout",
        "constnet-bf16-channels-last",
    ] {
        assert!(
            summary
                .lines()
                .any(|l| l.starts_with(&format!("run {run} ")) && l.contains(" pass ")),
            "{summary}"
        );
    }
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("run planted-failure") && l.contains(" FAIL ")),
        "{summary}"
    );
    assert!(
        summary.contains("failed checks: 1; duration: "),
        "{summary}"
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["failed_checks"], 1);
    // Deterministic ConstNet without a breaker: exactly symmetric, as on the GPU.
    assert_eq!(results["runs"]["constnet-deterministic"]["final_gap"], 0.0);
    assert_eq!(
        results["runs"]["constnet-bf16-channels-last"]["final_gap"],
        0.0
    );
    assert!(
        results["runs"]["constnet-dropout"]["final_gap"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
