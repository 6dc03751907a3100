//! Primitives compiled from specs, checked by properties that hold whatever the implementation:
//! FFT round trips, Parseval, polar/complex round trips, softmax sums, shared weights.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::model::CompiledModel;

fn compile(src: &str) -> CompiledModel {
    let spec = mcmr_dsl::parse(src).unwrap_or_else(|d| panic!("{}", d.render(src, "test")));
    let checked = mcmr_dsl::check::elaborate(&spec, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(src, "test")).collect::<String>()));
    CompiledModel::new(checked.graph, 3, &Device::flex().autodiff())
}

fn input(c: usize, h: usize, w: usize) -> Tensor<4> {
    let v: Vec<f32> = (0..2 * c * h * w).map(|i| (i * 7919 % 101) as f32 / 50.0 - 1.0).collect();
    Tensor::<4>::from_data(TensorData::new(v, [2, c, h, w]), &Device::flex().autodiff())
}

/// `[1, c, h, w]` from values in that order, on the autodiff CPU device.
fn planes(v: Vec<f32>, c: usize, h: usize, w: usize) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(v, [1, c, h, w]), &Device::flex().autodiff())
}

fn max_abs(t: Tensor<4>) -> f32 {
    t.abs().max().into_scalar()
}

fn run(src: &str, x: Tensor<4>) -> std::collections::BTreeMap<String, Tensor<4>> {
    compile(src).forward(vec![x], true).unwrap()
}

#[test]
fn spectral_primitives_round_trip_and_preserve_energy() {
    let src = r#"
network n() {
    input x: [3, H, W]
    z = rfft2(x, norm = "ortho")
    output back = irfft2(z, x, norm = "ortho")
    k = fft2(x, norm = "ortho", shift = true)
    output again = real(ifft2(k, norm = "ortho", shift = true))
    output zero_imag = imag(ifft2(k, norm = "ortho", shift = true))
    output energy = magnitude(k)
    output rebuilt = real(polar(magnitude(z), phase(z)))
    output re = real(z)
    output pair = imag(complex(real(z), imag(z)))
    output im = imag(z)
}
"#;
    for (h, w) in [(8, 8), (9, 14)] {
        let x = input(3, h, w);
        let o = run(src, x.clone());
        assert!(max_abs(o["back"].clone() - x.clone()) < 1e-5, "irfft2(rfft2(x)) at {h}x{w}");
        assert!(max_abs(o["again"].clone() - x.clone()) < 1e-5);
        assert!(max_abs(o["zero_imag"].clone()) < 1e-5);
        let e_img: f32 = (x.clone() * x.clone()).sum().into_scalar();
        let m = o["energy"].clone();
        let e_k: f32 = (m.clone() * m).sum().into_scalar();
        assert!((e_img - e_k).abs() < 1e-3 * e_img, "Parseval: {e_img} vs {e_k}");
        assert!(max_abs(o["rebuilt"].clone() - o["re"].clone()) < 1e-5, "polar(|z|, arg z) = z");
        assert!(max_abs(o["pair"].clone() - o["im"].clone()) < 1e-6);
    }
}

/// `view_as_real` stacks real then imaginary parts along channels and `view_as_complex` reads
/// them back (MANet's 2-channel k-space maps); a loss sees the same view.
#[test]
fn complex_views_stack_real_then_imaginary_parts() {
    let src = r#"
network n() {
    input x: [3, H, W]
    k = fft2(x, norm = "ortho")
    output v = view_as_real(k)
    output re = real(k)
    output im = imag(k)
    output back = real(ifft2(view_as_complex(view_as_real(k)), norm = "ortho"))
}
"#;
    let x = input(3, 6, 10);
    let o = run(src, x.clone());
    assert_eq!(o["v"].dims(), [2, 6, 6, 10]);
    assert!(max_abs(o["v"].clone().narrow(1, 0, 3) - o["re"].clone()) == 0.0);
    assert!(max_abs(o["v"].clone().narrow(1, 3, 3) - o["im"].clone()) == 0.0);
    assert!(max_abs(o["back"].clone() - x) < 1e-5);
    let odd = mcmr_dsl::parse("network n() {\n    input x: [3, H, W]\n    output y = magnitude(view_as_complex(x))\n}")
        .unwrap();
    let errors = mcmr_dsl::check::elaborate(&odd, None, None, &[]).unwrap_err();
    assert!(errors[0].message.contains("even number of channels"), "{}", errors[0].message);
}

