//! Convolutions forward + backward on the Flex CPU backend: burn's direct convolution vs the
//! kit's host ops (`ops::conv2d`: one matrix product per kernel tap, for 3×3 and
//! 1×1; `ops::depthwise_conv2d`: taps); then the host convolution's three parts alone
//! (forward, input gradient, weight gradient; one thread, fastest of the repetitions).
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
    parts(if quick { 5 } else { 15 });
}

/// The host convolution's forward, input-gradient and weight-gradient passes on their own, on
/// one thread, at FSMNet's and the U-Net's shapes.
fn parts(reps: usize) {
    use mcmr::ops::conv::Conv;
    use mcmr::ops::unfold::Unfold;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
    for (b, c, co, hw, k, p) in
        [(4, 16, 16, 64, 3, 1), (4, 32, 32, 64, 3, 1), (4, 64, 64, 16, 3, 1), (4, 16, 16, 64, 1, 0)]
    {
        let conv = Conv { unfold: Unfold { channels: c, height: hw, width: hw, kernel: k, pad: p }, cout: co };
        let fill = |n: usize, m: usize| (0..n).map(|i| ((i * m) % 1000) as f32 / 1000.0 - 0.5).collect::<Vec<f32>>();
        let (x, w, g) = (fill(b * c * hw * hw, 7919), fill(co * c * k * k, 31), fill(b * co * hw * hw, 13));
        let best = |f: &dyn Fn()| {
            (0..reps)
                .map(|_| {
                    let start = std::time::Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let (fwd, gx, gw) = pool.install(|| {
            (
                best(&|| drop(std::hint::black_box(conv.forward(&x, &w, None, b)))),
                best(&|| drop(std::hint::black_box(conv.backward(&g, &x, &w, b, (true, false, false))))),
                best(&|| drop(std::hint::black_box(conv.backward(&g, &x, &w, b, (false, true, false))))),
            )
        });
        println!("host convolution B={b} C={c}->{co} {hw}x{hw} {k}x{k}, one thread: forward {fwd:.2} ms, input gradient {gx:.2} ms, weight gradient {gw:.2} ms");
    }
}
