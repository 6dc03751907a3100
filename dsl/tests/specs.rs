//! The repository's specs parse and check; their parameter counts match the official modules.

use mcmr_dsl::check::{elaborate, Value};
use std::path::PathBuf;

fn spec(rel: &str) -> (String, mcmr_dsl::Spec) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    // Loaded as the kernel loads it: imports joined, matrices and fragments expanded.
    let loaded = mcmr_dsl::load(&path).unwrap_or_else(|(_, d)| panic!("{}", d.render(&text, rel)));
    (text, loaded.spec)
}

#[test]
fn unet_has_the_official_parameter_count() {
    let (text, s) = spec("papers/baselines/unet.mcmr");
    let checked = elaborate(&s, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(&text, "unet")).collect::<String>()));
    // torch: Unet(1, 1, chans=32, num_pool_layers=4) has 7,756,097 parameters (research/baselines.md §1).
    assert_eq!(checked.graph.parameter_count(), 7_756_097);
    assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);
    let small =
        elaborate(&s, None, None, &[("chans".into(), Value::Int(8)), ("num_pool_layers".into(), Value::Int(2))])
            .unwrap();
    let names: Vec<String> = small.graph.parameters().into_iter().map(|p| p.path).collect();
    assert!(names.contains(&"down_sample_layers.0.layers.0.weight".to_string()), "{names:?}");
    assert!(names.contains(&"up_conv.1.1.bias".to_string()));
    // Every block call, and every primitive named with `as`, in call order.
    let acts: Vec<&str> = small.graph.activations.iter().map(|(p, _)| p.as_str()).collect();
    assert!(acts.contains(&"down_sample_layers.0.layers.0") && acts.contains(&"up_conv.1.1"), "{acts:?}");
    let blocks: Vec<&str> = acts.iter().copied().filter(|p| !p.contains(".layers.") && *p != "up_conv.1.1").collect();
    assert_eq!(
        blocks,
        [
            "down_sample_layers.0",
            "down_sample_layers.1",
            "conv",
            "up_transpose_conv.0",
            "up_conv.0",
            "up_transpose_conv.1",
            "up_conv.1.0",
            "up_conv.1"
        ]
    );
}

fn fmt_text(text: &str) -> String {
    let s = mcmr_dsl::parse(text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")));
    mcmr_dsl::fmt::format(&s, text)
}

#[test]
fn formatting_is_idempotent_and_keeps_comments() {
    let messy = "// header comment\nblock b(c:int,d:float=0.5){\n  input x:[c,H,W]\n\n\n  // own-line comment\n  y=conv2d(x,c*2,kernel=3,padding=(1)) as conv.{c-1}  // trailing\n  output o = leaky_relu(y, slope=d)\n}\nnetwork n(k:int=2){input x:[1,H,W]\n for i in 0..k { x = b(x, 1) as blk.{i} }\noutput y = x}\nexperiment e {\n lr = 1e-4 // learning rate\n data { source = \"phantom\" }\n}\n";
    let once = fmt_text(messy);
    assert_eq!(fmt_text(&once), once, "not idempotent:\n{once}");
    for needle in [
        "// header comment",
        "// own-line comment",
        "// trailing",
        "// learning rate",
        "padding = 1",
        "lr = 1e-4",
        "as conv.{c - 1}",
    ] {
        assert!(once.contains(needle), "lost `{needle}`:\n{once}");
    }
    assert!(once.contains("    input x: [c, H, W]\n\n    // own-line comment\n"), "{once}");
}

#[test]
fn every_spec_in_the_repository_is_formatted() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../papers");
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "mcmr") {
                let text = std::fs::read_to_string(&p).unwrap();
                assert_eq!(fmt_text(&text), text, "{} is not formatted: run `mcmr fmt {}`", p.display(), p.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 1);
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-dsl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("baselines")).unwrap();
    d
}

const BASE: &str = "// a shared baseline block\nblock twice(c: int) {\n    input x: [c, H, W]\n    a = conv2d(x, c, padding = 1) as first\n    output y = conv2d(a, c, padding = 1) as second\n}\n";

