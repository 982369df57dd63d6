//! Property 2, "any noise above a threshold breaks the symmetry", over random configurations of
//! two families, on the Fashion-MNIST cut, one thread, deterministic:
//! - ConstNet WRN-7 (widen 1-2, batch 48-64, lr 0.04-0.06, seed), `BUDGET` steps;
//! - the tied toy MLP `k-unique:1` (width 16-64, powers of two so its arithmetic is exact;
//!   batch, lr, seed), `BUDGET` steps.
//!
//! For each case: gradient noise of relative std 2^-30, below float32 resolution, is rounded away
//! and the gap stays exactly 0 at every logged step (that without any breaker it stays 0 is K7's
//! property); a breaker above the family's threshold opens the gap past the macroscopic level
//! (1e-3, K4's) within the budget; and a breaker 10x larger never breaks later, within `SLACK`
//! steps. The thresholds differ by family, which is the point: the WRN amplifies gradient noise
//! of 1e-4 to a macroscopic gap within a few hundred steps, while the tied MLP's single unit often
//! dies within ~30 steps at these rates and then amplifies nothing, so there the property is
//! stated for init noise 0.05 of the He std, macroscopic by itself, and for dropout 0.01 where a
//! live unit let it act (`Acts::WhereAlive`: a gap exactly 0 for the whole budget is reported);
//! how far a small init noise (1e-4) grows is printed, not asserted (from no growth to 1e4x, by
//! configuration). Amplification needs a network that learns: ConstNet WRN-7-1 at batch
//! 16, lr 0.04, seed 31 stays at accuracy 0.14 for 300 steps and its gap stays at the noise's
//! size (8.6e-7 for sigma = 1.4e-5, 5e-4 for 1.4e-3), which is why the WRN family's batches start
//! at 48 (README, the three properties).
//! Negative controls: the above-threshold runs fail the exactness check, and the exactness and
//! ordering checks are shown to fail on planted trajectories (the last test but one).
//!
//! The fitted growth rate of a fixed configuration is snapshotted (rounded), so a change that
//! moves it shows in review.
use crate::common;

use featdiv::claims::growth::{breaking_step, fit_line, trajectory_rate};
use featdiv::config::Config;
use featdiv::train::train_for_gaps;
use proptest::prelude::*;

/// K4's macroscopic level: the channels have visibly parted.
const LEVEL: f64 = 1e-3;
/// Steps a case trains for, each family.
const BUDGET: usize = 300;
/// A larger breaker may break this many steps later than a smaller one (two logging intervals
/// of 5 steps, and the step-to-step jitter of the gap around the level).
const SLACK: usize = 20;
/// Relative gradient noise below float32 resolution (2^-24): |sigma z| < 2^-25 for |z| < 32.
const BELOW: f64 = 9.313225746154785e-10; // 2^-30

fn gaps(cfg: &Config) -> Vec<(usize, f64)> {
    let ds = featdiv::data::load(&cfg.data, cfg.seed).expect("the fixture loads");
    train_for_gaps(cfg, &ds, tch::Device::Cpu).expect("the case trains")
}

/// Marks a run stopped at its first logged gap past `LEVEL` (`gaps_until_broken`).
#[derive(Debug)]
struct Broke;

impl std::fmt::Display for Broke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the gap passed {LEVEL}")
    }
}

impl std::error::Error for Broke {}

/// The gaps of `cfg`'s run up to and including its first logged gap past `LEVEL`, where the run
/// stops; the whole budget if it never passes it. A run is a function of its config, so this is
/// the full trajectory's prefix, and it holds all that `check_case` reads of a breaker's run: its
/// breaking step, that it is not exact, and, where it never broke, the whole trajectory.
fn gaps_until_broken(cfg: &Config) -> Vec<(usize, f64)> {
    let ds = featdiv::data::load(&cfg.data, cfg.seed).expect("the fixture loads");
    let mut gaps = Vec::new();
    let ran = featdiv::train::train(cfg, &ds, tch::Device::Cpu, &mut |line| {
        if let featdiv::records::Line::Step(r) = line {
            let gap = featdiv::metrics::largest_gap(&r.layers).0;
            gaps.push((r.step, gap));
            if gap > LEVEL {
                return Err(Broke.into());
            }
        }
        Ok(())
    });
    match ran {
        Ok(_) => {}
        Err(e) if e.downcast_ref::<Broke>().is_some() => {}
        Err(e) => panic!("the case trains: {e:?}"),
    }
    gaps
}

