//! Where a report's runs were made (machines, threads, commits, libtorch, time), read from the
//! runs' own records, so that a summary of the verdicts can say it without a hand-written line
//! that goes stale.
use crate::runs::ExperimentRuns;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the finished runs of a report record about how they were made; every list sorted and
/// without repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsProvenance {
    pub profiles: Vec<String>,
    /// Finished runs.
    pub runs: usize,
    pub devices: Vec<String>,
    /// CPU models; "not recorded" for runs made before records named the CPU.
    pub cpus: Vec<String>,
    pub threads: Vec<i32>,
    /// The commits the runs were trained at, 7 hex digits ("-dirty" where the tree was).
    pub commits: Vec<String>,
    pub libtorch: Vec<String>,
    /// The runs' wall times summed (runs trained side by side count each).
    pub run_hours: f64,
}

/// The provenance of every finished run in `experiments`.
pub fn of(experiments: &[ExperimentRuns]) -> RunsProvenance {
    let finished: Vec<_> = experiments.iter().flat_map(|e| e.all_finished()).collect();
    let set = |f: &dyn Fn(&crate::environment::Environment) -> String| -> Vec<String> {
        let s: BTreeSet<String> = finished.iter().map(|(_, r)| f(&r.environment)).collect();
        s.into_iter().collect()
    };
    let threads: BTreeSet<i32> = finished
        .iter()
        .map(|(_, r)| r.environment.threads)
        .collect();
    let profiles: BTreeSet<String> = experiments
        .iter()
        .map(|e| e.plan.profile.to_string())
        .collect();
    RunsProvenance {
        profiles: profiles.into_iter().collect(),
        runs: finished.len(),
        devices: set(&|e| e.device.clone()),
        cpus: set(&|e| e.cpu.clone().unwrap_or_else(|| "not recorded".into())),
        threads: threads.into_iter().collect(),
        commits: set(&|e| short_commit(&e.git_commit)),
        libtorch: set(&|e| e.libtorch_version.clone()),
        run_hours: finished
            .iter()
            .map(|(_, r)| r.summary.wall_time_s)
            .sum::<f64>()
            / 3600.0,
    }
}

fn short_commit(commit: &str) -> String {
    let (hash, dirty) = match commit.strip_suffix("-dirty") {
        Some(h) => (h, "-dirty"),
        None => (commit, ""),
    };
    format!("{}{dirty}", hash.get(..7).unwrap_or(hash))
}

#[cfg(test)]
mod tests {
    use super::short_commit;

    #[test]
    fn commits_are_shortened_keeping_their_dirty_mark() {
        assert_eq!(
            short_commit("8242418e701fd11f2da345f71b9c139c298d5405"),
            "8242418"
        );
        assert_eq!(short_commit("8242418e701fd11f2da3-dirty"), "8242418-dirty");
        assert_eq!(short_commit("unknown"), "unknown");
    }
}
