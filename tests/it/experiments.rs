//! The experiment files: every shipped one plans for every profile it has, runs are named by a
//! stable hash of their config, shards partition the runs, and bad files or values are errors
//! that name the file, the variant and the key.
use crate::common;

use featdiv::config::{DeviceSpec, MemoryFormat, Precision};
use featdiv::experiment::{Budget, Experiment, Host, ProfileName, config_hash, load_dir};
use featdiv::sweep::{Shard, shard_runs};
use rstest::rstest;
use std::collections::BTreeSet;

fn cpu() -> Host {
    Host {
        data_dir: Some("data".into()),
        device: DeviceSpec::Cpu,
    }
}

fn shipped() -> Vec<Experiment> {
    load_dir(&common::root().join("configs/experiments")).unwrap()
}

#[test]
fn a_budget_factor_stretches_every_run_and_says_so_in_the_scale() {
    let e2 = shipped().remove(1);
    let declared = e2.plan(ProfileName::Standard, &cpu()).unwrap().unwrap();
    let stretched = Experiment {
        budget: "1.5".parse::<Budget>().unwrap(),
        ..e2.clone()
    }
    .plan(ProfileName::Standard, &cpu())
    .unwrap()
    .unwrap();
    assert_eq!(stretched.runs.len(), declared.runs.len());
    for (d, s) in declared.runs.iter().zip(&stretched.runs) {
        assert_eq!(d.config().unwrap().train.epochs, 60);
        assert_eq!(s.config().unwrap().train.epochs, 90, "{}", s.variant);
        assert_ne!(
            d.hash, s.hash,
            "{}: a stretched run is another run",
            s.variant
        );
    }
    assert!(
        stretched
            .scale
            .ends_with("at x1.5 the budget (--budget: every run's epochs, or steps, times that)")
    );
    // Factor 1 is the declared plan, run for run.
    let same = Experiment {
        budget: Budget::AS_DECLARED,
        ..e2
    }
    .plan(ProfileName::Standard, &cpu())
    .unwrap()
    .unwrap();
    let hashes =
        |p: &featdiv::experiment::Plan| p.runs.iter().map(|r| r.hash.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&same), hashes(&declared));
    assert_eq!(same.scale, declared.scale);
    // E1's 5 epochs have no whole 1.5x: refused, naming the experiment and the key.
    let e1 = Experiment {
        budget: "1.5".parse::<Budget>().unwrap(),
        ..shipped().remove(0)
    };
    let err = format!("{:#}", e1.plan(ProfileName::Standard, &cpu()).unwrap_err());
    assert!(
        err.contains("experiment e1-toy") && err.contains("train.epochs = 5 would become 7.5"),
        "{err}"
    );
}

#[test]
fn a_precision_override_sets_every_run_that_differs_and_says_so_in_the_scale() {
    let named = |name: &str| shipped().into_iter().find(|e| e.name == name).unwrap();
    let plan = |e: &Experiment, precision| {
        Experiment {
            precision,
            ..e.clone()
        }
        .plan(ProfileName::Standard, &cpu())
    };
    let e3 = named("e3-leakynet");
    let declared = plan(&e3, None).unwrap().unwrap();
    let fp32 = plan(&e3, Some(Precision::Fp32)).unwrap().unwrap();
    assert_eq!(fp32.runs.len(), declared.runs.len());
    for (d, f) in declared.runs.iter().zip(&fp32.runs) {
        let (dc, fc) = (d.config().unwrap(), f.config().unwrap());
        assert_eq!(dc.train.precision, Precision::Bf16, "{}", d.variant);
        assert_eq!(fc.train.precision, Precision::Fp32, "{}", f.variant);
        // Nothing else moves: the memory format, the budget, the variant's own keys.
        assert_eq!(fc.train.memory_format, MemoryFormat::ChannelsLast);
        assert_eq!(fc.train.epochs, dc.train.epochs);
        assert_eq!(fc.model, dc.model);
        assert_ne!(
            d.hash, f.hash,
            "{}: another precision is another run",
            f.variant
        );
    }
    assert!(fp32.scale.starts_with(&declared.scale));
    assert!(
        fp32.scale
            .ends_with("every run in fp32 (--precision, in place of any precision named above)")
    );
    // Runs already in that precision are the declared runs (one hash, trained once).
    let e1 = named("e1-toy");
    let hashes =
        |p: featdiv::experiment::Plan| p.runs.into_iter().map(|r| r.hash).collect::<Vec<_>>();
    assert_eq!(
        hashes(plan(&e1, Some(Precision::Fp32)).unwrap().unwrap()),
        hashes(plan(&e1, None).unwrap().unwrap())
    );
    // TF32 exists on CUDA only: refused when planning, naming the experiment and the key.
    let err = format!("{:#}", plan(&e3, Some(Precision::Tf32)).unwrap_err());
    assert!(
        err.contains("experiment e3-leakynet")
            && err.contains("train.precision")
            && err.contains("tf32 needs a CUDA device"),
        "{err}"
    );
}

