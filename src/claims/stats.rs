//! The statistics the verdicts use: mean and spread over seeds with a floor at the test set's
//! binomial noise, Welch's t with one-sided p-values, Holm's step-down over a family, exact
//! binomial bounds, medians, and Spearman's rank correlation with its p-value
//! (docs/judging.md says which claim uses which).
use serde::Serialize;

/// Mean and sample standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// One point of a curve: accuracies over seeds at one setting.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub x: f64,
    pub accs: Vec<f64>,
    pub mean: f64,
    pub std: f64,
    /// The least standard deviation one value can have whatever the seeds show: for an accuracy
    /// on N test images, its binomial noise sqrt(p (1 - p) / N). 0: no floor.
    #[serde(skip)]
    pub floor: f64,
}

impl Point {
    pub fn new(x: f64, accs: Vec<f64>) -> Point {
        let (mean, std) = mean_std(&accs);
        Point {
            x,
            accs,
            mean,
            std,
            floor: 0.0,
        }
    }

    /// Accuracies on `n_test` test images each: the floor is their mean binomial variance, so
    /// seeds that agree to the last digit still carry the noise of a finite test set.
    pub fn accuracies(x: f64, accs: Vec<f64>, n_test: usize) -> Point {
        let binomial = accs.iter().map(|p| p * (1.0 - p)).sum::<f64>()
            / (accs.len().max(1) * n_test.max(1)) as f64;
        Point {
            floor: binomial.sqrt(),
            ..Point::new(x, accs)
        }
    }

    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        self.std / (self.accs.len() as f64).sqrt()
    }

    /// The variance of the mean, the spread floored at `floor`.
    pub fn mean_var(&self) -> f64 {
        self.std.max(self.floor).powi(2) / self.accs.len() as f64
    }
}

/// Seed noise allowed between two points: 3 combined standard errors, at least `floor`.
pub fn noise(a: &Point, b: &Point, floor: f64) -> f64 {
    (3.0 * (a.se().powi(2) + b.se().powi(2)).sqrt()).max(floor)
}

/// Ok if the curve never falls by more than seed noise from one point to the next; else the
/// first offending pair.
pub fn monotone_within_noise(curve: &[Point], floor: f64) -> Result<(), String> {
    for w in curve.windows(2) {
        let drop = w[0].mean - w[1].mean;
        if drop > noise(&w[0], &w[1], floor) {
            return Err(format!(
                "accuracy falls from {:.4} at x={} to {:.4} at x={} (noise allowance {:.4})",
                w[0].mean,
                w[0].x,
                w[1].mean,
                w[1].x,
                noise(&w[0], &w[1], floor)
            ));
        }
    }
    Ok(())
}

/// Smallest x whose mean accuracy is within `margin` of `baseline`.
pub fn threshold(curve: &[Point], baseline: f64, margin: f64) -> Option<f64> {
    curve
        .iter()
        .find(|p| p.mean >= baseline - margin)
        .map(|p| p.x)
}

/// The median of the finite values (the upper one of an even count); NaN if there are none.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One-sided 5% critical value of Spearman's rho for n pairs (exact tables; Zar 1972); above
/// 10 pairs the normal approximation 1.645 / sqrt(n - 1). Fewer than 5 pairs cannot reach it.
pub fn spearman_critical(n: usize) -> f64 {
    match n {
        0..=4 => f64::INFINITY,
        5 => 0.900,
        6 => 0.829,
        7 => 0.714,
        8 => 0.643,
        9 => 0.600,
        10 => 0.564,
        _ => 1.645 / ((n - 1) as f64).sqrt(),
    }
}

/// Ranks from 0, ties sharing their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (average ranks for ties).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp() / a;
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = 1.0 / if d.abs() < tiny { tiny } else { d };
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            d = 1.0 / if d.abs() < tiny { tiny } else { d };
            c = 1.0 + numerator / c;
            c = if c.abs() < tiny { tiny } else { c };
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f
}

