//! The criteria a claim is judged by, declared in the experiment file under `[claims.Kn]` before
//! any run: every threshold, which accuracy, how many seeds, what confidence, and a one-line
//! rationale. Parsed and range-checked like any config key; printed beside the verdict.
use super::claim_table::define_claims;
use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use std::fmt;

crate::claim_table!(define_claims);

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

macro_rules! criterion {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Why these thresholds, in one line.
            pub rationale: String,
            $($(#[$fdoc])* pub $field: $ty,)*
        }
    };
}

criterion!(
    /// K1 "harms training": tied k-unique:1 runs whose features stayed identical fall more than
    /// `margin` below He (superiority). "Behaves as a width-1 network" is an exact identity,
    /// checked as a property (tests/it/claim_k1_identity.rs), not a comparison of accuracies.
    IdenticalFeaturesHarm {
        weighing: Weighing,
        /// How far below He the tied runs must fall for the lack of diversity to harm training.
        margin: f64,
        /// Float32 ulps tied features may drift and still count as identical; a run that drifted
        /// further is K4 evidence, not K1's.
        drift_bound_ulps: u64,
    }
);

criterion!(
    /// K2: accuracy rises with the number K of unique features.
    AccuracyRisesWithK {
        weighing: Weighing,
        /// The least rise from the smallest K to the largest that counts as a real dependence.
        growth: f64,
        /// As K5's: the most the smallest K may still close of its gap to the largest per epoch
        /// over the last quarter of the high learning rate for its shortfall to count.
        catch_up: f64,
    }
);

criterion!(
    /// K3: for some small eps, most seeds of tied k-unique:1 escape chance and the escaped seeds
    /// come within `margin` of He. A seed either escapes or stays at chance, so the two parts
    /// are judged apart: a mean over both kinds of seed has no useful interval.
    SmallNoiseSuffices {
        weighing: Weighing,
        margin: f64,
        /// The largest eps (relative to the He std) that counts as small.
        small_eps: f64,
        /// A seed escaped once its accuracy beats chance by this.
        escaped_above: f64,
        /// The fraction of seeds that must escape (an exact binomial bound above it).
        escape_fraction: f64,
        /// As K5's: the most an eps may still close of its gap to He per epoch over the last
        /// quarter of the high learning rate for its shortfall to count against the claim.
        catch_up: f64,
    }
);

criterion!(
    /// K4: a rounding-level breaker opens ConstNet's symmetry gap past `macro_gap`.
    RoundingBreaksSymmetry {
        min_seeds: usize,
        /// A gap above this is macroscopic: the channels have visibly parted.
        macro_gap: f64,
        /// The gap a rounding-level breaker starts from is below this.
        rounding_gap: f64,
    }
);

criterion!(
    /// K5: ConstNet with each breaker within `margin` of He.
    BreakerMatchesHe {
        weighing: Weighing,
        margin: f64,
        /// A breaker has broken the symmetry once its gap passed this.
        macro_gap: f64,
        /// The most a breaker may still close of its gap to He per epoch over the last quarter of
        /// the evaluations at a high learning rate (at least half the first), beyond seed noise;
        /// more, and it was still catching up when the rate decayed, so the budget, not the
        /// breaker, set its accuracy.
        catch_up: f64,
    }
);

criterion!(
    /// K6: at init every conv has one distinct channel and the first loss is ln(classes).
    ConstNetAtInit {
        loss_tol: f64,
    }
);

criterion!(
    /// K7: without a breaker ConstNet's channel gap stays exactly 0 at every logged step.
    SymmetryStays {
        min_seeds: usize,
    }
);

criterion!(
    /// K8: averaging layers erase a perturbation at init, and accuracy falls with their number.
    AveragingHinders {
        weighing: Weighing,
        /// Reach (to the last layer, relative to the injected size) below which it is erased.
        erase_below: f64,
        /// Reach above which identity layers pass it.
        pass_above: f64,
        /// As K5's: the most an averaging code may still close of its gap to the identity codes
        /// per epoch over the last quarter of the high learning rate for its shortfall to count.
        catch_up: f64,
    }
);

criterion!(
    /// K9: with each breaker, the final effective width equivalent to He's within a factor
    /// (two one-sided tests on the log ratio, He's seed variance included).
    CharacteristicWidth {
        /// The confidence of each one-sided test (1 - alpha, at least 0.9).
        confidence: f64,
        min_seeds: usize,
        width_factor: f64,
        /// Each group's median width moved by at most this fraction over the last quarter of the
        /// evaluations at a high learning rate (at least half the first).
        width_plateau: f64,
        macro_gap: f64,
    }
);

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

