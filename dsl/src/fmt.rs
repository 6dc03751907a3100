//! The formatter (`mcmr fmt`): one canonical layout, comments kept.
//!
//! Items are separated by one blank line; bodies are indented by four spaces; operators,
//! `=` and commas are spaced; parentheses are kept only where precedence needs them; numbers
//! keep their written form (`1e-8` stays `1e-8`). Comments stay where they were: on their own
//! line before the statement that follows them, or at the end of the line they ended. A blank
//! line between two statements is kept (several become one). Formatting is idempotent.

use crate::ast::*;

struct Printer<'a> {
    source: &'a str,
    comments: Vec<(String, Span)>,
    next_comment: usize,
    out: String,
    /// End of the last source element written (for keeping blank lines).
    last_end: Option<usize>,
}

/// Formats a spec; `source` is the text it was parsed from.
pub fn format(spec: &Spec, source: &str) -> String {
    let mut p =
        Printer { source, comments: spec.comments.clone(), next_comment: 0, out: String::new(), last_end: None };
    enum Item<'s> {
        Import(&'s str, Span),
        Def(&'s Def),
        Section(&'s Section),
    }
    // Only the file's own definitions (imported ones come from other files).
    let mut items: Vec<(usize, Item)> =
        spec.defs.iter().filter(|d| d.file == 0).map(|d| (d.span.start, Item::Def(d))).collect();
    items.extend(spec.imports.iter().map(|(path, span)| (span.start, Item::Import(path, *span))));
    items.extend(spec.sections.iter().map(|s| (s.span.start, Item::Section(s))));
    items.sort_by_key(|(start, _)| *start);
    let mut previous_import = false;
    for (i, (start, item)) in items.iter().enumerate() {
        let is_import = matches!(item, Item::Import(..));
        // Consecutive imports stay together; everything else is separated by a blank line.
        if i > 0 && !(is_import && previous_import) && !p.out.ends_with("\n\n") {
            p.out.push('\n');
        }
        previous_import = is_import;
        p.comments_before(*start, 0);
        match item {
            Item::Import(path, span) => {
                p.out.push_str(&format!("import \"{path}\""));
                p.end_line(span.end);
            }
            Item::Def(d) => p.def(d),
            Item::Section(s) => p.section(s, 0),
        }
    }
    p.comments_before(usize::MAX, 0);
    let mut out = p.out.trim_end().to_string();
    out.push('\n');
    out
}

/// One expression in the canonical layout, without its source text (numbers are written from
/// their values): loss term labels, messages.
pub(crate) fn render(e: &Expr) -> String {
    Printer { source: "", comments: Vec::new(), next_comment: 0, out: String::new(), last_end: None }.expr(e)
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, _, _) => binop_prec(*op),
        ExprKind::Neg(_) => 7,
        _ => 9,
    }
}

fn binop_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Add | BinOp::Sub => 4,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 5,
        BinOp::Pow => 6,
    }
}

impl<'a> Printer<'a> {
    fn indent(&mut self, level: usize) {
        self.out.push_str(&"    ".repeat(level));
    }

