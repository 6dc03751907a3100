//! The sections of a spec (`variant`, `parity`, `freeze`, `weights`, `experiment` and what they
//! nest), checked against one schema: unknown kinds and keys (with suggestions), keys given twice,
//! value types and ranges, enumerated names, and the functions and arguments of calls such as
//! `optimizer = adam(lr = 1e-4)`. Consumers (parity, the experiment engine) interpret sections that
//! passed this check, so their mistakes carry file, line and column.
//!
//! Names that the kernel owns (mask families, metric protocols, normalisations, layouts) are
//! not listed here: the kernel passes them in a [`Vocabulary`] ([`check_with`]).

use crate::ast::{Entry, Expr, ExprKind, Section, Spec};
use crate::diag::{suggest, Diagnostic};
use std::collections::HashMap;

pub use crate::merge::apply_variant;
pub(crate) use crate::merge::{apply_scale, experiments, merge, scales};

/// Names the kernel owns, given to the checker by the kernel (`mcmr::spec::vocabulary`). An
/// empty list leaves that kind of name unchecked (what [`check`] does, for the language alone).
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    pub mask_families: Vec<String>,
    pub protocols: Vec<String>,
    pub normalisations: Vec<String>,
    pub layouts: Vec<String>,
    pub intensities: Vec<String>,
    pub resizes: Vec<String>,
    pub roundings: Vec<String>,
}

/// Which list of a [`Vocabulary`] a setting's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    MaskFamily,
    Protocol,
    Normalisation,
    Layout,
    Intensity,
    Resize,
    Rounding,
}

impl Vocabulary {
    fn names(&self, n: Names) -> &[String] {
        match n {
            Names::MaskFamily => &self.mask_families,
            Names::Protocol => &self.protocols,
            Names::Normalisation => &self.normalisations,
            Names::Layout => &self.layouts,
            Names::Intensity => &self.intensities,
            Names::Resize => &self.resizes,
            Names::Rounding => &self.roundings,
        }
    }
}

/// Functions a loss expression may call (`crate::loss`: the terms, then the transforms).
pub const LOSS_FUNCTIONS: &[&str] = &[
    "l1",
    "l2",
    "mse",
    "ssim",
    "fft2",
    "ifft2",
    "rfft2",
    "avg_pool2d",
    "magnitude",
    "phase",
    "real",
    "imag",
    "view_as_real",
];

/// What a setting's value must be.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// Any number.
    Number,
    /// A number > 0.
    Positive,
    /// A number ≥ 0.
    NonNegative,
    /// A number in [0, 1].
    Fraction,
    /// A number at least this large (an acceleration is ≥ 1).
    AtLeast(f64),
    /// A number in this closed range.
    Range(f64, f64),
    /// An integer ≥ 1.
    Count,
    /// An integer ≥ 0.
    Natural,
    Bool,
    Str,
    OneOf(&'static [&'static str]),
    /// A name of the kernel's vocabulary.
    Named(Names),
    /// A count, or `[height, width]`.
    Size,
    /// A list of integers ≥ 0 (e.g. milestones).
    Naturals,
    /// A list of strings (e.g. parameter patterns, table cells).
    Strings,
    /// A list of `["pattern", "replacement"]` pairs.
    Pairs,
    /// `"all"`, the number of central slices, or `[start, end]`.
    Slices,
    /// Ratios such as `[7, 1, 2]`, or a split file's path.
    Split,
    /// A loss expression: weighted sums of calls of these functions on named tensors.
    Loss(&'static [&'static str]),
    /// A call of one of these functions with named arguments.
    Call(&'static [Func]),
}

/// A function usable in a `Val::Call` setting and its named arguments.
#[derive(Debug)]
pub struct Func {
    pub name: &'static str,
    pub args: &'static [(&'static str, Val)],
}

/// Whether a section kind takes a name (`variant small`, `scale smoke`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Naming {
    None,
    Optional,
    Required,
}

