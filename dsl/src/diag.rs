//! Diagnostics: a message, the span it points at, a label, and an optional help line, rendered
//! with the file, line and column and an excerpt of the source.
//!
//! ```text
//! error: unknown block `conv_blok`
//!  --> papers/baselines/unet.mcmr:12:9
//!    |
//! 12 |     x = conv_blok(x, 1, 8, 0.0)
//!    |         ^^^^^^^^^ not a primitive or a block of this spec
//!    = help: did you mean `conv_block`?
//! ```

use crate::ast::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    #[serde(skip)]
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// 1-based line and column, filled in by [`Diagnostic::locate`].
    pub line: usize,
    pub column: usize,
    /// Which loaded file the span refers to (0: the main file).
    #[serde(skip)]
    pub file: usize,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            line: 0,
            column: 0,
            file: 0,
        }
    }

    pub fn warning(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(span, message, label) }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Fills in the line and column from the source.
    pub fn locate(mut self, source: &str) -> Self {
        let (line, column) = line_col(source, self.span.start);
        self.line = line;
        self.column = column;
        self
    }

    /// The diagnostic as text, with the source excerpt.
    pub fn render(&self, source: &str, file: &str) -> String {
        let (line, col) = line_col(source, self.span.start);
        let text = source.lines().nth(line - 1).unwrap_or("");
        let width = line.to_string().len();
        let pad = " ".repeat(width);
        let end_col = if self.span.end > self.span.start {
            let (l2, c2) = line_col(source, self.span.end);
            if l2 == line {
                c2
            } else {
                text.chars().count() + 1
            }
        } else {
            col + 1
        };
        let marks = "^".repeat(end_col.saturating_sub(col).max(1));
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut s = format!(
            "{kind}: {}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{line} | {text}\n{pad} | {}{marks} {}\n",
            self.message,
            " ".repeat(col - 1),
            self.label
        );
        if let Some(h) = &self.help {
            s.push_str(&format!("{pad} = help: {h}\n"));
        }
        s
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// The closest candidate within a small edit distance, for "did you mean" help.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.len() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

/// Edit distance with adjacent transpositions counted as one edit (optimal string alignment),
/// so `plian` is one edit from `plain`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j - 1] + cost).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}
