//! Benchmarks behind two physics decisions, each reported as a ratio against a reference
//! measured side by side in the same run (absolute times depend on the machine and its load):
//!
//! 1. The tensor FFT: `FftImpl::Host` (custom autodiff op over rustfft) vs `FftImpl::Dense`
//!    (DFT-as-matmul), forward + backward of `fft2` on 32 maps, on the Flex CPU backend.
//! 2. SSIM: summed-area tables vs the naive 49-tap window loop, on 240×240.
//!
//! Run: `cargo bench --profile dev --bench physics` (add `-- --quick` for one size and fewer
//! repetitions). Results are printed and written to `target/bench/physics.json`.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::fft::Norm;
use mcmr::metrics::{ssim, ssim_naive};
use mcmr::ops::{fft2_using, FftImpl};

mod common;
use common::median_ms;

fn fft_fwd_bwd(imp: FftImpl, x: &Tensor<4>) {
    let re = x.clone().require_grad();
    let im = x.clone().require_grad();
    let (kr, ki) = fft2_using(imp, re.clone(), im.clone(), false, Norm::Ortho, true);
    let grads = (kr + ki * 0.5).sum().backward();
    let g = re.grad(&grads).unwrap();
    let _ = g.into_data();
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (sizes, reps): (&[usize], usize) = if quick { (&[64], 3) } else { (&[64, 240, 320], 5) };
    let device = Device::flex().autodiff();
    let mut rows = Vec::new();
    println!("fft2 forward+backward, 32 maps, Flex CPU (median of {reps}):");
    println!("{:>6} {:>12} {:>12} {:>14} {:>16}", "size", "host ms", "dense ms", "dense / host", "raw rustfft ms");
    for &n in sizes {
        let data: Vec<f32> = (0..32 * n * n).map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [32, 1, n, n]), &device);
        let host = median_ms(reps, || fft_fwd_bwd(FftImpl::Host, &x));
        let dense = median_ms(reps, || fft_fwd_bwd(FftImpl::Dense, &x));
        // The floor: the same two transforms on host buffers, without burn.
        let plan = mcmr::fft::Fft2::<f32>::new(n, n);
        let mut buf = vec![num_complex::Complex::new(0.5f32, 0.25); 32 * n * n];
        let raw = median_ms(reps, || {
            plan.transform(&mut buf, false, Norm::Ortho, true);
            plan.transform(&mut buf, true, Norm::Ortho, true);
        });
        println!("{n:>6} {host:>12.2} {dense:>12.2} {:>14.2} {raw:>16.2}", dense / host);
        rows.push(serde_json::json!({"bench": "fft2_fwd_bwd_32maps", "size": n, "host_ms": host, "dense_ms": dense,
            "ratio_dense_over_host": dense / host, "raw_rustfft_ms": raw}));
    }

    let n = 240;
    let gt: Vec<f64> = (0..n * n).map(|i| ((i * 7919) % 255) as f64 / 255.0).collect();
    let pred: Vec<f64> = gt.iter().enumerate().map(|(i, v)| v + 0.01 * ((i % 13) as f64 - 6.0)).collect();
    let mut checksum = 0.0;
    let fast = median_ms(reps, || checksum += ssim(&gt, &pred, n, n, 1.0));
    let naive = median_ms(reps.min(3), || checksum += ssim_naive(&gt, &pred, n, n, 1.0));
    println!(
        "\nSSIM 240x240: summed-area {fast:.2} ms, naive 49-tap loop {naive:.2} ms, naive / summed-area {:.1}",
        naive / fast
    );
    rows.push(serde_json::json!({"bench": "ssim_240", "summed_area_ms": fast, "naive_ms": naive, "ratio_naive_over_summed_area": naive / fast, "checksum": checksum}));

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/physics.json");
    let text = serde_json::to_string_pretty(&rows).unwrap();
    if let Err(e) = mcmr::io::write_atomic(&out, text.as_bytes()) {
        eprintln!("could not write {}: {e}", out.display());
    }
}