/// One section kind: its settings and the sections it may nest.
#[derive(Debug)]
pub struct Schema {
    pub kind: &'static str,
    pub naming: Naming,
    /// Its settings, in groups (kinds share groups such as the training settings).
    pub settings: &'static [&'static [(&'static str, Val)]],
    pub children: &'static [&'static Schema],
    /// Settings are not checked here (variants: their keys are network parameters, checked by
    /// elaboration).
    pub open: bool,
    /// May appear several times unnamed (the patterns of a mask mixture).
    pub repeatable: bool,
}

const ADAM_ARGS: &[(&str, Val)] = &[
    ("lr", Val::Positive),
    ("beta1", Val::Fraction),
    ("beta2", Val::Fraction),
    ("eps", Val::Positive),
    ("weight_decay", Val::Number),
];
const RMSPROP_ARGS: &[(&str, Val)] =
    &[("lr", Val::Positive), ("alpha", Val::Fraction), ("eps", Val::Positive), ("weight_decay", Val::Number)];

const OPTIMIZERS: &[Func] = &[
    Func { name: "adam", args: ADAM_ARGS },
    Func { name: "adamw", args: ADAM_ARGS },
    Func { name: "rmsprop", args: RMSPROP_ARGS },
    Func {
        name: "sgd",
        args: &[
            ("lr", Val::Positive),
            ("momentum", Val::Number),
            ("weight_decay", Val::Number),
            ("nesterov", Val::Bool),
        ],
    },
];

const SCHEDULES: &[Func] = &[
    Func { name: "constant", args: &[] },
    Func { name: "step", args: &[("step_size", Val::Count), ("gamma", Val::Positive)] },
    Func { name: "multistep", args: &[("milestones", Val::Naturals), ("gamma", Val::Positive)] },
    Func { name: "cosine", args: &[("t_max", Val::Count), ("eta_min", Val::Number)] },
];

/// Training settings shared by experiments, their stages and their scales.
const TRAINING: &[(&str, Val)] = &[
    ("loss", Val::Loss(LOSS_FUNCTIONS)),
    ("optimizer", Val::Call(OPTIMIZERS)),
    ("schedule", Val::Call(SCHEDULES)),
    ("schedule_unit", Val::OneOf(&["iteration", "epoch"])),
    // Across `stage`s: a stage's optimiser starts fresh or continues the previous stage's
    // (moments and per-parameter step counts), and its schedule counts from the stage's start or
    // from the run's (the stages then share one schedule: IGKR-Net's cosine over all epochs).
    ("optimizer_state", Val::OneOf(&["fresh", "continue"])),
    ("schedule_span", Val::OneOf(&["stage", "run"])),
    // 0 turns clipping off (how a variant drops the clipping of the spec it overrides).
    ("clip_grad_norm", Val::NonNegative),
    ("batch_size", Val::Count),
    ("iterations", Val::Natural),
    ("epochs", Val::Count),
    ("validate_every", Val::Count),
];

/// `augment { rotation = 15 flip = true }` in `data`: the same random rotation (up to ± that many
/// degrees) and horizontal flip of target and reference, seeded, for training items only.
const AUGMENT: Schema = Schema {
    kind: "augment",
    naming: Naming::None,
    settings: &[&[("rotation", Val::Range(0.0, 180.0)), ("flip", Val::Bool)]],
    children: &[],
    open: false,
    repeatable: false,
};

const DATA: Schema = Schema {
    kind: "data",
    naming: Naming::None,
    settings: &[&[
        ("source", Val::OneOf(&["phantom", "folder", "fastmri", "kspace", "cc359"])),
        ("anatomy", Val::OneOf(&["brain", "knee"])),
        ("path", Val::Str),
        ("pairs", Val::Str),
        ("layout", Val::Named(Names::Layout)),
        ("target", Val::Str),
        ("reference", Val::Str),
        ("subjects", Val::Count),
        ("slices", Val::Slices),
        // Fixed slice indices of every volume (IMA's IXI slices), instead of `slices`; volumes
        // with fewer than `min_slices` slices are left out.
        ("slice_indices", Val::Naturals),
        ("min_slices", Val::Count),
        ("size", Val::Size),
        ("normalisation", Val::Named(Names::Normalisation)),
        // Which statistics normalise the reference: its own, or its zero-filled image's.
        ("reference_statistics", Val::OneOf(&["own", "zero_filled"])),
        ("intensity", Val::Named(Names::Intensity)),
        ("resize", Val::Named(Names::Resize)),
        // The images a network reads, its loss and the metrics see, bilinearly interpolated to
        // this size after masking (UniFS's MTrans wrapper: 224); k-space fields are refused.
        ("interpolate_to", Val::Count),
        // Each slice rotated counter-clockwise by this many degrees, as numpy's rot90 (UniFS's
        // HCP preprocessing: 90), before resizing.
        ("rotate", Val::Natural),
        ("split", Val::Split),
        ("seed", Val::Natural),
        ("lesion", Val::Bool),
        ("noise", Val::Fraction),
        // Complex Gaussian noise on the target's k-space before under-sampling, as a fraction
        // of the slice's mean intensity (MANet's Rician noise: 0.1).
        ("kspace_noise", Val::Fraction),
        // The k-space fields' layout and scale: "fft2c" (fastMRI, orthonormal) or
        // "fftshift_fft2" (numpy's fftshift(fft2(x)), unnormalised: MANet) or
        // "fft2c_unnormalised" (centred, unnormalised: DuDoRNet).
        ("kspace_convention", Val::OneOf(&["fft2c", "fftshift_fft2", "fft2c_unnormalised"])),
        // fastMRI pairs: the measured raw k-space ("raw"), or k-space simulated from the
        // reconstruction_esc images like a NIfTI folder's ("simulated": IMA's pipeline).
        ("fastmri_kspace", Val::OneOf(&["raw", "simulated"])),
    ]],
    children: &[&AUGMENT],
    open: false,
    repeatable: false,
};

const MASK_SETTINGS: &[(&str, Val)] = &[
    ("family", Val::Named(Names::MaskFamily)),
    ("acceleration", Val::AtLeast(1.0)),
    ("center_fraction", Val::Fraction),
    ("seed", Val::Natural),
    ("rounding", Val::Named(Names::Rounding)),
];

const PATTERN: Schema = Schema {
    kind: "pattern",
    naming: Naming::None,
    settings: &[MASK_SETTINGS],
    children: &[],
    open: false,
    repeatable: true,
};

/// `evaluate { pattern { ... } }`: a further test pattern; `pool = "NAME"` also pools it with
/// the other patterns of that name into one group (UniFS Table II: three patterns at 6x).
const EVAL_PATTERN: Schema = Schema {
    kind: "pattern",
    naming: Naming::None,
    settings: &[MASK_SETTINGS, &[("pool", Val::Str)]],
    children: &[],
    open: false,
    repeatable: true,
};

/// `mask { ... }` (every part), `mask train { ... }`, `mask test { ... }`; a mixture lists
/// `pattern { ... }` sections drawn per call.
const MASK: Schema = Schema {
    kind: "mask",
    naming: Naming::Optional,
    settings: &[MASK_SETTINGS, &[("policy", Val::OneOf(&["fixed", "per_slice", "per_volume", "online"]))]],
    children: &[&PATTERN],
    open: false,
    repeatable: false,
};

const EVALUATE: Schema = Schema {
    kind: "evaluate",
    naming: Naming::None,
    settings: &[&[
        ("protocol", Val::Named(Names::Protocol)),
        ("part", Val::OneOf(&["val", "test"])),
        ("group", Val::OneOf(&["none", "pattern"])),
    ]],
    // `pattern { ... }`: further test patterns, each scored on its own after the run's test and
    // not pooled into its metrics (UniFS Table II: an unseen pattern, an unseen acceleration);
    // those with the same `pool` name are also scored together as one group.
    children: &[&EVAL_PATTERN],
    open: false,
    repeatable: false,
};

/// One training stage (IGKR trains in four): its own loss, optimiser and trainable parameters.
const STAGE: Schema = Schema {
    kind: "stage",
    naming: Naming::Required,
    settings: &[TRAINING, &[("train", Val::Strings)]],
    children: &[],
    open: false,
    repeatable: false,
};

/// `tolerance { psnr = 0.5 }` in an experiment: how far a reproduced value may be from the
/// published cell it `reproduces` (absolute, in the metric's unit).
const TABLE_TOLERANCE: Schema = Schema {
    kind: "tolerance",
    naming: Naming::None,
    settings: &[&[("psnr", Val::Positive), ("ssim", Val::Positive), ("nmse", Val::Positive), ("nrmse", Val::Positive)]],
    children: &[],
    open: false,
    repeatable: false,
};

/// `params { in_chans = 2 }` in an experiment: network parameter overrides for that experiment
/// (checked by elaboration, which knows the network's parameters); `params NETWORK { ... }`
/// applies only to runs of that network.
const PARAMS: Schema =
    Schema { kind: "params", naming: Naming::Optional, settings: &[], children: &[], open: true, repeatable: false };

/// `scale smoke { ... }`, `scale paper { ... }`: overrides of the experiment at that scale.
const SCALE: Schema = Schema {
    kind: "scale",
    naming: Naming::Required,
    settings: &[TRAINING],
    children: &[&DATA, &MASK, &EVALUATE, &STAGE, &TABLE_TOLERANCE, &PARAMS],
    open: false,
    repeatable: false,
};

/// An experiment. Unnamed, it is the whole run (or, beside named ones, what they share); named
/// (`experiment x4 { ... }`), it is one run whose settings override the unnamed one's (see
/// [`experiments`]).
const EXPERIMENT: Schema = Schema {
    kind: "experiment",
    naming: Naming::Optional,
    settings: &[
        TRAINING,
        &[
            ("seed", Val::Natural),
            ("network", Val::Str),
            // The variant of the spec this run's network is built under (an ablation row).
            ("variant", Val::Str),
            ("reproduces", Val::Strings),
            // The scales this run belongs to (default: every scale of the spec); a run too costly
            // for smoke scale (UniFS's 8x rows) says `scales = ["reduced", "paper"]`.
            ("scales", Val::Strings),
            ("inputs", Val::Strings),
            ("prediction", Val::Str),
        ],
    ],
    children: &[&DATA, &MASK, &EVALUATE, &STAGE, &SCALE, &TABLE_TOLERANCE, &PARAMS],
    open: false,
    repeatable: false,
};

const TOLERANCE: Schema = Schema {
    kind: "tolerance",
    naming: Naming::None,
    settings: &[&[
        ("forward_rel", Val::Positive),
        ("grad_rel", Val::Positive),
        ("grad_global_rel_l2", Val::Positive),
        ("step_abs", Val::Positive),
        ("step_fraction", Val::Fraction),
        ("step_max_abs", Val::Positive),
    ]],
    children: &[],
    open: false,
    repeatable: false,
};

const PARITY: Schema = Schema {
    kind: "parity",
    // `parity NAME { ... }`: another training step of the same fixture (UniFS has two).
    naming: Naming::Optional,
    settings: &[&[
        ("loss", Val::Loss(LOSS_FUNCTIONS)),
        ("optimizer", Val::Call(OPTIMIZERS)),
        ("clip_grad_norm", Val::Positive),
        // The fixture files of this step (defaults: grads.safetensors, weights_after_step.safetensors).
        ("grads", Val::Str),
        ("weights_after", Val::Str),
        // "official": the step's tolerances judge the update rule applied to the fixture's own
        // gradients (our end-to-end step is reported beside it); "ours" (default): our step.
        ("step_grads", Val::OneOf(&["ours", "official"])),
        // How the fixture stores tensors: outputs under a prefix (`"net."`: DuDoRNet's
        // `net.r1_img_pred`), and the keys stored `[B, H, W, C]` (read as `[B, C, H, W]`).
        ("output_prefix", Val::Str),
        ("channels_last", Val::Strings),
    ]],
    children: &[&TOLERANCE],
    open: false,
    repeatable: false,
};

const FREEZE: Schema = Schema {
    kind: "freeze",
    // `freeze NETWORK { ... }`: only for runs of that network.
    naming: Naming::Optional,
    settings: &[&[("params", Val::Strings)]],
    children: &[],
    open: false,
    repeatable: false,
};

const WEIGHTS: Schema = Schema {
    kind: "weights",
    naming: Naming::None,
    settings: &[&[("map", Val::Pairs), ("ignore", Val::Strings)]],
    children: &[],
    open: false,
    repeatable: false,
};

/// `blocks { old = "new" }` in a variant: every call of block `old` calls `new` instead (checked
/// by elaboration, which knows the blocks).
const BLOCKS: Schema =
    Schema { kind: "blocks", naming: Naming::None, settings: &[], children: &[], open: true, repeatable: false };

/// `variant NAME { param = value ... }`: network parameters (checked by elaboration), block
/// replacements, and sections that override the spec's own (see [`apply_variant`]).
const VARIANT: Schema = Schema {
    kind: "variant",
    naming: Naming::Required,
    settings: &[],
    children: &[&BLOCKS, &EXPERIMENT, &PARITY, &FREEZE, &WEIGHTS],
    open: true,
    repeatable: false,
};

/// The sections a spec may hold at its top level.
pub const TOP_LEVEL: &[&Schema] = &[&VARIANT, &PARITY, &FREEZE, &WEIGHTS, &EXPERIMENT];

/// Checks every section of `spec` against the language alone (the kernel's names unchecked);
/// diagnostics refer to the main file.
pub fn check(spec: &Spec) -> Vec<Diagnostic> {
    check_with(spec, &Vocabulary::default())
}

/// Checks every section of `spec`, names the kernel owns against `vocab`.
pub fn check_with(spec: &Spec, vocab: &Vocabulary) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_sections(spec.sections.iter(), TOP_LEVEL, "at the top level", vocab, &mut out);
    out
}

