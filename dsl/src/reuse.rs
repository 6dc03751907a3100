//! Spec reuse, expanded before anything else reads the sections:
//!
//! * a `for` matrix on a section makes one copy of it per combination of values
//!   (`experiment brats_x{r} for r in [4, 8] { ... }`): `{name}` in the section's name, in its
//!   strings and in nested names takes the value's text, and a setting whose value is the bare
//!   name takes the value itself (`acceleration = r`). Several bindings combine (the first
//!   outermost); `r, cf in [[4, 0.08], [8, 0.04]]` binds names together from each item;
//! * `fragment NAME { ... }` holds experiment settings and sections that experiments (or other
//!   fragments) take with `use = ["NAME", ...]`: the fragments merge in order, then the
//!   experiment's own entries override them, as a named experiment overrides the unnamed one.
//!
//! [`expand`] leaves a spec without matrices, fragments or `use`: every consumer sees the runs
//! as if they had been written out. Spans stay those of the text written, so diagnostics point
//! at the template or the fragment.

use crate::ast::{Entry, Expr, ExprKind, Section, Spec};
use crate::diag::{suggest, Diagnostic};
use crate::sections::merge;
use std::collections::BTreeMap;

/// At most this many copies of one section (a typo in a matrix must not exhaust memory).
const MAX_COPIES: usize = 4096;
/// At most this depth of fragments using fragments.
const MAX_DEPTH: usize = 16;

/// Expands matrices, then `use` of fragments, in `spec`'s sections; returns every problem.
pub fn expand(spec: &mut Spec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    spec.sections = expand_matrices(std::mem::take(&mut spec.sections), &mut out);
    let (fragments, rest): (Vec<Section>, Vec<Section>) =
        std::mem::take(&mut spec.sections).into_iter().partition(|s| s.kind.name == "fragment");
    let mut library: BTreeMap<String, Section> = BTreeMap::new();
    for f in fragments {
        match &f.name {
            None => out.push(
                Diagnostic::error(f.kind.span, "a `fragment` needs a name", "unnamed")
                    .with_help("write `fragment NAME { ... }` and `use = [\"NAME\"]` in an experiment"),
            ),
            Some(n) if library.contains_key(&n.name) => {
                out.push(Diagnostic::error(n.span, format!("a second `fragment {}`", n.name), "given twice"))
            }
            Some(n) => {
                library.insert(n.name.clone(), f.clone());
            }
        }
    }
    let mut used = BTreeMap::new();
    spec.sections = rest.into_iter().map(|s| resolve_uses(s, &library, &mut used, 0, &mut out)).collect();
    for (name, f) in &library {
        if !used.contains_key(name) {
            let span = f.name.as_ref().map(|n| n.span).unwrap_or(f.span);
            out.push(
                Diagnostic::error(span, format!("`fragment {name}` is used by no experiment"), "unused")
                    .with_help(format!("add `use = [\"{name}\"]` to an experiment, or remove the fragment")),
            );
        }
    }
    out
}

fn expand_matrices(sections: Vec<Section>, out: &mut Vec<Diagnostic>) -> Vec<Section> {
    let mut result = Vec::new();
    for mut s in sections {
        s.entries = s
            .entries
            .into_iter()
            .flat_map(|e| match e {
                Entry::Section(c) => expand_matrices(vec![c], out).into_iter().map(Entry::Section).collect(),
                other => vec![other],
            })
            .collect();
        if s.matrix.is_empty() {
            if let Some(n) = &s.name {
                if n.name.contains('{') {
                    out.push(
                        Diagnostic::error(
                            n.span,
                            format!("`{}` has `{{...}}` in its name but no `for`", n.name),
                            "no matrix",
                        )
                        .with_help(format!("write `{} {} for NAME in [...] {{ ... }}`", s.kind.name, n.name)),
                    );
                }
            }
            result.push(s);
            continue;
        }
        let Some(combinations) = combinations(&s, out) else { continue };
        let bound: Vec<String> = s.matrix.iter().flat_map(|b| b.names.iter().map(|n| n.name.clone())).collect();
        if let Some(n) = &s.name {
            for piece in placeholders(&n.name) {
                if !bound.contains(&piece) {
                    let d = Diagnostic::error(
                        n.span,
                        format!("`{{{piece}}}` in `{}` is not a name of its `for`", n.name),
                        "unbound",
                    );
                    out.push(match suggest(&piece, bound.iter().map(String::as_str)) {
                        Some(g) => d.with_help(format!("did you mean `{{{g}}}`?")),
                        None => d.with_help(format!("its `for` binds {}", bound.join(", "))),
                    });
                }
            }
        }
        for env in combinations {
            let mut copy = s.clone();
            copy.matrix.clear();
            if let Some(n) = &mut copy.name {
                n.name = interpolate(&n.name, &env);
            }
            substitute_entries(&mut copy.entries, &env);
            result.push(copy);
        }
    }
    result
}