#[test]
fn elementwise_and_pooling_primitives_behave_as_documented() {
    let src = r#"
network n() {
    input x: [4, H, W]
    output plus = x + 1e-8
    output probs = softmax(x, dim = 1)
    output mean = channel_mean(x)
    output pooled = global_avg_pool(x)
    output peak = global_max_pool(x)
    output up = upsample(x, factor = 2)
    output scaled = learnable_scale(x, init = 0.5)
    output clean = nan_to_num(x)
}
"#;
    let x = input(4, 6, 5);
    let o = run(src, x.clone());
    assert!(max_abs(o["plus"].clone() - (x.clone() + 1e-8)) == 0.0);
    let sums = o["probs"].clone().sum_dim(1);
    assert!(max_abs(sums - 1.0) < 1e-6);
    assert!(max_abs(o["mean"].clone() - x.clone().mean_dim(1)) < 1e-6);
    assert_eq!(o["pooled"].dims(), [2, 4, 1, 1]);
    // The maximum of each channel, by hand over the host values.
    let (values, peak) = (
        x.clone().into_data().try_to_vec::<f32>().unwrap(),
        o["peak"].clone().into_data().try_to_vec::<f32>().unwrap(),
    );
    let by_hand: Vec<f32> = values.chunks(6 * 5).map(|c| c.iter().cloned().fold(f32::MIN, f32::max)).collect();
    assert_eq!((o["peak"].dims(), peak), ([2, 4, 1, 1], by_hand));
    let up = o["up"].clone();
    assert_eq!(up.dims(), [2, 4, 12, 10]);
    assert!(max_abs(up.narrow(2, 3, 1).narrow(3, 5, 1) - x.clone().narrow(2, 1, 1).narrow(3, 2, 1)) == 0.0);
    assert!(max_abs(o["scaled"].clone() - x.clone() * 0.5) < 1e-7);
    assert!(max_abs(o["clean"].clone() - x) == 0.0);
}

#[test]
fn shared_instances_reuse_one_set_of_weights() {
    let src = r#"
network n() {
    input x: [4, H, W]
    a = conv2d(x, 4, padding = 1) as shared_conv
    output y = conv2d(a, 4, padding = 1) as shared shared_conv
}
"#;
    let model = compile(src);
    assert_eq!(model.graph().parameter_count(), 4 * 4 * 9 + 4);
    let x = input(4, 5, 5).require_grad();
    let y = model.forward(vec![x.clone()], true).unwrap()["y"].clone();
    // The same convolution applied twice by hand.
    let w = model.params[0].val();
    let b = model.params[1].val().reshape([4]);
    let conv = |t: Tensor<4>| {
        burn::tensor::module::conv2d(
            t,
            w.clone(),
            Some(b.clone()),
            burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        )
    };
    assert!(max_abs(y.clone() - conv(conv(x))) < 1e-6);
    let grads = y.sum().backward();
    assert!(model.params[0].val().grad(&grads).is_some(), "the shared weight receives the gradient of both calls");
}

#[test]
fn padding_and_channel_statistics() {
    let src = r#"
network n() {
    input x: [3, H, W]
    output padded = pad(x, top = 1, left = 2, mode = "reflect")
    output std = channel_std(x)
    output spatial_std = global_std_pool(x)
    output unbiased_std = global_std_pool(x, correction = 1)
}
"#;
    let x = input(3, 4, 5);
    let host = x.clone().into_data().try_to_vec::<f32>().unwrap();
    let o = run(src, x.clone());
    let p = o["padded"].clone();
    assert_eq!(p.dims(), [2, 3, 5, 7]);
    // Reflection without the edge: padded row 0 is source row 1, padded column 0 is column 2.
    assert!(max_abs(p.clone().narrow(2, 0, 1).narrow(3, 2, 5) - x.clone().narrow(2, 1, 1)) == 0.0);
    assert!(max_abs(p.narrow(2, 1, 4).narrow(3, 0, 1) - x.clone().narrow(3, 2, 1)) == 0.0);
    let mean = x.clone().mean_dim(1);
    let var = ((x.clone() - mean.clone()) * (x - mean)).mean_dim(1);
    assert!(max_abs(o["std"].clone() - var.sqrt()) < 1e-6);
    // The population std of each channel over H×W (UniFS's stdv_channels), computed on the host.
    let got = o["spatial_std"].clone();
    assert_eq!(got.dims(), [2, 3, 1, 1]);
    let got = got.into_data().try_to_vec::<f32>().unwrap();
    // And with correction 1, torch.std's unbiased form (DCAMSR's SAM): divided by 19.
    let unbiased = o["unbiased_std"].clone().into_data().try_to_vec::<f32>().unwrap();
    for (i, chunk) in host.chunks(20).enumerate() {
        let m = chunk.iter().map(|&v| v as f64).sum::<f64>() / 20.0;
        let ss = chunk.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>();
        let sd = (ss / 20.0).sqrt();
        assert!((got[i] as f64 - sd).abs() < 1e-6, "channel {i}: {} vs {sd}", got[i]);
        assert!((unbiased[i] as f64 - (ss / 19.0).sqrt()).abs() < 1e-6, "channel {i}: {}", unbiased[i]);
    }
}

