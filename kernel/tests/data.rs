//! Phantom datasets, loaders and the dataset interface.

use mcmr::data::dataset::{Augment, DataError, Dataset, DatasetConfig, Intensity, MaskPolicy, Source, Split};
use mcmr::data::layout::{discover, inspect, Layout};
use mcmr::data::phantom::{self, Kind, PhantomOptions};
use mcmr::data::prepare::{Normalisation, Part};
use mcmr::io::volume::{read_volume, write_nifti, Volume};
use mcmr::masks::{MaskFamily, MaskParams, Rounding};
use mcmr::rng::Seed;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> PhantomOptions {
    PhantomOptions { noise: 0.0, ..Default::default() }
}

fn config(source: Source, target: &str, reference: &str) -> DatasetConfig {
    let mask = MaskParams::new(MaskFamily::Random, [0, 0], 4.0).center_fraction(0.1).seed(Seed::Int(1337));
    DatasetConfig {
        normalisation: Normalisation::MeanStd,
        ..DatasetConfig::new(source, target, reference, MaskPolicy::Fixed(mask))
    }
}

/// A NIfTI-1 file written byte by byte (not by the kit): int16 data with slope 2 and intercept 1.
fn handmade_nifti(path: &Path, dims: [usize; 3], datatype: i16, bitpix: i16, values: &[i16]) {
    let mut h = vec![0u8; 352];
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    let dim: [i16; 8] = [3, dims[0] as i16, dims[1] as i16, dims[2] as i16, 1, 1, 1, 1];
    for (i, d) in dim.iter().enumerate() {
        h[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    h[70..72].copy_from_slice(&datatype.to_le_bytes());
    h[72..74].copy_from_slice(&bitpix.to_le_bytes());
    for i in 0..8 {
        h[76 + 4 * i..80 + 4 * i].copy_from_slice(&1f32.to_le_bytes());
    }
    h[108..112].copy_from_slice(&352f32.to_le_bytes());
    h[112..116].copy_from_slice(&2f32.to_le_bytes());
    h[116..120].copy_from_slice(&1f32.to_le_bytes());
    h[344..348].copy_from_slice(b"n+1\0");
    for v in values {
        h.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, h).unwrap();
}

#[test]
fn independently_written_nifti_is_read_with_orientation_and_scaling() {
    let dir = tmp("handmade");
    let (x, y, z) = (4usize, 3usize, 2usize);
    // Stored in NIfTI (Fortran) order: x fastest. Value at (i, j, k) = i + 10 j + 100 k.
    let mut values = Vec::new();
    for k in 0..z {
        for j in 0..y {
            for i in 0..x {
                values.push((i + 10 * j + 100 * k) as i16);
            }
        }
    }
    let p = dir.join("v.nii");
    handmade_nifti(&p, [x, y, z], 4, 16, &values);
    let v = read_volume(&p).unwrap();
    assert_eq!(v.shape(), [2, 4, 3], "slices = z, H = x, W = y");
    for k in 0..z {
        for i in 0..x {
            for j in 0..y {
                let want = 2.0 * (i + 10 * j + 100 * k) as f64 + 1.0; // slope 2, intercept 1
                assert_eq!(v.slice(k)[i * y + j], want, "voxel ({i}, {j}, {k})");
            }
        }
    }
}

#[test]
fn phantom_files_round_trip_and_match_the_in_memory_phantom() {
    let dir = tmp("roundtrip");
    let ids = phantom::write_dataset(&dir, Kind::Brain, 2, 48, 3, 7, &opts()).unwrap();
    assert_eq!(ids, vec!["Phantom_000", "Phantom_001"]);
    let report = inspect(&dir, None);
    assert_eq!(report.layout, "brats");
    assert_eq!(report.good_subjects(), vec!["Phantom_000", "Phantom_001"]);
    assert_eq!(report.subjects[0].contrasts["t2"], [48, 48, 3]);
    let from_files = Dataset::open(config(Source::Folder { root: dir.clone(), layout: None }, "t2", "t1")).unwrap();
    let in_memory = Dataset::open(config(
        Source::Phantom { kind: Kind::Brain, subjects: 2, size: 48, slices: 3, seed: 7, options: opts() },
        "t2",
        "t1",
    ))
    .unwrap();
    assert_eq!(from_files.len(), 6);
    for i in 0..6 {
        let (a, b) = (from_files.get(i, 0).unwrap(), in_memory.get(i, 0).unwrap());
        assert_eq!(a.target, b.target);
        assert_eq!(a.reference, b.reference);
        assert_eq!(a.input, b.input);
    }
    assert_eq!(from_files.file_hashes().len(), 4);
}

#[test]
fn ixi_hcp_and_new_brats_layouts_are_found() {
    let s = phantom::brain(0, 32, 2, &opts());
    // IXI: contrast folders, no literal `IXI` prefix needed.
    let ixi = tmp("ixi");
    for (c, folder, tag) in [("t1", "IXI-T1", "T1"), ("t2", "IXI-T2", "T2"), ("t1ce", "IXI-PD", "PD")] {
        write_nifti(&ixi.join(folder).join(format!("SUBJ002-Guys-0828-{tag}.nii.gz")), &s.contrasts[c]).unwrap();
    }
    let d = discover(&ixi, None);
    assert_eq!(d.layout, Layout::Ixi);
    assert_eq!(d.subjects[0].id, "SUBJ002-Guys-0828");
    assert_eq!(d.subjects[0].files.keys().cloned().collect::<Vec<_>>(), vec!["pd", "t1", "t2"]);
    // HCP: T1w/T2w files somewhere below the subject folder.
    let hcp = tmp("hcp");
    write_nifti(&hcp.join("100307/T1w/T1w_acpc_dc_restore.nii.gz"), &s.contrasts["t1"]).unwrap();
    write_nifti(&hcp.join("100307/T1w/T2w_acpc_dc_restore.nii.gz"), &s.contrasts["t2"]).unwrap();
    let d = discover(&hcp, None);
    assert_eq!((d.layout, d.subjects.len()), (Layout::Hcp, 1));
    assert!(inspect(&hcp, None).subjects[0].problems.is_empty());
    // BraTS 2023 naming.
    let b23 = tmp("brats23");
    for (c, tag) in [("t1", "t1n"), ("t1ce", "t1c"), ("t2", "t2w"), ("flair", "t2f")] {
        write_nifti(
            &b23.join("BraTS-GLI-00000-000").join(format!("BraTS-GLI-00000-000-{tag}.nii.gz")),
            &s.contrasts[c],
        )
        .unwrap();
    }
    let r = inspect(&b23, None);
    assert_eq!(r.layout, "brats");
    assert!(r.subjects[0].problems.is_empty(), "{:?}", r.subjects[0].problems);
}

#[test]
fn inspect_reports_every_problem_and_the_good_subjects_stay_usable() {
    let dir = tmp("bad");
    phantom::write_dataset(&dir, Kind::Brain, 5, 32, 2, 0, &opts()).unwrap();
    // 000: missing contrast; 001: shape mismatch; 002: truncated .nii.gz; 003: NaN voxels.
    std::fs::remove_file(dir.join("Phantom_000/Phantom_000_flair.nii.gz")).unwrap();
    write_nifti(&dir.join("Phantom_001/Phantom_001_t2.nii.gz"), &Volume::new(3, 32, 32, vec![1.0; 3 * 32 * 32]))
        .unwrap();
    let p = dir.join("Phantom_002/Phantom_002_t1.nii.gz");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let mut nan = vec![1.0; 2 * 32 * 32];
    nan[5] = f64::NAN;
    write_nifti(&dir.join("Phantom_003/Phantom_003_t1ce.nii.gz"), &Volume::new(2, 32, 32, nan)).unwrap();
    let r = inspect(&dir, Some(Layout::Brats));
    let problems = |i: usize| r.subjects[i].problems.join(" | ");
    assert!(problems(0).contains("missing contrast `flair`"), "{}", problems(0));
    assert!(problems(1).contains("Phantom_001_t2.nii.gz` has shape 32x32x3"), "{}", problems(1));
    assert!(problems(2).contains("Phantom_002_t1.nii.gz"), "{}", problems(2));
    assert!(problems(3).contains("NaN or infinite"), "{}", problems(3));
    assert_eq!(r.good_subjects(), vec!["Phantom_004"]);

    // Opening fails with every problem listed, or keeps the good subjects when asked.
    let mut cfg = config(Source::Folder { root: dir.clone(), layout: None }, "t2", "t1");
    match Dataset::open(cfg.clone()) {
        Err(DataError::Problems(p)) => assert!(p.len() >= 2, "{p:?}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a broken dataset must not open silently"),
    }
    cfg.skip_bad_subjects = true;
    let ds = Dataset::open(cfg).unwrap();
    // Subjects 0 and 3 are fine for (t2, t1); 1 and 2 are not.
    assert_eq!(ds.subject_ids(), vec!["Phantom_000", "Phantom_003", "Phantom_004"]);
    assert!(!ds.problems().is_empty());
}

#[test]
fn unsupported_data_types_and_empty_folders_are_reported() {
    let dir = tmp("dtype");
    std::fs::create_dir_all(dir.join("S1")).unwrap();
    // datatype 128 = RGB24: not a scalar image.
    handmade_nifti(&dir.join("S1/S1_pd.nii"), [2, 2, 1], 128, 24, &[0, 0, 0, 0, 0, 0]);
    handmade_nifti(&dir.join("S1/S1_pdfs.nii"), [2, 2, 1], 4, 16, &[1, 2, 3, 4]);
    let r = inspect(&dir, None);
    assert_eq!(r.layout, "knee");
    assert!(r.subjects[0].problems.iter().any(|p| p.contains("S1_pd.nii")), "{:?}", r.subjects[0].problems);
    let empty = tmp("empty");
    let r = inspect(&empty, Some(Layout::Brats));
    assert!(r.subjects.is_empty() && r.problems[0].contains("holds no subject"), "{:?}", r.problems);
}

fn phantom_source() -> Source {
    Source::Phantom { kind: Kind::Brain, subjects: 4, size: 32, slices: 3, seed: 1, options: opts() }
}

#[test]
fn mask_policies_behave_as_documented() {
    let params = MaskParams::new(MaskFamily::Random, [0, 0], 4.0).center_fraction(0.08).seed(Seed::Int(5));
    let mut cfg = config(phantom_source(), "t2", "t1");
    let hashes = |cfg: &DatasetConfig, epoch: usize| -> Vec<String> {
        let ds = Dataset::open(cfg.clone()).unwrap();
        (0..ds.len()).map(|i| ds.get(i, epoch).unwrap().meta.mask_hash).collect()
    };
    cfg.mask = MaskPolicy::Fixed(params.clone());
    let fixed = hashes(&cfg, 0);
    assert!(fixed.iter().all(|h| *h == fixed[0]));
    cfg.mask = MaskPolicy::PerSlice(params.clone());
    let per_slice = hashes(&cfg, 0);
    assert_eq!(per_slice, hashes(&cfg, 3), "offline masks do not change between epochs");
    assert!(per_slice.iter().collect::<std::collections::HashSet<_>>().len() > 6);
    cfg.mask = MaskPolicy::Online(params.clone());
    let (e0, e1) = (hashes(&cfg, 0), hashes(&cfg, 1));
    assert_ne!(e0, e1, "online masks are new draws");
    assert_eq!(e0, hashes(&cfg, 0), "and reproducible");
    cfg.mask = MaskPolicy::OnlineChoice(vec![
        MaskParams::new(MaskFamily::CenterSquare, [0, 0], 4.0),
        params.clone(),
        MaskParams::new(MaskFamily::EquispacedFraction, [0, 0], 4.0).center_fraction(0.08).rounding(Rounding::Floor),
    ]);
    let ds = Dataset::open(cfg).unwrap();
    let families: std::collections::HashSet<&str> =
        (0..ds.len()).map(|i| ds.get(i, 0).unwrap().meta.mask_family).collect();
    assert_eq!(families.len(), 3, "{families:?}");
}

/// MANet's Rician noise: complex Gaussian noise of σ = fraction × the slice's mean intensity on
/// the target's k-space before under-sampling (measured back from the sampled coefficients);
/// the target stays clean; test items keep their noise across epochs, training items redraw it.
/// The k-space fields follow the data's convention.
#[test]
fn kspace_noise_and_the_kspace_fields() {
    use burn::tensor::Device;
    use mcmr::kspace::{simulate_kspace, KSpaceConvention};
    let mut cfg = config(phantom_source(), "t2", "t1");
    cfg.normalisation = Normalisation::None;
    cfg.split = Split::Ratios(vec![1.0, 1.0], 3);
    cfg.part = Some(Part::Test);
    let clean = Dataset::open(cfg.clone()).unwrap().get(1, 0).unwrap();
    cfg.kspace_noise = 0.1;
    let test = Dataset::open(cfg.clone()).unwrap();
    let noisy = test.get(1, 0).unwrap();
    assert_eq!(noisy.target, clean.target, "the target stays clean");
    assert_ne!(noisy.input, clean.input);
    assert_eq!(noisy.kspace, test.get(1, 5).unwrap().kspace, "test noise is fixed");
    let mean = clean.target.iter().map(|&v| v as f64).sum::<f64>() / clean.target.len() as f64;
    let diffs: Vec<f64> = noisy
        .kspace
        .iter()
        .zip(&clean.kspace)
        .zip(&noisy.mask.data)
        .filter(|(_, &m)| m != 0)
        .flat_map(|((a, b), _)| [(a.re - b.re) as f64, (a.im - b.im) as f64])
        .collect();
    let sigma = (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt();
    assert!((sigma / (0.1 * mean) - 1.0).abs() < 0.15, "σ {sigma} vs 0.1 × mean {}", 0.1 * mean);
    assert!(noisy.kspace.iter().zip(&noisy.mask.data).all(|(k, &m)| m != 0 || k.norm() == 0.0));
    cfg.part = Some(Part::Train);
    let train = Dataset::open(cfg.clone()).unwrap();
    assert_ne!(train.get(0, 0).unwrap().kspace, train.get(0, 1).unwrap().kspace, "training noise is redrawn");
    // Fields: the full k-space of the clean images, in numpy's convention when asked.
    cfg.kspace_convention = KSpaceConvention::FftshiftFft2;
    let item = Dataset::open(cfg).unwrap().get(0, 0).unwrap();
    let names = ["target_kspace".to_string(), "reference_kspace".to_string(), "kspace".to_string()];
    let dev = Device::flex();
    let (_, fields) = mcmr::experiment::batch::tensors(&[item.clone()], &[], &names, &dev).unwrap();
    let (h, w) = (item.height, item.width);
    let host = |name: &str| fields[name].clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    for (name, image) in [("target_kspace", &item.target), ("reference_kspace", &item.reference)] {
        let want = KSpaceConvention::FftshiftFft2.from_fft2c(&simulate_kspace(image, None, h, w), h, w);
        let got = host(name);
        assert_eq!(got.len(), 2 * h * w);
        // Unnormalised: DC = the image's sum.
        let dc = want[(h / 2) * w + w / 2];
        assert!((dc.re as f64 - image.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-2, "{name} DC");
        assert!(want.iter().enumerate().all(|(i, z)| got[i] == z.re && got[h * w + i] == z.im), "{name}");
    }
    let k = host("kspace");
    let want = KSpaceConvention::FftshiftFft2.from_fft2c(&item.kspace, h, w);
    assert!(want.iter().enumerate().all(|(i, z)| k[i] == z.re && k[h * w + i] == z.im));
}

#[test]
fn normalisation_uses_the_input_statistics_for_the_target() {
    let ds = Dataset::open(config(phantom_source(), "t2", "t1")).unwrap();
    let item = ds.get(1, 0).unwrap();
    let n = item.input.len() as f64;
    let mean = item.input.iter().map(|&v| v as f64).sum::<f64>() / n;
    assert!(mean.abs() < 1e-5, "input mean {mean}");
    assert_eq!(item.meta.target_stats, item.meta.input_stats);
    // De-normalising the target with the input statistics gives the raw phantom slice back.
    let raw = &phantom::brain_with_seed(1, 0, 32, 3, &opts()).contrasts["t2"];
    let s = item.meta.target_stats;
    for (t, r) in item.target.iter().zip(raw.slice(1)) {
        assert!(((*t as f64) * s.scale + s.offset - r).abs() < 1e-5);
    }
}

#[test]
fn splits_augmentation_and_order_are_seeded() {
    let mut cfg = config(phantom_source(), "t2", "t1");
    cfg.split = Split::Ratios(vec![3.0, 1.0], 9);
    cfg.part = Some(Part::Test);
    let test = Dataset::open(cfg.clone()).unwrap();
    cfg.part = Some(Part::Train);
    let train = Dataset::open(cfg.clone()).unwrap();
    assert_eq!((train.subject_ids().len(), test.subject_ids().len()), (3, 1));
    assert!(train.subject_ids().iter().all(|id| !test.subject_ids().contains(id)));
    assert_eq!(train.order(2, true), train.order(2, true));
    // The second epoch reuses the prepared slices.
    for epoch in 0..2 {
        for i in train.order(epoch, true) {
            train.get(i, epoch).unwrap();
        }
        assert_eq!(train.cached_slices(), train.len());
    }
    assert_ne!(train.order(2, true), train.order(3, true));
    // Paired augmentation: the same transform for target and reference.
    cfg.target = "t1".into();
    cfg.normalisation = Normalisation::None;
    cfg.augment = Some(Augment { max_rotation_deg: 15.0, horizontal_flip: true });
    let aug = Dataset::open(cfg).unwrap();
    let item = aug.get(0, 4).unwrap();
    assert_eq!(item.target, item.reference, "identical contrasts must stay identical after augmentation");
    assert_ne!(item.target, aug.get(0, 5).unwrap().target, "augmentation changes with the epoch");
}

#[test]
fn int16_brats_volumes_reach_the_unit_range_an_eight_bit_protocol_expects() {
    // One BraTS-layout subject of int16 NIfTI volumes at BraTS's scale (stored 100..1000,
    // slope 2 and intercept 1: intensities up to about 2000).
    let dir = tmp("brats-int16");
    let dims = [16usize, 16, 2];
    for (c, shift) in [("t1", 3usize), ("t2", 11)] {
        let values: Vec<i16> =
            (0..dims.iter().product::<usize>()).map(|i| (100 + (i * 37 + shift) % 900) as i16).collect();
        let p = dir.join("BraTS20_Training_001").join(format!("BraTS20_Training_001_{c}.nii"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        handmade_nifti(&p, dims, 4, 16, &values);
    }
    let source = Source::Folder { root: dir.clone(), layout: None };
    let mask = MaskPolicy::Fixed(MaskParams::new(MaskFamily::Random, [0, 0], 4.0).center_fraction(0.1));
    let open = |intensity| {
        Dataset::open(DatasetConfig { intensity, ..DatasetConfig::new(source.clone(), "t2", "t1", mask.clone()) })
            .unwrap()
    };
    let target =
        |d: &Dataset| -> Vec<f64> { (0..d.len()).flat_map(|i| d.get(i, 0).unwrap().target).map(f64::from).collect() };
    let stored = target(&open(Intensity::AsStored));
    let max = stored.iter().cloned().fold(0.0, f64::max);
    assert!(max > 1500.0, "int16 scale, as stored: {max}");
    // The 8-bit export: each volume over its maximum, on the 1/255 grid; the maximum is 1.
    let eight = target(&open(Intensity::Uint8));
    assert_eq!(eight.iter().cloned().fold(0.0, f64::max), 1.0);
    for (v, s) in eight.iter().zip(&stored) {
        assert!((v * 255.0 - (v * 255.0).round()).abs() < 1e-4, "{v} is not on the 8-bit grid");
        assert!((v - s / max).abs() <= 0.5 / 255.0 + 1e-6, "{v} vs {}", s / max);
    }
    // Scored as stored, the 8-bit protocol refuses; mapped, it gives finite numbers.
    let vol = |v: &[f64]| Volume::new(2, 16, 16, v.to_vec());
    let noisy = |v: &[f64], k: f64| {
        v.iter().enumerate().map(|(i, x)| x * (1.0 + k * ((i % 5) as f64 - 2.0) / 100.0)).collect::<Vec<_>>()
    };
    let p = mcmr::protocols::Protocol::FSMNET_BRATS_UINT8;
    assert!(mcmr::protocols::evaluate(p, &vol(&stored), &vol(&noisy(&stored, 1.0))).is_err());
    let r = mcmr::protocols::evaluate(p, &vol(&eight), &vol(&noisy(&eight, 1.0))).unwrap();
    assert!(r.psnr.is_finite() && r.psnr > 20.0 && r.ssim < 1.0, "{r:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn measured_kspace_volumes_keep_their_phase_and_standardise_per_slice() {
    let d = tmp("cc359");
    // CC359-style volumes: the brain phantom's T1 with its smooth phase at a scanner-like scale,
    // raw uncentred k-space at 48x48, 3 slices; split.csv: one subject each train, val, test.
    let ids = mcmr::data::cc359::write_phantom_volumes(&d, Kind::Brain, "t1", 3, 48, 3, 3, 2.5e3).unwrap();
    let mask = MaskParams::new(MaskFamily::Random, [0, 0], 5.0).center_fraction(0.08).seed(Seed::Int(0));
    let cfg = DatasetConfig {
        size: Some([32, 32]),
        normalisation: Normalisation::ComplexStandardise,
        split: Split::File(PathBuf::from("split.csv")),
        part: Some(Part::Test),
        ..DatasetConfig::new(Source::KSpace { root: d.clone() }, "t1", "t1", MaskPolicy::PerVolume(mask))
    };
    let ds = Dataset::open(cfg.clone()).unwrap();
    assert_eq!((ds.len(), ds.subject_ids()), (3, vec![ids[2].clone()]));
    let it = ds.get(1, 0).unwrap();
    let full = it.full_kspace.clone().expect("measured k-space");
    // The complex image is standardised over its real and imaginary parts together.
    let img = mcmr::kspace::to_image(&full, 32, 32);
    let parts: Vec<f64> = img.iter().flat_map(|z| [z.re as f64, z.im as f64]).collect();
    let (m, s) = mcmr::data::prepare::mean_std(&parts, 0);
    assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-4, "mean {m}, std {s}");
    // It keeps its phase (not a magnitude image), the target is its magnitude, and the masked
    // k-space is the full one where sampled.
    assert!(img.iter().map(|z| z.im.abs()).sum::<f32>() > 0.2 * img.iter().map(|z| z.norm()).sum::<f32>());
    assert!(img.iter().zip(&it.target).all(|(z, t)| (z.norm() - t).abs() < 1e-5));
    assert_eq!(it.target, it.reference);
    for (p, (&k, &f)) in it.kspace.iter().zip(&full).enumerate() {
        assert_eq!(k, if it.mask.data[p] != 0 { f } else { num_complex::Complex32::new(0.0, 0.0) });
    }
    // The mask is the volume's (fastMRI's per-file seed): the same for every slice.
    assert_eq!(ds.get(0, 0).unwrap().mask.data, it.mask.data);
    // Errors name what is wrong.
    let e = Dataset::open(DatasetConfig { reference: "t2".into(), ..cfg.clone() }).err().unwrap().to_string();
    assert!(e.contains("one contrast"), "{e}");
    let e = Dataset::open(DatasetConfig { normalisation: Normalisation::MeanStd, ..cfg.clone() })
        .unwrap()
        .get(0, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("complex_standardise"), "{e}");
    // A split file naming a volume the data do not have is an error with its line.
    let typo = format!("{},train\nPhantom_0O1,train\n{},test\n", ids[0], ids[2]);
    std::fs::write(d.join("split.csv"), typo).unwrap();
    let e = Dataset::open(cfg.clone()).err().unwrap().to_string();
    assert!(e.contains("split.csv:2: `Phantom_0O1` is not in the data (3 subjects"), "{e}");
    std::fs::write(d.join("Val").join("broken.npy"), b"not numpy").unwrap();
    let e = Dataset::open(cfg).err().unwrap().to_string();
    assert!(e.contains("broken.npy") && e.contains("magic"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn interpolate_to_resizes_the_images_after_masking_and_leaves_k_space_on_its_grid() {
    let mut cfg = config(phantom_source(), "t2", "t1");
    cfg.mask = MaskPolicy::Fixed(MaskParams::new(MaskFamily::Random, [0, 0], 4.0).center_fraction(0.08));
    let plain = Dataset::open(cfg.clone()).unwrap().get(1, 0).unwrap();
    cfg.interpolate_to = Some(40);
    let item = Dataset::open(cfg).unwrap().get(1, 0).unwrap();
    assert_eq!((item.height, item.width, item.target.len()), (40, 40, 1600));
    // The zero-filled input is made at 32x32 and then interpolated, as UniFS's MTrans wrapper does.
    let resize = |img: &[f32]| mcmr::data::prepare::bilinear_resize(img, 32, 32, 40, 40);
    assert_eq!(item.input, resize(&plain.input));
    assert_eq!(item.target, resize(&plain.target));
    assert_eq!(item.reference, resize(&plain.reference));
    assert_eq!((item.kspace_shape, item.mask.hash_hex()), (plain.kspace_shape, plain.mask.hash_hex()));
}
