//! The paper's claims K1-K9 (and K4-cpu, K4's CPU stand-in), each judged by its criterion's
//! `Judge` from the runs of the experiments that measure it to a `ClaimRow`, by the criterion
//! the experiment file declared (`[claims.Kn]`), against a baseline trained in the same
//! experiment. Each criterion is a stated test (docs/judging.md): its hypotheses, its level,
//! its unit of replication and its multiplicity control are in its judge's doc comment. Four
//! verdicts: holds and refuted only with every precondition met and the test rejecting at its
//! level; undecided (saying what is missing and what would decide) otherwise; not run without
//! runs or criterion. The report only renders the rows. Throughout the judges, `j` is the
//! claim's `Judgement`, `e` the runs of its experiment, `c` its criterion (`self` in a
//! `Criterion`), `w` the criterion's `Weighing`, and in a loop over runs `p` a planned run and
//! `f` its finished records.
pub mod constnet;
pub mod evidence;
pub mod growth;
pub mod judge;
pub mod leakynet;
pub mod pace;
pub mod rng;
pub mod stats;
pub mod toy;
pub mod width;

pub mod lab;
#[cfg(test)]
mod tests;

use crate::experiment::{ClaimId, Rationale};
use crate::runs::ExperimentRuns;
use evidence::Evidence;
use judge::{Check, Decision, Judgement, not_run};
use serde::Serialize;

/// A claim's verdict at the scale it was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Every precondition met, and the criterion holds beyond seed noise.
    Holds,
    /// Every precondition met, and the criterion fails beyond seed noise.
    Refuted,
    /// The runs cannot tell: a precondition unmet, flawed evidence, or an interval that
    /// straddles the threshold. The row says which, and what would decide.
    Undecided,
    /// No runs of the experiment, or no criterion declared for the claim.
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Refuted => "refuted",
            Verdict::Undecided => "undecided",
            Verdict::NotRun => "not run",
        })
    }
}

/// One claim's row: the paper's words, the criterion, the verdict and why, and the numbers.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub id: ClaimId,
    pub claim: String,
    /// The criterion in words, with its thresholds.
    pub criterion: String,
    /// The experiment file's reason for it.
    pub rationale: String,
    pub verdict: Verdict,
    /// For undecided and not run: what is missing and what would decide; for refuted: why.
    pub reason: Option<String>,
    pub measured: String,
    /// The one number the verdict turns on, with its bounds, where the judge reached it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<judge::Estimate>,
    pub preconditions: Vec<Check>,
    pub scale: String,
    /// The runs (hashes) the verdict rests on.
    pub runs: Vec<String>,
}

/// The runs a claim is judged on: the experiment that declares its criterion, with every run
/// finished, and the experiment whose runs it reads (itself, or the one it analyses).
pub struct Source<'a> {
    pub declared: &'a ExperimentRuns,
    pub measured: &'a ExperimentRuns,
}

/// The experiments that measure `id`, finished or not (the report's figures draw what there
/// is), or the not-run row saying why there are none.
pub fn measured_by<'a>(
    exps: &'a [ExperimentRuns],
    id: ClaimId,
) -> Result<Source<'a>, Box<ClaimRow>> {
    let declared = exps
        .iter()
        .find(|e| e.plan.claims.contains(&id))
        .ok_or_else(|| {
            Box::new(not_run(
                id,
                &format!("no experiment in these runs declares a criterion for {id}"),
                "",
            ))
        })?;
    let measured = match declared.plan.analysis_of.first() {
        None => declared,
        Some(name) => exps
            .iter()
            .find(|e| &e.plan.experiment == name)
            .ok_or_else(|| {
                not_run(
                    id,
                    &format!(
                        "{} analyses {name}, which is not in these runs",
                        declared.plan.experiment
                    ),
                    &declared.plan.scale,
                )
            })?,
    };
    Ok(Source { declared, measured })
}

