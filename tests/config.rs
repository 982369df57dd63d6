//! The public config shape: parsing, overrides, and a clear error for every invalid value.
use featdiv::config::{Config, MlpInit, ModelSpec};
use rstest::rstest;

const EXAMPLE: &str = r#"
seed = 0
threads = 1
device = "cpu"
[data]
source = "npz"
path = "x.npz"
shuffle = false
augment = false
[model]
arch = "mlp"
classes = 10
hidden = [256]
init = "k-unique:4"
[train]
batch_size = 128
steps = 0
epochs = 2
lr = 0.05
momentum = 0.9
nesterov = false
weight_decay = 0.0
schedule = "constant"
log_every = 1
[breakers]
init_noise = 0.0
dropout = 0.0
grad_noise = 0.0
"#;

#[test]
fn the_documented_example_parses() {
    let cfg = Config::from_toml_str(EXAMPLE, &[]).unwrap();
    assert_eq!(
        cfg.model.spec,
        ModelSpec::Mlp {
            hidden: vec![256],
            init: MlpInit::KUnique { k: 4, tied: true }
        }
    );
    assert_eq!(cfg.train.epochs, 2);
    assert_eq!(
        cfg.data.path.as_deref(),
        Some(std::path::Path::new("x.npz"))
    );
}

#[test]
fn overrides_reach_nested_keys_and_parse_types() {
    let sets = [
        "train.lr=0.1",
        "model.init=k-unique-untied:2",
        "model.hidden=[64, 32]",
        "breakers.dropout=0.5",
        "data.shuffle=true",
    ];
    let cfg = Config::from_toml_str(EXAMPLE, &sets.map(String::from)).unwrap();
    assert_eq!(cfg.train.lr, 0.1);
    assert_eq!(
        cfg.model.spec,
        ModelSpec::Mlp {
            hidden: vec![64, 32],
            init: MlpInit::KUnique { k: 2, tied: false }
        }
    );
    assert_eq!(cfg.breakers.dropout, 0.5);
    assert!(cfg.data.shuffle);
}

#[test]
fn config_round_trips_through_toml() {
    let cfg = Config::from_toml_str(EXAMPLE, &[]).unwrap();
    let again = Config::from_toml_str(&cfg.to_toml().unwrap(), &[]).unwrap();
    assert_eq!(cfg, again);
}

#[rstest]
#[case("train.lr=-1", "train.lr")]
#[case("train.lr=nan", "train.lr")]
#[case("train.batch_size=0", "train.batch_size")]
#[case("train.steps=10", "train.steps")] // both steps and epochs > 0
#[case("train.momentum=1.5", "train.momentum")]
#[case("train.schedule=\"warmup\"", "train.schedule")]
#[case("train.log_every=0", "train.log_every")]
#[case("train.weight_decay=-0.1", "train.weight_decay")]
#[case("model.init=\"k-unique:0\"", "model.init")]
#[case("model.init=\"orthogonal\"", "model.init")]
#[case("model.init=\"k-unique:x\"", "model.init")]
#[case("model.arch=\"resnet\"", "model.arch")]
#[case("model.hidden=[]", "model.hidden")]
#[case("model.hidden=[0]", "model.hidden")]
#[case("model.classes=0", "model.classes")]
#[case("data.source=\"imagenet\"", "data.source")]
#[case("breakers.dropout=1.0", "breakers.dropout")]
#[case("breakers.init_noise=-1", "breakers.init_noise")]
#[case("breakers.grad_noise=inf", "breakers.grad_noise")]
#[case("threads=0", "threads")]
#[case("model.init=\"constnet\"", "model.init")] // a wrn init on the mlp
#[case("model.init=\"fixup\"", "model.init")] // Fixup needs the residual skeleton
#[case("model.depth=11", "model.depth")]
#[case("determinism.mode=\"sometimes\"", "determinism.mode")]
#[case("determinism.tf32=\"yes\"", "tf32")]
#[case("model.widen=0", "model.widen")]
#[case("model.bn_momentum=1.5", "model.bn_momentum")]
#[case("model.init=\"constnet+residual:-1\"", "model.init")]
#[case("device=\"tpu\"", "device")]
#[case("train.milestones=[0.5, 0.2]", "train.milestones")]
#[case("train.milestones=[0.5, 0.5]", "train.milestones")]
fn invalid_values_name_their_key(#[case] set: &str, #[case] key: &str) {
    let err = Config::from_toml_str(EXAMPLE, &[set.to_string()]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(key),
        "error for {set} should name {key}: {msg}"
    );
}

