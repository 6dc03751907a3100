//! Elaboration: a network of a spec, with parameter values, → a flat [`Graph`].
//!
//! Compile-time values (`int`, `float`, `bool`, `str`, lists) are evaluated, `for` loops are
//! unrolled, block calls are inlined under their instance path (`as name.{i}`, or the name the
//! result is assigned to), and every primitive call becomes a node whose channel counts are
//! known. Every problem is reported, with its span: unknown names (with suggestions), wrong
//! arity or argument names, wrong argument types, channel mismatches, duplicate parameter paths,
//! recursion, unused values (warnings). Spatial sizes are symbolic: they are propagated from the
//! inputs' named dimensions and checked where tensors meet (`sizes.rs`).
//!
//! This file holds the entry points and the builder's state; `exec.rs` runs statements and
//! evaluates expressions, `calls.rs` binds primitive and block calls, `sizes.rs` checks sizes.

use crate::ast::*;
use crate::diag::{suggest, Diagnostic};
use crate::ir::*;
use crate::prims::{self, Kind};
use crate::size::{self, Agreement, Extent, Size};
use std::collections::{BTreeMap, HashMap, HashSet};

mod calls;
mod exec;
mod sizes;

/// A compile-time value or a tensor in the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    List(Vec<Value>),
    /// A tensor of the graph; `complex` tensors hold real and imaginary parts.
    Tensor {
        id: usize,
        channels: usize,
        complex: bool,
    },
    /// The result of an expression that already produced an error (suppresses cascades).
    Poison,
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tensor { complex: true, .. } => "complex tensor",
            Value::Tensor { .. } => "tensor",
            Value::Poison => "error",
        }
    }

    /// Parses a `--param` value: integer, float, `true`/`false`, or a string.
    pub fn parse_literal(s: &str) -> Value {
        let t = s.trim();
        if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            // `[1, 2, 3]` (one level: `--param dilateSet=[1,2,3]`).
            let items = inner.split(',').map(str::trim).filter(|x| !x.is_empty());
            return Value::List(items.map(Value::parse_literal).collect());
        }
        if let Ok(i) = s.parse::<i64>() {
            Value::Int(i)
        } else if let Ok(f) = s.parse::<f64>() {
            Value::Float(f)
        } else if s == "true" || s == "false" {
            Value::Bool(s == "true")
        } else {
            Value::Str(s.to_string())
        }
    }
}

/// The result of checking a spec: the graph of its main network and the warnings.
#[derive(Debug)]
pub struct Checked {
    pub graph: Graph,
    pub warnings: Vec<Diagnostic>,
    /// The multiple that input heights and widths must have for the network's sizes to agree
    /// (a power of two; `None`: any size).
    pub size_multiple: Option<i32>,
}

struct Frame {
    vars: HashMap<String, (Value, Span)>,
    read: HashSet<String>,
    prefix: String,
    outputs: Vec<(String, Value, Span)>,
    is_network: bool,
    /// For block frames: the call being expanded and the block's name.
    call: Option<(Span, String)>,
}

struct Builder<'a> {
    defs: HashMap<&'a str, &'a Def>,
    graph: Graph,
    paths: HashMap<String, Span>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    depth: usize,
    /// Files of the definitions being expanded (for diagnostics).
    files: Vec<usize>,
    executed: usize,
    /// The call being built reuses the weights of its instance path (`as shared path`).
    shared_call: bool,
    /// Instance prefixes of block calls written `as shared ...`.
    shared_prefixes: Vec<String>,
    path_ops: HashMap<String, Vec<(&'static str, Vec<usize>)>>,
    /// Spatial size of every tensor id (see `size.rs`) and the size names the inputs declared.
    sizes: HashMap<usize, Size>,
    size_names: Vec<String>,
    /// Places whose sizes agree only for some input sizes, by the multiple that makes them agree;
    /// reported once per multiple when elaboration ends.
    size_warnings: Vec<(Option<i32>, Diagnostic)>,
    /// Block replacements of the chosen variant (`blocks { old = "new" }`).
    replace: HashMap<String, String>,
}

const MAX_DEPTH: usize = 64;
const MAX_LOOP: i64 = 100_000;
/// Statements executed in all (loops unrolled, blocks inlined) before elaboration gives up.
const MAX_STATEMENTS: usize = 1_000_000;

/// The network elaboration builds when none is named: the last `network` of the main file,
/// else the last imported one.
pub fn default_network(spec: &Spec) -> Option<String> {
    let networks: Vec<&Def> = spec.defs.iter().filter(|d| d.kind == DefKind::Network).collect();
    networks.iter().rev().find(|d| d.file == 0).or(networks.last()).map(|d| d.name.name.clone())
}

