//! Every integration test in one binary, one module a former test file (`tests/it/<name>.rs`), so
//! libtorch is linked once and libtest runs all of them on its threads at once (a file with one
//! long test no longer leaves a core idle). Tests in one process share libtorch's global state:
//! whoever seeds or draws from the default generator, sets the thread count or an environment
//! variable holds `featdiv::determinism::global_state_lock()` for it (`featdiv::train::train`
//! and `featdiv::data::synthetic` take it themselves, so a test never calls them while holding
//! it). `tests/cuda_properties.rs` stays a binary of its own: `make gpu-bundle` ships it.
#[macro_use]
mod common;

mod claim_k1_identity;
mod claim_k1_symmetry;
mod claim_k2_k3_untied;
mod claim_k4_rounding_noise_cpu;
mod claim_k6_constnet_init;
mod claim_k7_constnet_symmetry;
mod claim_k8_leakynet;
mod cli;
mod config;
mod data_loaders;
mod determinism;
mod docs;
mod experiments;
mod failures;
mod full_claims;
mod full_property_catch_up;
mod fuzz_loaders;
mod gpu_check;
mod metrics;
mod perturbation;
mod property_noise_threshold;
mod record_perturbation;
mod reference_constnet;
mod report_claims;
mod reproduce_report;
mod reproduce_resume;
mod reproduce_shards;
mod train_core;
mod wrn_inits;
