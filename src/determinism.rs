//! Determinism as an explicit, recorded switch. libtorch's global switches (deterministic cuDNN,
//! deterministic algorithms, cuDNN benchmark, TF32) are set and read back through a small C++
//! shim (csrc/determinism.cpp), so every record carries what was in force, not what was asked.
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

unsafe extern "C" {
    fn featdiv_set_deterministic_cudnn(b: bool);
    fn featdiv_deterministic_cudnn() -> bool;
    fn featdiv_set_deterministic_algorithms(b: bool, warn_only: bool);
    fn featdiv_deterministic_algorithms() -> bool;
    fn featdiv_deterministic_algorithms_warn_only() -> bool;
    fn featdiv_set_benchmark_cudnn(b: bool);
    fn featdiv_benchmark_cudnn() -> bool;
    fn featdiv_set_allow_tf32_cublas(b: bool);
    fn featdiv_allow_tf32_cublas() -> bool;
    fn featdiv_set_allow_tf32_cudnn(b: bool);
    fn featdiv_allow_tf32_cudnn() -> bool;
}

/// The config's `[determinism]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminismConfig {
    /// "deterministic" | "nondeterministic" | "default" (leave libtorch's switches alone).
    #[serde(default = "default_mode")]
    pub mode: String,
    /// cuDNN benchmark (picks algorithms by timing, so they can vary run to run).
    #[serde(default)]
    pub benchmark: bool,
    /// TF32 for matmul and cuDNN convolutions.
    #[serde(default)]
    pub tf32: bool,
}

fn default_mode() -> String {
    "default".into()
}

impl Default for DeterminismConfig {
    fn default() -> Self {
        DeterminismConfig {
            mode: default_mode(),
            benchmark: false,
            tf32: false,
        }
    }
}

pub const MODES: &[&str] = &["deterministic", "nondeterministic", "default"];

/// What libtorch reports is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeterminismState {
    pub cudnn_deterministic: bool,
    pub deterministic_algorithms: bool,
    pub deterministic_algorithms_warn_only: bool,
    pub cudnn_benchmark: bool,
    pub tf32_matmul: bool,
    pub tf32_cudnn: bool,
}

/// Reads the switches back from libtorch.
pub fn state() -> DeterminismState {
    // SAFETY: the shim's getters only read libtorch's global context.
    unsafe {
        DeterminismState {
            cudnn_deterministic: featdiv_deterministic_cudnn(),
            deterministic_algorithms: featdiv_deterministic_algorithms(),
            deterministic_algorithms_warn_only: featdiv_deterministic_algorithms_warn_only(),
            cudnn_benchmark: featdiv_benchmark_cudnn(),
            tf32_matmul: featdiv_allow_tf32_cublas(),
            tf32_cudnn: featdiv_allow_tf32_cudnn(),
        }
    }
}

/// Applies a config's switches and returns what is then in force. Deterministic mode also sets
/// CUBLAS_WORKSPACE_CONFIG (needed by deterministic cuBLAS) unless the user set it.
pub fn apply(cfg: &DeterminismConfig) -> Result<DeterminismState> {
    let deterministic = match cfg.mode.as_str() {
        "deterministic" => Some(true),
        "nondeterministic" => Some(false),
        "default" => None,
        other => bail!("invalid config key determinism.mode: {other:?}; expected one of {MODES:?}"),
    };
    // SAFETY: the shim's setters only write libtorch's global context; featdiv sets them before
    // any kernel of a run is launched.
    unsafe {
        if let Some(d) = deterministic {
            if d && std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
                // SAFETY: set once, before libtorch starts any thread that reads it.
                std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
            }
            featdiv_set_deterministic_cudnn(d);
            // warn_only: an op without a deterministic kernel warns instead of failing the run.
            featdiv_set_deterministic_algorithms(d, true);
        }
        featdiv_set_benchmark_cudnn(cfg.benchmark);
        featdiv_set_allow_tf32_cublas(cfg.tf32);
        featdiv_set_allow_tf32_cudnn(cfg.tf32);
    }
    Ok(state())
}
