//! papers/fsmnet.mcmr against the official FSMNet code (shared/fixtures/parity/fsmnet/small):
//! parameter count, both outputs and all 74 hooked activations.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run, Tolerances};
use std::path::PathBuf;

#[test]
fn fsmnet_spec_matches_the_official_forward() {
    let Some(fx) = common::fixtures() else { return };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/fsmnet.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, Some("small"), &[]).unwrap();
    let config = common::json(&fx.join("parity/fsmnet/small/config.json"));
    assert_eq!(checked.graph.parameter_count() as u64, config["n_params_used"].as_u64().unwrap());
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    let r = run(&loaded.spec, model, &fx.join("parity/fsmnet/small"), Tolerances::default()).unwrap();
    assert_eq!((r.outputs.len(), r.activations.len()), (2, 74), "{:?}", r.notes);
    let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
    assert!(worst < 1e-4, "worst relative difference {worst:e}");
    assert!(r.pass);
}
