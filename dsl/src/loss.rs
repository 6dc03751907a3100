//! Loss expressions (`loss = l1(output, target) + 0.01 * l1(magnitude(rfft2(out)), ...)`),
//! elaborated and type-checked like networks, before any run starts.
//!
//! A loss is a weighted sum of *terms* plus a constant ([`Loss::parse`]); a term is a call of
//! `l1`, `l2`/`mse` or `ssim` on two real tensors. Inside a term, the transforms are the network
//! primitives of the same name, with the same argument names and defaults ([`crate::prims`]):
//! `fft2(x, norm = "ortho", shift = false)` (of a real or complex tensor) and
//! `rfft2(x, norm = "backward")` (of a real one) give complex values, `magnitude`, `phase`, `real` and `imag` take them back to real ones. [`check`] resolves
//! every name against the run's network outputs and data fields and reports, with its span, an
//! unknown name, a wrong argument, or a complex value where a real one is needed.

use crate::ast::{BinOp, Expr, ExprKind};
use crate::check::Value;
use crate::diag::{suggest, Diagnostic};
use crate::fmt::render;
use crate::prims;
use std::collections::BTreeMap;

/// Functions a term may be.
pub const TERMS: &[&str] = &["l1", "l2", "mse", "ssim"];
/// Network primitives a loss may apply inside a term.
pub const TRANSFORMS: &[&str] =
    &["fft2", "ifft2", "rfft2", "avg_pool2d", "magnitude", "phase", "real", "imag", "view_as_real"];

/// One weighted term of a loss.
#[derive(Clone, Debug)]
pub struct Term {
    /// The term as written (`l1(output, target)`), for logs.
    pub label: String,
    pub weight: f64,
    /// The term's computation, for the kernel to evaluate.
    pub node: Node,
    pub(crate) expr: Expr,
}

/// A loss computation: a tensor read by name, or a function of other nodes with its named
/// arguments (every argument of the primitive's signature, defaults filled in).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A network output or a data field.
    Read(String),
    Apply {
        function: String,
        args: Vec<Node>,
        options: BTreeMap<String, Value>,
    },
    /// An expression a loss cannot compute ([`check`] reports it, with its span).
    Unsupported(String),
}

impl Node {
    fn new(e: &Expr) -> Node {
        match &e.kind {
            ExprKind::Name(n) => Node::Read(n.clone()),
            ExprKind::Call { name, args, .. } => {
                let mut options: BTreeMap<String, Value> = prims::lookup(&name.name)
                    .map(|p| p.params.into_iter().filter_map(|q| Some((q.name.to_string(), q.default?))).collect())
                    .unwrap_or_default();
                for a in args {
                    if let (Some(k), Some(v)) = (&a.name, crate::check::const_eval(&a.value)) {
                        options.insert(k.name.clone(), v);
                    }
                }
                Node::Apply {
                    function: name.name.clone(),
                    args: args.iter().filter(|a| a.name.is_none()).map(|a| Node::new(&a.value)).collect(),
                    options,
                }
            }
            _ => Node::Unsupported(render(e)),
        }
    }

    fn names(&self, out: &mut Vec<String>) {
        match self {
            Node::Read(n) if !out.contains(n) => out.push(n.clone()),
            Node::Apply { args, .. } => args.iter().for_each(|a| a.names(out)),
            _ => {}
        }
    }

    /// The node as the formatter writes it (arguments left at their defaults omitted).
    pub fn label(&self) -> String {
        match self {
            Node::Read(n) => n.clone(),
            Node::Apply { function, args, .. } => {
                format!("{function}({})", args.iter().map(Node::label).collect::<Vec<_>>().join(", "))
            }
            Node::Unsupported(text) => text.clone(),
        }
    }
}

/// A loss: a weighted sum of terms plus a constant (which only shifts the reported value).
#[derive(Clone, Debug)]
pub struct Loss {
    pub terms: Vec<Term>,
    pub constant: f64,
}

/// What a loss value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Real,
    Complex,
    Scalar,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Real => "a real tensor",
            Kind::Complex => "a complex tensor",
            Kind::Scalar => "a scalar loss term",
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

