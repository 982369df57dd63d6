//! The paper's Wide-ResNet skeleton (docs/paper.md, ConstNet): a pre-activation WRN with one 3x3
//! conv per residual block. Depth d, (d-4) % 3 == 0, n = (d-4)/3 blocks in each of 3 groups of 16k,
//! 32k, 64k channels; groups 2 and 3 start with stride 2. Block: a = ReLU(BN(x)); out = conv3x3(a)
//! (dropout on out); returns x + out, or conv1x1(a) + out where the width changes: the shortcut
//! sees ReLU(BN(x)), as in the authors' code (their in-place ReLU). Head: ReLU, global average
//! pool, Linear. Convs have no bias.
//!
//! Without normalization (the `fixup` init, Zhang et al. 2019) each BN becomes Fixup's scalars:
//! a = ReLU(x + bias_in); out = scale * conv3x3(a) + bias_out.
use super::dropout::dropout;
use super::parts::{
    STEM_CHANNELS, Slot, after_stem, batch_norm, conv, conv_feature_layers, distinct_groups, slots,
    zero_head,
};
use super::{Activations, FeatureLayer, Injection, Model, inject};
use anyhow::Result;
use tch::nn::{self, VarStore};
use tch::{Device, Tensor};

/// What sits before a block's activation: the paper's BN, or Fixup's scalar biases and multiplier.
pub enum Norm {
    Batch(nn::BatchNorm),
    Fixup {
        bias_in: Tensor,
        scale: Tensor,
        bias_out: Tensor,
    },
}

pub struct Block {
    pub name: String,
    pub norm: Norm,
    pub conv: nn::Conv2D,
    pub shortcut: Option<nn::Conv2D>,
}

pub struct Wrn {
    vs: VarStore,
    pub stem: nn::Conv2D,
    pub blocks: Vec<Block>,
    pub head: nn::Linear,
    pub dropout: f64,
    /// Feature groups per conv, in `feature_layers` order (set by the init).
    pub groups: Vec<Vec<usize>>,
}

/// Build with struct update: `WrnShape { depth: 10, widen: 2, ..Default::default() }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrnShape {
    pub depth: usize,
    pub widen: usize,
    pub in_channels: i64,
    pub classes: i64,
    pub bn_momentum: f64,
    pub dropout: f64,
    /// false: no BN anywhere, Fixup's scalars instead (the `fixup` init).
    pub normalization: bool,
}

impl Default for WrnShape {
    /// WRN-16-1 on 3-channel images, 10 classes, the paper's batch norm, no dropout.
    fn default() -> Self {
        WrnShape {
            depth: 16,
            widen: 1,
            in_channels: 3,
            classes: 10,
            bn_momentum: 0.1,
            dropout: 0.0,
            normalization: true,
        }
    }
}

/// The block of `slot`: its norm (BN, or Fixup's scalars), its 3x3 conv, and a 1x1 shortcut
/// where the width or the resolution changes.
fn block(root: &nn::Path, slot: &Slot, shape: &WrnShape) -> Block {
    let (g, b) = (slot.group + 1, slot.index);
    let p = root / format!("group{g}") / format!("block{b}");
    let (in_c, out_c, s) = (slot.in_c, slot.out_c, slot.stride);
    Block {
        norm: if shape.normalization {
            Norm::Batch(batch_norm(&p / "bn", in_c, shape.bn_momentum))
        } else {
            Norm::Fixup {
                bias_in: (&p / "fixup").zeros("bias_in", &[1]),
                scale: (&p / "fixup").ones("scale", &[1]),
                bias_out: (&p / "fixup").zeros("bias_out", &[1]),
            }
        },
        conv: conv(&p / "conv", in_c, out_c, 3, s),
        shortcut: (in_c != out_c || s != 1).then(|| conv(&p / "shortcut", in_c, out_c, 1, s)),
        name: format!("group{g}.block{b}"),
    }
}

impl Wrn {
    /// Every weight starts at zero and every BN at scale 1, shift 0; an init fills the convs.
    pub fn new(device: Device, shape: &WrnShape) -> Result<Wrn> {
        let slots = slots(shape.depth, shape.widen)?;
        let vs = VarStore::new(device);
        let root = vs.root();
        let stem = conv(&root / "stem", shape.in_channels, STEM_CHANNELS, 3, 1);
        let blocks = slots.iter().map(|s| block(&root, s, shape)).collect();
        let width = slots.last().map_or(STEM_CHANNELS, |s| s.out_c);
        let head = zero_head(&root / "head", width, shape.classes);
        let mut wrn = Wrn {
            vs,
            stem,
            blocks,
            head,
            dropout: shape.dropout,
            groups: Vec::new(),
        };
        wrn.groups = distinct_groups(&wrn.conv_layers());
        Ok(wrn)
    }

    /// (name, weight) of every conv, stem first.
    pub fn conv_layers(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("stem".to_string(), self.stem.ws.shallow_clone())];
        for b in &self.blocks {
            out.push((format!("{}.conv", b.name), b.conv.ws.shallow_clone()));
            if let Some(s) = &b.shortcut {
                out.push((format!("{}.shortcut", b.name), s.ws.shallow_clone()));
            }
        }
        out
    }

    /// Activations of the stem and of every block, in order.
    pub fn trace_t(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        self.trace_with(x, train, None)
    }

    fn trace_with(&self, x: &Tensor, train: bool, injection: Injection) -> Vec<Tensor> {
        let mut h = inject(x.apply(&self.stem), 0, injection);
        let mut trace = vec![h.shallow_clone()];
        for (i, b) in self.blocks.iter().enumerate() {
            let (a, mut out) = match &b.norm {
                Norm::Batch(bn) => {
                    let a = h.apply_t(bn, train).relu();
                    let out = a.apply(&b.conv);
                    (a, out)
                }
                Norm::Fixup {
                    bias_in,
                    scale,
                    bias_out,
                } => {
                    let a = (&h + bias_in).relu();
                    let out = a.apply(&b.conv) * scale + bias_out;
                    (a, out)
                }
            };
            if self.dropout > 0.0 {
                out = dropout(&out, self.dropout, train);
            }
            h = match &b.shortcut {
                Some(s) => a.apply(s) + out,
                None => h + out,
            };
            h = inject(h, i + 1, injection);
            trace.push(h.shallow_clone());
        }
        trace
    }

    /// Pre-classifier features [B, 64k]: ReLU, then the global average pool.
    pub fn features_t(&self, x: &Tensor, train: bool) -> Tensor {
        let trace = self.trace_t(x, train);
        let last = trace
            .last()
            .map_or_else(|| x.shallow_clone(), |t| t.shallow_clone());
        last.relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }
}

impl Model for Wrn {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.features_t(x, train).apply(&self.head)
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn perturbed_activations_t(&self, x: &Tensor, train: bool, perturb: Injection) -> Activations {
        let names = self.blocks.iter().map(|b| b.name.clone());
        after_stem(names, self.trace_with(x, train, perturb))
    }

    fn feature_layers(&self) -> Vec<FeatureLayer> {
        conv_feature_layers(self.conv_layers(), &self.groups)
    }
}
