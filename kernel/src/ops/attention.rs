//! Multi-head softmax attention whose memory does not grow with queries × keys: the forward pass
//! computes `softmax(q kᵀ/√d + bias) v` a chunk of queries at a time, and the backward pass
//! recomputes each chunk's probabilities instead of keeping them (burn's autodiff would keep
//! every chunk's `[B, heads, chunk, keys]` probabilities until the backward pass: at IGKR-Net's
//! 128×128 that is tens of GiB per image). Per chunk `c`, with `P = softmax(S)`, `dO` the
//! output gradient:
//!
//! ```text
//! dV += Pᵀ dO_c        dP = dO_c Vᵀ        dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √d
//! dQ_c = dS K          dK += dSᵀ Q_c
//! ```
//!
//! Written once over a backend's float primitives, so the same code serves Flex and CUDA. The
//! forward values are those of the plain chunked loop (the same products, sums and softmax in
//! the same order); only the gradients' summation order differs from burn's graph.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
#[cfg(feature = "cuda")]
use burn::backend::Cube;
use burn::backend::{Autodiff, Backend, BackendTensor, DispatchTensor, DispatchTensorKind, Flex, TensorMetadata};
use burn::tensor::{Slice, Tensor};

/// `softmax(q kᵀ/√d + bias) v` per batch item and head: `q` `[B, h, nq, d]`, `k` and `v` `[B,
/// h, nk, d]`, `bias` (no gradient) broadcast to `[B, h, nq, nk]`, e.g. `[B or 1, 1, 1, nk]`;
/// `chunk` queries at a time (0: all). Under autodiff the backward pass recomputes the
/// probabilities chunk by chunk.
pub fn chunked_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Option<Tensor<4>>, chunk: usize) -> Tensor<4> {
    let (qd, kd, vd) = (q.clone().into_dispatch(), k.clone().into_dispatch(), v.clone().into_dispatch());
    let context = qd.autodiff.merge(kd.autodiff).merge(vd.autodiff);
    let bias_kind = bias.clone().map(|b| b.detach().into_dispatch().kind);
    let kind = match (qd.kind, kd.kind, vd.kind) {
        (DispatchTensorKind::Autodiff(qa), DispatchTensorKind::Autodiff(ka), DispatchTensorKind::Autodiff(va)) => {
            match (*qa, *ka, *va) {
                (
                    DispatchTensorKind::Flex(BackendTensor::Autodiff(qt)),
                    DispatchTensorKind::Flex(BackendTensor::Autodiff(kt)),
                    DispatchTensorKind::Flex(BackendTensor::Autodiff(vt)),
                ) => {
                    let bias = bias_kind.map(|b| match inner(b) {
                        DispatchTensorKind::Flex(BackendTensor::Float(p)) => p,
                        DispatchTensorKind::Flex(BackendTensor::Autodiff(t)) => t.primitive().clone(),
                        _ => panic!("attention bias on another backend than its queries"),
                    });
                    let out = tracked::<Flex>(qt, kt, vt, bias, chunk);
                    DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Flex(BackendTensor::Autodiff(out))))
                }
                #[cfg(feature = "cuda")]
                (
                    DispatchTensorKind::Cube(BackendTensor::Autodiff(qt)),
                    DispatchTensorKind::Cube(BackendTensor::Autodiff(kt)),
                    DispatchTensorKind::Cube(BackendTensor::Autodiff(vt)),
                ) => {
                    let bias = bias_kind.map(|b| match inner(b) {
                        DispatchTensorKind::Cube(BackendTensor::Float(p)) => p,
                        DispatchTensorKind::Cube(BackendTensor::Autodiff(t)) => t.primitive().clone(),
                        _ => panic!("attention bias on another backend than its queries"),
                    });
                    let out = tracked::<Cube>(qt, kt, vt, bias, chunk);
                    DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Cube(BackendTensor::Autodiff(out))))
                }
                // Another backend under autodiff: burn's own graph (probabilities kept).
                _ => return plain(q, k, v, bias, chunk),
            }
        }
        // No autodiff: nothing is kept, the plain loop is the same computation.
        _ => return plain(q, k, v, bias, chunk),
    };
    Tensor::from_dispatch(DispatchTensor { kind, autodiff: context })
}

fn inner(kind: DispatchTensorKind) -> DispatchTensorKind {
    match kind {
        DispatchTensorKind::Autodiff(b) => *b,
        other => other,
    }
}

