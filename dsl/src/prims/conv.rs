//! Convolutions (2-D, and 3-D over channels read as volumes), transposed convolutions,
//! per-pixel linear layers and padding.

use super::*;

pub const FAMILY: Family = Family {
    names: &["conv2d", "conv3d", "conv_transpose2d", "linear", "pad", "pad_to_match"],
    signature,
    build,
    channels: |op, _| match op {
        Op::Conv2d { cout, .. } | Op::ConvTranspose2d { cout, .. } | Op::Linear { cout, .. } => Some(*cout),
        Op::Conv3d { cout, depth, kernel, padding, .. } => Some(cout * (depth + 2 * padding + 1 - kernel)),
        _ => None,
    },
    spatial,
    params,
    ..NONE
};

fn signature(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Bool as B, Int as I, Str as S};
    match name {
        "conv2d" => sig(vec![
            x(),
            req("out", Int),
            opt("kernel", Int, I(3)),
            opt("stride", Int, I(1)),
            opt("padding", Int, I(0)),
            opt("dilation", Int, I(1)),
            opt("groups", Int, I(1)),
            opt("bias", Bool, B(true)),
            opt("padding_mode", Str, S("zeros".into())),
            opt("init", Str, S("default".into())),
        ]),
        "conv3d" => sig(vec![
            x(),
            req("out", Int),
            req("depth", Int),
            opt("kernel", Int, I(3)),
            opt("padding", Int, I(0)),
            opt("bias", Bool, B(true)),
        ]),
        "conv_transpose2d" => sig(vec![
            x(),
            req("out", Int),
            opt("kernel", Int, I(2)),
            opt("stride", Int, I(2)),
            opt("padding", Int, I(0)),
            opt("output_padding", Int, I(0)),
            opt("bias", Bool, B(true)),
            opt("init", Str, S("default".into())),
        ]),
        "linear" => sig(vec![x(), req("out", Int), opt("bias", Bool, B(true)), opt("init", Str, S("default".into()))]),
        "pad" => sig(vec![
            x(),
            opt("top", Int, I(0)),
            opt("bottom", Int, I(0)),
            opt("left", Int, I(0)),
            opt("right", Int, I(0)),
            opt("mode", Str, S("zeros".into())),
        ]),
        "pad_to_match" => sig(vec![x(), req("like", Tensor), opt("mode", Str, S("reflect".into()))]),
        _ => None,
    }
}

fn build(name: &str, b: &Bound) -> Built {
    let cin = cin(b);
    match name {
        "conv2d" => {
            let groups = pos(b, "groups")?;
            if cin % groups != 0 || pos(b, "out")? % groups != 0 {
                return Err((
                    "groups",
                    format!("{cin} input and {} output channels are not divisible by {groups} groups", int(b, "out")?),
                ));
            }
            one(
                b,
                Op::Conv2d {
                    cin,
                    cout: pos(b, "out")?,
                    kernel: pos(b, "kernel")?,
                    stride: pos(b, "stride")?,
                    padding: int(b, "padding")?,
                    dilation: pos(b, "dilation")?,
                    groups,
                    bias: boolean(b, "bias"),
                    padding_mode: pad_mode(b, "padding_mode")?,
                    init: weight_init(b)?,
                },
            )
        }
        "conv3d" => {
            let (depth, kernel, padding) = (pos(b, "depth")?, pos(b, "kernel")?, int(b, "padding")?);
            if cin % depth != 0 {
                return Err((
                    "depth",
                    format!("{cin} input channels are not a whole number of volumes of depth {depth}"),
                ));
            }
            if depth + 2 * padding < kernel {
                return Err((
                    "kernel",
                    format!("a kernel of {kernel} does not fit a depth of {depth} padded by {padding} on each side"),
                ));
            }
            one(
                b,
                Op::Conv3d { cin: cin / depth, cout: pos(b, "out")?, depth, kernel, padding, bias: boolean(b, "bias") },
            )
        }
        "conv_transpose2d" => one(
            b,
            Op::ConvTranspose2d {
                cin,
                cout: pos(b, "out")?,
                kernel: pos(b, "kernel")?,
                stride: pos(b, "stride")?,
                padding: int(b, "padding")?,
                output_padding: int(b, "output_padding")?,
                bias: boolean(b, "bias"),
                init: weight_init(b)?,
            },
        ),
        "linear" => one(b, Op::Linear { cin, cout: pos(b, "out")?, bias: boolean(b, "bias"), init: weight_init(b)? }),
        "pad" => one(
            b,
            Op::Pad {
                top: int(b, "top")?,
                bottom: int(b, "bottom")?,
                left: int(b, "left")?,
                right: int(b, "right")?,
                mode: pad_mode(b, "mode")?,
            },
        ),
        "pad_to_match" => {
            let like = b.get("like").cloned().expect("like is required");
            Ok((Op::PadToMatch { mode: pad_mode(b, "mode")? }, vec![b.get("x").cloned().expect("x is required"), like]))
        }
        _ => not_ours(name),
    }
}

