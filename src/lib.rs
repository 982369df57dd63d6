//! featdiv: reproduce and check the claims of Blumenfeld, Gilboa & Soudry (ICML 2020),
//! "Beyond Signal Propagation: Is Feature Diversity Necessary in Deep Neural Network Initialization?"
//!
//! Data flows one way: config -> data + model + init -> train (with breakers) -> records ->
//! metrics / claims -> report. docs/architecture.md draws the layers; `ci/layers` checks that no
//! module imports from a layer above its own.
pub mod bench;
pub mod breakers;
pub mod calibration;
pub mod checkpoint;
pub mod claims;
pub mod config;
pub mod data;
pub mod determinism;
pub mod device;
pub mod environment;
pub mod experiment;
pub mod files;
pub mod host;
pub mod metrics;
pub mod models;
pub mod ops;
pub mod precision;
pub mod records;
pub mod report;
pub mod runner;
pub mod runs;
pub mod schedule;
pub mod sweep;
pub mod train;
