//! Spatial sizes: symbolic input sizes propagated through the graph, agreement checks, and the
//! data sizes that experiments declare.

use super::*;

impl<'a> Builder<'a> {
    pub(super) fn report_size_warnings(&mut self) -> Option<i32> {
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
    pub(super) fn check_data_sizes(&mut self, sections: &[Section], multiple: i32) {
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
    pub(super) fn input_size(&mut self, dims: &[Ident]) -> Size {
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

    pub(super) fn size_of(&self, v: &Value) -> Size {
        match v {
            Value::Tensor { id, .. } => {
                self.sizes.get(id).cloned().unwrap_or_else(|| [Extent::unknown(), Extent::unknown()])
            }
            _ => [Extent::unknown(), Extent::unknown()],
        }
    }

    /// The output size of `op` (PyTorch's formulas), after checking that arguments which must
    /// have equal sizes can have them.
    pub(super) fn spatial(&mut self, op: &Op, args: &[Value], span: Span) -> Size {
        let sizes: Vec<Size> = args.iter().map(|a| self.size_of(a)).collect();
        if let Some(a) = prims::agreement_of(op) {
            let group: Vec<&Size> = sizes.iter().skip(a.from).collect();
            if group.len() > 1 {
                self.check_sizes(a.what, &group, a.broadcast, span);
            }
        }
        prims::spatial_of(op, &sizes)
    }

    pub(super) fn check_sizes(&mut self, what: &str, group: &[&Size], broadcast: bool, span: Span) {
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
}