fn wrn(widen: usize, batch: usize, lr: f64, seed: u64, breaker: &str) -> Config {
    let sets = [
        "model.depth=7".to_string(),
        format!("model.widen={widen}"),
        format!("train.batch_size={batch}"),
        format!("train.lr={lr:?}"),
        format!("seed={seed}"),
        format!("train.steps={BUDGET}"),
        "train.log_every=5".into(),
        "data.test_subset=64".into(),
        "device=\"cpu\"".into(),
        breaker.into(),
    ];
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    common::shipped("constnet.toml", &sets)
}

fn mlp(width: usize, batch: usize, lr: f64, seed: u64, breaker: &str) -> Config {
    let sets = [
        format!("model.hidden=[{width}]"),
        format!("train.batch_size={batch}"),
        format!("train.lr={lr:?}"),
        "train.epochs=0".to_string(),
        format!("train.steps={BUDGET}"),
        "train.log_every=5".into(),
        "data.test_subset=64".into(),
        breaker.into(),
    ];
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    common::toy("k-unique:1", seed, &sets)
}

/// Every logged gap exactly 0.
fn exact(t: &[(usize, f64)]) -> Result<(), String> {
    match t.iter().find(|(_, g)| *g != 0.0) {
        None => Ok(()),
        Some((s, g)) => Err(format!("gap {g:e} at step {s}")),
    }
}

/// The larger breaker breaks no later than the smaller one, within SLACK.
fn never_later(smaller: Option<usize>, larger: Option<usize>) -> Result<(), String> {
    match (smaller, larger) {
        (_, None) => Err(format!(
            "the larger breaker did not break (smaller: {smaller:?})"
        )),
        (Some(s), Some(l)) if l > s + SLACK => Err(format!(
            "the larger breaker broke at step {l}, the smaller at {s} (slack {SLACK})"
        )),
        _ => Ok(()),
    }
}

/// How a breaker parts the features, which decides where it must break within the budget.
#[derive(Clone, Copy, PartialEq)]
enum Acts {
    /// Macroscopic by itself or amplified by a network that learns: must break in every case.
    Always,
    /// Only through the gradients of live units (dropout on the tied MLP): where the single
    /// tied unit dies early, or is active on a handful of draws that dropout happens to treat
    /// alike, nothing can part the features and the gap stays exactly 0. The deep run found such
    /// a case (PROPTEST_RNG_SEED=4012124697 x20: width 16, batch 16, lr 0.02, seed 123, dropout
    /// 0.01, gap 0 for 300 steps), so there it is reported, not asserted, and the ordering is
    /// checked where it broke; dropout is asserted on the WRN family, which learns.
    WhereAlive,
}

/// The property's three parts for one configuration: `make(breaker)` builds it with a breaker.
fn check_case(
    make: impl Fn(&str) -> Config,
    (breaker, acts): (&str, Acts),
    size: f64,
    factor: f64,
) -> Result<(), TestCaseError> {
    let below = gaps(&make(&format!("breakers.grad_noise={BELOW:e}")));
    prop_assert!(
        exact(&below).is_ok(),
        "gradient noise 2^-30 must round away: {:?}",
        exact(&below)
    );
    // The breaker runs stop where they break: the rest of their budget is never read.
    let small = gaps_until_broken(&make(&format!("breakers.{breaker}={size:e}")));
    let large = gaps_until_broken(&make(&format!("breakers.{breaker}={:e}", size * factor)));
    let (t_small, t_large) = (breaking_step(&small, LEVEL), breaking_step(&large, LEVEL));
    eprintln!("{breaker} {size:.1e}: breaks at {t_small:?}; x{factor}: at {t_large:?}");
    if acts == Acts::WhereAlive && t_small.is_none() && exact(&small).is_ok() {
        eprintln!("{breaker} {size:.1e}: gap exactly 0 for {BUDGET} steps: no live unit to act on");
        return Ok(());
    }
    prop_assert!(
        t_small.is_some(),
        "{breaker} = {size:e} did not open the gap past {LEVEL} in {BUDGET} steps: {small:?}"
    );
    // The negative control of the exactness check: a breaker above the threshold fails it.
    prop_assert!(exact(&small).is_err());
    prop_assert!(
        never_later(t_small, t_large).is_ok(),
        "{:?}",
        never_later(t_small, t_large)
    );
    Ok(())
}

