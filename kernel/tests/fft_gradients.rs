//! Gradients of the tensor FFT family against central finite differences (float64), at 64×64,
//! 240×240 and 63×80, and the two implementations against each other.

use burn::tensor::{DType, Device, Tensor, TensorData};
use mcmr::fft::Norm;
use mcmr::ops::{fft2_using, irfft2_using, magnitude, phase, rfft2_using, FftImpl};
use mcmr::rng::{NumpyRng, Seed};

fn randn(n: usize, seed: u32) -> Vec<f64> {
    let mut rng = NumpyRng::new(&Seed::Int(seed));
    (0..n).map(|_| rng.standard_normal()).collect()
}

fn tensor(v: &[f64], shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), (device, DType::F64))
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0]
}

/// A scalar loss touching every output of the chain: weighted sums of a transform's outputs,
/// of their magnitude and of their phase (so magnitude/phase gradients are checked too).
type Chain = fn(FftImpl, Tensor<4>, Tensor<4>, &[Tensor<4>; 4], usize) -> Tensor<1>;

fn complex_chain(imp: FftImpl, re: Tensor<4>, im: Tensor<4>, w: &[Tensor<4>; 4], _width: usize) -> Tensor<1> {
    let (kr, ki) = fft2_using(imp, re, im, false, Norm::Ortho, true);
    let (xr, xi) = fft2_using(imp, kr.clone(), ki.clone(), true, Norm::Backward, false);
    let mag = magnitude(kr.clone(), ki.clone());
    let ph = phase(kr, ki);
    (xr * w[0].clone()).sum() + (xi * w[1].clone()).sum() + (mag * w[2].clone()).sum() + (ph.sin() * w[3].clone()).sum()
}

fn real_chain(imp: FftImpl, re: Tensor<4>, im: Tensor<4>, w: &[Tensor<4>; 4], width: usize) -> Tensor<1> {
    // rfft2 of `re`, then irfft2 of a spectrum built from `im` (both paths carry gradients).
    let (zr, zi) = rfft2_using(imp, re, Norm::Ortho);
    let mag = magnitude(zr.clone(), zi.clone());
    let ph = phase(zr.clone(), zi);
    let [b, c, h, _] = zr.dims();
    let wh = width / 2 + 1;
    let spec_im = im.narrow(3, 0, wh).reshape([b, c, h, wh]);
    let x = irfft2_using(imp, zr * 0.5, spec_im, width, Norm::Backward);
    (x * w[0].clone()).sum()
        + (mag * w[2].clone().narrow(3, 0, wh)).sum()
        + (ph.cos() * w[3].clone().narrow(3, 0, wh)).sum()
}

fn check(chain: Chain, h: usize, w: usize, imp: FftImpl, probes: usize) {
    let device = Device::flex().autodiff();
    let shape = [1, 2, h, w];
    let n = 2 * h * w;
    let (re0, im0) = (randn(n, 1), randn(n, 2));
    let weights: [Tensor<4>; 4] = std::array::from_fn(|i| tensor(&randn(n, 10 + i as u32), shape, &device));
    let re = tensor(&re0, shape, &device).require_grad();
    let im = tensor(&im0, shape, &device).require_grad();
    let loss = chain(imp, re.clone(), im.clone(), &weights, w);
    let grads = loss.backward();
    let gre = re.grad(&grads).unwrap().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let gim = im.grad(&grads).unwrap().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let eval =
        |r: &[f64], i: &[f64]| scalar(chain(imp, tensor(r, shape, &device), tensor(i, shape, &device), &weights, w));
    let eps = 1e-6;
    let mut rng = NumpyRng::new(&Seed::Int(99));
    for _ in 0..probes {
        let j = rng.randint(n as u64) as usize;
        for (which, grad) in [(0, &gre), (1, &gim)] {
            let (mut rp, mut ip) = (re0.clone(), im0.clone());
            let (mut rm, mut im_) = (re0.clone(), im0.clone());
            if which == 0 {
                rp[j] += eps;
                rm[j] -= eps;
            } else {
                ip[j] += eps;
                im_[j] -= eps;
            }
            let fd = (eval(&rp, &ip) - eval(&rm, &im_)) / (2.0 * eps);
            let g = grad[j];
            assert!(
                (fd - g).abs() <= 1e-5 * (1.0 + g.abs()),
                "{h}x{w} {imp:?} input {which} entry {j}: autodiff {g} vs finite difference {fd}"
            );
        }
    }
}

