//! Dense stride-1 `k×k` convolutions (`groups` = 1) with zero padding on host buffers: the
//! forward pass and the input, weight and bias gradients, as matrix products (the `gemm` crate,
//! which burn-flex's own matmul uses) over one zero-padded copy of each batch item: one product
//! per kernel tap on a shifted view of that copy, with inner dimension `C` (forward, input
//! gradient) or the image (weight gradient). No `C·k²`-row column matrix (`im2col`, nine times
//! the input for 3×3) is ever written: at 64×64 it outgrew the L2 cache and cost 14% of an
//! FSMNet training step. The output is computed in rows as wide as the padded input, and the
//! `k − 1` columns of each row that wrap around are dropped.
//!
//! Layout: input `[B, C, H, W]`, weight `[co, C, k, k]`, output `[B, co, oh, ow]`.
//!
//! Threads: batch items run in parallel (rayon) with single-threaded products; a batch of one
//! lets the product itself use the threads. Either way every output element is one fixed sum
//! (the products split rows and columns, never the inner dimension; taps are added in order; the
//! weight gradient adds the items' parts in batch order), so results are identical run to run
//! and for any thread count.

use super::unfold::Unfold;
use rayon::prelude::*;
use std::ops::AddAssign;

/// The float types the host convolutions run in.
pub trait Real: Copy + Default + AddAssign + Send + Sync + 'static {
    const ONE: Self;
    /// Runs `f` with this thread's scratch buffer (a fresh one when it is already in use), so
    /// that the padded copies and products reuse memory instead of faulting in new pages every call.
    fn with_scratch<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ONE: $t = 1.0;
            fn with_scratch<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
                thread_local! {
                    static SCRATCH: std::cell::RefCell<Vec<$t>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                SCRATCH.with(|cell| match cell.try_borrow_mut() {
                    Ok(mut buf) => f(&mut buf),
                    Err(_) => f(&mut Vec::new()),
                })
            }
        }
    };
}
real!(f32);
real!(f64);

/// A strided view of a matrix in a slice: element `(r, c)` at `r·rs + c·cs`.
#[derive(Clone, Copy)]
struct View<'a, T> {
    data: &'a [T],
    rs: usize,
    cs: usize,
}

impl<'a, T> View<'a, T> {
    fn rows(data: &'a [T], cols: usize) -> Self {
        View { data, rs: cols, cs: 1 }
    }

    fn transposed(data: &'a [T], rows: usize) -> Self {
        View { data, rs: 1, cs: rows }
    }
}

/// Panics unless every element of an `m × n` matrix with strides `(rs, cs)` lies in `len`.
fn check_bounds(len: usize, (rs, cs): (usize, usize), m: usize, n: usize, what: &str) {
    if m > 0 && n > 0 {
        assert!((m - 1) * rs + (n - 1) * cs < len, "{what}: matrix view out of bounds");
    }
}

/// `dst[m×n]` (strides `dst_strides`) `= a[m×k] · b[k×n]`, or `+=` with `accumulate`.
fn matmul<T: Real>(
    dst: &mut [T],
    dst_strides: (usize, usize),
    a: View<T>,
    b: View<T>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    threads: bool,
) {
    check_bounds(dst.len(), dst_strides, m, n, "matmul destination");
    check_bounds(a.data.len(), (a.rs, a.cs), m, k, "matmul left operand");
    check_bounds(b.data.len(), (b.rs, b.cs), k, n, "matmul right operand");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                (0..n).for_each(|c| dst[r * dst_strides.0 + c * dst_strides.1] = T::default());
            }
        }
        return;
    }
    let parallelism = if threads { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: the views and the destination were bounds-checked above for these sizes and
    // strides; `dst` is borrowed mutably and does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides.1 as isize,
            dst_strides.0 as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// One dense convolution: the input geometry of [`Unfold`] and the output channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    pub unfold: Unfold,
    pub cout: usize,
}

/// The padded layout of one batch item: each channel zero-padded to `hp × wp` (plane `pp`),
/// then `k − 1` zeros so that every tap's view stays inside; the output in rows of `wp`
/// (`oh × wp` per channel), of which the first `ow` columns are the output.
#[derive(Clone, Copy)]
struct Padded {
    wp: usize,
    pp: usize,
    len: usize,
}

impl Conv {
    fn sizes(&self) -> (usize, usize, usize) {
        let u = &self.unfold;
        let (oh, ow) = u.out_hw();
        (u.channels * u.height * u.width, u.rows(), oh * ow)
    }

    /// A 1×1 convolution without padding reads the image itself, with no padded copy.
    fn no_padding_copy(&self) -> bool {
        self.unfold.kernel == 1 && self.unfold.pad == 0
    }

