//! The paper's claims, one entry each: the one place to add a claim (docs/architecture.md).
//!
//! An entry gives a claim its id, the name experiment files and records use, the field of
//! `Criteria` that holds its `[claims.Kn]` criterion, its words for tables, the paper's words,
//! and its criterion type: each key with its doc comment, its type and its range check (a check
//! from `criteria.rs`, given the value and its key). A claim that shares another's criterion
//! (K4-cpu shares K4's) names only the field. `ClaimId`, `Criteria`, the criterion types and
//! the judges' dispatch (`claims::judge_claim`, through the criterion type's `claims::Judge`)
//! are all generated from this list, so a new claim is one entry here and its judge in its
//! module under `claims/`.

/// Calls `$then!` with the claims' table.
#[macro_export]
macro_rules! claim_table {
    ($then:ident) => {
        $then! {
            K1 "K1" k1
                => "identical features harm training",
                "A complete lack of feature diversity at initialization (all hidden features \
identical) harms training: the network behaves as a width-1 network.",
                {
                    /// K1 "harms training": tied k-unique:1 runs whose features stayed identical
                    /// fall more than `margin` below He (superiority). "Behaves as a width-1
                    /// network" is an exact identity, checked as a property
                    /// (tests/it/claim_k1_identity.rs), not a comparison of accuracies.
                    IdenticalFeaturesHarm {
                        weighing: Weighing = Weighing::check,
                        /// How far below He the tied runs must fall for the lack of diversity to
                        /// harm training.
                        margin: f64 = in_unit,
                        /// Float32 ulps tied features may drift and still count as identical; a
                        /// run that drifted further is K4 evidence, not K1's.
                        drift_bound_ulps: u64 = any,
                    }
                };
            K2 "K2" k2
                => "fewer unique features, lower accuracy",
                "Accuracy of a one-hidden-layer ReLU network falls as the number of unique \
features at initialization falls.",
                {
                    /// K2: accuracy rises with the number K of unique features.
                    AccuracyRisesWithK {
                        weighing: Weighing = Weighing::check,
                        /// The least rise from the smallest K to the largest that counts as a
                        /// real dependence.
                        growth: f64 = in_unit,
                        /// As K5's: the most the smallest K may still close of its gap to the
                        /// largest per epoch over the last quarter of the high learning rate for
                        /// its shortfall to count.
                        catch_up: f64 = in_unit,
                    }
                };
            K3 "K3" k3
                => "a small noise counteracts it",
                "A relatively small added noise counteracts the lack of diversity.",
                {
                    /// K3: for some small eps, most seeds of tied k-unique:1 escape chance and the
                    /// escaped seeds come within `margin` of He. A seed either escapes or stays at
                    /// chance, so the two parts are judged apart: a mean over both kinds of seed
                    /// has no useful interval.
                    SmallNoiseSuffices {
                        weighing: Weighing = Weighing::check,
                        margin: f64 = in_unit,
                        /// The largest eps (relative to the He std) that counts as small.
                        small_eps: f64 = above_zero,
                        /// A seed escaped once its accuracy beats chance by this.
                        escaped_above: f64 = in_unit,
                        /// The fraction of seeds that must escape (an exact binomial bound above
                        /// it).
                        escape_fraction: f64 = in_unit,
                        /// As K5's: the most an eps may still close of its gap to He per epoch
                        /// over the last quarter of the high learning rate for its shortfall to
                        /// count against the claim.
                        catch_up: f64 = in_unit,
                    }
                };
            /// Judged only on GPU runs: nondeterministic kernels are K4's breaker.
            K4 "K4" k4
                => "GPU nondeterminism breaks the symmetry",
                "Even the noise of standard non-deterministic GPU computation is enough to break \
the symmetry.",
                {
                    /// K4: a rounding-level breaker opens ConstNet's symmetry gap past
                    /// `macro_gap`.
                    RoundingBreaksSymmetry |c| {
                        min_seeds: usize = at_least_one,
                        /// A gap above this is macroscopic: the channels have visibly parted.
                        macro_gap: f64 = above_zero,
                        /// The gap a rounding-level breaker starts from is below this.
                        rounding_gap: f64 = below(c.macro_gap, "macro_gap"),
                    }
                };
            /// K4's CPU stand-in, its own claim: an asymmetric rounding-level perturbation
            /// (gradient noise) is amplified until the channels part. It says nothing of GPU
            /// arithmetic.
            K4Cpu "K4-cpu" k4
                => "rounding-level noise is amplified (K4's CPU stand-in)",
                "CPU stand-in for K4: an asymmetric rounding-level perturbation (gradient noise \
of relative std 2^-24) is amplified by training until the channels part.";
            K5 "K5" k5
                => "ConstNet + a breaker matches He",
                "ConstNet (identical features, almost all weights 0) trains to the accuracy of \
its randomly initialized counterpart, given a symmetry breaker.",
                {
                    /// K5: ConstNet with each breaker within `margin` of He.
                    BreakerMatchesHe {
                        weighing: Weighing = Weighing::check,
                        margin: f64 = in_unit,
                        /// A breaker has broken the symmetry once its gap passed this.
                        macro_gap: f64 = above_zero,
                        /// The most a breaker may still close of its gap to He per epoch over the
                        /// last quarter of the evaluations at a high learning rate (at least half
                        /// the first), beyond seed noise; more, and it was still catching up when
                        /// the rate decayed, so the budget, not the breaker, set its accuracy.
                        catch_up: f64 = in_unit,
                    }
                };
            K6 "K6" k6
                => "ConstNet at init: identical channels, loss ln(classes)",
                "ConstNet has perfect signal propagation and stable gradients at initialization.",
                {
                    /// K6: at init every conv has one distinct channel and the first loss is
                    /// ln(classes).
                    ConstNetAtInit {
                        loss_tol: f64 = above_zero,
                    }
                };
            K7 "K7" k7
                => "without a breaker the symmetry stays",
                "Without any symmetry breaker ConstNet stays channel-symmetric for the whole of \
training.",
                {
                    /// K7: without a breaker ConstNet's channel gap stays exactly 0 at every
                    /// logged step.
                    SymmetryStays {
                        min_seeds: usize = at_least_one,
                    }
                };
            K8 "K8" k8
                => "averaging layers hinder symmetry breaking",
                "LeakyNet: channel-averaging layers erase inter-channel perturbations and so \
hinder symmetry breaking; more averaging layers, lower accuracy.",
                {
                    /// K8: averaging layers erase a perturbation at init, and accuracy falls with
                    /// their number.
                    AveragingHinders |c| {
                        weighing: Weighing = Weighing::check,
                        /// Reach (to the last layer, relative to the injected size) below which
                        /// it is erased.
                        erase_below: f64 = below(c.pass_above, "pass_above"),
                        /// Reach above which identity layers pass it.
                        pass_above: f64 = above_zero,
                        /// As K5's: the most an averaging code may still close of its gap to the
                        /// identity codes per epoch over the last quarter of the high learning
                        /// rate for its shortfall to count.
                        catch_up: f64 = in_unit,
                    }
                };
            K9 "K9" k9
                => "training ends near a characteristic width",
                "Given a symmetry breaker, training ends near solutions of a characteristic \
effective width, whatever the initial diversity.",
                {
                    /// K9: with each breaker, the final effective width equivalent to He's within
                    /// a factor (two one-sided tests on the log ratio, He's seed variance
                    /// included).
                    CharacteristicWidth {
                        /// The confidence of each one-sided test (1 - alpha, at least 0.9).
                        confidence: f64 = confidence,
                        min_seeds: usize = at_least_two,
                        width_factor: f64 = above_one,
                        /// Each group's median width moved by at most this fraction over the last
                        /// quarter of the evaluations at a high learning rate (at least half the
                        /// first).
                        width_plateau: f64 = in_unit,
                        macro_gap: f64 = above_zero,
                    }
                };
        }
    };
}

/// `ClaimId`, its words, `Criteria` and the criterion types, from the table.
macro_rules! define_claims {
    ($($(#[$doc:meta])* $id:ident $name:literal $field:ident
        => $words:literal, $text:literal $(, {
            $(#[$cdoc:meta])* $ty:ident $(|$c:ident|)? {
                $($(#[$kdoc:meta])* $key:ident: $kty:ty = $check:expr),* $(,)?
            }
        })?;)*) => {
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

        $($(
            $(#[$cdoc])*
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $ty {
                /// Why these thresholds, in one line.
                pub rationale: String,
                $($(#[$kdoc])* pub $key: $kty,)*
            }

            impl Rationale for $ty {
                fn rationale(&self) -> &str {
                    &self.rationale
                }
            }

            impl $ty {
                /// Each key's check, in order; the first that fails names its key.
                fn check(&self) -> Result<()> {
                    $(let $c = self;)?
                    $(($check)(&self.$key, concat!($name, ".", stringify!($key)))?;)*
                    Ok(())
                }
            }
        )?)*
    };
}

pub(super) use define_claims;
