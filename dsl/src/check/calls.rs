//! Calls: primitives bound to their signatures and turned into graph nodes (channel and
//! complex rules, parameter paths), blocks inlined under their instance path.

use super::*;

impl<'a> Builder<'a> {
    pub(super) fn claim_path(&mut self, path: &str, span: Span, op: &Op) {
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

    pub(super) fn node(&mut self, op: Op, args: Vec<Value>, path: &str, span: Span) -> Value {
        let ids: Vec<usize> = args
            .iter()
            .map(|a| match a {
                Value::Tensor { id, .. } => *id,
                _ => unreachable!("node arguments are tensors"),
            })
            .collect();
        let channels = prims::channels_of(&op, &args.iter().map(chan).collect::<Vec<_>>());
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
    pub(super) fn call(
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
                // A primitive named with `as` is an activation too (`act.SFENet1.call0`).
                if let (Some(_), Value::Tensor { id, .. }) = (instance, &v) {
                    self.graph.activations.push((path, *id));
                }
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
    pub(super) fn bind(
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
    pub(super) fn call_block(
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
            // Several outputs: a list in declaration order (`a, b = block(...)`); each is an
            // activation `PATH.OUTPUT`.
            several => {
                for (name, v, _) in several {
                    if let Value::Tensor { id, .. } = v {
                        self.graph.activations.push((format!("{path}.{name}"), *id));
                    }
                }
                Value::List(several.iter().map(|(_, v, _)| v.clone()).collect())
            }
        }
    }
}
