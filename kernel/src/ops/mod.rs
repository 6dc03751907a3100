//! Differentiable spectral operations on burn tensors: `fft2`, `ifft2`, `rfft2`, `irfft2`,
//! magnitude, phase and polar. Semantics match PyTorch (`torch.fft.*` with `norm=`, plus the
//! fastMRI centring for the complex transforms), at any size, odd sizes included.
//!
//! Complex values are pairs of real tensors `(re, im)`, each `[B, C, H, W]`.
//!
//! **Two implementations, chosen by measurement** (see `benches/physics.rs`):
//! * [`FftImpl::Host`] — a custom autodiff operation: the forward pass runs rustfft on the host
//!   buffer and the backward pass runs the exact adjoint transform (see [`spectral`]). On the Flex
//!   CPU backend this is about an order of magnitude faster than the dense DFT.
//! * [`FftImpl::Dense`] — the transform as dense DFT matrices (`Y = M_H · X · M_Wᵀ`, shifts and
//!   scale folded into the matrices), built from ordinary burn matmuls, so it is differentiable
//!   on every backend and runs as GEMM on a GPU.
//!
//! [`FftImpl::Auto`] uses `Host` on Flex and `Dense` elsewhere (CUDA).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use mcmr::fft::Norm;
//! use mcmr::ops::{fft2, ifft2};
//! let device = Device::flex();
//! let re = Tensor::<4>::ones([1, 1, 5, 6], &device);
//! let im = Tensor::<4>::zeros([1, 1, 5, 6], &device);
//! let (kr, ki) = fft2(re.clone(), im, Norm::Ortho, true);
//! let (back, _) = ifft2(kr, ki, Norm::Ortho, true);
//! let err: f32 = (back - re).abs().max().into_scalar();
//! assert!(err < 1e-5);
//! ```

pub mod attention;
pub mod conv;
mod dense;
pub mod depthwise;
pub mod elementwise;
pub mod norm;
pub mod spectral;
pub mod unfold;

use crate::fft::Norm;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, BackendTensor, DispatchTensor, DispatchTensorKind, Flex, TensorMetadata};
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexTensor;
use conv::{Conv, Real};
use depthwise::Depthwise;
use spectral::SpectralOp;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use unfold::Unfold;

/// Which implementation of the spectral transforms to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FftImpl {
    /// `Host` on the Flex CPU backend, `Dense` on any other backend.
    Auto,
    /// Custom autodiff op over rustfft (reads tensors to host memory).
    Host,
    /// Dense DFT matrices with burn matmuls.
    Dense,
}

fn resolve(imp: FftImpl, t: &Tensor<4>) -> FftImpl {
    match imp {
        FftImpl::Auto => {
            let kind = t.clone().into_dispatch().kind;
            let on_flex = match kind {
                DispatchTensorKind::Flex(_) => true,
                DispatchTensorKind::Autodiff(inner) => matches!(*inner, DispatchTensorKind::Flex(_)),
                #[allow(unreachable_patterns)]
                _ => false,
            };
            if on_flex {
                FftImpl::Host
            } else {
                FftImpl::Dense
            }
        }
        other => other,
    }
}

/// A linear operation the host path runs, with its exact adjoint as the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostOp {
    Spectral(SpectralOp),
}

impl HostOp {
    fn adjoint(self, in_width: usize) -> HostOp {
        match self {
            HostOp::Spectral(s) => HostOp::Spectral(s.adjoint(in_width)),
        }
    }
}

/// A stride-1 depthwise `k×k` convolution with zero padding `pad`, without bias: `x` `[B, C, H,
/// W]`, `w` `[C, 1, k, k]` → `[B, C, oh, ow]`. On Flex a custom autodiff op over host buffers
/// ([`depthwise`]: forward, input and weight gradients as row loops); elsewhere burn's grouped
/// convolution.
pub fn depthwise_conv2d(x: Tensor<4>, w: Tensor<4>, pad: usize) -> Tensor<4> {
    let [_, c, h, wd] = x.dims();
    let k = w.dims()[2];
    if resolve(FftImpl::Auto, &x) != FftImpl::Host {
        let opts = burn::tensor::ops::ConvOptions::new([1, 1], [pad, pad], [1, 1], c);
        return burn::tensor::module::conv2d(x, w, None, opts);
    }
    let d = Depthwise(Unfold { channels: c, height: h, width: wd, kernel: k, pad });
    let (x, w) = (x.into_dispatch(), w.into_dispatch());
    let context = x.autodiff.merge(w.autodiff);
    let kind = match (flex_kind(x.kind, "depthwise"), flex_kind(w.kind, "depthwise")) {
        (FlexKind::Plain(x), FlexKind::Plain(w)) => FlexKind::Plain(depthwise_forward(&d, &x, &w)),
        (FlexKind::Tracked(x), FlexKind::Tracked(w)) => FlexKind::Tracked(autodiff_depthwise(x, w, d)),
        _ => panic!("depthwise convolution inputs mix autodiff and plain tensors"),
    };
    Tensor::from_dispatch(DispatchTensor { kind: kind.into_dispatch(), autodiff: context })
}

