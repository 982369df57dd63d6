//! The README's library snippet ("Train one config"), kept here so that `cargo test` builds it.
//! Run it with `cargo run --release --example readme_snippet` after `make reproduce` (it reads
//! runs/quick).
use featdiv::config::{Config, LeakyCode};
use featdiv::metrics::layer_diversity;
use featdiv::models::FeatureLayer;
use tch::{Device, Kind, Tensor};

fn main() -> anyhow::Result<()> {
    let cfg = Config::from_file("configs/toy.toml".as_ref(), &["seed=7".into()])?; // --set overrides
    let code = LeakyCode::parse("1_iiii_1111_iiii", 16).map_err(anyhow::Error::msg)?; // LeakyNet code
    let weight = Tensor::ones([8, 4], (Kind::Float, Device::Cpu)); // 8 identical features
    let layer = FeatureLayer {
        name: "w".into(),
        bias: None,
        groups: vec![0; 8],
        weight,
    };
    let d = layer_diversity(&layer, false); // distinct features, gap, width
    let rows = featdiv::report::build("runs/quick".as_ref())?.claims; // one row a claim
    println!(
        "seed {}, {} averaging layers, {} distinct, {} claims",
        cfg.seed,
        code.averaging_layers(),
        d.distinct_exact,
        rows.len()
    );
    Ok(())
}
