//! The primitive blocks, one file per family, each holding everything the checker knows of its
//! primitives: the signature (argument names, types, defaults, in positional order), whether
//! they take complex tensors, how a bound call becomes a sized [`Op`], and the op's output
//! channels, spatial size, complexity and parameters. The kernel's forward passes follow the
//! same families (`kernel/src/model/<family>.rs`).
//!
//! | family | primitives |
//! |---|---|
//! | [`conv`] | `conv2d`, `conv3d`, `conv_transpose2d`, `linear`, `pad`, `pad_to_match` |
//! | [`norm`] | `instance_norm`, `batch_norm`, `layer_norm`, `channel_std` |
//! | [`pointwise`] | activations, `abs`, `scale`, `learnable_scale`, `nan_to_num`, `softmax`, dropout (and `+ - *`) |
//! | [`shape`] | pooling, `concat`, `chunk`, pixel (un)shuffles, `upsample`, channel reductions, `coord_encoding` |
//! | [`attention`] | `token_attention`, `masked_token_attention`, `channel_attention`, `cross_channel_attention`, `layer_attention`, `projected_attention` |
//! | [`spectral`] | FFTs, `magnitude`, `phase`, `real`, `imag`, `complex`, `polar`, `data_consistency` |

use crate::check::Value;
use crate::ir::{Init, Interp, Norm, Op, PadMode, WeightInit};
use crate::size::{Extent, Size};
use std::collections::BTreeMap;

pub mod attention;
pub mod conv;
pub mod norm;
pub mod points;
pub mod pointwise;
pub mod shape;
pub mod spectral;

/// Argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tensor,
    Int,
    Float,
    Bool,
    Str,
}

impl Kind {
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Kind::Tensor, Value::Tensor { .. })
                | (Kind::Int, Value::Int(_))
                | (Kind::Float, Value::Float(_))
                | (Kind::Bool, Value::Bool(_))
                | (Kind::Str, Value::Str(_))
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Tensor => "a tensor",
            Kind::Int => "an int",
            Kind::Float => "a float",
            Kind::Bool => "a bool",
            Kind::Str => "a string",
        }
    }
}

/// One argument of a primitive.
#[derive(Clone, Debug)]
pub struct P {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Option<Value>,
}

/// A primitive's signature.
#[derive(Clone, Debug)]
pub struct Sig {
    pub params: Vec<P>,
    /// Takes any number (≥ 2) of positional tensors (`concat`).
    pub variadic: bool,
}

/// A call's arguments by name, after binding.
pub type Bound<'a> = BTreeMap<&'static str, Value>;

/// A bound call's op and tensor arguments, or the offending argument and a message.
pub type Built = Result<(Op, Vec<Value>), (&'static str, String)>;

/// One parameter of an op: name relative to its path, shape, initialisation, buffer or not.
pub type ParamOf = (&'static str, Vec<usize>, Init, bool);

/// Arguments whose spatial sizes must agree: those from index `from` on; `broadcast`: extents of
/// 1 broadcast; `what` names them in messages.
pub struct Agreement {
    pub from: usize,
    pub broadcast: bool,
    pub what: &'static str,
}

/// What one family knows of its primitives and ops. Each rule answers `None` for an op of
/// another family; the defaults (an op that none answers for) are: the first argument's
/// channels, spatial size and complexity, no size agreement, no parameters.
pub struct Family {
    pub names: &'static [&'static str],
    /// The arguments of one of `names`, in positional order.
    pub signature: fn(&str) -> Option<Sig>,
    /// `Some(true)`: requires complex tensors; `Some(false)`: real or complex; `None`: real only.
    pub complex_input: fn(&str) -> Option<bool>,
    /// The op of a bound call of one of `names` (the dispatcher asks only the owning family).
    pub build: fn(&str, &Bound) -> Built,
    /// Output channels from the tensor arguments' channels.
    pub channels: fn(&Op, &[usize]) -> Option<usize>,
    /// Output spatial size from the tensor arguments' sizes (PyTorch's formulas).
    pub spatial: fn(&Op, &[Size]) -> Option<Size>,
    pub agreement: fn(&Op) -> Option<Agreement>,
    /// Whether the output is complex, given whether the first argument is.
    pub complex_output: fn(&Op, bool) -> Option<bool>,
    pub params: fn(&Op) -> Option<Vec<ParamOf>>,
}

/// Rules that answer nothing, for a family's `..NONE`.
pub const NONE: Family = Family {
    names: &[],
    signature: |_| None,
    complex_input: |_| None,
    build: |name, _| Err(("x", format!("`{name}` is not a primitive"))),
    channels: |_, _| None,
    spatial: |_, _| None,
    agreement: |_| None,
    complex_output: |_, _| None,
    params: |_| None,
};

const FAMILIES: [&Family; 7] = [
    &conv::FAMILY,
    &norm::FAMILY,
    &pointwise::FAMILY,
    &shape::FAMILY,
    &attention::FAMILY,
    &spectral::FAMILY,
    &points::FAMILY,
];

fn first<T>(f: impl Fn(&Family) -> Option<T>) -> Option<T> {
    FAMILIES.iter().find_map(|fam| f(fam))
}

/// Names of all primitives, family by family.
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().flat_map(|f| f.names.iter().copied())
}

