//! Source text → [`Spec`]; syntax errors become [`Diagnostic`]s that say what was expected.

use crate::ast::*;
use crate::diag::Diagnostic;
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct SpecParser;

fn span(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span { start: s.start(), end: s.end() }
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident { name: p.as_str().to_string(), span: span(&p) }
}

fn rule_name(r: &Rule) -> String {
    match r {
        Rule::ident | Rule::section_name => "a name".into(),
        Rule::matrix => "`for`".into(),
        Rule::expr | Rule::or_expr | Rule::primary => "an expression".into(),
        Rule::int => "an integer".into(),
        Rule::float => "a number".into(),
        Rule::string => "a string".into(),
        Rule::type_name => "a type (int, float, bool, str)".into(),
        Rule::body => "`{`".into(),
        Rule::item | Rule::block_def | Rule::network_def | Rule::section | Rule::import => {
            "`import`, `block`, `network` or a section such as `experiment name { ... }`".into()
        }
        Rule::EOI => "the end of the file".into(),
        Rule::stmt
        | Rule::input_stmt
        | Rule::output_stmt
        | Rule::let_stmt
        | Rule::for_stmt
        | Rule::assign_stmt
        | Rule::destructure_stmt => "a statement (`input`, `output`, `let`, `for` or `name = ...`)".into(),
        Rule::setting | Rule::dotted | Rule::entry => "a setting `key = value` or a nested section".into(),
        // Operators and the `as` clause could follow almost anything: listing them is noise.
        Rule::add_op | Rule::mul_op | Rule::cmp_op | Rule::instance | Rule::neg | Rule::shared | Rule::complex_kw => {
            String::new()
        }
        other => format!("{other:?}").replace('_', " "),
    }
}

/// Parses a spec; the error is one diagnostic at the first position pest could not match.
pub fn parse(source: &str) -> Result<Spec, Diagnostic> {
    let mut pairs = SpecParser::parse(Rule::spec, source).map_err(|e| {
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((a, _)) => a,
        };
        let expected = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => {
                let mut names: Vec<String> = positives.iter().map(rule_name).filter(|n| !n.is_empty()).collect();
                names.sort();
                names.dedup();
                if names.is_empty() {
                    "an operator or the end of the expression".into()
                } else {
                    names.join(" or ")
                }
            }
            pest::error::ErrorVariant::CustomError { message } => message.clone(),
        };
        let found: String =
            source[pos.min(source.len())..].chars().take_while(|c| !c.is_whitespace()).take(20).collect();
        let found = if found.is_empty() { "the end of the file".to_string() } else { format!("`{found}`") };
        Diagnostic::error(
            Span { start: pos, end: pos + 1 },
            format!("syntax error: expected {expected}, found {found}"),
            "here",
        )
    })?;
    let mut spec = Spec::default();
    let top = pairs.next().expect("spec rule");
    for item in top.into_inner() {
        match item.as_rule() {
            Rule::import => {
                let s = item.into_inner().next().expect("string");
                spec.imports.push((unquote(s.as_str()), span(&s)));
            }
            Rule::block_def | Rule::network_def => spec.defs.push(def(item)),
            Rule::section => spec.sections.push(section(item)),
            _ => {}
        }
    }
    spec.comments = comments(source);
    Ok(spec)
}

fn comments(source: &str) -> Vec<(String, Span)> {
    // Line comments outside strings.
    let mut out = Vec::new();
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let mut in_string = false;
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    let text = line[i..].trim_end().to_string();
                    out.push((text, Span { start: offset + i, end: offset + line.trim_end().len() }));
                    break;
                }
                _ => {}
            }
        }
        offset += line.len();
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').to_string()
}

fn def(p: Pair<Rule>) -> Def {
    let kind = if p.as_rule() == Rule::block_def { DefKind::Block } else { DefKind::Network };
    let sp = span(&p);
    let mut inner = p.into_inner();
    let name = ident(inner.next().expect("name"));
    let mut params = Vec::new();
    let mut body = Vec::new();
    for part in inner {
        match part.as_rule() {
            Rule::param_list => {
                for prm in part.into_inner() {
                    let psp = span(&prm);
                    let mut it = prm.into_inner();
                    let name = ident(it.next().expect("param name"));
                    let ty = match it.next().expect("type").as_str() {
                        "int" => Ty::Int,
                        "float" => Ty::Float,
                        "bool" => Ty::Bool,
                        "list" => Ty::List,
                        _ => Ty::Str,
                    };
                    params.push(Param { name, ty, default: it.next().map(expr), span: psp });
                }
            }
            Rule::body => body = stmts(part),
            _ => {}
        }
    }
    Def { file: 0, kind, name, params, body, span: sp }
}

