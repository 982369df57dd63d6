//! `featdiv reproduce | sweep | report` end to end, on the smoke profile of the shipped
//! experiment files (the committed Fashion-MNIST cut): resume after a kill, shards (local, Slurm
//! job array, Kubernetes indexed Job) merging to the same report as one unsharded sweep, child
//! processes (--jobs) giving the same records as in-process runs, the report rendering in
//! headless Chromium, and snapshots of its claims table and metrics.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const E1: &str = "configs/experiments/e1-toy.toml";

fn featdiv_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_featdiv"));
    c.args(args).current_dir(common::root());
    c
}

/// `featdiv sweep` of E1's smoke profile into `out`.
fn sweep_e1(out: &Path, extra: &[&str]) -> Command {
    let mut args = vec![
        "sweep",
        "--config",
        E1,
        "--profile",
        "smoke",
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    featdiv_cmd(&args)
}

fn featdiv(args: &[&str]) -> Output {
    featdiv_cmd(args).output().expect("featdiv runs")
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "featdiv failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every finished run's records: hash -> (steps.jsonl, summary.json without its wall time).
fn records(out: &Path) -> BTreeMap<String, (String, serde_json::Value)> {
    let mut map = BTreeMap::new();
    for e in std::fs::read_dir(out.join("runs")).unwrap() {
        let dir = e.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".failed") {
            continue;
        }
        let steps = std::fs::read_to_string(dir.join("steps.jsonl")).unwrap();
        let mut summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        summary.as_object_mut().unwrap().remove("wall_time_s");
        map.insert(name, (steps, summary));
    }
    map
}

fn report_files(dir: &Path) -> (String, String, String) {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    (read("report.md"), read("claims.json"), read("index.html"))
}

/// `featdiv report` on merged shards gives the unsharded sweep's report, byte for byte.
fn assert_same_report(runs: &Path, report: &Path, unsharded: &TempDir) {
    ok(featdiv(&["report", "--runs", s(runs), "--out", s(report)]));
    assert_eq!(
        report_files(report),
        report_files(&unsharded.path().join("report"))
    );
}

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

/// E1's smoke runs in one unsharded, in-process sweep, and its report.
fn e1_unsharded() -> &'static (TempDir, PathBuf) {
    static E1_ALL: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    E1_ALL.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let out = dir.path().join("runs");
        ok(sweep_e1(&out, &[]).output().unwrap());
        ok(featdiv(&[
            "report",
            "--runs",
            s(&out),
            "--out",
            s(&dir.path().join("report")),
        ]));
        (dir, out)
    })
}

#[test]
fn reproduce_writes_every_claim_and_figure() {
    let (_, out, report) = smoke();
    let claims: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("claims.json")).unwrap())
            .unwrap();
    let ids: Vec<&str> = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"]);
    let figures = claims["figures"].as_array().unwrap();
    for kind in [
        "e1-accuracy-vs-k",
        "e1-accuracy-vs-eps",
        "e2-symmetry-gap",
        "e4-correlation-dropout",
        "e4-backward-dropout",
        "e4-gap-dropout",
        "e4-width-dropout",
        "e3-leakynet-accuracy",
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
    assert!(md.contains("| K8 |") && md.contains("## Environment of every run"));
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
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let (_, _, report) = smoke();
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("no Chromium: run ci/setup-test-tools (make test does)");
    let profile = TempDir::new().unwrap();
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // Self-contained: any request off this machine fails the page.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", profile.path().display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &format!("file://{}", report.join("index.html").display()),
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let claims: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("claims.json")).unwrap())
            .unwrap();
    let n = claims["figures"].as_array().unwrap().len();
    let want = format!("data-rendered=\"figures={n} claims=9\"");
    assert!(
        dom.contains(&want),
        "want {want}; chromium said: {}",
        dom.lines()
            .find(|l| l.contains("data-rendered"))
            .unwrap_or("(no data-rendered mark: the page's check did not run)")
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "the page loads {external}");
    }
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

