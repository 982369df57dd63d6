//! K2 (accuracy rises with the number of unique features K) and K3 (a small init noise restores
//! He-level accuracy), judged by the report's own claim functions and the criteria of
//! `configs/experiments/e1-toy.toml`, on E1 run through the sweep at a test scale: the committed
//! Fashion-MNIST cut, 10 epochs (160 steps), 3 seeds, one thread. Negative controls: untied
//! outgoing weights make accuracy independent of K, so K2's criterion must not hold for them;
//! without noise tied k-unique:1 stays far below He.
use crate::common;

use featdiv::claims::{Judge, Verdict};
use featdiv::config::DeviceSpec;
use featdiv::experiment::{ClaimId, Experiment, Host, Profile, ProfileName};
use featdiv::runs::ExperimentRuns;
use featdiv::sweep::{Executor, Shard, plan_all, run_plans};
use std::sync::OnceLock;

/// E1's groups `groups` at the test scale, with `edit` applied to its variants' overrides.
fn e1(groups: &[&str], edit: impl Fn(&mut Vec<String>)) -> ExperimentRuns {
    let root = common::root();
    let mut e = Experiment::from_file(&root.join("configs/experiments/e1-toy.toml")).unwrap();
    e.variants.retain(|v| groups.contains(&v.group.as_str()));
    e.variants.iter_mut().for_each(|v| edit(&mut v.set));
    let fixture = format!(
        "data.path={:?}",
        common::fixture("fashion-mnist-small").display().to_string()
    );
    e.profiles.insert(
        ProfileName::Smoke,
        Profile {
            scale: "test: the 2,000 / 1,000-image fixture, 10 epochs, 3 seeds".into(),
            set: vec![fixture, "train.epochs=10".into()],
            seeds: Some(vec![0, 1, 2]),
            variant_seeds: Default::default(),
            requires_device: None,
            expected_time: None,
        },
    );
    let host = Host {
        data_dir: None,
        device: DeviceSpec::Cpu,
    };
    let plans = plan_all(std::slice::from_ref(&e), ProfileName::Smoke, &host).unwrap();
    let out = tempfile::TempDir::new().unwrap();
    run_plans(&plans, Shard::ALL, out.path(), &Executor::InProcess).unwrap();
    featdiv::runs::load(out.path()).unwrap().remove(0)
}

fn tied() -> &'static ExperimentRuns {
    static RUNS: OnceLock<ExperimentRuns> = OnceLock::new();
    RUNS.get_or_init(|| e1(&["he", "k-curve", "eps-curve"], |_| {}))
}

#[test]
fn k2_accuracy_rises_with_unique_features() {
    let c = common::criteria("e1-toy.toml").k2.unwrap();
    let row = c.judge(ClaimId::K2, tied(), &[]);
    eprintln!(
        "K2 tied: {:?} {:?}\n  {}",
        row.verdict, row.reason, row.measured
    );
    assert_eq!(
        row.verdict,
        Verdict::Holds,
        "{:?}: {}",
        row.reason,
        row.measured
    );

    // Negative control: untied outgoing weights break the symmetry themselves, so accuracy no
    // longer depends on K and the criterion cannot hold.
    let untied = e1(&["he", "k-curve"], |set| {
        for s in set.iter_mut() {
            *s = s.replace("\"k-unique:", "\"k-unique-untied:");
        }
    });
    let row = c.judge(ClaimId::K2, &untied, &[]);
    eprintln!(
        "K2 untied control: {:?} {:?}\n  {}",
        row.verdict, row.reason, row.measured
    );
    assert_ne!(
        row.verdict,
        Verdict::Holds,
        "untied must not pass K2's criterion"
    );
}

#[test]
fn k3_small_noise_at_the_test_scale() {
    let c = common::criteria("e1-toy.toml").k3.unwrap();
    let row = c.judge(ClaimId::K3, tied(), &[]);
    eprintln!("K3: {:?} {:?}\n  {}", row.verdict, row.reason, row.measured);
    // The control is a precondition: without noise tied k-unique:1 stays far below He.
    let control = row
        .preconditions
        .iter()
        .find(|p| p.what.contains("without noise"))
        .unwrap();
    assert!(control.met, "{control:?}");
    // The verdict at this scale, in review: a change that moves it shows in the snapshot.
    snapshot_json!(
        "k3_verdict_at_the_test_scale",
        serde_json::json!({"verdict": row.verdict, "small_eps": c.small_eps, "margin": c.margin})
    );
}
