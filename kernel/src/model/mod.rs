//! A spec's network compiled at run time into a burn module.
//!
//! [`CompiledModel::new`] takes an elaborated [`Graph`] (from `mcmr-dsl`) and creates one
//! parameter per [`ParamSpec`], initialised as PyTorch initialises the same module (Kaiming
//! uniform with `a = √5` for weights, `±1/√fan_in` for biases) from an explicit seed.
//! [`CompiledModel::forward`] interprets the graph with burn operations and returns every
//! value, so outputs and intermediate activations can both be inspected; each primitive
//! family's forward pass is a file of this folder (`conv`, `norm`, `pointwise`, `shape`,
//! `attention`, `spectral`, `points`). Parameters are stored
//! as rank-4 tensors (trailing sizes of 1) and reshaped where they are used; the model is a burn
//! `Module`, so burn's autodiff and optimisers work on it.
//!
//! Weights can be imported from a PyTorch `state_dict` saved as safetensors
//! ([`CompiledModel::load_safetensors`]) through a key map; missing, unexpected and
//! shape-mismatched keys are all reported.

use crate::fft::Norm as FftNorm;
use crate::io::safetensors::{read_safetensors, StTensor};
use crate::rng::{NumpyRng, Seed};
use burn::module::{Module, Param};
use burn::tensor::module::{avg_pool2d, conv2d, conv3d, conv_transpose2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use burn::tensor::{activation, Device, Tensor, TensorData};
use mcmr_dsl::ir::{FftKind, Graph, Init, Interp, Norm, Op, PadMode, ParamSpec};
use std::collections::BTreeMap;
use std::path::Path;

mod attention;
mod conv;
mod dropout;
pub use dropout::mix;
pub mod flops;
mod norm;
mod points;
mod pointwise;
mod shape;
mod spectral;

pub use conv::depthwise_conv2d_by_taps;

/// What a family's forward pass sees of one node: the model (for parameters), the node, its
/// argument tensors and whether each is complex, and whether the model is training.
pub(crate) struct Ctx<'m> {
    model: &'m CompiledModel,
    node: &'m mcmr_dsl::ir::Node,
    args: Vec<Tensor<4>>,
    complex: Vec<bool>,
    train: bool,
    /// The node's index in the graph (its dropout stream).
    index: usize,
    /// This training forward's dropout seed (the trainer's; none in parity and tests).
    dropout_seed: Option<u64>,
    /// Batch statistics of the batch norms run in training mode, in call order.
    stats: &'m std::cell::RefCell<Vec<BatchStats>>,
}

/// One training-mode batch-norm call's statistics, for the running-statistics update
/// ([`CompiledModel::update_running_stats`]).
#[derive(Clone, Debug)]
pub struct BatchStats {
    /// The batch norm's instance path (its buffers are `PATH.running_mean`, `PATH.running_var`).
    pub path: String,
    /// The batch mean per channel (detached).
    pub mean: Tensor<1>,
    /// The unbiased variance (`n/(n − 1)` times the one that normalised), as PyTorch keeps it.
    pub var: Tensor<1>,
    pub momentum: f64,
}

/// Graph and parameter layout, kept beside the parameters.
#[derive(Clone, Debug)]
pub struct ModelMeta {
    pub graph: Graph,
    pub specs: Vec<ParamSpec>,
    /// Parameter path → index into `params`.
    pub index: BTreeMap<String, usize>,
    /// Run stride-1 convolutions as the host matrix-product op and depthwise ones as host row loops (see
    /// [`CompiledModel::with_matmul_conv`]).
    pub matmul_conv: bool,
}

/// A compiled network.
#[derive(Module, Debug)]
pub struct CompiledModel {
    pub params: Vec<Param<Tensor<4>>>,
    #[module(skip)]
    pub meta: ModelMeta,
}

/// Why a model could not be built, loaded or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Weights(String),
    #[error("input `{name}`: {message}")]
    Input { name: String, message: String },
    #[error("{0}")]
    Unsupported(String),
}

