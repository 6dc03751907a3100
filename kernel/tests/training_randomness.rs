//! The random parts of training. The official codes' weight initialisations (`init = ...` on
//! `conv2d`, `conv_transpose2d` and `linear`): the scheme each parameter records, and the values
//! actually drawn (their spread against the scheme's, on thousands of draws). Dropout in
//! training: the rate, the scaling, whole channels for `dropout2d`, the attention probabilities
//! of `channel_attention`, the same masks for the same seed, and a refusal without one.

use burn::tensor::{Device, Tensor, TensorData};
use mcmr::model::CompiledModel;
use mcmr_dsl::ir::Init;

fn compile(src: &str) -> CompiledModel {
    let spec = mcmr_dsl::parse(src).unwrap_or_else(|d| panic!("{}", d.render(src, "test")));
    let checked = mcmr_dsl::check::elaborate(&spec, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(src, "test")).collect::<String>()));
    CompiledModel::new(checked.graph, 11, &Device::flex())
}

/// Each parameter's path, recorded scheme and drawn values.
fn drawn(model: &CompiledModel) -> Vec<(String, Init, Vec<f64>)> {
    model
        .param_specs()
        .iter()
        .zip(&model.params)
        .map(|(s, p)| (s.path.clone(), s.init, p.val().into_data().convert::<f64>().try_to_vec::<f64>().unwrap()))
        .collect()
}

fn std_dev(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn weight_initialisations_follow_pytorchs_formulas() {
    let src = r#"
network n() {
    input x: [32, H, W]
    a = conv2d(x, 64, kernel = 3, padding = 1, init = "xavier_normal") as xn
    b = conv_transpose2d(a, 16, kernel = 3, stride = 2, padding = 1, output_padding = 1, init = "xavier_uniform") as xu
    c = linear(b, 48, init = "normal(0.02)") as gauss
    output y = conv2d(c, 8, kernel = 3, padding = 1) as plain
}
"#;
    let params = drawn(&compile(src));
    let find = |path: &str| params.iter().find(|p| p.0 == path).unwrap_or_else(|| panic!("no `{path}`"));
    // Xavier normal, conv 32 -> 64, 3x3: fan_in 288, fan_out 576.
    let std = (2.0f64 / (288.0 + 576.0)).sqrt();
    let (_, init, v) = find("xn.weight");
    assert_eq!(*init, Init::Normal(std));
    assert!((std_dev(v) / std - 1.0).abs() < 0.03, "xavier normal spread {} vs {std}", std_dev(v));
    // The bias keeps PyTorch's default (xavier_normal_ touches the weight only).
    assert_eq!(find("xn.bias").1, Init::BiasUniform { fan_in: 288 });
    // Xavier uniform, transposed 64 -> 16, 3x3: weight [64, 16, 3, 3], fan_in = 16·9, fan_out = 64·9.
    let bound = (6.0f64 / (144.0 + 576.0)).sqrt();
    let (_, init, v) = find("xu.weight");
    assert_eq!(*init, Init::Uniform(bound));
    let top = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(top <= bound && top > 0.99 * bound, "uniform bound {top} vs {bound}");
    assert!((std_dev(v) / (bound / 3f64.sqrt()) - 1.0).abs() < 0.03);
    // Normal(0, 0.02), as DuDoRNet's gaussian_weights_init.
    let (_, init, v) = find("gauss.weight");
    assert_eq!(*init, Init::Normal(0.02));
    assert!((std_dev(v) / 0.02 - 1.0).abs() < 0.05, "normal(0.02) spread {}", std_dev(v));
    // The default stays Kaiming-uniform with a = √5: bound 1/√fan_in.
    let (_, init, v) = find("plain.weight");
    assert_eq!(*init, Init::KaimingUniform { fan_in: 48 * 9 });
    assert!(v.iter().all(|x| x.abs() <= 1.0 / (48.0f64 * 9.0).sqrt()));
}

#[test]
fn a_bad_init_names_the_argument_and_the_choices() {
    for (init, want) in [
        ("glorot", "must be \"default\", \"zeros\", \"xavier_normal\", \"xavier_uniform\" or \"normal(STD)\""),
        ("normal(-1)", "finite number > 0"),
        ("normal(abc)", "finite number > 0"),
    ] {
        let src =
            format!("network n() {{\n    input x: [2, H, W]\n    output y = linear(x, 3, init = \"{init}\")\n}}\n");
        let spec = mcmr_dsl::parse(&src).unwrap();
        let errors = mcmr_dsl::check::elaborate(&spec, None, None, &[]).err().expect("refused");
        let text: String = errors.iter().map(|d| d.render(&src, "t.mcmr")).collect();
        assert!(text.contains(want) && text.contains("t.mcmr:3:"), "{init}: {text}");
    }
}

fn ones(c: usize, h: usize, w: usize) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(vec![1.0f32; 2 * c * h * w], [2, c, h, w]), &Device::flex().autodiff())
}

