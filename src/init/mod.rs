//! Initializations: the code of a config's `model.init`, and how each arch applies it.
mod leakynet;
mod mlp;
mod wrn;

pub use leakynet::{LeakyLayerInit, init_leakynet, parse_leaky_code};
pub use mlp::{he_std, init_mlp};
pub use wrn::{init_wrn, zero_o_matrix};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InitSpec {
    He,
    Xavier,
    Zero,
    /// K unique incoming rows per hidden layer (unit j copies row j mod K). `tied`: the outgoing
    /// columns of duplicated units are copies too, so duplicates stay identical under exact
    /// arithmetic; untied: outgoing weights are drawn independently, itself a symmetry breaker.
    KUnique {
        k: usize,
        tied: bool,
    },
    /// ConstNet (WRN): identical channels, almost every weight 0 (DIGEST section 3).
    ConstNet,
    /// ConstNet stem and shortcuts with random residual convs of variance scale `scale`.
    ConstNetResidual {
        scale: f64,
    },
    /// Delta-orthogonal (Xiao et al. 2018): every conv zero but a (semi-)orthogonal centre tap.
    DeltaOrthogonal,
    /// ZerO (Zhao et al. 2022): zeros and ones only; identity, partial identity or Hadamard
    /// centre taps; residual convs zero.
    ZerO,
    /// Fixup (Zhang et al. 2019) on the normalization-free skeleton: with one conv per residual
    /// branch that conv is the branch's last, so it starts at 0 and the L^(-1/(2m-2)) rescaling
    /// has nothing to apply to (m = 1); stem and shortcuts as `he`; scalar biases 0, multipliers 1.
    Fixup,
}

impl InitSpec {
    pub fn parse(code: &str) -> std::result::Result<InitSpec, String> {
        let k_of = |rest: &str| -> std::result::Result<usize, String> {
            match rest.parse::<usize>() {
                Ok(k) if k > 0 => Ok(k),
                _ => Err(format!("{code:?}: K must be a positive integer")),
            }
        };
        match code {
            "he" => Ok(InitSpec::He),
            "xavier" => Ok(InitSpec::Xavier),
            "zero" => Ok(InitSpec::Zero),
            "constnet" => Ok(InitSpec::ConstNet),
            "delta-orthogonal" => Ok(InitSpec::DeltaOrthogonal),
            "zero-o" => Ok(InitSpec::ZerO),
            "fixup" => Ok(InitSpec::Fixup),
            _ => {
                if let Some(rest) = code.strip_prefix("constnet+residual:") {
                    match rest.parse::<f64>() {
                        Ok(scale) if scale.is_finite() && scale > 0.0 => {
                            Ok(InitSpec::ConstNetResidual { scale })
                        }
                        _ => Err(format!(
                            "{code:?}: the variance scale S must be a number > 0"
                        )),
                    }
                } else if let Some(rest) = code.strip_prefix("k-unique-untied:") {
                    Ok(InitSpec::KUnique {
                        k: k_of(rest)?,
                        tied: false,
                    })
                } else if let Some(rest) = code.strip_prefix("k-unique:") {
                    Ok(InitSpec::KUnique {
                        k: k_of(rest)?,
                        tied: true,
                    })
                } else {
                    Err(format!(
                        "unknown init code {code:?}; expected he, xavier, zero, k-unique:K, k-unique-untied:K (mlp), constnet, constnet+residual:S, delta-orthogonal, zero-o or fixup (wrn)"
                    ))
                }
            }
        }
    }

    /// The archs this init applies to.
    pub fn archs(&self) -> &'static [&'static str] {
        match self {
            InitSpec::He => &["mlp", "wrn"],
            InitSpec::Xavier | InitSpec::Zero | InitSpec::KUnique { .. } => &["mlp"],
            InitSpec::ConstNet
            | InitSpec::ConstNetResidual { .. }
            | InitSpec::DeltaOrthogonal
            | InitSpec::ZerO
            | InitSpec::Fixup => &["wrn"],
        }
    }

    /// Feature groups of a hidden layer of `width` units: equal ids start identical.
    pub fn feature_groups(&self, width: usize) -> Vec<usize> {
        match self {
            InitSpec::KUnique { k, .. } => (0..width).map(|j| j % k).collect(),
            InitSpec::Zero | InitSpec::ConstNet => vec![0; width],
            _ => (0..width).collect(),
        }
    }
}
