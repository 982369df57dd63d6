//! Learning-rate schedules.
use crate::config::{Schedule, TrainConfig};

/// Rate at `step` of `total` steps with `per_epoch` steps an epoch.
pub fn lr_at(t: &TrainConfig, step: usize, total: usize, per_epoch: usize) -> f64 {
    let frac = step as f64 / total.max(1) as f64;
    match t.schedule {
        Schedule::Constant => t.lr,
        Schedule::Multistep => {
            t.lr * t
                .gamma
                .powi(t.milestones.iter().filter(|&&m| frac >= m).count() as i32)
        }
        // The authors': x0.2 at epochs E-140, E-80, E-40 counted from the end. A run shorter
        // than 140 epochs starts with some cuts already made.
        Schedule::FromEnd => {
            let epochs = total.div_ceil(per_epoch.max(1)) as f64;
            let epoch = (step / per_epoch.max(1)) as f64;
            let cuts = [140.0, 80.0, 40.0]
                .iter()
                .filter(|&&back| epoch >= epochs - back)
                .count();
            t.lr * 0.2f64.powi(cuts as i32)
        }
        Schedule::Cosine => t.lr * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()),
    }
}
