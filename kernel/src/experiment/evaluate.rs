//! Evaluation of a model on a dataset part under a metric protocol.
//!
//! Predictions and targets are brought back to the data's intensities first (the inverse of
//! each item's target normalisation), then grouped into volumes by subject (slices in order)
//! and scored with [`crate::protocols::evaluate`]. Volume protocols (`fastmri-volume`) report
//! mean ± std over volumes; per-slice protocols over every slice of every volume.

use crate::data::dataset::{Dataset, MaskPolicy, SliceItem};
use crate::experiment::batch::tensors;
use crate::io::volume::Volume;
use crate::lpips::Lpips;
use crate::masks::MaskParams;
use crate::model::CompiledModel;
use crate::protocols::{evaluate, mean_std, Protocol};
use burn::module::Module;
use burn::tensor::Device;
use std::collections::BTreeMap;

/// Mean and population standard deviation of one metric.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

/// One slice's scores.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SliceScore {
    /// The test pattern (evaluations grouped by pattern only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    pub subject: String,
    pub slice: usize,
    pub psnr: f64,
    pub ssim: f64,
    pub nmse: f64,
    /// LPIPS (AlexNet, v0.1) when the user supplied its weights (`MCMR_LPIPS_WEIGHTS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpips: Option<f64>,
}

/// One volume's scores under the protocol.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VolumeScore {
    /// The test pattern (evaluations grouped by pattern only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    pub subject: String,
    pub slices: usize,
    pub psnr: f64,
    pub ssim: f64,
    pub nmse: f64,
}

/// The results of one evaluation (`results.json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalResult {
    pub protocol: String,
    pub protocol_version: u32,
    pub part: String,
    /// What the mean and std run over: `volumes` or `slices`.
    pub unit: String,
    pub metrics: BTreeMap<String, MeanStd>,
    pub per_volume: Vec<VolumeScore>,
    pub per_slice: Vec<SliceScore>,
    /// With `evaluate { group = "pattern" }`: the metrics under each test pattern, in the
    /// spec's order (`metrics` then pools every pattern's scores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupScore>,
    /// The LPIPS weights file (path and FNV-1a hash) when `lpips` was scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpips_weights: Option<String>,
}

/// The metrics of one group of an evaluation (one test pattern).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupScore {
    pub pattern: String,
    pub metrics: BTreeMap<String, MeanStd>,
    /// An `evaluate { pattern { ... } }` pattern: scored on its own, not pooled into `metrics`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extra: bool,
}

impl EvalResult {
    /// The mean of `metric` (`psnr`, `ssim`, `nmse`), or of one group's with `metric@pattern`
    /// (`psnr@random 4x cf 0.08`, the pattern's label as the groups show it).
    pub fn mean(&self, metric: &str) -> Option<f64> {
        self.stat(metric).map(|m| m.mean)
    }

    /// As [`EvalResult::mean`], mean and std.
    pub fn stat(&self, metric: &str) -> Option<&MeanStd> {
        match metric.split_once('@') {
            Some((m, group)) => self.groups.iter().find(|g| g.pattern == group).and_then(|g| g.metrics.get(m)),
            None => self.metrics.get(metric),
        }
    }
}

/// One evaluated slice in data intensities, kept for figures.
pub struct Example {
    pub item: SliceItem,
    pub prediction: Vec<f64>,
    pub target: Vec<f64>,
    pub zero_filled: Vec<f64>,
    pub reference: Vec<f64>,
}

/// How a model is scored: its input bindings, the output that is the reconstruction, the
/// protocol, the part's name for the results, and the batch size and device of the forward passes.
pub struct Scoring<'a> {
    pub model: &'a CompiledModel,
    pub bindings: &'a [Vec<String>],
    pub prediction: &'a str,
    pub protocol: Protocol,
    pub part: &'a str,
    pub batch: usize,
    pub device: &'a Device,
}