fn host(t: &Tensor<4>) -> Vec<f32> {
    t.clone().into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn dropout_in_training_drops_at_its_rate_with_the_trainers_seed() {
    let src = r#"
network n() {
    input x: [16, H, W]
    output a = dropout(x, 0.25)
    output b = dropout2d(x, 0.5)
    output c = x
}
"#;
    let spec = mcmr_dsl::parse(src).unwrap();
    let graph = mcmr_dsl::check::elaborate(&spec, None, None, &[]).unwrap().graph;
    let model = CompiledModel::new(graph, 1, &Device::flex().autodiff());
    let wanted = ["a".to_string(), "b".to_string(), "c".to_string()];
    let run = |seed| model.forward_outputs_stats(vec![ones(16, 32, 32)], true, &wanted, seed);
    let (out, _) = run(Some(5)).unwrap();
    // Elementwise: a quarter zeroed, the rest scaled by 4/3.
    let a = host(&out["a"]);
    let zeros = a.iter().filter(|&&v| v == 0.0).count() as f64 / a.len() as f64;
    assert!((zeros - 0.25).abs() < 0.02, "dropped {zeros}");
    assert!(a.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    // Channelwise: each [item, channel] plane all zero or all 2.
    let b = host(&out["b"]);
    let planes: Vec<&[f32]> = b.chunks(32 * 32).collect();
    assert!(planes.iter().all(|p| p.iter().all(|&v| v == p[0]) && (p[0] == 0.0 || p[0] == 2.0)));
    let dropped = planes.iter().filter(|p| p[0] == 0.0).count();
    assert!((4..=28).contains(&dropped), "{dropped} of 32 channels dropped");
    // The same seed draws the same masks; another step's seed other ones.
    assert_eq!(host(&run(Some(5)).unwrap().0["a"]), a);
    assert_ne!(host(&run(Some(6)).unwrap().0["a"]), a);
    // Evaluation leaves values alone; training without a seed refuses, naming the node.
    let (eval, _) = model.forward_outputs_stats(vec![ones(16, 32, 32)], false, &wanted, None).unwrap();
    assert!(host(&eval["a"]).iter().all(|&v| v == 1.0));
    let err = run(None).unwrap_err().to_string();
    assert!(err.contains("dropout with p = 0.25") && err.contains("seeded"), "{err}");
    // The gradient flows through the kept elements, scaled as they are.
    let x = ones(16, 32, 32).require_grad();
    let (out, _) = model.forward_outputs_stats(vec![x.clone()], true, &wanted, Some(5)).unwrap();
    let grads = out["a"].clone().sum().backward();
    assert_eq!(host(&x.grad(&grads).unwrap()), a);
}

#[test]
fn attention_dropout_acts_on_the_probabilities_in_training_only() {
    let src = r#"
network n() {
    input x: [8, H, W]
    output y = channel_attention(x, x, x, heads = 2, dropout = 0.5) as ca
}
"#;
    let spec = mcmr_dsl::parse(src).unwrap();
    let graph = mcmr_dsl::check::elaborate(&spec, None, None, &[]).unwrap().graph;
    let model = CompiledModel::new(graph, 1, &Device::flex().autodiff());
    let x = Tensor::<4>::from_data(
        TensorData::new(
            (0..2 * 8 * 4 * 4).map(|i| ((i * 37 % 23) as f32) / 11.0 - 1.0).collect::<Vec<_>>(),
            [2, 8, 4, 4],
        ),
        &Device::flex().autodiff(),
    );
    let wanted = ["y".to_string()];
    let eval = host(&model.forward_outputs_stats(vec![x.clone()], false, &wanted, None).unwrap().0["y"]);
    let t1 = host(&model.forward_outputs_stats(vec![x.clone()], true, &wanted, Some(1)).unwrap().0["y"]);
    let t2 = host(&model.forward_outputs_stats(vec![x.clone()], true, &wanted, Some(2)).unwrap().0["y"]);
    assert_ne!(t1, eval);
    assert_ne!(t1, t2);
    // Averaged over many seeds the dropped probabilities are compensated: the mean approaches
    // the evaluation output.
    let n = 2000;
    let mut mean = vec![0.0f64; eval.len()];
    for s in 0..n {
        let t = host(&model.forward_outputs_stats(vec![x.clone()], true, &wanted, Some(100 + s)).unwrap().0["y"]);
        mean.iter_mut().zip(&t).for_each(|(m, v)| *m += *v as f64 / n as f64);
    }
    let scale = eval.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let err = mean.iter().zip(&eval).fold(0.0f64, |m, (a, b)| m.max((a - *b as f64).abs()));
    assert!(err < 0.1 * scale, "mean over seeds off by {err} (scale {scale})");
}
