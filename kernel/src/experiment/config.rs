//! One run's configuration, read from a spec's `experiment` section at a scale (after the
//! schema check of `mcmr_dsl::sections`): training settings, the datasets of each part, masks,
//! the evaluation protocol and tolerances. Defaults are stated beside each field; every
//! semantic problem is a diagnostic pointing at the setting.

use crate::data::dataset::{Augment, DatasetConfig, Intensity, MaskPolicy, ReferenceStats, Source, Split};
use crate::data::phantom::{Kind, PhantomOptions};
use crate::data::prepare::{Normalisation, Part, Resize, SliceSelection};
use crate::experiment::batch::{field, FIELDS};
use crate::loss::Loss;
use crate::masks::{MaskFamily, MaskParams, Rounding};
use crate::protocols::Protocol;
use crate::rng::Seed;
use crate::schedule::Schedule;
use mcmr_dsl::check::Value;
use mcmr_dsl::diag::Diagnostic;
use mcmr_dsl::plan::{Section, Setting};
use mcmr_dsl::Span;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Whether the schedule steps per iteration or per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ScheduleUnit {
    Iteration,
    Epoch,
}

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Length {
    Iterations(usize),
    Epochs(usize),
}

/// One training stage (a run without `stage` sections has one, `main`; none when the spec gives
/// no loss, or 0 iterations). A stage starts a fresh optimiser unless it continues the previous
/// stage's (`optimizer_state = "continue"`, IGKR-Net's one optimiser throughout).
#[derive(Clone, Debug)]
pub struct Training {
    pub name: String,
    /// Glob patterns of the parameters this stage trains (empty: all); the others keep their values.
    pub train: Vec<String>,
    pub loss: Loss,
    /// `optimizer = ...` (checked by `Optimizer::from_call` when the run starts).
    pub optimizer: Setting,
    pub schedule: Schedule,
    /// Default: iteration.
    pub schedule_unit: ScheduleUnit,
    /// Continue the previous stage's optimiser (`optimizer_state = "continue"`) rather than
    /// start a fresh one (the default).
    pub continue_optimizer: bool,
    /// The schedule's position counts from the run's first step (`schedule_span = "run"`), not
    /// the stage's.
    pub schedule_from_run_start: bool,
    pub clip_grad_norm: Option<f64>,
    /// Default: 1 (PyTorch's `DataLoader`).
    pub batch_size: usize,
    pub length: Length,
    /// Validate every N iterations (default: once, at the end).
    pub validate_every: Option<usize>,
}

/// One run of a spec: an experiment at a scale.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub experiment: String,
    pub scale: String,
    /// Seed of the network's initialisation and of the data order (default 0).
    pub seed: u32,
    /// The network to train (default: the last network of the spec's own file).
    pub network: Option<String>,
    /// The variant the run's network is built under (`variant = "..."`: an ablation row),
    /// applied after the command line's `--variant`.
    pub variant: Option<String>,
    /// Network parameter overrides (`params { in_chans = 2 }`, then `params NETWORK { ... }`).
    pub params: Vec<(String, Value)>,
    /// Published table cells this run reproduces (`table1/fsmnet/4x`).
    pub reproduces: Vec<String>,
    /// The data fields stacked as channels into each network input, in the graph's input order
    /// (`inputs = ["input+reference"]`); default: `input` for the first input, `reference` for a
    /// second one.
    pub inputs: Vec<Vec<String>>,
    /// The network output that is the reconstruction (default: the first output).
    pub prediction: Option<String>,
    /// Training stages in order (empty: nothing to train). Without `stage` sections, one stage
    /// named `main` that trains every parameter.
    pub stages: Vec<Training>,
    pub train_data: DatasetConfig,
    pub val_data: DatasetConfig,
    pub test_data: DatasetConfig,
    /// Default: `fastmri-volume`.
    pub protocol: Protocol,
    /// Default: test.
    pub eval_part: Part,
    /// `evaluate { group = "pattern" }`: every test item under every pattern of the test mask,
    /// scored per pattern (UniFS's tables) as well as pooled.
    pub group_by_pattern: bool,
    /// `evaluate { pattern { ... } }`: further test patterns, each scored as a group of its own
    /// and not pooled into the run's metrics (robustness to patterns the run never saw).
    pub extra_patterns: Vec<MaskParams>,
    /// Each further pattern's `pool` name: patterns with one name are also scored together, as
    /// the group of that name (the mean over their scores, as `group = "pattern"` pools).
    pub extra_pools: Vec<Option<String>>,
    /// Allowed distance from published cells, per metric.
    pub tolerance: BTreeMap<String, f64>,
}

