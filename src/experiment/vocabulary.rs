//! The names experiment files give the groups and experiments that the claims, the report and
//! the calibration read: one spelling of each, so a renamed group is one edit here and in the
//! files (configs/experiments/*.toml).

/// Groups of runs (a variant's `group`) that a claim compares.
pub mod group {
    /// He-initialized runs: every claim's baseline.
    pub const HE: &str = "he";
    /// ConstNet without a symmetry breaker.
    pub const NO_BREAKER: &str = "none";
    pub const DROPOUT: &str = "dropout";
    /// Gradient noise of relative std 2^-24: K4's CPU stand-in.
    pub const GRAD_NOISE: &str = "grad-noise";
    pub const INIT_NOISE: &str = "init-noise";
    /// The GPU's nondeterministic kernels: K4's breaker.
    pub const NONDETERMINISTIC: &str = "nondeterministic";
    /// ConstNet's symmetry breakers, in the report's order.
    pub const BREAKERS: [&str; 4] = [DROPOUT, GRAD_NOISE, INIT_NOISE, NONDETERMINISTIC];
    /// The toy model's tied k-unique:1 runs at each hidden width (K1).
    pub const SYMMETRY: &str = "symmetry";
    /// A width-1 network (K1's reference).
    pub const WIDTH_1: &str = "width-1";
    /// Tied k-unique:K runs against K (K2).
    pub const K_CURVE: &str = "k-curve";
    /// Untied k-unique:K runs (K2's contrast).
    pub const UNTIED: &str = "untied";
    /// Tied k-unique:1 runs against the init noise eps (K3).
    pub const EPS_CURVE: &str = "eps-curve";
}

/// Experiments (a file's `name`) looked up by name.
pub mod named {
    pub const E1_TOY: &str = "e1-toy";
    pub const E2_CONSTNET: &str = "e2-constnet";
    pub const E3_LEAKYNET: &str = "e3-leakynet";
    pub const E4_DIVERSITY: &str = "e4-diversity";
    pub const E5_PERTURBATION: &str = "e5-perturbation";
}
