//! The paper's claims, one entry each: the one place to add a claim (docs/architecture.md).
//!
//! An entry gives a claim its id, the name experiment files and records use, the `[claims.Kn]`
//! criterion it is judged by (its field in `Criteria` and its type, or only the field of the
//! claim whose criterion it shares), its words for tables and the paper's words. `ClaimId`,
//! `Criteria` and the judges' dispatch (`claims::judge_claim`, through the criterion type's
//! `claims::Judge`) are all generated from this list, so a new claim is one entry here, its
//! criterion type in `criteria.rs` and its judge in its module under `claims/`.

/// Calls `$then!` with the claims' table.
#[macro_export]
macro_rules! claim_table {
    ($then:ident) => {
        $then! {
            K1 "K1" k1: IdenticalFeaturesHarm
                => "identical features harm training",
                "A complete lack of feature diversity at initialization (all hidden features \
identical) harms training: the network behaves as a width-1 network.";
            K2 "K2" k2: AccuracyRisesWithK
                => "fewer unique features, lower accuracy",
                "Accuracy of a one-hidden-layer ReLU network falls as the number of unique \
features at initialization falls.";
            K3 "K3" k3: SmallNoiseSuffices
                => "a small noise counteracts it",
                "A relatively small added noise counteracts the lack of diversity.";
            /// Judged only on GPU runs: nondeterministic kernels are K4's breaker.
            K4 "K4" k4: RoundingBreaksSymmetry
                => "GPU nondeterminism breaks the symmetry",
                "Even the noise of standard non-deterministic GPU computation is enough to break \
the symmetry.";
            /// K4's CPU stand-in, its own claim: an asymmetric rounding-level perturbation
            /// (gradient noise) is amplified until the channels part. It says nothing of GPU
            /// arithmetic.
            K4Cpu "K4-cpu" k4
                => "rounding-level noise is amplified (K4's CPU stand-in)",
                "CPU stand-in for K4: an asymmetric rounding-level perturbation (gradient noise \
of relative std 2^-24) is amplified by training until the channels part.";
            K5 "K5" k5: BreakerMatchesHe
                => "ConstNet + a breaker matches He",
                "ConstNet (identical features, almost all weights 0) trains to the accuracy of \
its randomly initialized counterpart, given a symmetry breaker.";
            K6 "K6" k6: ConstNetAtInit
                => "ConstNet at init: identical channels, loss ln(classes)",
                "ConstNet has perfect signal propagation and stable gradients at initialization.";
            K7 "K7" k7: SymmetryStays
                => "without a breaker the symmetry stays",
                "Without any symmetry breaker ConstNet stays channel-symmetric for the whole of \
training.";
            K8 "K8" k8: AveragingHinders
                => "averaging layers hinder symmetry breaking",
                "LeakyNet: channel-averaging layers erase inter-channel perturbations and so \
hinder symmetry breaking; more averaging layers, lower accuracy.";
            K9 "K9" k9: CharacteristicWidth
                => "training ends near a characteristic width",
                "Given a symmetry breaker, training ends near solutions of a characteristic \
effective width, whatever the initial diversity.";
        }
    };
}

/// `ClaimId`, its words, and `Criteria`, from the table.
macro_rules! define_claims {
    ($($(#[$doc:meta])* $id:ident $name:literal $field:ident $(: $ty:ty)?
        => $words:literal, $text:literal;)*) => {
        /// A claim of the paper (docs/paper.md, the claims).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        pub enum ClaimId {
            $($(#[$doc])* #[serde(rename = $name)] $id,)*
        }

        impl ClaimId {
            pub const ALL: [ClaimId; [$($name),*].len()] = [$(ClaimId::$id),*];

            /// The claim in a few words, for tables.
            pub fn words(self) -> &'static str {
                match self {
                    $(ClaimId::$id => $words,)*
                }
            }

            /// The claim in the paper's words (docs/paper.md, the claims).
            pub fn text(self) -> &'static str {
                match self {
                    $(ClaimId::$id => $text,)*
                }
            }
        }

        impl fmt::Display for ClaimId {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $(ClaimId::$id => $name,)*
                })
            }
        }

        /// The `[claims]` table of an experiment file: the claims it measures, each with its
        /// criterion.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Criteria {
            $($(
                #[serde(rename = $name, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )?)*
        }

        impl Criteria {
            /// The claims with a criterion here, in order.
            pub fn ids(&self) -> Vec<ClaimId> {
                let mut ids = Vec::new();
                $(if self.$field.is_some() {
                    ids.push(ClaimId::$id);
                })*
                ids
            }

            /// Checks every value's range; errors name the key (`claims.K5.margin`).
            pub fn check(&self) -> Result<()> {
                $($(
                    if let Some(c) = &self.$field {
                        <$ty>::check(c)?;
                    }
                )?)*
                Ok(())
            }
        }
    };
}

pub(super) use define_claims;
