//! papers/baselines/mtrans.mcmr against the official MTrans code (CrossCMMT): the shared
//! fixture (shared/fixtures/parity/mtrans/small: INPUT_SIZE 32, hidden 4, patches 4 and 8, one
//! cross-transformer layer, 2 heads, MLP ratio 1) and the kit's own
//! (kernel/tests/fixtures/mtrans_h2_24: 24x24, hidden 2, patches 2 and 4, two layers, MLP ratio
//! 2, made by tools/parity/mtrans_fixture.py from the official classes). Both outputs in
//! training and evaluation mode (the heads' batch norms), the heads, tails and every
//! cross-transformer layer (tokens stored [B, N, C]), gradients, one SGD step and the running
//! statistics after it.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run, ParityReport};
use std::path::{Path, PathBuf};

fn parity(fixture: &Path, params: &[(&str, i64)], float64: bool) -> ParityReport {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/mtrans.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let params: Vec<_> = params.iter().map(|(k, v)| (k.to_string(), mcmr_dsl::check::Value::Int(*v))).collect();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    run(&loaded.sections(None), model, fixture, Default::default(), float64).unwrap()
}

fn check(r: &ParityReport, activations: usize, grads: usize) {
    assert!(r.pass, "{:?}", r.notes);
    assert_eq!(r.outputs.len(), 4, "both outputs in both modes: {:?}", r.outputs.keys());
    assert_eq!(r.activations.len(), activations, "{:?}", r.activations.keys());
    let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
    assert!(worst < 5e-6, "forward: worst relative difference {worst:e}");
    assert_eq!(r.grads.len(), grads);
    assert!(r.grads_global_rel_l2.unwrap() < 5e-6, "{:?}", r.grads_global_rel_l2);
    // SGD's step is lr·(g + wd·w): every entry within 1e-6 (the worst is 6e-8).
    assert!(r.step.values().all(|d| d.max_abs <= 1e-6), "{:?}", r.step);
    assert_eq!(r.running_stats.len(), 12, "mean and variance of the six batch norms");
    assert!(r.running_stats.values().all(|d| d.rel < 1e-6), "{:?}", r.running_stats);
    let (loss, want) = r.loss.unwrap();
    assert!(common::rel_close(loss, want, 1e-5), "loss {loss} vs {want}");
}

#[test]
fn mtrans_matches_the_official_forward_and_training_step() {
    let Some(fx) = common::fixtures() else { return };
    let fx = fx.join("parity/mtrans/small");
    let small =
        [("INPUT_SIZE", 32), ("HEAD_HIDDEN_DIM", 4), ("P1", 4), ("P2", 8), ("CTDEPTH", 1), ("HEADS", 2), ("MLP", 1)];
    let r = parity(&fx, &small, true);
    // Heads, tails and both halves of the one layer (the fixture's two `cross_transformer`
    // tuple outputs have no block of their own: the tails read them).
    check(&r, 6, 66);
    let config = common::json(&fx.join("config.json"));
    assert!(common::rel_close(r.loss.unwrap().1, config["loss_value_step"].as_f64().unwrap(), 1e-6));
}

#[test]
fn mtrans_matches_at_another_width_depth_and_patch_size_in_float64_and_float32() {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mtrans_h2_24");
    let config = common::json(&fx.join("config.json"));
    assert_eq!(config["constructor_args"]["CTDEPTH"], 2);
    let params =
        [("INPUT_SIZE", 24), ("HEAD_HIDDEN_DIM", 2), ("P1", 2), ("P2", 4), ("CTDEPTH", 2), ("HEADS", 2), ("MLP", 2)];
    for float64 in [true, false] {
        let r = parity(&fx, &params, float64);
        check(&r, 8, 102);
        assert!(common::rel_close(r.loss.unwrap().1, config["loss_value"].as_f64().unwrap(), 1e-6));
    }
}
