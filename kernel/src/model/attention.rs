//! Attention over tokens (pixels) and over channels (Restormer's transposed attention, and
//! IMA's two-stream form of it).

use super::*;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let p = |name: &str| format!("{}.{name}", cx.node.path);
    let out = match &cx.node.op {
        Op::TokenAttention { heads } => {
            let (q, k, v) = (a(0), a(1), a(2));
            let [b, c, h, w] = q.dims();
            let d = c / *heads;
            let split = |t: Tensor<4>| t.reshape([b, *heads, d, h * w]).swap_dims(2, 3);
            let attn = activation::softmax(split(q).matmul(split(k).swap_dims(2, 3)) / (d as f64).sqrt(), 3);
            attn.matmul(split(v)).swap_dims(2, 3).reshape([b, c, h, w])
        }
        Op::MaskedTokenAttention { heads, chunk } => {
            let (q, k, v, m) = (a(0), a(1), a(2), a(3));
            let [b, c, hq, wq] = q.dims();
            let [mb, _, hk, wk] = m.dims();
            let (d, nq, nk) = (c / *heads, hq * wq, hk * wk);
            if (mb != b && mb != 1) || m.dims()[1] != 1 {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: the key mask is [{b} or 1, 1, {hk}, {wk}], got {:?}",
                    cx.node.path,
                    m.dims()
                ))));
            }
            let split = |t: Tensor<4>, n: usize| t.reshape([b, *heads, d, n]).swap_dims(2, 3);
            let kt = split(k, nk).swap_dims(2, 3) / (d as f64).sqrt();
            let vs = split(v, nk);
            // Masked keys get −1e9 before the softmax: exp underflows to exactly 0 in f32.
            let bias = (m.reshape([mb, 1, 1, nk]) - 1.0) * 1e9;
            let qs = split(q, nq);
            let step = if *chunk == 0 { nq } else { (*chunk).min(nq) };
            let mut parts = Vec::with_capacity(nq.div_ceil(step.max(1)));
            let mut start = 0;
            while start < nq {
                let len = step.min(nq - start);
                let scores = qs.clone().narrow(2, start, len).matmul(kt.clone()) + bias.clone();
                parts.push(activation::softmax(scores, 3).matmul(vs.clone()));
                start += len;
            }
            Tensor::cat(parts, 2).swap_dims(2, 3).reshape([b, c, hq, wq])
        }
        Op::ChannelAttention { channels, heads } => {
            let (q, k, v) = (a(0), a(1), a(2));
            let [b, _, h, w] = q.dims();
            let (c, n) = (*channels / *heads, h * w);
            let split = |t: Tensor<4>| t.reshape([b, *heads, c, n]);
            // F.normalize: x / max(‖x‖₂, eps) along H·W.
            let unit = |t: Tensor<4>| {
                let norm = (t.clone() * t.clone()).sum_dim(3).sqrt().clamp_min(1e-12);
                t / norm
            };
            let (q, k, v) = (unit(split(q)), unit(split(k)), split(v));
            let t = cx.model.param(&p("temperature")).reshape([1, *heads, 1, 1]);
            let attn = activation::softmax(q.matmul(k.swap_dims(2, 3)) * t, 3);
            attn.matmul(v).reshape([b, *channels, h, w])
        }
        Op::CrossChannelAttention { channels, heads } => {
            let [b, _, h, w] = a(0).dims();
            let (c, n) = (*channels / *heads, h * w);
            let split = |t: Tensor<4>| t.reshape([b, *heads, c, n]);
            let unit = |t: Tensor<4>| {
                let t = split(t);
                let norm = (t.clone() * t.clone()).sum_dim(3).sqrt().clamp_min(1e-12);
                t / norm
            };
            let affinity =
                unit(a(0)).matmul(unit(a(2)).swap_dims(2, 3)) + unit(a(1)).matmul(unit(a(3)).swap_dims(2, 3));
            let t = cx.model.param(&p("temperature")).reshape([1, *heads, 1, 1]);
            let attn = activation::softmax(affinity * t, 3);
            attn.matmul(split(a(4))).reshape([b, *channels, h, w])
        }
        _ => return None,
    };
    Some(Ok(out))
}
