//! Planning: a spec's experiments → the runs `mcmr reproduce` makes ([`plan_runs`]), and every
//! run at every scale and variant checked before any of them starts ([`check_runs`], what
//! `mcmr check-spec` reports): settings, the network each run builds, its input bindings, its
//! prediction output and its losses, each problem with file, line and column.

use super::config::{loss_names, RunConfig};
use super::run::RunSpec;
use super::{ReproduceOptions, Variants};
use crate::data::dataset::{DatasetConfig, Source};
use mcmr_dsl::ast::{Entry, ExprKind, Section, Spec};
use mcmr_dsl::Loaded;
use std::collections::BTreeMap;
use std::path::Path;

/// Replaces the data source's path (a folder of NIfTI volumes for phantom specs).
pub(crate) fn with_data(d: &mut DatasetConfig, path: &Path) {
    d.source = match &d.source {
        Source::FastMri { pairs, .. } => Source::FastMri { root: path.to_path_buf(), pairs: pairs.clone() },
        Source::Folder { layout, .. } => Source::Folder { root: path.to_path_buf(), layout: *layout },
        Source::Phantom { .. } => Source::Folder { root: path.to_path_buf(), layout: None },
    };
}

fn has_variant(spec: &Spec, name: &str) -> bool {
    spec.sections.iter().any(|s| s.kind.name == "variant" && s.name.as_ref().is_some_and(|n| n.name == name))
}

fn variant_names(spec: &Spec) -> Vec<String> {
    spec.sections
        .iter()
        .filter(|s| s.kind.name == "variant")
        .filter_map(|s| s.name.as_ref().map(|n| n.name.clone()))
        .collect()
}

/// The `variant = "..."` an experiment section names.
fn experiment_variant(sec: &Section) -> Option<String> {
    sec.entries.iter().find_map(|e| match e {
        Entry::Setting { key, value, .. } if key == "variant" => match &value.kind {
            ExprKind::Str(v) => Some(v.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// One planned run before any path is attached: the command line's variant and the settings.
struct Planned {
    variant: Option<String>,
    config: RunConfig,
}

/// What planning is asked for.
struct Selection<'a> {
    variants: Vec<Option<String>>,
    scale: &'a str,
    /// Only these experiments (all when empty).
    only: &'a [String],
    /// An experiment without the scale is an error (`reproduce`) or is skipped (`check-spec`).
    strict: bool,
}

fn plan(loaded: &Loaded, spec_path: &Path, sel: &Selection) -> Result<Vec<Planned>, String> {
    let render = |d: &mcmr_dsl::diag::Diagnostic| loaded.render(d);
    let default_network = mcmr_dsl::check::default_network(&loaded.spec).unwrap_or_default();
    let mut out = Vec::new();
    for variant in &sel.variants {
        if let Some(v) = variant {
            if !has_variant(&loaded.spec, v) {
                return Err(format!("`{}` has no variant `{v}`", spec_path.display()));
            }
        }
        let spec = match variant {
            Some(v) => mcmr_dsl::sections::apply_variant(&loaded.spec, v),
            None => loaded.spec.clone(),
        };
        let experiments = mcmr_dsl::sections::experiments(&spec);
        if experiments.is_empty() {
            return Err(format!("`{}` declares no `experiment`: there is nothing to reproduce", spec_path.display()));
        }
        for (name, sec) in experiments {
            if !sel.only.is_empty() && !sel.only.contains(&name) {
                continue;
            }
            // An experiment that names a variant (an ablation row) sees the spec as that
            // variant makes it, on top of the command line's.
            let sec = match experiment_variant(&sec) {
                Some(v) => {
                    if !has_variant(&loaded.spec, &v) {
                        return Err(format!(
                            "experiment `{name}` of `{}` names variant `{v}`, which the spec lacks",
                            spec_path.display()
                        ));
                    }
                    let over = mcmr_dsl::sections::apply_variant(&spec, &v);
                    mcmr_dsl::sections::experiments(&over)
                        .into_iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, s)| s)
                        .unwrap_or(sec)
                }
                None => sec,
            };
            let scales = mcmr_dsl::sections::scales(&sec);
            let scaled = if scales.is_empty() {
                sec.clone()
            } else {
                match mcmr_dsl::sections::apply_scale(&sec, sel.scale) {
                    Some(s) => s,
                    None if !sel.strict => continue,
                    None => {
                        return Err(format!(
                            "experiment `{name}` of `{}` has no scale `{}` (it has {})",
                            spec_path.display(),
                            sel.scale,
                            scales.join(", ")
                        ))
                    }
                }
            };
            let config =
                RunConfig::from_section(&name, sel.scale, &scaled, &default_network).map_err(|d| render(&d))?;
            out.push(Planned { variant: variant.clone(), config });
        }
    }
    Ok(out)
}

/// The runs `mcmr reproduce` would make, without running them.
pub fn plan_runs(spec_path: &Path, opts: &ReproduceOptions) -> Result<Vec<RunSpec>, String> {
    let loaded = crate::spec::read_spec(spec_path)?;
    let errors = mcmr_dsl::sections::check_with(&loaded.spec, &crate::spec::vocabulary());
    if let Some(d) = errors.first() {
        return Err(format!("{}\n{} error(s) in `{}`", loaded.render(d), errors.len(), spec_path.display()));
    }
    let variants: Vec<Option<String>> = match &opts.variants {
        Variants::Base => vec![None],
        Variants::One(v) => vec![Some(v.clone())],
        Variants::All => std::iter::once(None).chain(variant_names(&loaded.spec).into_iter().map(Some)).collect(),
    };
    let sel = Selection { variants, scale: &opts.scale, only: &opts.experiments, strict: true };
    let paper = spec_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut runs = Vec::new();
    for Planned { variant, mut config } in plan(&loaded, spec_path, &sel)? {
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
            if let Source::Folder { root, .. } | Source::FastMri { root, .. } = &d.source {
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
    let errors = mcmr_dsl::sections::check_with(&loaded.spec, &crate::spec::vocabulary());
    if !errors.is_empty() {
        let rendered: Vec<String> = errors.iter().map(|d| loaded.render(d)).collect();
        return Err(format!("{}\n{} error(s) in `{}`", rendered.join("\n"), errors.len(), spec_path.display()));
    }
    let experiments = mcmr_dsl::sections::experiments(&loaded.spec);
    if experiments.is_empty() {
        return Ok(Vec::new());
    }
    let mut scales: Vec<String> = Vec::new();
    for (_, sec) in experiments {
        for s in mcmr_dsl::sections::scales(&sec) {
            if !scales.contains(&s) {
                scales.push(s);
            }
        }
    }
    if scales.is_empty() {
        scales.push("smoke".into());
    }
    let variants: Vec<Option<String>> =
        std::iter::once(None).chain(variant_names(&loaded.spec).into_iter().map(Some)).collect();
    let mut problems: Vec<String> = Vec::new();
    let mut runs = Vec::new();
    let mut graphs: BTreeMap<String, Result<mcmr_dsl::ir::Graph, String>> = BTreeMap::new();
    for scale in &scales {
        let sel = Selection { variants: variants.clone(), scale, only: &[], strict: false };
        let planned = match plan(&loaded, spec_path, &sel) {
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
                    mcmr_dsl::check::elaborate_variants(
                        &loaded.spec,
                        config.network.as_deref(),
                        &variants,
                        &config.params,
                    )
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
                    for d in mcmr_dsl::loss::check(&term.expr, &names, "loss") {
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
