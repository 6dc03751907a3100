//! Training steps (forward + backward, L1 loss) with burn's direct convolutions vs the kit's
//! convolution paths (`CompiledModel::with_matmul_conv`: `ops::conv2d`, depthwise taps),
//! measured side by side on the Flex CPU backend and reported as a ratio:
//! * the smoke U-Net (fastMRI U-Net, 8 channels, 3 poolings), batch 4, 64×64;
//! * FSMNet at smoke width (C = 16, n = 1), batch 2 at 32×32 and batch 4 at 64×64;
//! * UniFS at the reduced scale's widths (C = 16, 3 groups of 1 block), batch 4, 64×64;
//! * MANet at its released width (64 filters, 4 convolutions per dense block), batch 4, 64×64.
//!
//! Each step is also reported in GFLOP/s (forward FLOPs from `model::flops`, times 3 for the
//! backward) and as a fraction of what this backend's matrix product reaches on 1024×1024
//! matrices in the same run. With `MCMR_TORCH_PYTHON` (a Python with torch and einops) the
//! official models' same steps run too, 1 and 2 threads, and the kit/PyTorch ratios are printed:
//! FSMNet with `FSMNET_SRC` (a checkout of qic999/FSMNet; `tools/bench/fsmnet_step.py`), the
//! U-Net with `FASTMRI_SRC` (a checkout of facebookresearch/fastMRI; `tools/bench/unet_step.py`),
//! UniFS with `UNIFS_SRC` (LIKP0/UniFS; `unifs_step.py`), MANet with `MANET_SRC`
//! (chunmeifeng/MANet; `manet_step.py`). A script runs only when one of its steps is kept.
//!
//! Run: `cargo bench --profile dev --bench train_step` (`-- --quick` for fewer repetitions,
//! `-- WORD` for the steps whose label contains WORD, `-- --kit-only` without burn's direct
//! convolutions).

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::model::CompiledModel;
use mcmr_dsl::check::Value;

mod common;
use common::median_ms;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 3 } else { 15 };
    let gemm = gemm_gflops(reps);
    println!("this backend's 1024x1024 matrix product: {gemm:.1} GFLOP/s");
    let int = |name: &str, v: i64| (name.to_string(), Value::Int(v));
    // PyTorch's side of the steps labelled `labels`, unless all are filtered out.
    let torch_steps = |script: &str, source_var: &str, labels: &[&str]| {
        if labels.iter().any(|l| wanted(l)) {
            torch_steps(script, source_var, quick)
        } else {
            None
        }
    };
    let unet = [int("chans", 8), int("num_pool_layers", 3)];
    let label = "U-Net (8 ch, 3 pools), 64x64, batch 4";
    let torch = torch_steps("unet_step.py", "FASTMRI_SRC", &[label]);
    let reference = official(&torch, "fastMRI U-Net", 4, 64);
    let net = |spec, network| Net { spec, network, inputs: &[1] };
    bench(label, net("baselines/unet.mcmr", None), &unet, [4, 64], reps, gemm, reference);
    let fsmnet = [int("num_features", 16), int("base_num_every_group", 1)];
    let label = |b: usize, n: usize| format!("FSMNet (C 16, n 1), {n}x{n}, batch {b}");
    let torch = torch_steps("fsmnet_step.py", "FSMNET_SRC", &[&label(2, 32), &label(4, 64)]);
    for (b, n) in [(2, 32), (4, 64)] {
        let label = label(b, n);
        let fsm = Net { inputs: &[1, 1], ..net("fsmnet.mcmr", None) };
        bench(&label, fsm, &fsmnet, [b, n], reps, gemm, official(&torch, "FSMNet", b, n));
    }
    // UniFS at the reduced scale's widths; inputs: reference, zero-filled target, mask.
    let unifs = [int("n_feats", 16), int("n_resblocks", 1), int("reduction", 4)];
    let label = "UniFS (C 16, 3 groups of 1 block), 64x64, batch 4";
    let torch = torch_steps("unifs_step.py", "UNIFS_SRC", &[label]);
    let uni = Net { inputs: &[1, 1, 1], ..net("unifs.mcmr", Some("unifs")) };
    bench(label, uni, &unifs, [4, 64], reps, gemm, official(&torch, "UniFS", 4, 64));
    // MANet at the released width (the official code hard-codes 64 channels in places); inputs:
    // two complex k-spaces.
    let label = "MANet (64 filters, 4 convs), 64x64, batch 4";
    let torch = torch_steps("manet_step.py", "MANET_SRC", &[label]);
    let ma = Net { inputs: &[2, 2], ..net("manet.mcmr", Some("manet")) };
    bench(label, ma, &[], [4, 64], reps, gemm, official(&torch, "MANet", 4, 64));
}

/// A network of a spec (the file's last when `network` is `None`) and its inputs' channels.
struct Net {
    spec: &'static str,
    network: Option<&'static str>,
    inputs: &'static [usize],
}

