//! Loaders: IDX, CIFAR-10 binary and npz read what they should, and every corrupt or missing file
//! is an error that names the file and the problem.
use crate::common;

use featdiv::config::DataConfig;
use featdiv::data::{self, Batches, Split, write_cifar_batch, write_idx};
use std::path::Path;
use tch::{Kind, Tensor};
use tempfile::TempDir;

fn err_of<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.unwrap_err())
}

fn write_idx_set(dir: &Path, n_train: usize, n_test: usize, gz: bool) {
    let ext = if gz { ".gz" } else { "" };
    for (split, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n * 28 * 28).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        write_idx(
            &dir.join(format!("{split}-images-idx3-ubyte{ext}")),
            &[n, 28, 28],
            &pixels,
        )
        .unwrap();
        write_idx(
            &dir.join(format!("{split}-labels-idx1-ubyte{ext}")),
            &[n],
            &labels,
        )
        .unwrap();
    }
}

#[test]
fn fixture_is_a_fashion_mnist_cut() {
    let ds = common::fashion_small();
    assert_eq!(ds.train.images.size(), vec![2000, 1, 28, 28]);
    assert_eq!(ds.test.images.size(), vec![1000, 1, 28, 28]);
    assert_eq!(ds.classes, 10);
    // Every class is present in the cut.
    let counts = ds.train.labels.bincount::<Tensor>(None, 10);
    assert!(
        Vec::<i64>::try_from(counts)
            .unwrap()
            .iter()
            .all(|&c| c > 100)
    );
    // Normalized with the Fashion-MNIST constants: mean near 0.
    assert!(ds.train.images.mean(Kind::Float).double_value(&[]).abs() < 0.1);
}

#[test]
fn idx_round_trip_raw_and_gz() {
    for gz in [false, true] {
        let dir = TempDir::new().unwrap();
        write_idx_set(dir.path(), 30, 20, gz);
        let ds = data::load_idx_dir("mnist", dir.path()).unwrap();
        assert_eq!(ds.train.len(), 30);
        assert_eq!(ds.test.len(), 20);
        assert_eq!(
            Vec::<i64>::try_from(ds.train.labels.narrow(0, 0, 3)).unwrap(),
            vec![0, 1, 2]
        );
        let px = ds.train.images.double_value(&[0, 0, 0, 5]);
        assert!((px - 5.0 / 255.0).abs() < 1e-6);
    }
}

#[test]
fn idx_errors_name_file_and_problem() {
    let dir = TempDir::new().unwrap();
    write_idx_set(dir.path(), 30, 20, false);
    let images = dir.path().join("train-images-idx3-ubyte");
    let labels = dir.path().join("train-labels-idx1-ubyte");
    let bytes = std::fs::read(&images).unwrap();

    std::fs::write(&images, &bytes[..bytes.len() - 7]).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("truncated"),
        "{e}"
    );

    let mut bad = bytes.clone();
    bad[2] = 0x0d; // float data: not supported
    std::fs::write(&images, &bad).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("magic"),
        "{e}"
    );

    std::fs::write(&images, &bytes[..2]).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(e.contains("shorter than the 4-byte magic"), "{e}");

    std::fs::write(&images, &bytes).unwrap();
    write_idx(&labels, &[30], &[11u8; 30]).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(
        e.contains("train-labels-idx1-ubyte") && e.contains("label 11"),
        "{e}"
    );

    write_idx(&labels, &[29], &[1u8; 29]).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(e.contains("30 images") && e.contains("29 labels"), "{e}");

    std::fs::remove_file(&labels).unwrap();
    let e = err_of(data::load_idx_dir("mnist", dir.path()));
    assert!(
        e.contains("missing data file") && e.contains("train-labels-idx1-ubyte"),
        "{e}"
    );

    let e = err_of(data::load_idx_dir("mnist", &dir.path().join("nowhere")));
    assert!(
        e.contains("does not exist") && e.contains("make data"),
        "{e}"
    );
}

#[test]
fn corrupt_gzip_is_named() {
    let dir = TempDir::new().unwrap();
    write_idx_set(dir.path(), 30, 20, true);
    let f = dir.path().join("t10k-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let e = err_of(data::load_idx_dir("fashion-mnist", dir.path()));
    assert!(
        e.contains("t10k-images-idx3-ubyte.gz") && e.contains("gzip"),
        "{e}"
    );
}

fn write_cifar(dir: &Path, per_batch: usize) {
    for name in ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"] {
        let labels: Vec<u8> = (0..per_batch).map(|i| (i % 10) as u8).collect();
        let pixels: Vec<u8> = (0..per_batch * 3072).map(|i| (i % 256) as u8).collect();
        write_cifar_batch(&dir.join(name), &labels, &pixels).unwrap();
    }
}

