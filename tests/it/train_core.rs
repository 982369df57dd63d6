//! The training core: inits, schedules, optimizer options and breakers do what the config says.

use featdiv::config::{MlpInit, Schedule, TrainConfig, WrnInit};
use featdiv::models::init::init_mlp;
use featdiv::models::{Model, mlp::Mlp};
use featdiv::schedule::lr_at;
use rstest::rstest;
use tch::{Device, Kind, Tensor};

fn mlp(hidden: &[usize], init: MlpInit, seed: i64) -> Mlp {
    let _turn = featdiv::determinism::global_state_lock();
    tch::manual_seed(seed);
    let mut m = Mlp::new(Device::Cpu, 784, hidden, 10, 0.0);
    init_mlp(&mut m, init).unwrap();
    m
}

#[test]
fn tied_k_unique_copies_rows_and_outgoing_columns() {
    let m = mlp(&[12, 12], MlpInit::KUnique { k: 3, tied: true }, 0);
    let (w1, _) = &m.layers[0];
    let (w2, _) = &m.layers[1];
    let (head, _) = &m.layers[2];
    for j in 3..12 {
        assert!(w1.get(j).equal(&w1.get(j % 3)), "incoming row {j}");
        assert!(
            head.select(1, j).equal(&head.select(1, j % 3)),
            "head column {j}"
        );
        assert!(
            w2.select(1, j).equal(&w2.select(1, j % 3)),
            "layer-2 column {j}"
        );
        assert!(w2.get(j).equal(&w2.get(j % 3)), "layer-2 row {j}");
    }
    assert!(!w1.get(0).equal(&w1.get(1)), "the K rows differ");
}

#[test]
fn untied_k_unique_draws_outgoing_weights_independently() {
    let m = mlp(&[12], MlpInit::KUnique { k: 3, tied: false }, 0);
    let (w1, _) = &m.layers[0];
    let (head, _) = &m.layers[1];
    assert!(w1.get(3).equal(&w1.get(0)));
    assert!(!head.select(1, 3).equal(&head.select(1, 0)));
}

#[rstest]
#[case(MlpInit::He, (2.0f64 / 784.0).sqrt())]
#[case(MlpInit::Xavier, (2.0f64 / (784.0 + 512.0)).sqrt())]
#[case(MlpInit::Zero, 0.0)]
fn init_scales(#[case] init: MlpInit, #[case] std: f64) {
    let m = mlp(&[512], init, 1);
    let got = m.layers[0].0.std(true).double_value(&[]);
    // The sample std of n = 512 * 784 normal draws has relative error 1/sqrt(2n) = 0.0011:
    // 2% is 18 of those, so only a wrong scale fails.
    assert!((got - std).abs() <= 0.02 * std, "std {got} vs {std}");
    assert_eq!(
        m.layers[0].1.abs().max().double_value(&[]),
        0.0,
        "biases start at 0"
    );
}

#[test]
fn init_codes_parse_or_explain() {
    let _turn = featdiv::determinism::global_state_lock();
    assert_eq!(
        "k-unique:7".parse(),
        Ok(MlpInit::KUnique { k: 7, tied: true })
    );
    assert_eq!(
        "k-unique-untied:2".parse(),
        Ok(MlpInit::KUnique { k: 2, tied: false })
    );
    for bad in [
        "k-unique:",
        "k-unique:-1",
        "kunique:3",
        "HE",
        "",
        "constnet",
    ] {
        assert!(bad.parse::<MlpInit>().is_err(), "{bad}");
    }
    for bad in ["k-unique:2", "HE", "constnet+residual:0", ""] {
        assert!(bad.parse::<WrnInit>().is_err(), "{bad}");
    }
    // Every code prints back as it parses.
    for code in ["he", "xavier", "zero", "k-unique:3", "k-unique-untied:9"] {
        assert_eq!(code.parse::<MlpInit>().unwrap().to_string(), code);
    }
    for code in [
        "he",
        "constnet",
        "constnet+residual:0.5",
        "delta-orthogonal",
        "zero-o",
        "fixup",
    ] {
        assert_eq!(code.parse::<WrnInit>().unwrap().to_string(), code);
    }
    let mut m = Mlp::new(Device::Cpu, 4, &[3], 2, 0.0);
    let err = init_mlp(&mut m, MlpInit::KUnique { k: 5, tied: true }).unwrap_err();
    assert!(format!("{err}").contains("exceed"), "{err}");
}

fn schedule(schedule: Schedule) -> TrainConfig {
    TrainConfig {
        lr: 0.1,
        schedule,
        milestones: vec![0.5, 0.75],
        gamma: 0.1,
        ..TrainConfig::default()
    }
}

