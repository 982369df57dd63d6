//! Initializations: how each arch applies the init code its config names
//! (`crate::config::{MlpInit, WrnInit, LeakyCode}`), and which features start identical.
mod closed_form;
mod leakynet;
mod mlp;
mod wrn;

pub use closed_form::constnet_features_closed_form;
pub use leakynet::init_leakynet;
pub use mlp::{he_std, init_mlp};
pub use wrn::{init_wrn, zero_o_matrix};
