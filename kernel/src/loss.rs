//! Loss expressions of a spec (`loss = l1(output, target) + 0.01 * l1(magnitude(rfft2(output)), ...)`)
//! evaluated on burn tensors, differentiably.
//!
//! A loss is a weighted sum of *terms*; each term is a call of `l1`, `l2`/`mse` (means over every
//! element, as PyTorch's `L1Loss`/`MSELoss`) on real tensors, which may be built from network
//! outputs and data (`target`, `reference`, `input`) with `rfft2(x, norm = ...)` (PyTorch's
//! un-shifted real FFT), `fft2(x, norm = ..., centered = true)` (complex FFT of a real image),
//! `magnitude`, `phase` (`atan2`), `real` and `imag`. `ssim(x, y)` is the structural similarity
//! as fastMRI's `SSIMLoss` computes it (7×7 uniform window over the valid region, k1 = 0.01,
//! k2 = 0.03, sample covariance, data range = the maximum of each item of `y`), so a loss term
//! is written `1 - ssim(x, y)`; constants in the sum only shift the reported value.
//! [`Loss::terms`] names each term by its text so training logs can report every term's value.

use crate::fft::Norm;
use burn::tensor::Tensor;
use mcmr_dsl::ast::{BinOp, Expr, ExprKind};
use std::collections::BTreeMap;

/// A value while evaluating a loss.
enum Value {
    Real(Tensor<4>),
    Complex(Tensor<4>, Tensor<4>),
    Scalar(Tensor<1>),
}

/// One weighted term of a loss.
#[derive(Clone, Debug)]
pub struct Term {
    /// The term as written (`l1(output, target)`).
    pub label: String,
    pub weight: f64,
    pub expr: Expr,
}

/// A parsed loss: a weighted sum of terms plus a constant.
#[derive(Clone, Debug)]
pub struct Loss {
    pub terms: Vec<Term>,
    pub constant: f64,
}

/// The text of an expression, for labels.
pub fn render(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => format!("{f}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Name(n) => n.clone(),
        ExprKind::List(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        ExprKind::Index(a, i) => format!("{}[{}]", render(a), render(i)),
        ExprKind::Neg(a) => format!("-{}", render(a)),
        ExprKind::Binary(op, a, b) => format!("{} {} {}", render(a), op.symbol(), render(b)),
        ExprKind::Call { name, args, .. } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{} = {}", n.name, render(&a.value)),
                    None => render(&a.value),
                })
                .collect();
            format!("{}({})", name.name, args.join(", "))
        }
    }
}

fn constant(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Int(i) => Some(*i as f64),
        ExprKind::Float(f) => Some(*f),
        ExprKind::Neg(a) => constant(a).map(|v| -v),
        ExprKind::Binary(BinOp::Mul, a, b) => Some(constant(a)? * constant(b)?),
        ExprKind::Binary(BinOp::Div, a, b) => Some(constant(a)? / constant(b)?),
        _ => None,
    }
}

fn flatten(e: &Expr, weight: f64, out: &mut Vec<Term>, constant_sum: &mut f64) -> Result<(), String> {
    if let Some(c) = constant(e) {
        *constant_sum += weight * c;
        return Ok(());
    }
    match &e.kind {
        ExprKind::Binary(BinOp::Add, a, b) => {
            flatten(a, weight, out, constant_sum)?;
            flatten(b, weight, out, constant_sum)
        }
        ExprKind::Binary(BinOp::Sub, a, b) => {
            flatten(a, weight, out, constant_sum)?;
            flatten(b, -weight, out, constant_sum)
        }
        ExprKind::Neg(a) => flatten(a, -weight, out, constant_sum),
        ExprKind::Binary(BinOp::Mul, a, b) => match (constant(a), constant(b)) {
            (Some(w), None) => flatten(b, weight * w, out, constant_sum),
            (None, Some(w)) => flatten(a, weight * w, out, constant_sum),
            _ => Err(format!("`{}`: a loss term may be multiplied by a constant weight only", render(e))),
        },
        ExprKind::Binary(BinOp::Div, a, b) => match constant(b) {
            Some(w) => flatten(a, weight / w, out, constant_sum),
            None => Err(format!("`{}`: a loss term may be divided by a constant only", render(e))),
        },
        ExprKind::Call { name, .. } => match name.name.as_str() {
            "l1" | "l2" | "mse" | "ssim" => {
                out.push(Term { label: render(e), weight, expr: e.clone() });
                Ok(())
            }
            other => Err(format!("`{other}(...)` is not a loss term: terms are l1, l2, mse or ssim of two tensors")),
        },
        _ => Err(format!("`{}` is not a loss term: write a weighted sum of l1/l2/mse calls", render(e))),
    }
}