/// P(T <= t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile (p in (0.5, 1)) of Student's t with `df` degrees of freedom: bracketed by
/// doubling, then bisected to machine precision.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0);
    while t_cdf(hi, df) < p && hi < 1e12 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A difference of means with its one-sided confidence bounds: the true difference is above `lo`
/// (and, separately, below `hi`) with the stated confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub diff: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// `diff [lo, hi]` to three decimals.
    pub fn text(&self) -> String {
        format!("{:+.3} [{:+.3}, {:+.3}]", self.diff, self.lo, self.hi)
    }
}

/// The mean of `a` with one-sided bounds at `confidence` (Student's t, n - 1 degrees), for
/// figures: a group without spread is drawn as a point. Verdicts use `Welch`, which never
/// reads zero spread as certainty.
pub fn mean_interval(a: &[f64], confidence: f64) -> Interval {
    let (m, s) = mean_std(a);
    if a.len() < 2 {
        return Interval {
            diff: m,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        };
    }
    let half = t_quantile(confidence, (a.len() - 1) as f64) * s / (a.len() as f64).sqrt();
    Interval {
        diff: m,
        lo: m - half,
        hi: m + half,
    }
}

/// A difference of two group means as Welch's t sees it: the estimate, its standard error and
/// its degrees of freedom. A standard error of 0 or of infinity (a group of one value, or no
/// spread and no floor) means no noise was measured: every bound is infinite and every p-value
/// 1, so zero spread never reads as certainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Welch {
    pub diff: f64,
    pub se: f64,
    pub df: f64,
}

impl Welch {
    /// mean(a) - mean(b); each group's variance is at least its floor (`Point::floor`).
    pub fn of(a: &Point, b: &Point) -> Welch {
        let diff = a.mean - b.mean;
        if a.accs.len() < 2 || b.accs.len() < 2 {
            return Welch {
                diff,
                se: f64::INFINITY,
                df: 1.0,
            };
        }
        let (va, vb) = (a.mean_var(), b.mean_var());
        let df = (va + vb).powi(2)
            / (va * va / (a.accs.len() - 1) as f64 + vb * vb / (b.accs.len() - 1) as f64);
        Welch {
            diff,
            se: (va + vb).sqrt(),
            df,
        }
    }

    fn measured(&self) -> bool {
        self.se.is_finite() && self.se > 0.0 && self.diff.is_finite()
    }

    /// One-sided p-value of H0: true difference <= `t` against H1: above it.
    pub fn p_above(&self, t: f64) -> f64 {
        if !self.measured() {
            return 1.0;
        }
        1.0 - t_cdf((self.diff - t) / self.se, self.df)
    }

    /// One-sided p-value of H0: true difference >= `t` against H1: below it.
    pub fn p_below(&self, t: f64) -> f64 {
        if !self.measured() {
            return 1.0;
        }
        t_cdf((self.diff - t) / self.se, self.df)
    }

    /// The one-sided bounds at `confidence` (each alone; together a two-sided interval at
    /// 2 confidence - 1).
    pub fn interval(&self, confidence: f64) -> Interval {
        if !self.measured() {
            return Interval {
                diff: self.diff,
                lo: f64::NEG_INFINITY,
                hi: f64::INFINITY,
            };
        }
        let half = t_quantile(confidence, self.df) * self.se;
        Interval {
            diff: self.diff,
            lo: self.diff - half,
            hi: self.diff + half,
        }
    }
}

/// Holm's step-down: which of the hypotheses with p-values `p` are rejected with the family-wise
/// error at most `alpha` (Holm 1979). A NaN p-value is never rejected.
pub fn holm(p: &[f64], alpha: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut rejected = vec![false; p.len()];
    for (rank, &i) in order.iter().enumerate() {
        if p[i].is_nan() || p[i] > alpha / (p.len() - rank) as f64 {
            break;
        }
        rejected[i] = true;
    }
    rejected
}

/// The p-value of an intersection-union test (every component must be rejected): its largest
/// component p-value (Berger 1982); 1 for no components.
pub fn all_of(p: &[f64]) -> f64 {
    if p.is_empty() {
        return 1.0;
    }
    p.iter()
        .copied()
        .fold(0.0, |a, b| if b.is_nan() { 1.0 } else { a.max(b) })
}

