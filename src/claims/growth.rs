//! How fast a breaker parts identical channels: a measurement beside K3 and K4, not a verdict.
//! A symmetric state that training makes unstable would give gap ~ sigma e^(lambda t), so the
//! breaking step (the first logged step past the macroscopic level) falls linearly in ln sigma,
//! with slope -1/lambda. For each group of an experiment with a `[growth]` table: every run's
//! breaking step against its breaker's size (the variant's x), the least-squares line through
//! them with its lambda and residual, lambda again from the slope of ln gap within each
//! trajectory (the two agree when the growth is exponential), and the sizes whose gap stayed
//! exactly 0 (noise below float32 resolution, rounded away).
use super::evidence::gap_trajectory;
use crate::experiment::Growth;
use crate::runs::ExperimentRuns;
use serde::Serialize;

/// One run: its breaker's size, seed, breaking step (None: not within the budget) and gaps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthPoint {
    pub sigma: f64,
    pub seed: u64,
    pub breaking_step: Option<usize>,
    /// The largest gap over the run (0: exactly symmetric throughout).
    pub largest_gap: f64,
    /// The run's own growth rate: slope of ln gap over the logged steps between its first
    /// non-zero gap and the macroscopic level (None: fewer than 3 such steps).
    pub rate: Option<f64>,
    pub run: String,
}

/// A straight line y = intercept + slope x fitted by least squares, with the rms residual.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Line {
    pub slope: f64,
    pub intercept: f64,
    pub residual_rms: f64,
    pub points: usize,
}

/// The fit of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthFit {
    pub experiment: String,
    pub group: String,
    pub macro_gap: f64,
    /// Breaking step against ln sigma, over the runs that broke (None: fewer than 3, or all at
    /// one sigma).
    pub line: Option<Line>,
    /// -1 / the line's slope: the growth rate per step the breaking steps imply.
    pub lambda_from_breaking: Option<f64>,
    /// The mean of the runs' own rates.
    pub lambda_from_trajectories: Option<f64>,
    /// Sizes at which every seed's gap stayed exactly 0 over the whole run.
    pub exact_zero_at: Vec<f64>,
    pub points: Vec<GrowthPoint>,
    /// Runs left out because their records are flawed (file and what is wrong).
    pub flaws: Vec<String>,
}

/// The first logged step whose gap passes `level`.
pub fn breaking_step(trajectory: &[(usize, f64)], level: f64) -> Option<usize> {
    trajectory.iter().find(|(_, g)| *g > level).map(|(s, _)| *s)
}

/// Least squares through `points` (x, y); None with fewer than 3 points or no spread in x.
pub fn fit_line(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len();
    if n < 3 || points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    Some(Line {
        slope,
        intercept,
        residual_rms: (sse / n as f64).sqrt(),
        points: n,
    })
}

/// The slope of ln gap against the step, over the logged steps with 0 < gap <= `level` (the
/// growth before the channels have visibly parted).
pub fn trajectory_rate(trajectory: &[(usize, f64)], level: f64) -> Option<f64> {
    let growing: Vec<(f64, f64)> = trajectory
        .iter()
        .filter(|(_, g)| *g > 0.0 && *g <= level)
        .map(|(s, g)| (*s as f64, g.ln()))
        .collect();
    fit_line(&growing).map(|l| l.slope)
}

/// The growth fits of every experiment with a `[growth]` table, one per group.
pub fn growth_fits(exps: &[ExperimentRuns]) -> Vec<GrowthFit> {
    let mut fits = Vec::new();
    for e in exps {
        let Some(spec) = &e.plan.growth else { continue };
        for group in e.groups() {
            fits.push(fit_group(e, &group, spec));
        }
    }
    fits
}

fn fit_group(e: &ExperimentRuns, group: &str, spec: &Growth) -> GrowthFit {
    let mut points = Vec::new();
    let mut flaws = Vec::new();
    for (planned, f) in e.finished(group) {
        let Some(sigma) = planned.x else { continue };
        let trajectory = match gap_trajectory(f) {
            Ok(t) => t,
            Err(flaw) => {
                flaws.push(format!("{}: {}", flaw.file.display(), flaw.what));
                continue;
            }
        };
        points.push(GrowthPoint {
            sigma,
            seed: planned.seed,
            breaking_step: breaking_step(&trajectory, spec.macro_gap),
            largest_gap: trajectory.iter().map(|t| t.1).fold(0.0, f64::max),
            rate: trajectory_rate(&trajectory, spec.macro_gap),
            run: planned.hash.clone(),
        });
    }
    points.sort_by(|a, b| a.sigma.total_cmp(&b.sigma).then(a.seed.cmp(&b.seed)));
    let broke: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.sigma > 0.0)
        .filter_map(|p| p.breaking_step.map(|s| (p.sigma.ln(), s as f64)))
        .collect();
    let line = fit_line(&broke);
    let rates: Vec<f64> = points.iter().filter_map(|p| p.rate).collect();
    let mut exact_zero_at: Vec<f64> = points
        .iter()
        .map(|p| p.sigma)
        .filter(|s| {
            points
                .iter()
                .filter(|p| p.sigma == *s)
                .all(|p| p.largest_gap == 0.0)
        })
        .collect();
    exact_zero_at.dedup();
    GrowthFit {
        experiment: e.plan.experiment.clone(),
        group: group.to_string(),
        macro_gap: spec.macro_gap,
        lambda_from_breaking: line.filter(|l| l.slope < 0.0).map(|l| -1.0 / l.slope),
        line,
        lambda_from_trajectories: (!rates.is_empty())
            .then(|| rates.iter().sum::<f64>() / rates.len() as f64),
        exact_zero_at,
        points,
        flaws,
    }
}

