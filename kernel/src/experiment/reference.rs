//! `reference_results/<paper>/expected.json`: the kit's expected smoke-scale numbers for the
//! runs of a paper (with tolerances and the command that checks them) and the claims those runs
//! must hold; [`check`] reruns them and [`compare_run`] sets one run beside its expected cells.
//! `reference_results/<paper>/reduced.json`, in the same format, holds the reduced-scale
//! numbers (`mcmr check --scale reduced`: about an hour per paper, outside CI).
//!
//! ```json
//! { "paper": "baselines", "scale": "smoke", "command": "mcmr check --paper baselines",
//!   "data": "embedded brain phantom ...",
//!   "runs": { "unet/x4": { "spec": "papers/baselines/unet.mcmr", "variant": null,
//!                          "experiment": "x4", "cells": { "psnr": { "value": 31.2, "tolerance": 0.3 } } } },
//!   "claims": [ { "text": "...", "metric": "psnr", "better": "unet/x4", "worse": "zero_filled/x4",
//!                 "margin": 3.0 } ] }
//! ```
//!
//! A claim holds when `better` beats `worse` on `metric` by at least `margin` (higher is better
//! for PSNR and SSIM, lower for NMSE). A cell or claim metric `psnr@PATTERN` is the run's score
//! under one test pattern (the label its report shows, e.g. `psnr@random 4x cf 0.08`). Smoke
//! and reduced numbers are the kit's own, on the data `data` describes; they are never the
//! paper's numbers.

use crate::experiment::evaluate::EvalResult;
use crate::experiment::{reproduce, ReproduceOptions, Variants};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An expected value and how far a reproduction may be from it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub value: f64,
    pub tolerance: f64,
}

/// One run a paper's smoke check makes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRun {
    pub spec: String,
    pub variant: Option<String>,
    pub experiment: String,
    pub cells: BTreeMap<String, Cell>,
}

/// A comparison that must hold between two runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunClaim {
    pub text: String,
    pub metric: String,
    pub better: String,
    pub worse: String,
    #[serde(default)]
    pub margin: f64,
}

/// `expected.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub paper: String,
    pub scale: String,
    pub command: String,
    /// The command that produced the expected numbers.
    #[serde(default)]
    pub produced_by: String,
    /// What the numbers were computed on (never the paper's data at smoke scale).
    pub data: String,
    pub runs: BTreeMap<String, ExpectedRun>,
    #[serde(default)]
    pub claims: Vec<RunClaim>,
}

/// The file of a paper's expected numbers at `scale`: `expected.json` at smoke scale,
/// `<scale>.json` at any other (`reduced.json`).
pub fn expected_file(scale: &str) -> String {
    if scale == "smoke" {
        "expected.json".into()
    } else {
        format!("{scale}.json")
    }
}

/// Reads `<references>/<paper>/expected.json` (or `reduced.json`).
pub fn read_expected(path: &Path) -> Result<Expected, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let e: Expected =
        serde_json::from_str(&text).map_err(|e| format!("`{}`:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    for c in &e.claims {
        for id in [&c.better, &c.worse] {
            if !e.runs.contains_key(id) {
                return Err(format!("`{}`: claim \"{}\" names run `{id}`, which `runs` lacks", path.display(), c.text));
            }
        }
        if !["psnr", "ssim", "nmse"].contains(&base_metric(&c.metric)) {
            return Err(format!(
                "`{}`: claim \"{}\": unknown metric `{}` (psnr, ssim, nmse)",
                path.display(),
                c.text,
                c.metric
            ));
        }
    }
    Ok(e)
}

/// `psnr` of `psnr` and of `psnr@random 4x cf 0.08` (one test pattern's).
fn base_metric(metric: &str) -> &str {
    metric.split('@').next().unwrap_or(metric)
}

/// Whether a claim holds for these values of its metric.
pub fn claim_holds(metric: &str, better: f64, worse: f64, margin: f64) -> bool {
    if base_metric(metric) == "nmse" {
        better <= worse - margin
    } else {
        better >= worse + margin
    }
}

/// The outcome of `mcmr check`.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub passed: usize,
    pub failed: usize,
    pub lines: Vec<String>,
}

/// [`check_scale`] at smoke scale (`<paper>/expected.json`): what CI and the notebooks run.
pub fn check(
    references: &Path,
    paper: Option<&str>,
    out: &Path,
    reuse: Option<&Path>,
    say: impl FnMut(&str),
) -> Result<CheckReport, String> {
    check_scale(references, paper, "smoke", out, reuse, say)
}

