//! Metrics and protocols against `shared/fixtures/golden/metrics` (scikit-image / fastMRI in
//! float64) and against the protocol table of research/ecosystem.md b.4.

mod common;
use mcmr::io::npy::read_npy;
use mcmr::io::volume::Volume;
use mcmr::metrics::{ssim_map_valid, SsimParams};
use mcmr::protocols::{evaluate, Protocol};

fn volume(path: &std::path::Path) -> Volume {
    let a = read_npy(path).unwrap();
    match a.shape.as_slice() {
        [h, w] => Volume::new(1, *h, *w, a.data),
        [s, h, w] => Volume::new(*s, *h, *w, a.data),
        other => panic!("unexpected shape {other:?}"),
    }
}

#[test]
fn fastmri_volume_protocol_matches_every_golden_case() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("golden");
    let index = common::json(&dir.join("index.json"));
    let cases = index["metrics"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let gt = volume(&dir.join(c["gt"].as_str().unwrap()));
        let pred = volume(&dir.join(c["pred"].as_str().unwrap()));
        let e = &c["expected"];
        let r = evaluate(Protocol::FASTMRI_VOLUME, &gt, &pred).unwrap();
        for (what, got, key) in
            [("psnr", r.psnr, "psnr"), ("ssim", r.ssim, "ssim"), ("nmse", r.nmse, "nmse"), ("mse", r.mse, "mse")]
        {
            let want = e[key].as_f64().unwrap();
            assert!(common::rel_close(got, want, 1e-9), "{name} {what}: {got} vs {want}");
        }
        let want_range = e["data_range"].as_f64().unwrap();
        let ranges: Vec<f64> = r.per_slice.iter().map(|s| s.data_range).collect();
        assert!(
            ranges.iter().all(|&d| common::rel_close(d, want_range, 1e-12)),
            "{name}: data range {ranges:?} vs {want_range}"
        );
        if let Some(per) = e.get("ssim_per_slice_volume_max") {
            for (s, want) in r.per_slice.iter().zip(per.as_array().unwrap()) {
                assert!(common::rel_close(s.ssim, want.as_f64().unwrap(), 1e-9), "{name}: per-slice SSIM");
            }
        }
        if let Some(variant) = e.get("per_slice_variant") {
            let sm = evaluate(Protocol::SLICE_MEAN, &gt, &pred).unwrap();
            for (s, want) in sm.per_slice.iter().zip(variant.as_array().unwrap()) {
                for (got, key) in [(s.psnr, "psnr"), (s.ssim, "ssim"), (s.nmse, "nmse"), (s.data_range, "data_range")] {
                    assert!(common::rel_close(got, want[key].as_f64().unwrap(), 1e-9), "{name} slice-mean {key}");
                }
            }
        }
    }
}

#[test]
fn ssim_map_matches_the_golden_interior() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("golden/metrics");
    let gt = read_npy(&dir.join("m01_64x64_noise_gt.npy")).unwrap();
    let pred = read_npy(&dir.join("m01_64x64_noise_pred.npy")).unwrap();
    let map = read_npy(&dir.join("m01_64x64_noise_ssim_map.npy")).unwrap();
    let range = gt.data.iter().cloned().fold(f64::MIN, f64::max);
    let ours = ssim_map_valid(&gt.data, &pred.data, 64, 64, range, &SsimParams::default());
    let mut worst = 0.0f64;
    for r in 0..58 {
        for c in 0..58 {
            worst = worst.max((ours[r * 58 + c] - map.data[(r + 3) * 64 + c + 3]).abs());
        }
    }
    assert!(worst < 1e-10, "worst SSIM-map difference {worst:e}");
}

