//! LeakyNet (docs/paper.md, LeakyNet): no skip connections. Stem conv (16, C_in, 3, 3), then 3
//! groups of n = (d-4)/3 layers with the channel plan of the WRN; layer i computes
//! y = act(conv3x3(x + b_i)) with a learnable scalar b_i (0 at init), dropout if p > 0, then
//! BN(C_out) on odd i only, after the activation. act = LeakyReLU(alpha). Head: act, global
//! average pool, Linear (zero at init).
use super::dropout::dropout;
use super::parts::{
    STEM_CHANNELS, after_stem, batch_norm, conv, conv_feature_layers, distinct_groups, slots,
    zero_head,
};
use super::{Activations, FeatureLayer, Injection, Model, inject};
use anyhow::Result;
use tch::nn::{self, VarStore};
use tch::{Device, Tensor};

pub struct Layer {
    pub name: String,
    pub bias: Tensor,
    pub conv: nn::Conv2D,
    pub bn: Option<nn::BatchNorm>,
}

pub struct LeakyNet {
    vs: VarStore,
    pub stem: nn::Conv2D,
    pub layers: Vec<Layer>,
    pub head: nn::Linear,
    pub slope: f64,
    pub dropout: f64,
    /// Feature groups per conv, stem first (set by the init).
    pub groups: Vec<Vec<usize>>,
}

/// Build with struct update: `LeakyShape { widen: 2, ..Default::default() }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyShape {
    pub depth: usize,
    pub widen: usize,
    pub in_channels: i64,
    pub classes: i64,
    pub slope: f64,
    pub bn_momentum: f64,
    pub dropout: f64,
}

impl Default for LeakyShape {
    /// The authors' LeakyNet-16-1 on 3-channel images, 10 classes, slope 0.01, no dropout.
    fn default() -> Self {
        LeakyShape {
            depth: 16,
            widen: 1,
            in_channels: 3,
            classes: 10,
            slope: 0.01,
            bn_momentum: 0.1,
            dropout: 0.0,
        }
    }
}

impl LeakyNet {
    pub fn new(device: Device, shape: &LeakyShape) -> Result<LeakyNet> {
        let slots = slots(shape.depth, shape.widen)?;
        let vs = VarStore::new(device);
        let root = vs.root();
        let stem = conv(&root / "stem", shape.in_channels, STEM_CHANNELS, 3, 1);
        let mut layers = Vec::new();
        for (i, s) in slots.iter().enumerate() {
            let name = format!("layer{i}");
            let p = &root / name.as_str();
            layers.push(Layer {
                bias: p.zeros("input_bias", &[1]),
                conv: conv(&p / "conv", s.in_c, s.out_c, 3, s.stride),
                bn: (i % 2 == 1).then(|| batch_norm(&p / "bn", s.out_c, shape.bn_momentum)),
                name,
            });
        }
        let width = slots.last().map_or(STEM_CHANNELS, |s| s.out_c);
        let head = zero_head(&root / "head", width, shape.classes);
        let mut net = LeakyNet {
            vs,
            stem,
            layers,
            head,
            slope: shape.slope,
            dropout: shape.dropout,
            groups: Vec::new(),
        };
        net.groups = distinct_groups(&net.conv_layers());
        Ok(net)
    }

    fn act(&self, x: &Tensor) -> Tensor {
        crate::ops::leaky_relu(x, self.slope)
    }

    /// (name, weight) of every conv, stem first.
    pub fn conv_layers(&self) -> Vec<(String, Tensor)> {
        std::iter::once(("stem".to_string(), self.stem.ws.shallow_clone()))
            .chain(
                self.layers
                    .iter()
                    .map(|l| (format!("{}.conv", l.name), l.conv.ws.shallow_clone())),
            )
            .collect()
    }

    /// Outputs of the stem and of every layer.
    pub fn trace_t(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        self.trace_with(x, train, None)
    }

    fn trace_with(&self, x: &Tensor, train: bool, injection: Injection) -> Vec<Tensor> {
        let mut h = inject(x.apply(&self.stem), 0, injection);
        let mut trace = vec![h.shallow_clone()];
        for (i, l) in self.layers.iter().enumerate() {
            h = self.act(&(&h + &l.bias).apply(&l.conv));
            if self.dropout > 0.0 {
                h = dropout(&h, self.dropout, train);
            }
            if let Some(bn) = &l.bn {
                h = h.apply_t(bn, train);
            }
            h = inject(h, i + 1, injection);
            trace.push(h.shallow_clone());
        }
        trace
    }
}

impl Model for LeakyNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let last = self
            .trace_t(x, train)
            .pop()
            .unwrap_or_else(|| x.shallow_clone());
        self.act(&last)
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&self.head)
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn feature_layers(&self) -> Vec<FeatureLayer> {
        conv_feature_layers(self.conv_layers(), &self.groups)
    }

    fn perturbed_activations_t(&self, x: &Tensor, train: bool, perturb: Injection) -> Activations {
        let names = self.layers.iter().map(|l| l.name.clone());
        after_stem(names, self.trace_with(x, train, perturb))
    }
}
