//! Element-wise operations: activations, arithmetic, constants, clean-up of non-finite values,
//! learnable scales and averages, and dropout (`dropout.rs` draws its masks).

use super::*;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let p = |name: &str| format!("{}.{name}", cx.node.path);
    let out = match &cx.node.op {
        Op::LeakyRelu { slope } => crate::ops::elementwise::leaky_relu(a(0), *slope),
        Op::Relu => activation::relu(a(0)),
        Op::Sigmoid => crate::ops::elementwise::sigmoid(a(0)),
        Op::Tanh => activation::tanh(a(0)),
        Op::Gelu => activation::gelu(a(0)),
        Op::Prelu { .. } => activation::prelu(a(0), cx.model.param1(&p("weight"))),
        Op::Dropout { p, channelwise } => return Some(cx.dropout(a(0), *p, *channelwise)),
        Op::Add => a(0) + a(1),
        Op::Sub => a(0) - a(1),
        Op::Mul => a(0) * a(1),
        Op::Scale { factor } => a(0) * *factor,
        Op::AddConst { value } => a(0) + *value,
        Op::NanToNum { nan, posinf, neginf } => crate::ops::elementwise::nan_to_num(a(0), *nan, *posinf, *neginf),
        Op::Softmax { dim } => activation::softmax(a(0), *dim),
        Op::Abs => a(0).abs(),
        Op::LearnableScale { .. } => a(0) * cx.model.param1(&p("scale")).reshape([1, 1, 1, 1]),
        Op::WeightedAverage { .. } => {
            let w = cx.model.param1(&p("scale")).reshape([1, 1, 1, 1]).clamp_min(0.0);
            (a(0) + a(1) * w.clone()) / (w + 1.0)
        }
        _ => return None,
    };
    Some(Ok(out))
}