fn flatten(e: &Expr, weight: f64, out: &mut Vec<Term>, constant_sum: &mut f64) -> Result<(), Diagnostic> {
    let fail = |message: String| Err(Diagnostic::error(e.span, message, "not a loss term"));
    if let Some(c) = constant(e) {
        if !c.is_finite() {
            return fail(format!("`{}` is not a finite number", render(e)));
        }
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
            _ => fail(format!("`{}`: a loss term may be multiplied by a constant weight only", render(e))),
        },
        ExprKind::Binary(BinOp::Div, a, b) => match constant(b) {
            Some(w) if w != 0.0 && w.is_finite() => flatten(a, weight / w, out, constant_sum),
            _ => fail(format!("`{}`: a loss term may be divided by a non-zero constant only", render(e))),
        },
        ExprKind::Call { name, .. } if TERMS.contains(&name.name.as_str()) => {
            out.push(Term { label: render(e), weight, node: Node::new(e), expr: e.clone() });
            Ok(())
        }
        ExprKind::Call { name, .. } => {
            fail(format!("`{}(...)` is not a loss term: terms are {} of two tensors", name.name, TERMS.join(", ")))
        }
        _ => fail(format!("`{}` is not a loss term: write a weighted sum of {} calls", render(e), TERMS.join("/"))),
    }
}

impl Loss {
    /// Every name the loss reads (network outputs and data fields), once each, in order.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.terms.iter().for_each(|t| t.node.names(&mut out));
        out
    }

    /// The weighted terms of a loss expression.
    pub(crate) fn parse(e: &Expr) -> Result<Loss, Diagnostic> {
        let (mut terms, mut constant) = (Vec::new(), 0.0);
        flatten(e, 1.0, &mut terms, &mut constant)?;
        if terms.is_empty() {
            return Err(Diagnostic::error(
                e.span,
                format!("`{}` has no loss term ({} of two tensors)", render(e), TERMS.join(", ")),
                "no term",
            ));
        }
        Ok(Loss { terms, constant })
    }
}

/// Checks `e` (a whole loss) against the tensors it may read: `names` maps each network output
/// and data field to whether it is complex. `what` names the setting in messages.
pub(crate) fn check(e: &Expr, names: &BTreeMap<String, bool>, what: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match Loss::parse(e) {
        Err(d) => out.push(d),
        Ok(loss) => {
            for t in &loss.terms {
                kind(&t.expr, names, what, &mut out);
            }
        }
    }
    out
}

