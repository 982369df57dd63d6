//! One training run written to a folder: config.toml (verbatim), steps.jsonl, summary.json.
use crate::config::Config;
use crate::environment::Environment;
use crate::records::{Jsonl, write_atomic, write_json};
use crate::train::{Event, Outcome, train};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;

/// Trains `cfg` and writes its records under `out`. `config_text` is the file as the user wrote
/// it; the resolved config (overrides applied) is written beside it.
pub fn run_to_dir(
    cfg: &Config,
    config_text: &str,
    overrides: &[String],
    out: &Path,
    quiet: bool,
) -> Result<Outcome> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut header = String::from("# featdiv run config, as given");
    for o in overrides {
        header.push_str(&format!("\n# --set {o}"));
    }
    write_atomic(
        &out.join("config.toml"),
        format!("{header}\n{config_text}").as_bytes(),
    )?;
    write_atomic(&out.join("config.resolved.toml"), cfg.to_toml()?.as_bytes())?;

    let device = crate::device::resolve(&cfg.device)?;
    let ds = crate::data::load(&cfg.data, cfg.seed)?.to_device(device);
    let (total, per_epoch) = crate::train::budget(cfg, ds.train.len());
    let bar = progress(total as u64, quiet);
    let mut steps = Jsonl::create(&out.join("steps.jsonl"))?;
    let mut sink = |e: Event| -> Result<()> {
        match e {
            Event::Step(r) => {
                steps.append(&json!({"kind": "step", "step": r.step, "epoch": r.epoch, "loss": r.loss, "lr": r.lr, "layers": r.layers}))?;
                bar.set_position(r.step as u64 + 1);
                bar.set_message(format!("loss {:.4}", r.loss));
            }
            Event::Eval(r) => {
                steps.append(&json!({"kind": "eval", "step": r.step, "epoch": r.epoch, "loss": r.loss, "lr": r.lr, "test_acc": r.test_acc, "layers": r.layers}))?;
                let line = format!(
                    "epoch {:.2}  step {}/{}  test acc {:.4}",
                    r.epoch, r.step, total, r.test_acc
                );
                if bar.is_hidden() {
                    if !quiet {
                        eprintln!("{line}");
                    }
                } else {
                    bar.println(line);
                }
            }
            Event::Perturbation(r) => {
                steps.append(&json!({"kind": "perturbation", "step": r.step, "epoch": r.epoch, "at": r.at, "eps": r.eps, "reach": r.reach}))?;
            }
        }
        Ok(())
    };
    let result = train(cfg, &ds, device, &mut sink);
    bar.finish_and_clear();
    // After the run: the thread count and determinism switches it set are what was in force.
    let env = Environment::capture(cfg.seed, device);
    steps.finish()?;
    let base = json!({
        "data": {"name": ds.name, "train": ds.train.len(), "test": ds.test.len(), "test_split": ds.test_note, "steps_per_epoch": per_epoch},
        "environment": env,
    });
    match result {
        Ok((model, outcome)) => {
            // The extension picks the format, so the temporary name keeps it.
            let weights = out.join("weights.safetensors");
            let tmp = out.join(format!(".weights.tmp-{}.safetensors", std::process::id()));
            model
                .var_store()
                .save(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &weights)
                .with_context(|| format!("cannot move {} into place", weights.display()))?;
            let mut summary = json!({
                "status": "done",
                "final_test_acc": outcome.final_test_acc,
                "best_test_acc": outcome.best_test_acc,
                "best_step": outcome.best_step,
                "accuracy_note": "final = after the last step; best = max over end-of-epoch evaluations (the authors reported best)",
                "steps": outcome.steps,
                "final_loss": outcome.final_loss,
                "wall_time_s": outcome.wall_time_s,
                "diversity_init": outcome.diversity_init,
                "diversity_final": outcome.diversity_final,
            });
            merge(&mut summary, base);
            write_json(&out.join("summary.json"), &summary)?;
            Ok(outcome)
        }
        Err(err) => {
            let mut summary = json!({"status": "failed", "error": format!("{err:#}")});
            merge(&mut summary, base);
            write_json(&out.join("summary.json"), &summary)?;
            Err(err)
        }
    }
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
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
