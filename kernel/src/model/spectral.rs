//! Complex tensors and k-space: FFTs, data consistency, IMA's stage masks, magnitude, phase,
//! real and imaginary parts, and complex numbers from parts or polar form (stored as `[re; im]`
//! along channels).

use super::*;
use crate::masks::dcm::{DcmKernel, DcmSchedule};

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let out = match &cx.node.op {
        Op::Fft { kind, norm, centered } => {
            let n = fft_norm(*norm);
            let (re, im) = parts(a(0), cx.complex[0]);
            match kind {
                FftKind::Fft2 => {
                    let (r, i) = crate::ops::fft2(re, im, n, *centered);
                    pack(r, i)
                }
                FftKind::Ifft2 => {
                    let (r, i) = crate::ops::ifft2(re, im, n, *centered);
                    pack(r, i)
                }
                FftKind::Rfft2 => {
                    let (r, i) = crate::ops::rfft2(a(0), n);
                    pack(r, i)
                }
                FftKind::Irfft2 => crate::ops::irfft2(re, im, a(1).dims()[3], n),
            }
        }
        Op::DataConsistency { norm, centered, lambda } => {
            let n = fft_norm(*norm);
            let (xr, xi) = parts(a(0), cx.complex[0]);
            let (kr, ki) = crate::ops::fft2(xr, xi, n, *centered);
            let (mr, mi) = halves(a(1));
            let weight = lambda.map(|l| l / (1.0 + l)).unwrap_or(1.0);
            let m = a(2) * weight;
            let kr = kr.clone() + m.clone() * (mr - kr);
            let ki = ki.clone() + m * (mi - ki);
            let (r, i) = crate::ops::ifft2(kr, ki, n, *centered);
            pack(r, i)
        }
        Op::KspaceConsistency => {
            // A selection, not `k + M·(measured − k)`: the measured samples come out exactly.
            let (k, measured, m) = (a(0), a(1), a(2));
            let dims = k.dims();
            let sampled = m.greater_elem(0.5);
            let sampled = if sampled.dims()[1] == 1 {
                sampled.expand(dims)
            } else {
                Tensor::cat(vec![sampled.clone(), sampled], 1)
            };
            k.mask_where(sampled, measured)
        }
        // numpy's fftshift: element i moves to (i + ⌊n/2⌋) mod n along each axis.
        Op::Fftshift => {
            let x = a(0);
            let [_, _, h, w] = x.dims();
            let roll = |t: Tensor<4>, dim: usize, n: usize| {
                let s = n / 2;
                if s == 0 {
                    t
                } else {
                    Tensor::cat(vec![t.clone().narrow(dim, n - s, s), t.narrow(dim, 0, n - s)], dim)
                }
            };
            roll(roll(x, 2, h), 3, w)
        }
        Op::HalfSpectrum => {
            let z = a(0);
            let w = z.dims()[3];
            z.narrow(3, 0, w / 2 + 1)
        }
        Op::DcmMask { stage, stages, kernel, delta, ratio } => {
            let Some(kernel) = DcmKernel::parse(kernel) else {
                return Some(Err(ModelError::Unsupported(format!("unknown DCM kernel `{kernel}`"))));
            };
            let m = a(0);
            let [b, _, h, w] = m.dims();
            let values: Vec<f32> = match m.clone().into_data().convert::<f32>().try_into_vec::<f32>() {
                Ok(v) => v,
                Err(e) => return Some(Err(ModelError::Unsupported(format!("DCM mask: {e:?}")))),
            };
            let mut out = Vec::with_capacity(b * h * w);
            for plane in values.chunks(h * w) {
                let m0: Vec<bool> = plane.iter().map(|&v| v > 0.5).collect();
                let schedule = DcmSchedule::new(&m0, h, w, *stages, kernel, *delta, *ratio);
                out.extend(schedule.stage(*stage).iter().map(|&k| if k { 1.0f32 } else { 0.0 }));
            }
            Tensor::<4>::from_data(TensorData::new(out, [b, 1, h, w]), (&m.device(), m.dtype()))
        }
        Op::Magnitude => {
            let (r, i) = halves(a(0));
            crate::ops::magnitude(r, i)
        }
        Op::Phase => {
            let (r, i) = halves(a(0));
            crate::ops::phase(r, i)
        }
        Op::Real => halves(a(0)).0,
        Op::Imag => halves(a(0)).1,
        // The stored layout of a complex tensor is its real view: only the type changes.
        Op::ViewAsReal | Op::ViewAsComplex => a(0),
        Op::Complex => pack(a(0), a(1)),
        Op::Polar => {
            let (r, i) = crate::ops::polar(a(0), a(1));
            pack(r, i)
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// Real and imaginary parts of a real or complex (`[re; im]`) tensor.
fn parts(x: Tensor<4>, complex: bool) -> (Tensor<4>, Tensor<4>) {
    if complex {
        halves(x)
    } else {
        let zeros = x.zeros_like();
        (x, zeros)
    }
}

/// A complex tensor stored as `[re; im]` along channels → its two halves.
fn halves(z: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let c = z.dims()[1] / 2;
    (z.clone().narrow(1, 0, c), z.narrow(1, c, c))
}

fn pack(re: Tensor<4>, im: Tensor<4>) -> Tensor<4> {
    Tensor::cat(vec![re, im], 1)
}

fn fft_norm(n: Norm) -> FftNorm {
    match n {
        Norm::Backward => FftNorm::Backward,
        Norm::Ortho => FftNorm::Ortho,
        Norm::Forward => FftNorm::Forward,
    }
}