/// The signature of primitive `name`.
pub fn lookup(name: &str) -> Option<Sig> {
    first(|f| if f.names.contains(&name) { (f.signature)(name) } else { None })
}

/// Whether primitive `name` takes complex tensors (see [`Family::complex_input`]).
pub fn complex_input(name: &str) -> Option<bool> {
    FAMILIES.iter().find(|f| f.names.contains(&name)).and_then(|f| (f.complex_input)(name))
}

/// Builds the op of a bound call; returns the op and its tensor arguments, or the offending
/// argument and a message.
pub fn build(name: &str, b: &Bound) -> Built {
    match FAMILIES.iter().find(|f| f.names.contains(&name)) {
        Some(f) => (f.build)(name, b),
        None => Err(("x", format!("`{name}` is not a primitive"))),
    }
}

/// Output channels of `op` applied to tensors with `args` channels.
pub fn channels_of(op: &Op, args: &[usize]) -> usize {
    first(|f| (f.channels)(op, args)).unwrap_or_else(|| args.first().copied().unwrap_or(0))
}

/// Output spatial size of `op` applied to tensors of `sizes`.
pub fn spatial_of(op: &Op, sizes: &[Size]) -> Size {
    first(|f| (f.spatial)(op, sizes))
        .unwrap_or_else(|| sizes.first().cloned().unwrap_or_else(|| [Extent::unknown(), Extent::unknown()]))
}

/// The arguments of `op` whose sizes must agree, if any.
pub fn agreement_of(op: &Op) -> Option<Agreement> {
    first(|f| (f.agreement)(op))
}

/// Whether the output of `op` is complex, given whether its first argument is.
pub fn complex_output_of(op: &Op, input_complex: bool) -> bool {
    first(|f| (f.complex_output)(op, input_complex)).unwrap_or(input_complex)
}

/// The parameters of `op`, relative to its path.
pub fn params_of(op: &Op) -> Vec<ParamOf> {
    first(|f| (f.params)(op)).unwrap_or_default()
}

// Shared helpers of the family files.

fn req(name: &'static str, kind: Kind) -> P {
    P { name, kind, default: None }
}

fn opt(name: &'static str, kind: Kind, default: Value) -> P {
    P { name, kind, default: Some(default) }
}

fn sig(params: Vec<P>) -> Option<Sig> {
    Some(Sig { params, variadic: false })
}

/// The tensor argument `x`.
fn x() -> P {
    req("x", Kind::Tensor)
}

/// Sizes above this are refused (they would not fit in memory anyway).
const MAX_SIZE: i64 = 1 << 20;

fn int(b: &Bound, k: &'static str) -> Result<usize, (&'static str, String)> {
    match b.get(k) {
        Some(Value::Int(i)) if *i > MAX_SIZE => Err((k, format!("`{k}` = {i} is larger than {MAX_SIZE}"))),
        Some(Value::Int(i)) if *i >= 0 => Ok(*i as usize),
        Some(Value::Int(i)) => Err((k, format!("`{k}` must not be negative, got {i}"))),
        _ => Err((k, format!("`{k}` is missing"))),
    }
}

fn pos(b: &Bound, k: &'static str) -> Result<usize, (&'static str, String)> {
    let v = int(b, k)?;
    if v == 0 {
        return Err((k, format!("`{k}` must be positive, got 0")));
    }
    Ok(v)
}

fn float(b: &Bound, k: &'static str) -> f64 {
    match b.get(k) {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        _ => 0.0,
    }
}

/// A dropout probability: in `[0, 1)`.
fn probability(b: &Bound, k: &'static str) -> Result<f64, (&'static str, String)> {
    let p = float(b, k);
    if !(0.0..1.0).contains(&p) {
        return Err((k, format!("dropout probability must lie in [0, 1), got {p}")));
    }
    Ok(p)
}

fn boolean(b: &Bound, k: &'static str) -> bool {
    matches!(b.get(k), Some(Value::Bool(true)))
}