/// Every combination of the section's bindings, as name → value; `None` after reporting.
fn combinations(s: &Section, out: &mut Vec<Diagnostic>) -> Option<Vec<BTreeMap<String, Expr>>> {
    let mut all: Vec<BTreeMap<String, Expr>> = vec![BTreeMap::new()];
    for b in &s.matrix {
        let ExprKind::List(items) = &b.values.kind else {
            out.push(Diagnostic::error(b.values.span, "a `for` of a section takes a list of values", "not a list"));
            return None;
        };
        if items.is_empty() {
            out.push(Diagnostic::error(b.values.span, "an empty list makes no section", "empty"));
            return None;
        }
        let mut rows = Vec::new();
        for item in items {
            let values: Vec<Expr> = if b.names.len() == 1 {
                vec![item.clone()]
            } else {
                match &item.kind {
                    ExprKind::List(v) if v.len() == b.names.len() => v.clone(),
                    _ => {
                        out.push(Diagnostic::error(
                            item.span,
                            format!("each item must be a list of {} values ({})", b.names.len(), names(b)),
                            "wrong item",
                        ));
                        return None;
                    }
                }
            };
            for v in &values {
                if !literal(v) {
                    out.push(Diagnostic::error(
                        v.span,
                        "a matrix value must be a number, a string or a bool",
                        "not a literal",
                    ));
                    return None;
                }
            }
            rows.push(values);
        }
        let mut next = Vec::new();
        for env in &all {
            for row in &rows {
                let mut e = env.clone();
                for (n, v) in b.names.iter().zip(row) {
                    if e.insert(n.name.clone(), v.clone()).is_some() {
                        out.push(Diagnostic::error(n.span, format!("`{}` is bound twice", n.name), "given twice"));
                        return None;
                    }
                }
                next.push(e);
            }
        }
        if next.len() > MAX_COPIES {
            out.push(Diagnostic::error(
                b.span,
                format!("this matrix makes more than {MAX_COPIES} sections"),
                "too many",
            ));
            return None;
        }
        all = next;
    }
    Some(all)
}

fn names(b: &crate::ast::Binding) -> String {
    b.names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) => true,
        ExprKind::Neg(x) => matches!(x.kind, ExprKind::Int(_) | ExprKind::Float(_)),
        _ => false,
    }
}

/// The text a value takes inside a name or a string.
fn text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => f.to_string(),
        ExprKind::Str(s) => s.clone(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Neg(x) => format!("-{}", text(x)),
        _ => String::new(),
    }
}

/// The `{name}` pieces of `s`.
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(rest[i + 1..i + j].to_string());
        rest = &rest[i + j + 1..];
    }
    out
}

fn interpolate(s: &str, env: &BTreeMap<String, Expr>) -> String {
    let mut s = s.to_string();
    for (k, v) in env {
        s = s.replace(&format!("{{{k}}}"), &text(v));
    }
    s
}

fn substitute_entries(entries: &mut [Entry], env: &BTreeMap<String, Expr>) {
    for e in entries {
        match e {
            Entry::Setting { value, .. } => substitute(value, env),
            Entry::Section(s) => {
                if let Some(n) = &mut s.name {
                    n.name = interpolate(&n.name, env);
                }
                substitute_entries(&mut s.entries, env);
            }
        }
    }
}

fn substitute(e: &mut Expr, env: &BTreeMap<String, Expr>) {
    match &mut e.kind {
        ExprKind::Str(s) => *s = interpolate(s, env),
        ExprKind::Name(n) => {
            if let Some(v) = env.get(n.as_str()) {
                e.kind = v.kind.clone();
            }
        }
        ExprKind::List(items) => items.iter_mut().for_each(|x| substitute(x, env)),
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
            substitute(a, env);
            substitute(b, env);
        }
        ExprKind::Neg(a) => substitute(a, env),
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| substitute(&mut a.value, env)),
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) => {}
    }
}

