//! The experiment engine: a spec's experiments → trained models → results, reports, figures and
//! comparisons with expected and published numbers.
//!
//! * [`config`] reads an experiment section (merged onto the unnamed one, at a scale);
//! * [`batch`], [`train`] and [`evaluate`] train and score a compiled network;
//! * [`run`] owns a run folder (log, checkpoints, results, reports, figures) and [`manifest`]
//!   its `manifest.json`;
//! * [`plan`] turns a spec's experiments into runs and checks them all (`mcmr check-spec`);
//! * [`reference`] reads `reference_results/<paper>/` and runs `mcmr check`;
//! * [`bench`] times an experiment's training steps at a scale's sizes (`mcmr bench-train`);
//! * [`cluster`] splits a reproduction into tasks for a scheduler (Slurm job arrays) and
//!   gathers their runs.
//!
//! The notebook-facing entry points are [`reproduce`], [`resume`], [`evaluate_run`] and
//! [`reference::check`]: plain functions of paths and options.

pub mod batch;
pub mod bench;
pub mod cluster;
pub mod config;
pub mod evaluate;
pub mod figures;
pub mod manifest;
pub mod plan;
mod progress;
pub mod published;
pub mod reference;
pub mod report;
pub mod run;
pub mod train;

use evaluate::EvalResult;
use plan::with_data;
pub use plan::{check_runs, plan_runs};
use run::{execute, read_manifest, RunOutcome, RunSpec};
use std::path::{Path, PathBuf};

/// Which variants to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Variants {
    /// The spec as written.
    Base,
    One(String),
    /// The spec as written and every variant.
    All,
}

/// Options of `mcmr reproduce`.
#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    pub scale: String,
    pub variants: Variants,
    /// Only these experiments (all when empty).
    pub experiments: Vec<String>,
    pub device: String,
    /// Runs go to `<out>/<paper>/<variant>/<scale>/<experiment>/`.
    pub out: PathBuf,
    /// Replace the data source's path (a folder of NIfTI volumes for phantom specs).
    pub data: Option<PathBuf>,
    /// Replace existing run folders instead of refusing.
    pub overwrite: bool,
    pub progress: bool,
    /// The `out` of an earlier reproduction: a run finished there by this kit version from the
    /// same spec text is taken as it is instead of being trained again (see [`run::finished`]).
    pub reuse: Option<PathBuf>,
}

impl Default for ReproduceOptions {
    fn default() -> Self {
        ReproduceOptions {
            scale: "smoke".into(),
            variants: Variants::Base,
            experiments: Vec::new(),
            device: "cpu".into(),
            out: PathBuf::from("runs"),
            data: None,
            overwrite: false,
            progress: false,
            reuse: None,
        }
    }
}

/// Trains and evaluates every run the spec declares at the scale; writes the run folders and a
/// summary table `<out>/<paper>/<scale>-summary.{md,tex}`.
pub fn reproduce(spec_path: &Path, opts: &ReproduceOptions) -> Result<Vec<RunOutcome>, String> {
    let runs = plan_runs(spec_path, opts)?;
    let reused: Vec<Option<RunOutcome>> = runs
        .iter()
        .map(|r| {
            let dir = opts.reuse.as_ref()?.join(r.dir.strip_prefix(&opts.out).ok()?);
            run::finished(&dir, spec_path)
        })
        .collect();
    for (r, _) in runs.iter().zip(&reused).filter(|(_, u)| u.is_none()) {
        if r.dir.join("manifest.json").exists() && !opts.overwrite {
            return Err(format!(
                "`{}` already holds a run: `mcmr resume {0}` continues it, `--overwrite` replaces it",
                r.dir.display()
            ));
        }
    }
    let mut outcomes = Vec::new();
    for (r, reused) in runs.iter().zip(reused) {
        if let Some(o) = reused {
            if opts.progress {
                eprintln!("run {} (finished earlier)", o.dir.display());
            }
            outcomes.push(o);
            continue;
        }
        if opts.overwrite && r.dir.exists() {
            std::fs::remove_dir_all(&r.dir).map_err(|e| format!("cannot replace `{}`: {e}", r.dir.display()))?;
        }
        if opts.progress {
            eprintln!("run {}", r.dir.display());
        }
        let o = execute(r, false)?;
        if opts.progress {
            eprintln!("{}", one_line(&o));
        }
        outcomes.push(o);
    }
    write_summary(spec_path, opts, &outcomes)?;
    Ok(outcomes)
}

