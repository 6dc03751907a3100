//! Pooling, concatenation, channel slices, repeats and reductions, pixel (un)shuffles, upsampling,
//! coordinate encodings, and patches as tokens (MTrans: patchify, token sets, learned embeddings).

use super::*;

pub const FAMILY: Family = Family {
    names: &[
        "adaptive_avg_pool2d",
        "coord_encoding",
        "chunk",
        "repeat_channels",
        "channel_mean",
        "channel_max",
        "global_avg_pool",
        "global_max_pool",
        "global_std_pool",
        "upsample",
        "avg_pool2d",
        "max_pool2d",
        "concat",
        "pixel_shuffle",
        "pixel_unshuffle",
        "patchify",
        "unpatchify",
        "to_tokens",
        "from_tokens",
        "concat_tokens",
        "add_embedding",
    ],
    signature,
    build,
    channels: |op, args| {
        Some(match op {
            Op::Concat => args.iter().sum(),
            Op::PixelShuffle { factor } => args[0] / (factor * factor),
            Op::PixelUnshuffle { factor } | Op::Patchify { size: factor } => args[0] * factor * factor,
            Op::Unpatchify { size } => args[0] / (size * size),
            Op::ChannelMean | Op::ChannelMax => 1,
            Op::Narrow { len, .. } => *len,
            Op::RepeatChannels { times } => args[0] * times,
            Op::CoordEncoding { frequencies } => 2 + 4 * frequencies,
            _ => return None,
        })
    },
    spatial,
    // Repeats and average pooling are linear: they apply to real and imaginary parts alike.
    complex_input: |name| matches!(name, "repeat_channels" | "avg_pool2d").then_some(false),
    agreement: |op| {
        matches!(op, Op::Concat).then_some(Agreement { from: 0, broadcast: false, what: "concatenated tensors" })
    },
    params: |op| match *op {
        Op::AddEmbedding { tokens, channels } => {
            Some(vec![("embedding", vec![1, tokens, channels], Init::Normal(1.0), false)])
        }
        _ => None,
    },
    ..NONE
};

fn signature(name: &str) -> Option<Sig> {
    use Kind::*;
    use Value::{Int as I, Str as S};
    match name {
        "avg_pool2d" | "max_pool2d" => sig(vec![x(), opt("kernel", Int, I(2)), opt("stride", Int, I(0))]),
        "concat" => Some(Sig { params: vec![], variadic: true }),
        "pixel_shuffle" | "pixel_unshuffle" => sig(vec![x(), req("factor", Int)]),
        "channel_mean" | "channel_max" | "global_avg_pool" | "global_max_pool" => sig(vec![x()]),
        "global_std_pool" => sig(vec![x(), opt("correction", Int, Value::Int(0))]),
        "upsample" => sig(vec![x(), opt("factor", Int, I(2)), opt("mode", Str, S("nearest".into()))]),
        "adaptive_avg_pool2d" => sig(vec![x(), req("size", Int)]),
        "coord_encoding" => sig(vec![x(), opt("frequencies", Int, I(6))]),
        "chunk" => sig(vec![x(), req("chunks", Int), req("index", Int)]),
        "repeat_channels" => sig(vec![x(), req("times", Int)]),
        "patchify" | "unpatchify" => sig(vec![x(), req("size", Int)]),
        "to_tokens" => sig(vec![x()]),
        "from_tokens" => sig(vec![x(), req("like", Tensor)]),
        "concat_tokens" => sig(vec![x(), req("other", Tensor)]),
        "add_embedding" => sig(vec![x(), req("tokens", Int)]),
        _ => None,
    }
}