/// Runs the model on every item of `data` (epoch 0) and scores its prediction against the
/// targets. Returns the result and the slice `example` (for figures) when asked.
pub fn evaluate_model(
    sc: &Scoring,
    data: &Dataset,
    example: Option<usize>,
) -> Result<(EvalResult, Option<Example>), String> {
    let Scoring { model, bindings, prediction, protocol, part, batch, device } = *sc;
    // Without gradients the autodiff backend records no graph: a batch's activations are freed
    // as the forward pass goes, instead of being held until the batch is done (IGKR-Net's
    // transformers at 32×32 peaked at 4.9 GB here). Same forward ops, same numbers.
    let model = &model.clone().no_grad();
    let mut volumes: Vec<(String, Vec<(usize, Vec<f64>, Vec<f64>)>)> = Vec::new();
    let (mut h, mut w) = (0, 0);
    let mut kept = None;
    let n = data.len();
    if n == 0 {
        return Err(format!("the {part} part of the data is empty"));
    }
    let mut start = 0;
    while start < n {
        let end = (start + batch.max(1)).min(n);
        let items: Vec<SliceItem> =
            (start..end).map(|i| data.get(i, 0).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
        let (inputs, _) = tensors(&items, bindings, &[], device)?;
        // On a worker of rayon's pool on the CPU (threads.rs).
        let out = crate::threads::on_workers(device, || {
            model.forward(inputs.into_iter().map(|t| t.detach()).collect(), false).map_err(|e| e.to_string())
        })?;
        let y =
            out.get(prediction).ok_or_else(|| format!("the network has no output `{prediction}`"))?.clone().detach();
        let [b, c, yh, yw] = y.dims();
        if c != 1 || yh != items[0].height || yw != items[0].width {
            return Err(format!(
                "output `{prediction}` has shape [{c}, {yh}, {yw}] per item but the targets are [1, {}, {}]",
                items[0].height, items[0].width
            ));
        }
        let values = y.into_data().convert::<f64>().try_to_vec::<f64>().map_err(|e| format!("{e:?}"))?;
        for (k, item) in items.into_iter().enumerate().take(b) {
            (h, w) = (item.height, item.width);
            let stats = item.meta.target_stats;
            let mut pred = values[k * yh * yw..(k + 1) * yh * yw].to_vec();
            let mut gt: Vec<f64> = item.target.iter().map(|&v| f64::from(v)).collect();
            stats.invert(&mut pred);
            stats.invert(&mut gt);
            if example == Some(start + k) {
                let mut zf: Vec<f64> = item.input.iter().map(|&v| f64::from(v)).collect();
                item.meta.input_stats.invert(&mut zf);
                let mut reference: Vec<f64> = item.reference.iter().map(|&v| f64::from(v)).collect();
                item.meta.reference_stats.invert(&mut reference);
                kept = Some(Example {
                    prediction: pred.clone(),
                    target: gt.clone(),
                    zero_filled: zf,
                    reference,
                    item: item.clone(),
                });
            }
            let subject = item.meta.subject.clone();
            match volumes.last_mut() {
                Some((s, v)) if *s == subject => v.push((item.meta.slice, gt, pred)),
                _ => volumes.push((subject, vec![(item.meta.slice, gt, pred)])),
            }
        }
        start = end;
    }
    let volume_unit = protocol.aggregate == crate::protocols::Aggregate::Volume;
    let lpips = lpips_weights()?.filter(|_| h >= Lpips::MIN_SIZE && w >= Lpips::MIN_SIZE);
    let (mut per_volume, mut per_slice) = (Vec::new(), Vec::new());
    for (subject, mut slices) in volumes {
        slices.sort_by_key(|s| s.0);
        let gt = Volume::new(slices.len(), h, w, slices.iter().flat_map(|s| s.1.iter().copied()).collect());
        let pred = Volume::new(slices.len(), h, w, slices.iter().flat_map(|s| s.2.iter().copied()).collect());
        let r = evaluate(protocol, &gt, &pred).map_err(|e| format!("subject {subject}: {e}"))?;
        for (s, m) in slices.iter().zip(&r.per_slice) {
            per_slice.push(SliceScore {
                pattern: None,
                subject: subject.clone(),
                slice: s.0,
                psnr: m.psnr,
                ssim: m.ssim,
                nmse: m.nmse,
                lpips: lpips.map(|l| l.magnitude_distance(&s.1, &s.2, h, w)).transpose()?,
            });
        }
        per_volume.push(VolumeScore {
            pattern: None,
            subject,
            slices: slices.len(),
            psnr: r.psnr,
            ssim: r.ssim,
            nmse: r.nmse,
        });
    }
    let metrics = summarise(volume_unit, &per_volume, &per_slice);
    Ok((
        EvalResult {
            protocol: protocol.name().into(),
            protocol_version: crate::protocols::PROTOCOLS_VERSION,
            part: part.into(),
            unit: if volume_unit { "volumes" } else { "slices" }.into(),
            metrics,
            per_volume,
            per_slice,
            groups: Vec::new(),
            lpips_weights: lpips.map(|l| l.describe()),
        },
        kept,
    ))
}

/// Mean ± std of each metric over volumes or over slices.
fn summarise(volume_unit: bool, per_volume: &[VolumeScore], per_slice: &[SliceScore]) -> BTreeMap<String, MeanStd> {
    let mut metrics = BTreeMap::new();
    for name in ["psnr", "ssim", "nmse"] {
        let pick = |psnr: f64, ssim: f64, nmse: f64| match name {
            "psnr" => psnr,
            "ssim" => ssim,
            _ => nmse,
        };
        let values: Vec<f64> = if volume_unit {
            per_volume.iter().map(|v| pick(v.psnr, v.ssim, v.nmse)).collect()
        } else {
            per_slice.iter().map(|v| pick(v.psnr, v.ssim, v.nmse)).collect()
        };
        let (mean, std) = mean_std(&values);
        metrics.insert(name.to_string(), MeanStd { mean, std });
    }
    // LPIPS is per slice; under a volume protocol each volume's slices are averaged first.
    let lp: Option<Vec<f64>> = per_slice.iter().map(|s| s.lpips).collect();
    if let Some(lp) = lp.filter(|v| !v.is_empty()) {
        let values: Vec<f64> = if volume_unit {
            let mut by_volume: Vec<(&str, Vec<f64>)> = Vec::new();
            for (s, v) in per_slice.iter().zip(&lp) {
                match by_volume.iter_mut().find(|(id, _)| *id == s.subject) {
                    Some((_, vs)) => vs.push(*v),
                    None => by_volume.push((&s.subject, vec![*v])),
                }
            }
            by_volume.iter().map(|(_, vs)| vs.iter().sum::<f64>() / vs.len() as f64).collect()
        } else {
            lp
        };
        let (mean, std) = mean_std(&values);
        metrics.insert("lpips".to_string(), MeanStd { mean, std });
    }
    metrics
}

/// The LPIPS network of `MCMR_LPIPS_WEIGHTS`, loaded once per process; `None` when unset.
fn lpips_weights() -> Result<Option<&'static Lpips>, String> {
    static WEIGHTS: std::sync::OnceLock<Option<Result<Lpips, String>>> = std::sync::OnceLock::new();
    match WEIGHTS.get_or_init(Lpips::from_env) {
        None => Ok(None),
        Some(Ok(l)) => Ok(Some(l)),
        Some(Err(e)) => Err(e.clone()),
    }
}