/// research/ecosystem.md b.4: one synthetic volume, every protocol, values from numpy/skimage.
#[test]
fn protocol_table_b4_is_reproduced() {
    let (s, h, w) = (4usize, 64usize, 48usize);
    let mut gt = Vec::with_capacity(s * h * w);
    let mut pred = Vec::with_capacity(s * h * w);
    for k in 0..s {
        for y in 0..h {
            for x in 0..w {
                let (xf, yf, kf) = (x as f64, y as f64, k as f64);
                let g = 1.0
                    + (0.1 * xf + 0.3 * kf).sin() * (0.07 * yf).cos()
                    + 0.5 * (-((xf - 24.0).powi(2) + (yf - 32.0).powi(2)) / 200.0).exp();
                gt.push(g);
                pred.push(g + 0.05 * (0.9 * xf + 1.3 * yf + 0.5 * kf).sin());
            }
        }
    }
    let max = gt.iter().cloned().fold(f64::MIN, f64::max);
    assert!((max - 2.1053491640).abs() < 1e-9);
    let (gt, pred) = (Volume::new(s, h, w, gt), Volume::new(s, h, w, pred));
    let v = evaluate(Protocol::FASTMRI_VOLUME, &gt, &pred).unwrap();
    assert!((v.nmse - 0.0008489743).abs() < 1e-10);
    assert!((v.psnr - 35.4967577851).abs() < 1e-9);
    assert!((v.ssim - 0.9490887049).abs() < 1e-9);
    let m = evaluate(Protocol::SLICE_MEAN, &gt, &pred).unwrap();
    assert!((m.psnr - 35.2784512958).abs() < 1e-9);
    // The uint8 protocol works on [0, 1] intensities; b.4 scales by the volume maximum first.
    let scale = |v: &Volume| Volume::new(s, h, w, v.data.iter().map(|x| x / max).collect());
    let u = evaluate(Protocol::FSMNET_BRATS_UINT8, &scale(&gt), &scale(&pred)).unwrap();
    assert!((u.psnr - 35.4752776231).abs() < 1e-9, "{}", u.psnr);
    assert!((u.ssim - 0.9488560684).abs() < 1e-9, "{}", u.ssim);
}

#[test]
fn unifs_protocol_zeroes_background_predictions_and_uses_unit_range() {
    let gt = Volume::new(1, 8, 8, (0..64).map(|i| (i as f64) / 64.0).collect());
    let mut p = gt.data.clone();
    p[0] = 0.009; // below 0.01: set to 0, equal to gt[0] = 0
    p[9] += 0.05;
    let pred = Volume::new(1, 8, 8, p);
    let r = evaluate(Protocol::UNIFS_UNIT, &gt, &pred).unwrap();
    let mse = 0.05f64 * 0.05 / 64.0;
    assert!((r.psnr - 10.0 * (1.0 / mse).log10()).abs() < 1e-9);
}

#[test]
fn mismatched_shapes_are_a_clear_error() {
    let a = Volume::new(1, 8, 8, vec![1.0; 64]);
    let b = Volume::new(2, 8, 8, vec![1.0; 128]);
    let e = evaluate(Protocol::SLICE_MEAN, &a, &b).unwrap_err().to_string();
    assert!(e.contains("[1, 8, 8]") && e.contains("[2, 8, 8]"), "{e}");
}

#[test]
fn a_preset_is_its_parameters() {
    use mcmr::protocols::{Aggregate, DataRange};
    let gt = Volume::new(2, 8, 8, (0..128).map(|i| ((i * 37) % 101) as f64 / 100.0).collect());
    let pred = Volume::new(
        2,
        8,
        8,
        gt.data.iter().enumerate().map(|(i, v)| v + ((i * 13) % 7) as f64 / 50.0 - 0.06).collect(),
    );
    // FSMNet's preset, by hand: both images exported to 8 bits, then scored per slice at range 255.
    let eight_bit =
        |v: &Volume| Volume::new(2, 8, 8, v.data.iter().map(|x| (x.clamp(0.0, 1.0) * 255.0).trunc()).collect());
    let by_hand = Protocol {
        name: "by-hand",
        data_range: DataRange::Fixed(255.0),
        quantise: None,
        background_below: None,
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::SliceMean,
    };
    let a = evaluate(Protocol::FSMNET_BRATS_UINT8, &gt, &pred).unwrap();
    let b = evaluate(by_hand, &eight_bit(&gt), &eight_bit(&pred)).unwrap();
    assert_eq!((a.psnr, a.ssim, a.nmse), (b.psnr, b.ssim, b.nmse));
    assert_eq!(Protocol::parse("fsmnet-brats-uint8").unwrap(), Protocol::FSMNET_BRATS_UINT8);
    assert!(Protocol::parse("fsmnet").unwrap_err().to_string().contains("known: fastmri-volume"));
}

