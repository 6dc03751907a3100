//! The elaborated network: a flat list of primitive nodes, every size known, every parameter
//! named by its instance path (`down_sample_layers.0.layers.0.weight`), ready to be compiled
//! into a burn model.

use std::collections::BTreeMap;

/// Padding modes of convolutions and `pad_to_match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    Zeros,
    Reflect,
    Replicate,
}

/// A primitive operation with all its sizes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum Op {
    Conv2d {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
        padding_mode: PadMode,
        /// How the weight (and, for `Zeros`, the bias) starts.
        init: WeightInit,
    },
    /// A stride-1 3-D convolution over the channels read as `cin` volumes of `depth` planes
    /// (PyTorch's `Conv3d` on the tensor viewed `[B, cin, depth, H, W]`, MINet's CSAM), with the
    /// same zero `padding` on all three axes; the output is `[cout · depth', H, W]`, depth-major
    /// within each output channel, `depth' = depth + 2·padding − kernel + 1`. Weight `[cout,
    /// cin, k, k, k]`.
    Conv3d {
        cin: usize,
        cout: usize,
        depth: usize,
        kernel: usize,
        padding: usize,
        bias: bool,
    },
    ConvTranspose2d {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        bias: bool,
        init: WeightInit,
    },
    InstanceNorm {
        channels: usize,
        eps: f64,
        affine: bool,
    },
    BatchNorm {
        channels: usize,
        eps: f64,
        momentum: f64,
    },
    LeakyRelu {
        slope: f64,
    },
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    Prelu {
        num: usize,
    },
    AvgPool {
        kernel: usize,
        stride: usize,
    },
    MaxPool {
        kernel: usize,
        stride: usize,
    },
    /// In training, each element (or, `channelwise`, each channel of each item: `dropout2d`)
    /// zeroed with probability `p` and the rest scaled by `1/(1 − p)`; the identity otherwise.
    Dropout {
        p: f64,
        channelwise: bool,
    },
    Concat,
    Add,
    Sub,
    Mul,
    Scale {
        factor: f64,
    },
    /// Pads the first input on the right/bottom (or crops) to the spatial size of the second
    /// (fastMRI U-Net's reflect padding of odd sizes).
    PadToMatch {
        mode: PadMode,
    },
    PixelShuffle {
        factor: usize,
    },
    /// `patchify(x, size)`: non-overlapping `size×size` patches as channels, in einops'
    /// `b c (h p1) (w p2) -> b (p1 p2 c) h w` order (MTrans's patch embedding, before the tokens
    /// are flattened); `unpatchify` is its inverse.
    Patchify {
        size: usize,
    },
    Unpatchify {
        size: usize,
    },
    /// `to_tokens(x)`: `[B, C, h, w]` → `[B, C, h·w, 1]`, row-major (einops' `(h w)`);
    /// `from_tokens(x, like)` puts them back on `like`'s grid.
    ToTokens,
    FromTokens,
    /// `concat_tokens(a, b)`: two token sets `[B, C, N, 1]`, `[B, C, M, 1]` → `[B, C, N + M, 1]`.
    ConcatTokens,
    /// `add_embedding(x, tokens)`: a learned `[1, tokens, C]` parameter (PyTorch's layout of a
    /// positional embedding) added to the token set `[B, C, tokens, 1]`.
    AddEmbedding {
        tokens: usize,
        channels: usize,
    },
    PixelUnshuffle {
        factor: usize,
    },
    /// `x + value` (FSMNet's `+ 1e-8` offsets).
    AddConst {
        value: f64,
    },
    NanToNum {
        nan: f64,
        posinf: f64,
        neginf: f64,
    },
    Softmax {
        dim: usize,
    },
    /// Mean or max over channels, keeping a channel of size 1.
    ChannelMean,
    ChannelMax,
    /// Population standard deviation over channels (one channel).
    ChannelStd,
    Abs,
    /// Channels `start..start + len` (one chunk of `chunk(x, chunks, index)`).
    Narrow {
        start: usize,
        len: usize,
    },
    /// Restormer's transposed (channel) attention, `forward(q, k, v)`: per head, q and k
    /// (`[C/heads, H·W]`) are L2-normalised along H·W (eps 1e-12), `A = softmax(q kᵀ · t)` over
    /// channels with a learnable temperature `t` per head (parameter `temperature`, shape
    /// `[heads, 1, 1]`, initialised to 1), and the output is `A v` reshaped to `[C, H, W]`.
    ChannelAttention {
        channels: usize,
        heads: usize,
        /// Dropout on the attention probabilities in training (DCAMSR's `attn_drop`).
        dropout: f64,
    },
    /// MINet's layer attention (LAM) without its scale: the channels read as `groups` layers of
    /// `C/groups` channels, each layer flattened to a vector `f_i`; `E = F Fᵀ` (`groups ×
    /// groups`), `A = softmax(max_j E_ij − E_ij)` along `j` (the official form; the row maximum
    /// only shifts the softmax), output layer `i` is `Σ_j A_ij f_j`.
    LayerAttention {
        groups: usize,
    },
    /// Spatial attention with keys and values projected along the token axis (EPA, as DCAMSR's
    /// DCA uses it), `forward(q, k, v)` on `[C, H, W]` with `H·W = tokens`: per head (`d =
    /// C/heads` channels), q and k L2-normalised along the tokens, `k' = E k`, `v' = E v` (one
    /// `nn.Linear(tokens, proj)`, parameters `E.weight` `[proj, tokens]` and `E.bias`, shared by
    /// both), `A = softmax(qᵀ k' · t)` over the `proj` axis (`temperature2` `[heads, 1, 1]`,
    /// initialised to 1), `A v'ᵀ` `[heads, tokens, d]`; the result is laid out as the official
    /// code leaves it: permuted to `[d, heads, tokens]` and read as `[tokens, C]`.
    ProjectedAttention {
        channels: usize,
        heads: usize,
        tokens: usize,
        proj: usize,
        /// Dropout on the attention probabilities in training (DCAMSR's `attn_drop_2`).
        dropout: f64,
    },
    /// Explicit padding of rows (top/bottom) and columns (left/right).
    Pad {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
        mode: PadMode,
    },
    GlobalAvgPool,
    /// The maximum over each channel's H×W (PyTorch's `AdaptiveMaxPool2d(1)`; MANet's channel
    /// attention).
    GlobalMaxPool,
    /// The population standard deviation of each channel over H×W, without an epsilon
    /// (UniFS's `stdv_channels`): `[B, C, 1, 1]`.
    /// The standard deviation of each channel over H×W with `correction` (0: population, 1:
    /// `torch.std`'s unbiased).
    GlobalStdPool {
        correction: usize,
    },
    /// `F.interpolate(scale_factor = factor)`, `align_corners = False` for the smooth modes.
    Upsample {
        factor: usize,
        mode: Interp,
    },
    /// `x · s` with one learnable scalar `s` (parameter `scale`).
    LearnableScale {
        init: f64,
    },
    /// `weighted_average(a, b, init)`: `(a + w·b)/(1 + w)` with one learnable scalar `w`
    /// (parameter `scale`, clamped at 0 in the forward pass so that `1 + w > 0`): IMA's
    /// closed-form G step (Eq. 22), whose `w` is shared with a `learnable_scale` elsewhere.
    WeightedAverage {
        init: f64,
    },
    /// `repeat_channels(x, times)`: the channels repeated `times` times in order
    /// (`x.repeat(1, times, 1, 1)`); a complex tensor repeats its real and imaginary halves.
    RepeatChannels {
        times: usize,
    },
    /// IMA's dilation–contraction mask of stage `stage` of `stages` (Eqs. 16–18): the sampling
    /// mask dilated `min(stage − 1, stages − stage, J)` times with `kernel` and threshold `delta`,
    /// `J` the first dilation filling more than `ratio` of k-space or `stages/2 − 1`. Constant
    /// (no gradient); computed per batch element from the mask alone.
    DcmMask {
        stage: usize,
        stages: usize,
        kernel: String,
        delta: usize,
        ratio: f64,
    },
    /// Channel attention with two query streams (IMA's CSCA, Eq. 21), `forward(q1, q2, k1, k2,
    /// v)`: per head, all of q1, q2, k1, k2 (`[C/heads, H·W]`) L2-normalised along H·W, `A =
    /// softmax((q1 k1ᵀ + q2 k2ᵀ) · t)` over channels (the concatenated `[q1 q2][k1 k2]ᵀ`: a
    /// self and a cross affinity in one product), output `A v`; temperature `[heads, 1, 1]`.
    CrossChannelAttention {
        channels: usize,
        heads: usize,
    },
    /// The same two-stream affinity over pixels inside non-overlapping `window × window`
    /// windows (IMA's CSCA in the style of jCAN's Swin attention, the note's A9 alternative):
    /// per head and window, with `P = window²` pixels and `d = C/heads`, `A = softmax((q1 k1ᵀ +
    /// q2 k2ᵀ)/√(2d) + B)` over the window's pixels, output `A v`. `B` is the relative position
    /// bias: `relative_position_bias_table` `[(2·window − 1)², heads]` indexed by
    /// `(Δrow + window − 1)·(2·window − 1) + Δcol + window − 1`, as Swin's. H and W must be
    /// multiples of `window`.
    CrossWindowAttention {
        channels: usize,
        heads: usize,
        window: usize,
    },
    /// Spectral transforms. Complex tensors are stored with their real and imaginary parts
    /// stacked along channels.
    Fft {
        kind: FftKind,
        norm: Norm,
        centered: bool,
    },
    Magnitude,
    Phase,
    Real,
    Imag,
    /// `view_as_real(z)`: a complex tensor of C channels as the real tensor of its 2C stored
    /// channels (real parts, then imaginary parts; `torch.view_as_real` moved to channels).
    ViewAsReal,
    /// `view_as_complex(x)`: a real tensor of 2C channels as C complex ones (its first half the
    /// real parts): the inverse of `view_as_real`.
    ViewAsComplex,
    /// `complex(re, im)`.
    Complex,
    /// `polar(magnitude, phase)`.
    Polar,
    /// `data_consistency(x, k, mask)`: `K = F x`, then `K + w·M·(k − K)` with `w = 1` (hard) or
    /// `λ/(1 + λ)` (weighted), back with `F⁻¹`; `F` is the centred (`shift`) or plain FFT with
    /// `norm`. The result is complex.
    DataConsistency {
        norm: Norm,
        centered: bool,
        lambda: Option<f64>,
    },
    /// `kspace_consistency(k, measured, mask)`: k-space with its sampled entries (`mask > 0.5`)
    /// replaced by the measured ones, `(1 − M)·k + M·measured` as a selection, so the measured
    /// samples come out bit for bit (DuDoRNet's and MC-VarNet's k-space step).
    KspaceConsistency,
    /// `fftshift(x)`: each plane rolled by `⌊H/2⌋` rows and `⌊W/2⌋` columns, as numpy's and
    /// `torch.fft.fftshift` (real or complex: both parts alike).
    Fftshift,
    /// `half_spectrum(z)`: the first `⌊W/2⌋ + 1` columns of a full spectrum, what
    /// `torch.fft.irfft2(z, s)` reads of a full-width input (MC-VarNet's data consistency).
    HalfSpectrum,
    /// `nn.Linear` over channels at every pixel: weight `[out, in]` (PyTorch's layout), bias `[out]`.
    Linear {
        cin: usize,
        cout: usize,
        bias: bool,
        init: WeightInit,
    },
    /// Layer norm over channels at every pixel (biased variance), affine weight and bias `[C]`.
    LayerNorm {
        channels: usize,
        eps: f64,
    },
    /// `nn.AdaptiveAvgPool2d(size)`: bin `i` of `n` input rows spans `⌊i·n/s⌋ .. ⌈(i+1)·n/s⌉`.
    AdaptiveAvgPool {
        size: usize,
    },
    /// Multi-head scaled dot-product attention over the `H·W` tokens: per head of `C/heads`
    /// channels, `softmax(q kᵀ/√d) v` (projections are ordinary `linear` calls in the spec).
    TokenAttention {
        heads: usize,
    },
    /// Fourier features of the normalised pixel coordinates `y, x ∈ [−1, 1]` of `x`'s grid:
    /// `[y, x, sin(2ˡπy), cos(2ˡπy), sin(2ˡπx), cos(2ˡπx)]` for `l < frequencies`
    /// (`2 + 4·frequencies` channels, the same for every batch element).
    CoordEncoding {
        frequencies: usize,
    },
    /// `token_attention` whose keys (and values) are restricted to those where `key_mask`
    /// (`[B, 1, N, 1]` or the keys' grid, 1 = real) is set; computed `chunk` queries at a time
    /// (0: all at once) so that no `N_q × N_k` matrix larger than a chunk's exists at once.
    MaskedTokenAttention {
        heads: usize,
        chunk: usize,
    },
    /// The samples of `x` where `mask > 0.5`, row-major, as a point set `[B, C, N, 1]` padded
    /// with zeros to the largest count in the batch.
    GatherPoints,
    /// `points` written back at the positions `mask` selects (row-major, as `GatherPoints`
    /// takes them), `base` everywhere else.
    ScatterPoints,
    /// The grid coordinates `(row/(H−1), col/(W−1))` of the points `mask` selects, `[B, 2, N, 1]`.
    PointCoords,
    /// 1 at the real points of the mask's point set, 0 at its padding, `[B, 1, N, 1]`.
    PointValid,
    /// Every pixel of `x` as a point, row-major: `[B, C, H·W, 1]`.
    GridPoints,
    /// The coordinates of every pixel of `x`'s grid, `[B, 2, H·W, 1]`.
    GridCoords,
    /// A point set of `H·W` points back on the grid of `like`.
    PointsToGrid,
    /// KT's sinusoidal encoding of 2-D coordinates: `p = scale·coord`; per axis `dim/2` channels,
    /// `sin(p·ω_k)` at `2k` and `cos(p·ω_k)` at `2k + 1` with `ω_k = base^(−4k/dim)`; rows then
    /// columns. No parameters.
    SinusoidalPe {
        dim: usize,
        scale: f64,
        base: f64,
    },
}

