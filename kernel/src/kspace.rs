//! k-space simulation, mask application, zero-filled reconstruction, noise and data consistency.
//!
//! k-space is the centred orthonormal FFT of the image (fastMRI `fft2c`, see [`crate::fft`]),
//! so the DC coefficient sits at `(H/2, W/2)` and image and k-space have the same energy. A mask
//! multiplies k-space (`+0.0` is added so that no negative zeros remain, as fastMRI's
//! `apply_mask` does); the zero-filled reconstruction is `|ifft2c(mask·k)|`.
//!
//! ```
//! use mcmr::kspace::{simulate_kspace, apply_mask, zero_filled_magnitude};
//! let img: Vec<f32> = (0..64).map(|i| (i % 8) as f32).collect();
//! let k = simulate_kspace(&img, None, 8, 8);
//! let full = vec![1u8; 64];
//! let zf = zero_filled_magnitude(&apply_mask(&k, &full, 8, 8), 8, 8);
//! assert!(zf.iter().zip(&img).all(|(a, b)| (a - b).abs() < 1e-4));
//! ```

use crate::fft::{fft2c, ifft2c};
use crate::rng::{NumpyRng, Seed};
use num_complex::Complex32;

/// k-space of a batch of `H×W` images: magnitude only (`phase = None`) or complex
/// (`magnitude·e^{i·phase}`).
pub fn simulate_kspace(magnitude: &[f32], phase: Option<&[f32]>, h: usize, w: usize) -> Vec<Complex32> {
    let mut k: Vec<Complex32> = match phase {
        None => magnitude.iter().map(|&m| Complex32::new(m, 0.0)).collect(),
        Some(ph) => magnitude.iter().zip(ph).map(|(&m, &p)| Complex32::from_polar(m, p)).collect(),
    };
    fft2c(&mut k, h, w);
    k
}

/// `mask·k` for every image of the batch (the mask is one `H×W` pattern).
pub fn apply_mask(k: &[Complex32], mask: &[u8], h: usize, w: usize) -> Vec<Complex32> {
    assert_eq!(mask.len(), h * w, "mask is not {h}x{w}");
    k.chunks_exact(h * w)
        .flat_map(|img| {
            img.iter()
                .zip(mask)
                .map(|(v, &m)| if m != 0 { v + Complex32::new(0.0, 0.0) } else { Complex32::new(0.0, 0.0) })
        })
        .collect()
}

/// The complex image `ifft2c(k)` of a batch.
pub fn to_image(k: &[Complex32], h: usize, w: usize) -> Vec<Complex32> {
    let mut img = k.to_vec();
    ifft2c(&mut img, h, w);
    img
}

/// `|ifft2c(k)|`: the zero-filled magnitude reconstruction of (masked) k-space.
pub fn zero_filled_magnitude(k: &[Complex32], h: usize, w: usize) -> Vec<f32> {
    to_image(k, h, w).iter().map(|v| v.norm()).collect()
}

/// How a run's k-space fields are laid out and scaled. The kit computes k-space as fastMRI's
/// `fft2c` (the image `ifftshift`-ed, orthonormal `fft2`, `fftshift`: DC at `(H/2, W/2)`, the
/// same energy as the image); MANet stores numpy's `fftshift(fft2(img))`: unnormalised and
/// without the first shift, which changes every coefficient's sign in a checkerboard (for even
/// sizes) and its scale by `√(H·W)`. A network that convolves k-space sees the difference.
/// DuDoRNet's helper is centred like `fft2c` but unnormalised (the legacy `torch.fft` with
/// `normalized=False`): `√(H·W) · fft2c`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KSpaceConvention {
    #[default]
    Fft2c,
    FftshiftFft2,
    Fft2cUnnormalised,
}

