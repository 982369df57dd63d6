//! The `featdiv` binary end to end: train writes its records, diversity reads any checkpoint,
//! sweep --budget stretches a plan, and bad input fails with a clear message without damaging
//! what was written.
use crate::common;

use common::read_json;
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;

fn featdiv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_featdiv"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("featdiv runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `featdiv train` of the shipped toy config at a small scale (512 fixture images, 32 hidden
/// units, batches of 64, 2 epochs), then `extra` arguments.
fn train(extra: &[&str], out: &Path) -> Output {
    let fixture = format!(
        "data.path={:?}",
        common::fixture("fashion-mnist-small").display().to_string()
    );
    let mut args = vec!["train", "--config", "configs/toy.toml", "--quiet"];
    args.extend(["--out", out.to_str().unwrap(), "--set", &fixture]);
    for set in [
        "seed=3",
        "threads=1",
        "device=\"cpu\"",
        "data.train_subset=512",
        "model.hidden=[32]",
        "train.batch_size=64",
        "train.log_every=4",
    ] {
        args.extend(["--set", set]);
    }
    args.extend(extra);
    featdiv(&args)
}

#[test]
fn train_writes_config_steps_and_summary() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let o = train(&["--set", "breakers.dropout=0.1"], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("init = \"k-unique:4\"") && config.contains("# --set breakers.dropout=0.1"),
        "verbatim config + overrides: {config}"
    );
    assert!(
        std::fs::read_to_string(out.join("config.resolved.toml"))
            .unwrap()
            .contains("dropout = 0.1")
    );

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("steps.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<_> = lines.iter().filter(|l| l["kind"] == "step").collect();
    let evals: Vec<_> = lines.iter().filter(|l| l["kind"] == "eval").collect();
    // 512 / 64 = 8 steps an epoch, 16 in all; logged every 4 steps, at powers of two (for log
    // axes) and at the last.
    assert_eq!(
        steps
            .iter()
            .map(|s| s["step"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 4, 8, 12, 15]
    );
    assert_eq!(evals.len(), 2);
    for line in &lines {
        for key in ["step", "loss", "lr"] {
            assert!(line[key].is_number(), "every record has {key}: {line}");
        }
    }
    for s in &steps {
        assert!(s["loss"].as_f64().unwrap().is_finite() && s["lr"].as_f64().unwrap() == 0.05);
        let layer = &s["layers"][0];
        for key in [
            "forward",
            "backward",
            "gap_abs",
            "gap_ulps",
            "distinct_exact",
            "width_participation",
            "width_rho",
        ] {
            assert!(!layer[key].is_null(), "metric {key} in every step record");
        }
    }
    assert_eq!(
        steps[0]["layers"][0]["distinct_exact"], 4,
        "k-unique:4 starts with 4 distinct features"
    );

    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["status"], "done");
    assert!(
        summary["diversity_final"][0]["all"].is_number(),
        "kernel-level correlation in the summary"
    );
    assert!(out.join("weights.safetensors").is_file());
    for key in [
        "final_test_acc",
        "best_test_acc",
        "best_step",
        "wall_time_s",
        "accuracy_note",
    ] {
        assert!(!summary[key].is_null(), "summary has {key}");
    }
    let env = &summary["environment"];
    assert_eq!(env["seed"], 3);
    assert_eq!(env["threads"], 1);
    assert_eq!(env["device"], "cpu");
    assert_eq!(
        env["libtorch_version"].as_str().unwrap().split('+').next(),
        Some("2.11.0")
    );
    assert!(env["git_commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(!env["determinism"].is_null());
    assert!(String::from_utf8_lossy(&o.stdout).contains("final test acc"));
}

#[test]
fn same_config_same_records() {
    let dir = TempDir::new().unwrap();
    let losses = |name: &str| {
        let out = dir.path().join(name);
        let o = train(&[], &out);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(out.join("steps.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        losses("a"),
        losses("b"),
        "a run is a function of its config (fixed threads)"
    );
}

#[test]
fn divergence_stops_with_a_clear_error_and_valid_records() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let o = train(
        &[
            "--set",
            "train.lr=1e30",
            "--set",
            "model.init=he",
            "--set",
            "train.log_every=1",
        ],
        &out,
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("diverged"), "{}", stderr(&o));
    for line in std::fs::read_to_string(out.join("steps.jsonl"))
        .unwrap()
        .lines()
    {
        serde_json::from_str::<serde_json::Value>(line).expect("every written line is whole JSON");
    }
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["status"], "failed");
    assert!(summary["error"].as_str().unwrap().contains("diverged"));
}

#[test]
fn bad_input_fails_clearly() {
    let dir = TempDir::new().unwrap();
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();
    // (extra arguments, what the error must say)
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--set", "model.init=k-unique:64"],
            &["model.init", "exceeds"],
        ),
        (&["--set", "model.init=orthogonal"], &["unknown init code"]),
        (&["--set", "data.path=/nonexistent"], &["/nonexistent"]),
        (&["--set", "train.lr=-1"], &["train.lr"]),
        (
            &["--set", "model.arch=leakynet", "--set", "model.init=1_ii"],
            &["model.init", "needs"],
        ),
    ];
    for (extra, want) in cases {
        let o = train(extra, &out_dir);
        assert!(!o.status.success(), "{extra:?} must fail");
        for w in want {
            assert!(
                stderr(&o).contains(w),
                "{extra:?}: {w:?} not in {}",
                stderr(&o)
            );
        }
    }
    let o = featdiv(&["train", "--config", "missing.toml", "--out", out]);
    assert!(
        !o.status.success() && stderr(&o).contains("missing.toml"),
        "{}",
        stderr(&o)
    );
    // Without a usable GPU, --device cuda names the device and the reason.
    let o = train(&["--device", "cuda"], &out_dir);
    if !o.status.success() {
        assert!(stderr(&o).contains("cuda"), "{}", stderr(&o));
    }
}

#[test]
fn diversity_reproduces_the_reference_values() {
    let o = featdiv(&[
        "diversity",
        "fixtures/reference/correlation_public.npz",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let expected = read_json(&common::fixture("reference/correlation_public.json"));
    for name in ["w0", "w1", "w2", "w3"] {
        for key in ["forward", "backward", "all"] {
            let (g, e) = (
                got[name][key].as_f64().unwrap(),
                expected["expected"][name][key].as_f64().unwrap(),
            );
            assert!((g - e).abs() < 1e-6, "{name}.{key}: {g} vs {e}");
        }
    }
    let table = featdiv(&["diversity", "fixtures/reference/correlation_public.npz"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("forward") && text.contains("w3"), "{text}");
}

#[test]
fn diversity_reads_safetensors_and_ot_and_rejects_bad_files() {
    let dir = TempDir::new().unwrap();
    let w = {
        let _turn = featdiv::determinism::global_state_lock();
        tch::Tensor::randn([8, 5], (tch::Kind::Float, tch::Device::Cpu))
    };
    let st = dir.path().join("w.safetensors");
    let ot = dir.path().join("w.ot");
    tch::Tensor::write_safetensors(&[("layer.weight", &w)], &st).unwrap();
    tch::Tensor::save_multi(&[("layer.weight", &w)], &ot).unwrap();
    for f in [&st, &ot] {
        let o = featdiv(&["diversity", f.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["layer.weight"]["distinct_exact"], 8);
    }
    let bad = dir.path().join("bad.npz");
    std::fs::write(&bad, b"garbage").unwrap();
    let o = featdiv(&["diversity", bad.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("bad.npz"),
        "{}",
        stderr(&o)
    );
    // libtorch's own error for a file that is no checkpoint, without its C++ stack trace.
    let bad_ot = dir.path().join("bad.ot");
    std::fs::write(&bad_ot, b"{}").unwrap();
    let o = featdiv(&["diversity", bad_ot.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("bad.ot") && e.contains("not a ZIP archive"),
        "{e}"
    );
    assert!(
        !e.contains("frame #") && !e.contains("Exception raised from"),
        "{e}"
    );
    let o = featdiv(&["diversity", "w.h5"]);
    assert!(
        !o.status.success() && stderr(&o).contains("w.h5"),
        "{}",
        stderr(&o)
    );
    let nan = dir.path().join("nan.safetensors");
    tch::Tensor::write_safetensors(&[("w", &w.fill(f64::NAN))], &nan).unwrap();
    let o = featdiv(&["diversity", nan.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("NaN"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn deep_archs_train_through_the_cli() {
    let dir = TempDir::new().unwrap();
    for (arch, init) in [
        ("wrn", "he"),
        ("wrn", "constnet+residual:0.5"),
        ("wrn", "delta-orthogonal"),
        ("wrn", "zero-o"),
        ("wrn", "fixup"),
        ("leakynet", "1_ii11_ii11_ii11"),
        ("leakynet", "h_hhh_hhh_hhh"),
    ] {
        let out = dir
            .path()
            .join(format!("{arch}-{}", init.replace([':', '+'], "-")));
        let depth = if init.len() == 13 { 13 } else { 16 };
        let o = train(
            &[
                "--set",
                &format!("model.arch=\"{arch}\""),
                "--set",
                &format!("model.init=\"{init}\""),
                "--set",
                &format!("model.depth={depth}"),
                "--set",
                "train.epochs=0",
                "--set",
                "train.steps=3",
                "--set",
                "data.test_subset=32",
            ],
            &out,
        );
        assert!(o.status.success(), "{arch} {init}: {}", stderr(&o));
        assert_eq!(read_json(&out.join("summary.json"))["status"], "done");
    }
}

#[test]
fn sweep_budget_stretches_the_plan_and_refuses_a_budget_that_is_not_whole() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let sweep = |config: &str, budget: &str| {
        featdiv(&[
            "sweep",
            "--config",
            config,
            "--profile",
            "smoke",
            "--budget",
            budget,
            "--shard",
            "999/1000", // plans every run, trains none of them
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = sweep("configs/experiments/e2-constnet.toml", "2");
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = read_json(&out.join("plan/e2-constnet.json"));
    assert!(plan["scale"].as_str().unwrap().contains("at x2 the budget"));
    let runs = plan["runs"].as_array().unwrap();
    assert!(!runs.is_empty());
    for r in runs {
        let overrides: Vec<&str> = r["overrides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        // The smoke profile trains 2 epochs; the factor comes after the profile and variant.
        assert!(overrides.contains(&"train.epochs=4"), "{overrides:?}");
    }
    for (config, budget, want) in [
        (
            "configs/experiments/e1-toy.toml",
            "1.5",
            "train.epochs = 1 would become 1.5",
        ),
        ("configs/experiments/e2-constnet.toml", "0", "budget \"0\""),
        (
            "configs/experiments/e2-constnet.toml",
            "fast",
            "not a number",
        ),
    ] {
        let o = sweep(config, budget);
        assert!(!o.status.success(), "--budget {budget} must fail");
        assert!(stderr(&o).contains(want), "{want:?} not in {}", stderr(&o));
    }
    assert!(
        !out.join("plan/e1-toy.json").exists(),
        "a refused plan is not written"
    );
    // --precision reaches every run through the same plan, and says so in the scale.
    let o = featdiv(&[
        "sweep",
        "--config",
        "configs/experiments/e3-leakynet.toml",
        "--profile",
        "smoke",
        "--precision",
        "bf16",
        "--shard",
        "999/1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = read_json(&out.join("plan/e3-leakynet.json"));
    assert!(
        plan["scale"]
            .as_str()
            .unwrap()
            .contains("every run in bf16")
    );
    for r in plan["runs"].as_array().unwrap() {
        let last = r["overrides"].as_array().unwrap().iter().rev();
        let precision = last
            .map(|o| o.as_str().unwrap())
            .find(|o| o.starts_with("train.precision="));
        assert_eq!(precision, Some("train.precision=\"bf16\""), "{r}");
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Copies the shipped experiment files into `dir`, for a registration to edit.
fn copy_experiments(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(common::root().join("configs/experiments")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn register_writes_the_registration_and_says_what_changed() {
    let dir = TempDir::new().unwrap();
    let (exps, file) = (dir.path().join("experiments"), dir.path().join("reg.toml"));
    copy_experiments(&exps);
    let register = |extra: &[&str]| {
        let mut args = vec!["register", "--experiments", exps.to_str().unwrap()];
        args.extend(["--file", file.to_str().unwrap()]);
        args.extend(extra);
        featdiv(&args)
    };
    let o = register(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("e1-toy: registered (e1-toy.toml, hash "),
        "{}",
        stdout(&o)
    );
    let first = std::fs::read_to_string(&file).unwrap();
    // The shipped experiments registered in a copy read as the committed registration does.
    let committed = common::root().join("configs/registration.toml");
    let parsed = |p: &Path| featdiv::experiment::Registration::from_file(p).unwrap();
    assert_eq!(parsed(&file), parsed(&committed));
    let o = register(&[]);
    assert!(stdout(&o).starts_with("nothing changed"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    // A comment is no change; a criterion is.
    let e1 = exps.join("e1-toy.toml");
    let text = std::fs::read_to_string(&e1).unwrap();
    std::fs::write(&e1, format!("# edited\n{text}")).unwrap();
    assert!(stdout(&register(&[])).starts_with("nothing changed"));
    std::fs::write(&e1, text.replacen("margin = 0.05", "margin = 0.04", 1)).unwrap();
    let said = stdout(&register(&[]));
    assert!(
        said.contains("e1-toy: e1-toy.toml changed since its registration (hash ")
            && !said.contains("e2-constnet"),
        "{said}"
    );
    // Fresh seeds only move up: seeds below the registered start may have been seen.
    let o = register(&["--fresh-seeds-from", "500"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--fresh-seeds-from 500 is below the 1000"),
        "{}",
        stderr(&o)
    );
    let said = stdout(&register(&["--fresh-seeds-from", "2000"]));
    assert!(
        said.contains("e1-toy: fresh seeds from offset 1000 -> 2000"),
        "{said}"
    );
    std::fs::write(&file, "[[experiments]]\nname = \"e1-toy\"\n").unwrap();
    let o = register(&[]);
    assert!(
        !o.status.success() && stderr(&o).contains("reg.toml") && stderr(&o).contains("file"),
        "{}",
        stderr(&o)
    );
}

/// A plan on fresh seeds of the registered E1 is confirmatory, one on the declared seeds
/// exploratory, and `claims.json`, report.md and index.html say which under the summary line.
#[test]
fn the_report_names_the_stage_of_a_seed_offset_plan() {
    let dir = TempDir::new().unwrap();
    let stage_of = |offset: &str| {
        let out = dir.path().join(format!("runs-{offset}"));
        let report = dir.path().join(format!("report-{offset}"));
        let o = featdiv(&[
            "sweep",
            "--config",
            "configs/experiments/e1-toy.toml",
            "--profile",
            "smoke",
            "--seed-offset",
            offset,
            "--device",
            "cpu",
            "--shard",
            "999/1000", // plans every run, trains none of them
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let plan = read_json(&out.join("plan/e1-toy.json"));
        let o = featdiv(&[
            "report",
            "--runs",
            out.to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (
            plan,
            read_json(&report.join("claims.json")),
            report,
            stdout(&o),
        )
    };
    let (plan, claims, report, said) = stage_of("1000");
    assert_eq!(plan["seed_offset"], 1000);
    assert!(plan["runs"].as_array().unwrap().iter().all(|r| {
        let seed = r["seed"].as_u64().unwrap();
        (1000..1002).contains(&seed)
            && r["overrides"]
                .as_array()
                .unwrap()
                .contains(&format!("seed={seed}").into())
    }));
    assert_eq!(claims["stage"], "confirmatory", "{claims}");
    assert_eq!(claims["stages"][0]["experiment"], "e1-toy");
    assert_eq!(claims["stages"][0]["stage"], "confirmatory");
    assert!(
        said.starts_with("Stage: confirmatory. e1-toy: e1-toy.toml as registered"),
        "{said}"
    );
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let after_summary = md
        .split(" not run; profile smoke on cpu; K4-cpu (the CPU stand-in, apart) not run.**\n\n")
        .nth(1)
        .unwrap();
    assert!(after_summary.starts_with("Stage: confirmatory. "), "{md}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains("</p>\n<p id=\"stage\">Stage: confirmatory. "),
        "{html}"
    );

    let (plan, claims, _, _) = stage_of("0");
    assert_eq!(plan["seed_offset"], 0);
    assert_eq!(claims["stage"], "exploratory");
    assert_eq!(
        claims["stages"][0]["why"],
        "seed offset 0: seeds already seen (fresh from offset 1000)"
    );
}
