//! K5 at small scale (`make claims`): in the same budget, ConstNet with a symmetry breaker (dropout
//! 0.01; separately, gradient noise at float32 rounding level, 2^-24) comes within MARGIN of He
//! init, while ConstNet without a breaker stays far below. WRN-10-2 on 10,000 Fashion-MNIST images
//! (1x28x28), SGD 0.03 / 0.9 / 5e-4, batch 128, EPOCHS epochs, one seed, 2 threads. Needs `make data`.
#![cfg(feature = "full-claims")]

mod common;

const EPOCHS: usize = 15;
const MARGIN: f64 = 0.05;

/// `configs/constnet.toml` at this scale on all of Fashion-MNIST, with `sets`.
fn final_acc(sets: &[&str]) -> f64 {
    let data = format!(
        "data.path={:?}",
        common::root()
            .join("data/fashion-mnist")
            .display()
            .to_string()
    );
    let epochs = format!("train.epochs={EPOCHS}");
    let mut all = vec![
        data.as_str(),
        epochs.as_str(),
        "train.steps=0",
        "threads=2",
        "device=\"cpu\"",
        "data.train_subset=10000",
        "data.test_subset=2000",
        "model.widen=2",
        "train.batch_size=128",
        "train.log_every=100000",
    ];
    all.extend_from_slice(sets);
    let cfg = common::shipped("constnet.toml", &all);
    let ds = featdiv::data::load(&cfg.data, cfg.seed).unwrap();
    common::outcome(&cfg, &ds).final_test_acc
}

#[test]
fn k5_constnet_with_a_breaker_catches_up_with_he() {
    let he = final_acc(&["model.init=he"]);
    let none = final_acc(&[]);
    let dropout = final_acc(&["breakers.dropout=0.01"]);
    let noise = final_acc(&["breakers.grad_noise=5.960464477539063e-8"]);
    println!(
        "K5 ({EPOCHS} epochs): He {he:.3}; ConstNet no breaker {none:.3}, dropout 0.01 {dropout:.3}, grad noise 2^-24 {noise:.3}; margin {MARGIN}"
    );
    // Negative control: without a breaker ConstNet stays far below.
    assert!(
        none < he - 0.2,
        "ConstNet without a breaker must stay far below He"
    );
    assert!(
        dropout >= he - MARGIN,
        "K5 with dropout does not hold at this scale: {dropout:.3} vs He {he:.3}"
    );
    assert!(
        noise >= he - MARGIN,
        "K5 with rounding-level gradient noise does not hold at this scale: {noise:.3} vs He {he:.3}"
    );
}
