//! `featdiv reproduce` and `featdiv report` end to end on the smoke profile of the shipped
//! experiment files (the committed Fashion-MNIST cut): every claim and figure, the page rendering
//! in headless Chromium, snapshots of the claims table and metrics, child processes giving the
//! records of in-process runs, and bad input (corrupt records, missing data) as errors that name
//! the file.
use crate::common;

use common::snapshots::{gap, round_numbers, same_float, settle, settled};
use common::sweeps::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use tempfile::TempDir;

/// The smoke profile of every experiment, through `reproduce --jobs 2` (child processes).
fn smoke() -> &'static (TempDir, PathBuf, PathBuf) {
    static SMOKE: OnceLock<(TempDir, PathBuf, PathBuf)> = OnceLock::new();
    SMOKE.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let (out, report) = (dir.path().join("runs"), dir.path().join("report"));
        ok(featdiv(&[
            "reproduce",
            "--profile",
            "smoke",
            "--jobs",
            "2",
            "--out",
            s(&out),
            "--report",
            s(&report),
        ]));
        (dir, out, report)
    })
}

#[test]
fn reproduce_writes_every_claim_and_figure() {
    let (_, out, report) = smoke();
    let claims: serde_json::Value = common::read_json(&report.join("claims.json"));
    let ids: Vec<&str> = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "K1", "K2", "K3", "K4", "K4-cpu", "K5", "K6", "K7", "K8", "K9"
        ]
    );
    let figures = claims["figures"].as_array().unwrap();
    for kind in [
        "k1-tied-vs-width",
        "k2-accuracy-vs-k",
        "k3-accuracy-vs-eps",
        "k4-rounding-breaks-symmetry",
        "k5-accuracy-vs-epoch",
        "k6-loss-at-init",
        "k7-exact-symmetry",
        "k8-accuracy-vs-averaging-layers",
        "k9-width-vs-epoch",
        "e4-correlation-dropout",
        "e4-backward-dropout",
        "e4-gap-dropout",
        "e4-width-dropout",
        "e5-perturbation-init",
        "e5-perturbation-end",
    ] {
        assert!(
            figures.iter().any(|f| f == kind),
            "figure {kind} missing: {figures:?}"
        );
        let svg =
            std::fs::read_to_string(report.join("figures").join(format!("{kind}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{kind}"
        );
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("## K8: ") && md.contains("## Environment of every run"));
    // On the declared seeds every experiment is exploratory, and the report says so once.
    assert_eq!(claims["stage"], "exploratory");
    let stages = claims["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 6);
    for s in stages {
        assert_eq!(
            s["why"], "seed offset 0: seeds already seen (fresh from offset 1000)",
            "{s}"
        );
    }
    assert!(
        md.contains(
            ".**\n\nStage: exploratory. e1-toy, e2-constnet, e3-leakynet, e4-diversity, \
                     e5-perturbation, e6-threshold: seed offset 0: seeds already seen"
        ),
        "{md}"
    );
    // Every run's environment is in the report: device, libtorch, determinism, commit.
    let runs = records(out).len();
    let env_rows = md
        .split("## Environment of every run")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("| e"))
        .count();
    assert!(
        env_rows >= runs,
        "{env_rows} environment rows for {runs} runs"
    );
    assert!(md.contains("2.11.0"), "the libtorch version is recorded");
    // E6's growth measurement, one fit a configuration: noise below float32 resolution left the
    // gap exactly 0 (too few smoke steps for anything to break, so no line here).
    let growth = claims["growth"]
        .as_array()
        .expect("claims.json lists growth");
    let groups: Vec<&str> = growth
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["wrn-7-1", "wrn-7-2"]);
    for g in growth {
        assert_eq!(g["exact_zero_at"][0], 1e-9, "{g}");
        assert_eq!(g["points"].as_array().unwrap().len(), 7, "{g}");
    }
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let (_, _, report) = smoke();
    let Some(chromium) = featdiv::report::chromium() else {
        common::skip(
            "the_report_renders_in_headless_chromium",
            "no Chromium on this machine",
            "sudo ci/setup-test-tools (apt-get install chromium)",
        );
        return;
    };
    let profile = TempDir::new().unwrap();
    // A 1280-pixel window, as a reader's laptop: every claim panel renders with its verdict and a
    // figure, and the page does not scroll sideways.
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,900",
            // Self-contained: any request off this machine fails the page.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", profile.path().display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &format!("file://{}", report.join("index.html").display()),
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let mark = dom
        .lines()
        .find_map(|l| l.split("data-rendered=\"").nth(1))
        .and_then(|m| m.split('"').next())
        .unwrap_or("(no data-rendered mark: the page's check did not run)");
    assert!(
        mark.starts_with("panels=9 ") && mark.ends_with(" fits=yes"),
        "chromium said: {mark}"
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for id in 1..=9 {
        assert!(
            html.contains(&format!("<section class=\"claim\" id=\"K{id}\">")),
            "no panel K{id}"
        );
    }
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "the page loads {external}");
    }
    // The first screen, for review (written where Chromium is, as here).
    let png = std::fs::read(report.join("overview.png")).expect("overview.png beside the report");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn child_processes_give_the_records_of_in_process_runs() {
    let (_, smoke_out, _) = smoke();
    let (_, e1_out) = e1_unsharded();
    let spawned = records(smoke_out);
    let in_process = records(e1_out);
    assert!(in_process.len() > 20);
    for (hash, rec) in &in_process {
        assert_eq!(spawned.get(hash), Some(rec), "run {hash}");
    }
}

