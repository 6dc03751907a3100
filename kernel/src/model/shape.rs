//! Pooling, concatenation, channel slices, pixel (un)shuffles, upsampling and coordinate
//! encodings.

use super::*;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let out = match &cx.node.op {
        Op::AvgPool { kernel, stride } => {
            avg_pool2d(a(0), AvgPoolOptions::new([*kernel; 2]).with_stride([*stride; 2]).with_count_include_pad(true))
        }
        Op::MaxPool { kernel, stride } => max_pool2d(a(0), MaxPoolOptions::new([*kernel; 2]).with_stride([*stride; 2])),
        Op::Concat => Tensor::cat(cx.args.clone(), 1),
        Op::PixelShuffle { factor } => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let r = *factor;
            x.reshape([b, c / (r * r), r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([b, c / (r * r), h * r, w * r])
        }
        Op::ChannelMean => a(0).mean_dim(1),
        Op::ChannelMax => a(0).max_dim(1),
        Op::AdaptiveAvgPool { size } => {
            let x = a(0);
            let [_, _, h, w] = x.dims();
            let s = *size;
            let bins = |n: usize, i: usize| (i * n / s, ((i + 1) * n).div_ceil(s));
            let rows: Vec<Tensor<4>> = (0..s)
                .map(|i| {
                    let (r0, r1) = bins(h, i);
                    let band = x.clone().narrow(2, r0, r1 - r0).mean_dim(2);
                    let cols: Vec<Tensor<4>> = (0..s)
                        .map(|j| {
                            let (c0, c1) = bins(w, j);
                            band.clone().narrow(3, c0, c1 - c0).mean_dim(3)
                        })
                        .collect();
                    Tensor::cat(cols, 3)
                })
                .collect();
            Tensor::cat(rows, 2)
        }
        Op::CoordEncoding { frequencies } => {
            let x = a(0);
            let [b, _, h, w] = x.dims();
            let coord = |i: usize, n: usize| if n > 1 { 2.0 * i as f64 / (n - 1) as f64 - 1.0 } else { 0.0 };
            let mut planes: Vec<f32> = Vec::with_capacity((2 + 4 * frequencies) * h * w);
            let mut push = |f: &dyn Fn(f64, f64) -> f64| {
                for r in 0..h {
                    for c in 0..w {
                        planes.push(f(coord(r, h), coord(c, w)) as f32);
                    }
                }
            };
            push(&|y, _| y);
            push(&|_, x| x);
            for l in 0..*frequencies {
                let s = std::f64::consts::PI * 2f64.powi(l as i32);
                push(&|y, _| (s * y).sin());
                push(&|y, _| (s * y).cos());
                push(&|_, x| (s * x).sin());
                push(&|_, x| (s * x).cos());
            }
            let ch = 2 + 4 * frequencies;
            let data = TensorData::new(planes, [1, ch, h, w]);
            Tensor::<4>::from_data(data, (&x.device(), x.dtype())).repeat_dim(0, b)
        }
        Op::Narrow { start, len } => a(0).narrow(1, *start, *len),
        Op::RepeatChannels { times } => {
            let x = a(0);
            if cx.complex[0] {
                let c = x.dims()[1] / 2;
                let (re, im) = (x.clone().narrow(1, 0, c), x.narrow(1, c, c));
                Tensor::cat(vec![re.repeat_dim(1, *times), im.repeat_dim(1, *times)], 1)
            } else {
                x.repeat_dim(1, *times)
            }
        }
        Op::GlobalAvgPool => a(0).mean_dim(3).mean_dim(2),
        Op::GlobalMaxPool => a(0).max_dim(3).max_dim(2),
        Op::GlobalStdPool { correction } => {
            let x = a(0);
            let [_, _, h, w] = x.dims();
            let c = x.clone() - x.mean_dim(3).mean_dim(2);
            let n = (h * w) as f64;
            ((c.clone() * c).sum_dim(3).sum_dim(2) / (n - *correction as f64).max(1.0)).sqrt()
        }
        Op::Upsample { factor, mode: Interp::Bilinear } => bilinear_upsample(a(0), *factor),
        Op::Upsample { factor, mode: Interp::Bicubic } => bicubic_upsample(a(0), *factor),
        Op::Upsample { factor, mode: Interp::Nearest } => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let f = *factor;
            x.reshape([b, c, h, 1, w, 1]).expand([b, c, h, f, w, f]).reshape([b, c, h * f, w * f])
        }
        // einops' `b c (h p1) (w p2) -> b (p1 p2 c) h w`: channel (p1·size + p2)·C + c.
        Op::Patchify { size } => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let r = *size;
            if h % r != 0 || w % r != 0 {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: patches of {r} need sizes divisible by {r}, got {h}x{w}",
                    cx.node.path
                ))));
            }
            x.reshape([b, c, h / r, r, w / r, r]).permute([0, 3, 5, 1, 2, 4]).reshape([b, r * r * c, h / r, w / r])
        }
        Op::Unpatchify { size } => {
            let x = a(0);
            let [b, pc, h, w] = x.dims();
            let r = *size;
            let c = pc / (r * r);
            x.reshape([b, r, r, c, h, w]).permute([0, 3, 4, 1, 5, 2]).reshape([b, c, h * r, w * r])
        }
        Op::ToTokens => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            x.reshape([b, c, h * w, 1])
        }
        Op::FromTokens => {
            let (x, like) = (a(0), &cx.args[1]);
            let [b, c, n, _] = x.dims();
            let [_, _, h, w] = like.dims();
            if n != h * w {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: {n} tokens do not fill a {h}x{w} grid",
                    cx.node.path
                ))));
            }
            x.reshape([b, c, h, w])
        }
        Op::ConcatTokens => Tensor::cat(vec![a(0), a(1)], 2),
        Op::AddEmbedding { tokens, channels } => {
            let x = a(0);
            let [_, c, n, one] = x.dims();
            if n != *tokens || one != 1 || c != *channels {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: the embedding is {tokens} tokens of {channels} channels, the input is {:?}",
                    cx.node.path,
                    x.dims()
                ))));
            }
            // Stored [1, tokens, channels] (rank 4 with a trailing 1), as PyTorch keeps it.
            let e = cx.model.param(&format!("{}.embedding", cx.node.path));
            x + e.reshape([1, n, c]).swap_dims(1, 2).reshape([1, c, n, 1])
        }
        Op::PixelUnshuffle { factor } => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let r = *factor;
            x.reshape([b, c, h / r, r, w / r, r]).permute([0, 1, 3, 5, 2, 4]).reshape([b, c * r * r, h / r, w / r])
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// Bilinear upsampling by an integer factor with PyTorch's default `align_corners = False`:
/// output pixel `o` samples input position `(o + 0.5)/f − 0.5`, clamped at the border, a blend
/// of two rows and two columns.
fn bilinear_upsample(x: Tensor<4>, f: usize) -> Tensor<4> {
    separable_upsample(x, f, |o, n| {
        let src = ((o as f64 + 0.5) / f as f64 - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n - 1);
        let t = src - i0 as f64;
        vec![(i0, 1.0 - t), ((i0 + 1).min(n - 1), t)]
    })
}

