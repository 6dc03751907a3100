//! The fastMRI HDF5 reader on files written by h5py (tests/fixtures/fastmri/make_fixture.py).

use mcmr::data::fastmri::{open_volume, paired_slices, parse_ismrmrd_header, read_pairs_csv};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fastmri")
}

#[test]
fn volume_metadata_kspace_and_target_are_read_as_written() {
    let v = open_volume(&fixtures().join("file_pd.h5")).unwrap();
    assert_eq!((v.slices, v.kspace_shape, v.target_shape), (3, [16, 12], Some([8, 8])));
    assert_eq!(v.acquisition.as_deref(), Some("CORPD_FBK"));
    assert_eq!(v.max, Some(277.0));
    let enc = v.encoding.clone().unwrap();
    assert_eq!((enc.encoded_size, enc.recon_size), ([32, 12, 1], [8, 8, 1]));
    // fastMRI: padding_left = enc_y/2 - center = 6 - 6; padding_right = left + maximum + 1.
    assert_eq!((enc.padding_left, enc.padding_right), (0, 11));
    let k = v.kspace(2).unwrap();
    for (r, c) in [(0usize, 0usize), (5, 7), (15, 11)] {
        let z = k[r * 12 + c];
        let (re, im) = (3.0 + 0.01 * r as f32 + 0.001 * c as f32, 0.5 * 2.0 - 0.01 * c as f32);
        assert!((z.re - re).abs() < 1e-6 && (z.im - im).abs() < 1e-6, "({r},{c}): {z}");
    }
    let t = v.target(1).unwrap();
    assert_eq!(t[3 * 8 + 5], 100.0 + 30.0 + 5.0);
}

#[test]
fn pairs_are_read_from_the_csv_and_sliced_up_to_the_shorter_volume() {
    let pairs = read_pairs_csv(&fixtures().join("pairs.csv")).unwrap();
    assert_eq!(pairs, vec![("file_pd".to_string(), "file_pdfs".to_string())]);
    let (volumes, slices, problems) = paired_slices(&fixtures(), &pairs);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(slices.len(), 2, "3 PD slices, 2 PDFS slices");
    assert_eq!(volumes[slices[1].pdfs].acquisition.as_deref(), Some("CORPDFS_FBK"));
}

#[test]
fn bad_hdf5_inputs_name_the_file_and_the_problem() {
    let e = open_volume(&fixtures().join("no_kspace.h5")).unwrap_err();
    assert!(e.contains("no_kspace.h5") && e.contains("no `kspace` dataset"), "{e}");
    let e = open_volume(&fixtures().join("pairs.csv")).unwrap_err();
    assert!(e.contains("not a readable HDF5 file"), "{e}");
    let (_, slices, problems) = paired_slices(&fixtures(), &[("file_pd".into(), "missing".into())]);
    assert!(slices.is_empty() && problems[0].contains("missing.h5"), "{problems:?}");
    let dir = std::env::temp_dir().join(format!("mcmr-pairs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.csv"), "a,b\nonlyone\n").unwrap();
    let e = read_pairs_csv(&dir.join("p.csv")).unwrap_err();
    assert!(e.ends_with(":2: expected `pd_file,pdfs_file[,...]`, found `onlyone`"), "{e}");
    assert!(parse_ismrmrd_header("<ismrmrdHeader/>").unwrap_err().contains("encodedSpace"));
}

