//! `mcmr parity`: a compiled spec against the official code's tensors.
//!
//! A fixture folder (the layout of `shared/fixtures/parity/<model>/<config>/`) holds
//! `weights.safetensors` (the official `state_dict`), `inputs.safetensors` (by forward-argument
//! name), `outputs.safetensors` (outputs by name and `act.<module path>.call0` activations),
//! `target.safetensors`, `grads.safetensors` (`grad.<param>`, before any clipping) and
//! `weights_after_step.safetensors`. The spec's `parity` section names the loss and optimiser of
//! the official training step, e.g. `loss = l1(output, target)` and
//! `optimizer = rmsprop(lr = 1e-3, alpha = 0.99, eps = 1e-8)`. A fixture with several training
//! steps (UniFS: as released, and as the paper states) gets one named section per further step,
//! `parity jfs { ... grads = "grads_jfs.safetensors" weights_after = "..." }` ([`steps`]).
//!
//! Every comparison reports `max_abs = max|a − b|` and `rel = max|a − b| / max|b|`; gradients
//! also report the global relative L2 error over all gradients (`grads_global_rel_l2`).

use crate::io::safetensors::{read_safetensors, StTensor};
use crate::model::{CompiledModel, KeyMap};
use crate::optim::Optimizer;
use burn::tensor::{Device, Tensor, TensorData};
use mcmr_dsl::plan::{Section, Setting};
use std::collections::BTreeMap;
use std::path::Path;

/// Official gradients smaller than this are in RMSprop's float32 noise regime (see
/// [`ParityReport::step_noise_entries`]).
pub const NOISE_GRAD: f64 = 1e-6;

/// Our end-to-end optimiser step (from our gradients) against the fixture's.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct EndToEnd {
    /// The fraction of entries within `step_abs`.
    pub fraction_within: f64,
    pub max_abs: f64,
    /// Entries beyond `step_abs`, and how many of them have an official gradient below
    /// [`NOISE_GRAD`].
    pub outside: usize,
    pub outside_small_grad: usize,
}

/// One comparison.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Diff {
    pub max_abs: f64,
    pub rel: f64,
}

/// Tolerances of a parity run; a spec's `parity { tolerance { ... } }` section overrides them.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Tolerances {
    /// Outputs and activations, relative.
    pub forward_rel: f64,
    /// Gradients, relative per tensor (`None`: not checked per tensor).
    pub grad_rel: Option<f64>,
    /// Gradients, global relative L2 error over all of them (`None`: not checked).
    pub grad_global_rel_l2: Option<f64>,
    /// Weights after one optimiser step, absolute.
    pub step_abs: f64,
    /// With `step_fraction`: at least this fraction of entries within `step_abs`, and all
    /// within `step_max_abs`. Without it: every entry whose official gradient is at least
    /// [`NOISE_GRAD`] within `step_abs`, the rest within twice the learning rate.
    pub step_fraction: Option<f64>,
    pub step_max_abs: Option<f64>,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            forward_rel: 1e-4,
            grad_rel: Some(1e-3),
            grad_global_rel_l2: None,
            step_abs: 1e-5,
            step_fraction: None,
            step_max_abs: None,
        }
    }
}