/// Exact binomial test of a fraction: `k` successes in `n` trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Binomial {
    pub k: usize,
    pub n: usize,
}

impl Binomial {
    /// P(X >= k | pi0): the p-value of H0: fraction <= pi0 against H1: above it.
    pub fn p_above(&self, pi0: f64) -> f64 {
        if self.k == 0 {
            return 1.0;
        }
        incomplete_beta(pi0, self.k as f64, (self.n - self.k + 1) as f64)
    }

    /// P(X <= k | pi0): the p-value of H0: fraction >= pi0 against H1: below it.
    pub fn p_below(&self, pi0: f64) -> f64 {
        if self.k >= self.n {
            return 1.0;
        }
        1.0 - incomplete_beta(pi0, (self.k + 1) as f64, (self.n - self.k) as f64)
    }

    /// Clopper-Pearson one-sided bounds at `confidence`: the fraction is above `lo` (and,
    /// separately, below `hi`) with that confidence.
    pub fn bounds(&self, confidence: f64) -> (f64, f64) {
        let alpha = 1.0 - confidence;
        let solve = |f: &dyn Fn(f64) -> f64| {
            // f rises from 0 to 1 in pi; bisect f(pi) = alpha.
            let (mut lo, mut hi) = (0.0, 1.0);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if f(mid) < alpha { lo = mid } else { hi = mid }
            }
            0.5 * (lo + hi)
        };
        let lo = if self.k == 0 {
            0.0
        } else {
            solve(&|pi| self.p_above(pi))
        };
        let hi = if self.k >= self.n {
            1.0
        } else {
            1.0 - solve(&|q| self.p_below(1.0 - q))
        };
        (lo, hi)
    }
}

/// Permutations of a Spearman test: a p-value resolved to 1 / 2001.
pub const PERMUTATIONS: usize = 2000;

/// One-sided p-value of Spearman's rho(x, y) below 0 (`negative`) or above 0, by a permutation
/// test (Monte Carlo, `PERMUTATIONS` shuffles of y's ranks from a fixed seed, so a verdict
/// repeats): exact in size with ties in x (codes that share a count, seeds that share a
/// setting), where the t approximation is not (calibration measured it above its level).
/// 1 for fewer than 4 pairs or no variation.
pub fn spearman_p(x: &[f64], y: &[f64], negative: bool) -> f64 {
    let rho = spearman(x, y);
    if x.len() < 4 || !rho.is_finite() {
        return 1.0;
    }
    let (rx, mut ry) = (ranks(x), ranks(y));
    let sign = if negative { -1.0 } else { 1.0 };
    let mut rng = super::rng::Rng::new(0x5eed);
    let mut as_extreme = 0;
    for _ in 0..PERMUTATIONS {
        for i in (1..ry.len()).rev() {
            ry.swap(i, rng.below(i + 1));
        }
        // A hair of tolerance: a permutation that ties the observed rho counts as extreme.
        if sign * pearson(&rx, &ry) >= sign * rho - 1e-12 {
            as_extreme += 1;
        }
    }
    (1 + as_extreme) as f64 / (1 + PERMUTATIONS) as f64
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, _) = mean_std(a);
    let (mb, _) = mean_std(b);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[cfg(test)]
mod tests {
    //! Against scipy 1.17 (stats.t, special.betainc, special.gammaln) and hand computations.
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn t_quantiles_match_scipy() {
        for (p, df, want) in [
            (0.95, 1.0, 6.313751514675037),
            (0.95, 2.0, 2.9199855803537242),
            (0.95, 5.0, 2.0150483733330233),
            (0.95, 10.0, 1.8124611228116756),
            (0.975, 30.0, 2.0422724563012378),
            (0.99, 4.0, 3.746947387979196),
            (0.95, 2.7, 2.4638889362708496),
        ] {
            close(t_quantile(p, df), want, 1e-6);
        }
        close(t_cdf(2.0, 3.0), 0.9303370157205785, 1e-9);
        close(t_cdf(-1.5, 7.5), 0.08724028529323204, 1e-9);
        close(t_cdf(0.0, 4.0), 0.5, 1e-12);
    }

