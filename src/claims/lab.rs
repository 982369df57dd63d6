//! Synthetic record sets: an experiment's runs built in memory from a story of how each went,
//! for the verdicts' own tests (evidence that holds, and contradictions planted into a copy) and
//! for their calibration by simulation (`crate::calibration`: records drawn from a known truth).
use crate::environment::{Determinism, Environment};
use crate::experiment::{Criteria, Plan, PlannedRun, ProfileName};
use crate::metrics::{LayerDiversity, Reach};
use crate::records::{DataInfo, Done, EvalLine, PerturbationLine, StepLine};
use crate::runs::{ExperimentRuns, Finished, Records, Run};

/// The criteria a shipped experiment file declares.
#[cfg(test)]
pub fn shipped_criteria(file: &str) -> Criteria {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/experiments")
        .join(file);
    crate::experiment::Experiment::from_file(&path)
        .expect("a shipped experiment")
        .claims
}

/// A feature layer with `channels` features: gap, distinct features and width as given.
pub fn layer(name: &str, gap: f64, distinct: usize, width: f64) -> LayerDiversity {
    LayerDiversity {
        name: name.into(),
        shape: vec![16, 16, 3, 3],
        forward: 0.1,
        backward: 0.1,
        all: None,
        neg_log_forward: 2.3,
        gap_abs: gap,
        gap_ulps: if gap == 0.0 { 0 } else { 1_000 },
        distinct_exact: distinct,
        distinct_tol: distinct,
        width_participation: width,
        width_rho: width,
    }
}

/// How a synthetic run went.
#[derive(Debug, Clone)]
pub struct Story {
    /// Test accuracy after each epoch; the last is the final accuracy.
    pub curve: Vec<f64>,
    /// The largest gap at steps 0, 1, 2, 4, ... (one a logged step).
    pub gaps: Vec<f64>,
    /// Features identical at init (one distinct channel a layer) or not.
    pub identical_at_init: bool,
    /// Effective width at init and after each epoch (every layer alike).
    pub widths: Vec<f64>,
    /// Reach of a perturbation at init, to the last layer.
    pub reach: f64,
}

impl Story {
    /// A run that learned to `acc` (levelled off over its last epochs), with gaps `gaps`.
    pub fn learned(acc: f64, gaps: &[f64]) -> Story {
        Story {
            curve: vec![acc - 0.2, acc - 0.05, acc - 0.001, acc],
            gaps: gaps.to_vec(),
            identical_at_init: false,
            widths: vec![20.0, 20.0, 20.0, 20.0, 20.0],
            reach: 0.05,
        }
    }
}

fn environment() -> Environment {
    Environment {
        featdiv_version: "test".into(),
        git_commit: "test".into(),
        seed: 0,
        threads: 1,
        device: "cpu".into(),
        libtorch_version: "2.11.0".into(),
        libtorch_path: String::new(),
        cuda_available: false,
        determinism: Determinism {
            cpu_bitwise_at_fixed_threads: true,
            in_force: crate::determinism::state(),
            cublas_workspace_config: None,
        },
        hostname: "lab".into(),
        cpu: None,
        precision: None,
    }
}

/// The records of a run that went as `s` tells.
pub fn finished(s: &Story) -> Finished {
    let steps_per_epoch = 10;
    let width = |i: usize| s.widths[i.min(s.widths.len() - 1)];
    let layers = |gap: f64, w: f64| {
        vec![
            layer("stem", gap, 1, w),
            layer("group1.block0.conv", gap, 1, w),
        ]
    };
    let steps = s
        .gaps
        .iter()
        .enumerate()
        .map(|(i, &g)| StepLine {
            step: if i == 0 { 0 } else { 1 << (i - 1) },
            epoch: 0.0,
            loss: if i == 0 { 10f64.ln() } else { 1.0 },
            lr: 0.03,
            layers: layers(g, width(0)),
        })
        .collect();
    let evals: Vec<EvalLine> = s
        .curve
        .iter()
        .enumerate()
        .map(|(i, &a)| EvalLine {
            step: (i + 1) * steps_per_epoch,
            epoch: (i + 1) as f64,
            test_acc: a,
            loss: 1.0,
            lr: 0.03,
            layers: layers(s.gaps.last().copied().unwrap_or(0.0), width(i + 1)),
        })
        .collect();
    let mut init = layers(0.0, width(0));
    if !s.identical_at_init {
        init.iter_mut().for_each(|l| l.distinct_exact = 16);
    }
    let last = s.gaps.last().copied().unwrap_or(0.0);
    Finished {
        dir: "runs/lab".into(),
        summary: Done {
            final_test_acc: *s.curve.last().unwrap_or(&f64::NAN),
            best_test_acc: s.curve.iter().copied().fold(f64::NAN, f64::max),
            best_step: 0,
            accuracy_note: String::new(),
            steps: s.curve.len() * steps_per_epoch,
            final_loss: 1.0,
            wall_time_s: 1.0,
            diversity_init: init,
            diversity_final: layers(last, width(s.curve.len())),
            timings: None,
        },
        data: DataInfo {
            name: "fashion-mnist".into(),
            train: 60_000,
            test: 10_000,
            test_split: "t10k files".into(),
            steps_per_epoch,
            classes: Some(10),
        },
        environment: environment(),
        steps,
        evals,
        perturbations: vec![PerturbationLine {
            step: 0,
            epoch: 0.0,
            at: 0,
            eps: 1e-3,
            reach: vec![Reach {
                layer: "last".into(),
                deviation: s.reach * 1e-3,
                ratio: s.reach,
            }],
        }],
    }
}