/// The parity report (`mcmr parity --json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ParityReport {
    pub outputs: BTreeMap<String, Diff>,
    pub activations: BTreeMap<String, Diff>,
    pub grads: BTreeMap<String, Diff>,
    pub grads_global_rel_l2: Option<f64>,
    /// Per tensor, over the entries whose official gradient is at least `NOISE_GRAD`.
    pub step: BTreeMap<String, Diff>,
    /// Batch-norm running statistics after the step's training-mode forward (PyTorch's
    /// momentum update), against the fixture's `weights_after` file; held to `forward_rel`.
    pub running_stats: BTreeMap<String, Diff>,
    /// Entries whose official |gradient| is below `NOISE_GRAD`: there RMSprop's first step
    /// `lr·g/(√(1−α)·|g| + ε)` amplifies float32 rounding of `g` (by about 2.5e4 at |g| = 1e-7),
    /// so they are held to `2·lr` instead of the step tolerance.
    pub step_noise_entries: usize,
    pub step_noise_max_abs: f64,
    /// Fraction of all compared step entries within `step_abs`.
    pub step_fraction_within: Option<f64>,
    /// Step entries beyond `step_abs`, and how many of them have an official gradient below
    /// [`NOISE_GRAD`] after the official clipping: there an adaptive optimiser's first step
    /// `lr·g/(|g| + ε)` turns the gradient's float32 rounding into a visible difference.
    pub step_outside: usize,
    pub step_outside_small_grad: usize,
    /// With `step_grads = "official"` (the step's tolerances then judge the update rule on the
    /// fixture's gradients): our own end-to-end step, from our gradients.
    pub step_end_to_end: Option<EndToEnd>,
    /// Global gradient norm before clipping (when the spec clips).
    pub grad_norm_before_clip: Option<f64>,
    pub loss: Option<(f64, f64)>,
    pub tolerances: Tolerances,
    /// `float64` or `float32`: the precision of our side of the comparison.
    pub precision: String,
    pub pass: bool,
    pub notes: Vec<String>,
}

fn diff(a: &[f64], b: &[f64]) -> Diff {
    let max_abs = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    Diff { max_abs, rel: if scale > 0.0 { max_abs / scale } else { max_abs } }
}

fn host(t: Tensor<4>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().expect("float data")
}

fn tensor(t: &StTensor, device: &Device) -> Result<Tensor<4>, String> {
    let mut s = [1usize; 4];
    if t.shape.len() > 4 {
        return Err(format!("a tensor of rank {} cannot be a network input", t.shape.len()));
    }
    // Left-pad to rank 4 (a [B, H, W] target becomes [B, 1, H, W]).
    let off = 4 - t.shape.len();
    s[off..].copy_from_slice(&t.shape);
    let data: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
    Ok(Tensor::<4>::from_data(TensorData::new(data, s), device))
}

/// The key map of the spec's `weights` section: `map = [["pattern*", "replacement$1"], ...]`
/// from the kit's parameter paths to the checkpoint's keys (see [`crate::model::map_key`]).
pub fn key_map(sections: &[Section]) -> Result<(KeyMap, Vec<String>), String> {
    let mut map = KeyMap::new();
    let mut ignore = Vec::new();
    let pair_error = || "each `weights.map` entry must be [\"pattern\", \"replacement\"]".to_string();
    for sec in sections.iter().filter(|s| s.kind == "weights") {
        if let Some(s) = sec.sections.first() {
            return Err(format!("unexpected section `{}` in `weights`", s.kind));
        }
        for (key, value) in &sec.settings {
            match key.as_str() {
                "map" => {
                    let rows = value.list().ok_or("`weights.map` must be a list of [pattern, replacement] pairs")?;
                    for row in rows {
                        match row.list() {
                            Some([a, b]) => match (a.str(), b.str()) {
                                (Some(a), Some(b)) => map.push((a.to_string(), b.to_string())),
                                _ => return Err(pair_error()),
                            },
                            _ => return Err(pair_error()),
                        }
                    }
                }
                "ignore" => {
                    let items = value.list().ok_or("`weights.ignore` must be a list of patterns")?;
                    for it in items {
                        ignore.push(it.str().ok_or("`weights.ignore` entries must be strings")?.to_string());
                    }
                }
                _ => return Err(format!("unknown `weights` setting `{key}` (expected `map` or `ignore`)")),
            }
        }
    }
    Ok((map, ignore))
}

/// The training step the spec's `parity` section declares.
struct StepSpec {
    loss: Setting,
    optimizer: Optimizer,
    /// The optimiser as written, for a second, fresh copy.
    optimizer_call: Setting,
    clip_grad_norm: Option<f64>,
    grads: String,
    weights_after: String,
    /// `step_grads = "official"`: the step's tolerances judge the update applied to the
    /// fixture's own gradients; our end-to-end step is reported beside it.
    official_grads: bool,
}

