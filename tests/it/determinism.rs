//! The determinism switch: what a config asks for is set in libtorch and read back from it.
use crate::common;

use featdiv::config::{DeterminismConfig, DeterminismMode};
use featdiv::determinism::{apply, state};

fn cfg(mode: DeterminismMode, benchmark: bool, tf32: bool) -> DeterminismConfig {
    DeterminismConfig {
        mode,
        benchmark,
        tf32,
    }
}

// One test: the switches are process-global.
#[test]
fn switches_are_set_and_read_back() {
    let _turn = featdiv::determinism::global_state_lock();
    let s = apply(&cfg(DeterminismMode::Deterministic, false, false));
    assert!(
        s.cudnn_deterministic && s.deterministic_algorithms && s.deterministic_algorithms_warn_only
    );
    assert!(!s.cudnn_benchmark && !s.tf32_matmul && !s.tf32_cudnn);
    assert!(
        std::env::var("CUBLAS_WORKSPACE_CONFIG").is_ok(),
        "deterministic cuBLAS needs a workspace config"
    );
    assert_eq!(s, state(), "apply returns what libtorch reports");

    // "default" leaves the deterministic switches as they are.
    let s = apply(&cfg(DeterminismMode::Default, true, true));
    assert!(s.cudnn_deterministic && s.deterministic_algorithms);
    assert!(s.cudnn_benchmark && s.tf32_matmul && s.tf32_cudnn);

    let s = apply(&cfg(DeterminismMode::Nondeterministic, false, false));
    assert!(
        !s.cudnn_deterministic
            && !s.deterministic_algorithms
            && !s.cudnn_benchmark
            && !s.tf32_matmul
    );
    assert!(
        std::env::var("CUBLAS_WORKSPACE_CONFIG").is_err(),
        "a nondeterministic run does not inherit the workspace config a deterministic one set"
    );
}

#[test]
fn records_carry_the_switches_in_force() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("out");
    let fixture = format!(
        "data.path={:?}",
        common::fixture("fashion-mnist-small").display().to_string()
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_featdiv"))
        .current_dir(common::root())
        .args([
            "train",
            "--config",
            "configs/toy.toml",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .args([
            "--set",
            &fixture,
            "--set",
            "device=\"cpu\"",
            "--set",
            "data.train_subset=128",
        ])
        .args([
            "--set",
            "data.test_subset=32",
            "--set",
            "model.hidden=[8]",
            "--set",
            "model.init=he",
        ])
        .args([
            "--set",
            "train.epochs=1",
            "--set",
            "determinism.mode=deterministic",
        ])
        .args(["--set", "determinism.benchmark=true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = common::read_json(&out.join("summary.json"));
    let d = &summary["environment"]["determinism"];
    assert_eq!(d["in_force"]["cudnn_deterministic"], true);
    assert_eq!(d["in_force"]["deterministic_algorithms"], true);
    assert_eq!(d["in_force"]["cudnn_benchmark"], true);
    assert_eq!(d["in_force"]["tf32_matmul"], false);
    assert_eq!(d["cublas_workspace_config"], ":4096:8");
}
