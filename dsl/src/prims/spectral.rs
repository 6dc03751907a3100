//! Complex tensors and k-space: FFTs, data consistency (through an image, or on k-space itself),
//! IMA's stage masks, magnitude, phase,
//! real and imaginary parts, and complex numbers from parts or polar form.

use super::*;
use crate::ir::FftKind;

/// The dilation kernels of `dcm_mask` (IMA's Table 2(b); `none` never dilates).
pub const DCM_KERNELS: [&str; 4] = ["ones3", "cross3", "ones5", "none"];

pub const FAMILY: Family = Family {
    names: &[
        "data_consistency",
        "dcm_mask",
        "fft2",
        "ifft2",
        "kspace_consistency",
        "fftshift",
        "half_spectrum",
        "rfft2",
        "irfft2",
        "magnitude",
        "phase",
        "real",
        "imag",
        "view_as_real",
        "view_as_complex",
        "complex",
        "polar",
    ],
    signature,
    complex_input: |name| match name {
        "fft2" | "ifft2" | "data_consistency" | "fftshift" => Some(false),
        "irfft2" | "magnitude" | "phase" | "real" | "imag" | "view_as_real" | "kspace_consistency"
        | "half_spectrum" => Some(true),
        _ => None,
    },
    build,
    spatial: |op, sizes| match op {
        Op::Fft { kind: FftKind::Rfft2, .. } => Some([sizes[0][0].clone(), sizes[0][1].affine(0, 2, 1, 1)]),
        Op::Fft { kind: FftKind::Irfft2, .. } => Some([sizes[0][0].clone(), sizes[1][1].clone()]),
        Op::HalfSpectrum => Some([sizes[0][0].clone(), sizes[0][1].affine(0, 2, 1, 1)]),
        _ => None,
    },
    agreement: |op| match op {
        Op::Complex | Op::Polar => Some(Agreement { from: 0, broadcast: false, what: "arguments" }),
        Op::DataConsistency { .. } => Some(Agreement { from: 0, broadcast: false, what: "the image and its k-space" }),
        Op::KspaceConsistency => {
            Some(Agreement { from: 0, broadcast: false, what: "the k-space, the measured samples and the mask" })
        }
        _ => None,
    },
    complex_output: |op, first| match op {
        Op::Fft { kind: FftKind::Irfft2, .. } => Some(false),
        Op::Fft { .. } | Op::Complex | Op::Polar | Op::DataConsistency { .. } | Op::KspaceConsistency => Some(true),
        Op::HalfSpectrum => Some(true),
        Op::Fftshift => Some(first),
        Op::Magnitude | Op::Phase | Op::Real | Op::Imag | Op::ViewAsReal => Some(false),
        Op::ViewAsComplex => Some(true),
        _ => None,
    },
    channels: |op, c| match op {
        Op::ViewAsReal => Some(2 * c[0]),
        Op::ViewAsComplex => Some(c[0] / 2),
        _ => None,
    },
    ..NONE
};

fn signature(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Bool as B, Float as F, Str as S};
    match name {
        "fft2" | "ifft2" => sig(vec![x(), opt("norm", Str, S("ortho".into())), opt("shift", Bool, B(false))]),
        "rfft2" => sig(vec![x(), opt("norm", Str, S("backward".into()))]),
        "irfft2" => sig(vec![x(), req("like", Tensor), opt("norm", Str, S("backward".into()))]),
        "magnitude" | "phase" | "real" | "imag" | "view_as_real" | "view_as_complex" => sig(vec![x()]),
        "complex" => sig(vec![req("re", Tensor), req("im", Tensor)]),
        "polar" => sig(vec![req("magnitude", Tensor), req("phase", Tensor)]),
        "dcm_mask" => sig(vec![
            req("mask", Tensor),
            req("stage", Int),
            req("stages", Int),
            opt("kernel", Str, S("ones3".into())),
            opt("delta", Int, Value::Int(3)),
            opt("ratio", Float, F(0.9)),
        ]),
        "kspace_consistency" => sig(vec![x(), req("measured", Tensor), req("mask", Tensor)]),
        "fftshift" | "half_spectrum" => sig(vec![x()]),
        "data_consistency" => sig(vec![
            x(),
            req("k", Tensor),
            req("mask", Tensor),
            opt("norm", Str, S("ortho".into())),
            opt("shift", Bool, B(true)),
            opt("lambda", Float, F(-1.0)),
        ]),
        _ => None,
    }
}