#[test]
fn a_weights_key_map_renames_parameters_for_import() {
    let src = r#"
network n() {
    input x: [1, H, W]
    output y = conv2d(x, 2, kernel = 1) as head
}

weights {
    map = [["head.*", "module.stem.$1"]]
}
"#;
    let loaded = mcmr_dsl::Loaded::from_text("test", src).unwrap();
    let (map, _) = mcmr::parity::key_map(&loaded.sections(None)).unwrap();
    assert_eq!(mcmr::model::map_key(&map, "head.weight"), "module.stem.weight");
    let model = compile(src);
    let mut tensors = std::collections::BTreeMap::new();
    let t = |shape: Vec<usize>, v: f64| mcmr::io::safetensors::StTensor {
        dtype: "F32".into(),
        data: vec![v; shape.iter().product()],
        shape,
    };
    tensors.insert("module.stem.weight".to_string(), t(vec![2, 1, 1, 1], 0.5));
    tensors.insert("module.stem.bias".to_string(), t(vec![2], 0.25));
    let loaded = model.load_tensors(&tensors, &map, &[], "test").unwrap();
    let y = loaded.forward(vec![input(1, 3, 3)], false).unwrap()["y"].clone();
    assert!(max_abs(y - (input(1, 3, 3) * 0.5 + 0.25).repeat_dim(1, 2)) < 1e-6);
    // Without the map every key is reported: missing and unexpected alike.
    let err = compile(src).load_tensors(&tensors, &Vec::new(), &[], "ckpt").unwrap_err().to_string();
    assert!(err.contains("missing `head.weight`") && err.contains("unexpected `module.stem.bias`"), "{err}");
}

#[test]
fn abs_chunk_and_channel_attention() {
    let src = r#"
network n() {
    input x: [4, H, W]
    output magnitude_of = abs(x)
    output second = chunk(x, 2, 1)
    output att = channel_attention(x, scale(x, 0.5), x + 1.0, heads = 2) as att
}
"#;
    let model = compile(src);
    assert_eq!(model.graph().parameter_count(), 2, "one temperature per head");
    let x = input(4, 2, 3);
    let o = model.forward(vec![x.clone()], true).unwrap();
    assert!(max_abs(o["magnitude_of"].clone() - x.clone().abs()) == 0.0);
    assert!(max_abs(o["second"].clone() - x.clone().narrow(1, 2, 2)) == 0.0);

    // A naive loop implementation of the formula, in f64.
    let q = x.clone().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let k: Vec<f64> = q.iter().map(|v| v * 0.5).collect();
    let v: Vec<f64> = q.iter().map(|v| v + 1.0).collect();
    let (b, c, n, heads) = (2usize, 4usize, 6usize, 2usize);
    let ch = c / heads;
    let at = |t: &[f64], bi: usize, ci: usize, p: usize| t[(bi * c + ci) * n + p];
    let norm =
        |t: &[f64], bi: usize, ci: usize| (0..n).map(|p| at(t, bi, ci, p).powi(2)).sum::<f64>().sqrt().max(1e-12);
    let got = o["att"].clone().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    for bi in 0..b {
        for hd in 0..heads {
            for i in 0..ch {
                let qi = hd * ch + i;
                let logits: Vec<f64> = (0..ch)
                    .map(|j| {
                        let kj = hd * ch + j;
                        (0..n)
                            .map(|p| at(&q, bi, qi, p) / norm(&q, bi, qi) * at(&k, bi, kj, p) / norm(&k, bi, kj))
                            .sum::<f64>()
                    })
                    .collect();
                let z: f64 = logits.iter().map(|l| l.exp()).sum();
                for p in 0..n {
                    let want: f64 = (0..ch).map(|j| logits[j].exp() / z * at(&v, bi, hd * ch + j, p)).sum();
                    let g = got[(bi * c + qi) * n + p];
                    assert!((g - want).abs() < 1e-5, "b{bi} head{hd} row{i} pixel{p}: {g} vs {want}");
                }
            }
        }
    }
}