/// A float tensor of the Flex backend, plain or under autodiff.
enum FlexKind {
    Plain(FlexTensor),
    Tracked(FloatTensor<Autodiff<Flex>>),
}

impl FlexKind {
    fn into_dispatch(self) -> DispatchTensorKind {
        match self {
            FlexKind::Plain(p) => DispatchTensorKind::Flex(BackendTensor::Float(p)),
            FlexKind::Tracked(t) => {
                DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Flex(BackendTensor::Autodiff(t))))
            }
        }
    }
}

/// The Flex tensor inside a dispatched one; panics naming `op` on any other backend (the host
/// ops are reached only after [`resolve`] chose the host path).
fn flex_kind(kind: DispatchTensorKind, op: &str) -> FlexKind {
    match kind {
        DispatchTensorKind::Flex(BackendTensor::Float(p)) => FlexKind::Plain(p),
        DispatchTensorKind::Autodiff(inner) => match *inner {
            DispatchTensorKind::Flex(BackendTensor::Autodiff(t)) => FlexKind::Tracked(t),
            _ => panic!("the {op} host path supports the Flex backend only"),
        },
        #[allow(unreachable_patterns)]
        _ => panic!("the {op} host path supports the Flex backend only"),
    }
}

fn depthwise_forward(d: &Depthwise, x: &FlexTensor, w: &FlexTensor) -> FlexTensor {
    let batch = x.layout().shape()[0];
    let (oh, ow) = d.0.out_hw();
    let shape = vec![batch, d.0.channels, oh, ow];
    match x.dtype() {
        DType::F64 => flex_tensor(d.forward(&values::<f64>(x), &values::<f64>(w), batch), shape),
        DType::F32 => flex_tensor(d.forward(&values::<f32>(x), &values::<f32>(w), batch), shape),
        other => panic!("the depthwise host path runs in f32 or f64, not {other:?}"),
    }
}

/// State of a depthwise node: the shapes, and the input and weight (shared, not copied).
type DepthwiseState = (Depthwise, FlexTensor, FlexTensor);

#[derive(Debug)]
struct DepthwiseBackward;

impl Backward<Flex, 2> for DepthwiseBackward {
    type State = DepthwiseState;
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (d, x, w) = ops.state;
        let g = grads.consume::<Flex>(&ops.node);
        let batch = x.layout().shape()[0];
        let u = d.0;
        let [px, pw] = ops.parents;
        macro_rules! go {
            ($t:ty) => {{
                let g = values::<$t>(&g);
                if let Some(node) = px {
                    let gx = d.grad_input(&g, &values::<$t>(&w), batch);
                    grads.register::<Flex>(node.id, flex_tensor(gx, vec![batch, u.channels, u.height, u.width]));
                }
                if let Some(node) = pw {
                    let gw = d.grad_weight(&g, &values::<$t>(&x), batch);
                    grads.register::<Flex>(node.id, flex_tensor(gw, vec![u.channels, 1, u.kernel, u.kernel]));
                }
            }};
        }
        match x.dtype() {
            DType::F64 => go!(f64),
            _ => go!(f32),
        }
    }
}

