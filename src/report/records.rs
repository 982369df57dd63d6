//! Reading what `reproduce` and `sweep` wrote: the plans, and each planned run's records.
use crate::experiment::{Plan, PlannedRun};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The per-layer numbers the report draws (a subset of `metrics::LayerDiversity`).
#[derive(Debug, Clone, Deserialize)]
pub struct Layer {
    pub name: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub forward: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub backward: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub gap_abs: f64,
    pub gap_ulps: u64,
    pub distinct_exact: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub width_participation: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StepLine {
    pub step: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EvalLine {
    pub step: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub epoch: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub test_acc: f64,
    #[serde(default)]
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reach {
    pub layer: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub ratio: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PerturbationLine {
    pub step: usize,
    pub reach: Vec<Reach>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    #[serde(deserialize_with = "nan_if_null")]
    pub final_test_acc: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub best_test_acc: f64,
    pub steps: usize,
    pub diversity_init: Vec<Layer>,
    pub diversity_final: Vec<Layer>,
    pub environment: Value,
    pub data: Value,
}

/// A planned run and, if it has finished, its records.
#[derive(Debug, Clone)]
pub struct Run {
    pub planned: PlannedRun,
    pub result: Option<Finished>,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub summary: Summary,
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
    /// Finished runs of `group` (all groups if empty).
    pub fn finished(&self, group: &str) -> Vec<(&PlannedRun, &Finished)> {
        self.runs
            .iter()
            .filter(|r| group.is_empty() || r.planned.group == group)
            .filter_map(|r| r.result.as_ref().map(|f| (&r.planned, f)))
            .collect()
    }

    /// The report groups, in plan order.
    pub fn groups(&self) -> Vec<String> {
        self.distinct(|p| &p.group)
    }

    /// The variants, in plan order, each with its finished runs (one a seed).
    pub fn by_variant(&self) -> Vec<(String, Vec<(&PlannedRun, &Finished)>)> {
        let all = self.finished("");
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
    let plan_dir = dir.join("plan");
    let mut paths: Vec<_> = std::fs::read_dir(&plan_dir)
        .with_context(|| {
            format!(
                "no plan folder {}: is {} the --out of a featdiv reproduce or sweep?",
                plan_dir.display(),
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no plan (*.json) in {}", plan_dir.display());
    }
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let plan: Plan = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a featdiv plan", p.display()))?;
            let runs = plan
                .runs
                .iter()
                .map(|r| {
                    Ok(Run {
                        planned: r.clone(),
                        result: load_run(&crate::sweep::run_dir(dir, &r.hash))?,
                    })
                })
                .collect::<Result<_>>()?;
            Ok(ExperimentRuns { plan, runs })
        })
        .collect()
}

fn load_run(dir: &Path) -> Result<Option<Finished>> {
    let summary_path = dir.join("summary.json");
    if !summary_path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let summary: Summary = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a finished run's summary", summary_path.display()))?;
    let steps_path = dir.join("steps.jsonl");
    let text = std::fs::read_to_string(&steps_path)
        .with_context(|| format!("cannot read {}", steps_path.display()))?;
    let mut f = Finished {
        summary,
        steps: Vec::new(),
        evals: Vec::new(),
        perturbations: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{} line {}", steps_path.display(), i + 1);
        let v: Value = serde_json::from_str(line).with_context(at)?;
        match v["kind"].as_str() {
            Some("step") => f.steps.push(serde_json::from_value(v).with_context(at)?),
            Some("eval") => f.evals.push(serde_json::from_value(v).with_context(at)?),
            Some("perturbation") => f
                .perturbations
                .push(serde_json::from_value(v).with_context(at)?),
            _ => bail!("{}: unknown record kind", at()),
        }
    }
    Ok(Some(f))
}

/// serde_json writes a non-finite float as null: read it back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}
