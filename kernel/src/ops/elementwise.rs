//! Element-wise host autodiff ops on Flex, each one pass forward and one backward: LeakyReLU,
//! the sigmoid and `nan_to_num`.
//!
//! burn composes LeakyReLU and `nan_to_num` from comparisons, scalings and masks (`nan_to_num`:
//! six fresh tensors forward, three backward; 8% of the U-Net step went to LeakyReLU's
//! `mask_where` alone), and runs its fused sigmoid on one thread and again, from the input, in the
//! backward pass. FSMNet's fusion blocks end in a sigmoid gate and `nan_to_num`: fused, the
//! 64×64 FSMNet step went from 344-411 to 327-336 ms (alternating, `docs/benchmarks.md`).
//!
//! The loops stay on the calling thread. Split across rayon's two threads (tasks of at least 16 K
//! elements) they made the U-Net step slower, 22.3 against 17.5 ms: for a pass this cheap,
//! waking the other worker costs more than half the pass.
//!
//! The values are burn's exactly: each element goes through the same float operations in the
//! same order (burn-flex's `sigmoid_f32`, `g·s·(1 − s)`; the masks of `nan_to_num` in burn's
//! order, the gradient 0 wherever one of them replaced the value).

use super::{flex_kind, flex_tensor, resolve, values, FftImpl, FlexKind};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DispatchTensor, Flex};
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;

/// The float types of the element-wise ops.
trait Float:
    Copy
    + Send
    + Sync
    + PartialOrd
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + burn::tensor::Element
    + bytemuck::Pod
    + super::Real
{
    fn of(v: f64) -> Self;
    fn exp(self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! float {
    ($t:ident) => {
        impl Float for $t {
            fn of(v: f64) -> Self {
                v as $t
            }
            fn exp(self) -> Self {
                $t::exp(self)
            }
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
}
float!(f32);
float!(f64);

/// `f` of each pair `(a[i], b[i])`. Written as `extend` into a sized vector: in this crate's
/// light optimisation (`opt-level = 1`) `collect` here did not inline, and cost the U-Net step
/// 12 ms instead of 0.5.
fn map2<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len());
    out.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y)));
    out
}

/// One element-wise operation: its value and its gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pointwise {
    /// `x·slope` where `x < 0`, else `x`.
    Leaky { slope: f64 },
    /// `1 / (1 + e^−x)` (as `e^x / (1 + e^x)` below zero).
    Sigmoid,
    /// NaN → `nan`, then +∞ → `posinf`, then −∞ → `neginf` (PyTorch's `nan_to_num`).
    NanToNum { nan: f64, posinf: f64, neginf: f64 },
}

impl Pointwise {
    /// burn-flex's `sigmoid_f32` / `sigmoid_f64`.
    fn sigmoid<T: Float>(x: T) -> T {
        let one = T::of(1.0);
        if x >= T::of(0.0) {
            one / (one + (-x).exp())
        } else {
            let e = x.exp();
            e / (one + e)
        }
    }

    /// The value after `nan_to_num`'s three masks, and whether one of them replaced it.
    fn clean<T: Float>(x: T, nan: T, posinf: T, neginf: T) -> (T, bool) {
        let (inf, ninf) = (T::of(f64::INFINITY), T::of(f64::NEG_INFINITY));
        let mut v = x;
        let mut hit = false;
        if v.is_nan() {
            (v, hit) = (nan, true);
        }
        if v == inf {
            (v, hit) = (posinf, true);
        }
        if v == ninf {
            (v, hit) = (neginf, true);
        }
        (v, hit)
    }

    fn forward<T: Float>(self, x: &[T]) -> Vec<T> {
        match self {
            Pointwise::Leaky { slope } => {
                let s = T::of(slope);
                map2(x, x, |x, _| if x < T::of(0.0) { x * s } else { x })
            }
            Pointwise::Sigmoid => map2(x, x, |x, _| Self::sigmoid(x)),
            Pointwise::NanToNum { nan, posinf, neginf } => {
                let (n, p, m) = (T::of(nan), T::of(posinf), T::of(neginf));
                map2(x, x, |x, _| Self::clean(x, n, p, m).0)
            }
        }
    }

    /// The input's gradient from `g`; `state` is the input, or for the sigmoid its output.
    fn backward<T: Float>(self, state: &[T], g: &[T]) -> Vec<T> {
        let zero = T::of(0.0);
        match self {
            Pointwise::Leaky { slope } => {
                let s = T::of(slope);
                map2(state, g, |x, g| if x < zero { g * s } else { g })
            }
            // burn-flex's `sigmoid_backward`: `g · s · (1 − s)`.
            Pointwise::Sigmoid => map2(state, g, |s, g| g * s * (T::of(1.0) - s)),
            Pointwise::NanToNum { nan, posinf, neginf } => {
                let (n, p, m) = (T::of(nan), T::of(posinf), T::of(neginf));
                map2(state, g, |x, g| if Self::clean(x, n, p, m).1 { zero } else { g })
            }
        }
    }

    /// Whether the backward pass reads the output (else the input).
    fn keeps_output(self) -> bool {
        matches!(self, Pointwise::Sigmoid)
    }

    fn apply(self, x: &FlexTensor) -> FlexTensor {
        let shape = x.layout().shape().to_vec();
        match x.dtype() {
            DType::F64 => flex_tensor(self.forward(&values::<f64>(x)), shape),
            DType::F32 => flex_tensor(self.forward(&values::<f32>(x)), shape),
            other => panic!("the element-wise host ops run in f32 or f64, not {other:?}"),
        }
    }

