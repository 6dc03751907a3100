//! The primitive blocks: their signatures (argument names, types, defaults) and how a bound
//! call becomes a sized [`Op`]. Positional arguments follow the order listed here.

use crate::check::Value;
use crate::ir::{FftKind, Norm, Op, PadMode};
use std::collections::BTreeMap;

/// Argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tensor,
    Int,
    Float,
    Bool,
    Str,
}

impl Kind {
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Kind::Tensor, Value::Tensor { .. })
                | (Kind::Int, Value::Int(_))
                | (Kind::Float, Value::Float(_))
                | (Kind::Bool, Value::Bool(_))
                | (Kind::Str, Value::Str(_))
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Tensor => "a tensor",
            Kind::Int => "an int",
            Kind::Float => "a float",
            Kind::Bool => "a bool",
            Kind::Str => "a string",
        }
    }
}

/// One argument of a primitive.
#[derive(Clone, Debug)]
pub struct P {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Option<Value>,
}

/// A primitive's signature.
#[derive(Clone, Debug)]
pub struct Sig {
    pub params: Vec<P>,
    /// Takes any number (≥ 2) of positional tensors (`concat`).
    pub variadic: bool,
}

fn req(name: &'static str, kind: Kind) -> P {
    P { name, kind, default: None }
}
fn opt(name: &'static str, kind: Kind, default: Value) -> P {
    P { name, kind, default: Some(default) }
}

const NAMES: [&str; 48] = [
    "linear",
    "layer_norm",
    "adaptive_avg_pool2d",
    "token_attention",
    "coord_encoding",
    "data_consistency",
    "abs",
    "chunk",
    "channel_attention",
    "pad",
    "channel_std",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "magnitude",
    "phase",
    "real",
    "imag",
    "complex",
    "polar",
    "nan_to_num",
    "softmax",
    "channel_mean",
    "channel_max",
    "global_avg_pool",
    "global_max_pool",
    "upsample",
    "learnable_scale",
    "conv2d",
    "conv_transpose2d",
    "instance_norm",
    "batch_norm",
    "leaky_relu",
    "relu",
    "sigmoid",
    "tanh",
    "gelu",
    "prelu",
    "avg_pool2d",
    "max_pool2d",
    "dropout",
    "dropout2d",
    "concat",
    "scale",
    "pad_to_match",
    "pixel_shuffle",
    "pixel_unshuffle",
];

/// Whether the primitive takes complex tensors (`Some(true)`: requires them; `Some(false)`:
/// accepts real or complex; `None`: real only).
pub fn complex_input(name: &str) -> Option<bool> {
    match name {
        "data_consistency" => Some(false),
        "irfft2" | "magnitude" | "phase" | "real" | "imag" => Some(true),
        "fft2" | "ifft2" => Some(false),
        _ => None,
    }
}

/// Names of all primitives.
pub fn names() -> impl Iterator<Item = &'static str> {
    NAMES.iter().copied()
}

