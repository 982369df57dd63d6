//! K9 on the E2 runs (analysed by E4): given a breaker, ConstNet ends near He's effective width.
use super::stats::{mean_std, median};
use super::{ClaimRow, Verdict, WIDTH_FACTOR, complete, row, verdict};
use crate::experiment::PlannedRun;
use crate::runs::{ExperimentRuns, Finished};

/// Mean effective width (participation ratio) per layer over a group's seeds, at init or at the
/// end.
fn widths(runs: &[(&PlannedRun, &Finished)], init: bool) -> Vec<(String, f64)> {
    fn pick(f: &Finished, init: bool) -> &[crate::metrics::LayerDiversity] {
        if init {
            &f.summary.diversity_init
        } else {
            &f.summary.diversity_final
        }
    }
    let Some((_, first)) = runs.first() else {
        return Vec::new();
    };
    pick(first, init)
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|(_, f)| pick(f, init).get(i).map(|l| l.width_participation))
                .collect();
            (l.name.clone(), mean_std(&vals).0)
        })
        .collect()
}

fn median_of(w: &[(String, f64)]) -> f64 {
    median(w.iter().map(|w| w.1).collect())
}

/// K9 from E2's runs: for each breaker, the median over layers of the factor between its final
/// width and He's.
pub fn k9(exps: &[ExperimentRuns]) -> ClaimRow {
    let e = match complete(exps, "e2-constnet") {
        Ok(e) => e,
        Err(why) => return row("K9", why, Verdict::NotRun, ""),
    };
    if !exps.iter().any(|x| x.plan.experiment == "e4-diversity") {
        return row(
            "K9",
            "experiment e4-diversity is not in these runs".into(),
            Verdict::NotRun,
            "",
        );
    }
    let he = widths(&e.finished("he"), false);
    let he_init = widths(&e.finished("he"), true);
    let mut parts = Vec::new();
    let mut ok = true;
    let mut any = false;
    for g in [
        "dropout",
        "grad-noise",
        "init-noise",
        "nondeterministic",
        "none",
    ] {
        let runs = e.finished(g);
        if runs.is_empty() {
            continue;
        }
        let fin = widths(&runs, false);
        let factor = median(
            fin.iter()
                .zip(&he)
                .map(|(a, b)| (a.1 / b.1).max(b.1 / a.1))
                .collect(),
        );
        parts.push(format!(
            "{g}: width {:.1} at init -> {:.1} (He {:.1} -> {:.1}), median factor to He {factor:.2}",
            median_of(&widths(&runs, true)),
            median_of(&fin),
            median_of(&he_init),
            median_of(&he),
        ));
        if g != "none" {
            any = true;
            ok &= factor <= WIDTH_FACTOR;
        }
    }
    row(
        "K9",
        format!(
            "effective width = participation ratio of the feature correlation matrix, median over layers, mean over seeds (definition [open]); \"near\" = within a factor {WIDTH_FACTOR} of He's final width. {}",
            parts.join("; ")
        ),
        verdict(any && ok),
        &e.plan.scale,
    )
}
