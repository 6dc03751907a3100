//! papers/baselines/minet.mcmr against MINet as the UniFS repository implements it (LIKP0/UniFS
//! @ 025205c, model/MINet.py): two fixtures made from that code by tools/parity/minet_fixture.py
//! (no shared fixture exists; the authors' own code does not run): 16 features, two groups of one
//! block, 12x16, with the third branch's unused modules in the checkpoint (the spec's `ignore`
//! list skips them); and 24 features, one group of two blocks, 14x10, lean (only the modules the
//! forward pass calls); and the FSMNet repository's form (networks/compare_models/MINet.py: tanh
//! outputs), network `minet_fsmnet_repo`, 16 features, one group of two blocks, 10x12, lean. Both
//! outputs, every group, fusion, attention and output layer, gradients
//! and one Adam step.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run, ParityReport};
use std::path::PathBuf;

fn parity(name: &str, network: Option<&str>, float64: bool) -> (ParityReport, serde_json::Value) {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let config = common::json(&fx.join("config.json"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/minet.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let args = config["constructor_args"].as_object().unwrap();
    let params: Vec<_> =
        args.iter().map(|(k, v)| (k.clone(), mcmr_dsl::check::Value::Int(v.as_i64().unwrap()))).collect();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, network, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    (run(&loaded.sections(None), model, &fx, Default::default(), float64).unwrap(), config)
}

#[test]
fn minet_matches_the_unifs_repository_at_two_configurations_and_the_fsmnet_repository_in_float64_and_float32() {
    // (fixture, network, hooked module calls, gradients PyTorch computed)
    for (name, network, activations, grads) in [
        ("minet_f16_12x16", None, 20, 73),
        ("minet_f24_14x10", None, 17, 67),
        ("minet_fsmnet_f16_10x12", Some("minet_fsmnet_repo"), 17, 67),
    ] {
        for float64 in [true, false] {
            let (r, config) = parity(name, network, float64);
            assert!(r.pass, "{name}: {:?}", r.notes);
            assert_eq!(r.outputs.len(), 2, "{name}");
            assert_eq!(r.activations.len(), activations, "{name}: {:?}", r.activations.keys());
            let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
            assert!(worst < 1e-5, "{name}: forward {worst:e}");
            assert_eq!(r.grads.len(), grads, "{name}");
            assert!(r.grads_global_rel_l2.unwrap() < 5e-6, "{name}: {:?}", r.grads_global_rel_l2);
            assert!(r.step.values().all(|d| d.max_abs <= 1e-6), "{name}: {:?}", r.step);
            let (loss, want) = r.loss.unwrap();
            assert!(
                common::rel_close(loss, want, 1e-5)
                    && common::rel_close(want, config["loss_value"].as_f64().unwrap(), 1e-6)
            );
        }
    }
}