#[test]
fn shipped_experiments_plan_for_their_profiles() {
    let exps = shipped();
    let names: Vec<&str> = exps.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "e1-toy",
            "e2-constnet",
            "e3-leakynet",
            "e4-diversity",
            "e5-perturbation",
            "e6-threshold"
        ]
    );
    for profile in [
        ProfileName::Quick,
        ProfileName::Standard,
        ProfileName::Full,
        ProfileName::Smoke,
    ] {
        for e in &exps {
            let plan = e.plan(profile, &cpu()).unwrap().unwrap();
            if e.analysis_of.is_empty() {
                assert!(!plan.runs.is_empty(), "{} {profile}", e.name);
            }
            for r in &plan.runs {
                r.config().unwrap().validate().unwrap();
            }
        }
    }
    let quick: Vec<usize> = exps
        .iter()
        .map(|e| {
            e.plan(ProfileName::Quick, &cpu())
                .unwrap()
                .unwrap()
                .runs
                .len()
        })
        .collect();
    // E1: 24 variants x 3 seeds; E2: 5 of 6 variants on a CPU x 2; E3: 7 codes x 2; E6: 14
    // variants x 1.
    assert_eq!(quick, [72, 10, 14, 0, 0, 14]);
    let e2 = exps[1].plan(ProfileName::Quick, &cpu()).unwrap().unwrap();
    assert_eq!(
        e2.skipped,
        ["constnet, nondeterministic cuDNN (needs cuda)"]
    );
    let gpu = Host {
        device: DeviceSpec::Cuda(None),
        ..cpu()
    };
    assert_eq!(
        exps[1]
            .plan(ProfileName::Quick, &gpu)
            .unwrap()
            .unwrap()
            .runs
            .len(),
        12
    );
}

#[test]
fn the_paper_profile_needs_a_gpu() {
    let err = shipped()[1].plan(ProfileName::Paper, &cpu()).unwrap_err();
    assert!(
        format!("{err:#}").contains("needs --device cuda"),
        "{err:#}"
    );
}

#[test]
fn identical_configs_share_one_run() {
    let plan = shipped()[0]
        .plan(ProfileName::Quick, &cpu())
        .unwrap()
        .unwrap();
    let unique: BTreeSet<&str> = plan.runs.iter().map(|r| r.hash.as_str()).collect();
    // eps = 0 is tied K = 1, and the symmetry check at width 256 is tied K = 1 too.
    assert_eq!(unique.len(), plan.runs.len() - 2 * 3);
    let k1 = |name: &str| {
        plan.runs
            .iter()
            .find(|r| r.variant == name && r.seed == 0)
            .unwrap()
            .hash
            .clone()
    };
    assert_eq!(k1("tied K=1"), k1("tied K=1, eps=0"));
    // Negative control: one key apart, two runs.
    assert_ne!(k1("tied K=1"), k1("tied K=2"));
}

