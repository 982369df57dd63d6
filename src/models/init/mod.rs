//! Initializations: how each arch applies the init code its config names
//! (`crate::config::{MlpInit, WrnInit, LeakyCode}`), and which features start identical.
mod leakynet;
mod mlp;
mod wrn;

pub use leakynet::init_leakynet;
pub use mlp::{he_std, init_mlp};
pub use wrn::{init_wrn, zero_o_matrix};
