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

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    #[test]
    fn participation_ratio_counts_orthogonal_features_and_collapses_identical_ones() {
        let opts = (Kind::Double, tch::Device::Cpu);
        assert_eq!(participation_ratio(&Tensor::eye(6, opts)), 6.0);
        assert_eq!(participation_ratio(&Tensor::ones([6, 6], opts)), 1.0);
        assert!(participation_ratio(&Tensor::zeros([3, 3], opts)).is_nan());
        // Two blocks of two identical features: width 2.
        let c = Tensor::from_slice(&[
            1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0,
        ])
        .view([4, 4]);
        assert_eq!(participation_ratio(&c), 2.0);
    }

    #[test]
    fn width_from_correlation_is_n_at_zero_and_one_at_one() {
        assert_eq!(width_from_correlation(1, f64::NAN), 1.0);
        assert_eq!(width_from_correlation(0, 0.3), 0.0);
        assert_eq!(width_from_correlation(4, 0.0), 4.0);
        assert_eq!(width_from_correlation(4, 1.0), 1.0);
        assert_eq!(width_from_correlation(5, 0.25), 2.5);
        // Two features are the fewest with a correlation.
        assert_eq!(width_from_correlation(2, 1.0), 1.0);
    }
}
