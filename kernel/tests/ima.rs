//! IMA (papers/ima.mcmr) has no official code, so no parity fixture can exist: these are the
//! research note's §9 checks, each against an independent computation. The DCM schedule
//! (properties, and fill ratios against the note's NumPy simulation), the three-region k-space
//! update of Eqs. 18-19 (data consistency exact before the real projection), the closed-form G
//! step (Eq. 22 minimises Eq. 11's quadratic), the Eq. 21 identity of the two-stream attention,
//! and the parameter count against a hand count and the paper's 1.53 M / 1.33 M.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::masks::dcm::{dilate, fill, DcmKernel, DcmSchedule};
use mcmr::masks::{generate, MaskFamily, MaskParams};
use mcmr::model::CompiledModel;
use mcmr::rng::Seed;
use std::path::Path;

fn compile(src: &str) -> CompiledModel {
    let spec = mcmr_dsl::parse(src).unwrap_or_else(|d| panic!("{}", d.render(src, "test")));
    let checked = mcmr_dsl::check::elaborate(&spec, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(src, "test")).collect::<String>()));
    CompiledModel::new(checked.graph, 5, &Device::flex().autodiff())
}

fn tensor(v: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(v, shape), &Device::flex().autodiff())
}

fn values(t: &Tensor<4>) -> Vec<f32> {
    t.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

fn random_1d_mask(size: usize, acceleration: f64, cf: f64) -> Vec<bool> {
    let p = MaskParams::new(MaskFamily::Random, [size, size], acceleration).center_fraction(cf).seed(Seed::Int(0));
    generate(&p).unwrap().data.iter().map(|&m| m > 0).collect()
}

/// The schedule's shape (note §9.1): m₁ = m_T = M₀, a palindrome, rising then falling, every
/// stage mask a superset of M₀, at most T/2 − 1 dilations.
#[test]
fn the_dcm_schedule_rises_and_contracts_back_to_the_sampling_mask() {
    for (acc, cf) in [(4.0, 0.08), (8.0, 0.04)] {
        let m0 = random_1d_mask(64, acc, cf);
        for stages in [6, 12, 14] {
            let s = DcmSchedule::new(&m0, 64, 64, stages, DcmKernel::Ones3, 3, 0.9);
            assert_eq!(s.stage(1), &m0[..]);
            assert_eq!(s.stage(stages), &m0[..]);
            let idx = &s.stage_index;
            assert!(idx.iter().eq(idx.iter().rev()), "palindrome: {idx:?}");
            assert!(s.dilations.len() - 1 <= stages / 2 - 1);
            let fills = s.stage_fills();
            let peak = stages / 2;
            assert!(fills[..peak].windows(2).all(|w| w[0] <= w[1]), "rising: {fills:?}");
            assert!(fills[peak - 1..].windows(2).all(|w| w[0] >= w[1]), "falling: {fills:?}");
            for t in 1..=stages {
                assert!(s.stage(t).iter().zip(&m0).all(|(&m, &z)| m || !z), "stage {t} drops a sample");
            }
        }
    }
}

/// Fill ratios against the note's NumPy simulation (§2.3: fastMRI-style random 1D masks with
/// seed 0 at 256x256, 3x3 ones, δ = 3): 4x (cf 0.08) 0.266 0.537 0.720 0.832 0.902, stopped by
/// the ratio at J = 4; 8x (cf 0.04) 0.117 … 0.616, stopped by the T/2 cap at J = 5. A 1D mask
/// grows by whole columns (but the first and last rows), so the ratios follow from the column
/// pattern: the same seed gives the same columns as fastMRI's generator, which the kit matches bit
/// for bit.
#[test]
fn dcm_fill_ratios_match_the_notes_simulation() {
    for (acc, cf, want, j) in [
        (4.0, 0.08, vec![0.266, 0.537, 0.720, 0.832, 0.902], 4),
        (8.0, 0.04, vec![0.117, 0.245, 0.365, 0.469, 0.551, 0.616], 5),
    ] {
        let m0 = random_1d_mask(256, acc, cf);
        let s = DcmSchedule::new(&m0, 256, 256, 12, DcmKernel::Ones3, 3, 0.9);
        let got: Vec<f64> = s.dilations.iter().map(|d| fill(d)).collect();
        assert_eq!(s.dilations.len() - 1, j, "{acc}x: {got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 6e-4, "{acc}x: {got:?} vs {want:?}");
        }
    }
}

/// One dilation of a single sampled point under each kernel, by hand: with δ = 1 the known set
/// becomes the kernel's footprint; with δ = 2 nothing new is reached from one point.
#[test]
fn each_kernel_dilates_a_point_into_its_footprint() {
    let (h, w) = (7, 7);
    let mut m0 = vec![false; h * w];
    m0[3 * w + 3] = true;
    for (kernel, count) in [(DcmKernel::Ones3, 9), (DcmKernel::Cross3, 5), (DcmKernel::Ones5, 25), (DcmKernel::None, 1)]
    {
        let d = dilate(&m0, &m0, h, w, kernel, 1);
        assert_eq!(d.iter().filter(|&&b| b).count(), count, "{kernel:?}");
        assert_eq!(dilate(&m0, &m0, h, w, kernel, 2), m0, "{kernel:?} at δ = 2");
    }
}

/// Eqs. 18-19 as the spec writes them (two data-consistency steps): in k-space, before the real
/// projection, the measured samples are exactly Z, the dilated ring keeps the stage's input and
/// the rest is the new estimate; the stage mask comes from `dcm_mask` in the forward pass.
#[test]
fn the_three_region_update_keeps_samples_ring_and_estimate() {
    let src = r#"
network n() {
    input x: [2, H, W]
    input x_temp: [2, H, W]
    input z: complex [2, H, W]
    input m0: [1, H, W]
    m = dcm_mask(m0, 2, 6)
    output mask = m
    output k = fft2(data_consistency(data_consistency(x_temp, fft2(x, shift = true), m), z, m0), shift = true)
    output k_in = fft2(x, shift = true)
    output k_temp = fft2(x_temp, shift = true)
}
"#;
    let (h, w) = (8usize, 10usize);
    let n = h * w;
    let x: Vec<f32> = (0..2 * n).map(|i| ((i * 37 % 23) as f32) / 11.0 - 1.0).collect();
    let xt: Vec<f32> = (0..2 * n).map(|i| ((i * 53 % 19) as f32) / 9.0 - 1.0).collect();
    let z: Vec<f32> = (0..4 * n).map(|i| ((i * 29 % 17) as f32) / 8.0 - 1.0).collect();
    let cols = [2usize, 5, 6];
    let m0: Vec<f32> = (0..n).map(|i| cols.contains(&(i % w)) as u8 as f32).collect();
    let model = compile(src);
    let o = model
        .forward(
            vec![
                tensor(x, [1, 2, h, w]),
                tensor(xt, [1, 2, h, w]),
                tensor(z.clone(), [1, 4, h, w]),
                tensor(m0.clone(), [1, 1, h, w]),
            ],
            false,
        )
        .unwrap();
    let mask = values(&o["mask"]);
    // Stage 2 of 6 is the first dilation: columns 1, 3, 4 and 7 join (rows 1..h-1).
    let bool_m0: Vec<bool> = m0.iter().map(|&v| v > 0.5).collect();
    let want_mask = dilate(&bool_m0, &bool_m0, h, w, DcmKernel::Ones3, 3);
    assert!(mask.iter().zip(&want_mask).all(|(&a, &b)| (a > 0.5) == b));
    assert!(want_mask.iter().filter(|&&b| b).count() > bool_m0.iter().filter(|&&b| b).count());
    let (k, k_in, k_temp) = (values(&o["k"]), values(&o["k_in"]), values(&o["k_temp"]));
    for part in 0..4 {
        for i in 0..n {
            let j = part * n + i;
            let want = if m0[i] > 0.5 {
                z[j]
            } else if mask[i] > 0.5 {
                k_in[j]
            } else {
                k_temp[j]
            };
            assert!((k[j] - want).abs() < 1e-4, "plane {part} point {i}: {} vs {want}", k[j]);
        }
    }
}

/// Eq. 22's closed form `(a + αx)/(1 + α)` minimises Eq. 11's `½‖a − G‖² + (α/2)‖x − G‖²`:
/// its gradient there is zero, and a step either way raises the objective.
#[test]
fn the_g_step_minimises_its_quadratic() {
    let src = r#"
network n() {
    input a: [3, H, W]
    input x: [3, H, W]
    output g = weighted_average(a, x, init = 0.7) as alpha
}
"#;
    let (h, w) = (4usize, 5usize);
    let a: Vec<f32> = (0..3 * h * w).map(|i| ((i * 31 % 13) as f32) / 6.0 - 1.0).collect();
    let x: Vec<f32> = (0..3 * h * w).map(|i| ((i * 17 % 11) as f32) / 5.0 - 1.0).collect();
    let model = compile(src);
    let o = model.forward(vec![tensor(a.clone(), [1, 3, h, w]), tensor(x.clone(), [1, 3, h, w])], false).unwrap();
    let g = values(&o["g"]);
    let alpha = 0.7f64;
    let objective = |g: &[f64]| -> f64 {
        g.iter()
            .zip(&a)
            .zip(&x)
            .map(|((&g, &a), &x)| 0.5 * (a as f64 - g).powi(2) + 0.5 * alpha * (x as f64 - g).powi(2))
            .sum()
    };
    let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
    for (i, gi) in g64.iter().enumerate() {
        let grad = (gi - a[i] as f64) + alpha * (gi - x[i] as f64);
        assert!(grad.abs() < 1e-5, "gradient at {i}: {grad}");
    }
    let base = objective(&g64);
    for eps in [1e-2, -1e-2] {
        let moved: Vec<f64> = g64.iter().enumerate().map(|(i, v)| v + if i % 3 == 0 { eps } else { 0.0 }).collect();
        assert!(objective(&moved) > base);
    }
}

/// Eq. 21: `Q_catᵀ K_i = Q₁ᵀK_i′ + Q₂ᵀK_i″`. The primitive sums the two affinities; by hand the
/// queries and keys are concatenated along the pixel axis and multiplied once, then softmax with
/// the temperature (1) and the product with V.
#[test]
fn two_stream_channel_attention_is_one_product_over_the_concatenated_axis() {
    let src = r#"
network n() {
    input q1: [4, H, W]
    input q2: [4, H, W]
    input k1: [4, H, W]
    input k2: [4, H, W]
    input v: [4, H, W]
    output o = cross_channel_attention(q1, q2, k1, k2, v, heads = 2) as attn
}
"#;
    let (h, w, c, heads) = (3usize, 5usize, 4usize, 2usize);
    let n = h * w;
    let make = |seed: usize| -> Vec<f32> { (0..c * n).map(|i| (((i + 3) * seed % 29) as f32) / 14.0 - 1.0).collect() };
    let (q1, q2, k1, k2, v) = (make(7), make(11), make(13), make(17), make(19));
    let model = compile(src);
    let o = model
        .forward([&q1, &q2, &k1, &k2, &v].iter().map(|t| tensor(t.to_vec(), [1, c, h, w])).collect(), false)
        .unwrap();
    let got = values(&o["o"]);
    let d = c / heads;
    let unit = |t: &[f32], ch: usize| -> Vec<f64> {
        let row: Vec<f64> = t[ch * n..(ch + 1) * n].iter().map(|&v| v as f64).collect();
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        row.iter().map(|v| v / norm).collect()
    };
    for head in 0..heads {
        for i in 0..d {
            let ci = head * d + i;
            // Q_cat row i: [q̂1_i, q̂2_i] over 2·H·W pixels.
            let qcat: Vec<f64> = unit(&q1, ci).into_iter().chain(unit(&q2, ci)).collect();
            let logits: Vec<f64> = (0..d)
                .map(|j| {
                    let cj = head * d + j;
                    let kcat: Vec<f64> = unit(&k1, cj).into_iter().chain(unit(&k2, cj)).collect();
                    qcat.iter().zip(&kcat).map(|(a, b)| a * b).sum()
                })
                .collect();
            let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
            let s: f64 = e.iter().sum();
            for p in 0..n {
                let want: f64 = (0..d).map(|j| e[j] / s * v[(head * d + j) * n + p] as f64).sum();
                let g = got[ci * n + p] as f64;
                assert!((g - want).abs() < 1e-5, "head {head} channel {i} pixel {p}: {g} vs {want}");
            }
        }
    }
}

/// The windowed form (the note's A9 alternative, Swin-style): per head and window, the same
/// self + cross affinity summed over channels, scaled by 1/√(2d), plus the relative position
/// bias read from the table at `(Δrow + w − 1)·(2w − 1) + Δcol + w − 1`; checked by loops on a
/// 4x6 input in windows of 2 (two batch items, two heads), with a table of distinct values.
#[test]
fn two_stream_window_attention_follows_the_loops() {
    let src = r#"
network n() {
    input q1: [4, H, W]
    input q2: [4, H, W]
    input k1: [4, H, W]
    input k2: [4, H, W]
    input v: [4, H, W]
    output o = cross_window_attention(q1, q2, k1, k2, v, heads = 2, window = 2) as attn
}
"#;
    let (bsz, c, h, w, heads, win) = (2usize, 4usize, 4usize, 6usize, 2usize, 2usize);
    let n = h * w;
    let make =
        |seed: usize| -> Vec<f32> { (0..bsz * c * n).map(|i| (((i + 5) * seed % 31) as f32) / 15.0 - 1.0).collect() };
    let (q1, q2, k1, k2, v) = (make(7), make(11), make(13), make(17), make(19));
    let span = 2 * win - 1;
    let table: Vec<f64> = (0..span * span * heads).map(|i| ((i * 7 % 11) as f64 - 5.0) / 10.0).collect();
    let st = |shape: Vec<usize>, data: Vec<f64>| mcmr::io::safetensors::StTensor { dtype: "F32".into(), data, shape };
    let mut tensors = std::collections::BTreeMap::new();
    tensors.insert("attn.relative_position_bias_table".to_string(), st(vec![span * span, heads], table.clone()));
    let model = compile(src).load_tensors(&tensors, &Vec::new(), &[], "test").unwrap();
    let o = model
        .forward([&q1, &q2, &k1, &k2, &v].iter().map(|t| tensor(t.to_vec(), [bsz, c, h, w])).collect(), false)
        .unwrap();
    let got = values(&o["o"]);
    let d = c / heads;
    let at = |t: &[f32], b: usize, ch: usize, r: usize, col: usize| t[((b * c + ch) * h + r) * w + col] as f64;
    for b in 0..bsz {
        for head in 0..heads {
            for (r, col) in (0..h).flat_map(|r| (0..w).map(move |col| (r, col))) {
                // The query pixel's window and the window's pixels.
                let (r0, c0) = (r / win * win, col / win * win);
                let pixels: Vec<(usize, usize)> =
                    (0..win).flat_map(|i| (0..win).map(move |j| (r0 + i, c0 + j))).collect();
                let logits: Vec<f64> = pixels
                    .iter()
                    .map(|&(kr, kc)| {
                        let dot: f64 = (0..d)
                            .map(|i| {
                                let ch = head * d + i;
                                at(&q1, b, ch, r, col) * at(&k1, b, ch, kr, kc)
                                    + at(&q2, b, ch, r, col) * at(&k2, b, ch, kr, kc)
                            })
                            .sum();
                        let row = (r - r0) + win - 1 - (kr - r0);
                        let cl = (col - c0) + win - 1 - (kc - c0);
                        dot / ((2 * d) as f64).sqrt() + table[(row * span + cl) * heads + head]
                    })
                    .collect();
                let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
                let s: f64 = e.iter().sum();
                for i in 0..d {
                    let ch = head * d + i;
                    let want: f64 = pixels.iter().zip(&e).map(|(&(kr, kc), e)| e / s * at(&v, b, ch, kr, kc)).sum();
                    let g = got[((b * c + ch) * h + r) * w + col] as f64;
                    assert!((g - want).abs() < 1e-5, "item {b} channel {ch} pixel ({r}, {col}): {g} vs {want}");
                }
            }
        }
    }
    // A size the windows do not tile is refused, naming the node.
    let bad = tensor(vec![0.0; c * 4 * 5], [1, c, 4, 5]);
    let err = model.forward(vec![bad.clone(), bad.clone(), bad.clone(), bad.clone(), bad], false).unwrap_err();
    assert!(err.to_string().contains("`attn`") && err.to_string().contains("multiples of 2"), "{err}");
}

/// `mcmr flops` on IMA at the paper's configuration (C = 32, 4 heads, T = 12), 64x64 (every
/// count scales with the pixels; the paper's 256x256 is 16 times these): the convolution MACs
/// equal the note's hand count (§2.1: 5 blocks x 12 stages, the reference embedding 1 -> 32 -> 32,
/// per stage CSCA's two 1x1 projections to 4C, depthwise 3x3 and 5x5 and the 2C -> C merge), and
/// the attention MACs the channel affinities' (three C/h-square products per head, two calls a
/// stage). At 256² that is 88.0 G with CSCA and 73.1 G without, against the paper's 107.92 G and
/// 103.28 G (Table 2a; the note's design is 18-29 % short, as it says).
#[test]
fn macs_at_the_paper_configuration_match_the_hand_count() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/ima.mcmr");
    let count = |variant: &[&str]| -> serde_json::Value {
        let mut args = vec!["flops", spec.to_str().unwrap(), "--experiment", "ixi_radial_x8", "--size", "64", "--json"];
        args.extend(["--param", "c=32", "--param", "heads=4", "--param", "stages=12"]);
        args.extend(variant);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcmr")).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let px = 64u64 * 64;
    let block = 2 * 9 * 32 * 32 * px;
    let embedding = (9 * 32 + 9 * 32 * 32) * px;
    let csca = (2 * (32 * 128 + 128 * 9 + 128 * 25) + 64 * 32) * px;
    let full = count(&[]);
    assert_eq!(full["total"]["weight_macs"].as_u64().unwrap(), 60 * block + embedding + 12 * csca);
    assert_eq!(full["total"]["attention_macs"].as_u64().unwrap(), 12 * 2 * 3 * 4 * 8 * 8 * px);
    let without = count(&["--variant", "no_csca"]);
    assert_eq!(without["total"]["weight_macs"].as_u64().unwrap(), 60 * block + embedding);
    assert_eq!(without["total"]["attention_macs"].as_u64().unwrap(), 0);
    // The windowed form: per head two 64x64-pixel affinities and the product with v, d = 8.
    let window = count(&["--variant", "csca_window"]);
    assert_eq!(window["total"]["weight_macs"], full["total"]["weight_macs"]);
    assert_eq!(window["total"]["attention_macs"].as_u64().unwrap(), 12 * 2 * 3 * 4 * 8 * 64 * px);
}

fn parameter_count(variant: Option<&str>, overrides: &[(String, mcmr_dsl::check::Value)]) -> usize {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/ima.mcmr");
    let (_, checked, _) = mcmr::spec::load_spec(&file, Some("ima"), variant, overrides).unwrap();
    checked.graph.parameter_count()
}

/// The note's hand count at C = 32, T = 12: five conv blocks per stage (18,496 each:
/// 1,109,760 in all), the reference embedding (9,568), CSCA per stage (19,880: LayerNorms 128,
/// 1x1 projections 8,448, depthwise 3x3 2,560 and 5x5 6,656, temperatures 8, merge 2,080) and
/// five scalars per stage. The paper's Table 2(a): 1.53 M with CSCA, 1.33 M without; the spec's
/// choices (A1, A9) land within the note's ±25 % band.
#[test]
fn parameter_counts_match_the_hand_count_and_the_papers_band() {
    let full = parameter_count(None, &[]);
    assert_eq!(full, 1_109_760 + 9_568 + 12 * 19_880 + 12 * 5);
    let no_csca = parameter_count(Some("no_csca"), &[]);
    assert_eq!(no_csca, 1_109_760 + 9_568 + 12 * 5);
    assert_eq!(parameter_count(Some("no_dcm"), &[]), full, "DCM has no parameters");
    for (got, paper) in [(full, 1.53e6), (no_csca, 1.33e6)] {
        let r = got as f64 / paper;
        assert!((0.75..=1.25).contains(&r), "{got} against the paper's {paper}: ratio {r:.3}");
    }
}

/// A run's manifest records DCM's stage fill ratios on its first test mask: one entry per
/// distinct setting of the spec's stages (the base spec has one), rising from the mask's own fill
/// and back (a palindrome); `no_dcm` (kernel `none`) keeps the mask's own fill at every stage;
/// nothing without a mask.
#[test]
fn the_manifest_records_the_dcm_fill_ratios_of_the_first_test_mask() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/ima.mcmr");
    let p = MaskParams::new(MaskFamily::Random, [32, 32], 4.0).center_fraction(0.08).seed(Seed::Int(0));
    let mask = generate(&p).unwrap();
    let own = mask.sampled_fraction();
    for (variant, grows) in [(None, true), (Some("no_dcm"), false)] {
        let (_, checked, _) = mcmr::spec::load_spec(&file, Some("ima"), variant, &[]).unwrap();
        let got = mcmr::experiment::manifest::describe_dcm(&checked.graph, Some(&mask)).expect("DCM nodes");
        let settings = got.as_array().unwrap();
        assert_eq!(settings.len(), 1, "{got}");
        let fills: Vec<f64> =
            settings[0]["stage_fills"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(fills.len() as u64, settings[0]["setting"]["stages"].as_u64().unwrap());
        assert!((fills[0] - own).abs() < 1e-4 && (fills[fills.len() - 1] - own).abs() < 1e-4, "{fills:?} vs {own}");
        assert!(fills.iter().zip(fills.iter().rev()).all(|(a, b)| a == b), "{fills:?}");
        assert_eq!(fills.iter().any(|&f| f > own + 0.01), grows, "{variant:?}: {fills:?}");
        assert!(mcmr::experiment::manifest::describe_dcm(&checked.graph, None).is_none());
    }
}

/// IXI at paper scale takes the group's 10 fixed slice indices of volumes with at least 120
/// slices (note A19); a phantom has no such volumes, and `slices` with `slice_indices` is
/// ambiguous: both are refused before any work, naming the setting.
#[test]
fn fixed_slice_indices_pick_real_volumes_slices_and_are_refused_for_phantoms() {
    use mcmr::data::prepare::SliceSelection;
    use mcmr::experiment::{plan_runs, ReproduceOptions};
    let sel = SliceSelection::Indices { indices: vec![40, 50, 110, 130], min_slices: 120 };
    assert_eq!(sel.indices(150), vec![40, 50, 110, 130]);
    assert_eq!(sel.indices(125), vec![40, 50, 110]);
    assert!(sel.indices(119).is_empty());
    let papers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers");
    let paper = ReproduceOptions { scale: "paper".into(), data: Some(std::env::temp_dir()), ..Default::default() };
    let runs = plan_runs(&papers.join("ima.mcmr"), &paper).unwrap();
    let want = SliceSelection::Indices { indices: vec![40, 50, 60, 70, 75, 80, 85, 90, 100, 110], min_slices: 120 };
    let (ixi, knee): (Vec<_>, Vec<_>) = runs.iter().partition(|r| !r.config.experiment.starts_with("fastmri_"));
    assert!(ixi.iter().all(|r| r.config.test_data.slices == want && r.config.train_data.slices == want));
    // fastMRI: every slice but 0-8 (the group's loader), k-space simulated from the images.
    let knee_slices = SliceSelection::Indices { indices: (9..60).collect(), min_slices: 1 };
    assert_eq!(knee.len(), 22, "Table 1's fastMRI columns (4 rows + zero filling) and Table 2(b)'s kernels");
    assert!(knee.iter().all(|r| r.config.test_data.slices == knee_slices && r.config.test_data.fastmri_simulated));
    assert_eq!(knee_slices.indices(36), (9..36).collect::<Vec<_>>());
    let published =
        mcmr::experiment::published::read_published(&papers.join("../reference_results/ima/published.json")).unwrap();
    let cells: Vec<&String> = knee.iter().flat_map(|r| &r.config.reproduces).collect();
    assert_eq!(cells.len(), 19, "16 cells of Table 1's fastMRI columns, 3 of Table 2(b)'s");
    for cell in cells {
        let p: Vec<&str> = cell.split('/').collect();
        assert!(published.value(p[0], p[1], p[2], "psnr").is_some(), "{cell}");
    }
    let d = std::env::temp_dir().join(format!("mcmr-ima-slices-{}", std::process::id()));
    std::fs::create_dir_all(d.join("baselines")).unwrap();
    for f in
        ["baselines/zero_filled.mcmr", "baselines/unet.mcmr", "baselines/dudornet.mcmr", "baselines/mc_varnet.mcmr"]
    {
        std::fs::copy(papers.join(f), d.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(papers.join("ima.mcmr")).unwrap();
    for (edit, expect) in [("slice_indices = [1, 2]", "phantom"), ("slices = 8\n slice_indices = [1]", "not both")] {
        std::fs::write(d.join("ima.mcmr"), text.replacen("slices = 8", edit, 1)).unwrap();
        let e = plan_runs(&d.join("ima.mcmr"), &ReproduceOptions::default()).unwrap_err();
        assert!(e.contains("slice_indices") && e.contains(expect), "{e}");
    }
    std::fs::remove_dir_all(d).unwrap();
}