fn with_suggestion<'a>(d: Diagnostic, name: &str, known: impl Iterator<Item = &'a str> + Clone) -> Diagnostic {
    match suggest(name, known.clone()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => {
            let all: Vec<&str> = known.collect();
            d.with_help(if all.is_empty() {
                "nothing is expected here".to_string()
            } else {
                format!("expected one of: {}", all.join(", "))
            })
        }
    }
}

fn check_sections<'a>(
    sections: impl Iterator<Item = &'a Section>,
    allowed: &[&Schema],
    place: &str,
    vocab: &Vocabulary,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<(&str, Option<&str>), ()> = HashMap::new();
    for s in sections {
        let Some(schema) = allowed.iter().find(|k| k.kind == s.kind.name) else {
            let d =
                Diagnostic::error(s.kind.span, format!("unknown section `{}` {place}", s.kind.name), "unknown section");
            out.push(with_suggestion(d, &s.kind.name, allowed.iter().map(|k| k.kind)));
            continue;
        };
        match (schema.naming, &s.name) {
            (Naming::None, Some(n)) => out.push(Diagnostic::error(
                n.span,
                format!("`{}` sections take no name", schema.kind),
                "unexpected name",
            )),
            (Naming::Required, None) => out.push(
                Diagnostic::error(s.kind.span, format!("a `{}` section needs a name", schema.kind), "unnamed")
                    .with_help(format!("write `{} NAME {{ ... }}`", schema.kind)),
            ),
            _ => {}
        }
        if seen.insert((schema.kind, s.name.as_ref().map(|n| n.name.as_str())), ()).is_some() && !schema.repeatable {
            let what = match &s.name {
                Some(n) => format!("`{} {}`", schema.kind, n.name),
                None => format!("`{}`", schema.kind),
            };
            out.push(Diagnostic::error(s.kind.span, format!("a second {what} section {place}"), "given twice"));
        }
        check_body(s, schema, vocab, out);
    }
}

