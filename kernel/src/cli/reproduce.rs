//! `mcmr reproduce`: train and evaluate what a spec declares (all of it, or one task of a
//! cluster's array); `mcmr slurm`: the same runs as a Slurm job array.

use super::*;
use mcmr::experiment::{cluster, ReproduceOptions, Variants};

/// Which runs of a spec, where they go and what they read (`reproduce`, `slurm`).
#[derive(clap::Args)]
pub struct RunSelection {
    spec: PathBuf,
    /// smoke (CPU minutes, phantom data), reduced (up to about an hour on a 2-core CPU, phantom
    /// data, where the orderings can show) or paper (the paper's settings and data).
    #[arg(long, default_value = "smoke")]
    scale: String,
    /// A variant of the spec, or `all` (the spec as written and every variant).
    #[arg(long)]
    variant: Option<String>,
    /// Only this experiment (repeatable; default: all of them).
    #[arg(long = "experiment")]
    experiments: Vec<String>,
    /// cpu, or cuda (a build with `--features mcmr-kernel/cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Runs go to OUT/<paper>/<variant>/<scale>/<experiment>/.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Data folder replacing the spec's data path (or the phantom).
    #[arg(long)]
    data: Option<PathBuf>,
}

impl RunSelection {
    fn options(self, overwrite: bool, progress: bool, reuse: Option<PathBuf>) -> (PathBuf, ReproduceOptions) {
        let RunSelection { spec, scale, variant, experiments, device, out, data } = self;
        let variants = match variant.as_deref() {
            None => Variants::Base,
            Some("all") => Variants::All,
            Some(v) => Variants::One(v.to_string()),
        };
        (spec, ReproduceOptions { scale, variants, experiments, device, out, data, overwrite, progress, reuse })
    }
}

#[derive(clap::Args)]
pub struct ReproduceCmd {
    #[command(flatten)]
    selection: RunSelection,
    /// Replace existing run folders.
    #[arg(long)]
    overwrite: bool,
    /// No progress on stderr (default: a bar per training stage on a terminal, plain lines
    /// elsewhere, and a line per finished run).
    #[arg(long)]
    quiet: bool,
    /// Take the runs finished under this earlier `--out` (by this kit version, from the same
    /// spec text) as they are; train only the others.
    #[arg(long)]
    reuse: Option<PathBuf>,
    /// Print the runs as JSON (task index, variant, experiment, folder, command) and run nothing.
    #[arg(long, conflicts_with_all = ["task", "gather", "reuse"])]
    plan: bool,
    /// Run only run N of the plan (from 0; a Slurm array task's index): a finished run is kept,
    /// a stopped one resumed. Writes no summary: `--gather` does, once all tasks have finished.
    #[arg(long, value_name = "N", conflicts_with_all = ["gather", "reuse"])]
    task: Option<usize>,
    /// Train nothing: read every run of the plan from `--out` (where the tasks left them) and
    /// write the reports; fails, naming the tasks, when any run is missing or unfinished.
    #[arg(long, conflicts_with = "reuse")]
    gather: bool,
}

