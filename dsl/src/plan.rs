//! The plan: what the kernel reads of a spec, typed and free of syntax.
//!
//! [`experiments`] selects a loaded spec's runs (command-line variants, the variant an
//! experiment names, a scale, a subset of experiments) and gives each as a [`Section`]: the named
//! experiment merged onto the unnamed one, brought to the scale, with the variants applied. A
//! section holds [`Setting`]s whose values are [`Item`]s (numbers, strings, lists, calls such as
//! `adam(lr = 1e-4)`); a loss is read with [`Setting::loss`], checked terms over
//! [`crate::loss::Node`]s. The syntax tree stays inside this crate: the kernel cannot depend on
//! how a spec is written, only on what it means.

use crate::ast::{self, Entry, Expr, ExprKind};
use crate::check::{Checked, Value};
use crate::diag::Diagnostic;
use crate::loss::Loss;
use crate::{sections, Loaded, Span};

/// The value of a setting.
#[derive(Clone, Debug)]
pub enum Item {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// A bare name (`family = random` after a matrix substituted it, or a loss's `output`).
    Name(String),
    List(Vec<Setting>),
    Call(Call),
    /// An expression that is none of the above (a loss: read it with [`Setting::loss`]).
    Expr,
}

/// A call value: `adam(lr = 1e-4)`, `step(milestones = [10], gamma = 0.5)`.
#[derive(Clone, Debug)]
pub struct Call {
    pub name: String,
    /// Arguments in order, with their names when given by name.
    pub args: Vec<(Option<String>, Setting)>,
    pub at: Span,
}

/// One setting's value and where it was written.
#[derive(Clone, Debug)]
pub struct Setting {
    pub item: Item,
    pub at: Span,
    expr: Expr,
}

impl Setting {
    fn new(e: &Expr) -> Setting {
        let item = match &e.kind {
            ExprKind::Int(i) => Item::Int(*i),
            ExprKind::Float(f) => Item::Float(*f),
            ExprKind::Bool(b) => Item::Bool(*b),
            ExprKind::Str(s) => Item::Str(s.clone()),
            ExprKind::Name(n) => Item::Name(n.clone()),
            ExprKind::Neg(a) => match &a.kind {
                ExprKind::Int(i) => Item::Int(-i),
                ExprKind::Float(f) => Item::Float(-f),
                _ => Item::Expr,
            },
            ExprKind::List(items) => Item::List(items.iter().map(Setting::new).collect()),
            ExprKind::Call { name, args, .. } => Item::Call(Call {
                name: name.name.clone(),
                args: args.iter().map(|a| (a.name.as_ref().map(|n| n.name.clone()), Setting::new(&a.value))).collect(),
                at: e.span,
            }),
            _ => Item::Expr,
        };
        Setting { item, at: e.span, expr: e.clone() }
    }

    /// A number (an integer read as a float).
    pub fn num(&self) -> Option<f64> {
        match self.item {
            Item::Int(i) => Some(i as f64),
            Item::Float(f) => Some(f),
            _ => None,
        }
    }

    /// An integer.
    pub fn int(&self) -> Option<i64> {
        match self.item {
            Item::Int(i) => Some(i),
            _ => None,
        }
    }

    /// A non-negative integer.
    pub fn count(&self) -> Option<usize> {
        self.int().and_then(|i| usize::try_from(i).ok())
    }

