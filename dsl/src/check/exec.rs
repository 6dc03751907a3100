//! Statements and expressions: `let`, `for`, assignments and outputs executed in a frame,
//! compile-time values and tensor arithmetic, instance paths.

use super::*;

impl<'a> Builder<'a> {
    pub(super) fn exec(&mut self, frame: &mut Frame, stmts: &[Stmt]) {
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
                Stmt::Output { name, pattern, value, span } => {
                    let name_text = match pattern {
                        Some(p) => self.path_part(frame, p),
                        None => name.name.clone(),
                    };
                    if frame.outputs.iter().any(|(n, _, _)| *n == name_text) {
                        self.err(name.span, format!("a second output named `{name_text}`"), "already an output");
                    }
                    let v = match value {
                        Some(e) => {
                            let v = self.eval(frame, e, Some(&name_text));
                            frame.vars.insert(name_text.clone(), (v.clone(), name.span));
                            v
                        }
                        None => self.lookup(frame, &name_text, name.span),
                    };
                    frame.read.insert(name_text.clone());
                    frame.outputs.push((name_text, v, *span));
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

    pub(super) fn lookup(&mut self, frame: &mut Frame, name: &str, span: Span) -> Value {
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

    pub(super) fn eval(&mut self, frame: &mut Frame, e: &Expr, hint: Option<&str>) -> Value {
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

    pub(super) fn binary(&mut self, op: BinOp, a: Value, b: Value, span: Span, hint: Option<&str>) -> Value {
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
            // `c - x` (IGKR's unsampled positions, `1.0 - mask`): −x, then + c.
            (c @ (Int(_) | Float(_)), t @ Tensor { complex: false, .. }) if op == BinOp::Sub => {
                let c = match c {
                    Int(i) => i as f64,
                    Float(f) => f,
                    _ => unreachable!(),
                };
                let negated = self.node(Op::Scale { factor: -1.0 }, vec![t], hint.unwrap_or("const"), span);
                self.node(Op::AddConst { value: c }, vec![negated], hint.unwrap_or("const"), span)
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

    /// One segment of an instance path, its `{expr}` pieces evaluated (ints and strs only).
    pub(super) fn path_part(&mut self, frame: &mut Frame, part: &PathPart) -> String {
        match part {
            PathPart::Name(s) => s.clone(),
            PathPart::Concat(pieces) => pieces.iter().map(|q| self.path_part(frame, q)).collect(),
            PathPart::Expr(e) => match self.eval(frame, e, None) {
                Value::Int(i) => i.to_string(),
                Value::Str(s) => s,
                Value::Poison => "?".into(),
                other => {
                    self.err(
                        e.span,
                        format!("a path part must be an int or a str, got {}", other.type_name()),
                        "bad path part",
                    );
                    "?".into()
                }
            },
        }
    }

    pub(super) fn instance_path(
        &mut self,
        frame: &mut Frame,
        instance: Option<&InstancePath>,
        hint: Option<&str>,
        callee: &str,
    ) -> String {
        let rel = match instance {
            Some(p) => {
                let parts: Vec<String> = p.parts.iter().map(|part| self.path_part(frame, part)).collect();
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
}
