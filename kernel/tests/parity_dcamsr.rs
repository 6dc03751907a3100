//! papers/baselines/dcamsr.mcmr against DCAMSR as the UniFS repository implements it (LIKP0/UniFS
//! @ 025205c, model/DCAMSR.py): two fixtures made from the official classes by
//! tools/parity/dcamsr_fixture.py (no shared fixture exists; attention dropout off): 16 features,
//! 2 heads, projections to 8, one block everywhere, 16x16; and 20 features, 4 heads, projections
//! to 12, two blocks after the decoder's first merge, at 8x32 (non-square, H·W = 16²). The output, every
//! level's transformer, the SAM calls and decoder layers, gradients and one Adam step.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr_dsl::check::Value;
use std::path::PathBuf;

#[test]
fn dcamsr_matches_the_unifs_repository_at_two_configurations_in_float64_and_float32() {
    // (fixture, gradients PyTorch computed); enc.conv_L1 twice (target, reference), three
    // transformers, SAM three times and five decoder layers are hooked.
    for (name, grads) in [("dcamsr_f16_16x16", 116), ("dcamsr_f20_8x32", 120)] {
        for float64 in [true, false] {
            let (r, config) = common::committed_parity("baselines/dcamsr.mcmr", name, None, float64);
            common::assert_committed_parity(name, &r, &config, (1, 13, grads), 1e-5);
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
