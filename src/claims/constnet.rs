//! ConstNet at init (K6): the signal-propagation closed form of DIGEST section 3.
use tch::{Kind, Tensor};

/// Batch norm in training mode at init (scale 1, shift 0): batch statistics, biased variance.
fn bn_train(s: &Tensor) -> Tensor {
    let mean = s.mean_dim([0i64, 2, 3].as_slice(), true, Kind::Float);
    let var = s.var_correction([0i64, 2, 3].as_slice(), tch::Scalar::int(0), true);
    (s - mean) / (var + 1e-5).sqrt()
}

/// ConstNet's pre-classifier feature at init, per sample [B], identical for every channel:
/// s0 = the mean over colours; then ReLU(BN(.)) and stride-2 subsampling at each group transition
/// (and at the widening of group 1 when widen > 1); then the mean over space of ReLU(s). Depth
/// never acts on the signal: identity blocks add a zero residual.
pub fn constnet_features_closed_form(x: &Tensor, widen: usize) -> Tensor {
    let mut s = x.mean_dim([1i64].as_slice(), true, Kind::Float);
    for (group, stride) in [(1, 1), (2, 2), (3, 2)] {
        if group > 1 || widen > 1 {
            s = bn_train(&s).relu();
            if stride == 2 {
                s = s.slice(2, 0, None, 2).slice(3, 0, None, 2);
            }
        }
    }
    s.relu()
        .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
}

/// Trains `cfg` on `ds` and returns, at every logged step, the largest symmetry gap over the
/// feature layers (0 while every group of features that started identical still is).
pub fn gap_trajectory(
    cfg: &crate::config::Config,
    ds: &crate::data::Dataset,
    device: tch::Device,
) -> anyhow::Result<Vec<(usize, f64)>> {
    let mut gaps = Vec::new();
    crate::train::train(cfg, ds, device, &mut |e| {
        if let crate::train::Event::Step(r) = e {
            gaps.push((
                r.step,
                r.layers.iter().map(|l| l.gap_abs).fold(0.0, f64::max),
            ));
        }
        Ok(())
    })?;
    Ok(gaps)
}
