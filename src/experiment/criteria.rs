//! The criteria a claim is judged by, declared in the experiment file under `[claims.Kn]` before
//! any run: every threshold, which accuracy, how many seeds, what confidence, and a one-line
//! rationale. Parsed and range-checked like any config key; printed beside the verdict.
use super::claim_table::define_claims;
use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use std::fmt;

crate::claim_table!(define_claims);

/// What every criterion type holds beside its keys.
pub trait Rationale {
    /// Why the criterion's thresholds are what they are, in one line.
    fn rationale(&self) -> &str;
}

/// Which accuracy of a run a claim compares: after the last step, or the best end-of-epoch
/// evaluation (what the authors reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accuracy {
    Best,
    Final,
}

/// How a claim weighs its runs: the accuracy it reads, the one-sided confidence of its tests
/// (1 - alpha, at least 0.9), the seeds it needs, and when a curve counts as levelled off:
/// `learned` above chance (the baseline), and rising at most `plateau` per epoch beyond seed
/// noise (the baseline over the last quarter of its high-rate evaluations, a compared group over
/// the last quarter of its run).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighing {
    pub accuracy: Accuracy,
    pub confidence: f64,
    pub min_seeds: usize,
    pub learned: f64,
    pub plateau: f64,
}

/// `[growth]` of an experiment file: a measurement, not a claim. Each run's breaking step (the
/// first logged step at which its largest symmetry gap passes `macro_gap`) against the size of
/// its breaker (the variant's `x`), fitted per group: if training makes the symmetric state
/// unstable, gap ~ sigma e^(lambda t), so the breaking step falls linearly in ln sigma with
/// slope -1/lambda.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Growth {
    /// Why this level, in one line.
    pub rationale: String,
    /// A gap above this is macroscopic: the channels have visibly parted.
    pub macro_gap: f64,
}

impl Growth {
    pub fn check(&self) -> Result<()> {
        ensure!(
            positive(self.macro_gap),
            "invalid key growth.macro_gap: must be a number > 0"
        );
        Ok(())
    }
}

impl Weighing {
    fn check(&self, key: &str) -> Result<()> {
        confidence(&self.confidence, &format!("{key}.confidence"))?;
        at_least_two(&self.min_seeds, &format!("{key}.min_seeds"))?;
        let learned = (0.0..1.0).contains(&self.learned);
        check(learned, &format!("{key}.learned"), "must be in [0, 1)")?;
        in_unit(&self.plateau, &format!("{key}.plateau"))
    }
}

// The checks a criterion's keys name in the claims' table: each takes the value and its key
// (`K5.margin`) and errors naming `claims.` and the key.

/// A key any value of its type is valid for.
fn any<T>(_: &T, _: &str) -> Result<()> {
    Ok(())
}

/// A test's confidence, 1 - alpha: a level above 0.1 is not evidence a researcher can stake a
/// claim on.
fn confidence(v: &f64, key: &str) -> Result<()> {
    const WHAT: &str = "must be in [0.9, 1): a test at a level above 0.1 decides nothing";
    check((0.9..1.0).contains(v), key, WHAT)
}

fn at_least_one(n: &usize, key: &str) -> Result<()> {
    check(*n >= 1, key, "must be >= 1")
}

fn at_least_two(n: &usize, key: &str) -> Result<()> {
    check(*n >= 2, key, "must be >= 2: one seed has no spread")
}

fn in_unit(v: &f64, key: &str) -> Result<()> {
    check(*v > 0.0 && *v < 1.0, key, "must be in (0, 1)")
}

fn above_zero(v: &f64, key: &str) -> Result<()> {
    check(positive(*v), key, "must be a number > 0")
}

fn above_one(v: &f64, key: &str) -> Result<()> {
    check(v.is_finite() && *v > 1.0, key, "must be a number > 1")
}

/// Above zero and below another key's value, `limit`. An invalid limit is left to its own
/// key's check, so the error names the key that is wrong.
fn below(limit: f64, limit_key: &'static str) -> impl Fn(&f64, &str) -> Result<()> {
    move |v, key| {
        let ok = !positive(limit) || (positive(*v) && *v < limit);
        check(ok, key, &format!("must be > 0 and below {limit_key}"))
    }
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn check(ok: bool, key: &str, what: &str) -> Result<()> {
    ensure!(ok, "invalid key claims.{key}: {what}");
    Ok(())
}