/// [`evaluate_model`], or with `by_pattern` every item under every pattern of the data's test
/// mask (`pattern { ... }` sections, each drawn as an online mask of epoch 0, so an item meets
/// the mask it would meet when that pattern is drawn): one [`GroupScore`] per pattern, and
/// `metrics` over the scores of all patterns. The example is the first pattern's. Then every
/// `extra` pattern is scored as a group of its own, outside `metrics`, and the extra patterns
/// that share a `pools` name are also pooled into a group of that name (after the single ones,
/// in the order the names first appear).
pub fn evaluate_grouped(
    sc: &Scoring,
    data: &Dataset,
    example: Option<usize>,
    by_pattern: bool,
    extra: &[MaskParams],
    pools: &[Option<String>],
) -> Result<(EvalResult, Option<Example>), String> {
    let (mut r, ex) = pooled(sc, data, example, by_pattern)?;
    let mut pooled_scores: Vec<(String, Vec<VolumeScore>, Vec<SliceScore>)> = Vec::new();
    for (i, p) in extra.iter().enumerate() {
        let (one, _) = evaluate_model(sc, &data.with_mask(MaskPolicy::Online(p.clone())), None)?;
        r.groups.push(GroupScore { pattern: p.label(), metrics: one.metrics, extra: true });
        if let Some(Some(name)) = pools.get(i) {
            let at = match pooled_scores.iter().position(|(n, _, _)| n == name) {
                Some(at) => at,
                None => {
                    pooled_scores.push((name.clone(), Vec::new(), Vec::new()));
                    pooled_scores.len() - 1
                }
            };
            pooled_scores[at].1.extend(one.per_volume);
            pooled_scores[at].2.extend(one.per_slice);
        }
    }
    for (name, volumes, slices) in pooled_scores {
        let metrics = summarise(r.unit == "volumes", &volumes, &slices);
        r.groups.push(GroupScore { pattern: name, metrics, extra: true });
    }
    Ok((r, ex))
}

fn pooled(
    sc: &Scoring,
    data: &Dataset,
    example: Option<usize>,
    by_pattern: bool,
) -> Result<(EvalResult, Option<Example>), String> {
    if !by_pattern {
        return evaluate_model(sc, data, example);
    }
    let MaskPolicy::OnlineChoice(patterns) = &data.config().mask else {
        return Err("grouping by pattern needs a test mask of `pattern { ... }` sections".into());
    };
    let mut all: Option<(EvalResult, Option<Example>)> = None;
    for (j, p) in patterns.iter().enumerate() {
        let one = data.with_mask(MaskPolicy::Online(p.clone()));
        let (mut r, ex) = evaluate_model(sc, &one, example.filter(|_| j == 0))?;
        let label = p.label();
        r.per_slice.iter_mut().for_each(|s| s.pattern = Some(label.clone()));
        r.per_volume.iter_mut().for_each(|v| v.pattern = Some(label.clone()));
        let group = GroupScore { pattern: label, metrics: r.metrics.clone(), extra: false };
        match &mut all {
            None => {
                r.groups.push(group);
                all = Some((r, ex));
            }
            Some((acc, _)) => {
                acc.per_slice.extend(r.per_slice);
                acc.per_volume.extend(r.per_volume);
                acc.groups.push(group);
            }
        }
    }
    let (mut r, ex) = all.ok_or("the test mask lists no pattern")?;
    r.metrics = summarise(r.unit == "volumes", &r.per_volume, &r.per_slice);
    Ok((r, ex))
}
