//! Instance normalisation (without the affine part) as one host autodiff op on Flex: per plane
//! `(b, c)`, `y = (x − mean) / sqrt(var + eps)` with the biased variance, as PyTorch's
//! `InstanceNorm2d`. burn composes it from two means, a subtraction, a product, a square root and
//! a division, each a fresh tensor forward and again backward; here the forward pass is one pass
//! for the statistics and one for the output, and the backward pass is the closed form
//! `dx = (g − mean(g) − ŷ·mean(g·ŷ)) / sqrt(var + eps)` from the saved output `ŷ`.
//!
//! Statistics accumulate in f64 whatever the tensor's float type, one plane at a time in index
//! order, so the values do not depend on the thread count. Planes run in parallel.

use super::{flex_kind, flex_tensor, resolve, values, FftImpl, FlexKind};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DispatchTensor, Flex};
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// A float type the op runs in: read into f64 for the statistics, written back after.
trait Float: super::Real + Into<f64> + burn::tensor::Element + bytemuck::Pod {
    fn of(v: f64) -> Self;
}
impl Float for f32 {
    fn of(v: f64) -> f32 {
        v as f32
    }
}
impl Float for f64 {
    fn of(v: f64) -> f64 {
        v
    }
}

/// Planes handed to one parallel task: enough elements that the task outweighs its scheduling.
fn min_planes(plane: usize) -> usize {
    (16_384 / plane.max(1)).max(1)
}

/// The normalised planes of `x` and each plane's `1 / sqrt(var + eps)`.
fn normalise<T: Float>(x: &[T], plane: usize, eps: f64) -> (Vec<T>, Vec<f64>) {
    if plane == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut y = vec![T::default(); x.len()];
    let mut inv = vec![0.0; x.len() / plane];
    let n = plane as f64;
    y.par_chunks_mut(plane).zip(x.par_chunks(plane)).zip(inv.par_iter_mut()).with_min_len(min_planes(plane)).for_each(
        |((y, x), inv)| {
            let mean = x.iter().map(|&v| v.into()).sum::<f64>() / n;
            let var = x.iter().map(|&v| (v.into() - mean) * (v.into() - mean)).sum::<f64>() / n;
            *inv = 1.0 / (var + eps).sqrt();
            for (y, &x) in y.iter_mut().zip(x) {
                *y = T::of((x.into() - mean) * *inv);
            }
        },
    );
    (y, inv)
}

/// The input gradient from the output gradient `g`, the saved output `y` and each plane's
/// `1 / sqrt(var + eps)`.
fn input_grad<T: Float>(y: &[T], g: &[T], inv: &[f64], plane: usize) -> Vec<T> {
    if plane == 0 {
        return Vec::new();
    }
    let mut dx = vec![T::default(); y.len()];
    let n = plane as f64;
    dx.par_chunks_mut(plane)
        .zip(y.par_chunks(plane).zip(g.par_chunks(plane)))
        .zip(inv.par_iter())
        .with_min_len(min_planes(plane))
        .for_each(|((dx, (y, g)), &inv)| {
            let mean_g = g.iter().map(|&v| v.into()).sum::<f64>() / n;
            let mean_gy = g.iter().zip(y).map(|(&g, &y)| g.into() * y.into()).sum::<f64>() / n;
            for ((dx, &g), &y) in dx.iter_mut().zip(g).zip(y) {
                *dx = T::of((g.into() - mean_g - y.into() * mean_gy) * inv);
            }
        });
    dx
}

fn plane_of(t: &FlexTensor) -> usize {
    let s = t.layout().shape();
    s[2] * s[3]
}

fn forward(x: &FlexTensor, eps: f64) -> (FlexTensor, Vec<f64>) {
    let shape = x.layout().shape().to_vec();
    let plane = plane_of(x);
    macro_rules! go {
        ($t:ty) => {{
            let (y, inv) = normalise(&values::<$t>(x), plane, eps);
            (flex_tensor(y, shape), inv)
        }};
    }
    match x.dtype() {
        DType::F64 => go!(f64),
        DType::F32 => go!(f32),
        other => panic!("the instance-norm host path runs in f32 or f64, not {other:?}"),
    }
}

#[derive(Debug)]
struct InstanceNormBackward;

impl Backward<Flex, 1> for InstanceNormBackward {
    /// The output (shared, not copied) and each plane's `1 / sqrt(var + eps)`.
    type State = (FlexTensor, Vec<f64>);
    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (y, inv) = ops.state;
        let g = grads.consume::<Flex>(&ops.node);
        let [Some(node)] = ops.parents else { return };
        let (shape, plane) = (y.layout().shape().to_vec(), plane_of(&y));
        let dx = match y.dtype() {
            DType::F64 => flex_tensor(input_grad(&values::<f64>(&y), &values::<f64>(&g), &inv, plane), shape),
            _ => flex_tensor(input_grad(&values::<f32>(&y), &values::<f32>(&g), &inv, plane), shape),
        };
        grads.register::<Flex>(node.id, dx);
    }
}