#[test]
fn imports_share_blocks_between_files() {
    let d = tmpdir("imports");
    std::fs::write(d.join("baselines/base.mcmr"), BASE).unwrap();
    std::fs::write(d.join("baselines/more.mcmr"), "import \"base.mcmr\"\n\nblock thrice(c: int) {\n    input x: [c, H, W]\n    output y = relu(twice(x, c) as inner)\n}\n").unwrap();
    let main = "import \"baselines/base.mcmr\"\nimport \"baselines/more.mcmr\"\n\nnetwork n() {\n    input x: [2, H, W]\n    output y = thrice(twice(x, 2) as a, 2) as b\n}\n";
    std::fs::write(d.join("main.mcmr"), main).unwrap();
    let loaded = mcmr_dsl::load(&d.join("main.mcmr")).unwrap_or_else(|(f, e)| panic!("{} {:?}", e.message, f.len()));
    assert_eq!(loaded.files.len(), 3, "base.mcmr is read once (diamond import)");
    let checked = elaborate(&loaded.spec, None, None, &[]).unwrap();
    assert_eq!(checked.graph.parameter_count(), 4 * (2 * 2 * 9 + 2));
    // The formatter keeps the imports and leaves imported definitions out of the file.
    assert_eq!(mcmr_dsl::fmt::format(&loaded.spec, main), main);
}

#[test]
fn import_problems_point_at_the_right_file_and_line() {
    let d = tmpdir("import-errors");
    std::fs::write(d.join("a.mcmr"), "import \"b.mcmr\"\n").unwrap();
    std::fs::write(d.join("b.mcmr"), "import \"a.mcmr\"\n").unwrap();
    let (_, e) = mcmr_dsl::load(&d.join("a.mcmr")).unwrap_err();
    assert!(e.message.contains("import cycle"), "{}", e.message);

    std::fs::write(d.join("c.mcmr"), "\nimport \"missing.mcmr\"\n").unwrap();
    let (files, e) = mcmr_dsl::load(&d.join("c.mcmr")).unwrap_err();
    let text = mcmr_dsl::Loaded { files, spec: Default::default() }.render(&e);
    assert!(text.contains("cannot read") && text.contains("c.mcmr:2:8"), "{text}");

    // An error inside an imported block is rendered against the imported file.
    std::fs::write(
        d.join("baselines/bad.mcmr"),
        "block broken(c: int) {\n    input x: [c, H, W]\n    output y = conv2(x, c)\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("main.mcmr"),
        "import \"baselines/bad.mcmr\"\n\nnetwork n() {\n    input x: [1, H, W]\n    output y = broken(x, 1)\n}\n",
    )
    .unwrap();
    let loaded = mcmr_dsl::load(&d.join("main.mcmr")).unwrap();
    let errors = elaborate(&loaded.spec, None, None, &[]).unwrap_err();
    let text = loaded.render(&errors[0]);
    assert!(text.contains("bad.mcmr:3:16") && text.contains("did you mean `conv2d`"), "{text}");
}

fn warnings_of(text: &str) -> Vec<String> {
    let s = mcmr_dsl::parse(text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")));
    let checked = elaborate(&s, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(text, "input")).collect::<String>()));
    checked.warnings.iter().map(|d| format!("{} | {}", d.message, d.help.clone().unwrap_or_default())).collect()
}

#[test]
fn spatial_sizes_are_checked_before_any_tensor_exists() {
    // Two stride-2 poolings and two ×2 upsamplings meet the input again only for multiples of 4;
    // the second skip sum needs the same, so there is one warning that counts it.
    let unpadded = "network n() {\n    input x: [2, H, W]\n    d1 = max_pool2d(x)\n    d2 = max_pool2d(d1)\n    u1 = upsample(d2, 2) + d1\n    output y = upsample(u1, 2) + x\n}\n";
    let w = warnings_of(unpadded);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("multiples of 4") && w[0].contains("1 more place"), "{w:?}");
    // pad_to_match makes it size-agnostic, and a 1×1 pooled map broadcasts.
    let padded = "network n() {\n    input x: [2, H, W]\n    d1 = max_pool2d(x)\n    u1 = pad_to_match(upsample(d1, 2), x, mode = \"zeros\")\n    g = global_avg_pool(u1)\n    output y = u1 * g + x\n}\n";
    assert!(warnings_of(padded).is_empty());
    // rfft2 halves the last axis (W/2 + 1), irfft2 takes its width from `like`.
    let spectral =
        "network n() {\n    input x: [1, H, W]\n    k = rfft2(x)\n    output y = irfft2(k, like = x) + x\n}\n";
    assert!(warnings_of(spectral).is_empty());
}

