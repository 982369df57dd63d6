//! How a claim's row is put together: its preconditions, its measurements, and the decision the
//! criterion reached, so that "holds" and "refuted" are only ever said with every precondition
//! met and flawed evidence is never judged.
use super::{ClaimRow, Verdict, claim_text};
use crate::experiment::ClaimId;
use serde::Serialize;
use std::path::PathBuf;

/// Something wrong with the records a claim reads: the file, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Flaw {
    pub file: PathBuf,
    pub what: String,
}

impl Flaw {
    pub fn new(file: impl Into<PathBuf>, what: impl Into<String>) -> Flaw {
        Flaw {
            file: file.into(),
            what: what.into(),
        }
    }
}

/// A precondition of a claim: what it asks, whether the evidence meets it, and the number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub what: String,
    pub met: bool,
    pub value: String,
    /// What budget or set-up would meet it, if it is not met.
    pub remedy: String,
}

/// What the criterion says, once the preconditions are met.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Holds,
    /// Why it fails beyond seed noise.
    Refuted(String),
    /// Why the evidence cannot tell, and what would.
    Inconclusive(String),
}

/// A claim's row in the making.
pub struct Judgement {
    id: ClaimId,
    scale: String,
    criterion: String,
    rationale: String,
    checks: Vec<Check>,
    measured: Vec<String>,
    runs: Vec<String>,
}

impl Judgement {
    pub fn new(id: ClaimId, scale: &str, criterion: String, rationale: &str) -> Judgement {
        Judgement {
            id,
            scale: scale.to_string(),
            criterion,
            rationale: rationale.to_string(),
            checks: Vec::new(),
            measured: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Records a precondition; returns whether it is met.
    pub fn require(&mut self, what: &str, met: bool, value: String, remedy: &str) -> bool {
        self.checks.push(Check {
            what: what.to_string(),
            met,
            value,
            remedy: remedy.to_string(),
        });
        met
    }

    /// Records that at least one breaker was judged, naming the ones that were.
    pub fn require_breakers(&mut self, judged: &[&str]) -> bool {
        let value = if judged.is_empty() {
            "none".to_string()
        } else {
            judged.join(", ")
        };
        self.require(
            "at least one breaker",
            !judged.is_empty(),
            value,
            "add breaker variants",
        )
    }

    /// Adds a measurement to the row's text.
    pub fn measure(&mut self, text: impl Into<String>) {
        self.measured.push(text.into());
    }

    /// The runs (hashes) the verdict rests on.
    pub fn runs(&mut self, hashes: impl IntoIterator<Item = String>) {
        self.runs.extend(hashes);
    }

    /// The row: undecided if a precondition is unmet, else what the criterion decided.
    pub fn decide(self, decision: Decision) -> ClaimRow {
        let unmet: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.met)
            .map(|c| format!("{} ({}); {}", c.what, c.value, c.remedy))
            .collect();
        let (verdict, reason) = if !unmet.is_empty() {
            (
                Verdict::Undecided,
                Some(format!("precondition not met: {}", unmet.join("; "))),
            )
        } else {
            match decision {
                Decision::Holds => (Verdict::Holds, None),
                Decision::Refuted(why) => (Verdict::Refuted, Some(why)),
                Decision::Inconclusive(why) => (Verdict::Undecided, Some(why)),
            }
        };
        self.row(verdict, reason)
    }

    /// The row of a claim whose records are flawed: undecided, naming the file.
    pub fn flawed(self, flaw: Flaw) -> ClaimRow {
        let why = format!(
            "the evidence is flawed: {}: {}",
            flaw.file.display(),
            flaw.what
        );
        self.row(Verdict::Undecided, Some(why))
    }

    fn row(self, verdict: Verdict, reason: Option<String>) -> ClaimRow {
        ClaimRow {
            id: self.id,
            claim: claim_text(self.id).to_string(),
            criterion: self.criterion,
            rationale: self.rationale,
            verdict,
            reason,
            measured: self.measured.join("; "),
            preconditions: self.checks,
            scale: self.scale,
            runs: self.runs,
        }
    }
}

/// The row of a claim that could not be judged at all: no runs, or no criterion.
pub fn not_run(id: ClaimId, why: &str, scale: &str) -> ClaimRow {
    ClaimRow {
        id,
        claim: claim_text(id).to_string(),
        criterion: String::new(),
        rationale: String::new(),
        verdict: Verdict::NotRun,
        reason: Some(why.to_string()),
        measured: String::new(),
        preconditions: Vec::new(),
        scale: scale.to_string(),
        runs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_precondition_names_the_breakers_judged() {
        let mut j = Judgement::new(ClaimId::K5, "scale", "criterion".into(), "rationale");
        assert!(j.require_breakers(&["dropout", "grad-noise"]));
        assert!(!j.require_breakers(&[]));
        let values: Vec<(&str, bool)> =
            j.checks.iter().map(|c| (c.value.as_str(), c.met)).collect();
        assert_eq!(values, [("dropout, grad-noise", true), ("none", false)]);
    }
}
