//! Normalisations: instance, batch (running statistics outside training), layer (over channels)
//! and the channel standard deviation.

use super::*;

/// The forward pass of the node in `cx`, when its operation belongs here.
pub(super) fn forward(cx: &Ctx) -> Option<Result<Tensor<4>, ModelError>> {
    let a = |i: usize| cx.args[i].clone();
    let p = |name: &str| format!("{}.{name}", cx.node.path);
    let out = match &cx.node.op {
        Op::InstanceNorm { channels, eps, affine } => {
            let y = crate::ops::norm::instance_norm(a(0), *eps);
            if *affine {
                let w = cx.model.param1(&p("weight")).reshape([1, *channels, 1, 1]);
                let b = cx.model.param1(&p("bias")).reshape([1, *channels, 1, 1]);
                y * w + b
            } else {
                y
            }
        }
        Op::BatchNorm { channels, eps, momentum } => {
            let x = a(0);
            let (mean, var) = if cx.train {
                let mean = x.clone().mean_dim(0).mean_dim(2).mean_dim(3);
                let c = x.clone() - mean.clone();
                let var = (c.clone() * c).mean_dim(0).mean_dim(2).mean_dim(3);
                let [b, _, h, w] = x.dims();
                let n = (b * h * w) as f64;
                cx.stats.borrow_mut().push(BatchStats {
                    path: cx.node.path.clone(),
                    mean: mean.clone().detach().reshape([*channels]),
                    var: (var.clone().detach() * (n / (n - 1.0).max(1.0))).reshape([*channels]),
                    momentum: *momentum,
                });
                (mean, var)
            } else {
                (
                    cx.model.param1(&p("running_mean")).reshape([1, *channels, 1, 1]),
                    cx.model.param1(&p("running_var")).reshape([1, *channels, 1, 1]),
                )
            };
            let w = cx.model.param1(&p("weight")).reshape([1, *channels, 1, 1]);
            let b = cx.model.param1(&p("bias")).reshape([1, *channels, 1, 1]);
            (x - mean) / (var + *eps).sqrt() * w + b
        }
        Op::LayerNorm { channels, eps } => {
            let x = a(0);
            let c = x.clone() - x.clone().mean_dim(1);
            let var = (c.clone() * c.clone()).mean_dim(1);
            let y = c / (var + *eps).sqrt();
            y * cx.model.param1(&p("weight")).reshape([1, *channels, 1, 1])
                + cx.model.param1(&p("bias")).reshape([1, *channels, 1, 1])
        }
        Op::ChannelStd => {
            let x = a(0);
            let c = x.clone() - x.mean_dim(1);
            (c.clone() * c).mean_dim(1).sqrt()
        }
        _ => return None,
    };
    Some(Ok(out))
}
