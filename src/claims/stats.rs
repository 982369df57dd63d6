//! The statistics the verdicts use: mean and spread over seeds, seed noise between two settings,
//! monotone curves, medians, and Spearman's rank correlation with its critical values.
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
}

impl Point {
    pub fn new(x: f64, accs: Vec<f64>) -> Point {
        let (mean, std) = mean_std(&accs);
        Point { x, accs, mean, std }
    }

    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        self.std / (self.accs.len() as f64).sqrt()
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
    let (ra, rb) = (ranks(a), ranks(b));
    let (ma, _) = mean_std(&ra);
    let (mb, _) = mean_std(&rb);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}