/// The names of the spec's training steps: `None` for the unnamed `parity` section, then the
/// named ones in spec order (empty when the spec has no `parity` section).
pub fn steps(sections: &[Section]) -> Vec<Option<String>> {
    sections.iter().filter(|s| s.kind == "parity").map(|s| s.name.clone()).collect()
}

/// How a fixture stores what the network computes, from the `parity` section:
/// `output_prefix = "net."` (outputs stored as `net.NAME`) and `channels_last = ["KEY", ...]`
/// (keys, `*` matching any run of characters, of tensors stored `[B, H, W, C]`, as DuDoRNet
/// keeps k-space, read as `[B, C, H, W]`; token sets `[B, N, C]` are read as `[B, C, N, 1]`).
#[derive(Default)]
struct FixtureLayout {
    output_prefix: Option<String>,
    channels_last: Vec<String>,
}

fn fixture_layout(sections: &[Section], step: Option<&str>) -> Result<FixtureLayout, String> {
    let mut layout = FixtureLayout::default();
    let Some(sec) = sections.iter().find(|s| s.kind == "parity" && s.name.as_deref() == step) else {
        return Ok(layout);
    };
    for (key, value) in &sec.settings {
        match key.as_str() {
            "output_prefix" => {
                layout.output_prefix = Some(value.str().ok_or("`output_prefix` must be a string")?.to_string())
            }
            "channels_last" => {
                let items = value.list().ok_or("`channels_last` must be a list of fixture keys")?;
                for it in items {
                    layout.channels_last.push(it.str().ok_or("`channels_last` entries must be strings")?.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(layout)
}

impl FixtureLayout {
    /// The tensors of one fixture file, those named in `channels_last` permuted from
    /// `[B, H, W, C]` to `[B, C, H, W]`.
    fn read(&self, path: &Path) -> Result<BTreeMap<String, StTensor>, String> {
        let mut tensors = read_safetensors(path).map_err(|e| e.to_string())?;
        for (key, t) in tensors.iter_mut() {
            if self.channels_last.iter().any(|p| glob(p, key)) {
                channels_first(t).map_err(|e| format!("{}: `{key}`: {e}", path.display()))?;
            }
        }
        Ok(tensors)
    }
}

/// Whether `key` matches `pattern`, where `*` stands for any run of characters. Greedy with
/// backtracking to the last `*`: at most `len(pattern)·len(key)` steps.
fn glob(pattern: &str, key: &str) -> bool {
    let (p, k): (Vec<char>, Vec<char>) = (pattern.chars().collect(), key.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < k.len() {
        if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == k[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            // Let the last `*` take one more character.
            star = Some((si, sj + 1));
            i = si + 1;
            j = sj + 1;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// `[B, H, W, C]` → `[B, C, H, W]` in place; tokens `[B, N, C]` → `[B, C, N, 1]`.
fn channels_first(t: &mut StTensor) -> Result<(), String> {
    let (b, h, w, c) = match *t.shape.as_slice() {
        [b, h, w, c] => (b, h, w, c),
        [b, n, c] => (b, n, 1, c),
        _ => return Err(format!("`channels_last` needs a tensor of rank 3 or 4, this one has shape {:?}", t.shape)),
    };
    let mut out = vec![0.0; t.data.len()];
    for bi in 0..b {
        for y in 0..h {
            for x in 0..w {
                for ci in 0..c {
                    out[((bi * c + ci) * h + y) * w + x] = t.data[((bi * h + y) * w + x) * c + ci];
                }
            }
        }
    }
    t.data = out;
    t.shape = vec![b, c, h, w];
    Ok(())
}

fn number(e: &Setting) -> Result<f64, String> {
    e.num().ok_or_else(|| "expected a number".into())
}

fn step_spec(sections: &[Section], step: Option<&str>, tol: &mut Tolerances) -> Result<Option<StepSpec>, String> {
    let Some(sec) = sections.iter().find(|s| s.kind == "parity" && s.name.as_deref() == step) else {
        return match step {
            Some(name) => Err(format!("the spec has no `parity {name}` section")),
            None => Ok(None),
        };
    };
    let (mut loss, mut opt, mut clip) = (None, None, None);
    let mut official_grads = false;
    let (mut grads, mut weights_after) =
        ("grads.safetensors".to_string(), "weights_after_step.safetensors".to_string());
    for (key, value) in &sec.settings {
        let file = || value.str().map(str::to_string).ok_or_else(|| format!("`{key}` must be a file name"));
        match key.as_str() {
            "loss" => loss = Some(value.clone()),
            "optimizer" => opt = Some((Optimizer::from_call(value)?, value.clone())),
            "step_grads" => {
                official_grads = match value.str() {
                    Some("official") => true,
                    Some("ours") => false,
                    _ => return Err("`step_grads` is \"ours\" (default) or \"official\"".into()),
                }
            }
            "clip_grad_norm" => clip = Some(number(value).map_err(|e| format!("`clip_grad_norm`: {e}"))?),
            "grads" => grads = file()?,
            "weights_after" => weights_after = file()?,
            "output_prefix" | "channels_last" => {}
            k => {
                return Err(format!(
                    "unknown parity setting `{k}` (expected `loss`, `optimizer`, `clip_grad_norm`, `grads`, `weights_after`, `step_grads`, `output_prefix`, `channels_last`)"
                ))
            }
        }
    }
    for t in &sec.sections {
        if t.kind != "tolerance" {
            return Err(format!("unexpected section `{}` in `parity`", t.kind));
        }
        if !t.sections.is_empty() {
            return Err("`tolerance` holds settings only".into());
        }
        for (key, value) in &t.settings {
            let x = number(value).map_err(|e| format!("`tolerance.{key}`: {e}"))?;
            match key.as_str() {
                "forward_rel" => tol.forward_rel = x,
                "grad_rel" => tol.grad_rel = Some(x),
                "grad_global_rel_l2" => {
                    tol.grad_global_rel_l2 = Some(x);
                    tol.grad_rel = None;
                }
                "step_abs" => tol.step_abs = x,
                "step_fraction" => tol.step_fraction = Some(x),
                "step_max_abs" => tol.step_max_abs = Some(x),
                other => return Err(format!("unknown tolerance `{other}`")),
            }
        }
    }
    match (loss, opt) {
        (Some(loss), Some((optimizer, optimizer_call))) => Ok(Some(StepSpec {
            loss,
            optimizer,
            optimizer_call,
            clip_grad_norm: clip,
            grads,
            weights_after,
            official_grads,
        })),
        _ => Err("the parity section needs both `loss` and `optimizer`".into()),
    }
}

/// Runs forward, backward and one optimiser step of the compiled spec against a fixture.
/// The spec's `weights` section supplies the key map and the ignored checkpoint keys.
///
/// With `float64`, the weights and inputs are widened to float64 and the whole run (forward,
/// backward, step) is done in float64; the comparison is then with PyTorch's float32 tensors.
pub fn run(
    sections: &[Section],
    model: CompiledModel,
    fixture: &Path,
    tol: Tolerances,
    float64: bool,
) -> Result<ParityReport, String> {
    run_step(sections, None, model, fixture, tol, float64)
}

/// As [`run`], with the training step of the `parity NAME` section (`None`: the unnamed one).
pub fn run_step(
    sections: &[Section],
    step: Option<&str>,
    model: CompiledModel,
    fixture: &Path,
    tol: Tolerances,
    float64: bool,
) -> Result<ParityReport, String> {
    let mut tol = tol;
    let layout = fixture_layout(sections, step)?;
    let step = step_spec(sections, step, &mut tol)?;
    let (map, ignore) = key_map(sections)?;
    let map = &map;
    let read = |name: &str| layout.read(&fixture.join(name));
    let device = Device::flex().autodiff();
    let weights = read("weights.safetensors")?;
    let model = model
        .load_tensors(&weights, map, &ignore, &fixture.join("weights.safetensors").display().to_string())
        .map_err(|e| e.to_string())?;
    let model = if float64 { model.to_float64() } else { model };
    let widen = |t: Tensor<4>| if float64 { t.cast(burn::tensor::DType::F64) } else { t };
    let graph = model.graph().clone();
    let inputs = read("inputs.safetensors")?;
    let mut xs = Vec::new();
    for i in &graph.inputs {
        let t = inputs.get(&i.name).ok_or_else(|| {
            format!(
                "inputs.safetensors has no `{}` (it has {})",
                i.name,
                inputs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        xs.push(widen(tensor(t, &device)?));
    }
    let (values, batch_stats) = model.forward_all_stats(xs.clone(), true).map_err(|e| e.to_string())?;
    let expected = read("outputs.safetensors")?;
    let mut notes = Vec::new();
    let mut outputs = BTreeMap::new();
    // An output is compared under its own name or `train.NAME` (training mode: batch norms use
    // batch statistics), and under `eval.NAME` after an evaluation-mode forward (running
    // statistics), when the fixture has those.
    let has_eval = graph.outputs.iter().any(|(name, _)| expected.contains_key(&format!("eval.{name}")));
    let eval_values = if has_eval {
        let detached = xs.iter().map(|x| x.clone().detach()).collect();
        Some(model.forward_all(detached, false).map_err(|e| e.to_string())?)
    } else {
        None
    };
    for (name, id) in &graph.outputs {
        let mut found = false;
        let prefixed = layout.output_prefix.as_ref().map(|p| format!("{p}{name}"));
        for key in [Some(name.clone()), Some(format!("train.{name}")), prefixed].into_iter().flatten() {
            if let Some(t) = expected.get(&key) {
                outputs.insert(key, diff(&host(values[*id].clone()), &t.data));
                found = true;
            }
        }
        if let (Some(ev), Some(t)) = (&eval_values, expected.get(&format!("eval.{name}"))) {
            outputs.insert(format!("eval.{name}"), diff(&host(ev[*id].clone()), &t.data));
            found = true;
        }
        if !found {
            notes.push(format!("output `{name}` is not in outputs.safetensors"));
        }
    }
    // The n-th call of a block under one instance path is `act.PATH.call{n}` (PyTorch's forward
    // hooks); a module returning a tuple is hooked as `...call{n}.out0`, its first element.
    // `PATH.call{n}` may also go through the `weights` key map (MANet's fusion modules).
    let mut activations = BTreeMap::new();
    let mut calls: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, id) in &graph.activations {
        let n = calls.entry(path.as_str()).or_insert(0);
        // The spec's paths, or mapped through the `weights` section as parameters are.
        let call = format!("{path}.call{n}");
        *n += 1;
        let mapped = crate::model::map_key(map, &call);
        let candidates = [&call, &mapped].map(|c| [format!("act.{c}"), format!("act.{c}.out0")]);
        for k in candidates.into_iter().flatten() {
            if let Some(t) = expected.get(&k) {
                activations.insert(k, diff(&host(values[*id].clone()), &t.data));
                break;
            }
        }
    }
    let unmapped = expected.keys().filter(|k| k.starts_with("act.") && !activations.contains_key(*k)).count();
    if unmapped > 0 {
        notes.push(format!("{unmapped} fixture activations have no block call with that instance path"));
    }
    let mut report = ParityReport {
        outputs,
        activations,
        grads: BTreeMap::new(),
        grads_global_rel_l2: None,
        step: BTreeMap::new(),
        running_stats: BTreeMap::new(),
        step_noise_entries: 0,
        step_noise_max_abs: 0.0,
        step_fraction_within: None,
        step_outside: 0,
        step_outside_small_grad: 0,
        step_end_to_end: None,
        grad_norm_before_clip: None,
        loss: None,
        tolerances: tol,
        precision: if float64 { "float64" } else { "float32" }.into(),
        pass: false,
        notes,
    };
    let forward_only = step.as_ref().is_some_and(|s| !fixture.join(&s.grads).exists());
    if let Some(s) = step.as_ref().filter(|_| forward_only) {
        report.notes.push(format!(
            "forward only: `{}` has no {}, so gradients and the optimiser step were not compared",
            fixture.display(),
            s.grads
        ));
    }
    if let Some(step) = step.filter(|_| !forward_only) {
        let mut named: BTreeMap<String, Tensor<4>> =
            graph.outputs.iter().map(|(n, id)| (n.clone(), values[*id].clone())).collect();
        // Targets are stored as [B, H, W] or [B, 1, H, W]: give them the first output's shape.
        let out_dims = graph.outputs.first().map(|(_, id)| values[*id].dims());
        for (k, t) in read("target.safetensors")? {
            if !k.starts_with("aux.") {
                let mut x = widen(tensor(&t, &device)?);
                if let Some(d) = out_dims.filter(|d| d.iter().product::<usize>() == t.data.len()) {
                    x = x.reshape(d);
                }
                named.insert(k, x);
            }
        }
        let parsed = step.loss.loss().map_err(|d| d.message)?;
        let complex: std::collections::BTreeSet<String> = model
            .graph()
            .outputs
            .iter()
            .filter(|(_, v)| model.graph().is_complex(*v))
            .map(|(n, _)| n.clone())
            .collect();
        let (loss, _) = crate::loss::evaluate(&parsed, &named, &complex)?;
        let loss_value = loss.clone().into_data().convert::<f64>().try_to_vec::<f64>().expect("loss")[0];
        if let Some(l) = expected.get("loss").or_else(|| expected.get("train.loss")) {
            report.loss = Some((loss_value, l.data[0]));
        }
        let grads = loss.backward();
        let want_grads = read(&step.grads)?;
        let after = read(&step.weights_after)?;
        let (mut num, mut den) = (0.0, 0.0);
        let mut host_params = Vec::new();
        let mut host_grads = Vec::new();
        let specs = model.param_specs().to_vec();
        for (i, s) in specs.iter().enumerate() {
            let key = crate::model::map_key(map, &s.path);
            let p = model.params[i].val();
            let g = p.grad(&grads).map(|g| g.into_data().convert::<f64>().try_to_vec::<f64>().expect("grad"));
            if let (Some(g), Some(w)) = (&g, want_grads.get(&format!("grad.{key}"))) {
                report.grads.insert(key.clone(), diff(g, &w.data));
                num += g.iter().zip(&w.data).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
                den += w.data.iter().map(|b| b * b).sum::<f64>();
            }
            host_params.push(host(p.inner()));
            host_grads.push(g);
        }
        report.grads_global_rel_l2 = Some(if den > 0.0 { (num / den).sqrt() } else { num.sqrt() });
        if let Some(max_norm) = step.clip_grad_norm {
            report.grad_norm_before_clip = Some(crate::optim::clip_grad_norm(&mut host_grads, max_norm));
        }
        // The official clipping coefficient (PyTorch: max_norm / (norm + 1e-6), at most 1).
        let official_clip = step.clip_grad_norm.map_or(1.0, |max| (max / (den.sqrt() + 1e-6)).min(1.0));
        let mut opt = step.optimizer;
        let lr = opt.lr();
        let before = host_params.clone();
        opt.step(&mut host_params, &host_grads);
        // Every step entry against the fixture's weights after the step.
        let compare = |params: &[Vec<f64>], report: &mut ParityReport| {
            let (mut within, mut total) = (0usize, 0usize);
            for (s, p) in specs.iter().zip(params) {
                let key = crate::model::map_key(map, &s.path);
                let (Some(w), Some(g)) = (after.get(&key), want_grads.get(&format!("grad.{key}"))) else { continue };
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                for ((a, b), gi) in p.iter().zip(&w.data).zip(&g.data) {
                    total += 1;
                    within += ((a - b).abs() <= tol.step_abs) as usize;
                    if (a - b).abs() > tol.step_abs {
                        report.step_outside += 1;
                        report.step_outside_small_grad += ((gi * official_clip).abs() < NOISE_GRAD) as usize;
                    }
                    if tol.step_fraction.is_some() || gi.abs() >= NOISE_GRAD {
                        ours.push(*a);
                        theirs.push(*b);
                    } else {
                        report.step_noise_entries += 1;
                        report.step_noise_max_abs = report.step_noise_max_abs.max((a - b).abs());
                    }
                }
                report.step.insert(key, diff(&ours, &theirs));
            }
            report.step_fraction_within = (total > 0).then(|| within as f64 / total as f64);
        };
        compare(&host_params, &mut report);
        if step.official_grads {
            // The update rule alone: the same optimiser, fresh, on the fixture's own gradients
            // (clipped as the official code clips them). Our end-to-end step stays reported.
            report.step_end_to_end = Some(EndToEnd {
                fraction_within: report.step_fraction_within.unwrap_or(0.0),
                max_abs: report.step.values().map(|d| d.max_abs).fold(0.0, f64::max),
                outside: report.step_outside,
                outside_small_grad: report.step_outside_small_grad,
            });
            report.step.clear();
            (report.step_outside, report.step_outside_small_grad) = (0, 0);
            (report.step_noise_entries, report.step_noise_max_abs) = (0, 0.0);
            let mut official: Vec<Option<Vec<f64>>> = specs
                .iter()
                .zip(&host_grads)
                .map(|(s, ours)| {
                    let key = crate::model::map_key(map, &s.path);
                    ours.as_ref().and(want_grads.get(&format!("grad.{key}")).map(|g| g.data.clone()))
                })
                .collect();
            if let Some(max_norm) = step.clip_grad_norm {
                crate::optim::clip_grad_norm(&mut official, max_norm);
            }
            let mut fresh = Optimizer::from_call(&step.optimizer_call)?;
            let mut params = before;
            fresh.step(&mut params, &official);
            compare(&params, &mut report);
        }
        let mut model = model;
        model.update_running_stats(&batch_stats);
        for (i, s) in specs.iter().enumerate().filter(|(_, s)| s.buffer) {
            let key = crate::model::map_key(map, &s.path);
            if let Some(w) = after.get(&key) {
                let ours = host(model.params[i].val());
                report.running_stats.insert(key, diff(&ours, &w.data));
            }
        }
        if tol.step_fraction.is_none() && report.step_noise_max_abs > 2.0 * lr {
            report.notes.push(format!("noise-regime step entries differ by {:.3e} > 2·lr", report.step_noise_max_abs));
        }
    } else if !forward_only {
        report
            .notes
            .push("the spec has no `parity` section: gradients and the optimiser step were not compared".into());
    }
    report.tolerances = tol;
    let step_ok = match tol.step_fraction {
        Some(fraction) => {
            report.step_fraction_within.is_none_or(|f| f >= fraction)
                && report.step.values().all(|d| d.max_abs <= tol.step_max_abs.unwrap_or(f64::INFINITY))
        }
        None => {
            report.step.values().all(|d| d.max_abs <= tol.step_abs)
                && !report.notes.iter().any(|n| n.starts_with("noise-regime"))
        }
    };
    report.pass = !report.outputs.is_empty()
        && report
            .outputs
            .values()
            .chain(report.activations.values())
            .chain(report.running_stats.values())
            .all(|d| d.rel <= tol.forward_rel)
        && tol.grad_rel.is_none_or(|t| report.grads.values().all(|d| d.rel <= t))
        && tol.grad_global_rel_l2.is_none_or(|t| report.grads_global_rel_l2.is_none_or(|g| g <= t))
        && step_ok;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_runs_of_characters() {
        assert!(glob("act.cross_transformer.layers.*", "act.cross_transformer.layers.1.0.call0"));
        assert!(glob("net.r*_kspc_*", "net.r12_kspc_img_dc_pred"));
        assert!(glob("exact", "exact") && glob("*", "") && glob("a*b*c", "aXbYbZc"));
        assert!(!glob("act.*.call1", "act.head.call0") && !glob("a*b", "ba") && !glob("abc", "ab"));
    }
}