/// The signature of primitive `name`.
pub fn lookup(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Bool as B, Float as F, Int as I, Str as S};
    let x = || req("x", Tensor);
    let params = match name {
        "conv2d" => vec![
            x(),
            req("out", Int),
            opt("kernel", Int, I(3)),
            opt("stride", Int, I(1)),
            opt("padding", Int, I(0)),
            opt("dilation", Int, I(1)),
            opt("groups", Int, I(1)),
            opt("bias", Bool, B(true)),
            opt("padding_mode", Str, S("zeros".into())),
        ],
        "conv_transpose2d" => vec![
            x(),
            req("out", Int),
            opt("kernel", Int, I(2)),
            opt("stride", Int, I(2)),
            opt("padding", Int, I(0)),
            opt("output_padding", Int, I(0)),
            opt("bias", Bool, B(true)),
        ],
        "instance_norm" => vec![x(), opt("eps", Float, F(1e-5)), opt("affine", Bool, B(false))],
        "batch_norm" => vec![x(), opt("eps", Float, F(1e-5)), opt("momentum", Float, F(0.1))],
        "leaky_relu" => vec![x(), opt("slope", Float, F(0.01))],
        "relu" | "sigmoid" | "tanh" | "gelu" => vec![x()],
        "prelu" => vec![x(), opt("num", Int, I(1))],
        "avg_pool2d" | "max_pool2d" => vec![x(), opt("kernel", Int, I(2)), opt("stride", Int, I(0))],
        "dropout" | "dropout2d" => vec![x(), opt("p", Float, F(0.5))],
        "concat" => return Some(Sig { params: vec![], variadic: true }),
        "scale" => vec![x(), req("factor", Float)],
        "pad_to_match" => vec![x(), req("like", Tensor), opt("mode", Str, S("reflect".into()))],
        "pixel_shuffle" | "pixel_unshuffle" => vec![x(), req("factor", Int)],
        "fft2" | "ifft2" => vec![x(), opt("norm", Str, S("ortho".into())), opt("shift", Bool, B(false))],
        "rfft2" => vec![x(), opt("norm", Str, S("backward".into()))],
        "irfft2" => vec![x(), req("like", Tensor), opt("norm", Str, S("backward".into()))],
        "magnitude" | "phase" | "real" | "imag" | "channel_mean" | "channel_max" | "global_avg_pool"
        | "global_max_pool" => vec![x()],
        "complex" => vec![req("re", Tensor), req("im", Tensor)],
        "polar" => vec![req("magnitude", Tensor), req("phase", Tensor)],
        "nan_to_num" => vec![
            x(),
            opt("nan", Float, F(0.0)),
            opt("posinf", Float, F(f32::MAX as f64)),
            opt("neginf", Float, F(f32::MIN as f64)),
        ],
        "softmax" => vec![x(), opt("dim", Int, I(1))],
        "upsample" => vec![x(), opt("factor", Int, I(2)), opt("mode", Str, S("nearest".into()))],
        "learnable_scale" => vec![x(), opt("init", Float, F(1.0))],
        "pad" => vec![
            x(),
            opt("top", Int, I(0)),
            opt("bottom", Int, I(0)),
            opt("left", Int, I(0)),
            opt("right", Int, I(0)),
            opt("mode", Str, S("zeros".into())),
        ],
        "channel_std" | "abs" => vec![x()],
        "linear" => vec![x(), req("out", Int), opt("bias", Bool, B(true))],
        "layer_norm" => vec![x(), opt("eps", Float, F(1e-5))],
        "adaptive_avg_pool2d" => vec![x(), req("size", Int)],
        "token_attention" => vec![req("q", Tensor), req("k", Tensor), req("v", Tensor), opt("heads", Int, I(8))],
        "coord_encoding" => vec![x(), opt("frequencies", Int, I(6))],
        "data_consistency" => vec![
            x(),
            req("k", Tensor),
            req("mask", Tensor),
            opt("norm", Str, S("ortho".into())),
            opt("shift", Bool, B(true)),
            opt("lambda", Float, F(-1.0)),
        ],
        "chunk" => vec![x(), req("chunks", Int), req("index", Int)],
        "channel_attention" => vec![req("q", Tensor), req("k", Tensor), req("v", Tensor), opt("heads", Int, I(8))],
        _ => return None,
    };
    Some(Sig { params, variadic: false })
}

type Bound<'a> = BTreeMap<&'static str, Value>;

/// Sizes above this are refused (they would not fit in memory anyway).
const MAX_SIZE: i64 = 1 << 20;

fn int(b: &Bound, k: &'static str) -> Result<usize, (&'static str, String)> {
    match b.get(k) {
        Some(Value::Int(i)) if *i > MAX_SIZE => Err((k, format!("`{k}` = {i} is larger than {MAX_SIZE}"))),
        Some(Value::Int(i)) if *i >= 0 => Ok(*i as usize),
        Some(Value::Int(i)) => Err((k, format!("`{k}` must not be negative, got {i}"))),
        _ => Err((k, format!("`{k}` is missing"))),
    }
}
fn pos(b: &Bound, k: &'static str) -> Result<usize, (&'static str, String)> {
    let v = int(b, k)?;
    if v == 0 {
        return Err((k, format!("`{k}` must be positive, got 0")));
    }
    Ok(v)
}
fn float(b: &Bound, k: &'static str) -> f64 {
    match b.get(k) {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        _ => 0.0,
    }
}
fn boolean(b: &Bound, k: &'static str) -> bool {
    matches!(b.get(k), Some(Value::Bool(true)))
}
fn pad_mode(b: &Bound, k: &'static str) -> Result<PadMode, (&'static str, String)> {
    match b.get(k) {
        Some(Value::Str(s)) => match s.as_str() {
            "zeros" => Ok(PadMode::Zeros),
            "reflect" => Ok(PadMode::Reflect),
            "replicate" => Ok(PadMode::Replicate),
            other => Err((k, format!("`{k}` must be \"zeros\", \"reflect\" or \"replicate\", got \"{other}\""))),
        },
        _ => Ok(PadMode::Zeros),
    }
}
fn channels(v: &Value) -> usize {
    match v {
        Value::Tensor { channels, .. } => *channels,
        _ => 0,
    }
}

