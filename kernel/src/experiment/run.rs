//! One run end to end: its folder, manifest, training, evaluation, results, report and figures.
//!
//! A run folder `runs/<paper>/<variant>/<scale>/<experiment>/` holds
//! `manifest.json` (provenance, status), `log.jsonl` (every step and validation),
//! `checkpoints/{last,best}.safetensors`, `results.json` (per slice and volume, mean ± std),
//! `report.md`/`report.tex` and `figures/*.png`. Every file is written atomically; the
//! manifest's `status` goes from `running` to `complete`.

use crate::data::dataset::Dataset;
use crate::experiment::config::RunConfig;
use crate::experiment::evaluate::{evaluate_grouped, EvalResult, Scoring};
use crate::experiment::train::{load_checkpoint, plan, save_checkpoint, train, Progress, TrainContext, TrainFiles};
use crate::io::write_atomic;
use crate::model::CompiledModel;
use burn::module::Module;
use burn::tensor::Device;
use std::path::{Path, PathBuf};

use crate::experiment::manifest::{describe_dcm, describe_mask, describe_source, git_commit};
pub use crate::experiment::manifest::{finished, read_manifest, spec_hash, Manifest, RunOutcome};

/// Where and how a run goes.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The spec file and the variant (`None`: the spec as written).
    pub spec: PathBuf,
    pub variant: Option<String>,
    pub config: RunConfig,
    pub dir: PathBuf,
    /// `cpu` or `cuda`.
    pub device: String,
    pub progress: bool,
}

/// Whether training takes its optimiser steps on the device (optim_device.rs): on a GPU, and on
/// the CPU when `MCMR_OPTIMIZER=device` asks for it (to test or time that path there); otherwise
/// on host float64 copies, PyTorch's formulas exactly.
pub fn optimizer_on_device(device: &str) -> bool {
    device != "cpu" || std::env::var("MCMR_OPTIMIZER").is_ok_and(|v| v == "device")
}

/// The burn device of `--device`.
pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::flex().autodiff()),
        #[cfg(feature = "cuda")]
        "cuda" => cuda_device(),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err("this build has no CUDA support: rebuild with `--features mcmr-kernel/cuda`".into()),
        other => Err(format!("unknown device `{other}` (cpu or cuda)")),
    }
}

/// The first CUDA device, started by one small computation: burn's CUDA backend panics in its
/// device thread when the NVIDIA driver (libcuda) or NVRTC cannot be loaded, and that becomes an
/// error here, before any run folder is written.
#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device, String> {
    use burn::tensor::{Tensor, TensorData};
    let started = std::panic::catch_unwind(|| {
        let d = Device::cuda(0).autodiff();
        let x = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &d);
        let y = (x.clone() + x).into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        (d, y)
    });
    match started {
        Ok((d, y)) if y == [2.0, 4.0] => Ok(d),
        Ok((_, y)) => Err(format!("the CUDA device computed [1, 2] + [1, 2] = {y:?}")),
        Err(_) => Err("CUDA is not available here: burn's CUDA backend could not start (the lines above say what it could not load: the NVIDIA driver's libcuda, or NVRTC; README, \"CUDA\")".into()),
    }
}

fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    write_atomic(path, format!("{text}\n").as_bytes()).map_err(|e| e.to_string())
}

