//! Subcommands: train, diversity, reproduce, sweep, report, table, register, calibrate, bench.
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use featdiv::config::{DeviceSpec, MemoryFormat, Precision};
use featdiv::experiment::{Budget, Experiment, Host, ProfileName};
use featdiv::sweep::{Executor, Shard};
use std::path::{Path, PathBuf};

/// A line to stdout: results, so a failure to write them is an error, not a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).context("cannot write to stdout")?
    }};
}

#[derive(Parser)]
#[command(
    name = "featdiv",
    version,
    about = "Is feature diversity necessary at initialization? Claims checker and experiment \
             runner."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the runs a sweep sends on stdin, one after another (started by sweep and reproduce).
    #[command(hide = true)]
    Worker,
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
        device: Option<DeviceSpec>,
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
    /// Run the paper's experiments (configs/experiments/*.toml) for a profile, then the report.
    /// Finished runs are skipped: a killed reproduce resumes where it stopped.
    Reproduce {
        /// smoke (the committed fixture: exercises every code path) | quick (Fashion-MNIST
        /// subsets, short budgets) | standard (the budgets the verdicts are published at) |
        /// full (all of Fashion-MNIST) | paper (the authors' scale: WRN-16-10, CIFAR-10, GPU).
        /// Each experiment file states each profile's scale; docs/results.md says what each
        /// decided.
        #[arg(long, default_value = "quick")]
        profile: ProfileName,
        #[arg(long, default_value = "configs/experiments")]
        experiments: PathBuf,
        /// Only these experiments (comma-separated names, e.g. e1-toy,e3-leakynet).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        #[command(flatten)]
        host: HostArgs,
        #[command(flatten)]
        plan: PlanArgs,
        /// Run records; default runs/<profile> (runs/<profile>-x<F> with --budget F,
        /// runs/<profile>-<P> with --precision P, runs/<profile>-s<N> with --seed-offset N).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "report")]
        report: PathBuf,
    },
    /// Run one shard of an experiment's runs (every N-th): spread a sweep over a cluster, then
    /// merge with `featdiv report` on the shared --out folder.
    Sweep {
        /// An experiment file (configs/experiments/*.toml).
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value = "quick")]
        profile: ProfileName,
        /// I/N: run the I-th (0-based) of N shards.
        #[arg(long, default_value = "0/1")]
        shard: Shard,
        #[command(flatten)]
        plan: PlanArgs,
        #[command(flatten)]
        host: HostArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Build the report (claims table, figures, environment) from a reproduce or sweep folder.
    /// Its stage (confirmatory or exploratory) is judged by configs/registration.toml of the
    /// current directory, or where there is none by what each plan recorded.
    Report {
        /// The --out of reproduce or sweep (holding plan/ and runs/).
        #[arg(long)]
        runs: PathBuf,
        #[arg(long, default_value = "report")]
        out: PathBuf,
    },
    /// Measure every verdict's error rates by simulation: records drawn from a known truth at
    /// each criterion's boundary (size, for holds and for refuted) and at a declared effect
    /// (power), judged by the code that judges real runs; writes calibration.json.
    Calibrate {
        /// The experiment files whose criteria are calibrated.
        #[arg(long, default_value = "configs/experiments")]
        experiments: PathBuf,
        /// Record sets drawn for each scenario.
        #[arg(long, default_value_t = 4000)]
        draws: usize,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        #[arg(long, default_value = "docs/calibration.json")]
        out: PathBuf,
    },
    /// Print the results table (one row a claim: its verdict and the number it turns on) from
    /// the claims.json of one or more reports, or rewrite it in place in a Markdown file.
    Table {
        /// claims.json files, each claim judged in at most one of them
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Replace the block between the results-table markers of this file (README.md) instead
        /// of printing
        #[arg(long)]
        into: Option<PathBuf>,
    },
    /// Freeze the experiment files for confirmatory runs: write the hash of what in each can move
    /// a verdict (criteria, growth, base config, variants, profiles' overrides and seeds) to the
    /// registration file, and print what changed. The one command that writes that file: run it
    /// deliberately, before the runs that are to confirm, never after looking at their results.
    Register {
        /// The experiment files to freeze (every *.toml).
        #[arg(long, default_value = "configs/experiments")]
        experiments: PathBuf,
        /// The registration; reproduce, sweep and report read it from the current directory.
        #[arg(long, default_value = featdiv::experiment::registration::DEFAULT_PATH)]
        file: PathBuf,
        /// The smallest --seed-offset whose seeds count as fresh, for every experiment; only
        /// upwards (past the seeds exploratory runs have used). Default: kept as registered,
        /// 1000 for an experiment new to the file.
        #[arg(long)]
        fresh_seeds_from: Option<u64>,
    },
    /// Time one epoch of the 784-256-10 MLP on Fashion-MNIST, or a step of ConstNet WRN-16-2.
    Bench {
        /// mlp: an epoch of the toy model; wrn: a training step of ConstNet WRN-depth-widen;
        /// gemm: the peak rate of a large matrix product (fp32, or bf16 with --precision bf16).
        #[arg(long, value_enum, default_value = "mlp")]
        model: BenchModel,
        #[arg(long, default_value = "data/fashion-mnist")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        #[command(flatten)]
        wrn: BenchWrnArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchModel {
    Mlp,
    Wrn,
    Gemm,
}

/// The WRN step (and GEMM) `featdiv bench` times.
#[derive(clap::Args)]
struct BenchWrnArgs {
    #[arg(long, default_value_t = 16)]
    depth: usize,
    #[arg(long, default_value_t = 2)]
    widen: usize,
    #[arg(long, default_value_t = 128)]
    batch: i64,
    /// fp32 | bf16 | tf32 (CUDA)
    #[arg(long, default_value = "fp32")]
    precision: Precision,
    /// contiguous | channels-last
    #[arg(long, default_value = "contiguous")]
    memory_format: MemoryFormat,
    /// cpu | cuda | cuda:N
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    /// The side of the square matrices of --model gemm.
    #[arg(long, default_value_t = 2048)]
    size: i64,
}

#[derive(clap::Args)]
struct HostArgs {
    /// Folder of data sets (DIR/fashion-mnist, DIR/cifar-10-batches-bin), for runs whose config
    /// names no data.path.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// auto | cpu | cuda | cuda:N
    #[arg(long, default_value = "auto")]
    device: DeviceSpec,
    /// Runs at a time, in as many worker processes (each trains runs in turn); bounded by the
    /// cores (CPU) or GPUs (CUDA).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

/// What changes every planned run of a reproduce or sweep: each is another run (another hash).
#[derive(clap::Args)]
struct PlanArgs {
    /// Every run's training budget (epochs, or steps) times this, e.g. 1.5: does a verdict
    /// hinge on the budget? Pair with --only; the runs go to runs/<profile>-x<F>.
    #[arg(long, default_value = "1")]
    budget: Budget,
    /// Every run in this precision (fp32 | bf16 | tf32), in place of the one its profile
    /// declares: bf16 is the faster on CPUs with AMX, fp32 on those without (reproduce says
    /// which when it plans bf16 runs). The runs go to runs/<profile>-<P>.
    #[arg(long)]
    precision: Option<Precision>,
    /// Added to every seed the experiment files declare, e.g. 1000: runs on seeds no earlier
    /// run saw, which a confirmatory run needs (at least the registration's fresh_seeds_from,
    /// configs/registration.toml). The plan records it; the runs go to runs/<profile>-s<N>.
    #[arg(long, default_value_t = 0)]
    seed_offset: u64,
}

impl PlanArgs {
    fn apply(&self, e: &mut Experiment) {
        e.budget = self.budget;
        e.precision = self.precision;
        e.seed_offset = self.seed_offset;
    }
}

/// Records in each plan the registration entry of its experiment (configs/registration.toml of
/// the current directory, if any): what the report judges the stage by where it finds no
/// registration file.
fn stamp_registration(plans: &mut [featdiv::experiment::Plan]) -> Result<()> {
    let path = Path::new(featdiv::experiment::registration::DEFAULT_PATH);
    let registration = featdiv::experiment::Registration::load_if_exists(path)?;
    for p in plans {
        p.provenance.registered = registration
            .as_ref()
            .and_then(|r| r.entry(&p.experiment))
            .cloned();
    }
    Ok(())
}

impl HostArgs {
    /// The host with its device resolved (auto becomes cpu or cuda): a run's hash says where it
    /// ran.
    fn host(&self) -> Result<Host> {
        featdiv::device::prepare(self.device);
        let device = match (featdiv::device::resolve(self.device)?, self.device) {
            (tch::Device::Cpu, _) => DeviceSpec::Cpu,
            (_, DeviceSpec::Auto) => DeviceSpec::Cuda(None),
            (_, spec) => spec,
        };
        Ok(Host {
            data_dir: Some(self.data_dir.clone()),
            device,
        })
    }

    fn executor(&self, device: DeviceSpec) -> Result<Executor> {
        let cuda = matches!(device, DeviceSpec::Cuda(_));
        let jobs = featdiv::sweep::bound_jobs(self.jobs, cuda)?;
        Ok(if jobs == 1 {
            Executor::InProcess
        } else {
            Executor::Spawn {
                featdiv: std::env::current_exe()
                    .context("cannot find this featdiv binary to start runs")?,
                jobs,
            }
        })
    }
}

fn write_report(runs: &Path, out: &Path) -> Result<()> {
    let report = featdiv::report::build(runs)?;
    let overview = featdiv::report::write(&report, out)?;
    out!("{}", featdiv::report::stage_line(&report));
    for c in &report.claims {
        out!("{:<3} {}", c.id, c.verdict.to_string().to_uppercase());
        if let Some(why) = &c.reason {
            out!("    why:       {why}");
        }
        if !c.criterion.is_empty() {
            out!("    criterion: {}", c.criterion);
        }
        if !c.measured.is_empty() {
            out!("    measured:  {}", c.measured);
        }
    }
    out!(
        "report: {} ({} figures); overview: {overview}",
        out.join("index.html").display(),
        report.figures.len()
    );
    Ok(())
}

pub fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Train {
            config,
            overrides,
            out,
            device,
            quiet,
        } => train(&config, overrides, &out, device, quiet),
        Command::Worker => featdiv::sweep::worker::serve(),
        Command::Diversity { file, json } => diversity(&file, json),
        Command::Reproduce {
            profile,
            experiments,
            only,
            plan,
            host,
            out,
            report,
        } => {
            let out = out.unwrap_or_else(|| default_out(profile, &plan));
            reproduce(profile, &experiments, &only, &plan, &host, &out)?;
            write_report(&out, &report)
        }
        Command::Sweep {
            config,
            profile,
            shard,
            plan,
            host,
            out,
        } => {
            let h = host.host()?;
            let mut e = Experiment::from_file(&config)?;
            plan.apply(&mut e);
            let mut plans = featdiv::sweep::plan_all(std::slice::from_ref(&e), profile, &h)?;
            stamp_registration(&mut plans)?;
            note_bf16_speed(&plans)?;
            featdiv::sweep::run_plans(&plans, shard, &out, &host.executor(h.device)?)
        }
        Command::Report { runs, out } => write_report(&runs, &out),
        Command::Calibrate {
            experiments,
            draws,
            seed,
            out: file,
        } => calibrate(&experiments, draws, seed, &file),
        Command::Register {
            experiments,
            file,
            fresh_seeds_from,
        } => register(&experiments, &file, fresh_seeds_from),
        Command::Table { files, into } => table(&files, into.as_deref()),
        Command::Bench {
            model,
            data_dir,
            threads,
            repeats,
            wrn,
        } => bench(model, &data_dir, threads, repeats, &wrn),
    }
}

