//! K4 on CPU: gradient noise at float32-rounding level (relative std 2^-24, the size of a
//! reordered reduction's error) breaks ConstNet's channel symmetry: training amplifies it until
//! the gap passes the report's macroscopic level. Negative control: the same run without the
//! noise stays exactly symmetric. ConstNet WRN-10-1 (`configs/constnet.toml`) on the
//! Fashion-MNIST cut. The same body runs on CUDA with the GPU's nondeterministic kernels as the
//! breaker (`cuda_properties`).
use crate::common;

use common::k4::{K4On, assert_breaks, assert_control_symmetric, k4_trajectories};

#[test]
fn rounding_level_gradient_noise_breaks_constnet_symmetry() {
    let t = k4_trajectories(K4On::Cpu);
    eprintln!(
        "K4 (CPU, grad noise 2^-24): macroscopic at {:?}, trajectory {:?}",
        t.macroscopic_at(),
        t.broken
    );
    assert_breaks(&t);
    assert_control_symmetric(&t);
}
