//! Initializations of the Wide-ResNet (docs/paper.md, ConstNet): ConstNet, the authors' random
//! counterpart ("varnet", our `he`), ConstNet with random residual convs, and the baselines
//! delta-orthogonal, ZerO and Fixup.
use crate::config::WrnInit;
use crate::models::{Norm, Wrn};
use anyhow::{Result, ensure};
use tch::Tensor;

/// Stem: zero but the centre tap, 1/C_in for every (out, in): each channel is the colour mean.
fn constnet_stem(w: &Tensor) -> Result<()> {
    let mut w = w.shallow_clone();
    let (_, c_in, _, _) = w.size4()?;
    let _ = w.zero_();
    let _ = w.narrow(2, 1, 1).narrow(3, 1, 1).fill_(1.0 / c_in as f64);
    Ok(())
}

/// 1x1 shortcut: every entry 1/C_in (channel averaging).
fn constnet_shortcut(w: &Tensor) -> Result<()> {
    let mut w = w.shallow_clone();
    let (_, c_in, _, _) = w.size4()?;
    let _ = w.fill_(1.0 / c_in as f64);
    Ok(())
}

/// The authors' fan-out normal draw: std = gain * sqrt(s / (k*k*C_out)).
fn fan_out_normal(w: &Tensor, gain: f64, scale: f64) -> Result<()> {
    let mut w = w.shallow_clone();
    let (c_out, _, kh, kw) = w.size4()?;
    let std = gain * (scale / (kh * kw * c_out) as f64).sqrt();
    w.copy_(&(w.randn_like() * std));
    Ok(())
}

/// A (semi-)orthogonal [rows, cols] matrix times `gain`: orthonormal rows or columns, whichever
/// are fewer.
fn orthogonal(rows: i64, cols: i64, gain: f64, like: &Tensor) -> Tensor {
    let (n, m) = (rows.max(cols), rows.min(cols));
    let a = Tensor::randn([n, m], (tch::Kind::Float, like.device()));
    let (q, r) = Tensor::linalg_qr(&a, "reduced");
    // Sign fix so the draw is uniform over orthogonal matrices.
    let q = &q * r.diagonal(0, 0, 1).sign().unsqueeze(0);
    let q = if rows >= cols { q } else { q.tr() };
    q * gain
}

/// ZerO's matrix for a [rows, cols] map: identity, partial identity, or for rows > cols the
/// top-left block of a Hadamard matrix of size 2^ceil(log2 rows), scaled by 2^(-(m-1)/2).
pub fn zero_o_matrix(rows: i64, cols: i64) -> Tensor {
    let opts = (tch::Kind::Float, tch::Device::Cpu);
    if rows <= cols {
        return Tensor::eye_m(rows, cols, opts);
    }
    let m = (rows as f64).log2().ceil() as u32;
    let mut h = Tensor::ones([1, 1], opts);
    for _ in 0..m {
        h = Tensor::cat(
            &[Tensor::cat(&[&h, &h], 1), Tensor::cat(&[&h, &(-&h)], 1)],
            0,
        );
    }
    h.narrow(0, 0, rows).narrow(1, 0, cols) * 2f64.powf(-((m as f64) - 1.0) / 2.0)
}

/// Zero but the centre tap, set to `centre` [C_out, C_in].
fn centre_tap(w: &Tensor, centre: &Tensor) -> Result<()> {
    let mut w = w.shallow_clone();
    let (_, _, kh, kw) = w.size4()?;
    let _ = w.zero_();
    w.narrow(2, kh / 2, 1)
        .narrow(3, kw / 2, 1)
        .copy_(&centre.to_device(w.device()).unsqueeze(2).unsqueeze(3));
    Ok(())
}

