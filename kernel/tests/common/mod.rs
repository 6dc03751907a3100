//! Locating the shared fixtures (`../shared/fixtures` beside the repository, or `$MCMR_SHARED`).
//!
//! The kit runs without them, but CI has them: when they are missing a golden test fails under
//! `CI=true` and is reported as skipped otherwise, so a local clone without `shared/` still runs.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn shared_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MCMR_SHARED").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("fixtures").is_dir())
}

/// The fixtures folder, or `None` (after saying so) when it is absent outside CI.
pub fn fixtures() -> Option<PathBuf> {
    match shared_dir() {
        Some(d) => Some(d.join("fixtures")),
        None if std::env::var_os("CI").is_some() => {
            panic!("shared fixtures not found (set MCMR_SHARED or put shared/ beside the repository)")
        }
        None => {
            eprintln!("SKIPPED: shared fixtures not found (set MCMR_SHARED to run the golden tests)");
            None
        }
    }
}

pub fn json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn rel_close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300)
}

/// `papers/<spec>` against the committed fixture `kernel/tests/fixtures/<name>` (made from the
/// official code by a `tools/parity/*_fixture.py` script), configured from its `config.json`'s
/// `constructor_args` (integers, floats and integer lists), network `network` (default: the
/// spec's last).
pub fn committed_parity(
    spec: &str,
    name: &str,
    network: Option<&str>,
    float64: bool,
) -> (mcmr::parity::ParityReport, serde_json::Value) {
    use mcmr_dsl::check::Value;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fx = root.join("tests/fixtures").join(name);
    let config = json(&fx.join("config.json"));
    let loaded = mcmr_dsl::load(&root.join("../papers").join(spec)).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let value = |v: &serde_json::Value| match (v.as_array(), v.as_i64()) {
        (Some(xs), _) => Value::List(xs.iter().map(|x| Value::Int(x.as_i64().unwrap())).collect()),
        (None, Some(i)) => Value::Int(i),
        (None, None) => Value::Float(v.as_f64().unwrap()),
    };
    let params: Vec<_> =
        config["constructor_args"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), value(v))).collect();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, network, None, &params).unwrap();
    let model = mcmr::model::CompiledModel::new(checked.graph, 0, &burn::tensor::Device::flex().autodiff());
    let report = mcmr::parity::run(&loaded.sections(None), model, &fx, Default::default(), float64).unwrap();
    (report, config)
}

/// What every committed baseline fixture must show: a pass, the expected numbers of outputs,
/// hooked module calls and gradients, the forward within `forward` relative, the gradients
/// within 5e-6 global relative L2, every Adam-step entry within 1e-6, and the fixture's loss.
pub fn assert_committed_parity(
    name: &str,
    r: &mcmr::parity::ParityReport,
    config: &serde_json::Value,
    (outputs, activations, grads): (usize, usize, usize),
    forward: f64,
) {
    assert!(r.pass, "{name}: {:?}", r.notes);
    assert_eq!(r.outputs.len(), outputs, "{name}");
    assert_eq!(r.activations.len(), activations, "{name}: {:?}", r.activations.keys());
    let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
    assert!(worst < forward, "{name}: forward {worst:e}");
    assert_eq!(r.grads.len(), grads, "{name}");
    assert!(r.grads_global_rel_l2.unwrap() < 5e-6, "{name}: {:?}", r.grads_global_rel_l2);
    assert!(r.step.values().all(|d| d.max_abs <= 1e-6), "{name}: {:?}", r.step);
    let (loss, want) = r.loss.unwrap();
    assert!(rel_close(loss, want, 1e-5) && rel_close(want, config["loss_value"].as_f64().unwrap(), 1e-6));
}
