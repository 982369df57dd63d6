//! Subcommands: train, diversity, reproduce, bench.
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use featdiv::config::Config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "featdiv",
    version,
    about = "Is feature diversity necessary at initialization? Claims checker and experiment runner."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one configuration and write config.toml, steps.jsonl and summary.json to --out.
    Train {
        #[arg(long)]
        config: PathBuf,
        /// Override a config key, e.g. --set train.lr=0.1 --set model.init=k-unique:4
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        /// auto | cpu | cuda | cuda:N (overrides the config's device)
        #[arg(long)]
        device: Option<String>,
        #[arg(long)]
        quiet: bool,
    },
    /// Print the correlations, symmetry gap and effective width of every weight in a checkpoint.
    Diversity {
        /// .npz, .safetensors or .ot
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run the toy-model claims study (K1, K2, K3, untied), print the claims table, write records.
    Reproduce {
        #[arg(long, default_value = "runs/toy")]
        out: PathBuf,
        /// Folder with the Fashion-MNIST IDX files.
        #[arg(long, default_value = "data/fashion-mnist")]
        data_dir: PathBuf,
        #[arg(long, default_value = "auto")]
        device: String,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Time one epoch of the 784-256-10 MLP on Fashion-MNIST, or a step of ConstNet WRN-16-2.
    Bench {
        /// mlp: an epoch of the toy model; wrn: a training step of ConstNet WRN-16-2.
        #[arg(long, default_value = "mlp")]
        model: String,
        #[arg(long, default_value = "data/fashion-mnist")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
}

pub fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Train {
            config,
            mut overrides,
            out,
            device,
            quiet,
        } => {
            if let Some(d) = device {
                overrides.push(format!("device={d:?}"));
            }
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("cannot read config {}", config.display()))?;
            let cfg = Config::from_file(&config, &overrides)?;
            let outcome = featdiv::runner::run_to_dir(&cfg, &text, &overrides, &out, quiet)?;
            println!(
                "final test acc {:.4}  best {:.4} (step {})  {} steps in {:.1} s  -> {}",
                outcome.final_test_acc,
                outcome.best_test_acc,
                outcome.best_step,
                outcome.steps,
                outcome.wall_time_s,
                out.display()
            );
            Ok(())
        }
        Command::Diversity { file, json } => {
            let layers = featdiv::checkpoint::checkpoint_diversity(&file)?;
            if json {
                let map: serde_json::Map<String, serde_json::Value> = layers
                    .iter()
                    .map(|l| Ok((l.name.clone(), serde_json::to_value(l)?)))
                    .collect::<Result<_>>()?;
                println!("{}", serde_json::to_string_pretty(&map)?);
            } else {
                print!("{}", diversity_table(&layers));
            }
            Ok(())
        }
        Command::Reproduce {
            out,
            data_dir,
            device,
            threads,
        } => {
            let device = featdiv::device::resolve(&device)?;
            let study = featdiv::claims::study::Study::default_quick(&data_dir, threads);
            let report = study.run(device, &out)?;
            println!("{}", report.table());
            println!("records: {}", out.display());
            Ok(())
        }
        Command::Bench {
            model,
            data_dir,
            threads,
            repeats,
        } => {
            if model == "wrn" {
                let secs = featdiv::bench::bench_wrn_step(threads, repeats)?;
                let (min, median) = (secs[0], secs[secs.len() / 2]);
                println!(
                    "featdiv wrn step (ConstNet WRN-16-2, 3x32x32, batch 128, {threads} threads): min {min:.3} s, median {median:.3} s over {repeats}"
                );
                return Ok(());
            }
            let secs = featdiv::bench::bench_epoch(&data_dir, threads, repeats)?;
            let (min, median) = (secs[0], secs[secs.len() / 2]);
            println!(
                "featdiv mlp epoch (784-256-10, batch 128, {threads} threads): min {min:.3} s, median {median:.3} s over {repeats}: {secs:.3?}"
            );
            Ok(())
        }
    }
}

fn diversity_table(layers: &[featdiv::metrics::LayerDiversity]) -> String {
    let mut s = format!(
        "{:<28} {:>16} {:>10} {:>10} {:>10} {:>11} {:>10} {:>8} {:>9} {:>9}\n",
        "tensor",
        "shape",
        "forward",
        "backward",
        "all",
        "gap",
        "gap_ulps",
        "distinct",
        "width_pr",
        "width_rho"
    );
    for l in layers {
        s.push_str(&format!(
            "{:<28} {:>16} {:>10.6} {:>10.6} {:>10.6} {:>11.3e} {:>10} {:>8} {:>9.2} {:>9.2}\n",
            l.name,
            format!("{:?}", l.shape),
            l.forward,
            l.backward,
            l.all.unwrap_or(f64::NAN),
            l.gap_abs,
            l.gap_ulps,
            l.distinct_exact,
            l.width_participation,
            l.width_rho
        ));
    }
    s
}