/// The `norm` argument of the FFT family and data consistency.
fn fft_norm(b: &Bound) -> Result<Norm, (&'static str, String)> {
    match b.get("norm") {
        Some(Value::Str(s)) if s == "backward" => Ok(Norm::Backward),
        Some(Value::Str(s)) if s == "ortho" => Ok(Norm::Ortho),
        Some(Value::Str(s)) if s == "forward" => Ok(Norm::Forward),
        other => Err(("norm", format!("`norm` must be \"backward\", \"ortho\" or \"forward\", got {other:?}"))),
    }
}

/// The `q`, `k`, `v` arguments of an attention block, checked: equal channel counts that split into `heads`.
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

/// Builds the op of a bound call; returns the op and its tensor arguments, or the offending
/// argument and a message.
pub fn build(name: &str, b: &Bound) -> Result<(Op, Vec<Value>), (&'static str, String)> {
    let x = b.get("x").cloned();
    let cin = x.as_ref().map(channels).unwrap_or(0);
    let one = |op: Op| Ok((op, vec![x.clone().expect("x is required")]));
    match name {
        "conv2d" => {
            let groups = pos(b, "groups")?;
            if cin % groups != 0 || pos(b, "out")? % groups != 0 {
                return Err((
                    "groups",
                    format!("{cin} input and {} output channels are not divisible by {groups} groups", int(b, "out")?),
                ));
            }
            one(Op::Conv2d {
                cin,
                cout: pos(b, "out")?,
                kernel: pos(b, "kernel")?,
                stride: pos(b, "stride")?,
                padding: int(b, "padding")?,
                dilation: pos(b, "dilation")?,
                groups,
                bias: boolean(b, "bias"),
                padding_mode: pad_mode(b, "padding_mode")?,
            })
        }
        "conv_transpose2d" => one(Op::ConvTranspose2d {
            cin,
            cout: pos(b, "out")?,
            kernel: pos(b, "kernel")?,
            stride: pos(b, "stride")?,
            padding: int(b, "padding")?,
            output_padding: int(b, "output_padding")?,
            bias: boolean(b, "bias"),
        }),
        "instance_norm" => one(Op::InstanceNorm { channels: cin, eps: float(b, "eps"), affine: boolean(b, "affine") }),
        "batch_norm" => one(Op::BatchNorm { channels: cin, eps: float(b, "eps"), momentum: float(b, "momentum") }),
        "leaky_relu" => one(Op::LeakyRelu { slope: float(b, "slope") }),
        "relu" => one(Op::Relu),
        "sigmoid" => one(Op::Sigmoid),
        "tanh" => one(Op::Tanh),
        "gelu" => one(Op::Gelu),
        "prelu" => {
            let num = pos(b, "num")?;
            if num != 1 && num != cin {
                return Err(("num", format!("PReLU needs 1 slope or one per channel ({cin}), got {num}")));
            }
            one(Op::Prelu { num })
        }
        "avg_pool2d" | "max_pool2d" => {
            let kernel = pos(b, "kernel")?;
            let stride = match int(b, "stride")? {
                0 => kernel,
                s => s,
            };
            one(if name == "avg_pool2d" { Op::AvgPool { kernel, stride } } else { Op::MaxPool { kernel, stride } })
        }
        "dropout" | "dropout2d" => {
            let p = float(b, "p");
            if !(0.0..1.0).contains(&p) {
                return Err(("p", format!("dropout probability must lie in [0, 1), got {p}")));
            }
            one(Op::Dropout { p })
        }
        "scale" => one(Op::Scale { factor: float(b, "factor") }),
        "concat" => match b.get("xs") {
            Some(Value::List(xs)) => Ok((Op::Concat, xs.clone())),
            _ => Err(("xs", "`concat` needs tensors".into())),
        },
        "pad_to_match" => {
            let like = b.get("like").cloned().expect("like is required");
            Ok((Op::PadToMatch { mode: pad_mode(b, "mode")? }, vec![x.expect("x is required"), like]))
        }
        "pixel_shuffle" => {
            let f = pos(b, "factor")?;
            if cin % (f * f) != 0 {
                return Err((
                    "factor",
                    format!("pixel_shuffle by {f} needs channels divisible by {}, got {cin}", f * f),
                ));
            }
            one(Op::PixelShuffle { factor: f })
        }
        "pixel_unshuffle" => one(Op::PixelUnshuffle { factor: pos(b, "factor")? }),
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
                Ok((op, vec![x.expect("x is required"), b.get("like").cloned().expect("like is required")]))
            } else {
                one(op)
            }
        }
        "magnitude" => one(Op::Magnitude),
        "phase" => one(Op::Phase),
        "real" => one(Op::Real),
        "imag" => one(Op::Imag),
        "complex" | "polar" => {
            let (a, c) = if name == "complex" { ("re", "im") } else { ("magnitude", "phase") };
            let (u, v) = (b.get(a).cloned().expect("required"), b.get(c).cloned().expect("required"));
            if channels(&u) != channels(&v) {
                return Err((c, format!("`{a}` has {} channels but `{c}` has {}", channels(&u), channels(&v))));
            }
            Ok((if name == "complex" { Op::Complex } else { Op::Polar }, vec![u, v]))
        }
        "nan_to_num" => {
            one(Op::NanToNum { nan: float(b, "nan"), posinf: float(b, "posinf"), neginf: float(b, "neginf") })
        }
        "softmax" => {
            let dim = int(b, "dim")?;
            if !(1..=3).contains(&dim) {
                return Err(("dim", format!("`dim` must be 1 (channels), 2 (rows) or 3 (columns), got {dim}")));
            }
            one(Op::Softmax { dim })
        }
        "channel_mean" => one(Op::ChannelMean),
        "channel_max" => one(Op::ChannelMax),
        "global_avg_pool" => one(Op::GlobalAvgPool),
        "global_max_pool" => one(Op::GlobalMaxPool),
        "upsample" => {
            let bilinear = match b.get("mode") {
                Some(Value::Str(m)) if m == "nearest" => false,
                Some(Value::Str(m)) if m == "bilinear" => true,
                other => return Err(("mode", format!("`mode` must be \"nearest\" or \"bilinear\", got {other:?}"))),
            };
            one(Op::Upsample { factor: pos(b, "factor")?, bilinear })
        }
        "learnable_scale" => one(Op::LearnableScale { init: float(b, "init") }),
        "pad" => one(Op::Pad {
            top: int(b, "top")?,
            bottom: int(b, "bottom")?,
            left: int(b, "left")?,
            right: int(b, "right")?,
            mode: pad_mode(b, "mode")?,
        }),
        "channel_std" => one(Op::ChannelStd),
        "abs" => one(Op::Abs),
        "linear" => one(Op::Linear { cin, cout: pos(b, "out")?, bias: boolean(b, "bias") }),
        "layer_norm" => one(Op::LayerNorm { channels: cin, eps: float(b, "eps") }),
        "adaptive_avg_pool2d" => one(Op::AdaptiveAvgPool { size: pos(b, "size")? }),
        "coord_encoding" => one(Op::CoordEncoding { frequencies: int(b, "frequencies")? }),
        "token_attention" => {
            let (heads, _, inputs) = attention_inputs(b)?;
            Ok((Op::TokenAttention { heads }, inputs))
        }
        "data_consistency" => {
            let norm = fft_norm(b)?;
            let lambda = float(b, "lambda");
            let (k, mask) = (b["k"].clone(), b["mask"].clone());
            if !matches!(k, Value::Tensor { complex: true, .. }) {
                return Err(("k", "`k` must be complex k-space (declare it `input k: complex [C, H, W]`)".into()));
            }
            if matches!(mask, Value::Tensor { complex: true, .. }) {
                return Err(("mask", "`mask` must be a real tensor of 0s and 1s".into()));
            }
            if channels(&k) != cin || (channels(&mask) != 1 && channels(&mask) != cin) {
                return Err((
                    "mask",
                    format!(
                        "`x` has {cin} channels, `k` {} and `mask` {}: k must match x, mask 1 or match",
                        channels(&k),
                        channels(&mask)
                    ),
                ));
            }
            let op =
                Op::DataConsistency { norm, centered: boolean(b, "shift"), lambda: (lambda >= 0.0).then_some(lambda) };
            Ok((op, vec![x.expect("x is required"), k, mask]))
        }
        "chunk" => {
            let (chunks, index) = (pos(b, "chunks")?, int(b, "index")?);
            if cin % chunks != 0 {
                return Err(("chunks", format!("{cin} channels do not split into {chunks} equal chunks")));
            }
            if index >= chunks {
                return Err(("index", format!("chunk index {index} is out of range for {chunks} chunks")));
            }
            let len = cin / chunks;
            one(Op::Narrow { start: index * len, len })
        }
        "channel_attention" => {
            let (heads, c, inputs) = attention_inputs(b)?;
            Ok((Op::ChannelAttention { channels: c, heads }, inputs))
        }
        other => Err(("x", format!("`{other}` is not a primitive"))),
    }
}