/// Runs that share a worker process differ in precision, memory format, threads, architecture
/// and breaker, so that state one leaves behind would show in the next one's records.
const MIXED: &str = r#"
name = "mixed"
title = "runs of every kind through two workers"
seeds = [0, 1]

[base]
threads = 1
[base.data]
source = "fashion-mnist"
path = "fixtures/fashion-mnist-small"
train_subset = 256
test_subset = 128
[base.model]
arch = "wrn"
depth = 7
widen = 1
init = "constnet"
[base.train]
epochs = 1
batch_size = 64
lr = 0.03
momentum = 0.9
weight_decay = 5e-4
log_every = 2
[base.determinism]
mode = "deterministic"
[base.record]
perturbation = true

[[variants]]
name = "he bf16 channels-last"
set = ['model.init="he"', 'train.precision="bf16"', 'train.memory_format="channels-last"']
[[variants]]
name = "constnet fp32"
[[variants]]
name = "constnet bf16 grad noise"
set = ['train.precision="bf16"', 'train.memory_format="channels-last"', "breakers.grad_noise=1e-6"]
[[variants]]
name = "he 2 threads"
set = ['model.init="he"', "threads=2"]
[[variants]]
name = "constnet dropout"
set = ["breakers.dropout=0.1"]
[[variants]]
name = "leakynet"
set = ['model.arch="leakynet"', 'model.init="1_i_1_i"']
[[variants]]
name = "mlp on another subset"
set = ['model.arch="mlp"', "model.hidden=[32]", 'model.init="k-unique:2"', "data.train_subset=512"]

[profiles.smoke]
scale = "test"
"#;

#[test]
fn a_worker_gives_each_run_the_records_of_a_fresh_process() {
    let dir = TempDir::new().unwrap();
    let config = dir.path().join("mixed.toml");
    std::fs::write(&config, MIXED).unwrap();
    let out = dir.path().join("runs");
    ok(featdiv(&[
        "sweep",
        "--config",
        s(&config),
        "--profile",
        "smoke",
        "--jobs",
        "2",
        "--out",
        s(&out),
    ]));
    let swept = records(&out);
    let plan: serde_json::Value = common::read_json(&out.join("plan/mixed.json"));
    let runs = plan["runs"].as_array().unwrap();
    assert_eq!((runs.len(), swept.len()), (14, 14));
    let fresh = dir.path().join("fresh");
    for run in runs {
        let hash = run["hash"].as_str().unwrap();
        let base = dir.path().join(format!("{hash}.toml"));
        std::fs::write(&base, run["base"].as_str().unwrap()).unwrap();
        let into = fresh.join("runs").join(hash);
        let mut args = vec!["train", "--config", s(&base), "--out", s(&into), "--quiet"];
        for o in run["overrides"].as_array().unwrap() {
            args.extend(["--set", o.as_str().unwrap()]);
        }
        ok(featdiv(&args));
    }
    let alone = records(&fresh);
    for (hash, rec) in &swept {
        assert_eq!(alone.get(hash), Some(rec), "run {hash}");
    }
}

