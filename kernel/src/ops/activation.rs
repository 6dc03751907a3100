//! LeakyReLU as one host autodiff op on Flex: `y = x·slope` where `x < 0`, else `x`; the
//! gradient `g·slope` where `x < 0`, else `g`. burn composes it from a comparison, a scaling
//! and a `mask_where`, each a fresh tensor in the forward pass and again in the backward (8% of
//! the U-Net step went to `mask_where` alone). The values are burn's exactly: the same products
//! in the same float type, no sums.

use super::{flex_kind, flex_tensor, resolve, values, FftImpl, FlexKind, Real};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, DispatchTensor, Flex};
use burn::tensor::{DType, Tensor};
use burn_flex::FlexTensor;

/// Where `x < 0`, `v · slope`; elsewhere `v` (the forward pass with `v = x`, the backward with
/// `v = g`). NaN inputs are not below zero, so they pass through as burn's do.
fn leaky<T: Real + PartialOrd + std::ops::Mul<Output = T>>(x: &[T], v: &[T], slope: T) -> Vec<T> {
    x.iter().zip(v).map(|(&x, &v)| if x < T::default() { v * slope } else { v }).collect()
}

fn apply(x: &FlexTensor, v: &FlexTensor, slope: f64) -> FlexTensor {
    let shape = x.layout().shape().to_vec();
    match x.dtype() {
        DType::F64 => flex_tensor(leaky(&values::<f64>(x), &values::<f64>(v), slope), shape),
        DType::F32 => flex_tensor(leaky(&values::<f32>(x), &values::<f32>(v), slope as f32), shape),
        other => panic!("the LeakyReLU host path runs in f32 or f64, not {other:?}"),
    }
}

#[derive(Debug)]
struct LeakyBackward;

impl Backward<Flex, 1> for LeakyBackward {
    type State = (FlexTensor, f64);
    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (x, slope) = ops.state;
        let g = grads.consume::<Flex>(&ops.node);
        if let [Some(node)] = ops.parents {
            grads.register::<Flex>(node.id, apply(&x, &g, slope));
        }
    }
}

fn autodiff_leaky(x: FloatTensor<Autodiff<Flex>>, slope: f64) -> FloatTensor<Autodiff<Flex>> {
    let px = x.primitive().clone();
    let out = apply(&px, &px, slope);
    match LeakyBackward.prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((px, slope), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// LeakyReLU with `slope` for negative inputs: the host op on Flex, burn's elsewhere.
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    if resolve(FftImpl::Auto, &x) != FftImpl::Host {
        return burn::tensor::activation::leaky_relu(x, slope);
    }
    let d = x.into_dispatch();
    let kind = match flex_kind(d.kind, "LeakyReLU") {
        FlexKind::Plain(p) => FlexKind::Plain(apply(&p, &p, slope)),
        FlexKind::Tracked(t) => FlexKind::Tracked(autodiff_leaky(t, slope)),
    };
    Tensor::from_dispatch(DispatchTensor { kind: kind.into_dispatch(), autodiff: d.autodiff })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::value_and_grad;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn leaky_relu_equals_burns_in_values_and_gradient() {
        let v: Vec<f32> = (0..2 * 3 * 4 * 5).map(|i| ((i * 37) % 23) as f32 / 7.0 - 1.5).collect();
        let mut v = v;
        v[0] = 0.0;
        v[1] = -0.0;
        let data = TensorData::new(v, [2, 3, 4, 5]);
        let up = TensorData::new((0..120).map(|i| ((i * 13) % 11) as f32 - 5.0).collect::<Vec<f32>>(), [2, 3, 4, 5]);
        let ours = value_and_grad(&|x| leaky_relu(x, 0.2), &data, &up);
        let burns = value_and_grad(&|x| burn::tensor::activation::leaky_relu(x, 0.2), &data, &up);
        assert_eq!(ours, burns);
        // Without autodiff too.
        let plain = Tensor::<4>::from_data(data.clone(), &Device::flex());
        assert_eq!(
            leaky_relu(plain.clone(), 0.2).into_data().try_to_vec::<f32>().unwrap(),
            burn::tensor::activation::leaky_relu(plain, 0.2).into_data().try_to_vec::<f32>().unwrap()
        );
    }
}
