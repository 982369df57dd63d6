//! Init codes as the config writes them (`model.init`), parsed once into types: the MLP's, the
//! Wide-ResNet's and LeakyNet's per-layer codes. Each prints back as the text it came from, so a
//! resolved config (and the hash that names its run) reads as the user wrote it.
use std::fmt;
use std::str::FromStr;

/// Inits of the toy model (`arch = "mlp"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MlpInit {
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
}

/// Inits of the Wide-ResNet skeleton (`arch = "wrn"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WrnInit {
    /// The authors' random counterpart ("varnet").
    He,
    /// Identical channels, almost every weight 0 (docs/paper.md, ConstNet).
    ConstNet,
    /// ConstNet stem and shortcuts with random residual convs of variance scale `scale`.
    ConstNetResidual { scale: f64 },
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

/// The init of one LeakyNet conv: `h` random, `1` channel averaging, `i` identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakyLayerInit {
    Random,
    Average,
    Identity,
}

/// A LeakyNet init code like `1_iiii_1111_iiii`: character 0 initializes the stem, the others the
/// layers; underscores only group them for the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakyCode {
    text: String,
    layers: Vec<LeakyLayerInit>,
}

/// A LeakyNet code with a character other than h, 1, i or _ at `pos` (underscores not counted).
fn leakynet_character_error(text: &str, other: char, pos: usize) -> String {
    format!(
        "LeakyNet code {text:?}: unknown character {other:?} at position {pos} (expected h, 1, i \
         or _)"
    )
}

/// A LeakyNet code of `found` characters where `depth` needs `want`.
fn leakynet_length_error(text: &str, found: usize, depth: usize, want: usize) -> String {
    format!(
        "LeakyNet code {text:?} has {found} characters (without underscores), depth {depth} needs \
         {want}: one for the stem and one per layer"
    )
}

/// An init code of arch `of` given to arch `arch`, whose codes are `expected`.
fn other_arch_error(code: &str, arch: &str, of: &str, expected: &str) -> String {
    format!(
        "{code:?} does not apply to arch \"{arch}\" (it is an init of arch \"{of}\"); expected \
         {expected}"
    )
}

impl LeakyCode {
    /// Parses `text`; `depth` fixes its length: one character for the stem and one per layer.
    pub fn parse(text: &str, depth: usize) -> Result<LeakyCode, String> {
        let chars: Vec<char> = text.chars().filter(|&c| c != '_').collect();
        let mut layers = Vec::with_capacity(chars.len());
        for (pos, c) in chars.iter().enumerate() {
            layers.push(match c {
                'h' => LeakyLayerInit::Random,
                '1' => LeakyLayerInit::Average,
                'i' => LeakyLayerInit::Identity,
                other => {
                    return Err(leakynet_character_error(text, *other, pos));
                }
            });
        }
        let want = 1 + depth.saturating_sub(4);
        if layers.len() != want {
            return Err(leakynet_length_error(text, layers.len(), depth, want));
        }
        Ok(LeakyCode {
            text: text.to_string(),
            layers,
        })
    }

    /// The stem's init first, then one per layer.
    pub fn layers(&self) -> &[LeakyLayerInit] {
        &self.layers
    }

    /// Channel-averaging layers after the stem: what K8 counts.
    pub fn averaging_layers(&self) -> usize {
        self.layers[1..]
            .iter()
            .filter(|&&l| l == LeakyLayerInit::Average)
            .count()
    }

    /// Whether any conv (the stem included) starts random.
    pub fn has_random(&self) -> bool {
        self.layers.contains(&LeakyLayerInit::Random)
    }
}

impl fmt::Display for LeakyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MLP_INITS: &str = "he, xavier, zero, k-unique:K or k-unique-untied:K";
const WRN_INITS: &str = "he, constnet, constnet+residual:S, delta-orthogonal, zero-o or fixup";

impl FromStr for MlpInit {
    type Err = String;
    fn from_str(code: &str) -> Result<MlpInit, String> {
        let k_of = |rest: &str| match rest.parse::<usize>() {
            Ok(k) if k > 0 => Ok(k),
            _ => Err(format!("{code:?}: K must be a positive integer")),
        };
        match code {
            "he" => Ok(MlpInit::He),
            "xavier" => Ok(MlpInit::Xavier),
            "zero" => Ok(MlpInit::Zero),
            _ => {
                if let Some(rest) = code.strip_prefix("k-unique-untied:") {
                    Ok(MlpInit::KUnique {
                        k: k_of(rest)?,
                        tied: false,
                    })
                } else if let Some(rest) = code.strip_prefix("k-unique:") {
                    Ok(MlpInit::KUnique {
                        k: k_of(rest)?,
                        tied: true,
                    })
                } else if code.parse::<WrnInit>().is_ok() {
                    Err(other_arch_error(code, "mlp", "wrn", MLP_INITS))
                } else {
                    Err(format!("unknown init code {code:?}; expected {MLP_INITS}"))
                }
            }
        }
    }
}

impl fmt::Display for MlpInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MlpInit::He => f.write_str("he"),
            MlpInit::Xavier => f.write_str("xavier"),
            MlpInit::Zero => f.write_str("zero"),
            MlpInit::KUnique { k, tied: true } => write!(f, "k-unique:{k}"),
            MlpInit::KUnique { k, tied: false } => write!(f, "k-unique-untied:{k}"),
        }
    }
}

impl FromStr for WrnInit {
    type Err = String;
    fn from_str(code: &str) -> Result<WrnInit, String> {
        match code {
            "he" => Ok(WrnInit::He),
            "constnet" => Ok(WrnInit::ConstNet),
            "delta-orthogonal" => Ok(WrnInit::DeltaOrthogonal),
            "zero-o" => Ok(WrnInit::ZerO),
            "fixup" => Ok(WrnInit::Fixup),
            _ => match code.strip_prefix("constnet+residual:") {
                Some(rest) => match rest.parse::<f64>() {
                    Ok(scale) if scale.is_finite() && scale > 0.0 => {
                        Ok(WrnInit::ConstNetResidual { scale })
                    }
                    _ => Err(format!(
                        "{code:?}: the variance scale S must be a number > 0"
                    )),
                },
                None if code.starts_with("k-unique") || code == "xavier" || code == "zero" => {
                    Err(other_arch_error(code, "wrn", "mlp", WRN_INITS))
                }
                None => Err(format!("unknown init code {code:?}; expected {WRN_INITS}")),
            },
        }
    }
}

impl fmt::Display for WrnInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrnInit::He => f.write_str("he"),
            WrnInit::ConstNet => f.write_str("constnet"),
            WrnInit::ConstNetResidual { scale } => write!(f, "constnet+residual:{scale}"),
            WrnInit::DeltaOrthogonal => f.write_str("delta-orthogonal"),
            WrnInit::ZerO => f.write_str("zero-o"),
            WrnInit::Fixup => f.write_str("fixup"),
        }
    }
}
