//! Helpers shared by the claim and unit tests.
#![allow(dead_code)]
use featdiv::config::DataConfig;
use featdiv::data::{self, Dataset};
use std::path::PathBuf;

/// The repository: FEATDIV_ROOT where set (a test binary run on another machine, by
/// ci/gpu-check), else where it was built.
pub fn root() -> PathBuf {
    std::env::var_os("FEATDIV_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The committed Fashion-MNIST cut: 2,000 training and 1,000 test images, normalized.
pub fn fashion_small() -> Dataset {
    data::load(
        &DataConfig::fashion_mnist(Some(fixture("fashion-mnist-small"))),
        0,
    )
    .expect("fixture loads")
}

/// insta snapshots live in the top-level snapshots/ folder.
#[macro_export]
macro_rules! snapshot_json {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"), prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!($name, $value);
        })
    };
}

/// Rounds to `digits` significant digits so snapshots are stable across machines.
pub fn sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// A proptest config whose failures persist in proptest-regressions/<file>.txt (committed), so a
/// failing case found once is replayed on every run.
pub fn proptest_config(cases: u32, file: &'static str) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(file),
        )),
        ..proptest::test_runner::Config::default()
    }
}