fn pad_mode(b: &Bound, k: &'static str) -> Result<PadMode, (&'static str, String)> {
    match b.get(k) {
        Some(Value::Str(s)) => match s.as_str() {
            "zeros" => Ok(PadMode::Zeros),
            "reflect" => Ok(PadMode::Reflect),
            "replicate" => Ok(PadMode::Replicate),
            other => Err((k, format!("`{k}` must be \"zeros\", \"reflect\" or \"replicate\", got \"{other}\""))),
        },
        _ => Ok(PadMode::Zeros),
    }
}

fn channels(v: &Value) -> usize {
    match v {
        Value::Tensor { channels, .. } => *channels,
        _ => 0,
    }
}

/// The error of a family's `build` asked for a name it does not own (the dispatcher never does).
fn not_ours(name: &str) -> Built {
    Err(("x", format!("`{name}` is not a primitive of this family")))
}

/// The channels of the bound `x` (0 when the primitive has none).
fn cin(b: &Bound) -> usize {
    b.get("x").map(channels).unwrap_or(0)
}

/// An op on the single tensor `x`.
fn one(b: &Bound, op: Op) -> Built {
    Ok((op, vec![b.get("x").cloned().expect("x is required")]))
}

/// The `norm` argument of the FFT family and data consistency.
fn fft_norm(b: &Bound) -> Result<Norm, (&'static str, String)> {
    match b.get("norm") {
        Some(Value::Str(s)) if s == "backward" => Ok(Norm::Backward),
        Some(Value::Str(s)) if s == "ortho" => Ok(Norm::Ortho),
        Some(Value::Str(s)) if s == "forward" => Ok(Norm::Forward),
        other => Err(("norm", format!("`norm` must be \"backward\", \"ortho\" or \"forward\", got {other:?}"))),
    }
}

/// Each spatial extent of the first argument mapped by `f`.
fn each(sizes: &[Size], f: impl Fn(&Extent) -> Extent) -> Size {
    [f(&sizes[0][0]), f(&sizes[0][1])]
}