fn check_body(s: &Section, schema: &Schema, vocab: &Vocabulary, out: &mut Vec<Diagnostic>) {
    let mut keys: HashMap<&str, ()> = HashMap::new();
    let mut children = Vec::new();
    for e in &s.entries {
        match e {
            Entry::Section(c) => children.push(c),
            Entry::Setting { .. } if schema.open => {}
            Entry::Setting { key, key_span, value } => {
                if keys.insert(key.as_str(), ()).is_some() {
                    out.push(Diagnostic::error(
                        *key_span,
                        format!("`{key}` is set twice in `{}`", schema.kind),
                        "given twice",
                    ));
                    continue;
                }
                match schema.settings.iter().flat_map(|g| g.iter()).find(|(k, _)| k == key) {
                    Some((_, val)) => check_value(value, *val, &format!("{}.{key}", schema.kind), vocab, out),
                    None => {
                        let d = Diagnostic::error(
                            *key_span,
                            format!("`{}` has no setting `{key}`", schema.kind),
                            "unknown setting",
                        );
                        out.push(with_suggestion(
                            d,
                            key,
                            schema.settings.iter().flat_map(|g| g.iter()).map(|(k, _)| *k),
                        ));
                    }
                }
            }
        }
    }
    check_sections(children.into_iter(), schema.children, &format!("in `{}`", schema.kind), vocab, out);
}

