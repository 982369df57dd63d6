//! featdiv as a library: train the toy model with all hidden features identical and a small init
//! noise as the symmetry breaker, read the diversity of its features, and measure how far a
//! perturbation at its input reaches. Built by `cargo test` (so it keeps compiling); run it with
//! `cargo run --release --example library` (after `make data`; about a second).
use anyhow::Result;
use featdiv::config::Config;

fn main() -> Result<()> {
    // A shipped config, overridden like `featdiv train --set`: one epoch on 20,000 images.
    let overrides = [
        "model.init=\"k-unique:1\"", // tied: every hidden feature a copy of one row
        "breakers.init_noise=1.0",   // eps: noise with the He std of the layer
        "data.train_subset=20000",
        "train.epochs=1",
        "threads=2",
    ]
    .map(String::from);
    let cfg = Config::from_file("configs/toy.toml".as_ref(), &overrides)?;
    let ds = featdiv::data::load(&cfg.data, cfg.seed)?;
    let (model, outcome) = featdiv::train::train(&cfg, &ds, tch::Device::Cpu, &mut |_| Ok(()))?;
    println!(
        "test accuracy {:.3} after {} steps",
        outcome.final_test_acc, outcome.steps
    );
    for layer in featdiv::train::diversity_of(model.as_ref(), false) {
        println!(
            "{:<8} symmetry gap {:.2e}  distinct features {:>3}  effective width {:.1}",
            layer.name, layer.gap_abs, layer.distinct_exact, layer.width_participation
        );
    }
    // An inter-channel perturbation of 1e-3 of the input's rms, and its size at every later layer.
    let probe = ds.test.images.narrow(0, 0, 128);
    for reach in featdiv::metrics::propagate(model.as_ref(), &probe, 0, 1e-3, false)? {
        println!("{:<8} perturbation ratio {:.3}", reach.layer, reach.ratio);
    }
    Ok(())
}