    fn padded(&self) -> Padded {
        let u = &self.unfold;
        let (hp, wp) = (u.height + 2 * u.pad, u.width + 2 * u.pad);
        Padded { wp, pp: hp * wp, len: u.channels * hp * wp + u.kernel - 1 }
    }

    /// Tap `t` (row-major over `k × k`) reads the padded item from this offset on.
    fn tap_offset(&self, t: usize, wp: usize) -> usize {
        (t / self.unfold.kernel) * wp + t % self.unfold.kernel
    }

    /// Runs `f` on one item `[C, H, W]` zero-padded (`Padded::len` long) and a work buffer of
    /// `extra` elements (stale values), both in this thread's scratch memory.
    fn with_padded<T: Real, R>(&self, x: &[T], extra: usize, f: impl FnOnce(&[T], &mut [T]) -> R) -> R {
        let len = self.padded().len;
        T::with_scratch(|buf| {
            buf.resize(len + extra, T::default());
            let (xp, work) = buf.split_at_mut(len);
            self.pad_into(x, xp);
            f(xp, work)
        })
    }

    /// One item `[C, H, W]` zero-padded into `dst` (`Padded::len` long).
    fn pad_into<T: Real>(&self, x: &[T], dst: &mut [T]) {
        let u = &self.unfold;
        let Padded { wp, pp, .. } = self.padded();
        dst.fill(T::default());
        for (c, plane) in x.chunks_exact(u.height * u.width).enumerate() {
            for (r, row) in plane.chunks_exact(u.width).enumerate() {
                let at = c * pp + (r + u.pad) * wp + u.pad;
                dst[at..at + u.width].copy_from_slice(row);
            }
        }
    }

    fn in_parallel(batch: usize) -> bool {
        batch > 1 && rayon::current_num_threads() > 1
    }

    /// One batch item: `y = Σ_taps W[:, :, tap] · shift_tap(pad(x))`, one product per tap
    /// over a shifted view of the padded item (`k²` products with inner size `C`, no `C·k²`
    /// column matrix), accumulated in tap order into rows of width `wp`, then the valid
    /// columns copied out.
    fn item<T: Real>(&self, x: &[T], w: &[T], y: &mut [T], threads: bool) {
        let (_, rows, n) = self.sizes();
        let (c, co, k) = (self.unfold.channels, self.cout, self.unfold.kernel);
        if self.no_padding_copy() {
            return matmul(y, (n, 1), View::rows(w, rows), View::rows(x, n), (co, n, c), false, threads);
        }
        let Padded { wp, pp, .. } = self.padded();
        let (oh, ow) = self.unfold.out_hw();
        self.with_padded(x, co * oh * wp, |xp, yp| {
            for t in 0..k * k {
                let a = View { data: &w[t..], rs: rows, cs: k * k };
                let b = View { data: &xp[self.tap_offset(t, wp)..], rs: pp, cs: 1 };
                matmul(yp, (oh * wp, 1), a, b, (co, oh * wp, c), t > 0, threads);
            }
            for (dst, src) in y.chunks_exact_mut(ow).zip(yp.chunks_exact(wp)) {
                dst.copy_from_slice(&src[..ow]);
            }
        })
    }

    /// One batch item's weight gradient `[co, C·k·k]`: per tap, `g · shift_tap(pad(x))ᵀ`, a
    /// product whose inner dimension is the image (`g` laid out in rows of width `wp`, zero in
    /// the columns past `ow`, so the wrapped-around reads add nothing). Both operands are read
    /// along the image, so for `co·C ≤ 256` gemm takes its dot-product kernels without packing
    /// (measured at B4 C16 64×64: 10% slower than `im2col` and one product; transposing `g`
    /// first, so that gemm takes its packed kernels, was 25% slower still).
    fn weight_grad_item<T: Real>(&self, g: &[T], x: &[T], gw: &mut [T], threads: bool) {
        let (_, rows, n) = self.sizes();
        let (c, co, k) = (self.unfold.channels, self.cout, self.unfold.kernel);
        if self.no_padding_copy() {
            let b = View::transposed(x, n);
            return matmul(gw, (rows, 1), View::rows(g, n), b, (co, c, n), false, threads);
        }
        let Padded { wp, pp, .. } = self.padded();
        let (oh, ow) = self.unfold.out_hw();
        self.with_padded(x, co * oh * wp, |xp, gp| {
            for (dst, src) in gp.chunks_exact_mut(wp).zip(g.chunks_exact(ow)) {
                dst[..ow].copy_from_slice(src);
                dst[ow..].fill(T::default());
            }
            let a = View::rows(&*gp, oh * wp);
            for t in 0..k * k {
                let b = View { data: &xp[self.tap_offset(t, wp)..], rs: 1, cs: pp };
                matmul(&mut gw[t..], (rows, k * k), a, b, (co, c, oh * wp), false, threads);
            }
        })
    }

