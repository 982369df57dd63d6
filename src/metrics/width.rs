//! Effective width of a layer's features.
use tch::Kind;

/// Participation ratio of the eigenvalues of a correlation matrix C: (sum l)^2 / sum l^2
/// = tr(C)^2 / ||C||_F^2. N for orthogonal features, 1 for identical ones.
pub fn participation_ratio(c: &tch::Tensor) -> f64 {
    let tr = c.trace().double_value(&[]);
    let fro2 = c.square().sum(Kind::Double).double_value(&[]);
    if fro2 == 0.0 {
        f64::NAN
    } else {
        tr * tr / fro2
    }
}

/// N / (1 + (N - 1) rho): the number of independent features that N features of mean pairwise
/// correlation rho are worth. A single feature (rho undefined) is worth 1.
pub fn width_from_correlation(n: usize, rho: f64) -> f64 {
    if n < 2 {
        return n as f64;
    }
    n as f64 / (1.0 + (n as f64 - 1.0) * rho)
}
