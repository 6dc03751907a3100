//! The training loop: batches in a fixed, seeded order, the spec's loss, host-side optimiser
//! steps exactly as PyTorch computes them, schedules, validation, checkpoints and resumption.
//!
//! Every random choice is a function of the seeds, the epoch and the item index (data order,
//! online masks, augmentation), of the initialisation seed, or of the seed, stage and step
//! (dropout), so the state to resume is the
//! parameters, the optimiser's buffers and the step counter: a run resumed from a checkpoint
//! takes exactly the steps the uninterrupted run would have taken.

use crate::data::dataset::Dataset;
use crate::experiment::batch::{prefetch, tensors};
use crate::experiment::config::{Length, ScheduleUnit, Training};
use crate::experiment::evaluate::{evaluate_model, Scoring};
use crate::experiment::progress::StageProgress;
use crate::io::safetensors::{read_safetensors_with_metadata, write_safetensors, StTensor, StWrite};
use crate::model::{rank4, CompiledModel};
use crate::optim::Optimizer;
use crate::optim_device::DeviceBuffers;
use crate::protocols::Protocol;
use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a checkpoint records besides tensors.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The stage being trained (index into the run's stages).
    #[serde(default)]
    pub stage: usize,
    /// Steps taken in that stage.
    pub step: usize,
    /// Best validation PSNR so far and its step.
    pub best_psnr: Option<f64>,
    pub best_step: Option<usize>,
    pub kit_version: String,
}

/// Where a run keeps its training files.
pub struct TrainFiles {
    pub log: PathBuf,
    pub last: PathBuf,
    pub best: PathBuf,
}

impl TrainFiles {
    pub fn in_dir(dir: &Path) -> TrainFiles {
        TrainFiles {
            log: dir.join("log.jsonl"),
            last: dir.join("checkpoints").join("last.safetensors"),
            best: dir.join("checkpoints").join("best.safetensors"),
        }
    }
}

/// Everything the loop needs besides the model.
pub struct TrainContext<'a> {
    pub stages: &'a [Training],
    pub train: &'a Dataset,
    pub val: Option<&'a Dataset>,
    pub bindings: &'a [Vec<String>],
    pub prediction: &'a str,
    pub protocol: Protocol,
    pub device: &'a Device,
    pub files: &'a TrainFiles,
    /// The run's seed: dropout's masks at each step derive from it ([`dropout_seed`]).
    pub seed: u32,
    /// Take optimiser steps on the parameters' device ([`crate::optim_device`]; GPU training)
    /// instead of on host float64 copies (CPU training and parity).
    pub optimizer_on_device: bool,
    /// Save `last` every N steps (and at every validation and at the end).
    pub checkpoint_every: usize,
    /// Show progress on stderr (a bar on a terminal, plain lines elsewhere).
    pub progress: bool,
    /// Each step's compute time, by stage: from its batch in hand to its optimiser step done
    /// (no data wait, validation or checkpoint); [`write_timing`] summarises it.
    pub step_seconds: &'a std::sync::Mutex<Vec<(usize, f64)>>,
}