#[test]
fn data_consistency_keeps_measured_samples_and_the_rest_of_the_prediction() {
    use mcmr::kspace::{hard_data_consistency, weighted_data_consistency};
    use num_complex::Complex32;
    let src = r#"
network n() {
    input x: [1, H, W]
    input k: complex [1, H, W]
    input mask: [1, H, W]
    output hard = data_consistency(x, k, mask)
    output soft = data_consistency(x, k, mask, lambda = 3.0)
}
"#;
    let (h, w) = (6usize, 5usize);
    let xv: Vec<f32> = (0..h * w).map(|i| ((i * 37 % 11) as f32) / 7.0).collect();
    let kv: Vec<Complex32> = (0..h * w).map(|i| Complex32::new((i % 5) as f32 - 2.0, (i % 3) as f32 * 0.5)).collect();
    let mv: Vec<u8> = (0..h * w).map(|i| (i % 4 == 0) as u8).collect();
    let t = |v: Vec<f32>, c: usize| planes(v, c, h, w);
    let packed: Vec<f32> = kv.iter().map(|z| z.re).chain(kv.iter().map(|z| z.im)).collect();
    let model = compile(src);
    let o = model
        .forward(vec![t(xv.clone(), 1), t(packed, 2), t(mv.iter().map(|&m| m as f32).collect(), 1)], true)
        .unwrap();
    // The reference: the host k-space functions (fft2c, mask, ifft2c) on the same data.
    let kx = mcmr::kspace::simulate_kspace(&xv, None, h, w);
    for (name, lambda) in [("hard", None), ("soft", Some(3.0f32))] {
        let mixed = match lambda {
            None => hard_data_consistency(&kx, &kv, &mv, h, w),
            Some(l) => weighted_data_consistency(&kx, &kv, &mv, h, w, Some(l)),
        };
        let want = mcmr::kspace::to_image(&mixed, h, w);
        let got = o[name].clone().into_data().try_to_vec::<f32>().unwrap();
        for (i, z) in want.iter().enumerate() {
            assert!((got[i] - z.re).abs() < 1e-5 && (got[h * w + i] - z.im).abs() < 1e-5, "{name} pixel {i}");
        }
    }
}

/// DuDoRNet's k-space step: sampled entries are the measured ones bit for bit (a selection,
/// not `k + M·(measured − k)`, which rounds), the others the prediction's, for a one-channel
/// mask over both parts; the gradient goes to the prediction off the mask and to the measured
/// samples on it.
#[test]
fn kspace_consistency_puts_the_measured_samples_back_exactly() {
    let src = r#"
network n() {
    input k: complex [1, H, W]
    input measured: complex [1, H, W]
    input mask: [1, H, W]
    output y = kspace_consistency(k, measured, mask)
}
"#;
    let (h, w) = (4usize, 6usize);
    // Values whose sum `k + (measured - k)` would not round back to `measured` in float32.
    let kv: Vec<f32> = (0..2 * h * w).map(|i| 1e8 * (1.0 + i as f32) + 0.37).collect();
    let mv: Vec<f32> = (0..2 * h * w).map(|i| 0.1 + 1e-3 * i as f32).collect();
    let mask: Vec<f32> = (0..h * w).map(|i| ((i % w) % 3 == 0) as u8 as f32).collect();
    let t = |v: Vec<f32>, c: usize| planes(v, c, h, w).require_grad();
    let (k, m) = (t(kv.clone(), 2), t(mv.clone(), 2));
    let model = compile(src);
    let o = model.forward(vec![k.clone(), m.clone(), t(mask.clone(), 1)], true).unwrap();
    let got = o["y"].clone().into_data().try_to_vec::<f32>().unwrap();
    for i in 0..2 * h * w {
        let sampled = mask[i % (h * w)] == 1.0;
        let want = if sampled { mv[i] } else { kv[i] };
        assert_eq!(got[i].to_bits(), want.to_bits(), "entry {i} (sampled: {sampled})");
    }
    let grads = o["y"].clone().sum().backward();
    let (gk, gm) = (k.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap(), m.grad(&grads).unwrap());
    let gm = gm.into_data().try_to_vec::<f32>().unwrap();
    for i in 0..2 * h * w {
        let sampled = mask[i % (h * w)] == 1.0;
        assert_eq!((gk[i], gm[i]), if sampled { (0.0, 1.0) } else { (1.0, 0.0) }, "gradient at entry {i}");
    }
}

