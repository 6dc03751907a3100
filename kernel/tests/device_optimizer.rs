//! Training with the optimiser's steps on the device (what a GPU run does, optim_device.rs),
//! taken here on the CPU (`MCMR_OPTIMIZER=device`): the run finishes, its manifest says which
//! path stepped, its numbers agree with the host float64 path to float32 rounding over the run,
//! and a run killed midway resumes from the checkpoint (the device buffers go through the
//! optimiser's host state) to the same final numbers as the uninterrupted device run.

use std::path::{Path, PathBuf};
use std::process::Command;

const SPEC: &str = r#"network tiny() {
    input image: [1, H, W]
    x = relu(conv2d(image, 4, kernel = 3, padding = 1) as head)
    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail
}

experiment {
    seed = 5
    loss = l1(output, target)
    optimizer = adamw(lr = 1e-2)
    clip_grad_norm = 0.5
    batch_size = 2
    iterations = ITERATIONS
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
    }
}
"#;

fn mcmr(args: &[&str], device_optimizer: bool) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcmr"));
    c.args(args);
    if device_optimizer {
        c.env("MCMR_OPTIMIZER", "device");
    } else {
        c.env_remove("MCMR_OPTIMIZER");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn device_steps_train_resume_and_agree_with_the_host_path() {
    let d = std::env::temp_dir().join(format!("mcmr-devopt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let spec = |n: usize| -> PathBuf {
        let p = d.join(format!("tiny{n}.mcmr"));
        std::fs::write(&p, SPEC.replace("ITERATIONS", &n.to_string())).unwrap();
        p
    };
    let run = |out: &str, spec: &Path, device: bool| -> PathBuf {
        let o = d.join(out);
        mcmr(&["reproduce", spec.to_str().unwrap(), "--out", o.to_str().unwrap(), "--quiet"], device);
        let stem = spec.file_stem().unwrap().to_str().unwrap();
        o.join(stem).join("base/smoke/default")
    };
    let full = spec(40);
    let host = run("host", &full, false);
    let device = run("device", &full, true);
    let backend = |r: &Path| json(&r.join("manifest.json"))["backend"].as_str().unwrap().to_string();
    assert!(backend(&host).contains("on the host in float64"), "{}", backend(&host));
    assert!(backend(&device).contains("on the device"), "{}", backend(&device));
    let psnr = |r: &Path| json(&r.join("results.json"))["metrics"]["psnr"]["mean"].as_f64().unwrap();
    assert!((psnr(&host) - psnr(&device)).abs() < 0.05, "host {} vs device {}", psnr(&host), psnr(&device));
    // The logged losses track each other step by step.
    let losses = |r: &Path| -> Vec<f64> {
        std::fs::read_to_string(r.join("log.jsonl"))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["loss"].as_f64())
            .collect()
    };
    let (lh, ld) = (losses(&host), losses(&device));
    assert_eq!(lh.len(), 40);
    assert!(lh.iter().zip(&ld).all(|(a, b)| (a - b).abs() <= 1e-3 * a.abs()), "{lh:?}\n{ld:?}");
    // Killed midway and resumed, the device run lands where the uninterrupted one did, bit for
    // bit: the buffers went through the checkpoint's optimiser state and came back.
    let long = spec(2000);
    let whole = run("whole", &long, true);
    let out = d.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcmr"))
        .args(["reproduce", long.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .env("MCMR_OPTIMIZER", "device")
        .spawn()
        .unwrap();
    let killed = out.join("tiny2000/base/smoke/default");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(killed.join("log.jsonl")).map(|t| t.lines().count()).unwrap_or(0) < 700 {
        assert!(started.elapsed().as_secs() < 300, "the run did not progress");
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.join("results.json").exists(), "killed before the end");
    mcmr(&["resume", killed.to_str().unwrap()], true);
    let read = |r: &Path, f: &str| std::fs::read(r.join(f)).unwrap();
    assert_eq!(read(&killed, "results.json"), read(&whole, "results.json"));
    assert_eq!(read(&killed, "checkpoints/last.safetensors"), read(&whole, "checkpoints/last.safetensors"));
    std::fs::remove_dir_all(&d).unwrap();
}
