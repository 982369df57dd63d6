//! K4's one test body, on either device: training amplifies a rounding-level breaker until
//! ConstNet's channels part macroscopically, while the same run without it stays exactly
//! symmetric. On the CPU the breaker is gradient noise of relative std 2^-24 (the error of a
//! float32 reduction done in another order); on CUDA it is the GPU's own nondeterministic
//! kernels. The criterion is the report's: K4's of `configs/experiments/e2-constnet.toml`.
use featdiv::config::Config;
use featdiv::experiment::{Experiment, RoundingBreaksSymmetry};
use featdiv::train::train_for_gaps;

/// K4's criterion as the shipped E2 declares it.
pub fn criterion() -> RoundingBreaksSymmetry {
    let path = super::root().join("configs/experiments/e2-constnet.toml");
    Experiment::from_file(&path)
        .expect("the shipped E2")
        .claims
        .k4
        .expect("E2 declares K4")
}

/// Where K4 is checked, and so which breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum K4On {
    /// Gradient noise 2^-24 on the CPU, deterministic kernels.
    Cpu,
    /// Nondeterministic CUDA kernels, no added noise.
    Cuda,
}

/// The largest symmetry gap at each logged step: with the breaker, and without it (control).
pub struct K4Trajectories {
    pub broken: Vec<(usize, f64)>,
    pub control: Vec<(usize, f64)>,
    pub steps: usize,
}

impl K4Trajectories {
    /// The first logged step whose gap passes K4's macroscopic level.
    pub fn macroscopic_at(&self) -> Option<(usize, f64)> {
        let level = criterion().macro_gap;
        self.broken.iter().find(|(_, g)| *g > level).copied()
    }
}

fn config(on: K4On, breaker: bool) -> Config {
    match on {
        // WRN-10-1, batch 64, 400 steps: the quick profile's net at its scale.
        K4On::Cpu => super::shipped(
            "constnet.toml",
            &[
                "device=\"cpu\"",
                "data.test_subset=64",
                if breaker {
                    "breakers.grad_noise=5.960464477539063e-8"
                } else {
                    "breakers.grad_noise=0"
                },
            ],
        ),
        // WRN-16-2 with the paper's batch of 128: enough kernels with atomic reductions.
        K4On::Cuda => super::shipped(
            "constnet.toml",
            &[
                "device=\"cuda\"",
                "data.test_subset=256",
                "model.depth=16",
                "model.widen=2",
                "train.batch_size=128",
                "train.steps=200",
                "train.log_every=5",
                if breaker {
                    "determinism.mode=nondeterministic"
                } else {
                    "determinism.mode=deterministic"
                },
            ],
        ),
    }
}

/// Trains the run with the breaker and its control on the device `on` names.
pub fn k4_trajectories(on: K4On) -> K4Trajectories {
    let run = |breaker: bool| {
        let cfg = config(on, breaker);
        let device = featdiv::device::resolve(cfg.device).expect("the device of the K4 check");
        let ds = featdiv::data::load(&cfg.data, cfg.seed)
            .expect("the fixture loads")
            .to_device(device);
        (
            train_for_gaps(&cfg, &ds, device).expect("K4 run trains"),
            cfg.train.steps,
        )
    };
    let (broken, steps) = run(true);
    let (control, _) = run(false);
    K4Trajectories {
        broken,
        control,
        steps,
    }
}

/// The control stays exactly symmetric: asserted on every device (determinism promises it).
pub fn assert_control_symmetric(t: &K4Trajectories) {
    assert!(
        t.control.iter().all(|(_, g)| *g == 0.0),
        "without a breaker ConstNet must stay exactly symmetric: {:?}",
        t.control
    );
}

/// The breaker's gap starts at rounding level and training amplifies it past the macroscopic
/// level.
pub fn assert_breaks(t: &K4Trajectories) {
    let c = criterion();
    let first = t.broken.iter().find(|(_, g)| *g > 0.0).copied();
    let (step0, gap0) = first.expect("the breaker opens a gap");
    let (step1, gap1) = t.macroscopic_at().unwrap_or_else(|| {
        panic!(
            "gap not above {} within {} steps: {:?}",
            c.macro_gap, t.steps, t.broken
        )
    });
    assert!(
        gap0 < c.rounding_gap,
        "the gap starts at rounding level, got {gap0:e} at step {step0}"
    );
    assert!(
        gap1 / gap0 > 1e3,
        "training amplifies it: {gap0:e} at step {step0} -> {gap1:e} at step {step1}"
    );
}
