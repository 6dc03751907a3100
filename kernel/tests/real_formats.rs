//! Training and evaluation from folders in the real datasets' formats, not only the in-memory
//! phantom. The brain phantom is written as int16 NIfTI at BraTS's intensity scale (in the
//! hundreds) under the BraTS, IXI and HCP folder layouts, read at the run size or through
//! k-space resizing, and mapped to [0, 1] (`intensity = "volume_max"`) for an 8-bit protocol; a
//! learned network and zero-filling train and score from each folder: finite numbers, the
//! learned one ahead, and zero-filling as on the same data taken from the phantom directly. The
//! knee phantom as fastMRI single-coil HDF5 (complex64 k-space in fastMRI's units,
//! `reconstruction_esc`, `max`) trains and scores the same way under `fastmri-volume`.

use mcmr::data::phantom::{self, Kind, PhantomOptions};
use mcmr::experiment::{reproduce, ReproduceOptions};
use mcmr::io::volume::write_nifti_int16;
use std::path::{Path, PathBuf};

const SPEC: &str = r#"network residual() {
    input image: [1, H, W]
    x = relu(conv2d(image, 16, kernel = 3, padding = 1) as head)
    output output = image + conv2d(x, 1, kernel = 3, padding = 1) as tail
}

network zero_filled() {
    input image: [1, H, W]
    output output = image
}

experiment {
    seed = 1
    loss = l1(output, target)
    optimizer = adam(lr = 5e-3)
    batch_size = 4
    iterations = 600
    data {
        SOURCE
        target = "t2"
        reference = "t1"
        intensity = "volume_max"
        size = 32
        slices = 4
        split = [2, 1, 1]
    }
    mask {
        family = "random"
        acceleration = 4
        center_fraction = 0.08
        seed = 3
        policy = "per_slice"
    }
    evaluate {
        protocol = "fsmnet-brats-uint8"
    }
}

experiment learned {
    network = "residual"
}

experiment zero_filled {
    network = "zero_filled"
    iterations = 0
}
"#;

/// BraTS's scale: a phantom intensity of 1 stored as 800.
const SCALE: f64 = 800.0;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> PhantomOptions {
    PhantomOptions::default()
}

/// The brain phantom's T1 and T2 (4 subjects, `size`², 4 slices, seed 7) as int16 NIfTI under
/// `layout`.
fn write_folder(root: &Path, layout: &str, size: usize) {
    for i in 0..4 {
        let s = phantom::subject(Kind::Brain, 7, i, size, 4, &opts());
        for (c, tag) in [("t1", "T1"), ("t2", "T2")] {
            let path = match layout {
                "brats" => root.join(&s.id).join(format!("{}_{c}.nii.gz", s.id)),
                "hcp" => root.join(format!("{}", 100307 + i)).join(format!("T1w/{tag}w_acpc_dc_restore.nii.gz")),
                _ => root.join(format!("IXI-{tag}")).join(format!("IXI{:03}-Guys-{:04}-{tag}.nii.gz", i + 2, 800 + i)),
            };
            write_nifti_int16(&path, &s.contrasts[c], SCALE).unwrap();
        }
    }
}

/// PSNR means of the `learned` and `zero_filled` runs of the spec with `source`.
fn run(dir: &Path, source: &str) -> (f64, f64, serde_json::Value) {
    let spec = dir.join("papers").join("real.mcmr");
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::write(&spec, SPEC.replace("SOURCE", source)).unwrap();
    let out = dir.join("runs");
    let runs = reproduce(&spec, &ReproduceOptions { out: out.clone(), ..ReproduceOptions::default() }).unwrap();
    let psnr = |name: &str| {
        let r = &runs.iter().find(|r| r.manifest.experiment == name).unwrap().results;
        for m in ["psnr", "ssim", "nmse"] {
            assert!(r.mean(m).is_some_and(f64::is_finite), "{name} {m}: {:?}", r.metrics);
        }
        assert!(r.mean("ssim").unwrap() < 1.0, "{name}: not scored as identical images");
        r.mean("psnr").unwrap()
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("real/base/smoke/learned/manifest.json")).unwrap())
            .unwrap();
    (psnr("learned"), psnr("zero_filled"), manifest["data"].clone())
}