#[test]
fn fsmnet_needs_input_sizes_that_are_multiples_of_8() {
    // The official FSMNet downsamples three times by 2 without padding back (research/fsmnet.md):
    // its skip sums meet only for multiples of 8, which the checker reports once.
    let (text, s) = spec("papers/fsmnet.mcmr");
    let checked = elaborate(&s, None, None, &[])
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| d.render(&text, "fsmnet")).collect::<String>()));
    let w: Vec<&str> = checked.warnings.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("multiples of 8"), "{w:?}");
}

#[test]
fn a_complete_experiment_section_passes_the_schema() {
    let text = r#"network n() {
    input x: [1, H, W]
    output y = conv2d(x, 1, kernel = 3, padding = 1)
}

experiment baseline {
    seed = 0
    reproduces = ["table2/unet/4x/psnr"]
    loss = l1(y, target) + 0.1 * (1 - ssim(y, target))
    optimizer = adamw(lr = 1e-4, beta1 = 0.9, beta2 = 0.999, weight_decay = 1e-4)
    schedule = multistep(milestones = [100, 150], gamma = 0.1)
    schedule_unit = "epoch"
    clip_grad_norm = 0.01
    batch_size = 4

    data {
        source = "phantom"
        anatomy = "brain"
        target = "t2"
        reference = "t1"
        size = [64, 48]
        slices = [2, 10]
        split = [7, 1, 2]
        normalisation = "min_max"
    }
    mask train {
        policy = "online"
        pattern { family = "random" acceleration = 4 }
        pattern { family = "equispaced" acceleration = 8 center_fraction = 0.04 }
    }
    mask test {
        family = "random"
        acceleration = 4
        seed = 42
        policy = "per_volume"
    }
    evaluate {
        protocol = "fastmri-volume"
        part = "test"
    }
    stage warmup {
        iterations = 100
        train = ["head.*"]
    }
    tolerance {
        psnr = 0.5
        ssim = 0.01
    }
    scale smoke {
        iterations = 200
        data { size = 48 }
    }
    scale paper {
        epochs = 200
        data { source = "folder" path = "/data/brats" layout = "brats" slices = "all" }
    }
}
"#;
    let s = mcmr_dsl::parse(text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")));
    let errors = mcmr_dsl::sections::check(&s);
    assert!(errors.is_empty(), "{}", errors.iter().map(|d| d.render(text, "input")).collect::<String>());
}

const VARIANTS: &str = r#"block plain(c: int) {
    input x: [c, H, W]
    output y = conv2d(x, c, kernel = 3, padding = 1) as conv
}

block wide(c: int) {
    input x: [c, H, W]
    output y = conv2d(x, c, kernel = 5, padding = 2) as conv
}

network n() {
    input x: [1, H, W]
    output y = plain(x, 1) as body
}

experiment {
    batch_size = 4
    optimizer = adam(lr = 1e-3)
    mask {
        family = "random"
        acceleration = 4
    }
}

variant wider {
    blocks {
        plain = "wide"
    }
    experiment {
        batch_size = 8
        mask {
            acceleration = 8
        }
    }
}

variant typo {
    blocks {
        plian = "wide"
    }
}
"#;

#[test]
fn variants_replace_blocks_and_override_experiment_settings() {
    let s = mcmr_dsl::parse(VARIANTS).unwrap_or_else(|d| panic!("{}", d.render(VARIANTS, "input")));
    // 3×3 conv 1→1 with bias: 10 parameters; 5×5: 26.
    assert_eq!(elaborate(&s, None, None, &[]).unwrap().graph.parameter_count(), 10);
    let wider = elaborate(&s, None, Some("wider"), &[]).unwrap();
    assert_eq!(wider.graph.parameter_count(), 26);
    assert_eq!(wider.graph.parameters()[0].path, "body.conv.weight");
    let errors = elaborate(&s, None, Some("typo"), &[]).unwrap_err();
    assert!(errors[0].message.contains("`plian` is not a block"), "{errors:?}");
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `plain`?"));

    let loaded = mcmr_dsl::Loaded::from_text("input", VARIANTS).unwrap();
    let merged = loaded.sections(Some("wider"));
    let experiment = merged.iter().find(|x| x.kind == "experiment").unwrap();
    let mask = experiment.section("mask", None).unwrap();
    assert_eq!(experiment.get("batch_size").and_then(|v| v.int()), Some(8));
    assert_eq!(experiment.get("optimizer").and_then(|v| v.call()).map(|c| c.name.as_str()), Some("adam"));
    assert_eq!(mask.get("family").and_then(|v| v.str()), Some("random"));
    assert_eq!(mask.get("acceleration").and_then(|v| v.int()), Some(8));
    assert_eq!((experiment.settings.len(), mask.settings.len()), (2, 2), "overrides replace, not append");
    assert_eq!(mcmr_dsl::sections::apply_variant(&s, "nonexistent"), s);
}