impl KSpaceConvention {
    pub const NAMES: &'static [&'static str] = &["fft2c", "fftshift_fft2", "fft2c_unnormalised"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fft2c" => Some(KSpaceConvention::Fft2c),
            "fftshift_fft2" => Some(KSpaceConvention::FftshiftFft2),
            "fft2c_unnormalised" => Some(KSpaceConvention::Fft2cUnnormalised),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// k-space of a batch of `h×w` planes in the kit's `fft2c` convention, converted to this one:
    /// with `s = ⌊N/2⌋`, `fftshift(fft2(x))[p] = √N · e^{−2πi·k·s/N} · fft2c(x)[p]` along each
    /// axis, `k = (p − s) mod N` the frequency at centred position `p`.
    pub fn from_fft2c(self, k: &[Complex32], h: usize, w: usize) -> Vec<Complex32> {
        match self {
            KSpaceConvention::Fft2c => k.to_vec(),
            KSpaceConvention::Fft2cUnnormalised => {
                let scale = ((h * w) as f64).sqrt();
                k.iter().map(|v| Complex32::new((v.re as f64 * scale) as f32, (v.im as f64 * scale) as f32)).collect()
            }
            KSpaceConvention::FftshiftFft2 => {
                let axis = |n: usize| -> Vec<num_complex::Complex64> {
                    let s = n / 2;
                    (0..n)
                        .map(|p| {
                            let k = (p + n - s) % n;
                            let angle = -2.0 * std::f64::consts::PI * ((k * s) % n) as f64 / n as f64;
                            num_complex::Complex64::from_polar((n as f64).sqrt(), angle)
                        })
                        .collect()
                };
                let (rows, cols) = (axis(h), axis(w));
                k.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let f = rows[(i / w) % h] * cols[i % w];
                        let z = num_complex::Complex64::new(v.re as f64, v.im as f64) * f;
                        Complex32::new(z.re as f32, z.im as f32)
                    })
                    .collect()
            }
        }
    }
}

/// Adds complex white Gaussian noise of standard deviation `sigma` per component to k-space in
/// the kit's orthonormal convention, in place: the image then carries the same complex noise,
/// and its magnitude Rician noise (MANet: `sigma` = 10% of the mean intensity, added before
/// under-sampling).
pub fn add_kspace_noise(k: &mut [Complex32], sigma: f64, seed: &Seed) {
    let mut rng = NumpyRng::new(seed);
    for v in k.iter_mut() {
        v.re += (sigma * rng.standard_normal()) as f32;
        v.im += (sigma * rng.standard_normal()) as f32;
    }
}

/// Adds complex white Gaussian noise at `snr_db` to k-space in place. The noise power per
/// complex sample is `mean(|k|²)·10^(−SNR/10)`, split equally between real and imaginary parts;
/// because the FFT is orthonormal the image-domain SNR is the same. Returns the noise standard
/// deviation per component.
pub fn add_complex_noise_snr(k: &mut [Complex32], snr_db: f64, seed: &Seed) -> f64 {
    let power = k.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / k.len() as f64;
    let sigma = (power * 10f64.powf(-snr_db / 10.0) / 2.0).sqrt();
    let mut rng = NumpyRng::new(seed);
    for v in k.iter_mut() {
        v.re += (sigma * rng.standard_normal()) as f32;
        v.im += (sigma * rng.standard_normal()) as f32;
    }
    sigma
}

/// Rician-type noise on a magnitude image: `|x + n₁ + i·n₂|` with `n₁, n₂ ~ N(0, σ²)` and
/// `σ = fraction · mean(x)` (MANet adds noise at 10% of the mean intensity). Returns σ.
pub fn add_rician_noise(image: &mut [f32], fraction: f64, seed: &Seed) -> f64 {
    let mean = image.iter().map(|&v| v as f64).sum::<f64>() / image.len() as f64;
    let sigma = fraction * mean;
    let mut rng = NumpyRng::new(seed);
    for v in image.iter_mut() {
        let re = *v as f64 + sigma * rng.standard_normal();
        let im = sigma * rng.standard_normal();
        *v = (re * re + im * im).sqrt() as f32;
    }
    sigma
}

/// Hard data consistency: keep the measured samples where the mask is set, the prediction
/// elsewhere: `k = (1 − M)·k_pred + M·k_meas`.
pub fn hard_data_consistency(
    k_pred: &[Complex32],
    k_meas: &[Complex32],
    mask: &[u8],
    h: usize,
    w: usize,
) -> Vec<Complex32> {
    weighted_data_consistency(k_pred, k_meas, mask, h, w, None)
}