#[test]
fn fastmri_pairs_feed_the_dataset_interface() {
    use mcmr::data::dataset::{Dataset, DatasetConfig, MaskPolicy, Source};
    use mcmr::data::prepare::Normalisation;
    use mcmr::masks::{MaskFamily, MaskParams};
    let source = Source::FastMri { root: fixtures(), pairs: fixtures().join("pairs.csv") };
    let mask = MaskPolicy::PerVolume(MaskParams::new(MaskFamily::Random, [0, 0], 4.0).center_fraction(0.08));
    let cfg =
        DatasetConfig { normalisation: Normalisation::Instance, ..DatasetConfig::new(source, "pdfs", "pd", mask) };
    let ds = Dataset::open(cfg.clone()).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.subject_ids(), vec!["file_pdfs".to_string()]);
    let (a, b) = (ds.get(0, 0).unwrap(), ds.get(1, 0).unwrap());
    assert_eq!((a.height, a.width, a.kspace_shape), (8, 8, [16, 12]));
    // fastMRI's per-file seed: the same mask for every slice of a volume.
    assert_eq!(a.meta.mask_seed, "name:file_pdfs.h5");
    assert_eq!(a.meta.mask_hash, b.meta.mask_hash);
    // Instance normalisation: the input has mean 0 and unbiased std 1; the target uses its stats.
    let n = a.input.len() as f64;
    let mean = a.input.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = a.input.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(mean.abs() < 1e-5 && (var.sqrt() - 1.0).abs() < 1e-4, "{mean} {var}");
    assert_eq!(a.meta.target_stats, a.meta.input_stats);
    // The reference by its own statistics (the default), or, as FSMNet's knee pipeline does, by
    // those of its zero-filled image: the two differ, and the own ones are the reference's.
    let own_ref = {
        let raw = Dataset::open(DatasetConfig { normalisation: Normalisation::None, ..cfg.clone() }).unwrap();
        raw.get(0, 0).unwrap().reference
    };
    let n = own_ref.len() as f64;
    let own_mean = own_ref.iter().map(|&v| v as f64).sum::<f64>() / n;
    assert!((a.meta.reference_stats.offset - own_mean).abs() < 1e-3, "{:?} vs {own_mean}", a.meta.reference_stats);
    use mcmr::data::dataset::ReferenceStats;
    let zf = Dataset::open(DatasetConfig { reference_stats: ReferenceStats::ZeroFilled, ..cfg.clone() }).unwrap();
    let z = zf.get(0, 0).unwrap();
    assert_eq!(
        (z.input.clone(), z.meta.input_stats),
        (a.input.clone(), a.meta.input_stats),
        "only the reference changes"
    );
    assert!(
        (z.meta.reference_stats.offset - a.meta.reference_stats.offset).abs() > 1e-3,
        "{:?}",
        z.meta.reference_stats
    );
    // Without normalisation, target and reference are reconstruction_esc as h5py wrote it.
    let raw = Dataset::open(DatasetConfig { normalisation: Normalisation::None, ..cfg }).unwrap();
    let item = raw.get(1, 0).unwrap();
    for (r, c) in [(0usize, 0usize), (7, 3)] {
        assert_eq!(item.target[r * 8 + c], 1000.0 + 100.0 + 10.0 * r as f32 + c as f32);
        assert_eq!(item.reference[r * 8 + c], 100.0 + 10.0 * r as f32 + c as f32);
    }
    let report = mcmr::data::layout::inspect(&fixtures().join("pairs.csv"), None);
    assert_eq!(report.layout, "fastmri");
    assert_eq!(report.subjects[0].contrasts["pd"], [16, 12, 3]);
    let folder = mcmr::data::layout::inspect(&fixtures(), None);
    let no_k = folder.subjects.iter().find(|s| s.id == "no_kspace").unwrap();
    assert!(no_k.problems[0].contains("no `kspace` dataset"), "{:?}", no_k.problems);
    assert_eq!(folder.subjects.iter().find(|s| s.id == "file_pdfs").unwrap().contrasts["pdfs"], [16, 12, 2]);
}

