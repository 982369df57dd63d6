//! What every result record carries so it explains itself: seed, threads, device, libtorch,
//! determinism in force, and the git commit of the code.
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub featdiv_version: &'static str,
    pub git_commit: &'static str,
    pub seed: u64,
    pub threads: i32,
    pub device: String,
    pub libtorch_version: String,
    pub libtorch_path: String,
    pub cuda_available: bool,
    pub determinism: Determinism,
    pub hostname: String,
}

/// Determinism in force, read back from libtorch (see `crate::determinism`). On CPU, libtorch's
/// float32 kernels are also bitwise reproducible at a fixed thread count (DIGEST section 7).
#[derive(Debug, Clone, Serialize)]
pub struct Determinism {
    pub cpu_bitwise_at_fixed_threads: bool,
    pub in_force: crate::determinism::DeterminismState,
    pub cublas_workspace_config: Option<String>,
}

/// The folder of the libtorch this process actually loaded (from /proc/self/maps).
pub fn libtorch_dir() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("/libtorch_cpu.so"))?;
    let path = PathBuf::from(line.split_whitespace().last()?);
    Some(path.parent()?.parent()?.to_path_buf())
}

/// Version of the loaded libtorch: `version.py` of a wheel, `build-version` of a libtorch zip.
pub fn libtorch_version() -> String {
    let Some(dir) = libtorch_dir() else {
        return "unknown".into();
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("version.py")) {
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("__version__ = ") {
                return v.trim_matches(|c| c == '\'' || c == '"').to_string();
            }
        }
    }
    std::fs::read_to_string(dir.join("build-version"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl Environment {
    pub fn capture(seed: u64, device: tch::Device) -> Environment {
        Environment {
            featdiv_version: env!("CARGO_PKG_VERSION"),
            git_commit: env!("FEATDIV_GIT_COMMIT"),
            seed,
            threads: tch::get_num_threads(),
            device: crate::device::name(device),
            libtorch_version: libtorch_version(),
            libtorch_path: libtorch_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            cuda_available: tch::Cuda::is_available(),
            determinism: Determinism {
                cpu_bitwise_at_fixed_threads: device == tch::Device::Cpu,
                in_force: crate::determinism::state(),
                cublas_workspace_config: std::env::var("CUBLAS_WORKSPACE_CONFIG").ok(),
            },
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        }
    }
}
