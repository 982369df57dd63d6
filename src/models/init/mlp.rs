//! Initializations of the toy model: He, Xavier, zero, and K unique features (tied or untied).
use crate::config::MlpInit;
use crate::models::Mlp;
use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

/// He std of a layer feeding a ReLU; the head (no ReLU after it) uses the LeCun std.
pub fn he_std(fan_in: i64, is_head: bool) -> f64 {
    if is_head {
        (1.0 / fan_in as f64).sqrt()
    } else {
        (2.0 / fan_in as f64).sqrt()
    }
}

/// Row j of the result is row (j mod k_out) of `draw`, column i is column (i mod k_in).
fn tile(draw: &Tensor, out: i64, inp: i64) -> Result<Tensor> {
    let (k_out, k_in) = draw.size2()?;
    let r = Tensor::arange(out, (Kind::Int64, draw.device())).remainder(k_out);
    let c = Tensor::arange(inp, (Kind::Int64, draw.device())).remainder(k_in);
    Ok(draw.index_select(0, &r).index_select(1, &c))
}

/// Feature groups of a hidden layer of `width` units: equal ids start identical.
fn feature_groups(init: MlpInit, width: usize) -> Vec<usize> {
    match init {
        MlpInit::KUnique { k, .. } => (0..width).map(|j| j % k).collect(),
        MlpInit::Zero => vec![0; width],
        MlpInit::He | MlpInit::Xavier => (0..width).collect(),
    }
}

pub fn init_mlp(mlp: &mut Mlp, init: MlpInit) -> Result<()> {
    let widths = mlp.hidden_widths();
    if let MlpInit::KUnique { k, .. } = init {
        let min = widths.iter().copied().min().unwrap_or(0);
        ensure!(
            k as i64 <= min,
            "K = {k} unique features exceed the smallest hidden width {min}"
        );
    }
    let _guard = tch::no_grad_guard();
    let n = mlp.layers.len();
    for (l, (w, b)) in mlp.layers.iter_mut().enumerate() {
        let (out, fan_in) = w.size2()?;
        let is_head = l + 1 == n;
        let opts = (Kind::Float, w.device());
        let value = match init {
            MlpInit::Zero => Tensor::zeros([out, fan_in], opts),
            MlpInit::He => Tensor::randn([out, fan_in], opts) * he_std(fan_in, is_head),
            MlpInit::Xavier => {
                Tensor::randn([out, fan_in], opts) * (2.0 / (fan_in + out) as f64).sqrt()
            }
            MlpInit::KUnique { k, tied } => {
                let k = k as i64;
                // Incoming rows: k unique (hidden layers); the head keeps one row per class.
                let k_out = if is_head { out } else { k };
                // Incoming columns of layers after the first are outgoing weights of duplicated
                // units.
                let k_in = if l > 0 && tied { k } else { fan_in };
                tile(
                    &(Tensor::randn([k_out, k_in], opts) * he_std(fan_in, is_head)),
                    out,
                    fan_in,
                )?
            }
        };
        w.copy_(&value);
        let _ = b.zero_();
    }
    mlp.groups = widths
        .iter()
        .map(|&h| feature_groups(init, h as usize))
        .collect();
    Ok(())
}