pub(crate) fn rank4(shape: &[usize]) -> [usize; 4] {
    let mut s = [1usize; 4];
    let n = shape.len().min(4);
    s[..n].copy_from_slice(&shape[..n]);
    // A rank-5 weight (`conv3d`) keeps its trailing axes folded into the last one.
    s[3] *= shape.iter().skip(4).product::<usize>();
    s
}

/// A key map from the kit's parameter paths to a checkpoint's keys: `(pattern, replacement)`
/// pairs applied in order, where `*` in a pattern matches any text and `$1`, `$2`, ... in the
/// replacement insert what the stars matched. An empty map is the identity.
pub type KeyMap = Vec<(String, String)>;

/// Whether `key` matches a glob pattern (`*` matches any text).
pub fn glob_match(pattern: &str, key: &str) -> bool {
    mcmr_dsl::glob::matches(pattern, key)
}

/// Maps one parameter path through a key map.
pub fn map_key(map: &KeyMap, path: &str) -> String {
    let mut key = path.to_string();
    for (p, r) in map {
        if let Some(k) = mcmr_dsl::glob::replace(p, r, &key) {
            key = k;
        }
    }
    key
}

impl CompiledModel {
    /// Builds the model with PyTorch's default initialisation drawn from `seed`.
    pub fn new(graph: Graph, seed: u32, device: &Device) -> Self {
        let specs = graph.parameters();
        let mut rng = NumpyRng::new(&Seed::Array(vec![seed, 0x6d6f64]));
        let params = specs
            .iter()
            .map(|s| {
                let n: usize = s.shape.iter().product();
                let values: Vec<f32> = match s.init {
                    Init::KaimingUniform { fan_in } | Init::BiasUniform { fan_in } => {
                        // Kaiming uniform with a = √5 has bound √(6/((1+5)·fan_in)) = 1/√fan_in,
                        // the same bound as PyTorch's default bias initialisation.
                        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
                        (0..n).map(|_| ((2.0 * rng.random_sample() - 1.0) * bound) as f32).collect()
                    }
                    Init::Ones => vec![1.0; n],
                    Init::Zeros => vec![0.0; n],
                    Init::Constant(c) => vec![c as f32; n],
                    Init::Normal(std) => (0..n).map(|_| (std * rng.standard_normal()) as f32).collect(),
                    Init::Uniform(bound) => {
                        (0..n).map(|_| ((2.0 * rng.random_sample() - 1.0) * bound) as f32).collect()
                    }
                };
                let p = Param::from_tensor(Tensor::<4>::from_data(TensorData::new(values, rank4(&s.shape)), device));
                if s.frozen {
                    p.set_require_grad(false)
                } else {
                    p
                }
            })
            .collect();
        let index = specs.iter().enumerate().map(|(i, s)| (s.path.clone(), i)).collect();
        CompiledModel { params, meta: ModelMeta { graph, specs, index, matmul_conv: false } }
    }

    /// Runs stride-1, undilated, ungrouped `k×k` convolutions as the host op
    /// [`crate::ops::conv2d`] (per batch item one im2col and one matrix product; 1×1 ones over
    /// the image itself), and depthwise ones as row loops over host buffers
    /// ([`crate::ops::depthwise_conv2d`]). Same sums, another order:
    /// faster training on the CPU backend, whose direct convolution is slow for weight
    /// gradients and loops over groups (`benches/train_step.rs`, `benches/convs.rs`). Off by default,
    /// and off for parity: FSMNet's phase path turns the changed float32 rounding into 7.6e-4
    /// relative differences in one activation (PyTorch's own float32/float64 gap is of that
    /// order), beyond the 1e-4 parity tolerance.
    pub fn with_matmul_conv(mut self, on: bool) -> Self {
        self.meta.matmul_conv = on;
        self
    }

    /// The same model with every parameter in float64.
    pub fn to_float64(mut self) -> Self {
        self.params = self
            .params
            .into_iter()
            .map(|p| Param::from_tensor(p.val().cast(burn::tensor::DType::F64).detach()))
            .collect();
        self
    }

    /// The graph this model runs.
    pub fn graph(&self) -> &Graph {
        &self.meta.graph
    }

