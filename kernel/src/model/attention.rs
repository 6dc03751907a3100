//! Attention over tokens (pixels), over channels (Restormer's transposed attention, and IMA's
//! two-stream form of it), over the pixels of windows (IMA's two-stream form in Swin's windows),
//! over layers (MINet's LAM) and over tokens with projected keys (EPA, DCAMSR's DCA).

use super::*;
use burn::tensor::Int;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let p = |name: &str| format!("{}.{name}", cx.node.path);
    let out = match &cx.node.op {
        Op::TokenAttention { heads } => token_attention(a(0), a(1), a(2), *heads, None, 0),
        Op::MaskedTokenAttention { heads, chunk } => {
            let (m, b) = (a(3), cx.args[0].dims()[0]);
            if (m.dims()[0] != b && m.dims()[0] != 1) || m.dims()[1] != 1 {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: the key mask is [{b} or 1, 1, H, W], got {:?}",
                    cx.node.path,
                    m.dims()
                ))));
            }
            token_attention(a(0), a(1), a(2), *heads, Some(m), *chunk)
        }
        Op::ChannelAttention { channels, heads, dropout } => {
            let (q, k, v) = (a(0), a(1), a(2));
            let [b, _, h, w] = q.dims();
            let (c, n) = (*channels / *heads, h * w);
            let split = |t: Tensor<4>| t.reshape([b, *heads, c, n]);
            let (q, k, v) = (unit(split(q)), unit(split(k)), split(v));
            let t = cx.model.param(&p("temperature")).reshape([1, *heads, 1, 1]);
            let attn = match cx.dropout(activation::softmax(q.matmul(k.swap_dims(2, 3)) * t, 3), *dropout, false) {
                Ok(attn) => attn,
                Err(e) => return Some(Err(e)),
            };
            attn.matmul(v).reshape([b, *channels, h, w])
        }
        Op::LayerAttention { groups } => {
            let x = a(0);
            let [b, c, h, w] = x.dims();
            let f = x.reshape([b, 1, *groups, c / *groups * h * w]);
            let energy = f.clone().matmul(f.clone().swap_dims(2, 3));
            // softmax(max_j E_ij − E_ij) = softmax(−E_ij): the softmax subtracts its own maximum.
            activation::softmax(energy.neg(), 3).matmul(f).reshape([b, c, h, w])
        }
        Op::ProjectedAttention { channels, heads, tokens, proj, dropout } => {
            let [b, _, h, w] = a(0).dims();
            if h * w != *tokens {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: its projection is over {tokens} tokens, but the input has {h}x{w} = {}",
                    cx.node.path,
                    h * w
                ))));
            }
            let (d, n) = (*channels / *heads, h * w);
            let split = |t: Tensor<4>| t.reshape([b, *heads, d, n]);
            let e = cx.model.param(&p("E.weight")).reshape([1, 1, *proj, n]).swap_dims(2, 3);
            let eb = cx.model.param1(&p("E.bias")).reshape([1, 1, 1, *proj]);
            let project = |t: Tensor<4>| t.matmul(e.clone()) + eb.clone();
            let (q, k, v) = (unit(split(a(0))), project(unit(split(a(1)))), project(split(a(2))));
            let t = cx.model.param(&p("temperature2")).reshape([1, *heads, 1, 1]);
            let attn = match cx.dropout(activation::softmax(q.swap_dims(2, 3).matmul(k) * t, 3), *dropout, false) {
                Ok(attn) => attn,
                Err(e) => return Some(Err(e)),
            };
            // [B, heads, N, d] → the official permute(0, 3, 1, 2) → [B, d, heads, N], read as [B, N, C].
            let x = attn.matmul(v.swap_dims(2, 3)).permute([0, 3, 1, 2]).reshape([b, n, *channels]);
            x.swap_dims(1, 2).reshape([b, *channels, h, w])
        }
        Op::CrossChannelAttention { channels, heads } => {
            let [b, _, h, w] = a(0).dims();
            let (c, n) = (*channels / *heads, h * w);
            let split = |t: Tensor<4>| t.reshape([b, *heads, c, n]);
            let unit = |t: Tensor<4>| unit(split(t));
            let affinity =
                unit(a(0)).matmul(unit(a(2)).swap_dims(2, 3)) + unit(a(1)).matmul(unit(a(3)).swap_dims(2, 3));
            let t = cx.model.param(&p("temperature")).reshape([1, *heads, 1, 1]);
            let attn = activation::softmax(affinity * t, 3);
            attn.matmul(split(a(4))).reshape([b, *channels, h, w])
        }
        Op::CrossWindowAttention { channels, heads, window } => {
            let [b, _, h, w] = a(0).dims();
            if h % window != 0 || w % window != 0 {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: windows of {window}x{window} do not tile a {h}x{w} input (H and W must be multiples of {window})",
                    cx.node.path
                ))));
            }
            let (d, win, p2) = (*channels / *heads, *window, window * window);
            let nw = (h / win) * (w / win);
            // [B, C, H, W] → [B·heads, windows, P, d], windows row-major, pixels row-major.
            let part = |t: Tensor<4>| {
                t.reshape([b * *heads, d, h / win, win, w / win, win]).permute([0, 2, 4, 3, 5, 1]).reshape([
                    b * *heads,
                    nw,
                    p2,
                    d,
                ])
            };
            let affinity =
                part(a(0)).matmul(part(a(2)).swap_dims(2, 3)) + part(a(1)).matmul(part(a(3)).swap_dims(2, 3));
            let bias = relative_position_bias(cx.model.param(&p("relative_position_bias_table")), *heads, win);
            let logits = (affinity * (1.0 / ((2 * d) as f64).sqrt())).reshape([b, *heads, nw, p2 * p2]) + bias;
            let attn = activation::softmax(logits.reshape([b * *heads, nw, p2, p2]), 3);
            let o = attn.matmul(part(a(4)));
            o.reshape([b * *heads, h / win, w / win, win, win, d])
                .permute([0, 5, 1, 3, 2, 4])
                .reshape([b, *channels, h, w])
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// `F.normalize` along the last axis: `x / max(‖x‖₂, 1e-12)`.
/// Swin's relative position bias of a `window × window` window, `[1, heads, 1, P·P]` (P =
/// window²), from the table `[(2·window − 1)², heads]`: entry `(i, j)` is the table's row
/// `(Δrow + window − 1)·(2·window − 1) + Δcol + window − 1` for pixels `i`, `j` of the window.
fn relative_position_bias(table: Tensor<4>, heads: usize, window: usize) -> Tensor<4> {
    let (p2, span) = (window * window, 2 * window - 1);
    let mut index = Vec::with_capacity(p2 * p2);
    for i in 0..p2 {
        for j in 0..p2 {
            let (dr, dc) = ((i / window + window - 1 - j / window), (i % window + window - 1 - j % window));
            index.push((dr * span + dc) as i64);
        }
    }
    let device = table.device();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [p2 * p2]), &device);
    let table = table.reshape([span * span, heads]);
    table.select(0, index).swap_dims(0, 1).reshape([1, heads, 1, p2 * p2])
}

