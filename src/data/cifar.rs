//! CIFAR-10's binary format: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).
use super::{Dataset, Split, check_split};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;
use tch::{Kind, Tensor};

const RECORD: usize = 1 + 3 * 32 * 32;

fn read_batch(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(!bytes.is_empty(), "{}: empty file", path.display());
    if bytes.len() % RECORD != 0 {
        bail!(
            "{}: {} bytes is not a whole number of {RECORD}-byte CIFAR-10 records (truncated or \
             corrupt)",
            path.display(),
            bytes.len()
        );
    }
    let mut labels = Vec::with_capacity(bytes.len() / RECORD);
    let mut pixels = Vec::with_capacity(bytes.len());
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] >= 10 {
            bail!(
                "{}: record {i} has label {}, outside [0, 10)",
                path.display(),
                rec[0]
            );
        }
        labels.push(rec[0]);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok((labels, pixels))
}

fn to_split(files: &[std::path::PathBuf]) -> Result<Split> {
    let (mut labels, mut pixels) = (Vec::new(), Vec::new());
    for f in files {
        let (l, p) = read_batch(f)?;
        labels.extend(l);
        pixels.extend(p);
    }
    let n = labels.len() as i64;
    let split = Split {
        images: Tensor::from_slice(&pixels)
            .view([n, 3, 32, 32])
            .to_kind(Kind::Float)
            / 255.0,
        labels: Tensor::from_slice(&labels).to_kind(Kind::Int64),
    };
    check_split(&split, 10, &files[0].display().to_string())?;
    Ok(split)
}

/// Loads `data_batch_1..5.bin` (those present, at least one) and `test_batch.bin` from `dir`.
pub fn load_cifar10(dir: &Path) -> Result<Dataset> {
    if !dir.is_dir() {
        bail!(
            "CIFAR-10 folder {} does not exist; set data.path (or --data-dir) to the folder of \
             the binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin)",
            dir.display()
        );
    }
    let train: Vec<_> = (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .filter(|p| p.is_file())
        .collect();
    ensure!(
        !train.is_empty(),
        "{}: no data_batch_N.bin files",
        dir.display()
    );
    let test = dir.join("test_batch.bin");
    ensure!(test.is_file(), "missing data file {}", test.display());
    Ok(Dataset {
        name: "cifar10".into(),
        train: to_split(&train)?,
        test: to_split(&[test])?,
        classes: 10,
        test_note: "test_batch.bin".into(),
    })
}

/// Writes records in CIFAR-10's binary format (pixels: N x 3072 bytes); for tests.
pub fn write_cifar_batch(path: &Path, labels: &[u8], pixels: &[u8]) -> Result<()> {
    ensure!(
        pixels.len() == labels.len() * (RECORD - 1),
        "pixels must be {} bytes per label",
        RECORD - 1
    );
    let mut out = Vec::with_capacity(labels.len() * RECORD);
    for (i, &l) in labels.iter().enumerate() {
        out.push(l);
        out.extend_from_slice(&pixels[i * (RECORD - 1)..(i + 1) * (RECORD - 1)]);
    }
    crate::files::write_atomic(path, &out)
}
