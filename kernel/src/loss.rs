//! Loss evaluation on burn tensors, differentiably. The loss itself (its weighted terms, the
//! names it reads, its real and complex values) is elaborated and checked by `mcmr_dsl::loss`
//! before a run starts; this file computes it.
//!
//! Terms: `l1`, `l2`/`mse` (means over every element, as PyTorch's `L1Loss`/`MSELoss`) and
//! `ssim(x, y)`, the structural similarity as fastMRI's `SSIMLoss` computes it (7×7 uniform
//! window over the valid region, k1 = 0.01, k2 = 0.03, sample covariance, data range = the
//! maximum of each item of `y`), so a term is written `1 - ssim(x, y)`. Inside a term, the
//! network primitives `rfft2` (PyTorch's un-shifted real FFT), `fft2` (complex FFT of a real
//! image, `shift` as in networks), `magnitude`, `phase` (`atan2`), `real`, `imag` and
//! `view_as_real` (real parts, then imaginary parts, along channels).

use crate::fft::Norm;
use burn::tensor::Tensor;
use mcmr_dsl::check::Value as Const;
pub use mcmr_dsl::loss::{Loss, Node, Term};
use std::collections::{BTreeMap, BTreeSet};

/// A value while evaluating a loss.
enum Value {
    Real(Tensor<4>),
    Complex(Tensor<4>, Tensor<4>),
    Scalar(Tensor<1>),
}

/// The tensors a loss reads, by name; those in `complex` hold real parts in their first half of
/// channels and imaginary parts in the second (complex network outputs, `kspace`).
pub struct Named<'a> {
    pub tensors: &'a BTreeMap<String, Tensor<4>>,
    pub complex: &'a BTreeSet<String>,
}

/// The total loss and each term's (unweighted) value, from tensors by name.
pub fn evaluate(
    loss: &Loss,
    tensors: &BTreeMap<String, Tensor<4>>,
    complex: &BTreeSet<String>,
) -> Result<(Tensor<1>, Vec<Tensor<1>>), String> {
    let named = &Named { tensors, complex };
    let mut total: Option<Tensor<1>> = None;
    let mut values = Vec::new();
    for t in &loss.terms {
        let Value::Scalar(v) = eval(&t.node, named)? else { unreachable!("terms are l1/l2/mse/ssim calls") };
        let weighted = v.clone() * t.weight;
        total = Some(match total {
            Some(s) => s + weighted,
            None => weighted,
        });
        values.push(v);
    }
    total.map(|t| (t + loss.constant, values)).ok_or_else(|| "the loss has no terms".to_string())
}

fn norm_arg(options: &BTreeMap<String, Const>) -> Result<Norm, String> {
    match options.get("norm") {
        Some(Const::Str(s)) => Norm::parse(s).ok_or(format!("unknown FFT norm `{s}` (backward, ortho, forward)")),
        _ => Err("`norm` must be a string".into()),
    }
}

