//! The IDX format of MNIST and Fashion-MNIST: big-endian magic (0x0000_08_NN, NN = rank), dims, u8
//! data.
use super::{Split, check_split};
use anyhow::{Context, Result, bail, ensure};
use flate2::read::GzDecoder;
use std::io::{Read, Write};
use std::path::Path;
use tch::{Kind, Tensor};

const UBYTE: u8 = 0x08;

/// The largest ratio deflate reaches (about 1032:1), rounded up: a gzip stream that claims to
/// expand further is corrupt or hostile.
const MAX_DEFLATE_RATIO: usize = 1100;

/// Reads an IDX file (gzip detected from its magic bytes) into (dims, bytes). The header's sizes
/// are checked against what the file can hold before any buffer of that size is made.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = if raw.starts_with(&[0x1f, 0x8b]) {
        let limit = raw.len().saturating_mul(MAX_DEFLATE_RATIO);
        parse_idx(&mut GzDecoder::new(&raw[..]), limit, false)
    } else {
        parse_idx(&mut &raw[..], raw.len(), true)
    };
    parsed.with_context(|| format!("{}: not a valid IDX file", path.display()))
}

/// Parses an IDX stream of at most `limit` bytes (exactly, when `exact`).
fn parse_idx(r: &mut impl Read, limit: usize, exact: bool) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic)
        .context("shorter than the 4-byte magic (or a corrupt gzip stream)")?;
    ensure!(
        magic[0] == 0 && magic[1] == 0 && magic[2] == UBYTE,
        "bad magic {:02x}{:02x}{:02x}{:02x} (expected 000008NN, unsigned bytes)",
        magic[0],
        magic[1],
        magic[2],
        magic[3]
    );
    let rank = magic[3] as usize;
    ensure!(
        (1..=4).contains(&rank),
        "rank {rank} in the magic is not 1..4"
    );
    let mut dims = Vec::with_capacity(rank);
    for i in 0..rank {
        let mut d = [0u8; 4];
        r.read_exact(&mut d)
            .with_context(|| format!("truncated header: dimension {i} of {rank} missing"))?;
        dims.push(u32::from_be_bytes(d) as usize);
    }
    let header = 4 + 4 * rank;
    let expected = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .with_context(|| format!("dims {dims:?}: the data size overflows"))?;
    let room = limit.saturating_sub(header);
    ensure!(
        expected <= room,
        "dims {dims:?} need {expected} data bytes, the file holds at most {room} (truncated or \
         corrupt)"
    );
    let mut data = Vec::new();
    r.take(expected as u64 + 1)
        .read_to_end(&mut data)
        .context("corrupt or truncated data (or gzip stream)")?;
    let have = if exact { room } else { data.len() };
    if data.len() != expected || have != expected {
        bail!("dims {dims:?} need {expected} data bytes, file has {have} (truncated or corrupt)");
    }
    Ok((dims, data))
}

/// Loads an images file ([N, H, W]) and its labels file ([N]) into a checked split, pixels in
/// [0, 1].
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
