//! The standard CIFAR augmentation, batched on the device: reflect-pad 4, random crop, random flip.
use anyhow::{Context, Result};
use tch::{Kind, Tensor};

pub fn augment_batch(x: &Tensor) -> Result<Tensor> {
    let (b, _c, h, w) = x
        .size4()
        .context("augmentation takes images [B, C, H, W]")?;
    let dev = x.device();
    let pad = 4i64;
    let padded = x.reflection_pad2d([pad, pad, pad, pad]);
    let oy = Tensor::randint(2 * pad + 1, [b, 1, 1], (Kind::Int64, dev));
    let ox = Tensor::randint(2 * pad + 1, [b, 1, 1], (Kind::Int64, dev));
    let rows = oy + Tensor::arange(h, (Kind::Int64, dev)).view([1, h, 1]);
    let cols = ox + Tensor::arange(w, (Kind::Int64, dev)).view([1, 1, w]);
    let bidx = Tensor::arange(b, (Kind::Int64, dev)).view([b, 1, 1]);
    // Advanced indices split by the channel slice put their broadcast dims first: [B, H, W, C].
    let cropped = padded
        .index(&[Some(bidx), None, Some(rows), Some(cols)])
        .permute([0, 3, 1, 2]);
    let flip = Tensor::rand([b, 1, 1, 1], (Kind::Float, dev)).lt(0.5);
    Ok(cropped.flip([3]).where_self(&flip, &cropped).contiguous())
}
