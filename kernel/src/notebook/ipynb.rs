//! Notebook sources and executed notebooks.
//!
//! A notebook's source is a percent-format text file (`notebooks/NAME.rs`, as jupytext writes
//! for Rust): a line `// %% id="setup"` starts a code cell, `// %% [markdown] id="scope"` a
//! Markdown cell whose lines carry a `// ` prefix. Every cell names its id (letters, digits,
//! `-` and `_`, unique in the notebook). [`to_ipynb`] turns the source into the `.ipynb` that
//! sits beside it in git — outputs empty, ids as written, the `rust` kernel — and
//! `mcmr notebook build --check` fails when the two disagree.
//!
//! [`verify`] reads a notebook after `jupyter execute` and its `verdict.json` and lists every
//! reason the run failed: a cell that did not run, an error output, anything on a cell's stderr
//! (a panic, or the message of an `Err` that `?` returned: evcxr fails the cell for neither), a
//! missing or failed verdict.
//!
//! ```
//! use mcmr::notebook::ipynb::{parse_percent, CellKind};
//! let cells = parse_percent("// %% [markdown] id=\"a\"\n// # Title\n// %% id=\"b\"\nlet x = 1;\n", "nb.rs").unwrap();
//! assert_eq!(cells[0].kind, CellKind::Markdown);
//! assert_eq!(cells[0].source, "# Title");
//! assert_eq!(cells[1].source, "let x = 1;");
//! ```

use serde_json::{json, Value};

/// A cell's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Code,
    Markdown,
}

/// One cell of a percent-format source.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub kind: CellKind,
    pub id: String,
    /// The cell's text, without the Markdown comment prefix or trailing blank lines.
    pub source: String,
    /// 1-based line of the `// %%` marker.
    pub line: usize,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses a percent-format source; errors name `file:line:column` and what was expected.
pub fn parse_percent(text: &str, file: &str) -> Result<Vec<Cell>, String> {
    let mut cells: Vec<Cell> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    let finish = |cells: &mut Vec<Cell>, lines: &mut Vec<&str>| {
        if let Some(c) = cells.last_mut() {
            while lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
            c.source = lines.join("\n");
        }
        lines.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("// %%") {
            finish(&mut cells, &mut lines);
            let rest = rest.trim();
            let (kind, rest) = match rest.strip_prefix("[markdown]") {
                Some(r) => (CellKind::Markdown, r.trim()),
                None => (CellKind::Code, rest),
            };
            let id = rest.strip_prefix("id=\"").and_then(|r| r.strip_suffix('"')).ok_or_else(|| {
                format!("{file}:{n}:1: expected `// %% id=\"NAME\"` or `// %% [markdown] id=\"NAME\"`, found `{line}`")
            })?;
            if !valid_id(id) {
                return Err(format!("{file}:{n}:1: cell id `{id}`: expected 1 to 64 letters, digits, `-` or `_`"));
            }
            if let Some(c) = cells.iter().find(|c| c.id == id) {
                return Err(format!("{file}:{n}:1: cell id `{id}` is already used by the cell at line {}", c.line));
            }
            cells.push(Cell { kind, id: id.to_string(), source: String::new(), line: n });
            continue;
        }
        match cells.last() {
            None if line.trim().is_empty() || line.starts_with("//") => {}
            None => return Err(format!("{file}:{n}:1: expected a cell marker `// %% id=\"NAME\"` before any code")),
            Some(c) if c.kind == CellKind::Markdown && line.trim().is_empty() => lines.push(""),
            Some(c) if c.kind == CellKind::Markdown => {
                let md = line.strip_prefix("// ").or_else(|| line.strip_prefix("//")).ok_or_else(|| {
                    format!("{file}:{n}:1: a Markdown cell's lines start with `//` (the cell at line {})", c.line)
                })?;
                lines.push(md);
            }
            Some(_) => lines.push(line),
        }
    }
    finish(&mut cells, &mut lines);
    if cells.is_empty() {
        return Err(format!("{file}: no cells (a cell starts with `// %% id=\"NAME\"`)"));
    }
    for c in &cells {
        if c.source.trim().is_empty() {
            return Err(format!("{file}:{}:1: cell `{}` is empty", c.line, c.id));
        }
    }
    Ok(cells)
}

/// nbformat's multi-line string: lines, each but the last ending in `\n`.
fn source_lines(s: &str) -> Value {
    let parts: Vec<&str> = s.split('\n').collect();
    let n = parts.len();
    Value::Array(
        parts
            .iter()
            .enumerate()
            .map(|(i, l)| Value::String(if i + 1 < n { format!("{l}\n") } else { l.to_string() }))
            .collect(),
    )
}

