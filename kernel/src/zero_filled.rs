//! The zero-filled baseline report: the first job a newcomer runs (`mcmr zero-filled`).
//!
//! It takes one slice of the embedded brain phantom (or of the user's dataset), simulates its
//! k-space (or reads it, for fastMRI), applies one mask, reconstructs by zero filling, and scores
//! the result under **every** metric protocol, to show how much the protocol alone moves the
//! numbers. Both images are divided by the target slice's maximum first, so the [0, 1]-scale
//! protocols (`fsmnet-brats-uint8`, `unifs-unit`) apply; `fastmri-volume` and `slice-mean` are
//! unchanged by a common scale. It writes `report.md`, `results.json` and PNG pictures (target,
//! reference contrast, mask, zero-filled image, error map, k-space log-magnitude).

use crate::data::dataset::{DataError, Dataset, DatasetConfig, MaskPolicy, Source};
use crate::data::layout::Layout;
use crate::data::phantom::{Kind, PhantomOptions};
use crate::io::{png, volume::Volume, write_atomic};
use crate::masks::MaskParams;
use crate::protocols::{evaluate, MetricReport, Protocol};
use std::path::{Path, PathBuf};

/// Which data the report uses.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportData {
    /// The embedded phantom at `size × size` (brain: T2 target, T1 reference; knee: PDFS, PD).
    Phantom { kind: Kind, size: usize, seed: u32 },
    /// A dataset folder (or a fastMRI pair CSV); contrasts default to the layout's usual pair.
    Folder { path: PathBuf, layout: Option<Layout>, target: Option<String>, reference: Option<String> },
}

/// What the report computed.
#[derive(Debug, serde::Serialize)]
pub struct ZeroFilledReport {
    pub data: String,
    pub subject: String,
    pub slice: usize,
    pub target: String,
    pub reference: String,
    pub shape: [usize; 2],
    pub mask_family: &'static str,
    pub mask_seed: String,
    pub mask_hash: String,
    pub target_acceleration: f64,
    pub achieved_acceleration: f64,
    pub center_fraction: Option<f64>,
    pub metrics: Vec<MetricReport>,
    pub files: Vec<String>,
}

fn dataset_for(data: &ReportData, mask: &MaskParams) -> Result<(Dataset, String, String, String), DataError> {
    let policy = MaskPolicy::Fixed(mask.clone());
    let base = |source, target: &str, reference: &str| DatasetConfig {
        skip_bad_subjects: true,
        ..DatasetConfig::new(source, target, reference, policy.clone())
    };
    match data {
        ReportData::Phantom { kind, size, seed } => {
            let (t, r) = match kind {
                Kind::Brain => ("t2", "t1"),
                Kind::Knee => ("pdfs", "pd"),
            };
            let source = Source::Phantom {
                kind: *kind,
                subjects: 1,
                size: *size,
                slices: 5,
                seed: *seed,
                options: PhantomOptions::default(),
            };
            let desc = format!("embedded {kind:?} phantom, {size}x{size}, seed {seed}").to_lowercase();
            Ok((Dataset::open(base(source, t, r))?, desc, t.into(), r.into()))
        }
        ReportData::Folder { path, layout, target, reference } => {
            let is_fastmri = *layout == Some(Layout::Fastmri) || path.extension().is_some_and(|e| e == "csv");
            let detected = if is_fastmri {
                Layout::Fastmri
            } else {
                layout.unwrap_or_else(|| crate::data::layout::discover(path, None).layout)
            };
            let (dt, dr) = match detected {
                Layout::Knee | Layout::Fastmri => ("pdfs", "pd"),
                Layout::Ixi => ("t2", "pd"),
                _ => ("t2", "t1"),
            };
            let (t, r) = (target.clone().unwrap_or(dt.into()), reference.clone().unwrap_or(dr.into()));
            let source = if is_fastmri {
                let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
                Source::FastMri { root, pairs: path.clone() }
            } else {
                Source::Folder { root: path.clone(), layout: Some(detected) }
            };
            let desc = format!("{} ({} layout)", path.display(), detected.name());
            Ok((Dataset::open(base(source, &t, &r))?, desc, t, r))
        }
    }
}

