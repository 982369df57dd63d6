//! The determinism switch: what a config asks for is set in libtorch and read back from it.
mod common;

use featdiv::determinism::{DeterminismConfig, apply, state};

fn cfg(mode: &str, benchmark: bool, tf32: bool) -> DeterminismConfig {
    DeterminismConfig {
        mode: mode.into(),
        benchmark,
        tf32,
    }
}

// One test: the switches are process-global.
#[test]
fn switches_are_set_and_read_back() {
    let s = apply(&cfg("deterministic", false, false)).unwrap();
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
    let s = apply(&cfg("default", true, true)).unwrap();
    assert!(s.cudnn_deterministic && s.deterministic_algorithms);
    assert!(s.cudnn_benchmark && s.tf32_matmul && s.tf32_cudnn);

    let s = apply(&cfg("nondeterministic", false, false)).unwrap();
    assert!(
        !s.cudnn_deterministic
            && !s.deterministic_algorithms
            && !s.cudnn_benchmark
            && !s.tf32_matmul
    );

    let err = apply(&cfg("sometimes", false, false)).unwrap_err();
    assert!(format!("{err}").contains("determinism.mode"), "{err}");
}

#[test]
fn records_carry_the_switches_in_force() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "threads = 1\ndevice = \"cpu\"\n[data]\nsource = \"fashion-mnist\"\npath = \"{}\"\ntrain_subset = 128\ntest_subset = 32\n[model]\narch = \"mlp\"\nhidden = [8]\n[train]\nepochs = 1\n[determinism]\nmode = \"deterministic\"\nbenchmark = true\n",
            common::fixture("fashion-mnist-small").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_featdiv"))
        .args([
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let d = &summary["environment"]["determinism"];
    assert_eq!(d["in_force"]["cudnn_deterministic"], true);
    assert_eq!(d["in_force"]["deterministic_algorithms"], true);
    assert_eq!(d["in_force"]["cudnn_benchmark"], true);
    assert_eq!(d["in_force"]["tf32_matmul"], false);
    assert_eq!(d["cublas_workspace_config"], ":4096:8");
}
