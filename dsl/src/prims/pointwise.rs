//! Element-wise operations: activations, arithmetic (`+ - *` of the language), scaling,
//! clean-up of non-finite values, softmax, learnable scales and averages, and dropout.

use super::*;

pub const FAMILY: Family = Family {
    names: &[
        "abs",
        "nan_to_num",
        "softmax",
        "learnable_scale",
        "weighted_average",
        "leaky_relu",
        "relu",
        "sigmoid",
        "tanh",
        "gelu",
        "prelu",
        "dropout",
        "dropout2d",
        "scale",
    ],
    signature,
    build,
    channels: |op, args| matches!(op, Op::Add | Op::Sub | Op::Mul).then(|| args[0].max(args[1])),
    spatial: |op, sizes| {
        matches!(op, Op::Add | Op::Sub | Op::Mul).then(|| {
            // Broadcasting: the larger extent wins where one side is 1.
            let pick = |a: &Extent, b: &Extent| if a == &Extent::literal(1) { b.clone() } else { a.clone() };
            [pick(&sizes[0][0], &sizes[1][0]), pick(&sizes[0][1], &sizes[1][1])]
        })
    },
    agreement: |op| match op {
        Op::Add | Op::Sub | Op::Mul => Some(Agreement { from: 0, broadcast: true, what: "operands" }),
        Op::WeightedAverage { .. } => Some(Agreement { from: 0, broadcast: false, what: "the averaged tensors" }),
        _ => None,
    },
    params: |op| match *op {
        Op::Prelu { num } => Some(vec![("weight", vec![num], Init::Constant(0.25), false)]),
        Op::LearnableScale { init } | Op::WeightedAverage { init } => {
            Some(vec![("scale", vec![1], Init::Constant(init), false)])
        }
        _ => None,
    },
    ..NONE
};

fn signature(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Float as F, Int as I};
    match name {
        "leaky_relu" => sig(vec![x(), opt("slope", Float, F(0.01))]),
        "relu" | "sigmoid" | "tanh" | "gelu" | "abs" => sig(vec![x()]),
        "prelu" => sig(vec![x(), opt("num", Int, I(1))]),
        "dropout" | "dropout2d" => sig(vec![x(), opt("p", Float, F(0.5))]),
        "scale" => sig(vec![x(), req("factor", Float)]),
        "nan_to_num" => sig(vec![
            x(),
            opt("nan", Float, F(0.0)),
            opt("posinf", Float, F(f32::MAX as f64)),
            opt("neginf", Float, F(f32::MIN as f64)),
        ]),
        "softmax" => sig(vec![x(), opt("dim", Int, I(1))]),
        "learnable_scale" => sig(vec![x(), opt("init", Float, F(1.0))]),
        "weighted_average" => sig(vec![req("a", Tensor), req("b", Tensor), opt("init", Float, F(1.0))]),
        _ => None,
    }
}

fn build(name: &str, b: &Bound) -> Built {
    let op = match name {
        "leaky_relu" => Op::LeakyRelu { slope: float(b, "slope") },
        "relu" => Op::Relu,
        "sigmoid" => Op::Sigmoid,
        "tanh" => Op::Tanh,
        "gelu" => Op::Gelu,
        "abs" => Op::Abs,
        "prelu" => {
            let (num, cin) = (pos(b, "num")?, cin(b));
            if num != 1 && num != cin {
                return Err(("num", format!("PReLU needs 1 slope or one per channel ({cin}), got {num}")));
            }
            Op::Prelu { num }
        }
        "dropout" | "dropout2d" => Op::Dropout { p: probability(b, "p")?, channelwise: name == "dropout2d" },
        "scale" => Op::Scale { factor: float(b, "factor") },
        "nan_to_num" => Op::NanToNum { nan: float(b, "nan"), posinf: float(b, "posinf"), neginf: float(b, "neginf") },
        "softmax" => match int(b, "dim")? {
            dim @ 1..=3 => Op::Softmax { dim },
            dim => return Err(("dim", format!("`dim` must be 1 (channels), 2 (rows) or 3 (columns), got {dim}"))),
        },
        "learnable_scale" => Op::LearnableScale { init: float(b, "init") },
        "weighted_average" => {
            let (a, c) = (b["a"].clone(), b["b"].clone());
            if channels(&a) != channels(&c) {
                return Err(("b", format!("`a` has {} channels but `b` has {}", channels(&a), channels(&c))));
            }
            let init = float(b, "init");
            if init < 0.0 {
                return Err(("init", format!("the weight is clamped at 0, so `init` must be ≥ 0, got {init}")));
            }
            return Ok((Op::WeightedAverage { init }, vec![a, c]));
        }
        _ => return not_ours(name),
    };
    one(b, op)
}
