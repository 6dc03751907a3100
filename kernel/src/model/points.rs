//! k-space as a set of points (IGKR-Net): gathering the samples a mask selects into a padded
//! point set `[B, C, N, 1]`, their coordinates and validity, scattering points back onto the grid,
//! and KT's sinusoidal coordinate encoding. The mask is read on the host (it selects, it is not
//! differentiated); values move with burn's `gather`/`scatter`, so gradients follow.

use super::*;
use burn::tensor::{IndexingUpdateOp, Int};

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let out = match &cx.node.op {
        Op::GatherPoints => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let sel = match Selection::of(&a(1), b) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let idx = sel.indices(c, &x.device());
            let valid = sel.valid_tensor(&x);
            let g = x.reshape([b, c, h * w]).gather(2, idx).reshape([b, c, sel.n, 1]);
            g * valid
        }
        Op::ScatterPoints => {
            let (points, base) = (a(0), a(2));
            let [b, c, h, w] = base.dims();
            let sel = match Selection::of(&a(1), b) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let [pb, pc, pn, pw] = points.dims();
            if (pb, pc, pn, pw) != (b, c, sel.n, 1) {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: scatter_points needs {b}×{c}×{}×1 points for this mask, got {pb}×{pc}×{pn}×{pw}",
                    cx.node.path, sel.n
                ))));
            }
            let values = (points * sel.valid_tensor(&base)).reshape([b, c, sel.n]);
            let keep = sel.unselected_tensor(&base, h, w).reshape([b, 1, h * w]);
            let out = (base.reshape([b, c, h * w]) * keep).scatter(
                2,
                sel.indices(c, &values.device()),
                values,
                IndexingUpdateOp::Add,
            );
            out.reshape([b, c, h, w])
        }
        Op::PointCoords | Op::PointValid => {
            let m = a(0);
            let b = m.dims()[0];
            let sel = match Selection::of(&m, b) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            if matches!(cx.node.op, Op::PointValid) {
                sel.valid_tensor(&m)
            } else {
                sel.coords_tensor(&m)
            }
        }
        Op::GridPoints => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            x.reshape([b, c, h * w, 1])
        }
        Op::GridCoords => {
            let x = a(0);
            let [b, _, h, w] = x.dims();
            let mut v = Vec::with_capacity(2 * h * w);
            for axis in 0..2 {
                for r in 0..h {
                    for col in 0..w {
                        v.push(if axis == 0 { unit(r, h) } else { unit(col, w) });
                    }
                }
            }
            Tensor::<4>::from_data(TensorData::new(v, [1, 2, h * w, 1]), (&x.device(), x.dtype())).repeat_dim(0, b)
        }
        Op::PointsToGrid => {
            let (p, like) = (a(0), a(1));
            let [b, c, n, pw] = p.dims();
            let [_, _, h, w] = like.dims();
            if n * pw != h * w {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: points_to_grid got {n}×{pw} points for a {h}×{w} grid (needs {})",
                    cx.node.path,
                    h * w
                ))));
            }
            p.reshape([b, c, h, w])
        }
        Op::SinusoidalPe { dim, scale, base } => {
            let coords = a(0);
            let [b, _, h, w] = coords.dims();
            let k = dim / 4;
            let omega: Vec<f32> = (0..k).map(|i| base.powf(-4.0 * i as f64 / *dim as f64) as f32).collect();
            let omega =
                Tensor::<4>::from_data(TensorData::new(omega, [1, k, 1, 1]), (&coords.device(), coords.dtype()));
            let axis = |i: usize| {
                let arg = coords.clone().narrow(1, i, 1) * *scale * omega.clone();
                // sin at even channels, cos at odd: [B, K, 2, H, W] → [B, 2K, H, W].
                Tensor::stack::<5>(vec![arg.clone().sin(), arg.cos()], 2).reshape([b, 2 * k, h, w])
            };
            Tensor::cat(vec![axis(0), axis(1)], 1)
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// `i/(n − 1)`, KT's `linspace(0, 1, n)` (0 for a single row).
fn unit(i: usize, n: usize) -> f32 {
    if n > 1 {
        i as f32 / (n - 1) as f32
    } else {
        0.0
    }
}

/// The positions a mask selects, per batch element, row-major, padded to the largest count.
pub(crate) struct Selection {
    /// Flat positions `r·W + c`, per batch element.
    pub positions: Vec<Vec<usize>>,
    pub h: usize,
    pub w: usize,
    /// The padded point count (at least 1, so that empty selections still have a shape).
    pub n: usize,
}

impl Selection {
    /// The selection of `mask` (`[B or 1, 1, H, W]`, set where > 0.5) for a batch of `b`.
    pub(crate) fn of(mask: &Tensor<4>, b: usize) -> Result<Selection, ModelError> {
        let [mb, mc, h, w] = mask.dims();
        if mc != 1 || (mb != b && mb != 1) {
            return Err(ModelError::Unsupported(format!(
                "a point mask is [{b} or 1, 1, H, W], got [{mb}, {mc}, {h}, {w}]"
            )));
        }
        let values = mask
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Unsupported(format!("point mask: {e:?}")))?;
        let mut positions: Vec<Vec<usize>> = values
            .chunks(h * w)
            .map(|plane| plane.iter().enumerate().filter(|(_, &v)| v > 0.5).map(|(i, _)| i).collect())
            .collect();
        if mb == 1 && b > 1 {
            positions = vec![positions[0].clone(); b];
        }
        let n = positions.iter().map(Vec::len).max().unwrap_or(0).max(1);
        Ok(Selection { positions, h, w, n })
    }

    /// Gather/scatter indices `[B, C, N]` (padding points index 0; their values are zeroed).
    fn indices(&self, c: usize, device: &Device) -> Tensor<3, Int> {
        let b = self.positions.len();
        let mut v: Vec<i64> = Vec::with_capacity(b * c * self.n);
        for pos in &self.positions {
            for _ in 0..c {
                v.extend(pos.iter().map(|&p| p as i64));
                v.extend(std::iter::repeat_n(0, self.n - pos.len()));
            }
        }
        Tensor::<3, Int>::from_data(TensorData::new(v, [b, c, self.n]), device)
    }

    /// 1 at real points, 0 at padding: `[B, 1, N, 1]`, on `like`'s device and dtype.
    fn valid_tensor(&self, like: &Tensor<4>) -> Tensor<4> {
        let b = self.positions.len();
        let v: Vec<f32> =
            self.positions.iter().flat_map(|p| (0..self.n).map(move |i| if i < p.len() { 1.0 } else { 0.0 })).collect();
        Tensor::<4>::from_data(TensorData::new(v, [b, 1, self.n, 1]), (&like.device(), like.dtype()))
    }

    /// 1 where the mask does not select, 0 where it does: `[B, 1, H, W]`.
    fn unselected_tensor(&self, like: &Tensor<4>, h: usize, w: usize) -> Tensor<4> {
        let b = self.positions.len();
        let mut v = vec![1.0f32; b * h * w];
        for (i, pos) in self.positions.iter().enumerate() {
            for &p in pos {
                v[i * h * w + p] = 0.0;
            }
        }
        Tensor::<4>::from_data(TensorData::new(v, [b, 1, h, w]), (&like.device(), like.dtype()))
    }

    /// Coordinates `(row/(H−1), col/(W−1))` of the points, 0 at padding: `[B, 2, N, 1]`.
    fn coords_tensor(&self, like: &Tensor<4>) -> Tensor<4> {
        let b = self.positions.len();
        let mut v = vec![0.0f32; b * 2 * self.n];
        for (i, pos) in self.positions.iter().enumerate() {
            for (j, &p) in pos.iter().enumerate() {
                v[(i * 2) * self.n + j] = unit(p / self.w, self.h);
                v[(i * 2 + 1) * self.n + j] = unit(p % self.w, self.w);
            }
        }
        Tensor::<4>::from_data(TensorData::new(v, [b, 2, self.n, 1]), (&like.device(), like.dtype()))
    }
}
