//! The WRN inits do what their papers say: He ("varnet") fan-out stds, constnet+residual,
//! delta-orthogonal centre taps, ZerO's identity / Hadamard taps, Fixup without normalization.
use featdiv::config::WrnInit;
use featdiv::metrics::{distinct_features, spread_along};
use featdiv::models::Model;
use featdiv::models::init::{init_wrn, zero_o_matrix};
use featdiv::models::wrn::{Wrn, WrnShape};
use tch::{Device, Kind, Tensor};

fn wrn(init: WrnInit, widen: usize, channels: i64) -> Wrn {
    skeleton(init, widen, channels, init != WrnInit::Fixup).unwrap()
}

fn skeleton(
    init: WrnInit,
    widen: usize,
    in_channels: i64,
    normalization: bool,
) -> anyhow::Result<Wrn> {
    let shape = WrnShape {
        widen,
        in_channels,
        normalization,
        ..WrnShape::default()
    };
    tch::manual_seed(0);
    let mut w = Wrn::new(Device::Cpu, &shape)?;
    init_wrn(&mut w, init)?;
    Ok(w)
}

fn centre(w: &Tensor) -> Tensor {
    let (_, _, kh, kw) = w.size4().unwrap();
    w.narrow(2, kh / 2, 1)
        .narrow(3, kw / 2, 1)
        .squeeze_dim(3)
        .squeeze_dim(2)
}

fn off_centre_max(w: &Tensor) -> f64 {
    let (_, _, kh, kw) = w.size4().unwrap();
    let mask = Tensor::ones([kh, kw], (Kind::Float, Device::Cpu));
    let _ = mask.get(kh / 2).get(kw / 2).fill_(0.0);
    (w * mask).abs().max().double_value(&[])
}

#[test]
fn he_uses_the_authors_fan_out_stds() {
    let _turn = featdiv::determinism::global_state_lock();
    let net = wrn(WrnInit::He, 4, 3);
    let conv = &net.blocks[5].conv.ws; // 128 -> 128, 3x3
    let want = 2f64.sqrt() * (1.0f64 / (9.0 * 128.0)).sqrt();
    let got = conv.std(true).double_value(&[]);
    assert!((got - want).abs() < 0.02 * want, "{got} vs {want}");
    let stem_want = (1.0f64 / (9.0 * 16.0)).sqrt();
    let stem = net.stem.ws.std(true).double_value(&[]);
    assert!(
        (stem - stem_want).abs() < 0.15 * stem_want,
        "{stem} vs {stem_want}"
    );
    assert_eq!(
        net.head.ws.abs().max().double_value(&[]),
        0.0,
        "the head stays 0"
    );
}

#[test]
fn constnet_residual_keeps_constnet_stem_and_shortcuts() {
    let _turn = featdiv::determinism::global_state_lock();
    let net = wrn(WrnInit::ConstNetResidual { scale: 0.5 }, 2, 3);
    assert_eq!(spread_along(&net.stem.ws, 0), 0.0);
    for b in &net.blocks {
        if let Some(s) = &b.shortcut {
            assert_eq!(spread_along(&s.ws, 0), 0.0);
        }
        assert!(spread_along(&b.conv.ws, 0) > 0.0, "random residual convs");
    }
}

#[test]
fn delta_orthogonal_centre_taps_are_orthogonal() {
    let _turn = featdiv::determinism::global_state_lock();
    let net = wrn(WrnInit::DeltaOrthogonal, 2, 3);
    for f in net.feature_layers() {
        assert_eq!(
            off_centre_max(&f.weight),
            0.0,
            "{}: zero off the centre",
            f.name
        );
        let c = centre(&f.weight).to_kind(Kind::Double);
        let (o, i) = c.size2().unwrap();
        let gram = if o <= i {
            c.matmul(&c.tr())
        } else {
            c.tr().matmul(&c)
        };
        let eye = Tensor::eye(o.min(i), (Kind::Double, Device::Cpu)) * 2.0;
        let err = (gram - eye).abs().max().double_value(&[]);
        assert!(err < 1e-5, "{}: gram off 2I by {err}", f.name);
    }
}