    #[test]
    fn special_functions_match_scipy() {
        close(incomplete_beta(0.3, 2.5, 1.5), 0.08894372317066562, 1e-10);
        close(incomplete_beta(0.9, 0.5, 3.0), 0.9996750253207289, 1e-10);
        close(incomplete_beta(0.4, 1.0, 1.0), 0.4, 1e-12);
        assert_eq!(incomplete_beta(0.0, 2.0, 2.0), 0.0);
        assert_eq!(incomplete_beta(1.0, 2.0, 2.0), 1.0);
        close(ln_gamma(7.3), 7.147892523022249, 1e-10);
        close(ln_gamma(0.2), 1.5240638224307845, 1e-10);
        close(ln_gamma(5.0), 24f64.ln(), 1e-12);
    }

    #[test]
    fn welch_matches_scipy_and_never_reads_zero_spread_as_certainty() {
        let (a, b) = (
            Point::new(0.0, vec![0.81, 0.82, 0.80, 0.83]),
            Point::new(0.0, vec![0.70, 0.75, 0.72]),
        );
        let w = Welch::of(&a, &b);
        let i = w.interval(0.95);
        close(i.diff, 0.09166666666666667, 1e-12);
        close(i.lo, 0.053103617764291663, 1e-6);
        close(i.hi, 0.13022971556904167, 1e-6);
        assert_eq!(i.text(), "+0.092 [+0.053, +0.130]");
        // scipy.stats.ttest_ind(equal_var=False, alternative="greater"), shifted by 0.05.
        close(w.p_above(0.0), 0.00628169387525452, 1e-7);
        close(w.p_above(-0.05), 0.0019585651639593043, 1e-7);
        close(w.p_below(0.0), 1.0 - 0.00628169387525452, 1e-7);
        // No spread and no floor: nothing measured, so no bound and no rejection.
        let flat = Welch::of(
            &Point::new(0.0, vec![0.25, 0.25]),
            &Point::new(0.0, vec![0.5, 0.5]),
        );
        assert!(flat.interval(0.95).lo.is_infinite() && flat.interval(0.95).hi.is_infinite());
        assert_eq!((flat.p_above(-1.0), flat.p_below(1.0)), (1.0, 1.0));
        // One value: no spread measured either.
        let one = Welch::of(&Point::new(0.0, vec![0.5]), &b);
        assert!(one.interval(0.95).lo.is_infinite());
        // Accuracies on 100 test images: the floor is their binomial noise.
        let floored = Point::accuracies(0.0, vec![0.5, 0.5], 100);
        close(floored.floor, 0.05, 1e-12);
        close(floored.mean_var(), 0.05f64.powi(2) / 2.0, 1e-15);
        let w = Welch::of(&floored, &Point::accuracies(0.0, vec![0.9, 0.9], 100));
        close(w.se, (0.0025f64 / 2.0 + 0.0009 / 2.0).sqrt(), 1e-12);
        assert!(w.interval(0.95).hi < 0.0);
        let m = mean_interval(&[1.0, 2.0, 3.0], 0.95);
        close(m.diff, 2.0, 1e-12);
        close(m.hi - m.diff, 2.9199855803537242 / 3f64.sqrt(), 1e-6);
    }

    #[test]
    fn holm_steps_down_and_intersection_takes_the_largest_p() {
        // alpha 0.05 over 4: 0.01 <= 0.0125, 0.015 <= 0.0167, 0.03 > 0.025 stops.
        assert_eq!(
            holm(&[0.03, 0.01, 0.04, 0.015], 0.05),
            [false, true, false, true]
        );
        assert_eq!(holm(&[0.04, 0.04], 0.05), [false, false]);
        assert_eq!(holm(&[0.02, 0.04], 0.05), [true, true]);
        assert_eq!(holm(&[f64::NAN, 0.001], 0.05), [false, true]);
        assert!(holm(&[], 0.05).is_empty());
        assert_eq!(all_of(&[0.01, 0.2, 0.03]), 0.2);
        assert_eq!(all_of(&[]), 1.0);
        assert_eq!(all_of(&[0.01, f64::NAN]), 1.0);
    }

