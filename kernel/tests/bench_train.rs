//! `mcmr bench-train` (the GPU benchmark's kit side, issue 21) on the CPU: the experiment's own
//! sizes at a scale whose data is a folder nobody has, replaced by the phantom; the trainer's
//! step clock in `timing.json`.

use mcmr::experiment::bench::{bench_train, BenchOptions};
use std::path::PathBuf;

const SPEC: &str = r#"network tiny(width: int = 2) {
    input image: [1, H, W]
    x = conv2d(image, width, kernel = 3, padding = 1) as head
    output output = conv2d(relu(x), 1, kernel = 3, padding = 1) as tail
}

experiment x4 {
    seed = 5
    loss = l1(output, target)
    optimizer = adamw(lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-4)
    clip_grad_norm = 0.01
    batch_size = 2
    iterations = 4
    data {
        subjects = 4
        slices = 2
        size = 16
        split = [2, 1, 1]
    }
    mask {
        family = "random"
        acceleration = 4
    }
    scale paper {
        iterations = 100000
        batch_size = 3
        params tiny {
            width = 4
        }
        data {
            source = "folder"
            layout = "ixi"
            target = "t2"
            reference = "pd"
            size = 24
        }
    }
}
"#;

#[test]
fn bench_train_times_the_paper_configuration_on_the_phantom() {
    let d = std::env::temp_dir().join(format!("mcmr-bench-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let spec = d.join("tiny.mcmr");
    std::fs::write(&spec, SPEC).unwrap();
    let opts =
        BenchOptions { scale: "paper".into(), variant: None, experiment: "x4".into(), device: "cpu".into(), steps: 6 };
    let out: PathBuf = d.join("bench");
    let v = bench_train(&spec, &opts, &out).unwrap();
    assert_eq!(v["steps"], 6, "{v}");
    assert_eq!(v["batch_size"], 3, "the paper scale's batch");
    assert_eq!(v["size"], serde_json::json!([24, 24]), "the paper scale's image size");
    // width 4: 1·4·9 + 4 + 4·1·9 + 1 parameters.
    assert_eq!(v["parameters"], 77, "the paper scale's network parameters");
    let (median, first) = (v["median_step_s"].as_f64().unwrap(), v["first_step_s"].as_f64().unwrap());
    assert!(median > 0.0 && first > 0.0 && median.is_finite(), "{v}");
    assert!((v["steps_per_second"].as_f64().unwrap() - 1.0 / median).abs() < 1e-9 / median);
    // FLOPs: the two convolutions' MACs on one 24x24 slice, twice, x batch 3 x 3 (forward and backward).
    let conv_macs = (24 * 24 * (4 * 9) + 24 * 24 * (4 * 9)) as f64;
    let tflop = v["step_tflop"].as_f64().unwrap() * 1e12;
    assert!(tflop >= 3.0 * 3.0 * 2.0 * conv_macs, "{tflop} below the convolutions' share");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["data"]["source"]["kind"], "phantom");
    assert_eq!(manifest["data"]["reference"], "t1", "the brain phantom has no PD: T1 stands in");

    let e = bench_train(&spec, &BenchOptions { steps: 1, ..opts.clone() }, &out).unwrap_err();
    assert!(e.contains("`--steps`"), "{e}");
    let e = bench_train(&spec, &BenchOptions { experiment: "x8".into(), ..opts }, &out).unwrap_err();
    assert!(e.contains("x8"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}
