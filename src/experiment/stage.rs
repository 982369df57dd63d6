//! Exploratory or confirmatory: whether a plan's verdicts test criteria fixed before its runs,
//! on seeds no earlier run saw. A plan records how it was made (`Provenance`: the seed offset,
//! budget, precision and the hash of its experiment file); the report judges it against the
//! registration (`configs/registration.toml`) read at report time from the current directory,
//! and falls back to the entry the plan recorded at planning time where there is no such file
//! (a report built elsewhere). The judgement itself is never stored in the plan: a registration
//! edited later (a criterion changed and re-registered) must turn the old plans exploratory.
use super::registration::{Entry, Registration};
use super::{Budget, Plan};
use crate::config::Precision;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The stage of a plan's verdicts (lowercase in `claims.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Registered criteria, profiles and variants, unchanged; fresh seeds; declared budget and
    /// precision.
    Confirmatory,
    /// Anything else: results that may have shaped the criteria they are judged by.
    Exploratory,
}

impl Stage {
    /// Confirmatory only if every one is (and there is at least one).
    pub fn of_all(stages: impl IntoIterator<Item = Stage>) -> Stage {
        let mut any = false;
        for s in stages {
            if s == Stage::Exploratory {
                return Stage::Exploratory;
            }
            any = true;
        }
        if any {
            Stage::Confirmatory
        } else {
            Stage::Exploratory
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Confirmatory => "confirmatory",
            Stage::Exploratory => "exploratory",
        })
    }
}

/// How a plan was made, beyond its runs: what `stage_of` reads. Every field defaults, so plans
/// written before it existed still load (and are exploratory: they record no hash).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `--seed-offset`: added to every declared seed (the runs keep the sums).
    #[serde(default)]
    pub seed_offset: u64,
    /// `--budget`.
    #[serde(default)]
    pub budget: Budget,
    /// `--precision`, if given. Counted against a confirmatory stage even where every run was
    /// already in it: the flag exists to change runs, and a rule that needs no config read back
    /// is one a reader can check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// `registration::frozen_hash` of the experiment file as planned.
    #[serde(default)]
    pub frozen_hash: Option<String>,
    /// The registration entry of the experiment when it was planned, if any: what the report
    /// judges by where it finds no registration file.
    #[serde(default)]
    pub registered: Option<Entry>,
}

/// An experiment's stage and why, as `claims.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentStage {
    pub experiment: String,
    pub stage: Stage,
    pub why: String,
}

impl ExperimentStage {
    pub fn of(plan: &Plan, registration: Option<&Registration>) -> ExperimentStage {
        let (stage, why) = stage_of(plan, registration);
        ExperimentStage {
            experiment: plan.experiment.clone(),
            stage,
            why,
        }
    }
}

