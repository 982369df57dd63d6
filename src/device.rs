//! Device choice. The binary links only libtorch_cpu; CUDA support is loaded at start-up where
//! libtorch_cuda.so (and its CUDA libraries) can be loaded, so one binary serves both machines.
use crate::config::DeviceSpec;
use anyhow::{Result, bail};
use std::ffi::CString;
use std::sync::OnceLock;
use tch::Device;

static CUDA_LOAD: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Loads libtorch_cuda.so once (RTLD_GLOBAL, so its CUDA hooks register with libtorch).
pub fn load_cuda() -> std::result::Result<(), String> {
    CUDA_LOAD
        .get_or_init(|| {
            let mut errors = Vec::new();
            for name in cuda_candidates() {
                let c = CString::new(name.clone()).map_err(|e| e.to_string())?;
                // SAFETY: dlopen with a valid C string; the handle is intentionally never closed.
                let handle =
                    unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
                if !handle.is_null() {
                    return Ok(());
                }
                // SAFETY: dlerror returns a thread-local C string or null.
                let err = unsafe { libc::dlerror() };
                if !err.is_null() {
                    errors.push(
                        unsafe { std::ffi::CStr::from_ptr(err) }
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
            Err(errors.join("; "))
        })
        .clone()
}

fn cuda_candidates() -> Vec<String> {
    let mut names = Vec::new();
    if let Some(dir) = crate::host::libtorch_dir() {
        names.push(dir.join("lib/libtorch_cuda.so").display().to_string());
    }
    names.push("libtorch_cuda.so".to_string());
    names
}

/// Loads CUDA support where `spec` may use it, before anything else touches libtorch: a call
/// that asks libtorch about CUDA (a seed, a device count) before libtorch_cuda.so is loaded
/// leaves CUDA off for the whole process. Every command and `single_run::run_to_dir` call this
/// first. A failed load is kept and reported by `resolve` when CUDA is asked for.
pub fn prepare(spec: DeviceSpec) {
    if spec != DeviceSpec::Cpu {
        // Kept in CUDA_LOAD: `resolve` reports it where it matters.
        let _ = load_cuda();
    }
}

/// The device a spec names, loading CUDA support where it is asked for.
pub fn resolve(spec: DeviceSpec) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Auto => {
            let _ = load_cuda();
            Ok(if tch::Cuda::is_available() {
                Device::Cuda(0)
            } else {
                Device::Cpu
            })
        }
        DeviceSpec::Cuda(index) => {
            if let Err(why) = load_cuda() {
                bail!("device {spec} asked for, but libtorch_cuda.so cannot be loaded: {why}");
            }
            let n = tch::Cuda::device_count() as usize;
            let index = index.unwrap_or(0);
            if index >= n {
                bail!("device {spec} asked for, but libtorch sees {n} CUDA device(s)");
            }
            Ok(Device::Cuda(index))
        }
    }
}

pub fn name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}
