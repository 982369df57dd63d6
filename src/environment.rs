//! What every result record carries so it explains itself: seed, threads, device, libtorch,
//! determinism in force, and the git commit of the code.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub featdiv_version: String,
    pub git_commit: String,
    pub seed: u64,
    pub threads: i32,
    pub device: String,
    pub libtorch_version: String,
    pub libtorch_path: String,
    pub cuda_available: bool,
    pub determinism: Determinism,
    pub hostname: String,
    /// The CPU (`host::cpu`): absent in records made before featdiv recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Precision and memory format in force during the run (absent before they existed, and in
    /// a run that failed before its first step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<crate::precision::PrecisionInForce>,
}

/// Determinism in force, read back from libtorch (see `crate::determinism`). On CPU, libtorch's
/// float32 kernels are also bitwise reproducible at a fixed thread count (docs/paper.md,
/// arithmetic).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Determinism {
    pub cpu_bitwise_at_fixed_threads: bool,
    pub in_force: crate::determinism::DeterminismState,
    pub cublas_workspace_config: Option<String>,
}

impl Environment {
    pub fn capture(seed: u64, device: tch::Device) -> Environment {
        Environment {
            featdiv_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: env!("FEATDIV_GIT_COMMIT").into(),
            seed,
            threads: tch::get_num_threads(),
            device: crate::device::name(device),
            libtorch_version: crate::host::libtorch_version(),
            libtorch_path: crate::host::libtorch_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            cuda_available: tch::Cuda::is_available(),
            determinism: Determinism {
                cpu_bitwise_at_fixed_threads: device == tch::Device::Cpu,
                in_force: crate::determinism::state(),
                cublas_workspace_config: std::env::var("CUBLAS_WORKSPACE_CONFIG").ok(),
            },
            hostname: crate::host::hostname(),
            cpu: crate::host::cpu(),
            precision: None,
        }
    }
}
