//! One training run written to a folder (`records::RunFiles`): the config as given and resolved,
//! steps.jsonl, the weights, and summary.json last.
use crate::config::Config;
use crate::data::{DataCache, Dataset};
use crate::environment::Environment;
use crate::files::{Jsonl, and_then_keep, write_atomic, write_json};
use crate::records::{ACCURACY_NOTE, DataInfo, Done, Line, RunFiles, RunResult, SCHEMA, Summary};
use crate::train::{Outcome, train};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;

/// Trains `cfg` and writes its records under `out`. `config_text` is the file as the user wrote
/// it; the resolved config (overrides applied) is written beside it. If the run fails and its
/// records cannot be written either, the error says both, the run's first. The data come from
/// `data` (loaded there if it holds another set).
pub fn run_to_dir(
    cfg: &Config,
    config_text: &str,
    overrides: &[String],
    out: &Path,
    quiet: bool,
    data: &mut DataCache,
) -> Result<Outcome> {
    crate::device::prepare(cfg.device);
    let files = RunFiles(out);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut header = String::from("# featdiv run config, as given");
    for o in overrides {
        header.push_str(&format!("\n# --set {o}"));
    }
    write_atomic(
        &files.config(),
        format!("{header}\n{config_text}").as_bytes(),
    )?;
    write_atomic(&files.resolved_config(), cfg.to_toml()?.as_bytes())?;

    let device = crate::device::resolve(cfg.device)?;
    let ds = data.load(&cfg.data, cfg.seed)?.to_device(device);
    let (total, _) = crate::train::budget(cfg, ds.train.len());
    let mut steps = Jsonl::create(&files.steps())?;
    let bar = progress(total as u64, quiet);
    let result = train(cfg, &ds, device, &mut |line| {
        show(&bar, quiet, total, line);
        steps.append(line)
    });
    bar.finish_and_clear();
    // After the run: the thread count and determinism switches it set are what was in force.
    let mut environment = Environment::capture(cfg.seed, device);
    let data = data_info(&ds, cfg);
    let (result, outcome) = match and_then_keep(result, steps.finish()) {
        Ok((model, outcome)) => {
            environment.precision = Some(outcome.precision);
            match save_weights(model.as_ref(), &files) {
                Ok(()) => (RunResult::Done(done(&outcome)), Ok(outcome)),
                Err(e) => (failed(&e), Err(e)),
            }
        }
        Err(e) => (failed(&e), Err(e)),
    };
    let summary = Summary {
        schema: SCHEMA,
        result,
        data,
        environment,
    };
    and_then_keep(outcome, write_json(&files.summary(), &summary))
}

/// Trains the config file `config` with `overrides` into `out`: what `featdiv train` does, and a
/// sweep's worker for each run it is sent.
pub fn run_config_file(
    config: &Path,
    overrides: &[String],
    out: &Path,
    quiet: bool,
    data: &mut DataCache,
) -> Result<Outcome> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    let cfg = Config::from_file(config, overrides)?;
    crate::device::prepare(cfg.device);
    run_to_dir(&cfg, &text, overrides, out, quiet, data)
}

fn failed(e: &anyhow::Error) -> RunResult {
    RunResult::Failed {
        error: format!("{e:#}"),
    }
}

fn done(o: &Outcome) -> Done {
    Done {
        final_test_acc: o.final_test_acc,
        best_test_acc: o.best_test_acc,
        best_step: o.best_step,
        accuracy_note: ACCURACY_NOTE.into(),
        steps: o.steps,
        final_loss: o.final_loss,
        wall_time_s: o.wall_time_s,
        diversity_init: o.diversity_init.clone(),
        diversity_final: o.diversity_final.clone(),
        timings: Some(o.timings),
    }
}

fn data_info(ds: &Dataset, cfg: &Config) -> DataInfo {
    DataInfo {
        name: ds.name.clone(),
        train: ds.train.len(),
        test: ds.test.len(),
        test_split: ds.test_note.clone(),
        steps_per_epoch: crate::train::budget(cfg, ds.train.len()).1,
        classes: cfg.model.classes_for(ds.classes).ok(),
    }
}

fn save_weights(model: &dyn crate::models::Model, files: &RunFiles) -> Result<()> {
    // The extension picks the format, so the temporary name keeps it; safetensors holds
    // contiguous tensors only.
    crate::precision::contiguous_params(model.var_store());
    let weights = files.weights();
    let tmp = files
        .0
        .join(format!(".weights.tmp-{}.safetensors", std::process::id()));
    model
        .var_store()
        .save(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &weights)
        .with_context(|| format!("cannot move {} into place", weights.display()))
}

/// Progress: a bar on a terminal, a line per evaluation otherwise (unless quiet).
fn show(bar: &ProgressBar, quiet: bool, total: usize, line: &Line) {
    match line {
        Line::Step(r) => {
            bar.set_position(r.step as u64 + 1);
            bar.set_message(format!("loss {:.4}", r.loss));
        }
        Line::Eval(r) => {
            let text = format!(
                "epoch {:.2}  step {}/{}  test acc {:.4}",
                r.epoch, r.step, total, r.test_acc
            );
            if !bar.is_hidden() {
                bar.println(text);
            } else if !quiet {
                crate::say!("{text}");
            }
        }
        Line::Perturbation(_) => {}
    }
}

fn progress(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
    {
        bar.set_style(style);
    }
    bar
}
