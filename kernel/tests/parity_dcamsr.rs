//! papers/baselines/dcamsr.mcmr against DCAMSR as the UniFS repository implements it (LIKP0/UniFS
//! @ 025205c, model/DCAMSR.py): two fixtures made from the official classes by
//! tools/parity/dcamsr_fixture.py (no shared fixture exists; attention dropout off): 16 features,
//! 2 heads, projections to 8, one block everywhere, 16x16; and 20 features, 4 heads, projections
//! to 12, two blocks after the decoder's first merge, at 8x32 (non-square, H·W = 16²). The output, every
//! level's transformer, the SAM calls and decoder layers, gradients and one Adam step.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run, ParityReport};
use mcmr_dsl::check::Value;
use std::path::PathBuf;

fn parity(name: &str, float64: bool) -> (ParityReport, serde_json::Value) {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let config = common::json(&fx.join("config.json"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/dcamsr.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let value = |v: &serde_json::Value| match v.as_array() {
        Some(xs) => Value::List(xs.iter().map(|x| Value::Int(x.as_i64().unwrap())).collect()),
        None => Value::Int(v.as_i64().unwrap()),
    };
    let params: Vec<_> =
        config["constructor_args"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), value(v))).collect();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    (run(&loaded.sections(None), model, &fx, Default::default(), float64).unwrap(), config)
}

#[test]
fn dcamsr_matches_the_unifs_repository_at_two_configurations_in_float64_and_float32() {
    // (fixture, gradients PyTorch computed)
    for (name, grads) in [("dcamsr_f16_16x16", 116), ("dcamsr_f20_8x32", 120)] {
        for float64 in [true, false] {
            let (r, config) = parity(name, float64);
            assert!(r.pass, "{name}: {:?}", r.notes);
            assert_eq!(r.outputs.len(), 1, "{name}");
            // enc.conv_L1 twice (target, reference), three transformers, SAM three times, five
            // decoder layers.
            assert_eq!(r.activations.len(), 13, "{name}: {:?}", r.activations.keys());
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

#[test]
fn dcamsr_counts_the_official_parameters_and_refuses_another_grid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/dcamsr.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    // torch: sum(p.numel() for p in DCAMSR(input_size=256).parameters()) = 9,286,705 (E and F
    // are one module), and 7,141,681 at the constructor's default 200.
    let count = |size: i64| {
        let params = [("input_size".to_string(), Value::Int(size))];
        mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap().graph.parameter_count()
    };
    assert_eq!((count(256), count(200)), (9_286_705, 7_141_681));
    // The spatial attention's projection fixes H·W: a 24x24 input to the 16² configuration is
    // refused with the module's name, not a shape panic.
    let params = [("input_size".to_string(), Value::Int(16)), ("nf".to_string(), Value::Int(8))];
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    let x = || burn::tensor::Tensor::<4>::zeros([1, 1, 24, 24], &Device::flex().autodiff());
    let e = model.forward(vec![x(), x()], false).unwrap_err().to_string();
    assert!(e.contains("trans_lv1.0.epa_block") && e.contains("256 tokens"), "{e}");
}