/// Elaborates network `network` (default: the last `network` of the main file, else the last
/// imported one) with the parameter overrides of `variant` (a `variant NAME { param = value }`
/// section) and then `overrides`.
pub fn elaborate(
    spec: &Spec,
    network: Option<&str>,
    variant: Option<&str>,
    overrides: &[(String, Value)],
) -> Result<Checked, Vec<Diagnostic>> {
    elaborate_variants(spec, network, variant.as_slice(), overrides)
}

/// [`elaborate`] under several variants applied in order (a run's `--variant` and then the
/// variant its experiment names): later parameter values and block replacements win. A variant
/// parameter that another network of the spec declares, but not this one, is left out.
pub fn elaborate_variants(
    spec: &Spec,
    network: Option<&str>,
    variants: &[&str],
    overrides: &[(String, Value)],
) -> Result<Checked, Vec<Diagnostic>> {
    let mut errors = crate::sections::check(spec);
    let mut defs: HashMap<&str, &Def> = HashMap::new();
    for d in &spec.defs {
        if prims::lookup(&d.name.name).is_some() {
            let mut e = Diagnostic::error(
                d.name.span,
                format!("`{}` is a primitive and cannot be redefined", d.name.name),
                "choose another name",
            );
            e.file = d.file;
            errors.push(e);
        } else if let Some(prev) = defs.insert(&d.name.name, d) {
            let _ = prev;
            let mut e =
                Diagnostic::error(d.name.span, format!("`{}` is defined twice", d.name.name), "second definition")
                    .with_help("rename one of them (imported files share one namespace)");
            e.file = d.file;
            errors.push(e);
        }
    }
    let networks: Vec<&Def> = spec.defs.iter().filter(|d| d.kind == DefKind::Network).collect();
    let main = match network {
        Some(n) => match networks.iter().find(|d| d.name.name == n) {
            Some(d) => *d,
            None => {
                let help = suggest(n, networks.iter().map(|d| d.name.name.as_str()));
                let mut e = Diagnostic::error(Span::default(), format!("the spec has no network `{n}`"), "");
                if let Some(h) = help {
                    e = e.with_help(format!("did you mean `{h}`?"));
                }
                errors.push(e);
                return Err(errors);
            }
        },
        None => match networks.iter().rev().find(|d| d.file == 0).or(networks.last()) {
            Some(d) => d,
            None => {
                errors.push(
                    Diagnostic::error(Span::default(), "the spec defines no `network`", "")
                        .with_help("add `network name(params) { input x: [C, H, W] ... output y = ... }`"),
                );
                return Err(errors);
            }
        },
    };
    // Parameter values: defaults, then the variant, then the overrides.
    let mut settings: Vec<(String, Value, Span)> = Vec::new();
    let mut replace: HashMap<String, String> = HashMap::new();
    let declared: Vec<&Section> = spec.sections.iter().filter(|s| s.kind.name == "variant").collect();
    for &v in variants {
        match declared.iter().find(|s| s.name.as_ref().map(|n| n.name.as_str()) == Some(v)) {
            Some(sec) => {
                for e in &sec.entries {
                    if let Entry::Section(blocks) = e {
                        if blocks.kind.name == "blocks" {
                            replacements(blocks, &defs, &mut replace, &mut errors);
                        }
                    }
                    if let Entry::Setting { key, key_span, value } = e {
                        // A variant's parameters set the networks that declare them: a run of
                        // another network (a baseline beside the paper's model) leaves them.
                        let declares = |d: &&Def| d.params.iter().any(|p| p.name.name == *key);
                        if !declares(&main) && networks.iter().any(declares) {
                            continue;
                        }
                        match const_eval(value) {
                            Some(val) => settings.push((key.clone(), val, *key_span)),
                            None => errors.push(Diagnostic::error(
                                value.span,
                                "a variant setting must be a literal value",
                                "not a literal",
                            )),
                        }
                    }
                }
            }
            None => {
                let names: Vec<&str> =
                    declared.iter().filter_map(|s| s.name.as_ref().map(|n| n.name.as_str())).collect();
                let mut e = Diagnostic::error(Span::default(), format!("the spec has no variant `{v}`"), "");
                e = match suggest(v, names.iter().copied()) {
                    Some(h) => e.with_help(format!("did you mean `{h}`?")),
                    None => e.with_help(format!(
                        "variants: {}",
                        if names.is_empty() { "none".into() } else { names.join(", ") }
                    )),
                };
                errors.push(e);
            }
        }
    }
    for (k, v) in overrides {
        settings.push((k.clone(), v.clone(), Span::default()));
    }
    let mut b = Builder {
        defs,
        graph: Graph {
            name: main.name.name.clone(),
            inputs: vec![],
            nodes: vec![],
            outputs: vec![],
            activations: vec![],
            frozen: vec![],
        },
        paths: HashMap::new(),
        errors,
        warnings: Vec::new(),
        depth: 0,
        files: vec![main.file],
        executed: 0,
        shared_call: false,
        shared_prefixes: Vec::new(),
        path_ops: HashMap::new(),
        sizes: HashMap::new(),
        size_names: Vec::new(),
        size_warnings: Vec::new(),
        replace,
    };
    let mut frame = Frame {
        vars: HashMap::new(),
        read: HashSet::new(),
        prefix: String::new(),
        outputs: vec![],
        is_network: true,
        call: None,
    };
    for p in &main.params {
        let given = settings.iter().rev().find(|(k, _, _)| *k == p.name.name);
        let value = match (given, &p.default) {
            (Some((_, v, _)), _) => Some(v.clone()),
            (None, Some(d)) => Some(b.eval(&mut frame, d, None)),
            (None, None) => {
                b.errors.push(
                    Diagnostic::error(
                        p.name.span,
                        format!("network parameter `{}` has no default and no value", p.name.name),
                        "needs a value",
                    )
                    .with_help(format!("pass `--param {}=...` or give it a default", p.name.name)),
                );
                Some(Value::Poison)
            }
        };
        if let Some(v) = value {
            let v = b.coerce(v, p.ty, p.name.span, &p.name.name);
            frame.vars.insert(p.name.name.clone(), (v, p.name.span));
            frame.read.insert(p.name.name.clone());
        }
    }
    for (k, _, span) in &settings {
        if !main.params.iter().any(|p| p.name.name == *k) {
            let known: Vec<&str> = main.params.iter().map(|p| p.name.name.as_str()).collect();
            let mut e = Diagnostic::error(
                *span,
                format!("network `{}` has no parameter `{k}`", main.name.name),
                "unknown parameter",
            );
            if let Some(h) = suggest(k, known.iter().copied()) {
                e = e.with_help(format!("did you mean `{h}`?"));
            }
            b.errors.push(e);
        }
    }
    b.exec(&mut frame, &main.body);
    for (name, value, span) in &frame.outputs {
        if let Value::Tensor { id, .. } = value {
            b.graph.outputs.push((name.clone(), *id));
        } else if *value != Value::Poison {
            b.errors.push(Diagnostic::error(
                *span,
                format!("output `{name}` is a {}, not a tensor", value.type_name()),
                "not a tensor",
            ));
        }
    }
    if frame.outputs.is_empty() {
        b.errors.push(Diagnostic::error(
            main.name.span,
            format!("network `{}` has no `output`", main.name.name),
            "no output",
        ));
    }
    b.unused(&frame);
    // `freeze { params = ["glob", ...] }`: every pattern must match some parameter (the section's
    // shape was checked by `sections::check`). `freeze NETWORK { ... }` applies to that network
    // only (a spec whose experiments also run imported networks).
    let applies = |s: &&Section| s.name.as_ref().is_none_or(|n| n.name == main.name.name);
    for sec in spec.sections.iter().filter(|s| s.kind.name == "freeze").filter(applies) {
        for e in &sec.entries {
            let Entry::Setting { key, value, .. } = e else { continue };
            let ExprKind::List(items) = &value.kind else { continue };
            if key != "params" {
                continue;
            }
            for it in items {
                let ExprKind::Str(p) = &it.kind else { continue };
                b.graph.frozen.push(p.clone());
                if !b.graph.parameters().iter().any(|q| crate::glob::matches(p, &q.path)) {
                    b.push_err(Diagnostic::error(it.span, format!("`{p}` matches no parameter"), "no match"));
                }
            }
        }
    }
    let size_multiple = b.report_size_warnings();
    if let Some(m) = size_multiple {
        let merged = variants.iter().fold(spec.clone(), |s, v| crate::sections::apply_variant(&s, v));
        let sections = merged.sections.iter().filter(|s| s.kind.name == "experiment");
        // Experiments that name another network (`network = "..."`) are that network's business.
        let ours = |s: &&Section| {
            !s.entries.iter().any(|e| {
                matches!(e, Entry::Setting { key, value, .. }
                    if key == "network" && !matches!(&value.kind, ExprKind::Str(n) if *n == b.graph.name))
            })
        };
        let experiments: Vec<Section> = sections.filter(ours).cloned().collect();
        b.check_data_sizes(&experiments, m);
    }
    if b.errors.is_empty() {
        Ok(Checked { graph: b.graph, warnings: b.warnings, size_multiple })
    } else {
        Err(b.errors)
    }
}