/// Runs `spec` (written under `dir`) and checks that its `learned` run beats its `zero_filled`
/// run by 0.3 dB PSNR; returns the runs.
fn learned_beats_zero_filled(dir: &Path, spec: &str, what: &str) -> Vec<mcmr::experiment::run::RunOutcome> {
    let path = dir.join("papers").join("real.mcmr");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, spec).unwrap();
    let runs = reproduce(&path, &ReproduceOptions { out: dir.join("out"), ..ReproduceOptions::default() }).unwrap();
    let psnr = |name: &str| runs.iter().find(|r| r.manifest.experiment == name).unwrap().results.mean("psnr").unwrap();
    let (learned, zf) = (psnr("learned"), psnr("zero_filled"));
    eprintln!("{what}: learned {learned:.2} dB, zero-filled {zf:.2} dB");
    assert!(zf.is_finite() && learned > zf + 0.3, "{what}: learned {learned} dB vs zero-filled {zf} dB");
    runs
}

/// MANet's data path from an int16 IXI folder: volumes over their maximum, k-space in numpy's
/// convention with Rician k-space noise, complex k-space inputs and targets. A small dual-domain
/// network (k-space convolution, inverse FFT, image convolution) trains from it and beats zero
/// filling; the manifest records the k-space settings.
#[test]
fn an_ixi_folder_feeds_complex_kspace_with_noise_in_numpys_convention() {
    let d = temp("ixi-kspace");
    let root = d.join("ixi-data");
    write_folder(&root, "ixi", 32);
    let spec = format!(
        r#"network dual() {{
    input t1k: complex [1, H, W]
    input t2k: complex [1, H, W]
    k = conv2d(concat(view_as_real(t2k), view_as_real(t1k)), 2, kernel = 3, padding = 1) as kconv
    k = k + view_as_real(t2k)
    img = magnitude(ifft2(view_as_complex(k), norm = "backward"))
    x = relu(conv2d(img, 16, kernel = 3, padding = 1) as head)
    output output = img + conv2d(x, 1, kernel = 3, padding = 1) as tail
    output kout = k
}}

network zero_filled() {{
    input image: [1, H, W]
    output output = image
}}

experiment {{
    seed = 1
    optimizer = adam(lr = 5e-3)
    batch_size = 4
    iterations = 300
    data {{
        source = "folder"
        path = "{}"
        layout = "ixi"
        target = "t2"
        reference = "t1"
        intensity = "volume_max"
        kspace_convention = "fftshift_fft2"
        kspace_noise = 0.1
        size = 32
        slices = 4
        split = [2, 1, 1]
    }}
    mask {{
        family = "radial"
        acceleration = 4
        seed = 3
        policy = "per_slice"
    }}
    evaluate {{
        protocol = "fastmri-volume"
    }}
}}

experiment learned {{
    network = "dual"
    inputs = ["reference_kspace", "kspace"]
    loss = l1(output, target) + 0.001 * l1(kout, view_as_real(target_kspace))
}}

