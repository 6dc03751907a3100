//! Counting what a network computes, from the shapes of one forward pass, under a declared
//! protocol (papers print "FLOPs" without saying what they counted; IGKR-Net's research note, A21,
//! asks for both usual readings):
//!
//! - **weights**: multiply-accumulates of convolutions and linear layers, what `thop` and
//!   `ptflops` count and most papers print as "FLOPs";
//! - **attention**: multiply-accumulates of the attention products (`q kᵀ` and `A v` of token
//!   attention, the channel affinities of channel attention), which `fvcore` adds;
//! - **other**: floating-point operations of everything else: FFTs (`5 n log₂ n` per complex 2-D
//!   transform of `n` points, the usual radix-2 figure), normalisations and softmax (5 per
//!   element), interpolation (taps per output element) and elementwise ops (1 per output
//!   element); moves (concatenation, views, gathering points) count nothing.
//!
//! The total in floating-point operations is `2·(weights + attention) + other`.

use mcmr_dsl::ir::{FftKind, Graph, Interp, Op};

/// What one node computes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Multiply-accumulates of convolutions and linear layers.
    pub weight_macs: u64,
    /// Multiply-accumulates of attention products.
    pub attention_macs: u64,
    /// Other floating-point operations.
    pub other_flops: u64,
}

impl Cost {
    /// Floating-point operations in all: two per multiply-accumulate, plus the rest.
    pub fn total_flops(&self) -> u64 {
        2 * (self.weight_macs + self.attention_macs) + self.other_flops
    }

    fn add(&mut self, c: &Cost) {
        self.weight_macs += c.weight_macs;
        self.attention_macs += c.attention_macs;
        self.other_flops += c.other_flops;
    }
}

/// `n log₂ n` (log rounded up) for a transform of `n` points.
fn fft_ops(n: u64) -> u64 {
    n * (64 - (n.max(2) - 1).leading_zeros()) as u64
}

fn numel(d: &[usize; 4]) -> u64 {
    d.iter().map(|&v| v as u64).product()
}