/// MTrans's patch tokens against their definition: `patchify` puts pixel (y·p + i, x·p + j) of
/// channel c at channel (i·p + j)·C + c of patch (y, x) (einops' `(p1 p2 c)`), `to_tokens` flattens
/// the patch grid row by row, `concat_tokens` appends a second set, `add_embedding` adds a
/// [1, N, C] parameter to token n's channel c from entry (n, c); `unpatchify(from_tokens(..))`
/// undoes it all.
#[test]
fn patches_tokens_and_embeddings_follow_einops_layout() {
    let src = r#"
network n() {
    input x: [2, H, W]
    p = patchify(x, 2)
    t = to_tokens(p)
    output tokens = t
    output both = concat_tokens(t, scale(t, 2.0))
    output embedded = add_embedding(t, 6) as pos
    output back = unpatchify(from_tokens(t, p), 2)
}
"#;
    let (c, h, w, r) = (2usize, 4usize, 6usize, 2usize);
    let device = Device::flex().autodiff();
    let xv: Vec<f32> = (0..c * h * w).map(|i| i as f32).collect();
    let mut model = compile(src);
    let e: Vec<f64> = (0..6 * 8).map(|i| 100.0 + i as f64).collect();
    let mut tensors = std::collections::BTreeMap::new();
    tensors.insert(
        "pos.embedding".to_string(),
        mcmr::io::safetensors::StTensor { dtype: "F32".into(), shape: vec![1, 6, 8], data: e.clone() },
    );
    model = model.load_tensors(&tensors, &Vec::new(), &[], "test").unwrap();
    let o =
        model.forward(vec![Tensor::<4>::from_data(TensorData::new(xv.clone(), [1, c, h, w]), &device)], true).unwrap();
    let get = |k: &str| o[k].clone().into_data().try_to_vec::<f32>().unwrap();
    let (tokens, both, embedded, back) = (get("tokens"), get("both"), get("embedded"), get("back"));
    let (n, d) = ((h / r) * (w / r), r * r * c);
    assert_eq!(o["tokens"].dims(), [1, d, n, 1]);
    for y in 0..h / r {
        for x in 0..w / r {
            for i in 0..r {
                for j in 0..r {
                    for ch in 0..c {
                        let (ch_t, tok) = ((i * r + j) * c + ch, y * (w / r) + x);
                        let want = xv[(ch * h + y * r + i) * w + x * r + j];
                        assert_eq!(tokens[ch_t * n + tok], want, "patch ({y},{x}) offset ({i},{j}) channel {ch}");
                        assert_eq!(embedded[ch_t * n + tok] as f64, want as f64 + e[tok * d + ch_t]);
                        assert_eq!(both[ch_t * 2 * n + tok], want);
                        assert_eq!(both[ch_t * 2 * n + n + tok], 2.0 * want);
                    }
                }
            }
        }
    }
    assert_eq!(back, xv);
}

/// `fftshift` moves element i to (i + ⌊n/2⌋) mod n along both axes (odd and even sizes), and
/// `half_spectrum` keeps the first ⌊W/2⌋ + 1 columns, both parts of a complex tensor alike.
#[test]
fn fftshift_and_half_spectrum_follow_numpy() {
    let src = r#"
network n() {
    input x: [1, H, W]
    input z: complex [1, H, W]
    output shifted = fftshift(x)
    output half = half_spectrum(z)
}
"#;
    let (h, w) = (3usize, 6usize);
    let xv: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
    let zv: Vec<f32> = (0..2 * h * w).map(|i| i as f32 * 0.5).collect();
    let t = |v: Vec<f32>, c: usize| planes(v, c, h, w);
    let o = compile(src).forward(vec![t(xv.clone(), 1), t(zv.clone(), 2)], true).unwrap();
    let shifted = o["shifted"].clone().into_data().try_to_vec::<f32>().unwrap();
    for y in 0..h {
        for x in 0..w {
            assert_eq!(shifted[((y + h / 2) % h) * w + (x + w / 2) % w], xv[y * w + x], "({y},{x})");
        }
    }
    let half = o["half"].clone().into_data().try_to_vec::<f32>().unwrap();
    let wh = w / 2 + 1;
    assert_eq!(o["half"].dims(), [1, 2, h, wh]);
    for p in 0..2 {
        for y in 0..h {
            for x in 0..wh {
                assert_eq!(half[(p * h + y) * wh + x], zv[(p * h + y) * w + x]);
            }
        }
    }
}