/// What a loss of a run of `graph` may read: the network's outputs and the data fields, each
/// with whether it is complex.
pub fn loss_names(graph: &mcmr_dsl::ir::Graph) -> BTreeMap<String, bool> {
    let mut names: BTreeMap<String, bool> = FIELDS.iter().map(|f| (f.name.to_string(), f.complex)).collect();
    for (name, v) in &graph.outputs {
        names.insert(name.clone(), graph.is_complex(*v));
    }
    names
}

fn err(span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(span, message, "here")
}

/// A section's settings by key, each read as the schema has checked it.
struct Settings<'a> {
    map: BTreeMap<&'a str, &'a Setting>,
    sec: &'a Section,
}

fn settings(sec: &Section) -> Settings<'_> {
    Settings { map: sec.settings.iter().map(|(k, v)| (k.as_str(), v)).collect(), sec }
}

impl<'a> Settings<'a> {
    fn num(&self, key: &str) -> Option<f64> {
        self.map.get(key).and_then(|v| v.num())
    }
    fn int(&self, key: &str) -> Option<usize> {
        self.map.get(key).and_then(|v| v.count())
    }
    fn str(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).and_then(|v| v.str())
    }
    fn bool(&self, key: &str) -> Option<bool> {
        self.map.get(key).and_then(|v| v.bool())
    }
    fn strings(&self, key: &str) -> Vec<String> {
        self.map.get(key).map(|v| v.strings()).unwrap_or_default()
    }
    /// A list of two non-negative integers.
    fn pair(&self, key: &str) -> Option<(usize, usize)> {
        match self.map.get(key)?.list()? {
            [a, b] => Some((a.count()?, b.count()?)),
            _ => None,
        }
    }
    fn section(&self, kind: &str, name: Option<&str>) -> Option<&'a Section> {
        self.sec.section(kind, name)
    }
    fn span(&self, key: &str, fallback: Span) -> Span {
        self.map.get(key).map(|v| v.at).unwrap_or(fallback)
    }
}

/// A mask section (`mask`, `mask train`, `mask test`) as a policy.
fn mask_policy(sec: &Section, default_seed: u32) -> Result<MaskPolicy, Diagnostic> {
    let s = settings(sec);
    let params = |p: &Settings| -> Result<MaskParams, Diagnostic> {
        let family = p.str("family").unwrap_or("random");
        let (family, preset_rounding) =
            MaskFamily::parse_with_preset(family).map_err(|e| err(p.span("family", sec.at), e.to_string()))?;
        let rounding = match p.str("rounding") {
            Some(r) => Rounding::parse(r).map_err(|e| err(p.span("rounding", sec.at), e.to_string()))?,
            None => preset_rounding,
        };
        let acceleration = p.num("acceleration").ok_or_else(|| err(sec.at, "a mask needs `acceleration` (e.g. 4)"))?;
        let params = MaskParams {
            family,
            shape: [0, 0],
            acceleration,
            center_fraction: p.num("center_fraction"),
            seed: Seed::Int(p.int("seed").map(|v| v as u32).unwrap_or(default_seed)),
            rounding,
        };
        params.check_rounding().map_err(|e| err(p.span("rounding", sec.at), e.to_string()))?;
        Ok(params)
    };
    let patterns: Vec<&Section> = sec.all("pattern").collect();
    if !patterns.is_empty() {
        return Ok(MaskPolicy::OnlineChoice(
            patterns.iter().map(|p| params(&settings(p))).collect::<Result<Vec<_>, _>>()?,
        ));
    }
    let p = params(&s)?;
    Ok(match s.str("policy").unwrap_or("fixed") {
        "per_slice" => MaskPolicy::PerSlice(p),
        "per_volume" => MaskPolicy::PerVolume(p),
        "online" => MaskPolicy::Online(p),
        _ => MaskPolicy::Fixed(p),
    })
}

