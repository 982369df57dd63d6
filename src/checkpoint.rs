//! Reading weights of any checkpoint (.npz, .safetensors, .ot) for `featdiv diversity`.
use crate::metrics::{LayerDiversity, layer_diversity};
use crate::models::FeatureLayer;
use anyhow::{Result, bail};
use std::path::Path;
use tch::Tensor;

pub fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    if !path.is_file() {
        bail!("checkpoint {} does not exist", path.display());
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tch_error =
        |e: tch::TchError| anyhow::anyhow!("{}: cannot read checkpoint: {e}", path.display());
    let mut tensors = match ext {
        "npz" => crate::data::read_npz(path)?,
        "safetensors" => Tensor::read_safetensors(path).map_err(tch_error)?,
        "ot" | "pt" => Tensor::load_multi(path).map_err(tch_error)?,
        _ => bail!(
            "{}: unknown checkpoint type {ext:?}; expected .npz, .safetensors or .ot",
            path.display()
        ),
    };
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Diversity of every weight of rank >= 2 (rows = output features). Without a record of the init,
/// all features of a tensor form one group: the gap is the spread from perfect symmetry.
pub fn checkpoint_diversity(path: &Path) -> Result<Vec<LayerDiversity>> {
    let mut out = Vec::new();
    for (name, t) in read_tensors(path)? {
        if t.dim() < 2 || !t.is_floating_point() {
            continue;
        }
        if t.isfinite().all().int64_value(&[]) == 0 {
            bail!(
                "{}: tensor {name} contains NaN or infinite values",
                path.display()
            );
        }
        let n = t.size()[0] as usize;
        let layer = FeatureLayer {
            name,
            weight: t.to_kind(tch::Kind::Float),
            bias: None,
            groups: vec![0; n],
        };
        out.push(layer_diversity(&layer, true));
    }
    if out.is_empty() {
        bail!("{}: no floating-point tensor of rank >= 2", path.display());
    }
    Ok(out)
}