/// A variant's `blocks { old = "new" }`: both must be blocks of the spec.
fn replacements(
    sec: &Section,
    defs: &HashMap<&str, &Def>,
    replace: &mut HashMap<String, String>,
    errors: &mut Vec<Diagnostic>,
) {
    let mut blocks: Vec<&str> =
        defs.values().filter(|d| d.kind == DefKind::Block).map(|d| d.name.name.as_str()).collect();
    blocks.sort_unstable();
    let unknown = |span: Span, name: &str, what: &str| {
        let d = Diagnostic::error(span, format!("{what} `{name}` is not a block of this spec"), "not a block");
        match suggest(name, blocks.iter().copied()) {
            Some(h) => d.with_help(format!("did you mean `{h}`?")),
            None => d,
        }
    };
    let is_block = |name: &str| defs.get(name).is_some_and(|d| d.kind == DefKind::Block);
    for e in &sec.entries {
        let Entry::Setting { key, key_span, value } = e else { continue };
        if !is_block(key) {
            errors.push(unknown(*key_span, key, "the replaced"));
            continue;
        }
        match &value.kind {
            ExprKind::Str(new) if is_block(new) => {
                replace.insert(key.clone(), new.clone());
            }
            ExprKind::Str(new) => errors.push(unknown(value.span, new, "the replacement")),
            _ => errors.push(Diagnostic::error(
                value.span,
                format!("`blocks.{key}` takes the name of the replacing block as a string"),
                "not a block name",
            )),
        }
    }
}

