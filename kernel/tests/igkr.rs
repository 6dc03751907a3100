//! IGKR-Net's building blocks (k-space as a set of points, after the K-Space Transformer), each
//! against an independent computation: gathering and scattering by hand, KT's positional
//! encoding by its formula, masked attention by a direct f64 loop over the real keys only, and the
//! chunked attention against the unchunked one; the parameter count against the research note's
//! hand count; and the engine's staged training (modules that join later, one optimiser and one
//! schedule) on a tiny network.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::experiment::{reproduce, ReproduceOptions};
use mcmr::model::CompiledModel;

fn device() -> Device {
    Device::flex().autodiff()
}

fn compile(src: &str) -> CompiledModel {
    let spec = mcmr_dsl::parse(src).unwrap_or_else(|d| panic!("{}", d.render(src, "test")));
    let checked = mcmr_dsl::check::elaborate(&spec, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(src, "test")).collect::<String>()));
    CompiledModel::new(checked.graph, 3, &device())
}

fn tensor(v: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(v, shape), &device())
}

fn values(t: &Tensor<4>) -> Vec<f32> {
    t.clone().into_data().try_to_vec::<f32>().unwrap()
}

/// `[2, c, h, w]` of varied values.
fn data(c: usize, h: usize, w: usize) -> Tensor<4> {
    tensor((0..2 * c * h * w).map(|i| (i * 7919 % 101) as f32 / 50.0 - 1.0).collect(), [2, c, h, w])
}

/// A 4×5 mask per batch element: 5 points in the first, 3 in the second.
fn masks() -> (Tensor<4>, [Vec<usize>; 2]) {
    let sel = [vec![0usize, 3, 7, 12, 19], vec![2usize, 10, 11]];
    let mut v = vec![0.0f32; 2 * 20];
    for (b, s) in sel.iter().enumerate() {
        for &p in s {
            v[b * 20 + p] = 1.0;
        }
    }
    (tensor(v, [2, 1, 4, 5]), sel)
}

const POINTS: &str = r#"
network n() {
    input x: [3, H, W]
    input mask: [1, H, W]
    p = gather_points(x, mask)
    output p = p
    output coords = point_coords(mask)
    output valid = point_valid(mask)
    output back = scatter_points(scale(p, 2.0), mask, x)
    output grid = points_to_grid(grid_points(x), x)
    output grid_coords = grid_coords(x)
    output pe = sinusoidal_pe(point_coords(mask), 8, scale = 250.0)
}
"#;

#[test]
fn gathered_points_are_the_masked_samples_in_row_major_order_padded_with_zeros() {
    let (x, (mask, sel)) = (data(3, 4, 5), masks());
    let o = compile(POINTS).forward(vec![x.clone(), mask], true).unwrap();
    assert_eq!(o["p"].dims(), [2, 3, 5, 1], "padded to the larger count");
    let (xv, p, c, v) = (values(&x), values(&o["p"]), values(&o["coords"]), values(&o["valid"]));
    for (b, s) in sel.iter().enumerate() {
        for i in 0..5 {
            let real = i < s.len();
            assert_eq!(v[b * 5 + i], if real { 1.0 } else { 0.0 });
            for ch in 0..3 {
                let want = if real { xv[(b * 3 + ch) * 20 + s[i]] } else { 0.0 };
                assert_eq!(p[(b * 3 + ch) * 5 + i], want, "batch {b} point {i} channel {ch}");
            }
            let (row, col) = if real { (s[i] / 5, s[i] % 5) } else { (0, 0) };
            assert_eq!(c[(b * 2) * 5 + i], row as f32 / 3.0, "row coordinate in [0, 1]");
            assert_eq!(c[(b * 2 + 1) * 5 + i], col as f32 / 4.0, "column coordinate in [0, 1]");
        }
    }
    // Scattered back (doubled) at the mask's positions; the base everywhere else.
    let back = values(&o["back"]);
    for b in 0..2 {
        for ch in 0..3 {
            for q in 0..20 {
                let k = (b * 3 + ch) * 20 + q;
                let want = if sel[b].contains(&q) { 2.0 * xv[k] } else { xv[k] };
                assert_eq!(back[k], want, "batch {b} channel {ch} pixel {q}");
            }
        }
    }
    assert_eq!(values(&o["grid"]), xv, "grid_points then points_to_grid is the identity");
    let g = values(&o["grid_coords"]);
    assert_eq!(o["grid_coords"].dims(), [2, 2, 20, 1]);
    assert_eq!((g[7], g[20 + 7]), (1.0 / 3.0, 2.0 / 4.0), "pixel 7 is row 1, column 2");
}

