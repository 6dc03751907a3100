//! The fastMRI U-Net spec against the official code (shared/fixtures/parity/fastmri_unet/small),
//! and at other widths, depths and non-square sizes.

mod common;
use burn::tensor::{Device, Tensor};
use mcmr::model::CompiledModel;
use mcmr::parity::{run, Tolerances};
use mcmr_dsl::check::Value;
use mcmr_dsl::plan::Section;
use std::path::PathBuf;

fn unet(params: &[(&str, i64)]) -> (Vec<Section>, mcmr_dsl::ir::Graph) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/unet.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let overrides: Vec<(String, Value)> = params.iter().map(|(k, v)| (k.to_string(), Value::Int(*v))).collect();
    let graph = loaded.elaborate(None, &[], &overrides).unwrap().graph;
    (loaded.sections(None), graph)
}

#[test]
fn unet_matches_the_official_forward_gradients_and_rmsprop_step() {
    let Some(fx) = common::fixtures() else { return };
    let (spec, graph) = unet(&[("chans", 8), ("num_pool_layers", 2)]);
    let model = CompiledModel::new(graph, 0, &Device::flex().autodiff());
    let r = run(&spec, model, &fx.join("parity/fastmri_unet/small"), Tolerances::default(), false).unwrap();
    assert!(r.pass, "{r:#?}");
    // `output` (training mode) and `eval.output` (evaluation mode; instance norm has no running
    // statistics, so the two agree).
    assert_eq!((r.outputs.len(), r.activations.len(), r.grads.len(), r.step.len()), (2, 7, 14, 14));
    assert!(r.outputs["output"].rel < 1e-4 && r.outputs["eval.output"].rel < 1e-4);
    assert!(r.grads_global_rel_l2.unwrap() < 1e-4);
    let (ours, theirs) = r.loss.unwrap();
    assert!((ours - theirs).abs() < 1e-5, "loss {ours} vs {theirs}");
}

#[test]
fn unet_runs_at_other_widths_depths_and_odd_sizes() {
    let device = Device::flex();
    for (chans, pools, h, w) in [(12, 3, 50, 70), (4, 1, 33, 21), (6, 4, 64, 48)] {
        let (_, graph) = unet(&[("chans", chans), ("num_pool_layers", pools)]);
        let model = CompiledModel::new(graph, 1, &device);
        let x = Tensor::<4>::ones([2, 1, h, w], &device);
        let out = model.forward(vec![x], false).unwrap();
        assert_eq!(out["output"].dims(), [2, 1, h, w], "chans {chans}, {pools} pools, {h}x{w}");
    }
}
