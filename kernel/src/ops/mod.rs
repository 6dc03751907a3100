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

mod dense;
pub mod spectral;

use crate::fft::Norm;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, BackendTensor, DispatchTensor, DispatchTensorKind, Flex, TensorMetadata};
use burn::tensor::{DType, Tensor, TensorData};
use spectral::SpectralOp;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

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
        _ => {
            let packed = Tensor::stack::<5>(vec![re, im], 2);
            split(host::<5, 5>(packed, SpectralOp::Complex { inverse, norm, centered }))
        }
    }
}

/// [`rfft2`] with an explicit implementation.
pub fn rfft2_using(imp: FftImpl, x: Tensor<4>, norm: Norm) -> (Tensor<4>, Tensor<4>) {
    match resolve(imp, &x) {
        FftImpl::Dense => dense::rfft(x, norm),
        _ => split(host::<4, 5>(x, SpectralOp::Rfft { norm })),
    }
}

/// [`irfft2`] with an explicit implementation.
pub fn irfft2_using(imp: FftImpl, re: Tensor<4>, im: Tensor<4>, width: usize, norm: Norm) -> Tensor<4> {
    match resolve(imp, &re) {
        FftImpl::Dense => dense::irfft(re, im, width, norm),
        _ => {
            let packed = Tensor::stack::<5>(vec![re, im], 2);
            host::<5, 4>(packed, SpectralOp::Irfft { norm, width })
        }
    }
}

/// `|z| = √(re² + im²)`, with a zero gradient where `z = 0` (as `torch.abs` of a complex tensor).
pub fn magnitude(re: Tensor<4>, im: Tensor<4>) -> Tensor<4> {
    let power = re.clone() * re + im.clone() * im;
    let zero = power.clone().equal_elem(0.0);
    power.mask_fill(zero.clone(), 1.0).sqrt().mask_fill(zero, 0.0)
}

/// `atan2(im, re)` (`torch.angle`), after turning `−0.0` imaginary parts into `+0.0`, so that a
/// negative real axis gives `+π` as PyTorch's FFT at exactly-real bins does.
pub fn phase(re: Tensor<4>, im: Tensor<4>) -> Tensor<4> {
    (im + 0.0).atan2(re)
}

/// `(mag·cos φ, mag·sin φ)` (`torch.polar`).
pub fn polar(mag: Tensor<4>, phase: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    (mag.clone() * phase.clone().cos(), mag * phase.sin())
}

fn split(packed: Tensor<5>) -> (Tensor<4>, Tensor<4>) {
    let [b, c, _, h, w] = packed.dims();
    let re = packed.clone().narrow(2, 0, 1).reshape([b, c, h, w]);
    let im = packed.narrow(2, 1, 1).reshape([b, c, h, w]);
    (re, im)
}

/// Runs a host spectral op on a Flex tensor, as a custom autodiff op when it is tracked.
fn host<const D: usize, const D2: usize>(x: Tensor<D>, op: SpectralOp) -> Tensor<D2> {
    let d = x.into_dispatch();
    let kind = match d.kind {
        DispatchTensorKind::Autodiff(inner) => match *inner {
            DispatchTensorKind::Flex(BackendTensor::Autodiff(t)) => DispatchTensorKind::Autodiff(Box::new(
                DispatchTensorKind::Flex(BackendTensor::Autodiff(autodiff_op::<Flex>(t, op))),
            )),
            _ => panic!("FftImpl::Host supports the Flex backend only; use FftImpl::Dense or Auto"),
        },
        DispatchTensorKind::Flex(BackendTensor::Float(p)) => {
            DispatchTensorKind::Flex(BackendTensor::Float(apply_on_host::<Flex>(p, op)))
        }
        #[allow(unreachable_patterns)]
        _ => panic!("FftImpl::Host supports the Flex backend only; use FftImpl::Dense or Auto"),
    };
    Tensor::from_dispatch(DispatchTensor { kind, autodiff: d.autodiff })
}

#[derive(Debug)]
struct SpectralBackward;

impl<B: Backend> Backward<B, 1> for SpectralBackward {
    /// The forward op and the width of its input (needed to shape the adjoint's output).
    type State = (SpectralOp, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (op, in_width) = ops.state;
        let adjoint = op.adjoint(in_width);
        unary::<B, _>(ops.parents, ops.node, grads, |grad| apply_on_host::<B>(grad, adjoint));
    }
}

fn autodiff_op<B: Backend>(x: FloatTensor<Autodiff<B>>, op: SpectralOp) -> FloatTensor<Autodiff<B>> {
    let in_width = *x.primitive().shape().last().expect("rank ≥ 2");
    match SpectralBackward.prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let out = apply_on_host::<B>(x.into_primitive(), op);
            prep.finish((op, in_width), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(apply_on_host::<B>(x.into_primitive(), op)),
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

fn apply_on_host<B: Backend>(p: B::FloatTensorPrimitive, op: SpectralOp) -> B::FloatTensorPrimitive {
    let device = p.device();
    let data = block_on(B::float_into_data(p)).expect("reading a CPU tensor cannot fail");
    let shape: Vec<usize> = data.shape().to_vec();
    let out_shape = op.output_shape(&shape).unwrap_or_else(|m| panic!("{op:?}: {m}"));
    let out = match data.dtype() {
        DType::F64 => TensorData::new(op.apply(&data.try_to_vec::<f64>().expect("f64 data"), &shape), out_shape),
        _ => {
            TensorData::new(op.apply(&data.convert::<f32>().try_to_vec::<f32>().expect("f32 data"), &shape), out_shape)
        }
    };
    B::float_from_data(out, &device)
}
