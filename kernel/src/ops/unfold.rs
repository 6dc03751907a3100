//! The geometry of stride-1 `k×k` taps with zero padding on host buffers: which runs of output
//! positions each tap reads inside the image ([`Unfold::each`], walked by the depthwise loops),
//! and `col2im` ([`Unfold::fold`], the input gradient of a convolution whose padding exceeds
//! `k − 1`). The dense convolutions no longer build `im2col` columns (`conv.rs`: one product per
//! tap over a padded copy).
//!
//! Layout: the input is `[B, C, H, W]`; the columns are `[B, 1, C·k·k, oh·ow]` with rows in
//! `(channel, ky, kx)` order (the order a `[co, c, ky, kx]` weight flattens in), `oh = H + 2p −
//! k + 1`. Padding is implicit: out-of-image taps are dropped.

use std::ops::AddAssign;

/// One stride-1 `k×k` unfolding with zero padding `pad` of `channels × height × width` images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unfold {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub pad: usize,
}

impl Unfold {
    /// The output size of the convolution.
    pub fn out_hw(&self) -> (usize, usize) {
        let (k, p) = (self.kernel, self.pad);
        (self.height + 2 * p + 1 - k, self.width + 2 * p + 1 - k)
    }

    /// Rows of the column matrix (`C·k·k`).
    pub fn rows(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// For tap offset `d` (0..k) along an axis of `n` input pixels and `o` outputs: the output
    /// range whose input `out + d − pad` lies inside the image, and that input's start.
    fn valid(&self, d: usize, n: usize, o: usize) -> (usize, usize, usize) {
        let p = self.pad;
        let lo = p.saturating_sub(d);
        let hi = (n + p).saturating_sub(d).min(o);
        (lo, hi.max(lo), lo + d - p)
    }

    /// Calls `f(row, at, src, len)` for every run of `len` valid taps: column-matrix row `row`
    /// from position `at`, input pixels from flat index `src`.
    pub(crate) fn each(&self, batch: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (c, h, w, k) = (self.channels, self.height, self.width, self.kernel);
        let (oh, ow) = self.out_hw();
        for b in 0..batch {
            for ch in 0..c {
                let plane = (b * c + ch) * h * w;
                for ky in 0..k {
                    let (y0, y1, iy0) = self.valid(ky, h, oh);
                    for kx in 0..k {
                        let row = (b * c + ch) * k * k + ky * k + kx;
                        let (x0, x1, ix0) = self.valid(kx, w, ow);
                        if x1 == x0 {
                            // A tap that only ever reads padding (a kernel wider than the map,
                            // e.g. 7x7 at 2x2): nothing to copy, and its start may lie past the
                            // plane.
                            continue;
                        }
                        for oy in y0..y1 {
                            let src = plane + (iy0 + oy - y0) * w + ix0;
                            f(row, oy * ow + x0, src, x1 - x0);
                        }
                    }
                }
            }
        }
    }

    /// `col2im`, the adjoint of `im2col`: `[B, 1, C·k·k, oh·ow]` → `[B, C, H, W]`, every tap
    /// added back onto the pixel it read (rows in order, so the sums are deterministic).
    pub fn fold<T: Copy + Default + AddAssign>(&self, cols: &[T], batch: usize) -> Vec<T> {
        let mut out = vec![T::default(); batch * self.channels * self.height * self.width];
        self.fold_into(cols, batch, &mut out);
        out
    }

    /// [`Unfold::fold`] added onto `out`.
    pub fn fold_into<T: Copy + AddAssign>(&self, cols: &[T], batch: usize, out: &mut [T]) {
        let (oh, ow) = self.out_hw();
        let n = oh * ow;
        self.each(batch, |row, at, src, len| {
            for (o, v) in out[src..src + len].iter_mut().zip(&cols[row * n + at..row * n + at + len]) {
                *o += *v;
            }
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Direct definition: column (ch, ky, kx) at output (oy, ox) is input (oy+ky−p, ox+kx−p).
    fn naive(u: &Unfold, x: &[f64], batch: usize) -> Vec<f64> {
        let (oh, ow) = u.out_hw();
        let (c, h, w, k, p) = (u.channels, u.height, u.width, u.kernel, u.pad as i64);
        let mut out = Vec::new();
        for b in 0..batch {
            for ch in 0..c {
                for ky in 0..k {
                    for kx in 0..k {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let (iy, ix) = (oy as i64 + ky as i64 - p, ox as i64 + kx as i64 - p);
                                let inside = iy >= 0 && ix >= 0 && iy < h as i64 && ix < w as i64;
                                out.push(if inside {
                                    x[((b * c + ch) * h + iy as usize) * w + ix as usize]
                                } else {
                                    0.0
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Reproducible values in [−0.5, 0.5).
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    #[test]
    fn fold_is_the_adjoint_of_unfolding() {
        // (1, 2, 2, 7, 3): a 7x7 kernel on a 2x2 map (MANet's spatial attention at its bottom level),
        // where most taps read only padding.
        let cases = [
            (2, 5, 7, 3, 1),
            (1, 4, 4, 3, 0),
            (3, 6, 5, 5, 2),
            (1, 3, 3, 3, 2),
            (2, 8, 6, 1, 0),
            (1, 2, 2, 7, 3),
            (2, 3, 2, 7, 3),
        ];
        for (c, h, w, k, p) in cases {
            let u = Unfold { channels: c, height: h, width: w, kernel: k, pad: p };
            let batch = 2;
            let x = noise(batch * c * h * w, 1);
            let cols = naive(&u, &x, batch);
            // <unfold(x), y> = <x, fold(y)> for any y.
            let y = noise(cols.len(), 2);
            let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&u.fold(&y, batch)).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{u:?}: {lhs} vs {rhs}");
        }
    }
}