/// The same computation with burn's tensor operations (autodiff keeps every chunk's
/// probabilities).
pub fn plain(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Option<Tensor<4>>, chunk: usize) -> Tensor<4> {
    let [_, _, nq, d] = q.dims();
    let kt = k.swap_dims(2, 3);
    let step = if chunk == 0 { nq } else { chunk.min(nq) };
    let mut parts = Vec::with_capacity(nq.div_ceil(step.max(1)));
    let mut start = 0;
    while start < nq {
        let len = step.min(nq - start);
        let mut scores = q.clone().narrow(2, start, len).matmul(kt.clone()) / (d as f64).sqrt();
        if let Some(bias) = &bias {
            scores = scores + bias.clone();
        }
        parts.push(burn::tensor::activation::softmax(scores, 3).matmul(v.clone()));
        start += len;
    }
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Tensor::cat(parts, 2)
    }
}

/// The query rows `start..start + len` of `t` `[B, h, n, d]`.
fn rows<B: Backend>(t: &FloatTensor<B>, start: usize, len: usize) -> FloatTensor<B> {
    let full = Slice::new(0, None, 1);
    B::float_slice(t.clone(), &[full, full, Slice::new(start as isize, Some((start + len) as isize), 1), full])
}

/// `softmax(q_c kᵀ/√d + bias)` along the keys, as burn's softmax computes it (the row maximum
/// subtracted before `exp`).
fn probabilities<B: Backend>(
    q_c: FloatTensor<B>,
    kt: &FloatTensor<B>,
    bias: &Option<FloatTensor<B>>,
    d: usize,
) -> FloatTensor<B> {
    let mut s = B::float_div_scalar(B::float_matmul(q_c, kt.clone()), (d as f64).sqrt().into());
    if let Some(b) = bias {
        s = B::float_add(s, b.clone());
    }
    let m = B::float_max_dim(s.clone(), 3);
    let e = B::float_exp(B::float_sub(s, m));
    let z = B::float_sum_dim(e.clone(), 3);
    B::float_div(e, z)
}

fn chunks(nq: usize, chunk: usize) -> Vec<(usize, usize)> {
    let step = if chunk == 0 { nq } else { chunk.min(nq) }.max(1);
    (0..nq.div_ceil(step)).map(|i| (i * step, step.min(nq - i * step))).collect()
}

fn forward<B: Backend>(
    q: &FloatTensor<B>,
    k: &FloatTensor<B>,
    v: &FloatTensor<B>,
    bias: &Option<FloatTensor<B>>,
    chunk: usize,
) -> FloatTensor<B> {
    let shape = q.shape();
    let (nq, d) = (shape[2], shape[3]);
    let kt = B::float_swap_dims(k.clone(), 2, 3);
    let mut parts: Vec<FloatTensor<B>> = chunks(nq, chunk)
        .into_iter()
        .map(|(start, len)| B::float_matmul(probabilities::<B>(rows::<B>(q, start, len), &kt, bias, d), v.clone()))
        .collect();
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        B::float_cat(parts, 2)
    }
}

/// The saved inputs (shared buffers, not copies), the bias and the chunk size.
type State<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>, usize);

#[derive(Debug)]
struct AttentionBackward;