/// The `.ipynb` (nbformat 4.5) of parsed cells: no outputs, the `rust` kernel, keys sorted and
/// one-space indentation as Jupyter writes them, ending in a newline.
pub fn to_ipynb(cells: &[Cell]) -> String {
    let cells: Vec<Value> = cells
        .iter()
        .map(|c| match c.kind {
            CellKind::Markdown => {
                json!({"cell_type": "markdown", "id": c.id, "metadata": {}, "source": source_lines(&c.source)})
            }
            CellKind::Code => json!({
                "cell_type": "code", "execution_count": null, "id": c.id, "metadata": {},
                "outputs": [], "source": source_lines(&c.source)
            }),
        })
        .collect();
    let nb = json!({
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Rust", "language": "rust", "name": "rust"},
            "language_info": {"codemirror_mode": "rust", "file_extension": ".rs", "mimetype": "text/rust",
                              "name": "Rust", "pygment_lexer": "rust", "version": ""}
        },
        "nbformat": 4,
        "nbformat_minor": 5
    });
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&nb, &mut ser).expect("JSON into memory");
    let mut s = String::from_utf8(buf).expect("serde_json writes UTF-8");
    s.push('\n');
    s
}

/// Removes ANSI colour sequences (evcxr colours its compile errors).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => String::new(),
    }
}