/// An experiment's runs, built one group at a time.
pub struct Lab {
    pub e: ExperimentRuns,
    base: String,
}

impl Lab {
    /// An experiment `name` judging its claims by `criteria`, runs built on config `base`.
    pub fn new(name: &str, criteria: Criteria, base: &str) -> Lab {
        let plan = Plan {
            experiment: name.into(),
            title: name.into(),
            claims: criteria.ids(),
            criteria,
            growth: None,
            analysis_of: Vec::new(),
            profile: ProfileName::Smoke,
            scale: "lab".into(),
            device: crate::config::DeviceSpec::Cpu,
            runs: Vec::new(),
            skipped: Vec::new(),
            provenance: Default::default(),
        };
        Lab {
            e: ExperimentRuns {
                plan,
                runs: Vec::new(),
            },
            base: base.into(),
        }
    }

    /// One run a story, seeds 0, 1, ..., in `group` (variant `variant`, at `x`).
    pub fn group(
        mut self,
        group: &str,
        variant: &str,
        x: Option<f64>,
        sets: &[&str],
        stories: &[Story],
    ) -> Lab {
        for (seed, s) in stories.iter().enumerate() {
            let planned = PlannedRun {
                experiment: self.e.plan.experiment.clone(),
                variant: variant.into(),
                group: group.into(),
                x,
                seed: seed as u64,
                hash: format!("{variant}-{seed}"),
                base: self.base.clone(),
                overrides: sets.iter().map(|s| s.to_string()).collect(),
            };
            self.e.plan.runs.push(planned.clone());
            // Seeds of one group differ in what they record (as runs on shuffled data do), so
            // that each is a replicate, even where the story gives them one accuracy.
            let mut f = finished(s);
            f.summary.final_loss += seed as f64 * 1e-3;
            let widths = f.summary.diversity_final.iter_mut();
            widths.for_each(|l| l.width_participation *= 1.0 + 0.01 * seed as f64);
            self.e.runs.push(Run {
                planned,
                records: Records::Finished(Box::new(f)),
            });
        }
        self
    }

    /// The finished runs of `group`, to plant a contradiction into.
    pub fn runs_mut<'a>(e: &'a mut ExperimentRuns, group: &str) -> Vec<&'a mut Finished> {
        e.runs
            .iter_mut()
            .filter(|r| r.planned.group == group)
            .filter_map(|r| r.finished_mut())
            .collect()
    }
}

/// The toy model's base config, for the runs' `config()`.
pub const MLP: &str = "[data]\nsource = \"synthetic\"\n[model]\narch = \"mlp\"\n";
/// The Wide-ResNet's.
pub const WRN: &str = "[data]\nsource = \"synthetic\"\n[model]\narch = \"wrn\"\ndepth = 10\n";
/// LeakyNet's.
pub const LEAKY: &str =
    "[data]\nsource = \"synthetic\"\n[model]\narch = \"leakynet\"\ndepth = 16\n";

#[cfg(test)]
/// The proptest config of the verdicts' properties: `cases` scaled by FEATDIV_PROPTEST_SCALE
/// (as the test suite's), drawn from PROPTEST_RNG_SEED where set, failures kept in
/// proptest-regressions/claims.txt.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let scale = std::env::var("FEATDIV_PROPTEST_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    proptest::test_runner::Config {
        cases: cases * scale,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "proptest-regressions/claims.txt",
            ),
        )),
        ..proptest::test_runner::Config::default()
    }
}
