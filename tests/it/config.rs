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

/// The config block of docs/config.md, which shows every key with its default.
fn documented_block() -> String {
    let page = std::fs::read_to_string("docs/config.md").unwrap();
    let after = page.split("The config (public shape").nth(1).unwrap();
    let block = after
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    block.to_string()
}

/// Keys whose documented value is an example rather than the default (the data set, the model).
const EXAMPLE_KEYS: &[(&str, &str)] = &[
    ("", "device"),
    ("data", "source"),
    ("data", "path"),
    ("model", "arch"),
    ("model", "classes"),
    ("model", "init"),
];

/// A config that names only the example keys, with the page's values, so that every other key
/// takes its default.
fn minimal_like(doc: &toml::Table) -> Config {
    let mut minimal = toml::Table::new();
    for (table, key) in EXAMPLE_KEYS {
        let (from, to) = if table.is_empty() {
            (doc, &mut minimal)
        } else {
            let to = minimal
                .entry(*table)
                .or_insert(toml::Value::Table(Default::default()));
            (doc[*table].as_table().unwrap(), to.as_table_mut().unwrap())
        };
        if let Some(v) = from.get(*key) {
            to.insert(key.to_string(), v.clone());
        }
    }
    Config::from_toml_str(&toml::to_string(&minimal).unwrap(), &[]).unwrap()
}

/// The keys a resolved config writes that the page does not show.
fn undocumented(doc: &toml::Table, resolved: &toml::Table, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in resolved {
        match (v, doc.get(k)) {
            (toml::Value::Table(r), Some(toml::Value::Table(d))) => {
                out.extend(undocumented(d, r, &format!("{prefix}{k}.")))
            }
            (_, None) => out.push(format!("{prefix}{k}")),
            _ => {}
        }
    }
    out
}

fn check_documented_defaults(block: &str) -> Result<(), String> {
    let doc_table: toml::Table = toml::from_str(block).unwrap();
    let documented = Config::from_toml_str(block, &[]).unwrap();
    let minimal = minimal_like(&doc_table);
    if documented != minimal {
        return Err(format!("documented {documented:#?}\nresolved {minimal:#?}"));
    }
    let resolved: toml::Table = toml::from_str(&minimal.to_toml().unwrap()).unwrap();
    match undocumented(&doc_table, &resolved, "").as_slice() {
        [] => Ok(()),
        keys => Err(format!("undocumented: {keys:?}")),
    }
}

#[test]
fn a_minimal_config_resolves_to_the_documented_defaults() {
    check_documented_defaults(&documented_block()).unwrap();
}

#[test]
fn a_default_documented_wrong_is_caught() {
    let block = documented_block();
    let wrong_epochs = block.replace("\nepochs = 2\n", "\nepochs = 3\n");
    assert_ne!(wrong_epochs, block);
    let err = check_documented_defaults(&wrong_epochs).unwrap_err();
    assert!(err.contains("epochs: 3"), "{err}");

    let eps_line = block
        .lines()
        .find(|l| l.starts_with("perturbation_eps"))
        .unwrap();
    let missing_eps = block.replace(eps_line, "");
    let err = check_documented_defaults(&missing_eps).unwrap_err();
    assert_eq!(err, "undocumented: [\"record.perturbation_eps\"]");
}

#[rstest]
#[case("", 0, 2)] // no [train] table
#[case("[train]\nlr = 0.1\n", 0, 2)] // a [train] table without a budget
#[case("[train]\nsteps = 100\n", 100, 0)] // steps alone: no epochs beside them
#[case("[train]\nepochs = 5\n", 0, 5)]
fn the_budget_is_steps_or_epochs_defaulting_to_two_epochs(
    #[case] train: &str,
    #[case] steps: usize,
    #[case] epochs: usize,
) {
    let text = format!("[data]\nsource = \"synthetic\"\n[model]\narch = \"mlp\"\n{train}");
    let cfg = Config::from_toml_str(&text, &[]).unwrap();
    assert_eq!((cfg.train.steps, cfg.train.epochs), (steps, epochs));
}

#[test]
fn a_budget_of_neither_steps_nor_epochs_is_refused() {
    let text =
        "[data]\nsource = \"synthetic\"\n[model]\narch = \"mlp\"\n[train]\nsteps = 0\nepochs = 0\n";
    let err = Config::from_toml_str(text, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("train.steps"), "{err:#}");
}
