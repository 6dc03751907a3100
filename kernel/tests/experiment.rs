//! The experiment engine end to end on a tiny spec: bit-reproducible runs, exact resumption
//! after a kill, `mcmr check` failing when an expected number or a loss weight changes, and
//! clear errors for runs that cannot work.

use mcmr::experiment::{reproduce, ReproduceOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const TINY: &str = r#"network tiny() {
    input image: [1, H, W]
    x = conv2d(image, 4, kernel = 3, padding = 1) as head
    // Dropout in training: a resumed run must draw the masks the uninterrupted one drew.
    x = dropout(relu(x), 0.1)
    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail
}

experiment {
    seed = 3
    loss = l1(output, target) + 0.5 * mse(output, target)
    optimizer = adam(lr = 3e-2)
    batch_size = 2
    iterations = ITERATIONS
    validate_every = 4
    data {
        subjects = 4
        slices = 2
        size = 32
        split = [2, 1, 1]
        normalisation = "instance"
    }
    mask {
        family = "random"
        acceleration = 4
        policy = "per_slice"
    }
    evaluate {
        protocol = "slice-mean"
    }
}
"#;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-exp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_spec(dir: &Path, iterations: usize, text: &str) -> PathBuf {
    let p = dir.join("papers").join("tiny.mcmr");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text.replace("ITERATIONS", &iterations.to_string())).unwrap();
    p
}

fn opts(out: &Path) -> ReproduceOptions {
    ReproduceOptions { out: out.to_path_buf(), ..ReproduceOptions::default() }
}

fn run_dir(out: &Path) -> PathBuf {
    out.join("tiny/base/smoke/default")
}

#[test]
fn same_seed_gives_bit_identical_results_and_checkpoints() {
    let d = temp("repro");
    let spec = write_spec(&d, 30, TINY);
    let a = reproduce(&spec, &opts(&d.join("a"))).unwrap();
    let b = reproduce(&spec, &opts(&d.join("b"))).unwrap();
    assert_eq!(a[0].results, b[0].results);
    for f in ["results.json", "checkpoints/last.safetensors", "checkpoints/best.safetensors"] {
        let read = |o: &str| std::fs::read(run_dir(&d.join(o)).join(f)).unwrap();
        assert_eq!(read("a"), read("b"), "{f} differs between two runs with the same seed");
    }
    // The log has every step and the validations every 4 steps and at the end.
    let log = std::fs::read_to_string(run_dir(&d.join("a")).join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"validation\":true")).count(), 8);
    assert_eq!(log.lines().filter(|l| l.contains("\"terms\"")).count(), 30);
    // Training helped: the trained network beats the untrained one on the same data.
    let untrained = reproduce(&write_spec(&d.join("u"), 0, TINY), &opts(&d.join("u"))).unwrap();
    assert!(a[0].results.mean("psnr").unwrap() > untrained[0].results.mean("psnr").unwrap() + 1.0);
    // A different seed gives different numbers (the comparison above can fail).
    let other = write_spec(&d.join("s"), 30, &TINY.replace("seed = 3", "seed = 4"));
    let c = reproduce(&other, &opts(&d.join("s"))).unwrap();
    assert_ne!(a[0].results.metrics, c[0].results.metrics);
    // `reuse`: a run finished under another `out` from the same spec text is taken as it is
    // (nothing is trained into the new `out`); one from other spec text is trained again.
    let reused = ReproduceOptions { reuse: Some(d.join("a")), ..opts(&d.join("r")) };
    let r = reproduce(&spec, &reused).unwrap();
    // (results.json keeps every digit serde_json prints: within an ulp or two of memory)
    let close = |x: &mcmr::experiment::evaluate::EvalResult, y: &mcmr::experiment::evaluate::EvalResult| {
        let (p, q) = (x.mean("psnr").unwrap(), y.mean("psnr").unwrap());
        (p - q).abs() <= 1e-12 * q.abs()
    };
    assert_eq!(r[0].dir, run_dir(&d.join("a")));
    assert!(close(&r[0].results, &a[0].results));
    assert!(!run_dir(&d.join("r")).exists() && d.join("r/tiny/smoke-summary.md").exists());
    let r = reproduce(&other, &ReproduceOptions { reuse: Some(d.join("a")), ..opts(&d.join("r2")) }).unwrap();
    assert_eq!(r[0].dir, run_dir(&d.join("r2")));
    assert!(close(&r[0].results, &c[0].results));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_killed_run_resumes_to_the_same_final_numbers() {
    let d = temp("resume");
    let spec = write_spec(&d, 3000, TINY);
    let mcmr = env!("CARGO_BIN_EXE_mcmr");
    reproduce(&spec, &opts(&d.join("full"))).unwrap();
    let out = d.join("killed");
    let mut child = Command::new(mcmr)
        .args(["reproduce", spec.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = run_dir(&out).join("log.jsonl");
    let started = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&log).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= 700 {
            break;
        }
        assert!(started.elapsed().as_secs() < 300, "the run did not progress");
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!run_dir(&out).join("results.json").exists(), "killed before the end");
    let status = Command::new(mcmr).args(["resume", run_dir(&out).to_str().unwrap()]).status().unwrap();
    assert!(status.success());
    let read = |o: &Path, f: &str| std::fs::read(run_dir(o).join(f)).unwrap();
    assert_eq!(read(&out, "results.json"), read(&d.join("full"), "results.json"));
    assert_eq!(read(&out, "checkpoints/last.safetensors"), read(&d.join("full"), "checkpoints/last.safetensors"));
    assert_eq!(read(&out, "log.jsonl"), read(&d.join("full"), "log.jsonl"), "the log is whole, without repeats");
    std::fs::remove_dir_all(d).unwrap();
}