#[test]
fn corrupt_records_are_errors_that_name_the_file() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    ok(sweep_e1(&out, &["--shard", "0/100"]).output().unwrap());
    let report = |tag: &str| {
        featdiv(&[
            "report",
            "--runs",
            s(&out),
            "--out",
            s(&dir.path().join(tag)),
        ])
    };
    ok(report("before"));
    let run = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    let steps = run.join("steps.jsonl");
    let good = std::fs::read_to_string(&steps).unwrap();
    std::fs::write(
        &steps,
        format!("{good}{{\"kind\": \"step\", \"step\": \"x\"}}\n"),
    )
    .unwrap();
    let o = report("steps");
    let err = String::from_utf8_lossy(&o.stderr);
    // It names the folder to remove, so the next reproduce trains the run anew.
    let remove = format!("remove {} and run", run.display());
    assert!(
        !o.status.success() && err.contains("steps.jsonl line") && err.contains(&remove),
        "{err}"
    );
    std::fs::write(&steps, good).unwrap();
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    std::fs::write(run.join("summary.json"), "{").unwrap();
    let o = report("summary");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("summary.json") && err.contains(&remove),
        "{err}"
    );
    std::fs::write(run.join("summary.json"), summary).unwrap();
    let plan = out.join("plan").join("e1-toy.json");
    std::fs::write(&plan, "[]").unwrap();
    let o = report("plan");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("e1-toy.json"), "{err}");
    // A plan made before a criterion key existed: the error says how to re-plan, and re-planning
    // into the same folder trains nothing and mends it.
    ok(sweep_e1(&out, &["--shard", "0/100"]).output().unwrap());
    let mut old: serde_json::Value = common::read_json(&plan);
    old["criteria"]["K1"]
        .as_object_mut()
        .unwrap()
        .remove("margin");
    std::fs::write(&plan, old.to_string()).unwrap();
    let o = report("older");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("e1-toy.json") && err.contains("re-plan"),
        "{err}"
    );
    let again = ok(sweep_e1(&out, &["--shard", "0/100"]).output().unwrap());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("trained 0,"), "{said}");
    ok(report("re-planned"));
    // Nothing already written is lost: the first report is still whole.
    assert!(dir.path().join("before/index.html").exists());
    let o = featdiv(&[
        "report",
        "--runs",
        s(&dir.path().join("nothing")),
        "--out",
        s(&dir.path().join("x")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("reproduce or sweep"),
        "{err}"
    );
}

#[test]
fn a_missing_data_set_or_device_stops_before_any_run() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let o = featdiv(&[
        "reproduce",
        "--profile",
        "quick",
        "--data-dir",
        s(&dir.path().join("nowhere")),
        "--out",
        s(&out),
        "--report",
        s(&dir.path().join("report")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("nowhere") && err.contains("nothing was run"),
        "{err}"
    );
    assert!(!out.exists(), "no run started");
    let o = featdiv(&[
        "reproduce",
        "--profile",
        "paper",
        "--device",
        "cpu",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("needs --device cuda"),
        "{err}"
    );
    assert!(!out.exists());
    let o = featdiv(&["reproduce", "--profile", "huge", "--out", s(&out)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown profile"));
    let o = featdiv(&["sweep", "--config", E1, "--shard", "3/3", "--out", s(&out)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--shard"));
}

/// The claims table and per-layer metrics of the smoke run, as `common::snapshots` keeps them on
/// every CPU: a change that moves a metric shows in review.
#[test]
fn snapshot_of_the_claims_table_and_metrics() {
    let (_, out, report) = smoke();
    let claims: serde_json::Value = common::read_json(&report.join("claims.json"));
    let table: Vec<serde_json::Value> = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c["id"],
                "verdict": c["verdict"],
                "measured": round_numbers(c["measured"].as_str().unwrap()),
            })
        })
        .collect();
    let table = settled("reproduce_smoke_claims", json!(table));
    snapshot_json!("reproduce_smoke_claims", table);

    let built = featdiv::report::build(out).unwrap();
    let e2 = built
        .experiments
        .iter()
        .find(|e| e.plan.experiment == "e2-constnet")
        .unwrap();
    let metrics: Vec<serde_json::Value> = e2
        .runs
        .iter()
        .filter(|r| r.planned.seed == 0)
        .map(|r| {
            let f = r.finished().unwrap();
            serde_json::json!({
                "variant": r.planned.variant,
                "best_test_acc": common::sig(f.summary.best_test_acc, 2),
                "layers": f.summary.diversity_final.iter().map(|l| serde_json::json!({
                    "name": l.name,
                    "forward": common::sig(l.forward, 2),
                    "gap_abs": gap(l.gap_abs),
                    // Features apart by more than 1e-4 of the largest weight: an exact count
                    // would count the CPU's rounding.
                    "distinct_tol": l.distinct_tol,
                    "width": common::sig(l.width_participation, 2),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let metrics = settled("reproduce_smoke_e2_metrics", json!(metrics));
    snapshot_json!("reproduce_smoke_e2_metrics", metrics);
}

#[test]
fn a_flip_of_the_second_digit_is_the_same_and_more_is_not() {
    assert!(same_float(4.6, 4.7));
    assert!(same_float(0.12, 0.11));
    assert!(same_float(16.0, 17.0));
    assert!(!same_float(4.6, 4.8));
    assert!(!same_float(0.12, 0.14));
    assert!(!same_float(0.0, 1e-9));
    assert!(!same_float(-4.6, 4.6));
}

#[test]
fn settling_keeps_the_stored_text_only_where_nothing_but_a_flip_differs() {
    let stored = json!({"m": "factor 16 [4.6, 28]; 12 runs", "acc": 0.84, "n": 15});
    let flipped = json!({"m": "factor 16 [4.7, 28]; 12 runs", "acc": 0.85, "n": 15});
    assert_eq!(settle(&stored, flipped), stored);
    // A real move, another integer, other words: the new value shows.
    for (key, value) in [
        ("m", json!("factor 16 [4.9, 28]; 12 runs")),
        ("m", json!("factor 16 [4.6, 28]; 13 runs")),
        ("m", json!("factor 16 [4.6, 28]; 12 seeds")),
        ("acc", json!(0.87)),
        ("n", json!(16)),
    ] {
        let mut new = stored.clone();
        new[key] = value.clone();
        assert_eq!(settle(&stored, new)[key], value, "{key}");
    }
}

#[test]
fn rounding_level_values_are_named_not_printed() {
    assert_eq!(
        round_numbers("never > 0.001 (final 0.000000000036), -0.0123 and 12 runs"),
        "never > 0.001 (final <1e-6), -0.012 and 12 runs"
    );
    assert_eq!(gap(0.0), json!(0.0));
    assert_eq!(gap(3e-11), json!("rounding level"));
    assert_eq!(gap(0.0042), json!(0.004));
}

/// Copies the smoke profile's run folder, edits one line of a run's steps.jsonl, and returns the
/// verdict of `claim` in the report of the copy.
fn verdict_after(group: &str, claim: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let (_, out, _) = smoke();
    let dir = TempDir::new().unwrap();
    let copy = dir.path().join("runs");
    copy_dir(out, &copy);
    let plan: serde_json::Value = common::read_json(&copy.join("plan/e2-constnet.json"));
    let hash = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == group)
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let steps = copy.join("runs").join(hash).join("steps.jsonl");
    let mut lines: Vec<serde_json::Value> = std::fs::read_to_string(&steps)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first_step = lines.iter_mut().find(|l| l["kind"] == "step").unwrap();
    edit(first_step);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&steps, text).unwrap();
    let report = dir.path().join("report");
    ok(featdiv(&[
        "report",
        "--runs",
        s(&copy),
        "--out",
        s(&report),
    ]));
    let claims: serde_json::Value = common::read_json(&report.join("claims.json"));
    let row = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == claim)
        .unwrap()
        .clone();
    format!("{} {}", row["verdict"].as_str().unwrap(), row["reason"])
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn planted_contradictions_in_a_copy_of_the_records_never_read_holds() {
    // Unplanted, K6 and K7 hold on the smoke records.
    assert!(verdict_after("none", "K7", |_| {}).starts_with("Holds"));
    assert!(verdict_after("none", "K6", |_| {}).starts_with("Holds"));
    let gap = verdict_after("none", "K7", |l| l["layers"][1]["gap_abs"] = 1e-9.into());
    assert!(gap.starts_with("Refuted"), "a channel gap: {gap}");
    let nan = verdict_after("none", "K7", |l| {
        l["layers"][0]["gap_abs"] = serde_json::Value::Null
    });
    assert!(
        nan.starts_with("Undecided") && nan.contains("steps.jsonl"),
        "a NaN gap: {nan}"
    );
    let loss = verdict_after("none", "K6", |l| l["loss"] = 2.2.into());
    assert!(loss.starts_with("Refuted"), "a wrong step-0 loss: {loss}");
    let nan_loss = verdict_after("none", "K6", |l| l["loss"] = serde_json::Value::Null);
    assert!(
        nan_loss.starts_with("Undecided"),
        "a NaN step-0 loss: {nan_loss}"
    );
}