experiment zero_filled {{
    network = "zero_filled"
    inputs = ["input"]
    iterations = 0
}}
"#,
        root.display()
    );
    let path = d.join("papers").join("ixik.mcmr");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, spec).unwrap();
    let out = d.join("runs");
    let runs = reproduce(&path, &ReproduceOptions { out: out.clone(), ..ReproduceOptions::default() }).unwrap();
    let psnr = |name: &str| {
        let r = &runs.iter().find(|r| r.manifest.experiment == name).unwrap().results;
        assert!(r.mean("ssim").is_some_and(f64::is_finite), "{name}: {:?}", r.metrics);
        r.mean("psnr").unwrap()
    };
    let (learned, zf) = (psnr("learned"), psnr("zero_filled"));
    eprintln!("IXI k-space: learned {learned:.2} dB, zero-filled {zf:.2} dB");
    assert!(learned > zf + 0.3, "learned {learned} dB vs zero-filled {zf} dB");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ixik/base/smoke/learned/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["data"]["kspace_convention"].as_str(), Some("fftshift_fft2"));
    assert_eq!(manifest["data"]["kspace_noise"].as_f64(), Some(0.1));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn int16_brats_ixi_and_hcp_folders_train_and_score_like_the_phantom() {
    let d = temp("formats");
    let (_, zf_phantom, _) = run(
        &d.join("phantom"),
        r#"source = "phantom"
        subjects = 4
        seed = 7"#,
    );
    // BraTS and HCP layouts at the run's size (BraTS: the phantom's own data and subject names,
    // up to int16 rounding of 1/800 of the peak); IXI at twice the size, read through k-space
    // resizing.
    for (layout, size) in [("brats", 32), ("ixi", 64), ("hcp", 32)] {
        let root = d.join(format!("{layout}-data"));
        write_folder(&root, layout, size);
        let source =
            format!("source = \"folder\"\n        path = \"{}\"\n        layout = \"{layout}\"", root.display());
        let (learned, zf, data) = run(&d.join(layout), &source);
        eprintln!("{layout}: learned {learned:.2} dB, zero-filled {zf:.2} dB (phantom source: {zf_phantom:.2} dB)");
        assert!(learned > zf + 0.3, "{layout}: learned {learned} dB vs zero-filled {zf} dB");
        // Same subject names as the phantom's (so the same split) only in the BraTS layout.
        if layout == "brats" {
            assert!((zf - zf_phantom).abs() < 0.05, "{layout}: zero-filled {zf} dB vs phantom {zf_phantom} dB");
        }
        assert_eq!((data["intensity"].as_str(), data["resize"].as_str()), (Some("volume_max"), Some("kspace")));
        assert_eq!(data["source"]["layout"].as_str(), Some(layout));
        let summary = std::fs::read_to_string(d.join(layout).join("runs/real/smoke-summary.md")).unwrap();
        assert!(summary.contains(&format!("the folder `{}` ({layout} layout)", root.display())), "{summary}");
    }
    // The BraTS-trained model scored on the IXI folder: which subjects and slices, on stderr.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mcmr"))
        .args(["evaluate", d.join("brats/runs/real/base/smoke/learned").to_str().unwrap(), "--data"])
        .arg(d.join("ixi-data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("scored 4 slices of 1 subjects from `")
            && err.contains("-Guys-080")
            && err.contains(" (4 slices, 0-3)"),
        "{err}"
    );
    // Named outputs scored per slice (`--outputs`), and an unknown output named in the error.
    let learned = d.join("brats/runs/real/base/smoke/learned");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mcmr"))
        .args(["evaluate", learned.to_str().unwrap(), "--outputs", "output", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = v["outputs"]["output"]["per_slice"].as_array().unwrap();
    assert_eq!(p.len(), 4);
    assert!(p.iter().all(|x| x.as_f64().unwrap().is_finite() && x.as_f64().unwrap() > 10.0), "{p:?}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mcmr"))
        .args(["evaluate", learned.to_str().unwrap(), "--outputs", "nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("network `residual` has no output `nope`"), "{err}");
    let phantom = std::fs::read_to_string(d.join("phantom/runs/real/smoke-summary.md")).unwrap();
    assert!(phantom.contains("the embedded phantom (not the paper's data"), "{phantom}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn fastmri_single_coil_files_train_and_score_under_the_volume_protocol() {
    // The knee phantom's PD and PDFS as fastMRI single-coil HDF5 (complex64 k-space of order
    // 1e-4, as fastMRI's), paired by `pairs.csv`.
    let d = temp("fastmri");
    let root = d.join("knee");
    let mut pairs = String::new();
    for i in 0..4 {
        let s = phantom::subject(Kind::Knee, 5, i, 32, 4, &opts());
        let (pd, pdfs) = (format!("file{}", 1000 + 2 * i), format!("file{}", 1001 + 2 * i));
        mcmr::data::fastmri::write_volume(&root.join(format!("{pd}.h5")), &s.contrasts["pd"], 3e-4).unwrap();
        mcmr::data::fastmri::write_volume(&root.join(format!("{pdfs}.h5")), &s.contrasts["pdfs"], 3e-4).unwrap();
        pairs += &format!("{pd},{pdfs},0.9\n");
    }
    std::fs::write(root.join("pairs.csv"), pairs).unwrap();
    let spec = SPEC
        .replace("t2", "pdfs")
        .replace("\"t1\"", "\"pd\"")
        .replace("intensity = \"volume_max\"", "normalisation = \"instance\"")
        .replace("fsmnet-brats-uint8", "fastmri-volume")
        .replace("lr = 5e-3", "lr = 2e-3")
        .replace("iterations = 600", "iterations = 2000");
    let source = format!("source = \"fastmri\"\n        path = \"{}\"\n        pairs = \"pairs.csv\"", root.display());
    learned_beats_zero_filled(&d.join("runs"), &spec.replace("SOURCE", &source), "fastmri");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn measured_kspace_volumes_train_and_score_under_the_kt_slice_protocol() {
    // The brain phantom's T1 with its smooth phase, as CC359-style raw k-space volumes (uncentred,
    // numpy's unnormalised fft2, image values in the thousands) at 48x48, cut to 32x32 in
    // k-space, each complex image divided by its largest magnitude; the parts come from the split
    // file in the data folder (two subjects train, one validates, one is scored). This network
    // sees magnitudes only: under `complex_standardise` the subtracted mean leaves a
    // phase-dependent offset in them, and the same run scored below zero filling (15.3 vs
    // 17.6 dB), so that scheme is for complex networks such as IGKR-Net's.
    let d = temp("cc359");
    let root = d.join("cc359");
    mcmr::data::cc359::write_phantom_volumes(&root, Kind::Brain, "t1", 4, 48, 4, 7, 4e3).unwrap();
    let spec = SPEC
        .replace("\"t2\"", "\"t1\"")
        .replace("intensity = \"volume_max\"", "normalisation = \"min_max\"")
        .replace("split = [2, 1, 1]", "split = \"split.csv\"")
        .replace("fsmnet-brats-uint8", "kt-slice");
    let source = format!("source = \"cc359\"\n        path = \"{}\"", root.display());
    let runs = learned_beats_zero_filled(&d.join("runs"), &spec.replace("SOURCE", &source), "cc359");
    let m = &runs[0].manifest.data;
    assert_eq!(m["source"]["kind"], "kspace", "{m}");
    std::fs::remove_dir_all(d).unwrap();
}

/// IGKR-Net's Tables 2 and 3 at paper scale, from the spec itself, on small folders in the real
/// formats: fastMRI single-coil `.h5` volumes (k-space of order 1e-4) read as measured k-space,
/// the first 5 slices of each dropped and the parts from `split.csv`; and an int16 IXI T2 folder
/// resampled to 128x128 in k-space (10 subjects split 368:92:114 leave one to test). Zero
/// filling runs (no training) and is scored on the test part under kt-slice.
#[test]
fn igkr_fastmri_and_ixi_tables_read_their_folders_at_paper_scale() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/igkr.mcmr");
    let d = temp("igkr-t23");
    let knee = d.join("knee");
    let mut split = String::new();
    for i in 0..3 {
        let s = phantom::subject(Kind::Knee, 5, i, 128, 7, &opts());
        let name = format!("file{}", 1000 + i);
        mcmr::data::fastmri::write_volume(&knee.join(format!("{name}.h5")), &s.contrasts["pd"], 3e-4).unwrap();
        split += &format!("{name},{}\n", if i < 2 { "train" } else { "test" });
    }
    std::fs::write(knee.join("split.csv"), split).unwrap();
    let ixi = d.join("ixi");
    for i in 0..10 {
        let s = phantom::subject(Kind::Brain, 7, i, 64, 2, &opts());
        let path = ixi.join("IXI-T2").join(format!("IXI{:03}-Guys-{:04}-T2.nii.gz", i + 2, 800 + i));
        write_nifti_int16(&path, &s.contrasts["t2"], SCALE).unwrap();
    }
    for (data, experiment, kind, scored) in
        [(&knee, "fastmri_1d_20_zero_filled", "kspace", 2usize), (&ixi, "ixi_2d_40_zero_filled", "folder", 2)]
    {
        let o = ReproduceOptions {
            scale: "paper".into(),
            experiments: vec![experiment.into()],
            data: Some(data.clone()),
            out: d.join("runs"),
            ..ReproduceOptions::default()
        };
        let runs = reproduce(&spec, &o).unwrap();
        let r = &runs[0];
        let m = &r.manifest.data;
        assert_eq!(m["source"]["kind"], kind, "{m}");
        let psnr = r.results.mean("psnr").unwrap();
        eprintln!("{experiment}: {psnr:.2} dB over {} slices", r.results.per_slice.len());
        assert!(psnr.is_finite() && psnr > 10.0, "{experiment}: {psnr}");
        assert_eq!(r.results.per_slice.len(), scored, "{experiment}: slices scored");
    }
    // The 24 runs reproduce Tables 2-3's cells for IGKR-Net, the U-Net and zero filling.
    let o = ReproduceOptions { scale: "paper".into(), data: Some(knee.clone()), ..ReproduceOptions::default() };
    let runs = mcmr::experiment::plan_runs(&spec, &o).unwrap();
    let published = mcmr::experiment::published::read_published(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference_results/igkr/published.json"),
    )
    .unwrap();
    let cells: Vec<&String> = runs
        .iter()
        .filter(|r| r.config.experiment.starts_with("fastmri_") || r.config.experiment.starts_with("ixi_"))
        .flat_map(|r| &r.config.reproduces)
        .collect();
    assert_eq!(cells.len(), 24);
    for cell in cells {
        let p: Vec<&str> = cell.split('/').collect();
        assert!(published.value(p[0], p[1], p[2], "psnr").is_some(), "{cell}");
    }
    std::fs::remove_dir_all(d).unwrap();
}