fn build(name: &str, b: &Bound) -> Built {
    let cin = cin(b);
    match name {
        "avg_pool2d" | "max_pool2d" => {
            let kernel = pos(b, "kernel")?;
            let stride = match int(b, "stride")? {
                0 => kernel,
                s => s,
            };
            one(b, if name == "avg_pool2d" { Op::AvgPool { kernel, stride } } else { Op::MaxPool { kernel, stride } })
        }
        "concat" => match b.get("xs") {
            Some(Value::List(xs)) => Ok((Op::Concat, xs.clone())),
            _ => Err(("xs", "`concat` needs tensors".into())),
        },
        "pixel_shuffle" => {
            let f = pos(b, "factor")?;
            if cin % (f * f) != 0 {
                return Err((
                    "factor",
                    format!("pixel_shuffle by {f} needs channels divisible by {}, got {cin}", f * f),
                ));
            }
            one(b, Op::PixelShuffle { factor: f })
        }
        "pixel_unshuffle" => one(b, Op::PixelUnshuffle { factor: pos(b, "factor")? }),
        "channel_mean" => one(b, Op::ChannelMean),
        "channel_max" => one(b, Op::ChannelMax),
        "global_avg_pool" => one(b, Op::GlobalAvgPool),
        "global_max_pool" => one(b, Op::GlobalMaxPool),
        "global_std_pool" => match int(b, "correction")? {
            c @ (0 | 1) => one(b, Op::GlobalStdPool { correction: c as usize }),
            c => Err(("correction", format!("`correction` is 0 (population) or 1 (unbiased), got {c}"))),
        },
        "upsample" => {
            let mode = match b.get("mode") {
                Some(Value::Str(m)) if m == "nearest" => Interp::Nearest,
                Some(Value::Str(m)) if m == "bilinear" => Interp::Bilinear,
                Some(Value::Str(m)) if m == "bicubic" => Interp::Bicubic,
                other => {
                    return Err((
                        "mode",
                        format!("`mode` must be \"nearest\", \"bilinear\" or \"bicubic\", got {other:?}"),
                    ))
                }
            };
            one(b, Op::Upsample { factor: pos(b, "factor")?, mode })
        }
        "adaptive_avg_pool2d" => one(b, Op::AdaptiveAvgPool { size: pos(b, "size")? }),
        "repeat_channels" => one(b, Op::RepeatChannels { times: pos(b, "times")? }),
        "coord_encoding" => one(b, Op::CoordEncoding { frequencies: int(b, "frequencies")? }),
        "patchify" => one(b, Op::Patchify { size: pos(b, "size")? }),
        "unpatchify" => {
            let size = pos(b, "size")?;
            if cin % (size * size) != 0 {
                return Err((
                    "size",
                    format!("unpatchify by {size} needs channels divisible by {}, got {cin}", size * size),
                ));
            }
            one(b, Op::Unpatchify { size })
        }
        "to_tokens" => one(b, Op::ToTokens),
        "from_tokens" => Ok((Op::FromTokens, vec![b["x"].clone(), b["like"].clone()])),
        "concat_tokens" => {
            let other = b["other"].clone();
            if channels(&other) != cin {
                return Err(("other", format!("token sets of {cin} and {} channels", channels(&other))));
            }
            Ok((Op::ConcatTokens, vec![b["x"].clone(), other]))
        }
        "add_embedding" => one(b, Op::AddEmbedding { tokens: pos(b, "tokens")?, channels: cin }),
        "chunk" => {
            let (chunks, index) = (pos(b, "chunks")?, int(b, "index")?);
            if cin % chunks != 0 {
                return Err(("chunks", format!("{cin} channels do not split into {chunks} equal chunks")));
            }
            if index >= chunks {
                return Err(("index", format!("chunk index {index} is out of range for {chunks} chunks")));
            }
            let len = cin / chunks;
            one(b, Op::Narrow { start: index * len, len })
        }
        _ => not_ours(name),
    }
}

fn spatial(op: &Op, sizes: &[Size]) -> Option<Size> {
    Some(match op {
        Op::AvgPool { kernel, stride } | Op::MaxPool { kernel, stride } => {
            let (k, s) = (*kernel as i64, *stride as i64);
            each(sizes, |e| e.affine(-k, s, 1, 1))
        }
        Op::PixelShuffle { factor } | Op::Upsample { factor, .. } => each(sizes, |e| e.affine(0, 1, *factor as i64, 0)),
        Op::PixelUnshuffle { factor } | Op::Patchify { size: factor } => {
            each(sizes, |e| e.affine(0, *factor as i64, 1, 0))
        }
        Op::Unpatchify { size } => each(sizes, |e| e.affine(0, 1, *size as i64, 0)),
        Op::ToTokens => [sizes[0][0].times(&sizes[0][1]), Extent::literal(1)],
        Op::FromTokens => sizes[1].clone(),
        Op::ConcatTokens => [sizes[0][0].plus(&sizes[1][0]), Extent::literal(1)],
        Op::AddEmbedding { tokens, .. } => [Extent::literal(*tokens), Extent::literal(1)],
        Op::GlobalAvgPool | Op::GlobalMaxPool | Op::GlobalStdPool { .. } => [Extent::literal(1), Extent::literal(1)],
        Op::AdaptiveAvgPool { size } => [Extent::literal(*size), Extent::literal(*size)],
        _ => return None,
    })
}
