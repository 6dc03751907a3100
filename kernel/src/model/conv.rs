//! Convolutions (2-D direct, or on CPU the kit's host ops: `im2col` and a matrix product per batch item,
//! depthwise taps; 3-D over channels read as volumes), transposed convolutions, per-pixel
//! linear layers and padding.

use super::*;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let p = |name: &str| format!("{}.{name}", cx.node.path);
    let out = match &cx.node.op {
        Op::Conv2d { stride, padding, dilation, groups, bias, padding_mode, .. } => {
            let x = match padding_mode {
                PadMode::Zeros => a(0),
                mode => pad_sides(a(0), *padding, *padding, *padding, *padding, *mode),
            };
            let pad = if *padding_mode == PadMode::Zeros { *padding } else { 0 };
            let b = bias.then(|| cx.model.param1(&p("bias")));
            let w = cx.model.param(&p("weight"));
            let k = w.dims()[2];
            let [co, ci_per_group, _, kw] = w.dims();
            let plain = cx.model.meta.matmul_conv && *stride == 1 && *dilation == 1 && k == kw;
            if plain && *groups == 1 {
                crate::ops::conv2d(x, w, b, pad)
            } else if plain && ci_per_group == 1 && co == *groups {
                depthwise_conv2d_by_taps(x, w, b, pad)
            } else {
                conv2d(x, w, b, ConvOptions::new([*stride; 2], [pad; 2], [*dilation; 2], *groups))
            }
        }
        Op::Conv3d { cin, cout, depth, kernel, padding, bias } => {
            let x = a(0);
            let [b, _, h, w] = x.dims();
            let weight = cx.model.param(&p("weight")).reshape([*cout, *cin, *kernel, *kernel, *kernel]);
            let bias = bias.then(|| cx.model.param1(&p("bias")));
            let y = conv3d(
                x.reshape([b, *cin, *depth, h, w]),
                weight,
                bias,
                ConvOptions::new([1; 3], [*padding; 3], [1; 3], 1),
            );
            let [_, _, d, ho, wo] = y.dims();
            y.reshape([b, *cout * d, ho, wo])
        }
        Op::ConvTranspose2d { stride, padding, output_padding, bias, .. } => {
            let b = bias.then(|| cx.model.param1(&p("bias")));
            let opts = ConvTransposeOptions::new([*stride; 2], [*padding; 2], [*output_padding; 2], [1, 1], 1);
            conv_transpose2d(a(0), cx.model.param(&p("weight")), b, opts)
        }
        Op::PadToMatch { mode } => {
            let (x, like) = (a(0), a(1));
            let [_, _, h, w] = x.dims();
            let [_, _, th, tw] = like.dims();
            if *mode == PadMode::Reflect && ((tw > w && tw - w >= w) || (th > h && th - h >= h)) {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: reflect padding from {h}x{w} to {th}x{tw} needs padding smaller than the size",
                    cx.node.path
                ))));
            }
            let x = if tw > w { pad_sides(x, 0, 0, 0, tw - w, *mode) } else { x.narrow(3, 0, tw) };
            if th > h {
                pad_sides(x, 0, th - h, 0, 0, *mode)
            } else {
                x.narrow(2, 0, th)
            }
        }
        Op::Linear { cin, cout, bias, .. } => {
            let x = a(0);
            let [b, _, h, w] = x.dims();
            let weight = cx.model.param(&p("weight")).reshape([1, 1, *cout, *cin]).swap_dims(2, 3);
            let tokens = x.permute([0, 2, 3, 1]).reshape([b, 1, h * w, *cin]);
            let mut y = tokens.matmul(weight);
            if *bias {
                y = y + cx.model.param1(&p("bias")).reshape([1, 1, 1, *cout]);
            }
            y.reshape([b, h, w, *cout]).permute([0, 3, 1, 2])
        }
        Op::Pad { top, bottom, left, right, mode } => {
            let [_, _, h, w] = cx.args[0].dims();
            if *mode == PadMode::Reflect && (top.max(bottom) >= &h || left.max(right) >= &w) {
                return Some(Err(ModelError::Unsupported(format!(
                    "`{}`: reflect padding must be smaller than the size ({h}x{w})",
                    cx.node.path
                ))));
            }
            pad_sides(a(0), *top, *bottom, *left, *right, *mode)
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// A stride-1, undilated depthwise `k×k` convolution (`groups` = input = output channels):
/// [`crate::ops::depthwise_conv2d`] (row loops over host buffers on CPU) plus the bias. The same
/// sums as `conv2d` in another order; burn's CPU convolution loops over the groups (about 65% of
/// an IMA step went to its depthwise convolutions).
pub fn depthwise_conv2d_by_taps(x: Tensor<4>, w: Tensor<4>, bias: Option<Tensor<1>>, pad: usize) -> Tensor<4> {
    let y = crate::ops::depthwise_conv2d(x, w, pad);
    match bias {
        Some(bias) => {
            let c = bias.dims()[0];
            y + bias.reshape([1, c, 1, 1])
        }
        None => y,
    }
}