fn calibrate(experiments: &Path, draws: usize, seed: u64, file: &Path) -> Result<()> {
    use featdiv::calibration::{Declared, calibrate};
    let declared = Declared::load(experiments)?;
    let cal = calibrate(&declared, draws, seed, &mut |s, r| {
        eprintln!(
            "{} {:?}: {:.4} of {} draws ({})",
            s.id, r.kind, r.rate, r.draws, r.truth
        );
    })?;
    cal.write(file)?;
    let above = cal.shown_above_level();
    for c in &cal.claims {
        let level = if above.contains(&c.id) {
            "SHOWN ABOVE"
        } else {
            "not shown above"
        };
        out!(
            "{:<7} alpha {:.2}: size {:.4} (holds), {:.4} (refuted), at most {:.4} (95% upper \
             bound), {level} its level; power {:.3}",
            c.id.to_string(),
            c.alpha,
            c.size,
            c.size_refuted,
            c.size_upper_bound(0.95),
            c.power
        );
    }
    out!("wrote {}", file.display());
    Ok(())
}

fn train(
    config: &Path,
    mut overrides: Vec<String>,
    out: &Path,
    device: Option<DeviceSpec>,
    quiet: bool,
) -> Result<()> {
    if let Some(d) = device {
        overrides.push(format!("device={:?}", d.to_string()));
    }
    let mut data = featdiv::data::DataCache::default();
    let outcome = featdiv::single_run::run_config_file(config, &overrides, out, quiet, &mut data)?;
    out!(
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

fn diversity(file: &Path, json: bool) -> Result<()> {
    let layers = featdiv::checkpoint::checkpoint_diversity(file)?;
    if json {
        let map: serde_json::Map<String, serde_json::Value> = layers
            .iter()
            .map(|l| Ok((l.name.clone(), serde_json::to_value(l)?)))
            .collect::<Result<_>>()?;
        out!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        out!("{}", diversity_table(&layers).trim_end());
    }
    Ok(())
}

/// runs/<profile>, with -x<F> for a budget F other than the declared one, -<P> for a
/// precision P and -s<N> for a seed offset N: runs other than the declared ones, and their
/// plans, never land in the declared profile's folder, and runs on fresh seeds never share a
/// folder with the exploratory runs before them.
fn default_out(profile: ProfileName, plan: &PlanArgs) -> PathBuf {
    let mut name = profile.name().to_string();
    if !plan.budget.is_as_declared() {
        name += &format!("-{}", plan.budget);
    }
    if let Some(p) = plan.precision {
        name += &format!("-{}", p.name());
    }
    if plan.seed_offset != 0 {
        name += &format!("-s{}", plan.seed_offset);
    }
    PathBuf::from("runs").join(name)
}

fn note_bf16_speed(plans: &[featdiv::experiment::Plan]) -> Result<()> {
    if let Some(note) = featdiv::bench::bf16_slower(plans)? {
        featdiv::say!("{note}");
    }
    Ok(())
}

/// Plans the experiments of `dir` (those of `only` and the analyses of them, if given) and
/// trains their unfinished runs into `out`.
fn reproduce(
    profile: ProfileName,
    dir: &Path,
    only: &[String],
    plan: &PlanArgs,
    host: &HostArgs,
    out: &Path,
) -> Result<()> {
    let h = host.host()?;
    let mut all = featdiv::experiment::load_dir(dir)?;
    for e in &mut all {
        plan.apply(e);
    }
    if !only.is_empty() {
        for name in only {
            anyhow::ensure!(
                all.iter().any(|e| &e.name == name),
                "--only {name}: no such experiment in {}",
                dir.display()
            );
        }
        // Analyses come along with what they analyse.
        all.retain(|e| only.contains(&e.name) || e.analysis_of.iter().any(|a| only.contains(a)));
    }
    let mut plans = featdiv::sweep::plan_all(&all, profile, &h)?;
    stamp_registration(&mut plans)?;
    note_bf16_speed(&plans)?;
    featdiv::sweep::run_plans(&plans, Shard::ALL, out, &host.executor(h.device)?)
}

fn register(dir: &Path, file: &Path, fresh_from: Option<u64>) -> Result<()> {
    let changes = featdiv::experiment::registration::register(dir, file, fresh_from)?;
    if changes.is_empty() {
        out!(
            "nothing changed: {} registers the experiments of {} as they are",
            file.display(),
            dir.display()
        );
    }
    for c in &changes {
        out!("{c}");
    }
    if !changes.is_empty() {
        out!("wrote {}", file.display());
    }
    Ok(())
}

fn bench(
    model: BenchModel,
    data_dir: &Path,
    threads: usize,
    repeats: usize,
    w: &BenchWrnArgs,
) -> Result<()> {
    featdiv::device::prepare(w.device);
    let (precision, memory_format) = (w.precision, w.memory_format);
    let device = featdiv::device::resolve(w.device)?;
    match model {
        BenchModel::Wrn => {
            let step = featdiv::bench::WrnStep {
                depth: w.depth,
                widen: w.widen,
                batch: w.batch,
                precision,
                memory_format,
                device,
            };
            let secs = featdiv::bench::bench_wrn_step(&step, threads, repeats)?;
            let t = Timed::of(&secs, step.flops()?, threads, repeats);
            out!("{}", wrn_step_summary(w, &t));
        }
        BenchModel::Mlp => {
            let (secs, flops) = featdiv::bench::bench_epoch(data_dir, threads, repeats)?;
            out!(
                "{}",
                mlp_epoch_summary(&Timed::of(&secs, flops, threads, repeats))
            );
        }
        BenchModel::Gemm => {
            let kind = match precision {
                Precision::Bf16 => tch::Kind::BFloat16,
                Precision::Fp32 | Precision::Tf32 => tch::Kind::Float,
            };
            let rate = featdiv::bench::gemm_peak(w.size, kind, device, threads, repeats);
            out!(
                "gemm peak ({n}x{n}, {}, {}, {threads} threads): {:.1} GFLOP/s",
                precision.name(),
                w.device,
                rate / 1e9,
                n = w.size,
            );
        }
    }
    Ok(())
}

/// A benchmark's times (sorted seconds a repeat) and the rate at the fastest.
struct Timed {
    threads: usize,
    repeats: usize,
    min: f64,
    median: f64,
    gflops: f64,
}

impl Timed {
    /// "min .. s, median .. s over N; .. GFLOP/s", the seconds to `digits` decimals.
    fn times(&self, digits: usize) -> String {
        format!(
            "min {:.digits$} s, median {:.digits$} s over {}; {:.1} GFLOP/s",
            self.min, self.median, self.repeats, self.gflops
        )
    }

    fn of(sorted_secs: &[f64], flops: f64, threads: usize, repeats: usize) -> Timed {
        let min = sorted_secs[0];
        Timed {
            threads,
            repeats,
            min,
            median: sorted_secs[sorted_secs.len() / 2],
            gflops: flops / min / 1e9,
        }
    }
}

/// The line `featdiv bench --model wrn` prints: the step's shape and settings, then its times.
fn wrn_step_summary(w: &BenchWrnArgs, t: &Timed) -> String {
    format!(
        "featdiv wrn step (ConstNet WRN-{}-{}, 3x32x32, batch {}, {} {}, {}, {} threads): {}",
        w.depth,
        w.widen,
        w.batch,
        w.precision.name(),
        w.memory_format.name(),
        w.device,
        t.threads,
        t.times(4),
    )
}

/// The line `featdiv bench --model mlp` prints: the epoch's times.
fn mlp_epoch_summary(t: &Timed) -> String {
    let setting = "784-256-10, batch 128";
    format!(
        "featdiv mlp epoch ({setting}, {} threads): {}",
        t.threads,
        t.times(3)
    )
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

fn table(files: &[PathBuf], into: Option<&Path>) -> Result<()> {
    use featdiv::report::table;
    let rendered = table::render(&table::read(files)?)?;
    let Some(doc) = into else {
        out!("{rendered}");
        return Ok(());
    };
    let text =
        std::fs::read_to_string(doc).with_context(|| format!("cannot read {}", doc.display()))?;
    let spliced = table::splice(&text, &rendered, doc)?;
    featdiv::files::write_atomic(doc, spliced.as_bytes())?;
    out!(
        "results table of {} written into {}",
        files.len(),
        doc.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_other_than_the_declared_ones_get_their_own_folder() {
        let plan = |budget: &str, precision: Option<Precision>| PlanArgs {
            budget: budget.parse().unwrap(),
            precision,
            seed_offset: 0,
        };
        let out = |p: &PlanArgs| default_out(ProfileName::Standard, p);
        assert_eq!(out(&plan("1", None)), Path::new("runs/standard"));
        assert_eq!(out(&plan("3", None)), Path::new("runs/standard-x3"));
        assert_eq!(
            out(&plan("1", Some(Precision::Fp32))),
            Path::new("runs/standard-fp32")
        );
        assert_eq!(
            out(&plan("1.5", Some(Precision::Bf16))),
            Path::new("runs/standard-x1.5-bf16")
        );
        let fresh = PlanArgs {
            seed_offset: 1000,
            ..plan("3", Some(Precision::Fp32))
        };
        assert_eq!(out(&fresh), Path::new("runs/standard-x3-fp32-s1000"));
    }
}
