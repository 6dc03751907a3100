//! Attention over tokens (pixels) and over channels (Restormer's transposed attention).

use super::*;

pub const FAMILY: Family = Family {
    names: &["token_attention", "channel_attention"],
    signature: |name| {
        use Kind::*;
        let qkv = || vec![req("q", Tensor), req("k", Tensor), req("v", Tensor), opt("heads", Int, Value::Int(8))];
        matches!(name, "token_attention" | "channel_attention").then(|| Sig { params: qkv(), variadic: false })
    },
    build,
    agreement: |op| match op {
        Op::ChannelAttention { .. } => Some(Agreement { from: 0, broadcast: false, what: "arguments" }),
        // Queries may sit on another grid than keys and values.
        Op::TokenAttention { .. } => Some(Agreement { from: 1, broadcast: false, what: "keys and values" }),
        _ => None,
    },
    params: |op| match *op {
        Op::ChannelAttention { heads, .. } => Some(vec![("temperature", vec![heads, 1, 1], Init::Ones, false)]),
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
    let token = match name {
        "token_attention" => true,
        "channel_attention" => false,
        _ => return not_ours(name),
    };
    let (heads, channels, inputs) = attention_inputs(b)?;
    Ok((if token { Op::TokenAttention { heads } } else { Op::ChannelAttention { channels, heads } }, inputs))
}