/// Reruns every run of `<references>/<paper>/expected.json` (every paper when `None`; at a
/// `scale` other than smoke, `<paper>/<scale>.json`) into `out`, then checks each expected cell
/// against its tolerance and each claim; the claims of `<paper>/published.json` are checked on
/// the published numbers. With `reuse` (the `--out` of an earlier `mcmr reproduce`), a complete
/// run there made by this kit version from the same spec text is scored as it is instead of
/// being rerun. `say` gets one line per check as it is decided.
pub fn check_scale(
    references: &Path,
    paper: Option<&str>,
    scale: &str,
    out: &Path,
    reuse: Option<&Path>,
    mut say: impl FnMut(&str),
) -> Result<CheckReport, String> {
    let root = references.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = expected_file(scale);
    // At smoke scale a paper with only published numbers still has its published claims
    // checked; at another scale only the papers with numbers for it are.
    let mut papers: Vec<PathBuf> = std::fs::read_dir(references)
        .map_err(|e| format!("cannot read `{}`: {e}", references.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(&file).exists() || (scale == "smoke" && p.join("published.json").exists()))
        .filter(|p| paper.is_none_or(|n| p.file_name().is_some_and(|f| f == n)))
        .collect();
    papers.sort();
    if papers.is_empty() {
        return Err(match paper {
            Some(p) => format!("`{}` has no `{p}/{file}`", references.display()),
            None if scale == "smoke" => {
                format!("`{}` holds no `*/expected.json` or `*/published.json`", references.display())
            }
            None => format!("`{}` holds no `*/{file}`", references.display()),
        });
    }
    let mut report = CheckReport::default();
    let mut emit = |ok: bool, text: String, report: &mut CheckReport| {
        let line = format!("{} {text}", if ok { "PASS" } else { "FAIL" });
        say(&line);
        report.lines.push(line);
        if ok {
            report.passed += 1
        } else {
            report.failed += 1
        }
    };
    for dir in papers {
        // The published claims, on the published numbers: catches transcription errors.
        let published_path = dir.join("published.json");
        if published_path.exists() {
            let p = crate::experiment::published::read_published(&published_path)?;
            let value = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
            for c in &p.claims {
                let (ok, note) = match crate::experiment::published::decide(&p, c, &value, true) {
                    crate::experiment::published::Verdict::Held(n) => (true, n),
                    crate::experiment::published::Verdict::NotHeld(n) => (false, n),
                    crate::experiment::published::Verdict::Undecided(n) => (false, format!("undecided: {n}")),
                };
                let note = if note.is_empty() { String::new() } else { format!(" ({note})") };
                emit(ok, format!("{}: published claim \"{}\"{note}", p.paper, c.text), &mut report);
            }
        }
        if !dir.join(&file).exists() {
            continue;
        }
        let expected = read_expected(&dir.join(&file))?;
        if expected.scale != scale {
            return Err(format!(
                "`{}`: field `scale` is \"{}\", expected \"{scale}\"",
                dir.join(&file).display(),
                expected.scale
            ));
        }
        let mut results: BTreeMap<String, EvalResult> = BTreeMap::new();
        for (id, run) in &expected.runs {
            let opts = ReproduceOptions {
                scale: expected.scale.clone(),
                variants: run.variant.clone().map(Variants::One).unwrap_or(Variants::Base),
                experiments: vec![run.experiment.clone()],
                out: out.join(&expected.paper),
                overwrite: true,
                ..ReproduceOptions::default()
            };
            let spec = root.join(&run.spec);
            let reused = reuse.and_then(|dir| reusable(dir, &spec, run, &expected.scale));
            let from = reused.as_ref().map(|(dir, _)| format!(" [finished run {}]", dir.display())).unwrap_or_default();
            let outcome = match reused {
                Some((_, r)) => Ok(r),
                None => reproduce(&spec, &opts).map(|mut o| o.pop().expect("one run").results),
            };
            match outcome {
                Ok(r) => {
                    for (metric, cell) in &run.cells {
                        let got = r.mean(metric).unwrap_or(f64::NAN);
                        let ok = (got - cell.value).abs() <= cell.tolerance;
                        emit(
                            ok,
                            format!(
                                "{}: {id} {metric} = {got:.4} (expected {:.4} ± {}, Δ {:+.4}){from}",
                                expected.paper,
                                cell.value,
                                cell.tolerance,
                                got - cell.value
                            ),
                            &mut report,
                        );
                    }
                    results.insert(id.clone(), r);
                }
                Err(e) => emit(false, format!("{}: {id} did not run: {e}", expected.paper), &mut report),
            }
        }
        for c in &expected.claims {
            match (
                results.get(&c.better).and_then(|r| r.mean(&c.metric)),
                results.get(&c.worse).and_then(|r| r.mean(&c.metric)),
            ) {
                (Some(b), Some(w)) => {
                    let ok = claim_holds(&c.metric, b, w, c.margin);
                    emit(
                        ok,
                        format!(
                            "{}: claim \"{}\": {} {} {b:.4} vs {} {w:.4} (margin {})",
                            expected.paper, c.text, c.better, c.metric, c.worse, c.margin
                        ),
                        &mut report,
                    );
                }
                _ => emit(
                    false,
                    format!("{}: claim \"{}\": a run it needs did not finish", expected.paper, c.text),
                    &mut report,
                ),
            }
        }
    }
    Ok(report)
}

/// A finished run of `spec` under `<dir>/<spec stem>/<variant|base>/<scale>/<experiment>/` that
/// this kit version made from the spec as it is now, and its results.
fn reusable(dir: &Path, spec: &Path, run: &ExpectedRun, scale: &str) -> Option<(PathBuf, EvalResult)> {
    let stem = spec.file_stem()?.to_string_lossy().into_owned();
    let folder = dir.join(stem).join(run.variant.as_deref().unwrap_or("base")).join(scale).join(&run.experiment);
    crate::experiment::run::finished(&folder, spec).map(|o| (o.dir, o.results))
}

/// The comparison of one run with its expected cells: expected | reproduced | Δ | tolerance |
/// verdict, labelled with the scale and the data.
pub fn compare_run(dir: &Path, references: &Path) -> Result<String, String> {
    let m = crate::experiment::run::read_manifest(dir)?;
    let text = std::fs::read_to_string(dir.join("results.json"))
        .map_err(|e| format!("`{}` has no results yet ({e}): `mcmr resume` it", dir.display()))?;
    let r: EvalResult = serde_json::from_str(&text).map_err(|e| format!("`{}/results.json`: {e}", dir.display()))?;
    let spec_name = Path::new(&m.spec).file_name().map(|f| f.to_owned());
    let mut out = String::new();
    let mut found = false;
    let mut papers: Vec<PathBuf> =
        std::fs::read_dir(references).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    papers.sort();
    for p in papers {
        let Ok(expected) = read_expected(&p.join(expected_file(&m.scale))) else { continue };
        for (id, run) in &expected.runs {
            let variant = run.variant.clone().unwrap_or_else(|| "base".into());
            if Path::new(&run.spec).file_name().map(|f| f.to_owned()) != spec_name
                || variant != m.variant
                || run.experiment != m.experiment
                || expected.scale != m.scale
            {
                continue;
            }
            found = true;
            out.push_str(&format!(
                "\n## {id} at {} scale vs `{}/{}`\n\nData: {}. These are the kit's own expected {} numbers, not the paper's.\n\n\
                 | Metric | Expected | Reproduced | Δ | Tolerance | Verdict |\n|---|---|---|---|---|---|\n",
                m.scale,
                p.display(),
                expected_file(&m.scale),
                expected.data,
                m.scale
            ));
            for (metric, cell) in &run.cells {
                let got = r.mean(metric).unwrap_or(f64::NAN);
                let ok = (got - cell.value).abs() <= cell.tolerance;
                out.push_str(&format!(
                    "| {metric} | {:.4} | {got:.4} | {:+.4} | ±{} | {} |\n",
                    cell.value,
                    got - cell.value,
                    cell.tolerance,
                    if ok { "within" } else { "OUT" }
                ));
            }
        }
    }
    // The published cells the run reproduces, from `<references>/<paper>/published.json`.
    let published = references.join(&m.paper).join("published.json");
    if !m.reproduces.is_empty() && published.exists() {
        let p = crate::experiment::published::read_published(&published)?;
        let cells = crate::experiment::published::RunCells::of(&m, &r);
        out.push_str(&crate::experiment::report::published_cells_markdown(&p, &cells));
        found = true;
    }
    if !found {
        out.push_str(&format!(
            "\n{}: no expected cells in `{}` for {} / {} / {} at {} scale.\n",
            dir.display(),
            references.display(),
            m.spec,
            m.variant,
            m.experiment,
            m.scale
        ));
    }
    Ok(out)
}