/// Runs the zero-filled baseline on the middle slice of the first subject and writes the
/// report into `out`.
pub fn zero_filled_report(data: &ReportData, mask: &MaskParams, out: &Path) -> anyhow::Result<ZeroFilledReport> {
    let (ds, desc, target, reference) = dataset_for(data, mask)?;
    for p in ds.problems() {
        eprintln!("warning: skipped: {p}");
    }
    anyhow::ensure!(!ds.is_empty(), "the dataset has no slice");
    let first = ds.subject_ids()[0].clone();
    let items: Vec<usize> =
        (0..ds.len()).filter(|&i| ds.get(i, 0).map(|it| it.meta.subject == first).unwrap_or(false)).collect();
    anyhow::ensure!(!items.is_empty(), "subject `{first}` has no slice");
    let item = ds.get(items[items.len() / 2], 0)?;
    let (h, w) = (item.height, item.width);
    let peak = item.target.iter().cloned().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE) as f64;
    let scaled = |v: &[f32]| -> Vec<f64> { v.iter().map(|&x| x as f64 / peak).collect() };
    let gt = Volume::new(1, h, w, scaled(&item.target));
    let pred = Volume::new(1, h, w, scaled(&item.input));
    let metrics = Protocol::ALL.iter().map(|&p| evaluate(p, &gt, &pred)).collect::<Result<Vec<_>, _>>()?;

    let mut files = Vec::new();
    let mut save = |name: &str, values: &[f64], w: usize, h: usize, lo: f64, hi: f64| -> anyhow::Result<()> {
        png::write_scaled(&out.join(name), w, h, values, lo, hi)?;
        files.push(name.to_string());
        Ok(())
    };
    save("target.png", &gt.data, w, h, 0.0, 1.0)?;
    save("zero_filled.png", &pred.data, w, h, 0.0, 1.0)?;
    let rpeak = item.reference.iter().cloned().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE) as f64;
    let refv: Vec<f64> = item.reference.iter().map(|&x| x as f64 / rpeak).collect();
    save("reference.png", &refv, w, h, 0.0, 1.0)?;
    let err: Vec<f64> = gt.data.iter().zip(&pred.data).map(|(a, b)| (a - b).abs()).collect();
    save("error.png", &err, w, h, 0.0, 0.25)?;
    let [kh, kw] = item.kspace_shape;
    // The measured (masked) k-space, log10 of |k| over six decades below its maximum.
    let kmax = item.kspace.iter().map(|v| v.norm() as f64).fold(f64::MIN_POSITIVE, f64::max);
    let logk: Vec<f64> = item.kspace.iter().map(|v| (v.norm() as f64 / kmax + 1e-6).log10()).collect();
    save("kspace_log_magnitude.png", &logk, kw, kh, -6.0, 0.0)?;
    png::write_gray8(&out.join("mask.png"), item.mask.width, item.mask.height, &item.mask.to_pixels())?;
    files.push("mask.png".into());

    let report = ZeroFilledReport {
        data: desc,
        subject: item.meta.subject.clone(),
        slice: item.meta.slice,
        target,
        reference,
        shape: [h, w],
        mask_family: mask.family.name(),
        mask_seed: item.meta.mask_seed.clone(),
        mask_hash: item.meta.mask_hash.clone(),
        target_acceleration: mask.acceleration,
        achieved_acceleration: item.mask.achieved_acceleration(),
        center_fraction: mask.effective_center_fraction(),
        metrics,
        files,
    };
    write_atomic(&out.join("results.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    write_atomic(&out.join("report.md"), markdown(&report).as_bytes())?;
    Ok(report)
}

/// The report as Markdown.
pub fn markdown(r: &ZeroFilledReport) -> String {
    let mut s = String::new();
    s.push_str("# Zero-filled reconstruction\n\n");
    s.push_str(&format!("- data: {}\n", r.data));
    s.push_str(&format!(
        "- slice: subject `{}`, slice {}, {}x{}; target `{}`, reference `{}`\n",
        r.subject, r.slice, r.shape[0], r.shape[1], r.target, r.reference
    ));
    s.push_str(&format!(
        "- mask: `{}`, target {}x, achieved {:.3}x, centre fraction {}, seed {}, hash {}\n\n",
        r.mask_family,
        r.target_acceleration,
        r.achieved_acceleration,
        r.center_fraction.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
        r.mask_seed,
        r.mask_hash
    ));
    s.push_str("The same images, scored under each metric protocol:\n\n");
    s.push_str("| protocol | PSNR (dB) | SSIM | NMSE |\n|---|---|---|---|\n");
    for m in &r.metrics {
        s.push_str(&format!("| {} | {:.3} | {:.4} | {:.5} |\n", m.protocol, m.psnr, m.ssim, m.nmse));
    }
    s.push_str("\nPictures: ");
    s.push_str(&r.files.iter().map(|f| format!("[{f}]({f})")).collect::<Vec<_>>().join(", "));
    s.push('\n');
    s
}

/// The default output folder of the report.
pub fn default_out_dir() -> PathBuf {
    PathBuf::from("runs").join("zero-filled")
}
