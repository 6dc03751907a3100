//! Attention over tokens (pixels), over channels (Restormer's transposed attention, and IMA's
//! two-stream form of it), over the pixels of windows (IMA's two-stream form in Swin's windows),
//! over layers (MINet's LAM) and over tokens with projected keys (EPA, DCAMSR's DCA).

use super::*;

pub const FAMILY: Family = Family {
    names: &[
        "token_attention",
        "masked_token_attention",
        "channel_attention",
        "cross_channel_attention",
        "cross_window_attention",
        "layer_attention",
        "projected_attention",
    ],
    signature: |name| {
        use Kind::*;
        let heads = || opt("heads", Int, Value::Int(8));
        match name {
            "token_attention" => sig(vec![req("q", Tensor), req("k", Tensor), req("v", Tensor), heads()]),
            "channel_attention" => sig(vec![
                req("q", Tensor),
                req("k", Tensor),
                req("v", Tensor),
                heads(),
                opt("dropout", Float, Value::Float(0.0)),
            ]),
            "masked_token_attention" => sig(vec![
                req("q", Tensor),
                req("k", Tensor),
                req("v", Tensor),
                req("key_mask", Tensor),
                heads(),
                opt("chunk", Int, Value::Int(0)),
            ]),
            "layer_attention" => sig(vec![x(), req("groups", Int)]),
            "projected_attention" => sig(vec![
                req("q", Tensor),
                req("k", Tensor),
                req("v", Tensor),
                heads(),
                req("tokens", Int),
                opt("proj", Int, Value::Int(64)),
                opt("dropout", Float, Value::Float(0.0)),
            ]),
            "cross_channel_attention" | "cross_window_attention" => {
                let mut args: Vec<_> = ["q1", "q2", "k1", "k2", "v"].into_iter().map(|n| req(n, Tensor)).collect();
                args.push(heads());
                if name == "cross_window_attention" {
                    args.push(opt("window", Int, Value::Int(8)));
                }
                sig(args)
            }
            _ => None,
        }
    },
    build,
    agreement: |op| match op {
        Op::ChannelAttention { .. }
        | Op::CrossChannelAttention { .. }
        | Op::CrossWindowAttention { .. }
        | Op::ProjectedAttention { .. } => Some(Agreement { from: 0, broadcast: false, what: "arguments" }),
        // Queries may sit on another grid than keys and values.
        Op::TokenAttention { .. } => Some(Agreement { from: 1, broadcast: false, what: "keys and values" }),
        Op::MaskedTokenAttention { .. } => {
            Some(Agreement { from: 1, broadcast: false, what: "keys, values and their mask" })
        }
        _ => None,
    },
    params: |op| match *op {
        Op::ChannelAttention { heads, .. } | Op::CrossChannelAttention { heads, .. } => {
            Some(vec![("temperature", vec![heads, 1, 1], Init::Ones, false)])
        }
        Op::CrossWindowAttention { heads, window, .. } => {
            let span = 2 * window - 1;
            Some(vec![("relative_position_bias_table", vec![span * span, heads], Init::Normal(0.02), false)])
        }
        Op::ProjectedAttention { heads, tokens, proj, .. } => Some(vec![
            ("temperature2", vec![heads, 1, 1], Init::Ones, false),
            ("E.weight", vec![proj, tokens], Init::KaimingUniform { fan_in: tokens }, false),
            ("E.bias", vec![proj], Init::BiasUniform { fan_in: tokens }, false),
        ]),
        _ => None,
    },
    ..NONE
};

/// The `q`, `k`, `v` arguments, checked: equal channel counts that split into `heads`.
/// Returns the head count, the channel count and the three inputs in order.
fn attention_inputs(b: &Bound) -> Result<(usize, usize, Vec<Value>), (&'static str, String)> {
    let (q, k, v) = (b["q"].clone(), b["k"].clone(), b["v"].clone());
    let heads = pos(b, "heads")?;
    let c = channels(&q);
    if channels(&k) != c || channels(&v) != c {
        return Err((
            "k",
            format!("q, k and v need the same channels, got {c}, {} and {}", channels(&k), channels(&v)),
        ));
    }
    if c % heads != 0 {
        return Err(("heads", format!("{c} channels do not split into {heads} heads")));
    }
    Ok((heads, c, vec![q, k, v]))
}

fn build(name: &str, b: &Bound) -> Built {
    if name == "layer_attention" {
        let (groups, c) = (pos(b, "groups")?, cin(b));
        if c % groups != 0 {
            return Err(("groups", format!("{c} channels do not split into {groups} layers")));
        }
        return one(b, Op::LayerAttention { groups });
    }
    if name == "cross_channel_attention" || name == "cross_window_attention" {
        let names = ["q1", "q2", "k1", "k2", "v"];
        let inputs: Vec<Value> = names.iter().map(|n| b[n].clone()).collect();
        let c = channels(&inputs[0]);
        if let Some(i) = (1..5).find(|&i| channels(&inputs[i]) != c) {
            return Err((names[i], format!("q1 has {c} channels but {} has {}", names[i], channels(&inputs[i]))));
        }
        let heads = pos(b, "heads")?;
        if c % heads != 0 {
            return Err(("heads", format!("{c} channels do not split into {heads} heads")));
        }
        if name == "cross_window_attention" {
            return Ok((Op::CrossWindowAttention { channels: c, heads, window: pos(b, "window")? }, inputs));
        }
        return Ok((Op::CrossChannelAttention { channels: c, heads }, inputs));
    }
    if name == "masked_token_attention" {
        let (heads, _, mut inputs) = attention_inputs(b)?;
        let key_mask = b["key_mask"].clone();
        if !matches!(key_mask, Value::Tensor { channels: 1, complex: false, .. }) {
            return Err(("key_mask", format!("a key mask has one real channel, got {}", channels(&key_mask))));
        }
        inputs.push(key_mask);
        return Ok((Op::MaskedTokenAttention { heads, chunk: int(b, "chunk")? }, inputs));
    }
    if name == "projected_attention" {
        let (heads, channels, inputs) = attention_inputs(b)?;
        return Ok((
            Op::ProjectedAttention {
                channels,
                heads,
                tokens: pos(b, "tokens")?,
                proj: pos(b, "proj")?,
                dropout: probability(b, "dropout")?,
            },
            inputs,
        ));
    }
    let (heads, channels, inputs) = attention_inputs(b)?;
    match name {
        "token_attention" => Ok((Op::TokenAttention { heads }, inputs)),
        "channel_attention" => {
            Ok((Op::ChannelAttention { channels, heads, dropout: probability(b, "dropout")? }, inputs))
        }
        _ => not_ours(name),
    }
}
