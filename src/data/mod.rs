//! Data sets as tensors loaded once: IDX (MNIST, Fashion-MNIST), CIFAR-10 binary, npz, synthetic.
//! Every loader checks what it reads and names the file in its errors.
mod augment;
mod batches;
mod cifar;
mod idx;
mod npy;
mod npz;
mod synthetic;

pub use augment::augment_batch;
pub use batches::Batches;
pub use cifar::{load_cifar10, write_cifar_batch};
pub use idx::{load_idx_pair, read_idx, write_idx};
pub use npy::read_npz;
pub use npz::{load_npz, write_npz};
pub use synthetic::synthetic;

use crate::config::{DataConfig, Source};
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// One split: images [N, C, H, W] float32, labels [N] int64.
#[derive(Debug)]
pub struct Split {
    pub images: Tensor,
    pub labels: Tensor,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The first `n` examples (0: all). More than the split holds is an error, not all of it:
    /// a run's scale would otherwise claim data it never saw.
    fn head(&self, n: usize, key: &str) -> Result<Split> {
        ensure!(
            n <= self.len(),
            "invalid config key {key}: {n} examples asked for, but the split has only {}",
            self.len()
        );
        if n == 0 || n == self.len() {
            return Ok(self.shallow_clone());
        }
        Ok(Split {
            images: self.images.narrow(0, 0, n as i64),
            labels: self.labels.narrow(0, 0, n as i64),
        })
    }
    fn shallow_clone(&self) -> Split {
        Split {
            images: self.images.shallow_clone(),
            labels: self.labels.shallow_clone(),
        }
    }
    pub fn to_device(&self, device: Device) -> Split {
        Split {
            images: self.images.to_device(device),
            labels: self.labels.to_device(device),
        }
    }
}

#[derive(Debug)]
pub struct Dataset {
    pub name: String,
    pub train: Split,
    pub test: Split,
    pub classes: usize,
    /// Where the test split came from, for the record (e.g. "t10k files", "same as train").
    pub test_note: String,
}

impl Dataset {
    /// [C, H, W] of one example.
    pub fn example_shape(&self) -> Vec<i64> {
        self.train.images.size()[1..].to_vec()
    }
    pub fn input_dim(&self) -> i64 {
        self.example_shape().iter().product()
    }
    fn shallow_clone(&self) -> Dataset {
        Dataset {
            name: self.name.clone(),
            train: self.train.shallow_clone(),
            test: self.test.shallow_clone(),
            classes: self.classes,
            test_note: self.test_note.clone(),
        }
    }
    pub fn to_device(&self, device: Device) -> Dataset {
        Dataset {
            name: self.name.clone(),
            train: self.train.to_device(device),
            test: self.test.to_device(device),
            classes: self.classes,
            test_note: self.test_note.clone(),
        }
    }
}

/// Per-channel normalization constants of the named data sets.
pub fn normalization(source: Source) -> Option<(Vec<f64>, Vec<f64>)> {
    match source {
        Source::FashionMnist => Some((vec![0.2860], vec![0.3530])),
        Source::Mnist => Some((vec![0.1307], vec![0.3081])),
        // The authors' CIFAR-10 constants (docs/paper.md, training set-up).
        Source::Cifar10 => Some((
            vec![125.3 / 255.0, 123.0 / 255.0, 113.9 / 255.0],
            vec![63.0 / 255.0, 62.1 / 255.0, 66.7 / 255.0],
        )),
        Source::Npz | Source::Synthetic => None,
    }
}

/// Where `make data` puts a named data set.
pub fn default_path(source: Source) -> Option<PathBuf> {
    match source {
        Source::FashionMnist => Some(PathBuf::from("data/fashion-mnist")),
        Source::Mnist => Some(PathBuf::from("data/mnist")),
        Source::Cifar10 => Some(PathBuf::from("data/cifar-10-batches-bin")),
        Source::Npz | Source::Synthetic => None,
    }
}

/// Loads the data set a config names, applies subsets and normalization, on the CPU.
pub fn load(cfg: &DataConfig, seed: u64) -> Result<Dataset> {
    let path = || {
        cfg.path
            .clone()
            .or_else(|| default_path(cfg.source))
            .ok_or_else(|| anyhow::anyhow!("data.source {:?} needs data.path", cfg.source.name()))
    };
    let mut ds = match cfg.source {
        Source::Synthetic => synthetic(seed, 2048, 1024),
        Source::FashionMnist | Source::Mnist => load_idx_dir(cfg.source.name(), &path()?)?,
        Source::Cifar10 => load_cifar10(&path()?)?,
        Source::Npz => load_npz(&path()?)?,
    };
    let source = || match cfg.source {
        Source::Synthetic => "the synthetic data set".to_string(),
        _ => path().map_or_else(|e| e.to_string(), |p| p.display().to_string()),
    };
    ds.train = ds
        .train
        .head(cfg.train_subset, "data.train_subset")
        .with_context(|| format!("training set of {}", source()))?;
    ds.test = ds
        .test
        .head(cfg.test_subset, "data.test_subset")
        .with_context(|| format!("test set of {}", source()))?;
    if cfg.normalize
        && let Some((mean, std)) = normalization(cfg.source)
    {
        ds.train.images = normalize(&ds.train.images, &mean, &std);
        ds.test.images = normalize(&ds.test.images, &mean, &std);
    }
    Ok(ds)
}

