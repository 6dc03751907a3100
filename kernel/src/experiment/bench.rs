//! `mcmr bench-train`: an experiment's training steps timed at the sizes of a scale (network,
//! parameters, batch, image size, loss, optimiser and clipping as the spec says), on the
//! embedded phantom so that no data is needed: the GPU benchmark of issue 21 (`bench/gpu.sh`
//! runs it with `--device cuda` at FSMNet's paper configuration), and a CPU one.
//!
//! The steps are the trainer's own (`train.rs`, the run's `timing.json`): the forward pass of
//! what the last stage's loss reads, the loss, the backward pass and the optimiser step (on the
//! device on a GPU), one number read back per step. Throughput counts the forward FLOPs of one
//! slice (`model::flops`) × the batch × 3 for forward and backward.

use super::config::Length;
use super::plan::{plan, with_phantom, Planned};
use super::run::{self, execute, RunSpec};
use mcmr_dsl::plan::Selection;
use std::path::Path;

/// What to time.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub scale: String,
    pub variant: Option<String>,
    pub experiment: String,
    pub device: String,
    /// Training steps timed (the first, with its compilation and allocation, is reported apart).
    pub steps: usize,
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Trains `opts.steps` steps of the experiment's last stage (the whole network when training is
/// staged) in `out`, replaced, and returns the measurements as JSON.
pub fn bench_train(spec: &Path, opts: &BenchOptions, out: &Path) -> Result<serde_json::Value, String> {
    if opts.steps < 2 {
        return Err(format!("`--steps`: expected at least 2 (the first is timed apart), got {}", opts.steps));
    }
    let loaded = crate::spec::read_spec(spec)?;
    let errors = loaded.check_sections(&crate::spec::vocabulary());
    if let Some(d) = errors.first() {
        return Err(format!("{}\n{} error(s) in `{}`", loaded.render(d), errors.len(), spec.display()));
    }
    let only = [opts.experiment.clone()];
    let sel = Selection { variants: vec![opts.variant.clone()], scale: &opts.scale, only: &only, strict: true };
    let Planned { variant, mut config } = plan(&loaded, &sel)?
        .pop()
        .ok_or_else(|| format!("`{}` has no experiment `{}`", spec.display(), opts.experiment))?;
    for d in [&mut config.train_data, &mut config.val_data, &mut config.test_data] {
        with_phantom(d);
    }
    let mut stage = config
        .stages
        .pop()
        .ok_or_else(|| format!("experiment `{}` trains nothing: there is no step to time", opts.experiment))?;
    stage.length = Length::Iterations(opts.steps);
    stage.validate_every = None;
    // The last stage alone: a stage that continues the previous one's optimiser starts afresh.
    stage.continue_optimizer = false;
    stage.schedule_from_run_start = false;
    let batch = stage.batch_size.max(1);
    config.stages = vec![stage];
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("cannot replace `{}`: {e}", out.display()))?;
    }
    let r = RunSpec {
        spec: spec.to_path_buf(),
        variant,
        config,
        dir: out.to_path_buf(),
        device: opts.device.clone(),
        progress: false,
    };
    let (flops, [h, w], parameters) = run::flops(&r, None)?;
    let outcome = execute(&r, false)?;
    let timing: serde_json::Value = std::fs::read_to_string(out.join("timing.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| format!("`{}` has no timing.json", out.display()))?;
    let t = &timing["stages"][0];
    let number = |k: &str| t[k].as_f64().ok_or_else(|| format!("timing.json has no `{k}`"));
    let median = number("median_step_s")?;
    let step_flop = 3.0 * flops.total.total_flops() as f64 * batch as f64;
    Ok(serde_json::json!({
        "spec": spec.display().to_string(),
        "experiment": opts.experiment,
        "scale": opts.scale,
        "variant": outcome.manifest.variant,
        "network": outcome.manifest.network,
        "parameters": parameters,
        "device": opts.device,
        "backend": outcome.manifest.backend,
        "data": "the embedded phantom at the experiment's image size",
        "size": [h, w],
        "batch_size": batch,
        "steps": t["steps"],
        "first_step_s": number("first_step_s")?,
        "median_step_s": median,
        "mean_step_s": number("mean_step_s")?,
        "steps_per_second": 1.0 / median,
        "forward_gflop_per_slice": flops.total.total_flops() as f64 / 1e9,
        "step_tflop": step_flop / 1e12,
        "achieved_tflops": step_flop / median / 1e12,
        "peak_host_memory_gib": peak_rss().map(|b| b as f64 / (1u64 << 30) as f64),
        "wall_time_s": outcome.manifest.wall_time_s,
    }))
}