/// A finished run in one line: its name, the scores and how long it took.
fn one_line(o: &RunOutcome) -> String {
    let m = |k: &str| o.results.mean(k).map(|v| format!("{v:.4}")).unwrap_or("—".into());
    format!(
        "done {}/{}: PSNR {} SSIM {} NMSE {} ({}, {:.1} s)",
        o.manifest.variant,
        o.manifest.experiment,
        m("psnr"),
        m("ssim"),
        m("nmse"),
        o.results.protocol,
        o.manifest.wall_time_s
    )
}

/// The data the runs read, in words (from their manifests).
fn data_words(outcomes: &[RunOutcome]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for o in outcomes {
        let src = &o.manifest.data["source"];
        let words = match src["kind"].as_str() {
            Some("phantom") => "the embedded phantom (not the paper's data, so not the paper's numbers)".to_string(),
            Some("folder") => format!(
                "the folder `{}` ({} layout)",
                src["path"].as_str().unwrap_or("?"),
                src["layout"].as_str().unwrap_or("detected")
            ),
            Some("fastmri") => format!("fastMRI data in `{}`", src["path"].as_str().unwrap_or("?")),
            Some("kspace" | "cc359") => {
                format!(
                    "measured k-space volumes (CC359 .npy, fastMRI .h5) in `{}`",
                    src["path"].as_str().unwrap_or("?")
                )
            }
            _ => "the data its manifest names".to_string(),
        };
        if !seen.contains(&words) {
            seen.push(words);
        }
    }
    match seen.len() {
        0 => "no data".into(),
        1 => seen.remove(0),
        _ => format!("the data each manifest names: {}", seen.join("; ")),
    }
}

fn write_summary(spec_path: &Path, opts: &ReproduceOptions, outcomes: &[RunOutcome]) -> Result<(), String> {
    let paper = spec_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let rows: Vec<(String, EvalResult)> = outcomes
        .iter()
        .map(|o| (format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone()))
        .collect();
    let (md, tex) = report::runs_table(&rows);
    let header = format!(
        "# {paper}: reproduced at {} scale\n\nThese numbers come from the kit's own runs on {}.\n\n",
        opts.scale,
        data_words(outcomes)
    );
    let dir = opts.out.join(&paper);
    let io = |p: PathBuf, s: String| crate::io::write_atomic(&p, s.as_bytes()).map_err(|e| e.to_string());
    io(dir.join(format!("{}-summary.md", opts.scale)), header + &md)?;
    io(dir.join(format!("{}-summary.tex", opts.scale)), tex)?;
    // Beside the published tables and the expected numbers of reference_results/<paper>/, when
    // the repository has them.
    let published = reference_file(spec_path, &paper, "published.json");
    if let Some(path) = published {
        let p = published::read_published(&path)?;
        let runs: Vec<published::RunCells> =
            outcomes.iter().map(|o| published::RunCells::of(&o.manifest, &o.results)).collect();
        // Every distinct data source of the runs (a paper's tables may use several datasets).
        let mut described: Vec<String> = Vec::new();
        for o in outcomes {
            let d = describe_data(&o.manifest.data);
            if !described.contains(&d) {
                described.push(d);
            }
        }
        let data = described.join("; ");
        io(
            dir.join(format!("{}-published.md", opts.scale)),
            report::published_comparison_markdown(&p, &runs, &opts.scale, &data),
        )?;
        let figures = dir.join("figures");
        std::fs::create_dir_all(&figures).map_err(|e| format!("cannot create `{}`: {e}", figures.display()))?;
        for (table, t) in &p.tables {
            let metrics: std::collections::BTreeSet<&String> =
                t.rows.iter().flat_map(|r| r.cells.values().flat_map(|m| m.keys())).collect();
            for metric in metrics {
                published::dot_chart(
                    &figures.join(format!("{}-{table}-{metric}.png", opts.scale)),
                    &p,
                    table,
                    metric,
                    &runs,
                )?;
            }
        }
    }
    let references = reference_file(spec_path, &paper, &reference::expected_file(&opts.scale));
    if let Some(path) = references {
        let expected = reference::read_expected(&path)?;
        let results = outcomes
            .iter()
            .filter_map(|o| {
                let variant = (o.manifest.variant != "base").then(|| o.manifest.variant.clone());
                expected
                    .runs
                    .iter()
                    .find(|(_, r)| {
                        r.experiment == o.manifest.experiment && r.variant == variant && expected.scale == opts.scale
                    })
                    .map(|(id, _)| (id.clone(), o.results.clone()))
            })
            .collect();
        io(
            dir.join(format!("{}-comparison.md", opts.scale)),
            report::expected_comparison_markdown(&expected, &results),
        )?;
    }
    Ok(())
}

