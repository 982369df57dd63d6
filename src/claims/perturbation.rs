//! Perturbation propagation (DIGEST section 6): add a small inter-channel perturbation to one
//! layer's activation and measure how much of it reaches every later layer.
use crate::metrics::channel_deviation;
use crate::models::Model;
use anyhow::{Result, ensure};
use serde::Serialize;
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    pub layer: String,
    /// rms of the inter-channel part of (perturbed - clean) activation.
    pub deviation: f64,
    /// `deviation` over the size of the injected perturbation.
    pub ratio: f64,
}

/// Injects at activation `at` a perturbation with no channel-mean part, of rms `eps` times the
/// activation's rms, and reports its inter-channel size at `at` and every later activation.
pub fn propagate(
    model: &dyn Model,
    x: &Tensor,
    at: usize,
    eps: f64,
    train: bool,
) -> Result<Vec<Reach>> {
    let _guard = tch::no_grad_guard();
    let clean = model.activations_t(x, train);
    ensure!(
        at < clean.len(),
        "perturbation layer {at} out of range: the model has {} activations",
        clean.len()
    );
    let a = &clean[at].1;
    let z = a.randn_like();
    let z = &z - z.mean_dim([1i64].as_slice(), true, Kind::Float);
    let rms = |t: &Tensor| t.square().mean(Kind::Double).sqrt().double_value(&[]);
    let delta = &z * (eps * rms(a).max(f64::MIN_POSITIVE) / rms(&z));
    let size = channel_deviation(&delta);
    let perturbed = model.perturbed_activations_t(x, train, Some((at, &delta)));
    Ok(clean
        .iter()
        .zip(&perturbed)
        .skip(at)
        .map(|((name, c), (_, p))| {
            let deviation = channel_deviation(&(p - c));
            Reach {
                layer: name.clone(),
                deviation,
                ratio: deviation / size,
            }
        })
        .collect())
}