/// The kind of `e`, reporting problems; `None` after an error.
fn kind(e: &Expr, names: &BTreeMap<String, bool>, what: &str, out: &mut Vec<Diagnostic>) -> Option<Kind> {
    match &e.kind {
        ExprKind::Name(n) => match names.get(n) {
            Some(&complex) => Some(if complex { Kind::Complex } else { Kind::Real }),
            None => {
                let d = Diagnostic::error(
                    e.span,
                    format!("`{what}` reads `{n}`, which is neither a network output nor a data field"),
                    "unknown name",
                );
                out.push(match suggest(n, names.keys().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("known: {}", names.keys().cloned().collect::<Vec<_>>().join(", "))),
                });
                None
            }
        },
        ExprKind::Call { name, args, instance } => {
            if let Some(i) = instance {
                out.push(Diagnostic::error(i.span, "a loss has no parameters to name", "not in a loss"));
            }
            let f = name.name.as_str();
            if TERMS.contains(&f) {
                if let Some(a) = args.iter().find_map(|a| a.name.as_ref()) {
                    out.push(Diagnostic::error(a.span, format!("`{f}` takes no named arguments"), "unknown argument"));
                }
                if args.len() != 2 {
                    out.push(Diagnostic::error(
                        name.span,
                        format!("`{f}` compares two tensors, got {} argument(s)", args.len()),
                        "wrong arity",
                    ));
                    return None;
                }
                let a = need_real(&args[0].value, f, names, what, out);
                let b = need_real(&args[1].value, f, names, what, out);
                return (a && b).then_some(Kind::Scalar);
            }
            if !TRANSFORMS.contains(&f) {
                let d = Diagnostic::error(name.span, format!("`{what}` cannot call `{f}`"), "not a loss function");
                let known = TERMS.iter().chain(TRANSFORMS).copied();
                out.push(match suggest(f, known.clone()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("a loss calls {}", known.collect::<Vec<_>>().join(", "))),
                });
                return None;
            }
            let sig = prims::lookup(f).expect("loss transforms are primitives");
            let mut input = None;
            let mut positional = 0;
            for a in args {
                let p = match &a.name {
                    Some(n) => match sig.params.iter().find(|p| p.name == n.name) {
                        Some(p) => p,
                        None => {
                            let d = Diagnostic::error(
                                n.span,
                                format!("`{f}` has no argument `{}`", n.name),
                                "unknown argument",
                            );
                            let names = sig.params.iter().map(|p| p.name);
                            out.push(match suggest(&n.name, names.clone()) {
                                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                                None => d.with_help(format!("`{f}` takes {}", names.collect::<Vec<_>>().join(", "))),
                            });
                            continue;
                        }
                    },
                    None => {
                        positional += 1;
                        match sig.params.get(positional - 1) {
                            Some(p) => p,
                            None => {
                                out.push(Diagnostic::error(
                                    a.value.span,
                                    format!("`{f}` takes at most {} argument(s)", sig.params.len()),
                                    "extra argument",
                                ));
                                continue;
                            }
                        }
                    }
                };
                if p.kind == prims::Kind::Tensor {
                    input = Some(&a.value);
                    continue;
                }
                let v = crate::check::const_eval(&a.value);
                let ok = v.as_ref().is_some_and(|v| p.kind.accepts(v));
                if !ok {
                    out.push(Diagnostic::error(
                        a.value.span,
                        format!("`{f}({})` expects {}", p.name, p.kind.describe()),
                        "wrong argument",
                    ));
                } else if p.name == "norm"
                    && !matches!(&v, Some(Value::Str(s)) if ["ortho", "backward", "forward"].contains(&s.as_str()))
                {
                    out.push(Diagnostic::error(
                        a.value.span,
                        format!("`{f}(norm)` is \"ortho\", \"backward\" or \"forward\""),
                        "unknown norm",
                    ));
                }
            }
            let Some(x) = input else {
                out.push(Diagnostic::error(name.span, format!("`{f}` needs a tensor argument"), "missing argument"));
                return None;
            };
            match f {
                "rfft2" => need_real(x, f, names, what, out).then_some(Kind::Complex),
                "fft2" | "ifft2" | "avg_pool2d" => match kind(x, names, what, out)? {
                    Kind::Scalar => {
                        out.push(Diagnostic::error(
                            x.span,
                            format!("`{f}` needs a tensor, not a loss term"),
                            "not a tensor",
                        ));
                        None
                    }
                    // Pooling keeps the kind (IGKR's low-resolution targets pool complex images).
                    k if f == "avg_pool2d" => Some(k),
                    _ => Some(Kind::Complex),
                },
                _ => {
                    let k = kind(x, names, what, out)?;
                    if k != Kind::Complex {
                        out.push(Diagnostic::error(
                            x.span,
                            format!("`{f}` needs a complex value (from fft2 or rfft2), got {}", k.describe()),
                            "not complex",
                        ));
                        return None;
                    }
                    Some(Kind::Real)
                }
            }
        }
        _ => {
            out.push(Diagnostic::error(
                e.span,
                format!("`{}` cannot be computed inside a loss term", render(e)),
                "unsupported",
            ));
            None
        }
    }
}

/// Whether `e` is a real tensor (reporting what it is otherwise).
fn need_real(e: &Expr, f: &str, names: &BTreeMap<String, bool>, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    match kind(e, names, what, out) {
        Some(Kind::Real) => true,
        Some(k) => {
            let help = match k {
                Kind::Complex => "take its magnitude, phase, real or imag part",
                _ => "a term cannot be the argument of another",
            };
            out.push(
                Diagnostic::error(
                    e.span,
                    format!("`{f}` needs a real tensor, but `{}` is {}", render(e), k.describe()),
                    "not real",
                )
                .with_help(help),
            );
            false
        }
        None => false,
    }
}

