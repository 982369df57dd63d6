//! `featdiv bench`: one epoch of the 784-256-10 MLP on Fashion-MNIST, as bench/mlp_epoch.py does
//! in PyTorch eager (shuffled batches of 128, SGD momentum 0.9, then test accuracy).
use crate::claims::toy::ToyRun;
use crate::data;
use anyhow::Result;
use std::path::Path;

/// Wall seconds of each repeat (sorted).
pub fn bench_epoch(data_dir: &Path, threads: usize, repeats: usize) -> Result<Vec<f64>> {
    let ds = data::load(
        &crate::config::DataConfig {
            source: "fashion-mnist".into(),
            path: Some(data_dir.to_path_buf()),
            shuffle: true,
            augment: false,
            train_subset: 0,
            test_subset: 0,
            normalize: true,
        },
        0,
    )?;
    let mut secs = Vec::new();
    for seed in 0..repeats.max(1) as u64 {
        let mut run = ToyRun::new("he", seed);
        run.epochs = 1;
        run.threads = threads;
        let t = std::time::Instant::now();
        run.run(&ds, tch::Device::Cpu)?;
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    Ok(secs)
}