#[test]
fn tf32_on_a_config_that_names_the_cpu_is_refused_when_parsed() {
    let parse = |device: &str| {
        let sets = [
            format!("device={device:?}"),
            "train.precision=\"tf32\"".into(),
        ];
        Config::from_toml_str(EXAMPLE, &sets)
    };
    let err = format!("{:#}", parse("cpu").unwrap_err());
    assert!(
        err.contains("train.precision") && err.contains("tf32 needs a CUDA device"),
        "{err}"
    );
    // On "auto" the device is not known yet: train checks it once resolved.
    assert!(parse("auto").is_ok());
}

#[test]
fn unknown_keys_and_wrong_types_are_errors() {
    let err = Config::from_toml_str(EXAMPLE, &["train.learning_rate=0.1".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("learning_rate"), "{err:#}");
    let err = Config::from_toml_str(EXAMPLE, &["train.epochs=\"two\"".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("invalid"), "{err:#}");
    let err = Config::from_toml_str("seed = [", &[]).unwrap_err();
    assert!(format!("{err:#}").contains("TOML"), "{err:#}");
    let err = Config::from_toml_str(EXAMPLE, &["nokey".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("key=value"), "{err:#}");
}

#[test]
fn wrn_inits_need_the_wrn_arch_and_mlp_inits_the_mlp() {
    let wrn = ["model.arch=\"wrn\"".to_string(), "model.depth=10".into()];
    for init in ["constnet", "he", "constnet+residual:0.5"] {
        let mut sets = wrn.to_vec();
        sets.push(format!("model.init=\"{init}\""));
        Config::from_toml_str(EXAMPLE, &sets).unwrap();
    }
    let mut sets = wrn.to_vec();
    sets.push("model.init=\"k-unique:2\"".into());
    let err = Config::from_toml_str(EXAMPLE, &sets).unwrap_err();
    assert!(
        format!("{err:#}").contains("does not apply to arch"),
        "{err:#}"
    );
}

#[test]
fn leakynet_codes_are_checked_against_the_depth() {
    let base = [
        "model.arch=\"leakynet\"".to_string(),
        "model.depth=16".into(),
    ];
    let with = |code: &str| {
        let mut sets = base.to_vec();
        sets.push(format!("model.init=\"{code}\""));
        Config::from_toml_str(EXAMPLE, &sets)
    };
    with("1_iiii_1111_iiii").unwrap();
    let e = format!("{:#}", with("1_iiii_1z11_iiii").unwrap_err());
    assert!(
        e.contains("model.init") && e.contains("unknown character 'z'"),
        "{e}"
    );
    let e = format!("{:#}", with("1_iiii_1111").unwrap_err());
    assert!(e.contains("model.init") && e.contains("needs 13"), "{e}");
    let mut sets = base.to_vec();
    sets.extend([
        "model.init=\"1_iiii_1111_iiii\"".to_string(),
        "model.leaky_slope=1.5".into(),
    ]);
    let e = format!("{:#}", Config::from_toml_str(EXAMPLE, &sets).unwrap_err());
    assert!(e.contains("model.leaky_slope"), "{e}");
}

#[test]
fn npz_source_needs_a_path() {
    let text = EXAMPLE.replace("path = \"x.npz\"\n", "");
    let err = Config::from_toml_str(&text, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("data.path"), "{err:#}");
}

#[test]
fn shipped_configs_parse() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")).unwrap() {
        let path = entry.unwrap().path();
        // The registration of the experiment files is not a run config (experiment::registration).
        let run_config = path.file_name().is_some_and(|n| n != "registration.toml");
        if run_config && path.extension().is_some_and(|e| e == "toml") {
            Config::from_file(&path, &[]).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        }
    }
}