    /// Keeps one blank line if the source had one between the last element and `start`.
    fn keep_blank(&mut self, start: usize) {
        if let Some(end) = self.last_end {
            if self.blank_line_between(end, start) && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
                self.out.push('\n');
            }
        }
    }

    /// Emits the comments that start before `pos`, each on its own line.
    fn comments_before(&mut self, pos: usize, level: usize) {
        while let Some((text, span)) = self.comments.get(self.next_comment).cloned() {
            if span.start >= pos {
                break;
            }
            self.keep_blank(span.start);
            self.indent(level);
            self.out.push_str(&text);
            self.out.push('\n');
            self.next_comment += 1;
            self.last_end = Some(span.end);
        }
    }

    /// The end of a node's text, without trailing whitespace or comments its span may hold.
    fn content_end(&self, end: usize) -> usize {
        let mut e = end.min(self.source.len());
        loop {
            let trimmed = self.source[..e].trim_end().len();
            match self.comments.iter().find(|(_, s)| s.end == trimmed && s.start < trimmed) {
                Some((_, s)) => e = s.start,
                None => return trimmed,
            }
        }
    }

    /// Appends a comment that starts on the same source line as `end`, then ends the line.
    fn end_line(&mut self, end: usize) {
        let end = self.content_end(end);
        self.last_end = Some(end);
        let line_end =
            self.source[end.min(self.source.len())..].find('\n').map(|i| end + i).unwrap_or(self.source.len());
        if let Some((text, span)) = self.comments.get(self.next_comment).cloned() {
            if span.start >= end && span.start <= line_end {
                self.out.push_str("  ");
                self.out.push_str(&text);
                self.next_comment += 1;
                self.last_end = Some(span.end);
            }
        }
        self.out.push('\n');
    }

    fn blank_line_between(&self, a: usize, b: usize) -> bool {
        a < b && self.source.get(a..b).is_some_and(|t| t.matches('\n').count() >= 2)
    }

    fn def(&mut self, d: &Def) {
        self.out.push_str(match d.kind {
            DefKind::Block => "block ",
            DefKind::Network => "network ",
        });
        self.out.push_str(&d.name.name);
        self.out.push('(');
        let params: Vec<String> = d
            .params
            .iter()
            .map(|p| match &p.default {
                Some(e) => format!("{}: {} = {}", p.name.name, p.ty.name(), self.expr(e)),
                None => format!("{}: {}", p.name.name, p.ty.name()),
            })
            .collect();
        self.out.push_str(&params.join(", "));
        self.out.push_str(") {");
        let header_end = d.body.first().map(|s| stmt_span(s).start).unwrap_or(d.span.end);
        let brace = self.source[..header_end].rfind('{').map(|i| i + 1).unwrap_or(header_end);
        self.end_line(brace);
        self.body(&d.body, 1, d.span.end);
        self.out.push_str("}\n");
        self.last_end = Some(d.span.end);
    }

    fn body(&mut self, stmts: &[Stmt], level: usize, end: usize) {
        for s in stmts {
            let sp = stmt_span(s);
            self.comments_before(sp.start, level);
            self.keep_blank(sp.start);
            self.stmt(s, level);
        }
        self.comments_before(end.saturating_sub(1), level);
        self.indent(level - 1);
    }

    fn stmt(&mut self, s: &Stmt, level: usize) {
        self.indent(level);
        match s {
            Stmt::Input { name, complex, channels, dims, span } => {
                let mut parts = vec![self.expr(channels)];
                parts.extend(dims.iter().map(|d| d.name.clone()));
                let kind = if *complex { "complex " } else { "" };
                self.out.push_str(&format!("input {}: {kind}[{}]", name.name, parts.join(", ")));
                self.end_line(span.end);
            }
            Stmt::Output { name, value, span, .. } => {
                match value {
                    Some(v) => self.out.push_str(&format!("output {} = {}", name.name, self.expr(v))),
                    None => self.out.push_str(&format!("output {}", name.name)),
                }
                self.end_line(span.end);
            }
            Stmt::Let { name, value, span } => {
                self.out.push_str(&format!("let {} = {}", name.name, self.expr(value)));
                self.end_line(span.end);
            }
            Stmt::Assign { name, index, value, span } => {
                let target = match index {
                    Some(i) => format!("{}[{}]", name.name, self.expr(i)),
                    None => name.name.clone(),
                };
                self.out.push_str(&format!("{target} = {}", self.expr(value)));
                self.end_line(span.end);
            }
            Stmt::Destructure { targets, value, span } => {
                let names: Vec<String> = targets
                    .iter()
                    .map(|(n, i)| match i {
                        Some(i) => format!("{}[{}]", n.name, self.expr(i)),
                        None => n.name.clone(),
                    })
                    .collect();
                self.out.push_str(&format!("{} = {}", names.join(", "), self.expr(value)));
                self.end_line(span.end);
            }
            Stmt::For { var, start, end, body, span } => {
                self.out.push_str(&format!("for {} in {}..{} {{", var.name, self.expr(start), self.expr(end)));
                let open = body.first().map(|s| stmt_span(s).start).unwrap_or(span.end);
                let brace = self.source[..open].rfind('{').map(|i| i + 1).unwrap_or(open);
                self.end_line(brace);
                self.body(body, level + 1, span.end);
                self.out.push_str("}\n");
                self.last_end = Some(self.content_end(span.end));
            }
        }
    }

    fn section(&mut self, s: &Section, level: usize) {
        self.indent(level);
        self.out.push_str(&s.kind.name);
        if let Some(n) = &s.name {
            self.out.push(' ');
            self.out.push_str(&n.name);
        }
        for (i, b) in s.matrix.iter().enumerate() {
            self.out.push_str(if i == 0 { " for " } else { ", " });
            let names: Vec<&str> = b.names.iter().map(|n| n.name.as_str()).collect();
            self.out.push_str(&format!("{} in {}", names.join(", "), self.expr(&b.values)));
        }
        self.out.push_str(" {");
        let first = s.entries.first().map(entry_start).unwrap_or(s.span.end);
        let brace = self.source[..first].rfind('{').map(|i| i + 1).unwrap_or(first);
        self.end_line(brace);
        for e in &s.entries {
            let start = entry_start(e);
            self.comments_before(start, level + 1);
            self.keep_blank(start);
            match e {
                Entry::Setting { key, value, .. } => {
                    self.indent(level + 1);
                    self.out.push_str(&format!("{key} = {}", self.expr(value)));
                    self.end_line(value.span.end);
                }
                Entry::Section(inner) => self.section(inner, level + 1),
            }
        }
        self.comments_before(s.span.end.saturating_sub(1), level + 1);
        self.indent(level);
        self.out.push_str("}\n");
        self.last_end = Some(self.content_end(s.span.end));
    }

    fn expr(&self, e: &Expr) -> String {
        match &e.kind {
            // Numbers keep their written form; without the source (labels), their value's.
            ExprKind::Int(i) => {
                self.source.get(e.span.start..e.span.end).map(|t| t.trim().to_string()).unwrap_or(i.to_string())
            }
            ExprKind::Float(f) => {
                self.source.get(e.span.start..e.span.end).map(|t| t.trim().to_string()).unwrap_or(format!("{f}"))
            }
            ExprKind::Str(s) => format!("\"{s}\""),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::List(items) => format!("[{}]", items.iter().map(|x| self.expr(x)).collect::<Vec<_>>().join(", ")),
            ExprKind::Index(b, i) => format!("{}[{}]", self.wrap(b, 8), self.expr(i)),
            ExprKind::Neg(x) => format!("-{}", self.wrap(x, 7)),
            ExprKind::Binary(op, l, r) => {
                let p = binop_prec(*op);
                // Left-associative: the right operand needs parentheses at equal precedence;
                // `**` is right-associative: the left one does.
                let (lp, rp) = if *op == BinOp::Pow { (p + 1, p) } else { (p, p + 1) };
                format!("{} {} {}", self.wrap(l, lp), op.symbol(), self.wrap(r, rp))
            }
            ExprKind::Call { name, args, instance } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{} = {}", n.name, self.expr(&a.value)),
                        None => self.expr(&a.value),
                    })
                    .collect();
                let mut s = format!("{}({})", name.name, args.join(", "));
                if let Some(path) = instance {
                    let parts: Vec<String> = path.parts.iter().map(|p| self.path_part(p)).collect();
                    s.push_str(if path.shared { " as shared " } else { " as " });
                    s.push_str(&parts.join("."));
                }
                s
            }
        }
    }

    fn path_part(&self, p: &PathPart) -> String {
        match p {
            PathPart::Name(n) => n.clone(),
            PathPart::Expr(e) => format!("{{{}}}", self.expr(e)),
            PathPart::Concat(pieces) => pieces.iter().map(|q| self.path_part(q)).collect(),
        }
    }

    /// `e`, parenthesised when its precedence is below `min`.
    fn wrap(&self, e: &Expr, min: u8) -> String {
        let s = self.expr(e);
        if prec(e) < min {
            format!("({s})")
        } else {
            s
        }
    }
}

fn stmt_span(s: &Stmt) -> Span {
    s.span()
}

fn entry_start(e: &Entry) -> usize {
    match e {
        Entry::Setting { key_span, .. } => key_span.start,
        Entry::Section(s) => s.span.start,
    }
}
