//! Convolutions forward + backward on the Flex CPU backend: burn's direct convolution vs the
//! kit's host ops (`ops::conv2d`: `im2col` and one matrix product per batch item, for 3×3 and
//! 1×1; `ops::depthwise_conv2d`: taps).
//!
//! Run: `cargo bench --profile dev --bench convs` (`-- --quick` for fewer repetitions).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

mod common;
use common::median_ms;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 3 } else { 11 };
    let device = Device::flex().autodiff();
    let t = |shape: [usize; 4]| {
        let n: usize = shape.iter().product();
        Tensor::<4>::from_data(
            TensorData::new((0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect::<Vec<f32>>(), shape),
            &device,
        )
        .require_grad()
    };
    for (b, c, hw) in [(4, 32, 64), (4, 16, 32)] {
        let x = t([b, c, hw, hw]);
        let dw = t([c, 1, 3, 3]);
        let pw = t([c, c, 1, 1]);
        let dense = t([c, c, 3, 3]);
        let run = |f: &dyn Fn() -> Tensor<4>| {
            let y = f();
            let g = (y.clone() * y).sum().backward();
            let _ = x.grad(&g).unwrap().into_data();
        };
        let d_direct = median_ms(reps, || {
            run(&|| conv2d(x.clone(), dw.clone(), None, ConvOptions::new([1, 1], [1, 1], [1, 1], c)))
        });
        let p_direct = median_ms(reps, || {
            run(&|| conv2d(x.clone(), pw.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1)))
        });
        let c_direct = median_ms(reps, || {
            run(&|| conv2d(x.clone(), dense.clone(), None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)))
        });
        let c_host = median_ms(reps, || run(&|| mcmr::ops::conv2d(x.clone(), dense.clone(), None, 1)));
        let d_taps = median_ms(reps, || run(&|| mcmr::model::depthwise_conv2d_by_taps(x.clone(), dw.clone(), None, 1)));
        let p_matmul = median_ms(reps, || run(&|| mcmr::ops::conv2d(x.clone(), pw.clone(), None, 0)));
        println!(
            "B={b} C={c} {hw}x{hw}, forward + backward: 3x3 direct {c_direct:.1} ms, host {c_host:.1} ms ({:.1}x)",
            c_direct / c_host
        );
        println!(
            "B={b} C={c} {hw}x{hw}, forward + backward: depthwise 3x3 direct {d_direct:.1} ms, by taps {d_taps:.1} ms ({:.1}x); 1x1 direct {p_direct:.1} ms, host {p_matmul:.1} ms ({:.1}x)",
            d_direct / d_taps,
            p_direct / p_matmul
        );
    }
}
