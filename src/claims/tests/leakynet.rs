//! K8, LeakyNet's claim (claims/leakynet.rs), on E3's records.
use super::*;

#[test]
fn k8_refuted_when_averaging_does_not_erase_or_accuracy_rises() {
    let row = planted(ClaimId::K8, |e| {
        let f = e[2]
            .runs
            .iter_mut()
            .find(|r| r.planned.variant == "1_1111_1111_1111")
            .and_then(|r| r.finished_mut())
            .unwrap();
        f.perturbations[0].reach[0].ratio = 0.5;
    });
    assert_verdict(&row, Verdict::Refuted, "does not erase");
    let row = planted(ClaimId::K8, |e| {
        plant_accuracy(
            e,
            |_| true,
            |layers, seed| 0.25 + 0.02 * layers + 0.001 * seed,
        )
    });
    assert_verdict(&row, Verdict::Refuted, "rises with the averaging layers");
}

#[test]
fn k8_undecided_until_the_identity_codes_learn() {
    let row = planted(ClaimId::K8, |e| {
        plant_accuracy(e, structured, |layers, seed| {
            0.15 - 0.004 * layers + 0.001 * seed
        })
    });
    assert_verdict(&row, Verdict::Undecided, "identity codes learned");
}

#[test]
fn k8_no_trend_is_undecided() {
    let row = planted(ClaimId::K8, |e| {
        for r in e[2]
            .runs
            .iter_mut()
            .filter(|r| !r.planned.variant.starts_with('h'))
        {
            // Codes apart by a little, in no order of their averaging layers.
            let code = (r.planned.variant.matches('1').count() % 3) as f64;
            let acc = 0.5 + 0.01 * r.planned.seed as f64 + 0.002 * code;
            set_curve(r.finished_mut().into_iter().collect(), acc);
        }
    });
    assert_verdict(&row, Verdict::Undecided, "is not shown below 0");
}

/// Whether E3's variant is a structured code (not an `h...` He-initialized one).
fn structured(variant: &str) -> bool {
    !variant.starts_with('h')
}

/// Sets the accuracy curve of every E3 run whose variant `which` selects to
/// `acc(averaging layers of its code, seed)`.
fn plant_accuracy(e: &mut [ExperimentRuns], which: fn(&str) -> bool, acc: fn(f64, f64) -> f64) {
    for r in e[2].runs.iter_mut().filter(|r| which(&r.planned.variant)) {
        let code = crate::config::LeakyCode::parse(&r.planned.variant, 16).unwrap();
        let acc = acc(code.averaging_layers() as f64, r.planned.seed as f64);
        set_curve(r.finished_mut().into_iter().collect(), acc);
    }
}

/// E3's runs of one LeakyNet code.
fn code_runs<'a>(exps: &'a mut [ExperimentRuns], code: &str) -> Vec<&'a mut Finished> {
    exps[2]
        .runs
        .iter_mut()
        .filter(|r| r.planned.variant == code)
        .filter_map(|r| r.finished_mut())
        .collect()
}

#[test]
fn k8_holds_only_once_the_averaging_codes_stopped_catching_up() {
    let identity = [0.3, 0.45, 0.49, 0.5, 0.5, 0.5, 0.5, 0.5];
    let chasing = [0.1, 0.15, 0.25, 0.35, 0.4, 0.4, 0.4, 0.4];
    let plant = |high: usize| {
        move |e: &mut Vec<ExperimentRuns>| {
            for code in ["i_iiii_iiii_iiii", "1_iiii_iiii_iiii"] {
                set_schedule(code_runs(e, code), &identity, high);
            }
            set_schedule(code_runs(e, "1_iiii_11ii_iiii"), &chasing, high);
        }
    };
    // Cut short while gaining 0.09 on the identity codes: undecided.
    let row = planted(ClaimId::K8, plant(4));
    assert_verdict(&row, Verdict::Undecided, "1_iiii_11ii_iiii caught up");
    // Control: the same curves at a constant rate, whose last quarter is flat.
    let row = planted(ClaimId::K8, plant(8));
    assert_eq!(row.verdict, Verdict::Holds, "{:?}", row.reason);
    // Only the averaging codes are held to catching up: the identity codes are the baseline.
    let checked: Vec<&str> = row
        .preconditions
        .iter()
        .filter_map(|c| c.what.split_once(" caught up").map(|(code, _)| code))
        .collect();
    assert_eq!(
        checked,
        [
            "1_iiii_11ii_iiii",
            "1_iiii_1111_iiii",
            "1_ii11_ii11_ii11",
            "1_1111_1111_1111"
        ]
    );
}
