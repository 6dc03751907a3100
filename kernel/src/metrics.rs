//! Image-quality metrics on one 2D slice, in `f64`: MSE, NMSE, NRMSE, PSNR, SSIM.
//!
//! These are the building blocks; how slices are combined and which data range is used is the
//! job of a named [`crate::protocols::Protocol`]. Definitions (scikit-image / fastMRI
//! `evaluate.py`):
//!
//! * `MSE = mean((gt − pred)²)`; `NMSE = ‖gt − pred‖² / ‖gt‖²`; `NRMSE = √NMSE` (scikit-image's
//!   `normalized_root_mse` with the default Euclidean normalisation).
//! * `PSNR = 10·log10(L² / MSE)` for a data range `L`.
//! * SSIM (scikit-image defaults): 7×7 **uniform** window, `K1 = 0.01`, `K2 = 0.03`,
//!   `C1 = (K1·L)²`, `C2 = (K2·L)²`, **sample** covariance (variances scaled by 49/48), and the
//!   mean of the SSIM map over the pixels whose whole window lies inside the image (a 3-pixel
//!   border is cropped). Window sums come from summed-area tables, so the cost is O(HW)
//!   whatever the window.
//!
//! ```
//! use mcmr::metrics::{psnr, ssim};
//! let gt: Vec<f64> = (0..64).map(|i| (i % 8) as f64).collect();
//! let pred: Vec<f64> = gt.iter().map(|v| v + 0.5).collect();
//! assert!((psnr(&gt, &pred, 7.0) - 10.0 * (49.0f64 / 0.25).log10()).abs() < 1e-12);
//! assert!(ssim(&gt, &pred, 8, 8, 7.0) < 1.0);
//! ```

/// SSIM constants and window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SsimParams {
    /// Side of the square uniform window (odd).
    pub win: usize,
    /// Luminance constant factor.
    pub k1: f64,
    /// Contrast constant factor.
    pub k2: f64,
    /// Scale (co)variances by `N/(N−1)` (scikit-image's `use_sample_covariance`).
    pub sample_covariance: bool,
}

impl Default for SsimParams {
    fn default() -> Self {
        SsimParams { win: 7, k1: 0.01, k2: 0.03, sample_covariance: true }
    }
}

/// Mean squared error.
pub fn mse(gt: &[f64], pred: &[f64]) -> f64 {
    assert_eq!(gt.len(), pred.len(), "images differ in size");
    gt.iter().zip(pred).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / gt.len() as f64
}

/// `‖gt − pred‖² / ‖gt‖²`.
pub fn nmse(gt: &[f64], pred: &[f64]) -> f64 {
    assert_eq!(gt.len(), pred.len(), "images differ in size");
    let num: f64 = gt.iter().zip(pred).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = gt.iter().map(|a| a * a).sum();
    num / den
}

/// `√NMSE`.
pub fn nrmse(gt: &[f64], pred: &[f64]) -> f64 {
    nmse(gt, pred).sqrt()
}

/// PSNR in dB for the data range `data_range`.
pub fn psnr(gt: &[f64], pred: &[f64], data_range: f64) -> f64 {
    psnr_from_mse(mse(gt, pred), data_range)
}

/// PSNR in dB from an MSE.
pub fn psnr_from_mse(mse: f64, data_range: f64) -> f64 {
    10.0 * (data_range * data_range / mse).log10()
}

/// SSIM of an `h×w` slice with scikit-image's defaults (see the module docs).
pub fn ssim(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64) -> f64 {
    ssim_with(gt, pred, h, w, data_range, &SsimParams::default())
}

/// SSIM with explicit parameters; the mean over the valid (fully covered) window centres.
pub fn ssim_with(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64, p: &SsimParams) -> f64 {
    let map = ssim_map_valid(gt, pred, h, w, data_range, p);
    map.iter().sum::<f64>() / map.len() as f64
}

