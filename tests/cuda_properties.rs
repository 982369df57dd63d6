//! GPU properties (K4 on CUDA), run by ci/gpu-check on a machine with an NVIDIA GPU:
//! `cargo test --release --features cuda-tests --test cuda_properties`.
//! - nondeterministic mode: two identical backward passes of a WRN differ bitwise somewhere
//!   (reported); deterministic mode: identical;
//! - ConstNet on the GPU stays channel-symmetric in deterministic mode and loses its symmetry in
//!   nondeterministic mode, at a reported step.
#![cfg(feature = "cuda-tests")]
mod common;

use featdiv::claims::constnet::gap_trajectory;
use featdiv::config::Config;
use featdiv::determinism::{DeterminismConfig, apply};
use featdiv::init::{InitSpec, init_wrn};
use featdiv::models::{Model, Wrn, WrnShape};
use tch::{Device, Kind, Tensor};

fn cuda() -> Device {
    featdiv::device::resolve("cuda").expect("these tests need a CUDA device")
}

fn mode(m: &str) {
    apply(&DeterminismConfig {
        mode: m.into(),
        benchmark: false,
        tf32: false,
    })
    .unwrap();
}

/// Gradients of one backward pass of a fixed WRN-16-2 on a fixed batch, by parameter name.
fn grads(net: &Wrn, x: &Tensor, y: &Tensor) -> Vec<(String, Tensor)> {
    net.var_store().trainable_variables().iter().for_each(|v| {
        let mut g = v.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    });
    net.forward_t(x, true)
        .cross_entropy_for_logits(y)
        .backward();
    let mut named: Vec<(String, Tensor)> = net
        .var_store()
        .variables()
        .into_iter()
        .filter(|(_, v)| v.requires_grad())
        .map(|(n, v)| (n, v.grad().copy()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// Names of the parameters whose gradients differ bitwise between two passes, over `tries`.
fn differing(m: &str, tries: usize) -> Vec<String> {
    mode(m);
    let dev = cuda();
    tch::manual_seed(0);
    let shape = WrnShape {
        depth: 16,
        widen: 2,
        in_channels: 3,
        classes: 10,
        bn_momentum: 0.1,
        dropout: 0.0,
        normalization: true,
    };
    let mut net = Wrn::new(dev, &shape).unwrap();
    init_wrn(&mut net, &InitSpec::He).unwrap();
    // A non-zero head, so every layer gets a gradient.
    let _ = tch::no_grad(|| net.head.ws.shallow_clone().normal_(0.0, 0.1));
    let x = Tensor::randn([128, 3, 32, 32], (Kind::Float, dev));
    let y = Tensor::randint(10, [128], (Kind::Int64, dev));
    let first = grads(&net, &x, &y);
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..tries {
        for ((name, a), (_, b)) in first.iter().zip(grads(&net, &x, &y)) {
            if !a.equal(&b) {
                names.insert(name.clone());
            }
        }
    }
    names.into_iter().collect()
}

#[test]
fn nondeterministic_backward_differs_and_deterministic_does_not() {
    let nondet = differing("nondeterministic", 10);
    println!(
        "nondeterministic mode: gradients differing bitwise between identical passes: {nondet:?}"
    );
    let det = differing("deterministic", 10);
    println!("deterministic mode: differing: {det:?}");
    assert!(
        det.is_empty(),
        "deterministic mode must repeat bitwise: {det:?}"
    );
    assert!(
        !nondet.is_empty(),
        "nondeterministic mode repeated bitwise in 10 tries"
    );
}

fn constnet_gaps(m: &str, steps: usize) -> Vec<(usize, f64)> {
    let text = format!(
        "seed = 0\nthreads = 1\ndevice = \"cuda\"\n[data]\nsource = \"fashion-mnist\"\npath = \"{}\"\nshuffle = true\ntest_subset = 256\n[model]\narch = \"wrn\"\ndepth = 16\nwiden = 2\ninit = \"constnet\"\n[train]\nbatch_size = 128\nsteps = {steps}\nepochs = 0\nlr = 0.03\nmomentum = 0.9\nweight_decay = 5e-4\nlog_every = 5\n[determinism]\nmode = \"{m}\"\n",
        common::fixture("fashion-mnist-small").display()
    );
    let cfg = Config::from_toml_str(&text, &[]).unwrap();
    let ds = featdiv::data::load(&cfg.data, 0).unwrap().to_device(cuda());
    gap_trajectory(&cfg, &ds, cuda()).unwrap()
}

#[test]
fn k4_constnet_on_gpu_symmetric_iff_deterministic() {
    let det = constnet_gaps("deterministic", 200);
    let nondet = constnet_gaps("nondeterministic", 200);
    let broke = nondet.iter().find(|(_, g)| *g > 0.0);
    println!(
        "K4 on GPU: deterministic max gap {:e}; nondeterministic first gap at {broke:?}, last {:?}",
        det.iter().map(|g| g.1).fold(0.0, f64::max),
        nondet.last()
    );
    assert!(
        det.iter().all(|(_, g)| *g == 0.0),
        "deterministic ConstNet must stay symmetric: {det:?}"
    );
    assert!(
        broke.is_some(),
        "nondeterministic ConstNet stayed symmetric for 200 steps: {nondet:?}"
    );
}
