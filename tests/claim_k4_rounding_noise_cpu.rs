//! K4 on CPU: gradient noise at float32-rounding level (relative std 2^-24, the size of a
//! reordered reduction's error) breaks ConstNet's channel symmetry: training amplifies it until
//! the gap is macroscopic. Negative control: the same run without the noise stays exactly
//! symmetric. ConstNet WRN-10-1 on the Fashion-MNIST cut, batch 64, SGD 0.03 / 0.9 / 5e-4.
mod common;

use featdiv::claims::constnet::gap_trajectory;
use featdiv::config::Config;

const STEPS: usize = 400;
/// "Macroscopic": a gap 1e-3, about 1e5 float32 ulps at the scale of these weights.
const MACROSCOPIC: f64 = 1e-3;

fn constnet_gaps(grad_noise: f64) -> Vec<(usize, f64)> {
    let text = format!(
        r#"seed = 0
threads = 1
device = "cpu"
[data]
source = "fashion-mnist"
path = "{}"
shuffle = true
test_subset = 64
[model]
arch = "wrn"
depth = 10
widen = 1
init = "constnet"
[train]
batch_size = 64
steps = {STEPS}
epochs = 0
lr = 0.03
momentum = 0.9
weight_decay = 5e-4
log_every = 10
[breakers]
grad_noise = {grad_noise:e}
"#,
        common::fixture("fashion-mnist-small").display()
    );
    let cfg = Config::from_toml_str(&text, &[]).unwrap();
    let ds = featdiv::data::load(&cfg.data, cfg.seed).unwrap();
    gap_trajectory(&cfg, &ds, tch::Device::Cpu).unwrap()
}

#[test]
fn rounding_level_gradient_noise_breaks_constnet_symmetry() {
    let gaps = constnet_gaps(2f64.powi(-24));
    let first = gaps.iter().find(|(_, g)| *g > 0.0).copied();
    let macroscopic = gaps.iter().find(|(_, g)| *g >= MACROSCOPIC).copied();
    eprintln!(
        "K4 (CPU, grad noise 2^-24): first gap {first:?}, macroscopic (>= {MACROSCOPIC}) at {macroscopic:?}, trajectory {gaps:?}"
    );
    let (step0, gap0) = first.expect("the noise opens a gap");
    let (step1, gap1) =
        macroscopic.unwrap_or_else(|| panic!("gap not macroscopic within {STEPS} steps: {gaps:?}"));
    assert!(
        gap0 < 1e-6,
        "the gap starts at rounding level, got {gap0:e} at step {step0}"
    );
    assert!(
        gap1 / gap0 > 1e3,
        "training amplifies it: {gap0:e} at step {step0} -> {gap1:e} at step {step1}"
    );

    // Negative control: no noise, no gap.
    let clean = constnet_gaps(0.0);
    assert!(
        clean.iter().all(|(_, g)| *g == 0.0),
        "without a breaker ConstNet stays symmetric: {clean:?}"
    );
}