/// The network's input bindings: the spec's `inputs`, or `input` then `reference`; checked
/// against the graph's inputs and their channel counts.
pub(crate) fn bindings(config: &RunConfig, graph: &mcmr_dsl::ir::Graph) -> Result<Vec<Vec<String>>, String> {
    let b = if config.inputs.is_empty() {
        let defaults = [["input".to_string()], ["reference".to_string()]];
        if graph.inputs.len() > 2 {
            return Err(format!(
                "network `{}` has {} inputs: say which data feed them with `inputs = [...]`",
                graph.name,
                graph.inputs.len()
            ));
        }
        defaults.iter().take(graph.inputs.len()).map(|d| d.to_vec()).collect()
    } else {
        config.inputs.clone()
    };
    if b.len() != graph.inputs.len() {
        return Err(format!(
            "`inputs` binds {} network input(s) but network `{}` has {} ({})",
            b.len(),
            graph.name,
            graph.inputs.len(),
            graph.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    for (fields, input) in b.iter().zip(&graph.inputs) {
        // A complex input takes complex fields (one channel each), a real input real ones.
        let mismatch =
            fields.iter().find(|f| crate::experiment::batch::field(f).is_some_and(|d| d.complex != input.complex));
        if let Some(f) = mismatch {
            return Err(format!(
                "network input `{}` is {} but data field `{f}` is {}: bind {} fields to it",
                input.name,
                if input.complex { "complex" } else { "real" },
                if input.complex { "real" } else { "complex" },
                if input.complex {
                    "complex (`kspace`, `zero_filled`)"
                } else {
                    "real (`input`, `reference`, `target`, `mask`)"
                }
            ));
        }
        if fields.len() != input.channels {
            return Err(format!(
                "network input `{}` takes {} {}channel(s) but the experiment gives it {} ({}): the spec does not fit the data",
                input.name,
                input.channels,
                if input.complex { "complex " } else { "" },
                fields.len(),
                fields.join("+")
            ));
        }
    }
    Ok(b)
}

fn open(config: &crate::data::dataset::DatasetConfig, what: &str) -> Result<Dataset, String> {
    Dataset::open(config.clone()).map_err(|e| format!("{what} data: {e}"))
}

/// What a run needs before training: the network, its input bindings, the prediction output,
/// the device and the evaluation data, all checked against each other.
struct Setup {
    graph: mcmr_dsl::ir::Graph,
    bindings: Vec<Vec<String>>,
    prediction: String,
    dev: Device,
    eval_data: Dataset,
    hash: String,
}

fn setup(run: &RunSpec) -> Result<Setup, String> {
    let loaded = crate::spec::read_spec(&run.spec)?;
    let hash = spec_hash(&loaded);
    let variants: Vec<&str> = run.variant.iter().chain(&run.config.variant).map(String::as_str).collect();
    let checked = loaded.elaborate(run.config.network.as_deref(), &variants, &run.config.params).map_err(|errors| {
        let rendered: Vec<String> = errors.iter().map(|d| loaded.render(d)).collect();
        format!("{}\n{} error(s) in `{}`", rendered.join("\n"), errors.len(), run.spec.display())
    })?;
    let graph = checked.graph;
    let bindings = bindings(&run.config, &graph)?;
    let prediction = run.config.prediction.clone().unwrap_or_else(|| graph.outputs[0].0.clone());
    if !graph.outputs.iter().any(|(n, _)| *n == prediction) {
        return Err(format!("network `{}` has no output `{prediction}`", graph.name));
    }
    let names = crate::experiment::config::loss_names(&graph);
    for t in &run.config.stages {
        let errors: Vec<String> =
            t.loss.terms.iter().flat_map(|term| term.check(&names)).map(|d| loaded.render(&d)).collect();
        if !errors.is_empty() {
            return Err(format!("the loss of stage `{}`:\n{}", t.name, errors.join("\n")));
        }
    }
    let dev = device(&run.device)?;
    let eval_data = match run.config.eval_part {
        crate::data::prepare::Part::Val => open(&run.config.val_data, "validation")?,
        _ => open(&run.config.test_data, "test")?,
    };
    if eval_data.is_empty() {
        return Err("the evaluated part of the data is empty (check `split` and `subjects`)".into());
    }
    let item = eval_data.get(0, 0).map_err(|e| e.to_string())?;
    if let Some(m) = checked.size_multiple.map(|m| m as usize) {
        if item.height % m != 0 || item.width % m != 0 {
            return Err(format!(
                "the data's slices are {}x{} but network `{}` needs sizes that are multiples of {m}: set `data {{ size = ... }}`",
                item.height, item.width, graph.name
            ));
        }
    }
    Ok(Setup { graph, bindings, prediction, dev, eval_data, hash })
}

fn part_name(run: &RunSpec) -> &'static str {
    if run.config.eval_part == crate::data::prepare::Part::Val {
        "val"
    } else {
        "test"
    }
}

/// The run's setup and its saved model: the best checkpoint, or the last one when the run
/// never validated.
fn saved_model(run: &RunSpec) -> Result<(Setup, CompiledModel), String> {
    let s = setup(run)?;
    let mut model = CompiledModel::new(s.graph.clone(), run.config.seed, &s.dev).with_matmul_conv(run.device == "cpu");
    let files = TrainFiles::in_dir(&run.dir);
    let path = if files.best.exists() { &files.best } else { &files.last };
    load_checkpoint(path, &mut model)?;
    Ok((s, model))
}

/// Evaluates the model saved in a run folder (the best checkpoint, else the last).
pub fn evaluate_saved(run: &RunSpec, figures: Option<&Path>) -> Result<EvalResult, String> {
    let (s, model) = saved_model(run)?;
    let scoring = Scoring {
        model: &model,
        bindings: &s.bindings,
        prediction: &s.prediction,
        protocol: run.config.protocol,
        part: part_name(run),
        batch: 4,
        device: &s.dev,
    };
    let example = figures.map(|_| s.eval_data.len() / 2);
    let (r, example) = evaluate_grouped(
        &scoring,
        &s.eval_data,
        example,
        run.config.group_by_pattern,
        &run.config.extra_patterns,
        &run.config.extra_pools,
    )?;
    if let (Some(dir), Some(ex)) = (figures, &example) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let log = TrainFiles::in_dir(&run.dir).log;
        crate::experiment::figures::write_run_figures(dir, &run.config.experiment, ex, &log)?;
    }
    Ok(r)
}

/// One intermediate feature map of a network: `channels × height × width` values of the first
/// evaluated slice.
#[derive(Clone, Debug)]
pub struct Activation {
    /// The block call's instance path (`head_fre`, `up3`, ...) or an output's name.
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

/// The named activations (block-call instance paths, as parity names them, or outputs) of the
/// run's saved model on the first slice it evaluates, in the order of `names`; `target`,
/// `reference` and `input` are that slice's images (to score activations against). A name the
/// network does not have is an error that lists the ones it has.
pub fn activations(run: &RunSpec, names: &[String]) -> Result<Vec<Activation>, String> {
    let (s, model) = saved_model(run)?;
    let item = s.eval_data.get(0, 0).map_err(|e| e.to_string())?;
    let (inputs, _) = crate::experiment::batch::tensors(std::slice::from_ref(&item), &s.bindings, &[], &s.dev)?;
    let values = model.forward_all(inputs, false).map_err(|e| e.to_string())?;
    let known: Vec<(&str, usize)> =
        s.graph.activations.iter().chain(&s.graph.outputs).map(|(n, id)| (n.as_str(), *id)).collect();
    names
        .iter()
        .map(|name| {
            // The item's own images, to score activations against.
            let field = match name.as_str() {
                "target" => Some(&item.target),
                "reference" => Some(&item.reference),
                "input" => Some(&item.input),
                _ => None,
            };
            if let Some(v) = field {
                let (h, w) = (item.height, item.width);
                return Ok(Activation { name: name.clone(), channels: 1, height: h, width: w, values: v.clone() });
            }
            let id = known.iter().find(|(n, _)| n == name).map(|(_, id)| *id).ok_or_else(|| {
                let mut all: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                all.sort();
                format!("network `{}` has no activation `{name}`; it has {}", s.graph.name, all.join(", "))
            })?;
            let t = values[id].clone();
            let [_, c, h, w] = t.dims();
            let v = t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
            Ok(Activation { name: name.clone(), channels: c, height: h, width: w, values: v[..c * h * w].to_vec() })
        })
        .collect()
}

/// The PSNR on every evaluated slice (in order; one value per name) of each named output of the
/// run's saved model (an intermediate reconstruction: IGKR-Net's Î1…Î4): the output's magnitude
/// (complex outputs) or
/// first channel, against the target average-pooled to the output's size when the output is
/// smaller by a whole factor (LRIT's half-resolution image), at the target's span (max − min),
/// as `kt-slice` scores a slice.
pub fn output_psnr(run: &RunSpec, names: &[String]) -> Result<Vec<Vec<f64>>, String> {
    let (s, model) = saved_model(run)?;
    let model = model.no_grad();
    let ids: Vec<(usize, bool)> = names
        .iter()
        .map(|n| {
            s.graph
                .outputs
                .iter()
                .find(|(o, _)| o == n)
                .map(|(_, id)| (*id, s.graph.is_complex(*id)))
                .ok_or_else(|| format!("network `{}` has no output `{n}`", s.graph.name))
        })
        .collect::<Result<_, _>>()?;
    let mut slices = Vec::with_capacity(s.eval_data.len());
    for i in 0..s.eval_data.len() {
        let item = s.eval_data.get(i, 0).map_err(|e| e.to_string())?;
        let (inputs, _) = crate::experiment::batch::tensors(std::slice::from_ref(&item), &s.bindings, &[], &s.dev)?;
        let values = model.forward_all(inputs, false).map_err(|e| e.to_string())?;
        let mut scores = Vec::with_capacity(ids.len());
        for (k, &(id, complex)) in ids.iter().enumerate() {
            let [_, c, h, w] = values[id].dims();
            let v =
                values[id].clone().into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
            let n = h * w;
            let image: Vec<f64> = if complex && c >= 2 {
                (0..n).map(|j| (v[j] as f64).hypot(v[n + j] as f64)).collect()
            } else {
                v[..n].iter().map(|&x| x as f64).collect()
            };
            let target = pooled(&item.target, item.height, item.width, h, w).ok_or_else(|| {
                format!(
                    "output `{}` is {h}x{w}, not the target's {}x{} divided by a whole factor",
                    names[k], item.height, item.width
                )
            })?;
            let hi = target.iter().cloned().fold(f64::MIN, f64::max);
            let lo = target.iter().cloned().fold(f64::MAX, f64::min);
            scores.push(crate::metrics::psnr(&target, &image, hi - lo));
        }
        slices.push(scores);
    }
    Ok(slices)
}

/// `x` (`h×w`) average-pooled to `th×tw` when both sides shrink by the same whole factor.
fn pooled(x: &[f32], h: usize, w: usize, th: usize, tw: usize) -> Option<Vec<f64>> {
    if th == 0 || h % th != 0 || w % tw != 0 || h / th != w / tw {
        return None;
    }
    let f = h / th;
    let mut out = vec![0.0; th * tw];
    for r in 0..h {
        for c in 0..w {
            out[(r / f) * tw + c / f] += x[r * w + c] as f64 / (f * f) as f64;
        }
    }
    Some(out)
}

/// What the run's network computes on the first slice it evaluates, at `size` (square) instead
/// of the data's size when given, with freshly initialised weights (the count depends on shapes
/// only, and on the mask for point sets): per module and in all ([`crate::model::flops`]), with
/// the slice's height and width and the parameter count.
pub fn flops(
    run: &RunSpec,
    size: Option<usize>,
) -> Result<(crate::model::flops::FlopReport, [usize; 2], usize), String> {
    let mut run = run.clone();
    if let Some(n) = size {
        run.config.test_data.size = Some([n, n]);
        run.config.val_data.size = Some([n, n]);
    }
    let s = setup(&run)?;
    // Without gradients, nothing of the forward pass is kept for a backward one: at IGKR-Net's
    // paper size the attention's saved probabilities alone would be tens of GiB.
    let model =
        CompiledModel::new(s.graph.clone(), run.config.seed, &s.dev).with_matmul_conv(run.device == "cpu").no_grad();
    let item = s.eval_data.get(0, 0).map_err(|e| e.to_string())?;
    let (inputs, _) = crate::experiment::batch::tensors(std::slice::from_ref(&item), &s.bindings, &[], &s.dev)?;
    let values = model.forward_all(inputs, false).map_err(|e| e.to_string())?;
    let shapes: Vec<[usize; 4]> = values.iter().map(|v| v.dims()).collect();
    Ok((crate::model::flops::count(&s.graph, &shapes), [item.height, item.width], s.graph.parameter_count()))
}

/// Starts (or, with `resume`, continues) a run and finishes it.
pub fn execute(run: &RunSpec, resume: bool) -> Result<RunOutcome, String> {
    let started = std::time::Instant::now();
    let Setup { graph, bindings, prediction, dev, eval_data, hash } = setup(run)?;
    std::fs::create_dir_all(&run.dir)
        .map_err(|e| format!("cannot create the run folder `{}`: {e}", run.dir.display()))?;
    let paper = run.spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let sample_mask = eval_data.get(0, 0).ok().map(|i| i.mask);
    let mut manifest = Manifest {
        kit_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit(),
        spec: run.spec.display().to_string(),
        spec_hash: hash.clone(),
        paper,
        variant: run.variant.clone().unwrap_or_else(|| "base".into()),
        experiment: run.config.experiment.clone(),
        scale: run.config.scale.clone(),
        network: graph.name.clone(),
        parameters: graph.parameter_count(),
        data: serde_json::json!({
            "source": describe_source(&run.config.test_data),
            "target": run.config.test_data.target,
            "reference": run.config.test_data.reference,
            "normalisation": run.config.test_data.normalisation.name(),
            "intensity": run.config.test_data.intensity.name(),
            "resize": run.config.test_data.resize.name(),
            "interpolate_to": run.config.test_data.interpolate_to,
            "kspace_convention": run.config.test_data.kspace_convention.name(),
            "kspace_noise": run.config.test_data.kspace_noise,
            "orientation": format!("{:?}", run.config.test_data.orientation),
            "split": match &run.config.test_data.split {
                crate::data::dataset::Split::None => serde_json::json!("none"),
                crate::data::dataset::Split::Ratios(r, seed) => serde_json::json!({"ratios": r, "seed": seed}),
                crate::data::dataset::Split::File(p) => serde_json::json!({"file": p.display().to_string()}),
            },
            "size": run.config.test_data.size,
            "slices": run.config.test_data.slices.describe(),
            "evaluated_items": eval_data.len(),
            "files": eval_data.file_hashes(),
        }),
        mask: {
            let mut m = serde_json::json!({
                "train": describe_mask(&run.config.train_data.mask),
                "test": describe_mask(&run.config.test_data.mask),
                "first_test_mask_hash": sample_mask.as_ref().map(|m| m.hash_hex()),
                "first_test_mask_acceleration": sample_mask.as_ref().map(|m| m.achieved_acceleration()),
            });
            if let Some(dcm) = describe_dcm(&graph, sample_mask.as_ref()) {
                m["dcm_first_test_mask"] = dcm;
            }
            // `evaluate { pattern { ... } }`: the further test patterns, scored outside the metrics.
            if !run.config.extra_patterns.is_empty() {
                let extra = crate::data::dataset::MaskPolicy::OnlineChoice(run.config.extra_patterns.clone());
                m["further_test_patterns"] = describe_mask(&extra)["patterns"].clone();
                if run.config.extra_pools.iter().any(Option::is_some) {
                    m["further_test_pools"] = serde_json::json!(run.config.extra_pools);
                }
            }
            m
        },
        protocol: run.config.protocol.name().into(),
        backend: format!(
            "burn 0.22 ({}), optimiser steps {}",
            if run.device == "cuda" { "cuda" } else { "flex" },
            if optimizer_on_device(&run.device) { "on the device" } else { "on the host in float64" }
        ),
        device: run.device.clone(),
        seed: run.config.seed,
        reproduces: run.config.reproduces.clone(),
        network_variant: run.config.variant.clone(),
        tolerance: run.config.tolerance.clone(),
        training: crate::experiment::manifest::describe_training(&run.config.stages),
        status: "running".into(),
        wall_time_s: 0.0,
        data_override: None,
    };
    let mut previous_time = 0.0;
    if resume {
        let old = read_manifest(&run.dir)?;
        if old.kit_version != manifest.kit_version {
            return Err(format!(
                "`{}` was made by mcmr-kit {} and this is {}: rerun it instead of resuming",
                run.dir.display(),
                old.kit_version,
                manifest.kit_version
            ));
        }
        if old.spec_hash != hash {
            return Err(format!(
                "the spec `{}` changed since the run started (hash {} then, {hash} now): rerun it instead of resuming",
                run.spec.display(),
                old.spec_hash
            ));
        }
        previous_time = old.wall_time_s;
    }
    write_json(&run.dir.join("manifest.json"), &manifest)?;
    let mut model = CompiledModel::new(graph.clone(), run.config.seed, &dev).with_matmul_conv(run.device == "cpu");
    let files = TrainFiles::in_dir(&run.dir);
    let mut trained = false;
    for t in &run.config.stages {
        for pattern in &t.train {
            if !graph.parameters().iter().any(|p| crate::model::glob_match(pattern, &p.path)) {
                return Err(format!(
                    "stage `{}`: `train` pattern `{pattern}` matches no parameter of network `{}`",
                    t.name, graph.name
                ));
            }
        }
    }
    if !run.config.stages.is_empty() && graph.parameter_count() > 0 {
        let train_data = open(&run.config.train_data, "training")?;
        if train_data.is_empty() {
            return Err("the training part of the data is empty (check `split` and `subjects`)".into());
        }
        let val = open(&run.config.val_data, "validation")?;
        let val = (!val.is_empty() && run.config.val_data.part.is_some()).then_some(val);
        let resume_from = (resume && files.last.exists()).then_some(files.last.as_path());
        let start = if let Some(path) = resume_from {
            load_checkpoint(path, &mut model)?
        } else {
            if !resume {
                let _ = std::fs::remove_file(&files.log);
            }
            Progress::default()
        };
        let total = run.config.stages.iter().map(|t| plan(t, train_data.len()).0).max().unwrap_or(1);
        let step_seconds = std::sync::Mutex::new(Vec::new());
        let ctx = TrainContext {
            stages: &run.config.stages,
            train: &train_data,
            val: val.as_ref(),
            bindings: &bindings,
            prediction: &prediction,
            protocol: run.config.protocol,
            device: &dev,
            files: &files,
            seed: run.config.seed,
            optimizer_on_device: optimizer_on_device(&run.device),
            checkpoint_every: (total / 10).max(1),
            progress: run.progress,
            step_seconds: &step_seconds,
        };
        let end = match train(&mut model, &ctx, start, resume_from) {
            Ok(end) => end,
            Err(e) => {
                // Keep the failure in the manifest; the last good checkpoint stays for resuming.
                manifest.status = format!("failed: {e}");
                manifest.wall_time_s = previous_time + started.elapsed().as_secs_f64();
                write_json(&run.dir.join("manifest.json"), &manifest)?;
                return Err(e);
            }
        };
        let times = step_seconds.into_inner().unwrap_or_default();
        crate::experiment::train::write_timing(&run.dir.join("timing.json"), &run.config.stages, &times)?;
        if end.best_step.is_some() && files.best.exists() {
            load_checkpoint(&files.best, &mut model)?;
        }
        trained = true;
    }
    if !trained {
        // Nothing to train (zero-filled, or 0 iterations): keep the untrained state for `evaluate`.
        save_checkpoint(&files.last, &model, None, &Progress::default())?;
    }
    let part = part_name(run);
    let scoring = Scoring {
        model: &model,
        bindings: &bindings,
        prediction: &prediction,
        protocol: run.config.protocol,
        part,
        batch: 4,
        device: &dev,
    };
    let (results, example) = evaluate_grouped(
        &scoring,
        &eval_data,
        Some(eval_data.len() / 2),
        run.config.group_by_pattern,
        &run.config.extra_patterns,
        &run.config.extra_pools,
    )?;
    write_json(&run.dir.join("results.json"), &results)?;
    if let Some(ex) = &example {
        crate::experiment::figures::write_run_figures(
            &run.dir.join("figures"),
            &run.config.experiment,
            ex,
            &files.log,
        )?;
    }
    manifest.status = "complete".into();
    manifest.wall_time_s = previous_time + started.elapsed().as_secs_f64();
    write_json(&run.dir.join("manifest.json"), &manifest)?;
    let report = crate::experiment::report::run_markdown(&manifest, &results);
    write_atomic(&run.dir.join("report.md"), report.as_bytes()).map_err(|e| e.to_string())?;
    let tex = crate::experiment::report::run_latex(&manifest, &results);
    write_atomic(&run.dir.join("report.tex"), tex.as_bytes()).map_err(|e| e.to_string())?;
    Ok(RunOutcome { dir: run.dir.clone(), manifest, results })
}