#[test]
fn fastmri_kspace_can_be_simulated_from_the_reconstructions() {
    // IMA's pipeline (fastmri_kspace = "simulated"): min-max normalised reconstruction_esc
    // images, the target's centred FFT on the image grid, the mask there, the zero-filled input.
    use mcmr::data::dataset::{Dataset, DatasetConfig, MaskPolicy, Source};
    use mcmr::data::prepare::Normalisation;
    use mcmr::masks::{MaskFamily, MaskParams};
    let source = Source::FastMri { root: fixtures(), pairs: fixtures().join("pairs.csv") };
    let mask = MaskPolicy::Fixed(MaskParams::new(MaskFamily::Random, [0, 0], 2.0).center_fraction(0.25));
    let cfg = DatasetConfig {
        normalisation: Normalisation::MinMax,
        fastmri_simulated: true,
        ..DatasetConfig::new(source, "pdfs", "pd", mask)
    };
    let ds = Dataset::open(cfg.clone()).unwrap();
    let item = ds.get(1, 0).unwrap();
    assert_eq!((item.height, item.width, item.kspace_shape), (8, 8, [8, 8]), "k-space on the image grid");
    // The PDFS slice is 1000 + 100 + 10 r + c: min-max puts (0, 0) at 0 and (7, 7) at 1.
    assert_eq!((item.target[0], item.target[63]), (0.0, 1.0));
    assert!((item.target[3 * 8 + 5] - 35.0 / 77.0).abs() < 1e-6);
    assert_eq!((item.reference[0], item.reference[63]), (0.0, 1.0), "the PD reference too");
    // The centred orthonormal FFT's DC bin is sum / sqrt(HW); measured samples are kept as they
    // are, the rest are zero; the input is the zero-filled magnitude.
    let sum: f64 = item.target.iter().map(|&v| v as f64).sum();
    assert_eq!(item.mask.data[4 * 8 + 4], 1, "the centre is sampled");
    let dc = item.kspace[4 * 8 + 4];
    assert!((dc.re as f64 - sum / 8.0).abs() < 1e-5 && dc.im.abs() < 1e-5, "{dc} vs {}", sum / 8.0);
    for (k, m) in item.kspace.iter().zip(&item.mask.data) {
        if *m == 0 {
            assert_eq!((k.re, k.im), (0.0, 0.0));
        }
    }
    let zf = mcmr::kspace::zero_filled_magnitude(&item.kspace, 8, 8);
    assert_eq!(item.input, zf);
    assert!(item.mask.data.iter().any(|&m| m == 0), "an under-sampled mask");
    assert_eq!(item.meta.subject, "file_pdfs");
    // The raw path of the same pairs reads the measured 16x12 k-space instead.
    let raw = Dataset::open(DatasetConfig { fastmri_simulated: false, ..cfg }).unwrap();
    assert_eq!(raw.get(1, 0).unwrap().kspace_shape, [16, 12]);
}