    /// `y[b] = conv(x[b], W) + bias`.
    pub fn forward<T: Real>(&self, x: &[T], w: &[T], bias: Option<&[T]>, batch: usize) -> Vec<T> {
        let (plane, rows, n) = self.sizes();
        let co = self.cout;
        assert_eq!(x.len(), batch * plane, "convolution input size");
        assert_eq!(w.len(), co * rows, "convolution weight size");
        let mut y = vec![T::default(); batch * co * n];
        let threads = !Self::in_parallel(batch);
        let item = |(b, yb): (usize, &mut [T])| {
            self.item(&x[b * plane..(b + 1) * plane], w, yb, threads);
            if let Some(bias) = bias {
                for (row, bv) in yb.chunks_mut(n).zip(bias) {
                    row.iter_mut().for_each(|v| *v += *bv);
                }
            }
        };
        if Self::in_parallel(batch) {
            y.par_chunks_mut(co * n).enumerate().for_each(item);
        } else {
            y.chunks_mut(co * n).enumerate().for_each(item);
        }
        y
    }

    /// The input gradient as a convolution of the output gradient (`co` channels, `oh × ow`)
    /// with the flipped, transposed kernel and padding `k − 1 − pad`, which lands back on
    /// `H × W`; `None` when the padding exceeds `k − 1`.
    fn adjoint<T: Real>(&self, w: &[T]) -> Option<(Conv, Vec<T>)> {
        let u = &self.unfold;
        let k = u.kernel;
        let pad = (k - 1).checked_sub(u.pad)?;
        let (oh, ow) = u.out_hw();
        let adjoint =
            Conv { unfold: Unfold { channels: self.cout, height: oh, width: ow, kernel: k, pad }, cout: u.channels };
        let (ci, co, kk) = (u.channels, self.cout, k * k);
        let mut flipped = Vec::with_capacity(w.len());
        for c in 0..ci {
            for o in 0..co {
                flipped.extend((0..kk).rev().map(|t| w[(o * ci + c) * kk + t]));
            }
        }
        Some((adjoint, flipped))
    }

