//! The training step of the smoke U-Net (fastMRI U-Net, 8 channels, 3 poolings, batch 4,
//! 64×64, L1 loss, forward + backward) with burn's direct convolution vs the kit's
//! matrix-product convolution (`CompiledModel::with_matmul_conv`), measured side by side on the
//! Flex CPU backend and reported as a ratio.
//!
//! Run: `cargo bench --profile dev --bench train_step` (`-- --quick` for fewer repetitions).

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::model::CompiledModel;
use mcmr_dsl::check::Value;

mod common;
use common::median_ms;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines/unet.mcmr");
    let overrides = vec![("chans".to_string(), Value::Int(8)), ("num_pool_layers".to_string(), Value::Int(3))];
    let (_, checked, _) = mcmr::spec::load_spec(&path, None, None, &overrides).expect("unet spec");
    let device = Device::flex().autodiff();
    let n = 4 * 64 * 64;
    let x = Tensor::<4>::from_data(
        TensorData::new((0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect::<Vec<f32>>(), [4, 1, 64, 64]),
        &device,
    );
    let step = |model: &CompiledModel| {
        let y = model.forward(vec![x.clone()], true).unwrap().remove("output").unwrap();
        let grads = (y - x.clone()).abs().mean().backward();
        let _ = model.params[0].val().grad(&grads).unwrap().into_data();
    };
    let direct = CompiledModel::new(checked.graph.clone(), 0, &device);
    let matmul = CompiledModel::new(checked.graph, 0, &device).with_matmul_conv(true);
    let reps = if quick { 3 } else { 15 };
    let (d, m) = (median_ms(reps, || step(&direct)), median_ms(reps, || step(&matmul)));
    println!("U-Net training step (64x64, batch 4): direct conv {d:.1} ms, matmul conv {m:.1} ms, ratio {:.2}x", d / m);
}