impl GrowthFit {
    /// The fit in one line, for the report's caption and the README.
    pub fn text(&self) -> String {
        let num = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
        let line = self
            .line
            .map_or("no line (fewer than 3 runs broke)".into(), |l| {
                format!(
                    "breaking step = {:.0} {:+.1} ln sigma over {} runs (residual {:.1} steps)",
                    l.intercept, l.slope, l.points, l.residual_rms
                )
            });
        let zeros = if self.exact_zero_at.is_empty() {
            "no size left the gap exactly 0".into()
        } else {
            let s: Vec<String> = self
                .exact_zero_at
                .iter()
                .map(|s| format!("{s:.0e}"))
                .collect();
            format!("gap exactly 0 at sigma = {}", s.join(", "))
        };
        format!(
            "{}: {line}; lambda {} per step from the breaking steps, {} from the trajectories; \
             {zeros}",
            self.group,
            num(self.lambda_from_breaking, 4),
            num(self.lambda_from_trajectories, 4)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn a_line_through_exact_points_has_no_residual() {
        let l = fit_line(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0)]).unwrap();
        assert_relative_eq!(l.slope, 2.0, epsilon = 1e-12);
        assert_relative_eq!(l.intercept, 1.0, epsilon = 1e-12);
        assert!(l.residual_rms < 1e-12);
        // Control: one point off the line shows in the residual.
        let off = fit_line(&[(0.0, 1.0), (1.0, 3.0), (2.0, 9.0), (3.0, 7.0)]).unwrap();
        assert!(off.residual_rms > 1.0);
    }

    #[test]
    fn the_residual_is_the_rms_distance_from_the_line() {
        // Least squares: slope 2.4, intercept 1.4; residuals -0.4, -0.8, 2.8, -1.6.
        let l = fit_line(&[(0.0, 1.0), (1.0, 3.0), (2.0, 9.0), (3.0, 7.0)]).unwrap();
        assert_relative_eq!(l.slope, 2.4, epsilon = 1e-12);
        assert_relative_eq!(l.intercept, 1.4, epsilon = 1e-12);
        assert_relative_eq!(l.residual_rms, (11.2f64 / 4.0).sqrt(), epsilon = 1e-12);
    }

    #[test]
    fn a_gap_exactly_at_the_level_has_not_passed_it() {
        let t = [(0, 0.0), (1, 1e-3), (2, 2e-3)];
        assert_eq!(breaking_step(&t, 1e-3), Some(2));
    }

    #[test]
    fn the_rate_is_read_between_the_first_gap_and_the_level() {
        // Exactly 0 for two steps, e^(0.1 t) growth below the level, then saturated far above
        // it: neither the zeros nor the saturation may enter the slope.
        let t: Vec<(usize, f64)> = (0..40)
            .map(|i| {
                let g = match i {
                    0 | 1 => 0.0,
                    2..=20 => 1e-9 * (0.1 * i as f64).exp(),
                    _ => 0.5,
                };
                (i, g)
            })
            .collect();
        assert_relative_eq!(trajectory_rate(&t, 1e-3).unwrap(), 0.1, epsilon = 1e-9);
    }