/// The interpolation of `upsample`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Interp {
    Nearest,
    Bilinear,
    /// Keys' cubic convolution with `A = −0.75`, source indices clamped at the borders (PyTorch).
    Bicubic,
}

/// Which spectral transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FftKind {
    Fft2,
    Ifft2,
    Rfft2,
    /// Output size from the second argument (`irfft2(z, like)`).
    Irfft2,
}

/// FFT normalisation (NumPy/PyTorch `norm=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    Backward,
    Ortho,
    Forward,
}

/// How a convolution's or linear layer's parameters start: PyTorch's default, or the scheme an
/// official `reset_parameters`/`apply(init_fn)` replaces it with (the `init` argument of
/// `conv2d`, `conv_transpose2d` and `linear`). Only the weight changes, as in those functions;
/// `Zeros` sets the bias to zero too (DCAMSR's SAM). Fans are PyTorch's
/// (`_calculate_fan_in_and_fan_out`: `fan_in = weight.size(1)·k²`, `fan_out = weight.size(0)·k²`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum WeightInit {
    /// PyTorch's default: Kaiming-uniform with `a = √5`.
    Default,
    /// Weight and bias zero.
    Zeros,
    /// `nn.init.xavier_normal_`: normal with standard deviation `√(2 / (fan_in + fan_out))`.
    XavierNormal,
    /// `nn.init.xavier_uniform_`: uniform in `±√(6 / (fan_in + fan_out))`.
    XavierUniform,
    /// `nn.init.normal_(w, 0, std)` (DuDoRNet's `gaussian_weights_init`: 0.02).
    Normal(f64),
}

