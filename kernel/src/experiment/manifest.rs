//! A run's manifest (`manifest.json`): provenance (kit version, git commit, the spec's hash),
//! what the run is (paper, variant, experiment, scale, network, data, masks, protocol, seed,
//! published cells) and its status; reading it back, and deciding whether a finished run can
//! be taken as it is (`finished`).

use crate::experiment::evaluate::EvalResult;
use std::path::{Path, PathBuf};

/// The manifest (`manifest.json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub kit_version: String,
    pub git_commit: String,
    pub spec: String,
    pub spec_hash: String,
    pub paper: String,
    pub variant: String,
    pub experiment: String,
    pub scale: String,
    pub network: String,
    pub parameters: usize,
    pub data: serde_json::Value,
    pub mask: serde_json::Value,
    pub protocol: String,
    pub backend: String,
    pub device: String,
    pub seed: u32,
    pub reproduces: Vec<String>,
    /// The variant the experiment itself names (an ablation row), if any.
    #[serde(default)]
    pub network_variant: Option<String>,
    /// How far each metric may be from the published cells it reproduces.
    #[serde(default)]
    pub tolerance: std::collections::BTreeMap<String, f64>,
    pub status: String,
    pub wall_time_s: f64,
    /// `--data` given on the command line, if any.
    pub data_override: Option<String>,
    /// The training recipe, per stage: loss terms and weights, optimiser as written, schedule,
    /// clipping, batch size and length (which recipe, `code` or `paper`, a row was trained with).
    #[serde(default)]
    pub training: serde_json::Value,
}

/// What a run trains with, per stage, for its manifest.
pub fn describe_training(stages: &[crate::experiment::config::Training]) -> serde_json::Value {
    use crate::experiment::config::{Length, ScheduleUnit};
    let stages: Vec<serde_json::Value> = stages
        .iter()
        .map(|t| {
            let (unit, n) = match t.length {
                Length::Iterations(n) => ("iterations", n),
                Length::Epochs(n) => ("epochs", n),
            };
            serde_json::json!({
                "stage": t.name,
                "loss": t.loss.terms.iter().map(|term| serde_json::json!({"term": term.label, "weight": term.weight})).collect::<Vec<_>>(),
                "optimizer": t.optimizer.render(),
                "schedule": format!("{:?}", t.schedule),
                "schedule_unit": match t.schedule_unit { ScheduleUnit::Iteration => "iteration", ScheduleUnit::Epoch => "epoch" },
                "clip_grad_norm": t.clip_grad_norm,
                "batch_size": t.batch_size,
                unit: n,
                "trains": if t.train.is_empty() { serde_json::json!("all") } else { serde_json::json!(t.train) },
            })
        })
        .collect();
    serde_json::json!(stages)
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub results: EvalResult,
}

/// FNV-1a of every file of a loaded spec (main file first).
pub fn spec_hash(loaded: &mcmr_dsl::Loaded) -> String {
    let h = loaded.files.iter().fold(crate::io::FNV_OFFSET, |h, f| crate::io::fnv1a(h, f.text.as_bytes()));
    format!("{h:016x}")
}

pub(crate) fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Reads a run's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("`{}` is not a run folder: {e}", dir.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The run in `dir` when it is complete, was made by this kit version from `spec` exactly as
/// the spec (with its imports) reads now, and used the spec's own data (no `--data`).
pub fn finished(dir: &Path, spec: &Path) -> Option<RunOutcome> {
    let m = read_manifest(dir).ok()?;
    let hash = spec_hash(&crate::spec::read_spec(spec).ok()?);
    if m.status != "complete"
        || m.kit_version != env!("CARGO_PKG_VERSION")
        || m.spec_hash != hash
        || m.data_override.is_some()
    {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("results.json")).ok()?;
    Some(RunOutcome { dir: dir.to_path_buf(), manifest: m, results: serde_json::from_str(&text).ok()? })
}

