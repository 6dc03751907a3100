//! Planning: a spec's experiments → the runs `mcmr reproduce` makes ([`plan_runs`]), and every
//! run at every scale and variant checked before any of them starts ([`check_runs`], what
//! `mcmr check-spec` reports): settings, the network each run builds, its input bindings, its
//! prediction output and its losses, each problem with file, line and column.

use super::config::{loss_names, RunConfig};
use super::run::RunSpec;
use super::{ReproduceOptions, Variants};
use crate::data::dataset::{DatasetConfig, Source};
use mcmr_dsl::plan::Selection;
use mcmr_dsl::Loaded;
use std::collections::BTreeMap;
use std::path::Path;

/// Replaces the data source's path (a folder of NIfTI volumes for phantom specs). A folder's
/// layout is detected anew: the spec's names the data it was written for, and `--data` may
/// point at another dataset (a model trained on BraTS scored on IXI).
pub(crate) fn with_data(d: &mut DatasetConfig, path: &Path) {
    d.source = match &d.source {
        Source::FastMri { pairs, .. } => Source::FastMri { root: path.to_path_buf(), pairs: pairs.clone() },
        Source::KSpace { .. } => Source::KSpace { root: path.to_path_buf() },
        Source::Folder { .. } | Source::Phantom { .. } => Source::Folder { root: path.to_path_buf(), layout: None },
    };
}

/// Replaces the data with the embedded phantom at the data's image size, 4 subjects of 8 slices
/// split 2/1/1: a configuration timed without its data (`mcmr bench-train`). The anatomy follows
/// the target (PDFS: the knee; otherwise the brain); a contrast the phantom lacks (IXI's PD) is
/// replaced by the anatomy's usual pair (brain T2 from T1, knee PDFS from PD).
pub(crate) fn with_phantom(d: &mut DatasetConfig) {
    use crate::data::phantom::{Kind, PhantomOptions};
    let (kind, contrasts, pair): (Kind, &[&str], [&str; 2]) = if d.target == "pdfs" {
        (Kind::Knee, &["pd", "pdfs"], ["pdfs", "pd"])
    } else {
        (Kind::Brain, &["t1", "t1ce", "t2", "flair"], ["t2", "t1"])
    };
    for (c, default) in [(&mut d.target, pair[0]), (&mut d.reference, pair[1])] {
        if !contrasts.contains(&c.as_str()) {
            *c = default.to_string();
        }
    }
    let size = d.size.map(|[h, w]| h.max(w)).unwrap_or(64);
    d.source = Source::Phantom { kind, subjects: 4, size, slices: 8, seed: 0, options: PhantomOptions::default() };
    d.slices = crate::data::prepare::SliceSelection::All;
    d.split = crate::data::dataset::Split::Ratios(vec![2.0, 1.0, 1.0], 0);
}

/// One planned run before any path is attached: the command line's variant and the settings.
pub(crate) struct Planned {
    pub(crate) variant: Option<String>,
    pub(crate) config: RunConfig,
}

/// The runs of `sel` ([`mcmr_dsl::plan::experiments`]), each read as a [`RunConfig`].
pub(crate) fn plan(loaded: &Loaded, sel: &Selection) -> Result<Vec<Planned>, String> {
    let default_network = loaded.default_network().unwrap_or_default();
    mcmr_dsl::plan::experiments(loaded, sel)?
        .into_iter()
        .map(|e| {
            let config = RunConfig::from_section(&e.name, sel.scale, &e.section, &default_network)
                .map_err(|d| loaded.render(&d))?;
            Ok(Planned { variant: e.variant, config })
        })
        .collect()
}

/// The runs `mcmr reproduce` would make, without running them.
pub fn plan_runs(spec_path: &Path, opts: &ReproduceOptions) -> Result<Vec<RunSpec>, String> {
    let loaded = crate::spec::read_spec(spec_path)?;
    let errors = loaded.check_sections(&crate::spec::vocabulary());
    if let Some(d) = errors.first() {
        return Err(format!("{}\n{} error(s) in `{}`", loaded.render(d), errors.len(), spec_path.display()));
    }
    let variants: Vec<Option<String>> = match &opts.variants {
        Variants::Base => vec![None],
        Variants::One(v) => vec![Some(v.clone())],
        Variants::All => std::iter::once(None).chain(loaded.variants().into_iter().map(Some)).collect(),
    };
    let sel = Selection { variants, scale: &opts.scale, only: &opts.experiments, strict: true };
    let paper = spec_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut runs = Vec::new();
    for Planned { variant, mut config } in plan(&loaded, &sel)? {
        let name = config.experiment.clone();
        if let Some(p) = &opts.data {
            if !p.exists() {
                return Err(format!("the data path `{}` does not exist", p.display()));
            }
            for d in [&mut config.train_data, &mut config.val_data, &mut config.test_data] {
                with_data(d, p);
            }
        }
        for d in [&config.train_data, &config.val_data, &config.test_data] {
            if let Source::Folder { root, .. } | Source::FastMri { root, .. } | Source::KSpace { root } = &d.source {
                if root.as_os_str().is_empty() {
                    return Err(format!(
                        "experiment `{name}` of `{}` reads real data at scale `{}`: give its folder with `--data PATH` (or `path` in the spec)",
                        spec_path.display(),
                        opts.scale
                    ));
                }
            }
        }
        let dir = opts.out.join(&paper).join(variant.as_deref().unwrap_or("base")).join(&opts.scale).join(&name);
        runs.push(RunSpec {
            spec: spec_path.to_path_buf(),
            variant,
            config,
            dir,
            device: opts.device.clone(),
            progress: opts.progress,
        });
    }
    if runs.is_empty() {
        return Err(format!("no experiment of `{}` matches {:?}", spec_path.display(), opts.experiments));
    }
    Ok(runs)
}

