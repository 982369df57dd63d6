//! Diversity and symmetry measures of weights (DIGEST section 6).
pub mod correlation;
pub mod symmetry;
pub mod width;

pub use correlation::{Correlations, correlation_matrix, correlations, mean_lower_triangle};
pub use symmetry::{SymmetryGap, distinct_features, symmetry_gap, ulp_at, ulp_distance};
pub use width::{participation_ratio, width_from_correlation};

use crate::models::FeatureLayer;
use serde::Serialize;
use tch::Tensor;

/// Everything featdiv measures about one layer's features.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerDiversity {
    pub name: String,
    pub shape: Vec<i64>,
    pub forward: f64,
    pub backward: f64,
    pub all: f64,
    /// -ln|rho_forward|, as the authors logged it.
    pub neg_log_forward: f64,
    pub gap_abs: f64,
    pub gap_ulps: u64,
    pub distinct_exact: usize,
    pub distinct_tol: usize,
    pub width_participation: f64,
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

pub fn layer_diversity(layer: &FeatureLayer) -> LayerDiversity {
    let _guard = tch::no_grad_guard();
    let corr = correlations(&layer.weight);
    let rows = feature_rows(layer);
    let gap = symmetry_gap(&rows, &layer.groups);
    let forward_rows = layer
        .weight
        .detach()
        .to_device(tch::Device::Cpu)
        .reshape([layer.weight.size()[0], -1]);
    let c = correlation_matrix(&forward_rows);
    let n = forward_rows.size()[0] as usize;
    LayerDiversity {
        name: layer.name.clone(),
        shape: layer.weight.size(),
        forward: corr.forward,
        backward: corr.backward,
        all: corr.all,
        neg_log_forward: -corr.forward.abs().ln(),
        gap_abs: gap.abs,
        gap_ulps: gap.ulps,
        distinct_exact: distinct_features(&rows, 0.0),
        distinct_tol: distinct_features(&rows, DISTINCT_REL_TOL),
        width_participation: participation_ratio(&c),
        width_rho: width_from_correlation(n, corr.forward),
    }
}

/// The authors' Diversity: sum over layers of ln sqrt(1 - rho_backward^2).
pub fn diversity(layers: &[LayerDiversity]) -> f64 {
    layers
        .iter()
        .map(|l| (1.0 - l.backward * l.backward).max(0.0).sqrt().ln())
        .sum()
}