/// Backward passes run through this op (tests check that chunked attention takes this path).
#[cfg(test)]
static BACKWARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl<B: Backend> Backward<B, 3> for AttentionBackward {
    type State = State<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (q, k, v, bias, chunk) = ops.state;
        #[cfg(test)]
        BACKWARDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let g = grads.consume::<B>(&ops.node);
        let shape = q.shape();
        let (nq, d) = (shape[2], shape[3]);
        let kt = B::float_swap_dims(k.clone(), 2, 3);
        let vt = B::float_swap_dims(v.clone(), 2, 3);
        let (mut dq, mut dk, mut dv) = (Vec::new(), None::<FloatTensor<B>>, None::<FloatTensor<B>>);
        let add = |acc: Option<FloatTensor<B>>, t: FloatTensor<B>| Some(acc.map_or(t.clone(), |a| B::float_add(a, t)));
        for (start, len) in chunks(nq, chunk) {
            let q_c = rows::<B>(&q, start, len);
            let g_c = rows::<B>(&g, start, len);
            let p = probabilities::<B>(q_c.clone(), &kt, &bias, d);
            dv = add(dv, B::float_matmul(B::float_swap_dims(p.clone(), 2, 3), g_c.clone()));
            let dp = B::float_matmul(g_c, vt.clone());
            let row = B::float_sum_dim(B::float_mul(p.clone(), dp.clone()), 3);
            let ds = B::float_div_scalar(B::float_mul(p, B::float_sub(dp, row)), (d as f64).sqrt().into());
            dk = add(dk, B::float_matmul(B::float_swap_dims(ds.clone(), 2, 3), q_c));
            dq.push(B::float_matmul(ds, k.clone()));
        }
        let dq = if dq.len() == 1 { dq.remove(0) } else { B::float_cat(dq, 2) };
        let [pq, pk, pv] = ops.parents;
        for (parent, grad) in [(pq, Some(dq)), (pk, dk), (pv, dv)] {
            if let (Some(node), Some(grad)) = (parent, grad) {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

fn tracked<B: Backend>(
    q: FloatTensor<Autodiff<B>>,
    k: FloatTensor<Autodiff<B>>,
    v: FloatTensor<Autodiff<B>>,
    bias: Option<FloatTensor<B>>,
    chunk: usize,
) -> FloatTensor<Autodiff<B>> {
    let (pq, pk, pv) = (q.primitive().clone(), k.primitive().clone(), v.primitive().clone());
    let out = forward::<B>(&pq, &pk, &pv, &bias, chunk);
    match AttentionBackward.prepare::<NoCheckpointing>([q.node(), k.node(), v.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((pq, pk, pv, bias, chunk), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn data(shape: [usize; 4], seed: u64) -> TensorData {
        let n: usize = shape.iter().product();
        let mut s = seed;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect();
        TensorData::new(v, shape)
    }

    fn flat(t: Tensor<4>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Values and q/k/v gradients of `<f(q, k, v), up>` on Flex with autodiff.
    fn run(chunked: bool, chunk: usize, masked: bool) -> Vec<Vec<f32>> {
        let device = Device::flex().autodiff();
        let (b, h, nq, nk, d) = (2, 3, 7, 5, 4);
        let t = |shape, seed| Tensor::<4>::from_data(data(shape, seed), &device).require_grad();
        let (q, k, v) = (t([b, h, nq, d], 1), t([b, h, nk, d], 2), t([b, h, nk, d], 3));
        let bias = masked.then(|| {
            let m = TensorData::new(vec![1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0], [b, 1, 1, nk]);
            (Tensor::<4>::from_data(m, &device) - 1.0) * 1e9
        });
        let up = Tensor::<4>::from_data(data([b, h, nq, d], 4), &device);
        let y = if chunked {
            chunked_attention(q.clone(), k.clone(), v.clone(), bias, chunk)
        } else {
            plain(q.clone(), k.clone(), v.clone(), bias, 0)
        };
        let g = (y.clone() * up).sum().backward();
        vec![flat(y.detach()), flat(q.grad(&g).unwrap()), flat(k.grad(&g).unwrap()), flat(v.grad(&g).unwrap())]
    }

    #[test]
    fn chunked_attention_matches_burns_graph_in_values_and_gradients() {
        for masked in [false, true] {
            let reference = run(false, 0, masked);
            for chunk in [0, 1, 3, 7, 100] {
                let got = run(true, chunk, masked);
                // The forward values are bit-identical to the unchunked loop's.
                assert_eq!(got[0], reference[0], "values, chunk {chunk}, masked {masked}");
                for (which, (a, r)) in ["dq", "dk", "dv"].iter().zip(got[1..].iter().zip(&reference[1..])) {
                    let err = a.iter().zip(r).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                    let scale = r.iter().map(|y| y.abs()).fold(0.0f32, f32::max);
                    assert!(scale > 1e-3, "{which}: a gradient that is zero tests nothing");
                    assert!(err <= 1e-5 * scale.max(1.0), "{which}, chunk {chunk}, masked {masked}: {err}");
                }
            }
        }
    }

    #[test]
    fn chunked_attention_recomputes_in_its_own_backward_pass() {
        let before = BACKWARDS.load(std::sync::atomic::Ordering::SeqCst);
        run(true, 2, false);
        assert!(BACKWARDS.load(std::sync::atomic::Ordering::SeqCst) > before, "burn's graph ran instead");
    }

    #[test]
    fn masked_keys_get_no_gradient() {
        let got = run(true, 3, true);
        let (h, nk, d) = (3, 5, 4);
        let masked = [(0usize, 1usize), (0, 4), (1, 3)];
        for (bi, key) in masked {
            for hi in 0..h {
                for di in 0..d {
                    let i = ((bi * h + hi) * nk + key) * d + di;
                    assert_eq!(got[2][i], 0.0, "dk at batch {bi}, key {key}");
                    assert_eq!(got[3][i], 0.0, "dv at batch {bi}, key {key}");
                }
            }
        }
    }
}
