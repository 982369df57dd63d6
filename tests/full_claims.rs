//! The toy-model claims at the `full` profile of `configs/experiments/e1-toy.toml` (all of
//! Fashion-MNIST, 2 epochs, 5 seeds), judged by the same functions as the report. Needs
//! `make data`; run with `make claims` (about 3 minutes on 2 cores).
#![cfg(feature = "full-claims")]
mod common;

use featdiv::claims::{Verdict, toy};
use featdiv::config::DeviceSpec;
use featdiv::experiment::{Experiment, Host, ProfileName};
use featdiv::sweep::{Executor, Shard, plan_all, run_plans};

#[test]
fn toy_claims_on_full_fashion_mnist() {
    let root = common::root();
    let e = Experiment::from_file(&root.join("configs/experiments/e1-toy.toml")).unwrap();
    let host = Host {
        data_dir: Some(root.join("data")),
        device: DeviceSpec::Cpu,
    };
    let plans = plan_all(std::slice::from_ref(&e), ProfileName::Full, &host).unwrap();
    let out = tempfile::TempDir::new().unwrap();
    let featdiv = std::path::PathBuf::from(env!("CARGO_BIN_EXE_featdiv"));
    run_plans(
        &plans,
        Shard::ALL,
        out.path(),
        &Executor::Spawn { featdiv, jobs: 2 },
    )
    .unwrap();
    let runs = featdiv::runs::load(out.path()).unwrap();
    let rows = toy::claims(&runs);
    for r in &rows {
        println!("{} {}: {}", r.id, r.verdict, r.measured);
    }
    for r in rows.iter().filter(|r| r.id != "K1") {
        assert_eq!(r.verdict, Verdict::Holds, "{}: {}", r.id, r.measured);
    }
}
