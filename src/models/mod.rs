//! Models of the paper. Every model exposes its feature layers (weights whose rows are features,
//! with the groups of features that were identical at init) so metrics and claims are
//! model-agnostic.
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

#[cfg(test)]
mod layout_tests {
    use super::{LeakyNet, LeakyShape, Model, Wrn, WrnShape};
    use crate::config::MemoryFormat;
    use crate::precision::{
        apply_format, batch, channels_last, is_channels_last, params_channels_last,
    };
    use tch::{Device, Kind, Tensor};

    fn one_channel_batch() -> Tensor {
        Tensor::randn([4, 1, 28, 28], (Kind::Float, Device::Cpu))
    }

    /// The stem weight [16, 1, 3, 3] and the 1x1 shortcuts are "contiguous" in both layouts: left
    /// with NCHW strides, the stem put every layer after it back in NCHW on Fashion-MNIST.
    #[test]
    fn nets_on_one_channel_images_run_channels_last_throughout() {
        let x = batch(MemoryFormat::ChannelsLast, one_channel_batch());
        let wrn_shape = WrnShape {
            depth: 10,
            widen: 1,
            in_channels: 1,
            ..WrnShape::default()
        };
        let wrn = Wrn::new(Device::Cpu, &wrn_shape).unwrap();
        let leaky_shape = LeakyShape {
            in_channels: 1,
            ..LeakyShape::default()
        };
        let leaky = LeakyNet::new(Device::Cpu, &leaky_shape).unwrap();
        let nets: [(&str, &dyn Model); 2] = [("wrn", &wrn), ("leakynet", &leaky)];
        for (name, net) in nets {
            apply_format(MemoryFormat::ChannelsLast, net.var_store());
            assert!(params_channels_last(net.var_store()), "{name}");
        }
        let traces = [
            ("wrn", wrn.trace_t(&x, true)),
            ("leakynet", leaky.trace_t(&x, true)),
        ];
        for (name, trace) in traces {
            for (i, a) in trace.iter().enumerate() {
                assert!(
                    is_channels_last(a),
                    "{name} activation {i}: strides {:?}",
                    a.stride()
                );
            }
        }
    }

    #[test]
    fn contiguous_nets_and_batches_are_not_read_as_channels_last() {
        let wrn = Wrn::new(Device::Cpu, &WrnShape::default()).unwrap();
        assert!(!params_channels_last(wrn.var_store()));
        let x = batch(MemoryFormat::Contiguous, one_channel_batch());
        assert!(!is_channels_last(&x));
        assert!(is_channels_last(&channels_last(&x)));
    }
}
