//! Models of the paper. Every model exposes its feature layers (weights whose rows are features,
//! with the groups of features that were identical at init) so metrics and claims are model-agnostic.
pub mod dropout;
pub mod init;
pub mod leakynet;
pub mod mlp;
pub mod parts;
pub mod wrn;

pub use leakynet::{LeakyNet, LeakyShape};
pub use mlp::Mlp;
pub use wrn::{Norm, Wrn, WrnShape};

use crate::config::{ModelSpec, WrnInit};
use anyhow::Result;
use tch::{Device, Tensor};

/// What a model needs to know of its data.
#[derive(Debug, Clone, Copy)]
pub struct DataShape<'a> {
    /// [C, H, W] of one example.
    pub example: &'a [i64],
    pub classes: i64,
}

/// The model a spec names, built on `device` and initialized by its init code. `dropout` is the
/// symmetry breaker of that name (after each hidden layer or residual branch).
pub fn build(
    spec: &ModelSpec,
    data: DataShape,
    dropout: f64,
    device: Device,
) -> Result<Box<dyn Model>> {
    let in_channels = data.example[0];
    Ok(match spec {
        ModelSpec::Mlp { hidden, init } => {
            let input = data.example.iter().product();
            let mut mlp = Mlp::new(device, input, hidden, data.classes, dropout);
            init::init_mlp(&mut mlp, *init)?;
            Box::new(mlp)
        }
        ModelSpec::Wrn(w) => {
            let mut shape = WrnShape::default();
            (shape.depth, shape.widen, shape.bn_momentum) = (w.depth, w.widen, w.bn_momentum);
            (shape.in_channels, shape.classes, shape.dropout) =
                (in_channels, data.classes, dropout);
            shape.normalization = w.init != WrnInit::Fixup;
            let mut wrn = Wrn::new(device, &shape)?;
            init::init_wrn(&mut wrn, w.init)?;
            Box::new(wrn)
        }
        ModelSpec::LeakyNet(l) => {
            let mut shape = LeakyShape::default();
            (shape.depth, shape.widen, shape.bn_momentum) = (l.depth, l.widen, l.bn_momentum);
            (shape.in_channels, shape.classes, shape.dropout) =
                (in_channels, data.classes, dropout);
            shape.slope = l.slope;
            let mut net = LeakyNet::new(device, &shape)?;
            init::init_leakynet(&mut net, &l.code)?;
            Box::new(net)
        }
    })
}

/// A layer whose output features (rows of `weight`) the paper's symmetry argument is about.
#[derive(Debug)]
pub struct FeatureLayer {
    pub name: String,
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    /// Group id of each feature: features with the same id were identical at init.
    pub groups: Vec<usize>,
}

pub trait Model {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
    fn var_store(&self) -> &tch::nn::VarStore;
    fn feature_layers(&self) -> Vec<FeatureLayer>;
    /// Named hidden activations [B, features, ...], input to output, for symmetry checks.
    fn activations_t(&self, x: &Tensor, train: bool) -> Activations {
        self.perturbed_activations_t(x, train, None)
    }
    /// The same, with `delta` added to activation number `at` before the layers after it see it.
    fn perturbed_activations_t(&self, x: &Tensor, train: bool, inject: Injection) -> Activations;
}

/// Named hidden activations [B, features, ...], input to output.
pub type Activations = Vec<(String, Tensor)>;

/// Where to add a perturbation in a forward pass: (activation index, delta of its shape).
pub type Injection<'a> = Option<(usize, &'a Tensor)>;

/// Adds the injection's delta to activation `index` if it is the one.
pub fn inject(h: Tensor, index: usize, injection: Injection) -> Tensor {
    match injection {
        Some((at, delta)) if at == index => h + delta,
        _ => h,
    }
}