fn number(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Int(i) => Some(*i as f64),
        ExprKind::Float(f) => Some(*f),
        ExprKind::Neg(x) => number(x).map(|v| -v),
        _ => None,
    }
}

fn integer(e: &Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Int(i) => Some(*i),
        ExprKind::Neg(x) => integer(x).map(|v| -v),
        _ => None,
    }
}

/// What `val` expects, for messages.
fn expected(val: Val) -> String {
    match val {
        Val::Number => "a number".into(),
        Val::Positive => "a number > 0".into(),
        Val::NonNegative => "a number ≥ 0".into(),
        Val::Fraction => "a number between 0 and 1".into(),
        Val::AtLeast(min) => format!("a number ≥ {min}"),
        Val::Range(a, b) => format!("a number from {a} to {b}"),
        Val::Count => "an integer ≥ 1".into(),
        Val::Natural => "an integer ≥ 0".into(),
        Val::Bool => "`true` or `false`".into(),
        Val::Str => "a string".into(),
        Val::OneOf(names) => {
            format!("one of {}", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))
        }
        Val::Named(kind) => match kind {
            Names::MaskFamily => "a mask family".into(),
            Names::Protocol => "a metric protocol".into(),
            Names::Normalisation => "a normalisation".into(),
            Names::Layout => "a folder layout".into(),
            Names::Intensity => "an intensity mapping".into(),
            Names::Resize => "a resizing".into(),
            Names::Rounding => "a rounding".into(),
        },
        Val::Size => "a size: an integer ≥ 1 or [height, width]".into(),
        Val::Naturals => "a list of integers ≥ 0".into(),
        Val::Strings => "a list of strings".into(),
        Val::Pairs => "a list of [\"pattern\", \"replacement\"] pairs".into(),
        Val::Slices => "\"all\", a number of central slices, or [start, end]".into(),
        Val::Split => "ratios such as [7, 1, 2] or the path of a split file".into(),
        Val::Loss(_) => "a loss expression such as `l1(output, target) + 0.1 * mse(output, target)`".into(),
        Val::Call(funcs) => {
            format!("a call of {}", funcs.iter().map(|f| format!("`{}(...)`", f.name)).collect::<Vec<_>>().join(", "))
        }
    }
}