    pub fn str(&self) -> Option<&str> {
        match &self.item {
            Item::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self) -> Option<bool> {
        match self.item {
            Item::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn list(&self) -> Option<&[Setting]> {
        match &self.item {
            Item::List(l) => Some(l),
            _ => None,
        }
    }

    /// The strings of a list (other items left out; the schema has checked them).
    pub fn strings(&self) -> Vec<String> {
        self.list().unwrap_or_default().iter().filter_map(|s| s.str().map(String::from)).collect()
    }

    pub fn call(&self) -> Option<&Call> {
        match &self.item {
            Item::Call(c) => Some(c),
            _ => None,
        }
    }

    /// The value as a network parameter (a literal: number, bool, string or list of them).
    pub fn literal(&self) -> Option<Value> {
        Some(match &self.item {
            Item::Int(i) => Value::Int(*i),
            Item::Float(f) => Value::Float(*f),
            Item::Bool(b) => Value::Bool(*b),
            Item::Str(s) => Value::Str(s.clone()),
            Item::List(items) => Value::List(items.iter().map(Setting::literal).collect::<Option<Vec<_>>>()?),
            _ => return None,
        })
    }

    /// The value read as a loss: its weighted terms ([`Loss::parse`]).
    pub fn loss(&self) -> Result<Loss, Diagnostic> {
        Loss::parse(&self.expr)
    }

    /// The value as the formatter writes it.
    pub fn render(&self) -> String {
        crate::fmt::render(&self.expr)
    }
}

impl Call {
    /// The argument named `key`.
    pub fn arg(&self, key: &str) -> Option<&Setting> {
        self.args.iter().find(|(k, _)| k.as_deref() == Some(key)).map(|(_, v)| v)
    }
}

/// One value written as in a spec (`adam(lr = 1e-4)`, `l1(output, target)`), read as a setting:
/// for tools and tests. Spans count from the start of `text`.
pub fn parse_setting(text: &str) -> Result<Setting, Diagnostic> {
    const HEAD: &str = "experiment {\n    x = ";
    let wrapped = format!("{HEAD}{text}\n}}\n");
    let shift =
        |span: Span| Span { start: span.start.saturating_sub(HEAD.len()), end: span.end.saturating_sub(HEAD.len()) };
    let spec = crate::parse(&wrapped).map_err(|mut d| {
        d.span = shift(d.span);
        d
    })?;
    match spec.sections.first().and_then(|s| s.entries.first()) {
        Some(Entry::Setting { value, .. }) if spec.sections[0].entries.len() == 1 => {
            let mut s = Setting::new(value);
            s.at = shift(s.at);
            Ok(s)
        }
        _ => Err(Diagnostic::error(Span { start: 0, end: text.len() }, "expected one value", "here")),
    }
}

/// A section (`data { ... }`, `mask test { ... }`, an experiment) as the kernel reads it.
#[derive(Clone, Debug)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub at: Span,
    /// Where the kind was written (`stage` of `stage warmup { ... }`).
    pub kind_at: Span,
    pub settings: Vec<(String, Setting)>,
    pub sections: Vec<Section>,
    source: ast::Section,
}

impl Section {
    fn new(s: &ast::Section) -> Section {
        let mut settings = Vec::new();
        let mut sections = Vec::new();
        for e in &s.entries {
            match e {
                Entry::Setting { key, value, .. } => settings.push((key.clone(), Setting::new(value))),
                Entry::Section(c) => sections.push(Section::new(c)),
            }
        }
        Section {
            kind: s.kind.name.clone(),
            name: s.name.as_ref().map(|n| n.name.clone()),
            at: s.span,
            kind_at: s.kind.span,
            settings,
            sections,
            source: s.clone(),
        }
    }

    /// An empty section of `kind` (what an absent `data { }` means).
    pub fn empty(kind: &str, at: Span) -> Section {
        Section::new(&ast::Section {
            kind: ast::Ident { name: kind.into(), span: at },
            name: None,
            matrix: vec![],
            entries: vec![],
            span: at,
        })
    }

    /// The setting `key` (the last one written, as merging keeps one per key).
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Where setting `key` was written, or `fallback`.
    pub fn at_of(&self, key: &str, fallback: Span) -> Span {
        self.get(key).map(|s| s.at).unwrap_or(fallback)
    }

    /// The nested section `kind` named `name` (`None`: the unnamed one).
    pub fn section(&self, kind: &str, name: Option<&str>) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == kind && s.name.as_deref() == name)
    }

    /// Every nested section of `kind`, in order.
    pub fn all<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    /// This section with `over` merged onto it ([`sections::merge`]: settings replace settings
    /// with the same key, nested sections merge, a mask's `pattern`s replace them all).
    pub fn merged(&self, over: &Section) -> Section {
        let mut m = self.source.clone();
        sections::merge(&mut m, &over.source);
        Section::new(&m)
    }
}

/// One planned run: an experiment as one command-line variant (`None`: the spec as written)
/// sees it at one scale.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub name: String,
    pub variant: Option<String>,
    pub section: Section,
}

/// Which runs to plan.
pub struct Selection<'a> {
    /// Command-line variants, each planned in turn (`None`: the spec as written).
    pub variants: Vec<Option<String>>,
    pub scale: &'a str,
    /// Only these experiments (all when empty).
    pub only: &'a [String],
    /// An experiment without the scale is an error (`true`) or left out.
    pub strict: bool,
}