/// Every conv of the net, stem first: (weight, whether it is a block's residual 3x3 conv).
fn convs(wrn: &Wrn) -> Vec<(Tensor, bool)> {
    let mut out = vec![(wrn.stem.ws.shallow_clone(), false)];
    for b in &wrn.blocks {
        out.push((b.conv.ws.shallow_clone(), true));
        if let Some(s) = &b.shortcut {
            out.push((s.ws.shallow_clone(), false));
        }
    }
    out
}

fn zero(w: &Tensor) {
    let _ = w.shallow_clone().zero_();
}

/// ConstNet: stem and shortcuts average the channels; residual convs 0, or random of variance
/// scale `residual` (constnet+residual:S).
fn constnet(wrn: &Wrn, residual: Option<f64>) -> Result<()> {
    constnet_stem(&wrn.stem.ws)?;
    for b in &wrn.blocks {
        match residual {
            Some(scale) => fan_out_normal(&b.conv.ws, 2f64.sqrt(), scale)?,
            None => zero(&b.conv.ws),
        }
        if let Some(s) = &b.shortcut {
            constnet_shortcut(&s.ws)?;
        }
    }
    Ok(())
}

/// The authors' random counterpart: residual convs with gain sqrt 2, stem and shortcuts 1 (the
/// stem's fan-out is 9 * 16 whatever the widen factor). Fixup: the same with residual convs 0.
fn random(wrn: &Wrn, zero_residual: bool) -> Result<()> {
    for (w, residual) in convs(wrn) {
        match (residual, zero_residual) {
            (true, true) => zero(&w),
            (true, false) => fan_out_normal(&w, 2f64.sqrt(), 1.0)?,
            (false, _) => fan_out_normal(&w, 1.0, 1.0)?,
        }
    }
    Ok(())
}

fn delta_orthogonal(wrn: &Wrn) -> Result<()> {
    for (w, _) in convs(wrn) {
        let (o, i, _, _) = w.size4()?;
        centre_tap(&w, &orthogonal(o, i, 2f64.sqrt(), &w))?;
    }
    Ok(())
}

fn zero_o(wrn: &Wrn) -> Result<()> {
    for (w, residual) in convs(wrn) {
        if residual {
            zero(&w);
        } else {
            let (o, i, _, _) = w.size4()?;
            centre_tap(&w, &zero_o_matrix(o, i))?;
        }
    }
    Ok(())
}

/// Whether the channels of a conv start identical under `init`.
fn starts_identical(init: WrnInit, residual: bool) -> bool {
    match init {
        WrnInit::ConstNet => true,
        // Zero residual convs: all channels identical (0); stem and shortcuts distinct.
        WrnInit::ZerO | WrnInit::Fixup => residual,
        WrnInit::ConstNetResidual { .. } => !residual,
        WrnInit::He | WrnInit::DeltaOrthogonal => false,
    }
}

pub fn init_wrn(wrn: &mut Wrn, init: WrnInit) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let normalized = wrn.blocks.iter().all(|b| matches!(b.norm, Norm::Batch(_)));
    ensure!(
        normalized == (init != WrnInit::Fixup),
        "init {init} needs the WRN built {} normalization (WrnShape::normalization)",
        if normalized { "without" } else { "with" }
    );
    match init {
        WrnInit::ConstNet => constnet(wrn, None)?,
        WrnInit::ConstNetResidual { scale } => constnet(wrn, Some(scale))?,
        WrnInit::He => random(wrn, false)?,
        WrnInit::Fixup => random(wrn, true)?,
        WrnInit::DeltaOrthogonal => delta_orthogonal(wrn)?,
        WrnInit::ZerO => zero_o(wrn)?,
    }
    // The head starts at zero in every init of the authors: logits 0, loss ln(classes).
    zero(&wrn.head.ws);
    if let Some(b) = &wrn.head.bs {
        zero(b);
    }
    wrn.groups = convs(wrn)
        .iter()
        .map(|(w, residual)| {
            let n = w.size()[0] as usize;
            if starts_identical(init, *residual) {
                vec![0; n]
            } else {
                (0..n).collect()
            }
        })
        .collect();
    Ok(())
}