/// PyTorch's bicubic interpolation (`align_corners = False`): the source position
/// `(o + 0.5)/f − 0.5` (not clamped, unlike bilinear), taps `i − 1 .. i + 2` clamped to the
/// edges, Keys' weights with `A = −0.75`.
fn bicubic_upsample(x: Tensor<4>, f: usize) -> Tensor<4> {
    const A: f64 = -0.75;
    let near = |t: f64| ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    let far = |t: f64| ((A * t - 5.0 * A) * t + 8.0 * A) * t - 4.0 * A;
    separable_upsample(x, f, |o, n| {
        let src = (o as f64 + 0.5) / f as f64 - 0.5;
        let (i, t) = (src.floor() as i64, src - src.floor());
        let at = |k: i64| (i + k).clamp(0, n as i64 - 1) as usize;
        vec![(at(-1), far(t + 1.0)), (at(0), near(t)), (at(1), near(1.0 - t)), (at(2), far(2.0 - t))]
    })
}

/// Separable upsampling by `f`, rows then columns: output `o` of an axis of `n` is the sum of
/// `w·x[j]` over the `(j, w)` pairs of `taps(o, n)`, equal indices merged and zero weights
/// dropped (differentiable: gathers are `narrow`s and `cat`s of the input).
fn separable_upsample(x: Tensor<4>, f: usize, taps: impl Fn(usize, usize) -> Vec<(usize, f64)>) -> Tensor<4> {
    let axis = |x: Tensor<4>, dim: usize| -> Tensor<4> {
        let n = x.dims()[dim];
        let parts: Vec<Tensor<4>> = (0..n * f)
            .map(|o| {
                let mut merged: Vec<(usize, f64)> = Vec::with_capacity(4);
                for (j, w) in taps(o, n) {
                    match merged.iter_mut().find(|(k, _)| *k == j) {
                        Some(m) => m.1 += w,
                        None => merged.push((j, w)),
                    }
                }
                merged
                    .into_iter()
                    .filter(|&(_, w)| w != 0.0)
                    .map(|(j, w)| {
                        let row = x.clone().narrow(dim, j, 1);
                        if w == 1.0 {
                            row
                        } else {
                            row * w
                        }
                    })
                    .reduce(|a, b| a + b)
                    .expect("a tap with a nonzero weight")
            })
            .collect();
        Tensor::cat(parts, dim)
    };
    axis(axis(x, 2), 3)
}
