//! Training steps (forward + backward, L1 loss) with burn's direct convolutions vs the kit's
//! convolution paths (`CompiledModel::with_matmul_conv`: matrix products, depthwise taps),
//! measured side by side on the Flex CPU backend and reported as a ratio:
//! * the smoke U-Net (fastMRI U-Net, 8 channels, 3 poolings), batch 4, 64×64;
//! * FSMNet at smoke width (C = 16, n = 1), batch 2 at 32×32 and batch 4 at 64×64.
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
    let int = |name: &str, v: i64| (name.to_string(), Value::Int(v));
    bench(
        "U-Net (8 ch, 3 pools), 64x64, batch 4",
        "baselines/unet.mcmr",
        &[int("chans", 8), int("num_pool_layers", 3)],
        1,
        [4, 64],
        reps,
    );
    let fsmnet = [int("num_features", 16), int("base_num_every_group", 1)];
    bench("FSMNet (C 16, n 1), 32x32, batch 2", "fsmnet.mcmr", &fsmnet, 2, [2, 32], reps);
    bench("FSMNet (C 16, n 1), 64x64, batch 4", "fsmnet.mcmr", &fsmnet, 2, [4, 64], reps);
}

/// One training step of `spec`'s network with `inputs` copies of one image batch `[b, 1, n, n]`,
/// L1 of every output against it, timed with burn's direct and the kit's convolutions.
fn bench(label: &str, spec: &str, overrides: &[(String, Value)], inputs: usize, [b, n]: [usize; 2], reps: usize) {
    // `-- WORD`: only the steps whose label contains WORD.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !filters.is_empty() && !filters.iter().any(|f| label.contains(f.as_str())) {
        return;
    }
    let direct_too = !std::env::args().any(|a| a == "--kit-only");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers").join(spec);
    let (_, checked, _) = mcmr::spec::load_spec(&path, None, None, overrides).expect("spec");
    let device = Device::flex().autodiff();
    let len = b * n * n;
    let x = Tensor::<4>::from_data(
        TensorData::new((0..len).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect::<Vec<f32>>(), [b, 1, n, n]),
        &device,
    );
    let step = |model: &CompiledModel| {
        let outs = model.forward(vec![x.clone(); inputs], true).unwrap();
        let loss = outs.into_values().map(|y| (y - x.clone()).abs().mean()).reduce(|a, c| a + c).unwrap();
        let grads = loss.backward();
        let _ = model.params[0].val().grad(&grads).unwrap().into_data();
    };
    let direct = CompiledModel::new(checked.graph.clone(), 0, &device);
    let kit = CompiledModel::new(checked.graph, 0, &device).with_matmul_conv(true);
    let k = median_ms(reps, || step(&kit));
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