fn eval(node: &Node, named: &Named) -> Result<Value, String> {
    let (name, pos, options) = match node {
        Node::Read(n) => {
            let t = named.tensors.get(n).cloned().ok_or_else(|| {
                format!(
                    "the loss uses `{n}`, which is not known (known: {})",
                    named.tensors.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            return Ok(if named.complex.contains(n) {
                let c = t.dims()[1] / 2;
                Value::Complex(t.clone().narrow(1, 0, c), t.narrow(1, c, c))
            } else {
                Value::Real(t)
            });
        }
        Node::Unsupported(text) => return Err(format!("unsupported expression `{text}` in the loss")),
        Node::Apply { function, args, options } => (function.as_str(), args, options),
    };
    let real = |v: Value| match v {
        Value::Real(t) => Ok(t),
        _ => Err(format!("`{name}` needs real tensors")),
    };
    let complex = |v: Value| match v {
        Value::Complex(re, im) => Ok((re, im)),
        _ => Err(format!("`{name}` needs a complex value (from fft2 or rfft2)")),
    };
    let one = || pos.first().ok_or(format!("`{name}` needs an argument"));
    // `broadcast`: a one-channel side stands for itself repeated over the other's channels
    // (IMA's loss compares a C-channel state with the one-channel target).
    let pair_of = |broadcast: bool| -> Result<(Tensor<4>, Tensor<4>), String> {
        let a = real(eval(&pos[0], named)?)?;
        let b = real(eval(&pos[1], named)?)?;
        let (da, db) = (a.dims(), b.dims());
        let channels_only = da[0] == db[0] && da[2..] == db[2..] && (da[1] == 1 || db[1] == 1);
        if broadcast && channels_only && da != db {
            let c = da[1].max(db[1]);
            return Ok((a.expand([da[0], c, da[2], da[3]]), b.expand([db[0], c, db[2], db[3]])));
        }
        if a.dims() != b.dims() {
            return Err(format!("`{}`: shapes {:?} and {:?} differ", node.label(), a.dims(), b.dims()));
        }
        Ok((a, b))
    };
    let pair = || pair_of(false);
    match name {
        "l1" | "l2" | "mse" if pos.len() == 2 => {
            let (a, b) = pair_of(true)?;
            let d = a - b;
            Ok(Value::Scalar(if name == "l1" { d.abs().mean() } else { (d.clone() * d).mean() }))
        }
        "ssim" if pos.len() == 2 => {
            let (a, b) = pair()?;
            Ok(Value::Scalar(ssim(a, b)?))
        }
        "rfft2" => {
            let (re, im) = crate::ops::rfft2(real(eval(one()?, named)?)?, norm_arg(options)?);
            Ok(Value::Complex(re, im))
        }
        "avg_pool2d" => {
            use burn::tensor::module::avg_pool2d;
            use burn::tensor::ops::AvgPoolOptions;
            let k = match options.get("kernel") {
                Some(Const::Int(k)) if *k > 0 => *k as usize,
                None => 2,
                Some(other) => return Err(format!("`avg_pool2d(kernel)` must be a positive integer, got {other:?}")),
            };
            let s = match options.get("stride") {
                Some(Const::Int(s)) if *s > 0 => *s as usize,
                _ => k,
            };
            let pool = |t: Tensor<4>| avg_pool2d(t, AvgPoolOptions::new([k; 2]).with_stride([s; 2]));
            Ok(match eval(one()?, named)? {
                Value::Real(x) => Value::Real(pool(x)),
                Value::Complex(re, im) => Value::Complex(pool(re), pool(im)),
                Value::Scalar(_) => return Err("`avg_pool2d` needs a tensor".into()),
            })
        }
        "fft2" | "ifft2" => {
            let (x, y) = match eval(one()?, named)? {
                Value::Real(x) => {
                    let zeros = x.zeros_like();
                    (x, zeros)
                }
                Value::Complex(re, im) => (re, im),
                Value::Scalar(_) => return Err("`fft2` needs a tensor".into()),
            };
            let shift = matches!(options.get("shift"), Some(Const::Bool(true)));
            let (re, im) = if name == "fft2" {
                crate::ops::fft2(x, y, norm_arg(options)?, shift)
            } else {
                crate::ops::ifft2(x, y, norm_arg(options)?, shift)
            };
            Ok(Value::Complex(re, im))
        }
        "magnitude" | "phase" | "real" | "imag" | "view_as_real" => {
            let (re, im) = complex(eval(one()?, named)?)?;
            Ok(Value::Real(match name {
                "magnitude" => crate::ops::magnitude(re, im),
                "phase" => crate::ops::phase(re, im),
                "real" => re,
                "view_as_real" => Tensor::cat(vec![re, im], 1),
                _ => im,
            }))
        }
        other => Err(format!(
            "unsupported `{other}(...)` in the loss (l1, l2, mse, ssim, fft2, ifft2, rfft2, avg_pool2d, magnitude, phase, real, imag, view_as_real)"
        )),
    }
}

/// Mean SSIM of `x` against `y` (`[B, C, H, W]`), fastMRI's `SSIMLoss` similarity: 7×7 uniform
/// windows over the valid region, sample covariance, `data_range` = the maximum of each item of `y`.
fn ssim(x: Tensor<4>, y: Tensor<4>) -> Result<Tensor<1>, String> {
    use burn::tensor::module::avg_pool2d;
    use burn::tensor::ops::AvgPoolOptions;
    const WIN: usize = 7;
    let [b, _, h, w] = y.dims();
    if h < WIN || w < WIN {
        return Err(format!("`ssim` needs images of at least {WIN}x{WIN}, not {h}x{w}"));
    }
    let mean = |t: Tensor<4>| avg_pool2d(t, AvgPoolOptions::new([WIN; 2]).with_stride([1, 1]));
    let range = y.clone().detach().max_dims(&[1, 2, 3]).reshape([b, 1, 1, 1]);
    let (c1, c2) = ((range.clone() * 0.01).powi_scalar(2), (range * 0.03).powi_scalar(2));
    let n = (WIN * WIN) as f64;
    let cov_norm = n / (n - 1.0);
    let (ux, uy) = (mean(x.clone()), mean(y.clone()));
    let uxx = mean(x.clone() * x.clone());
    let uyy = mean(y.clone() * y.clone());
    let uxy = mean(x * y);
    let vx = (uxx - ux.clone() * ux.clone()) * cov_norm;
    let vy = (uyy - uy.clone() * uy.clone()) * cov_norm;
    let vxy = (uxy - ux.clone() * uy.clone()) * cov_norm;
    let num = (ux.clone() * uy.clone() * 2.0 + c1.clone()) * (vxy * 2.0 + c2.clone());
    let den = (ux.clone() * ux + uy.clone() * uy + c1) * (vx + vy + c2);
    Ok((num / den).mean())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn loss_of(text: &str) -> Loss {
        mcmr_dsl::plan::parse_setting(text).unwrap().loss().unwrap()
    }

    fn known(loss: &Loss, names: &[&str]) -> Vec<String> {
        let Loss { terms, .. } = loss;
        let all: BTreeMap<String, bool> = names.iter().map(|n| (n.to_string(), false)).collect();
        terms.iter().flat_map(|t| t.check(&all)).map(|d| d.message).collect()
    }

    #[test]
    fn terms_carry_weights_and_values() {
        let l = loss_of("l1(y, target) + 0.5 * mse(y, target) - l1(y, y) / 4");
        let w: Vec<f64> = l.terms.iter().map(|t| t.weight).collect();
        assert_eq!(w, vec![1.0, 0.5, -0.25]);
        assert_eq!(l.terms[1].label, "mse(y, target)");
        let d = Device::flex();
        let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [1, 1, 1, 2]), &d);
        let named = BTreeMap::from([("y".to_string(), t(vec![1.0, 3.0])), ("target".to_string(), t(vec![0.0, 0.0]))]);
        let (total, parts) = evaluate(&l, &named, &BTreeSet::new()).unwrap();
        let v = |x: Tensor<1>| x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0];
        // l1 = (1 + 3)/2 = 2; mse = (1 + 9)/2 = 5; total = 2 + 2.5 − 0 = 4.5
        assert_eq!(parts.into_iter().map(v).collect::<Vec<_>>(), vec![2.0, 5.0, 0.0]);
        assert_eq!(v(total), 4.5);
        assert_eq!(known(&l, &["y"]).len(), 2, "`target` is read by two terms");
    }

    #[test]
    fn ssim_term_matches_the_host_ssim_metric() {
        let l = loss_of("1 - ssim(y, target)");
        assert_eq!((l.constant, l.terms[0].weight), (1.0, -1.0));
        let (h, w) = (12, 10);
        let gt: Vec<f64> = (0..h * w).map(|i| ((i * 37) % 17) as f64 / 4.0).collect();
        let pred: Vec<f64> = gt.iter().enumerate().map(|(i, v)| v + ((i * 13) % 7) as f64 / 10.0 - 0.3).collect();
        let d = Device::flex();
        let t = |v: &[f64]| {
            Tensor::<4>::from_data(TensorData::new(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), [1, 1, h, w]), &d)
        };
        let named = BTreeMap::from([("y".to_string(), t(&pred)), ("target".to_string(), t(&gt))]);
        let (total, parts) = evaluate(&l, &named, &BTreeSet::new()).unwrap();
        let v = |x: Tensor<1>| x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0];
        let range = gt.iter().cloned().fold(0.0, f64::max);
        let map = crate::metrics::ssim_map_valid(&gt, &pred, h, w, range, &crate::metrics::SsimParams::default());
        let host = map.iter().sum::<f64>() / map.len() as f64;
        assert!((v(parts[0].clone()) - host).abs() < 1e-5, "{} vs {host}", v(parts[0].clone()));
        assert!((v(total) - (1.0 - host)).abs() < 1e-5);
    }

    #[test]
    fn non_terms_are_refused_with_the_reason() {
        let value = mcmr_dsl::plan::parse_setting("l1(a, b) * l1(a, b)").unwrap();
        assert!(value.loss().unwrap_err().message.contains("constant weight"));
    }
}
