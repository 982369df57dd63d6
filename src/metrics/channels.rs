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
        // Two channels are the fewest with a spread; no entries, no spread.
        let two = Tensor::from_slice(&[1.0f32, 3.0]).view([2, 1]);
        assert_eq!(spread_along(&two, 0), 2.0);
        let empty = Tensor::zeros([3, 0], (Kind::Float, tch::Device::Cpu));
        assert_eq!(spread_along(&empty, 0), 0.0);
    }

    #[test]
    fn constnet_is_channel_symmetric_in_every_part_and_he_is_not() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        use crate::config::WrnInit;
        use crate::models::wrn::{Wrn, WrnShape};
        let shape = WrnShape {
            depth: 10,
            widen: 1,
            in_channels: 3,
            ..WrnShape::default()
        };
        tch::manual_seed(2);
        let x = Tensor::randn([4, 3, 8, 8], (Kind::Float, tch::Device::Cpu));
        let measure = |init| {
            tch::manual_seed(0);
            let mut w = Wrn::new(tch::Device::Cpu, &shape).unwrap();
            crate::models::init::init_wrn(&mut w, init).unwrap();
            channel_symmetry(&w, &x, true)
        };
        let c = measure(WrnInit::ConstNet);
        assert!(!c.weights.is_empty() && !c.activations.is_empty());
        // Batch-norm scales and shifts, not the head's bias nor the running statistics.
        assert!(
            c.parameters.iter().any(|(n, _)| n.contains("bn")),
            "{:?}",
            c.parameters
        );
        assert!(
            c.parameters
                .iter()
                .all(|(n, _)| !n.starts_with("head.") && !n.contains("running_")),
            "{:?}",
            c.parameters
        );
        assert_eq!(c.max(), 0.0, "{c:?}");
        let he = measure(WrnInit::He);
        assert!(he.weights.iter().all(|(_, s)| *s > 0.0), "{he:?}");
        assert!(he.activations.iter().all(|(_, s)| *s > 0.0), "{he:?}");
        assert_eq!(he.parameters.len(), c.parameters.len());
    }
}
