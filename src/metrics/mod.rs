//! Diversity and symmetry measures of weights and activations (docs/paper.md, measures).
pub mod channels;
pub mod correlation;
pub mod perturbation;
pub mod symmetry;
pub mod width;

pub use channels::{ChannelSymmetry, channel_deviation, channel_symmetry, spread_along};
pub use correlation::{
    Correlations, WeightRows, correlation_matrix, correlations, mean_lower_triangle, rows_rho,
    subsample,
};
pub use perturbation::{Reach, propagate};
pub use symmetry::{SymmetryGap, distinct_features, symmetry_gap, ulp_at, ulp_distance};
pub use width::{participation_ratio, width_from_correlation};

use crate::files::nan_if_null;
use crate::models::FeatureLayer;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Everything featdiv measures about one layer's features.
/// NaN (a correlation of fewer than two rows) is written as null and read back as NaN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerDiversity {
    pub name: String,
    pub shape: Vec<i64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub forward: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub backward: f64,
    /// Kernel-level correlation: costly for wide convs (O*I rows), so only in summaries.
    pub all: Option<f64>,
    /// -ln|rho_forward|, as the authors logged it.
    #[serde(deserialize_with = "nan_if_null")]
    pub neg_log_forward: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub gap_abs: f64,
    pub gap_ulps: u64,
    pub distinct_exact: usize,
    pub distinct_tol: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub width_participation: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub width_rho: f64,
}

/// Tolerance of `distinct_tol`: features closer than this times the largest |weight| count as one.
pub const DISTINCT_REL_TOL: f64 = 1e-4;

/// Rows of a feature layer: weight rows with the bias appended, float32 on the CPU.
pub fn feature_rows(layer: &FeatureLayer) -> Tensor {
    let w = layer
        .weight
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(tch::Kind::Float);
    let w = w.reshape([w.size()[0], -1]);
    match &layer.bias {
        Some(b) => Tensor::cat(
            &[
                w,
                b.detach()
                    .to_device(tch::Device::Cpu)
                    .to_kind(tch::Kind::Float)
                    .unsqueeze(1),
            ],
            1,
        ),
        None => w,
    }
}

/// Every measure of one layer; `with_all` adds the kernel-level correlation.
pub fn layer_diversity(layer: &FeatureLayer, with_all: bool) -> LayerDiversity {
    let _guard = tch::no_grad_guard();
    let weight_rows = WeightRows::of(&layer.weight);
    let forward_corr = correlation_matrix(&subsample(&weight_rows.forward));
    let forward = if weight_rows.forward.size()[1] == 1 {
        1.0
    } else {
        mean_lower_triangle(&forward_corr)
    };
    let rows = feature_rows(layer);
    let gap = symmetry_gap(&rows, &layer.groups);
    LayerDiversity {
        name: layer.name.clone(),
        shape: layer.weight.size(),
        forward,
        backward: rows_rho(&weight_rows.backward),
        all: with_all.then(|| rows_rho(&weight_rows.all)),
        neg_log_forward: -forward.abs().ln(),
        gap_abs: gap.abs,
        gap_ulps: gap.ulps,
        distinct_exact: distinct_features(&rows, 0.0),
        distinct_tol: distinct_features(&rows, DISTINCT_REL_TOL),
        width_participation: participation_ratio(&forward_corr),
        width_rho: width_from_correlation(weight_rows.forward.size()[0] as usize, forward),
    }
}

/// The authors' Diversity: sum over layers of ln sqrt(1 - rho_backward^2).
pub fn diversity(layers: &[LayerDiversity]) -> f64 {
    layers
        .iter()
        .map(|l| (1.0 - l.backward * l.backward).max(0.0).sqrt().ln())
        .sum()
}