/// Where `id` is judged, or the row saying why it cannot be: not run (no experiment declares it,
/// or runs are missing) or undecided (a run failed).
pub fn source<'a>(exps: &'a [ExperimentRuns], id: ClaimId) -> Result<Source<'a>, Box<ClaimRow>> {
    let source = measured_by(exps, id)?;
    let e = source.measured;
    let scale = &e.plan.scale;
    if let Some((file, error)) = e.runs.iter().find_map(|r| r.failure()) {
        return Err(Box::new(judge::failed_run(id, file, error, scale)));
    }
    let done = e.runs.iter().filter(|r| r.finished().is_some()).count();
    if e.runs.is_empty() || done < e.runs.len() {
        let why = format!(
            "{}: {done} of {} runs finished (run reproduce or the missing sweep shards)",
            e.plan.experiment,
            e.runs.len()
        );
        return Err(Box::new(not_run(id, &why, scale)));
    }
    Ok(source)
}

/// All claims K1..K9, in order.
pub fn claims_table(exps: &[ExperimentRuns]) -> Vec<ClaimRow> {
    ClaimId::ALL
        .into_iter()
        .map(|id| match source(exps, id) {
            Err(row) => *row,
            Ok(s) => judge_claim(id, &s, exps),
        })
        .collect()
}

/// A claim's judge: its row from the runs of the experiment that measures it (`all`: every
/// experiment of the runs folder), by this criterion. Every `Criterion` has it; K4's criterion
/// implements it itself.
pub trait Judge {
    fn judge(&self, id: ClaimId, e: &ExperimentRuns, all: &[ExperimentRuns]) -> ClaimRow;
}

/// A criterion judged from the runs of its own experiment alone: its statement in words and
/// its decision, which `Judge` turns into the claim's row. Every criterion type is one but
/// K4's, which judges two claims and reads the other experiments' runs.
pub trait Criterion: Rationale {
    /// The criterion in words, with its thresholds.
    fn statement(&self) -> String;
    /// The decision on the runs `e`, recording into `j` what it checked and measured; a flaw
    /// in the records makes the claim undecided.
    fn decision(&self, j: &mut Judgement, e: &ExperimentRuns) -> Evidence<Decision>;
}

impl<C: Criterion> Judge for C {
    fn judge(&self, id: ClaimId, e: &ExperimentRuns, _: &[ExperimentRuns]) -> ClaimRow {
        let j = Judgement::new(id, &e.plan.scale, self.statement(), self.rationale());
        judged(j, |j| self.decision(j, e))
    }
}

/// `judge_claim`, from the claims' table (`experiment/claim_table.rs`).
macro_rules! define_judge_claim {
    ($($(#[$doc:meta])* $id:ident $name:literal $field:ident
        => $words:literal, $text:literal $(, $criterion:tt)?;)*) => {
        fn judge_claim(id: ClaimId, s: &Source, all: &[ExperimentRuns]) -> ClaimRow {
            let criteria = &s.declared.plan.criteria;
            let declared = match id {
                $(ClaimId::$id => criteria.$field.as_ref().map(|c| c as &dyn Judge),)*
            };
            match declared {
                Some(criterion) => criterion.judge(id, s.measured, all),
                None => not_run(
                    id,
                    "the experiment declares no criterion for it",
                    &s.measured.plan.scale,
                ),
            }
        }
    };
}

crate::claim_table!(define_judge_claim);

/// Mean ± std of a point's accuracies, as text.
pub fn acc_text(p: &stats::Point) -> String {
    format!("{:.3}±{:.3}", p.mean, p.std)
}

/// The row of a claim judged by `judge`: its decision, or undecided on the first flaw it met.
pub fn judged(
    mut j: Judgement,
    judge: impl FnOnce(&mut Judgement) -> Evidence<Decision>,
) -> ClaimRow {
    match judge(&mut j) {
        Ok(decision) => j.decide(decision),
        Err(flaw) => j.flawed(flaw),
    }
}