#[test]
fn instance_paths_interpolate_inside_a_segment_and_format_back() {
    let text = "network n() {\n    input x: [1, H, W]\n    h = x\n    for i in 1..3 {\n        h = conv2d(h, 1, bias = false) as down{i}_fre_T1.{i * 2}\n    }\n    output y = h\n}\n\nexperiment e_x{r} for r, cf in [[4, 0.08], [8, 0.04]], row in [\"a\"] {\n    reproduces = [\"t/{row}/{r}x\"]\n}\n";
    let s = mcmr_dsl::parse(text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")));
    let checked = elaborate(&s, None, None, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<String> = checked.graph.parameters().into_iter().map(|p| p.path).collect();
    assert_eq!(names, ["down1_fre_T1.2.weight", "down2_fre_T1.4.weight"]);
    assert_eq!(fmt_text(text), text, "the formatter keeps matrices and interpolated paths");
}

#[test]
fn outputs_named_in_loops_and_list_parameters() {
    let text = "network n(dilations: list = [1, 2]) {\n    input x: [1, H, W]\n    h = x\n    for i in 1..3 {\n        h = conv2d(h, 1, padding = dilations[i - 1], dilation = dilations[i - 1]) as c{i}\n        output r{i}_img = h\n    }\n    output y = h\n}\n\nvariant wide {\n    dilations = [2, 3]\n}\n";
    let s = mcmr_dsl::parse(text).unwrap_or_else(|d| panic!("{}", d.render(text, "input")));
    let checked = elaborate(&s, None, None, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let outputs: Vec<&str> = checked.graph.outputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(outputs, ["r1_img", "r2_img", "y"]);
    assert_eq!(fmt_text(text), text, "the formatter keeps interpolated output names");
    let dilation = |c: &mcmr_dsl::check::Checked| {
        c.graph
            .nodes
            .iter()
            .filter_map(|n| match &n.op {
                mcmr_dsl::ir::Op::Conv2d { dilation, .. } => Some(*dilation),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(dilation(&checked), [1, 2]);
    // From a variant, and from `--param dilations=[3,1]` (Value::parse_literal).
    assert_eq!(dilation(&elaborate(&s, None, Some("wide"), &[]).unwrap()), [2, 3]);
    let given = [("dilations".to_string(), mcmr_dsl::check::Value::parse_literal("[3,1]"))];
    assert_eq!(dilation(&elaborate(&s, None, None, &given).unwrap()), [3, 1]);
}

#[test]
fn a_variants_parameters_set_only_the_networks_that_declare_them() {
    let text = "network small(k: int = 1) {\n    input x: [1, H, W]\n    output y = conv2d(x, 1, kernel = 1)\n}\n\nnetwork big(width: int = 4) {\n    input x: [1, H, W]\n    output y = conv2d(conv2d(x, width, kernel = 1), 1, kernel = 1)\n}\n\nvariant narrow {\n    width = 2\n}\n\nvariant typo {\n    widht = 2\n}\n";
    let s = mcmr_dsl::parse(text).unwrap();
    // `big` takes the variant's width: (1·2 + 2) + (2·1 + 1) = 7 parameters, not 13.
    assert_eq!(elaborate(&s, Some("big"), Some("narrow"), &[]).unwrap().graph.parameter_count(), 7);
    // `small` (a baseline beside the paper's model) does not declare `width` and leaves it.
    assert_eq!(elaborate(&s, Some("small"), Some("narrow"), &[]).unwrap().graph.parameter_count(), 2);
    // A parameter no network declares is still an error, with a suggestion.
    let errors = elaborate(&s, Some("big"), Some("typo"), &[]).unwrap_err();
    assert!(errors.iter().any(|e| e.help.as_deref() == Some("did you mean `width`?")), "{errors:?}");
}