/// The experiments `sel` asks for, in spec order for each variant in turn. An experiment that
/// names a variant (`variant = "..."`, an ablation row) sees the spec as that variant makes it,
/// on top of the command line's. Errors name the spec file.
pub fn experiments(loaded: &Loaded, sel: &Selection) -> Result<Vec<Experiment>, String> {
    let file = loaded.files.first().map(|f| f.path.display().to_string()).unwrap_or_default();
    let mut out = Vec::new();
    for variant in &sel.variants {
        if let Some(v) = variant {
            if !loaded.has_variant(v) {
                return Err(format!("`{file}` has no variant `{v}`"));
            }
        }
        let spec = match variant {
            Some(v) => sections::apply_variant(&loaded.spec, v),
            None => loaded.spec.clone(),
        };
        let all = sections::experiments(&spec);
        if all.is_empty() {
            return Err(format!("`{file}` declares no `experiment`: there is nothing to reproduce"));
        }
        for (name, sec) in all {
            if !sel.only.is_empty() && !sel.only.contains(&name) {
                continue;
            }
            let named = Section::new(&sec).get("variant").and_then(|v| v.str().map(String::from));
            let sec = match named {
                Some(v) => {
                    if !loaded.has_variant(&v) {
                        return Err(format!(
                            "experiment `{name}` of `{file}` names variant `{v}`, which the spec lacks"
                        ));
                    }
                    let over = sections::apply_variant(&spec, &v);
                    sections::experiments(&over).into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).unwrap_or(sec)
                }
                None => sec,
            };
            if let Some(only_at) = Section::new(&sec).get("scales").map(|v| v.strings()) {
                if !only_at.iter().any(|s| s == sel.scale) {
                    if sel.only.contains(&name) {
                        return Err(format!(
                            "experiment `{name}` of `{file}` runs only at scales {} (`scales`), not `{}`",
                            only_at.join(", "),
                            sel.scale
                        ));
                    }
                    continue;
                }
            }
            let scales = sections::scales(&sec);
            let scaled = if scales.is_empty() {
                sec
            } else {
                match sections::apply_scale(&sec, sel.scale) {
                    Some(s) => s,
                    None if !sel.strict => continue,
                    None => {
                        return Err(format!(
                            "experiment `{name}` of `{file}` has no scale `{}` (it has {})",
                            sel.scale,
                            scales.join(", ")
                        ))
                    }
                }
            };
            out.push(Experiment { name, variant: variant.clone(), section: Section::new(&scaled) });
        }
    }
    Ok(out)
}

/// A network of a loaded spec: its name and the names of its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: String,
    pub params: Vec<String>,
}

impl Loaded {
    /// The names of the spec's `variant` sections, in order.
    pub fn variants(&self) -> Vec<String> {
        self.spec
            .sections
            .iter()
            .filter(|s| s.kind.name == "variant")
            .filter_map(|s| s.name.as_ref().map(|n| n.name.clone()))
            .collect()
    }

    pub fn has_variant(&self, name: &str) -> bool {
        self.variants().iter().any(|v| v == name)
    }

    /// The names of the runs the spec declares (`default` for a lone unnamed experiment).
    pub fn experiment_names(&self) -> Vec<String> {
        sections::experiments(&self.spec).into_iter().map(|(n, _)| n).collect()
    }