/// One run as `mcmr check-spec` checked it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CheckedRun {
    /// `base` or the command-line variant.
    pub variant: String,
    pub scale: String,
    pub experiment: String,
    pub network: String,
    pub parameters: usize,
}

/// Plans every run of the spec at every scale its experiments declare, under the spec as written
/// and under each variant, and checks each against the network it builds: the network
/// elaborates with the run's parameters and variants, the input bindings fit its inputs, the
/// prediction is one of its outputs, and every stage's loss reads only its outputs and the data
/// fields, real where a real value is needed. All problems are returned, rendered with file,
/// line and column (each once, with the first run it was found in).
pub fn check_runs(spec_path: &Path) -> Result<Vec<CheckedRun>, String> {
    let loaded = crate::spec::read_spec(spec_path)?;
    let errors = loaded.check_sections(&crate::spec::vocabulary());
    if !errors.is_empty() {
        let rendered: Vec<String> = errors.iter().map(|d| loaded.render(d)).collect();
        return Err(format!("{}\n{} error(s) in `{}`", rendered.join("\n"), errors.len(), spec_path.display()));
    }
    if loaded.experiment_names().is_empty() {
        return Ok(Vec::new());
    }
    let mut scales = loaded.scales();
    if scales.is_empty() {
        scales.push("smoke".into());
    }
    let variants: Vec<Option<String>> = std::iter::once(None).chain(loaded.variants().into_iter().map(Some)).collect();
    let mut problems: Vec<String> = Vec::new();
    let mut runs = Vec::new();
    let mut graphs: BTreeMap<String, Result<mcmr_dsl::ir::Graph, String>> = BTreeMap::new();
    for scale in &scales {
        let sel = Selection { variants: variants.clone(), scale, only: &[], strict: false };
        let planned = match plan(&loaded, &sel) {
            Ok(p) => p,
            Err(e) => {
                if !problems.contains(&e) {
                    problems.push(e);
                }
                continue;
            }
        };
        for Planned { variant, config } in planned {
            let context = format!(
                "experiment `{}` at scale `{scale}`{}",
                config.experiment,
                variant.as_ref().map(|v| format!(" under variant `{v}`")).unwrap_or_default()
            );
            let mut report = |message: String| {
                if !problems.iter().any(|p| p.ends_with(&message)) {
                    problems.push(format!("in {context}:\n{message}"));
                }
            };
            let variants: Vec<&str> = variant.iter().chain(&config.variant).map(String::as_str).collect();
            let key = format!("{:?}|{variants:?}|{:?}", config.network, config.params);
            let graph = graphs
                .entry(key)
                .or_insert_with(|| {
                    loaded
                        .elaborate(config.network.as_deref(), &variants, &config.params)
                        .map(|c| c.graph)
                        .map_err(|errors| errors.iter().map(|d| loaded.render(d)).collect::<Vec<_>>().join("\n"))
                })
                .clone();
            let graph = match graph {
                Ok(g) => g,
                Err(e) => {
                    report(e);
                    continue;
                }
            };
            if let Err(e) = super::run::bindings(&config, &graph) {
                report(e);
            }
            if let Some(p) = &config.prediction {
                if !graph.outputs.iter().any(|(n, _)| n == p) {
                    report(format!("`prediction`: network `{}` has no output `{p}`", graph.name));
                }
            }
            let names = loss_names(&graph);
            for stage in &config.stages {
                for term in &stage.loss.terms {
                    for d in term.check(&names) {
                        report(loaded.render(&d));
                    }
                }
            }
            runs.push(CheckedRun {
                variant: variant.unwrap_or_else(|| "base".into()),
                scale: scale.clone(),
                experiment: config.experiment.clone(),
                network: graph.name.clone(),
                parameters: graph.parameter_count(),
            });
        }
    }
    if problems.is_empty() {
        Ok(runs)
    } else {
        Err(format!("{}\n{} problem(s) in the runs of `{}`", problems.join("\n"), problems.len(), spec_path.display()))
    }
}
