//! Recording perturbation propagation during training (`record.perturbation`) changes nothing
//! else in the run. Alone in its test binary: libtorch's generator is process-global, and tests
//! running beside it would draw from it between the steps compared here.
use crate::common;

use featdiv::records::Line;
use tch::Device;

/// Recording perturbation propagation during training draws nothing from libtorch's generator:
/// a run with dropout (random masks every step) trains to the same losses with and without it.
#[test]
fn recording_perturbations_leaves_the_run_unchanged() {
    let run = |record: bool, seed: u64| {
        let sets = [
            format!("record.perturbation={record}"),
            format!("seed={seed}"),
            "data.source=synthetic".into(),
            "data.train_subset=256".into(),
            "data.test_subset=128".into(),
            "model.depth=7".into(),
            "model.init=he".into(),
            "train.steps=0".into(),
            "train.epochs=2".into(),
            "breakers.dropout=0.1".into(),
            "device=\"cpu\"".into(),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let cfg = common::shipped("constnet.toml", &sets);
        let ds = featdiv::data::load(&cfg.data, cfg.seed).unwrap();
        let (mut losses, mut reaches) = (Vec::new(), 0);
        featdiv::train::train(&cfg, &ds, Device::Cpu, &mut |line| {
            match line {
                Line::Step(r) => losses.push(r.loss),
                Line::Perturbation(_) => reaches += 1,
                Line::Eval(_) => {}
            }
            Ok(())
        })
        .unwrap();
        (losses, reaches)
    };
    let (plain, none) = run(false, 5);
    let (recorded, reaches) = run(true, 5);
    assert_eq!(none, 0);
    assert_eq!(reaches, 3, "at init and after each of 2 epochs");
    assert_eq!(plain, recorded, "bitwise the same losses");
    // Negative control: the losses do depend on the random draws (another seed differs).
    assert_ne!(plain, run(false, 6).0);
}
