//! Helpers of the reproduce/sweep/report tests: the featdiv binary on the shipped experiment
//! files, E1's smoke sweep, and comparisons of records and reports.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use tempfile::TempDir;

pub const E1: &str = "configs/experiments/e1-toy.toml";

pub fn featdiv_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_featdiv"));
    c.args(args).current_dir(super::root());
    c
}

/// `featdiv sweep` of E1's smoke profile into `out`.
pub fn sweep_e1(out: &Path, extra: &[&str]) -> Command {
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

pub fn featdiv(args: &[&str]) -> Output {
    featdiv_cmd(args).output().expect("featdiv runs")
}

pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "featdiv failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every finished run's records: hash -> (steps.jsonl, summary.json without its wall time).
pub fn records(out: &Path) -> BTreeMap<String, (String, serde_json::Value)> {
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
        let fields = summary.as_object_mut().unwrap();
        // Wall times vary from run to run; everything else must not.
        fields.remove("wall_time_s");
        fields.remove("timings");
        map.insert(name, (steps, summary));
    }
    map
}

pub fn report_files(dir: &Path) -> (String, String, String) {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let mut claims: serde_json::Value = serde_json::from_str(&read("claims.json")).unwrap();
    // The runs' summed wall time varies from sweep to sweep; everything else must not.
    let provenance = claims["provenance"].as_object_mut().unwrap();
    assert!(provenance.remove("run_hours").is_some());
    (read("report.md"), claims.to_string(), read("index.html"))
}

/// `featdiv report` on merged shards gives the unsharded sweep's report, byte for byte.
pub fn assert_same_report(runs: &Path, report: &Path, unsharded: &TempDir) {
    ok(featdiv(&["report", "--runs", s(runs), "--out", s(report)]));
    assert_eq!(
        report_files(report),
        report_files(&unsharded.path().join("report"))
    );
}

/// E1's smoke runs in one unsharded, in-process sweep, and its report.
pub fn e1_unsharded() -> &'static (TempDir, PathBuf) {
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