fn stmts(body: Pair<Rule>) -> Vec<Stmt> {
    body.into_inner().map(stmt).collect()
}

fn stmt(p: Pair<Rule>) -> Stmt {
    let sp = span(&p);
    let rule = p.as_rule();
    let mut it = p.into_inner();
    match rule {
        Rule::input_stmt => {
            let name = ident(it.next().expect("name"));
            let mut next = it.next().expect("channels");
            let complex = next.as_rule() == Rule::complex_kw;
            if complex {
                next = it.next().expect("channels");
            }
            let channels = expr(next);
            let dims = it.map(|d| ident(d.into_inner().next().expect("dim"))).collect();
            Stmt::Input { name, complex, channels, dims, span: sp }
        }
        Rule::output_stmt => {
            let p = it.next().expect("name");
            let name = ident(p.clone());
            let pattern = match path_part(p) {
                PathPart::Name(_) => None,
                interpolated => Some(interpolated),
            };
            Stmt::Output { name, pattern, value: it.next().map(expr), span: sp }
        }
        Rule::let_stmt => {
            let name = ident(it.next().expect("name"));
            Stmt::Let { name, value: expr(it.next().expect("value")), span: sp }
        }
        Rule::for_stmt => {
            let var = ident(it.next().expect("var"));
            let start = expr(it.next().expect("start"));
            let end = expr(it.next().expect("end"));
            Stmt::For { var, start, end, body: stmts(it.next().expect("body")), span: sp }
        }
        Rule::destructure_stmt => {
            let mut parts: Vec<Pair<Rule>> = it.collect();
            let value = expr(parts.pop().expect("value"));
            let targets = parts
                .into_iter()
                .map(|t| {
                    let mut t = t.into_inner();
                    let name = ident(t.next().expect("name"));
                    (name, t.next().map(expr))
                })
                .collect();
            Stmt::Destructure { targets, value, span: sp }
        }
        Rule::assign_stmt => {
            let mut t = it.next().expect("target").into_inner();
            let name = ident(t.next().expect("name"));
            let index = t.next().map(expr);
            Stmt::Assign { name, index, value: expr(it.next().expect("value")), span: sp }
        }
        other => unreachable!("statement rule {other:?}"),
    }
}

fn binop(s: &str) -> BinOp {
    match s {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Rem,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "&&" => BinOp::And,
        _ => BinOp::Or,
    }
}