#[test]
fn three_shards_merge_to_the_unsharded_report() {
    let (unsharded, _) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    // The three shards run at once, into one folder, as on a cluster with shared storage.
    let children: Vec<_> = (0..3)
        .map(|i| {
            sweep_e1(&out, &["--shard", &format!("{i}/3")])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
    // Negative control: two of three shards leave the claims "not run".
    let partial = TempDir::new().unwrap();
    let pout = partial.path().join("runs");
    for i in 0..2 {
        ok(sweep_e1(&pout, &["--shard", &format!("{i}/3")])
            .output()
            .unwrap());
    }
    let o = ok(featdiv(&[
        "report",
        "--runs",
        s(&pout),
        "--out",
        s(&partial.path().join("r")),
    ]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("K1   not run") && text.contains("runs finished"),
        "{text}"
    );
}

#[test]
fn a_killed_sweep_resumes_without_redoing_finished_runs() {
    let (_, reference) = e1_unsharded();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let mut child = sweep_e1(&out, &["--jobs", "2"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no clean-up) once a few runs have finished.
    let start = Instant::now();
    let finished = |out: &Path| -> usize {
        std::fs::read_dir(out.join("runs")).map_or(0, |d| {
            d.filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                !n.to_string_lossy().starts_with('.')
            })
            .count()
        })
    };
    while finished(&out) < 6 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Its child processes die with it: nothing more appears.
    std::thread::sleep(Duration::from_millis(1500));
    let before: BTreeMap<String, std::time::SystemTime> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let t = std::fs::metadata(p.join("summary.json"))
                .unwrap()
                .modified()
                .unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), t)
        })
        .collect();
    let total = records(reference).len();
    assert!(
        before.len() < total,
        "the kill came too late to test resuming"
    );
    let o = ok(sweep_e1(&out, &[]).output().unwrap());
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains(&format!(
            "{} of {total} runs already finished",
            before.len()
        )),
        "{log}"
    );
    for (hash, t) in &before {
        let now = std::fs::metadata(out.join("runs").join(hash).join("summary.json"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(&now, t, "run {hash} was redone");
    }
    let stray: Vec<_> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "partial runs left behind: {stray:?}");
    assert_eq!(records(&out), records(reference));
}

#[test]
fn only_this_machines_dead_partial_runs_are_cleared() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let host = featdiv::host::identity().unwrap();
    let ours = out.join("runs").join(format!(".partial-abc-{dead}@{host}"));
    let theirs = out
        .join("runs")
        .join(format!(".partial-abc-{dead}@elsewhere-0123456789ab"));
    // A node with the same host name but another machine id (a cluster whose nodes all answer
    // "localhost"): not this machine.
    let (name, _) = host.rsplit_once('-').unwrap();
    let namesake = out
        .join("runs")
        .join(format!(".partial-abc-{dead}@{name}-000000000000"));
    let alive = out
        .join("runs")
        .join(format!(".partial-abc-{}@{host}", std::process::id()));
    for d in [&ours, &theirs, &namesake, &alive] {
        std::fs::create_dir_all(d).unwrap();
    }
    // One run of E1 (shard 0 of 100): the sweep starts by clearing stale partial runs.
    ok(sweep_e1(&out, &["--shard", "0/100"]).output().unwrap());
    assert!(!ours.exists(), "a dead process of this machine: cleared");
    assert!(theirs.exists(), "another machine's run in progress: kept");
    assert!(
        namesake.exists(),
        "a namesake machine's run in progress: kept"
    );
    assert!(alive.exists(), "a live process of this machine: kept");
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
    assert!(
        !o.status.success() && err.contains("steps.jsonl line"),
        "{err}"
    );
    std::fs::write(&steps, good).unwrap();
    std::fs::write(run.join("summary.json"), "{").unwrap();
    let o = report("summary");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("summary.json"), "{err}");
    let plan = out.join("plan").join("e1-toy.json");
    std::fs::write(&plan, "[]").unwrap();
    let o = report("plan");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("e1-toy.json"), "{err}");
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