#[test]
fn the_run_hash_is_stable() {
    // A finished run is found by this hash: if it changes, every finished run is orphaned, so a
    // change must be deliberate (and said in the README). Value measured when it was written.
    let cfg = featdiv::config::Config::from_toml_str(
        "seed = 1\n[data]\nsource = \"synthetic\"\n[model]\narch = \"mlp\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(config_hash(&cfg).unwrap(), HASH);
    let other = featdiv::config::Config::from_toml_str(&cfg.to_toml().unwrap(), &["seed=2".into()])
        .unwrap();
    assert_ne!(config_hash(&other).unwrap(), HASH);
}

const HASH: &str = "c947affb9dfb738e";

#[test]
fn shards_partition_the_unique_runs() {
    let plans: Vec<_> = shipped()
        .iter()
        .filter_map(|e| e.plan(ProfileName::Quick, &cpu()).unwrap())
        .collect();
    let all: Vec<String> = shard_runs(&plans, Shard::ALL)
        .into_iter()
        .map(|r| r.hash)
        .collect();
    let mut union = Vec::new();
    for i in 0..3 {
        let shard = shard_runs(&plans, Shard { index: i, count: 3 });
        assert!(shard.len() >= all.len() / 3);
        union.extend(shard.into_iter().map(|r| r.hash));
    }
    union.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(union, sorted, "every run in exactly one shard");
    assert_eq!(
        all.iter().collect::<BTreeSet<_>>().len(),
        all.len(),
        "unique"
    );
}

#[rstest]
#[case("0/3", Some((0, 3)))]
#[case("2/3", Some((2, 3)))]
#[case("3/3", None)]
#[case("0/0", None)]
#[case("1", None)]
#[case("a/b", None)]
fn shard_specs(#[case] spec: &str, #[case] want: Option<(usize, usize)>) {
    let got = spec.parse::<Shard>().map(|s| (s.index, s.count));
    match want {
        Some(w) => assert_eq!(got.unwrap(), w),
        None => assert!(got.unwrap_err().contains("I/N"), "{spec}"),
    }
}

const GOOD: &str = r#"
name = "t"
title = "t"
seeds = [0]
[claims.K7]
rationale = "r"
min_seeds = 1
[base.data]
source = "synthetic"
[base.model]
arch = "mlp"
[[variants]]
name = "a"
[profiles.quick]
scale = "s"
"#;

/// An analysis (no variants) of `analysed` experiments, with K7's criterion or none.
fn analysis(analysed: &[&str], claims: bool) -> String {
    let criterion = if claims {
        "[claims.K7]\nrationale = \"r\"\nmin_seeds = 1\n"
    } else {
        ""
    };
    format!(
        "name = \"t\"\ntitle = \"t\"\nseeds = [0]\nanalysis_of = {analysed:?}\n{criterion}\
         [base.data]\nsource = \"synthetic\"\n[base.model]\narch = \"mlp\"\n\
         [profiles.quick]\nscale = \"s\"\n"
    )
}

#[test]
fn an_analysis_that_declares_claims_analyses_one_experiment() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("analysis.toml");
    let load = |text: String| {
        std::fs::write(&path, text).unwrap();
        Experiment::from_file(&path).map(|_| ())
    };
    let err = load(analysis(&["e1", "e2"], true)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(
            "invalid key analysis_of: an experiment that declares claims (K7) analyses one \
             experiment's runs, not 2"
        ) && msg.contains("analysis.toml"),
        "{msg}"
    );
    // Controls: one analysed experiment with claims, or two without, are accepted.
    load(analysis(&["e1"], true)).unwrap();
    load(analysis(&["e1", "e2"], false)).unwrap();
}