impl Loss {
    /// Parses a loss expression into weighted terms.
    pub fn parse(e: &Expr) -> Result<Loss, String> {
        let (mut terms, mut constant) = (Vec::new(), 0.0);
        flatten(e, 1.0, &mut terms, &mut constant)?;
        if terms.is_empty() {
            return Err(format!("`{}` has no loss term (l1, l2, mse or ssim of two tensors)", render(e)));
        }
        Ok(Loss { terms, constant })
    }

    /// The total loss and each term's (unweighted) value, from tensors by name.
    pub fn evaluate(&self, named: &BTreeMap<String, Tensor<4>>) -> Result<(Tensor<1>, Vec<Tensor<1>>), String> {
        let mut total: Option<Tensor<1>> = None;
        let mut values = Vec::new();
        for t in &self.terms {
            let Value::Scalar(v) = eval(&t.expr, named)? else { unreachable!("terms are l1/l2/mse/ssim calls") };
            let weighted = v.clone() * t.weight;
            total = Some(match total {
                Some(s) => s + weighted,
                None => weighted,
            });
            values.push(v);
        }
        total.map(|t| (t + self.constant, values)).ok_or_else(|| "the loss has no terms".to_string())
    }

    /// Names the loss reads that are not in `known` (checked before training starts).
    pub fn unknown_names(&self, known: &[String]) -> Vec<String> {
        fn walk(e: &Expr, known: &[String], out: &mut Vec<String>) {
            match &e.kind {
                ExprKind::Name(n) if !known.contains(n) && !out.contains(n) => out.push(n.clone()),
                ExprKind::Call { args, .. } => {
                    args.iter().filter(|a| a.name.is_none()).for_each(|a| walk(&a.value, known, out))
                }
                ExprKind::Binary(_, a, b) => {
                    walk(a, known, out);
                    walk(b, known, out)
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.terms.iter().for_each(|t| walk(&t.expr, known, &mut out));
        out
    }
}

fn named_arg<'a>(args: &'a [mcmr_dsl::ast::Arg], key: &str) -> Option<&'a Expr> {
    args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == key)).map(|a| &a.value)
}

fn norm_arg(args: &[mcmr_dsl::ast::Arg], default: Norm) -> Result<Norm, String> {
    match named_arg(args, "norm").map(|e| &e.kind) {
        None => Ok(default),
        Some(ExprKind::Str(s)) => Norm::parse(s).ok_or(format!("unknown FFT norm `{s}` (backward, ortho, forward)")),
        Some(_) => Err("`norm` must be a string".into()),
    }
}

