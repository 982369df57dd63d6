//! `featdiv report`: the runs of `reproduce` / `sweep` (any number of shards, merged by reading
//! the shared folder) -> claims table, SVG figures, environment, as `index.html` (self-contained)
//! and `report.md`.
mod exhibits;
pub mod figures;
mod layers;
mod render;

use crate::claims::{ClaimRow, claims_table};
use crate::runs::ExperimentRuns;
use anyhow::Result;
use figures::Chart;
use std::path::Path;

/// One figure: the claim it shows evidence for (None: more figures), file stem, the chart, and
/// a caption saying what to look for.
pub struct Figure {
    pub claim: Option<crate::experiment::ClaimId>,
    pub id: String,
    pub caption: String,
    pub chart: Chart,
}

pub struct Report {
    pub experiments: Vec<ExperimentRuns>,
    pub claims: Vec<ClaimRow>,
    pub figures: Vec<Figure>,
}

/// Reads the runs under `runs_dir` and builds the report (no files written).
pub fn build(runs_dir: &Path) -> Result<Report> {
    let experiments = crate::runs::load(runs_dir)?;
    let claims = claims_table(&experiments);
    let figures = exhibits::figures_of(&experiments);
    Ok(Report {
        experiments,
        claims,
        figures,
    })
}

/// Writes `index.html`, `report.md`, `claims.json` and `figures/*.svg` under `out`.
pub fn write(report: &Report, out: &Path) -> Result<()> {
    render::write(report, out)
}