/// The stage of `plan`'s verdicts and why, in words. `registration`: the registration file as it
/// is now, if found; None falls back to the entry the plan recorded when it was made.
pub fn stage_of(plan: &Plan, registration: Option<&Registration>) -> (Stage, String) {
    let p = &plan.provenance;
    let entry = match registration {
        Some(r) => r.entry(&plan.experiment),
        None => p.registered.as_ref(),
    };
    let Some(entry) = entry else {
        return (
            Stage::Exploratory,
            format!("{} not registered", plan.experiment),
        );
    };
    let mut why = Vec::new();
    match &p.frozen_hash {
        None => why.push(
            "planned by a featdiv that recorded no hash of the experiment file (re-plan)".into(),
        ),
        Some(h) if *h != entry.hash => {
            why.push(format!("{} changed since registration", entry.file))
        }
        Some(_) => {}
    }
    if p.seed_offset < entry.fresh_seeds_from {
        why.push(format!(
            "seed offset {}: seeds already seen (fresh from offset {})",
            p.seed_offset, entry.fresh_seeds_from
        ));
    }
    if !p.budget.is_as_declared() {
        why.push(format!("--budget {}", p.budget.factor()));
    }
    if let Some(precision) = p.precision {
        why.push(format!("--precision {}", precision.name()));
    }
    if why.is_empty() {
        let words = format!(
            "{} as registered, fresh seeds (offset {} >= {}), declared budget and precision",
            entry.file, p.seed_offset, entry.fresh_seeds_from
        );
        (Stage::Confirmatory, words)
    } else {
        (Stage::Exploratory, why.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{Experiment, Host, ProfileName};
    use std::path::Path;

    fn e1(seed_offset: u64) -> Experiment {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/experiments/e1-toy.toml");
        Experiment {
            seed_offset,
            ..Experiment::from_file(&path).unwrap()
        }
    }

    fn plan(e: &Experiment) -> Plan {
        e.plan(ProfileName::Smoke, &Host::default())
            .unwrap()
            .unwrap()
    }

    fn registered(e: &Experiment) -> Registration {
        Registration {
            experiments: vec![Entry {
                name: e.name.clone(),
                file: "e1-toy.toml".into(),
                hash: crate::experiment::registration::frozen_hash(e).unwrap(),
                fresh_seeds_from: 1000,
            }],
        }
    }

    #[test]
    fn seeds_already_seen_are_exploratory_and_fresh_ones_confirmatory() {
        let reg = registered(&e1(0));
        let (stage, why) = stage_of(&plan(&e1(0)), Some(&reg));
        assert_eq!(stage, Stage::Exploratory);
        assert_eq!(
            why,
            "seed offset 0: seeds already seen (fresh from offset 1000)"
        );
        assert_eq!(stage_of(&plan(&e1(999)), Some(&reg)).0, Stage::Exploratory);
        for offset in [1000, 5000] {
            let (stage, why) = stage_of(&plan(&e1(offset)), Some(&reg));
            assert_eq!(stage, Stage::Confirmatory, "{why}");
            assert!(why.starts_with("e1-toy.toml as registered"), "{why}");
        }
    }

    #[test]
    fn a_changed_file_a_flag_or_no_registration_is_exploratory() {
        let reg = registered(&e1(0));
        let mut changed = e1(1000);
        changed.claims.k1.as_mut().unwrap().margin = 0.06;
        let (stage, why) = stage_of(&plan(&changed), Some(&reg));
        assert_eq!(stage, Stage::Exploratory);
        assert_eq!(why, "e1-toy.toml changed since registration");
        let flags = Experiment {
            budget: "2".parse().unwrap(),
            precision: Some(Precision::Fp32),
            ..e1(1000)
        };
        let (_, why) = stage_of(&plan(&flags), Some(&reg));
        assert_eq!(why, "--budget 2; --precision fp32");
        let none = Registration::default();
        let (stage, why) = stage_of(&plan(&e1(1000)), Some(&none));
        assert_eq!(
            (stage, why.as_str()),
            (Stage::Exploratory, "e1-toy not registered")
        );
        // A plan from before provenance was recorded loads, and is exploratory.
        let mut old = serde_json::to_value(plan(&e1(1000))).unwrap();
        for key in ["seed_offset", "budget", "frozen_hash", "registered"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let old: Plan = serde_json::from_value(old).unwrap();
        assert_eq!(old.provenance, Provenance::default());
        let (stage, why) = stage_of(&old, Some(&reg));
        assert_eq!(stage, Stage::Exploratory);
        assert!(
            why.starts_with("planned by a featdiv that recorded no hash"),
            "{why}"
        );
    }

    #[test]
    fn without_a_registration_file_the_plan_s_recorded_entry_judges() {
        let reg = registered(&e1(0));
        let mut p = plan(&e1(1000));
        assert_eq!(stage_of(&p, None).0, Stage::Exploratory, "nothing recorded");
        p.provenance.registered = reg.entry("e1-toy").cloned();
        assert_eq!(stage_of(&p, None).0, Stage::Confirmatory);
        // The file as it is now wins over what the plan recorded.
        let mut later = reg.clone();
        later.experiments[0].fresh_seeds_from = 2000;
        assert_eq!(stage_of(&p, Some(&later)).0, Stage::Exploratory);
    }

    #[test]
    fn a_folder_is_confirmatory_only_if_every_experiment_is() {
        use Stage::*;
        assert_eq!(Stage::of_all([Confirmatory, Confirmatory]), Confirmatory);
        assert_eq!(Stage::of_all([Confirmatory, Exploratory]), Exploratory);
        assert_eq!(Stage::of_all([]), Exploratory);
        assert_eq!(
            serde_json::to_value([Confirmatory, Exploratory]).unwrap(),
            serde_json::json!(["confirmatory", "exploratory"])
        );
    }
}
