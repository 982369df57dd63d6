//! The IDX format of MNIST and Fashion-MNIST: big-endian magic (0x0000_08_NN, NN = rank), dims, u8 data.
use super::{Split, check_split};
use anyhow::{Context, Result, bail, ensure};
use flate2::read::GzDecoder;
use std::io::{Read, Write};
use std::path::Path;
use tch::{Kind, Tensor};

const UBYTE: u8 = 0x08;

/// Reads an IDX file (gzip detected from its magic bytes) into (dims, bytes).
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: corrupt or truncated gzip stream", path.display()))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).with_context(|| format!("{}: not a valid IDX file", path.display()))
}

fn parse_idx(bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>)> {
    ensure!(
        bytes.len() >= 4,
        "file has {} bytes, shorter than the 4-byte magic",
        bytes.len()
    );
    ensure!(
        bytes[0] == 0 && bytes[1] == 0 && bytes[2] == UBYTE,
        "bad magic {:02x}{:02x}{:02x}{:02x} (expected 000008NN, unsigned bytes)",
        bytes[0],
        bytes[1],
        bytes[2],
        bytes[3]
    );
    let rank = bytes[3] as usize;
    ensure!(
        (1..=4).contains(&rank),
        "rank {rank} in the magic is not 1..4"
    );
    let header = 4 + 4 * rank;
    ensure!(
        bytes.len() >= header,
        "truncated header ({} bytes, need {header})",
        bytes.len()
    );
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let expected: usize = dims.iter().product();
    let have = bytes.len() - header;
    if have != expected {
        bail!("dims {dims:?} need {expected} data bytes, file has {have} (truncated or corrupt)");
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// Loads an images file ([N, H, W]) and its labels file ([N]) into a checked split, pixels in [0, 1].
pub fn load_idx_pair(images: &Path, labels: &Path, classes: usize) -> Result<Split> {
    let (idims, ibytes) = read_idx(images)?;
    let (ldims, lbytes) = read_idx(labels)?;
    ensure!(
        idims.len() == 3,
        "{}: images must have rank 3 [N, H, W], got dims {idims:?}",
        images.display()
    );
    ensure!(
        ldims.len() == 1,
        "{}: labels must have rank 1 [N], got dims {ldims:?}",
        labels.display()
    );
    ensure!(
        idims[0] == ldims[0],
        "{} has {} images but {} has {} labels",
        images.display(),
        idims[0],
        labels.display(),
        ldims[0]
    );
    if let Some(bad) = lbytes.iter().find(|&&l| l as usize >= classes) {
        bail!("{}: label {bad} outside [0, {classes})", labels.display());
    }
    let (n, h, w) = (idims[0] as i64, idims[1] as i64, idims[2] as i64);
    let split = Split {
        images: Tensor::from_slice(&ibytes)
            .view([n, 1, h, w])
            .to_kind(Kind::Float)
            / 255.0,
        labels: Tensor::from_slice(&lbytes).to_kind(Kind::Int64),
    };
    check_split(&split, classes, &images.display().to_string())?;
    Ok(split)
}

/// Writes an IDX file of unsigned bytes (gzip when the name ends in `.gz`); for fixtures and tests.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let mut bytes = vec![0, 0, UBYTE, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let out = if path.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&bytes)?;
        enc.finish()?
    } else {
        bytes
    };
    crate::files::write_atomic(path, &out)
}
