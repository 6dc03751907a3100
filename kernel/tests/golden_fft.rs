//! The centred orthonormal FFT against `shared/fixtures/golden/fft` (numpy complex128 outputs).

mod common;
use burn::tensor::{Device, Tensor, TensorData};
use mcmr::fft::{Fft2, Norm};
use mcmr::io::npy::read_npy;
use mcmr::ops::{fft2_using, FftImpl};
use num_complex::Complex;

struct Case {
    shape: Vec<usize>,
    x: Vec<Complex<f64>>,
    fwd: Vec<Complex<f64>>,
    inv: Vec<Complex<f64>>,
    fwd64: Option<Vec<Complex<f64>>>,
    inv64: Option<Vec<Complex<f64>>>,
    ones: (f64, Vec<usize>),
}

fn load_cases() -> Option<Vec<Case>> {
    let dir = common::fixtures()?.join("golden");
    let index = common::json(&dir.join("index.json"));
    let mut out = Vec::new();
    for c in index["fft"]["cases"].as_array().unwrap() {
        let f = &c["files"];
        let pair = |re: &str, im: &str| -> Option<Vec<Complex<f64>>> {
            let (re, im) = (f.get(re)?.as_str()?, f.get(im)?.as_str()?);
            let (a, b) = (read_npy(&dir.join(re)).unwrap(), read_npy(&dir.join(im)).unwrap());
            Some(a.data.iter().zip(&b.data).map(|(&r, &i)| Complex::new(r, i)).collect())
        };
        out.push(Case {
            shape: c["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect(),
            x: pair("x_re", "x_im").unwrap(),
            fwd: pair("fft2c_re", "fft2c_im").unwrap(),
            inv: pair("ifft2c_re", "ifft2c_im").unwrap(),
            fwd64: pair("fft2c_re_f64", "fft2c_im_f64"),
            inv64: pair("ifft2c_re_f64", "ifft2c_im_f64"),
            ones: (
                c["fft2c_of_ones"]["value"].as_f64().unwrap(),
                c["fft2c_of_ones"]["at"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect(),
            ),
        });
    }
    assert_eq!(out.len(), 4, "expected four FFT cases in index.json");
    Some(out)
}

fn max_err(got: &[Complex<f64>], want: &[Complex<f64>]) -> (f64, f64) {
    let err = got.iter().zip(want).map(|(a, b)| (a - b).norm()).fold(0.0, f64::max);
    let scale = want.iter().map(|v| v.norm()).fold(0.0, f64::max);
    (err, scale)
}

#[test]
fn fft2c_and_ifft2c_match_numpy_in_float32_and_float64() {
    let Some(cases) = load_cases() else { return };
    for c in &cases {
        let (h, w) = (c.shape[c.shape.len() - 2], c.shape[c.shape.len() - 1]);
        for (inverse, want, want64) in [(false, &c.fwd, &c.fwd64), (true, &c.inv, &c.inv64)] {
            let mut x32: Vec<Complex<f32>> = c.x.iter().map(|v| Complex::new(v.re as f32, v.im as f32)).collect();
            Fft2::<f32>::new(h, w).transform(&mut x32, inverse, Norm::Ortho, true);
            let got: Vec<Complex<f64>> = x32.iter().map(|v| Complex::new(v.re as f64, v.im as f64)).collect();
            let (err, scale) = max_err(&got, want);
            assert!(err <= 1e-5 * scale, "{:?} inverse={inverse}: f32 error {err:e} vs max {scale}", c.shape);
            if let Some(w64) = want64 {
                let mut x64 = c.x.clone();
                Fft2::<f64>::new(h, w).transform(&mut x64, inverse, Norm::Ortho, true);
                let (err, scale) = max_err(&x64, w64);
                assert!(err <= 1e-12 * scale, "{:?} inverse={inverse}: f64 error {err:e}", c.shape);
            }
        }
        let mut ones = vec![Complex::new(1.0f64, 0.0); h * w];
        Fft2::<f64>::new(h, w).fft2(&mut ones, Norm::Ortho, true);
        let (value, at) = &c.ones;
        let peak = at[0] * w + at[1];
        assert!((ones[peak].re - value).abs() < 1e-9, "{:?}: DC not at {at:?}", c.shape);
        assert!(ones.iter().enumerate().all(|(i, v)| i == peak || v.norm() < 1e-9));
    }
}

#[test]
fn tensor_fft2_matches_numpy_with_both_implementations() {
    let Some(cases) = load_cases() else { return };
    let device = Device::flex();
    for c in cases.iter().filter(|c| c.shape.len() == 2) {
        let (h, w) = (c.shape[0], c.shape[1]);
        let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [1, 1, h, w]), &device);
        let re = t(c.x.iter().map(|v| v.re as f32).collect());
        let im = t(c.x.iter().map(|v| v.im as f32).collect());
        for imp in [FftImpl::Host, FftImpl::Dense] {
            let (kr, ki) = fft2_using(imp, re.clone(), im.clone(), false, Norm::Ortho, true);
            let kr = kr.into_data().try_to_vec::<f32>().unwrap();
            let ki = ki.into_data().try_to_vec::<f32>().unwrap();
            let got: Vec<Complex<f64>> = kr.iter().zip(&ki).map(|(&a, &b)| Complex::new(a as f64, b as f64)).collect();
            let (err, scale) = max_err(&got, &c.fwd);
            // The dense DFT sums in f32 matmuls: allow a few ulps more than rustfft.
            let tol = if imp == FftImpl::Host { 1e-5 } else { 5e-5 };
            assert!(err <= tol * scale, "{h}x{w} {imp:?}: error {err:e} vs max {scale}");
        }
    }
}