/// `s` with its `use` (and its nested sections' `use`) replaced by the fragments' entries.
fn resolve_uses(
    mut s: Section,
    library: &BTreeMap<String, Section>,
    used: &mut BTreeMap<String, ()>,
    depth: usize,
    out: &mut Vec<Diagnostic>,
) -> Section {
    s.entries = std::mem::take(&mut s.entries)
        .into_iter()
        .map(|e| match e {
            Entry::Section(c) => Entry::Section(resolve_uses(c, library, used, depth, out)),
            other => other,
        })
        .collect();
    let Some(pos) = s.entries.iter().position(|e| matches!(e, Entry::Setting { key, .. } if key == "use")) else {
        return s;
    };
    let Entry::Setting { value, .. } = s.entries.remove(pos) else { unreachable!("found a setting") };
    if s.kind.name != "experiment" && s.kind.name != "fragment" {
        out.push(Diagnostic::error(
            value.span,
            format!("`use` belongs in an `experiment` or a `fragment`, not in `{}`", s.kind.name),
            "misplaced",
        ));
        return s;
    }
    let ExprKind::List(items) = &value.kind else {
        out.push(Diagnostic::error(value.span, "`use` expects a list of fragment names", "not a list"));
        return s;
    };
    if depth >= MAX_DEPTH {
        out.push(Diagnostic::error(
            value.span,
            format!("fragments use fragments more than {MAX_DEPTH} deep (a cycle?)"),
            "too deep",
        ));
        return s;
    }
    let mut merged = Section { entries: Vec::new(), matrix: Vec::new(), ..s.clone() };
    for item in items {
        let ExprKind::Str(name) = &item.kind else {
            out.push(Diagnostic::error(item.span, "a fragment name is a string", "not a string"));
            continue;
        };
        let Some(f) = library.get(name) else {
            let d = Diagnostic::error(item.span, format!("there is no `fragment {name}`"), "unknown fragment");
            out.push(match suggest(name, library.keys().map(String::as_str)) {
                Some(g) => d.with_help(format!("did you mean `{g}`?")),
                None => d.with_help(format!("fragments: {}", library.keys().cloned().collect::<Vec<_>>().join(", "))),
            });
            continue;
        };
        used.insert(name.clone(), ());
        let f = resolve_uses(f.clone(), library, used, depth + 1, out);
        merge(&mut merged, &f);
    }
    merge(&mut merged, &s);
    merged.kind = s.kind;
    merged.name = s.name;
    merged.span = s.span;
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(text: &str) -> (Spec, Vec<String>) {
        let mut spec = crate::parse(text).expect("parses");
        let d = expand(&mut spec);
        (spec, d.into_iter().map(|d| d.message).collect())
    }

    fn settings(s: &Section) -> Vec<String> {
        let mut out = Vec::new();
        for e in &s.entries {
            match e {
                Entry::Setting { key, value, .. } => out.push(format!("{key}={}", crate::fmt::render(value))),
                Entry::Section(c) => {
                    let name = c.name.as_ref().map(|n| format!(" {}", n.name)).unwrap_or_default();
                    out.push(format!("{}{name}{{{}}}", c.kind.name, settings(c).join(",")))
                }
            }
        }
        out
    }

    #[test]
    fn a_matrix_makes_one_section_per_combination_first_name_outermost() {
        let (spec, errors) = expanded(
            r#"experiment e_{row}_x{r} for row in ["a", "b"], r in [4, 8] {
                reproduces = ["t/{row}/{r}x"]
                mask { acceleration = r }
            }"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = spec.sections.iter().map(|s| s.name.as_ref().unwrap().name.as_str()).collect();
        assert_eq!(names, ["e_a_x4", "e_a_x8", "e_b_x4", "e_b_x8"]);
        assert_eq!(settings(&spec.sections[3]), ["reproduces=[\"t/b/8x\"]", "mask{acceleration=8}"]);
    }

    #[test]
    fn names_bound_together_take_each_item() {
        let (spec, errors) =
            expanded(r#"experiment k{r} for r, cf in [[4, 0.08], [8, 0.04]] { mask { center_fraction = cf } }"#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(settings(&spec.sections[1]), ["mask{center_fraction=0.04}"]);
        let (_, errors) = expanded(r#"experiment k{r} for r, cf in [[4, 0.08], [8]] { }"#);
        assert_eq!(errors, ["each item must be a list of 2 values (r, cf)"]);
    }

    #[test]
    fn fragments_merge_in_order_and_the_experiment_overrides_them() {
        let (spec, errors) = expanded(
            r#"fragment a { batch_size = 1 data { size = 32 } }
               fragment b { use = ["a"] batch_size = 2 data { slices = 4 } }
               experiment x { use = ["b"] data { size = 64 } }"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(spec.sections.len(), 1);
        assert_eq!(settings(&spec.sections[0]), ["batch_size=2", "data{size=64,slices=4}"]);
    }

    #[test]
    fn mistakes_are_reported_where_they_were_written() {
        let (_, errors) = expanded(r#"experiment x { use = ["knee"] } fragment kne { }"#);
        assert!(errors.iter().any(|e| e == "there is no `fragment knee`"), "{errors:?}");
        assert!(errors.iter().any(|e| e == "`fragment kne` is used by no experiment"), "{errors:?}");
        let (_, errors) = expanded(r#"experiment x_{q} for r in [4] { }"#);
        assert_eq!(errors, ["`{q}` in `x_{q}` is not a name of its `for`"]);
        let (_, errors) = expanded(r#"experiment x_{r} { }"#);
        assert_eq!(errors, ["`x_{r}` has `{...}` in its name but no `for`"]);
        let (_, errors) =
            expanded(r#"fragment a { use = ["b"] } fragment b { use = ["a"] } experiment x { use = ["a"] }"#);
        assert!(errors.iter().any(|e| e.contains("more than 16 deep")), "{errors:?}");
        let (_, errors) = expanded(r#"experiment x{r} for r in [[1]] { }"#);
        assert_eq!(errors, ["a matrix value must be a number, a string or a bool"]);
    }
}
