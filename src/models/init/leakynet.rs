//! LeakyNet inits (docs/paper.md, LeakyNet) from a code like `1_iiii_1111_iiii`: character 0
//! initializes the stem, the others the layers. `h` random, `1` channel averaging, `i` identity.
//! Phase +1 on even layers (and the stem), -1 on odd ones; odd layers with slope alpha > 0
//! divide `1` and `i` by alpha, so each (even, odd) pair maps x to -x and each group of 4 is the
//! identity at init.
use crate::config::{LeakyCode, LeakyLayerInit};
use crate::models::LeakyNet;
use anyhow::{Result, bail};
use tch::Tensor;

fn fill(w: &Tensor, kind: LeakyLayerInit, phase: f64, slope: f64, odd: bool) -> Result<()> {
    let mut w = w.shallow_clone();
    let (c_out, c_in, kh, kw) = w.size4()?;
    // Odd layers undo the previous LeakyReLU: -(1/alpha) LeakyReLU(u) = -u on both sides of 0.
    let scale = if odd && slope > 0.0 {
        phase / slope
    } else {
        phase
    };
    match kind {
        LeakyLayerInit::Random => {
            let gain = 2f64.sqrt() * (1.0 + slope);
            let std = (gain / (c_in * kh * kw) as f64).sqrt();
            w.copy_(&(w.randn_like() * std));
        }
        LeakyLayerInit::Average => {
            let _ = w.zero_();
            let _ = w
                .narrow(2, kh / 2, 1)
                .narrow(3, kw / 2, 1)
                .fill_(scale / c_in as f64);
        }
        LeakyLayerInit::Identity => {
            let _ = w.zero_();
            for o in 0..c_out {
                let _ = w.get(o).get(o % c_in).get(kh / 2).get(kw / 2).fill_(scale);
            }
        }
    }
    Ok(())
}

pub fn init_leakynet(net: &mut LeakyNet, code: &LeakyCode) -> Result<()> {
    let code = code.layers();
    if code.len() != net.layers.len() + 1 {
        bail!(
            "LeakyNet code has {} entries, the net has a stem and {} layers",
            code.len(),
            net.layers.len()
        );
    }
    let _guard = tch::no_grad_guard();
    fill(&net.stem.ws, code[0], 1.0, net.slope, false)?;
    for (i, (layer, kind)) in net.layers.iter().zip(&code[1..]).enumerate() {
        let odd = i % 2 == 1;
        fill(
            &layer.conv.ws,
            *kind,
            if odd { -1.0 } else { 1.0 },
            net.slope,
            odd,
        )?;
    }
    let _ = net.head.ws.shallow_clone().zero_();
    if let Some(b) = &net.head.bs {
        let _ = b.shallow_clone().zero_();
    }
    // Identical at init: every channel of an averaging layer; channels o and o + C_in of an
    // identity layer that widens (both copy input channel o).
    net.groups = net
        .conv_layers()
        .iter()
        .zip(code)
        .map(|((_, w), kind)| {
            let (n, c_in) = (w.size()[0] as usize, w.size()[1] as usize);
            match kind {
                LeakyLayerInit::Average => vec![0; n],
                LeakyLayerInit::Identity => (0..n).map(|o| o % c_in).collect(),
                LeakyLayerInit::Random => (0..n).collect(),
            }
        })
        .collect();
    Ok(())
}