/// Whether a step labelled `label` runs: `-- WORD` keeps the steps whose label contains WORD.
fn wanted(label: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    filters.is_empty() || filters.iter().any(|f| label.contains(f.as_str()))
}

/// PyTorch's step times, 1 and 2 threads, of one size in a script's output.
type Official = (&'static str, Option<f64>, Option<f64>);

fn official(
    times: &Option<serde_json::Map<String, serde_json::Value>>,
    name: &'static str,
    b: usize,
    n: usize,
) -> Option<Official> {
    times.as_ref().map(|t| {
        let at = |threads: &str| t.get(&format!("{n}x{n} batch {b}, {threads}")).and_then(|v| v.as_f64());
        (name, at("1 thread"), at("2 threads"))
    })
}

/// GFLOP/s of a 1024×1024 matrix product on Flex: the machine's practical peak for this backend.
fn gemm_gflops(reps: usize) -> f64 {
    let device = Device::flex();
    let a = Tensor::<2>::ones([1024, 1024], &device);
    let ms = median_ms(reps, || {
        let _ = a.clone().matmul(a.clone()).into_data();
    });
    2.0 * 1024f64.powi(3) / (ms * 1e6)
}

/// An official model's step times from `tools/bench/<script>`, when torch and the model's
/// source (`source_var`) are at hand.
fn torch_steps(script: &str, source_var: &str, quick: bool) -> Option<serde_json::Map<String, serde_json::Value>> {
    let (python, _) = (std::env::var("MCMR_TORCH_PYTHON").ok()?, std::env::var(source_var).ok()?);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/bench").join(script);
    let mut cmd = std::process::Command::new(python);
    cmd.arg(&script);
    if quick {
        cmd.arg("--quick");
    }
    match cmd.output() {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout).ok(),
        Ok(out) => {
            eprintln!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
            None
        }
        Err(e) => {
            eprintln!("cannot run MCMR_TORCH_PYTHON: {e}");
            None
        }
    }
}

/// One training step of `net` with one input batch `[b, c, n, n]` per input (the bench values
/// over each flat batch), L1 of every output against the one-channel batch, timed with burn's
/// direct and the kit's convolutions.
fn bench(
    label: &str,
    net: Net,
    overrides: &[(String, Value)],
    [b, n]: [usize; 2],
    reps: usize,
    gemm: f64,
    torch: Option<Official>,
) {
    if !wanted(label) {
        return;
    }
    let direct_too = !std::env::args().any(|a| a == "--kit-only");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers").join(net.spec);
    let (_, checked, _) = mcmr::spec::load_spec(&path, net.network, None, overrides).expect("spec");
    let device = Device::flex().autodiff();
    let batch = |c: usize| {
        let len = b * c * n * n;
        let v: Vec<f32> = (0..len).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        Tensor::<4>::from_data(TensorData::new(v, [b, c, n, n]), &device)
    };
    let x = batch(1);
    let inputs: Vec<Tensor<4>> = net.inputs.iter().map(|&c| batch(c)).collect();
    // Where training runs its steps: on a worker of rayon's pool (threads.rs).
    let step = |model: &CompiledModel| {
        mcmr::threads::on_workers(&device, || {
            let outs = model.forward(inputs.clone(), true).unwrap();
            let loss = outs.into_values().map(|y| (y - x.clone()).abs().mean()).reduce(|a, c| a + c).unwrap();
            let grads = loss.backward();
            let _ = model.params[0].val().grad(&grads).unwrap().into_data();
        })
    };
    let direct = CompiledModel::new(checked.graph.clone(), 0, &device);
    let kit = CompiledModel::new(checked.graph, 0, &device).with_matmul_conv(true);
    let k = median_ms(reps, || step(&kit));
    let shapes: Vec<[usize; 4]> = kit.forward_all(inputs.clone(), false).unwrap().iter().map(|t| t.dims()).collect();
    let flops = 3.0 * mcmr::model::flops::count(&kit.meta.graph, &shapes).total.total_flops() as f64;
    let rate = flops / (k * 1e6);
    println!(
        "{label}: {:.2} GFLOP per step (forward x 3), {rate:.2} GFLOP/s, {:.1}% of the 1024x1024 matrix product's rate",
        flops / 1e9,
        100.0 * rate / gemm
    );
    if let Some((name, one, two)) = torch {
        let show = |t: Option<f64>| t.map(|t| format!("{t:.1} ms (kit / PyTorch {:.2}x)", k / t)).unwrap_or("—".into());
        println!("{label}: official {name} in PyTorch, 1 thread {}, 2 threads {}", show(one), show(two));
    }
    if direct_too {
        let d = median_ms(reps, || step(&direct));
        println!(
            "{label}: training step with burn's direct conv {d:.1} ms, kit's conv paths {k:.1} ms, ratio {:.2}x",
            d / k
        );
    } else {
        println!("{label}: training step with the kit's conv paths {k:.1} ms");
    }
}