    /// Parameter and buffer layout.
    pub fn param_specs(&self) -> &[ParamSpec] {
        &self.meta.specs
    }

    /// Replaces every parameter with the checkpoint's tensor of the mapped name. Errors list
    /// every missing, unexpected and shape-mismatched key at once.
    pub fn load_safetensors(self, path: &Path, map: &KeyMap, ignore: &[String]) -> Result<Self, ModelError> {
        let tensors = read_safetensors(path).map_err(|e| ModelError::Weights(e.to_string()))?;
        self.load_tensors(&tensors, map, ignore, &path.display().to_string())
    }

    /// As [`CompiledModel::load_safetensors`], from tensors already read. Checkpoint keys that
    /// match an `ignore` pattern (modules the official code builds but never calls) are skipped.
    pub fn load_tensors(
        mut self,
        tensors: &BTreeMap<String, StTensor>,
        map: &KeyMap,
        ignore: &[String],
        source: &str,
    ) -> Result<Self, ModelError> {
        self.set_tensors(tensors, map, ignore, source)?;
        Ok(self)
    }

    /// As [`CompiledModel::load_tensors`], in place; frozen parameters stay frozen.
    pub fn set_tensors(
        &mut self,
        tensors: &BTreeMap<String, StTensor>,
        map: &KeyMap,
        ignore: &[String],
        source: &str,
    ) -> Result<(), ModelError> {
        let mut problems = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        for (i, spec) in self.meta.specs.iter().enumerate() {
            let key = map_key(map, &spec.path);
            match tensors.get(&key) {
                None => problems.push(format!("missing `{key}` (for `{}`, shape {:?})", spec.path, spec.shape)),
                Some(t) if t.shape != spec.shape => {
                    problems.push(format!("`{key}` has shape {:?} but `{}` needs {:?}", t.shape, spec.path, spec.shape))
                }
                Some(t) => {
                    used.insert(key.clone());
                    let device = self.params[i].val().device();
                    let values: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
                    let p = Param::from_tensor(Tensor::<4>::from_data(
                        TensorData::new(values, rank4(&spec.shape)),
                        &device,
                    ));
                    self.params[i] = if spec.frozen { p.set_require_grad(false) } else { p };
                }
            }
        }
        for k in tensors.keys() {
            if !used.contains(k) && !k.ends_with("num_batches_tracked") && !ignore.iter().any(|p| glob_match(p, k)) {
                problems.push(format!("unexpected `{k}` (no parameter of the spec maps to it)"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Weights(format!(
                "weights from {source} do not fit the spec:\n  - {}",
                problems.join("\n  - ")
            )))
        }
    }

    fn param(&self, path: &str) -> Tensor<4> {
        let i = self.meta.index[path];
        self.params[i].val()
    }

    fn param1(&self, path: &str) -> Tensor<1> {
        let t = self.param(path);
        let n = t.dims()[0];
        t.reshape([n])
    }

    /// Runs the graph on `inputs` (in the order of the graph's inputs) and returns every value:
    /// inputs first, then one per node. `train` selects batch statistics for batch norm; dropout
    /// with `p > 0` in training needs the trainer's seed ([`CompiledModel::forward_outputs_stats`])
    /// and is refused here.
    pub fn forward_all(&self, inputs: Vec<Tensor<4>>, train: bool) -> Result<Vec<Tensor<4>>, ModelError> {
        Ok(self.forward_all_stats(inputs, train)?.0)
    }

    /// As [`CompiledModel::forward_all`], with the batch statistics of every batch norm that ran
    /// in training mode (empty in evaluation), for [`CompiledModel::update_running_stats`].
    pub fn forward_all_stats(
        &self,
        inputs: Vec<Tensor<4>>,
        train: bool,
    ) -> Result<(Vec<Tensor<4>>, Vec<BatchStats>), ModelError> {
        let (values, stats) = self.run(inputs, train, None, None)?;
        Ok((values.into_iter().map(|v| v.expect("every value computed")).collect(), stats))
    }

    /// The named outputs `wanted` only, computing just the nodes they depend on (a training
    /// stage whose loss reads IGKR-Net's first module does not run the later ones, so their
    /// parameters get no gradient), and in training every batch norm (its running statistics
    /// move as in PyTorch's full forward), with the batch norms' statistics. In training,
    /// dropout draws from `dropout_seed` (the trainer's, one per step); without one it refuses
    /// `p > 0`.
    pub fn forward_outputs_stats(
        &self,
        inputs: Vec<Tensor<4>>,
        train: bool,
        wanted: &[String],
        dropout_seed: Option<u64>,
    ) -> Result<(BTreeMap<String, Tensor<4>>, Vec<BatchStats>), ModelError> {
        let g = &self.meta.graph;
        let n_in = g.inputs.len();
        let mut keep = vec![false; n_in + g.nodes.len()];
        for (name, id) in &g.outputs {
            if wanted.contains(name) {
                keep[*id] = true;
            }
        }
        // Batch norms in training mode run wherever they are: PyTorch's forward updates their
        // running statistics even on a path no loss reads.
        for (i, node) in g.nodes.iter().enumerate() {
            if train && matches!(node.op, Op::BatchNorm { .. }) {
                keep[n_in + i] = true;
            }
        }
        for i in (0..g.nodes.len()).rev() {
            if keep[n_in + i] {
                for &a in &g.nodes[i].args {
                    keep[a] = true;
                }
            }
        }
        let (values, stats) = self.run(inputs, train, Some(&keep), dropout_seed)?;
        let outputs = g
            .outputs
            .iter()
            .filter(|(n, _)| wanted.contains(n))
            .map(|(n, id)| (n.clone(), values[*id].clone().expect("wanted outputs are computed")))
            .collect();
        Ok((outputs, stats))
    }

    /// Interprets the graph; with `keep`, only the nodes it marks (the others stay `None`).
    fn run(
        &self,
        inputs: Vec<Tensor<4>>,
        train: bool,
        keep: Option<&[bool]>,
        dropout_seed: Option<u64>,
    ) -> Result<(Vec<Option<Tensor<4>>>, Vec<BatchStats>), ModelError> {
        let stats = std::cell::RefCell::new(Vec::new());
        let g = &self.meta.graph;
        if inputs.len() != g.inputs.len() {
            return Err(ModelError::Input {
                name: g.inputs.iter().map(|i| i.name.clone()).collect::<Vec<_>>().join(", "),
                message: format!("the network takes {} inputs, got {}", g.inputs.len(), inputs.len()),
            });
        }
        for (x, spec) in inputs.iter().zip(&g.inputs) {
            let want = if spec.complex { 2 * spec.channels } else { spec.channels };
            if x.dims()[1] != want {
                let how = if spec.complex { " (a complex input: real parts, then imaginary parts)" } else { "" };
                return Err(ModelError::Input {
                    name: spec.name.clone(),
                    message: format!("expected {want} channels{how}, got shape {:?}", x.dims()),
                });
            }
        }
        let mut values: Vec<Option<Tensor<4>>> = inputs.into_iter().map(Some).collect();
        let mut complex: Vec<bool> = g.inputs.iter().map(|i| i.complex).collect();
        for (index, node) in g.nodes.iter().enumerate() {
            complex.push(node.op.output_is_complex(node.args.first().map(|&a| complex[a]).unwrap_or(false)));
            if keep.is_some_and(|k| !k[values.len()]) {
                values.push(None);
                continue;
            }
            let ctx = Ctx {
                model: self,
                node,
                args: node.args.iter().map(|&i| values[i].clone().expect("arguments are computed first")).collect(),
                complex: node.args.iter().map(|&i| complex[i]).collect(),
                train,
                index,
                dropout_seed,
                stats: &stats,
            };
            let out = conv::forward(&ctx)
                .or_else(|| norm::forward(&ctx))
                .or_else(|| pointwise::forward(&ctx))
                .or_else(|| shape::forward(&ctx))
                .or_else(|| attention::forward(&ctx))
                .or_else(|| spectral::forward(&ctx))
                .or_else(|| points::forward(&ctx))
                .unwrap_or_else(|| Err(ModelError::Unsupported(format!("no forward pass for {:?}", node.op))))?;
            values.push(Some(out));
        }
        Ok((values, stats.into_inner()))
    }

    /// PyTorch's running-statistics update after a training-mode forward: for each batch-norm
    /// call in order, `running = (1 − momentum)·running + momentum·batch` for the mean and the
    /// unbiased variance (a batch norm called twice is updated twice, as in PyTorch).
    pub fn update_running_stats(&mut self, stats: &[BatchStats]) {
        for s in stats {
            for (name, batch) in [("running_mean", &s.mean), ("running_var", &s.var)] {
                let Some(&i) = self.meta.index.get(&format!("{}.{name}", s.path)) else { continue };
                let old = self.params[i].val().detach();
                let batch = batch.clone().reshape(old.dims()).cast(old.dtype());
                let t = old * (1.0 - s.momentum) + batch * s.momentum;
                self.params[i] = Param::from_tensor(t.detach()).set_require_grad(false);
            }
        }
    }

    /// The named outputs of the graph.
    pub fn forward(&self, inputs: Vec<Tensor<4>>, train: bool) -> Result<BTreeMap<String, Tensor<4>>, ModelError> {
        Ok(self.forward_stats(inputs, train)?.0)
    }

    /// As [`CompiledModel::forward`], with the batch norms' statistics ([`BatchStats`]).
    pub fn forward_stats(
        &self,
        inputs: Vec<Tensor<4>>,
        train: bool,
    ) -> Result<(BTreeMap<String, Tensor<4>>, Vec<BatchStats>), ModelError> {
        let (values, stats) = self.forward_all_stats(inputs, train)?;
        Ok((self.meta.graph.outputs.iter().map(|(n, id)| (n.clone(), values[*id].clone())).collect(), stats))
    }
}

/// Pads `top`/`bottom` rows and `left`/`right` columns with zeros, reflection (without the
/// edge, as PyTorch's `reflect`) or replication.
pub fn pad_sides(x: Tensor<4>, top: usize, bottom: usize, left: usize, right: usize, mode: PadMode) -> Tensor<4> {
    let side = |x: Tensor<4>, dim: usize, before: usize, after: usize| -> Tensor<4> {
        if before == 0 && after == 0 {
            return x;
        }
        let n = x.dims()[dim];
        let edge = |start: usize, len: usize| x.clone().narrow(dim, start, len.max(1)).flip([dim as isize]);
        let (pre, post) = match mode {
            PadMode::Zeros => {
                let mut s = x.dims();
                s[dim] = before;
                let pre = Tensor::<4>::zeros(s, &x.device()).cast(x.dtype());
                s[dim] = after;
                (pre, Tensor::<4>::zeros(s, &x.device()).cast(x.dtype()))
            }
            // Slices of length 0 are not allowed: a side without padding takes a dummy
            // one-element slice that is dropped below.
            PadMode::Reflect => (edge(1, before), edge(n.saturating_sub(1 + after), after)),
            PadMode::Replicate => {
                let first = x.clone().narrow(dim, 0, 1);
                let last = x.clone().narrow(dim, n - 1, 1);
                let rep = |t: Tensor<4>, k: usize| Tensor::cat(vec![t; k.max(1)], dim);
                (rep(first, before), rep(last, after))
            }
        };
        let mut parts = Vec::new();
        if before > 0 {
            parts.push(pre);
        }
        parts.push(x);
        if after > 0 {
            parts.push(post);
        }
        Tensor::cat(parts, dim)
    };
    let x = side(x, 2, top, bottom);
    side(x, 3, left, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_convolutions_equal_burns_convolution_with_their_gradients() {
        let device = Device::flex().autodiff();
        let mut rng = NumpyRng::new(&Seed::Int(5));
        let mut data = |shape: [usize; 4]| {
            let n = shape.iter().product();
            TensorData::new((0..n).map(|_| rng.random_sample() as f32 - 0.5).collect::<Vec<f32>>(), shape)
        };
        let (xd, wd, bd) = (data([2, 3, 9, 7]), data([4, 3, 3, 3]), data([4, 1, 1, 1]));
        // Separate leaves per path: burn's tape is consumed by one backward pass.
        let leaves = || {
            let t = |d: &TensorData| Tensor::<4>::from_data(d.clone(), &device).require_grad();
            (t(&xd), t(&wd), t(&bd))
        };
        let host = |t: Tensor<4>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let close =
            |a: Vec<f64>, b: Vec<f64>| a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5);
        let (x1, w1, b1) = leaves();
        let direct = conv2d(x1.clone(), w1.clone(), Some(b1.reshape([4])), ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
        let (x2, w2, b2) = leaves();
        let ours = crate::ops::conv2d(x2.clone(), w2.clone(), Some(b2.reshape([4])), 1);
        assert_eq!(direct.dims(), ours.dims());
        assert!(close(host(direct.clone().detach()), host(ours.clone().detach())));
        let (gd, go) = (direct.sum().backward(), ours.sum().backward());
        assert!(close(host(w1.grad(&gd).unwrap()), host(w2.grad(&go).unwrap())), "weight gradients");
        assert!(close(host(x1.grad(&gd).unwrap()), host(x2.grad(&go).unwrap())), "input gradients");
        // 1x1 convolutions (no columns), 5x5 unpadded, 1x1 padded (the input gradient by columns)
        // and depthwise ones (taps) against burn's, with gradients.
        for (cout, k, groups, pad) in
            [(4, 1, 1, 0), (2, 5, 1, 0), (3, 1, 1, 1), (3, 3, 3, 1), (3, 5, 3, 2), (3, 3, 3, 0)]
        {
            let shape_w = [cout, 3 / groups, k, k];
            let (xd, wd, bd) = (data([2, 3, 9, 7]), data(shape_w), data([cout, 1, 1, 1]));
            let leaf = |d: &TensorData| Tensor::<4>::from_data(d.clone(), &device).require_grad();
            let (x1, w1, b1, x2, w2, b2) = (leaf(&xd), leaf(&wd), leaf(&bd), leaf(&xd), leaf(&wd), leaf(&bd));
            let opts = ConvOptions::new([1, 1], [pad, pad], [1, 1], groups);
            let direct = conv2d(x1.clone(), w1.clone(), Some(b1.clone().reshape([cout])), opts);
            let ours = if groups == 1 {
                crate::ops::conv2d(x2.clone(), w2.clone(), Some(b2.clone().reshape([cout])), pad)
            } else {
                conv::depthwise_conv2d_by_taps(x2.clone(), w2.clone(), Some(b2.clone().reshape([cout])), pad)
            };
            assert_eq!(direct.dims(), ours.dims(), "k={k} groups={groups}");
            assert!(close(host(direct.clone().detach()), host(ours.clone().detach())), "k={k} groups={groups}");
            let r = data(direct.dims());
            let ramp = || Tensor::<4>::from_data(r.clone(), &device);
            let (gd, go) = ((direct * ramp()).sum().backward(), (ours * ramp()).sum().backward());
            for (a, b, what) in [(&w1, &w2, "weight"), (&x1, &x2, "input"), (&b1, &b2, "bias")] {
                assert!(close(host(a.grad(&gd).unwrap()), host(b.grad(&go).unwrap())), "k={k} groups={groups} {what}");
            }
        }
    }

    #[test]
    fn key_maps_rewrite_with_captures() {
        let map: KeyMap = vec![("up.*.conv.*".into(), "decoder.$1.block.$2".into())];
        assert_eq!(map_key(&map, "up.3.conv.weight"), "decoder.3.block.weight");
        assert_eq!(map_key(&map, "down.0.weight"), "down.0.weight");
    }

    #[test]
    fn reflect_padding_matches_pytorch() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 1, 1, 3]), &device);
        let y = pad_sides(x, 0, 0, 2, 1, PadMode::Reflect).into_data().try_to_vec::<f32>().unwrap();
        // torch.nn.functional.pad([1, 2, 3], (2, 1), mode="reflect") == [3, 2, 1, 2, 3, 2]
        assert_eq!(y, vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    }
}
