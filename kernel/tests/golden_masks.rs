//! Masks against fastMRI's own draws (`golden/masks/fastmri_golden_masks.json`), the statistics
//! every correct fastMRI mask satisfies (`mask_statistics.json`), and FSMNet's masks as stored in
//! its parity fixture.

mod common;
use mcmr::masks::{generate, FastMriKind, FastMriMaskFunc, MaskFamily, MaskParams};
use mcmr::rng::{NumpyRng, Seed};

fn indices(v: &serde_json::Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

#[test]
fn masks_are_bit_exact_with_fastmri_for_the_file_seed() {
    let Some(fx) = common::fixtures() else { return };
    let g = common::json(&fx.join("golden/masks/fastmri_golden_masks.json"));
    let file = Seed::from_name("file1000001.h5");
    let cases: [(&str, MaskFamily, f64, f64); 6] = [
        ("random", MaskFamily::Random, 0.08, 4.0),
        ("random_8x", MaskFamily::Random, 0.04, 8.0),
        ("equispaced", MaskFamily::Equispaced, 0.08, 4.0),
        ("equispaced_fraction", MaskFamily::EquispacedFraction, 0.08, 4.0),
        ("magic", MaskFamily::Magic, 0.08, 4.0),
        ("magic_fraction", MaskFamily::MagicFraction, 0.08, 4.0),
    ];
    for (key, family, cf, acc) in cases {
        let m = generate(&MaskParams::new(family, [640, 368], acc).center_fraction(cf).seed(file.clone())).unwrap();
        assert_eq!(m.sampled_columns.unwrap(), indices(&g[key]["indices"]), "{key}");
        assert_eq!(m.num_low_frequencies.unwrap() as u64, g[key]["num_low_frequencies"].as_u64().unwrap(), "{key}");
    }
    // Lists of centre fractions and accelerations: fastMRI draws the pair index first.
    let key = "random_choice_[0.08,0.04]_[4,8]";
    let func = FastMriMaskFunc::new(FastMriKind::Random, vec![0.08, 0.04], vec![4.0, 8.0]);
    let (cols, n_low) = func.sample(368, &mut NumpyRng::new(&file)).unwrap();
    let got: Vec<usize> = cols.iter().enumerate().filter(|(_, &c)| c).map(|(i, _)| i).collect();
    assert_eq!(got, indices(&g[key]["indices"]), "{key}");
    assert_eq!(n_low as u64, g[key]["num_low_frequencies"].as_u64().unwrap());
    // Integer seeds go through init_genrand, an odd width through the same formulas.
    let key = "random_w321_intseed1234";
    let m = generate(&MaskParams::new(MaskFamily::Random, [320, 321], 4.0).center_fraction(0.08).seed(Seed::Int(1234)))
        .unwrap();
    assert_eq!(m.sampled_columns.unwrap(), indices(&g[key]["indices"]), "{key}");
}

#[test]
fn fastmri_masks_satisfy_the_golden_statistics() {
    let Some(fx) = common::fixtures() else { return };
    let stats = common::json(&fx.join("golden/masks/mask_statistics.json"));
    for s in stats["settings"].as_array().unwrap() {
        let shape = indices(&s["image_shape"]);
        let (cf, acc) = (s["center_fraction"].as_f64().unwrap(), s["acceleration"].as_f64().unwrap());
        let label = format!("{shape:?} cf {cf} acc {acc}");
        let n_low = s["num_low_frequencies"].as_u64().unwrap() as usize;
        let centre = indices(&s["center_indices"]);
        let params = |family| MaskParams::new(family, [shape[0], shape[1]], acc).center_fraction(cf);

        // random: centre sampled, total inside the 1e-9 bounds, mean over seeds near W/A.
        let bounds = indices(&s["random"]["total_sampled_bounds_inclusive"]);
        let std = s["random"]["std_outside_center"].as_f64().unwrap();
        let m_seeds = 300;
        let mut sum = 0usize;
        for seed in 0..m_seeds {
            let m = generate(&params(MaskFamily::Random).seed(Seed::Int(seed))).unwrap();
            assert_eq!(m.num_low_frequencies, Some(n_low), "{label}");
            let cols = m.sampled_columns.unwrap();
            assert!((centre[0]..centre[1]).all(|c| cols.contains(&c)), "{label}: centre not sampled");
            assert!(cols.len() >= bounds[0] && cols.len() <= bounds[1], "{label}: {} lines", cols.len());
            sum += cols.len();
        }
        let mean = sum as f64 / m_seeds as f64;
        let expected = shape[1] as f64 / acc;
        assert!((mean - expected).abs() <= 6.0 * std / (m_seeds as f64).sqrt(), "{label}: mean {mean} vs {expected}");

        // equispaced and equispaced_fraction: each mask is one of the listed ones, and every
        // listed offset occurs for some seed.
        for (family, key) in
            [(MaskFamily::Equispaced, "equispaced"), (MaskFamily::EquispacedFraction, "equispaced_fraction")]
        {
            let possible: Vec<Vec<usize>> =
                s[key]["possible_masks"].as_array().unwrap().iter().map(|p| indices(&p["indices"])).collect();
            let mut seen = vec![false; possible.len()];
            for seed in 0..200 {
                let cols = generate(&params(family).seed(Seed::Int(seed))).unwrap().sampled_columns.unwrap();
                let i = possible
                    .iter()
                    .position(|p| *p == cols)
                    .unwrap_or_else(|| panic!("{label} {key}: mask not among the possible ones"));
                seen[i] = true;
            }
            assert!(seen.iter().all(|&s| s), "{label} {key}: not every offset occurred");
        }
    }
}

/// FSMNet's BraTS masks (its `kspace_subsample.py`, seed 1337, as drawn into the parity fixture):
/// 4× = `random` cf 0.1, 8× = the old "equispaced", today's `equispaced_fraction`, cf 0.04.
#[test]
fn fsmnet_masks_match_the_official_code() {
    let Some(fx) = common::fixtures() else { return };
    let t = mcmr::io::safetensors::read_safetensors(&fx.join("parity/fsmnet/small/target.safetensors")).unwrap();
    let cols = &t["aux.mask_columns"];
    assert_eq!(cols.shape, vec![2, 64]);
    let settings = [(MaskFamily::Random, 0.1, 4.0), (MaskFamily::EquispacedFraction, 0.04, 8.0)];
    for (b, (family, cf, acc)) in settings.into_iter().enumerate() {
        let m = generate(&MaskParams::new(family, [64, 64], acc).center_fraction(cf).seed(Seed::Int(1337))).unwrap();
        let want: Vec<u8> = cols.data[b * 64..(b + 1) * 64].iter().map(|&v| (v != 0.0) as u8).collect();
        assert_eq!(&m.data[..64], &want[..], "{family:?}");
    }
}
