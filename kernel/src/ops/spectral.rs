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

    /// Whether the input is a packed complex tensor (two planes).
    pub fn input_is_packed(&self) -> bool {
        matches!(self, SpectralOp::Complex { .. } | SpectralOp::Irfft { .. } | SpectralOp::RfftAdjoint { .. })
    }

    /// Whether the output is a packed complex tensor (two planes).
    pub fn output_is_packed(&self) -> bool {
        matches!(self, SpectralOp::Complex { .. } | SpectralOp::Rfft { .. } | SpectralOp::IrfftAdjoint { .. })
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

    /// Applies the transform to planes: one real plane or an `(re, im)` pair, each a row-major
    /// `[.., H, W]` buffer of `shape`; returns one real plane or an `(re, im)` pair and their shape.
    pub fn apply_planes<T: FftNum>(&self, planes: &[&[T]], shape: &[usize]) -> (Vec<Vec<T>>, Vec<usize>) {
        let n = shape.len();
        let (h, w_in) = (shape[n - 2], shape[n - 1]);
        assert_eq!(planes.len(), if self.input_is_packed() { 2 } else { 1 }, "{self:?}: wrong number of planes");
        let zip =
            |re: &[T], im: &[T]| -> Vec<Complex<T>> { re.iter().zip(im).map(|(&a, &b)| Complex::new(a, b)).collect() };
        let with_width = |w: usize| -> Vec<usize> {
            let mut s = shape.to_vec();
            s[n - 1] = w;
            s
        };
        match *self {
            SpectralOp::Complex { inverse, norm, centered } => {
                let mut z = zip(planes[0], planes[1]);
                Fft2::<T>::cached(h, w_in).transform(&mut z, inverse, norm, centered);
                (split(&z), shape.to_vec())
            }
            SpectralOp::Rfft { norm } => {
                let z = Fft2::<T>::cached(h, w_in).rfft2(planes[0], norm);
                (split(&z), with_width(w_in / 2 + 1))
            }
            SpectralOp::Irfft { norm, width } => {
                let z = zip(planes[0], planes[1]);
                (vec![Fft2::<T>::cached(h, width).irfft2(&z, w_in, norm)], with_width(width))
            }
            SpectralOp::RfftAdjoint { norm, width } => {
                // Re(Fᴴ ȳ) with ȳ zero-padded from W/2+1 to W columns; Fᴴ is the inverse
                // transform with the dual norm.
                let rows = planes[0].len() / w_in;
                let k = w_in.min(width);
                let mut full = vec![Complex::new(T::zero(), T::zero()); rows * width];
                for (r, dst) in full.chunks_exact_mut(width).enumerate() {
                    for c in 0..k {
                        dst[c] = Complex::new(planes[0][r * w_in + c], planes[1][r * w_in + c]);
                    }
                }
                Fft2::<T>::cached(h, width).transform(&mut full, true, norm.dual(), false);
                (vec![full.iter().map(|v| v.re).collect()], with_width(width))
            }
            SpectralOp::IrfftAdjoint { norm, wz } => {
                let width = w_in;
                let spec = Fft2::<T>::cached(h, width).rfft2(planes[0], norm.dual());
                let wh = width / 2 + 1;
                let two = T::one() + T::one();
                let rows = spec.len() / wh;
                let mut out = vec![Complex::new(T::zero(), T::zero()); rows * wz];
                for (src, dst) in spec.chunks_exact(wh).zip(out.chunks_exact_mut(wz)) {
                    for k in 0..wz.min(wh) {
                        let single = k == 0 || (width % 2 == 0 && k == width / 2);
                        dst[k] = if single { src[k] } else { src[k] * two };
                    }
                }
                (split(&out), with_width(wz))
            }
        }
    }

    /// Applies the transform to a buffer in the packed layout (`[.., 2, H, W]` for complex).
    pub fn apply<T: FftNum>(&self, input: &[T], shape: &[usize]) -> Vec<T> {
        let n = shape.len();
        let (planes, plane_shape) = if self.input_is_packed() {
            let plane = shape[n - 2] * shape[n - 1];
            let (mut re, mut im) = (Vec::new(), Vec::new());
            for chunk in input.chunks_exact(2 * plane) {
                re.extend_from_slice(&chunk[..plane]);
                im.extend_from_slice(&chunk[plane..]);
            }
            let mut s = shape.to_vec();
            s.remove(n - 3);
            (vec![re, im], s)
        } else {
            (vec![input.to_vec()], shape.to_vec())
        };
        let refs: Vec<&[T]> = planes.iter().map(|v| v.as_slice()).collect();
        let (out, out_shape) = self.apply_planes(&refs, &plane_shape);
        if out.len() == 1 {
            return out.into_iter().next().unwrap();
        }
        let m = out_shape.len();
        let plane = out_shape[m - 2] * out_shape[m - 1];
        let mut packed = Vec::with_capacity(2 * out[0].len());
        for (a, b) in out[0].chunks_exact(plane).zip(out[1].chunks_exact(plane)) {
            packed.extend_from_slice(a);
            packed.extend_from_slice(b);
        }
        packed
    }
}

/// Complex values → `[re, im]` planes.
fn split<T: FftNum>(z: &[Complex<T>]) -> Vec<Vec<T>> {
    vec![z.iter().map(|v| v.re).collect(), z.iter().map(|v| v.im).collect()]
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
