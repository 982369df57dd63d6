//! `--budget F`: every run of a plan trained F times as long, to see whether a verdict hinges on
//! the budget. The schedule's milestones are fractions of the run, so they stretch with it.
use crate::config::TrainConfig;
use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A multiple of every run's training budget (`train.epochs`, or `train.steps` where set). A
/// plan file holds it as the bare factor, checked as `--budget` is when read back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Budget(f64);

impl Budget {
    pub const AS_DECLARED: Budget = Budget(1.0);

    /// The factor as `--budget` takes it.
    pub fn factor(self) -> f64 {
        self.0
    }

    pub fn is_as_declared(self) -> bool {
        self == Budget::AS_DECLARED
    }

    /// The override that stretches `train`, or none at factor 1. A budget that would not come
    /// out whole is refused rather than rounded: the report must say the budget that ran.
    pub fn override_for(self, train: &TrainConfig) -> Result<Option<String>> {
        if self.is_as_declared() {
            return Ok(None);
        }
        let (key, n) = if train.steps > 0 {
            ("train.steps", train.steps)
        } else {
            ("train.epochs", train.epochs)
        };
        let scaled = n as f64 * self.0;
        ensure!(
            (scaled - scaled.round()).abs() < 1e-9 && scaled >= 1.0,
            "--budget {}: {key} = {n} would become {scaled}; choose a factor that makes it a \
             whole number",
            self.0
        );
        Ok(Some(format!("{key}={}", scaled.round() as usize)))
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::AS_DECLARED
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x{}", self.0)
    }
}

impl FromStr for Budget {
    type Err = String;
    fn from_str(s: &str) -> Result<Budget, String> {
        let f: f64 = s
            .parse()
            .map_err(|_| format!("budget {s:?} is not a number"))?;
        Budget::try_from(f).map_err(|_| format!("budget {s:?}: a factor above 0, e.g. 1.5"))
    }
}

impl TryFrom<f64> for Budget {
    type Error = String;
    fn try_from(f: f64) -> Result<Budget, String> {
        if f.is_finite() && f > 0.0 {
            Ok(Budget(f))
        } else {
            Err(format!("budget {f}: a factor above 0, e.g. 1.5"))
        }
    }
}

impl From<Budget> for f64 {
    fn from(b: Budget) -> f64 {
        b.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(epochs: usize, steps: usize) -> TrainConfig {
        TrainConfig {
            epochs,
            steps,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn a_budget_is_a_positive_finite_factor() {
        assert_eq!("1.5".parse::<Budget>(), Ok(Budget(1.5)));
        for bad in ["0", "-1", "NaN", "inf", "", "x1.5"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_budget_stretches_epochs_or_the_steps_that_replace_them() {
        let f: Budget = "1.5".parse().unwrap();
        assert_eq!(
            f.override_for(&train(60, 0)).unwrap().as_deref(),
            Some("train.epochs=90")
        );
        assert_eq!(
            f.override_for(&train(60, 300)).unwrap().as_deref(),
            Some("train.steps=450")
        );
        assert_eq!(
            Budget::AS_DECLARED.override_for(&train(5, 0)).unwrap(),
            None
        );
    }

    #[test]
    fn a_budget_that_would_not_come_out_whole_is_refused() {
        let f: Budget = "1.5".parse().unwrap();
        let err = f.override_for(&train(5, 0)).unwrap_err().to_string();
        assert!(err.contains("train.epochs = 5 would become 7.5"), "{err}");
        let tiny: Budget = "0.1".parse().unwrap();
        assert!(tiny.override_for(&train(5, 0)).is_err());
    }
}
