//! Pieces the convolutional models share: the channel plan, zero-initialized convs and head, and
//! batch norms at scale 1, shift 0.
use anyhow::{Result, ensure};
use tch::nn;

/// Layers (or blocks) per group of a depth-d net: (d - 4) / 3, with d = 4 + 3n and n >= 1;
/// the widen factor k >= 1.
pub fn per_group(depth: usize, widen: usize) -> Result<usize> {
    ensure!(widen >= 1, "a widen factor must be >= 1, got {widen}");
    crate::config::per_group(depth).ok_or_else(|| {
        anyhow::anyhow!("depth {depth} is not 4 + 3n with n >= 1 (7, 10, 16, 22, 28, ...)")
    })
}

/// (channels, stride of the group's first layer) of the 3 groups for widen factor k.
pub fn channel_plan(widen: usize) -> [(i64, i64); 3] {
    let k = widen as i64;
    [(16 * k, 1), (32 * k, 2), (64 * k, 2)]
}

/// Channels out of the stem.
pub const STEM_CHANNELS: i64 = 16;

/// One layer (LeakyNet) or residual block (WRN) of the three groups.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// 0, 1, 2.
    pub group: usize,
    /// Its place in the group.
    pub index: usize,
    pub in_c: i64,
    pub out_c: i64,
    /// The group's stride on its first slot, else 1.
    pub stride: i64,
}

/// The slots of a depth-d, widen-k net after the stem, input to output; the last one's `out_c`
/// is the width the head sees.
pub fn slots(depth: usize, widen: usize) -> Result<Vec<Slot>> {
    let n = per_group(depth, widen)?;
    let mut out = Vec::new();
    let mut in_c = STEM_CHANNELS;
    for (group, (out_c, stride)) in channel_plan(widen).into_iter().enumerate() {
        for index in 0..n {
            let stride = if index == 0 { stride } else { 1 };
            out.push(Slot {
                group,
                index,
                in_c,
                out_c,
                stride,
            });
            in_c = out_c;
        }
    }
    Ok(out)
}

/// A bias-free conv with zero weights; an init fills it.
pub fn conv(p: nn::Path, i: i64, o: i64, k: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ws_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::conv2d(p, i, o, k, cfg)
}

/// Batch norm at scale 1, shift 0 (tch's default draws the scale in [0, 1): that alone breaks
/// the symmetry).
pub fn batch_norm(p: nn::Path, channels: i64, momentum: f64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        momentum,
        eps: 1e-5,
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, channels, cfg)
}

/// The classifier, zero at init in every init of the authors: logits 0, loss ln(classes).
pub fn zero_head(p: nn::Path, features: i64, classes: i64) -> nn::Linear {
    let cfg = nn::LinearConfig {
        ws_init: nn::Init::Const(0.0),
        bs_init: Some(nn::Init::Const(0.0)),
        bias: true,
    };
    nn::linear(p, features, classes, cfg)
}

/// Every channel its own group: the groups of a conv net before an init says which start equal.
pub fn distinct_groups(convs: &[(String, tch::Tensor)]) -> Vec<Vec<usize>> {
    convs
        .iter()
        .map(|(_, w)| (0..w.size()[0] as usize).collect())
        .collect()
}

/// A conv net's feature layers: its convs (name, weight) with their groups.
pub fn conv_feature_layers(
    convs: Vec<(String, tch::Tensor)>,
    groups: &[Vec<usize>],
) -> Vec<super::FeatureLayer> {
    convs
        .into_iter()
        .zip(groups)
        .map(|((name, weight), groups)| super::FeatureLayer {
            name,
            weight,
            bias: None,
            groups: groups.clone(),
        })
        .collect()
}

/// A conv net's activations: the stem's, then one a later layer or block, named.
pub fn after_stem(
    names: impl Iterator<Item = String>,
    trace: Vec<tch::Tensor>,
) -> super::Activations {
    std::iter::once("stem".to_string())
        .chain(names)
        .zip(trace)
        .collect()
}
