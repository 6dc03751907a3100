//! LPIPS (AlexNet, v0.1) against the `lpips` package (tools/parity/lpips_fixture.py: the
//! package's own linear layers, a backbone from a formula both sides compute), and LPIPS in a
//! run's results when `MCMR_LPIPS_WEIGHTS` names the weights.

use mcmr::io::safetensors::{write_safetensors, StWrite};
use mcmr::lpips::Lpips;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lpips_alex/fixture.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// The state dict the fixture's network had, as safetensors: the backbone from the script's
/// formula (tensor `t` in sorted-key order, element `i`), the rest from the fixture.
fn write_weights(dir: &Path, f: &serde_json::Value) -> PathBuf {
    let shapes: BTreeMap<&str, Vec<usize>> = [
        ("net.slice1.0", vec![64, 3, 11, 11]),
        ("net.slice2.3", vec![192, 64, 5, 5]),
        ("net.slice3.6", vec![384, 192, 3, 3]),
        ("net.slice4.8", vec![256, 384, 3, 3]),
        ("net.slice5.10", vec![256, 256, 3, 3]),
    ]
    .into_iter()
    .collect();
    let mut t = BTreeMap::new();
    for (tag, key) in f["backbone_keys_in_tag_order"].as_array().unwrap().iter().enumerate() {
        let key = key.as_str().unwrap();
        let (layer, what) = key.rsplit_once('.').unwrap();
        let w = &shapes[layer];
        let (shape, values): (Vec<usize>, Vec<f32>) = if what == "bias" {
            (vec![w[0]], (0..w[0]).map(|i| (0.05 * (1.0 + (0.3 * i as f64 + tag as f64).sin())) as f32).collect())
        } else {
            let n: usize = w.iter().product();
            let fan_in = (n / w[0]) as f64;
            (w.clone(), (0..n).map(|i| ((0.7 * i as f64 + tag as f64).sin() / fan_in.sqrt()) as f32).collect())
        };
        t.insert(key.to_string(), StWrite::F32(shape, values));
    }
    for (i, lin) in f["lin"].as_array().unwrap().iter().enumerate() {
        let v = floats(lin);
        t.insert(format!("lin{i}.model.1.weight"), StWrite::F32(vec![1, v.len(), 1, 1], v));
    }
    for k in ["shift", "scale"] {
        t.insert(format!("scaling_layer.{k}"), StWrite::F32(vec![1, 3, 1, 1], floats(&f[k])));
    }
    let path = dir.join("lpips_alex.safetensors");
    write_safetensors(&path, &t, &BTreeMap::new()).unwrap();
    path
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-lpips-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lpips_matches_the_lpips_package() {
    let f = fixture();
    let d = temp("parity");
    let net = Lpips::load(&write_weights(&d, &f)).unwrap();
    let (h, w) = (f["height"].as_u64().unwrap() as usize, f["width"].as_u64().unwrap() as usize);
    let (a, b) = (floats(&f["a"]), floats(&f["b"]));
    let got = net.layer_distances(&a, &b, h, w).unwrap();
    let want: Vec<f64> = f["layers_ab"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    for (l, (g, e)) in got.iter().zip(&want).enumerate() {
        assert!((g - e).abs() <= 1e-4 * e.abs() + 1e-9, "layer {}: {g} vs the package's {e}", l + 1);
    }
    let total = net.distance(&a, &b, h, w).unwrap();
    let expected = f["distance_ab"].as_f64().unwrap();
    assert!(expected > 0.01 && (total - expected).abs() <= 1e-4 * expected, "{total} vs {expected}");
    assert_eq!(net.distance(&a, &a, h, w).unwrap(), 0.0);
    // Magnitudes are mapped by the target's range: the same pair at another scale and offset
    // scores the same.
    let to64 = |v: &[f32], s: f64, o: f64| v.iter().map(|&x| (x as f64 + 1.0) * s + o).collect::<Vec<f64>>();
    let d1 = net.magnitude_distance(&to64(&a, 1.0, 0.0), &to64(&b, 1.0, 0.0), h, w).unwrap();
    let d2 = net.magnitude_distance(&to64(&a, 350.0, 20.0), &to64(&b, 350.0, 20.0), h, w).unwrap();
    assert!(d1 > 0.0 && (d1 - d2).abs() < 1e-4 * d1, "{d1} vs {d2}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn bad_lpips_weights_and_small_images_get_clear_errors() {
    let f = fixture();
    let d = temp("errors");
    let e = Lpips::load(&d.join("missing.safetensors")).err().unwrap();
    assert!(e.contains("missing.safetensors"), "{e}");
    let path = write_weights(&d, &f);
    let mut t = BTreeMap::new();
    t.insert("net.slice1.0.weight".to_string(), StWrite::F32(vec![64, 3, 11, 11], vec![0.0; 64 * 363]));
    let partial = d.join("partial.safetensors");
    write_safetensors(&partial, &t, &BTreeMap::new()).unwrap();
    let e = Lpips::load(&partial).err().unwrap();
    assert!(e.contains("partial.safetensors") && e.contains("net.slice1.0.bias"), "{e}");
    let net = Lpips::load(&path).unwrap();
    let e = net.distance(&[0.0; 30 * 40], &[0.0; 30 * 40], 30, 40).unwrap_err();
    assert!(e.contains("31x31") && e.contains("30x40"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_run_reports_lpips_when_the_user_supplies_weights() {
    let f = fixture();
    let d = temp("run");
    let weights = write_weights(&d, &f);
    // This test binary's only evaluation: the weights are read once per process.
    std::env::set_var("MCMR_LPIPS_WEIGHTS", &weights);
    let spec = d.join("papers").join("zf.mcmr");
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::write(
        &spec,
        r#"experiment zf {
    network = "zero_filled"
    inputs = ["input"]
    prediction = "output"
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
import "baselines/zero_filled.mcmr"
"#,
    )
    .unwrap();
    let papers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/baselines");
    std::fs::create_dir_all(d.join("papers/baselines")).unwrap();
    std::fs::copy(papers.join("zero_filled.mcmr"), d.join("papers/baselines/zero_filled.mcmr")).unwrap();
    let o = mcmr::experiment::ReproduceOptions { out: d.join("runs"), ..Default::default() };
    let runs = mcmr::experiment::reproduce(&spec, &o).unwrap();
    let r = &runs[0].results;
    let lp = r.mean("lpips").expect("lpips in the metrics");
    assert!(lp.is_finite() && lp > 0.0, "{lp}");
    assert!(r.per_slice.iter().all(|s| s.lpips.is_some_and(|v| v > 0.0)), "per slice");
    assert!(r.lpips_weights.as_deref().is_some_and(|w| w.contains("lpips_alex.safetensors")), "{:?}", r.lpips_weights);
    std::fs::remove_dir_all(d).unwrap();
}
