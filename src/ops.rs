//! Tensor operations libtorch has and tch 0.24 does not expose, through the C++ shim
//! (csrc/ops.cpp).
use tch::Tensor;

unsafe extern "C" {
    fn featdiv_leaky_relu(t: *mut torch_sys::C_tensor, slope: f64) -> *mut torch_sys::C_tensor;
}

/// LeakyReLU with negative slope `slope`: x where x > 0, slope x elsewhere (so the gradient at 0
/// is `slope`, as torch.nn.LeakyReLU's). One pass forward and one backward, where the composite
/// max(x, slope x) took several.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    if !x.is_floating_point() {
        return x.maximum(&(x * slope));
    }
    // SAFETY: `x` is a live floating-point tensor, for which at::leaky_relu does not throw; the
    // shim returns a new, owned handle, as tch's own calls do.
    unsafe {
        Tensor::from_ptr(featdiv_leaky_relu(
            x.as_ptr() as *mut torch_sys::C_tensor,
            slope,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn matches_the_definition_forward_and_backward() {
        let x = Tensor::from_slice(&[-2.0f32, -0.5, 0.0, 0.5, 3.0]).set_requires_grad(true);
        let y = leaky_relu(&x, 0.1);
        let want = Tensor::from_slice(&[-0.2f32, -0.05, 0.0, 0.5, 3.0]);
        assert!(y.allclose(&want, 0.0, 1e-7, false), "{y}");
        y.sum(Kind::Float).backward();
        // torch.nn.LeakyReLU's gradient: slope at 0, not the 0.5 (1 + slope) of max(x, slope x).
        let grad = Tensor::from_slice(&[0.1f32, 0.1, 0.1, 1.0, 1.0]);
        assert!(x.grad().allclose(&grad, 0.0, 1e-7, false), "{}", x.grad());
    }

    #[test]
    fn keeps_bf16_and_the_layout() {
        let x = crate::precision::channels_last(
            &Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu)).to_kind(Kind::BFloat16),
        );
        let y = leaky_relu(&x, 0.01);
        assert_eq!(y.kind(), Kind::BFloat16);
        assert_eq!(y.stride(), x.stride());
        assert!(
            y.equal(&x.maximum(&(&x * 0.01))),
            "the same values as max(x, slope x)"
        );
    }
}
