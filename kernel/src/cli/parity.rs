//! `mcmr parity`: compare a compiled spec with the official code's tensors.

use super::*;

/// `params` with the fixture's configuration added: every `constructor_args` entry of the
/// fixture's `config.json` that names a parameter of a network in the spec, unless `--param`
/// gives it. The weights must match the fixture whatever the variant says, so a fixture at
/// another width needs no flags. Says what it took.
fn with_fixture_configuration(
    spec: &std::path::Path,
    fixture: &std::path::Path,
    mut params: Vec<(String, String)>,
) -> Result<Vec<(String, String)>> {
    let path = fixture.join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(params) };
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not valid JSON", path.display()))?;
    let Some(args) = config.get("constructor_args").and_then(|a| a.as_object()) else { return Ok(params) };
    let loaded = mcmr::spec::read_spec(spec).map_err(anyhow::Error::msg)?;
    let declared = |k: &str| loaded.networks().iter().any(|n| n.params.iter().any(|p| p == k));
    let mut taken = Vec::new();
    for (k, v) in args {
        let value = match v {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            // A list of numbers (DuDoRNet's `dilateSet`), as `--param` writes it.
            serde_json::Value::Array(items) if items.iter().all(|i| i.is_number()) => {
                format!("[{}]", items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","))
            }
            _ => continue,
        };
        if declared(k) && !params.iter().any(|(p, _)| p == k) {
            taken.push(format!("{k}={value}"));
            params.push((k.clone(), value));
        }
    }
    if !taken.is_empty() {
        // On stderr: `--json` keeps stdout for the report.
        eprintln!("configuration from {}: {}", path.display(), taken.join(", "));
    }
    Ok(params)
}

#[derive(clap::Args)]
pub struct ParityCmd {
    spec: PathBuf,
    #[arg(long)]
    fixture: PathBuf,
    #[command(flatten)]
    net: NetworkArgs,
    /// Run our side in float32, the training precision, instead of float64 (the default:
    /// fixtures are conditioned on PyTorch's float32 agreeing with its float64, so float64
    /// compares the spec's arithmetic without adding our own float32 rounding).
    #[arg(long)]
    float32: bool,
    /// Float64, the default (accepted for older scripts).
    #[arg(long, hide = true, conflicts_with = "float32")]
    float64: bool,
    #[arg(long)]
    json: bool,
}

impl ParityCmd {
    pub fn run(self) -> Result<()> {
        let ParityCmd { spec, fixture, net: NetworkArgs { variant, params, network }, float32, float64: _, json } =
            self;
        let params = with_fixture_configuration(&spec, &fixture, params)?;
        let (sections, checked, _) = load_spec(&spec, network.as_deref(), variant.as_deref(), &params)?;
        let device = burn::tensor::Device::flex().autodiff();
        // Every training step the spec names (`parity`, `parity NAME`), each from the same weights.
        let mut steps = mcmr::parity::steps(&sections);
        if steps.is_empty() {
            steps.push(None);
        }
        let mut reports = Vec::new();
        for step in &steps {
            let model = mcmr::model::CompiledModel::new(checked.graph.clone(), 0, &device);
            let tol = mcmr::parity::Tolerances::default();
            reports.push(
                mcmr::parity::run_step(&sections, step.as_deref(), model, &fixture, tol, !float32)
                    .map_err(anyhow::Error::msg)?,
            );
        }
        if json {
            // One step: its report; several: an object of reports by step name ("" unnamed).
            if let [report] = reports.as_slice() {
                say!("{}", serde_json::to_string(report)?);
            } else {
                let by_name: serde_json::Map<String, serde_json::Value> = steps
                    .iter()
                    .zip(&reports)
                    .map(|(s, r)| Ok((s.clone().unwrap_or_default(), serde_json::to_value(r)?)))
                    .collect::<Result<_>>()?;
                say!("{}", serde_json::Value::Object(by_name));
            }
        }
        for (step, report) in steps.iter().zip(&reports).filter(|_| !json) {
            if steps.len() > 1 {
                say!("== training step `{}`", step.as_deref().unwrap_or("parity"));
            }
            let show = |title: &str, m: &std::collections::BTreeMap<String, mcmr::parity::Diff>| {
                let worst = m.iter().max_by(|a, b| a.1.rel.total_cmp(&b.1.rel));
                if let Some((k, d)) = worst {
                    say!("{title}: {} compared, worst rel {:.3e} (max abs {:.3e}) at `{k}`", m.len(), d.rel, d.max_abs);
                }
            };
            say!(
                "precision: {} on our side (PyTorch's tensors are float32){}",
                report.precision,
                if float32 { "" } else { "; --float32 runs the training precision" }
            );
            show("outputs", &report.outputs);
            show("activations", &report.activations);
            show("grads", &report.grads);
            show("running statistics after the step", &report.running_stats);
            if let Some(g) = report.grads_global_rel_l2 {
                say!("grads_global_rel_l2: {g:.3e}");
            }
            let worst_step = report.step.iter().map(|(_, d)| d.max_abs).fold(0.0, f64::max);
            if !report.step.is_empty() && report.tolerances.step_fraction.is_none() {
                say!(
                    "step: {} tensors, worst max abs {worst_step:.3e}; {} entries with |official grad| < {:e} differ by up to {:.3e}",
                    report.step.len(),
                    report.step_noise_entries,
                    mcmr::parity::NOISE_GRAD,
                    report.step_noise_max_abs
                );
            }
            if let Some(e) = report.step_end_to_end {
                say!(
                    "step from our gradients (end to end, reported): {:.4}% of entries within {:e}, worst {:.3e}; the step below applies the optimiser to the fixture's gradients",
                    100.0 * e.fraction_within,
                    report.tolerances.step_abs,
                    e.max_abs
                );
            }
            if let (Some(f), Some(want)) = (report.step_fraction_within, report.tolerances.step_fraction) {
                say!(
                    "step: {:.4}% of entries within {:e} (tolerance: at least {:.4}%, and all within {:e})",
                    100.0 * f,
                    report.tolerances.step_abs,
                    100.0 * want,
                    report.tolerances.step_max_abs.unwrap_or(f64::INFINITY)
                );
                say!(
                    "step: worst max abs {worst_step:.3e}; of the {} entries outside {:e}, {} have a clipped official gradient below {:e}, where the first step lr·g/(|g| + eps) turns gradient rounding into a difference",
                    report.step_outside,
                    report.tolerances.step_abs,
                    report.step_outside_small_grad,
                    mcmr::parity::NOISE_GRAD
                );
            }
            for n in &report.notes {
                say!("note: {n}");
            }
            say!("{}", if report.pass { "PASS" } else { "FAIL" });
        }
        if !reports.iter().all(|r| r.pass) {
            std::process::exit(1);
        }
        Ok(())
    }
}