#[test]
fn schedules() {
    let c = schedule(Schedule::Constant);
    assert_eq!(lr_at(&c, 99, 100, 10), 0.1);
    let m = schedule(Schedule::Multistep);
    let got: Vec<f64> = [0, 49, 50, 74, 75, 99]
        .iter()
        .map(|&s| lr_at(&m, s, 100, 10))
        .collect();
    let want = [0.1, 0.1, 0.01, 0.01, 0.001, 0.001];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?}");
    }
    let cos = schedule(Schedule::Cosine);
    assert!((lr_at(&cos, 50, 100, 10) - 0.05).abs() < 1e-12);
    assert!(lr_at(&cos, 99, 100, 10) < 0.001);
    // The authors' schedule: x0.2 at epochs E-140, E-80, E-40.
    let fe = schedule(Schedule::FromEnd);
    let per = 10;
    let total = 200 * per;
    assert!((lr_at(&fe, 59 * per, total, per) - 0.1).abs() < 1e-12);
    assert!((lr_at(&fe, 60 * per, total, per) - 0.02).abs() < 1e-12);
    assert!((lr_at(&fe, 120 * per, total, per) - 0.004).abs() < 1e-12);
    assert!((lr_at(&fe, 160 * per, total, per) - 0.0008).abs() < 1e-12);
    // A 10-epoch run starts with all three cuts made.
    assert!((lr_at(&fe, 0, 10 * per, per) - 0.1 * 0.008).abs() < 1e-12);
}

/// One SGD step through tch's optimizer against the update rule written out.
#[rstest]
#[case(false, 0.0)]
#[case(true, 0.0)]
#[case(false, 5e-4)]
#[case(true, 5e-4)]
fn sgd_matches_the_update_rule(#[case] nesterov: bool, #[case] wd: f64) {
    let _turn = featdiv::determinism::global_state_lock();
    use tch::nn::OptimizerConfig;
    let (lr, mom) = (0.1, 0.9);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    tch::manual_seed(0);
    let w = vs.root().var(
        "w",
        &[5],
        tch::nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        },
    );
    let mut opt = tch::nn::Sgd {
        momentum: mom,
        dampening: 0.0,
        wd,
        nesterov,
    }
    .build(&vs, lr)
    .unwrap();
    let w0 = w.detach().copy();
    let target = Tensor::from_slice(&[1f32, -2., 3., 0.5, 0.]);
    let mut buf: Option<Tensor> = None;
    let mut expected = w0.copy();
    for _ in 0..3 {
        let loss = (&w - &target).square().sum(Kind::Float);
        opt.zero_grad();
        loss.backward();
        let g = (&expected - &target) * 2.0 + &expected * wd;
        let b = match &buf {
            None => g.copy(),
            Some(b) => b * mom + &g,
        };
        let step = if nesterov { &g + &b * mom } else { b.copy() };
        expected = &expected - step * lr;
        buf = Some(b);
        opt.step();
    }
    let diff = (&w.detach() - &expected).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "nesterov {nesterov} wd {wd}: {diff}");
}

#[test]
fn dropout_is_identity_in_eval_mode_and_random_in_training() {
    let _turn = featdiv::determinism::global_state_lock();
    tch::manual_seed(0);
    let mut m = Mlp::new(Device::Cpu, 784, &[64], 10, 0.5);
    init_mlp(&mut m, MlpInit::He).unwrap();
    let x = Tensor::randn([4, 1, 28, 28], (Kind::Float, Device::Cpu));
    assert!(m.forward_t(&x, false).equal(&m.forward_t(&x, false)));
    assert!(!m.forward_t(&x, true).equal(&m.forward_t(&x, true)));
}

#[test]
fn gradient_noise_is_relative_and_spares_zero_gradients() {
    let _turn = featdiv::determinism::global_state_lock();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let w = vs.root().var("w", &[1000], tch::nn::Init::Const(1.0));
    let mask = Tensor::arange(1000, (Kind::Float, Device::Cpu)).remainder(2.0);
    (&w * &mask).sum(Kind::Float).backward();
    tch::manual_seed(0);
    featdiv::breakers::add_grad_noise(&[w.shallow_clone()], 0.01);
    let g = w.grad();
    let zeros = g.masked_select(&mask.eq(0.0));
    assert_eq!(zeros.abs().max().double_value(&[]), 0.0);
    let ones = g.masked_select(&mask.eq(1.0));
    let std = ones.std(true).double_value(&[]);
    assert!((std - 0.01).abs() < 0.002, "relative std {std}");
}

#[test]
fn init_noise_scales_with_eps_and_he_std() {
    let m = mlp(&[256], MlpInit::KUnique { k: 1, tied: true }, 0);
    let before = m.layers[0].0.detach().copy();
    {
        let _turn = featdiv::determinism::global_state_lock();
        tch::manual_seed(1);
        featdiv::breakers::add_init_noise(&m.feature_layers(), 0.1);
    }
    let delta = (&m.layers[0].0 - before).std(true).double_value(&[]);
    let want = 0.1 * (2.0f64 / 784.0).sqrt();
    assert!((delta - want).abs() < 0.02 * want, "{delta} vs {want}");
}
