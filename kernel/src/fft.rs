//! Two-dimensional FFTs over the last two axes of a batch, on the host, with rustfft.
//!
//! **Convention (fastMRI `fftc.py`).** The centred transform is
//! `fft2c(x) = fftshift(fft2(ifftshift(x)))` over the last two axes, where `fftshift` rolls each
//! axis by `n/2` (floor) and `ifftshift` by `(n+1)/2`; the two differ for odd `n`. The image centre
//! `(H/2, W/2)` maps to the k-space centre `(H/2, W/2)`: the DC coefficient sits there.
//! [`Norm`] chooses the scale exactly as NumPy and PyTorch do: `Backward` (forward unscaled,
//! inverse `1/(HW)`), `Ortho` (`1/√(HW)` both ways, the MRI default: energy is preserved) and
//! `Forward` (forward `1/(HW)`, inverse unscaled). [`Fft2::rfft2`]/[`Fft2::irfft2`] follow
//! PyTorch: uncentred, half spectrum of `W/2 + 1` columns, and the inverse takes the inverse
//! complex transform over H and then a complex-to-real transform over W that **ignores the
//! imaginary parts of the DC and Nyquist columns** (so the result is real even when the given
//! spectrum is not Hermitian).
//!
//! Planning is separated from execution: [`Fft2::new`] plans once per shape (the plans are
//! reused for every batch) and [`Fft2::cached`] shares plans process-wide.
//!
//! ```
//! use mcmr::fft::{Fft2, Norm};
//! use num_complex::Complex;
//! let plan = Fft2::<f64>::new(3, 4);
//! let mut x: Vec<Complex<f64>> =
//!     (0..12).map(|i| Complex::new((i / 4 + 1) as f64, 0.5 * ((i % 4) as f64 - 1.0))).collect();
//! plan.fft2(&mut x, Norm::Ortho, true);
//! // The DC coefficient of the centred transform sits at (H/2, W/2) = (1, 2).
//! assert!((x[1 * 4 + 2].re - 24.0 / 12f64.sqrt()).abs() < 1e-12);
//! ```