/// `timing.json` of a run folder: per stage, the steps timed and their median, first and mean
/// compute time (a resumed run times only the steps it took). Wall-clock figures: not part of
/// the results, different from run to run.
pub fn write_timing(path: &Path, stages: &[Training], times: &[(usize, f64)]) -> Result<(), String> {
    let summary: Vec<serde_json::Value> = stages
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let mut s: Vec<f64> = times.iter().filter(|(st, _)| *st == i).map(|(_, v)| *v).collect();
            let first = *s.first()?;
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            s.sort_by(f64::total_cmp);
            let median = s[s.len() / 2];
            Some(serde_json::json!({
                "stage": t.name,
                "steps": s.len(),
                "batch_size": t.batch_size,
                "first_step_s": first,
                "median_step_s": median,
                "mean_step_s": mean,
                "steps_per_second": 1.0 / median,
            }))
        })
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({ "stages": summary })).map_err(|e| e.to_string())?;
    crate::io::write_atomic(path, format!("{text}\n").as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// One optimiser step on host float64 copies (CPU training and parity: PyTorch's formulas in
/// float64, exactly): every gradient read to the host and checked, clipped, the update, the
/// parameters written back. Returns the gradient norm (before clipping).
fn host_step(
    model: &mut CompiledModel,
    opt: &mut Optimizer,
    grads: &burn::tensor::Gradients,
    trains: &dyn Fn(&str) -> bool,
    clip: Option<f64>,
    device: &Device,
) -> Result<f64, String> {
    let mut params = Vec::with_capacity(model.params.len());
    let mut host_grads = Vec::with_capacity(model.params.len());
    for (p, s) in model.params.iter().zip(model.param_specs()) {
        let g = p.val().grad(grads).map(host).filter(|_| trains(&s.path));
        if g.as_ref().is_some_and(|g| g.iter().any(|v| !v.is_finite())) {
            return Err(format!("the gradient of `{}` is not finite", s.path));
        }
        params.push(if g.is_some() { host(p.val().inner()) } else { Vec::new() });
        host_grads.push(g);
    }
    let grad_norm = match clip {
        Some(max) => crate::optim::clip_grad_norm(&mut host_grads, max),
        None => host_grads.iter().flatten().flat_map(|g| g.iter()).map(|x| x * x).sum::<f64>().sqrt(),
    };
    opt.step(&mut params, &host_grads);
    for (i, (p, g)) in params.into_iter().zip(&host_grads).enumerate() {
        if g.is_none() {
            continue;
        }
        let shape = rank4(&model.param_specs()[i].shape);
        let values: Vec<f32> = p.into_iter().map(|v| v as f32).collect();
        model.params[i] = Param::from_tensor(Tensor::<4>::from_data(TensorData::new(values, shape), device));
    }
    Ok(grad_norm)
}

/// One optimiser step on the parameters' device (GPU training, optim_device.rs): the gradients
/// stay there; one number, the gradient norm, is read back (a non-finite norm names the first
/// non-finite gradient). Returns the gradient norm (before clipping).
fn device_step(
    model: &mut CompiledModel,
    opt: &mut Optimizer,
    bufs: &mut DeviceBuffers,
    grads: &burn::tensor::Gradients,
    trains: &dyn Fn(&str) -> bool,
    clip: Option<f64>,
) -> Result<f64, String> {
    let mut dgrads: Vec<Option<Tensor<4>>> = model
        .params
        .iter()
        .zip(model.param_specs())
        .map(|(p, s)| p.val().grad(grads).filter(|_| trains(&s.path)))
        .collect();
    let grad_norm = crate::optim_device::clip_grad_norm(&mut dgrads, clip);
    if !grad_norm.is_finite() {
        let bad = dgrads
            .iter()
            .zip(model.param_specs())
            .find(|(g, _)| g.as_ref().is_some_and(|g| host(g.clone()).iter().any(|v| !v.is_finite())));
        return Err(match bad {
            Some((_, s)) => format!("the gradient of `{}` is not finite", s.path),
            None => format!("the gradient norm overflowed ({grad_norm})"),
        });
    }
    let mut params: Vec<Tensor<4>> = model.params.iter().map(|p| p.val().inner()).collect();
    bufs.step(opt, &mut params, &dgrads);
    for (i, (p, g)) in params.into_iter().zip(&dgrads).enumerate() {
        if g.is_some() {
            model.params[i] = Param::from_tensor(Tensor::from_inner(p));
        }
    }
    Ok(grad_norm)
}

/// The dropout seed of one training step: a function of the run's seed, the stage and the step
/// alone, so that a resumed run draws the masks the uninterrupted one would have.
pub fn dropout_seed(seed: u32, stage: usize, step: usize) -> u64 {
    use crate::model::mix;
    mix(mix(mix(seed as u64 ^ 0x6472_6f70) ^ stage as u64) ^ step as u64)
}

fn host(t: Tensor<4>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().expect("float tensor")
}

/// Saves parameters, optimiser state and progress in one file (atomically).
pub fn save_checkpoint(
    path: &Path,
    model: &CompiledModel,
    opt: Option<&Optimizer>,
    progress: &Progress,
) -> Result<(), String> {
    let mut t = BTreeMap::new();
    for (s, p) in model.param_specs().iter().zip(&model.params) {
        let v = p.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("float tensor");
        t.insert(s.path.clone(), StWrite::F32(s.shape.clone(), v));
    }
    if let Some(o) = opt {
        for (k, v) in o.state() {
            t.insert(k, StWrite::F64(vec![v.len()], v));
        }
    }
    let meta = BTreeMap::from([("progress".to_string(), serde_json::to_string(progress).expect("JSON"))]);
    write_safetensors(path, &t, &meta).map_err(|e| e.to_string())
}

fn read_checkpoint(path: &Path) -> Result<(BTreeMap<String, StTensor>, Progress), String> {
    let (tensors, meta) = read_safetensors_with_metadata(path).map_err(|e| e.to_string())?;
    let progress = meta
        .get("progress")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| format!("`{}` has no training progress (not a checkpoint of this kit?)", path.display()))?;
    Ok((tensors, progress))
}