impl IdenticalFeaturesHarm {
    fn check(&self) -> Result<()> {
        self.weighing.check("K1")?;
        in_unit(self.margin, "K1.margin")
    }
}

impl AccuracyRisesWithK {
    fn check(&self) -> Result<()> {
        self.weighing.check("K2")?;
        in_unit(self.growth, "K2.growth")?;
        in_unit(self.catch_up, "K2.catch_up")
    }
}

impl SmallNoiseSuffices {
    fn check(&self) -> Result<()> {
        self.weighing.check("K3")?;
        in_unit(self.margin, "K3.margin")?;
        above_zero(self.small_eps, "K3.small_eps")?;
        in_unit(self.catch_up, "K3.catch_up")?;
        in_unit(self.escaped_above, "K3.escaped_above")?;
        in_unit(self.escape_fraction, "K3.escape_fraction")
    }
}

impl RoundingBreaksSymmetry {
    fn check(&self) -> Result<()> {
        key(self.min_seeds >= 1, "K4.min_seeds", "must be >= 1")?;
        above_zero(self.macro_gap, "K4.macro_gap")?;
        let below = positive(self.rounding_gap) && self.rounding_gap < self.macro_gap;
        key(below, "K4.rounding_gap", "must be > 0 and below macro_gap")
    }
}

impl BreakerMatchesHe {
    fn check(&self) -> Result<()> {
        self.weighing.check("K5")?;
        in_unit(self.margin, "K5.margin")?;
        above_zero(self.macro_gap, "K5.macro_gap")?;
        in_unit(self.catch_up, "K5.catch_up")
    }
}

impl ConstNetAtInit {
    fn check(&self) -> Result<()> {
        above_zero(self.loss_tol, "K6.loss_tol")
    }
}

impl SymmetryStays {
    fn check(&self) -> Result<()> {
        key(self.min_seeds >= 1, "K7.min_seeds", "must be >= 1")
    }
}

impl AveragingHinders {
    fn check(&self) -> Result<()> {
        self.weighing.check("K8")?;
        above_zero(self.pass_above, "K8.pass_above")?;
        let below = positive(self.erase_below) && self.erase_below < self.pass_above;
        key(below, "K8.erase_below", "must be > 0 and below pass_above")?;
        in_unit(self.catch_up, "K8.catch_up")
    }
}

impl CharacteristicWidth {
    fn check(&self) -> Result<()> {
        key(confident(self.confidence), "K9.confidence", CONFIDENCE)?;
        key(self.min_seeds >= 2, "K9.min_seeds", ONE_SEED)?;
        let factor = self.width_factor.is_finite() && self.width_factor > 1.0;
        key(factor, "K9.width_factor", "must be a number > 1")?;
        in_unit(self.width_plateau, "K9.width_plateau")?;
        above_zero(self.macro_gap, "K9.macro_gap")
    }
}

impl Weighing {
    fn check(&self, id: &str) -> Result<()> {
        let w = format!("{id}.weighing");
        key(
            confident(self.confidence),
            &format!("{w}.confidence"),
            CONFIDENCE,
        )?;
        key(self.min_seeds >= 2, &format!("{w}.min_seeds"), ONE_SEED)?;
        let learned = (0.0..1.0).contains(&self.learned);
        key(learned, &format!("{w}.learned"), "must be in [0, 1)")?;
        in_unit(self.plateau, &format!("{w}.plateau"))
    }
}

/// A test's confidence, 1 - alpha: a level above 0.1 is not evidence a researcher can stake a
/// claim on.
fn confident(v: f64) -> bool {
    (0.9..1.0).contains(&v)
}

const CONFIDENCE: &str = "must be in [0.9, 1): a test at a level above 0.1 decides nothing";

const ONE_SEED: &str = "must be >= 2: one seed has no spread";

fn in_unit(v: f64, name: &str) -> Result<()> {
    key(v > 0.0 && v < 1.0, name, "must be in (0, 1)")
}

fn above_zero(v: f64, name: &str) -> Result<()> {
    key(positive(v), name, "must be a number > 0")
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn key(ok: bool, key: &str, what: &str) -> Result<()> {
    ensure!(ok, "invalid key claims.{key}: {what}");
    Ok(())
}