#[test]
fn cifar_binary_round_trip() {
    let dir = TempDir::new().unwrap();
    write_cifar(dir.path(), 12);
    let ds = data::load_cifar10(dir.path()).unwrap();
    assert_eq!(ds.train.images.size(), vec![24, 3, 32, 32]);
    assert_eq!(ds.test.len(), 12);
    // Channel planes in order: pixel (c=1, y=0, x=0) of record 0 is byte 1024.
    let px = ds.train.images.double_value(&[0, 1, 0, 0]);
    assert!((px - (1024 % 256) as f64 / 255.0).abs() < 1e-6);
}

#[test]
fn cifar_errors_name_file_and_problem() {
    let dir = TempDir::new().unwrap();
    write_cifar(dir.path(), 12);
    let f = dir.path().join("data_batch_2.bin");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    let e = err_of(data::load_cifar10(dir.path()));
    assert!(
        e.contains("data_batch_2.bin") && e.contains("truncated"),
        "{e}"
    );

    let mut bad = bytes.clone();
    bad[3073] = 42;
    std::fs::write(&f, &bad).unwrap();
    let e = err_of(data::load_cifar10(dir.path()));
    assert!(
        e.contains("data_batch_2.bin") && e.contains("record 1") && e.contains("label 42"),
        "{e}"
    );

    std::fs::write(&f, &bytes).unwrap();
    std::fs::remove_file(dir.path().join("test_batch.bin")).unwrap();
    let e = err_of(data::load_cifar10(dir.path()));
    assert!(e.contains("test_batch.bin"), "{e}");
}

fn split(n: i64) -> Split {
    let _turn = featdiv::determinism::global_state_lock();
    Split {
        images: Tensor::randn([n, 3, 4, 4], (Kind::Float, tch::Device::Cpu)),
        labels: Tensor::arange(n, (Kind::Int64, tch::Device::Cpu)).remainder(3),
    }
}

#[test]
fn npz_round_trip_with_and_without_test_split() {
    let dir = TempDir::new().unwrap();
    let f = dir.path().join("d.npz");
    data::write_npz(&f, &split(9), Some(&split(4))).unwrap();
    let ds = data::load_npz(&f).unwrap();
    assert_eq!((ds.train.len(), ds.test.len(), ds.classes), (9, 4, 3));
    data::write_npz(&f, &split(9), None).unwrap();
    let ds = data::load_npz(&f).unwrap();
    assert_eq!(ds.test.len(), 9);
    assert!(ds.test_note.contains("same as train"));
}