/// Loads a checkpoint's parameters into `model`; returns its progress.
pub fn load_checkpoint(path: &Path, model: &mut CompiledModel) -> Result<Progress, String> {
    let (tensors, progress) = read_checkpoint(path)?;
    model
        .set_tensors(&tensors, &Vec::new(), &["optim.*".to_string()], &path.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(progress)
}

/// Loads a checkpoint's optimiser state into `opt` (for `n_params` parameters).
fn load_optimizer(path: &Path, opt: &mut Optimizer, n_params: usize) -> Result<(), String> {
    let (tensors, _) = read_checkpoint(path)?;
    let state: BTreeMap<String, Vec<f64>> =
        tensors.into_iter().filter(|(k, _)| k.starts_with("optim.")).map(|(k, v)| (k, v.data)).collect();
    opt.load_state(&state, n_params).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Total steps and steps per epoch.
pub fn plan(training: &Training, n_items: usize) -> (usize, usize) {
    let per_epoch = n_items.div_ceil(training.batch_size.max(1)).max(1);
    let total = match training.length {
        Length::Iterations(n) => n,
        Length::Epochs(e) => e * per_epoch,
    };
    (total, per_epoch)
}

/// Keeps the log lines of steps before `step` (and validations at or before it), dropping any
/// torn last line, so a resumed run's log equals an uninterrupted one's.
fn truncate_log(path: &Path, stage: usize, step: usize) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).ok().is_some_and(|v| {
                let at = (v["stage"].as_u64().unwrap_or(0) as usize, v["step"].as_u64().map(|s| s as usize));
                match (at, v["validation"].as_bool()) {
                    ((st, Some(s)), Some(true)) => (st, s) <= (stage, step),
                    ((st, Some(s)), _) => (st, s) < (stage, step),
                    _ => false,
                }
            })
        })
        .collect();
    let mut out = keep.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    crate::io::write_atomic(path, out.as_bytes()).map_err(|e| e.to_string())
}

/// Trains `model` through the run's stages from `start` (a fresh run: `Progress::default()`),
/// validating and saving checkpoints as configured; each stage starts a fresh optimiser (on
/// resumption mid-stage, restored from `resume_from`). Returns the final progress. A non-finite
/// loss or gradient stops the run with an error naming the step and the loss term or parameter.
pub fn train(
    model: &mut CompiledModel,
    ctx: &TrainContext,
    start: Progress,
    resume_from: Option<&Path>,
) -> Result<Progress, String> {
    let mut progress = start;
    progress.kit_version = env!("CARGO_PKG_VERSION").into();
    truncate_log(&ctx.files.log, progress.stage, progress.step)?;
    let mut kept: Option<Optimizer> = None;
    while progress.stage < ctx.stages.len() {
        let t = &ctx.stages[progress.stage];
        let continued = if t.continue_optimizer && progress.stage > 0 { kept.take() } else { None };
        let fresh = continued.is_none();
        let mut opt = match continued {
            Some(o) => o,
            None => Optimizer::from_call(&t.optimizer)?,
        };
        // Resuming mid-stage restores the optimiser; so does resuming at the start of a stage
        // that continues the previous stage's.
        let restore = progress.step > 0 || (t.continue_optimizer && progress.stage > 0 && fresh);
        if let Some(path) = resume_from.filter(|_| restore) {
            load_optimizer(path, &mut opt, model.params.len())?;
        }
        if progress.step == 0 {
            // A new stage: its own best validation.
            (progress.best_psnr, progress.best_step) = (None, None);
        }
        train_stage(model, &mut opt, ctx, t, &mut progress)?;
        kept = Some(opt);
        if progress.stage + 1 < ctx.stages.len() {
            progress.stage += 1;
            progress.step = 0;
        } else {
            break;
        }
    }
    Ok(progress)
}

