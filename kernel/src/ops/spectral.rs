//! The spectral transforms as linear maps on host buffers, each with its exact adjoint.
//!
//! Layouts: complex tensors are *packed* as `[..., 2, H, W]` (real plane, then imaginary
//! plane); real tensors are `[..., H, W]`. Every transform is linear, so its backward pass is its
//! adjoint ([`SpectralOp::adjoint`]): the complex transforms' adjoint is the opposite direction
//! with the dual norm and the same centring; `rfft2`'s adjoint is `Re(Fᴴ · zero-pad)`; the
//! adjoint of `irfft2` (a C2R transform that ignores the imaginary parts of the DC and Nyquist
//! columns) is `w ⊙ rfft2(·, dual norm)` with `w = 1` on those columns and `2` elsewhere.

use crate::fft::{Fft2, Norm};
use num_complex::Complex;
use rustfft::FftNum;

/// One spectral transform over the last two axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectralOp {
    /// Packed complex `[.., 2, H, W]` → packed complex, forward or inverse.
    Complex { inverse: bool, norm: Norm, centered: bool },
    /// Real `[.., H, W]` → packed half spectrum `[.., 2, H, W/2+1]` (PyTorch `rfft2`).
    Rfft { norm: Norm },
    /// Packed half spectrum `[.., 2, H, Wz]` → real `[.., H, width]` (PyTorch `irfft2`).
    Irfft { norm: Norm, width: usize },
    /// Adjoint of `Rfft`: packed `[.., 2, H, width/2+1]` → real `[.., H, width]`.
    RfftAdjoint { norm: Norm, width: usize },
    /// Adjoint of `Irfft`: real `[.., H, width]` → packed `[.., 2, H, wz]`.
    IrfftAdjoint { norm: Norm, wz: usize },
}

impl SpectralOp {
    /// The adjoint transform (the backward pass of this one).
    pub fn adjoint(self, in_width: usize) -> SpectralOp {
        match self {
            SpectralOp::Complex { inverse, norm, centered } => {
                SpectralOp::Complex { inverse: !inverse, norm: norm.dual(), centered }
            }
            SpectralOp::Rfft { norm } => SpectralOp::RfftAdjoint { norm, width: in_width },
            SpectralOp::RfftAdjoint { norm, .. } => SpectralOp::Rfft { norm },
            SpectralOp::Irfft { norm, .. } => SpectralOp::IrfftAdjoint { norm, wz: in_width },
            SpectralOp::IrfftAdjoint { norm, .. } => SpectralOp::Irfft { norm, width: in_width },
        }
    }

    /// The output shape for an input shape, or a message saying what the input should be.
    pub fn output_shape(&self, shape: &[usize]) -> Result<Vec<usize>, String> {
        let n = shape.len();
        let packed = |s: &[usize]| n >= 3 && s[n - 3] == 2;
        let mut out = shape.to_vec();
        match *self {
            SpectralOp::Complex { .. } => {
                if !packed(shape) {
                    return Err(format!("expected a packed complex tensor [.., 2, H, W], got {shape:?}"));
                }
            }
            SpectralOp::Rfft { .. } | SpectralOp::IrfftAdjoint { .. } => {
                if n < 2 {
                    return Err(format!("expected a real tensor [.., H, W], got {shape:?}"));
                }
                let w = match *self {
                    SpectralOp::IrfftAdjoint { wz, .. } => wz,
                    _ => shape[n - 1] / 2 + 1,
                };
                out.insert(n - 2, 2);
                out[n] = w;
            }
            SpectralOp::Irfft { width, .. } | SpectralOp::RfftAdjoint { width, .. } => {
                if !packed(shape) {
                    return Err(format!("expected a packed half spectrum [.., 2, H, Wz], got {shape:?}"));
                }
                out.remove(n - 3);
                *out.last_mut().unwrap() = width;
            }
        }
        Ok(out)
    }