/// The SSIM map over the valid window centres: `(h − win + 1) × (w − win + 1)` values,
/// row-major (scikit-image's full map cropped by `win/2` on each side).
pub fn ssim_map_valid(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64, p: &SsimParams) -> Vec<f64> {
    assert_eq!(gt.len(), h * w, "ground truth is not {h}x{w}");
    assert_eq!(pred.len(), h * w, "prediction is not {h}x{w}");
    let win = p.win;
    assert!(
        win % 2 == 1 && h >= win && w >= win,
        "SSIM needs an odd window no larger than the image ({h}x{w}, window {win})"
    );
    // Summed-area tables of x, y, x², y², xy with a zero first row and column.
    let sw = w + 1;
    let mut tables = vec![[0.0f64; 5]; (h + 1) * sw];
    for r in 0..h {
        let mut row = [0.0f64; 5];
        for c in 0..w {
            let (x, y) = (gt[r * w + c], pred[r * w + c]);
            let v = [x, y, x * x, y * y, x * y];
            for k in 0..5 {
                row[k] += v[k];
                tables[(r + 1) * sw + c + 1][k] = tables[r * sw + c + 1][k] + row[k];
            }
        }
    }
    let np = (win * win) as f64;
    let cov_norm = if p.sample_covariance { np / (np - 1.0) } else { 1.0 };
    let c1 = (p.k1 * data_range).powi(2);
    let c2 = (p.k2 * data_range).powi(2);
    let (oh, ow) = (h - win + 1, w - win + 1);
    let mut out = Vec::with_capacity(oh * ow);
    for r in 0..oh {
        for c in 0..ow {
            let (a, b, cc, d) = (r * sw + c, r * sw + c + win, (r + win) * sw + c, (r + win) * sw + c + win);
            let mut m = [0.0f64; 5];
            for k in 0..5 {
                m[k] = (tables[d][k] - tables[b][k] - tables[cc][k] + tables[a][k]) / np;
            }
            let (ux, uy) = (m[0], m[1]);
            let vx = cov_norm * (m[2] - ux * ux);
            let vy = cov_norm * (m[3] - uy * uy);
            let vxy = cov_norm * (m[4] - ux * uy);
            let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
            let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
            out.push(num / den);
        }
    }
    out
}

/// SSIM the slow way: the 49-tap window loop per pixel. The reference for tests and for the
/// SSIM benchmark; never used by the kit itself.
pub fn ssim_naive(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64) -> f64 {
    let p = SsimParams::default();
    let win = p.win;
    let np = (win * win) as f64;
    let cov_norm = np / (np - 1.0);
    let (c1, c2) = ((p.k1 * data_range).powi(2), (p.k2 * data_range).powi(2));
    let mut total = 0.0;
    let mut n = 0usize;
    for r in 0..=h - win {
        for c in 0..=w - win {
            let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for i in 0..win {
                for j in 0..win {
                    let (x, y) = (gt[(r + i) * w + c + j], pred[(r + i) * w + c + j]);
                    sx += x;
                    sy += y;
                    sxx += x * x;
                    syy += y * y;
                    sxy += x * y;
                }
            }
            let (ux, uy) = (sx / np, sy / np);
            let vx = cov_norm * (sxx / np - ux * ux);
            let vy = cov_norm * (syy / np - uy * uy);
            let vxy = cov_norm * (sxy / np - ux * uy);
            total += (2.0 * ux * uy + c1) * (2.0 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            n += 1;
        }
    }
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summed_area_ssim_equals_the_windowed_loop() {
        let (h, w) = (23, 17);
        let gt: Vec<f64> = (0..h * w).map(|i| ((i * 31 % 17) as f64).sin() + 2.0).collect();
        let pred: Vec<f64> = gt.iter().enumerate().map(|(i, v)| v + 0.1 * ((i * 7 % 5) as f64).cos()).collect();
        let a = ssim(&gt, &pred, h, w, 3.0);
        let b = ssim_naive(&gt, &pred, h, w, 3.0);
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn identical_images_have_ssim_one_and_infinite_psnr() {
        let gt: Vec<f64> = (0..100).map(|i| i as f64).collect();
        assert!((ssim(&gt, &gt, 10, 10, 99.0) - 1.0).abs() < 1e-12);
        assert!(psnr(&gt, &gt, 99.0).is_infinite());
    }
}