fn build(name: &str, b: &Bound) -> Built {
    let x = || b.get("x").cloned().expect("x is required");
    match name {
        "fft2" | "ifft2" | "rfft2" | "irfft2" => {
            let norm = fft_norm(b)?;
            let kind = match name {
                "fft2" => FftKind::Fft2,
                "ifft2" => FftKind::Ifft2,
                "rfft2" => FftKind::Rfft2,
                _ => FftKind::Irfft2,
            };
            let op = Op::Fft { kind, norm, centered: boolean(b, "shift") };
            if kind == FftKind::Irfft2 {
                Ok((op, vec![x(), b.get("like").cloned().expect("like is required")]))
            } else {
                one(b, op)
            }
        }
        "magnitude" => one(b, Op::Magnitude),
        "phase" => one(b, Op::Phase),
        "real" => one(b, Op::Real),
        "imag" => one(b, Op::Imag),
        "view_as_real" => one(b, Op::ViewAsReal),
        "view_as_complex" => match channels(&x()) {
            c if c % 2 == 1 => Err(("x", format!("`view_as_complex` needs an even number of channels, got {c}"))),
            _ => one(b, Op::ViewAsComplex),
        },
        "complex" | "polar" => {
            let (a, c) = if name == "complex" { ("re", "im") } else { ("magnitude", "phase") };
            let (u, v) = (b.get(a).cloned().expect("required"), b.get(c).cloned().expect("required"));
            if channels(&u) != channels(&v) {
                Err((c, format!("`{a}` has {} channels but `{c}` has {}", channels(&u), channels(&v))))
            } else {
                Ok((if name == "complex" { Op::Complex } else { Op::Polar }, vec![u, v]))
            }
        }
        "dcm_mask" => {
            let mask = b["mask"].clone();
            if channels(&mask) != 1 {
                return Err(("mask", format!("`mask` must be one channel of 0s and 1s, got {}", channels(&mask))));
            }
            let (stage, stages) = (pos(b, "stage")?, pos(b, "stages")?);
            if stage > stages {
                return Err((
                    "stage",
                    format!("stage {stage} is past the last of {stages} stages (stages count from 1)"),
                ));
            }
            let kernel = match b.get("kernel") {
                Some(Value::Str(k)) if DCM_KERNELS.contains(&k.as_str()) => k.clone(),
                other => {
                    return Err(("kernel", format!("`kernel` must be one of {DCM_KERNELS:?}, got {other:?}")));
                }
            };
            let ratio = float(b, "ratio");
            if !(ratio > 0.0 && ratio <= 1.0) {
                return Err(("ratio", format!("`ratio` must lie in (0, 1], got {ratio}")));
            }
            let op = Op::DcmMask { stage, stages, kernel, delta: pos(b, "delta")?, ratio };
            Ok((op, vec![mask]))
        }
        "fftshift" => one(b, Op::Fftshift),
        "half_spectrum" => one(b, Op::HalfSpectrum),
        "kspace_consistency" => {
            let (k, mask) = measured_and_mask(b, "measured")?;
            Ok((Op::KspaceConsistency, vec![x(), k, mask]))
        }
        "data_consistency" => {
            let norm = fft_norm(b)?;
            let lambda = float(b, "lambda");
            let (k, mask) = measured_and_mask(b, "k")?;
            let op =
                Op::DataConsistency { norm, centered: boolean(b, "shift"), lambda: (lambda >= 0.0).then_some(lambda) };
            Ok((op, vec![x(), k, mask]))
        }
        _ => not_ours(name),
    }
}

/// The measured k-space (argument `name`: complex, with `x`'s channels) and the sampling mask
/// (real, one channel or `x`'s) of a data-consistency call.
fn measured_and_mask(b: &Bound, name: &'static str) -> Result<(Value, Value), (&'static str, String)> {
    let cin = cin(b);
    let (k, mask) = (b[name].clone(), b["mask"].clone());
    if !matches!(k, Value::Tensor { complex: true, .. }) {
        return Err((name, format!("`{name}` must be complex k-space (declare it `input {name}: complex [C, H, W]`)")));
    }
    if matches!(mask, Value::Tensor { complex: true, .. }) {
        return Err(("mask", "`mask` must be a real tensor of 0s and 1s".into()));
    }
    if channels(&k) != cin || (channels(&mask) != 1 && channels(&mask) != cin) {
        return Err((
            "mask",
            format!(
                "`x` has {cin} channels, `{name}` {} and `mask` {}: {name} must match x, mask 1 or match",
                channels(&k),
                channels(&mask)
            ),
        ));
    }
    Ok((k, mask))
}
