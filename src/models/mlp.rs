//! The toy model: a fully connected ReLU network, `hidden{l}` layers then `head`.
use super::dropout::dropout;
use super::{Activations, FeatureLayer, Injection, Model, inject};
use tch::nn::VarStore;
use tch::{Device, Tensor};

pub struct Mlp {
    vs: VarStore,
    /// (weight [out, in], bias [out]) per layer, the head last.
    pub layers: Vec<(Tensor, Tensor)>,
    pub dropout: f64,
    /// Feature groups of each hidden layer (set by the init).
    pub groups: Vec<Vec<usize>>,
}

impl Mlp {
    /// All parameters start at zero; an init from `crate::init` fills them.
    pub fn new(device: Device, input: i64, hidden: &[usize], classes: i64, dropout: f64) -> Mlp {
        let vs = VarStore::new(device);
        let root = vs.root();
        let mut layers = Vec::new();
        let mut fan_in = input;
        let widths: Vec<i64> = hidden.iter().map(|&h| h as i64).chain([classes]).collect();
        for (l, &out) in widths.iter().enumerate() {
            let name = if l + 1 == widths.len() {
                "head".to_string()
            } else {
                format!("hidden{l}")
            };
            let p = &root / name.as_str();
            layers.push((p.zeros("weight", &[out, fan_in]), p.zeros("bias", &[out])));
            fan_in = out;
        }
        let groups = hidden.iter().map(|&h| (0..h).collect()).collect();
        Mlp {
            vs,
            layers,
            dropout,
            groups,
        }
    }

    /// Hidden activations (after ReLU and dropout) and the logits.
    fn run_t(
        &self,
        x: &Tensor,
        train: bool,
        injection: Injection,
    ) -> (Vec<(String, Tensor)>, Tensor) {
        let mut h = x.flatten(1, -1);
        let mut hidden = Vec::new();
        let last = self.layers.len() - 1;
        for (l, (w, b)) in self.layers.iter().enumerate() {
            h = h.linear(w, Some(b));
            if l < last {
                h = h.relu();
                if self.dropout > 0.0 {
                    h = dropout(&h, self.dropout, train);
                }
                h = inject(h, l, injection);
                hidden.push((format!("hidden{l}"), h.shallow_clone()));
            }
        }
        (hidden, h)
    }

    pub fn hidden_widths(&self) -> Vec<i64> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .map(|(w, _)| w.size()[0])
            .collect()
    }
}

impl Model for Mlp {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.run_t(x, train, None).1
    }

    fn perturbed_activations_t(&self, x: &Tensor, train: bool, perturb: Injection) -> Activations {
        self.run_t(x, train, perturb).0
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn feature_layers(&self) -> Vec<FeatureLayer> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .enumerate()
            .map(|(l, (w, b))| FeatureLayer {
                name: format!("hidden{l}"),
                weight: w.shallow_clone(),
                bias: Some(b.shallow_clone()),
                groups: self.groups[l].clone(),
            })
            .collect()
    }
}