    /// Applies the transform to a row-major buffer of the given shape.
    pub fn apply<T: FftNum>(&self, input: &[T], shape: &[usize]) -> Vec<T> {
        let n = shape.len();
        let (h, w_in) = (shape[n - 2], shape[n - 1]);
        let zero = Complex::new(T::zero(), T::zero());
        match *self {
            SpectralOp::Complex { inverse, norm, centered } => {
                let plan = Fft2::<T>::cached(h, w_in);
                let hw = h * w_in;
                let mut out = vec![T::zero(); input.len()];
                let mut buf = vec![zero; hw];
                for (src, dst) in input.chunks_exact(2 * hw).zip(out.chunks_exact_mut(2 * hw)) {
                    for i in 0..hw {
                        buf[i] = Complex::new(src[i], src[hw + i]);
                    }
                    plan.transform(&mut buf, inverse, norm, centered);
                    for i in 0..hw {
                        dst[i] = buf[i].re;
                        dst[hw + i] = buf[i].im;
                    }
                }
                out
            }
            SpectralOp::Rfft { norm } => {
                let plan = Fft2::<T>::cached(h, w_in);
                pack(&plan.rfft2(input, norm), h, w_in / 2 + 1)
            }
            SpectralOp::Irfft { norm, width } => {
                let plan = Fft2::<T>::cached(h, width);
                plan.irfft2(&unpack(input, h, w_in), w_in, norm)
            }
            SpectralOp::RfftAdjoint { norm, width } => {
                // Re(Fᴴ ȳ) with ȳ zero-padded from W/2+1 to W columns; Fᴴ is the inverse
                // transform with the dual norm.
                let plan = Fft2::<T>::cached(h, width);
                let half = unpack(input, h, w_in);
                let mut full = vec![zero; half.len() / w_in * width];
                for (src, dst) in half.chunks_exact(w_in).zip(full.chunks_exact_mut(width)) {
                    let k = w_in.min(width);
                    dst[..k].copy_from_slice(&src[..k]);
                }
                plan.transform(&mut full, true, norm.dual(), false);
                full.iter().map(|v| v.re).collect()
            }
            SpectralOp::IrfftAdjoint { norm, wz } => {
                let width = w_in;
                let plan = Fft2::<T>::cached(h, width);
                let spec = plan.rfft2(input, norm.dual());
                let wh = width / 2 + 1;
                let two = T::one() + T::one();
                let mut out = vec![zero; spec.len() / wh * wz];
                for (src, dst) in spec.chunks_exact(wh).zip(out.chunks_exact_mut(wz)) {
                    for k in 0..wz.min(wh) {
                        let single = k == 0 || (width % 2 == 0 && k == width / 2);
                        dst[k] = if single { src[k] } else { src[k] * two };
                    }
                }
                pack(&out, h, wz)
            }
        }
    }
}

/// Complex `[.., H, W]` → packed real `[.., 2, H, W]`.
fn pack<T: FftNum>(z: &[Complex<T>], h: usize, w: usize) -> Vec<T> {
    let hw = h * w;
    let mut out = vec![T::zero(); 2 * z.len()];
    for (src, dst) in z.chunks_exact(hw).zip(out.chunks_exact_mut(2 * hw)) {
        for i in 0..hw {
            dst[i] = src[i].re;
            dst[hw + i] = src[i].im;
        }
    }
    out
}

/// Packed real `[.., 2, H, W]` → complex `[.., H, W]`.
fn unpack<T: FftNum>(x: &[T], h: usize, w: usize) -> Vec<Complex<T>> {
    let hw = h * w;
    let mut out = Vec::with_capacity(x.len() / 2);
    for src in x.chunks_exact(2 * hw) {
        out.extend((0..hw).map(|i| Complex::new(src[i], src[hw + i])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn noise(n: usize, seed: usize) -> Vec<f64> {
        (0..n).map(|i| (((i + 1) * (seed + 3) * 2654435761usize % 1000) as f64) / 500.0 - 1.0).collect()
    }

    /// `<A x, y> = <x, Aᵀ y>` for every op, norm and centring, at even and odd sizes.
    #[test]
    fn every_adjoint_satisfies_the_dot_product_identity() {
        for &(h, w) in &[(6, 8), (5, 7), (4, 5)] {
            for norm in [Norm::Backward, Norm::Ortho, Norm::Forward] {
                let mut ops = vec![
                    (SpectralOp::Rfft { norm }, vec![2, h, w]),
                    (SpectralOp::Irfft { norm, width: w }, vec![2, 2, h, w / 2 + 1]),
                ];
                for inverse in [false, true] {
                    for centered in [false, true] {
                        ops.push((SpectralOp::Complex { inverse, norm, centered }, vec![3, 2, h, w]));
                    }
                }
                for (op, shape) in ops {
                    let x = noise(shape.iter().product(), 1);
                    let ax = op.apply(&x, &shape);
                    let out_shape = op.output_shape(&shape).unwrap();
                    assert_eq!(ax.len(), out_shape.iter().product::<usize>());
                    let y = noise(ax.len(), 2);
                    let adj = op.adjoint(shape[shape.len() - 1]);
                    let aty = adj.apply(&y, &out_shape);
                    assert_eq!(adj.output_shape(&out_shape).unwrap(), shape);
                    let (l, r) = (dot(&ax, &y), dot(&x, &aty));
                    assert!((l - r).abs() < 1e-10 * (1.0 + l.abs()), "{op:?} {h}x{w}: {l} vs {r}");
                }
            }
        }
    }
}