impl WeightInit {
    /// Parses the `init` argument: `"default"`, `"zeros"`, `"xavier_normal"`,
    /// `"xavier_uniform"` or `"normal(STD)"` with a finite `STD > 0`.
    pub fn parse(s: &str) -> Result<WeightInit, String> {
        let normal = s.strip_prefix("normal(").and_then(|r| r.strip_suffix(')'));
        match s {
            "default" => Ok(WeightInit::Default),
            "zeros" => Ok(WeightInit::Zeros),
            "xavier_normal" => Ok(WeightInit::XavierNormal),
            "xavier_uniform" => Ok(WeightInit::XavierUniform),
            _ => match normal.map(|v| v.trim().parse::<f64>()) {
                Some(Ok(std)) if std.is_finite() && std > 0.0 => Ok(WeightInit::Normal(std)),
                Some(_) => Err(format!("`init = \"{s}\"`: the standard deviation must be a finite number > 0")),
                None => Err(format!(
                    "`init` must be \"default\", \"zeros\", \"xavier_normal\", \"xavier_uniform\" or \"normal(STD)\", got \"{s}\""
                )),
            },
        }
    }

    /// The weight's initialisation for a weight of these fans (`default` is the caller's).
    pub fn weight(self, fan_in: usize, fan_out: usize, default: Init) -> Init {
        let fans = (fan_in + fan_out).max(1) as f64;
        match self {
            WeightInit::Default => default,
            WeightInit::Zeros => Init::Zeros,
            WeightInit::XavierNormal => Init::Normal((2.0 / fans).sqrt()),
            WeightInit::XavierUniform => Init::Uniform((6.0 / fans).sqrt()),
            WeightInit::Normal(std) => Init::Normal(std),
        }
    }
}

