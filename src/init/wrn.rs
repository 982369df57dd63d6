//! Initializations of the Wide-ResNet (DIGEST section 3): ConstNet, the authors' random
//! counterpart ("varnet", our `he`), and ConstNet with random residual convs.
use super::InitSpec;
use crate::models::{Norm, Wrn};
use anyhow::{Result, bail, ensure};
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

pub fn init_wrn(wrn: &mut Wrn, spec: &InitSpec) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let sqrt2 = 2f64.sqrt();
    let normalized = wrn.blocks.iter().all(|b| matches!(b.norm, Norm::Batch(_)));
    ensure!(
        normalized == (*spec != InitSpec::Fixup),
        "init {spec:?} needs the WRN built {} normalization (WrnShape::normalization)",
        if normalized { "without" } else { "with" }
    );
    match spec {
        InitSpec::ConstNet | InitSpec::ConstNetResidual { .. } => {
            constnet_stem(&wrn.stem.ws)?;
            for b in &wrn.blocks {
                match spec {
                    InitSpec::ConstNetResidual { scale } => {
                        fan_out_normal(&b.conv.ws, sqrt2, *scale)?
                    }
                    _ => {
                        let _ = b.conv.ws.shallow_clone().zero_();
                    }
                }
                if let Some(s) = &b.shortcut {
                    constnet_shortcut(&s.ws)?;
                }
            }
        }
        InitSpec::Fixup => {
            fan_out_normal(&wrn.stem.ws, 1.0, 1.0)?;
            for b in &wrn.blocks {
                let _ = b.conv.ws.shallow_clone().zero_();
                if let Some(s) = &b.shortcut {
                    fan_out_normal(&s.ws, 1.0, 1.0)?;
                }
            }
        }
        InitSpec::He => {
            // The stem's fan-out is 9 * 16 whatever the widen factor.
            fan_out_normal(&wrn.stem.ws, 1.0, 1.0)?;
            for b in &wrn.blocks {
                fan_out_normal(&b.conv.ws, sqrt2, 1.0)?;
                if let Some(s) = &b.shortcut {
                    fan_out_normal(&s.ws, 1.0, 1.0)?;
                }
            }
        }
        InitSpec::DeltaOrthogonal => {
            let mut convs: Vec<Tensor> = vec![wrn.stem.ws.shallow_clone()];
            for b in &wrn.blocks {
                convs.push(b.conv.ws.shallow_clone());
                if let Some(s) = &b.shortcut {
                    convs.push(s.ws.shallow_clone());
                }
            }
            for w in convs {
                let (o, i, _, _) = w.size4()?;
                centre_tap(&w, &orthogonal(o, i, sqrt2, &w))?;
            }
        }
        InitSpec::ZerO => {
            let (o, i, _, _) = wrn.stem.ws.size4()?;
            centre_tap(&wrn.stem.ws, &zero_o_matrix(o, i))?;
            for b in &wrn.blocks {
                let _ = b.conv.ws.shallow_clone().zero_();
                if let Some(s) = &b.shortcut {
                    let (o, i, _, _) = s.ws.size4()?;
                    centre_tap(&s.ws, &zero_o_matrix(o, i))?;
                }
            }
        }
        other => bail!(
            "invalid config key model.init: {other:?} is an init of arch \"mlp\", not \"wrn\""
        ),
    }
    // The head starts at zero in every init of the authors: logits 0, loss ln(classes).
    let _ = wrn.head.ws.shallow_clone().zero_();
    if let Some(b) = &wrn.head.bs {
        let _ = b.shallow_clone().zero_();
    }
    wrn.groups = wrn
        .conv_layers()
        .iter()
        .map(|(name, w)| {
            let n = w.size()[0] as usize;
            let identical = match spec {
                InitSpec::ConstNet => true,
                // Zero residual convs: all channels identical (0); stem and shortcuts distinct.
                InitSpec::ZerO | InitSpec::Fixup => name.ends_with(".conv"),
                InitSpec::ConstNetResidual { .. } => !name.ends_with(".conv"),
                _ => false,
            };
            if identical {
                vec![0; n]
            } else {
                (0..n).collect()
            }
        })
        .collect();
    Ok(())
}
