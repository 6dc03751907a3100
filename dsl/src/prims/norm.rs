//! Normalisations: instance, batch, layer (over channels), and the channel standard deviation.

use super::*;

pub const FAMILY: Family = Family {
    names: &["instance_norm", "batch_norm", "layer_norm", "channel_std"],
    signature,
    build,
    channels: |op, _| matches!(op, Op::ChannelStd).then_some(1),
    params,
    ..NONE
};

fn signature(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Bool as B, Float as F};
    match name {
        "instance_norm" => sig(vec![x(), opt("eps", Float, F(1e-5)), opt("affine", Bool, B(false))]),
        "batch_norm" => sig(vec![x(), opt("eps", Float, F(1e-5)), opt("momentum", Float, F(0.1))]),
        "layer_norm" => sig(vec![x(), opt("eps", Float, F(1e-5))]),
        "channel_std" => sig(vec![x()]),
        _ => None,
    }
}

fn build(name: &str, b: &Bound) -> Built {
    let channels = cin(b);
    let op = match name {
        "instance_norm" => Op::InstanceNorm { channels, eps: float(b, "eps"), affine: boolean(b, "affine") },
        "batch_norm" => Op::BatchNorm { channels, eps: float(b, "eps"), momentum: float(b, "momentum") },
        "layer_norm" => Op::LayerNorm { channels, eps: float(b, "eps") },
        "channel_std" => Op::ChannelStd,
        _ => return not_ours(name),
    };
    one(b, op)
}

fn params(op: &Op) -> Option<Vec<ParamOf>> {
    let affine = |c: usize| vec![("weight", vec![c], Init::Ones, false), ("bias", vec![c], Init::Zeros, false)];
    Some(match *op {
        Op::InstanceNorm { channels, affine: true, .. } | Op::LayerNorm { channels, .. } => affine(channels),
        Op::BatchNorm { channels, .. } => {
            let mut v = affine(channels);
            v.push(("running_mean", vec![channels], Init::Zeros, true));
            v.push(("running_var", vec![channels], Init::Ones, true));
            v
        }
        _ => return None,
    })
}