/// The cost of node `op` given its inputs' and output's shapes (`[B, C, H, W]`) and whether its
/// first input is complex (stored as `[re; im]` along channels).
pub fn node_cost(op: &Op, args: &[[usize; 4]], out: &[usize; 4], first_complex: bool) -> Cost {
    let n_out = numel(out);
    let [b, _, ho, wo] = out.map(|v| v as u64);
    let mut c = Cost::default();
    match op {
        Op::Conv2d { cin, cout, kernel, groups, .. } => {
            c.weight_macs = b * *cout as u64 * ho * wo * (*cin / *groups) as u64 * (*kernel * *kernel) as u64;
        }
        Op::Conv3d { cin, kernel, .. } => {
            c.weight_macs = n_out * *cin as u64 * (*kernel as u64).pow(3);
        }
        Op::ProjectedAttention { channels, heads, tokens, proj, .. } => {
            // E k and E v (C·N·P each), qᵀ k' and A v'ᵀ (N·P·d per head each).
            let (ch, n, p) = (*channels as u64, *tokens as u64, *proj as u64);
            c.attention_macs = b * 4 * ch * n * p;
            c.other_flops = 5 * b * *heads as u64 * n * p;
        }
        Op::LayerAttention { groups } => {
            // F Fᵀ and A F, each groups² · (C/groups)·H·W = groups · C·H·W per batch element.
            c.attention_macs = 2 * numel(&args[0]) * *groups as u64;
            c.other_flops = 5 * b * (*groups as u64).pow(2);
        }
        Op::ConvTranspose2d { cin, cout, kernel, .. } => {
            let [_, _, hi, wi] = args[0].map(|v| v as u64);
            c.weight_macs = b * *cin as u64 * hi * wi * *cout as u64 * (*kernel * *kernel) as u64;
        }
        Op::Linear { cin, cout, .. } => c.weight_macs = b * ho * wo * *cin as u64 * *cout as u64,
        Op::TokenAttention { heads } | Op::MaskedTokenAttention { heads, .. } => {
            // q [B, d, Q], k and v [B, d, N]: q kᵀ and A v, each Q·N·d per batch element.
            let [_, d, qh, qw] = args[0].map(|v| v as u64);
            let [_, _, kh, kw] = args[1].map(|v| v as u64);
            let (q, n) = (qh * qw, kh * kw);
            c.attention_macs = 2 * b * q * n * d;
            c.other_flops = 5 * b * *heads as u64 * q * n;
        }
        Op::ChannelAttention { channels, heads, .. } | Op::CrossChannelAttention { channels, heads } => {
            // Per head a (C/h)×(C/h) affinity over H·W and its product with v; the cross form
            // has two affinities.
            let [_, _, h, w] = args[0].map(|v| v as u64);
            let per_head = (*channels / (*heads).max(1)) as u64;
            let products = if matches!(op, Op::CrossChannelAttention { .. }) { 3 } else { 2 };
            c.attention_macs = products * b * *heads as u64 * per_head * per_head * h * w;
            c.other_flops = 5 * b * *heads as u64 * per_head * per_head;
        }
        Op::CrossWindowAttention { channels, heads, window } => {
            // Per head and window two (P×P) affinities over d channels and the product with v.
            let [_, _, h, w] = args[0].map(|v| v as u64);
            let per_head = (*channels / (*heads).max(1)) as u64;
            let p2 = (*window * *window) as u64;
            c.attention_macs = 3 * b * *heads as u64 * per_head * p2 * h * w;
            c.other_flops = 6 * b * *heads as u64 * p2 * h * w;
        }
        Op::Fft { kind, .. } => {
            // A complex 2-D transform of n points: 5 n log₂ n; the real transforms half that.
            let (grid, channels) = match kind {
                FftKind::Rfft2 => (args[0][2] * args[0][3], args[0][1]),
                FftKind::Irfft2 => (out[2] * out[3], out[1]),
                _ if first_complex => (args[0][2] * args[0][3], args[0][1] / 2),
                _ => (args[0][2] * args[0][3], args[0][1]),
            };
            let full = 5 * b * channels as u64 * fft_ops(grid as u64);
            c.other_flops = if matches!(kind, FftKind::Rfft2 | FftKind::Irfft2) { full / 2 } else { full };
        }
        Op::DataConsistency { .. } => {
            let [_, ch, h, w] = args[0];
            let n = (h * w) as u64;
            let channels = if first_complex { ch / 2 } else { ch } as u64;
            c.other_flops = 2 * 5 * b * channels * fft_ops(n) + 4 * n_out;
        }
        Op::LayerNorm { .. } | Op::InstanceNorm { .. } | Op::BatchNorm { .. } | Op::Softmax { .. } => {
            c.other_flops = 5 * n_out
        }
        Op::Upsample { mode, .. } => {
            c.other_flops = n_out
                * match mode {
                    Interp::Nearest => 0,
                    Interp::Bilinear => 8,
                    Interp::Bicubic => 16,
                }
        }
        Op::AvgPool { .. } | Op::MaxPool { .. } | Op::AdaptiveAvgPool { .. } => {
            let ratio = (numel(&args[0]) / n_out.max(1)).max(1);
            c.other_flops = n_out * ratio
        }
        Op::GlobalAvgPool | Op::GlobalMaxPool | Op::GlobalStdPool { .. } => c.other_flops = numel(&args[0]),
        Op::Concat
        | Op::Narrow { .. }
        | Op::Pad { .. }
        | Op::PadToMatch { .. }
        | Op::PixelShuffle { .. }
        | Op::PixelUnshuffle { .. }
        | Op::RepeatChannels { .. }
        | Op::ViewAsReal
        | Op::ViewAsComplex
        | Op::Complex
        | Op::Real
        | Op::Imag
        | Op::Dropout { .. }
        | Op::GatherPoints
        | Op::ScatterPoints
        | Op::PointCoords
        | Op::PointValid
        | Op::GridPoints
        | Op::GridCoords
        | Op::PointsToGrid => {}
        _ => c.other_flops = n_out,
    }
    c
}

/// The cost of a network's forward pass, per top-level module.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlopReport {
    /// (module, its cost), in the order the modules first appear: each block call, each layer
    /// with parameters outside them, and `(network)` for the rest.
    pub modules: Vec<(String, Cost)>,
    pub total: Cost,
}

/// Counts a forward pass of `graph` from the shapes of all its values (inputs first, then one per
/// node, as [`crate::model::CompiledModel::forward_all`] returns them).
pub fn count(graph: &Graph, shapes: &[[usize; 4]]) -> FlopReport {
    let mut report = FlopReport::default();
    // Block calls are modules, and so are layers with parameters outside them.
    let roots: Vec<&str> = graph.activations.iter().filter_map(|(p, _)| p.split('.').next()).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        let args: Vec<[usize; 4]> = node.args.iter().map(|&a| shapes[a]).collect();
        let out = shapes[graph.node_value(i)];
        let first_complex = node.args.first().is_some_and(|&a| graph.is_complex(a));
        let cost = node_cost(&node.op, &args, &out, first_complex);
        let root = node.path.split('.').next().unwrap_or("");
        let module = if node.path.contains('.') && roots.contains(&root) {
            root.to_string()
        } else if !node.op.params().is_empty() {
            node.path.clone()
        } else {
            "(network)".to_string()
        };
        match report.modules.iter_mut().find(|(m, _)| *m == module) {
            Some((_, c)) => c.add(&cost),
            None => report.modules.push((module, cost.clone())),
        }
        report.total.add(&cost);
    }
    report
}