#[test]
fn linear_layer_norm_adaptive_pool_token_attention_and_coordinates() {
    let src = r#"
network n() {
    input x: [4, H, W]
    output lin = linear(x, 3) as lin
    output conv = conv2d(x, 3, kernel = 1) as conv
    output ln = layer_norm(x) as ln
    output pooled = adaptive_avg_pool2d(x, 3)
    output att = token_attention(x, scale(x, 0.5), x + 1.0, heads = 2)
    output coords = coord_encoding(x, frequencies = 1)
}
"#;
    let model = compile(src);
    // Give the linear layer and the 1x1 convolution the same weights: their outputs must agree.
    let mut tensors = std::collections::BTreeMap::new();
    let w: Vec<f64> = (0..12).map(|i| (i as f64 - 5.0) / 7.0).collect();
    let st = |shape: Vec<usize>, data: Vec<f64>| mcmr::io::safetensors::StTensor { dtype: "F32".into(), shape, data };
    tensors.insert("lin.weight".to_string(), st(vec![3, 4], w.clone()));
    tensors.insert("lin.bias".to_string(), st(vec![3], vec![0.1, -0.2, 0.3]));
    tensors.insert("conv.weight".to_string(), st(vec![3, 4, 1, 1], w));
    tensors.insert("conv.bias".to_string(), st(vec![3], vec![0.1, -0.2, 0.3]));
    tensors.insert("ln.weight".to_string(), st(vec![4], vec![1.0; 4]));
    tensors.insert("ln.bias".to_string(), st(vec![4], vec![0.0; 4]));
    let model = model.load_tensors(&tensors, &Vec::new(), &[], "test").unwrap();
    let (h, w) = (5usize, 6usize);
    let x = input(4, h, w);
    let o = model.forward(vec![x.clone()], true).unwrap();
    assert!(max_abs(o["lin"].clone() - o["conv"].clone()) < 1e-5);

    let ln = o["ln"].clone();
    assert!(max_abs(ln.clone().mean_dim(1)) < 1e-5);
    assert!(max_abs((ln.clone() * ln).mean_dim(1) - 1.0) < 1e-3);

    // PyTorch's adaptive bins for 5 rows into 3: [0, 2), [1, 4), [3, 5); 6 columns: [0, 2), [2, 4), [4, 6).
    let xv = x.clone().into_data().try_to_vec::<f32>().unwrap();
    let pooled = o["pooled"].clone().into_data().try_to_vec::<f32>().unwrap();
    let (rows, cols) = ([(0, 2), (1, 4), (3, 5)], [(0, 2), (2, 4), (4, 6)]);
    for (i, (r0, r1)) in rows.iter().enumerate() {
        for (j, (c0, c1)) in cols.iter().enumerate() {
            let mut sum = 0.0f32;
            for r in *r0..*r1 {
                for c in *c0..*c1 {
                    sum += xv[r * w + c];
                }
            }
            let want = sum / ((r1 - r0) * (c1 - c0)) as f32;
            assert!((pooled[i * 3 + j] - want).abs() < 1e-6, "bin ({i}, {j})");
        }
    }

    // Token attention against a naive loop: per head of 2 channels, softmax over the 30 tokens.
    let att = o["att"].clone().into_data().try_to_vec::<f32>().unwrap();
    let (n, d) = (h * w, 2usize);
    let val = |c: usize, t: usize| xv[c * n + t] as f64;
    for head in 0..2 {
        for t in [0usize, 7, 29] {
            let logits: Vec<f64> = (0..n)
                .map(|u| {
                    (0..d).map(|e| val(head * d + e, t) * 0.5 * val(head * d + e, u)).sum::<f64>() / (d as f64).sqrt()
                })
                .collect();
            let z: f64 = logits.iter().map(|l| l.exp()).sum();
            for e in 0..d {
                let want: f64 = (0..n).map(|u| logits[u].exp() / z * (val(head * d + e, u) + 1.0)).sum();
                let got = att[(head * d + e) * n + t] as f64;
                assert!((got - want).abs() < 1e-5, "head {head} token {t}: {got} vs {want}");
            }
        }
    }

    let coords = o["coords"].clone();
    assert_eq!(coords.dims(), [2, 6, h, w]);
    let cv = coords.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!((cv[0], cv[n + w - 1]), (-1.0, 1.0), "y at the top row, x at the last column");
    assert!((cv[3 * n] - (-1.0f32)).abs() < 1e-6, "cos(pi * y) at y = -1");
}

#[test]
fn frozen_parameters_get_no_gradient() {
    let src = r#"
network n() {
    input x: [2, H, W]
    a = conv2d(x, 2, padding = 1) as encoder.conv
    output y = conv2d(a, 2, padding = 1) as decoder.conv
}

freeze {
    params = ["encoder.*"]
}
"#;
    let model = compile(src);
    assert_eq!(model.graph().frozen_count(), 2 * 2 * 9 + 2);
    let y = model.forward(vec![input(2, 4, 4)], true).unwrap()["y"].clone();
    let grads = y.sum().backward();
    let has_grad: Vec<(String, bool)> = model
        .param_specs()
        .iter()
        .zip(&model.params)
        .map(|(s, p)| (s.path.clone(), p.val().grad(&grads).is_some()))
        .collect();
    for (path, g) in has_grad {
        assert_eq!(g, !path.starts_with("encoder."), "{path}");
    }
}

#[test]
fn blocks_with_several_outputs_are_unpacked_in_order() {
    let src = r#"
block sum_and_difference(c: int) {
    input a: [c, H, W]
    input b: [c, H, W]
    output s = a + b
    output d = a - b
}

network n() {
    input x: [2, H, W]
    y = scale(x, 3.0)
    s, d = sum_and_difference(x, y, 2)
    output total = s
    output diff = d
    output second = sum_and_difference(x, y, 2)[1]
}
"#;
    let x = input(2, 3, 3);
    let o = run(src, x.clone());
    assert!(max_abs(o["total"].clone() - x.clone() * 4.0) < 1e-6);
    assert!(max_abs(o["diff"].clone() + x.clone() * 2.0) < 1e-6);
    assert!(max_abs(o["second"].clone() - o["diff"].clone()) == 0.0);
}

