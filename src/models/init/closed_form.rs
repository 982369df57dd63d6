//! ConstNet's signal at init in closed form (docs/paper.md, ConstNet): what the K6 property
//! checks the network against.
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

#[cfg(test)]
mod tests {
    #[test]
    fn constnet_closed_form_matches_the_network_and_not_he() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        // The library's own check of the closed form (the property over random shapes is in
        // tests/it/claim_k6_constnet_init.rs): same float32 batch norms in another order, a few
        // ulps.
        use crate::config::WrnInit;
        use crate::models::wrn::{Wrn, WrnShape};
        use tch::{Device, Kind, Tensor};
        // The second input is small, so that batch norm's 1e-5 shows in its variance.
        for (widen, size, scale) in [(1, 16, 2.0), (2, 12, 0.01)] {
            let shape = WrnShape {
                depth: 10,
                widen,
                in_channels: 3,
                ..WrnShape::default()
            };
            let features = |init, x: &Tensor| {
                tch::manual_seed(0);
                let mut w = Wrn::new(Device::Cpu, &shape).unwrap();
                crate::models::init::init_wrn(&mut w, init).unwrap();
                w.features_t(x, true)
            };
            tch::manual_seed(1);
            let x = Tensor::randn([6, 3, size, size], (Kind::Float, Device::Cpu)) * scale + 0.5;
            let closed = super::constnet_features_closed_form(&x, widen).unsqueeze(1);
            let err = |f: Tensor| (f - &closed).abs().max().double_value(&[]);
            let own = err(features(WrnInit::ConstNet, &x));
            assert!(own <= 1e-5, "widen {widen}: closed form off by {own}");
            assert!(
                err(features(WrnInit::He, &x)) > 1e-3,
                "widen {widen}: He fits it"
            );
            assert!(
                closed.abs().max().double_value(&[]) > 0.1,
                "a feature of size O(1)"
            );
        }
    }
}
