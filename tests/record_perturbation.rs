//! Recording perturbation propagation during training (`record.perturbation`) changes nothing
//! else in the run. Alone in its test binary: libtorch's generator is process-global, and tests
//! running beside it would draw from it between the steps compared here.
use tch::Device;

/// Recording perturbation propagation during training draws nothing from libtorch's generator:
/// a run with dropout (random masks every step) trains to the same losses with and without it.
#[test]
fn recording_perturbations_leaves_the_run_unchanged() {
    let text = r#"
seed = 5
threads = 1
device = "cpu"
[data]
source = "synthetic"
train_subset = 256
test_subset = 128
[model]
arch = "wrn"
depth = 7
widen = 1
init = "he"
[train]
epochs = 2
batch_size = 64
[breakers]
dropout = 0.1
"#;
    let run = |record: bool, seed: u64| {
        let cfg = featdiv::config::Config::from_toml_str(
            text,
            &[
                format!("record.perturbation={record}"),
                format!("seed={seed}"),
            ],
        )
        .unwrap();
        let ds = featdiv::data::load(&cfg.data, cfg.seed).unwrap();
        let (mut losses, mut reaches) = (Vec::new(), 0);
        featdiv::train::train(&cfg, &ds, Device::Cpu, &mut |e| {
            match e {
                featdiv::train::Event::Step(r) => losses.push(r.loss),
                featdiv::train::Event::Perturbation(_) => reaches += 1,
                featdiv::train::Event::Eval(_) => {}
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