#[test]
fn bilinear_upsampling_matches_pytorchs_align_corners_false() {
    let src = "network n() {\n    input x: [1, H, W]\n    output y = upsample(x, factor = 2, mode = \"bilinear\")\n}\n";
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]), &device);
    let y = run(src, x).remove("y").unwrap().into_data().try_to_vec::<f32>().unwrap();
    // torch.nn.functional.interpolate([[1, 2], [3, 4]], scale_factor=2, mode="bilinear") gives
    // rows [1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]
    // (sample positions (o + 0.5)/2 - 0.5, clamped).
    let want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
    for (g, w) in y.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{y:?}");
    }
}

#[test]
fn bicubic_upsampling_matches_pytorchs_align_corners_false() {
    let src = "network n() {\n    input x: [1, H, W]\n    output y = upsample(x, factor = 2, mode = \"bicubic\")\n}\n";
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]), &device);
    let y = run(src, x).remove("y").unwrap().into_data().try_to_vec::<f32>().unwrap();
    // torch.nn.functional.interpolate([[1, 2], [3, 4]], scale_factor=2, mode="bicubic") starts
    // with the row [0.68359375, 1.015625, 1.5625, 1.89453125]: it overshoots the input's range
    // (Keys' A = −0.75, taps clamped at the edges), unlike bilinear.
    for (g, w) in y.iter().zip([0.68359375f32, 1.015625, 1.5625, 1.89453125]) {
        assert!((g - w).abs() < 1e-6, "{y:?}");
    }
    // Point symmetry of the 2x2 input: y[15 − i] = 5 − y[i].
    for i in 0..16 {
        assert!((y[15 - i] - (5.0 - y[i])).abs() < 1e-5, "{y:?}");
    }
}