/// The `data` section as a dataset configuration (the mask and part are set by the caller).
fn dataset(sec: Option<&Section>, seed: u32, fallback: Span) -> Result<DatasetConfig, Diagnostic> {
    let empty = Section::empty("data", fallback);
    let sec = sec.unwrap_or(&empty);
    let s = settings(sec);
    let size: Option<[usize; 2]> = match s.map.get("size") {
        Some(v) if v.count().is_some() => v.count().map(|n| [n; 2]),
        _ => s.pair("size").map(|(h, w)| [h, w]),
    };
    let indices: Option<Vec<usize>> =
        s.map.get("slice_indices").and_then(|v| v.list()).map(|l| l.iter().filter_map(|x| x.count()).collect());
    let slices = match indices {
        Some(_) if s.map.contains_key("slices") => {
            return Err(err(s.span("slice_indices", sec.at), "give `slices` or `slice_indices`, not both"));
        }
        Some(indices) => SliceSelection::Indices { indices, min_slices: s.int("min_slices").unwrap_or(0) },
        None => match (s.int("slices"), s.pair("slices")) {
            (Some(n), _) => SliceSelection::Central(n),
            (None, Some((a, b))) => SliceSelection::Range(a, b),
            _ => SliceSelection::All,
        },
    };
    if s.map.contains_key("min_slices") && !matches!(slices, SliceSelection::Indices { .. }) {
        return Err(err(s.span("min_slices", sec.at), "`min_slices` goes with `slice_indices`"));
    }
    let anatomy = s.str("anatomy").unwrap_or("brain");
    let (kind, target, reference) = match anatomy {
        "knee" => (Kind::Knee, "pdfs", "pd"),
        _ => (Kind::Brain, "t2", "t1"),
    };
    // Empty when the spec leaves it to `mcmr reproduce --data PATH` (checked when runs are planned).
    let path = || -> Result<PathBuf, Diagnostic> { Ok(s.str("path").map(PathBuf::from).unwrap_or_default()) };
    let source = match s.str("source").unwrap_or("phantom") {
        "folder" => Source::Folder {
            root: path()?,
            layout: match s.str("layout") {
                Some(l) => Some(crate::data::layout::Layout::parse(l).map_err(|e| err(s.span("layout", sec.at), e))?),
                None => None,
            },
        },
        "fastmri" => Source::FastMri {
            root: path()?,
            pairs: s
                .str("pairs")
                .map(PathBuf::from)
                .ok_or_else(|| err(sec.at, "a fastMRI source needs `pairs` (the PD,PDFS pair list)"))?,
        },
        // Measured single-coil k-space volumes (`.npy` as CC359 ships them, fastMRI `.h5`); `cc359`
        // is the older name.
        "kspace" | "cc359" => Source::KSpace { root: path()? },
        _ => {
            let depth = match slices {
                SliceSelection::Central(n) => n,
                SliceSelection::Range(_, b) => b,
                SliceSelection::All => 16,
                SliceSelection::Indices { .. } => {
                    return Err(err(
                        s.span("slice_indices", sec.at),
                        "`slice_indices` picks slices of real volumes; a phantom takes `slices = N` (its depth)",
                    ));
                }
            };
            Source::Phantom {
                kind,
                subjects: s.int("subjects").unwrap_or(4),
                size: size.map(|[h, w]| h.max(w)).unwrap_or(64),
                slices: depth,
                seed: s.int("seed").map(|v| v as u32).unwrap_or(seed),
                options: PhantomOptions {
                    lesion: s.bool("lesion").unwrap_or(true),
                    noise: s.num("noise").unwrap_or(0.0),
                    ..PhantomOptions::default()
                },
            }
        }
    };
    let split = match s.map.get("split") {
        Some(v) if v.list().is_some() => {
            Split::Ratios(v.list().unwrap_or_default().iter().map(|r| r.num().unwrap_or(0.0)).collect(), seed)
        }
        Some(v) => match v.str() {
            Some(p) => Split::File(PathBuf::from(p)),
            None => Split::None,
        },
        None => Split::None,
    };
    let normalisation = Normalisation::parse(s.str("normalisation").unwrap_or("none"))
        .map_err(|e| err(s.span("normalisation", sec.at), e))?;
    let intensity =
        Intensity::parse(s.str("intensity").unwrap_or("as_stored")).map_err(|e| err(s.span("intensity", sec.at), e))?;
    if intensity != Intensity::AsStored && matches!(source, Source::FastMri { .. }) {
        return Err(err(
            s.span("intensity", sec.at),
            "fastMRI data keep their stored intensities (scored with the volume maximum): leave out `intensity`",
        ));
    }
    let resize = Resize::parse(s.str("resize").unwrap_or("kspace")).map_err(|e| err(s.span("resize", sec.at), e))?;
    let interpolate_to = match s.int("interpolate_to") {
        None => None,
        Some(n) if n >= 2 => Some(n as usize),
        Some(n) => {
            return Err(err(
                s.span("interpolate_to", sec.at),
                format!("`interpolate_to` is a size of at least 2, got {n}"),
            ))
        }
    };
    let degrees = s.int("rotate").unwrap_or(0);
    let orientation = u32::try_from(degrees)
        .ok()
        .and_then(crate::data::prepare::Orientation::rotation)
        .ok_or_else(|| err(s.span("rotate", sec.at), "`rotate` is 0, 90, 180 or 270 (degrees, counter-clockwise)"))?;
    let measured = matches!(source, Source::KSpace { .. });
    let complex_only = normalisation == Normalisation::ComplexStandardise;
    if measured && !matches!(normalisation, Normalisation::None | Normalisation::MinMax) && !complex_only {
        return Err(err(
            s.span("normalisation", sec.at),
            "measured k-space is normalised as a complex image: `normalisation` is none, min_max or complex_standardise",
        ));
    }
    if complex_only && !measured {
        return Err(err(
            s.span("normalisation", sec.at),
            "`complex_standardise` needs complex images (`source = \"cc359\"`); magnitude data use mean_std, instance or min_max",
        ));
    }
    for key in ["rotate", "augment", "intensity", "resize", "interpolate_to"] {
        if measured && (s.map.contains_key(key) || s.section(key, None).is_some()) {
            return Err(err(
                s.span(key, sec.at),
                format!("`{key}` does not apply to measured k-space volumes (`size` cuts the centred k-space)"),
            ));
        }
    }
    let kspace_noise = s.num("kspace_noise").unwrap_or(0.0);
    if kspace_noise > 0.0 && matches!(source, Source::FastMri { .. } | Source::KSpace { .. }) {
        return Err(err(
            s.span("kspace_noise", sec.at),
            "fastMRI k-space is measured and carries its own noise: leave out `kspace_noise`",
        ));
    }
    let kspace_convention = match s.str("kspace_convention") {
        None => crate::kspace::KSpaceConvention::Fft2c,
        Some(c) => crate::kspace::KSpaceConvention::parse(c).ok_or_else(|| {
            err(
                s.span("kspace_convention", sec.at),
                format!("`kspace_convention` is one of {}", crate::kspace::KSpaceConvention::NAMES.join(", ")),
            )
        })?,
    };
    let fastmri_simulated = s.str("fastmri_kspace") == Some("simulated");
    if s.map.contains_key("fastmri_kspace") && !matches!(source, Source::FastMri { .. }) {
        return Err(err(s.span("fastmri_kspace", sec.at), "`fastmri_kspace` applies to `source = \"fastmri\"` only"));
    }
    let reference_stats = match s.str("reference_statistics") {
        Some("zero_filled") => ReferenceStats::ZeroFilled,
        _ => ReferenceStats::Own,
    };
    Ok(DatasetConfig {
        slices,
        size,
        normalisation,
        intensity,
        resize,
        interpolate_to,
        orientation,
        reference_stats,
        split,
        seed,
        kspace_noise,
        kspace_convention,
        fastmri_simulated,
        ..DatasetConfig::new(
            source,
            s.str("target").unwrap_or(target),
            s.str("reference").unwrap_or(reference),
            MaskPolicy::Fixed(MaskParams::new(MaskFamily::Random, [0, 0], 4.0)),
        )
    })
}