/// Every reason an executed notebook (`executed`, its JSON text) failed, given the text of the
/// `verdict.json` it wrote (`None`: it wrote none). Empty when it passed. `name` is the
/// notebook's name as the verdict must state it.
pub fn verify(executed: &str, verdict: Option<&str>, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let nb: Value = match serde_json::from_str(executed) {
        Ok(v) => v,
        Err(e) => return vec![format!("the executed notebook is not JSON: {e}")],
    };
    let cells = nb["cells"].as_array().cloned().unwrap_or_default();
    if cells.is_empty() {
        problems.push("the executed notebook has no cells".to_string());
    }
    for (i, c) in cells.iter().enumerate() {
        if c["cell_type"] != "code" {
            continue;
        }
        let id = c["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("#{}", i + 1));
        if c["execution_count"].is_null() {
            problems.push(format!("cell `{id}` did not run"));
        }
        // evcxr sends stderr line by line, one stream output each: join them first.
        let mut stderr = String::new();
        for o in c["outputs"].as_array().cloned().unwrap_or_default() {
            match o["output_type"].as_str() {
                Some("error") => {
                    let first = strip_ansi(&format!("{}: {}", text_of(&o["ename"]), text_of(&o["evalue"])));
                    problems.push(format!("cell `{id}` failed: {}", first.lines().next().unwrap_or("").trim()));
                }
                Some("stream") if o["name"] == "stderr" => stderr.push_str(&strip_ansi(&text_of(&o["text"]))),
                _ => {}
            }
        }
        // Nothing the notebooks run writes to stderr when all is well; a panic, an `Err` that `?`
        // returned (evcxr prints just its message) or a warning all land there.
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if !lines.is_empty() {
            // A panic's message is on the line after `panicked at FILE:LINE:COL:`.
            let i = lines.iter().position(|l| l.contains("panicked at")).unwrap_or(0);
            let shown = if lines[i].contains("panicked at") {
                format!("{} {}", lines[i].trim(), lines.get(i + 1).map(|l| l.trim()).unwrap_or(""))
            } else {
                lines[0].trim().to_string()
            };
            problems.push(format!("cell `{id}` wrote to stderr: {}", shown.trim_end()));
        }
    }
    match verdict.map(serde_json::from_str::<super::Verdict>) {
        None => problems.push("the notebook wrote no verdict.json (its last cell did not run to the end)".to_string()),
        Some(Err(e)) => problems.push(format!("verdict.json: {e}")),
        Some(Ok(v)) => {
            if v.notebook != name {
                problems.push(format!("verdict.json is notebook `{}`'s, not `{name}`'s", v.notebook));
            }
            if v.checks.is_empty() {
                problems.push("verdict.json records no check".to_string());
            }
            for c in v.checks.iter().filter(|c| !c.ok) {
                problems.push(format!("check failed: {}", c.what));
            }
            if !v.passed && v.checks.iter().all(|c| c.ok) && !v.checks.is_empty() {
                problems.push("verdict.json says not passed".to_string());
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "// A header comment.\n\n// %% [markdown] id=\"intro\"\n// # Title\n//\n// Text.\n\n// %% id=\"code\"\n:dep x = \"1\"\nlet a = 1;\n\n\n";

    #[test]
    fn percent_source_becomes_cells_with_ids() {
        let cells = parse_percent(SRC, "t.rs").unwrap();
        assert_eq!(cells.len(), 2);
        assert_eq!(
            (cells[0].kind, cells[0].id.as_str(), cells[0].source.as_str()),
            (CellKind::Markdown, "intro", "# Title\n\nText.")
        );
        assert_eq!(
            (cells[1].kind, cells[1].source.as_str(), cells[1].line),
            (CellKind::Code, ":dep x = \"1\"\nlet a = 1;", 8)
        );
        let nb: Value = serde_json::from_str(&to_ipynb(&cells)).unwrap();
        assert_eq!(nb["cells"][0]["source"], json!(["# Title\n", "\n", "Text."]));
        assert_eq!(nb["cells"][1]["id"], "code");
        assert_eq!(nb["cells"][1]["outputs"], json!([]));
        assert_eq!(nb["metadata"]["kernelspec"]["name"], "rust");
        assert_eq!(nb["nbformat_minor"], 5);
    }

    #[test]
    fn bad_sources_name_the_line_and_what_was_expected() {
        let e = parse_percent("let a = 1;\n", "nb.rs").unwrap_err();
        assert!(e.starts_with("nb.rs:1:1: expected a cell marker"), "{e}");
        let e = parse_percent("// %%\nlet a = 1;\n", "nb.rs").unwrap_err();
        assert!(e.contains("nb.rs:1:1: expected `// %% id=\"NAME\"`"), "{e}");
        let e = parse_percent("// %% id=\"a\"\nx\n// %% id=\"a\"\ny\n", "nb.rs").unwrap_err();
        assert!(e.contains("nb.rs:3:1: cell id `a` is already used by the cell at line 1"), "{e}");
        let e = parse_percent("// %% [markdown] id=\"m\"\nnot a comment\n", "nb.rs").unwrap_err();
        assert!(e.contains("nb.rs:2:1: a Markdown cell's lines start with `//`"), "{e}");
        let e = parse_percent("// %% id=\"bad id\"\nx\n", "nb.rs").unwrap_err();
        assert!(e.contains("cell id `bad id`"), "{e}");
    }

    fn executed(outputs: Value, count: Value) -> String {
        json!({"cells": [{"cell_type": "code", "id": "c1", "execution_count": count, "outputs": outputs, "source": []}]})
            .to_string()
    }

    const PASSED: &str =
        r#"{"notebook": "nb", "kit_version": "0", "passed": true, "checks": [{"what": "x", "ok": true}]}"#;

    #[test]
    fn a_clean_run_with_a_passed_verdict_passes() {
        let out = json!([{"output_type": "stream", "name": "stdout", "text": "PASS x\n"}]);
        assert_eq!(verify(&executed(out, json!(1)), Some(PASSED), "nb"), Vec::<String>::new());
    }

    #[test]
    fn panics_errors_skipped_cells_and_verdicts_each_fail_the_run() {
        let panic = json!([
            {"output_type": "stream", "name": "stderr", "text": ["\n"]},
            {"output_type": "stream", "name": "stderr", "text": ["thread '<unnamed>' panicked at src/lib.rs:3:1:\n"]},
            {"output_type": "stream", "name": "stderr", "text": ["boom\n"]}
        ]);
        let p = verify(&executed(panic, json!(1)), Some(PASSED), "nb");
        assert!(p[0].contains("panicked at src/lib.rs:3:1: boom"), "{p:?}");
        let err = json!([{"output_type": "stream", "name": "stderr", "text": "Error: cannot read `x`\n"}]);
        assert!(verify(&executed(err, json!(1)), Some(PASSED), "nb")[0].contains("Error: cannot read"));
        let compile = json!([{"output_type": "error", "ename": "Error", "evalue": "\u{1b}[31mmismatched types\u{1b}[0m", "traceback": []}]);
        assert_eq!(
            verify(&executed(compile, json!(1)), Some(PASSED), "nb"),
            vec!["cell `c1` failed: Error: mismatched types"]
        );
        assert_eq!(verify(&executed(json!([]), Value::Null), Some(PASSED), "nb"), vec!["cell `c1` did not run"]);
        let ok = executed(json!([]), json!(1));
        assert!(verify(&ok, None, "nb")[0].contains("no verdict.json"));
        let failed = r#"{"notebook": "nb", "kit_version": "0", "passed": false, "checks": [{"what": "PSNR within 0.5 dB", "ok": false}]}"#;
        assert_eq!(verify(&ok, Some(failed), "nb"), vec!["check failed: PSNR within 0.5 dB"]);
        let none = r#"{"notebook": "nb", "kit_version": "0", "passed": false, "checks": []}"#;
        assert_eq!(verify(&ok, Some(none), "nb"), vec!["verdict.json records no check"]);
        assert!(verify(&ok, Some(PASSED), "other")[0].contains("not `other`'s"));
        // `?` in a cell: evcxr prints only the error's message.
        let q = json!([{"output_type": "stream", "name": "stderr", "text": "cannot read `x`: No such file\n"}]);
        assert_eq!(
            verify(&executed(q, json!(1)), Some(PASSED), "nb"),
            vec!["cell `c1` wrote to stderr: cannot read `x`: No such file"]
        );
        // Blank stderr lines alone are not a failure.
        let blank = json!([{"output_type": "stream", "name": "stderr", "text": "\n"}]);
        assert!(verify(&executed(blank, json!(1)), Some(PASSED), "nb").is_empty());
    }
}
