//! papers/unifs.mcmr against the official UniFS code (shared/fixtures/parity/unifs/small): the
//! forward pass with its 26 hooked block outputs, and both training steps of the fixture, (a) as
//! released (MSE, Adam) and (b) as the paper states (JFS-Loss, AdamW).

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run_step, ParityReport};
use std::path::PathBuf;

fn spec() -> mcmr_dsl::Loaded {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/unifs.mcmr");
    mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message))
}

fn step(name: Option<&str>, float64: bool) -> Option<(ParityReport, serde_json::Value)> {
    let fx = common::fixtures()?.join("parity/unifs/small");
    let loaded = spec();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, Some("small"), &[]).unwrap();
    let config = common::json(&fx.join("config.json"));
    // The trained parameters are exactly those the official forward uses: the frozen final
    // convolution of the reference encoder is built (and imported) but not trained.
    let trained = checked.graph.parameter_count() - checked.graph.frozen_count();
    assert_eq!(trained as u64, config["n_params_used_in_forward_output"].as_u64().unwrap());
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    let tol = mcmr::parity::Tolerances::default();
    Some((run_step(&loaded.sections(None), name, model, &fx, tol, float64).unwrap(), config))
}

fn forward_ok(r: &ParityReport) {
    assert_eq!((r.outputs.len(), r.activations.len()), (1, 26), "{:?}", r.notes);
    let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
    assert!(worst < 1e-4, "forward: worst relative difference {worst:e}");
}

/// Step (a), as released: every check of the issue holds, and our float64 gradients differ from
/// PyTorch's float32 ones by the gap PyTorch's own float64 run showed (conditioning).
#[test]
fn unifs_matches_the_official_forward_and_the_released_training_step() {
    let Some((r, config)) = step(None, true) else { return };
    assert!(r.pass, "{:?}", r.notes);
    forward_ok(&r);
    assert_eq!(r.grads.len(), 260, "every trained tensor's gradient is compared");
    let recorded = config["conditioning"]["grads_float32_vs_float64_a_mse"]["global_rel_l2_err"].as_f64().unwrap();
    let ours = r.grads_global_rel_l2.unwrap();
    assert!(common::rel_close(ours, recorded, 1e-2), "ours {ours:e} vs PyTorch's own {recorded:e}");
    assert!(r.step_fraction_within.unwrap() >= 0.995, "{:?}", r.step_fraction_within);
    assert!(r.step.values().all(|d| d.max_abs <= 2.1e-4), "a step entry differs by more than 2·lr");
    let (loss, want) = r.loss.unwrap_or((f64::NAN, config["loss_value"].as_f64().unwrap()));
    assert!(loss.is_nan() || common::rel_close(loss, want, 1e-5), "loss {loss} vs {want}");
}

/// Step (b), as the paper states: JFS-Loss puts the phase of rfft2 in the loss, whose gradient
/// PyTorch computes in float32 with a relative error of 5.4e-5 (against 7.9e-7 for MSE). Our
/// float64 gradients reproduce that gap to four digits, i.e. they are PyTorch's float64
/// gradients. AdamW on the fixture's own gradients (the spec's `step_grads = "official"`) meets
/// the criterion; end to end, AdamW's first step lr·g/(|g| + eps) turns PyTorch's float32
/// noise on the entries with |g| < 1e-6 into step differences: 99.2% of all entries agree within
/// 1e-6, and of the rest more than 99% are such small-gradient entries.
#[test]
fn unifs_matches_the_papers_training_step_up_to_pytorchs_float32_noise() {
    let Some((r, config)) = step(Some("jfs"), true) else { return };
    assert!(r.pass, "{:?}", r.notes);
    forward_ok(&r);
    let recorded = config["conditioning"]["grads_float32_vs_float64_b_jfs"]["global_rel_l2_err"].as_f64().unwrap();
    let ours = r.grads_global_rel_l2.unwrap();
    assert!(common::rel_close(ours, recorded, 1e-2), "ours {ours:e} vs PyTorch's own {recorded:e}");
    assert!(r.step_fraction_within.unwrap() >= 0.995, "{:?}", r.step_fraction_within);
    assert!(r.step.values().all(|d| d.max_abs <= 2e-4), "an update entry differs by more than 2·lr");
    let e = r.step_end_to_end.unwrap();
    assert!(e.fraction_within >= 0.99 && e.max_abs <= 2.1e-4, "end to end: {e:?}");
    let share = e.outside_small_grad as f64 / e.outside.max(1) as f64;
    assert!(share > 0.99, "{} of {} outside entries have small gradients", e.outside_small_grad, e.outside);
}

