//! Perturbation propagation: LeakyNet's identity layers pass an inter-channel perturbation and its
//! averaging layers erase it; ConstNet's averaging shortcuts erase it at init, its identity blocks
//! pass it. Negative control: random (He) layers keep a share of it everywhere.
use crate::common;

use featdiv::config::WrnInit;
use featdiv::metrics::propagate;
use featdiv::models::leakynet::LeakyNet;
use featdiv::models::wrn::{Wrn, WrnShape};
use tch::{Device, Kind, Tensor};

fn leaky(code: &str) -> LeakyNet {
    common::leaky(code, 1, 0)
}

fn wrn(init: WrnInit) -> Wrn {
    let shape = WrnShape {
        depth: 10,
        ..WrnShape::default()
    };
    common::wrn(shape, init, 0)
}

fn x() -> Tensor {
    tch::manual_seed(3);
    Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu))
}

#[test]
fn leakynet_identity_layers_pass_and_averaging_layers_erase() {
    let _turn = featdiv::determinism::global_state_lock();
    // Injected after the stem: the `iiii` group returns it whole (each (even, odd) pair maps
    // x -> -x); injected between the layers of a pair it is amplified (odd layers scale by
    // -1/alpha); the first `1` layer erases it either way.
    let reach = propagate(&leaky("1_iiii_1111_iiii"), &x(), 0, 1e-3, false).unwrap();
    let ratios: Vec<f64> = reach.iter().map(|r| r.ratio).collect();
    eprintln!("LeakyNet 1_iiii_1111_iiii, perturbation after the stem: {ratios:?}");
    assert_eq!(reach[0].layer, "stem");
    assert!((ratios[0] - 1.0).abs() < 1e-6, "the injected size");
    assert!(
        (ratios[4] - 1.0).abs() < 1e-3,
        "the iiii group is the identity: {ratios:?}"
    );
    assert!(
        ratios[..5].iter().all(|r| *r > 0.1),
        "identity layers pass it: {ratios:?}"
    );
    assert!(
        ratios[5..].iter().all(|r| *r < 1e-4),
        "layer4 averages: {ratios:?}"
    );
    let mid = propagate(&leaky("1_iiii_1111_iiii"), &x(), 1, 1e-3, false).unwrap();
    assert!(mid[1].ratio > 10.0 && mid[4].ratio < 1e-4, "{mid:?}");
    let kept = propagate(&leaky("1_iiii_hhhh_iiii"), &x(), 1, 1e-3, false).unwrap();
    assert!(
        kept.iter().all(|r| r.ratio > 1e-3),
        "random layers keep it: {kept:?}"
    );
}

#[test]
fn constnet_shortcuts_erase_what_identity_blocks_pass() {
    let _turn = featdiv::determinism::global_state_lock();
    let reach = propagate(&wrn(WrnInit::ConstNet), &x(), 0, 1e-3, true).unwrap();
    let by_name: Vec<(String, f64)> = reach.iter().map(|r| (r.layer.clone(), r.ratio)).collect();
    eprintln!("ConstNet WRN-10-1, perturbation at the stem: {by_name:?}");
    // Group 1 (16 -> 16 channels): identity shortcuts, zero residual convs: the perturbation
    // passes unchanged. Group 2 starts with a 1x1 averaging shortcut: erased.
    assert!(
        (by_name[1].1 - 1.0).abs() < 1e-6 && (by_name[2].1 - 1.0).abs() < 1e-6,
        "{by_name:?}"
    );
    assert!(by_name[3..].iter().all(|(_, r)| *r < 1e-6), "{by_name:?}");
    let he = propagate(&wrn(WrnInit::He), &x(), 0, 1e-3, true).unwrap();
    assert!(
        he.iter().all(|r| r.ratio > 1e-3),
        "He keeps a share: {he:?}"
    );
}

#[test]
fn out_of_range_layer_is_an_error() {
    let _turn = featdiv::determinism::global_state_lock();
    let err = propagate(&wrn(WrnInit::ConstNet), &x(), 99, 1e-3, true).unwrap_err();
    assert!(format!("{err}").contains("out of range"));
}