/// The training settings of `s` (an experiment, or a stage merged onto it).
fn training(s: &Settings, name: &str, train: Vec<String>, span: Span) -> Result<Option<Training>, Diagnostic> {
    let Some(loss) = s.map.get("loss") else { return Ok(None) };
    let length = match (s.int("iterations"), s.int("epochs")) {
        (Some(0), _) => return Ok(None),
        (Some(n), None) => Length::Iterations(n),
        (None, Some(n)) => Length::Epochs(n),
        (Some(_), Some(_)) => return Err(err(s.span("epochs", span), "give `iterations` or `epochs`, not both")),
        (None, None) => return Err(err(span, "training with a `loss` needs `iterations` or `epochs`")),
    };
    let optimizer =
        (*s.map.get("optimizer").ok_or_else(|| err(span, "training with a `loss` needs an `optimizer`"))?).clone();
    crate::optim::Optimizer::from_call(&optimizer).map_err(|m| err(optimizer.at, m))?;
    Ok(Some(Training {
        name: name.to_string(),
        train,
        loss: loss.loss()?,
        optimizer,
        schedule: match s.map.get("schedule") {
            Some(e) => Schedule::from_call(e).map_err(|m| err(e.at, m))?,
            None => Schedule::Constant,
        },
        schedule_unit: match s.str("schedule_unit") {
            Some("epoch") => ScheduleUnit::Epoch,
            _ => ScheduleUnit::Iteration,
        },
        continue_optimizer: s.str("optimizer_state") == Some("continue"),
        schedule_from_run_start: s.str("schedule_span") == Some("run"),
        clip_grad_norm: s.num("clip_grad_norm").filter(|&c| c > 0.0),
        batch_size: s.int("batch_size").unwrap_or(1),
        length,
        validate_every: s.int("validate_every"),
    }))
}

