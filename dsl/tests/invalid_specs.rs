//! The invalid-spec corpus (`tests/invalid/*.mcmr`): each file's first line says which
//! diagnostic it must produce (`// expect: text` for errors, `// expect-warning: text`); the
//! full rendered diagnostics are compared with `<name>.stderr` snapshots (regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p mcmr-dsl --test invalid_specs`).

use mcmr_dsl::check::elaborate;
use std::path::PathBuf;

fn diagnostics(text: &str, file: &str) -> (Vec<String>, String) {
    let spec = match mcmr_dsl::parse(text) {
        Ok(s) => s,
        Err(d) => return (vec![d.message.clone()], d.render(text, file)),
    };
    match elaborate(&spec, None, None, &[]) {
        Ok(c) => (
            c.warnings.iter().map(|w| w.message.clone()).collect(),
            c.warnings.iter().map(|w| w.render(text, file)).collect(),
        ),
        Err(errors) => {
            (errors.iter().map(|e| e.message.clone()).collect(), errors.iter().map(|e| e.render(text, file)).collect())
        }
    }
}

#[test]
fn every_invalid_spec_produces_its_intended_diagnostic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mcmr"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} specs", files.len());
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let first = text.lines().next().unwrap_or("");
        let (warning, expect) = match (first.strip_prefix("// expect: "), first.strip_prefix("// expect-warning: ")) {
            (Some(e), _) => (false, e),
            (_, Some(e)) => (true, e),
            _ => panic!("{} has no `// expect:` line", path.display()),
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (messages, rendered) = diagnostics(&text, &name);
        let hit = messages.iter().any(|m| m.contains(expect)) || rendered.contains(expect);
        let is_error = mcmr_dsl::parse(&text).map(|s| elaborate(&s, None, None, &[]).is_err()).unwrap_or(true);
        if !hit || is_error == warning {
            failures.push(format!(
                "{name}: expected {} containing `{expect}`, got:\n{rendered}",
                if warning { "a warning" } else { "an error" }
            ));
        }
        let snap = path.with_extension("stderr");
        if update {
            std::fs::write(&snap, &rendered).unwrap();
        } else if std::fs::read_to_string(&snap).ok().as_deref() != Some(rendered.as_str()) {
            failures.push(format!("{name}: rendering differs from {}:\n{rendered}", snap.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
