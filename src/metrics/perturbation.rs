//! Perturbation propagation (docs/paper.md, measures): add a small inter-channel perturbation to
//! one layer's activation and measure how much of it reaches every later layer.
use super::channel_deviation;
use crate::files::nan_if_null;
use crate::models::Model;
use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reach {
    pub layer: String,
    /// rms of the inter-channel part of (perturbed - clean) activation.
    #[serde(deserialize_with = "nan_if_null")]
    pub deviation: f64,
    /// `deviation` over the size of the injected perturbation.
    #[serde(deserialize_with = "nan_if_null")]
    pub ratio: f64,
}

/// Injects at activation `at` a perturbation with no channel-mean part, of rms `eps` times the
/// activation's rms, and reports its inter-channel size at `at` and every later activation.
/// The perturbation's direction comes from a fixed-seed generator of its own, so measuring during
/// training leaves libtorch's generator, and so the run's later random draws, untouched.
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
    let z = direction(&a.size()).to_device(a.device());
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

/// Standard normal noise of `shape` from a fixed seed (splitmix64, Box-Muller).
fn direction(shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let mut state: u64 = 0x5EED_F00D;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // (0, 1]: the log below never sees 0.
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    Tensor::from_slice(&values).view(shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MlpInit;
    use crate::models::init::init_mlp;
    use crate::models::mlp::Mlp;

    #[test]
    fn the_direction_is_a_fixed_standard_normal_draw() {
        let d = direction(&[200_000]);
        let mean = d.mean(Kind::Double).double_value(&[]);
        let std = d.std(true).double_value(&[]);
        // A standard normal: the fourth moment is 3.
        let kurtosis = (&d - mean)
            .pow_tensor_scalar(4)
            .mean(Kind::Double)
            .double_value(&[])
            / std.powi(4);
        assert!(
            mean.abs() < 0.01 && (std - 1.0).abs() < 0.01,
            "{mean} {std}"
        );
        assert!((kurtosis - 3.0).abs() < 0.05, "{kurtosis}");
        assert_eq!(direction(&[2, 3]).size(), [2, 3]);
        // Every perturbation record rests on this draw: a changed generator would move them
        // all between versions. The first values, as this generator gave them when recorded.
        let first = Vec::<f32>::try_from(direction(&[4])).unwrap();
        assert_eq!(first, [-1.3913898, 0.8886127, 0.04216711, -0.78099674]);
        // And all 200,000, summed in order in f64: a change below float32 resolution in one
        // uniform draw still moves some value by an ulp.
        let all = Vec::<f32>::try_from(d).unwrap();
        let sum: f64 = all.iter().map(|&v| f64::from(v)).sum();
        assert_eq!(sum, -387.82433564745133);
    }

    #[test]
    fn the_injection_has_the_asked_size_and_a_layer_out_of_range_is_an_error() {
        let _lock = crate::determinism::global_state_lock();
        tch::manual_seed(0);
        let mut m = Mlp::new(tch::Device::Cpu, 4, &[6, 6], 3, 0.0);
        init_mlp(&mut m, MlpInit::He).unwrap();
        let x = Tensor::randn([5, 4], (Kind::Float, tch::Device::Cpu));
        let reach = propagate(&m, &x, 0, 1e-3, false).unwrap();
        assert_eq!(reach.len(), 2);
        assert_eq!(reach[0].layer, "hidden0");
        // (clean + delta) - clean in float32 keeps delta to ulp(clean) / delta ~ 1e-7 / 1e-3.
        assert!((reach[0].ratio - 1.0).abs() < 1e-3, "{reach:?}");
        let clean = m.activations_t(&x, false);
        let rms = clean[0]
            .1
            .square()
            .mean(Kind::Double)
            .sqrt()
            .double_value(&[]);
        assert!(
            (reach[0].deviation / (1e-3 * rms) - 1.0).abs() < 1e-3,
            "{reach:?}"
        );
        assert!(reach[1].ratio > 0.0 && reach[1].ratio.is_finite());
        // Its own generator: the same direction every time.
        assert_eq!(propagate(&m, &x, 0, 1e-3, false).unwrap(), reach);
        let only_last = propagate(&m, &x, 1, 1e-3, false).unwrap();
        assert_eq!(only_last.len(), 1);
        let err = propagate(&m, &x, 2, 1e-3, false).unwrap_err();
        assert!(format!("{err}").contains("out of range"), "{err}");
    }
}