/// The last data set loaded, for a process that trains many runs in turn (a sweep's worker):
/// decoding and normalizing all of Fashion-MNIST takes about a second, as long as a toy run
/// trains. Runs share the tensors, which training only reads.
#[derive(Default)]
pub struct DataCache {
    last: Option<(DataConfig, Option<u64>, Dataset)>,
}

impl DataCache {
    /// `load(cfg, seed)`, or the data set it returned last time for the same arguments.
    pub fn load(&mut self, cfg: &DataConfig, seed: u64) -> Result<Dataset> {
        // Only the synthetic set depends on the seed.
        let key = (cfg.source == Source::Synthetic).then_some(seed);
        match &self.last {
            Some((c, k, ds)) if c == cfg && *k == key => Ok(ds.shallow_clone()),
            _ => {
                self.last = None;
                let ds = load(cfg, seed)?;
                let copy = ds.shallow_clone();
                self.last = Some((cfg.clone(), key, ds));
                Ok(copy)
            }
        }
    }
}

fn normalize(images: &Tensor, mean: &[f64], std: &[f64]) -> Tensor {
    let c = mean.len() as i64;
    let m = Tensor::from_slice(mean)
        .to_kind(Kind::Float)
        .view([1, c, 1, 1]);
    let s = Tensor::from_slice(std)
        .to_kind(Kind::Float)
        .view([1, c, 1, 1]);
    (images - m) / s
}

/// Fashion-MNIST / MNIST from a folder with the four IDX files (`.gz` or raw).
pub fn load_idx_dir(name: &str, dir: &Path) -> Result<Dataset> {
    if !dir.is_dir() {
        bail!(
            "data folder {} does not exist; run `make data` (Fashion-MNIST from Debian's \
             dataset-fashion-mnist package) or set data.path to a folder holding \
             train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
             t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]",
            dir.display()
        );
    }
    let train = load_idx_pair(
        &find_idx(dir, "train-images-idx3-ubyte")?,
        &find_idx(dir, "train-labels-idx1-ubyte")?,
        10,
    )?;
    let test = load_idx_pair(
        &find_idx(dir, "t10k-images-idx3-ubyte")?,
        &find_idx(dir, "t10k-labels-idx1-ubyte")?,
        10,
    )?;
    Ok(Dataset {
        name: name.to_string(),
        train,
        test,
        classes: 10,
        test_note: "t10k files".into(),
    })
}

fn find_idx(dir: &Path, stem: &str) -> Result<PathBuf> {
    for candidate in [dir.join(format!("{stem}.gz")), dir.join(stem)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("missing data file {}/{stem}[.gz]", dir.display())
}

/// Checks that labels are int64 in [0, classes) and images finite; names `what` in errors.
pub(crate) fn check_split(split: &Split, classes: usize, what: &str) -> Result<()> {
    ensure!(
        split.images.dim() == 4,
        "{what}: images must be [N, C, H, W], got {:?}",
        split.images.size()
    );
    ensure!(
        split.labels.dim() == 1,
        "{what}: labels must be [N], got {:?}",
        split.labels.size()
    );
    ensure!(
        split.images.size()[0] == split.labels.size()[0],
        "{what}: {} images but {} labels",
        split.images.size()[0],
        split.labels.size()[0]
    );
    ensure!(!split.is_empty(), "{what}: no examples");
    let finite = split.images.isfinite().all().int64_value(&[]) == 1;
    ensure!(finite, "{what}: images contain NaN or infinite values");
    let (lo, hi) = (
        split.labels.min().int64_value(&[]),
        split.labels.max().int64_value(&[]),
    );
    ensure!(
        lo >= 0 && (hi as usize) < classes,
        "{what}: labels span [{lo}, {hi}], outside [0, {classes})"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic_cfg() -> DataConfig {
        DataConfig {
            source: Source::Synthetic,
            ..DataConfig::fashion_mnist(None)
        }
    }

    #[test]
    fn the_cache_shares_a_data_set_only_between_equal_configs() {
        let mut cache = DataCache::default();
        let cfg = synthetic_cfg();
        let ptr = |ds: &Dataset| ds.train.images.data_ptr();
        let a = cache.load(&cfg, 1).unwrap();
        assert_eq!(ptr(&cache.load(&cfg, 1).unwrap()), ptr(&a), "loaded again");
        // The synthetic set depends on the seed: another seed is another set.
        let b = cache.load(&cfg, 2).unwrap();
        assert_ne!(ptr(&b), ptr(&a));
        assert!(!b.train.images.equal(&a.train.images));
        let smaller = DataConfig {
            train_subset: 100,
            ..cfg.clone()
        };
        let c = cache.load(&smaller, 2).unwrap();
        assert_eq!(c.train.len(), 100);
        // Only the last set is kept, and it is what a fresh load gives.
        let again = cache.load(&cfg, 1).unwrap();
        assert_ne!(ptr(&again), ptr(&a));
        assert!(again.train.images.equal(&a.train.images));
        assert!(again.test.labels.equal(&a.test.labels));
    }

    #[test]
    fn the_cache_keeps_nothing_of_a_failed_load() {
        let mut cache = DataCache::default();
        let cfg = synthetic_cfg();
        let a = cache.load(&cfg, 1).unwrap();
        let missing = DataConfig::fashion_mnist(Some(PathBuf::from("/nonexistent/fmnist")));
        let err = cache.load(&missing, 1).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/fmnist"),
            "{err:#}"
        );
        let b = cache.load(&cfg, 1).unwrap();
        assert_ne!(b.train.images.data_ptr(), a.train.images.data_ptr());
    }
}
