//! The loaders fuzzed: mutated bytes of valid IDX (raw and gzip), CIFAR-10, npz and safetensors
//! files and of TOML configs and experiment files (truncations, flipped bytes, huge dimensions,
//! inserted junk) must give an error or a valid result: never a panic, an abort, or a buffer of an
//! announced size made before that size was checked against the file.
//!
//! `make test` runs it for FEATDIV_FUZZ_SECONDS (default 20); `make fuzz` for 600. Each round
//! draws its cases from the seed it prints, so a failure replays with PROPTEST_RNG_SEED.
use crate::common;

use featdiv::data::{self, Split};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tch::{Kind, Tensor};

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Keep this fraction of the file.
    Truncate(f64),
    /// XOR the byte at this fraction of the file.
    Flip(f64, u8),
    /// Write this big-endian u32 at this fraction (a huge dimension or length).
    Huge(f64, u32),
    /// Insert these bytes at this fraction.
    Insert(f64, Vec<u8>),
}

fn at(len: usize, frac: f64) -> usize {
    ((len as f64) * frac) as usize % len.max(1)
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Truncate(f) => bytes.truncate(((bytes.len() as f64) * f) as usize),
        Mutation::Flip(f, x) => {
            let i = at(bytes.len(), *f);
            if let Some(b) = bytes.get_mut(i) {
                *b ^= x.max(&1);
            }
        }
        Mutation::Huge(f, v) => {
            let i = at(bytes.len(), *f);
            for (k, b) in v.to_be_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + k) {
                    *slot = *b;
                }
            }
        }
        Mutation::Insert(f, junk) => {
            let i = at(bytes.len(), *f).min(bytes.len());
            bytes.splice(i..i, junk.iter().copied());
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Headers are where sizes live: half the positions fall in the first 64th of the file.
    let pos = prop_oneof![0.0..1.0f64, 0.0..0.016f64];
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (pos.clone(), any::<u8>()).prop_map(|(f, x)| Mutation::Flip(f, x)),
        (
            pos.clone(),
            prop_oneof![
                Just(u32::MAX),
                Just(0x7fff_ffff),
                Just(1 << 24),
                any::<u32>()
            ]
        )
            .prop_map(|(f, v)| Mutation::Huge(f, v)),
        (pos, prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(f, j)| Mutation::Insert(f, j)),
    ]
}

/// The input formats, each a valid file and a loader.
#[derive(Debug, Clone, Copy)]
enum Format {
    Idx,
    IdxGz,
    Cifar,
    Npz,
    Safetensors,
    ConfigToml,
    ExperimentToml,
}

const FORMATS: [Format; 7] = [
    Format::Idx,
    Format::IdxGz,
    Format::Cifar,
    Format::Npz,
    Format::Safetensors,
    Format::ConfigToml,
    Format::ExperimentToml,
];

fn split(n: i64) -> Split {
    let _turn = featdiv::determinism::global_state_lock();
    Split {
        images: Tensor::rand([n, 1, 4, 4], (Kind::Float, tch::Device::Cpu)),
        labels: Tensor::arange(n, (Kind::Int64, tch::Device::Cpu)).remainder(3),
    }
}

/// A valid file of `format` in `dir`, as bytes, and the name the loader reads it under.
fn valid(format: Format, dir: &Path) -> (Vec<u8>, &'static str) {
    let read = |p: &Path| std::fs::read(p).unwrap();
    match format {
        Format::Idx | Format::IdxGz => {
            let name = if matches!(format, Format::IdxGz) {
                "x.idx.gz"
            } else {
                "x.idx"
            };
            data::write_idx(&dir.join(name), &[3, 4, 5], &[7u8; 60]).unwrap();
            (read(&dir.join(name)), name)
        }
        Format::Cifar => {
            data::write_cifar_batch(&dir.join("b.bin"), &[1, 2], &[9u8; 2 * 3072]).unwrap();
            (read(&dir.join("b.bin")), "data_batch_1.bin")
        }
        Format::Npz => {
            data::write_npz(&dir.join("d.npz"), &split(6), Some(&split(3))).unwrap();
            (read(&dir.join("d.npz")), "d.npz")
        }
        Format::Safetensors => {
            let w = {
                let _turn = featdiv::determinism::global_state_lock();
                Tensor::randn([6, 5], (Kind::Float, tch::Device::Cpu))
            };
            Tensor::write_safetensors(&[("layer.weight", &w)], dir.join("w.safetensors")).unwrap();
            (read(&dir.join("w.safetensors")), "w.safetensors")
        }
        Format::ConfigToml => (
            read(&common::root().join("configs/constnet.toml")),
            "c.toml",
        ),
        Format::ExperimentToml => (
            read(&common::root().join("configs/experiments/e2-constnet.toml")),
            "e.toml",
        ),
    }
}

/// Loads `path` as `format`; an error is fine, a panic fails the property.
fn load(format: Format, path: &Path) {
    let dir = path.parent().unwrap();
    let _ = match format {
        Format::Idx | Format::IdxGz => data::read_idx(path).map(|_| ()),
        Format::Cifar => {
            std::fs::copy(path, dir.join("test_batch.bin")).unwrap();
            data::load_cifar10(dir).map(|_| ())
        }
        Format::Npz => data::load_npz(path).map(|_| ()),
        Format::Safetensors => featdiv::checkpoint::checkpoint_diversity(path).map(|_| ()),
        Format::ConfigToml => featdiv::config::Config::from_file(path, &[]).map(|_| ()),
        Format::ExperimentToml => featdiv::experiment::Experiment::from_file(path).map(|_| ()),
    };
}

fn check(format: Format, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut bytes, name) = valid(format, dir.path());
    for m in mutations {
        mutate(&mut bytes, m);
    }
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, &bytes).unwrap();
    load(format, &path);
    Ok(())
}

#[test]
fn mutated_inputs_give_errors_never_panics() {
    let seconds: u64 = std::env::var("FEATDIV_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let first = common::proptest_seed();
    let strategy = (0..FORMATS.len(), prop::collection::vec(mutation(), 1..4));
    let (mut cases, mut round) = (0u64, 0u64);
    while Instant::now() < deadline {
        let seed = first.wrapping_add(round);
        let config = Config {
            cases: 32,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&strategy, |(f, ms)| check(FORMATS[f], &ms));
        if let Err(e) = result {
            panic!("round with PROPTEST_RNG_SEED={seed}: {e}");
        }
        cases += 32;
        round += 1;
    }
    eprintln!(
        "fuzz: {cases} mutated inputs in {seconds} s (seeds {first}..{}), no panic",
        first.wrapping_add(round)
    );
}

#[test]
fn the_valid_inputs_load() {
    let dir = tempfile::TempDir::new().unwrap();
    for f in FORMATS {
        let sub = dir.path().join(format!("{f:?}"));
        std::fs::create_dir_all(&sub).unwrap();
        let (bytes, name) = valid(f, &sub);
        let path = sub.join(name);
        std::fs::write(&path, bytes).unwrap();
        load(f, &path);
    }
    // A huge announced dimension is refused from the header, not allocated.
    let path = dir.path().join("huge.idx");
    let mut bytes = vec![0, 0, 8, 3];
    for d in [u32::MAX, u32::MAX, 2] {
        bytes.extend(d.to_be_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let err = format!("{:#}", data::read_idx(&path).unwrap_err());
    assert!(
        err.contains("overflows") || err.contains("at most"),
        "{err}"
    );
}