/// `reference_results/<paper>/<name>` in the nearest ancestor folder of the spec that has it.
fn reference_file(spec_path: &Path, paper: &str, name: &str) -> Option<PathBuf> {
    spec_path.ancestors().map(|a| a.join("reference_results").join(paper).join(name)).find(|p| p.exists())
}

/// A manifest's data in words: "the kit's brain phantom (10 subjects x 8 slices, seed 0), t2 from
/// t1 at 32x32".
fn describe_data(data: &serde_json::Value) -> String {
    let src = &data["source"];
    let size = match &data["size"] {
        serde_json::Value::Array(a) if a.len() == 2 => format!(" at {}x{}", a[0], a[1]),
        _ => String::new(),
    };
    let what = match src["kind"].as_str() {
        Some("phantom") => format!(
            "the kit's {} phantom ({} subjects x {} slices, seed {})",
            src["anatomy"].as_str().unwrap_or("?"),
            src["subjects"],
            src["slices"],
            src["seed"]
        ),
        _ => src.to_string(),
    };
    format!(
        "{what}, {} from {}{size}",
        data["target"].as_str().unwrap_or("?"),
        data["reference"].as_str().unwrap_or("?")
    )
}

/// The named activations of a finished run's model on its first evaluated slice (see
/// [`run::activations`]). `spec` is the spec the run was made from, as the caller reaches it
/// (the manifest's path is relative to where the run was started).
pub fn run_activations(dir: &Path, spec: &Path, names: &[&str]) -> Result<Vec<run::Activation>, String> {
    let mut r = run_of_spec(dir, Some(spec))?;
    r.device = "cpu".into();
    run::activations(&r, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
}

/// The cost of experiment `experiment`'s network (at `opts.scale`, under `opts.variants`' one
/// variant, with network parameter `overrides` and at `size` when given): see [`run::flops`].
pub fn experiment_flops(
    spec: &Path,
    opts: &ReproduceOptions,
    experiment: &str,
    overrides: &[(String, mcmr_dsl::check::Value)],
    size: Option<usize>,
) -> Result<(crate::model::flops::FlopReport, [usize; 2], usize), String> {
    let opts = ReproduceOptions { experiments: vec![experiment.to_string()], ..opts.clone() };
    let mut runs = plan_runs(spec, &opts)?;
    let mut r = runs
        .pop()
        .ok_or_else(|| format!("`{}` has no experiment `{experiment}` at scale {}", spec.display(), opts.scale))?;
    for (k, v) in overrides {
        r.config.params.retain(|(key, _)| key != k);
        r.config.params.push((k.clone(), v.clone()));
    }
    run::flops(&r, size)
}

/// The PSNR of each named output of a finished run on every slice it evaluates (see
/// [`run::output_psnr`]): how each stage of a staged network scores.
pub fn run_output_psnr(dir: &Path, spec: &Path, names: &[&str]) -> Result<Vec<Vec<f64>>, String> {
    output_psnr_of(dir, Some(spec), names)
}

/// As [`run_output_psnr`], under the spec the run's manifest names (`mcmr evaluate --outputs`).
pub fn run_output_psnr_own_spec(dir: &Path, names: &[&str]) -> Result<Vec<Vec<f64>>, String> {
    output_psnr_of(dir, None, names)
}

fn output_psnr_of(dir: &Path, spec: Option<&Path>, names: &[&str]) -> Result<Vec<Vec<f64>>, String> {
    let mut r = run_of_spec(dir, spec)?;
    r.device = "cpu".into();
    run::output_psnr(&r, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
}

/// The run of an existing folder, as its manifest describes it.
fn run_of(dir: &Path) -> Result<RunSpec, String> {
    run_of_spec(dir, None)
}

fn run_of_spec(dir: &Path, spec: Option<&Path>) -> Result<RunSpec, String> {
    let m = read_manifest(dir)?;
    let opts = ReproduceOptions {
        scale: m.scale.clone(),
        variants: if m.variant == "base" { Variants::Base } else { Variants::One(m.variant.clone()) },
        experiments: vec![m.experiment.clone()],
        device: m.device.clone(),
        out: PathBuf::from("."),
        data: m.data_override.as_ref().map(PathBuf::from),
        overwrite: false,
        progress: false,
        reuse: None,
    };
    let mut runs = plan_runs(spec.unwrap_or(Path::new(&m.spec)), &opts)?;
    let mut r = runs.pop().ok_or("the manifest names no run")?;
    r.dir = dir.to_path_buf();
    Ok(r)
}

/// Continues a run from its last checkpoint (after a crash or kill) and finishes it.
pub fn resume(dir: &Path, progress: bool) -> Result<RunOutcome, String> {
    let mut r = run_of(dir)?;
    r.progress = progress;
    execute(&r, true)
}

/// Evaluates a finished run's model again (on `data` instead of its own data when given) and,
/// with `figures`, draws the run's figures for that evaluation into that folder.
pub fn evaluate_run(dir: &Path, data: Option<&Path>, figures: Option<&Path>) -> Result<EvalResult, String> {
    let r = finished_run(dir, None, data)?;
    run::evaluate_saved(&r, figures)
}

/// Scores a finished run's model (built from `spec`, the spec text it was made from, wherever it
/// lies now) on its own test data under another metric protocol (IMA's tables use an SSIM data
/// range of 2; the same predictions at range 1 beside them).
pub fn evaluate_run_with(dir: &Path, spec: &Path, protocol: crate::protocols::Protocol) -> Result<EvalResult, String> {
    let mut r = finished_run(dir, Some(spec), None)?;
    r.config.protocol = protocol;
    run::evaluate_saved(&r, None)
}

/// The run of a complete run folder (from `spec` instead of the manifest's spec path when given),
/// with its data moved to `data` when given.
fn finished_run(dir: &Path, spec: Option<&Path>, data: Option<&Path>) -> Result<RunSpec, String> {
    let mut r = run_of_spec(dir, spec)?;
    let m = read_manifest(dir)?;
    if m.status != "complete" {
        return Err(format!("`{}` is not complete (status `{}`): `mcmr resume` it first", dir.display(), m.status));
    }
    if let Some(p) = data {
        for d in [&mut r.config.train_data, &mut r.config.val_data, &mut r.config.test_data] {
            with_data(d, p);
        }
    }
    Ok(r)
}
