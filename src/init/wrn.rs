//! Initializations of the Wide-ResNet (DIGEST section 3): ConstNet, the authors' random
//! counterpart ("varnet", our `he`), and ConstNet with random residual convs.
use super::InitSpec;
use crate::models::Wrn;
use anyhow::{Result, bail};
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

pub fn init_wrn(wrn: &mut Wrn, spec: &InitSpec) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let sqrt2 = 2f64.sqrt();
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