fn eval(e: &Expr, named: &BTreeMap<String, Tensor<4>>) -> Result<Value, String> {
    match &e.kind {
        ExprKind::Name(n) => named.get(n).cloned().map(Value::Real).ok_or_else(|| {
            format!(
                "the loss uses `{n}`, which is not known (known: {})",
                named.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }),
        ExprKind::Call { name, args, .. } => {
            let pos: Vec<&Expr> = args.iter().filter(|a| a.name.is_none()).map(|a| &a.value).collect();
            let real = |v: Value| match v {
                Value::Real(t) => Ok(t),
                _ => Err(format!("`{}` needs real tensors", name.name)),
            };
            let complex = |v: Value| match v {
                Value::Complex(re, im) => Ok((re, im)),
                _ => Err(format!("`{}` needs a complex value (from fft2 or rfft2)", name.name)),
            };
            let one = || pos.first().copied().ok_or(format!("`{}` needs an argument", name.name));
            match name.name.as_str() {
                "l1" | "l2" | "mse" if pos.len() == 2 => {
                    let a = real(eval(pos[0], named)?)?;
                    let b = real(eval(pos[1], named)?)?;
                    if a.dims() != b.dims() {
                        return Err(format!("`{}`: shapes {:?} and {:?} differ", render(e), a.dims(), b.dims()));
                    }
                    let d = a - b;
                    Ok(Value::Scalar(if name.name == "l1" { d.abs().mean() } else { (d.clone() * d).mean() }))
                }
                "ssim" if pos.len() == 2 => {
                    let a = real(eval(pos[0], named)?)?;
                    let b = real(eval(pos[1], named)?)?;
                    if a.dims() != b.dims() {
                        return Err(format!("`{}`: shapes {:?} and {:?} differ", render(e), a.dims(), b.dims()));
                    }
                    Ok(Value::Scalar(ssim(a, b)?))
                }
                "rfft2" => {
                    let (re, im) = crate::ops::rfft2(real(eval(one()?, named)?)?, norm_arg(args, Norm::Backward)?);
                    Ok(Value::Complex(re, im))
                }
                "fft2" => {
                    let x = real(eval(one()?, named)?)?;
                    let centered = !matches!(named_arg(args, "centered").map(|e| &e.kind), Some(ExprKind::Bool(false)));
                    let zeros = x.zeros_like();
                    let (re, im) = crate::ops::fft2(x, zeros, norm_arg(args, Norm::Ortho)?, centered);
                    Ok(Value::Complex(re, im))
                }
                "magnitude" | "phase" | "real" | "imag" => {
                    let (re, im) = complex(eval(one()?, named)?)?;
                    Ok(Value::Real(match name.name.as_str() {
                        "magnitude" => crate::ops::magnitude(re, im),
                        "phase" => crate::ops::phase(re, im),
                        "real" => re,
                        _ => im,
                    }))
                }
                other => Err(format!(
                    "unsupported `{other}(...)` in the loss (l1, l2, mse, fft2, rfft2, magnitude, phase, real, imag)"
                )),
            }
        }
        _ => Err(format!("unsupported expression `{}` in the loss", render(e))),
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
        let s = mcmr_dsl::parse(&format!("experiment {{ loss = {text} }}")).unwrap();
        let mcmr_dsl::ast::Entry::Setting { value, .. } = &s.sections[0].entries[0] else { panic!() };
        Loss::parse(value).unwrap()
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
        let (total, parts) = l.evaluate(&named).unwrap();
        let v = |x: Tensor<1>| x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0];
        // l1 = (1 + 3)/2 = 2; mse = (1 + 9)/2 = 5; total = 2 + 2.5 − 0 = 4.5
        assert_eq!(parts.into_iter().map(v).collect::<Vec<_>>(), vec![2.0, 5.0, 0.0]);
        assert_eq!(v(total), 4.5);
        assert_eq!(l.unknown_names(&["y".into()]), vec!["target".to_string()]);
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
        let (total, parts) = l.evaluate(&named).unwrap();
        let v = |x: Tensor<1>| x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0];
        let range = gt.iter().cloned().fold(0.0, f64::max);
        let map = crate::metrics::ssim_map_valid(&gt, &pred, h, w, range, &crate::metrics::SsimParams::default());
        let host = map.iter().sum::<f64>() / map.len() as f64;
        assert!((v(parts[0].clone()) - host).abs() < 1e-5, "{} vs {host}", v(parts[0].clone()));
        assert!((v(total) - (1.0 - host)).abs() < 1e-5);
    }

    #[test]
    fn non_terms_are_refused_with_the_reason() {
        let s = mcmr_dsl::parse("experiment { loss = l1(a, b) * l1(a, b) }").unwrap();
        let mcmr_dsl::ast::Entry::Setting { value, .. } = &s.sections[0].entries[0] else { panic!() };
        assert!(Loss::parse(value).unwrap_err().contains("constant weight"));
    }
}
