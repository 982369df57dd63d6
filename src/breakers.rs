//! Symmetry breakers: noise at init, dropout (in the model), and noise on every gradient.
use crate::models::FeatureLayer;
use crate::models::init::he_std;
use tch::Tensor;

/// W += eps * Z * std_He on the incoming weights of every feature layer (docs/paper.md, the toy
/// model).
pub fn add_init_noise(layers: &[FeatureLayer], eps: f64) {
    if eps == 0.0 {
        return;
    }
    let _guard = tch::no_grad_guard();
    for layer in layers {
        let fan_in: i64 = layer.weight.size()[1..].iter().product();
        let noise = layer.weight.randn_like() * (eps * he_std(fan_in, false));
        let mut w = layer.weight.shallow_clone();
        let _ = w.g_add_(&noise);
    }
}

/// g += rel * |g| * z, elementwise: noise of the size of a reordered float32 reduction's error
/// at rel = 2^-24, larger above it. Zero gradients stay zero.
pub fn add_grad_noise(vars: &[Tensor], rel: f64) {
    if rel == 0.0 {
        return;
    }
    let _guard = tch::no_grad_guard();
    for v in vars {
        let mut g = v.grad();
        if g.defined() {
            let noise = g.abs() * g.randn_like() * rel;
            let _ = g.g_add_(&noise);
        }
    }
}