impl Term {
    /// Checks the term against the tensors it may read ([`check`]).
    pub fn check(&self, names: &BTreeMap<String, bool>) -> Vec<Diagnostic> {
        check(&self.expr, names, "loss")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(loss: &str) -> Vec<String> {
        let spec = crate::parse(&format!("experiment {{ loss = {loss} }}")).expect("parses");
        let crate::ast::Entry::Setting { value, .. } = &spec.sections[0].entries[0] else { panic!() };
        let names: BTreeMap<String, bool> =
            [("output", false), ("target", false), ("k", true)].iter().map(|(n, c)| (n.to_string(), *c)).collect();
        check(value, &names, "loss").into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn the_schema_lists_the_functions_of_this_file() {
        let here: Vec<&str> = TERMS.iter().chain(TRANSFORMS).copied().collect();
        assert_eq!(crate::sections::LOSS_FUNCTIONS, here.as_slice());
    }

    #[test]
    fn well_typed_losses_pass() {
        assert!(errors("l1(output, target) + 0.01 * l1(magnitude(rfft2(output)), magnitude(rfft2(target)))").is_empty());
        assert!(errors("1 - ssim(output, target) + mse(real(fft2(output, shift = true)), imag(k))").is_empty());
    }

    #[test]
    fn unknown_outputs_complex_values_and_arguments_are_refused() {
        assert_eq!(
            errors("l1(img_out, target)"),
            ["`loss` reads `img_out`, which is neither a network output nor a data field"]
        );
        assert_eq!(
            errors("l1(rfft2(output), target)"),
            ["`l1` needs a real tensor, but `rfft2(output)` is a complex tensor"]
        );
        assert_eq!(errors("l1(k, target)"), ["`l1` needs a real tensor, but `k` is a complex tensor"]);
        assert_eq!(
            errors("l1(magnitude(output), target)"),
            ["`magnitude` needs a complex value (from fft2 or rfft2), got a real tensor"]
        );
        // One spelling per primitive: `shift`, as in networks (and the fft2 stays complex).
        assert_eq!(
            errors("l1(magnitude(fft2(output, centered = true)), target)"),
            ["`fft2` has no argument `centered`"]
        );
        assert_eq!(
            errors("l1(phase(rfft2(output, norm = \"half\")), target)"),
            ["`rfft2(norm)` is \"ortho\", \"backward\" or \"forward\""]
        );
        assert_eq!(
            errors("l1(output, target) * l1(output, target)"),
            ["`l1(output, target) * l1(output, target)`: a loss term may be multiplied by a constant weight only"]
        );
        assert_eq!(
            errors("conv2d(output, 3)"),
            ["`conv2d(...)` is not a loss term: terms are l1, l2, mse, ssim of two tensors"]
        );
        assert_eq!(errors("l1(conv2d(output, 3), target)"), ["`loss` cannot call `conv2d`"]);
    }

    #[test]
    fn terms_carry_weights_and_arguments_their_defaults() {
        let spec = crate::parse("experiment { loss = 2 - 0.5 * l1(fft2(a), b) / 4 }").unwrap();
        let crate::ast::Entry::Setting { value, .. } = &spec.sections[0].entries[0] else { panic!() };
        let l = Loss::parse(value).unwrap();
        assert_eq!((l.constant, l.terms.len(), l.terms[0].weight), (2.0, 1, -0.125));
        assert_eq!(l.names(), ["a", "b"]);
        let Node::Apply { function, args, .. } = &l.terms[0].node else { panic!() };
        let Node::Apply { options, .. } = &args[0] else { panic!() };
        assert_eq!((function.as_str(), args[1].clone()), ("l1", Node::Read("b".into())));
        assert_eq!(options.get("shift"), Some(&Value::Bool(false)));
        assert_eq!(options.get("norm"), Some(&Value::Str("ortho".into())));
        assert_eq!(l.terms[0].node.label(), "l1(fft2(a), b)");
    }
}
