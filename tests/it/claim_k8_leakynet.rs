//! K8, LeakyNet at init (eval mode): each group of 4 layers is the identity (up to the channel
//! plan and stride), an inter-channel perturbation passes `i` layers and is erased by a `1`
//! layer (rms ratio below 1e-4). Negative controls: a random (`h`) group is no identity; an
//! all-identity code erases nothing.
use crate::common;

use featdiv::config::LeakyCode;
use featdiv::metrics::channel_deviation;
use featdiv::models::leakynet::LeakyNet;
use proptest::prelude::*;
use tch::{Device, Kind, Tensor};

fn net(code: &str, widen: usize, seed: i64) -> LeakyNet {
    common::leaky(code, widen, seed)
}

/// What an identity group makes of its input: channel o copies channel o mod C_in, subsampled.
fn identity_image(input: &Tensor, out_channels: i64, stride: i64) -> Tensor {
    let c_in = input.size()[1];
    let idx = Tensor::arange(out_channels, (Kind::Int64, Device::Cpu)).remainder(c_in);
    input
        .index_select(1, &idx)
        .slice(2, 0, None, stride)
        .slice(3, 0, None, stride)
}

fn rel_rms(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a - b).square().mean(Kind::Double).sqrt().double_value(&[]);
    d / b.square().mean(Kind::Double).sqrt().double_value(&[])
}

/// Relative error of each 4-layer group against the identity image of its input.
fn group_errors(n: &LeakyNet, x: &Tensor) -> Vec<f64> {
    let trace = tch::no_grad(|| n.trace_t(x, false));
    (0..3)
        .map(|g| {
            let (start, end) = (4 * g, 4 * g + 4);
            let stride = if g == 0 { 1 } else { 2 };
            rel_rms(
                &trace[end],
                &identity_image(&trace[start], trace[end].size()[1], stride),
            )
        })
        .collect()
}

/// Grey images (all colours equal) plus an inter-channel perturbation on colour 0.
fn perturbed_input(seed: i64, eps: f64) -> Tensor {
    tch::manual_seed(seed);
    let grey = Tensor::randn([4, 1, 32, 32], (Kind::Float, Device::Cpu)).repeat([1, 3, 1, 1]);
    let bump = Tensor::zeros([4, 3, 32, 32], (Kind::Float, Device::Cpu));
    bump.narrow(1, 0, 1)
        .copy_(&(Tensor::randn([4, 1, 32, 32], (Kind::Float, Device::Cpu)) * eps));
    grey + bump
}

/// Channel deviation after the stem and every layer, over the deviation after the stem.
fn propagation(code: &str, seed: i64) -> Vec<f64> {
    let n = net(code, 1, seed);
    let trace = tch::no_grad(|| n.trace_t(&perturbed_input(seed, 1e-2), false));
    let base = channel_deviation(&trace[0]);
    trace.iter().map(|t| channel_deviation(t) / base).collect()
}

proptest! {
    #![proptest_config(common::proptest_config(
        12,
        "proptest-regressions/claim_k8_leakynet.txt"
    ))]

    #[test]
    fn each_identity_group_is_the_identity(
        widen in 1usize..3,
        seed in 0i64..1000,
        stem in prop::sample::select(vec!["i", "1"]),
    ) {
        let _turn = featdiv::determinism::global_state_lock();
        let n = net(&format!("{stem}_iiii_iiii_iiii"), widen, seed);
        tch::manual_seed(seed + 1);
        let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        for (g, err) in group_errors(&n, &x).iter().enumerate() {
            // Two eval-mode batch norms (running variance 1, eps 1e-5) scale by 1/(1 + 1e-5).
            prop_assert!(*err < 1e-4, "group {} off the identity by {}", g + 1, err);
        }
        // Negative control: a random group 2.
        let h = net(&format!("{stem}_iiii_hhhh_iiii"), widen, seed);
        prop_assert!(group_errors(&h, &x)[1] > 0.1);
    }

    #[test]
    fn averaging_layers_erase_what_identity_layers_pass(seed in 0i64..1000) {
        let _turn = featdiv::determinism::global_state_lock();
        let passed = propagation("i_iiii_iiii_iiii", seed);
        // Identity layers pass the perturbation at ratio 1 up to the eval batch norms' factor
        // 1/sqrt(1 + 1e-5) per norm; 0.1 is a tenfold margin. An averaging layer makes every
        // output channel the same sum, so the deviation after it is 0 in exact arithmetic and a
        // few float32 ulps of the activation at most in libtorch's kernels; 1e-4 is far above that
        // and far below the 0.1 the identity layers pass.
        prop_assert!(
            passed.iter().all(|r| *r > 0.1),
            "identity layers keep the perturbation: {passed:?}"
        );
        let erased = propagation("i_iiii_1111_iiii", seed);
        eprintln!(
            "K8 perturbation, deviation ratio per layer: identity code {passed:.2?}; \
             i_iiii_1111_iiii {erased:?}"
        );
        let (first, rest) = erased.split_at(5);
        prop_assert!(first.iter().all(|r| *r > 0.1), "the first group passes it: {erased:?}");
        prop_assert!(rest.iter().all(|r| *r < 1e-4), "the first `1` layer erases it: {erased:?}");
    }
}

#[test]
fn the_authors_codes_parse_and_bad_ones_explain() {
    for code in [
        "h_hhhh_hhhh_hhhh",
        "i_iiii_iiii_iiii",
        "1_iiii_iiii_iiii",
        "1_iiii_11ii_iiii",
        "1_iiii_1111_iiii",
        "1_ii11_ii11_ii11",
        "1_1111_1111_1111",
    ] {
        let parsed = LeakyCode::parse(code, 16).unwrap();
        assert_eq!(parsed.layers().len(), 13, "{code}");
        assert_eq!(parsed.to_string(), code, "a code prints as written");
        // Negative control for the count K8 ranks codes by: the '1's after the stem.
        let ones = code
            .replace('_', "")
            .chars()
            .skip(1)
            .filter(|&c| c == '1')
            .count();
        assert_eq!(parsed.averaging_layers(), ones, "{code}");
    }
    assert_eq!(
        LeakyCode::parse("1_1111_1111_1111", 16)
            .unwrap()
            .averaging_layers(),
        12
    );
    assert_eq!(
        LeakyCode::parse("1_iiii_iiii_iiii", 16)
            .unwrap()
            .averaging_layers(),
        0
    );
    let e = LeakyCode::parse("1_iixi_1111_iiii", 16).unwrap_err();
    assert!(
        e.contains("unknown character 'x'") && e.contains("position 3"),
        "{e}"
    );
    let e = LeakyCode::parse("1_iiii_1111", 16).unwrap_err();
    assert!(e.contains("depth 16 needs 13"), "{e}");
}