    /// Every scale some experiment declares, in order of first appearance.
    pub fn scales(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, sec) in sections::experiments(&self.spec) {
            for s in sections::scales(&sec) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// The networks of the spec and its imports.
    pub fn networks(&self) -> Vec<Network> {
        self.spec
            .defs
            .iter()
            .filter(|d| d.kind == ast::DefKind::Network)
            .map(|d| Network {
                name: d.name.name.clone(),
                params: d.params.iter().map(|p| p.name.name.clone()).collect(),
            })
            .collect()
    }

    /// The network runs build when they name none ([`crate::check::default_network`]).
    pub fn default_network(&self) -> Option<String> {
        crate::check::default_network(&self.spec)
    }

    /// The top-level sections (`parity`, `weights`, ...) as `variant` sees them.
    pub fn sections(&self, variant: Option<&str>) -> Vec<Section> {
        let spec = match variant {
            Some(v) => sections::apply_variant(&self.spec, v),
            None => self.spec.clone(),
        };
        spec.sections.iter().map(Section::new).collect()
    }

    /// Experiments that differ as written but train the same run at a scale: a shared `scale`
    /// section (merged last) replaced whatever told them apart (IMA's stage sweep once ran
    /// T = 12 four times this way). One warning per such experiment, at its name, naming the
    /// first experiment it duplicates; checked at `scale` (`None`: every scale), as the spec is
    /// written.
    pub fn experiment_warnings(&self, scale: Option<&str>) -> Vec<Diagnostic> {
        let written: Vec<(String, String)> =
            sections::experiments(&self.spec).into_iter().map(|(n, s)| (n, crate::merge::canonical(&s))).collect();
        let mut out = Vec::new();
        let scales = match scale {
            Some(s) => vec![s.to_string()],
            None => self.scales(),
        };
        for scale in scales {
            let sel = Selection { variants: vec![None], scale: &scale, only: &[], strict: false };
            let Ok(runs) = experiments(self, &sel) else { continue };
            let scaled: Vec<String> = runs.iter().map(|r| crate::merge::canonical(&r.section.source)).collect();
            for (j, run) in runs.iter().enumerate() {
                let as_written = |name: &str| written.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone());
                let first =
                    (0..j).find(|&i| scaled[i] == scaled[j] && as_written(&runs[i].name) != as_written(&run.name));
                if let Some(i) = first {
                    let at = run.section.source.name.as_ref().map(|n| n.span).unwrap_or(run.section.at);
                    out.push(
                        Diagnostic::warning(
                            at,
                            format!(
                                "experiments `{}` and `{}` differ as written but are the same run at scale `{scale}`",
                                runs[i].name, run.name
                            ),
                            format!("the same run as `{}` at scale `{scale}`", runs[i].name),
                        )
                        .with_help(format!(
                            "a setting of the shared `scale {scale}` replaces what tells them apart (scale sections merge \
                             last): set it inside each experiment's own `scale {scale} {{ ... }}`, or remove it from the \
                             shared one"
                        )),
                    );
                }
            }
        }
        out
    }

    /// Checks every section against the schema, with the kernel's names ([`sections::check_with`]).
    pub fn check_sections(&self, vocab: &sections::Vocabulary) -> Vec<Diagnostic> {
        sections::check_with(&self.spec, vocab)
    }