fn unit(t: Tensor<4>) -> Tensor<4> {
    let norm = (t.clone() * t.clone()).sum_dim(3).sqrt().clamp_min(1e-12);
    t / norm
}

/// Multi-head `softmax(q kᵀ/√d) v` over the tokens of each grid (queries and keys may differ),
/// the keys where `key_mask` is 0 left out (−1e9 before the softmax: exp underflows to exactly 0
/// in f32), `chunk` queries at a time (0: all). With chunks, neither pass holds more than one
/// chunk's scores: the backward pass recomputes them ([`crate::ops::attention`]).
fn token_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    heads: usize,
    key_mask: Option<Tensor<4>>,
    chunk: usize,
) -> Tensor<4> {
    let [b, c, hq, wq] = q.dims();
    let [_, _, hk, wk] = k.dims();
    let (d, nq, nk) = (c / heads, hq * wq, hk * wk);
    let split = |t: Tensor<4>, n: usize| t.reshape([b, heads, d, n]).swap_dims(2, 3);
    let (qs, ks, vs) = (split(q, nq), split(k, nk), split(v, nk));
    let bias = key_mask.map(|m| {
        let mb = m.dims()[0];
        (m.reshape([mb, 1, 1, nk]) - 1.0) * 1e9
    });
    let out = if chunk == 0 {
        crate::ops::attention::plain(qs, ks, vs, bias, 0)
    } else {
        crate::ops::attention::chunked_attention(qs, ks, vs, bias, chunk)
    };
    out.swap_dims(2, 3).reshape([b, c, hq, wq])
}
