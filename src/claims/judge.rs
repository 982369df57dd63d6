//! How a claim's row is put together: its preconditions, its measurements, and the decision the
//! criterion reached, so that "holds" and "refuted" are only ever said with every precondition
//! met and flawed evidence is never judged.
use super::{ClaimRow, Verdict};
use crate::experiment::ClaimId;
use serde::{Deserialize, Serialize};
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

/// The one number a verdict turns on, for summary tables (the README's results, `featdiv
/// table`): what it measures, its value, and either its one-sided bounds at the claim's
/// confidence (None where a bound is infinite) or the p-value of a test that has no interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub what: String,
    /// NaN (a rank correlation of constant accuracies) is written as null.
    #[serde(deserialize_with = "crate::files::nan_if_null")]
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub p: Option<f64>,
}

impl Estimate {
    /// A difference (or another value) with its one-sided bounds.
    pub fn bounded(what: impl Into<String>, i: &super::stats::Interval) -> Estimate {
        let finite = |x: f64| x.is_finite().then_some(x);
        Estimate {
            what: what.into(),
            value: i.diff,
            low: finite(i.lo),
            high: finite(i.hi),
            p: None,
        }
    }

    /// A statistic and the p-value of its test (a rank correlation by permutation).
    pub fn tested(what: impl Into<String>, value: f64, p: f64) -> Estimate {
        Estimate {
            what: what.into(),
            value,
            low: None,
            high: None,
            p: Some(p),
        }
    }

    /// A count or gap an exact check reads: no interval.
    pub fn exact(what: impl Into<String>, value: f64) -> Estimate {
        Estimate {
            what: what.into(),
            value,
            low: None,
            high: None,
            p: None,
        }
    }

    /// `what: value [low, high]` to three decimals (an infinite bound as ∞), `what: value (p P)`
    /// or `what: value`.
    pub fn text(&self) -> String {
        let bounds = match (self.low, self.high, self.p) {
            (None, None, None) => String::new(),
            (None, None, Some(p)) => format!(" (p {})", p_value(p)),
            (lo, hi, _) => {
                let bound = |x: f64| format!("{x:.3}").replace('-', "−");
                let (lo, hi) = (lo.map_or("−∞".into(), bound), hi.map_or("∞".into(), bound));
                return format!("{}: {} [{lo}, {hi}]", self.what, bound(self.value));
            }
        };
        format!("{}: {}{bounds}", self.what, number(self.value))
    }
}

/// Four decimals (a permutation test's smallest p, 1 / 2001, reads 0.0005), or two significant
/// digits below that.
fn p_value(p: f64) -> String {
    if p >= 1e-4 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}").replace('-', "−")
    }
}

/// Three decimals, or two significant digits under 0.01, an integer as itself; a true minus sign.
fn number(x: f64) -> String {
    let s = if x == x.trunc() && x.abs() < 1e9 {
        format!("{x:.0}")
    } else if x.abs() < 1e-2 {
        format!("{x:.1e}")
    } else {
        format!("{x:.3}")
    };
    s.replace('-', "−")
}

/// What the criterion says, once the preconditions are met.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Holds,
    /// Why it fails beyond seed noise.
    Refuted(String),
    /// Why the evidence cannot tell, and what would.
    Undecided(String),
}

/// A claim's row in the making.
pub struct Judgement {
    id: ClaimId,
    scale: String,
    criterion: String,
    rationale: String,
    checks: Vec<Check>,
    measured: Vec<String>,
    estimate: Option<Estimate>,
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
            estimate: None,
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

    /// The number the verdict turns on (the last one given stands).
    pub fn estimate(&mut self, e: Estimate) {
        self.estimate = Some(e);
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
                Decision::Undecided(why) => (Verdict::Undecided, Some(why)),
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
            claim: self.id.text().to_string(),
            criterion: self.criterion,
            rationale: self.rationale,
            verdict,
            reason,
            measured: self.measured.join("; "),
            estimate: self.estimate,
            preconditions: self.checks,
            scale: self.scale,
            runs: self.runs,
        }
    }
}

/// The row of a claim one of whose runs failed: undecided, naming the run's summary and error.
pub fn failed_run(id: ClaimId, file: &std::path::Path, error: &str, scale: &str) -> ClaimRow {
    let nothing_judged = Judgement::new(id, scale, String::new(), "");
    nothing_judged.flawed(Flaw::new(file, format!("the run failed: {error}")))
}

/// The row of a claim that could not be judged at all: no runs, or no criterion.
pub fn not_run(id: ClaimId, why: &str, scale: &str) -> ClaimRow {
    ClaimRow {
        id,
        claim: id.text().to_string(),
        criterion: String::new(),
        rationale: String::new(),
        verdict: Verdict::NotRun,
        reason: Some(why.to_string()),
        measured: String::new(),
        estimate: None,
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
