//! k-space as a set of points (IGKR-Net, after the K-Space Transformer): the samples a mask
//! selects gathered into a point set, their grid coordinates and sinusoidal encodings, and the
//! way back onto the grid.
//!
//! A point set is a tensor `[B, C, N, 1]`: point `n` of batch element `b` sits at row `n`. The
//! points a mask selects are taken in row-major order and padded with zeros to the largest count
//! in the batch; `point_valid(mask)` is 1 at the real points and 0 at the padding, the key mask of
//! `masked_token_attention`. Coordinates are KT's: `(row/(H−1), col/(W−1))` in `[0, 1]`.

use super::*;

pub const FAMILY: Family = Family {
    names: &[
        "gather_points",
        "scatter_points",
        "point_coords",
        "point_valid",
        "grid_points",
        "grid_coords",
        "points_to_grid",
        "sinusoidal_pe",
    ],
    signature: |name| {
        use Kind::*;
        let mask = || req("mask", Tensor);
        match name {
            "gather_points" => sig(vec![x(), mask()]),
            "scatter_points" => sig(vec![req("points", Tensor), mask(), req("base", Tensor)]),
            "point_coords" | "point_valid" => sig(vec![mask()]),
            "grid_points" | "grid_coords" => sig(vec![x()]),
            "points_to_grid" => sig(vec![req("points", Tensor), req("like", Tensor)]),
            "sinusoidal_pe" => sig(vec![
                req("coords", Tensor),
                req("dim", Int),
                opt("scale", Float, Value::Float(250.0)),
                opt("base", Float, Value::Float(10000.0)),
            ]),
            _ => None,
        }
    },
    complex_input: |name| {
        matches!(name, "gather_points" | "scatter_points" | "grid_points" | "grid_coords" | "points_to_grid")
            .then_some(false)
    },
    build,
    channels: |op, _| {
        Some(match op {
            Op::PointCoords | Op::GridCoords => 2,
            Op::PointValid => 1,
            Op::SinusoidalPe { dim, .. } => *dim,
            _ => return None,
        })
    },
    spatial: |op, sizes| match op {
        // The point count depends on the mask (or is H·W): known only at run time.
        Op::GatherPoints | Op::PointCoords | Op::PointValid | Op::GridPoints | Op::GridCoords => {
            Some([Extent::unknown(), Extent::literal(1)])
        }
        Op::ScatterPoints => Some(sizes[2].clone()),
        Op::PointsToGrid => Some(sizes[1].clone()),
        _ => None,
    },
    agreement: |op| match op {
        Op::GatherPoints => Some(Agreement { from: 0, broadcast: false, what: "the tensor and its mask" }),
        Op::ScatterPoints => Some(Agreement { from: 1, broadcast: false, what: "the mask and the base" }),
        _ => None,
    },
    complex_output: |op, first| match op {
        Op::PointCoords | Op::PointValid | Op::GridCoords | Op::SinusoidalPe { .. } => Some(false),
        Op::GatherPoints | Op::ScatterPoints | Op::GridPoints | Op::PointsToGrid => Some(first),
        _ => None,
    },
    ..NONE
};

/// A mask argument: one real channel.
fn mask_arg(b: &Bound) -> Result<Value, (&'static str, String)> {
    let m = b["mask"].clone();
    match &m {
        Value::Tensor { complex: true, .. } => Err(("mask", "a mask must be a real tensor, got a complex one".into())),
        Value::Tensor { channels: 1, .. } => Ok(m),
        other => Err(("mask", format!("a mask has one channel, got {}", channels(other)))),
    }
}

fn is_complex(v: &Value) -> bool {
    matches!(v, Value::Tensor { complex: true, .. })
}

fn build(name: &str, b: &Bound) -> Built {
    match name {
        "gather_points" => Ok((Op::GatherPoints, vec![b["x"].clone(), mask_arg(b)?])),
        "point_coords" => Ok((Op::PointCoords, vec![mask_arg(b)?])),
        "point_valid" => Ok((Op::PointValid, vec![mask_arg(b)?])),
        "scatter_points" => {
            let (points, base) = (b["points"].clone(), b["base"].clone());
            if channels(&points) != channels(&base) || is_complex(&points) != is_complex(&base) {
                return Err((
                    "base",
                    format!(
                        "the points have {} {} channels but the base has {} {}",
                        channels(&points),
                        if is_complex(&points) { "complex" } else { "real" },
                        channels(&base),
                        if is_complex(&base) { "complex" } else { "real" },
                    ),
                ));
            }
            Ok((Op::ScatterPoints, vec![points, mask_arg(b)?, base]))
        }
        "grid_points" => one(b, Op::GridPoints),
        "grid_coords" => one(b, Op::GridCoords),
        "points_to_grid" => Ok((Op::PointsToGrid, vec![b["points"].clone(), b["like"].clone()])),
        "sinusoidal_pe" => {
            let coords = b["coords"].clone();
            if channels(&coords) != 2 || is_complex(&coords) {
                return Err((
                    "coords",
                    format!("coordinates have two real channels (row, col), got {}", channels(&coords)),
                ));
            }
            let dim = pos(b, "dim")?;
            if dim % 4 != 0 {
                return Err(("dim", format!("`dim` splits into sin and cos of two axes: a multiple of 4, got {dim}")));
            }
            let (scale, base) = (float(b, "scale"), float(b, "base"));
            if !scale.is_finite() || scale <= 0.0 {
                return Err(("scale", format!("`scale` must be a positive number, got {scale}")));
            }
            if !base.is_finite() || base <= 1.0 {
                return Err(("base", format!("`base` must be a number above 1, got {base}")));
            }
            Ok((Op::SinusoidalPe { dim, scale, base }, vec![coords]))
        }
        _ => not_ours(name),
    }
}