/// The Kubernetes manifest's own command, run for each completion index.
#[test]
fn the_kubernetes_indexed_job_shards_merge() {
    let (unsharded, _) = e1_unsharded();
    let yaml = std::fs::read_to_string(common::root().join("ci/k8s/sweep-job.yaml")).unwrap();
    let field = |key: &str| -> String {
        yaml.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{key} missing"))
            .trim()
            .trim_matches('"')
            .to_string()
    };
    assert_eq!(field("completionMode"), "Indexed");
    let completions: usize = field("completions").parse().unwrap();
    let lines: Vec<&str> = yaml.lines().collect();
    let shards_at = lines
        .iter()
        .position(|l| l.contains("name: SHARDS"))
        .unwrap();
    let shards = lines[shards_at + 1]
        .trim()
        .trim_start_matches("value:")
        .trim();
    assert_eq!(
        shards.trim_matches('"'),
        completions.to_string(),
        "SHARDS == completions"
    );
    let args_at = lines.iter().position(|l| l.trim() == "args:").unwrap();
    let script = lines[args_at + 1]
        .trim()
        .trim_start_matches("- ")
        .to_string();
    assert!(script.contains("$JOB_COMPLETION_INDEX/$SHARDS"), "{script}");

    let dir = TempDir::new().unwrap();
    let out = dir.path().join("results");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_featdiv"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for index in 0..completions {
        let o = Command::new("sh")
            .args(["-c", &script])
            .current_dir(common::root())
            .env("PATH", &path)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SHARDS", completions.to_string())
            .env("EXPERIMENT", E1)
            .env("PROFILE", "smoke")
            .env("RESULTS", &out)
            .output()
            .unwrap();
        ok(o);
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
}

/// The Slurm job array, submitted for real to a one-node cluster on loopback.
#[test]
fn the_slurm_job_array_shards_merge() {
    let (unsharded, _) = e1_unsharded();
    let root = common::root();
    let up = Command::new(root.join("ci/slurm/local-cluster"))
        .arg("start")
        .output()
        .unwrap();
    ok(up);
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("runs");
    let o = Command::new("sbatch")
        .args([
            "--wait",
            "--array=0-2",
            &format!("--output={}/slurm-%a.out", dir.path().display()),
            "ci/slurm/sweep.sbatch",
            E1,
            "smoke",
            s(&out),
        ])
        .current_dir(&root)
        .env("FEATDIV", env!("CARGO_BIN_EXE_featdiv"))
        .output()
        .unwrap();
    let logs: String = (0..3)
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("slurm-{i}.out"))).unwrap_or_default()
        })
        .collect();
    assert!(
        o.status.success(),
        "sbatch: {}\n{}\nlogs:\n{logs}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for i in 0..3 {
        assert!(logs.contains(&format!("shard {i}/3")), "{logs}");
    }
    assert_same_report(&out, &dir.path().join("report"), unsharded);
}

/// The claims table and per-layer metrics of the smoke run, floats rounded to 2 significant
/// digits: a change that moves a metric shows in review.
#[test]
fn snapshot_of_the_claims_table_and_metrics() {
    let (_, out, report) = smoke();
    let claims: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("claims.json")).unwrap())
            .unwrap();
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
            let f = r.result.as_ref().unwrap();
            serde_json::json!({
                "variant": r.planned.variant,
                "best_test_acc": common::sig(f.summary.best_test_acc, 2),
                "layers": f.summary.diversity_final.iter().map(|l| serde_json::json!({
                    "name": l.name,
                    "forward": common::sig(l.forward, 2),
                    "gap_abs": common::sig(l.gap_abs, 1),
                    "distinct": l.distinct_exact,
                    "width": common::sig(l.width_participation, 2),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    snapshot_json!("reproduce_smoke_e2_metrics", metrics);
}

/// Every number in a text to 2 significant digits.
fn round_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut num = String::new();
    let flush = |num: &mut String, out: &mut String| {
        if !num.is_empty() {
            match num.parse::<f64>() {
                Ok(x) if num.contains('.') || num.contains('e') => {
                    out.push_str(&format!("{}", common::sig(x, 2)))
                }
                _ => out.push_str(num),
            }
            num.clear();
        }
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let exp = (c == 'e' || c == '-')
            && !num.is_empty()
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == '-');
        let point =
            c == '.' && !num.is_empty() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || point || exp {
            num.push(c);
        } else {
            flush(&mut num, &mut out);
            out.push(c);
        }
    }
    flush(&mut num, &mut out);
    out
}