    #[test]
    fn too_few_points_or_no_spread_give_no_line() {
        assert!(fit_line(&[(0.0, 1.0), (1.0, 2.0)]).is_none());
        assert!(fit_line(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
        assert!(fit_line(&[(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)]).is_none());
    }

    #[test]
    fn exponential_growth_gives_its_rate_both_ways() {
        // gap = sigma e^(0.05 t), logged every 10 steps: breaking step t* = ln(level/sigma)/0.05.
        let lambda = 0.05;
        let level = 1e-3;
        let trajectory = |sigma: f64| -> Vec<(usize, f64)> {
            (0..60)
                .map(|i| (i * 10, sigma * (lambda * (i * 10) as f64).exp()))
                .collect()
        };
        let mut broke = Vec::new();
        for sigma in [1e-9, 1e-7, 1e-5] {
            let t = trajectory(sigma);
            assert_relative_eq!(trajectory_rate(&t, level).unwrap(), lambda, epsilon = 1e-9);
            let step = breaking_step(&t, level).unwrap();
            broke.push((sigma.ln(), step as f64));
        }
        let l = fit_line(&broke).unwrap();
        // Logged every 10 steps, so the breaking step is t* rounded up to a multiple of 10.
        assert_relative_eq!(-1.0 / l.slope, lambda, max_relative = 0.1);
        // Control: a gap that stays at its start has rate 0 and never breaks.
        let flat: Vec<(usize, f64)> = (0..10).map(|i| (i, 1e-7)).collect();
        assert_relative_eq!(trajectory_rate(&flat, level).unwrap(), 0.0, epsilon = 1e-12);
        assert_eq!(breaking_step(&flat, level), None);
    }

    /// Runs whose gap is sigma e^(lambda t) at the logged steps 0, 1, 2, 4, ..., 1024 (all 0
    /// for the smallest sigma), through the experiment's records as the report reads them.
    fn lab(lambda: f64) -> ExperimentRuns {
        growth_lab(lambda).e
    }

    fn growth_lab(lambda: f64) -> crate::claims::lab::Lab {
        use crate::claims::lab::{Lab, Story, WRN};
        let steps: Vec<f64> = std::iter::once(0.0)
            .chain((0..11).map(|i| f64::from(1u32 << i)))
            .collect();
        let mut lab = Lab::new("growth-lab", Default::default(), WRN);
        lab.e.plan.growth = Some(Growth {
            rationale: "test".into(),
            macro_gap: 1e-3,
        });
        for sigma in [1e-9, 1e-7, 1e-5, 1e-3] {
            let gaps: Vec<f64> = if sigma < 1e-8 {
                vec![0.0; steps.len()]
            } else {
                steps.iter().map(|t| sigma * (lambda * t).exp()).collect()
            };
            let story = Story::learned(0.8, &gaps);
            let name = format!("sigma {sigma:e}");
            lab = lab.group("wrn", &name, Some(sigma), &[], &[story.clone(), story]);
        }
        lab
    }

    #[test]
    fn the_fit_of_a_group_reads_its_runs_records() {
        let fits = growth_fits(&[lab(0.02)]);
        assert_eq!(fits.len(), 1);
        let f = &fits[0];
        assert_eq!(f.exact_zero_at, vec![1e-9]);
        assert_eq!(f.points.len(), 8);
        assert!(f.flaws.is_empty());
        assert_relative_eq!(
            f.lambda_from_trajectories.unwrap(),
            0.02,
            max_relative = 1e-9
        );
        // Breaking steps on a power-of-two log grid: the line's rate is right to a factor 2.
        let l = f.lambda_from_breaking.unwrap();
        assert!(l > 0.01 && l < 0.04, "{l}");
        assert!(
            f.text().contains("gap exactly 0 at sigma = 1e-9"),
            "{}",
            f.text()
        );
    }

    #[test]
    fn unbroken_runs_stay_off_the_line_and_a_flat_line_has_no_rate() {
        use crate::claims::lab::{Lab, Story};
        // Runs without a breaker (sigma 0) that rounding parted anyway have no ln sigma: they
        // are points of the fit, not of its line.
        let parted = Story::learned(0.8, &[0.0, 1e-7, 1e-5, 2e-3]);
        let e = growth_lab(0.02)
            .group(
                "wrn",
                "sigma 0",
                Some(0.0),
                &[],
                std::slice::from_ref(&parted),
            )
            .e;
        let f = &growth_fits(&[e])[0];
        assert_eq!(f.points.len(), 9);
        assert!(
            f.line.is_some() && f.lambda_from_breaking.is_some(),
            "{}",
            f.text()
        );
        // Every size breaking at the same step: slope exactly 0, which implies no growth rate.
        let mut same = Lab::new("growth-lab", Default::default(), crate::claims::lab::WRN);
        same.e.plan.growth = lab(0.02).plan.growth;
        for sigma in [1e-7, 1e-5, 1e-3] {
            same = same.group(
                "wrn",
                &format!("{sigma}"),
                Some(sigma),
                &[],
                std::slice::from_ref(&parted),
            );
        }
        let f = &growth_fits(&[same.e])[0];
        assert_eq!(f.line.map(|l| l.slope), Some(0.0));
        assert_eq!(f.lambda_from_breaking, None);
    }

    #[test]
    fn a_flawed_run_is_left_out_and_named() {
        use crate::claims::lab::Lab;
        let mut e = lab(0.02);
        let run = Lab::runs_mut(&mut e, "wrn").remove(2);
        run.steps[3].layers.clear();
        let f = &growth_fits(&[e])[0];
        assert_eq!(f.points.len(), 7);
        assert_eq!(f.flaws.len(), 1);
        assert!(f.flaws[0].contains("lists no layers"), "{:?}", f.flaws);
    }

    #[test]
    fn experiments_without_a_growth_table_have_no_fit() {
        let mut e = lab(0.02);
        e.plan.growth = None;
        assert!(growth_fits(&[e]).is_empty());
    }
}
