//! `make claims`: every shipped experiment at the `standard` profile (or FEATDIV_CLAIMS_PROFILE),
//! run through `featdiv reproduce`, judged by the report's claim functions and the criteria the
//! experiment files declare. Every claim a CPU can decide must be decided (holds or refuted, not
//! undecided); the verdicts are printed and kept in a snapshot, so a change that moves one shows
//! in review. Needs `make data`; about 45 minutes on 2 cores.
#![cfg(feature = "full-claims")]
use crate::common;

use featdiv::claims::Verdict;
use featdiv::experiment::ClaimId;
use std::process::Command;

#[test]
fn every_claim_is_decided_at_the_standard_profile() {
    let profile = std::env::var("FEATDIV_CLAIMS_PROFILE").unwrap_or_else(|_| "standard".into());
    let out = common::root().join("runs").join(&profile);
    let report = common::root().join("target/claims-report");
    let status = Command::new(env!("CARGO_BIN_EXE_featdiv"))
        .current_dir(common::root())
        .args([
            "reproduce",
            "--profile",
            &profile,
            "--jobs",
            "2",
            "--device",
            "cpu",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "featdiv reproduce --profile {profile} failed"
    );
    let rows = featdiv::report::build(&out).unwrap().claims;
    let mut verdicts = serde_json::Map::new();
    for r in &rows {
        println!("{} {}: {:?}\n    {}", r.id, r.verdict, r.reason, r.measured);
        verdicts.insert(r.id.to_string(), serde_json::to_value(r.verdict).unwrap());
    }
    assert_eq!(rows.len(), ClaimId::ALL.len());
    // The snapshot first, so that a run that leaves a claim undecided still shows which in review.
    snapshot_json!(format!("claims_{profile}"), verdicts);
    for r in &rows {
        // K4's GPU form needs a GPU; on a CPU K4 is judged on its stand-in, which decides.
        assert!(
            matches!(r.verdict, Verdict::Holds | Verdict::Refuted),
            "{} is {} at the {profile} profile: {:?}",
            r.id,
            r.verdict,
            r.reason
        );
    }
}
