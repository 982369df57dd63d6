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

/// A proptest config for the default suite: `cases` scaled by FEATDIV_PROPTEST_SCALE (default 1;
/// `make proptest-deep` sets 20), cases drawn from the seed PROPTEST_RNG_SEED (`make test` draws
/// one, prints it and exports it; unset, one is drawn here), and failures persisted in
/// proptest-regressions/<file>.txt (committed), so a failing case found once is replayed on every
/// run. The seed is printed in the test's output, which libtest shows when the test fails.
pub fn proptest_config(cases: u32, file: &'static str) -> proptest::test_runner::Config {
    let seed = proptest_seed();
    let cases = cases.saturating_mul(proptest_scale());
    eprintln!(
        "proptest: {cases} cases, seed {seed} (replay: PROPTEST_RNG_SEED={seed} FEATDIV_PROPTEST_SCALE={})",
        proptest_scale()
    );
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(file),
        )),
        ..proptest::test_runner::Config::default()
    }
}

/// FEATDIV_PROPTEST_SCALE: a whole number >= 1 that multiplies every property's cases.
pub fn proptest_scale() -> u32 {
    match std::env::var("FEATDIV_PROPTEST_SCALE") {
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => panic!("FEATDIV_PROPTEST_SCALE={v:?}: expected a whole number >= 1"),
        },
        Err(_) => 1,
    }
}

/// PROPTEST_RNG_SEED if set (a u64), else a fresh seed from the clock and the process id.
pub fn proptest_seed() -> u64 {
    match std::env::var("PROPTEST_RNG_SEED") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_RNG_SEED={v:?}: expected a u64")),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            // A 32-bit seed is short enough to copy from a log line by hand.
            (nanos ^ (u64::from(std::process::id()) << 20)) & 0xffff_ffff
        }
    }
}
