//! Helpers shared by the claim and unit tests.
#![allow(dead_code)]
pub mod k4;
pub mod snapshots;
pub mod sweeps;
use featdiv::config::{Config, DataConfig, WrnInit};
use featdiv::data::{self, Dataset};
use featdiv::models::wrn::{Wrn, WrnShape};
use std::path::PathBuf;

/// The repository: FEATDIV_ROOT where set (a test binary run on another machine, by
/// ci/gpu-check), else where it was built.
pub fn root() -> PathBuf {
    std::env::var_os("FEATDIV_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A JSON file's contents (a test's records, plans, reports).
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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

/// A shipped config (`configs/<name>`) with `--set`-style overrides, reading its data from the
/// committed Fashion-MNIST cut: tests start from what users run.
pub fn shipped(name: &str, overrides: &[&str]) -> Config {
    let mut sets = vec![format!(
        "data.path={:?}",
        fixture("fashion-mnist-small").display().to_string()
    )];
    sets.extend(overrides.iter().map(|s| s.to_string()));
    Config::from_file(&root().join("configs").join(name), &sets)
        .unwrap_or_else(|e| panic!("configs/{name} with {overrides:?}: {e:#}"))
}

/// The toy model (`configs/toy.toml`) on the fixture with `init` and `seed`, one thread on the
/// CPU, metrics only at powers of two and the last step, then `overrides`.
pub fn toy(init: &str, seed: u64, overrides: &[&str]) -> Config {
    let init = format!("model.init={init:?}");
    let seed = format!("seed={seed}");
    let mut sets = vec![
        init.as_str(),
        seed.as_str(),
        "threads=1",
        "device=\"cpu\"",
        "train.log_every=1000000",
    ];
    sets.extend_from_slice(overrides);
    shipped("toy.toml", &sets)
}

/// Trains `cfg` on `ds` (on the CPU) without writing records.
pub fn outcome(cfg: &Config, ds: &Dataset) -> featdiv::train::Outcome {
    try_outcome(cfg, ds).unwrap_or_else(|d| panic!("{d}"))
}

/// The same, with a diverged run (loss NaN or infinite) as its own outcome; any other failure
/// panics.
pub fn try_outcome(
    cfg: &Config,
    ds: &Dataset,
) -> Result<featdiv::train::Outcome, featdiv::train::Diverged> {
    match featdiv::train::train(cfg, ds, tch::Device::Cpu, &mut |_| Ok(())) {
        Ok((_, o)) => Ok(o),
        Err(e) => match e.downcast_ref::<featdiv::train::Diverged>() {
            Some(d) => Err(*d),
            None => panic!("training failed: {e:#}"),
        },
    }
}

/// The criteria a shipped experiment file (`configs/experiments/<file>`) declares.
pub fn criteria(file: &str) -> featdiv::experiment::Criteria {
    let path = root().join("configs/experiments").join(file);
    featdiv::experiment::Experiment::from_file(&path)
        .unwrap_or_else(|e| panic!("{file}: {e:#}"))
        .claims
}

/// A Wide-ResNet of `shape` with `init` from generator seed `seed`. The caller holds
/// `featdiv::determinism::global_state_lock()` across this and whatever else it draws.
pub fn wrn(shape: WrnShape, init: WrnInit, seed: i64) -> Wrn {
    tch::manual_seed(seed);
    let mut w = Wrn::new(tch::Device::Cpu, &shape).expect("a valid WRN shape");
    featdiv::models::init::init_wrn(&mut w, init).expect("init applies");
    w
}

/// A LeakyNet-16 of widen factor `widen` initialized by `code`, from generator seed `seed`. The
/// caller holds `featdiv::determinism::global_state_lock()`, as for `wrn`.
pub fn leaky(code: &str, widen: usize, seed: i64) -> featdiv::models::leakynet::LeakyNet {
    let shape = featdiv::models::leakynet::LeakyShape {
        widen,
        ..Default::default()
    };
    tch::manual_seed(seed);
    let mut n = featdiv::models::leakynet::LeakyNet::new(tch::Device::Cpu, &shape)
        .expect("a valid LeakyNet shape");
    let code = featdiv::config::LeakyCode::parse(code, shape.depth).expect("a valid code");
    featdiv::models::init::init_leakynet(&mut n, &code).expect("init applies");
    n
}

/// Records that `test` was skipped (it needs what this machine lacks) in
/// target/skipped-tests.txt, which `make test` prints at its end and CI refuses, and on stderr.
pub fn skip(test: &str, reason: &str, enable: &str) {
    use std::io::Write as _;
    let line = format!("SKIPPED {test}: {reason}; enable with: {enable}");
    eprintln!("{line}");
    let path = root().join("target/skipped-tests.txt");
    let _ = std::fs::create_dir_all(root().join("target"));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Whether this process runs as root (the Slurm and tmpfs tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// insta snapshots live in the top-level snapshots/ folder.
#[macro_export]
macro_rules! snapshot_json {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
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
        "proptest: {cases} cases, seed {seed} (replay: PROPTEST_RNG_SEED={seed} \
         FEATDIV_PROPTEST_SCALE={})",
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
