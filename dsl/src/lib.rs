//! # mcmr-dsl — the spec language of mcmr-kit
//!
//! A spec describes a paper: networks as graphs of blocks, and experiments as nested sections.
//! [`load`] reads a spec and its imports into a syntax tree, which stays private to this crate
//! ([`Spec`] is opaque outside it). What the kernel reads is typed: [`plan::experiments`] gives
//! each run's settings as a [`plan::Section`] (losses as checked [`loss::Node`]s), and
//! [`Loaded::elaborate`] turns a network into a flat, fully sized graph ([`ir::Graph`]) with one
//! node per primitive call and a parameter path per parameter, reporting every problem as a
//! [`diag::Diagnostic`]. The kernel compiles that graph into a burn model at run time. See
//! `docs/language.md` for the language reference.

mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod glob;
pub mod ir;
pub mod loss;
mod merge;
mod parse;
pub mod plan;
pub mod prims;
pub mod reuse;
pub mod sections;
pub mod size;

pub use ast::{Span, Spec};
pub use parse::parse;

use std::path::{Path, PathBuf};

/// One file of a loaded spec.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A spec with its imports: the main file's sections, and the blocks and networks of every
/// file (each `Def::file` says which). `files[0]` is the main file.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub spec: ast::Spec,
}

impl Loaded {
    /// A spec from text alone (no imports; `name` labels diagnostics), its matrices and
    /// fragments expanded as [`load`] does.
    pub fn from_text(name: &str, text: &str) -> Result<Loaded, diag::Diagnostic> {
        let mut spec = parse(text)?;
        if let Some(d) = spec.imports.first() {
            return Err(diag::Diagnostic::error(d.1, "a spec read from text cannot import files", "import"));
        }
        if let Some(d) = reuse::expand(&mut spec).into_iter().next() {
            return Err(d);
        }
        Ok(Loaded { files: vec![SourceFile { path: name.into(), text: text.into() }], spec })
    }

    /// Renders a diagnostic against the file it refers to.
    pub fn render(&self, d: &diag::Diagnostic) -> String {
        let f = &self.files[d.file.min(self.files.len() - 1)];
        d.render(&f.text, &f.path.display().to_string())
    }
}

/// Reads `path` and, recursively, the files it imports (paths relative to the importing
/// file). Blocks and networks of imported files join the main spec; their sections do not.
/// A file imported twice is read once; an import cycle is an error at the import. The main
/// file's `for` matrices and fragments are expanded ([`reuse::expand`]); the first problem
/// there is the error.
pub fn load(path: &Path) -> Result<Loaded, (Vec<SourceFile>, diag::Diagnostic)> {
    let mut files = Vec::new();
    let mut stack = Vec::new();
    let mut spec = load_file(path, &mut files, &mut stack, None)?;
    // Matrices and fragments of the main file become the sections they stand for.
    if let Some(d) = reuse::expand(&mut spec).into_iter().next() {
        return Err((files, d));
    }
    Ok(Loaded { files, spec })
}

fn load_file(
    path: &Path,
    files: &mut Vec<SourceFile>,
    stack: &mut Vec<PathBuf>,
    from: Option<(usize, ast::Span)>,
) -> Result<ast::Spec, (Vec<SourceFile>, diag::Diagnostic)> {
    let fail = |files: &Vec<SourceFile>, message: String, label: &str| {
        let mut d = diag::Diagnostic::error(from.map(|f| f.1).unwrap_or_default(), message, label);
        d.file = from.map(|f| f.0).unwrap_or(0);
        (files.clone(), d)
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(files, format!("cannot read `{}`: {e}", path.display()), "imported here"))?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let index = files.len();
    files.push(SourceFile { path: path.to_path_buf(), text: text.clone() });
    let mut spec = parse(&text).map_err(|mut d| {
        d.file = index;
        (files.clone(), d)
    })?;
    for d in &mut spec.defs {
        d.file = index;
    }
    stack.push(canonical);
    for (import, span) in spec.imports.clone() {
        let target = path.parent().unwrap_or(Path::new(".")).join(&import);
        let canon = target.canonicalize().unwrap_or_else(|_| target.clone());
        if stack.contains(&canon) {
            let mut d =
                diag::Diagnostic::error(span, format!("import cycle: `{import}` imports this file again"), "cycle");
            d.file = index;
            return Err((files.clone(), d));
        }
        if files.iter().any(|f| f.path.canonicalize().map(|p| p == canon).unwrap_or(false)) {
            continue;
        }
        let imported = load_file(&target, files, stack, Some((index, span)))?;
        spec.defs.extend(imported.defs);
    }
    stack.pop();
    Ok(spec)
}