/// A weight and an optional bias with PyTorch's default initialisation for `fan_in`.
fn weight_and_bias(weight: Vec<usize>, cout: usize, fan_in: usize, bias: bool) -> Vec<ParamOf> {
    let mut v = vec![("weight", weight, Init::KaimingUniform { fan_in }, false)];
    if bias {
        v.push(("bias", vec![cout], Init::BiasUniform { fan_in }, false));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Checked;

    /// The network `n` of `body` (statements after `input x: [4, H, W]`), elaborated.
    fn net(body: &str) -> Checked {
        let text = format!("network n() {{\n    input x: [4, H, W]\n{body}\n}}\n");
        let loaded = crate::Loaded::from_text("t", &text).unwrap_or_else(|d| panic!("{}", d.render(&text, "t")));
        loaded
            .elaborate(None, &[], &[])
            .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| loaded.render(d)).collect::<String>()))
    }

    /// Channels and complexity of every output, by name.
    fn outputs(c: &Checked) -> Vec<(String, usize, bool)> {
        let g = &c.graph;
        let channels =
            |v: usize| if v < g.inputs.len() { g.inputs[v].channels } else { g.nodes[v - g.inputs.len()].channels };
        g.outputs.iter().map(|(n, v)| (n.clone(), channels(*v), g.is_complex(*v))).collect()
    }

    fn shapes(c: &Checked) -> Vec<(String, Vec<usize>, bool)> {
        c.graph.parameters().into_iter().map(|p| (p.path, p.shape, p.buffer)).collect()
    }

    #[test]
    fn conv_family_sets_channels_and_pytorch_parameter_shapes() {
        let c = net("    y = conv2d(x, 8, kernel = 3, groups = 2) as a\n    output z = linear(conv_transpose2d(y, 6, bias = false) as b, 5) as c");
        assert_eq!(outputs(&c), [("z".to_string(), 5, false)]);
        let want = [
            ("a.weight", vec![8, 2, 3, 3]),
            ("a.bias", vec![8]),
            ("b.weight", vec![8, 6, 2, 2]),
            ("c.weight", vec![5, 6]),
            ("c.bias", vec![5]),
        ];
        assert_eq!(shapes(&c), want.map(|(p, s)| (p.to_string(), s, false)));
    }

    #[test]
    fn conv3d_and_layer_attention_channels_and_parameters() {
        // 4 channels as 2 volumes of depth 2, padded by 1: depth' = 2, so 3 · 2 channels.
        let c = net("    output v = conv3d(x, 3, depth = 2, padding = 1) as v\n    output l = layer_attention(x, 2)");
        assert_eq!(outputs(&c), [("v".to_string(), 6, false), ("l".to_string(), 4, false)]);
        let want = [("v.weight", vec![3, 2, 3, 3, 3]), ("v.bias", vec![3])];
        assert_eq!(shapes(&c), want.map(|(p, s)| (p.to_string(), s, false)));
    }

    #[test]
    fn shape_family_channel_rules() {
        let c = net("    output a = concat(x, channel_mean(x))\n    output b = pixel_unshuffle(x, 2)\n    output c = pixel_shuffle(x, 2)\n    output d = chunk(x, 2, 1)\n    output e = coord_encoding(x, frequencies = 2)\n    output f = global_max_pool(x)\n    output g = global_std_pool(x)");
        let got: Vec<usize> = outputs(&c).into_iter().map(|o| o.1).collect();
        assert_eq!(got, [5, 16, 1, 2, 10, 4, 4]);
    }

    #[test]
    fn spectral_family_makes_and_consumes_complex_values() {
        let c = net("    k = fft2(x, shift = true)\n    output k = k\n    output m = magnitude(k)\n    output r = irfft2(rfft2(x), x)");
        assert_eq!(outputs(&c), [("k".to_string(), 4, true), ("m".to_string(), 4, false), ("r".to_string(), 4, false)]);
    }

    #[test]
    fn pointwise_and_norm_families_broadcast_and_declare_buffers() {
        let c = net("    y = channel_max(x) * prelu(x, num = 4) as p\n    output y = batch_norm(y) as bn\n    output s = learnable_scale(instance_norm(x, affine = true) as inn) as ls");
        assert_eq!(outputs(&c).into_iter().map(|o| o.1).collect::<Vec<_>>(), [4, 4]);
        let buffers: Vec<(String, bool)> = shapes(&c).into_iter().map(|(p, _, b)| (p, b)).collect();
        let want = [
            ("p.weight", false),
            ("bn.weight", false),
            ("bn.bias", false),
            ("bn.running_mean", true),
            ("bn.running_var", true),
            ("inn.weight", false),
            ("inn.bias", false),
            ("ls.scale", false),
        ];
        assert_eq!(buffers, want.map(|(p, b)| (p.to_string(), b)));
    }

    #[test]
    fn attention_family_checks_heads_and_keeps_a_temperature_per_head() {
        let c = net("    output y = channel_attention(x, x, x, heads = 2) as att");
        assert_eq!(shapes(&c), [("att.temperature".to_string(), vec![2, 1, 1], false)]);
        let text = "network n() {\n    input x: [4, H, W]\n    output y = token_attention(x, x, x, heads = 3)\n}\n";
        let e = crate::Loaded::from_text("t", text).unwrap().elaborate(None, &[], &[]).unwrap_err();
        assert!(e[0].message.contains("4 channels do not split into 3 heads"), "{}", e[0].message);
    }

    #[test]
    fn spatial_rules_find_the_size_multiple_a_network_needs() {
        // Two stride-2 poolings and two upsamplings, added to the input: sizes agree only for
        // multiples of 4.
        let c = net("    y = upsample(upsample(max_pool2d(avg_pool2d(x))))\n    output z = x + y");
        assert_eq!(c.size_multiple, Some(4));
        assert!(c.warnings[0].message.contains("multiples of 4"), "{}", c.warnings[0].message);
        // Padding to match removes the constraint.
        let c = net("    y = upsample(max_pool2d(x))\n    output z = x + pad_to_match(y, x)");
        assert_eq!(c.size_multiple, None);
    }

    #[test]
    fn point_family_sets_channels_complexity_and_no_parameters() {
        let c = net(concat!(
            "    m = channel_mean(x)\n",
            "    p = gather_points(fft2(x), m)\n",
            "    output back = scatter_points(p, m, fft2(x))\n",
            "    output coords = point_coords(m)\n",
            "    output valid = point_valid(m)\n",
            "    output pe = sinusoidal_pe(grid_coords(x), 16)\n",
            "    output grid = points_to_grid(grid_points(x), x)\n",
            "    output att = masked_token_attention(grid_points(x), real(p), imag(p), point_valid(m), heads = 2)",
        ));
        let want =
            [("back", 4, true), ("coords", 2, false), ("valid", 1, false), ("pe", 16, false), ("grid", 4, false)];
        let got = outputs(&c);
        for (name, ch, complex) in want {
            assert!(got.contains(&(name.to_string(), ch, complex)), "{name}: {got:?}");
        }
        assert!(shapes(&c).is_empty());
    }

    #[test]
    fn every_primitive_belongs_to_one_family_and_has_a_signature() {
        let all: Vec<&str> = names().collect();
        for n in &all {
            assert_eq!(all.iter().filter(|m| *m == n).count(), 1, "`{n}` is listed twice");
            assert!(lookup(n).is_some(), "`{n}` has no signature");
        }
        assert_eq!(all.len(), 77);
        assert!(lookup("conv4d").is_none());
    }
}
