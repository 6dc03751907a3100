//! papers/baselines/dudornet.mcmr against the official DuDoRNet code: the shared fixture
//! (shared/fixtures/parity/dudornet/small: G0 16, G 8, D 2, C 2, dilations [1, 2], two
//! recurrences, 64x64) and the kit's own (kernel/tests/fixtures/dudornet_g16_16x28: G 12, D 3,
//! C 3, dilations [1, 2, 3], 16x28, made by tools/parity/dudornet_fixture.py from the official
//! classes). Every recurrence's tensors, every hooked DRDN child and SEDRDB (the call index is
//! the recurrence: both networks are shared across recurrences), the gradients and one Adam step.

mod common;
use burn::tensor::Device;
use mcmr::model::CompiledModel;
use mcmr::parity::{run, ParityReport};
use mcmr_dsl::check::Value;
use std::path::{Path, PathBuf};

fn parity(fixture: &Path, params: &[(&str, Value)], float64: bool) -> ParityReport {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/dudornet.mcmr");
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.message));
    let params: Vec<_> = params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let checked = mcmr_dsl::check::elaborate(&loaded.spec, None, None, &params).unwrap();
    let model = CompiledModel::new(checked.graph, 0, &Device::flex().autodiff());
    run(&loaded.sections(None), model, fixture, Default::default(), float64).unwrap()
}

fn ints(xs: &[i64]) -> Value {
    Value::List(xs.iter().map(|&x| Value::Int(x)).collect())
}

fn check(r: &ParityReport, activations: usize, params: usize) {
    assert!(r.pass, "{:?}", r.notes);
    // Four tensors per recurrence and the reconstruction (the magnitude is ours only).
    assert_eq!(r.outputs.len(), 9, "{:?}", r.outputs.keys());
    assert!(r.outputs.contains_key("net.r2_kspc_img_dc_pred") && r.outputs.contains_key("net.recon"));
    assert_eq!(r.activations.len(), activations, "{:?}", r.activations.keys());
    let worst = r.outputs.values().chain(r.activations.values()).map(|d| d.rel).fold(0.0, f64::max);
    assert!(worst < 5e-6, "forward: worst relative difference {worst:e}");
    assert_eq!(r.grads.len(), params, "one set of weights per network, shared by the recurrences");
    assert!(r.grads_global_rel_l2.unwrap() < 1e-5, "{:?}", r.grads_global_rel_l2);
    // Adam's first step is about lr·sign(g): entries with |g| >= 1e-6 within 1e-6, the rest
    // (float32 noise in the official gradient) within 2 lr.
    assert!(r.step.values().all(|d| d.max_abs <= 1e-6), "{:?}", r.step);
    assert!(r.step_noise_max_abs <= 1e-3);
    let (loss, want) = r.loss.unwrap();
    assert!(common::rel_close(loss, want, 1e-5), "loss {loss} vs {want}");
}

#[test]
fn dudornet_matches_the_official_recurrences_and_training_step() {
    let Some(fx) = common::fixtures() else { return };
    let fx = fx.join("parity/dudornet/small");
    let small = [
        ("G0", Value::Int(16)),
        ("G", Value::Int(8)),
        ("D", Value::Int(2)),
        ("C", Value::Int(2)),
        ("dilateSet", ints(&[1, 2])),
        ("n_recurrent", Value::Int(2)),
    ];
    let r = parity(&fx, &small, true);
    // 2 networks x (SFENet1, SFENet2, 2 SEDRDBs, GFF) x 2 recurrences (the fixture hooks no UPNet).
    check(&r, 20, 56);
    let config = common::json(&fx.join("config.json"));
    assert!(common::rel_close(r.loss.unwrap().1, config["loss_value_step"].as_f64().unwrap(), 1e-6));
}

#[test]
fn dudornet_matches_at_another_width_depth_and_a_non_square_size_in_float64_and_float32() {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dudornet_g16_16x28");
    let config = common::json(&fx.join("config.json"));
    assert_eq!(config["constructor_args"]["D"], 3);
    let params = [
        ("G0", Value::Int(16)),
        ("G", Value::Int(12)),
        ("D", Value::Int(3)),
        ("C", Value::Int(3)),
        ("dilateSet", ints(&[1, 2, 3])),
        ("n_recurrent", Value::Int(2)),
    ];
    for float64 in [true, false] {
        let r = parity(&fx, &params, float64);
        // 2 networks x (SFENet1, SFENet2, 3 SEDRDBs, GFF, UPNet), first recurrence.
        check(&r, 14, 84);
        assert!(common::rel_close(r.loss.unwrap().1, config["loss_value"].as_f64().unwrap(), 1e-6));
    }
}

/// MANet's DuDoRNet rows train with DuDoRNet's official recipe (its Adam, the L1 sum over both
/// recurrences' images and k-space at smoke scale), not MANet's, and their manifests say so.
#[test]
fn manets_dudornet_rows_record_dudornets_own_recipe() {
    use mcmr::experiment::{plan_runs, ReproduceOptions};
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers/manet.mcmr");
    let runs = plan_runs(&spec, &ReproduceOptions::default()).unwrap();
    let run = runs.iter().find(|r| r.config.experiment == "ixi_radial_x6_dudornet").expect("the DuDoRNet row");
    let t = mcmr::experiment::manifest::describe_training(&run.config.stages);
    let main = &t[0];
    assert_eq!(main["optimizer"], "adam(lr = 0.0005, beta1 = 0.5, beta2 = 0.999, eps = 0.00000001, weight_decay = 0)");
    let terms: Vec<&str> = main["loss"].as_array().unwrap().iter().map(|x| x["term"].as_str().unwrap()).collect();
    assert_eq!(terms.len(), 4, "{terms:?}");
    assert!(terms.contains(&"l1(r2_kspc_pred, view_as_real(target_kspace))"), "{terms:?}");
    assert_eq!((main["batch_size"].as_u64(), main["epochs"].as_u64()), (Some(4), Some(15)));
    // MANet's own row keeps MANet's recipe.
    let manet = runs.iter().find(|r| r.config.experiment == "ixi_radial_x6").unwrap();
    let m = mcmr::experiment::manifest::describe_training(&manet.config.stages);
    assert!(m[0]["optimizer"].as_str().unwrap().starts_with("adam(lr = 0.001"), "{m}");
}