/// Literal values (variant settings, arguments of a loss's transforms).
pub(crate) fn const_eval(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Int(i) => Some(Value::Int(*i)),
        ExprKind::Float(f) => Some(Value::Float(*f)),
        ExprKind::Bool(b) => Some(Value::Bool(*b)),
        ExprKind::Str(s) => Some(Value::Str(s.clone())),
        ExprKind::List(items) => items.iter().map(const_eval).collect::<Option<Vec<_>>>().map(Value::List),
        ExprKind::Neg(x) => match const_eval(x)? {
            Value::Int(i) => Some(Value::Int(-i)),
            Value::Float(f) => Some(Value::Float(-f)),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Builder<'a> {
    fn push_err(&mut self, mut d: Diagnostic) {
        d.file = self.files.last().copied().unwrap_or(0);
        self.errors.push(d);
    }

    fn push_warn(&mut self, mut d: Diagnostic) {
        d.file = self.files.last().copied().unwrap_or(0);
        self.warnings.push(d);
    }

    fn err(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) -> Value {
        self.push_err(Diagnostic::error(span, message, label));
        Value::Poison
    }

    fn coerce(&mut self, v: Value, ty: Ty, span: Span, name: &str) -> Value {
        match (ty, v) {
            (_, Value::Poison) => Value::Poison,
            (Ty::Int, Value::Int(i)) => Value::Int(i),
            (Ty::Float, Value::Float(f)) => Value::Float(f),
            (Ty::Float, Value::Int(i)) => Value::Float(i as f64),
            (Ty::Bool, Value::Bool(b)) => Value::Bool(b),
            (Ty::Str, Value::Str(s)) => Value::Str(s),
            (Ty::List, Value::List(l)) => Value::List(l),
            (ty, other) => self.err(
                span,
                format!("`{name}` is declared `{}` but gets a {}", ty.name(), other.type_name()),
                "wrong type",
            ),
        }
    }

    fn unused(&mut self, frame: &Frame) {
        let outputs: HashSet<&str> = frame.outputs.iter().map(|(n, _, _)| n.as_str()).collect();
        let mut names: Vec<(&String, &(Value, Span))> = frame.vars.iter().collect();
        names.sort_by_key(|(_, (_, s))| s.start);
        for (name, (value, span)) in names {
            let base = name.split('[').next().unwrap_or(name);
            if matches!(value, Value::Tensor { .. })
                && !frame.read.contains(name.as_str())
                && !frame.read.contains(base)
                && !outputs.contains(name.as_str())
                && !name.starts_with('_')
            {
                self.push_warn(
                    Diagnostic::warning(*span, format!("value `{name}` is never used"), "unused")
                        .with_help("remove it, use it, or start its name with `_`"),
                );
            }
        }
    }
}

pub(super) fn is_complex(v: &Value) -> bool {
    matches!(v, Value::Tensor { complex: true, .. })
}

pub(super) fn chan(v: &Value) -> usize {
    match v {
        Value::Tensor { channels, .. } => *channels,
        _ => 0,
    }
}