/// Initialisation of a parameter (PyTorch's defaults for its module).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Init {
    /// Kaiming-uniform with `a = √5` over `fan_in` (PyTorch's conv and linear weights).
    KaimingUniform {
        fan_in: usize,
    },
    /// Uniform in `±1/√fan_in` (PyTorch's conv and linear biases).
    BiasUniform {
        fan_in: usize,
    },
    Ones,
    Zeros,
    Constant(f64),
    /// Normal with mean 0 and this standard deviation (`torch.randn` is 1).
    Normal(f64),
    /// Uniform in `±bound`.
    Uniform(f64),
}

/// One parameter (or buffer) of a node.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ParamSpec {
    pub path: String,
    pub shape: Vec<usize>,
    pub init: Init,
    /// Buffers (batch-norm running statistics) are state, not trained.
    pub buffer: bool,
    /// Frozen by the spec's `freeze` section: no gradient, never updated.
    pub frozen: bool,
}

impl Op {
    /// Whether the output is complex, given whether the first input is (the op's family's rule,
    /// [`crate::prims`]).
    pub fn output_is_complex(&self, input_complex: bool) -> bool {
        crate::prims::complex_output_of(self, input_complex)
    }

    /// The parameters of this op, relative to its path (the op's family's rule).
    pub fn params(&self) -> Vec<(&'static str, Vec<usize>, Init, bool)> {
        crate::prims::params_of(self)
    }
}