fn spatial(op: &Op, sizes: &[Size]) -> Option<Size> {
    Some(match op {
        Op::Conv2d { kernel, stride, padding, dilation, .. } => {
            let (k, s, p, d) = (*kernel as i64, *stride as i64, *padding as i64, *dilation as i64);
            each(sizes, |e| e.affine(2 * p - d * (k - 1) - 1, s, 1, 1))
        }
        Op::Conv3d { kernel, padding, .. } => {
            let (k, p) = (*kernel as i64, *padding as i64);
            each(sizes, |e| e.affine(2 * p - k, 1, 1, 1))
        }
        Op::ConvTranspose2d { kernel, stride, padding, output_padding, .. } => {
            let (k, s, p, op) = (*kernel as i64, *stride as i64, *padding as i64, *output_padding as i64);
            each(sizes, |e| e.affine(-1, 1, s, -2 * p + (k - 1) + op + 1))
        }
        Op::Pad { top, bottom, left, right, .. } => {
            [sizes[0][0].affine(0, 1, 1, (top + bottom) as i64), sizes[0][1].affine(0, 1, 1, (left + right) as i64)]
        }
        Op::PadToMatch { .. } => sizes[1].clone(),
        _ => return None,
    })
}

fn params(op: &Op) -> Option<Vec<ParamOf>> {
    Some(match *op {
        Op::Conv2d { cin, cout, kernel, groups, bias, init, .. } => {
            let fan_in = cin / groups * kernel * kernel;
            let v = weight_and_bias(vec![cout, cin / groups, kernel, kernel], cout, fan_in, bias);
            initialised(v, init, fan_in, cout * kernel * kernel)
        }
        Op::Conv3d { cin, cout, kernel, bias, .. } => {
            weight_and_bias(vec![cout, cin, kernel, kernel, kernel], cout, cin * kernel * kernel * kernel, bias)
        }
        Op::ConvTranspose2d { cin, cout, kernel, bias, init, .. } => {
            // PyTorch computes fan_in from weight.size(1) * k * k for transposed convs.
            let fan_in = cout * kernel * kernel;
            initialised(
                weight_and_bias(vec![cin, cout, kernel, kernel], cout, fan_in, bias),
                init,
                fan_in,
                cin * kernel * kernel,
            )
        }
        Op::Linear { cin, cout, bias, init } => {
            initialised(weight_and_bias(vec![cout, cin], cout, cin, bias), init, cin, cout)
        }
        _ => return None,
    })
}

/// The `init` argument ([`WeightInit::parse`]).
fn weight_init(b: &Bound) -> Result<WeightInit, (&'static str, String)> {
    match b.get("init") {
        Some(Value::Str(s)) => WeightInit::parse(s).map_err(|e| ("init", e)),
        _ => Ok(WeightInit::Default),
    }
}

/// A weight and bias (`v`, PyTorch's defaults) with the weight started as `init` says, for a
/// weight of these fans; `Zeros` zeroes the bias too.
fn initialised(mut v: Vec<ParamOf>, init: WeightInit, fan_in: usize, fan_out: usize) -> Vec<ParamOf> {
    for p in v.iter_mut() {
        p.2 = match (p.0, init) {
            ("weight", _) => init.weight(fan_in, fan_out, p.2),
            (_, WeightInit::Zeros) => Init::Zeros,
            _ => p.2,
        };
    }
    v
}