/// IMA's group protocol by hand: the prediction clipped to [0, 1], per slice PSNR with the
/// slice's maximum and SSIM at range 2; `ima-unit` the same with SSIM at range 1.
#[test]
fn ima_protocols_clip_and_score_ssim_at_their_own_range() {
    let gt = Volume::new(2, 8, 8, (0..128).map(|i| ((i * 7) % 11) as f64 / 10.0).collect());
    let pred =
        Volume::new(2, 8, 8, gt.data.iter().enumerate().map(|(i, v)| v + ((i % 5) as f64 - 2.0) / 8.0).collect());
    let clipped: Vec<f64> = pred.data.iter().map(|x| x.clamp(0.0, 1.0)).collect();
    for (protocol, ssim_range) in [(Protocol::IMA_GROUP, 2.0), (Protocol::IMA_UNIT, 1.0)] {
        let r = evaluate(protocol, &gt, &pred).unwrap();
        let (mut psnr, mut ssim) = (0.0, 0.0);
        for k in 0..2 {
            let (g, p) = (&gt.data[k * 64..(k + 1) * 64], &clipped[k * 64..(k + 1) * 64]);
            let peak = g.iter().cloned().fold(f64::MIN, f64::max);
            psnr += mcmr::metrics::psnr(g, p, peak) / 2.0;
            ssim += mcmr::metrics::ssim(g, p, 8, 8, ssim_range) / 2.0;
        }
        assert!((r.psnr - psnr).abs() < 1e-12 && (r.ssim - ssim).abs() < 1e-12, "{}", protocol.name);
    }
    let (group, unit) =
        (evaluate(Protocol::IMA_GROUP, &gt, &pred).unwrap(), evaluate(Protocol::IMA_UNIT, &gt, &pred).unwrap());
    assert_eq!(group.psnr, unit.psnr);
    assert!(group.ssim > unit.ssim, "a wider range flatters SSIM");
}

/// The K-Space Transformer's protocol by hand: per slice, PSNR and SSIM with the slice's span
/// max − min as data range (a slice that does not start at 0 shows the difference from
/// `slice-mean`'s maximum).
#[test]
fn kt_slice_scores_each_slice_with_its_span() {
    let gt = Volume::new(2, 8, 8, (0..128).map(|i| 0.5 + ((i * 7) % 11) as f64 / 10.0).collect());
    let pred =
        Volume::new(2, 8, 8, gt.data.iter().enumerate().map(|(i, v)| v + ((i % 5) as f64 - 2.0) / 20.0).collect());
    let r = evaluate(Protocol::KT_SLICE, &gt, &pred).unwrap();
    let (mut psnr, mut ssim) = (0.0, 0.0);
    for k in 0..2 {
        let (g, p) = (&gt.data[k * 64..(k + 1) * 64], &pred.data[k * 64..(k + 1) * 64]);
        let span = g.iter().cloned().fold(f64::MIN, f64::max) - g.iter().cloned().fold(f64::MAX, f64::min);
        assert!((span - 1.0).abs() < 1e-12, "the slice spans [0.5, 1.5]");
        psnr += mcmr::metrics::psnr(g, p, span) / 2.0;
        ssim += mcmr::metrics::ssim(g, p, 8, 8, span) / 2.0;
    }
    assert!((r.psnr - psnr).abs() < 1e-12 && (r.ssim - ssim).abs() < 1e-12);
    let by_max = evaluate(Protocol::SLICE_MEAN, &gt, &pred).unwrap();
    assert!(by_max.psnr > r.psnr + 3.0, "range 1.5 vs 1: {} vs {}", by_max.psnr, r.psnr);
    assert_eq!(Protocol::parse("kt-slice").unwrap(), Protocol::KT_SLICE);
}