#[test]
fn kt_positional_encoding_follows_its_formula() {
    let (x, (mask, sel)) = (data(3, 4, 5), masks());
    let o = compile(POINTS).forward(vec![x, mask], true).unwrap();
    assert_eq!(o["pe"].dims(), [2, 8, 5, 1]);
    let pe = values(&o["pe"]);
    // dim 8: per axis 4 channels, ω_k = 10000^(−4k/8) for k = 0, 1; sin at 2k, cos at 2k + 1.
    for (b, s) in sel.iter().enumerate() {
        for (i, &q) in s.iter().enumerate() {
            let coord = [(q / 5) as f64 / 3.0, (q % 5) as f64 / 4.0];
            for axis in 0..2 {
                for k in 0..2 {
                    let arg = 250.0 * coord[axis] * 10000f64.powf(-4.0 * k as f64 / 8.0);
                    for (j, want) in [arg.sin(), arg.cos()].into_iter().enumerate() {
                        let ch = axis * 4 + 2 * k + j;
                        let got = pe[(b * 8 + ch) * 5 + i] as f64;
                        assert!((got - want).abs() < 1e-4, "batch {b} point {i} channel {ch}: {got} vs {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn gathering_passes_gradients_to_the_selected_samples_only() {
    let (x, (mask, sel)) = (data(3, 4, 5).require_grad(), masks());
    let o = compile(POINTS).forward(vec![x.clone(), mask], true).unwrap();
    let grads = o["p"].clone().sum().backward();
    let g = x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
    for b in 0..2 {
        for ch in 0..3 {
            for q in 0..20 {
                let want = if sel[b].contains(&q) { 1.0 } else { 0.0 };
                assert_eq!(g[(b * 3 + ch) * 20 + q], want, "batch {b} channel {ch} pixel {q}");
            }
        }
    }
}

#[test]
fn scattering_into_the_unsampled_positions_keeps_every_measured_sample() {
    // IGKR's K̂3: the prediction at the unsampled positions, the measured k-space elsewhere.
    let src = r#"
network n() {
    input k: complex [1, H, W]
    input mask: [1, H, W]
    unsampled = 1.0 - mask
    output f = fft2(real(k))
    pred = gather_points(fft2(real(k)), unsampled)
    output k3 = scatter_points(pred, unsampled, k)
}
"#;
    let (mask, sel) = masks();
    let k = data(2, 4, 5);
    let o = compile(src).forward(vec![k.clone(), mask], true).unwrap();
    let (kv, out, f) = (values(&k), values(&o["k3"]), values(&o["f"]));
    for b in 0..2 {
        for part in 0..2 {
            for q in 0..20 {
                let i = (b * 2 + part) * 20 + q;
                if sel[b].contains(&q) {
                    assert_eq!(out[i], kv[i], "measured sample {q} of batch {b} is kept exactly");
                } else {
                    assert_eq!(out[i], f[i], "unsampled {q} of batch {b} takes the prediction");
                }
            }
        }
    }
}

/// Direct masked attention in f64: per head, softmax over the real keys only.
fn direct_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    valid: &[f32],
    c: usize,
    heads: usize,
    n: usize,
    nk: usize,
) -> Vec<f64> {
    let d = c / heads;
    let mut out = vec![0.0f64; 2 * c * n];
    for b in 0..2 {
        for h in 0..heads {
            for t in 0..n {
                let keys: Vec<usize> = (0..nk).filter(|&u| valid[b * nk + u] > 0.5).collect();
                let logits: Vec<f64> = keys
                    .iter()
                    .map(|&u| {
                        (0..d)
                            .map(|e| q[(b * c + h * d + e) * n + t] as f64 * k[(b * c + h * d + e) * nk + u] as f64)
                            .sum::<f64>()
                            / (d as f64).sqrt()
                    })
                    .collect();
                let top = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = logits.iter().map(|l| (l - top).exp()).sum();
                for e in 0..d {
                    out[(b * c + h * d + e) * n + t] = keys
                        .iter()
                        .zip(&logits)
                        .map(|(&u, l)| (l - top).exp() / z * v[(b * c + h * d + e) * nk + u] as f64)
                        .sum();
                }
            }
        }
    }
    out
}

#[test]
fn masked_attention_ignores_padding_and_chunking_changes_nothing() {
    // Queries: all 20 pixels; keys and values: the masked points (padded to 5, 3 real in batch 1).
    let src = r#"
network n() {
    input x: [4, H, W]
    input mask: [1, H, W]
    q = grid_points(x)
    kv = gather_points(scale(x, 0.7) + 0.2, mask)
    valid = point_valid(mask)
    output q = q
    output kv = kv
    output valid = valid
    output whole = masked_token_attention(q, kv, kv * kv, valid, heads = 2)
    output chunked = masked_token_attention(q, kv, kv * kv, valid, heads = 2, chunk = 3)
}
"#;
    let (x, (mask, _)) = (data(4, 4, 5), masks());
    let o = compile(src).forward(vec![x, mask], true).unwrap();
    let (q, kv, valid) = (values(&o["q"]), values(&o["kv"]), values(&o["valid"]));
    let v: Vec<f32> = kv.iter().map(|a| a * a).collect();
    let want = direct_attention(&q, &kv, &v, &valid, 4, 2, 20, 5);
    let whole = values(&o["whole"]);
    for (i, (g, w)) in whole.iter().zip(&want).enumerate() {
        assert!((*g as f64 - w).abs() < 1e-5, "element {i}: {g} vs {w}");
    }
    let chunked = values(&o["chunked"]);
    let worst = whole.iter().zip(&chunked).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "chunked attention differs from unchunked by {worst}");
}

#[test]
fn misuse_is_refused_with_the_argument_named() {
    for (body, what) in [
        ("output y = gather_points(x, x)", "a mask has one channel"),
        ("output y = sinusoidal_pe(x, 8)", "coordinates have two real channels"),
        ("output y = sinusoidal_pe(point_coords(m), 6)", "a multiple of 4"),
        ("output y = masked_token_attention(x, x, x, x, heads = 1)", "a key mask has one real channel"),
    ] {
        let src = format!("network n() {{\n    input x: [3, H, W]\n    input m: [1, H, W]\n    {body}\n}}\n");
        let spec = mcmr_dsl::parse(&src).unwrap();
        let errs = mcmr_dsl::check::elaborate(&spec, None, None, &[]).expect_err(body);
        let text: String = errs.iter().map(|d| d.render(&src, "t")).collect();
        assert!(text.contains(what), "{body}: {text}");
    }
}

fn parameter_count(overrides: &[(String, mcmr_dsl::check::Value)]) -> usize {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/igkr.mcmr");
    let (_, checked, _) = mcmr::spec::load_spec(&file, Some("igkr"), None, overrides).unwrap();
    checked.graph.parameter_count()
}

/// The research note's hand count (§2.10, §9.2) at the paper scale it proposes (d 256, 4 heads,
/// FFN 1024, 4 + 4 layers, h 64): per implicit transformer the embedding 66,560, four encoder
/// layers of 788,736, four decoder layers of 1,051,904 (cross-attention with LayerNorms on both
/// streams) and the head 66,818: 7,495,938; IDGM 11,428; TARM 8,757. 15.01 M in all, 8% above the
/// paper's 13.89 M (Table 7), which no layer count of the note's reading reproduces exactly.
#[test]
fn parameter_count_is_the_notes_hand_count() {
    let per_transformer = 66_560 + 4 * 788_736 + 4 * 1_051_904 + 66_818;
    assert_eq!(per_transformer, 7_495_938);
    let full = parameter_count(&[]);
    assert_eq!(full, 2 * per_transformer + 11_428 + 8_757);
    let r = full as f64 / 13.89e6;
    assert!((1.0..1.1).contains(&r), "{full} against the paper's 13.89 M: ratio {r:.3}");
    // Three encoder layers (the parameter-matched alternative of A4): 13.44 M.
    let three = parameter_count(&[("enc".into(), mcmr_dsl::check::Value::Int(3))]);
    assert_eq!(three, full - 2 * 788_736);
}

/// A tiny network with an early head (read by the first stage) and a tail that joins later.
const STAGED: &str = r#"network tiny() {
    input image: [1, H, W]
    x = conv2d(image, 4, kernel = 3, padding = 1) as head
    x = relu(x)
    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail
}

experiment {
    seed = 3
    loss = l1(output, target)
    optimizer = adam(lr = 3e-2)
    batch_size = 2
    iterations = ITERATIONS
    data {
        subjects = 4
        slices = 2
        size = 32
        split = [2, 1, 1]
    }
    mask {
        family = "random"
        acceleration = 4
    }
}
"#;

fn write_spec(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("papers").join("tiny.mcmr");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn opts(out: &std::path::Path) -> ReproduceOptions {
    ReproduceOptions { out: out.to_path_buf(), ..ReproduceOptions::default() }
}

fn run_dir(out: &std::path::Path) -> std::path::PathBuf {
    out.join("tiny/base/smoke/default")
}

/// IGKR-Net's training: stages that add modules, one optimiser and one schedule throughout.
#[test]
fn staged_modules_join_one_optimiser_and_one_schedule() {
    let d = std::env::temp_dir().join(format!("mcmr-igkr-joining-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let net = STAGED.replace(
        "    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail\n",
        "    output output = conv2d(x, 1, kernel = 3, padding = 1) as tail\n    output early = conv2d(x, 1, kernel = 1) as early\n",
    );
    let stages = |second: &str| {
        net.replace(
            "    iterations = ITERATIONS\n",
            &format!(
                "    schedule = cosine(t_max = 6, eta_min = 0.0)\n    schedule_span = \"run\"\n    optimizer_state = \"continue\"\n    stage first {{\n        iterations = 3\n        loss = l1(early, target)\n    }}\n{second}"
            ),
        )
    };
    let both = stages("    stage second {\n        iterations = 3\n    }\n");
    reproduce(&write_spec(&d.join("a"), &both), &opts(&d.join("a"))).unwrap();
    let log = std::fs::read_to_string(run_dir(&d.join("a")).join("log.jsonl")).unwrap();
    let lrs: Vec<f64> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["validation"].is_null())
        .map(|v| v["lr"].as_f64().unwrap())
        .collect();
    // One cosine over the six steps of both stages: lr·(1 + cos(πt/6))/2, t = 0..5.
    assert_eq!(lrs.len(), 6);
    for (t, lr) in lrs.iter().enumerate() {
        let want = 3e-2 * (1.0 + (std::f64::consts::PI * t as f64 / 6.0).cos()) / 2.0;
        assert!((lr - want).abs() < 1e-12, "step {t}: {lr} vs {want}");
    }
    // Adam's step counts, in the network's parameter order (head, tail, early): the head trains
    // in both stages (6 steps), the tail joins in the second (3), and the early head is read by
    // the first stage's loss only (3): one optimiser continued, per-parameter counts (PyTorch's).
    let ckpt =
        mcmr::io::safetensors::read_safetensors(&run_dir(&d.join("a")).join("checkpoints/last.safetensors")).unwrap();
    assert_eq!(ckpt["optim.step"].data, [6.0, 6.0, 3.0, 3.0, 3.0, 3.0]);
    // The first stage alone: the tail never ran, so it keeps its initial values.
    let first = stages("");
    reproduce(&write_spec(&d.join("b"), &first), &opts(&d.join("b"))).unwrap();
    reproduce(
        &write_spec(&d.join("u"), &net.replace("    iterations = ITERATIONS\n", "    iterations = 0\n")),
        &opts(&d.join("u")),
    )
    .unwrap();
    let read = |o: &str| {
        mcmr::io::safetensors::read_safetensors(&run_dir(&d.join(o)).join("checkpoints/last.safetensors")).unwrap()
    };
    let (trained, untrained) = (read("b"), read("u"));
    assert_eq!(trained["tail.weight"].data, untrained["tail.weight"].data, "the tail did not run");
    assert_ne!(trained["head.weight"].data, untrained["head.weight"].data, "the head did");
    // Continuing an optimiser needs the same optimiser.
    let other = stages("    stage second {\n        iterations = 3\n        optimizer = sgd(lr = 1e-2)\n    }\n");
    let e = reproduce(&write_spec(&d.join("c"), &other), &opts(&d.join("c"))).unwrap_err();
    assert!(e.contains("continues the previous stage's optimiser"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

/// A training stage computes only what its loss reads, except batch norms, whose running
/// statistics PyTorch's full forward moves on every path.
#[test]
fn pruned_forward_returns_the_wanted_outputs_and_still_runs_batch_norms() {
    let src = r#"
network n() {
    input x: [2, H, W]
    output a = conv2d(x, 2, kernel = 1) as a
    output b = batch_norm(conv2d(x, 3, kernel = 1) as c) as bn
}
"#;
    let model = compile(src);
    let x = data(2, 4, 5);
    let (outs, stats) = model.forward_outputs_stats(vec![x.clone()], true, &["a".to_string()], None).unwrap();
    assert_eq!(outs.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(stats.len(), 1, "the batch norm ran for its statistics");
    let full = model.forward(vec![x.clone()], true).unwrap();
    assert_eq!(values(&outs["a"]), values(&full["a"]));
    let (_, eval_stats) = model.forward_outputs_stats(vec![x], false, &["a".to_string()], None).unwrap();
    assert!(eval_stats.is_empty());
}

/// The spec's network `name` at a tiny size, compiled.
fn spec_network(name: &str) -> CompiledModel {
    spec_network_with(name, &[])
}

/// The same, with float parameters set (`dc_k2`, `dc_out`, ...).
fn spec_network_with(name: &str, floats: &[(&str, f64)]) -> CompiledModel {
    use mcmr_dsl::check::Value;
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/igkr.mcmr");
    let mut small: Vec<(String, Value)> = [("d", 8), ("heads", 2), ("ffn", 16), ("enc", 1), ("dec", 1), ("h", 4)]
        .map(|(k, v)| (k.into(), Value::Int(v)))
        .into();
    small.extend(floats.iter().map(|&(k, v)| (k.to_string(), Value::Float(v))));
    let (_, checked, _) = mcmr::spec::load_spec(&file, Some(name), None, &small).unwrap();
    CompiledModel::new(checked.graph, 5, &device())
}

/// A22's data-consistency variants: `dc_k2` 1 gives HRIT the measured samples in K̂2 (the rest of
/// K̂2 untouched), `dc_out` 1 gives the reconstruction's k-space the measured samples; at 0 both
/// leave the network as printed (K̂2 itself goes to HRIT, and the output's k-space is TARM's).
#[test]
fn data_consistency_variants_put_the_measured_samples_where_a22_says() {
    let (h, w) = (8, 8);
    let mask: Vec<f32> = (0..h * w).map(|i| if i % 3 == 0 || (3..5).contains(&(i / w)) { 1.0 } else { 0.0 }).collect();
    let k: Vec<f32> = (0..2 * h * w).map(|i| ((i * 37 % 29) as f32 - 14.0) / 7.0).collect();
    let run = |floats: &[(&str, f64)]| {
        let model = spec_network_with("igkr", floats);
        model.forward(vec![tensor(k.clone(), [1, 2, h, w]), tensor(mask.clone(), [1, 1, h, w])], false).unwrap()
    };
    let worst_at = |got: &[f32], want: &dyn Fn(usize) -> f32, measured: bool| {
        (0..2 * h * w)
            .filter(|&i| (mask[i % (h * w)] > 0.0) == measured)
            .map(|i| (got[i] - want(i)).abs())
            .fold(0.0f32, f32::max)
    };
    let printed = run(&[]);
    let k2 = values(&printed["k2"]);
    assert_eq!(values(&printed["k2_in"]), k2, "dc_k2 0: HRIT encodes K̂2 itself");
    assert!(worst_at(&k2, &|i| k[i], true) > 1e-2, "K̂2 differs from the measured samples, or the test is empty");
    let dc_k2 = run(&[("dc_k2", 1.0)]);
    let (k2, k2_in) = (values(&dc_k2["k2"]), values(&dc_k2["k2_in"]));
    assert!(worst_at(&k2_in, &|i| k[i], true) < 1e-5, "dc_k2: measured samples in K̂2");
    assert_eq!(worst_at(&k2_in, &|i| k2[i], false), 0.0, "dc_k2: unsampled points of K̂2 unchanged");
    let k4 = values(&printed["k4"]);
    assert!(worst_at(&k4, &|i| k[i], true) > 1e-2, "TARM's k-space is not data-consistent as printed");
    let dc_out = run(&[("dc_out", 1.0)]);
    assert!(worst_at(&values(&dc_out["k4"]), &|i| k[i], true) < 1e-4, "dc_out: measured samples in the output");
    let before = values(&dc_out["image"]);
    assert!(
        before.iter().zip(values(&printed["image"])).any(|(a, b)| (a - b).abs() > 1e-4),
        "dc_out changes the image"
    );
}

/// Table 6's ablations (A19): each network is the full one less the removed module's parameters
/// (the stride-2 convolution of (a) has the shape of the stride-1 one), and every ablation that
/// keeps HRIT keeps the measured samples exactly; (c) feeds LRIT's grid straight to HRIT.
#[test]
fn each_ablation_removes_one_module_and_keeps_the_measured_samples() {
    let count = |name: &str| spec_network(name).meta.graph.parameter_count();
    let full = count("igkr");
    let module = |name: &str| {
        let m = spec_network("igkr");
        m.meta
            .specs
            .iter()
            .filter(|p| !p.buffer && p.path.starts_with(&format!("{name}.")))
            .map(|p| p.shape.iter().product::<usize>())
            .sum::<usize>()
    };
    for (net, removed) in
        [("igkr_no_lrit", "lrit"), ("igkr_no_hrit", "hrit"), ("igkr_no_idgm", "idgm"), ("igkr_no_tarm", "tarm")]
    {
        let m = module(removed);
        assert!(m > 0, "module {removed} has parameters");
        assert_eq!(count(net), full - m, "{net}");
    }
    // 8x8 k-space of one image, 24 sampled points; complex as [re; im].
    let (h, w) = (8, 8);
    let mut mask = vec![0.0f32; h * w];
    for i in 0..h * w {
        if i % 3 == 0 || (3..5).contains(&(i / w)) {
            mask[i] = 1.0;
        }
    }
    let k: Vec<f32> = (0..2 * h * w).map(|i| ((i * 37 % 29) as f32 - 14.0) / 7.0).collect();
    for net in ["igkr", "igkr_no_lrit", "igkr_no_idgm", "igkr_no_tarm"] {
        let model = spec_network(net);
        let out =
            model.forward(vec![tensor(k.clone(), [1, 2, h, w]), tensor(mask.clone(), [1, 1, h, w])], false).unwrap();
        let k3 = values(&out["k3"]);
        for (i, &m) in mask.iter().enumerate() {
            if m > 0.0 {
                assert_eq!((k3[i], k3[h * w + i]), (k[i], k[h * w + i]), "{net}: measured sample {i}");
            }
        }
        assert_eq!(out["image"].dims(), [1, 1, h, w], "{net}");
    }
    let out =
        spec_network("igkr_no_hrit").forward(vec![tensor(k, [1, 2, h, w]), tensor(mask, [1, 1, h, w])], false).unwrap();
    assert_eq!(out["k1"].dims(), [1, 2, h / 2, w / 2]);
    assert!(!out.contains_key("k3"), "no HRIT, no K̂3");
}

/// The FLOP count against hand formulas on a network of known shapes: a 3x3 convolution (8→16
/// channels at 10x12: 16·120·8·9 MACs), a linear layer on 30 points (4→6: 30·4·6), token
/// attention of 30 queries over 30 keys of 6 channels (q kᵀ and A v: 2·30·30·6) and a centred
/// complex FFT of one 10x12 channel (5·120·⌈log₂ 120⌉).
#[test]
fn flop_count_follows_the_hand_formulas() {
    let src = r#"
network n() {
    input x: [8, H, W]
    input p: [4, N, One]
    input z: complex [1, H, W]
    output c = conv2d(x, 16, kernel = 3, padding = 1) as c
    t = linear(p, 6) as t
    output a = token_attention(t, t, t, heads = 2)
    output k = fft2(z, shift = true)
}
"#;
    let model = compile(src);
    let shapes = |outs: &[Tensor<4>]| outs.iter().map(|t| t.dims()).collect::<Vec<_>>();
    let x = tensor(vec![0.5; 8 * 10 * 12], [1, 8, 10, 12]);
    let p = tensor(vec![0.25; 4 * 30], [1, 4, 30, 1]);
    let z = tensor(vec![1.0; 2 * 10 * 12], [1, 2, 10, 12]);
    let values = model.forward_all(vec![x, p, z], false).unwrap();
    let report = mcmr::model::flops::count(&model.meta.graph, &shapes(&values));
    let get = |m: &str| report.modules.iter().find(|(name, _)| name == m).map(|(_, c)| c.clone()).unwrap();
    assert_eq!(get("c").weight_macs, 16 * 120 * 8 * 9);
    assert_eq!(get("t").weight_macs, 30 * 4 * 6);
    let network = get("(network)");
    assert_eq!(network.attention_macs, 2 * 30 * 30 * 6);
    // Softmax over 2 heads of 30x30 scores (5 per score) and the FFT (⌈log₂ 120⌉ = 7).
    assert_eq!(network.other_flops, 5 * 2 * 30 * 30 + 5 * 120 * 7);
    assert_eq!(report.total.weight_macs, 16 * 120 * 8 * 9 + 30 * 4 * 6);
    assert_eq!(
        report.total.total_flops(),
        2 * (report.total.weight_macs + report.total.attention_macs) + report.total.other_flops
    );
}

/// A staged network's intermediate outputs scored over the test slices (C11's check): on a
/// one-slice test set the mean is that slice's PSNR at the target's span, computed here by hand
/// from the output itself; an unknown output is refused by name.
#[test]
fn output_psnr_scores_an_output_against_the_target_by_hand() {
    let d = std::env::temp_dir().join(format!("mcmr-igkr-outputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let spec_text = STAGED
        .replace("    iterations = ITERATIONS\n", "    iterations = 2\n")
        .replace("        slices = 2\n", "        slices = 1\n");
    let spec = write_spec(&d, &spec_text);
    reproduce(&spec, &opts(&d)).unwrap();
    let dir = run_dir(&d);
    let acts = mcmr::experiment::run_activations(&dir, &spec, &["output", "target"]).unwrap();
    let (out, target): (Vec<f64>, Vec<f64>) =
        (acts[0].values.iter().map(|&v| v as f64).collect(), acts[1].values.iter().map(|&v| v as f64).collect());
    let span = target.iter().cloned().fold(f64::MIN, f64::max) - target.iter().cloned().fold(f64::MAX, f64::min);
    let mse = out.iter().zip(&target).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / out.len() as f64;
    let want = 10.0 * (span * span / mse).log10();
    let got = mcmr::experiment::run_output_psnr(&dir, &spec, &["output"]).unwrap();
    assert_eq!(got.len(), 1, "one test slice");
    assert!((got[0][0] - want).abs() < 1e-9, "{} vs {want}", got[0][0]);
    let e = mcmr::experiment::run_output_psnr(&dir, &spec, &["nope"]).unwrap_err();
    assert!(e.contains("no output `nope`"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}
