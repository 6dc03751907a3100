//! Spectral transforms as dense DFT matrices and burn matmuls (differentiable on any backend).
//!
//! Along an axis of length `n`, the centred DFT matrix is `M[p, j] = s·e^{∓2πi(p−c)(j−c)/n}`
//! with `c = n/2` (floor), which equals `fftshift ∘ DFT ∘ ifftshift` for even and odd `n`; the
//! uncentred one is `s·e^{∓2πi·pj/n}`. Both are symmetric, so a 2D transform is
//! `M_H · X · M_W`. The scale `s` is the per-axis norm factor; their product is the 2D factor.

use crate::fft::Norm;
use burn::tensor::{Bool, Tensor, TensorData};
use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

type Key = (usize, bool, Norm, bool);
type Pair = Arc<(Vec<f64>, Vec<f64>)>;

/// Real and imaginary parts of the `n×n` DFT matrix (host, cached).
fn dft_matrix(n: usize, inverse: bool, norm: Norm, centered: bool) -> Pair {
    static CACHE: OnceLock<Mutex<HashMap<Key, Pair>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((n, inverse, norm, centered))
        .or_insert_with(|| {
            let s = norm.scale(n, inverse);
            let sign = if inverse { 1.0 } else { -1.0 };
            let c = if centered { (n / 2) as i64 } else { 0 };
            let (mut re, mut im) = (vec![0.0; n * n], vec![0.0; n * n]);
            for p in 0..n {
                for j in 0..n {
                    // Reduce the phase index modulo n in integers to keep the angle exact.
                    let k = ((p as i64 - c) * (j as i64 - c)).rem_euclid(n as i64);
                    let ang = sign * 2.0 * PI * k as f64 / n as f64;
                    re[p * n + j] = s * ang.cos();
                    im[p * n + j] = s * ang.sin();
                }
            }
            Arc::new((re, im))
        })
        .clone()
}

fn upload(values: &[f64], rows: usize, cols: usize, like: &Tensor<4>) -> Tensor<4> {
    let data = TensorData::new(values.to_vec(), [1, 1, rows, cols]);
    Tensor::<4>::from_data(data, (&like.device(), like.dtype()))
}

fn matrices(n: usize, inverse: bool, norm: Norm, centered: bool, like: &Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let m = dft_matrix(n, inverse, norm, centered);
    (upload(&m.0, n, n, like), upload(&m.1, n, n, like))
}

/// `(xr + i·xi) · (mr + i·mi)` with the matrix on the right (transform along W).
fn right(xr: Tensor<4>, xi: Tensor<4>, mr: Tensor<4>, mi: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let re = xr.clone().matmul(mr.clone()) - xi.clone().matmul(mi.clone());
    let im = xr.matmul(mi) + xi.matmul(mr);
    (re, im)
}

/// `(mr + i·mi) · (xr + i·xi)` with the matrix on the left (transform along H).
fn left(mr: Tensor<4>, mi: Tensor<4>, xr: Tensor<4>, xi: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let re = mr.clone().matmul(xr.clone()) - mi.clone().matmul(xi.clone());
    let im = mr.matmul(xi) + mi.matmul(xr);
    (re, im)
}

pub(super) fn complex(
    re: Tensor<4>,
    im: Tensor<4>,
    inverse: bool,
    norm: Norm,
    centered: bool,
) -> (Tensor<4>, Tensor<4>) {
    let [_, _, h, w] = re.dims();
    let (wr, wi) = matrices(w, inverse, norm, centered, &re);
    let (hr, hi) = matrices(h, inverse, norm, centered, &re);
    let (yr, yi) = right(re, im, wr, wi);
    left(hr, hi, yr, yi)
}

pub(super) fn rfft(x: Tensor<4>, norm: Norm) -> (Tensor<4>, Tensor<4>) {
    let [_, _, h, w] = x.dims();
    let wh = w / 2 + 1;
    let (wr, wi) = matrices(w, false, norm, false, &x);
    let (wr, wi) = (wr.narrow(3, 0, wh), wi.narrow(3, 0, wh));
    let (yr, yi) = (x.clone().matmul(wr), x.matmul(wi));
    let (hr, hi) = matrices(h, false, norm, false, &yr);
    let (re, im) = left(hr, hi, yr, yi);
    // The self-conjugate bins are real: +0.0 exactly there, as the host transform gives (see
    // `Fft2::rfft2`), instead of the matrices' rounding noise (sin π ≠ 0 in floating point).
    let mut bins = vec![false; h * wh];
    for r in if h % 2 == 0 { vec![0, h / 2] } else { vec![0] } {
        for c in if w % 2 == 0 { vec![0, w / 2] } else { vec![0] } {
            bins[r * wh + c] = true;
        }
    }
    let mask = Tensor::<4, Bool>::from_data(TensorData::new(bins, [1, 1, h, wh]), &im.device()).expand(im.dims());
    (re, im.mask_fill(mask, 0.0))
}

pub(super) fn irfft(re: Tensor<4>, im: Tensor<4>, width: usize, norm: Norm) -> Tensor<4> {
    let [_, _, h, wz] = re.dims();
    let (hr, hi) = matrices(h, true, norm, false, &re);
    let (zr, zi) = left(hr, hi, re, im);
    // C2R along W: x[n] = s·Σ_k w_k (Re z_k cos θkn − Im z_k sin θkn), w = 1 at DC/Nyquist, 2
    // elsewhere; rows past W/2 are zero (ignored), and the sin rows of DC/Nyquist vanish, which
    // is how C2R ignores their imaginary parts.
    let s = norm.scale(width, true);
    let (mut cr, mut ci) = (vec![0.0; wz * width], vec![0.0; wz * width]);
    for k in 0..wz.min(width / 2 + 1) {
        let single = k == 0 || (width % 2 == 0 && k == width / 2);
        let wk = if single { 1.0 } else { 2.0 };
        for n in 0..width {
            let ang = 2.0 * PI * ((k * n) % width) as f64 / width as f64;
            cr[k * width + n] = s * wk * ang.cos();
            ci[k * width + n] = -s * wk * ang.sin();
        }
    }
    let (cr, ci) = (upload(&cr, wz, width, &zr), upload(&ci, wz, width, &zr));
    zr.matmul(cr) + zi.matmul(ci)
}