/// The parity is the spec's, not one fixture's: with the reference and target inputs swapped,
/// or with the mask moved to the un-shifted layout, the forward pass no longer matches.
#[test]
fn unifs_parity_depends_on_the_inputs_roles_and_the_masks_layout() {
    use mcmr::io::safetensors::{read_safetensors, write_safetensors, StWrite};
    let Some(fx) = common::fixtures() else { return };
    let fx = fx.join("parity/unifs/small");
    let inputs = read_safetensors(&fx.join("inputs.safetensors")).unwrap();
    let f32s = |k: &str| StWrite::F32(inputs[k].shape.clone(), inputs[k].data.iter().map(|&v| v as f32).collect());
    let (h, w) = (64, 64);
    let mask = &inputs["mask"];
    let shifted: Vec<f32> = (0..mask.data.len())
        .map(|i| {
            let (b, y, x) = (i / (h * w), (i / w) % h, i % w);
            mask.data[b * h * w + ((y + h / 2) % h) * w + (x + w / 2) % w] as f32
        })
        .collect();
    let cases = [
        ("swapped", [("pd_hr", f32s("t2_lr")), ("t2_lr", f32s("pd_hr")), ("mask", f32s("mask"))]),
        (
            "unshifted_mask",
            [("pd_hr", f32s("pd_hr")), ("t2_lr", f32s("t2_lr")), ("mask", StWrite::F32(mask.shape.clone(), shifted))],
        ),
    ];
    for (name, tensors) in cases {
        let dir = std::env::temp_dir().join(format!("mcmr-parity-unifs-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["weights.safetensors", "outputs.safetensors"] {
            std::fs::copy(fx.join(f), dir.join(f)).unwrap();
        }
        let tensors = tensors.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        write_safetensors(&dir.join("inputs.safetensors"), &tensors, &Default::default()).unwrap();
        let loaded = spec();
        let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, Some("small"), &[]).unwrap();
        let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
        let r = run_step(&loaded.sections(None), None, model, &dir, Default::default(), true).unwrap();
        // Seven thousand times our difference on the fixture (7.7e-7); the prompts, which see
        // the mask directly, differ by more than 1%.
        assert!(!r.pass && r.outputs["out"].rel > 1e-4, "{name}: {:?}", r.outputs);
        let prompt = &r.activations["act.multi_feature_fuse.0.frequency_fuse.amp_prompt.call0"];
        assert!(prompt.rel > 1e-2, "{name}: {prompt:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Other widths, depths, reductions and non-square sizes compile and run with the same spec.
#[test]
fn unifs_runs_at_other_configurations_and_non_square_sizes() {
    use burn::tensor::Tensor;
    let loaded = spec();
    let device = Device::flex();
    for (c, g, n, r, h, w) in [(8i64, 2i64, 1i64, 2i64, 24usize, 40usize), (12, 1, 3, 3, 33, 20)] {
        let params = [
            ("n_feats".to_string(), mcmr_dsl::check::Value::Int(c)),
            ("n_resgroups".to_string(), mcmr_dsl::check::Value::Int(g)),
            ("n_resblocks".to_string(), mcmr_dsl::check::Value::Int(n)),
            ("reduction".to_string(), mcmr_dsl::check::Value::Int(r)),
        ];
        let graph = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap().graph;
        let model = CompiledModel::new(graph, 7, &device);
        let x = Tensor::<4>::ones([1, 1, h, w], &device) * 0.5;
        let out = model.forward(vec![x.clone(), x.clone(), x], false).unwrap();
        assert_eq!(out["out"].dims(), [1, 1, h, w], "C={c} G={g} R={n} r={r} {h}x{w}");
        let values = out["out"].clone().into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "non-finite output at C={c} {h}x{w}");
    }
}

/// Parity at another configuration without the shared fixtures: `tests/fixtures/unifs_c8_32x64`
/// holds the official code's forward (output and 12 hooked block outputs) and released training
/// step for n_feats 8, 2 groups of 1 block, reduction 2, on a non-square 32x64 input (made by
/// tools/parity/unifs_fixture.py; its config.json has the command).
#[test]
fn unifs_matches_the_official_code_at_another_configuration_and_a_non_square_size() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unifs_c8_32x64");
    let config = common::json(&dir.join("config.json"));
    let args = &config["constructor_args"];
    let params: Vec<(String, mcmr_dsl::check::Value)> = ["n_feats", "n_resgroups", "n_resblocks", "reduction"]
        .iter()
        .map(|k| (k.to_string(), mcmr_dsl::check::Value::Int(args[*k].as_i64().unwrap())))
        .collect();
    let loaded = spec();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    let r = run_step(&loaded.sections(None), None, model, &dir, Default::default(), true).unwrap();
    assert!(r.pass, "{:?} {:?}", r.outputs, r.notes);
    assert_eq!((r.outputs.len(), r.activations.len(), r.grads.len()), (1, 12, 144));
    assert!(r.outputs["out"].rel < 1e-5 && r.grads_global_rel_l2.unwrap() < 1e-5, "{:?}", r.outputs);
    assert_eq!(r.step_fraction_within, Some(1.0));
}