fn check_value(e: &Expr, val: Val, what: &str, vocab: &Vocabulary, out: &mut Vec<Diagnostic>) {
    let list = |e: &Expr| match &e.kind {
        ExprKind::List(items) => Some(items.clone()),
        _ => None,
    };
    let ok = match val {
        Val::Number => number(e).is_some(),
        Val::Positive => number(e).is_some_and(|v| v > 0.0),
        Val::NonNegative => number(e).is_some_and(|v| v >= 0.0),
        Val::Fraction => number(e).is_some_and(|v| (0.0..=1.0).contains(&v)),
        Val::AtLeast(min) => number(e).is_some_and(|v| v >= min && v.is_finite()),
        Val::Range(a, b) => number(e).is_some_and(|v| (a..=b).contains(&v)),
        Val::Count => integer(e).is_some_and(|v| v >= 1),
        Val::Natural => integer(e).is_some_and(|v| v >= 0),
        Val::Bool => matches!(e.kind, ExprKind::Bool(_)),
        Val::Str => matches!(e.kind, ExprKind::Str(_)),
        Val::Named(kind) => {
            if let ExprKind::Str(s) = &e.kind {
                let names = vocab.names(kind);
                if !names.is_empty() && !names.contains(s) {
                    let d = Diagnostic::error(e.span, format!("`{what}` has no value \"{s}\""), "unknown value");
                    out.push(with_suggestion(d, s, names.iter().map(String::as_str)));
                }
                return;
            }
            false
        }
        Val::OneOf(names) => {
            if let ExprKind::Str(s) = &e.kind {
                if !names.contains(&s.as_str()) {
                    let d = Diagnostic::error(e.span, format!("`{what}` has no value \"{s}\""), "unknown value");
                    out.push(with_suggestion(d, s, names.iter().copied()));
                }
                return;
            }
            false
        }
        Val::Size => {
            integer(e).is_some_and(|v| v >= 1)
                || list(e).is_some_and(|l| l.len() == 2 && l.iter().all(|x| integer(x).is_some_and(|v| v >= 1)))
        }
        Val::Naturals => list(e).is_some_and(|l| l.iter().all(|x| integer(x).is_some_and(|v| v >= 0))),
        Val::Strings => list(e).is_some_and(|l| l.iter().all(|x| matches!(x.kind, ExprKind::Str(_)))),
        Val::Pairs => list(e).is_some_and(|l| {
            l.iter()
                .all(|x| list(x).is_some_and(|p| p.len() == 2 && p.iter().all(|y| matches!(y.kind, ExprKind::Str(_)))))
        }),
        Val::Slices => {
            matches!(&e.kind, ExprKind::Str(s) if s == "all")
                || integer(e).is_some_and(|v| v >= 1)
                || list(e).is_some_and(|l| {
                    l.len() == 2 && matches!((integer(&l[0]), integer(&l[1])), (Some(a), Some(b)) if a >= 0 && b > a)
                })
        }
        Val::Split => {
            matches!(e.kind, ExprKind::Str(_))
                || list(e).is_some_and(|l| {
                    (2..=3).contains(&l.len()) && l.iter().all(|x| number(x).is_some_and(|v| v >= 0.0))
                })
        }
        Val::Loss(functions) => {
            check_loss(e, functions, what, out);
            return;
        }
        Val::Call(funcs) => {
            check_call(e, funcs, what, vocab, out);
            return;
        }
    };
    if !ok {
        out.push(Diagnostic::error(e.span, format!("`{what}` expects {}", expected(val)), "wrong value"));
    }
}