impl RunConfig {
    /// Reads experiment `name` (already merged onto the unnamed one and brought to `scale`).
    pub fn from_section(
        name: &str,
        scale: &str,
        sec: &Section,
        default_network: &str,
    ) -> Result<RunConfig, Diagnostic> {
        let s = settings(sec);
        let seed = s.int("seed").unwrap_or(0) as u32;
        // `params { ... }` applies to any network, `params NAME { ... }` only when the run
        // trains network NAME (so one smoke scale can size several networks).
        let network = s.str("network").unwrap_or(default_network);
        let mut params = Vec::new();
        for p in [s.section("params", None), s.section("params", Some(network))].into_iter().flatten() {
            for (key, value) in &p.settings {
                let l =
                    value.literal().ok_or_else(|| err(value.at, format!("`params.{key}` must be a literal value")))?;
                params.retain(|(k, _): &(String, Value)| k != key);
                params.push((key.clone(), l));
            }
        }
        let inputs: Vec<Vec<String>> =
            s.strings("inputs").iter().map(|i| i.split('+').map(|f| f.trim().to_string()).collect()).collect();
        let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        for f in inputs.iter().flatten() {
            if field(f).is_none() {
                let d = err(
                    s.span("inputs", sec.at),
                    format!("`inputs`: `{f}` is not a data field (expected {}, joined by `+`)", names.join(", ")),
                );
                return Err(match mcmr_dsl::diag::suggest(f, names.iter().copied()) {
                    Some(g) => d.with_help(format!("did you mean `{g}`?")),
                    None => d,
                });
            }
        }
        // Stages in order, each reading its own settings first and the experiment's after; no
        // stage section: one stage, `main`, training every parameter.
        let stage_sections: Vec<&Section> = sec.all("stage").collect();
        let mut stages = Vec::new();
        if stage_sections.is_empty() {
            stages.extend(training(&s, "main", Vec::new(), sec.at)?);
        } else {
            for st in stage_sections {
                let own = settings(st);
                let mut merged = Settings { map: s.map.clone(), sec: st };
                merged.map.extend(own.map.iter().map(|(k, v)| (*k, *v)));
                let name = st.name.clone().unwrap_or_default();
                let train = own.strings("train");
                match training(&merged, &name, train, st.at)? {
                    Some(t) if t.continue_optimizer && stages.last().is_some_and(|p: &Training| {
                        p.optimizer.render() != t.optimizer.render()
                    }) =>
                    {
                        return Err(err(
                            merged.span("optimizer_state", st.at),
                            format!(
                                "stage `{name}` continues the previous stage's optimiser, so it needs the same `optimizer`"
                            ),
                        ))
                    }
                    Some(t) => stages.push(t),
                    None => return Err(err(st.kind_at, format!("stage `{name}` has no `loss` or trains for 0 steps"))),
                }
            }
        }
        let data = dataset(s.section("data", None), seed, sec.at)?;
        // k-space and the complex image are the target's before the per-item normalisations:
        // only images without one, or normalised per slice before the k-space simulation
        // (`min_max` on images the kit simulates k-space from), share their scale.
        let mut read: Vec<String> = inputs.iter().flatten().cloned().collect();
        for t in &stages {
            read.extend(t.loss.names());
        }
        // Measured complex data are normalised before masking, whatever the scheme.
        let simulated = !matches!(data.source, Source::FastMri { .. }) || data.fastmri_simulated;
        let shares_scale = data.normalisation == Normalisation::None
            || (data.normalisation == Normalisation::MinMax && simulated)
            || matches!(data.source, Source::KSpace { .. });
        if let Some(f) = read.iter().filter_map(|n| field(n)).find(|f| f.unnormalised) {
            if !shares_scale {
                return Err(err(
                    s.span("inputs", sec.at),
                    format!(
                        "the run reads `{}` ({}), which has the scale of the data before normalisation: set `data {{ normalisation = \"none\" }}` (or \"min_max\" on NIfTI, phantom or simulated fastMRI data, normalised before the k-space simulation)",
                        f.name, f.about
                    ),
                ));
            }
        }
        // Paired augmentation (`data { augment { rotation = 15 flip = true } }`) for training only.
        let augment = s.section("data", None).and_then(|d| settings(d).section("augment", None)).map(|a| {
            let a = settings(a);
            Augment {
                max_rotation_deg: a.num("rotation").unwrap_or(0.0),
                horizontal_flip: a.bool("flip").unwrap_or(false),
            }
        });
        // `mask train { ... }` / `mask test { ... }` override the settings of a plain `mask`.
        let mask_for = |part: &str| -> Result<MaskPolicy, Diagnostic> {
            let m = match (s.section("mask", None), s.section("mask", Some(part))) {
                (Some(all), Some(own)) => Some(all.merged(own)),
                (all, own) => own.or(all).cloned(),
            };
            match m.as_ref() {
                Some(m) => mask_policy(m, 0),
                None => Err(err(
                    sec.at,
                    format!("the experiment has no mask for {part} (`mask {{ ... }}` or `mask {part} {{ ... }}`)"),
                )),
            }
        };
        let train_mask = mask_for("train")?;
        let test_mask = mask_for("test")?;
        let part = |p: Part, m: &MaskPolicy| DatasetConfig {
            part: if data.split == Split::None { None } else { Some(p) },
            mask: m.clone(),
            ..data.clone()
        };
        let ev = s.section("evaluate", None).map(settings);
        let protocol = match ev.as_ref().and_then(|e| e.str("protocol")) {
            Some(p) => Protocol::parse(p).map_err(|e| err(sec.at, e.to_string()))?,
            None => Protocol::FASTMRI_VOLUME,
        };
        let eval_part = match ev.as_ref().and_then(|e| e.str("part")) {
            Some("val") => Part::Val,
            _ => Part::Test,
        };
        let group_by_pattern = ev.as_ref().and_then(|e| e.str("group")) == Some("pattern");
        if group_by_pattern && !matches!(test_mask, MaskPolicy::OnlineChoice(_)) {
            let at = ev.as_ref().map(|e| e.span("group", sec.at)).unwrap_or(sec.at);
            return Err(err(
                at,
                "`group = \"pattern\"` scores each test pattern: the test mask needs `pattern { ... }` sections",
            ));
        }
        let extra_patterns = match s.section("evaluate", None) {
            Some(e) if e.all("pattern").next().is_some() => match mask_policy(e, 0)? {
                MaskPolicy::OnlineChoice(v) => v,
                _ => unreachable!("a section with `pattern`s is a choice"),
            },
            _ => Vec::new(),
        };
        let extra_pools: Vec<Option<String>> = match s.section("evaluate", None) {
            Some(e) => e.all("pattern").map(|p| settings(p).str("pool").map(str::to_string)).collect(),
            None => Vec::new(),
        };
        let tolerance = s
            .section("tolerance", None)
            .map(|t| {
                let t = settings(t);
                t.map.keys().filter_map(|k| t.num(k).map(|v| (k.to_string(), v))).collect()
            })
            .unwrap_or_default();
        let train_data = DatasetConfig { augment, ..part(Part::Train, &train_mask) };
        Ok(RunConfig {
            experiment: name.to_string(),
            scale: scale.to_string(),
            seed,
            network: s.str("network").map(String::from),
            variant: s.str("variant").map(String::from),
            params,
            reproduces: s.strings("reproduces"),
            inputs,
            prediction: s.str("prediction").map(String::from),
            stages,
            train_data,
            val_data: part(Part::Val, &test_mask),
            test_data: part(Part::Test, &test_mask),
            protocol,
            eval_part,
            group_by_pattern,
            extra_patterns,
            extra_pools,
            tolerance,
        })
    }
}