    #[test]
    fn binomial_bounds_and_p_values_match_scipy() {
        let b = Binomial { k: 7, n: 10 };
        close(b.p_above(0.5), 0.171875, 1e-10);
        close(Binomial { k: 2, n: 10 }.p_below(0.5), 0.0546875, 1e-10);
        // scipy.stats.binomtest(7, 10).proportion_ci(0.90, "exact"): one-sided 95% each.
        let (lo, hi) = b.bounds(0.95);
        close(lo, 0.39337578389442357, 1e-9);
        close(hi, 0.9127355660858497, 1e-9);
        assert_eq!(Binomial { k: 0, n: 5 }.bounds(0.95).0, 0.0);
        assert_eq!(Binomial { k: 5, n: 5 }.bounds(0.95).1, 1.0);
        assert_eq!(Binomial { k: 0, n: 5 }.p_above(0.1), 1.0);
        assert_eq!(Binomial { k: 5, n: 5 }.p_below(0.9), 1.0);
    }

    #[test]
    fn spearman_and_its_critical_values() {
        close(
            spearman(
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                &[0.1, 0.3, 0.2, 0.5, 0.6, 0.9],
            ),
            0.942857142857143,
            1e-12,
        );
        // Zar's table, entry by entry, then the normal approximation.
        let table = [0.900, 0.829, 0.714, 0.643, 0.600, 0.564];
        for (n, want) in (5..=10).zip(table) {
            assert_eq!(spearman_critical(n), want, "n = {n}");
        }
        close(spearman_critical(11), 1.645 / 10f64.sqrt(), 1e-15);
        assert!(spearman_critical(4).is_infinite());
    }

    #[test]
    fn ranks_count_from_zero_and_ties_share_their_average() {
        assert_eq!(ranks(&[3.0, 1.0, 2.0, 1.0]), [3.0, 0.5, 2.0, 0.5]);
        assert_eq!(ranks(&[5.0, 5.0, 5.0]), [1.0, 1.0, 1.0]);
    }

    #[test]
    fn seed_noise_combines_standard_errors_and_a_drop_of_exactly_it_is_allowed() {
        // Standard errors 0.1 and 0.2: 3 sqrt(0.01 + 0.04).
        let a = Point::new(1.0, vec![0.2, 0.4]);
        let b = Point::new(2.0, vec![0.5, 0.9]);
        close(noise(&a, &b, 0.0), 3.0 * 0.05f64.sqrt(), 1e-12);
        assert_eq!(noise(&a, &b, 1.0), 1.0);
        // No spread: the floor alone, and a fall of exactly the floor is still within noise.
        let (hi, lo) = (
            Point::new(1.0, vec![0.5, 0.5]),
            Point::new(2.0, vec![0.25, 0.25]),
        );
        assert_eq!(
            monotone_within_noise(&[hi.clone(), lo.clone()], 0.25),
            Ok(())
        );
        assert!(monotone_within_noise(&[hi, lo], 0.125).is_err());
    }

    #[test]
    fn means_medians_and_points() {
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
        assert_eq!(mean_std(&[4.0]), (4.0, 0.0));
        assert_eq!(median(vec![3.0, f64::NAN, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(vec![f64::NAN]).is_nan());
        let p = Point::new(1.0, vec![0.2, 0.4]);
        close(p.se(), p.std / 2f64.sqrt(), 1e-15);
        let a = Point::new(1.0, vec![0.5, 0.5]);
        let b = Point::new(2.0, vec![0.4, 0.4]);
        assert_eq!(noise(&a, &b, 0.02), 0.02);
        assert!(monotone_within_noise(&[a.clone(), b.clone()], 0.02).is_err());
        assert!(monotone_within_noise(&[b.clone(), a.clone()], 0.02).is_ok());
        assert_eq!(threshold(&[b.clone(), a], 0.52, 0.05), Some(1.0));
        assert_eq!(threshold(&[b], 0.52, 0.05), None);
    }
}
