//! The syntax tree of a spec, with byte spans into the source for diagnostics.

/// A byte range of the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A name and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole spec file (opaque outside this crate: read it through [`crate::plan`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Spec {
    /// `import "path"` lines, relative to the importing file.
    pub(crate) imports: Vec<(String, Span)>,
    pub(crate) defs: Vec<Def>,
    pub(crate) sections: Vec<Section>,
    /// Line comments with their spans (kept for the formatter).
    pub(crate) comments: Vec<(String, Span)>,
}

/// `block` (reusable) or `network` (a model that experiments refer to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    Block,
    Network,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Def {
    /// Which loaded file defines it (0: the main file; see `crate::load`).
    pub file: usize,
    pub kind: DefKind,
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    /// A list of compile-time values (`dilateSet: list = [1, 2, 3, 3]`).
    List,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Str => "str",
            Ty::List => "list",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Ty,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `input x: [C, H, W]` — channels and named spatial dimensions.
    Input { name: Ident, complex: bool, channels: Expr, dims: Vec<Ident>, span: Span },
    /// `output y = expr` or `output y`; `name` is the text as written, `pattern` its pieces
    /// when it has `{expr}` parts (`output r{i}_img = ...` in a loop).
    Output { name: Ident, pattern: Option<PathPart>, value: Option<Expr>, span: Span },
    /// `let n = expr` — a compile-time value.
    Let { name: Ident, value: Expr, span: Span },
    /// `for i in a..b { ... }` — unrolled at check time.
    For { var: Ident, start: Expr, end: Expr, body: Vec<Stmt>, span: Span },
    /// `x = expr` or `x[i] = expr`.
    Assign { name: Ident, index: Option<Expr>, value: Expr, span: Span },
    /// `a, b[i] = expr`: the outputs of a multi-output block (or the items of a list).
    Destructure { targets: Vec<(Ident, Option<Expr>)>, value: Expr, span: Span },
}

impl Stmt {
    /// Where the statement was written.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Input { span, .. }
            | Stmt::Output { span, .. }
            | Stmt::Let { span, .. }
            | Stmt::For { span, .. }
            | Stmt::Assign { span, .. }
            | Stmt::Destructure { span, .. } => *span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Pow => "**",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    List(Vec<Expr>),
    Name(String),
    Index(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call { name: Ident, args: Vec<Arg>, instance: Option<InstancePath> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

/// `as a.b.{i}.0` — the instance name of a call; becomes its parameter path.
#[derive(Clone, Debug, PartialEq)]
pub struct InstancePath {
    pub parts: Vec<PathPart>,
    /// `as shared path`: reuse the weights of the earlier call with this path.
    pub shared: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathPart {
    Name(String),
    Expr(Expr),
    /// Text and `{expr}` pieces run together in one segment (`down{i}_fre_T1`).
    Concat(Vec<PathPart>),
}

/// `kind name? { key = value ... nested { ... } }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub kind: Ident,
    /// The name as written; in a section with a `for` matrix it may hold `{var}` pieces.
    pub name: Option<Ident>,
    /// `for r in [4, 8], ...`: one copy of the section per combination (see `crate::reuse`).
    pub matrix: Vec<Binding>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

/// One binding of a section's `for` matrix: `r in [4, 8]`, or `r, cf in [[4, 0.08], [8, 0.04]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub names: Vec<Ident>,
    pub values: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Setting { key: String, key_span: Span, value: Expr },
    Section(Section),
}
