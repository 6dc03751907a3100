//! `mcmr`: the mcmr-kit command-line tool.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use mcmr::io::volume::read_volume;
use mcmr::masks::{generate, MaskFamily, MaskParams};
use mcmr::protocols::{evaluate, Protocol};
use mcmr::rng::Seed;
use std::path::PathBuf;

/// Prints to stdout; a closed pipe (`mcmr ... | head`) ends the program quietly instead of
/// panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe { std::process::exit(0); }
        }
    }};
}

macro_rules! say_raw {
    ($($t:tt)*) => {{
        use std::io::Write;
        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe { std::process::exit(0); }
        }
    }};
}

#[derive(Parser)]
#[command(name = "mcmr", version, about = "Reproduce multi-contrast MRI reconstruction papers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct MaskArgs {
    /// Acceleration factor (> 1).
    #[arg(long, default_value_t = 4.0)]
    acceleration: f64,
    /// Fraction of fully sampled centre lines (1D) or points (2D); the family's default if omitted.
    #[arg(long)]
    center_fraction: Option<f64>,
    /// Integer seed (numpy `RandomState(N)`).
    #[arg(long, conflicts_with = "seed_name")]
    seed: Option<u32>,
    /// fastMRI's per-file seed: the character codes of NAME (e.g. `file1000001.h5`).
    #[arg(long)]
    seed_name: Option<String>,
}