#[test]
fn complex_fft_gradients_match_finite_differences() {
    for &(h, w) in &[(64, 64), (240, 240), (63, 80)] {
        check(complex_chain, h, w, FftImpl::Host, 4);
    }
    check(complex_chain, 63, 80, FftImpl::Dense, 3);
}

#[test]
fn real_fft_gradients_match_finite_differences() {
    for &(h, w) in &[(64, 64), (240, 240), (63, 80), (20, 21)] {
        check(real_chain, h, w, FftImpl::Host, 4);
    }
    check(real_chain, 63, 80, FftImpl::Dense, 3);
}

#[test]
fn host_and_dense_implementations_agree_in_values_and_gradients() {
    let device = Device::flex().autodiff();
    for &(h, w) in &[(16, 16), (15, 22)] {
        let shape = [2, 1, h, w];
        let n = 2 * h * w;
        let weights: [Tensor<4>; 4] = std::array::from_fn(|i| tensor(&randn(n, 20 + i as u32), shape, &device));
        for chain in [complex_chain as Chain, real_chain as Chain] {
            let mut out = Vec::new();
            for imp in [FftImpl::Host, FftImpl::Dense] {
                let re = tensor(&randn(n, 5), shape, &device).require_grad();
                let im = tensor(&randn(n, 6), shape, &device).require_grad();
                let loss = chain(imp, re.clone(), im.clone(), &weights, w);
                let value = scalar(loss.clone());
                let grads = loss.backward();
                let g = re.grad(&grads).unwrap().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
                out.push((value, g));
            }
            assert!((out[0].0 - out[1].0).abs() < 1e-9 * (1.0 + out[0].0.abs()), "{h}x{w}: loss differs");
            let worst = out[0].1.iter().zip(&out[1].1).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-9, "{h}x{w}: gradients differ by {worst:e}");
        }
    }
}

#[test]
fn phase_turns_negative_zero_imaginary_parts_into_plus_pi() {
    let device = Device::flex();
    let re = Tensor::<4>::from_data(TensorData::new(vec![-1.0f32, -1.0], [1, 1, 1, 2]), &device);
    let im = Tensor::<4>::from_data(TensorData::new(vec![-0.0f32, 0.0], [1, 1, 1, 2]), &device);
    let p = phase(re, im).into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(p, vec![std::f32::consts::PI, std::f32::consts::PI]);
}

#[test]
fn magnitude_has_zero_gradient_at_zero() {
    let device = Device::flex().autodiff();
    let re = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 3.0], [1, 1, 1, 2]), &device).require_grad();
    let im = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 4.0], [1, 1, 1, 2]), &device).require_grad();
    let grads = magnitude(re.clone(), im.clone()).sum().backward();
    let g = re.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(g, vec![0.0, 0.6]);
}

#[test]
fn tensor_transforms_round_trip_at_the_papers_sizes() {
    let device = Device::flex();
    for &(h, w) in &[(200, 200), (256, 256), (320, 320), (320, 368)] {
        let n = h * w;
        let re = Tensor::<4>::from_data(
            TensorData::new(randn(n, 1).iter().map(|&v| v as f32).collect(), [1, 1, h, w]),
            &device,
        );
        let im = Tensor::<4>::from_data(
            TensorData::new(randn(n, 2).iter().map(|&v| v as f32).collect(), [1, 1, h, w]),
            &device,
        );
        for imp in [FftImpl::Host, FftImpl::Dense] {
            let (kr, ki) = fft2_using(imp, re.clone(), im.clone(), false, Norm::Ortho, true);
            let (br, bi) = fft2_using(imp, kr, ki, true, Norm::Ortho, true);
            let err = |a: Tensor<4>, b: Tensor<4>| -> f32 { (a - b).abs().max().into_scalar() };
            let (er, ei) = (err(br, re.clone()), err(bi, im.clone()));
            let (zr, zi) = rfft2_using(imp, re.clone(), Norm::Backward);
            let back = irfft2_using(imp, zr, zi, w, Norm::Backward);
            let e2 = err(back, re.clone());
            assert!(er.max(ei).max(e2) < 2e-4, "{h}x{w} {imp:?}: round-trip errors {er:e} {ei:e} {e2:e}");
        }
    }
}