fn autodiff_depthwise(
    x: FloatTensor<Autodiff<Flex>>,
    w: FloatTensor<Autodiff<Flex>>,
    d: Depthwise,
) -> FloatTensor<Autodiff<Flex>> {
    let (px, pw) = (x.primitive().clone(), w.primitive().clone());
    let out = depthwise_forward(&d, &px, &pw);
    match DepthwiseBackward.prepare::<NoCheckpointing>([x.node(), w.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((d, px, pw), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// A stride-1, undilated, ungrouped `k×k` convolution with zero padding `pad`: `x` `[B, C, H,
/// W]`, `w` `[co, C, k, k]`, optional `bias` `[co]` → `[B, co, oh, ow]`. On Flex a custom
/// autodiff op over the tensors' own buffers ([`conv`]: per batch item one `im2col` and one
/// matrix product, forward and backward); elsewhere burn's convolution.
pub fn conv2d(x: Tensor<4>, w: Tensor<4>, bias: Option<Tensor<1>>, pad: usize) -> Tensor<4> {
    let [_, c, h, wd] = x.dims();
    let [co, _, k, _] = w.dims();
    if resolve(FftImpl::Auto, &x) != FftImpl::Host {
        let opts = burn::tensor::ops::ConvOptions::new([1, 1], [pad, pad], [1, 1], 1);
        return burn::tensor::module::conv2d(x, w, bias, opts);
    }
    let conv = Conv { unfold: Unfold { channels: c, height: h, width: wd, kernel: k, pad }, cout: co };
    let (x, w) = (x.into_dispatch(), w.into_dispatch());
    let bias = bias.map(|b| b.into_dispatch());
    let mut context = x.autodiff.merge(w.autodiff);
    if let Some(b) = &bias {
        context = context.merge(b.autodiff);
    }
    fn mixed<T>() -> T {
        panic!("convolution inputs mix autodiff and plain tensors")
    }
    let bias = bias.map(|b| flex_kind(b.kind, "convolution"));
    let kind = match (flex_kind(x.kind, "convolution"), flex_kind(w.kind, "convolution")) {
        (FlexKind::Plain(x), FlexKind::Plain(w)) => {
            let bias = bias.map(|b| if let FlexKind::Plain(b) = b { b } else { mixed() });
            FlexKind::Plain(conv_forward(&conv, &x, &w, bias.as_ref()))
        }
        (FlexKind::Tracked(x), FlexKind::Tracked(w)) => {
            let bias = bias.map(|b| if let FlexKind::Tracked(b) = b { b } else { mixed() });
            FlexKind::Tracked(autodiff_conv(conv, x, w, bias))
        }
        _ => mixed(),
    };
    Tensor::from_dispatch(DispatchTensor { kind: kind.into_dispatch(), autodiff: context })
}

/// For the host ops' tests: `f(x)` and the gradient of `<f(x), up>` with respect to `x`, both
/// flattened, on Flex with autodiff.
#[cfg(test)]
pub(crate) fn value_and_grad(
    f: &dyn Fn(Tensor<4>) -> Tensor<4>,
    data: &TensorData,
    up: &TensorData,
) -> (Vec<f32>, Vec<f32>) {
    let device = burn::tensor::Device::flex().autodiff();
    let x = Tensor::<4>::from_data(data.clone(), &device).require_grad();
    let y = f(x.clone());
    let g = (y.clone() * Tensor::<4>::from_data(up.clone(), &device)).sum().backward();
    let flat = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    (flat(y.detach()), flat(x.grad(&g).unwrap()))
}

/// A Flex tensor's values, contiguous (borrowed when they already are).
fn values<E: Real + burn::tensor::Element + bytemuck::Pod>(t: &FlexTensor) -> std::borrow::Cow<'_, [E]> {
    match t.as_slice::<E>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.to_contiguous().as_slice::<E>().expect("contiguous").to_vec()),
    }
}

fn flex_tensor<E: burn::tensor::Element>(v: Vec<E>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

fn conv_forward(conv: &Conv, x: &FlexTensor, w: &FlexTensor, bias: Option<&FlexTensor>) -> FlexTensor {
    let batch = x.layout().shape()[0];
    let (oh, ow) = conv.unfold.out_hw();
    let shape = vec![batch, conv.cout, oh, ow];
    macro_rules! go {
        ($t:ty) => {{
            let b = bias.map(values::<$t>);
            flex_tensor(conv.forward(&values::<$t>(x), &values::<$t>(w), b.as_deref(), batch), shape)
        }};
    }
    match x.dtype() {
        DType::F64 => go!(f64),
        DType::F32 => go!(f32),
        other => panic!("the convolution host path runs in f32 or f64, not {other:?}"),
    }
}

/// State of a convolution node: its shapes and the input and weight (shared, not copied).
type ConvState = (Conv, FlexTensor, FlexTensor);

#[derive(Debug)]
struct ConvBackward;

fn conv_backward<const N: usize>(ops: Ops<ConvState, N>, grads: &mut Gradients) {
    let (conv, x, w) = ops.state;
    let g = grads.consume::<Flex>(&ops.node);
    let batch = x.layout().shape()[0];
    let want = |i: usize| ops.parents.get(i).is_some_and(|p| p.is_some());
    let u = conv.unfold;
    macro_rules! go {
        ($t:ty) => {{
            let (gx, gw, gb) = conv.backward(
                &values::<$t>(&g),
                &values::<$t>(&x),
                &values::<$t>(&w),
                batch,
                (want(0), want(1), want(2)),
            );
            [
                gx.map(|v| flex_tensor(v, vec![batch, u.channels, u.height, u.width])),
                gw.map(|v| flex_tensor(v, vec![conv.cout, u.channels, u.kernel, u.kernel])),
                gb.map(|v| flex_tensor(v, vec![conv.cout])),
            ]
        }};
    }
    let out = match x.dtype() {
        DType::F64 => go!(f64),
        _ => go!(f32),
    };
    for (parent, grad) in ops.parents.iter().zip(out) {
        if let (Some(node), Some(grad)) = (parent, grad) {
            grads.register::<Flex>(node.id, grad);
        }
    }
}

impl Backward<Flex, 2> for ConvBackward {
    type State = ConvState;
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        conv_backward::<2>(ops, grads);
    }
}

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;
    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        conv_backward::<3>(ops, grads);
    }
}