fn write_expected(root: &Path, psnr: f64) {
    let dir = root.join("reference_results").join("tiny");
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json::json!({
        "paper": "tiny",
        "scale": "smoke",
        "command": "mcmr check --paper tiny",
        "data": "embedded brain phantom, 32x32",
        "runs": {
            "tiny": {"spec": "papers/tiny.mcmr", "variant": null, "experiment": "default",
                     "cells": {"psnr": {"value": psnr, "tolerance": 1e-6}}},
            "untrained": {"spec": "papers/untrained.mcmr", "variant": null, "experiment": "default", "cells": {}}
        },
        "claims": [{"text": "training beats no training", "metric": "psnr", "better": "tiny", "worse": "untrained", "margin": 1.0}]
    });
    std::fs::write(dir.join("expected.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

#[test]
fn check_fails_when_an_expected_number_or_a_loss_weight_changes() {
    let d = temp("check");
    let spec = write_spec(&d, 30, TINY);
    std::fs::write(d.join("papers/untrained.mcmr"), TINY.replace("ITERATIONS", "0")).unwrap();
    let psnr = reproduce(&spec, &opts(&d.join("measure"))).unwrap()[0].results.mean("psnr").unwrap();
    let refs = d.join("reference_results");
    let check = || mcmr::experiment::reference::check(&refs, Some("tiny"), &d.join("runs"), None, |_| {}).unwrap();
    write_expected(&d, psnr);
    let r = check();
    assert_eq!((r.passed, r.failed), (2, 0), "{:?}", r.lines);
    // Each reproduction also writes its comparison with the expected cells and claims.
    let report = std::fs::read_to_string(d.join("runs/tiny/tiny/smoke-comparison.md")).unwrap();
    assert!(report.contains("| tiny | psnr |") && report.contains("within"), "{report}");
    // `--runs`: the finished run of an earlier reproduction is scored as it is.
    let reuse = |out: &str| {
        mcmr::experiment::reference::check(&refs, Some("tiny"), &d.join(out), Some(&d.join("measure")), |_| {}).unwrap()
    };
    let r = reuse("reused");
    assert_eq!((r.passed, r.failed), (2, 0), "{:?}", r.lines);
    assert!(r.lines[0].contains("[finished run") && !d.join("reused/tiny/tiny").exists(), "{:?}", r.lines);
    write_expected(&d, psnr + 0.01);
    let r = check();
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.lines);
    write_expected(&d, psnr);
    std::fs::write(&spec, TINY.replace("ITERATIONS", "30").replace("0.5 * mse", "5.0 * mse")).unwrap();
    let r = check();
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.lines);
    assert!(r.lines[0].starts_with("FAIL tiny: tiny psnr"), "{:?}", r.lines);
    // A finished run made from other spec text is rerun, not reused.
    let r = reuse("reused2");
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.lines);
    assert!(!r.lines[0].contains("[finished run"), "{:?}", r.lines);
    // The command line prints the same verdicts and ends with the count.
    let out = Command::new(env!("CARGO_BIN_EXE_mcmr"))
        .args([
            "check",
            "--paper",
            "tiny",
            "--references",
            refs.to_str().unwrap(),
            "--out",
            d.join("cli").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"), "{text}");
    assert!(!out.status.success());
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn check_at_reduced_scale_reads_reduced_json() {
    let d = temp("reduced");
    let scales =
        "    scale smoke {\n        iterations = 3\n    }\n    scale reduced {\n        iterations = 6\n    }\n";
    let text = TINY.replace("    evaluate {", &format!("{scales}    evaluate {{"));
    let spec = write_spec(&d, 3, &text);
    let measured = ReproduceOptions { scale: "reduced".into(), ..opts(&d.join("measure")) };
    let psnr = reproduce(&spec, &measured).unwrap()[0].results.mean("psnr").unwrap();
    let smoke = reproduce(&spec, &opts(&d.join("smoke"))).unwrap()[0].results.mean("psnr").unwrap();
    assert_ne!(psnr, smoke, "the reduced scale's 6 steps differ from smoke's 3");
    let refs = d.join("reference_results");
    std::fs::create_dir_all(refs.join("tiny")).unwrap();
    let write = |scale: &str, value: f64| {
        let json = serde_json::json!({
            "paper": "tiny", "scale": scale, "command": "mcmr check --paper tiny --scale reduced",
            "data": "embedded brain phantom, 32x32",
            "runs": {"tiny": {"spec": "papers/tiny.mcmr", "variant": null, "experiment": "default",
                              "cells": {"psnr": {"value": value, "tolerance": 1e-6}}}}
        });
        std::fs::write(refs.join("tiny/reduced.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    };
    let check = |scale: &str| {
        mcmr::experiment::reference::check_scale(&refs, Some("tiny"), scale, &d.join("runs"), None, |_| {})
    };
    write("reduced", psnr);
    let r = check("reduced").unwrap();
    assert_eq!((r.passed, r.failed), (1, 0), "{:?}", r.lines);
    let report = std::fs::read_to_string(d.join("runs/tiny/tiny/reduced-comparison.md")).unwrap();
    assert!(report.contains("at reduced scale") && report.contains("own reduced-scale numbers"), "{report}");
    // The smoke check reads expected.json, which this paper lacks; the smoke number is not the
    // reduced one.
    let e = check("smoke").unwrap_err();
    assert!(e.contains("tiny/expected.json"), "{e}");
    write("reduced", smoke);
    assert_eq!(check("reduced").unwrap().failed, 1);
    // A file whose `scale` field disagrees with its name.
    write("smoke", psnr);
    let e = check("reduced").unwrap_err();
    assert!(e.contains("reduced.json") && e.contains("`scale`"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn runs_that_cannot_work_fail_before_training_with_the_reason() {
    let d = temp("bad");
    // Two input channels but the data give one.
    let two = TINY.replace("input image: [1, H, W]", "input image: [2, H, W]");
    let e = reproduce(&write_spec(&d.join("a"), 5, &two), &opts(&d.join("a"))).unwrap_err();
    assert!(e.contains("does not fit the data") && e.contains("image"), "{e}");
    // A loss naming something that does not exist.
    let typo = TINY.replace("l1(output, target)", "l1(outptu, target)");
    let e = reproduce(&write_spec(&d.join("b"), 5, &typo), &opts(&d.join("b"))).unwrap_err();
    assert!(e.contains("outptu"), "{e}");
    // A loss that explodes stops the run, naming the step and the term.
    let boom = TINY.replace("adam(lr = 3e-2)", "sgd(lr = 1e30)");
    let e = reproduce(&write_spec(&d.join("c"), 20, &boom), &opts(&d.join("c"))).unwrap_err();
    assert!(e.contains("step ") && (e.contains("l1(output, target)") || e.contains("gradient of")), "{e}");
    assert!(!run_dir(&d.join("c")).join("results.json").exists());
    let manifest = std::fs::read_to_string(run_dir(&d.join("c")).join("manifest.json")).unwrap();
    assert!(manifest.contains("\"status\": \"failed: step "), "{manifest}");
    // An existing run is not overwritten silently.
    let ok = write_spec(&d.join("e"), 2, TINY);
    reproduce(&ok, &opts(&d.join("e"))).unwrap();
    let e = reproduce(&ok, &opts(&d.join("e"))).unwrap_err();
    assert!(e.contains("mcmr resume") && e.contains("--overwrite"), "{e}");
    // A run folder from another kit version is refused by resume.
    let m = run_dir(&d.join("e")).join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap().replace(env!("CARGO_PKG_VERSION"), "0.0.0-other");
    std::fs::write(&m, text).unwrap();
    let e = mcmr::experiment::resume(&run_dir(&d.join("e")), false).unwrap_err();
    assert!(e.contains("0.0.0-other"), "{e}");
    // An output folder that cannot be made (a file is in the way).
    std::fs::write(d.join("file"), "x").unwrap();
    let e = reproduce(&ok, &opts(&d.join("file").join("runs"))).unwrap_err();
    assert!(e.contains("cannot create the run folder"), "{e}");
    // A missing data path.
    let o = ReproduceOptions { data: Some(d.join("nowhere")), ..opts(&d.join("f")) };
    let e = reproduce(&ok, &o).unwrap_err();
    assert!(e.contains("nowhere") && e.contains("does not exist"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn stages_train_their_parameters_in_order_with_fresh_optimisers() {
    let d = temp("stages");
    let staged = TINY.replace(
        "    iterations = ITERATIONS\n",
        "    stage tail_only {\n        iterations = 5\n        train = [\"tail.*\"]\n    }\n    stage all {\n        iterations = 4\n        optimizer = sgd(lr = 1e-2, momentum = 0.9)\n    }\n",
    );
    let spec = write_spec(&d.join("s"), 0, &staged);
    let out = reproduce(&spec, &opts(&d.join("s"))).unwrap();
    let log = std::fs::read_to_string(run_dir(&d.join("s")).join("log.jsonl")).unwrap();
    let steps: Vec<(u64, u64)> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["validation"].is_null())
        .map(|v| (v["stage"].as_u64().unwrap(), v["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(steps, vec![(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1), (1, 2), (1, 3)]);
    assert!(out[0].results.mean("psnr").is_some());
    // Only the tail moves in a tail-only stage: compare with the untrained network.
    let only_tail = TINY.replace(
        "    iterations = ITERATIONS\n",
        "    stage t {\n        iterations = 5\n        train = [\"tail.*\"]\n    }\n",
    );
    reproduce(&write_spec(&d.join("t"), 0, &only_tail), &opts(&d.join("t"))).unwrap();
    reproduce(&write_spec(&d.join("u"), 0, TINY), &opts(&d.join("u"))).unwrap();
    let read = |o: &str| {
        mcmr::io::safetensors::read_safetensors(&run_dir(&d.join(o)).join("checkpoints/last.safetensors")).unwrap()
    };
    let (trained, untrained) = (read("t"), read("u"));
    assert_eq!(trained["head.weight"].data, untrained["head.weight"].data, "the head is not trained");
    assert_ne!(trained["tail.weight"].data, untrained["tail.weight"].data, "the tail is");
    // A pattern that matches nothing is an error before training.
    let typo = only_tail.replace("tail.*", "tial.*");
    let e = reproduce(&write_spec(&d.join("x"), 0, &typo), &opts(&d.join("x"))).unwrap_err();
    assert!(e.contains("tial.*") && e.contains("matches no parameter"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

const ABLATION: &str = r#"block fuse(c: int) {
    input a: [c, H, W]
    input b: [c, H, W]
    output o = conv2d(concat(a, b), c, kernel = 1) as mix
}

block sum_fuse(c: int) {
    input a: [c, H, W]
    input b: [c, H, W]
    output o = a + b
}

network tiny(width: int = 4) {
    input image: [1, H, W]
    x = conv2d(image, width, kernel = 3, padding = 1) as head
    y = fuse(x, relu(x), width) as f
    output output = conv2d(y, 1, kernel = 3, padding = 1) as tail
}

variant summed {
    blocks {
        fuse = "sum_fuse"
    }
}

experiment {
    loss = l1(output, target)
    optimizer = adam(lr = 1e-2)
    iterations = 2
    data {
        subjects = 2
        slices = 1
        size = 32
    }
    mask {
        family = "random"
        acceleration = 4
    }
    scale smoke {
        params tiny {
            width = 6
        }
        params other_network {
            not_a_parameter_of_tiny = 1
        }
    }
}

experiment full {
}

experiment ablated {
    variant = "summed"
}
"#;

#[test]
fn an_experiment_names_its_ablation_variant_and_params_apply_per_network() {
    let d = temp("ablation");
    let spec = write_spec(&d, 0, ABLATION);
    let runs = reproduce(&spec, &opts(&d.join("runs"))).unwrap();
    let m: Vec<_> = runs
        .iter()
        .map(|r| (r.manifest.experiment.as_str(), r.manifest.parameters, r.manifest.network_variant.clone()))
        .collect();
    // width 6 from `params tiny` (and `params other_network` ignored): head 6*9+6, tail 6*9+1,
    // and the 1x1 fusion 12*6+6 only where the block is not replaced by a sum.
    let (head, tail, mix) = (60, 55, 78);
    assert_eq!(m, vec![("full", head + tail + mix, None), ("ablated", head + tail, Some("summed".to_string()))]);
    // An experiment naming a variant the spec lacks is refused before any run.
    let bad = write_spec(&d.join("bad"), 0, &ABLATION.replace("variant = \"summed\"", "variant = \"sumed\""));
    let e = reproduce(&bad, &opts(&d.join("bad/runs"))).unwrap_err();
    assert!(e.contains("names variant `sumed`"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn the_fsmnet_spec_plans_every_table_run_and_needs_data_at_paper_scale() {
    use mcmr::experiment::{plan_runs, Variants};
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/fsmnet.mcmr");
    let runs = plan_runs(&spec, &ReproduceOptions::default()).unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.config.experiment.as_str()).collect();
    assert_eq!(names.len(), 22, "{names:?}");
    // Every published cell of Tables 1-2 that the kit has a method for is reproduced by one run.
    let published = mcmr::experiment::published::read_published(
        &spec.parent().unwrap().join("../reference_results/fsmnet/published.json"),
    )
    .unwrap();
    for r in &runs {
        for cell in &r.config.reproduces {
            let parts: Vec<&str> = cell.split('/').collect();
            assert!(published.value(parts[0], parts[1], parts[2], "psnr").is_some(), "{}: {cell}", r.config.experiment);
        }
    }
    let of = |n: &str| runs.iter().find(|r| r.config.experiment == n).unwrap();
    assert_eq!(of("brats_x4_fsfe_cms").config.variant.as_deref(), Some("fsfe_cms"));
    assert_eq!(of("knee_x8_mc_unet").config.network.as_deref(), Some("unet"));
    assert!(of("knee_x8_mc_unet").config.params.iter().any(|(k, _)| k == "in_chans"));
    assert!(!of("knee_x8_mc_unet").config.params.iter().any(|(k, _)| k == "num_features"));
    assert_eq!(of("brats_x8_minet").config.network.as_deref(), Some("minet_fsmnet_repo"));
    // The paper scale reads real data: without `--data` every run is refused before any work.
    let paper = ReproduceOptions { scale: "paper".into(), ..ReproduceOptions::default() };
    let e = plan_runs(&spec, &paper).unwrap_err();
    assert!(e.contains("--data PATH"), "{e}");
    let with_data =
        ReproduceOptions { data: Some(std::env::temp_dir()), variants: Variants::One("paper".into()), ..paper };
    let runs = plan_runs(&spec, &with_data).unwrap();
    let t = &of_stage(&runs, "brats_x4");
    assert_eq!((t.clip_grad_norm, t.batch_size), (None, 4), "the paper variant drops the clipping");
}

fn of_stage<'a>(runs: &'a [mcmr::experiment::run::RunSpec], name: &str) -> &'a mcmr::experiment::config::Training {
    &runs.iter().find(|r| r.config.experiment == name).unwrap().config.stages[0]
}

#[test]
fn activations_of_a_saved_run_are_the_blocks_outputs() {
    let d = temp("activations");
    // TINY with its head as a block call (block calls are what activations record).
    let network = r#"block conv_relu(in_chans: int, chans: int) {
    input x: [in_chans, H, W]
    y = conv2d(x, chans, kernel = 3, padding = 1) as conv
    output out = relu(y)
}

network tiny() {
    input image: [1, H, W]
    x = conv_relu(image, 1, 4) as head
    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail
}
"#;
    let text = format!("{network}{}", &TINY[TINY.find("experiment {").unwrap()..]);
    let spec = write_spec(&d, 6, &text);
    reproduce(&spec, &opts(&d)).unwrap();
    let dir = run_dir(&d);
    let acts = mcmr::experiment::run_activations(&dir, &spec, &["head", "output"]).unwrap();
    let (head, out) = (&acts[0], &acts[1]);
    assert_eq!((head.name.as_str(), head.channels, head.height, head.width), ("head", 4, 32, 32));
    assert_eq!((out.name.as_str(), out.channels, out.height, out.width), ("output", 1, 32, 32));
    // The head's activation is after its ReLU, and the output recomputed by hand from it and
    // the saved `tail` weights (3x3, zero padding 1) matches: both come from the saved model.
    assert!(head.values.iter().all(|&v| v >= 0.0) && head.values.iter().any(|&v| v > 0.0));
    let ckpt = dir.join("checkpoints").join(if dir.join("checkpoints/best.safetensors").exists() {
        "best.safetensors"
    } else {
        "last.safetensors"
    });
    let t = mcmr::io::safetensors::read_safetensors(&ckpt).unwrap();
    let weight = &t["tail.weight"];
    assert_eq!(weight.shape, vec![1, 4, 3, 3]);
    let bias = t.get("tail.bias").map(|b| b.data[0]).unwrap_or(0.0);
    let (h, w) = (32usize, 32usize);
    let mut worst: f64 = 0.0;
    for r in 0..h {
        for c in 0..w {
            let mut v = bias;
            for ch in 0..4 {
                for (dr, dc) in (0..3).flat_map(|a| (0..3).map(move |b| (a, b))) {
                    let (rr, cc) = (r as i64 + dr as i64 - 1, c as i64 + dc as i64 - 1);
                    if rr < 0 || cc < 0 || rr >= h as i64 || cc >= w as i64 {
                        continue;
                    }
                    let x = f64::from(head.values[ch * h * w + rr as usize * w + cc as usize]);
                    v += weight.data[ch * 9 + dr * 3 + dc] * x;
                }
            }
            worst = worst.max((v - f64::from(out.values[r * w + c])).abs());
        }
    }
    assert!(worst < 1e-4, "output differs from the hand-computed tail by {worst}");
    // A name the network lacks is an error that lists what it has.
    let e = mcmr::experiment::run_activations(&dir, &spec, &["neck"]).unwrap_err();
    assert!(e.contains("no activation `neck`") && e.contains("head") && e.contains("output"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn evaluating_a_finished_run_again_gives_its_results_and_can_draw_its_figures() {
    let d = temp("evaluate");
    let spec = write_spec(&d, 8, TINY);
    let runs = reproduce(&spec, &opts(&d)).unwrap();
    let dir = run_dir(&d);
    let figures = d.join("figures-again");
    let again = mcmr::experiment::evaluate_run(&dir, None, Some(&figures)).unwrap();
    // The saved model on the same data: the same scores (results.json keeps every digit
    // serde_json prints), and the figures a run draws.
    let (a, b) = (again.mean("psnr").unwrap(), runs[0].results.mean("psnr").unwrap());
    assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
    assert_eq!(again.per_slice.len(), runs[0].results.per_slice.len());
    for f in ["reconstruction.png", "error.png", "mask.png", "kspace.png", "training_loss.png"] {
        assert!(figures.join(f).is_file(), "{f} missing");
    }
    // A run that is not complete is refused with the way out.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("\"complete\"", "\"training\"");
    std::fs::write(&manifest, text).unwrap();
    let e = mcmr::experiment::evaluate_run(&dir, None, None).unwrap_err();
    assert!(e.contains("not complete") && e.contains("mcmr resume"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

/// Two runs over the same data: zero-filling from the `input` field, and the same image computed
/// by the network itself from the bound `kspace` (complex) field.
const KSPACE: &str = r#"network from_image() {
    input image: [1, H, W]
    output output = image
}

network from_kspace() {
    input k: complex [1, H, W]
    input m: [1, H, W]
    output output = magnitude(ifft2(complex(real(k) * m, imag(k) * m), shift = true))
}

experiment {
    seed = 1
    data {
        subjects = 3
        slices = 2
        size = 32
        split = [1, 1, 1]
        normalisation = "none"
    }
    mask {
        family = "random"
        acceleration = 4
        policy = "per_slice"
    }
    evaluate {
        protocol = "slice-mean"
    }
}

experiment image {
    network = "from_image"
}

experiment kspace {
    network = "from_kspace"
    inputs = ["kspace", "mask"]
}
"#;

#[test]
fn the_mask_and_complex_kspace_bind_to_network_inputs() {
    let dir = temp("kspace");
    let spec = write_spec(&dir, 0, KSPACE);
    let out = dir.join("runs");
    let runs = reproduce(&spec, &opts(&out)).unwrap();
    let psnr = |name: &str| runs.iter().find(|o| o.manifest.experiment == name).unwrap().results.mean("psnr").unwrap();
    let (a, b) = (psnr("image"), psnr("kspace"));
    assert!(a.is_finite() && (a - b).abs() < 1e-3, "zero-filled from `input` {a} dB vs from `kspace` {b} dB");
    // k-space and the complex image carry the data's scale before normalisation: refused with it.
    let normalised = KSPACE.replace("normalisation = \"none\"", "normalisation = \"instance\"");
    let spec = write_spec(&dir, 0, &normalised);
    let e = reproduce(&spec, &opts(&dir.join("runs2"))).unwrap_err();
    assert!(e.contains("set `data { normalisation = \"none\" }`") && e.contains("tiny.mcmr:37:14"), "{e}");
    // A real field bound to a complex input is refused, naming both.
    let swapped = KSPACE.replace("inputs = [\"kspace\", \"mask\"]", "inputs = [\"mask\", \"kspace\"]");
    let spec = write_spec(&dir, 0, &swapped);
    let e = reproduce(&spec, &opts(&dir.join("runs3"))).unwrap_err();
    assert!(e.contains("network input `k` is complex but data field `mask` is real"), "{e}");
}

#[test]
fn augmentation_is_a_data_setting_for_training_items_only() {
    use mcmr::data::dataset::Augment;
    let dir = temp("augment");
    let text = TINY.replace("        normalisation = \"instance\"\n", "        normalisation = \"instance\"\n        augment {\n            rotation = 15\n            flip = true\n        }\n");
    let spec = write_spec(&dir, 2, &text);
    let runs = mcmr::experiment::plan_runs(&spec, &opts(&dir.join("runs"))).unwrap();
    let c = &runs[0].config;
    assert_eq!(c.train_data.augment, Some(Augment { max_rotation_deg: 15.0, horizontal_flip: true }));
    assert_eq!((c.val_data.augment, c.test_data.augment), (None, None));
    let spec = write_spec(&dir, 2, &text.replace("rotation = 15", "rotation = 270"));
    let e = mcmr::experiment::plan_runs(&spec, &opts(&dir.join("runs"))).unwrap_err();
    assert!(e.contains("expects a number from 0 to 180") && e.contains("tiny.mcmr:23:24"), "{e}");
}

/// One zero-filled model scored under two test patterns at once (`group = "pattern"`), and under
/// each pattern alone.
const PATTERNS: &str = r#"network zero_filled() {
    input image: [1, H, W]
    output output = image
}

experiment {
    seed = 2
    data {
        subjects = 3
        slices = 2
        size = 32
        split = [1, 1, 1]
    }
    mask train {
        family = "random"
        acceleration = 4
    }
    evaluate {
        protocol = "slice-mean"
    }
}

experiment both {
    mask test {
        pattern {
            family = "random"
            acceleration = 4
            seed = 5
        }
        pattern {
            family = "unifs_equispace"
            acceleration = 8
            center_fraction = 0.04
        }
    }
    evaluate {
        group = "pattern"
    }
}

experiment random_only {
    mask test {
        family = "random"
        acceleration = 4
        seed = 5
        policy = "online"
    }
}

experiment equispace_only {
    mask test {
        family = "equispaced_fraction"
        rounding = "floor"
        acceleration = 8
        center_fraction = 0.04
        policy = "online"
    }
}
"#;

#[test]
fn evaluation_grouped_by_pattern_scores_each_pattern_as_alone_and_pools_them() {
    let d = temp("patterns");
    let spec = write_spec(&d, 0, PATTERNS);
    let runs = reproduce(&spec, &opts(&d)).unwrap();
    let by = |name: &str| &runs.iter().find(|r| r.manifest.experiment == name).unwrap().results;
    let (both, random, equispace) = (by("both"), by("random_only"), by("equispace_only"));
    let labels: Vec<&str> = both.groups.iter().map(|g| g.pattern.as_str()).collect();
    assert_eq!(labels, ["random 4x", "unifs_equispace 8x cf 0.04"]);
    assert_eq!(both.groups[0].metrics, random.metrics, "each pattern scores as if it were the only one");
    assert_eq!(both.groups[1].metrics, equispace.metrics);
    assert_ne!(random.metrics, equispace.metrics, "the two patterns differ (the test can fail)");
    assert_eq!(both.per_slice.len(), 2 * random.per_slice.len());
    let pooled = both.mean("psnr").unwrap();
    let halves = (random.mean("psnr").unwrap() + equispace.mean("psnr").unwrap()) / 2.0;
    assert!((pooled - halves).abs() < 1e-9, "{pooled} vs {halves}");
    let json = std::fs::read_to_string(d.join("tiny/base/smoke/both/results.json")).unwrap();
    assert!(json.contains("\"groups\"") && json.contains("\"pattern\": \"random 4x\""), "{json}");
    let alone = std::fs::read_to_string(d.join("tiny/base/smoke/random_only/results.json")).unwrap();
    assert!(!alone.contains("groups") && !alone.contains("pattern"), "ungrouped results keep their shape");
    let report = std::fs::read_to_string(d.join("tiny/base/smoke/both/report.md")).unwrap();
    assert!(report.contains("| unifs_equispace 8x cf 0.04 |"), "{report}");

    // Grouping needs patterns to group by.
    let bad = PATTERNS.replace(
        "experiment random_only {",
        "experiment random_only {\n    evaluate {\n        group = \"pattern\"\n    }",
    );
    let e = reproduce(&write_spec(&d, 0, &bad), &opts(&d.join("bad"))).unwrap_err();
    assert!(e.contains("needs `pattern { ... }` sections") && e.contains("tiny.mcmr:"), "{e}");
    // A rounding other than `nearest` belongs to `equispaced_fraction`, and says where.
    let bad = PATTERNS.replace("seed = 5\n        policy", "seed = 5\n        rounding = \"floor\"\n        policy");
    let e = reproduce(&write_spec(&d, 0, &bad), &opts(&d.join("bad2"))).unwrap_err();
    assert!(e.contains("`equispaced_fraction` only, not `random`") && e.contains("tiny.mcmr:"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

/// `evaluate { pattern { ... } }`: further test patterns are scored as groups of their own
/// (`extra`), each exactly as if it were the run's only test mask, and left out of the pooled
/// metrics; `psnr@PATTERN` and `TABLE/ROW/COL@PATTERN` select one group's scores.
/// Further test patterns that share a `pool` name are also scored as one group: the same
/// numbers as the run's own test pooled over those patterns (`group = "pattern"`), while the
/// run's metrics stay its own test's.
#[test]
fn further_test_patterns_with_a_pool_name_are_pooled_into_one_group() {
    let d = temp("pools");
    let spec = format!(
        "{PATTERNS}\nexperiment pooled_extra {{\n    mask test {{\n        family = \"random\"\n        acceleration = 4\n        seed = 5\n        policy = \"online\"\n    }}\n    evaluate {{\n        pattern {{\n            family = \"random\"\n            acceleration = 4\n            seed = 5\n            pool = \"mix\"\n        }}\n        pattern {{\n            family = \"unifs_equispace\"\n            acceleration = 8\n            center_fraction = 0.04\n            pool = \"mix\"\n        }}\n    }}\n}}\n"
    );
    let runs = reproduce(&write_spec(&d, 0, &spec), &opts(&d)).unwrap();
    let by = |name: &str| &runs.iter().find(|r| r.manifest.experiment == name).unwrap().results;
    let (pooled, both, random) = (by("pooled_extra"), by("both"), by("random_only"));
    let labels: Vec<(&str, bool)> = pooled.groups.iter().map(|g| (g.pattern.as_str(), g.extra)).collect();
    assert_eq!(labels, [("random 4x", true), ("unifs_equispace 8x cf 0.04", true), ("mix", true)]);
    assert_eq!(pooled.metrics, random.metrics, "the run's own test is not pooled with them");
    for m in ["psnr", "ssim", "nmse"] {
        assert_eq!(pooled.mean(&format!("{m}@mix")), both.mean(m), "{m}: the pool is the pattern-grouped mean");
    }
    let manifest = std::fs::read_to_string(d.join("tiny/base/smoke/pooled_extra/manifest.json")).unwrap();
    assert!(manifest.contains("further_test_pools"), "{manifest}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn further_test_patterns_are_scored_alone_and_not_pooled() {
    let d = temp("further");
    let spec = PATTERNS.replace(
        "    evaluate {\n        group = \"pattern\"\n    }\n}",
        "    evaluate {\n        group = \"pattern\"\n        pattern {\n            family = \"equispaced_fraction\"\n            rounding = \"floor\"\n            acceleration = 8\n            center_fraction = 0.04\n        }\n    }\n    reproduces = [\"t/zf/8x@unifs_equispace 8x cf 0.04\"]\n}",
    );
    assert_ne!(spec, PATTERNS, "the edit applied");
    let spec = spec.replace(
        "        pattern {\n            family = \"unifs_equispace\"\n            acceleration = 8\n            center_fraction = 0.04\n        }\n",
        "",
    );
    let runs = reproduce(&write_spec(&d, 0, &spec), &opts(&d)).unwrap();
    let by = |name: &str| runs.iter().find(|r| r.manifest.experiment == name).unwrap();
    let (both, random, equispace) = (&by("both").results, &by("random_only").results, &by("equispace_only").results);
    let labels: Vec<(&str, bool)> = both.groups.iter().map(|g| (g.pattern.as_str(), g.extra)).collect();
    assert_eq!(labels, [("random 4x", false), ("unifs_equispace 8x cf 0.04", true)]);
    assert_eq!(both.metrics, random.metrics, "the further pattern is not pooled");
    assert_eq!(both.groups[1].metrics, equispace.metrics, "it scores as if it were the only one");
    assert_eq!(both.mean("psnr@unifs_equispace 8x cf 0.04"), equispace.mean("psnr"));
    assert_eq!(both.mean("psnr@no such pattern"), None);
    let cells = mcmr::experiment::published::RunCells::of(&by("both").manifest, both);
    assert_eq!(cells.stat("t", "zf", "8x", "ssim").map(|s| s.mean), equispace.mean("ssim"));
    assert_eq!(cells.stat("t", "zf", "4x", "ssim"), None);
    let manifest = std::fs::read_to_string(d.join("tiny/base/smoke/both/manifest.json")).unwrap();
    assert!(manifest.contains("further_test_patterns"), "{manifest}");
    let report = std::fs::read_to_string(d.join("tiny/base/smoke/both/report.md")).unwrap();
    assert!(report.contains("| unifs_equispace 8x cf 0.04 (*not pooled*) |"), "{report}");
    // `rotate` takes quarter turns only, and says where.
    let bad = PATTERNS.replace("split = [1, 1, 1]", "split = [1, 1, 1]\n        rotate = 45");
    let e = reproduce(&write_spec(&d, 0, &bad), &opts(&d.join("bad"))).unwrap_err();
    assert!(e.contains("`rotate` is 0, 90, 180 or 270") && e.contains("tiny.mcmr:"), "{e}");
    // Measured fastMRI k-space takes no simulated noise.
    let bad = PATTERNS.replace(
        "split = [1, 1, 1]",
        "split = [1, 1, 1]\n        kspace_noise = 0.1\n        source = \"fastmri\"\n        pairs = \"p.csv\"",
    );
    let e = reproduce(&write_spec(&d, 0, &bad), &opts(&d.join("bad"))).unwrap_err();
    assert!(e.contains("leave out `kspace_noise`") && e.contains("tiny.mcmr:"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn reproduce_shows_progress_lines_in_a_log_and_nothing_when_quiet() {
    let d = temp("progress");
    let spec = write_spec(&d, 20, TINY);
    let run = |extra: &[&str], out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_mcmr"))
            .args(["reproduce", spec.to_str().unwrap(), "--out", d.join(out).to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stderr).unwrap()
    };
    // stderr is a pipe here, as in CI: plain lines, about a tenth of the stage apart.
    let log = run(&[], "shown");
    let steps: Vec<&str> = log.lines().filter(|l| l.starts_with("default step ")).collect();
    assert_eq!(steps.len(), 10, "{log}");
    assert!(steps.last().unwrap().starts_with("default step 20/20 | loss "), "{log}");
    assert!(log.lines().any(|l| l.starts_with("done base/default: PSNR ") && l.contains("slice-mean")), "{log}");
    let quiet = run(&["--quiet"], "quiet");
    assert!(!quiet.contains("step") && !quiet.contains("done"), "{quiet}");
    std::fs::remove_dir_all(d).unwrap();
}
