//! A reproduction as independent runs for a cluster's scheduler (issue 21, part 3): the plan as
//! JSON ([`plan_json`], `mcmr reproduce --plan`), one run of it by its index ([`run_task`],
//! `--task N`, what each task of a Slurm job array runs), the reports written once every run has
//! finished ([`gather`], `--gather`), and the Slurm job script ([`slurm_script`], `mcmr slurm`).
//!
//! The kit schedules nothing itself: Slurm places the tasks, and each task is the same command
//! a sequential `mcmr reproduce` would have run for that run, so its numbers are the same.

use super::manifest::{finished, read_manifest};
use super::run::{execute, RunOutcome, RunSpec};
use super::{plan_runs, write_summary, ReproduceOptions, Variants};
use std::path::{Path, PathBuf};

/// `p` made absolute against the current folder (a cluster task starts wherever Slurm puts it).
fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("cannot make `{}` absolute: {e}", p.display()))
}

fn utf8(p: &Path) -> Result<String, String> {
    p.to_str().map(str::to_string).ok_or_else(|| format!("the path `{}` is not UTF-8", p.display()))
}

/// The `mcmr reproduce` arguments that select the runs of `opts`, with absolute paths.
pub fn reproduce_args(spec: &Path, opts: &ReproduceOptions) -> Result<Vec<String>, String> {
    let mut a = vec!["reproduce".to_string(), utf8(&absolute(spec)?)?, "--scale".into(), opts.scale.clone()];
    match &opts.variants {
        Variants::Base => {}
        Variants::All => a.extend(["--variant".into(), "all".into()]),
        Variants::One(v) => a.extend(["--variant".into(), v.clone()]),
    }
    for e in &opts.experiments {
        a.extend(["--experiment".into(), e.clone()]);
    }
    a.extend(["--device".into(), opts.device.clone(), "--out".into(), utf8(&absolute(&opts.out)?)?]);
    if let Some(d) = &opts.data {
        a.extend(["--data".into(), utf8(&absolute(d)?)?]);
    }
    Ok(a)
}

/// The runs `mcmr reproduce` would make, as JSON: for each its task index, variant, experiment,
/// network, run folder and the command line that runs it alone.
pub fn plan_json(spec: &Path, opts: &ReproduceOptions) -> Result<serde_json::Value, String> {
    let runs = plan_runs(spec, opts)?;
    let args = reproduce_args(spec, opts)?;
    let list: Vec<serde_json::Value> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut command = vec!["mcmr".to_string()];
            command.extend(args.iter().cloned());
            command.extend(["--task".into(), i.to_string()]);
            serde_json::json!({
                "task": i,
                "variant": r.variant.as_deref().unwrap_or("base"),
                "experiment": r.config.experiment,
                "network": r.config.network,
                "dir": absolute(&r.dir).map(|d| d.display().to_string()).unwrap_or_default(),
                "command": command,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "spec": utf8(&absolute(spec)?)?,
        "scale": opts.scale,
        "device": opts.device,
        "out": utf8(&absolute(&opts.out)?)?,
        "runs": list,
    }))
}

/// Runs the run numbered `index` (from 0) of the plan and nothing else: a run already finished
/// from the same spec text is kept; one that stopped part way (a preempted or requeued task) is
/// resumed from its last checkpoint; one made from another spec or kit version is refused.
/// With `opts.overwrite` the folder is replaced whatever it holds. Writes no summary (the other
/// tasks are running): [`gather`] does.
pub fn run_task(spec: &Path, opts: &ReproduceOptions, index: usize) -> Result<RunOutcome, String> {
    let mut runs = plan_runs(spec, opts)?;
    if index >= runs.len() {
        return Err(format!(
            "task {index}: the plan of `{}` at scale `{}` has {} run(s), tasks 0 to {}",
            spec.display(),
            opts.scale,
            runs.len(),
            runs.len() - 1
        ));
    }
    let run: RunSpec = runs.swap_remove(index);
    if let Some(o) = finished(&run.dir, spec).filter(|_| !opts.overwrite) {
        if opts.progress {
            eprintln!("task {index}: {} finished earlier", o.dir.display());
        }
        return Ok(o);
    }
    let resume = run.dir.join("manifest.json").exists() && !opts.overwrite;
    if resume {
        let m = read_manifest(&run.dir)?;
        if m.status == "complete" {
            return Err(format!(
                "task {index}: `{}` holds a finished run from another spec text or kit version: `--overwrite` replaces it",
                run.dir.display()
            ));
        }
    } else if opts.overwrite && run.dir.exists() {
        std::fs::remove_dir_all(&run.dir).map_err(|e| format!("cannot replace `{}`: {e}", run.dir.display()))?;
    }
    if opts.progress {
        eprintln!("task {index}: {} {}", if resume { "resume" } else { "run" }, run.dir.display());
    }
    execute(&run, resume).map_err(|e| format!("task {index} ({}): {e}", run.dir.display()))
}

