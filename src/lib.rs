//! featdiv: reproduce and check the claims of Blumenfeld, Gilboa & Soudry (ICML 2020), "Beyond
//! Signal Propagation: Is Feature Diversity Necessary in Deep Neural Network Initialization?"
//!
//! Data flows one way: config -> data + model + init -> train (with breakers) -> records ->
//! metrics / claims -> report. docs/architecture.md draws the layers; `ci/layers` checks that no
//! module imports from a layer above its own.
//!
//! The entry points, as the docs use them (each example is a doctest that `make test` runs):
//!
//! A config with `--set`-style overrides:
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! use featdiv::config::Config;
//! let overrides = ["seed=7".to_string(), "model.init=k-unique:4".to_string()];
//! let cfg = Config::from_file("configs/toy.toml".as_ref(), &overrides)?;
//! assert_eq!(cfg.seed, 7);
//! let bad = ["model.init=k-unique:0".to_string()];
//! assert!(Config::from_file("configs/toy.toml".as_ref(), &bad).is_err());
//! # Ok(()) }
//! ```
//!
//! A LeakyNet init code (stem, then one character a layer: `h` random, `1` channel averaging,
//! `i` identity):
//!
//! ```
//! use featdiv::config::LeakyCode;
//! let code = LeakyCode::parse("1_iiii_1111_iiii", 16).unwrap();
//! assert_eq!(code.averaging_layers(), 4);
//! assert!(LeakyCode::parse("1_iiii_1111_iiix", 16).is_err()); // an unknown character
//! assert!(LeakyCode::parse("1_iiii", 16).is_err()); // the wrong length for the depth
//! ```
//!
//! The diversity of any tensor (rows = features): identical rows are one distinct feature with
//! a symmetry gap of exactly 0.
//!
//! ```
//! use featdiv::metrics::layer_diversity;
//! use featdiv::models::FeatureLayer;
//! use tch::{Device, Kind, Tensor};
//! let layer = |weight: Tensor| FeatureLayer {
//!     name: "w".into(),
//!     bias: None,
//!     groups: vec![0; weight.size()[0] as usize],
//!     weight,
//! };
//! let options = (Kind::Float, Device::Cpu);
//! let identical = layer_diversity(&layer(Tensor::ones([8, 4], options)), false);
//! assert_eq!((identical.distinct_exact, identical.gap_abs), (1, 0.0));
//! let random = layer_diversity(&layer(Tensor::randn([8, 4], options)), false);
//! assert_eq!(random.distinct_exact, 8);
//! ```
//!
//! Judging a finished run folder: E1 at the smoke profile (the committed fixture, seconds),
//! trained in this process, then every claim's row as the report gives it.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! use featdiv::claims::Verdict;
//! use featdiv::config::DeviceSpec;
//! use featdiv::experiment::{ClaimId, Experiment, Host, ProfileName};
//! use featdiv::sweep::{Executor, Shard};
//! let e1 = Experiment::from_file("configs/experiments/e1-toy.toml".as_ref())?;
//! let host = Host { data_dir: None, device: DeviceSpec::Cpu };
//! let plans = featdiv::sweep::plan_all(&[e1], ProfileName::Smoke, &host)?;
//! let out = std::env::temp_dir().join(format!("featdiv-doctest-{}", std::process::id()));
//! featdiv::sweep::run_plans(&plans, Shard::ALL, &out, &Executor::InProcess)?;
//! let rows = featdiv::report::build(&out)?.claims;
//! let k5 = rows.iter().find(|r| r.id == ClaimId::K5).unwrap();
//! assert_eq!(k5.verdict, Verdict::NotRun); // E1 declares K1-K3 only
//! assert!(rows.iter().any(|r| r.id == ClaimId::K2 && r.verdict != Verdict::NotRun));
//! std::fs::remove_dir_all(&out)?;
//! # Ok(()) }
//! ```
pub mod bench;
pub mod breakers;
pub mod calibration;
pub mod checkpoint;
pub mod claims;
pub mod config;
pub mod data;
pub mod determinism;
pub mod device;
pub mod environment;
pub mod experiment;
pub mod files;
pub mod host;
pub mod metrics;
pub mod models;
pub mod ops;
pub mod precision;
pub mod records;
pub mod report;
pub mod runs;
pub mod schedule;
pub mod single_run;
pub mod sweep;
pub mod train;
