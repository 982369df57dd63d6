//! Models of the paper. Every model exposes its feature layers (weights whose rows are features,
//! with the groups of features that were identical at init) so metrics and claims are model-agnostic.
pub mod leakynet;
pub mod mlp;
pub mod parts;
pub mod wrn;

pub use leakynet::{LeakyNet, LeakyShape};
pub use mlp::Mlp;
pub use wrn::{Norm, Wrn, WrnShape};

use tch::Tensor;

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
    fn activations_t(&self, x: &Tensor, train: bool) -> Vec<(String, Tensor)> {
        self.perturbed_activations_t(x, train, None)
    }
    /// The same, with `delta` added to activation number `at` before the layers after it see it.
    fn perturbed_activations_t(
        &self,
        x: &Tensor,
        train: bool,
        inject: Injection,
    ) -> Vec<(String, Tensor)>;
}

/// Where to add a perturbation in a forward pass: (activation index, delta of its shape).
pub type Injection<'a> = Option<(usize, &'a Tensor)>;

/// Adds the injection's delta to activation `index` if it is the one.
pub fn inject(h: Tensor, index: usize, injection: Injection) -> Tensor {
    match injection {
        Some((at, delta)) if at == index => h + delta,
        _ => h,
    }
}
