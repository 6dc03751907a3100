//! Stride-1 depthwise `k×k` convolutions with zero padding on host buffers (`groups` = input =
//! output channels, FSMNet's and IMA's attention convolutions): the forward pass and both
//! gradients as runs of multiply-adds along image rows, walking the same valid taps as
//! [`Unfold`]. burn-flex's grouped convolution loops over groups; these are plain vector loops,
//! one image plane (item, channel) per rayon task.
//!
//! Layout: input `[B, C, H, W]`, weight `[C, 1, k, k]`, output `[B, C, oh, ow]`. Every sum runs
//! in one fixed order whatever the threads (the weight gradient's dot products in eight lanes
//! combined in lane order, its planes added in batch order), so results are identical run to run.

use super::unfold::Unfold;
use rayon::prelude::*;
use std::ops::{AddAssign, Mul};

/// The float types of the depthwise loops.
pub trait Value: Copy + Default + AddAssign + Mul<Output = Self> + Send + Sync {}
impl<T: Copy + Default + AddAssign + Mul<Output = T> + Send + Sync> Value for T {}

/// One depthwise convolution: the shapes of [`Unfold`] (its rows are the taps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depthwise(pub Unfold);

/// `Σ a·b` in eight interleaved partial sums (so that it vectorises), added in lane order.
fn dot<T: Value>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::default(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut s = T::default();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += *x * *y;
    }
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.into_iter().for_each(|l| s += l);
    s
}

impl Depthwise {
    fn taps(&self) -> usize {
        self.0.kernel * self.0.kernel
    }

    /// The geometry of one plane: `each` over it yields `(tap, at, src, len)`.
    fn plane(&self) -> Unfold {
        Unfold { channels: 1, ..self.0 }
    }

    fn sizes(&self) -> (usize, usize, usize, usize) {
        let (oh, ow) = self.0.out_hw();
        (oh * ow, self.0.height * self.0.width, self.taps(), self.0.channels)
    }

    /// `y[b, c] = Σ_taps w[c, tap] · shifted x[b, c]`.
    pub fn forward<T: Value>(&self, x: &[T], w: &[T], batch: usize) -> Vec<T> {
        let (n, hw, kk, c) = self.sizes();
        let mut y = vec![T::default(); batch * c * n];
        let one = self.plane();
        y.par_chunks_mut(n.max(1)).enumerate().for_each(|(p, y)| {
            let (x, w) = (&x[p * hw..(p + 1) * hw], &w[(p % c) * kk..(p % c + 1) * kk]);
            one.each(1, |tap, at, src, len| {
                for (o, v) in y[at..at + len].iter_mut().zip(&x[src..src + len]) {
                    *o += w[tap] * *v;
                }
            });
        });
        y
    }

    /// The input gradient: every output gradient sent back along its taps.
    pub fn grad_input<T: Value>(&self, g: &[T], w: &[T], batch: usize) -> Vec<T> {
        let (n, hw, kk, c) = self.sizes();
        let mut gx = vec![T::default(); batch * c * hw];
        let one = self.plane();
        gx.par_chunks_mut(hw.max(1)).enumerate().for_each(|(p, gx)| {
            let (g, w) = (&g[p * n..(p + 1) * n], &w[(p % c) * kk..(p % c + 1) * kk]);
            one.each(1, |tap, at, src, len| {
                for (o, v) in gx[src..src + len].iter_mut().zip(&g[at..at + len]) {
                    *o += w[tap] * *v;
                }
            });
        });
        gx
    }

    /// The weight gradient: `Σ_{b, pixels} g · shifted x` per channel and tap.
    pub fn grad_weight<T: Value>(&self, g: &[T], x: &[T], batch: usize) -> Vec<T> {
        let (n, hw, kk, c) = self.sizes();
        let one = self.plane();
        let planes: Vec<Vec<T>> = (0..batch * c)
            .into_par_iter()
            .map(|p| {
                let (g, x) = (&g[p * n..(p + 1) * n], &x[p * hw..(p + 1) * hw]);
                let mut acc = vec![T::default(); kk];
                one.each(1, |tap, at, src, len| acc[tap] += dot(&g[at..at + len], &x[src..src + len]));
                acc
            })
            .collect();
        let mut gw = vec![T::default(); c * kk];
        for (p, acc) in planes.into_iter().enumerate() {
            gw[(p % c) * kk..(p % c + 1) * kk].iter_mut().zip(acc).for_each(|(s, v)| *s += v);
        }
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
