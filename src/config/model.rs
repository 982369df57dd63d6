//! `[model]`: which network, its shape and its init, parsed into one `ModelSpec` per arch. The
//! TOML keys are flat (every arch reads the ones it needs); `RawModel` is that text form, used to
//! parse and to print a resolved config back.
use super::codes::{LeakyCode, MlpInit, WrnInit};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Default: the data set's number of classes.
    pub classes: Option<usize>,
    pub spec: ModelSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// The toy model: fully connected ReLU layers of these widths.
    Mlp { hidden: Vec<usize>, init: MlpInit },
    /// The paper's Wide-ResNet skeleton.
    Wrn(WrnSpec),
    /// LeakyNet: no skip connections, a per-layer init code.
    LeakyNet(LeakySpec),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrnSpec {
    /// d, with (d - 4) % 3 == 0.
    pub depth: usize,
    /// k: channels 16, 16k, 32k, 64k.
    pub widen: usize,
    /// The authors' double forward made it 0.19 in effect.
    pub bn_momentum: f64,
    pub init: WrnInit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeakySpec {
    pub depth: usize,
    pub widen: usize,
    pub bn_momentum: f64,
    /// The LeakyReLU slope alpha.
    pub slope: f64,
    pub code: LeakyCode,
}

/// The `[model]` table as text: every key of every arch, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    /// "mlp" | "wrn" | "leakynet"
    arch: String,
    #[serde(default)]
    classes: Option<usize>,
    /// mlp: hidden widths.
    #[serde(default = "default_hidden")]
    hidden: Vec<usize>,
    /// mlp: he | xavier | zero | k-unique:K | k-unique-untied:K; wrn: he | constnet |
    /// constnet+residual:S | delta-orthogonal | zero-o | fixup; leakynet: a code like
    /// 1_iiii_1111_iiii.
    #[serde(default = "he")]
    init: String,
    /// wrn, leakynet
    #[serde(default = "default_depth")]
    depth: usize,
    #[serde(default = "super::one")]
    widen: usize,
    #[serde(default = "default_bn_momentum")]
    bn_momentum: f64,
    /// leakynet
    #[serde(default = "default_leaky_slope")]
    leaky_slope: f64,
}

fn he() -> String {
    "he".into()
}
fn default_hidden() -> Vec<usize> {
    vec![256]
}
fn default_depth() -> usize {
    16
}
fn default_bn_momentum() -> f64 {
    0.1
}
fn default_leaky_slope() -> f64 {
    0.01
}

const ARCHS: &[&str] = &["mlp", "wrn", "leakynet"];