    /// The gradients for the output gradient `g`: input (when `want_x`), weight (when
    /// `want_w`) and bias (when `want_bias`), each `None` when not asked for.
    ///
    /// The input gradient is a forward convolution ([`Conv::adjoint`]); the weight gradient
    /// is one product per tap ([`Conv::weight_grad_item`]), the items' parts added in batch
    /// order.
    pub fn backward<T: Real>(
        &self,
        g: &[T],
        x: &[T],
        w: &[T],
        batch: usize,
        (want_x, want_w, want_bias): (bool, bool, bool),
    ) -> (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>) {
        let (plane, rows, n) = self.sizes();
        let co = self.cout;
        assert_eq!(g.len(), batch * co * n, "convolution output-gradient size");
        let threads = !Self::in_parallel(batch);
        let adjoint = if want_x { self.adjoint(w) } else { None };
        let mut gx = want_x.then(|| vec![T::default(); batch * plane]);
        // Per item: its weight gradient `[co, C·k·k]`, added up in batch order.
        let item = |b: usize, gxb: Option<&mut [T]>| -> Option<Vec<T>> {
            let gb = &g[b * co * n..(b + 1) * co * n];
            match (gxb, &adjoint) {
                (Some(gxb), Some((conv, flipped))) => conv.item(gb, flipped, gxb, threads),
                (Some(gxb), None) => {
                    let mut gcols = vec![T::default(); rows * n];
                    let a = View::transposed(w, rows);
                    matmul(&mut gcols, (n, 1), a, View::rows(gb, n), (rows, n, co), false, threads);
                    self.unfold.fold_into(&gcols, 1, gxb);
                }
                (None, _) => {}
            }
            want_w.then(|| {
                let mut gwb = vec![T::default(); co * rows];
                self.weight_grad_item(gb, &x[b * plane..(b + 1) * plane], &mut gwb, threads);
                gwb
            })
        };
        let parts: Vec<Option<Vec<T>>> = match (&mut gx, Self::in_parallel(batch)) {
            (Some(gx), true) => gx.par_chunks_mut(plane).enumerate().map(|(b, gxb)| item(b, Some(gxb))).collect(),
            (None, true) => (0..batch).into_par_iter().map(|b| item(b, None)).collect(),
            (Some(gx), false) => gx.chunks_mut(plane).enumerate().map(|(b, gxb)| item(b, Some(gxb))).collect(),
            (None, false) => (0..batch).map(|b| item(b, None)).collect(),
        };
        let gw = want_w.then(|| {
            let mut sum = vec![T::default(); rows * co];
            for part in parts.into_iter().flatten() {
                sum.iter_mut().zip(part).for_each(|(s, v)| *s += v);
            }
            sum
        });
        let gbias = want_bias.then(|| {
            let mut sum = vec![T::default(); co];
            for gb in g.chunks(co * n) {
                for (s, row) in sum.iter_mut().zip(gb.chunks(n)) {
                    let mut r = T::default();
                    row.iter().for_each(|v| r += *v);
                    *s += r;
                }
            }
            sum
        });
        (gx, gw, gbias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::unfold::tests::noise;

    /// The definition, pixel by pixel.
    fn naive(c: &Conv, x: &[f64], w: &[f64], bias: &[f64], batch: usize) -> Vec<f64> {
        let u = &c.unfold;
        let (oh, ow) = u.out_hw();
        let (ci, h, wd, k, p) = (u.channels, u.height, u.width, u.kernel, u.pad as i64);
        let mut y = vec![0.0; batch * c.cout * oh * ow];
        for b in 0..batch {
            for o in 0..c.cout {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = bias[o];
                        for ch in 0..ci {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (iy, ix) = (oy as i64 + ky as i64 - p, ox as i64 + kx as i64 - p);
                                    if iy >= 0 && ix >= 0 && iy < h as i64 && ix < wd as i64 {
                                        s += w[((o * ci + ch) * k + ky) * k + kx]
                                            * x[((b * ci + ch) * h + iy as usize) * wd + ix as usize];
                                    }
                                }
                            }
                        }
                        y[((b * c.cout + o) * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn convolution_matches_the_definition_and_its_gradients_are_adjoints() {
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        // (channels, h, w, k, pad, cout, batch): 1x1 without columns, 3x3 and 5x5 padded and not,
        // a 7x7 kernel wider than its 2x2 map, a batch of one (threads inside the product), and a
        // 1x1 kernel with padding 1 (more than k - 1: its input gradient takes the columns path).
        let cases = [
            (3, 6, 5, 3, 1, 4, 3),
            (2, 4, 4, 5, 2, 3, 2),
            (4, 7, 3, 3, 0, 2, 2),
            (5, 6, 6, 1, 0, 7, 3),
            (1, 2, 2, 7, 3, 2, 2),
            (3, 5, 6, 3, 1, 5, 1),
            (2, 3, 4, 1, 1, 3, 2),
        ];
        for (ci, h, wd, k, p, co, batch) in cases {
            let c = Conv { unfold: Unfold { channels: ci, height: h, width: wd, kernel: k, pad: p }, cout: co };
            let (x, w, bias) = (noise(batch * ci * h * wd, 1), noise(co * ci * k * k, 2), noise(co, 3));
            let y = c.forward(&x, &w, Some(&bias), batch);
            let want = naive(&c, &x, &w, &bias, batch);
            assert!(y.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12), "{c:?}");
            // y - bias is linear in x and in w: <y - bias, g> = <x, gx> = <w, gw>; gbias = Σ g.
            let y0 = c.forward(&x, &w, None, batch);
            let g = noise(y.len(), 4);
            let (gx, gw, gb) = c.backward(&g, &x, &w, batch, (true, true, true));
            let lhs = dot(&y0, &g);
            for rhs in [dot(&x, &gx.unwrap()), dot(&w, &gw.unwrap())] {
                assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{c:?}: {lhs} vs {rhs}");
            }
            let n = y.len() / (batch * co);
            for (o, got) in gb.unwrap().iter().enumerate() {
                let want: f64 = (0..batch).flat_map(|b| g[(b * co + o) * n..(b * co + o + 1) * n].iter()).sum();
                assert!((got - want).abs() < 1e-12, "{c:?}: bias {o}");
            }
            // Only what is asked for is computed.
            assert_eq!(c.backward(&g, &x, &w, batch, (false, true, false)).0, None);
        }
    }

    #[test]
    fn convolution_is_identical_for_one_thread_and_for_a_pool() {
        // Batch 3: items in parallel. Batch 1 at 48x48 with 16 channels: threads inside the
        // products, which must not split their inner dimension.
        for (batch, ci, hw, co) in [(3, 4, 9, 6), (1, 16, 48, 16)] {
            let c = Conv { unfold: Unfold { channels: ci, height: hw, width: hw, kernel: 3, pad: 1 }, cout: co };
            let to32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<f32>>();
            let (x, w) = (to32(noise(batch * ci * hw * hw, 1)), to32(noise(co * ci * 9, 2)));
            let g = to32(noise(batch * co * hw * hw, 3));
            let run = || (c.forward(&x, &w, None, batch), c.backward(&g, &x, &w, batch, (true, true, true)));
            let pooled = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(run);
            let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run);
            assert_eq!(pooled, single, "batch {batch}");
        }
    }
}