/// The data source as manifest JSON.
pub(crate) fn describe_source(d: &crate::data::dataset::DatasetConfig) -> serde_json::Value {
    use crate::data::dataset::Source;
    match &d.source {
        Source::Phantom { kind, subjects, size, slices, seed, options } => serde_json::json!({
            "kind": "phantom",
            "anatomy": format!("{kind:?}").to_lowercase(),
            "subjects": subjects,
            "size": size,
            "slices": slices,
            "seed": seed,
            "lesion": options.lesion,
            "noise": options.noise,
            "bias": options.bias,
        }),
        Source::Folder { root, layout } => serde_json::json!({
            "kind": "folder",
            "path": root.display().to_string(),
            "layout": layout.map(|l| l.name()),
        }),
        Source::FastMri { root, pairs } => serde_json::json!({
            "kind": "fastmri",
            "path": root.display().to_string(),
            "pairs": pairs.display().to_string(),
        }),
        Source::KSpace { root } => serde_json::json!({
            "kind": "kspace",
            "path": root.display().to_string(),
        }),
    }
}

/// A mask policy as manifest JSON.
pub(crate) fn describe_mask(m: &crate::data::dataset::MaskPolicy) -> serde_json::Value {
    use crate::data::dataset::MaskPolicy;
    let params = |p: &crate::masks::MaskParams| {
        let mut v = serde_json::json!({
            "family": p.family.name(),
            "acceleration": p.acceleration,
            "center_fraction": p.center_fraction,
            "seed": p.seed.describe(),
        });
        if p.rounding != crate::masks::Rounding::Nearest {
            v["rounding"] = serde_json::json!(p.rounding.name());
        }
        v
    };
    let (policy, patterns) = match m {
        MaskPolicy::Fixed(p) => ("fixed", vec![params(p)]),
        MaskPolicy::PerSlice(p) => ("per_slice", vec![params(p)]),
        MaskPolicy::PerVolume(p) => {
            // fastMRI's per-file seed: the volume's name, whatever the spec's seed.
            let mut v = params(p);
            v["seed"] = serde_json::json!("per volume: the character codes of its name");
            ("per_volume", vec![v])
        }
        MaskPolicy::Online(p) => ("online", vec![params(p)]),
        MaskPolicy::OnlineChoice(list) => ("online_choice", list.iter().map(params).collect()),
    };
    serde_json::json!({ "policy": policy, "patterns": patterns })
}

/// IMA's stage masks on the run's first test mask: for each distinct DCM setting of `graph`
/// (stages, kernel, δ, ratio), the fill ratio of every stage's mask, stage 1 first (what DCM
/// did to this mask: 1D and 2D masks fill very differently). `None` without DCM nodes.
pub fn describe_dcm(graph: &mcmr_dsl::ir::Graph, mask: Option<&crate::masks::Mask>) -> Option<serde_json::Value> {
    use crate::masks::dcm::{DcmKernel, DcmSchedule};
    use mcmr_dsl::ir::Op;
    let mask = mask?;
    let m0: Vec<bool> = mask.data.iter().map(|&v| v > 0).collect();
    let mut settings: Vec<serde_json::Value> = Vec::new();
    for node in &graph.nodes {
        let Op::DcmMask { stages, kernel, delta, ratio, .. } = &node.op else { continue };
        let about = serde_json::json!({ "stages": stages, "kernel": kernel, "delta": delta, "ratio": ratio });
        if settings.iter().any(|s| s["setting"] == about) {
            continue;
        }
        let fills = DcmKernel::parse(kernel).map(|k| {
            let schedule = DcmSchedule::new(&m0, mask.height, mask.width, *stages, k, *delta, *ratio);
            schedule.stage_fills().iter().map(|f| (f * 1e4).round() / 1e4).collect::<Vec<f64>>()
        });
        settings.push(serde_json::json!({ "setting": about, "stage_fills": fills }));
    }
    (!settings.is_empty()).then(|| serde_json::Value::Array(settings))
}