    /// Elaborates a network under variants applied in order ([`crate::check::elaborate_variants`]).
    pub fn elaborate(
        &self,
        network: Option<&str>,
        variants: &[&str],
        overrides: &[(String, Value)],
    ) -> Result<Checked, Vec<Diagnostic>> {
        crate::check::elaborate_variants(&self.spec, network, variants, overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(text: &str) -> Loaded {
        Loaded::from_text("p.mcmr", text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")))
    }

    const SPEC: &str = "variant wide {\n    experiment b {\n        seed = 7\n    }\n}\n\
        experiment {\n    optimizer = adam(lr = 1e-4)\n    loss = l1(output, target) + 0.5 * l1(output, target)\n    \
        scale smoke {\n        iterations = 2\n    }\n}\n\
        experiment a {\n    seed = 1\n}\n\
        experiment b {\n    variant = \"wide\"\n    scale paper {\n        iterations = 9\n    }\n}\n";

    fn select<'a>(variants: Vec<Option<String>>, scale: &'a str, strict: bool) -> Selection<'a> {
        Selection { variants, scale, only: &[], strict }
    }

    #[test]
    fn experiments_merge_scale_and_variant() {
        let l = loaded(SPEC);
        let runs = experiments(&l, &select(vec![None], "smoke", true)).unwrap();
        assert_eq!(runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let a = &runs[0].section;
        assert_eq!((a.get("seed").unwrap().int(), a.get("iterations").unwrap().count()), (Some(1), Some(2)));
        let opt = a.get("optimizer").unwrap().call().unwrap();
        assert_eq!((opt.name.as_str(), opt.arg("lr").unwrap().num()), ("adam", Some(1e-4)));
        // `b` names variant `wide`, which sets its seed.
        assert_eq!(runs[1].section.get("seed").unwrap().int(), Some(7));
        let loss = a.get("loss").unwrap().loss().unwrap();
        assert_eq!(loss.terms.iter().map(|t| t.weight).collect::<Vec<_>>(), [1.0, 0.5]);
    }

    #[test]
    fn scales_are_strict_or_skipped() {
        let l = loaded(SPEC);
        let e = experiments(&l, &select(vec![None], "paper", true)).unwrap_err();
        assert_eq!(e, "experiment `a` of `p.mcmr` has no scale `paper` (it has smoke)");
        let lenient = experiments(&l, &select(vec![None], "paper", false)).unwrap();
        assert_eq!(lenient.len(), 1);
        assert_eq!(lenient[0].section.get("iterations").unwrap().count(), Some(9));
        assert_eq!(l.scales(), ["smoke", "paper"]);
        assert_eq!(l.variants(), ["wide"]);
        let unknown = experiments(&l, &select(vec![Some("narrow".into())], "smoke", true)).unwrap_err();
        assert_eq!(unknown, "`p.mcmr` has no variant `narrow`");
    }

    #[test]
    fn merged_sections_replace_settings_by_key() {
        let l = loaded("experiment {\n    mask {\n        acceleration = 4\n        family = \"random\"\n    }\n    mask test {\n        acceleration = 8\n    }\n}\n");
        let e = &experiments(&l, &select(vec![None], "smoke", true)).unwrap()[0].section;
        let m = e.section("mask", None).unwrap().merged(e.section("mask", Some("test")).unwrap());
        assert_eq!((m.get("acceleration").unwrap().num(), m.get("family").unwrap().str()), (Some(8.0), Some("random")));
        let neg = loaded("experiment {\n    x = -3\n    y = [1, \"a\"]\n}\n");
        let s = &experiments(&neg, &select(vec![None], "smoke", true)).unwrap()[0].section;
        assert_eq!(s.get("x").unwrap().int(), Some(-3));
        assert_eq!(s.get("y").unwrap().literal(), Some(Value::List(vec![Value::Int(1), Value::Str("a".into())])));
        assert_eq!(s.get("y").unwrap().strings(), ["a"]);
    }
}

#[cfg(test)]
mod collapsed_runs {
    use super::*;

    // IMA's stage sweep as it first was: the shared `scale reduced` sets `stages`, which every
    // sweep run sets for itself, so at that scale the four runs were one.
    const SWEEP: &str = "experiment {\n    network = \"n\"\n    scale reduced {\n        params n {\n            \
        stages = 12\n        }\n    }\n    scale smoke {\n        epochs = 1\n    }\n}\n\
        experiment t6 {\n    scales = [\"reduced\"]\n    params n {\n        stages = 6\n    }\n}\n\
        experiment t8 {\n    scales = [\"reduced\"]\n    params n {\n        stages = 8\n    }\n}\n\
        experiment x4 {\n    batch_size = 4\n    scale reduced {\n        epochs = 2\n    }\n}\n";

    fn warnings(text: &str) -> Vec<Diagnostic> {
        Loaded::from_text("p.mcmr", text).unwrap().experiment_warnings(None)
    }

    #[test]
    fn a_shared_scale_that_erases_a_sweep_is_a_warning_at_the_second_run() {
        let w = warnings(SWEEP);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].message, "experiments `t6` and `t8` differ as written but are the same run at scale `reduced`");
        assert_eq!(&SWEEP[w[0].span.start..w[0].span.end], "t8");
        assert!(w[0].help.as_deref().unwrap().contains("own `scale reduced"));
        // Asked about one scale: only that scale's.
        let l = Loaded::from_text("p.mcmr", SWEEP).unwrap();
        assert_eq!(l.experiment_warnings(Some("reduced")), w);
        assert_eq!(l.experiment_warnings(Some("smoke")), vec![]);
    }

    #[test]
    fn runs_kept_apart_by_their_own_scale_are_not() {
        // The sweep's value set again inside each run's own `scale reduced`: two runs.
        let fixed = SWEEP
            .replace("stages = 6\n    }\n", "stages = 6\n    }\n    scale reduced {\n        params n {\n            stages = 6\n        }\n    }\n")
            .replace("stages = 8\n    }\n", "stages = 8\n    }\n    scale reduced {\n        params n {\n            stages = 8\n        }\n    }\n");
        assert_eq!(warnings(&fixed), vec![]);
        // Without the shared setting the sweep stays a sweep, and runs the scale replaces in
        // the same way but that differ in other settings are left alone.
        assert_eq!(warnings(&SWEEP.replace("stages = 12", "blocks = 2")), vec![]);
    }
}