/// (key, what is wrong) of a `[model]` value.
type KeyError = (&'static str, String);

fn check(ok: bool, key: &'static str, what: &str) -> Result<(), KeyError> {
    if ok {
        Ok(())
    } else {
        Err((key, what.to_string()))
    }
}

/// Blocks (or layers) per group of a depth-d net: (d - 4) / 3, with d = 4 + 3n and n >= 1.
pub fn per_group(depth: usize) -> Option<usize> {
    (depth >= 7 && (depth - 4).is_multiple_of(3)).then(|| (depth - 4) / 3)
}

impl RawModel {
    /// The shape keys, checked whatever the arch (as every version of featdiv has).
    fn shape(&self) -> Result<(), KeyError> {
        check(
            per_group(self.depth).is_some(),
            "model.depth",
            &format!(
                "{} is not 4 + 3n with n >= 1 (7, 10, 16, 22, 28, ...)",
                self.depth
            ),
        )?;
        check(self.widen >= 1, "model.widen", "must be >= 1")?;
        check(
            (0.0..=1.0).contains(&self.bn_momentum),
            "model.bn_momentum",
            "must be in [0, 1]",
        )?;
        check(
            (0.0..1.0).contains(&self.leaky_slope),
            "model.leaky_slope",
            "must be in [0, 1)",
        )?;
        check(self.classes != Some(0), "model.classes", "must be >= 1")
    }

    fn mlp(&self) -> Result<ModelSpec, KeyError> {
        check(
            !self.hidden.is_empty(),
            "model.hidden",
            "needs at least one layer",
        )?;
        check(
            self.hidden.iter().all(|&h| h > 0),
            "model.hidden",
            "widths must be > 0",
        )?;
        let init: MlpInit = self.init.parse().map_err(|e| ("model.init", e))?;
        if let MlpInit::KUnique { k, .. } = init {
            let min = self.hidden.iter().copied().min().unwrap_or(0);
            check(
                k <= min,
                "model.init",
                &format!("K = {k} exceeds the smallest hidden width {min}"),
            )?;
        }
        Ok(ModelSpec::Mlp {
            hidden: self.hidden.clone(),
            init,
        })
    }

    fn wrn(&self) -> Result<ModelSpec, KeyError> {
        Ok(ModelSpec::Wrn(WrnSpec {
            depth: self.depth,
            widen: self.widen,
            bn_momentum: self.bn_momentum,
            init: self.init.parse().map_err(|e| ("model.init", e))?,
        }))
    }

    fn leakynet(&self) -> Result<ModelSpec, KeyError> {
        Ok(ModelSpec::LeakyNet(LeakySpec {
            depth: self.depth,
            widen: self.widen,
            bn_momentum: self.bn_momentum,
            slope: self.leaky_slope,
            code: LeakyCode::parse(&self.init, self.depth).map_err(|e| ("model.init", e))?,
        }))
    }

    pub(super) fn parse(&self) -> Result<ModelConfig, KeyError> {
        self.shape()?;
        let spec = match self.arch.as_str() {
            "mlp" => self.mlp()?,
            "wrn" => self.wrn()?,
            "leakynet" => self.leakynet()?,
            other => {
                return Err((
                    "model.arch",
                    format!("unknown arch {other:?}; expected one of {ARCHS:?}"),
                ));
            }
        };
        Ok(ModelConfig {
            classes: self.classes,
            spec,
        })
    }
}

impl From<&ModelConfig> for RawModel {
    /// Keys an arch does not read print at their defaults.
    fn from(m: &ModelConfig) -> RawModel {
        let mut raw = RawModel {
            arch: String::new(),
            classes: m.classes,
            hidden: default_hidden(),
            init: String::new(),
            depth: default_depth(),
            widen: super::one(),
            bn_momentum: default_bn_momentum(),
            leaky_slope: default_leaky_slope(),
        };
        match &m.spec {
            ModelSpec::Mlp { hidden, init } => {
                raw.arch = "mlp".into();
                raw.hidden = hidden.clone();
                raw.init = init.to_string();
            }
            ModelSpec::Wrn(w) => {
                raw.arch = "wrn".into();
                (raw.depth, raw.widen, raw.bn_momentum) = (w.depth, w.widen, w.bn_momentum);
                raw.init = w.init.to_string();
            }
            ModelSpec::LeakyNet(l) => {
                raw.arch = "leakynet".into();
                (raw.depth, raw.widen, raw.bn_momentum) = (l.depth, l.widen, l.bn_momentum);
                raw.leaky_slope = l.slope;
                raw.init = l.code.to_string();
            }
        }
        raw
    }
}

impl ModelConfig {
    /// The toy model: an MLP with these hidden widths.
    pub fn mlp(hidden: Vec<usize>, init: MlpInit) -> ModelConfig {
        ModelConfig {
            classes: None,
            spec: ModelSpec::Mlp { hidden, init },
        }
    }

    /// The classes the model is built with: `model.classes`, else the data set's.
    pub fn classes_for(&self, data_classes: usize) -> anyhow::Result<usize> {
        let classes = self.classes.unwrap_or(data_classes);
        anyhow::ensure!(
            classes >= data_classes,
            "invalid config key model.classes: {classes} is fewer than the {data_classes} classes \
             of the data"
        );
        Ok(classes)
    }

    /// The arch as the config names it.
    pub fn arch(&self) -> &'static str {
        match self.spec {
            ModelSpec::Mlp { .. } => "mlp",
            ModelSpec::Wrn(_) => "wrn",
            ModelSpec::LeakyNet(_) => "leakynet",
        }
    }
}