/// `t` as f64 values in row-major order.
fn values(t: Tensor<4>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

#[test]
fn conv3d_and_layer_attention_follow_their_definitions() {
    let src = r#"
network n() {
    input x: [6, H, W]
    output vol = conv3d(x, 2, depth = 3, padding = 1) as c3
    output layers = layer_attention(x, 3)
}
"#;
    let model = compile(src);
    assert_eq!(model.graph().parameter_count(), 2 * 2 * 27 + 2);
    // Weights of a known formula, imported as PyTorch's [cout, cin, k, k, k].
    let wv: Vec<f64> = (0..108).map(|i| ((i * 37 % 23) as f64 - 11.0) / 20.0).collect();
    let mut tensors = std::collections::BTreeMap::new();
    let st = |shape: Vec<usize>, data: Vec<f64>| mcmr::io::safetensors::StTensor { dtype: "F32".into(), data, shape };
    tensors.insert("c3.weight".to_string(), st(vec![2, 2, 3, 3, 3], wv.clone()));
    tensors.insert("c3.bias".to_string(), st(vec![2], vec![0.25, -0.5]));
    let model = model.load_tensors(&tensors, &Vec::new(), &[], "test").unwrap();
    let (b, h, w) = (2usize, 4usize, 5usize);
    let x = input(6, h, w);
    let o = model.forward(vec![x.clone()], false).unwrap();
    let xv = values(x);
    // x viewed [B, cin 2, depth 3, H, W]: channel = ci * 3 + d.
    let at = |bi: usize, ch: usize, y: usize, z: usize| xv[((bi * 6 + ch) * h + y) * w + z];
    let got = values(o["vol"].clone());
    for bi in 0..b {
        for co in 0..2 {
            for d in 0..3 {
                for y in 0..h {
                    for z in 0..w {
                        let mut want = [0.25, -0.5][co];
                        for ci in 0..2 {
                            for (kd, ky, kz) in (0..27).map(|t| (t / 9, t / 3 % 3, t % 3)) {
                                let (dd, yy, zz) = (d + kd, y + ky, z + kz);
                                if (1..=3).contains(&dd) && (1..=h).contains(&yy) && (1..=w).contains(&zz) {
                                    let wt = wv[(co * 2 + ci) * 27 + kd * 9 + ky * 3 + kz];
                                    want += wt * at(bi, ci * 3 + dd - 1, yy - 1, zz - 1);
                                }
                            }
                        }
                        let g = got[((bi * 6 + co * 3 + d) * h + y) * w + z];
                        assert!((g - want).abs() < 1e-5, "b{bi} out{co} depth{d} ({y},{z}): {g} vs {want}");
                    }
                }
            }
        }
    }

    // Layer attention: 3 layers of 2 channels, softmax over j of (max_j E_ij − E_ij).
    let n = 2 * h * w;
    let f = |bi: usize, l: usize, p: usize| xv[bi * 6 * h * w + l * n + p];
    let got = values(o["layers"].clone());
    for bi in 0..b {
        for i in 0..3 {
            let e: Vec<f64> = (0..3).map(|j| (0..n).map(|p| f(bi, i, p) * f(bi, j, p)).sum()).collect();
            let top = e.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = e.iter().map(|v| (top - v).exp()).sum();
            for p in 0..n {
                let want: f64 = (0..3).map(|j| (top - e[j]).exp() / z * f(bi, j, p)).sum();
                let g = got[bi * 6 * h * w + i * n + p];
                assert!((g - want).abs() < 1e-5, "b{bi} layer{i} element{p}: {g} vs {want}");
            }
        }
    }
}

#[test]
fn projected_attention_follows_epa_including_its_output_layout() {
    let src = r#"
network n() {
    input x: [4, H, W]
    output y = projected_attention(x, scale(x, 0.5), x + 1.0, heads = 2, tokens = 6, proj = 3) as sa
    output z = conv2d(x, 2, kernel = 1, init = "zeros") as zero
}
"#;
    let (heads, c, n, p, d) = (2usize, 4usize, 6usize, 3usize, 2usize);
    let ev: Vec<f64> = (0..p * n).map(|i| ((i * 29 % 17) as f64 - 8.0) / 10.0).collect();
    let eb = [0.1, -0.2, 0.05];
    let tv = [1.0, 0.5];
    let st = |shape: Vec<usize>, data: Vec<f64>| mcmr::io::safetensors::StTensor { dtype: "F32".into(), data, shape };
    let mut tensors = std::collections::BTreeMap::new();
    tensors.insert("sa.E.weight".to_string(), st(vec![p, n], ev.clone()));
    tensors.insert("sa.E.bias".to_string(), st(vec![p], eb.to_vec()));
    tensors.insert("sa.temperature2".to_string(), st(vec![heads, 1, 1], tv.to_vec()));
    let model = compile(src);
    // Zero-initialised convolutions start at exactly zero.
    assert_eq!(max_abs(model.forward(vec![input(4, 2, 3)], false).unwrap()["z"].clone()), 0.0);
    let zero = model.graph().parameters().into_iter().filter(|q| q.path.starts_with("zero.")).count();
    for (k, v) in [("zero.weight", vec![2, 4, 1, 1]), ("zero.bias", vec![2])] {
        let len = v.iter().product();
        tensors.insert(k.to_string(), st(v, vec![0.0; len]));
    }
    assert_eq!(zero, 2);
    let model = model.load_tensors(&tensors, &Vec::new(), &[], "test").unwrap();
    let x = input(4, 2, 3);
    let got = values(model.forward(vec![x.clone()], false).unwrap()["y"].clone());
    let xv = values(x);
    for bi in 0..2 {
        let at = |t: usize, ch: usize, tok: usize| {
            let v = xv[(bi * c + ch) * n + tok];
            [v, v * 0.5, v + 1.0][t]
        };
        let norm = |t: usize, ch: usize| (0..n).map(|m| at(t, ch, m).powi(2)).sum::<f64>().sqrt().max(1e-12);
        // The per-head results, laid out [d, heads, N] as the official permute leaves them.
        let mut flat = vec![0.0; c * n];
        for h in 0..heads {
            let proj = |t: usize, i: usize, q: usize, unit: bool| {
                let s = if unit { norm(t, h * d + i) } else { 1.0 };
                (0..n).map(|m| at(t, h * d + i, m) / s * ev[q * n + m]).sum::<f64>() + eb[q]
            };
            for tok in 0..n {
                let logits: Vec<f64> = (0..p)
                    .map(|q| {
                        tv[h]
                            * (0..d)
                                .map(|i| at(0, h * d + i, tok) / norm(0, h * d + i) * proj(1, i, q, true))
                                .sum::<f64>()
                    })
                    .collect();
                let z: f64 = logits.iter().map(|l| l.exp()).sum();
                for i in 0..d {
                    flat[(i * heads + h) * n + tok] = (0..p).map(|q| logits[q].exp() / z * proj(2, i, q, false)).sum();
                }
            }
        }
        // Read as [N, C], then stored channels-first.
        for tok in 0..n {
            for ch in 0..c {
                let (g, want) = (got[(bi * c + ch) * n + tok], flat[tok * c + ch]);
                assert!((g - want).abs() < 1e-5, "b{bi} token{tok} channel{ch}: {g} vs {want}");
            }
        }
    }
    // A grid of another size than `tokens` is refused with the node's name.
    let e = model.forward(vec![input(4, 3, 3)], false).unwrap_err().to_string();
    assert!(e.contains("`sa`") && e.contains("6 tokens"), "{e}");
}