/// Reads every run of the plan from `opts.out`, where the tasks left them, and writes the
/// reports a sequential `mcmr reproduce` writes (summary, published and expected comparisons,
/// figures). Fails, naming each task, when any run is missing or unfinished.
pub fn gather(spec: &Path, opts: &ReproduceOptions) -> Result<Vec<RunOutcome>, String> {
    let runs = plan_runs(spec, opts)?;
    let mut outcomes = Vec::new();
    let mut missing = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        match finished(&r.dir, spec) {
            Some(o) => outcomes.push(o),
            None => {
                let why = match read_manifest(&r.dir) {
                    Err(_) => "no run yet".to_string(),
                    Ok(m) if m.status != "complete" => format!("status `{}`", m.status),
                    Ok(_) => "made from another spec text or kit version".to_string(),
                };
                missing.push(format!("  task {i}: {} ({why})", r.dir.display()));
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "{} of {} run(s) are not finished:\n{}\nrun those tasks again (`mcmr reproduce ... --task N` resumes a stopped run)",
            missing.len(),
            runs.len(),
            missing.join("\n")
        ));
    }
    write_summary(spec, opts, &outcomes)?;
    Ok(outcomes)
}

/// What a Slurm job array asks for, beyond the runs.
#[derive(Clone, Debug, Default)]
pub struct SlurmOptions {
    /// The `mcmr` binary the tasks run (absolute; it must be reachable from the nodes).
    pub mcmr: PathBuf,
    pub partition: Option<String>,
    pub account: Option<String>,
    /// `--time` per task, Slurm's format (`HH:MM:SS`, `D-HH:MM:SS`).
    pub time: Option<String>,
    pub cpus_per_task: u32,
    /// GPUs per task (`--gres=gpu:N`); 0: none.
    pub gpus: u32,
    /// `--mem` per task (`16G`).
    pub mem: Option<String>,
    /// At most this many tasks at once (`--array=0-N%K`).
    pub max_parallel: Option<u32>,
}

/// `s` as one shell word.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn command_line(words: &[String]) -> String {
    words.iter().map(|w| shell_word(w)).collect::<Vec<_>>().join(" ")
}

/// A value that goes into an `#SBATCH` line: one word, no newline.
fn sbatch_value(name: &str, v: &str) -> Result<String, String> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`--{name}`: expected one word without spaces, got {v:?}"));
    }
    Ok(v.to_string())
}

/// The folder the task logs go to (Slurm opens them before the task starts, so it must exist).
pub fn log_dir(opts: &ReproduceOptions) -> Result<PathBuf, String> {
    Ok(absolute(&opts.out)?.join("slurm"))
}

/// The job script of a Slurm array with one task per run of the plan; the comments list the
/// runs and the command that gathers the reports when all of them have finished.
pub fn slurm_script(spec: &Path, opts: &ReproduceOptions, s: &SlurmOptions) -> Result<String, String> {
    let runs = plan_runs(spec, opts)?;
    let paper = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mcmr = utf8(&absolute(&s.mcmr)?)?;
    let mut args = vec![mcmr.clone()];
    args.extend(reproduce_args(spec, opts)?);
    let logs = utf8(&log_dir(opts)?)?;
    let mut t = String::from("#!/bin/bash\n");
    t += &format!(
        "# {paper} at {} scale: {} run(s) as a Slurm job array, one run per task (written by `mcmr slurm`).\n",
        opts.scale,
        runs.len()
    );
    t += "# Task N runs run N of the plan (`mcmr reproduce ... --plan` lists it as JSON):\n";
    for (i, r) in runs.iter().enumerate() {
        t += &format!("#   {i:>3}  {}/{}\n", r.variant.as_deref().unwrap_or("base"), r.config.experiment);
    }
    t += "# When every task has finished, the reports (what a sequential `mcmr reproduce` writes):\n";
    t += &format!("#   {} --gather\n", command_line(&args));
    t += &format!(
        "#   {} check --runs {}   (the expected numbers)\n",
        shell_word(&mcmr),
        shell_word(&utf8(&absolute(&opts.out)?)?)
    );
    t += &format!("#SBATCH --job-name={}\n", sbatch_value("job-name", &format!("mcmr-{paper}-{}", opts.scale))?);
    let throttle = s.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    t += &format!("#SBATCH --array=0-{}{throttle}\n", runs.len() - 1);
    t += &format!("#SBATCH --output={}\n", sbatch_value("out", &format!("{logs}/%A_%a.log"))?);
    t += &format!("#SBATCH --cpus-per-task={}\n", s.cpus_per_task.max(1));
    if s.gpus > 0 {
        t += &format!("#SBATCH --gres=gpu:{}\n", s.gpus);
    }
    for (name, v) in [("partition", &s.partition), ("account", &s.account), ("time", &s.time), ("mem", &s.mem)] {
        if let Some(v) = v {
            t += &format!("#SBATCH --{name}={}\n", sbatch_value(name, v)?);
        }
    }
    t += "set -euo pipefail\n";
    t += "# One thread pool per task, as wide as its CPUs.\n";
    t += "export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n";
    t += &format!("exec {} --quiet --task \"$SLURM_ARRAY_TASK_ID\"\n", command_line(&args));
    Ok(t)
}

/// The gather command as arguments after the `mcmr` binary (for the dependent job).
pub fn gather_args(spec: &Path, opts: &ReproduceOptions) -> Result<Vec<String>, String> {
    let mut a = reproduce_args(spec, opts)?;
    a.push("--gather".into());
    Ok(a)
}

/// [`command_line`] for the CLI.
pub fn shell_command(words: &[String]) -> String {
    command_line(words)
}