fn train_stage(
    model: &mut CompiledModel,
    opt: &mut Optimizer,
    ctx: &TrainContext,
    t: &Training,
    progress: &mut Progress,
) -> Result<(), String> {
    let (total, per_epoch) = plan(t, ctx.train.len());
    let base_lr = Optimizer::from_call(&t.optimizer)?.lr();
    // `schedule_span = "run"`: the schedule's clock starts at the run's first step (epoch), so the
    // stages share one schedule.
    let (step_offset, epoch_offset) = if t.schedule_from_run_start {
        ctx.stages[..progress.stage].iter().fold((0usize, 0usize), |(s, e), st| {
            let (n, per) = plan(st, ctx.train.len());
            (s + n, e + n.div_ceil(per))
        })
    } else {
        (0, 0)
    };
    // The complex tensors a loss may read (network outputs and data fields), by name.
    let complex: std::collections::BTreeSet<String> =
        crate::experiment::config::loss_names(model.graph()).into_iter().filter(|(_, c)| *c).map(|(n, _)| n).collect();
    let read = t.loss.names();
    let stage = progress.stage;
    let trains = |path: &str| t.train.is_empty() || t.train.iter().any(|p| crate::model::glob_match(p, path));
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&ctx.files.log)
        .map_err(|e| format!("cannot write `{}`: {e}", ctx.files.log.display()))?;
    let log_path = ctx.files.log.display().to_string();
    let line = |log: &mut std::fs::File, v: serde_json::Value| -> Result<(), String> {
        writeln!(log, "{v}").map_err(|e| format!("cannot write `{log_path}`: {e}"))
    };
    let batches: Vec<(usize, Vec<usize>)> = (progress.step..total)
        .map(|s| {
            let (epoch, pos) = (s / per_epoch, s % per_epoch);
            let order = ctx.train.order(epoch, true);
            let b = t.batch_size.max(1);
            (epoch, order[pos * b..((pos + 1) * b).min(order.len())].to_vec())
        })
        .collect();
    let first = progress.step;
    let run = ctx.files.log.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned());
    let name = match (run, ctx.stages.len()) {
        (Some(r), 1) => r,
        (Some(r), _) => format!("{r} · {}", t.name),
        (None, _) => t.name.clone(),
    };
    let mut shown = StageProgress::new(ctx.progress, name, first, total);
    // On a GPU the optimiser's buffers live beside the parameters (optim_device.rs).
    let mut device_bufs = ctx
        .optimizer_on_device
        .then(|| DeviceBuffers::load(opt, &model.params.iter().map(|p| p.val().inner()).collect::<Vec<_>>()));
    std::thread::scope(|scope| -> Result<(), String> {
        let rx = prefetch(scope, ctx.train, batches, 2);
        for step in first..total {
            let items = rx.recv().map_err(|_| "the data reader stopped".to_string())??;
            let clock = std::time::Instant::now();
            let epoch = step / per_epoch;
            let lr = t.schedule.lr(
                base_lr,
                match t.schedule_unit {
                    ScheduleUnit::Iteration => (step_offset + step) as u64,
                    ScheduleUnit::Epoch => (epoch_offset + epoch) as u64,
                },
            );
            opt.set_lr(lr);
            // The step on a worker of rayon's pool on the CPU (threads.rs); the reader is waited
            // for above, outside it.
            let (loss_value, term_values, grad_norm) = crate::threads::on_workers(ctx.device, || {
                let (inputs, mut named) = tensors(&items, ctx.bindings, &read, ctx.device)?;
                // Only what the stage's loss reads runs (later modules of a staged network stay out).
                let drop = Some(dropout_seed(ctx.seed, stage, step));
                let (outputs, batch_stats) =
                    model.forward_outputs_stats(inputs, true, &read, drop).map_err(|e| e.to_string())?;
                named.extend(outputs);
                let (loss, terms) = crate::loss::evaluate(&t.loss, &named, &complex)?;
                let scalar = |x: Tensor<1>| x.into_data().convert::<f64>().try_to_vec::<f64>().expect("float")[0];
                let term_values: Vec<f64> = terms.into_iter().map(scalar).collect();
                let loss_value = scalar(loss.clone());
                if !loss_value.is_finite() {
                    let bad: Vec<&str> = t
                        .loss
                        .terms
                        .iter()
                        .zip(&term_values)
                        .filter(|(_, v)| !v.is_finite())
                        .map(|(t, _)| t.label.as_str())
                        .collect();
                    return Err(format!(
                        "step {step} of stage `{}`: the loss is {loss_value} (non-finite term(s): {}); the last good checkpoint is `{}`",
                        t.name,
                        if bad.is_empty() {
                            "none alone; their weighted sum overflowed".to_string()
                        } else {
                            bad.join(", ")
                        },
                        ctx.files.last.display()
                    ));
                }
                let grads = loss.backward();
                let failed = |what: String| {
                    format!(
                        "step {step} of stage `{}`: {what} (loss {loss_value}); the last good checkpoint is `{}`",
                        t.name,
                        ctx.files.last.display()
                    )
                };
                let grad_norm = match device_bufs.as_mut() {
                    Some(bufs) => device_step(model, opt, bufs, &grads, &trains, t.clip_grad_norm).map_err(failed)?,
                    None => host_step(model, opt, &grads, &trains, t.clip_grad_norm, ctx.device).map_err(failed)?,
                };
                model.update_running_stats(&batch_stats);
                Ok((loss_value, term_values, grad_norm))
            })?;
            ctx.step_seconds
                .lock()
                .map_err(|_| "the step clock is poisoned")?
                .push((stage, clock.elapsed().as_secs_f64()));
            progress.step = step + 1;
            let terms_json: serde_json::Map<String, serde_json::Value> =
                t.loss.terms.iter().zip(&term_values).map(|(t, v)| (t.label.clone(), serde_json::json!(v))).collect();
            line(
                &mut log,
                serde_json::json!({"stage": stage, "step": step, "epoch": epoch, "lr": lr, "loss": loss_value, "terms": terms_json, "grad_norm": grad_norm}),
            )?;
            let done = progress.step == total;
            let validate =
                ctx.val.is_some() && (done || t.validate_every.is_some_and(|n| n > 0 && progress.step % n == 0));
            if validate {
                let scoring = Scoring {
                    model,
                    bindings: ctx.bindings,
                    prediction: ctx.prediction,
                    protocol: ctx.protocol,
                    part: "val",
                    batch: t.batch_size,
                    device: ctx.device,
                };
                let (r, _) = evaluate_model(&scoring, ctx.val.expect("checked"), None)?;
                let psnr = r.mean("psnr").unwrap_or(f64::NAN);
                line(
                    &mut log,
                    serde_json::json!({"stage": stage, "step": progress.step, "validation": true, "psnr": psnr, "ssim": r.mean("ssim")}),
                )?;
                if progress.best_psnr.is_none_or(|b| psnr > b) {
                    progress.best_psnr = Some(psnr);
                    progress.best_step = Some(progress.step);
                    save_checkpoint(&ctx.files.best, model, None, progress)?;
                }
            }
            if validate || done || progress.step % ctx.checkpoint_every.max(1) == 0 {
                log.flush().map_err(|e| e.to_string())?;
                if let Some(bufs) = &device_bufs {
                    bufs.store(opt, model.params.len());
                }
                save_checkpoint(&ctx.files.last, model, Some(opt), progress)?;
            }
            shown.step(progress.step, loss_value, progress.best_psnr);
        }
        shown.finish();
        Ok(())
    })
}
