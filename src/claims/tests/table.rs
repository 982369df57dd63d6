//! The claims table as a whole: every claim holds on its holding records, every row links the
//! runs it rests on, verdicts and claims read as words, and accuracies as mean and spread.
use super::*;

#[test]
fn every_claim_holds_on_its_holding_records() {
    for row in claims_table(&all()) {
        assert_eq!(
            row.verdict,
            Verdict::Holds,
            "{}: {:?} {}",
            row.id,
            row.reason,
            row.measured
        );
        assert!(row.preconditions.iter().all(|c| c.met), "{}", row.id);
        assert!(
            !row.criterion.is_empty() && !row.rationale.is_empty(),
            "{}",
            row.id
        );
    }
}

#[test]
fn verdicts_and_claims_read_as_words() {
    let words: Vec<String> = [
        Verdict::Holds,
        Verdict::Refuted,
        Verdict::Undecided,
        Verdict::NotRun,
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    assert_eq!(words, ["holds", "refuted", "undecided", "not run"]);
    for id in ClaimId::ALL {
        let text = id.text();
        assert!(text.len() > 40 && text.ends_with('.'), "{id}: {text}");
    }
    assert!(ClaimId::K5.text().contains("ConstNet"));
    assert!(ClaimId::K8.text().starts_with("LeakyNet"));
}

#[test]
fn acc_text_is_mean_and_sample_std_to_three_places() {
    let p = crate::claims::stats::Point::new(0.0, vec![0.8, 0.9]);
    assert_eq!(super::super::acc_text(&p), "0.850±0.071");
}

#[test]
fn every_row_links_the_runs_it_rests_on() {
    let exps = all();
    let planned: Vec<String> = exps
        .iter()
        .flat_map(|e| e.runs.iter().map(|r| r.planned.hash.clone()))
        .collect();
    for row in claims_table(&exps) {
        assert!(!row.runs.is_empty(), "{} links no run", row.id);
        for h in &row.runs {
            assert!(planned.contains(h), "{}: {h:?} is not a run", row.id);
        }
    }
}