fn check_loss(e: &Expr, functions: &[&str], what: &str, out: &mut Vec<Diagnostic>) {
    match &e.kind {
        ExprKind::Call { name, args, .. } => {
            if !functions.contains(&name.name.as_str()) {
                let d = Diagnostic::error(
                    name.span,
                    format!("`{what}` cannot call `{}`", name.name),
                    "not a loss function",
                );
                out.push(with_suggestion(d, &name.name, functions.iter().copied()));
            }
            for a in args {
                check_loss(&a.value, functions, what, out);
            }
        }
        ExprKind::Binary(_, a, b) => {
            check_loss(a, functions, what, out);
            check_loss(b, functions, what, out);
        }
        ExprKind::Neg(a) => check_loss(a, functions, what, out),
        _ => {}
    }
}

fn check_call(e: &Expr, funcs: &'static [Func], what: &str, vocab: &Vocabulary, out: &mut Vec<Diagnostic>) {
    let ExprKind::Call { name, args, .. } = &e.kind else {
        out.push(Diagnostic::error(e.span, format!("`{what}` expects {}", expected(Val::Call(funcs))), "not a call"));
        return;
    };
    let Some(f) = funcs.iter().find(|f| f.name == name.name) else {
        let d = Diagnostic::error(name.span, format!("`{what}` has no function `{}`", name.name), "unknown function");
        out.push(with_suggestion(d, &name.name, funcs.iter().map(|f| f.name)));
        return;
    };
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for a in args {
        let Some(arg) = &a.name else {
            out.push(
                Diagnostic::error(a.value.span, format!("`{}` takes named arguments", f.name), "unnamed")
                    .with_help(format!("write `{}({} = ...)`", f.name, f.args.first().map(|a| a.0).unwrap_or("name"))),
            );
            continue;
        };
        if seen.insert(arg.name.as_str(), ()).is_some() {
            out.push(Diagnostic::error(arg.span, format!("`{}` is given twice", arg.name), "given twice"));
            continue;
        }
        match f.args.iter().find(|(k, _)| *k == arg.name) {
            Some((k, v)) => check_value(&a.value, *v, &format!("{}({k})", f.name), vocab, out),
            None => {
                let d = Diagnostic::error(
                    arg.span,
                    format!("`{}` has no argument `{}`", f.name, arg.name),
                    "unknown argument",
                );
                out.push(with_suggestion(d, &arg.name, f.args.iter().map(|(k, _)| *k)));
            }
        }
    }
}
