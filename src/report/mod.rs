//! `featdiv report`: the runs of `reproduce` / `sweep` (any number of shards, merged by reading
//! the shared folder) -> claims table, SVG figures, environment, as `index.html` (self-contained)
//! and `report.md`.
mod figures;
mod layers;
pub mod provenance;
mod render;
pub mod svg;
pub mod table;

pub use render::stage_line;

use crate::calibration::Calibration;
use crate::claims::{ClaimRow, claims_table};
use crate::experiment::registration::{self, Registration};
use crate::experiment::{ExperimentStage, Stage};
use crate::runs::ExperimentRuns;
use anyhow::Result;
use std::path::Path;
use svg::Chart;

/// One figure: the claim it shows evidence for (None: more figures), file stem, the chart, and
/// a caption saying what to look for.
pub struct Figure {
    pub claim: Option<crate::experiment::ClaimId>,
    pub id: String,
    pub caption: String,
    pub chart: Chart,
}

pub struct Report {
    /// The sweep's folder the report was built from (`--runs`).
    pub runs_dir: std::path::PathBuf,
    pub experiments: Vec<ExperimentRuns>,
    pub claims: Vec<ClaimRow>,
    /// How fast breakers part the channels, per group of each experiment with `[growth]`.
    pub growth: Vec<crate::claims::growth::GrowthFit>,
    pub figures: Vec<Figure>,
    /// Each experiment's stage, in plan order, and the folder's: confirmatory only if every
    /// experiment's is.
    pub stages: Vec<ExperimentStage>,
    pub stage: Stage,
    /// Each verdict's size and power by simulation (`featdiv calibrate`), where the current
    /// directory has `docs/calibration.json`.
    pub calibration: Option<Calibration>,
    /// Where and how the runs were made, from their records.
    pub provenance: provenance::RunsProvenance,
}

/// Where `featdiv calibrate` writes by default and the report looks.
pub const CALIBRATION: &str = "docs/calibration.json";

/// Reads the runs under `runs_dir` and builds the report (no files written). Stages are judged
/// by `configs/registration.toml` of the current directory where there is one, else by what
/// each plan recorded (`experiment::stage`).
pub fn build(runs_dir: &Path) -> Result<Report> {
    let experiments = crate::runs::load(runs_dir)?;
    let claims = claims_table(&experiments);
    let growth = crate::claims::growth::growth_fits(&experiments);
    let figures = figures::figures_of(&experiments, &growth);
    let registration = Registration::load_if_exists(Path::new(registration::DEFAULT_PATH))?;
    let calibration = Path::new(CALIBRATION)
        .is_file()
        .then(|| Calibration::read(Path::new(CALIBRATION)))
        .transpose()?;
    let stages: Vec<ExperimentStage> = experiments
        .iter()
        .map(|e| ExperimentStage::of(&e.plan, registration.as_ref()))
        .collect();
    Ok(Report {
        provenance: provenance::of(&experiments),
        runs_dir: runs_dir.to_path_buf(),
        experiments,
        claims,
        growth,
        figures,
        stage: Stage::of_all(stages.iter().map(|s| s.stage)),
        stages,
        calibration,
    })
}

/// Writes `index.html`, `report.md`, `claims.json` and `figures/*.svg` under `out`, and a
/// screenshot of the page's first screen (`overview.png`) where a headless Chromium is at hand.
/// Returns what became of the screenshot, in words.
pub fn write(report: &Report, out: &Path) -> Result<String> {
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    render::write(report, &report.runs_dir, out)?;
    screenshot(out)
}

/// The Chromium this machine has, if any.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// `out/overview.png`: the first 1280 x 900 pixels of the page, for reviewing a change at a glance.
fn screenshot(out: &Path) -> Result<String> {
    let Some(browser) = chromium() else {
        return Ok("overview.png not written: no Chromium here (apt-get install chromium)".into());
    };
    let page = out.join("index.html").canonicalize()?;
    let png = out.join("overview.png");
    let profile = std::env::temp_dir().join(format!("featdiv-chromium-{}", std::process::id()));
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args([
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
        ])
        .arg("--host-resolver-rules=MAP * ~NOTFOUND")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--window-size=1280,900", "--virtual-time-budget=3000"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    // The profile is scratch: a failure to remove it loses nothing.
    let _ = std::fs::remove_dir_all(&profile);
    Ok(match status {
        Ok(s) if s.success() && png.is_file() => format!("{}", png.display()),
        Ok(s) => format!("overview.png not written: {browser} exited with {s}"),
        Err(e) => format!("overview.png not written: cannot run {browser}: {e}"),
    })
}
