//! Precision and memory format of a run (`train.precision`, `train.memory_format`), through a
//! small C++ shim (csrc/precision.cpp): bf16 autocast regions on CPU or CUDA (bf16 compute, fp32
//! master weights, loss and optimizer), read back, and the channels_last layout of tensors.
use crate::config::{MemoryFormat, Precision};
use tch::Tensor;

/// What a run asked for and what libtorch reported in force during its first step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrecisionInForce {
    pub precision: Precision,
    pub memory_format: MemoryFormat,
    /// bf16 autocast enabled inside the forward pass.
    pub bf16_autocast: bool,
    /// The conv weights laid out channels_last.
    pub channels_last: bool,
}

unsafe extern "C" {
    fn featdiv_autocast_begin(cuda: bool, dtype: i32);
    fn featdiv_autocast_end(cuda: bool);
    fn featdiv_autocast_enabled(cuda: bool) -> bool;
    fn featdiv_autocast_dtype(cuda: bool) -> i32;
    fn featdiv_channels_last(t: *mut torch_sys::C_tensor) -> *mut torch_sys::C_tensor;
    fn featdiv_is_channels_last(t: *mut torch_sys::C_tensor) -> bool;
}

/// An open autocast region; closing it (drop) also clears its cache of cast weights, which the
/// next optimizer step makes stale.
pub struct Autocast {
    cuda: bool,
}

impl Drop for Autocast {
    fn drop(&mut self) {
        // SAFETY: closes the region `autocast` opened on this device.
        unsafe { featdiv_autocast_end(self.cuda) }
    }
}

/// The autocast region a forward pass runs in at `precision`: bf16 opens one; fp32 and tf32
/// (a matmul setting, see `crate::determinism`) need none.
pub fn autocast(precision: Precision, device: tch::Device) -> Option<Autocast> {
    match precision {
        Precision::Bf16 => {
            let cuda = device.is_cuda();
            // SAFETY: sets libtorch's thread-local autocast state; closed by the guard.
            unsafe { featdiv_autocast_begin(cuda, 0) };
            Some(Autocast { cuda })
        }
        Precision::Fp32 | Precision::Tf32 => None,
    }
}

/// Whether bf16 autocast is in force on `device` now (read back from libtorch).
pub fn bf16_autocast_in_force(device: tch::Device) -> bool {
    let cuda = device.is_cuda();
    // SAFETY: the getters only read libtorch's autocast state.
    unsafe { featdiv_autocast_enabled(cuda) && featdiv_autocast_dtype(cuda) == 0 }
}

/// `t` in the channels_last layout (4-d tensors; others as they are).
pub fn channels_last(t: &Tensor) -> Tensor {
    if t.dim() != 4 {
        return t.shallow_clone();
    }
    // SAFETY: the shim returns a new, owned tensor handle, as tch's own calls do.
    unsafe { Tensor::from_ptr(featdiv_channels_last(t.as_ptr() as *mut torch_sys::C_tensor)) }
}

/// Whether `t` is laid out channels_last.
pub fn is_channels_last(t: &Tensor) -> bool {
    // SAFETY: reads the tensor's strides.
    t.dim() == 4 && unsafe { featdiv_is_channels_last(t.as_ptr() as *mut torch_sys::C_tensor) }
}

/// Lays out `x` (a batch) and every 4-d parameter of `vs` as `format` asks.
pub fn apply_format(format: MemoryFormat, vs: &tch::nn::VarStore) {
    if format == MemoryFormat::ChannelsLast {
        let _guard = tch::no_grad_guard();
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                let data = channels_last(&v);
                v.set_data(&data);
            }
        }
    }
}

/// Every parameter back in the default (contiguous) layout, as checkpoints are written.
pub fn contiguous_params(vs: &tch::nn::VarStore) {
    let _guard = tch::no_grad_guard();
    for (_, mut v) in vs.variables() {
        if !v.is_contiguous() {
            let data = v.contiguous();
            v.set_data(&data);
        }
    }
}

/// Whether the model has conv weights and libtorch reads every one of them as channels_last,
/// the stem on one-channel images and the 1x1 shortcuts included: one left NCHW puts the layers
/// after it back in NCHW.
pub fn params_channels_last(vs: &tch::nn::VarStore) -> bool {
    let convs: Vec<Tensor> = vs
        .variables()
        .into_values()
        .filter(|v| v.dim() == 4)
        .collect();
    !convs.is_empty() && convs.iter().all(is_channels_last)
}

/// A batch in `format`.
pub fn batch(format: MemoryFormat, x: Tensor) -> Tensor {
    match format {
        MemoryFormat::ChannelsLast => channels_last(&x),
        MemoryFormat::Contiguous => x,
    }
}