/// The largest symmetry gap over `layers`: (absolute, ulps). NaN if any layer's gap is NaN, so
/// a broken record never reads as "no gap".
pub fn largest_gap(layers: &[LayerDiversity]) -> (f64, u64) {
    layers.iter().fold((0.0, 0), |(a, u), l| {
        let a = if a.is_nan() || l.gap_abs.is_nan() {
            f64::NAN
        } else {
            a.max(l.gap_abs)
        };
        (a, u.max(l.gap_ulps))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(gap: f64, ulps: u64, backward: f64) -> LayerDiversity {
        LayerDiversity {
            name: "l".into(),
            shape: vec![2, 2],
            forward: 0.0,
            backward,
            all: None,
            neg_log_forward: 0.0,
            gap_abs: gap,
            gap_ulps: ulps,
            distinct_exact: 2,
            distinct_tol: 2,
            width_participation: 2.0,
            width_rho: 2.0,
        }
    }

    fn dense(name: &str, weight: Tensor, groups: Vec<usize>) -> FeatureLayer {
        FeatureLayer {
            name: name.into(),
            weight,
            bias: None,
            groups,
        }
    }

    #[test]
    fn layer_diversity_reads_random_rows_as_diverse_and_copies_as_one_feature() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        let opts = (tch::Kind::Float, tch::Device::Cpu);
        tch::manual_seed(0);
        // Independent 64-dimensional rows: correlations of size 1/8, their mean near 0.
        let random = layer_diversity(
            &dense("r", Tensor::randn([32, 64], opts), (0..32).collect()),
            false,
        );
        assert!(random.forward.abs() < 0.1, "{}", random.forward);
        assert!(
            random.width_participation > 8.0,
            "{}",
            random.width_participation
        );
        assert_eq!(random.distinct_exact, 32);
        let copies = Tensor::randn([1, 64], opts).repeat([32, 1]);
        let tied = layer_diversity(&dense("t", copies, vec![0; 32]), false);
        assert!((tied.forward - 1.0).abs() < 1e-6, "{}", tied.forward);
        assert!((tied.width_participation - 1.0).abs() < 1e-6);
        assert_eq!((tied.distinct_exact, tied.gap_abs), (1, 0.0));
    }

    #[test]
    fn the_largest_gap_never_drops_a_nan() {
        assert_eq!(
            largest_gap(&[layer(1e-3, 5, 0.0), layer(2e-3, 3, 0.0)]),
            (2e-3, 5)
        );
        assert!(
            largest_gap(&[layer(f64::NAN, 0, 0.0), layer(1.0, 1, 0.0)])
                .0
                .is_nan()
        );
        assert!(
            largest_gap(&[layer(1.0, 1, 0.0), layer(f64::NAN, 0, 0.0)])
                .0
                .is_nan()
        );
        assert_eq!(largest_gap(&[]), (0.0, 0));
    }

    #[test]
    fn the_authors_diversity_sums_ln_sqrt_one_minus_rho_squared() {
        let d = diversity(&[layer(0.0, 0, 0.6), layer(0.0, 0, 0.0)]);
        assert!((d - 0.8f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn a_layers_diversity_with_its_bias() {
        let weight = tch::Tensor::from_slice(&[1.0f32, 2.0, 1.0, 2.0, 3.0, 1.0]).view([3, 2]);
        let bias = tch::Tensor::from_slice(&[0.5f32, 0.5, 0.0]);
        let l = FeatureLayer {
            name: "h".into(),
            weight,
            bias: Some(bias),
            groups: vec![0, 0, 1],
        };
        assert_eq!(feature_rows(&l).size(), [3, 3]);
        let d = layer_diversity(&l, true);
        assert_eq!((d.gap_abs, d.distinct_exact), (0.0, 2));
        assert!(d.all.is_some());
        assert_eq!(d.shape, [3, 2]);
        assert!((d.neg_log_forward + d.forward.abs().ln()).abs() < 1e-12);
        assert_eq!(layer_diversity(&l, false).all, None);
    }
}
