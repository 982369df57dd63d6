//! Reading what `reproduce` and `sweep` wrote (`records::OutDir`): the plans, and each planned
//! run's records, typed by `crate::records`.
use crate::environment::Environment;
use crate::experiment::{Plan, PlannedRun};
use crate::records::{
    DataInfo, Done, EvalLine, Line, OutDir, PerturbationLine, RunFiles, RunResult, StepLine,
    Summary,
};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A planned run and what its folder holds.
#[derive(Debug, Clone)]
pub struct Run {
    pub planned: PlannedRun,
    pub records: Records,
}

impl Run {
    /// The records of a finished run.
    pub fn finished(&self) -> Option<&Finished> {
        match &self.records {
            Records::Finished(f) => Some(f),
            _ => None,
        }
    }

    pub fn finished_mut(&mut self) -> Option<&mut Finished> {
        match &mut self.records {
            Records::Finished(f) => Some(f),
            _ => None,
        }
    }

    /// A run whose summary says it failed: the summary's path and the error it records.
    pub fn failure(&self) -> Option<(&Path, &str)> {
        match &self.records {
            Records::Failed(file, error) => Some((file, error)),
            _ => None,
        }
    }
}

/// What a run folder holds.
#[derive(Debug, Clone)]
pub enum Records {
    /// No summary yet.
    Pending,
    Finished(Box<Finished>),
    /// A summary that records a failure: its path and the error.
    Failed(PathBuf, String),
}

/// The records of a finished run.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The run's folder, for messages that name its files.
    pub dir: PathBuf,
    pub summary: Done,
    pub data: DataInfo,
    pub environment: Environment,
    pub steps: Vec<StepLine>,
    pub evals: Vec<EvalLine>,
    pub perturbations: Vec<PerturbationLine>,
}

/// An experiment's plan with its runs' records.
#[derive(Debug, Clone)]
pub struct ExperimentRuns {
    pub plan: Plan,
    pub runs: Vec<Run>,
}

impl ExperimentRuns {
    /// Finished runs of `group`.
    pub fn finished(&self, group: &str) -> Vec<(&PlannedRun, &Finished)> {
        self.finished_where(|p| p.group == group)
    }

    /// Finished runs of every group.
    pub fn all_finished(&self) -> Vec<(&PlannedRun, &Finished)> {
        self.finished_where(|_| true)
    }

    fn finished_where(&self, keep: impl Fn(&PlannedRun) -> bool) -> Vec<(&PlannedRun, &Finished)> {
        self.runs
            .iter()
            .filter(|r| keep(&r.planned))
            .filter_map(|r| r.finished().map(|f| (&r.planned, f)))
            .collect()
    }

    /// The report groups, in plan order.
    pub fn groups(&self) -> Vec<String> {
        self.distinct(|p| &p.group)
    }

    /// The variants, in plan order, each with its finished runs (one a seed).
    pub fn by_variant(&self) -> Vec<(String, Vec<(&PlannedRun, &Finished)>)> {
        let all = self.all_finished();
        self.distinct(|p| &p.variant)
            .into_iter()
            .map(|v| {
                let runs = all
                    .iter()
                    .filter(|(p, _)| p.variant == v)
                    .copied()
                    .collect();
                (v, runs)
            })
            .collect()
    }

    fn distinct(&self, key: impl Fn(&PlannedRun) -> &String) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.runs {
            if !out.contains(key(&r.planned)) {
                out.push(key(&r.planned).clone());
            }
        }
        out
    }
}

/// Every plan under `DIR/plan/` with the records of its runs under `DIR/runs/`.
pub fn load(dir: &Path) -> Result<Vec<ExperimentRuns>> {
    let out = OutDir(dir);
    let plan_dir = out.plans();
    if !plan_dir.is_dir() {
        bail!(
            "no plan folder {}: is {} the --out of a featdiv reproduce or sweep?",
            plan_dir.display(),
            dir.display()
        );
    }
    let paths = crate::files::files_with_extension(&plan_dir, "json")?;
    if paths.is_empty() {
        bail!("no plan (*.json) in {}", plan_dir.display());
    }
    paths.iter().map(|p| load_plan(&out, p)).collect()
}

fn load_plan(out: &OutDir, path: &Path) -> Result<ExperimentRuns> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text).with_context(|| {
        // A plan freezes the criteria it was made with; one from an older featdiv lacks keys
        // added since, and re-planning costs nothing: finished runs are kept by hash.
        format!(
            "{} is not a featdiv plan of this version (one made by an older featdiv: run `featdiv \
             reproduce` again with the same --out to re-plan; finished runs are skipped)",
            path.display()
        )
    })?;
    let runs = plan
        .runs
        .iter()
        .map(|r| {
            Ok(Run {
                planned: r.clone(),
                records: load_run(&out.run(&r.hash))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(ExperimentRuns { plan, runs })
}

/// The records of the run folder `dir`. Unreadable or corrupt files are errors naming the file
/// (and the line of steps.jsonl).
pub fn load_run(dir: &Path) -> Result<Records> {
    let files = RunFiles(dir);
    let summary_path = files.summary();
    if !summary_path.exists() {
        return Ok(Records::Pending);
    }
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let summary: Summary = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a run's summary{}",
            summary_path.display(),
            retrain_hint(dir)
        )
    })?;
    let done = match summary.result {
        RunResult::Done(d) => d,
        RunResult::Failed { error } => return Ok(Records::Failed(summary_path, error)),
    };
    let mut f = Finished {
        dir: dir.to_path_buf(),
        summary: done,
        data: summary.data,
        environment: summary.environment,
        steps: Vec::new(),
        evals: Vec::new(),
        perturbations: Vec::new(),
    };
    let steps_path = files.steps();
    let text = std::fs::read_to_string(&steps_path)
        .with_context(|| format!("cannot read {}", steps_path.display()))?;
    for (i, line) in text.lines().enumerate() {
        let line: Line = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}{}",
                steps_path.display(),
                i + 1,
                retrain_hint(dir)
            )
        })?;
        match line {
            Line::Step(s) => f.steps.push(s),
            Line::Eval(e) => f.evals.push(e),
            Line::Perturbation(p) => f.perturbations.push(p),
        }
    }
    Ok(Records::Finished(Box::new(f)))
}

/// What to do about a corrupt file of a finished run. A sweep renames a run's folder into place
/// only once every record is written, so the damage came later, and only training it again
/// repairs it: a folder without a summary is trained by the next reproduce or sweep.
fn retrain_hint(dir: &Path) -> String {
    format!(
        " (written whole when the run finished, so changed since: remove {} and run the same \
         reproduce or sweep again to train it anew)",
        dir.display()
    )
}
