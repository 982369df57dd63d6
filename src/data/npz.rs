//! An npz tensor data set: `images` [N, C, H, W] float32 and `labels` [N] int64, optionally
//! `test_images` / `test_labels`; without them the test split is the training split (recorded).
use super::{Dataset, Split, check_split};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;
use tch::{Kind, Tensor};

pub fn load_npz(path: &Path) -> Result<Dataset> {
    ensure!(
        path.is_file(),
        "npz data file {} does not exist",
        path.display()
    );
    let tensors = super::read_npz(path)?;
    let get = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shallow_clone())
    };
    let split = |img: &str, lab: &str| -> Result<Option<Split>> {
        match (get(img), get(lab)) {
            (None, None) => Ok(None),
            (Some(images), Some(labels)) => {
                ensure!(
                    images.kind() == Kind::Float,
                    "{}: `{img}` must be float32, is {:?}",
                    path.display(),
                    images.kind()
                );
                ensure!(
                    labels.kind() == Kind::Int64,
                    "{}: `{lab}` must be int64, is {:?}",
                    path.display(),
                    labels.kind()
                );
                Ok(Some(Split { images, labels }))
            }
            _ => bail!("{}: `{img}` and `{lab}` must come together", path.display()),
        }
    };
    let train = split("images", "labels")?.with_context(|| {
        let names: Vec<_> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "{}: needs arrays `images` and `labels`, has {names:?}",
            path.display()
        )
    })?;
    let classes = (train.labels.max().int64_value(&[]) + 1).max(1) as usize;
    check_split(
        &train,
        classes,
        &format!("{} (images/labels)", path.display()),
    )?;
    let (test, test_note) = match split("test_images", "test_labels")? {
        Some(test) => {
            check_split(
                &test,
                classes,
                &format!("{} (test_images/test_labels)", path.display()),
            )?;
            (test, "test_images/test_labels".to_string())
        }
        None => (
            train.shallow_clone(),
            "same as train (npz has no test_images)".to_string(),
        ),
    };
    Ok(Dataset {
        name: "npz".into(),
        train,
        test,
        classes,
        test_note,
    })
}

/// Writes a data set in the same layout.
pub fn write_npz(path: &Path, train: &Split, test: Option<&Split>) -> Result<()> {
    let mut named = vec![
        ("images", train.images.shallow_clone()),
        ("labels", train.labels.shallow_clone()),
    ];
    if let Some(t) = test {
        named.push(("test_images", t.images.shallow_clone()));
        named.push(("test_labels", t.labels.shallow_clone()));
    }
    let tmp = crate::files::tmp_path(path);
    Tensor::write_npz(&named, &tmp).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}