#[test]
fn multi_coil_kspace_is_refused_with_its_shape() {
    // Written at test time by a second HDF5 writer (hdf5-pure): 4D k-space as in multi-coil data.
    let dir = std::env::temp_dir().join(format!("mcmr-h5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("multicoil.h5");
    let mut b = hdf5_pure::FileBuilder::new();
    b.create_dataset("kspace").with_f32_data(&vec![0.0; 2 * 3 * 4 * 5]).with_shape(&[2, 3, 4, 5]);
    b.write(&path).unwrap();
    let e = open_volume(&path).unwrap_err();
    assert!(e.contains("[2, 3, 4, 5]") && e.contains("single-coil"), "{e}");
}

/// A fastMRI single-coil volume as the scanner stores it: the complex image `img` (`h × w`, the
/// readout oversampled) as centred orthonormal k-space times `scale`, `reconstruction_esc` the
/// magnitude of its central `th × tw` (fastMRI's target), written with hdf5-pure.
fn write_oversampled(
    path: &std::path::Path,
    img: &[num_complex::Complex32],
    h: usize,
    w: usize,
    th: usize,
    tw: usize,
    scale: f32,
) {
    let mut k = img.to_vec();
    mcmr::fft::fft2c(&mut k, h, w);
    let kspace: Vec<(f32, f32)> = k.iter().map(|z| (z.re * scale, z.im * scale)).collect();
    let crop = mcmr::data::prepare::crop_or_pad(img, h, w, th, tw);
    let target: Vec<f32> = crop.iter().map(|z| z.norm() * scale).collect();
    let mut b = hdf5_pure::FileBuilder::new();
    b.create_dataset("kspace").with_complex32_data(&kspace).with_shape(&[1, h as u64, w as u64]);
    b.create_dataset("reconstruction_esc").with_f32_data(&target).with_shape(&[1, th as u64, tw as u64]);
    b.write(path).unwrap();
}

#[test]
fn fastmri_raw_kspace_reads_as_measured_kspace_on_the_reconstruction_grid() {
    // IGKR-Net's Table 2 pipeline (`source = "kspace"` on fastMRI .h5 volumes): the stored
    // k-space (32x24, readout oversampled) → its image, centre-cropped to reconstruction_esc's
    // 16x16 → the centred k-space there; the image the kit reconstructs from it is fastMRI's own
    // target, and `size` then cuts that k-space (same field of view).
    use mcmr::data::cc359::KSpaceVolume;
    use mcmr::data::dataset::{Dataset, DatasetConfig, MaskPolicy, Source};
    use mcmr::data::prepare::Normalisation;
    use mcmr::masks::{MaskFamily, MaskParams};
    use num_complex::Complex32;
    let dir = std::env::temp_dir().join(format!("mcmr-h5-kspace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (h, w, th, tw) = (32, 24, 16, 16);
    // A smooth object with a smooth phase, in fastMRI's units (k-space of order 1e-4).
    let img: Vec<Complex32> = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f32 - 16.0, (i % w) as f32 - 12.0);
            let mag = (-(y * y) / 60.0 - (x * x) / 30.0).exp() * (1.0 + 0.3 * (0.4 * x).cos());
            Complex32::from_polar(mag, 0.05 * y + 0.02 * x)
        })
        .collect();
    for name in ["file1000001", "file1000002"] {
        write_oversampled(&dir.join(format!("{name}.h5")), &img, h, w, th, tw, 1e-3);
    }
    let v = KSpaceVolume::open(&dir.join("file1000001.h5")).unwrap();
    assert_eq!((v.id.as_str(), v.slices, v.shape), ("file1000001", 1, [th, tw]));
    assert_eq!(v.raw(0).unwrap().len(), h * w, "stored on the acquisition grid");
    let centred = v.centred(0).unwrap();
    let image = mcmr::kspace::to_image(&centred, th, tw);
    let esc = mcmr::data::fastmri::open_volume(&dir.join("file1000001.h5")).unwrap().target(0).unwrap();
    let peak = esc.iter().cloned().fold(0.0f32, f32::max);
    let worst = image.iter().zip(&esc).map(|(z, t)| (z.norm() - t).abs()).fold(0.0f32, f32::max);
    assert!(
        peak > 1e-4 && worst < 1e-5 * peak.max(1e-3) + 1e-9,
        "the image is fastMRI's target: {worst} (peak {peak})"
    );
    // The phase survives the crop: the centre pixel's phase is the object's there.
    let (c_img, c_crop) = (img[16 * w + 12], image[8 * tw + 8]);
    assert!((c_img.arg() - c_crop.arg()).abs() < 1e-4, "{c_img} vs {c_crop}");

    let mask = MaskPolicy::Fixed(MaskParams::new(MaskFamily::Random, [0, 0], 2.0).center_fraction(0.25));
    let source = Source::KSpace { root: dir.clone() };
    let cfg = DatasetConfig { normalisation: Normalisation::None, ..DatasetConfig::new(source, "pd", "pd", mask) };
    let ds = Dataset::open(cfg.clone()).unwrap();
    assert_eq!(ds.len(), 2);
    let item = ds.get(0, 0).unwrap();
    assert_eq!((item.height, item.width, item.kspace_shape), (th, tw, [th, tw]));
    let worst = item.target.iter().zip(&esc).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-5 * peak, "unnormalised target = reconstruction_esc: {worst}");
    let full = item.full_kspace.clone().unwrap();
    for ((k, f), m) in item.kspace.iter().zip(&full).zip(&item.mask.data) {
        assert_eq!(*k, if *m == 1 { *f } else { Complex32::new(0.0, 0.0) });
    }
    // At a working size of 8x8 the k-space is the centre of the 16x16 one, rescaled by √(64/256).
    let small = Dataset::open(DatasetConfig { size: Some([8, 8]), normalisation: Normalisation::None, ..cfg })
        .unwrap()
        .get(0, 0)
        .unwrap();
    let cut = mcmr::data::cc359::crop_centred(&centred, th, tw, 8, 8);
    let worst = small.full_kspace.unwrap().iter().zip(&cut).map(|(a, b)| (a - b).norm()).fold(0.0f32, f32::max);
    assert!(worst < 1e-9, "{worst}");
    std::fs::remove_dir_all(dir).unwrap();
}