impl ReproduceCmd {
    pub fn run(self) -> Result<()> {
        let ReproduceCmd { selection, overwrite, quiet, reuse, plan, task, gather } = self;
        let (spec, opts) = selection.options(overwrite, !quiet, reuse);
        if plan {
            let json = cluster::plan_json(&spec, &opts).map_err(anyhow::Error::msg)?;
            say_raw!("{}", serde_json::to_string_pretty(&json)?);
            return Ok(());
        }
        // Runs the spec's shared `scale` settings made identical are trained as asked, with a
        // warning first (`mcmr check-spec` shows the same).
        if let Ok(loaded) = mcmr::spec::read_spec(&spec) {
            for w in loaded.experiment_warnings(Some(&opts.scale)) {
                eprint!("{}", loaded.render(&w));
            }
        }
        let outcomes = if let Some(i) = task {
            vec![cluster::run_task(&spec, &opts, i).map_err(anyhow::Error::msg)?]
        } else if gather {
            cluster::gather(&spec, &opts).map_err(anyhow::Error::msg)?
        } else {
            mcmr::experiment::reproduce(&spec, &opts).map_err(anyhow::Error::msg)?
        };
        let rows: Vec<(String, mcmr::experiment::evaluate::EvalResult)> = outcomes
            .iter()
            .map(|o| (format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone()))
            .collect();
        say_raw!("{}", mcmr::experiment::report::runs_table(&rows).0);
        for o in &outcomes {
            say!("{}: {:.1} s", o.dir.display(), o.manifest.wall_time_s);
        }
        if task.is_some() {
            return Ok(());
        }
        let paper = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let comparison = opts.out.join(&paper).join(format!("{}-comparison.md", opts.scale));
        if let Ok(text) = std::fs::read_to_string(&comparison) {
            say!("\n{text}");
            say!("(written to {})", comparison.display());
        }
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct SlurmCmd {
    #[command(flatten)]
    selection: RunSelection,
    /// The `mcmr` binary the tasks run (default: this one); the nodes must reach it.
    #[arg(long)]
    mcmr: Option<PathBuf>,
    #[arg(long)]
    partition: Option<String>,
    #[arg(long)]
    account: Option<String>,
    /// Time limit per task, in Slurm's format (HH:MM:SS or D-HH:MM:SS).
    #[arg(long)]
    time: Option<String>,
    #[arg(long, default_value_t = 1)]
    cpus_per_task: u32,
    /// GPUs per task (`--gres=gpu:N`; use with `--device cuda`).
    #[arg(long, default_value_t = 0)]
    gpus: u32,
    /// Memory per task (`16G`).
    #[arg(long)]
    mem: Option<String>,
    /// At most this many tasks at once.
    #[arg(long)]
    max_parallel: Option<u32>,
    /// Submit with `sbatch`: the array, then a job that gathers the reports once every task has
    /// succeeded (`--dependency=afterok`); prints the two job ids on stdout. Default: print the
    /// script.
    #[arg(long)]
    submit: bool,
}

impl SlurmCmd {
    pub fn run(self) -> Result<()> {
        let SlurmCmd { selection, mcmr, partition, account, time, cpus_per_task, gpus, mem, max_parallel, submit } =
            self;
        let (spec, opts) = selection.options(false, false, None);
        let mcmr = match mcmr {
            Some(p) => p,
            None => std::env::current_exe().context("cannot find this mcmr binary: give `--mcmr PATH`")?,
        };
        let s = cluster::SlurmOptions {
            mcmr: mcmr.clone(),
            partition: partition.clone(),
            account: account.clone(),
            time,
            cpus_per_task,
            gpus,
            mem,
            max_parallel,
        };
        let script = cluster::slurm_script(&spec, &opts, &s).map_err(anyhow::Error::msg)?;
        // Slurm opens each task's log before the task starts: its folder must exist.
        let logs = cluster::log_dir(&opts).map_err(anyhow::Error::msg)?;
        std::fs::create_dir_all(&logs).with_context(|| format!("cannot create `{}`", logs.display()))?;
        if !submit {
            say_raw!("{script}");
            return Ok(());
        }
        let paper = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let path = logs.join(format!("{paper}-{}.sh", opts.scale));
        mcmr::io::write_atomic(&path, script.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
        let array = sbatch(&[path.display().to_string()])?;
        let mut gather = vec![std::path::absolute(&mcmr)?.display().to_string()];
        gather.extend(cluster::gather_args(&spec, &opts).map_err(anyhow::Error::msg)?);
        let mut args = vec![
            format!("--dependency=afterok:{array}"),
            format!("--job-name=mcmr-{paper}-{}-gather", opts.scale),
            format!("--output={}/gather-%j.log", logs.display()),
        ];
        args.extend(partition.map(|p| format!("--partition={p}")));
        args.extend(account.map(|a| format!("--account={a}")));
        args.push(format!("--wrap={}", cluster::shell_command(&gather)));
        let gather_job = sbatch(&args)?;
        // The ids alone on stdout (for scripts), the words on stderr.
        eprintln!(
            "submitted {}: array job {array}, gather job {gather_job} (logs in {})",
            path.display(),
            logs.display()
        );
        say!("{array} {gather_job}");
        Ok(())
    }
}

/// `sbatch --parsable ARGS`: the job id.
fn sbatch(args: &[String]) -> Result<String> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .context("cannot run `sbatch` (is Slurm installed here? without `--submit` the script is printed)")?;
    if !out.status.success() {
        anyhow::bail!("sbatch {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = text.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!("sbatch printed {:?}, not a job id", text.trim());
    }
    Ok(id)
}
