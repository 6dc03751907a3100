//! The modified Shepp–Logan head phantom (Toft, "The Radon Transform", 1996: the original
//! Shepp–Logan ellipses with contrast raised so that the inner structures are visible).
//!
//! Ten ellipses `(intensity, semi-axis a, semi-axis b, centre x, centre y, angle°)` on
//! `[−1, 1]²`, `y` pointing up; intensities add where ellipses overlap. Values lie in [0, 1].
//!
//! ```
//! let img = mcmr::data::shepp_logan::modified_shepp_logan(64);
//! assert_eq!(img.len(), 64 * 64);
//! assert!(img.iter().all(|&v| (0.0..=1.0).contains(&v)));
//! ```

const ELLIPSES: [[f64; 6]; 10] = [
    [1.0, 0.69, 0.92, 0.0, 0.0, 0.0],
    [-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0],
    [-0.2, 0.11, 0.31, 0.22, 0.0, -18.0],
    [-0.2, 0.16, 0.41, -0.22, 0.0, 18.0],
    [0.1, 0.21, 0.25, 0.0, 0.35, 0.0],
    [0.1, 0.046, 0.046, 0.0, 0.1, 0.0],
    [0.1, 0.046, 0.046, 0.0, -0.1, 0.0],
    [0.1, 0.046, 0.023, -0.08, -0.605, 0.0],
    [0.1, 0.023, 0.023, 0.0, -0.606, 0.0],
    [0.1, 0.023, 0.046, 0.06, -0.605, 0.0],
];

/// An `n×n` modified Shepp–Logan phantom, row-major, row 0 at the top.
pub fn modified_shepp_logan(n: usize) -> Vec<f32> {
    let mut img = vec![0.0f64; n * n];
    for r in 0..n {
        let y = 1.0 - (2.0 * r as f64 + 1.0) / n as f64;
        for c in 0..n {
            let x = (2.0 * c as f64 + 1.0) / n as f64 - 1.0;
            for &[value, a, b, x0, y0, deg] in &ELLIPSES {
                let (s, co) = deg.to_radians().sin_cos();
                let (dx, dy) = (x - x0, y - y0);
                let (u, v) = (dx * co + dy * s, -dx * s + dy * co);
                if (u / a).powi(2) + (v / b).powi(2) <= 1.0 {
                    img[r * n + c] += value;
                }
            }
        }
    }
    img.into_iter().map(|v| v.clamp(0.0, 1.0) as f32).collect()
}
