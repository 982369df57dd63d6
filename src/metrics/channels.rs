//! Channel symmetry of a whole model (ConstNet, K7): how far each layer's weights, batch-norm
//! parameters and activations are from "every channel identical".
use crate::models::Model;
use serde::Serialize;
use tch::Tensor;

/// Largest |t[.., c, ..] - t[.., 0, ..]| along `dim`.
pub fn spread_along(t: &Tensor, dim: i64) -> f64 {
    if t.numel() == 0 || t.size()[dim as usize] < 2 {
        return 0.0;
    }
    let t = t.detach();
    (&t - t.narrow(dim, 0, 1)).abs().max().double_value(&[])
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ChannelSymmetry {
    /// Output-channel spread of every feature layer's weight.
    pub weights: Vec<(String, f64)>,
    /// Spread of every per-channel parameter vector (batch-norm scale and shift, biases).
    pub parameters: Vec<(String, f64)>,
    /// Channel spread of every hidden activation on the probe batch.
    pub activations: Vec<(String, f64)>,
}

impl ChannelSymmetry {
    pub fn max(&self) -> f64 {
        self.weights
            .iter()
            .chain(&self.parameters)
            .chain(&self.activations)
            .map(|(_, v)| *v)
            .fold(0.0, f64::max)
    }
}

/// Measures `model` on the probe batch `x` (activations in `train` mode or not). The head is left
/// out: its outputs are classes, not features.
pub fn channel_symmetry(model: &dyn Model, x: &Tensor, train: bool) -> ChannelSymmetry {
    let _guard = tch::no_grad_guard();
    let weights = model
        .feature_layers()
        .iter()
        .map(|l| (l.name.clone(), spread_along(&l.weight, 0)))
        .collect();
    let mut parameters: Vec<(String, f64)> = model
        .var_store()
        .variables()
        .into_iter()
        .filter(|(name, t)| {
            t.dim() == 1 && !name.starts_with("head.") && !name.contains("running_")
        })
        .map(|(name, t)| (name, spread_along(&t, 0)))
        .collect();
    parameters.sort_by(|a, b| a.0.cmp(&b.0));
    let activations = model
        .activations_t(x, train)
        .into_iter()
        .map(|(n, a)| (n, spread_along(&a, 1)))
        .collect();
    ChannelSymmetry {
        weights,
        parameters,
        activations,
    }
}

/// Root-mean-square deviation of an activation [B, C, ...] from its mean over channels: the size
/// of the inter-channel (symmetry-breaking) part of a signal.
pub fn channel_deviation(t: &Tensor) -> f64 {
    let t = t.detach().to_kind(tch::Kind::Double);
    let mean = t.mean_dim([1i64].as_slice(), true, tch::Kind::Double);
    (&t - mean)
        .square()
        .mean(tch::Kind::Double)
        .sqrt()
        .double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn spread_and_deviation_of_known_activations() {
        let same = Tensor::ones([2, 3, 2], (Kind::Float, tch::Device::Cpu));
        assert_eq!(spread_along(&same, 1), 0.0);
        assert_eq!(channel_deviation(&same), 0.0);
        let t = Tensor::from_slice(&[0.0f32, 1.0, 4.0, 0.0, 1.0, 4.0]).view([2, 3]);
        assert_eq!(spread_along(&t, 1), 4.0);
        assert_eq!(spread_along(&t, 0), 0.0);
        // Channel mean 5/3: deviations -5/3, -2/3, 7/3, rms sqrt(78/27).
        assert!((channel_deviation(&t) - (78.0f64 / 27.0).sqrt()).abs() < 1e-9);
        assert_eq!(
            spread_along(&Tensor::ones([2, 1], (Kind::Float, tch::Device::Cpu)), 1),
            0.0
        );
        let sym = ChannelSymmetry {
            weights: vec![("a".into(), 0.5)],
            parameters: vec![("b".into(), 2.0)],
            activations: vec![("c".into(), 1.0)],
        };
        assert_eq!(sym.max(), 2.0);
    }
}