#[test]
fn zero_o_uses_zeros_ones_and_hadamard() {
    let _turn = featdiv::determinism::global_state_lock();
    let eye = zero_o_matrix(4, 4);
    assert!(eye.equal(&Tensor::eye(4, (Kind::Float, Device::Cpu))));
    let partial = zero_o_matrix(2, 4);
    assert_eq!(partial.sum(Kind::Float).double_value(&[]), 2.0);
    let up = zero_o_matrix(8, 8);
    assert!(up.equal(&Tensor::eye(8, (Kind::Float, Device::Cpu))));
    let h = zero_o_matrix(8, 4).to_kind(Kind::Double);
    let c = 2f64.powf(-(3.0 - 1.0) / 2.0);
    assert!(
        (h.abs() - c).abs().max().double_value(&[]) < 1e-7,
        "entries are +-c"
    );
    let gram = h.tr().matmul(&h);
    assert!(
        (gram - Tensor::eye(4, (Kind::Double, Device::Cpu)) * 2.0)
            .abs()
            .max()
            .double_value(&[])
            < 1e-6
    );

    let net = wrn(WrnInit::ZerO, 2, 3);
    for b in &net.blocks {
        assert_eq!(
            b.conv.ws.abs().max().double_value(&[]),
            0.0,
            "residual convs start at 0"
        );
        if let Some(s) = &b.shortcut {
            let rows = centre(&s.ws);
            assert!(
                distinct_features(&rows, 0.0) > 1,
                "Hadamard shortcuts give distinct channels, without randomness"
            );
        }
    }
    let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
    assert_eq!(
        net.forward_t(&x, true).abs().max().double_value(&[]),
        0.0,
        "logits 0 at init"
    );
    // Negative control: ConstNet's shortcuts give identical channels.
    let constnet = wrn(WrnInit::ConstNet, 2, 3);
    let s = constnet
        .blocks
        .iter()
        .find_map(|b| b.shortcut.as_ref())
        .unwrap();
    assert_eq!(distinct_features(&centre(&s.ws), 0.0), 1);
}

#[test]
fn fixup_has_no_normalization_and_identity_blocks() {
    let _turn = featdiv::determinism::global_state_lock();
    let net = wrn(WrnInit::Fixup, 2, 3);
    let names: Vec<String> = net.var_store().variables().into_keys().collect();
    assert!(
        names.iter().all(|n| !n.contains(".bn.")),
        "no BN parameters: {names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("fixup.scale")));
    assert!(spread_along(&net.stem.ws, 0) > 0.0, "random stem");
    let x = Tensor::randn([4, 3, 16, 16], (Kind::Float, Device::Cpu));
    let trace = net.trace_t(&x, true);
    for (i, b) in net.blocks.iter().enumerate() {
        assert_eq!(b.conv.ws.abs().max().double_value(&[]), 0.0);
        if b.shortcut.is_none() {
            assert!(
                trace[i + 1].equal(&trace[i]),
                "{}: a zero branch makes the block the identity",
                b.name
            );
        }
    }
    // Negative control: with random branches (He) the same blocks are not the identity.
    let he = wrn(WrnInit::He, 2, 3);
    let trace = he.trace_t(&x, true);
    assert!(!trace[2].equal(&trace[1]));
}

#[test]
fn fixup_trains_without_normalization() {
    let _turn = featdiv::determinism::global_state_lock();
    let net = wrn(WrnInit::Fixup, 1, 1);
    // Two classes told apart by brightness, which survives the global average pool.
    let y = Tensor::arange(16, (Kind::Int64, Device::Cpu)).remainder(2);
    let brightness = (y.to_kind(Kind::Float) * 2.0 - 1.0).view([16, 1, 1, 1]);
    let x = Tensor::randn([16, 1, 12, 12], (Kind::Float, Device::Cpu)) * 0.5 + brightness;
    let sgd = tch::nn::Sgd {
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = tch::nn::OptimizerConfig::build(sgd, net.var_store(), 0.02).unwrap();
    let loss0 = net.forward_t(&x, true).cross_entropy_for_logits(&y);
    assert!(
        (loss0.double_value(&[]) - 10f64.ln()).abs() < 1e-6,
        "zero head"
    );
    let mut loss = loss0.double_value(&[]);
    for _ in 0..60 {
        let l = net.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.backward_step(&l);
        loss = l.double_value(&[]);
    }
    assert!(loss.is_finite() && loss < 0.5 * 2f64.ln(), "loss {loss}");
    let moved = net.blocks[1].conv.ws.abs().max().double_value(&[]);
    assert!(moved > 0.0, "the zero branches learn");
}

#[test]
fn inits_refuse_the_wrong_skeleton() {
    let _turn = featdiv::determinism::global_state_lock();
    let e = skeleton(WrnInit::Fixup, 1, 3, true).err().unwrap();
    assert!(format!("{e:#}").contains("without normalization"), "{e:#}");
    let e = skeleton(WrnInit::ConstNet, 1, 3, false).err().unwrap();
    assert!(format!("{e:#}").contains("with normalization"), "{e:#}");
}
