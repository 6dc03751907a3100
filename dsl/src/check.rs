//! Elaboration: a network of a spec, with parameter values, → a flat [`Graph`].
//!
//! Compile-time values (`int`, `float`, `bool`, `str`, lists) are evaluated, `for` loops are
//! unrolled, block calls are inlined under their instance path (`as name.{i}`, or the name the
//! result is assigned to), and every primitive call becomes a node whose channel counts are
//! known. Every problem is reported, with its span: unknown names (with suggestions), wrong
//! arity or argument names, wrong argument types, channel mismatches, duplicate parameter paths,
//! recursion, unused values (warnings). Spatial sizes are symbolic and not checked yet.

use crate::ast::*;
use crate::diag::{suggest, Diagnostic};
use crate::ir::*;
use crate::prims::{self, Kind};
use crate::size::{self, Agreement, Extent, Size};
use std::collections::{BTreeMap, HashMap, HashSet};

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
/// variant its experiment names): later parameter values and block replacements win.
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
    // shape was checked by `sections::check`).
    for sec in spec.sections.iter().filter(|s| s.kind.name == "freeze") {
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

/// Literal values of variant settings.
fn const_eval(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Int(i) => Some(Value::Int(*i)),
        ExprKind::Float(f) => Some(Value::Float(*f)),
        ExprKind::Bool(b) => Some(Value::Bool(*b)),
        ExprKind::Str(s) => Some(Value::Str(s.clone())),
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

    fn exec(&mut self, frame: &mut Frame, stmts: &[Stmt]) {
        for s in stmts {
            self.executed += 1;
            if self.executed > MAX_STATEMENTS {
                if self.executed == MAX_STATEMENTS + 1 {
                    let span = s.span();
                    self.err(
                        span,
                        format!("the network unrolls to more than {MAX_STATEMENTS} statements"),
                        "stopped here",
                    );
                }
                return;
            }
            match s {
                Stmt::Input { name, complex, channels, dims, span } => {
                    let ch = self.eval(frame, channels, None);
                    if !frame.is_network {
                        // Block inputs are bound by the call; check the declared channels.
                        if let (Some((Value::Tensor { channels: got, .. }, _)), Value::Int(want)) =
                            (frame.vars.get(&name.name), &ch)
                        {
                            if *got as i64 != *want {
                                let got = *got;
                                let (at, block) = frame.call.clone().unwrap_or((*span, String::new()));
                                self.push_err(
                                    Diagnostic::error(
                                        at,
                                        format!(
                                            "input `{}` of `{block}` expects {want} channels but the call passes {got}",
                                            name.name
                                        ),
                                        "channel mismatch",
                                    )
                                    .with_help(format!(
                                        "`{block}` declares `input {}` with {want} channels",
                                        name.name
                                    )),
                                );
                            }
                        }
                        continue;
                    }
                    let _ = dims;
                    match ch {
                        Value::Int(c) if c > 1 << 20 => {
                            self.err(
                                channels.span,
                                format!("{c} channels is more than {}", 1 << 20),
                                "too many channels",
                            );
                        }
                        Value::Int(c) if c > 0 => {
                            let id = self.graph.inputs.len();
                            if !self.graph.nodes.is_empty() {
                                self.err(
                                    *span,
                                    "network inputs must come before any computation",
                                    "declare it earlier",
                                );
                            }
                            self.graph.inputs.push(GraphInput {
                                name: name.name.clone(),
                                channels: c as usize,
                                complex: *complex,
                            });
                            let size = self.input_size(dims);
                            self.sizes.insert(id, size);
                            frame.vars.insert(
                                name.name.clone(),
                                (Value::Tensor { id, channels: c as usize, complex: *complex }, name.span),
                            );
                        }
                        Value::Poison => {}
                        other => {
                            self.err(
                                channels.span,
                                format!("channel count must be a positive int, got {other:?}"),
                                "not a channel count",
                            );
                        }
                    }
                }
                Stmt::Output { name, value, span } => {
                    let v = match value {
                        Some(e) => {
                            let v = self.eval(frame, e, Some(&name.name));
                            frame.vars.insert(name.name.clone(), (v.clone(), name.span));
                            v
                        }
                        None => self.lookup(frame, &name.name, name.span),
                    };
                    frame.read.insert(name.name.clone());
                    frame.outputs.push((name.name.clone(), v, *span));
                }
                Stmt::Let { name, value, .. } => {
                    let v = self.eval(frame, value, None);
                    if let Value::Tensor { .. } = v {
                        self.err(
                            value.span,
                            "`let` binds compile-time values; assign tensors with `name = ...`",
                            "a tensor",
                        );
                    }
                    frame.vars.insert(name.name.clone(), (v, name.span));
                    frame.read.insert(name.name.clone());
                }
                Stmt::For { var, start, end, body, .. } => {
                    let (a, z) = (self.eval(frame, start, None), self.eval(frame, end, None));
                    match (a, z) {
                        (Value::Int(a), Value::Int(z)) => {
                            if z - a > MAX_LOOP {
                                self.err(
                                    end.span,
                                    format!("loop of {} iterations (the limit is {MAX_LOOP})", z - a),
                                    "too many",
                                );
                                continue;
                            }
                            for i in a..z {
                                frame.vars.insert(var.name.clone(), (Value::Int(i), var.span));
                                frame.read.insert(var.name.clone());
                                self.exec(frame, body);
                            }
                        }
                        (Value::Poison, _) | (_, Value::Poison) => {}
                        (a, z) => {
                            self.err(
                                start.span,
                                format!("loop bounds must be ints, got {} and {}", a.type_name(), z.type_name()),
                                "not ints",
                            );
                        }
                    }
                }
                Stmt::Destructure { targets, value, span } => {
                    let v = self.eval(frame, value, None);
                    let items = match v {
                        Value::List(items) => items,
                        Value::Poison => vec![Value::Poison; targets.len()],
                        other => {
                            self.err(
                                value.span,
                                format!(
                                    "only a multi-output block or a list can be unpacked, not a {}",
                                    other.type_name()
                                ),
                                "single value",
                            );
                            vec![Value::Poison; targets.len()]
                        }
                    };
                    let items = if items.len() == targets.len() {
                        items
                    } else {
                        self.err(
                            *span,
                            format!("{} names for {} values", targets.len(), items.len()),
                            "count mismatch",
                        );
                        vec![Value::Poison; targets.len()]
                    };
                    for ((name, index), item) in targets.iter().zip(items) {
                        let key = match index {
                            None => name.name.clone(),
                            Some(i) => match self.eval(frame, i, None) {
                                Value::Int(i) => format!("{}[{i}]", name.name),
                                _ => {
                                    self.err(i.span, "an index must be an int", "not an int");
                                    continue;
                                }
                            },
                        };
                        frame.read.remove(&key);
                        frame.vars.insert(key, (item, name.span));
                    }
                }
                Stmt::Assign { name, index, value, .. } => {
                    let key = match index {
                        None => name.name.clone(),
                        Some(i) => match self.eval(frame, i, None) {
                            Value::Int(i) => format!("{}[{i}]", name.name),
                            Value::Poison => continue,
                            other => {
                                self.err(
                                    i.span,
                                    format!("an index must be an int, got {}", other.type_name()),
                                    "not an int",
                                );
                                continue;
                            }
                        },
                    };
                    let v =
                        self.eval(frame, value, Some(&key.replace(['[', ']'], ".").trim_end_matches('.').to_string()));
                    frame.read.remove(&key);
                    frame.vars.insert(key, (v, name.span));
                }
            }
        }
    }

    fn lookup(&mut self, frame: &mut Frame, name: &str, span: Span) -> Value {
        if let Some((v, _)) = frame.vars.get(name) {
            frame.read.insert(name.to_string());
            return v.clone();
        }
        let mut candidates: Vec<&str> = frame.vars.keys().map(|s| s.as_str()).filter(|s| !s.contains('[')).collect();
        candidates.sort();
        let mut d = Diagnostic::error(span, format!("unknown value `{name}`"), "not defined here");
        if let Some(h) = suggest(name, candidates) {
            d = d.with_help(format!("did you mean `{h}`?"));
        }
        self.push_err(d);
        Value::Poison
    }

    fn eval(&mut self, frame: &mut Frame, e: &Expr, hint: Option<&str>) -> Value {
        match &e.kind {
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::List(items) => Value::List(items.iter().map(|x| self.eval(frame, x, None)).collect()),
            ExprKind::Name(n) => self.lookup(frame, n, e.span),
            ExprKind::Index(base, idx) => {
                let i = self.eval(frame, idx, None);
                if let ExprKind::Name(n) = &base.kind {
                    if let Value::Int(i) = i {
                        let key = format!("{n}[{i}]");
                        if frame.vars.contains_key(&key) {
                            frame.read.insert(n.clone());
                            return self.lookup(frame, &key, e.span);
                        }
                    }
                }
                match (self.eval(frame, base, None), i) {
                    (Value::List(items), Value::Int(i)) => match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                        Some(v) => v.clone(),
                        None => self.err(
                            idx.span,
                            format!("index {i} is out of range for a list of {}", items.len()),
                            "out of range",
                        ),
                    },
                    (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
                    (b, i) => self.err(
                        e.span,
                        format!("cannot index a {} with a {}", b.type_name(), i.type_name()),
                        "bad index",
                    ),
                }
            }
            ExprKind::Neg(x) => match self.eval(frame, x, None) {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                t @ Value::Tensor { .. } => {
                    self.node(Op::Scale { factor: -1.0 }, vec![t], hint.unwrap_or("neg"), e.span)
                }
                Value::Poison => Value::Poison,
                other => self.err(e.span, format!("cannot negate a {}", other.type_name()), "not a number"),
            },
            ExprKind::Binary(op, l, r) => {
                let (a, b) = (self.eval(frame, l, None), self.eval(frame, r, None));
                self.binary(*op, a, b, e.span, hint)
            }
            ExprKind::Call { name, args, instance } => self.call(frame, name, args, instance.as_ref(), hint, e.span),
        }
    }

    fn binary(&mut self, op: BinOp, a: Value, b: Value, span: Span, hint: Option<&str>) -> Value {
        use Value::*;
        match (a, b) {
            (Poison, _) | (_, Poison) => Poison,
            (x @ Tensor { .. }, y @ Tensor { .. }) => {
                let kind = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    BinOp::Mul => Op::Mul,
                    _ => {
                        return self.err(
                            span,
                            format!("`{}` is not defined for two tensors", op.symbol()),
                            "use +, - or *",
                        )
                    }
                };
                let (Tensor { channels: ca, complex: xa, .. }, Tensor { channels: cb, complex: xb, .. }) = (&x, &y)
                else {
                    unreachable!()
                };
                if *xa || *xb {
                    return self.err(
                        span,
                        format!(
                            "`{}` of complex tensors: take `real`, `imag`, `magnitude` or `phase` first",
                            op.symbol()
                        ),
                        "complex",
                    );
                }
                if ca != cb && *ca != 1 && *cb != 1 {
                    return self.err(
                        span,
                        format!("`{}` of tensors with {ca} and {cb} channels", op.symbol()),
                        "channel mismatch",
                    );
                }
                self.node(kind, vec![x, y], hint.unwrap_or("binary"), span)
            }
            (t @ Tensor { complex: false, .. }, c @ (Int(_) | Float(_)))
            | (c @ (Int(_) | Float(_)), t @ Tensor { complex: false, .. })
                if matches!(op, BinOp::Mul | BinOp::Add) =>
            {
                let c = match c {
                    Int(i) => i as f64,
                    Float(f) => f,
                    _ => unreachable!(),
                };
                let kind = if op == BinOp::Mul { Op::Scale { factor: c } } else { Op::AddConst { value: c } };
                self.node(kind, vec![t], hint.unwrap_or("const"), span)
            }
            (t @ Tensor { complex: false, .. }, Int(i)) if op == BinOp::Sub => {
                self.node(Op::AddConst { value: -(i as f64) }, vec![t], hint.unwrap_or("const"), span)
            }
            (t @ Tensor { complex: false, .. }, Float(f)) if op == BinOp::Sub => {
                self.node(Op::AddConst { value: -f }, vec![t], hint.unwrap_or("const"), span)
            }
            (Tensor { .. }, other) | (other, Tensor { .. }) => {
                self.err(span, format!("`{}` between a tensor and a {}", op.symbol(), other.type_name()), "unsupported")
            }
            (Int(x), Int(y)) => match op {
                BinOp::Add => Int(x.saturating_add(y)),
                BinOp::Sub => Int(x.saturating_sub(y)),
                BinOp::Mul => Int(x.saturating_mul(y)),
                BinOp::Div | BinOp::Rem if y == 0 => self.err(span, "division by zero", "divisor is 0"),
                BinOp::Div => Int(x.div_euclid(y)),
                BinOp::Rem => Int(x.rem_euclid(y)),
                BinOp::Pow if !(0..=62).contains(&y) => {
                    self.err(span, format!("exponent {y} out of range 0..62"), "bad exponent")
                }
                BinOp::Pow => Int(x.saturating_pow(y as u32)),
                BinOp::Eq => Bool(x == y),
                BinOp::Ne => Bool(x != y),
                BinOp::Lt => Bool(x < y),
                BinOp::Le => Bool(x <= y),
                BinOp::Gt => Bool(x > y),
                BinOp::Ge => Bool(x >= y),
                _ => self.err(span, format!("`{}` needs bools", op.symbol()), "not bools"),
            },
            (Int(x), Float(y)) => self.binary(op, Float(x as f64), Float(y), span, hint),
            (Float(x), Int(y)) => self.binary(op, Float(x), Float(y as f64), span, hint),
            (Float(x), Float(y)) => match op {
                BinOp::Add => Float(x + y),
                BinOp::Sub => Float(x - y),
                BinOp::Mul => Float(x * y),
                BinOp::Div => Float(x / y),
                BinOp::Rem => Float(x % y),
                BinOp::Pow => Float(x.powf(y)),
                BinOp::Eq => Bool(x == y),
                BinOp::Ne => Bool(x != y),
                BinOp::Lt => Bool(x < y),
                BinOp::Le => Bool(x <= y),
                BinOp::Gt => Bool(x > y),
                BinOp::Ge => Bool(x >= y),
                _ => self.err(span, format!("`{}` needs bools", op.symbol()), "not bools"),
            },
            (Bool(x), Bool(y)) => match op {
                BinOp::And => Bool(x && y),
                BinOp::Or => Bool(x || y),
                BinOp::Eq => Bool(x == y),
                BinOp::Ne => Bool(x != y),
                _ => self.err(span, format!("`{}` is not defined for bools", op.symbol()), "bools"),
            },
            (x, y) => self.err(
                span,
                format!("`{}` between a {} and a {}", op.symbol(), x.type_name(), y.type_name()),
                "type mismatch",
            ),
        }
    }

    fn instance_path(
        &mut self,
        frame: &mut Frame,
        instance: Option<&InstancePath>,
        hint: Option<&str>,
        callee: &str,
    ) -> String {
        let rel = match instance {
            Some(p) => {
                let mut parts = Vec::new();
                for part in &p.parts {
                    match part {
                        PathPart::Name(s) => parts.push(s.clone()),
                        PathPart::Expr(e) => match self.eval(frame, e, None) {
                            Value::Int(i) => parts.push(i.to_string()),
                            Value::Str(s) => parts.push(s),
                            Value::Poison => parts.push("?".into()),
                            other => {
                                self.err(
                                    e.span,
                                    format!("a path part must be an int or a str, got {}", other.type_name()),
                                    "bad path part",
                                );
                            }
                        },
                    }
                }
                parts.join(".")
            }
            None => hint.unwrap_or(callee).to_string(),
        };
        if frame.prefix.is_empty() {
            rel
        } else {
            format!("{}.{rel}", frame.prefix)
        }
    }

    fn claim_path(&mut self, path: &str, span: Span, op: &Op) {
        let shared =
            self.shared_call || self.shared_prefixes.iter().any(|p| path == p || path.starts_with(&format!("{p}.")));
        let shapes: Vec<(&'static str, Vec<usize>)> = op.params().into_iter().map(|(n, s, _, _)| (n, s)).collect();
        match (self.paths.contains_key(path), shared) {
            (false, true) => self.push_err(
                Diagnostic::error(
                    span,
                    format!("`as shared` refers to `{path}`, which no earlier call created"),
                    "nothing to share",
                )
                .with_help("the first call takes `as path`; later calls that reuse its weights take `as shared path`"),
            ),
            (false, false) => {
                self.paths.insert(path.to_string(), span);
                self.path_ops.insert(path.to_string(), shapes);
            }
            (true, true) => {
                if self.path_ops.get(path) != Some(&shapes) {
                    self.push_err(Diagnostic::error(
                        span,
                        format!(
                            "`{path}` is shared, but this call needs parameters {shapes:?} and the first one has {:?}",
                            self.path_ops[path]
                        ),
                        "shapes differ",
                    ));
                }
            }
            (true, false) => self.push_err(
                Diagnostic::error(
                    span,
                    format!("two calls with parameters share the instance path `{path}`"),
                    "duplicate path",
                )
                .with_help("name one of them with `as other_name`, or write `as shared path` to reuse its weights"),
            ),
        }
    }

    fn node(&mut self, op: Op, args: Vec<Value>, path: &str, span: Span) -> Value {
        let ids: Vec<usize> = args
            .iter()
            .map(|a| match a {
                Value::Tensor { id, .. } => *id,
                _ => unreachable!("node arguments are tensors"),
            })
            .collect();
        let channels = match &op {
            Op::Conv2d { cout, .. } | Op::ConvTranspose2d { cout, .. } => *cout,
            Op::Concat => args.iter().map(|a| if let Value::Tensor { channels, .. } = a { *channels } else { 0 }).sum(),
            Op::PixelShuffle { factor } => chan(&args[0]) / (factor * factor),
            Op::PixelUnshuffle { factor } => chan(&args[0]) * factor * factor,
            Op::Add | Op::Sub | Op::Mul => chan(&args[0]).max(chan(&args[1])),
            Op::ChannelMean | Op::ChannelMax | Op::ChannelStd => 1,
            Op::Narrow { len, .. } => *len,
            Op::Linear { cout, .. } => *cout,
            Op::CoordEncoding { frequencies } => 2 + 4 * frequencies,
            _ => chan(&args[0]),
        };
        let size = self.spatial(&op, &args, span);
        let complex = op.output_is_complex(args.first().map(is_complex).unwrap_or(false));
        if !op.params().is_empty() {
            self.claim_path(path, span, &op);
        }
        self.graph.nodes.push(Node { op, args: ids, path: path.to_string(), channels });
        let id = self.graph.inputs.len() + self.graph.nodes.len() - 1;
        self.sizes.insert(id, size);
        Value::Tensor { id, channels, complex }
    }

    /// One warning per size constraint (the first place that needs it), counting the others.
    /// Returns the largest multiple the input sizes must have (all are powers of two).
    fn report_size_warnings(&mut self) -> Option<i32> {
        let found = std::mem::take(&mut self.size_warnings);
        let mut seen: Vec<Option<i32>> = Vec::new();
        for (multiple, d) in &found {
            if seen.contains(multiple) {
                continue;
            }
            seen.push(*multiple);
            let others = found.iter().filter(|(m, _)| m == multiple).count() - 1;
            let more = match others {
                0 => String::new(),
                1 => "1 more place needs the same; ".to_string(),
                n => format!("{n} more places need the same; "),
            };
            self.warnings.push(d.clone().with_help(format!(
                "{more}`pad_to_match` makes such networks work for any size, as fastMRI's U-Net does"
            )));
        }
        found.iter().filter_map(|(m, _)| *m).max()
    }

    /// Experiment data sizes (`data { size = ... }`, at any scale) that the network's size
    /// constraint rejects are errors at the size.
    fn check_data_sizes(&mut self, sections: &[Section], multiple: i32) {
        for sec in sections {
            for e in &sec.entries {
                match e {
                    Entry::Section(child) => self.check_data_sizes(std::slice::from_ref(child), multiple),
                    Entry::Setting { key, value, .. } if key == "size" && sec.kind.name == "data" => {
                        let sizes: Vec<i64> = match &value.kind {
                            ExprKind::Int(n) => vec![*n],
                            ExprKind::List(items) => items
                                .iter()
                                .filter_map(|i| if let ExprKind::Int(n) = i.kind { Some(n) } else { None })
                                .collect(),
                            _ => vec![],
                        };
                        let m = i64::from(multiple);
                        if let Some(bad) = sizes.iter().find(|&&n| n > 0 && n % m != 0) {
                            let up = (bad + m - 1) / m * m;
                            self.push_err(
                                Diagnostic::error(
                                    value.span,
                                    format!(
                                        "network `{}` needs input sizes that are multiples of {m}, and {bad} is not",
                                        self.graph.name
                                    ),
                                    "does not fit the network",
                                )
                                .with_help(format!("use {up} (or pad the network with `pad_to_match`)")),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The spatial size of a network input declared `[C, H, W]`: one sample set per size name.
    fn input_size(&mut self, dims: &[Ident]) -> Size {
        if dims.len() != 2 {
            return [Extent::unknown(), Extent::unknown()];
        }
        let mut index = |name: &str| match self.size_names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.size_names.push(name.to_string());
                self.size_names.len() - 1
            }
        };
        [Extent::symbol(index(&dims[0].name)), Extent::symbol(index(&dims[1].name))]
    }

    fn size_of(&self, v: &Value) -> Size {
        match v {
            Value::Tensor { id, .. } => {
                self.sizes.get(id).cloned().unwrap_or_else(|| [Extent::unknown(), Extent::unknown()])
            }
            _ => [Extent::unknown(), Extent::unknown()],
        }
    }

    /// The output size of `op` (PyTorch's formulas), after checking that arguments which must
    /// have equal sizes can have them.
    fn spatial(&mut self, op: &Op, args: &[Value], span: Span) -> Size {
        let sizes: Vec<Size> = args.iter().map(|a| self.size_of(a)).collect();
        let each = |f: &dyn Fn(&Extent) -> Extent| [f(&sizes[0][0]), f(&sizes[0][1])];
        // Arguments whose spatial sizes must match; `Add`/`Sub`/`Mul` broadcast extents of 1.
        let (group, broadcast): (Vec<&Size>, bool) = match op {
            Op::Concat | Op::Complex | Op::Polar | Op::DataConsistency { .. } | Op::ChannelAttention { .. } => {
                (sizes.iter().collect(), false)
            }
            Op::Add | Op::Sub | Op::Mul => (sizes.iter().collect(), true),
            Op::TokenAttention { .. } => (sizes[1..].iter().collect(), false),
            _ => (vec![], false),
        };
        if group.len() > 1 {
            self.check_sizes(op, &group, broadcast, span);
        }
        match op {
            Op::Conv2d { kernel, stride, padding, dilation, .. } => {
                let (k, s, p, d) = (*kernel as i64, *stride as i64, *padding as i64, *dilation as i64);
                each(&|e| e.affine(2 * p - d * (k - 1) - 1, s, 1, 1))
            }
            Op::ConvTranspose2d { kernel, stride, padding, output_padding, .. } => {
                let (k, s, p, op) = (*kernel as i64, *stride as i64, *padding as i64, *output_padding as i64);
                each(&|e| e.affine(-1, 1, s, -2 * p + (k - 1) + op + 1))
            }
            Op::AvgPool { kernel, stride } | Op::MaxPool { kernel, stride } => {
                let (k, s) = (*kernel as i64, *stride as i64);
                each(&|e| e.affine(-k, s, 1, 1))
            }
            Op::PixelShuffle { factor } | Op::Upsample { factor, .. } => each(&|e| e.affine(0, 1, *factor as i64, 0)),
            Op::PixelUnshuffle { factor } => each(&|e| e.affine(0, *factor as i64, 1, 0)),
            Op::Pad { top, bottom, left, right, .. } => {
                [sizes[0][0].affine(0, 1, 1, (top + bottom) as i64), sizes[0][1].affine(0, 1, 1, (left + right) as i64)]
            }
            Op::GlobalAvgPool => [Extent::literal(1), Extent::literal(1)],
            Op::AdaptiveAvgPool { size } => [Extent::literal(*size), Extent::literal(*size)],
            Op::PadToMatch { .. } => sizes[1].clone(),
            Op::Fft { kind: FftKind::Rfft2, .. } => [sizes[0][0].clone(), sizes[0][1].affine(0, 2, 1, 1)],
            Op::Fft { kind: FftKind::Irfft2, .. } => [sizes[0][0].clone(), sizes[1][1].clone()],
            Op::Add | Op::Sub | Op::Mul => {
                // Broadcasting: the larger extent wins where one side is 1.
                let pick = |a: &Extent, b: &Extent| if a == &Extent::literal(1) { b.clone() } else { a.clone() };
                [pick(&sizes[0][0], &sizes[1][0]), pick(&sizes[0][1], &sizes[1][1])]
            }
            _ => sizes.first().cloned().unwrap_or_else(|| [Extent::unknown(), Extent::unknown()]),
        }
    }

    fn check_sizes(&mut self, op: &Op, group: &[&Size], broadcast: bool, span: Span) {
        let what = match op {
            Op::Concat => "concatenated tensors",
            Op::Add | Op::Sub | Op::Mul => "operands",
            Op::DataConsistency { .. } => "the image and its k-space",
            Op::TokenAttention { .. } => "keys and values",
            _ => "arguments",
        };
        let sizes_at = |e: usize| group.iter().map(|s| size::describe_size(s, e)).collect::<Vec<_>>().join(" vs ");
        match size::agree(group, broadcast, self.size_names.len()) {
            Agreement::Always => {}
            Agreement::Never { example } => {
                let at = size::describe_env(example, &self.size_names);
                self.push_err(
                    Diagnostic::error(
                        span,
                        format!("the {what} never have the same spatial size: at {at} they are {}", sizes_at(example)),
                        "spatial size mismatch",
                    )
                    .with_help("pad the smaller one (`pad`, `pad_to_match`) or change a stride or padding"),
                );
            }
            Agreement::Sometimes { multiple, example } => {
                let at = size::describe_env(example, &self.size_names);
                let when = match multiple {
                    Some(m) => format!("only when the input sizes are multiples of {m}"),
                    None => "only for some input sizes".to_string(),
                };
                let mut d = Diagnostic::warning(
                    span,
                    format!("the {what} have the same spatial size {when}: at {at} they are {}", sizes_at(example)),
                    "spatial sizes may differ",
                );
                d.file = self.files.last().copied().unwrap_or(0);
                self.size_warnings.push((multiple, d));
            }
        }
    }

    fn call(
        &mut self,
        frame: &mut Frame,
        name: &Ident,
        args: &[Arg],
        instance: Option<&InstancePath>,
        hint: Option<&str>,
        span: Span,
    ) -> Value {
        let target = self.replace.get(&name.name).cloned().unwrap_or_else(|| name.name.clone());
        if let Some(def) = self.defs.get(target.as_str()).copied() {
            if def.kind == DefKind::Network {
                return self.err(
                    name.span,
                    format!("`{}` is a network; only blocks can be called", name.name),
                    "a network",
                );
            }
            return self.call_block(frame, def, name, args, instance, hint, span);
        }
        let Some(sig) = prims::lookup(&name.name) else {
            let mut names: Vec<&str> = prims::names().collect();
            names.extend(self.defs.keys().copied());
            let mut d = Diagnostic::error(
                name.span,
                format!("unknown block `{}`", name.name),
                "not a primitive or a block of this spec",
            );
            if let Some(h) = suggest(&name.name, names) {
                d = d.with_help(format!("did you mean `{h}`?"));
            }
            self.push_err(d);
            return Value::Poison;
        };
        // Evaluate the arguments, then bind them to the signature.
        let values: Vec<(Option<&Ident>, Value, Span)> =
            args.iter().map(|a| (a.name.as_ref(), self.eval(frame, &a.value, None), a.value.span)).collect();
        if values.iter().any(|(_, v, _)| *v == Value::Poison) {
            return Value::Poison;
        }
        // Real/complex typing: spectral primitives take complex tensors, the others real ones.
        let complex_rule = prims::complex_input(&name.name);
        for (i, (_, v, vspan)) in values.iter().enumerate() {
            let first = i == 0;
            match (v, complex_rule) {
                (Value::Tensor { complex: true, .. }, None) => {
                    self.push_err(
                        Diagnostic::error(
                            *vspan,
                            format!("`{}` needs a real tensor, got a complex one", name.name),
                            "complex",
                        )
                        .with_help("take `real`, `imag`, `magnitude` or `phase` of it first"),
                    );
                    return Value::Poison;
                }
                (Value::Tensor { complex: false, .. }, Some(true)) if first => {
                    self.push_err(
                        Diagnostic::error(
                            *vspan,
                            format!("`{}` needs a complex tensor, got a real one", name.name),
                            "real",
                        )
                        .with_help("make one with `fft2`, `rfft2`, `complex` or `polar`"),
                    );
                    return Value::Poison;
                }
                _ => {}
            }
        }
        let bound = match self.bind(&name.name, &sig, &values, span) {
            Some(b) => b,
            None => return Value::Poison,
        };
        let path = self.instance_path(frame, instance, hint, &name.name);
        match prims::build(&name.name, &bound) {
            Ok((op, tensors)) => {
                self.shared_call = instance.is_some_and(|i| i.shared);
                let v = self.node(op, tensors, &path, span);
                self.shared_call = false;
                v
            }
            Err((arg, message)) => {
                let at = values
                    .iter()
                    .find(|(n, _, _)| n.map(|n| n.name.as_str()) == Some(arg))
                    .map(|(_, _, s)| *s)
                    .unwrap_or(span);
                self.err(at, message, "here")
            }
        }
    }

    /// Binds positional and keyword arguments to a primitive's signature, checking types.
    fn bind(
        &mut self,
        callee: &str,
        sig: &prims::Sig,
        values: &[(Option<&Ident>, Value, Span)],
        span: Span,
    ) -> Option<BTreeMap<&'static str, Value>> {
        let mut bound: BTreeMap<&'static str, Value> = BTreeMap::new();
        let mut ok = true;
        let mut positional = 0;
        for (kw, v, vspan) in values {
            let slot = match kw {
                None => {
                    if sig.variadic {
                        let mut list = match bound.remove("xs") {
                            Some(Value::List(l)) => l,
                            _ => vec![],
                        };
                        list.push(v.clone());
                        bound.insert("xs", Value::List(list));
                        continue;
                    }
                    let s = sig.params.get(positional);
                    positional += 1;
                    match s {
                        Some(s) => s,
                        None => {
                            self.err(
                                *vspan,
                                format!("`{callee}` takes at most {} arguments", sig.params.len()),
                                "extra argument",
                            );
                            ok = false;
                            continue;
                        }
                    }
                }
                Some(k) => match sig.params.iter().find(|p| p.name == k.name) {
                    Some(s) => s,
                    None => {
                        let mut d = Diagnostic::error(
                            k.span,
                            format!("`{callee}` has no argument `{}`", k.name),
                            "unknown argument",
                        );
                        if let Some(h) = suggest(&k.name, sig.params.iter().map(|p| p.name)) {
                            d = d.with_help(format!("did you mean `{h}`?"));
                        }
                        self.push_err(d);
                        ok = false;
                        continue;
                    }
                },
            };
            let v = match (slot.kind, v) {
                (Kind::Float, Value::Int(i)) => Value::Float(*i as f64),
                (k, v) if k.accepts(v) => v.clone(),
                (k, v) => {
                    self.err(
                        *vspan,
                        format!(
                            "argument `{}` of `{callee}` must be {}, got {}",
                            slot.name,
                            k.describe(),
                            v.type_name()
                        ),
                        "wrong type",
                    );
                    ok = false;
                    continue;
                }
            };
            if bound.insert(slot.name, v).is_some() {
                self.err(*vspan, format!("argument `{}` of `{callee}` is given twice", slot.name), "given twice");
                ok = false;
            }
        }
        for p in &sig.params {
            if !bound.contains_key(p.name) {
                match &p.default {
                    Some(d) => {
                        bound.insert(p.name, d.clone());
                    }
                    None => {
                        self.err(
                            span,
                            format!("`{callee}` needs argument `{}` ({})", p.name, p.kind.describe()),
                            "missing argument",
                        );
                        ok = false;
                    }
                }
            }
        }
        if sig.variadic && !matches!(bound.get("xs"), Some(Value::List(l)) if l.len() >= 2) {
            self.err(span, format!("`{callee}` needs at least two tensors"), "too few tensors");
            ok = false;
        }
        ok.then_some(bound)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_block(
        &mut self,
        frame: &mut Frame,
        def: &Def,
        name: &Ident,
        args: &[Arg],
        instance: Option<&InstancePath>,
        hint: Option<&str>,
        span: Span,
    ) -> Value {
        if self.depth >= MAX_DEPTH {
            return self.err(
                name.span,
                format!("blocks nest deeper than {MAX_DEPTH} calls: is `{}` recursive?", name.name),
                "too deep",
            );
        }
        let inputs: Vec<&Ident> =
            def.body.iter().filter_map(|s| if let Stmt::Input { name, .. } = s { Some(name) } else { None }).collect();
        let slots: Vec<(&str, Option<Ty>)> = inputs
            .iter()
            .map(|i| (i.name.as_str(), None))
            .chain(def.params.iter().map(|p| (p.name.name.as_str(), Some(p.ty))))
            .collect();
        let mut bound: HashMap<&str, Value> = HashMap::new();
        let mut positional = 0;
        for a in args {
            let v = self.eval(frame, &a.value, None);
            let slot = match &a.name {
                None => {
                    positional += 1;
                    match slots.get(positional - 1) {
                        Some(s) => *s,
                        None => {
                            self.err(
                                a.value.span,
                                format!("block `{}` takes {} arguments", name.name, slots.len()),
                                "extra argument",
                            );
                            continue;
                        }
                    }
                }
                Some(k) => match slots.iter().find(|(n, _)| *n == k.name) {
                    Some(s) => *s,
                    None => {
                        let mut d = Diagnostic::error(
                            k.span,
                            format!("block `{}` has no argument `{}`", name.name, k.name),
                            "unknown argument",
                        );
                        if let Some(h) = suggest(&k.name, slots.iter().map(|(n, _)| *n)) {
                            d = d.with_help(format!("did you mean `{h}`?"));
                        }
                        self.push_err(d);
                        continue;
                    }
                },
            };
            let v = match slot.1 {
                None => match v {
                    t @ (Value::Tensor { .. } | Value::Poison) => t,
                    other => self.err(
                        a.value.span,
                        format!("input `{}` of `{}` must be a tensor, got {}", slot.0, name.name, other.type_name()),
                        "not a tensor",
                    ),
                },
                Some(ty) => self.coerce(v, ty, a.value.span, slot.0),
            };
            bound.insert(slot.0, v);
        }
        let path = self.instance_path(frame, instance, hint, &name.name);
        let mut inner = Frame {
            vars: HashMap::new(),
            read: HashSet::new(),
            prefix: path.clone(),
            outputs: vec![],
            is_network: false,
            call: Some((span, name.name.clone())),
        };
        for (slot, ty) in &slots {
            match bound.remove(slot) {
                Some(v) => {
                    inner.vars.insert(slot.to_string(), (v, name.span));
                }
                None => {
                    let default = def.params.iter().find(|p| p.name.name == *slot).and_then(|p| p.default.clone());
                    match default {
                        Some(d) => {
                            let v = self.eval(&mut inner, &d, None);
                            let v = self.coerce(v, ty.unwrap_or(Ty::Int), d.span, slot);
                            inner.vars.insert(slot.to_string(), (v, name.span));
                        }
                        None => {
                            self.err(
                                span,
                                format!("block `{}` needs argument `{slot}`", name.name),
                                "missing argument",
                            );
                            inner.vars.insert(slot.to_string(), (Value::Poison, name.span));
                        }
                    }
                }
            }
            inner.read.insert(slot.to_string());
        }
        if instance.is_some_and(|i| i.shared) {
            // Every parameter inside must already exist under this prefix: mark the frame.
            self.shared_prefixes.push(path.clone());
        }
        self.depth += 1;
        self.files.push(def.file);
        self.exec(&mut inner, &def.body);
        self.files.pop();
        self.depth -= 1;
        if instance.is_some_and(|i| i.shared) {
            self.shared_prefixes.pop();
        }
        self.unused(&inner);
        match inner.outputs.as_slice() {
            [(_, v, _)] => {
                if let Value::Tensor { id, .. } = v {
                    self.graph.activations.push((path, *id));
                }
                v.clone()
            }
            [] => self.err(def.name.span, format!("block `{}` has no `output`", def.name.name), "no output"),
            // Several outputs: a list in declaration order (`a, b = block(...)`).
            several => Value::List(several.iter().map(|(_, v, _)| v.clone()).collect()),
        }
    }
}

fn is_complex(v: &Value) -> bool {
    matches!(v, Value::Tensor { complex: true, .. })
}

fn chan(v: &Value) -> usize {
    match v {
        Value::Tensor { channels, .. } => *channels,
        _ => 0,
    }
}