fn expr(p: Pair<Rule>) -> Expr {
    let sp = span(&p);
    match p.as_rule() {
        Rule::expr => expr(p.into_inner().next().expect("inner")),
        Rule::or_expr | Rule::and_expr | Rule::sum | Rule::product | Rule::cmp_expr => {
            let fixed = match p.as_rule() {
                Rule::or_expr => Some(BinOp::Or),
                Rule::and_expr => Some(BinOp::And),
                _ => None,
            };
            let mut it = p.into_inner();
            let mut left = expr(it.next().expect("operand"));
            while let Some(next) = it.next() {
                let (op, right) = match fixed {
                    Some(op) => (op, next),
                    None => (binop(next.as_str()), it.next().expect("right operand")),
                };
                let right = expr(right);
                let span = Span { start: left.span.start, end: right.span.end };
                left = Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span };
            }
            left
        }
        Rule::power => {
            let mut it = p.into_inner();
            let base = expr(it.next().expect("base"));
            match it.next() {
                Some(e) => Expr { kind: ExprKind::Binary(BinOp::Pow, Box::new(base), Box::new(expr(e))), span: sp },
                None => base,
            }
        }
        Rule::unary => {
            let mut it = p.into_inner().peekable();
            let negated = it.peek().map(|x| x.as_rule() == Rule::neg).unwrap_or(false);
            if negated {
                it.next();
            }
            let inner = expr(it.next().expect("operand"));
            if negated {
                Expr { kind: ExprKind::Neg(Box::new(inner)), span: sp }
            } else {
                inner
            }
        }
        Rule::postfix => {
            let mut it = p.into_inner();
            let base = expr(it.next().expect("primary"));
            match it.next() {
                Some(i) => Expr { kind: ExprKind::Index(Box::new(base), Box::new(expr(i))), span: sp },
                None => base,
            }
        }
        Rule::int => Expr { kind: ExprKind::Int(p.as_str().parse().unwrap_or(i64::MAX)), span: sp },
        Rule::float => Expr { kind: ExprKind::Float(p.as_str().parse().unwrap_or(f64::NAN)), span: sp },
        Rule::string => Expr { kind: ExprKind::Str(unquote(p.as_str())), span: sp },
        Rule::boolean => Expr { kind: ExprKind::Bool(p.as_str() == "true"), span: sp },
        Rule::ident => Expr { kind: ExprKind::Name(p.as_str().to_string()), span: sp },
        Rule::list => Expr { kind: ExprKind::List(p.into_inner().map(expr).collect()), span: sp },
        Rule::call => {
            let mut it = p.into_inner();
            let name = ident(it.next().expect("callee"));
            let mut args = Vec::new();
            let mut instance = None;
            for part in it {
                match part.as_rule() {
                    Rule::arg_list => {
                        for a in part.into_inner() {
                            let mut ai = a.into_inner();
                            let first = ai.next().expect("arg");
                            match ai.next() {
                                Some(v) => args.push(Arg { name: Some(ident(first)), value: expr(v) }),
                                None => args.push(Arg { name: None, value: expr(first) }),
                            }
                        }
                    }
                    Rule::instance => {
                        let mut parts = part.into_inner();
                        let mut path = parts.next().expect("path");
                        let shared = path.as_rule() == Rule::shared;
                        if shared {
                            path = parts.next().expect("path");
                        }
                        let psp = span(&path);
                        let parts = path.into_inner().map(path_part).collect();
                        instance = Some(InstancePath { parts, shared, span: psp });
                    }
                    _ => {}
                }
            }
            Expr { kind: ExprKind::Call { name, args, instance }, span: sp }
        }
        other => unreachable!("expression rule {other:?}"),
    }
}

/// One segment of an instance path: a name, `{expr}`, or pieces of both run together.
fn path_part(p: Pair<Rule>) -> PathPart {
    let mut pieces: Vec<PathPart> = p
        .into_inner()
        .map(|piece| match piece.as_rule() {
            Rule::path_interp => PathPart::Expr(expr(piece.into_inner().next().expect("expr"))),
            _ => PathPart::Name(piece.as_str().to_string()),
        })
        .collect();
    if pieces.len() == 1 {
        pieces.remove(0)
    } else {
        PathPart::Concat(pieces)
    }
}

fn binding(p: Pair<Rule>) -> Binding {
    let sp = span(&p);
    let mut names = Vec::new();
    let mut values = None;
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::ident => names.push(ident(x)),
            _ => values = Some(expr(x)),
        }
    }
    Binding { names, values: values.expect("binding values"), span: sp }
}

fn section(p: Pair<Rule>) -> Section {
    let sp = span(&p);
    let mut it = p.into_inner().peekable();
    let kind = ident(it.next().expect("kind"));
    let name = match it.peek() {
        Some(x) if x.as_rule() == Rule::section_name => Some(ident(it.next().expect("name"))),
        _ => None,
    };
    let matrix = match it.peek() {
        Some(x) if x.as_rule() == Rule::matrix => it.next().expect("matrix").into_inner().map(binding).collect(),
        _ => Vec::new(),
    };
    let entries = it
        .map(|e| match e.as_rule() {
            Rule::section => Entry::Section(section(e)),
            _ => {
                let mut si = e.into_inner();
                let key = si.next().expect("key");
                Entry::Setting {
                    key: key.as_str().to_string(),
                    key_span: span(&key),
                    value: expr(si.next().expect("value")),
                }
            }
        })
        .collect();
    Section { kind, name, matrix, entries, span: sp }
}