fn autodiff_conv(
    conv: Conv,
    x: FloatTensor<Autodiff<Flex>>,
    w: FloatTensor<Autodiff<Flex>>,
    bias: Option<FloatTensor<Autodiff<Flex>>>,
) -> FloatTensor<Autodiff<Flex>> {
    let (px, pw) = (x.primitive().clone(), w.primitive().clone());
    let out = conv_forward(&conv, &px, &pw, bias.as_ref().map(|b| b.primitive()));
    let state = (conv, px, pw);
    match bias {
        Some(b) => {
            match ConvBackward.prepare::<NoCheckpointing>([x.node(), w.node(), b.node()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(state, out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            }
        }
        None => match ConvBackward.prepare::<NoCheckpointing>([x.node(), w.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(state, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        },
    }
}

/// 2D forward FFT over the last two axes (`torch.fft.fft2`; with `centered`, fastMRI `fft2c`).
pub fn fft2(re: Tensor<4>, im: Tensor<4>, norm: Norm, centered: bool) -> (Tensor<4>, Tensor<4>) {
    fft2_using(FftImpl::Auto, re, im, false, norm, centered)
}

/// 2D inverse FFT (`torch.fft.ifft2`; with `centered`, fastMRI `ifft2c`).
pub fn ifft2(re: Tensor<4>, im: Tensor<4>, norm: Norm, centered: bool) -> (Tensor<4>, Tensor<4>) {
    fft2_using(FftImpl::Auto, re, im, true, norm, centered)
}

/// Real-to-complex 2D FFT (`torch.fft.rfft2`): `[B, C, H, W]` → half spectrum `[B, C, H, W/2+1]`.
pub fn rfft2(x: Tensor<4>, norm: Norm) -> (Tensor<4>, Tensor<4>) {
    rfft2_using(FftImpl::Auto, x, norm)
}

/// Complex-to-real 2D inverse FFT (`torch.fft.irfft2(z, s=(H, width))`): the imaginary parts
/// of the DC and Nyquist columns are ignored.
pub fn irfft2(re: Tensor<4>, im: Tensor<4>, width: usize, norm: Norm) -> Tensor<4> {
    irfft2_using(FftImpl::Auto, re, im, width, norm)
}

/// [`fft2`]/[`ifft2`] with an explicit implementation.
pub fn fft2_using(
    imp: FftImpl,
    re: Tensor<4>,
    im: Tensor<4>,
    inverse: bool,
    norm: Norm,
    centered: bool,
) -> (Tensor<4>, Tensor<4>) {
    match resolve(imp, &re) {
        FftImpl::Dense => dense::complex(re, im, inverse, norm, centered),
        _ => two(host_linear(vec![re, im], HostOp::Spectral(SpectralOp::Complex { inverse, norm, centered }))),
    }
}

/// [`rfft2`] with an explicit implementation.
pub fn rfft2_using(imp: FftImpl, x: Tensor<4>, norm: Norm) -> (Tensor<4>, Tensor<4>) {
    match resolve(imp, &x) {
        FftImpl::Dense => dense::rfft(x, norm),
        _ => two(host_linear(vec![x], HostOp::Spectral(SpectralOp::Rfft { norm }))),
    }
}

/// [`irfft2`] with an explicit implementation.
pub fn irfft2_using(imp: FftImpl, re: Tensor<4>, im: Tensor<4>, width: usize, norm: Norm) -> Tensor<4> {
    match resolve(imp, &re) {
        FftImpl::Dense => dense::irfft(re, im, width, norm),
        _ => host_linear(vec![re, im], HostOp::Spectral(SpectralOp::Irfft { norm, width })).remove(0),
    }
}

/// `|z| = √(re² + im²)`, with a zero gradient where `z = 0` (as `torch.abs` of a complex tensor).
pub fn magnitude(re: Tensor<4>, im: Tensor<4>) -> Tensor<4> {
    let power = re.clone() * re + im.clone() * im;
    let zero = power.clone().equal_elem(0.0);
    power.mask_fill(zero.clone(), 1.0).sqrt().mask_fill(zero, 0.0)
}

/// `atan2(im, re)` (`torch.angle`), after turning `−0.0` imaginary parts into `+0.0`, so that a
/// negative real axis gives `+π` as PyTorch's FFT at exactly-real bins does. Where `z = 0` the
/// value is 0 with a zero gradient, as PyTorch's `angle` backward (atan2's own gradient there is
/// 0/0: a dead feature channel, whose spectrum is 0 off DC, made FSMNet's training non-finite).
pub fn phase(re: Tensor<4>, im: Tensor<4>) -> Tensor<4> {
    let zero = (re.clone() * re.clone() + im.clone() * im.clone()).equal_elem(0.0);
    (im.mask_fill(zero.clone(), 0.0) + 0.0).atan2(re.mask_fill(zero, 1.0))
}

/// `(mag·cos φ, mag·sin φ)` (`torch.polar`).
pub fn polar(mag: Tensor<4>, phase: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    (mag.clone() * phase.clone().cos(), mag * phase.sin())
}

fn two(mut v: Vec<Tensor<4>>) -> (Tensor<4>, Tensor<4>) {
    let im = v.pop().expect("two outputs");
    (v.pop().expect("two outputs"), im)
}

/// Values of a host buffer in the tensor's own float type.
#[derive(Clone, Debug)]
enum Host {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

fn read<B: Backend>(p: B::FloatTensorPrimitive) -> (Host, Vec<usize>) {
    let data = block_on(B::float_into_data(p)).expect("reading a CPU tensor cannot fail");
    let shape = data.shape().to_vec();
    let values = match data.dtype() {
        DType::F64 => Host::F64(data.try_to_vec::<f64>().expect("f64 data")),
        _ => Host::F32(data.convert::<f32>().try_to_vec::<f32>().expect("f32 data")),
    };
    (values, shape)
}

fn write<B: Backend>(values: Host, shape: Vec<usize>, device: &B::Device) -> B::FloatTensorPrimitive {
    let data = match values {
        Host::F32(v) => TensorData::new(v, shape),
        Host::F64(v) => TensorData::new(v, shape),
    };
    B::float_from_data(data, device)
}

/// Runs `op` on one real input or an `(re, im)` pair (each `[B, C, H, W]`) and returns one real
/// output or an `(re, im)` pair, never materialising a packed tensor.
fn run_host(op: HostOp, inputs: Vec<(Host, Vec<usize>)>) -> Vec<(Host, Vec<usize>)> {
    let shape = inputs[0].1.clone();
    macro_rules! go {
        ($variant:ident) => {{
            let planes: Vec<&[_]> = inputs
                .iter()
                .map(|(h, _)| match h {
                    Host::$variant(v) => v.as_slice(),
                    _ => panic!("host op inputs mix float types"),
                })
                .collect();
            match op {
                HostOp::Spectral(op) => {
                    let (outs, s) = op.apply_planes(&planes, &shape);
                    outs.into_iter().map(|v| (Host::$variant(v), s.clone())).collect()
                }
            }
        }};
    }
    match &inputs[0].0 {
        Host::F32(_) => go!(F32),
        Host::F64(_) => go!(F64),
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

fn zeros_like(h: &Host) -> Host {
    match h {
        Host::F32(v) => Host::F32(vec![0.0; v.len()]),
        Host::F64(v) => Host::F64(vec![0.0; v.len()]),
    }
}

/// The host path: Flex tensors in, Flex tensors out; tracked inputs give autodiff nodes whose
/// backward pass applies the adjoint operation.
fn host_linear(inputs: Vec<Tensor<4>>, op: HostOp) -> Vec<Tensor<4>> {
    let unsupported = || panic!("the host path supports the Flex backend only; use FftImpl::Dense or Auto");
    let dispatched: Vec<DispatchTensor> = inputs.into_iter().map(|t| t.into_dispatch()).collect();
    let context = dispatched.iter().fold(dispatched[0].autodiff, |c, d| c.merge(d.autodiff));
    let mut plain = Vec::new();
    let mut tracked = Vec::new();
    for d in dispatched {
        match d.kind {
            DispatchTensorKind::Flex(BackendTensor::Float(p)) => plain.push(p),
            DispatchTensorKind::Autodiff(inner) => match *inner {
                DispatchTensorKind::Flex(BackendTensor::Autodiff(t)) => tracked.push(t),
                _ => unsupported(),
            },
            #[allow(unreachable_patterns)]
            _ => unsupported(),
        }
    }
    let wrap_plain = |p| DispatchTensorKind::Flex(BackendTensor::Float(p));
    let kinds: Vec<DispatchTensorKind> = if tracked.is_empty() {
        let device = plain[0].device();
        let outs = run_host(op, plain.into_iter().map(read::<Flex>).collect());
        outs.into_iter().map(|(v, s)| wrap_plain(write::<Flex>(v, s, &device))).collect()
    } else {
        assert!(plain.is_empty(), "FFT inputs mix autodiff and plain tensors");
        autodiff_host::<Flex>(tracked, op)
            .into_iter()
            .map(|t| DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Flex(BackendTensor::Autodiff(t)))))
            .collect()
    };
    kinds.into_iter().map(|kind| Tensor::from_dispatch(DispatchTensor { kind, autodiff: context })).collect()
}

/// State of one output node: the forward op, which output plane it is (`None` for a single
/// output), and the width of the forward input (to shape the adjoint's output).
type NodeState = (HostOp, Option<usize>, usize);

#[derive(Debug)]
struct HostBackward;

fn backward_host<B: Backend, const N: usize>(ops: Ops<NodeState, N>, grads: &mut Gradients) {
    let (op, part, in_width) = ops.state;
    let grad = grads.consume::<B>(&ops.node);
    let device = grad.device();
    let (g, shape) = read::<B>(grad);
    let inputs = match part {
        None => vec![(g, shape)],
        Some(p) => {
            let zero = zeros_like(&g);
            let mut pair = vec![(zero.clone(), shape.clone()), (zero, shape.clone())];
            pair[p] = (g, shape);
            pair
        }
    };
    let outs = run_host(op.adjoint(in_width), inputs);
    for (parent, (v, s)) in ops.parents.iter().zip(outs) {
        if let Some(node) = parent {
            grads.register::<B>(node.id, write::<B>(v, s, &device));
        }
    }
}

impl<B: Backend> Backward<B, 1> for HostBackward {
    type State = NodeState;
    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        backward_host::<B, 1>(ops, grads);
    }
}

impl<B: Backend> Backward<B, 2> for HostBackward {
    type State = NodeState;
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        backward_host::<B, 2>(ops, grads);
    }
}

fn finish_node<B: Backend, const N: usize>(
    guards: [burn::backend::autodiff::ops::NodeGuard; N],
    state: NodeState,
    out: B::FloatTensorPrimitive,
) -> FloatTensor<Autodiff<B>>
where
    HostBackward: Backward<B, N, State = NodeState>,
{
    match HostBackward.prepare::<NoCheckpointing>(guards).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

fn autodiff_host<B: Backend>(inputs: Vec<FloatTensor<Autodiff<B>>>, op: HostOp) -> Vec<FloatTensor<Autodiff<B>>> {
    let device = inputs[0].primitive().device();
    let in_width = *inputs[0].primitive().shape().last().expect("rank ≥ 2");
    let host: Vec<(Host, Vec<usize>)> = inputs.iter().map(|t| read::<B>(t.primitive().clone())).collect();
    let outs = run_host(op, host);
    let two_outputs = outs.len() == 2;
    outs.into_iter()
        .enumerate()
        .map(|(i, (v, s))| {
            let state = (op, two_outputs.then_some(i), in_width);
            let out = write::<B>(v, s, &device);
            match inputs.len() {
                1 => finish_node::<B, 1>([inputs[0].node()], state, out),
                _ => finish_node::<B, 2>([inputs[0].node(), inputs[1].node()], state, out),
            }
        })
        .collect()
}