#[test]
fn npz_errors_name_file_and_problem() {
    let dir = TempDir::new().unwrap();
    let f = dir.path().join("d.npz");
    let cpu = (Kind::Float, tch::Device::Cpu);

    Tensor::write_npz(&[("pixels", Tensor::zeros([2, 1, 2, 2], cpu))], &f).unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(
        e.contains("d.npz") && e.contains("`images` and `labels`"),
        "{e}"
    );

    let nan = Tensor::zeros([2, 1, 2, 2], cpu).fill_(f64::NAN);
    Tensor::write_npz(
        &[
            ("images", nan),
            (
                "labels",
                Tensor::zeros([2], (Kind::Int64, tch::Device::Cpu)),
            ),
        ],
        &f,
    )
    .unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(e.contains("d.npz") && e.contains("NaN"), "{e}");

    Tensor::write_npz(
        &[
            ("images", Tensor::zeros([2, 1, 2, 2], cpu)),
            ("labels", Tensor::zeros([2], cpu)),
        ],
        &f,
    )
    .unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(e.contains("int64"), "{e}");

    Tensor::write_npz(
        &[
            ("images", Tensor::zeros([3, 4], cpu)),
            (
                "labels",
                Tensor::zeros([3], (Kind::Int64, tch::Device::Cpu)),
            ),
        ],
        &f,
    )
    .unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(e.contains("[N, C, H, W]"), "{e}");

    let labels = Tensor::from_slice(&[0i64, -1]);
    Tensor::write_npz(
        &[
            ("images", Tensor::zeros([2, 1, 2, 2], cpu)),
            ("labels", labels),
        ],
        &f,
    )
    .unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(e.contains("labels span"), "{e}");

    std::fs::write(&f, b"PK\x03\x04 not really a zip").unwrap();
    let e = err_of(data::load_npz(&f));
    assert!(e.contains("d.npz") && e.contains("npz"), "{e}");

    let e = err_of(data::load_npz(&dir.path().join("missing.npz")));
    assert!(
        e.contains("missing.npz") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn a_subset_larger_than_its_split_names_the_key_and_the_files() {
    let fixture = common::fixture("fashion-mnist-small");
    let cfg = |train_subset, test_subset| DataConfig {
        train_subset,
        test_subset,
        ..DataConfig::fashion_mnist(Some(fixture.clone()))
    };
    // The fixture holds 2,000 training and 1,000 test images: exactly all of them is fine.
    let all = data::load(&cfg(2000, 1000), 0).unwrap();
    assert_eq!((all.train.len(), all.test.len()), (2000, 1000));
    for (c, key, split) in [
        (cfg(2001, 0), "data.train_subset", "training set"),
        (cfg(0, 1001), "data.test_subset", "test set"),
    ] {
        let e = err_of(data::load(&c, 0));
        assert!(
            e.contains(key) && e.contains(split) && e.contains("fashion-mnist-small"),
            "{e}"
        );
    }
}

#[test]
fn subsets_and_synthetic_source() {
    let cfg = DataConfig {
        source: featdiv::config::Source::FashionMnist,
        path: Some(common::fixture("fashion-mnist-small")),
        shuffle: false,
        augment: false,
        train_subset: 100,
        test_subset: 50,
        normalize: false,
    };
    let ds = data::load(&cfg, 0).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (100, 50));
    assert!(
        ds.train.images.min().double_value(&[]) >= 0.0,
        "normalize = false keeps [0, 1]"
    );
    let syn = data::load(
        &DataConfig {
            source: featdiv::config::Source::Synthetic,
            path: None,
            ..cfg
        },
        3,
    )
    .unwrap();
    assert_eq!(syn.train.images.size()[1..], [1, 8, 8]);
}

#[test]
fn unshuffled_batches_follow_file_order_and_wrap() {
    let _turn = featdiv::determinism::global_state_lock();
    let s = Split {
        images: Tensor::arange(10, (Kind::Float, tch::Device::Cpu)).view([10, 1, 1, 1]),
        labels: Tensor::zeros([10], (Kind::Int64, tch::Device::Cpu)),
    };
    let mut b = Batches::new(10, 4, false);
    assert_eq!(b.per_epoch(), 3);
    let first = |t: &Tensor| t.flatten(0, -1).double_value(&[0]);
    let (x0, _) = b.get(&s, 0);
    let (x2, _) = b.get(&s, 2);
    let (x3, _) = b.get(&s, 3);
    assert_eq!((first(&x0), x2.size()[0], first(&x3)), (0.0, 2, 0.0));
    let mut sh = Batches::new(10, 4, true);
    tch::manual_seed(0);
    let seen: Vec<f64> = (0..3)
        .flat_map(|t| {
            Vec::<f64>::try_from(sh.get(&s, t).0.flatten(0, -1).to_kind(Kind::Double)).unwrap()
        })
        .collect();
    let mut sorted = seen.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(
        sorted,
        (0..10).map(f64::from).collect::<Vec<_>>(),
        "an epoch sees every example once"
    );
    assert_ne!(seen, sorted, "and in shuffled order");
}

#[test]
fn augmentation_is_a_random_crop_of_the_reflect_padded_image_maybe_flipped() {
    let _turn = featdiv::determinism::global_state_lock();
    let x = Tensor::randn([6, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
    tch::manual_seed(1);
    let y = data::augment_batch(&x).unwrap();
    assert_eq!(y.size(), x.size());
    let padded = x.reflection_pad2d([4, 4, 4, 4]);
    let (mut flips, mut moved) = (0, 0);
    for b in 0..6 {
        let yb = y.get(b);
        let found = (0..9)
            .flat_map(|oy| (0..9).map(move |ox| (oy, ox)))
            .find_map(|(oy, ox)| {
                let crop = padded.get(b).narrow(1, oy, 32).narrow(2, ox, 32);
                if crop.equal(&yb) {
                    Some((oy, ox, false))
                } else if crop.flip([2]).equal(&yb) {
                    Some((oy, ox, true))
                } else {
                    None
                }
            });
        let (oy, ox, flipped) =
            found.unwrap_or_else(|| panic!("sample {b} is no crop of the padded image"));
        flips += flipped as usize;
        moved += (oy != 4 || ox != 4) as usize;
    }
    assert!(
        moved > 0 && flips > 0 && flips < 6,
        "offsets and flips vary: moved {moved}, flipped {flips}"
    );
}