impl MaskArgs {
    fn params(&self, family: &str, shape: [usize; 2]) -> Result<MaskParams> {
        let family = MaskFamily::parse(family)?;
        let seed = match (&self.seed, &self.seed_name) {
            (_, Some(name)) => Seed::from_name(name),
            (Some(n), None) => Seed::Int(*n),
            (None, None) => Seed::Int(0),
        };
        Ok(MaskParams { family, shape, acceleration: self.acceleration, center_fraction: self.center_fraction, seed })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Make an undersampling mask and print or save it.
    Mask {
        /// random, equispaced, equispaced_fraction, magic, magic_fraction, unifs_equispace,
        /// gaussian_1d, center_square, random_2d, gaussian_2d, radial, spiral, poisson_disc
        family: String,
        /// k-space grid as H,W
        #[arg(long, value_parser = parse_shape)]
        shape: [usize; 2],
        #[command(flatten)]
        mask: MaskArgs,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
        /// Also write the mask as a PNG.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Score a prediction against a ground truth under a named protocol.
    Metrics {
        /// Ground truth: .npy (2D or [slices, H, W]) or NIfTI.
        #[arg(long)]
        gt: PathBuf,
        /// Prediction, same shape as the ground truth.
        #[arg(long)]
        pred: PathBuf,
        /// fastmri-volume, slice-mean, fsmnet-brats-uint8 or unifs-unit
        #[arg(long)]
        protocol: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a spec: diagnostics, then parameter counts.
    CheckSpec {
        file: PathBuf,
        /// A variant section of the spec whose settings override network parameters.
        #[arg(long)]
        variant: Option<String>,
        /// Network parameter override, KEY=VALUE (repeatable).
        #[arg(long = "param", value_parser = parse_kv)]
        params: Vec<(String, String)>,
        /// The network to check (default: the last one in the file).
        #[arg(long)]
        network: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Format a spec in place (or check that it is formatted).
    Fmt {
        files: Vec<PathBuf>,
        /// Do not write; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Compare a compiled spec with the official code's tensors in a fixture folder.
    Parity {
        spec: PathBuf,
        #[arg(long)]
        fixture: PathBuf,
        #[arg(long)]
        variant: Option<String>,
        #[arg(long = "param", value_parser = parse_kv)]
        params: Vec<(String, String)>,
        #[arg(long)]
        network: Option<String>,
        /// Run our side in float32, the training precision, instead of float64 (the default:
        /// fixtures are conditioned on PyTorch's float32 agreeing with its float64, so float64
        /// compares the spec's arithmetic without adding our own float32 rounding).
        #[arg(long)]
        float32: bool,
        /// Float64, the default (accepted for older scripts).
        #[arg(long, hide = true, conflicts_with = "float32")]
        float64: bool,
        #[arg(long)]
        json: bool,
    },
    /// Make or inspect datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Notebook sources (`notebooks/*.rs`) and executed notebooks.
    #[command(subcommand)]
    Notebook(NotebookCommand),
    /// Train and evaluate what a spec declares; write run folders and print the table.
    Reproduce {
        spec: PathBuf,
        /// smoke (CPU minutes, phantom data) or paper (the paper's settings and data).
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
        /// Replace existing run folders.
        #[arg(long)]
        overwrite: bool,
        /// Take the runs finished under this earlier `--out` (by this kit version, from the same
        /// spec text) as they are; train only the others.
        #[arg(long)]
        reuse: Option<PathBuf>,
    },
    /// Continue a run from its last checkpoint and finish it.
    Resume { run_dir: PathBuf },
    /// Evaluate a finished run's model again (optionally on other data).
    Evaluate {
        run_dir: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also draw the run's figures (reconstruction, error, mask, k-space, training) here.
        #[arg(long)]
        figures: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Compare a run with the expected and published numbers of reference_results.
    Compare {
        run_dir: PathBuf,
        /// The reference_results folder.
        #[arg(long, default_value = "reference_results")]
        references: PathBuf,
    },
    /// Run the smoke reproductions reference_results expects and check every cell and claim.
    Check {
        /// Only this paper (a folder of reference_results).
        #[arg(long)]
        paper: Option<String>,
        #[arg(long, default_value = "reference_results")]
        references: PathBuf,
        /// Where the check's runs go (replaced on every check).
        #[arg(long, default_value = "runs/check")]
        out: PathBuf,
        /// Score the finished runs of an earlier `mcmr reproduce --out DIR` instead of rerunning
        /// them (those made by this kit version from the same spec text; others are rerun).
        #[arg(long)]
        runs: Option<PathBuf>,
    },
    /// Zero-filled reconstruction of one slice (embedded phantom or --data), scored under every protocol.
    ZeroFilled {
        /// Mask family.
        #[arg(long, default_value = "random")]
        family: String,
        /// Phantom size (square); ignored with --data.
        #[arg(long, default_value_t = 240)]
        size: usize,
        /// brain or knee phantom; ignored with --data.
        #[arg(long, default_value = "brain")]
        phantom: String,
        /// A dataset folder (BraTS, IXI, HCP, knee, fastMRI .h5) or a fastMRI pair CSV.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Layout of --data (detected when omitted).
        #[arg(long)]
        layout: Option<String>,
        /// Target contrast of --data (default: the layout's usual one).
        #[arg(long)]
        target: Option<String>,
        /// Reference contrast of --data.
        #[arg(long)]
        reference: Option<String>,
        #[command(flatten)]
        mask: MaskArgs,
        /// Output folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NotebookCommand {
    /// Write `NAME.ipynb` beside each percent-format source `NAME.rs` (outputs empty).
    Build {
        /// Sources, or folders whose `*.rs` files are sources.
        paths: Vec<PathBuf>,
        /// Write nothing; fail when an `.ipynb` differs from its source.
        #[arg(long)]
        check: bool,
    },
    /// Check an executed notebook and the verdict it wrote; fail on any failed cell or check.
    Verify {
        executed: PathBuf,
        /// The notebook's verdict.json.
        #[arg(long)]
        verdict: PathBuf,
        /// The name the verdict must carry (default: the executed file's stem).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Write a phantom dataset as NIfTI (brain: BraTS layout; knee: <id>/<id>_pd.nii.gz, _pdfs).
    Phantom {
        #[arg(long)]
        out: PathBuf,
        /// brain or knee
        #[arg(long, default_value = "brain")]
        kind: String,
        #[arg(long, default_value_t = 4)]
        subjects: usize,
        #[arg(long, default_value_t = 240)]
        size: usize,
        #[arg(long, default_value_t = 16)]
        slices: usize,
        #[arg(long, default_value_t = 0)]
        seed: u32,
        /// Complex Gaussian noise, standard deviation relative to each volume's maximum.
        #[arg(long, default_value_t = 0.0)]
        noise: f64,
        /// Leave out the tumour (brains).
        #[arg(long)]
        no_lesion: bool,
    },
    /// Report the subjects, contrasts and problems of a dataset folder.
    Inspect {
        path: PathBuf,
        /// brats, knee, ixi or hcp (detected when omitted)
        #[arg(long)]
        layout: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn parse_kv(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// `params` with the fixture's configuration added: every `constructor_args` entry of the
/// fixture's `config.json` that names a parameter of a network in the spec, unless `--param`
/// gives it. The weights must match the fixture whatever the variant says, so a fixture at
/// another width needs no flags. Says what it took.
fn with_fixture_configuration(
    spec: &std::path::Path,
    fixture: &std::path::Path,
    mut params: Vec<(String, String)>,
) -> Result<Vec<(String, String)>> {
    let path = fixture.join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(params) };
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not valid JSON", path.display()))?;
    let Some(args) = config.get("constructor_args").and_then(|a| a.as_object()) else { return Ok(params) };
    let loaded = mcmr::spec::read_spec(spec).map_err(anyhow::Error::msg)?;
    let declared = |k: &str| {
        loaded
            .spec
            .defs
            .iter()
            .any(|d| d.kind == mcmr_dsl::ast::DefKind::Network && d.params.iter().any(|p| p.name.name == k))
    };
    let mut taken = Vec::new();
    for (k, v) in args {
        let value = match v {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        if declared(k) && !params.iter().any(|(p, _)| p == k) {
            taken.push(format!("{k}={value}"));
            params.push((k.clone(), value));
        }
    }
    if !taken.is_empty() {
        // On stderr: `--json` keeps stdout for the report.
        eprintln!("configuration from {}: {}", path.display(), taken.join(", "));
    }
    Ok(params)
}

fn load_spec(
    file: &std::path::Path,
    network: Option<&str>,
    variant: Option<&str>,
    params: &[(String, String)],
) -> Result<(mcmr_dsl::ast::Spec, mcmr_dsl::check::Checked, mcmr_dsl::Loaded)> {
    let overrides: Vec<(String, mcmr_dsl::check::Value)> =
        params.iter().map(|(k, v)| (k.clone(), mcmr_dsl::check::Value::parse_literal(v))).collect();
    mcmr::spec::load_spec(file, network, variant, &overrides).map_err(|e| anyhow::anyhow!(e))
}

fn parse_shape(s: &str) -> std::result::Result<[usize; 2], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [h, w] => {
            let h: usize = h.parse().map_err(|_| format!("`{h}` is not a row count: expected H,W such as 320,320"))?;
            let w: usize =
                w.parse().map_err(|_| format!("`{w}` is not a column count: expected H,W such as 320,320"))?;
            Ok([h, w])
        }
        _ => Err(format!("`{s}` is not a shape: expected H,W such as 320,320")),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Mask { family, shape, mask, json, png } => {
            let params = mask.params(&family, shape)?;
            let m = generate(&params)?;
            if let Some(path) = png {
                mcmr::io::png::write_gray8(&path, m.width, m.height, &m.to_pixels())?;
            }
            let mut v = serde_json::json!({
                "family": params.family.name(),
                "shape": [m.height, m.width],
                "seed": params.seed.describe(),
                "achieved_acceleration": m.achieved_acceleration(),
                "mask_hash": m.hash_hex(),
            });
            if let (Some(cols), Some(n_low)) = (&m.sampled_columns, m.num_low_frequencies) {
                v["sampled_columns"] = serde_json::json!(cols);
                v["num_low_frequencies"] = serde_json::json!(n_low);
            } else {
                v["sampled_fraction"] = serde_json::json!(m.sampled_fraction());
            }
            if json {
                say!("{}", serde_json::to_string(&v)?);
            } else {
                say!(
                    "{} {}x{}: {} of {} points sampled, achieved acceleration {:.4}x (target {}x)",
                    params.family.name(),
                    m.height,
                    m.width,
                    m.sampled_count(),
                    m.height * m.width,
                    m.achieved_acceleration(),
                    params.acceleration
                );
            }
        }
        Command::Metrics { gt, pred, protocol, json } => {
            let protocol = Protocol::parse(&protocol)?;
            let g = read_volume(&gt)?;
            let p = read_volume(&pred)?;
            let r = evaluate(protocol, &g, &p)
                .with_context(|| format!("comparing `{}` with `{}`", pred.display(), gt.display()))?;
            if json {
                let v = serde_json::json!({
                    "protocol": r.protocol, "psnr": r.psnr, "ssim": r.ssim, "nmse": r.nmse,
                    "nrmse": r.nrmse, "mse": r.mse, "slices": r.per_slice.len(),
                });
                say!("{}", serde_json::to_string(&v)?);
            } else {
                say!("{}: PSNR {:.4} dB, SSIM {:.5}, NMSE {:.6}", r.protocol, r.psnr, r.ssim, r.nmse);
            }
        }
        Command::CheckSpec { file, variant, params, network, json } => {
            let (_, checked, loaded) = load_spec(&file, network.as_deref(), variant.as_deref(), &params)?;
            let g = &checked.graph;
            // Without --variant, every variant is checked too (an ablation row must not rot).
            let mut variants = std::collections::BTreeMap::new();
            if variant.is_none() {
                let names = loaded.spec.sections.iter().filter(|s| s.kind.name == "variant");
                for name in names.filter_map(|s| s.name.as_ref()).map(|n| n.name.clone()) {
                    let (_, c, _) = load_spec(&file, network.as_deref(), Some(&name), &params)
                        .map_err(|e| anyhow::anyhow!("with --variant {name}:\n{e}"))?;
                    variants.insert(name, c.graph.parameter_count());
                }
            }
            if json {
                let v = serde_json::json!({
                    "ok": true,
                    "network": g.name,
                    "parameters": g.parameter_count(),
                    "frozen": g.frozen_count(),
                    "blocks": g.block_counts(),
                    "variants": variants,
                    "warnings": checked.warnings.iter().map(|w| w.clone().locate(&loaded.files[w.file].text)).collect::<Vec<_>>(),
                });
                say!("{}", serde_json::to_string(&v)?);
            } else {
                for w in &checked.warnings {
                    eprint!("{}", loaded.render(w));
                }
                say!("{}: network `{}` ok, {} parameters", file.display(), g.name, g.parameter_count());
                for (block, n) in g.block_counts() {
                    say!("  {block}: {n}");
                }
                for (name, n) in &variants {
                    say!("variant `{name}` ok, {n} parameters");
                }
            }
        }
        Command::Fmt { files, check } => {
            anyhow::ensure!(!files.is_empty(), "give at least one spec file");
            let mut unformatted = Vec::new();
            for file in &files {
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
                let spec = mcmr_dsl::parse(&text)
                    .map_err(|d| anyhow::anyhow!("{}", d.render(&text, &file.display().to_string())))?;
                let formatted = mcmr_dsl::fmt::format(&spec, &text);
                if formatted != text {
                    if check {
                        unformatted.push(file.display().to_string());
                    } else {
                        mcmr::io::write_atomic(file, formatted.as_bytes())?;
                        say!("formatted {}", file.display());
                    }
                }
            }
            if !unformatted.is_empty() {
                eprintln!("not formatted (run `mcmr fmt` on them): {}", unformatted.join(", "));
                std::process::exit(1);
            }
        }
        Command::Parity { spec, fixture, variant, params, network, float32, float64: _, json } => {
            let params = with_fixture_configuration(&spec, &fixture, params)?;
            let (ast, checked, _) = load_spec(&spec, network.as_deref(), variant.as_deref(), &params)?;
            let device = burn::tensor::Device::flex().autodiff();
            let model = mcmr::model::CompiledModel::new(checked.graph, 0, &device);
            let report = mcmr::parity::run(&ast, model, &fixture, mcmr::parity::Tolerances::default(), !float32)
                .map_err(anyhow::Error::msg)?;
            if json {
                say!("{}", serde_json::to_string(&report)?);
            } else {
                let show = |title: &str, m: &std::collections::BTreeMap<String, mcmr::parity::Diff>| {
                    let worst = m.iter().max_by(|a, b| a.1.rel.total_cmp(&b.1.rel));
                    if let Some((k, d)) = worst {
                        say!(
                            "{title}: {} compared, worst rel {:.3e} (max abs {:.3e}) at `{k}`",
                            m.len(),
                            d.rel,
                            d.max_abs
                        );
                    }
                };
                say!(
                    "precision: {} on our side (PyTorch's tensors are float32){}",
                    report.precision,
                    if float32 { "" } else { "; --float32 runs the training precision" }
                );
                show("outputs", &report.outputs);
                show("activations", &report.activations);
                show("grads", &report.grads);
                if let Some(g) = report.grads_global_rel_l2 {
                    say!("grads_global_rel_l2: {g:.3e}");
                }
                let worst_step = report.step.iter().map(|(_, d)| d.max_abs).fold(0.0, f64::max);
                if !report.step.is_empty() && report.tolerances.step_fraction.is_none() {
                    say!(
                        "step: {} tensors, worst max abs {worst_step:.3e}; {} entries with |official grad| < {:e} differ by up to {:.3e}",
                        report.step.len(),
                        report.step_noise_entries,
                        mcmr::parity::NOISE_GRAD,
                        report.step_noise_max_abs
                    );
                }
                if let (Some(f), Some(want)) = (report.step_fraction_within, report.tolerances.step_fraction) {
                    say!(
                        "step: {:.4}% of entries within {:e} (tolerance: at least {:.4}%, and all within {:e})",
                        100.0 * f,
                        report.tolerances.step_abs,
                        100.0 * want,
                        report.tolerances.step_max_abs.unwrap_or(f64::INFINITY)
                    );
                    say!(
                        "step: worst max abs {worst_step:.3e}; of the {} entries outside {:e}, {} have a clipped official gradient below {:e}, where the first step lr·g/(|g| + eps) turns gradient rounding into a difference",
                        report.step_outside,
                        report.tolerances.step_abs,
                        report.step_outside_small_grad,
                        mcmr::parity::NOISE_GRAD
                    );
                }
                for n in &report.notes {
                    say!("note: {n}");
                }
                say!("{}", if report.pass { "PASS" } else { "FAIL" });
            }
            if !report.pass {
                std::process::exit(1);
            }
        }
        Command::Reproduce { spec, scale, variant, experiments, device, out, data, overwrite, reuse } => {
            use mcmr::experiment::{reproduce, ReproduceOptions, Variants};
            let opts = ReproduceOptions {
                scale,
                variants: match variant.as_deref() {
                    None => Variants::Base,
                    Some("all") => Variants::All,
                    Some(v) => Variants::One(v.to_string()),
                },
                experiments,
                device,
                out,
                data,
                overwrite,
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
                reuse,
            };
            let outcomes = reproduce(&spec, &opts).map_err(anyhow::Error::msg)?;
            let rows: Vec<(String, mcmr::experiment::evaluate::EvalResult)> = outcomes
                .iter()
                .map(|o| (format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone()))
                .collect();
            say_raw!("{}", mcmr::experiment::report::runs_table(&rows).0);
            for o in &outcomes {
                say!("{}: {:.1} s", o.dir.display(), o.manifest.wall_time_s);
            }
            let paper = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let comparison = opts.out.join(&paper).join(format!("{}-comparison.md", opts.scale));
            if let Ok(text) = std::fs::read_to_string(&comparison) {
                say!("\n{text}");
                say!("(written to {})", comparison.display());
            }
        }
        Command::Resume { run_dir } => {
            let o = mcmr::experiment::resume(&run_dir, std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .map_err(anyhow::Error::msg)?;
            let rows = vec![(format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone())];
            say_raw!("{}", mcmr::experiment::report::runs_table(&rows).0);
        }
        Command::Evaluate { run_dir, data, figures, json } => {
            let r = mcmr::experiment::evaluate_run(&run_dir, data.as_deref(), figures.as_deref())
                .map_err(anyhow::Error::msg)?;
            if json {
                say!("{}", serde_json::to_string(&r)?);
            } else {
                say_raw!("{}", mcmr::experiment::report::runs_table(&[(run_dir.display().to_string(), r)]).0);
            }
        }
        Command::Compare { run_dir, references } => {
            let text = mcmr::experiment::reference::compare_run(&run_dir, &references).map_err(anyhow::Error::msg)?;
            say_raw!("{text}");
        }
        Command::Check { paper, references, out, runs } => {
            let report =
                mcmr::experiment::reference::check(&references, paper.as_deref(), &out, runs.as_deref(), |line| {
                    say!("{line}")
                })
                .map_err(anyhow::Error::msg)?;
            say!("{} passed, {} failed", report.passed, report.failed);
            if report.failed > 0 {
                std::process::exit(1);
            }
        }
        Command::Notebook(NotebookCommand::Build { paths, check }) => notebook_build(&paths, check)?,
        Command::Notebook(NotebookCommand::Verify { executed, verdict, name }) => {
            let text =
                std::fs::read_to_string(&executed).with_context(|| format!("cannot read `{}`", executed.display()))?;
            let v = std::fs::read_to_string(&verdict).ok();
            let name = name
                .unwrap_or_else(|| executed.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
            let problems = mcmr::notebook::ipynb::verify(&text, v.as_deref(), &name);
            for p in &problems {
                say!("FAIL {name}: {p}");
            }
            if !problems.is_empty() {
                anyhow::bail!("notebook `{name}` failed ({} problem(s))", problems.len());
            }
            say!("PASS {name}: every cell ran, no panic or error, verdict passed");
        }
        Command::Data(DataCommand::Phantom { out, kind, subjects, size, slices, seed, noise, no_lesion }) => {
            use mcmr::data::phantom::{write_dataset, Kind, PhantomOptions};
            let kind = Kind::parse(&kind).map_err(anyhow::Error::msg)?;
            anyhow::ensure!((32..=1024).contains(&size), "--size {size}: expected 32 to 1024");
            anyhow::ensure!(subjects >= 1 && slices >= 1, "--subjects and --slices must be at least 1");
            anyhow::ensure!((0.0..1.0).contains(&noise), "--noise {noise}: expected a fraction in [0, 1)");
            let opts = PhantomOptions { noise, lesion: !no_lesion, ..Default::default() };
            let ids = write_dataset(&out, kind, subjects, size, slices, seed, &opts)?;
            say!("wrote {} subjects ({}) to {}", ids.len(), ids.join(", "), out.display());
        }
        Command::Data(DataCommand::Inspect { path, layout, json }) => {
            use mcmr::data::layout::{inspect, Layout};
            let layout = layout.map(|l| Layout::parse(&l)).transpose().map_err(anyhow::Error::msg)?;
            let r = inspect(&path, layout);
            if json {
                say!("{}", serde_json::to_string(&r)?);
            } else {
                say!("{}: layout {}, {} subjects", path.display(), r.layout, r.subjects.len());
                for s in &r.subjects {
                    let c: Vec<String> =
                        s.contrasts.iter().map(|(k, d)| format!("{k} {}x{}x{}", d[0], d[1], d[2])).collect();
                    say!("  {}: {}", s.id, c.join(", "));
                    for p in &s.problems {
                        say!("    problem: {p}");
                    }
                }
                for p in &r.problems {
                    say!("problem: {p}");
                }
                let bad = r.subjects.len() - r.good_subjects().len();
                say!("{} usable subjects, {bad} with problems", r.good_subjects().len());
            }
        }
        Command::ZeroFilled { family, size, phantom, data, layout, target, reference, mask, out } => {
            use mcmr::report::ReportData;
            let params = mask.params(&family, [size, size])?;
            let data = match data {
                Some(path) => {
                    let layout = layout
                        .map(|l| mcmr::data::layout::Layout::parse(&l))
                        .transpose()
                        .map_err(anyhow::Error::msg)?;
                    ReportData::Folder { path, layout, target, reference }
                }
                None => {
                    anyhow::ensure!((32..=1024).contains(&size), "--size {size}: expected 32 to 1024");
                    let kind = mcmr::data::phantom::Kind::parse(&phantom).map_err(anyhow::Error::msg)?;
                    ReportData::Phantom { kind, size, seed: 0 }
                }
            };
            let out = out.unwrap_or_else(mcmr::report::default_out_dir);
            let r = mcmr::report::zero_filled_report(&data, &params, &out)?;
            say_raw!("{}", mcmr::report::markdown(&r));
            say!("\nwritten to {}", out.display());
        }
    }
    Ok(())
}

/// `mcmr notebook build`: each source `X.rs` → `X.ipynb`, or with `check` a failure naming
/// every stale `.ipynb`.
fn notebook_build(paths: &[PathBuf], check: bool) -> Result<()> {
    let mut sources = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read `{}`", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "rs"))
                .collect();
            found.sort();
            sources.extend(found);
        } else {
            sources.push(p.clone());
        }
    }
    if sources.is_empty() {
        anyhow::bail!(
            "no notebook sources (`*.rs`) in {}",
            paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
        );
    }
    let mut stale = Vec::new();
    for src in &sources {
        let text = std::fs::read_to_string(src).with_context(|| format!("cannot read `{}`", src.display()))?;
        let cells =
            mcmr::notebook::ipynb::parse_percent(&text, &src.display().to_string()).map_err(anyhow::Error::msg)?;
        let ipynb = src.with_extension("ipynb");
        let json = mcmr::notebook::ipynb::to_ipynb(&cells);
        if check {
            if std::fs::read_to_string(&ipynb).ok().as_deref() != Some(json.as_str()) {
                stale.push(ipynb);
            } else {
                say!("ok {} ({} cells)", ipynb.display(), cells.len());
            }
        } else {
            mcmr::io::write_atomic(&ipynb, json.as_bytes())?;
            say!("wrote {} ({} cells)", ipynb.display(), cells.len());
        }
    }
    if !stale.is_empty() {
        anyhow::bail!(
            "{} differ(s) from its source: run `mcmr notebook build {}`",
            stale.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", "),
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(if e.downcast_ref::<mcmr::masks::MaskError>().is_some() { 2 } else { 1 });
    }
}