fn autodiff_instance_norm(x: FloatTensor<Autodiff<Flex>>, eps: f64) -> FloatTensor<Autodiff<Flex>> {
    let (out, inv) = forward(x.primitive(), eps);
    match InstanceNormBackward.prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((out.clone(), inv), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// Instance normalisation of `[B, C, H, W]` over each `H×W` plane, biased variance, no affine
/// part: the host op on Flex, [`instance_norm_composed`] elsewhere.
pub fn instance_norm(x: Tensor<4>, eps: f64) -> Tensor<4> {
    if resolve(FftImpl::Auto, &x) != FftImpl::Host {
        return instance_norm_composed(x, eps);
    }
    let d = x.into_dispatch();
    let kind = match flex_kind(d.kind, "instance norm") {
        FlexKind::Plain(p) => FlexKind::Plain(forward(&p, eps).0),
        FlexKind::Tracked(t) => FlexKind::Tracked(autodiff_instance_norm(t, eps)),
    };
    Tensor::from_dispatch(DispatchTensor { kind: kind.into_dispatch(), autodiff: d.autodiff })
}

/// The same normalisation from burn's tensor operations (any backend).
pub fn instance_norm_composed(x: Tensor<4>, eps: f64) -> Tensor<4> {
    let mean = x.clone().mean_dim(3).mean_dim(2);
    let centred = x - mean;
    let var = (centred.clone() * centred.clone()).mean_dim(3).mean_dim(2);
    centred / (var + eps).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::value_and_grad;
    use burn::tensor::{Device, TensorData};

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
        }
    }

    /// Values and input gradient against burn's composed normalisation, on planes with very
    /// different means and scales (an int16-like offset, a constant plane, a tiny one).
    #[test]
    fn instance_norm_equals_the_composed_one_with_its_gradient() {
        let (b, c, h, w) = (2, 3, 5, 7);
        let plane = h * w;
        let v: Vec<f32> = (0..b * c * plane)
            .map(|i| {
                let p = i / plane;
                let r = ((i * 37) % 23) as f32 / 7.0 - 1.5;
                match p {
                    1 => 1200.0 + 300.0 * r,
                    2 => 0.25,
                    4 => 1e-3 * r,
                    _ => r,
                }
            })
            .collect();
        let data = TensorData::new(v, [b, c, h, w]);
        let up: Vec<f32> = (0..b * c * plane).map(|i| ((i * 13) % 11) as f32 - 5.0).collect();
        let up = TensorData::new(up, [b, c, h, w]);
        let (y, gx) = value_and_grad(&|x| instance_norm(x, 1e-5), &data, &up);
        let (y0, gx0) = value_and_grad(&|x| instance_norm_composed(x, 1e-5), &data, &up);
        close(&y, &y0, 1e-4);
        close(&gx, &gx0, 2e-3);
        // Each plane of the output has mean 0 and (biased) variance var/(var+eps), ~1.
        for p in [0, 1, 3, 5] {
            let s = &y[p * plane..(p + 1) * plane];
            let mean = s.iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
            let var = s.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / plane as f64;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-3, "plane {p}: mean {mean}, var {var}");
        }
        // The constant plane normalises to exactly zero.
        assert!(y[2 * plane..3 * plane].iter().all(|&v| v == 0.0));
        // Without autodiff too.
        let plain = Tensor::<4>::from_data(data.clone(), &Device::flex());
        let flat = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(flat(instance_norm(plain, 1e-5)), y);
    }

    /// The gradient is the adjoint of the op's derivative: a central difference in f64 along a
    /// random direction equals `<dx, direction>`.
    #[test]
    fn instance_norm_gradient_matches_a_finite_difference() {
        let device = Device::flex().autodiff();
        let n = 2 * 2 * 4 * 4;
        let x: Vec<f64> = (0..n).map(|i| ((i * 29) % 17) as f64 / 5.0 - 1.0).collect();
        let dir: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        let up: Vec<f64> = (0..n).map(|i| ((i * 11) % 13) as f64 / 3.0 - 2.0).collect();
        let loss = |x: &[f64]| -> f64 {
            let t = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [2, 2, 4, 4]), (&Device::flex(), DType::F64));
            let y = instance_norm(t, 1e-5).into_data().try_to_vec::<f64>().unwrap();
            y.iter().zip(&up).map(|(a, b)| a * b).sum()
        };
        let t = Tensor::<4>::from_data(TensorData::new(x.clone(), [2, 2, 4, 4]), (&device, DType::F64)).require_grad();
        let u = Tensor::<4>::from_data(TensorData::new(up.clone(), [2, 2, 4, 4]), (&device, DType::F64));
        let g = (instance_norm(t.clone(), 1e-5) * u).sum().backward();
        let gx = t.grad(&g).unwrap().into_data().try_to_vec::<f64>().unwrap();
        let h = 1e-6;
        let shifted = |s: f64| x.iter().zip(&dir).map(|(a, d)| a + s * d).collect::<Vec<f64>>();
        let numeric = (loss(&shifted(h)) - loss(&shifted(-h))) / (2.0 * h);
        let analytic: f64 = gx.iter().zip(&dir).map(|(a, d)| a * d).sum();
        assert!((numeric - analytic).abs() < 1e-6 * (1.0 + analytic.abs()), "{numeric} vs {analytic}");
    }
}