proptest! {
    // Three WRN-7 runs a case, the breakers' up to their break (about 20 s for three full
    // 300-step runs): 1 case a test in the default suite.
    #![proptest_config(common::proptest_config(
        1,
        "proptest-regressions/property_noise_threshold.txt"
    ))]

    #[test]
    fn wrn_gradient_noise_above_the_threshold_breaks_and_below_it_rounds_away(
        widen in 1usize..3,
        batch in 48usize..65,
        lr in 0.04f64..0.06,
        seed in 0u64..1000,
        log_sigma in -4.0f64..-3.0,
    ) {
        let sigma = 10f64.powf(log_sigma);
        check_case(|b| wrn(widen, batch, lr, seed, b), ("grad_noise", Acts::Always), sigma, 10.0)?;
    }

    #[test]
    fn wrn_init_noise_and_dropout_break_and_larger_never_later(
        widen in 1usize..3,
        batch in 48usize..65,
        lr in 0.04f64..0.06,
        seed in 0u64..1000,
        dropout in any::<bool>(),
        log_size in -3.0f64..-2.0,
    ) {
        let breaker = if dropout { "dropout" } else { "init_noise" };
        let size = 10f64.powf(log_size);
        check_case(|b| wrn(widen, batch, lr, seed, b), (breaker, Acts::Always), size, 10.0)?;
    }
}

proptest! {
    // Five MLP runs a case, the breakers' up to their break (about 4 s): 4 cases. Proptest
    // replays every seed of a regression file in every test that names it, so the MLP's found
    // case has its own file: in the WRN tests it would only add an arbitrary WRN case of a
    // minute.
    #![proptest_config(common::proptest_config(
        4,
        "proptest-regressions/property_noise_threshold_mlp.txt"
    ))]

    #[test]
    fn tied_mlp_breaks_only_with_a_breaker_macroscopic_by_itself(
        width in prop::sample::select(vec![16usize, 32, 64]),
        batch in 16usize..65,
        lr in 0.02f64..0.08,
        seed in 0u64..1000,
        dropout in any::<bool>(),
    ) {
        let (breaker, size) = if dropout {
            (("dropout", Acts::WhereAlive), 0.01)
        } else {
            (("init_noise", Acts::Always), 0.05)
        };
        check_case(|b| mlp(width, batch, lr, seed, b), breaker, size, 10.0)?;
        // A measurement, not part of the property: how far a small init noise grows here.
        let weak = gaps(&mlp(width, batch, lr, seed, "breakers.init_noise=1e-4"));
        let (first, last) = (weak[0].1, weak.last().map_or(0.0, |g| g.1));
        eprintln!("tied MLP, init noise 1e-4: gap {first:.2e} at init, {last:.2e} at the end");
    }
}

/// The checks can fail: a trajectory with one non-zero gap is not exact, and a larger breaker
/// that breaks later than the slack allows (or not at all) fails the ordering.
#[test]
fn the_checks_fail_on_planted_trajectories() {
    assert!(exact(&[(0, 0.0), (5, 0.0)]).is_ok());
    assert!(exact(&[(0, 0.0), (5, f64::MIN_POSITIVE)]).is_err());
    assert!(exact(&[(0, 0.0), (5, f64::NAN)]).is_err());
    assert!(never_later(Some(100), Some(100 + SLACK)).is_ok());
    assert!(never_later(Some(100), Some(101 + SLACK)).is_err());
    assert!(never_later(Some(100), None).is_err());
    assert!(never_later(None, Some(300)).is_ok());
}

/// The growth rate of a fixed configuration (WRN-7-1, batch 48, lr 0.05, seed 0), from the
/// breaking steps of gradient noise 1e-5, 1e-4 and 1e-3 and from the trajectories, rounded to
/// two significant digits and snapshotted: a change that moves it shows in review.
#[test]
fn growth_rate_of_a_fixed_configuration_is_snapshotted() {
    let mut broke = Vec::new();
    let mut rates = Vec::new();
    for sigma in [1e-5f64, 1e-4, 1e-3] {
        let t = gaps(&wrn(
            1,
            48,
            0.05,
            0,
            &format!("breakers.grad_noise={sigma:e}"),
        ));
        let step = breaking_step(&t, LEVEL).expect("breaks within the budget");
        broke.push((sigma.ln(), step as f64));
        rates.extend(trajectory_rate(&t, LEVEL));
    }
    let line = fit_line(&broke).expect("three points");
    let lambda = -1.0 / line.slope;
    let from_trajectories = rates.iter().sum::<f64>() / rates.len() as f64;
    eprintln!(
        "WRN-7-1: breaking steps {broke:?}, lambda {lambda:.4} from them (residual {:.1}), \
         {from_trajectories:.4} from the trajectories",
        line.residual_rms
    );
    assert!(lambda > 0.0, "larger noise must break sooner: {broke:?}");
    snapshot_json!(
        "growth_rate_wrn7",
        serde_json::json!({
            "breaking_steps": broke.iter().map(|b| b.1).collect::<Vec<_>>(),
            "lambda_from_breaking": common::sig(lambda, 2),
            "lambda_from_trajectories": common::sig(from_trajectories, 2),
        })
    );
}