/// A node: an op applied to earlier values.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Node {
    pub op: Op,
    /// Value ids of the inputs (graph inputs first, then node outputs in order).
    pub args: Vec<usize>,
    /// Instance path; parameters are `path.weight` etc.
    pub path: String,
    /// Output channels.
    pub channels: usize,
}

/// A network input.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GraphInput {
    pub name: String,
    pub channels: usize,
    /// Complex inputs are passed with real and imaginary parts stacked along channels.
    pub complex: bool,
}

/// The elaborated network.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Graph {
    pub name: String,
    pub inputs: Vec<GraphInput>,
    pub nodes: Vec<Node>,
    /// Output name → value id.
    pub outputs: Vec<(String, usize)>,
    /// Instance path of every block call → the value it returned (for activation comparisons).
    pub activations: Vec<(String, usize)>,
    /// Glob patterns of frozen parameter paths (the spec's `freeze { params = [...] }`).
    pub frozen: Vec<String>,
}

impl Graph {
    /// The value id produced by node `i`.
    pub fn node_value(&self, i: usize) -> usize {
        self.inputs.len() + i
    }

    /// Whether value `v` (an input or a node's output) is complex.
    pub fn is_complex(&self, v: usize) -> bool {
        let mut complex: Vec<bool> = self.inputs.iter().map(|i| i.complex).collect();
        for n in &self.nodes {
            let first = n.args.first().is_some_and(|&a| complex.get(a).copied().unwrap_or(false));
            complex.push(n.op.output_is_complex(first));
        }
        complex.get(v).copied().unwrap_or(false)
    }

    /// Every parameter and buffer, in node order; a path shared by several calls appears once.
    pub fn parameters(&self) -> Vec<ParamSpec> {
        let mut seen = std::collections::HashSet::new();
        self.nodes
            .iter()
            .flat_map(|n| {
                n.op.params().into_iter().map(move |(name, shape, init, buffer)| ParamSpec {
                    path: format!("{}.{name}", n.path),
                    shape,
                    init,
                    buffer,
                    frozen: false,
                })
            })
            .filter(|p| seen.insert(p.path.clone()))
            .map(|mut p| {
                p.frozen = self.frozen.iter().any(|g| crate::glob::matches(g, &p.path));
                p
            })
            .collect()
    }

    /// Number of frozen (untrained) parameters.
    pub fn frozen_count(&self) -> usize {
        self.parameters().iter().filter(|p| p.frozen && !p.buffer).map(|p| p.shape.iter().product::<usize>()).sum()
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.parameters()
            .iter()
            .filter(|p| !p.buffer)
            .map(|p| p.shape.iter().fold(1usize, |a, &b| a.saturating_mul(b)))
            .fold(0usize, |a, b| a.saturating_add(b))
    }

    /// Trainable parameters per top-level instance (the first path component).
    pub fn block_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in self.parameters().iter().filter(|p| !p.buffer) {
            let top = p.path.split('.').next().unwrap_or("").to_string();
            let n = p.shape.iter().fold(1usize, |a, &b| a.saturating_mul(b));
            let e = m.entry(top).or_insert(0usize);
            *e = e.saturating_add(n);
        }
        m
    }
}
