//! Determinism as an explicit, recorded switch. libtorch's global switches (deterministic cuDNN,
//! deterministic algorithms, cuDNN benchmark, TF32) are set and read back through a small C++
//! shim (csrc/determinism.cpp), so every record carries what was in force, not what was asked.
use crate::config::{DeterminismConfig, DeterminismMode};
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

/// What libtorch reports is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Whether CUBLAS_WORKSPACE_CONFIG holds a value featdiv set (not the user's).
static WORKSPACE_SET_HERE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Applies a config's switches and returns what is then in force. Deterministic mode also sets
/// CUBLAS_WORKSPACE_CONFIG (needed by deterministic cuBLAS) unless the user set it; a later
/// nondeterministic run in the same process takes it away again, so each mode runs with what it
/// asked for (the record reads the variable back).
pub fn apply(cfg: &DeterminismConfig) -> DeterminismState {
    use std::sync::atomic::Ordering;
    let deterministic = match cfg.mode {
        DeterminismMode::Deterministic => Some(true),
        DeterminismMode::Nondeterministic => Some(false),
        DeterminismMode::Default => None,
    };
    // SAFETY: the shim's setters only write libtorch's global context; featdiv sets them before
    // any kernel of a run is launched.
    unsafe {
        if let Some(d) = deterministic {
            // SAFETY: runs take turns (global_state_lock), and libtorch reads the variable when
            // a run creates its cuBLAS handles, after this.
            if d && std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
                std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
                WORKSPACE_SET_HERE.store(true, Ordering::SeqCst);
            } else if !d && WORKSPACE_SET_HERE.swap(false, Ordering::SeqCst) {
                std::env::remove_var("CUBLAS_WORKSPACE_CONFIG");
            }
            featdiv_set_deterministic_cudnn(d);
            // warn_only: an op without a deterministic kernel warns instead of failing the run.
            featdiv_set_deterministic_algorithms(d, true);
        }
        featdiv_set_benchmark_cudnn(cfg.benchmark);
        featdiv_set_allow_tf32_cublas(cfg.tf32);
        featdiv_set_allow_tf32_cudnn(cfg.tf32);
    }
    state()
}

/// libtorch's default generator, thread count and determinism switches are process-global: runs
/// in one process take turns, so that each run's random draws depend on its seed alone, not on
/// other threads.
pub fn global_state_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