    fn gradient(self, state: &FlexTensor, g: &FlexTensor) -> FlexTensor {
        let shape = state.layout().shape().to_vec();
        match state.dtype() {
            DType::F64 => flex_tensor(self.backward(&values::<f64>(state), &values::<f64>(g)), shape),
            DType::F32 => flex_tensor(self.backward(&values::<f32>(state), &values::<f32>(g)), shape),
            other => panic!("the element-wise host ops run in f32 or f64, not {other:?}"),
        }
    }
}

#[derive(Debug)]
struct PointwiseBackward;

impl Backward<Flex, 1> for PointwiseBackward {
    type State = (Pointwise, FlexTensor);
    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (op, state) = ops.state;
        let g = grads.consume::<Flex>(&ops.node);
        if let [Some(node)] = ops.parents {
            grads.register::<Flex>(node.id, op.gradient(&state, &g));
        }
    }
}

fn autodiff_pointwise(x: FloatTensor<Autodiff<Flex>>, op: Pointwise) -> FloatTensor<Autodiff<Flex>> {
    let px = x.primitive().clone();
    let out = op.apply(&px);
    match PointwiseBackward.prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let state = if op.keeps_output() { out.clone() } else { px };
            prep.finish((op, state), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// `op` on Flex through the host op; `None` on other backends.
fn on_host(x: &Tensor<4>, op: Pointwise) -> Option<Tensor<4>> {
    if resolve(FftImpl::Auto, x) != FftImpl::Host {
        return None;
    }
    let d = x.clone().into_dispatch();
    let kind = match flex_kind(d.kind, "element-wise") {
        FlexKind::Plain(p) => FlexKind::Plain(op.apply(&p)),
        FlexKind::Tracked(t) => FlexKind::Tracked(autodiff_pointwise(t, op)),
    };
    Some(Tensor::from_dispatch(DispatchTensor { kind: kind.into_dispatch(), autodiff: d.autodiff }))
}

/// LeakyReLU with `slope` for negative inputs: the host op on Flex, burn's elsewhere.
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    on_host(&x, Pointwise::Leaky { slope }).unwrap_or_else(|| burn::tensor::activation::leaky_relu(x, slope))
}

/// The logistic sigmoid: the host op on Flex, burn's elsewhere.
pub fn sigmoid(x: Tensor<4>) -> Tensor<4> {
    on_host(&x, Pointwise::Sigmoid).unwrap_or_else(|| burn::tensor::activation::sigmoid(x))
}

/// PyTorch's `nan_to_num`: NaN → `nan`, then +∞ → `posinf`, then −∞ → `neginf`; the gradient
/// passes where nothing was replaced. The host op on Flex, burn's masks elsewhere.
pub fn nan_to_num(x: Tensor<4>, nan: f64, posinf: f64, neginf: f64) -> Tensor<4> {
    on_host(&x, Pointwise::NanToNum { nan, posinf, neginf }).unwrap_or_else(|| burns_nan_to_num(x, nan, posinf, neginf))
}

/// `nan_to_num` from burn's masks (other backends, and the reference of the tests).
fn burns_nan_to_num(x: Tensor<4>, nan: f64, posinf: f64, neginf: f64) -> Tensor<4> {
    let x = x.clone().mask_fill(x.is_nan(), nan);
    let x = x.clone().mask_fill(x.equal_elem(f32::INFINITY), posinf);
    x.clone().mask_fill(x.equal_elem(f32::NEG_INFINITY), neginf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::value_and_grad;
    use burn::tensor::{Device, TensorData};

    /// Values with ±0, NaN and ±∞ among them; `n` elements.
    fn awkward(n: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..n).map(|i| ((i * 37) % 2311) as f32 / 97.0 - 11.9).collect();
        v[0] = 0.0;
        v[1] = -0.0;
        for (i, s) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 88.7, -88.7, 1e-30, -1e-30].iter().enumerate() {
            v[2 + 5 * i] = *s;
            v[n - 1 - 7 * i] = *s;
        }
        v
    }

    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn each_op_equals_burns_bit_for_bit_in_values_and_gradient() {
        for shape in [[2, 3, 4, 5], [4, 16, 32, 33]] {
            let n: usize = shape.iter().product();
            let data = TensorData::new(awkward(n), shape);
            let up = TensorData::new((0..n).map(|i| ((i * 13) % 11) as f32 - 5.0).collect::<Vec<f32>>(), shape);
            let cases: [(&str, &dyn Fn(Tensor<4>) -> Tensor<4>, &dyn Fn(Tensor<4>) -> Tensor<4>); 4] = [
                ("leaky_relu", &|x| leaky_relu(x, 0.2), &|x| burn::tensor::activation::leaky_relu(x, 0.2)),
                ("sigmoid", &sigmoid, &burn::tensor::activation::sigmoid),
                ("nan_to_num", &|x| nan_to_num(x, 1e-5, 1e-5, 1e-5), &|x| burns_nan_to_num(x, 1e-5, 1e-5, 1e-5)),
                // Replacements that are themselves infinite chain as burn's masks do.
                ("nan_to_num chained", &|x| nan_to_num(x, f64::INFINITY, f64::NEG_INFINITY, 3.0), &|x| {
                    burns_nan_to_num(x, f64::INFINITY, f64::NEG_INFINITY, 3.0)
                }),
            ];
            for (name, ours, burns) in cases {
                let (ov, og) = value_and_grad(ours, &data, &up);
                let (bv, bg) = value_and_grad(burns, &data, &up);
                assert!(same(&ov, &bv), "{name} {shape:?}: values differ from burn's");
                assert!(same(&og, &bg), "{name} {shape:?}: gradients differ from burn's");
                // Without autodiff too.
                let plain = Tensor::<4>::from_data(data.clone(), &Device::flex());
                let flat = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
                assert!(same(&flat(ours(plain.clone())), &flat(burns(plain))), "{name} {shape:?}: plain values differ");
            }
        }
    }
}
