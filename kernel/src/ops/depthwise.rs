//! Stride-1 depthwise `k×k` convolutions with zero padding on host buffers (`groups` = input =
//! output channels, FSMNet's and IMA's attention convolutions): the forward pass and both
//! gradients as runs of multiply-adds along image rows, walking the same valid taps as
//! [`Unfold`]. burn-flex's grouped convolution loops over groups; these are plain vector loops.
//!
//! Layout: input `[B, C, H, W]`, weight `[C, 1, k, k]`, output `[B, C, oh, ow]`. Every sum runs
//! in one fixed order, so results are identical run to run.

use super::unfold::Unfold;
use std::ops::{AddAssign, Mul};

/// One depthwise convolution: the shapes of [`Unfold`] (its rows are the taps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depthwise(pub Unfold);

impl Depthwise {
    fn taps(&self) -> usize {
        self.0.kernel * self.0.kernel
    }

    /// `y[b, c] = Σ_taps w[c, tap] · shifted x[b, c]`.
    pub fn forward<T: Copy + Default + AddAssign + Mul<Output = T>>(&self, x: &[T], w: &[T], batch: usize) -> Vec<T> {
        let (oh, ow) = self.0.out_hw();
        let n = oh * ow;
        let (kk, c) = (self.taps(), self.0.channels);
        let mut y = vec![T::default(); batch * c * n];
        self.0.each(batch, |row, at, src, len| {
            let (plane, tap) = (row / kk, row % kk);
            let wv = w[(plane % c) * kk + tap];
            for (o, v) in y[plane * n + at..plane * n + at + len].iter_mut().zip(&x[src..src + len]) {
                *o += wv * *v;
            }
        });
        y
    }

    /// The input gradient: every output gradient sent back along its taps.
    pub fn grad_input<T: Copy + Default + AddAssign + Mul<Output = T>>(
        &self,
        g: &[T],
        w: &[T],
        batch: usize,
    ) -> Vec<T> {
        let (oh, ow) = self.0.out_hw();
        let n = oh * ow;
        let (kk, c) = (self.taps(), self.0.channels);
        let mut gx = vec![T::default(); batch * c * self.0.height * self.0.width];
        self.0.each(batch, |row, at, src, len| {
            let (plane, tap) = (row / kk, row % kk);
            let wv = w[(plane % c) * kk + tap];
            for (o, v) in gx[src..src + len].iter_mut().zip(&g[plane * n + at..plane * n + at + len]) {
                *o += wv * *v;
            }
        });
        gx
    }

    /// The weight gradient: `Σ_{b, pixels} g · shifted x` per channel and tap.
    pub fn grad_weight<T: Copy + Default + AddAssign + Mul<Output = T>>(
        &self,
        g: &[T],
        x: &[T],
        batch: usize,
    ) -> Vec<T> {
        let (oh, ow) = self.0.out_hw();
        let n = oh * ow;
        let (kk, c) = (self.taps(), self.0.channels);
        let mut gw = vec![T::default(); c * kk];
        self.0.each(batch, |row, at, src, len| {
            let (plane, tap) = (row / kk, row % kk);
            let mut s = T::default();
            for (a, b) in g[plane * n + at..plane * n + at + len].iter().zip(&x[src..src + len]) {
                s += *a * *b;
            }
            gw[(plane % c) * kk + tap] += s;
        });
        gw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::unfold::tests::noise;

    /// The definition, pixel by pixel.
    fn naive(u: &Unfold, x: &[f64], w: &[f64], batch: usize) -> Vec<f64> {
        let (oh, ow) = u.out_hw();
        let (c, h, wd, k, p) = (u.channels, u.height, u.width, u.kernel, u.pad as i64);
        let mut y = vec![0.0; batch * c * oh * ow];
        for b in 0..batch {
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = 0.0;
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = (oy as i64 + ky as i64 - p, ox as i64 + kx as i64 - p);
                                if iy >= 0 && ix >= 0 && iy < h as i64 && ix < wd as i64 {
                                    s += w[(ch * k + ky) * k + kx]
                                        * x[((b * c + ch) * h + iy as usize) * wd + ix as usize];
                                }
                            }
                        }
                        y[((b * c + ch) * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn depthwise_matches_the_definition_and_its_gradients_are_adjoints() {
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        for (c, h, w, k, p) in [(3, 6, 5, 3, 1), (2, 4, 4, 5, 2), (4, 7, 3, 3, 0), (1, 2, 2, 7, 3)] {
            let d = Depthwise(Unfold { channels: c, height: h, width: w, kernel: k, pad: p });
            let batch = 2;
            let (x, wt) = (noise(batch * c * h * w, 1), noise(c * k * k, 2));
            let y = d.forward(&x, &wt, batch);
            let want = naive(&d.0, &x, &wt, batch);
            assert!(y.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12), "{d:?}");
            // y is linear in x and in w: <y, g> = <x, grad_input(g)> = <w, grad_weight(g)>.
            let g = noise(y.len(), 3);
            let lhs = dot(&y, &g);
            let by_x = dot(&x, &d.grad_input(&g, &wt, batch));
            let by_w = dot(&wt, &d.grad_weight(&g, &x, batch));
            for rhs in [by_x, by_w] {
                assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{d:?}: {lhs} vs {rhs}");
            }
        }
    }
}