/// Weighted (noisy) data consistency with weight `λ` (Schlemper et al. 2017): where the mask is
/// set, `k = (k_pred + λ·k_meas)/(1 + λ)`; elsewhere `k_pred`. `λ = None` is the noiseless
/// limit `λ → ∞`, i.e. hard data consistency.
pub fn weighted_data_consistency(
    k_pred: &[Complex32],
    k_meas: &[Complex32],
    mask: &[u8],
    h: usize,
    w: usize,
    lambda: Option<f32>,
) -> Vec<Complex32> {
    assert_eq!(k_pred.len(), k_meas.len(), "prediction and measurement differ in size");
    assert_eq!(mask.len(), h * w, "mask is not {h}x{w}");
    k_pred
        .iter()
        .zip(k_meas)
        .enumerate()
        .map(|(i, (&p, &m))| {
            if mask[i % (h * w)] == 0 {
                p
            } else {
                match lambda {
                    None => m,
                    Some(l) => (p + m * l) / (1.0 + l),
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpys_fftshift_fft2_is_the_converted_fft2c_at_even_and_odd_sizes() {
        for (h, w) in [(4, 6), (5, 7), (8, 3)] {
            let img: Vec<f32> = (0..h * w).map(|i| ((i * 37 % 11) as f32 - 4.0) * 0.3).collect();
            let ours = KSpaceConvention::FftshiftFft2.from_fft2c(&simulate_kspace(&img, None, h, w), h, w);
            // numpy: fftshift(fft2(img)) with the plain DFT sum.
            let mut want = vec![num_complex::Complex64::new(0.0, 0.0); h * w];
            for ky in 0..h {
                for kx in 0..w {
                    for (i, &v) in img.iter().enumerate() {
                        let (y, x) = ((i / w) as f64, (i % w) as f64);
                        let a = -2.0 * std::f64::consts::PI * (ky as f64 * y / h as f64 + kx as f64 * x / w as f64);
                        want[ky * w + kx] += num_complex::Complex64::from_polar(v as f64, a);
                    }
                }
            }
            for p in 0..h {
                for q in 0..w {
                    let (ky, kx) = ((p + h - h / 2) % h, (q + w - w / 2) % w);
                    let (a, b) = (ours[p * w + q], want[ky * w + kx]);
                    assert!(
                        (a.re as f64 - b.re).abs() < 1e-4 && (a.im as f64 - b.im).abs() < 1e-4,
                        "{h}x{w} at {p},{q}"
                    );
                }
            }
        }
    }

    #[test]
    fn dudornets_unnormalised_centred_fft_is_the_scaled_fft2c_at_even_and_odd_sizes() {
        for (h, w) in [(4, 6), (5, 7)] {
            let img: Vec<f32> = (0..h * w).map(|i| ((i * 29 % 13) as f32 - 5.0) * 0.2).collect();
            let ours = KSpaceConvention::Fft2cUnnormalised.from_fft2c(&simulate_kspace(&img, None, h, w), h, w);
            // fftshift(fft2(ifftshift(img))), unnormalised, with the plain DFT sum: the shifted
            // image's sample y' is img[(y' + h/2) mod h].
            for p in 0..h {
                for q in 0..w {
                    let (ky, kx) = ((p + h - h / 2) % h, (q + w - w / 2) % w);
                    let mut want = num_complex::Complex64::new(0.0, 0.0);
                    for ys in 0..h {
                        for xs in 0..w {
                            let v = img[((ys + h / 2) % h) * w + (xs + w / 2) % w] as f64;
                            let a = -2.0
                                * std::f64::consts::PI
                                * ((ky * ys) as f64 / h as f64 + (kx * xs) as f64 / w as f64);
                            want += num_complex::Complex64::from_polar(v, a);
                        }
                    }
                    let a = ours[p * w + q];
                    assert!(
                        (a.re as f64 - want.re).abs() < 1e-4 && (a.im as f64 - want.im).abs() < 1e-4,
                        "{h}x{w} at {p},{q}"
                    );
                }
            }
        }
    }

    #[test]
    fn hard_consistency_restores_measured_samples_only() {
        let (h, w) = (4, 4);
        let pred = vec![Complex32::new(1.0, 1.0); 16];
        let meas: Vec<Complex32> = (0..16).map(|i| Complex32::new(i as f32, 0.0)).collect();
        let mask: Vec<u8> = (0..16).map(|i| (i % 3 == 0) as u8).collect();
        let out = hard_data_consistency(&pred, &meas, &mask, h, w);
        for i in 0..16 {
            assert_eq!(out[i], if i % 3 == 0 { meas[i] } else { pred[i] });
        }
        let soft = weighted_data_consistency(&pred, &meas, &mask, h, w, Some(1.0));
        assert_eq!(soft[3], (pred[3] + meas[3]) / 2.0);
    }

    #[test]
    fn snr_noise_has_the_requested_power() {
        let mut k: Vec<Complex32> = (0..4096).map(|i| Complex32::new((i as f32 * 0.01).sin() * 3.0, 0.0)).collect();
        let clean = k.clone();
        let sigma = add_complex_noise_snr(&mut k, 20.0, &Seed::Int(3));
        let noise_power: f64 = k.iter().zip(&clean).map(|(a, b)| (a - b).norm_sqr() as f64).sum::<f64>() / 4096.0;
        let signal_power: f64 = clean.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / 4096.0;
        let snr = 10.0 * (signal_power / noise_power).log10();
        assert!((snr - 20.0).abs() < 0.3, "measured SNR {snr}");
        assert!((2.0 * sigma * sigma - noise_power).abs() / noise_power < 0.1);
    }
}