use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{Fft, FftNum, FftPlanner};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Normalisation mode, named as in NumPy/PyTorch (`norm=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// Forward unscaled, inverse scaled by `1/n`.
    Backward,
    /// Both directions scaled by `1/√n`.
    Ortho,
    /// Forward scaled by `1/n`, inverse unscaled.
    Forward,
}

impl Norm {
    /// The norm whose inverse-direction scale equals this norm's forward scale: the adjoint of a
    /// transform with norm `n` is the opposite-direction transform with norm `n.dual()`.
    pub fn dual(self) -> Norm {
        match self {
            Norm::Backward => Norm::Forward,
            Norm::Ortho => Norm::Ortho,
            Norm::Forward => Norm::Backward,
        }
    }

    /// Scale applied to a transform of `n` points in the given direction.
    pub fn scale(self, n: usize, inverse: bool) -> f64 {
        let n = n as f64;
        match (self, inverse) {
            (Norm::Ortho, _) => 1.0 / n.sqrt(),
            (Norm::Backward, false) | (Norm::Forward, true) => 1.0,
            (Norm::Backward, true) | (Norm::Forward, false) => 1.0 / n,
        }
    }

    /// Parses `backward`, `ortho` or `forward`.
    pub fn parse(s: &str) -> Option<Norm> {
        match s {
            "backward" => Some(Norm::Backward),
            "ortho" => Some(Norm::Ortho),
            "forward" => Some(Norm::Forward),
            _ => None,
        }
    }
}

/// Plans for 2D transforms of one shape `H×W` (forward and inverse, both axes).
pub struct Fft2<T: FftNum> {
    h: usize,
    w: usize,
    row_fwd: Arc<dyn Fft<T>>,
    row_inv: Arc<dyn Fft<T>>,
    col_fwd: Arc<dyn Fft<T>>,
    col_inv: Arc<dyn Fft<T>>,
}

type PlanCache = Mutex<HashMap<(TypeId, usize, usize), Arc<dyn std::any::Any + Send + Sync>>>;

fn plan_cache() -> &'static PlanCache {
    static CACHE: OnceLock<PlanCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl<T: FftNum> Fft2<T> {
    /// Plans transforms for `h×w` images. Panics only if `h` or `w` is zero.
    pub fn new(h: usize, w: usize) -> Self {
        assert!(h > 0 && w > 0, "FFT shape must be non-empty, got {h}x{w}");
        let mut planner = FftPlanner::<T>::new();
        Fft2 {
            h,
            w,
            row_fwd: planner.plan_fft_forward(w),
            row_inv: planner.plan_fft_inverse(w),
            col_fwd: planner.plan_fft_forward(h),
            col_inv: planner.plan_fft_inverse(h),
        }
    }

    /// A process-wide shared plan for `h×w` (planned on first use).
    pub fn cached(h: usize, w: usize) -> Arc<Fft2<T>> {
        let key = (TypeId::of::<T>(), h, w);
        let mut cache = plan_cache().lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache.entry(key).or_insert_with(|| Arc::new(Fft2::<T>::new(h, w)));
        entry.clone().downcast::<Fft2<T>>().expect("plan cache holds the type of its key")
    }

    /// Image height (rows).
    pub fn height(&self) -> usize {
        self.h
    }

    /// Image width (columns).
    pub fn width(&self) -> usize {
        self.w
    }

    fn check_len(&self, len: usize, what: &str) {
        assert!(
            len % (self.h * self.w) == 0,
            "{what}: buffer of {len} values is not a batch of {}x{} images",
            self.h,
            self.w
        );
    }

    /// In-place forward 2D FFT of every `H×W` image in `data` (row-major, batch first).
    /// `centered` applies `ifftshift` before and `fftshift` after (fastMRI `fft2c`).
    pub fn fft2(&self, data: &mut [Complex<T>], norm: Norm, centered: bool) {
        self.transform(data, false, norm, centered);
    }

    /// In-place inverse 2D FFT; `centered` gives fastMRI's `ifft2c`.
    pub fn ifft2(&self, data: &mut [Complex<T>], norm: Norm, centered: bool) {
        self.transform(data, true, norm, centered);
    }

    /// Forward (`inverse = false`) or inverse 2D transform in place. Large batches are split
    /// across the available cores, one contiguous run of images per thread.
    pub fn transform(&self, data: &mut [Complex<T>], inverse: bool, norm: Norm, centered: bool) {
        self.check_len(data.len(), "fft2");
        let hw = self.h * self.w;
        let images = data.len() / hw;
        let threads = rayon::current_num_threads().min(images);
        if threads < 2 || data.len() < 1 << 16 {
            self.transform_serial(data, inverse, norm, centered);
            return;
        }
        let per_thread = images.div_ceil(threads) * hw;
        data.par_chunks_mut(per_thread).for_each(|chunk| self.transform_serial(chunk, inverse, norm, centered));
    }

    fn transform_serial(&self, data: &mut [Complex<T>], inverse: bool, norm: Norm, centered: bool) {
        let (h, w) = (self.h, self.w);
        let mut tmp = vec![Complex::new(T::zero(), T::zero()); h * w];
        let scale = T::from_f64(norm.scale(h * w, inverse)).expect("scale fits the float type");
        let (row, col) = if inverse { (&self.row_inv, &self.col_inv) } else { (&self.row_fwd, &self.col_fwd) };
        let mut scratch =
            vec![Complex::new(T::zero(), T::zero()); row.get_inplace_scratch_len().max(col.get_inplace_scratch_len())];
        for img in data.chunks_exact_mut(h * w) {
            if centered {
                roll2(img, &mut tmp, h, w, (h + 1) / 2, (w + 1) / 2);
            }
            row.process_with_scratch(img, &mut scratch);
            transpose(img, &mut tmp, h, w);
            col.process_with_scratch(&mut tmp, &mut scratch);
            transpose(&tmp, img, w, h);
            if scale != T::one() {
                for v in img.iter_mut() {
                    *v = *v * scale;
                }
            }
            if centered {
                roll2(img, &mut tmp, h, w, h / 2, w / 2);
            }
        }
    }

    /// Number of columns of the half spectrum: `W/2 + 1`.
    pub fn half_width(&self) -> usize {
        self.w / 2 + 1
    }

    /// Real-to-complex 2D FFT (PyTorch `rfft2`): `x` holds a batch of real `H×W` images; the
    /// result holds the first `W/2 + 1` columns of the full complex spectrum of each.
    pub fn rfft2(&self, x: &[T], norm: Norm) -> Vec<Complex<T>> {
        self.check_len(x.len(), "rfft2");
        let (h, w, wh) = (self.h, self.w, self.half_width());
        let mut full: Vec<Complex<T>> = x.iter().map(|&v| Complex::new(v, T::zero())).collect();
        self.transform(&mut full, false, norm, false);
        let n = x.len() / (h * w);
        let mut out = Vec::with_capacity(n * h * wh);
        for row in full.chunks_exact(w) {
            out.extend_from_slice(&row[..wh]);
        }
        // The self-conjugate bins of a real signal's spectrum ((0, 0), (0, W/2), (H/2, 0),
        // (H/2, W/2) for even sizes) are real: their imaginary part is exactly +0.0 here rather
        // than rounding noise of either sign, so that the phase there is 0 or +π as PyTorch gives
        // at sizes whose FFT is exact there (research notes fsmnet.md §9). FSMNet's phase path
        // would otherwise flip between −π and +π with the FFT's rounding.
        let rows: Vec<usize> = if h % 2 == 0 { vec![0, h / 2] } else { vec![0] };
        let cols: Vec<usize> = if w % 2 == 0 { vec![0, w / 2] } else { vec![0] };
        for img in out.chunks_exact_mut(h * wh) {
            for &r in &rows {
                for &c in &cols {
                    img[r * wh + c].im = T::zero();
                }
            }
        }
        out
    }

    /// Complex-to-real 2D inverse FFT (PyTorch `irfft2` with `s = (H, W)`): `z` holds a batch of
    /// `H×wz` half spectra. Columns beyond `W/2` are ignored and missing ones read as zero; the
    /// imaginary parts of the DC and (even `W`) Nyquist columns are ignored after the inverse
    /// transform over H, exactly as a C2R transform does.
    pub fn irfft2(&self, z: &[Complex<T>], wz: usize, norm: Norm) -> Vec<T> {
        let (h, w) = (self.h, self.w);
        assert!(wz > 0 && z.len() % (h * wz) == 0, "irfft2: buffer is not a batch of {h}x{wz} half spectra");
        let n = z.len() / (h * wz);
        let used = wz.min(w / 2 + 1);
        let zero = Complex::new(T::zero(), T::zero());
        let mut out = Vec::with_capacity(n * h * w);
        let mut col = vec![zero; h];
        let mut full = vec![zero; h * w];
        let mut scratch =
            vec![zero; self.col_inv.get_inplace_scratch_len().max(self.row_inv.get_inplace_scratch_len())];
        let scale = T::from_f64(norm.scale(h * w, true)).expect("scale fits the float type");
        for spec in z.chunks_exact(h * wz) {
            for v in full.iter_mut() {
                *v = zero;
            }
            // Inverse complex transform over H, column by column (only the stored columns).
            for k in 0..used {
                for r in 0..h {
                    col[r] = spec[r * wz + k];
                }
                self.col_inv.process_with_scratch(&mut col, &mut scratch);
                for r in 0..h {
                    full[r * w + k] = col[r];
                }
            }
            // C2R over W: drop the imaginary part of DC/Nyquist, extend Hermitian-symmetrically.
            for r in 0..h {
                let row = &mut full[r * w..(r + 1) * w];
                row[0].im = T::zero();
                if w % 2 == 0 && used > w / 2 {
                    row[w / 2].im = T::zero();
                }
                for k in 1..w.div_ceil(2) {
                    row[w - k] = if k < used { row[k].conj() } else { zero };
                }
            }
            self.row_inv.process_with_scratch(&mut full, &mut scratch);
            out.extend(full.iter().map(|v| v.re * scale));
        }
        out
    }
}

/// `dst = roll(src, (sh, sw))` over the last two axes, then copied back into `src`.
fn roll2<T: Copy>(img: &mut [T], tmp: &mut [T], h: usize, w: usize, sh: usize, sw: usize) {
    if sh % h.max(1) == 0 && sw % w.max(1) == 0 {
        return;
    }
    let (sh, sw) = (sh % h, sw % w);
    // Row r lands on row r + sh; within it, column c on c + sw: two contiguous copies per row
    // (a division per element cost 5% of IMA's smoke step).
    for (r, src) in img.chunks_exact(w).enumerate() {
        let dst = &mut tmp[((r + sh) % h) * w..((r + sh) % h + 1) * w];
        dst[sw..].copy_from_slice(&src[..w - sw]);
        dst[..sw].copy_from_slice(&src[w - sw..]);
    }
    img.copy_from_slice(&tmp[..h * w]);
}

/// `dst[c][r] = src[r][c]` for an `h×w` source.
fn transpose<T: Copy>(src: &[T], dst: &mut [T], h: usize, w: usize) {
    const B: usize = 32;
    for r0 in (0..h).step_by(B) {
        for c0 in (0..w).step_by(B) {
            for r in r0..(r0 + B).min(h) {
                for c in c0..(c0 + B).min(w) {
                    dst[c * h + r] = src[r * w + c];
                }
            }
        }
    }
}

/// `fftshift` (roll by `n/2`) over the last two axes of a batch of real or complex images.
pub fn fftshift2<T: Copy + Default>(data: &mut [T], h: usize, w: usize) {
    let mut tmp = vec![T::default(); h * w];
    for img in data.chunks_exact_mut(h * w) {
        roll2(img, &mut tmp, h, w, h / 2, w / 2);
    }
}

/// `ifftshift` (roll by `(n+1)/2`) over the last two axes of a batch of images.
pub fn ifftshift2<T: Copy + Default>(data: &mut [T], h: usize, w: usize) {
    let mut tmp = vec![T::default(); h * w];
    for img in data.chunks_exact_mut(h * w) {
        roll2(img, &mut tmp, h, w, (h + 1) / 2, (w + 1) / 2);
    }
}

/// Centred orthonormal forward FFT of a batch of complex images (fastMRI `fft2c`), `f32`.
pub fn fft2c(data: &mut [Complex<f32>], h: usize, w: usize) {
    Fft2::<f32>::cached(h, w).fft2(data, Norm::Ortho, true);
}

/// Centred orthonormal inverse FFT of a batch of complex images (fastMRI `ifft2c`), `f32`.
pub fn ifft2c(data: &mut [Complex<f32>], h: usize, w: usize) {
    Fft2::<f32>::cached(h, w).ifft2(data, Norm::Ortho, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dft(x: &[Complex<f64>], h: usize, w: usize, inverse: bool) -> Vec<Complex<f64>> {
        let sign = if inverse { 1.0 } else { -1.0 };
        let mut out = vec![Complex::new(0.0, 0.0); h * w];
        for p in 0..h {
            for q in 0..w {
                let mut acc = Complex::new(0.0, 0.0);
                for a in 0..h {
                    for b in 0..w {
                        let ang =
                            sign * 2.0 * std::f64::consts::PI * ((p * a) as f64 / h as f64 + (q * b) as f64 / w as f64);
                        acc += x[a * w + b] * Complex::new(ang.cos(), ang.sin());
                    }
                }
                out[p * w + q] = acc;
            }
        }
        out
    }

    fn sample(h: usize, w: usize) -> Vec<Complex<f64>> {
        (0..h * w).map(|i| Complex::new(((i * 37 % 11) as f64).sin(), ((i * 13 % 7) as f64).cos())).collect()
    }

    #[test]
    fn uncentred_transforms_match_a_naive_dft_in_every_norm() {
        for &(h, w) in &[(5, 7), (4, 6), (1, 9)] {
            let x = sample(h, w);
            let plan = Fft2::<f64>::new(h, w);
            for norm in [Norm::Backward, Norm::Ortho, Norm::Forward] {
                for inverse in [false, true] {
                    let mut got = x.clone();
                    plan.transform(&mut got, inverse, norm, false);
                    let s = norm.scale(h * w, inverse);
                    let want = naive_dft(&x, h, w, inverse);
                    for (g, v) in got.iter().zip(&want) {
                        assert!((g - v * s).norm() < 1e-12, "{h}x{w} {norm:?} inverse={inverse}");
                    }
                }
            }
        }
    }

    #[test]
    fn irfft2_inverts_rfft2_for_even_and_odd_widths() {
        for &(h, w) in &[(6, 8), (5, 7), (3, 1)] {
            let x: Vec<f64> = (0..2 * h * w).map(|i| ((i * 7 % 13) as f64).sin()).collect();
            let plan = Fft2::<f64>::new(h, w);
            for norm in [Norm::Backward, Norm::Ortho, Norm::Forward] {
                let z = plan.rfft2(&x, norm);
                assert_eq!(z.len(), 2 * h * (w / 2 + 1));
                let back = plan.irfft2(&z, w / 2 + 1, norm);
                for (a, b) in back.iter().zip(&x) {
                    assert!((a - b).abs() < 1e-12, "{h}x{w} {norm:?}");
                }
            }
        }
    }

    #[test]
    fn irfft2_ignores_the_imaginary_parts_of_dc_and_nyquist_columns() {
        let (h, w) = (4, 6);
        let plan = Fft2::<f64>::new(h, w);
        let x: Vec<f64> = (0..h * w).map(|i| (i as f64 * 0.3).cos()).collect();
        let mut z = plan.rfft2(&x, Norm::Backward);
        let wh = w / 2 + 1;
        // Make the spectrum non-Hermitian: imaginary parts in the DC and Nyquist columns that
        // survive the inverse transform over H only as imaginary parts, which C2R drops.
        for r in 0..h {
            z[r * wh].im += 0.7;
            z[r * wh + w / 2].im -= 0.4;
        }
        // Adding i·c to every row of a column changes the inverse over H only at row 0, by i·c·H:
        // a purely imaginary DC/Nyquist bin, which C2R drops. So the image comes back unchanged.
        let back = plan.irfft2(&z, wh, Norm::Backward);
        for (p, q) in back.iter().zip(&x) {
            assert!((p - q).abs() < 1e-12);
        }
    }

    #[test]
    fn shifts_move_every_element_by_half_the_size() {
        // Odd and even sizes, and a single row or column (one axis does not move).
        for (h, w) in [(4, 6), (5, 7), (1, 5), (6, 1), (3, 4)] {
            let img: Vec<usize> = (0..2 * h * w).collect();
            let mut shifted = img.clone();
            fftshift2(&mut shifted, h, w);
            let mut back = shifted.clone();
            ifftshift2(&mut back, h, w);
            assert_eq!(back, img, "{h}x{w}");
            for b in 0..2 {
                for r in 0..h {
                    for c in 0..w {
                        let to = ((r + h / 2) % h) * w + (c + w / 2) % w;
                        assert_eq!(shifted[b * h * w + to], img[b * h * w + r * w + c], "{h}x{w} ({r}, {c})");
                    }
                }
            }
        }
    }
}