#[rstest]
#[case("min_seeds = 1", "min_seeds = 0", "claims.K7.min_seeds")]
#[case(
    "min_seeds = 1",
    "min_seeds = 1\nmargin = 0.05",
    "unknown field `margin`"
)]
#[case("[claims.K7]", "[claims.K12]", "unknown field `K12`")]
#[case("[profiles.quick]", "[profiles.fast]", "unknown variant `fast`")]
#[case("name = \"a\"", "name = \"a\"\ncolour = 1", "colour")]
#[case(
    "name = \"a\"",
    "name = \"a\"\n[[variants]]\nname = \"a\"",
    "used twice"
)]
#[case(
    "name = \"a\"",
    "name = \"a\"\nset = [\"model.init=\\\"nope\\\"\"]",
    "model.init"
)]
#[case(
    "name = \"a\"",
    "name = \"a\"\ndevice = \"tpu\"",
    "device: unknown variant `tpu`"
)]
#[case("seeds = [0]", "seeds = []", "no seeds")]
#[case(
    "scale = \"s\"",
    "scale = \"s\"\nvariant_seeds = { nope = [1, 2] }",
    "profiles.quick.variant_seeds: no variant is named \"nope\""
)]
#[case(
    "scale = \"s\"",
    "scale = \"s\"\nvariant_seeds = { a = [] }",
    "profiles.quick.variant_seeds: no seeds for \"a\""
)]
fn bad_experiment_files_name_what_is_wrong(
    #[case] from: &str,
    #[case] to: &str,
    #[case] needle: &str,
) {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, GOOD.replacen(from, to, 1)).unwrap();
    let err = Experiment::from_file(&path)
        .and_then(|e| e.plan(ProfileName::Quick, &cpu()).map(|_| ()))
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(needle), "{needle:?} not in: {msg}");
    assert!(
        msg.contains("bad.toml") || msg.contains("experiment t"),
        "names the file or experiment: {msg}"
    );
    // Negative control: the unmodified file plans.
    std::fs::write(&path, GOOD).unwrap();
    assert!(
        Experiment::from_file(&path)
            .unwrap()
            .plan(ProfileName::Quick, &cpu())
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_variant_can_have_seeds_of_its_own() {
    let text = GOOD.replacen(
        "name = \"a\"",
        "name = \"a\"\n[[variants]]\nname = \"b\"",
        1,
    ) + "variant_seeds = { a = [0, 1, 2] }\n";
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("seeds.toml");
    std::fs::write(&path, text).unwrap();
    let plan = Experiment::from_file(&path)
        .unwrap()
        .plan(ProfileName::Quick, &cpu())
        .unwrap()
        .unwrap();
    let seeds = |variant: &str| -> Vec<u64> {
        plan.runs
            .iter()
            .filter(|r| r.variant == variant)
            .map(|r| r.seed)
            .collect()
    };
    assert_eq!(seeds("a"), [0, 1, 2], "the variant's own seeds");
    assert_eq!(seeds("b"), [0], "every other variant keeps the profile's");
}

/// The scouts stay runnable as docs/scouts.md shows them, and the K3 scout plans exactly E1's K3
/// runs (He and tied K = 1 with eps = 0 ... 0.3: the same configs, hashes and seeds) under E1's
/// K3 criterion and scale: its verdict is the one E1 would reach, without E1's other runs.
#[test]
fn the_scouts_plan_and_the_k3_scout_is_e1s_k3_runs() {
    let scouts = load_dir(&common::root().join("docs/scouts")).unwrap();
    for e in &scouts {
        for profile in e.profiles.keys() {
            for r in &e.plan(*profile, &cpu()).unwrap().unwrap().runs {
                r.config().unwrap().validate().unwrap();
            }
        }
    }
    let scout = scouts.iter().find(|e| e.name == "e1-k3").unwrap();
    let e1 = shipped().into_iter().find(|e| e.name == "e1-toy").unwrap();
    // K3 reads He and the eps curve up to its declared small eps (eps = 0 included).
    let small_eps = e1.claims.k3.as_ref().unwrap().small_eps;
    let k3_run = |r: &&featdiv::experiment::PlannedRun| {
        r.group == "he" || (r.group == "eps-curve" && r.x.is_some_and(|x| x <= small_eps))
    };
    for profile in [
        ProfileName::Quick,
        ProfileName::Standard,
        ProfileName::Full,
        ProfileName::Smoke,
    ] {
        let (got, want) = (
            scout.plan(profile, &cpu()).unwrap().unwrap(),
            e1.plan(profile, &cpu()).unwrap().unwrap(),
        );
        let runs = |p: &featdiv::experiment::Plan, all: bool| -> BTreeSet<(String, u64)> {
            p.runs
                .iter()
                .filter(|r| all || k3_run(r))
                .map(|r| (r.hash.clone(), r.seed))
                .collect()
        };
        assert_eq!(runs(&got, true), runs(&want, false), "{profile}");
        assert!(
            runs(&got, true).len() < want.runs.len(),
            "a subset: {profile}"
        );
        assert_eq!(
            serde_json::to_string(&got.criteria.k3).unwrap(),
            serde_json::to_string(&want.criteria.k3).unwrap()
        );
        assert!(got.criteria.k3.is_some() && got.criteria.k1.is_none());
        assert_eq!(got.scale, want.scale);
    }
}

/// `--seed-offset N` moves every seed, the profile's and a variant's own, by N: every run is
/// another run (another hash), and the plan says by how much.
#[test]
fn a_seed_offset_shifts_every_seed_and_so_every_run() {
    let e1 = shipped().remove(0);
    let at = |offset: u64| {
        Experiment {
            seed_offset: offset,
            ..e1.clone()
        }
        .plan(ProfileName::Standard, &cpu())
        .unwrap()
        .unwrap()
    };
    let (declared, fresh) = (at(0), at(1000));
    assert_eq!(declared.provenance.seed_offset, 0);
    assert_eq!(fresh.provenance.seed_offset, 1000);
    assert_eq!(fresh.runs.len(), declared.runs.len());
    let mut eps = 0;
    for (d, f) in declared.runs.iter().zip(&fresh.runs) {
        assert_eq!(
            (f.variant.as_str(), f.seed),
            (d.variant.as_str(), d.seed + 1000)
        );
        assert_eq!(f.config().unwrap().seed, d.seed + 1000);
        eps += usize::from(f.variant == "tied K=1, eps=0.3");
    }
    // That variant's own 20 seeds (variant_seeds) moved too.
    assert_eq!(eps, 20);
    let hashes = |p: &featdiv::experiment::Plan| -> BTreeSet<String> {
        p.runs.iter().map(|r| r.hash.clone()).collect()
    };
    assert!(hashes(&declared).is_disjoint(&hashes(&fresh)));
    assert!(
        fresh
            .scale
            .ends_with("every seed + 1000 (--seed-offset: seeds the declared ones never were)")
    );
    assert_eq!(
        declared.scale,
        e1.plan(ProfileName::Standard, &cpu())
            .unwrap()
            .unwrap()
            .scale
    );
    // The offset travels in the plan file and reads back.
    let back: featdiv::experiment::Plan =
        serde_json::from_str(&serde_json::to_string(&fresh).unwrap()).unwrap();
    assert_eq!(back, fresh);
}

#[test]
fn a_seed_offset_past_the_largest_seed_is_refused() {
    let e1 = shipped().remove(0);
    // Seed 0 lands on the largest seed itself with i64::MAX, seed 1 past it.
    for (offset, first_past) in [(u64::MAX, 0), (i64::MAX as u64, 1)] {
        let e = Experiment {
            seed_offset: offset,
            ..e1.clone()
        };
        let err = format!("{:#}", e.plan(ProfileName::Smoke, &cpu()).unwrap_err());
        let says = format!("--seed-offset {offset}: seed {first_past} would pass the largest seed");
        assert!(
            err.contains(&says) && err.contains("experiment e1-toy"),
            "{err}"
        );
    }
}

/// The hash of `e1-toy.toml` after `edit` of its text.
fn e1_hash_after(edit: impl Fn(&str) -> String) -> String {
    let text =
        std::fs::read_to_string(common::root().join("configs/experiments/e1-toy.toml")).unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("e1-toy.toml");
    let edited = edit(&text);
    std::fs::write(&path, &edited).unwrap();
    let e = Experiment::from_file(&path).unwrap();
    featdiv::experiment::registration::frozen_hash(&e).unwrap()
}

#[test]
fn the_registered_hash_sees_what_can_move_a_verdict_and_not_comments() {
    let same = e1_hash_after(|t| t.to_string());
    let once = |from: &'static str, to: &'static str| {
        move |t: &str| {
            assert!(t.contains(from), "{from:?} not in e1-toy.toml");
            t.replacen(from, to, 1)
        }
    };
    // Comments, layout and words about the scale do not move a verdict.
    assert_eq!(e1_hash_after(|t| format!("# a new comment\n\n{t}")), same);
    assert_eq!(
        e1_hash_after(once("# one-sided intervals over seeds", "# reworded")),
        same
    );
    assert_eq!(
        e1_hash_after(once("margin = 0.05", "margin   =   0.05")),
        same
    );
    assert_eq!(
        e1_hash_after(once(
            "epochs = 2\nbatch_size = 128",
            "batch_size = 128\nepochs = 2"
        )),
        same,
        "the order of a table's keys"
    );
    assert_eq!(
        e1_hash_after(once(
            "scale = \"smoke test: ",
            "scale = \"smoke test, reworded: "
        )),
        same
    );
    // A criterion, a profile's seeds or overrides, a variant: each is another registration.
    let moved = [
        e1_hash_after(once("margin = 0.05", "margin = 0.06")),
        e1_hash_after(once("min_seeds = 3", "min_seeds = 4")),
        e1_hash_after(once("seeds = [0, 1]\n", "seeds = [0, 1, 2]\n")),
        e1_hash_after(once("\"train.epochs=1\"]", "\"train.epochs=2\"]")),
        e1_hash_after(once("x = 64\n", "x = 65\n")),
        e1_hash_after(once("lr = 0.05", "lr = 0.1")),
    ];
    for (i, h) in moved.iter().enumerate() {
        assert_ne!(*h, same, "edit {i} kept the hash");
    }
    assert_eq!(moved.iter().collect::<BTreeSet<_>>().len(), moved.len());
}

/// CI fails when an experiment file changes without `make register`: a confirmatory run must be
/// judged by criteria registered before it.
#[test]
fn the_committed_registration_matches_the_shipped_experiment_files() {
    use featdiv::experiment::Registration;
    let root = common::root();
    let committed = Registration::from_file(&root.join("configs/registration.toml")).unwrap();
    let now =
        Registration::of_dir(&root.join("configs/experiments"), Some(&committed), None).unwrap();
    let changes = now.changes_since(Some(&committed));
    assert!(
        changes.is_empty(),
        "configs/registration.toml is out of date (run `make register` if the change is \
         deliberate):\n{}",
        changes.join("\n")
    );
    for e in &committed.experiments {
        assert!(e.fresh_seeds_from >= 1000, "{}", e.name);
    }
    // Every seed a shipped profile declares lies below where fresh seeds start.
    for e in shipped() {
        let fresh = committed.entry(&e.name).unwrap().fresh_seeds_from;
        for profile in e.profiles.keys() {
            let Ok(Some(plan)) = e.plan(*profile, &cpu()) else {
                continue;
            };
            assert!(
                plan.runs.iter().all(|r| r.seed < fresh),
                "{} {profile}",
                e.name
            );
        }
    }
}
