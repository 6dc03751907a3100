//! The `mcmr` command-line contract: JSON keys, exit codes and error messages.

mod common;
use std::process::Command;

fn mcmr(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcmr")).args(args).output().expect("run mcmr");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn mask_json_for_a_1d_family_has_the_contract_keys_and_fastmri_columns() {
    let (code, out, err) = mcmr(&[
        "mask",
        "random",
        "--shape",
        "640,368",
        "--acceleration",
        "4",
        "--center-fraction",
        "0.08",
        "--seed-name",
        "file1000001.h5",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["family", "shape", "sampled_columns", "num_low_frequencies", "achieved_acceleration"] {
        assert!(v.get(key).is_some(), "missing `{key}` in {out}");
    }
    assert_eq!(v["num_low_frequencies"], 29);
    assert_eq!(v["sampled_columns"].as_array().unwrap().len(), 81);
    assert!((v["achieved_acceleration"].as_f64().unwrap() - 368.0 / 81.0).abs() < 1e-12);
}

#[test]
fn mask_json_for_a_2d_family_reports_the_sampled_fraction_and_writes_a_png() {
    let dir = tmp("mask2d");
    let png = dir.join("radial.png");
    let (code, out, err) = mcmr(&[
        "mask",
        "radial",
        "--shape",
        "64,64",
        "--acceleration",
        "4",
        "--seed",
        "3",
        "--json",
        "--png",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = v["sampled_fraction"].as_f64().unwrap();
    assert!((v["achieved_acceleration"].as_f64().unwrap() - 1.0 / f).abs() < 1e-9);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
}

#[test]
fn bad_mask_parameters_fail_with_a_named_parameter_and_no_panic() {
    for (args, needle) in [
        (vec!["mask", "random", "--shape", "64,64", "--acceleration", "0.5"], "acceleration"),
        (vec!["mask", "random", "--shape", "64,64", "--center-fraction", "1.5"], "center_fraction"),
        (vec!["mask", "magic_fraction", "--shape", "640,368", "--center-fraction", "0.37"], "center_fraction"),
        (vec!["mask", "radiall", "--shape", "64,64"], "did you mean `radial`"),
        (vec!["mask", "random", "--shape", "64x64"], "H,W"),
    ] {
        let (code, _, err) = mcmr(&args);
        assert_ne!(code, 0, "{args:?} should fail");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn metrics_reads_npy_and_reports_the_protocol_json() {
    let dir = tmp("metrics");
    let (gt, pred) = (dir.join("gt.npy"), dir.join("pred.npy"));
    let g: Vec<f32> = (0..2 * 16 * 16).map(|i| 1.0 + (i % 16) as f32 / 16.0).collect();
    let p: Vec<f32> = g.iter().map(|v| v * 0.98).collect();
    mcmr::io::npy::write_npy_f32(&gt, &[2, 16, 16], &g).unwrap();
    mcmr::io::npy::write_npy_f32(&pred, &[2, 16, 16], &p).unwrap();
    let (code, out, err) = mcmr(&[
        "metrics",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
        "--protocol",
        "fastmri-volume",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["protocol"], "fastmri-volume");
    let nmse = v["nmse"].as_f64().unwrap();
    assert!((nmse - 0.02f64.powi(2)).abs() < 1e-6, "{nmse}");
    assert!(v["psnr"].as_f64().is_some() && v["ssim"].as_f64().is_some());

    // Mismatched shapes, an unknown protocol and an unreadable file: clear errors.
    let small = dir.join("small.npy");
    mcmr::io::npy::write_npy_f32(&small, &[16, 16], &g[..256]).unwrap();
    let junk = dir.join("junk.npy");
    std::fs::write(&junk, b"not numpy").unwrap();
    for (args, needle) in [
        (
            vec!["--gt", gt.to_str().unwrap(), "--pred", small.to_str().unwrap(), "--protocol", "slice-mean"],
            "must match",
        ),
        (
            vec!["--gt", gt.to_str().unwrap(), "--pred", pred.to_str().unwrap(), "--protocol", "psnr-please"],
            "known: fastmri-volume",
        ),
        (
            vec!["--gt", junk.to_str().unwrap(), "--pred", pred.to_str().unwrap(), "--protocol", "slice-mean"],
            "junk.npy",
        ),
    ] {
        let mut full = vec!["metrics"];
        full.extend(args);
        let (code, _, err) = mcmr(&full);
        assert_ne!(code, 0);
        assert!(err.contains(needle) && !err.contains("panicked"), "{err}");
    }
}

#[test]
fn metrics_reads_nifti_volumes() {
    let dir = tmp("nifti");
    let arr = ndarray::Array3::<f32>::from_shape_fn((12, 10, 3), |(x, y, z)| {
        1.0 + x as f32 * 0.1 + y as f32 * 0.01 + z as f32
    });
    let (gt, pred) = (dir.join("gt.nii.gz"), dir.join("pred.nii"));
    nifti::writer::WriterOptions::new(&gt).write_nifti(&arr).unwrap();
    nifti::writer::WriterOptions::new(&pred).write_nifti(&arr.mapv(|v| v + 0.01)).unwrap();
    let (code, out, err) = mcmr(&[
        "metrics",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
        "--protocol",
        "slice-mean",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let vol = mcmr::io::volume::read_volume(&gt).unwrap();
    assert_eq!(vol.shape(), [3, 12, 10]);
    assert!(v["psnr"].as_f64().unwrap() > 40.0);
}

#[test]
fn zero_filled_job_writes_its_report_and_pictures() {
    let dir = tmp("zf");
    let (code, out, err) = mcmr(&[
        "zero-filled",
        "--size",
        "64",
        "--family",
        "equispaced_fraction",
        "--acceleration",
        "4",
        "--seed",
        "1337",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fastmri-volume") && out.contains("fsmnet-brats-uint8"), "{out}");
    for f in [
        "report.md",
        "results.json",
        "mask.png",
        "zero_filled.png",
        "target.png",
        "error.png",
        "kspace_log_magnitude.png",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["metrics"].as_array().unwrap().len(), mcmr::protocols::Protocol::ALL.len());
}

#[test]
fn data_phantom_then_inspect_reports_the_contract_keys() {
    let dir = tmp("data-phantom");
    let out = dir.join("brats");
    let (code, _, err) = mcmr(&[
        "data",
        "phantom",
        "--out",
        out.to_str().unwrap(),
        "--kind",
        "brain",
        "--subjects",
        "2",
        "--size",
        "48",
        "--slices",
        "3",
        "--seed",
        "4",
    ]);
    assert_eq!(code, 0, "{err}");
    // Break one subject: every problem is listed, the other subject stays good.
    std::fs::remove_file(out.join("Phantom_001/Phantom_001_t1ce.nii.gz")).unwrap();
    let (code, json, err) = mcmr(&["data", "inspect", out.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["layout"], "brats");
    let subjects = v["subjects"].as_array().unwrap();
    assert_eq!(subjects[0]["id"], "Phantom_000");
    assert_eq!(subjects[0]["contrasts"]["t1"], serde_json::json!([48, 48, 3]));
    assert!(subjects[0]["problems"].as_array().unwrap().is_empty());
    assert!(subjects[1]["problems"][0].as_str().unwrap().contains("missing contrast `t1ce`"));
    assert!(v["problems"].as_array().is_some());

    let knee = dir.join("knee");
    let (code, _, err) = mcmr(&[
        "data",
        "phantom",
        "--out",
        knee.to_str().unwrap(),
        "--kind",
        "knee",
        "--subjects",
        "1",
        "--size",
        "40",
        "--slices",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, json, _) = mcmr(&["data", "inspect", knee.to_str().unwrap(), "--layout", "knee", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["subjects"][0]["contrasts"]["pdfs"], serde_json::json!([40, 40, 2]));

    for (args, needle) in [
        (vec!["data", "phantom", "--out", "x", "--kind", "lung"], "unknown phantom kind"),
        (vec!["data", "inspect", "/nonexistent/folder", "--layout", "brats"], "not a folder"),
        (vec!["data", "inspect", ".", "--layout", "dicom"], "unknown layout"),
    ] {
        let (code, out, err) = mcmr(&args);
        assert!(!(out + &err).contains("panicked"));
        assert!(code != 0 || needle == "not a folder", "{args:?}");
        let (_, o2, e2) = mcmr(&args);
        assert!((o2 + &e2).contains(needle), "{args:?}");
    }
}

fn unet_spec() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/unet.mcmr").display().to_string()
}

#[test]
fn check_spec_reports_parameter_counts_and_fails_cleanly_on_errors() {
    let spec = unet_spec();
    let (code, out, err) = mcmr(&["check-spec", &spec, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["parameters"], 7_756_097);
    assert_eq!(v["blocks"]["conv"], 3_538_944);
    assert_eq!(v["variants"]["small"], 29_137, "every variant is checked without --variant");
    let (_, out, _) = mcmr(&["check-spec", &spec, "--variant", "small", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["parameters"], 29_137, "the fixture's n_params for Unet(1, 1, 8, 2)");
    let (_, out, _) = mcmr(&["check-spec", &spec, "--param", "chans=8", "--param", "num_pool_layers=2", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["parameters"], 29_137);

    for (args, needle) in [
        (vec!["check-spec", spec.as_str(), "--variant", "smal"], "did you mean `small`"),
        (vec!["check-spec", spec.as_str(), "--param", "chanz=8"], "did you mean `chans`"),
        (vec!["check-spec", "/nonexistent.mcmr"], "cannot read"),
    ] {
        let (code, _, err) = mcmr(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let dir = tmp("bad-spec");
    let bad = dir.join("bad.mcmr");
    std::fs::write(&bad, "network n() {\n    input x: [1, H, W]\n    output y = conv2(x, 4)\n}\n").unwrap();
    let (code, _, err) = mcmr(&["check-spec", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.mcmr:3:16") && err.contains("did you mean `conv2d`"), "{err}");
    // A broken variant fails the plain check too, naming the variant.
    std::fs::write(
        &bad,
        "network n(c: int = 1) {\n    input x: [1, H, W]\n    output y = conv2d(x, c)\n}\n\nvariant zero {\n    c = 0\n}\n",
    )
    .unwrap();
    let (code, _, err) = mcmr(&["check-spec", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("with --variant zero"), "{err}");
    // Two runs of a sweep that the shared `scale smoke` makes one: a warning, not an error.
    let sweep = dir.join("sweep.mcmr");
    std::fs::write(
        &sweep,
        "network n(c: int = 1) {\n    input x: [1, H, W]\n    output y = conv2d(x, c, kernel = 1)\n}\n\n\
         experiment {\n    network = \"n\"\n    inputs = [\"input\"]\n    prediction = \"y\"\n    \
         loss = l1(y, target)\n    iterations = 2\n    optimizer = adam(lr = 1e-3)\n    mask {\n        \
         family = \"random\"\n        acceleration = 4\n        center_fraction = 0.08\n    }\n    \
         scale smoke {\n        params n {\n            c = 1\n        }\n    }\n}\n\n\
         experiment c2 {\n    params n {\n        c = 2\n    }\n}\n\n\
         experiment c3 {\n    params n {\n        c = 3\n    }\n}\n",
    )
    .unwrap();
    let (code, out, err) = mcmr(&["check-spec", sweep.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let w = &serde_json::from_str::<serde_json::Value>(&out).unwrap()["warnings"][0];
    assert_eq!(w["message"], "experiments `c2` and `c3` differ as written but are the same run at scale `smoke`");
    assert_eq!((w["line"].as_u64(), w["column"].as_u64()), (Some(31), Some(12)), "{w}");
    let (_, _, err) = mcmr(&["check-spec", sweep.to_str().unwrap()]);
    assert!(err.contains("sweep.mcmr:31:12") && err.contains("own `scale smoke"), "{err}");
    // `reproduce` warns before it trains, and the two runs come out the same.
    let runs = dir.join("sweep-runs");
    let (code, out, err) = mcmr(&["reproduce", sweep.to_str().unwrap(), "--out", runs.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.starts_with("warning: experiments `c2` and `c3` differ as written"), "{err}");
    let result = |e: &str| std::fs::read_to_string(runs.join(format!("sweep/base/smoke/{e}/results.json"))).unwrap();
    assert_eq!(result("c2"), result("c3"), "{out}");
    // fmt --check: exit 1 on an unformatted file, then fmt fixes it.
    std::fs::write(&bad, "network n(){input x:[1,H,W]\noutput y=relu(x)}\n").unwrap();
    assert_eq!(mcmr(&["fmt", "--check", bad.to_str().unwrap()]).0, 1);
    assert_eq!(mcmr(&["fmt", bad.to_str().unwrap()]).0, 0);
    assert_eq!(mcmr(&["fmt", "--check", bad.to_str().unwrap()]).0, 0);
}

#[test]
fn parity_json_has_the_contract_keys() {
    let Some(fixtures) = common::fixtures() else { return };
    let fixture = fixtures.join("parity/fastmri_unet/small");
    let (code, out, err) =
        mcmr(&["parity", &unet_spec(), "--fixture", fixture.to_str().unwrap(), "--variant", "small", "--json"]);
    assert_eq!(code, 0, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["outputs", "activations", "grads", "step", "pass", "grads_global_rel_l2", "precision"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["outputs"]["output"]["rel"].as_f64().unwrap() < 1e-4);
    assert_eq!(v["pass"], true);
}

/// A fixture's `config.json` sets the network's parameters (`constructor_args`), so a fixture
/// at another width needs neither a variant nor `--param`; what it took goes to stderr.
#[test]
fn parity_takes_the_network_configuration_from_the_fixture() {
    let Some(fixtures) = common::fixtures() else { return };
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/fsmnet.mcmr");
    let fixture = fixtures.join("parity/fsmnet/small");
    let (_, out, err) = mcmr(&["parity", spec.to_str().unwrap(), "--fixture", fixture.to_str().unwrap(), "--json"]);
    assert!(err.contains("base_num_every_group=1") && err.contains("num_features=16"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["precision"], "float64");
    assert!(v["outputs"]["img_out"]["rel"].as_f64().unwrap() < 1e-4, "{out}");
    // An explicit --param still wins: the default width's weights do not fit the fixture.
    let (code, _, err) =
        mcmr(&["parity", spec.to_str().unwrap(), "--fixture", fixture.to_str().unwrap(), "--param", "num_features=8"]);
    assert_ne!(code, 0);
    assert!(!err.contains("num_features=16"), "{err}");
}

/// A small spec with one experiment; `replace` swaps a line of it for a broken one.
const RUN_SPEC: &str = r#"network n(c: int = 4) {
    input x: [1, H, W]
    output y = conv2d(x, 1, padding = 1)
}

experiment {
    loss = l1(y, target)
    optimizer = adam(lr = 1e-3)
    iterations = 2
    inputs = ["input"]
    data {
        size = 32
    }
    mask {
        family = "random"
        acceleration = 4
        policy = "fixed"
    }
    scale smoke {
        batch_size = 1
    }
}
"#;

#[test]
fn check_spec_plans_every_run_and_rejects_bad_values_with_their_position() {
    let dir = tmp("bad-runs");
    let path = dir.join("runs.mcmr");
    std::fs::write(&path, RUN_SPEC).unwrap();
    let (code, out, err) = mcmr(&["check-spec", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["runs"][0]["experiment"], "default", "{out}");
    assert_eq!(v["runs"][0]["scale"], "smoke", "{out}");
    for (old, new, place, needle) in [
        ("acceleration = 4", "acceleration = 0.5", "runs.mcmr:16:24", "expects a number ≥ 1"),
        ("policy = \"fixed\"", "policy = \"fixd\"", "runs.mcmr:17:18", "did you mean `fixed`"),
        ("inputs = [\"input\"]", "inputs = [\"input+t1\"]", "runs.mcmr:10:14", "`t1` is not a data field"),
        (
            "loss = l1(y, target)",
            "loss = l1(img_out, target)",
            "runs.mcmr:7:15",
            "reads `img_out`, which is neither a network output",
        ),
        ("loss = l1(y, target)", "loss = l1(rfft2(y), target)", "runs.mcmr:7:15", "is a complex tensor"),
        (
            "loss = l1(y, target)",
            "loss = l1(fft2(y, centered = true), target)",
            "runs.mcmr:7:23",
            "`fft2` has no argument `centered`",
        ),
    ] {
        assert!(RUN_SPEC.contains(old));
        std::fs::write(&path, RUN_SPEC.replace(old, new)).unwrap();
        let (code, _, err) = mcmr(&["check-spec", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{new}: {err}");
        assert!(err.contains(place) && err.contains(needle), "{new}: expected `{needle}` at {place} in\n{err}");
    }
}

#[test]
fn every_spec_in_the_repository_passes_check_spec_with_all_its_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers");
    for spec in ["fsmnet.mcmr", "baselines/baselines.mcmr"] {
        let path = root.join(spec);
        let (code, out, err) = mcmr(&["check-spec", path.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{spec}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let runs = v["runs"].as_array().unwrap();
        let at = |scale: &str| runs.iter().filter(|r| r["scale"] == scale && r["variant"] == "base").count();
        // FSMNet: 16 runs, MTrans, MINet and DCAMSR on the brain at both scales, the three on
        // the knee at paper scale (MINet and DCAMSR also at reduced).
        let expected = if spec == "fsmnet.mcmr" { (22, 28) } else { (6, 6) };
        assert_eq!((at("smoke"), at("paper")), expected, "{spec}: {out}");
    }
}

/// `mcmr flops`: the per-module count of an experiment's network on its first slice (JSON keys,
/// the modules of IGKR-Net, a total that adds up), and a clear error for an unknown experiment.
#[test]
fn flops_counts_an_experiments_network_per_module() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../papers/igkr.mcmr");
    let (code, out, err) = mcmr(&["flops", spec, "--experiment", "cc359_1d_20", "--size", "16", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["size"], serde_json::json!([16, 16]));
    let modules = v["modules"].as_object().unwrap();
    for m in ["lrit", "idgm", "hrit", "tarm", "(network)"] {
        assert!(modules.contains_key(m), "no module `{m}` in {out}");
    }
    let sum: u64 = modules.values().map(|c| c["total_flops"].as_u64().unwrap()).sum();
    assert_eq!(sum, v["total"]["total_flops"].as_u64().unwrap());
    assert!(modules["hrit"]["attention_macs"].as_u64().unwrap() > 0);
    let (code, _, err) = mcmr(&["flops", spec, "--experiment", "no_such_run"]);
    assert_eq!(code, 1);
    assert!(err.contains("no_such_run"), "{err}");
}
