//! The zero-filled baseline report: the first job a newcomer runs (`mcmr zero-filled`).
//!
//! It takes the built-in image, simulates its k-space, applies one mask, reconstructs by zero
//! filling, and scores the result under **every** metric protocol, to show how much the
//! protocol alone moves the numbers. It writes `report.md`, `results.json` and PNG pictures
//! (target, mask, zero-filled image, error map, k-space log-magnitude) into the output folder.

use crate::data::shepp_logan::modified_shepp_logan;
use crate::io::{png, volume::Volume, write_atomic};
use crate::kspace::{apply_mask, simulate_kspace, zero_filled_magnitude};
use crate::masks::{generate, Mask, MaskParams};
use crate::protocols::{evaluate, MetricReport, Protocol};
use std::path::{Path, PathBuf};

/// What the report computed.
#[derive(Debug, serde::Serialize)]
pub struct ZeroFilledReport {
    pub data: String,
    pub size: usize,
    pub mask_family: &'static str,
    pub mask_seed: String,
    pub mask_hash: String,
    pub target_acceleration: f64,
    pub achieved_acceleration: f64,
    pub center_fraction: Option<f64>,
    pub metrics: Vec<MetricReport>,
    pub files: Vec<String>,
}

/// Runs the zero-filled baseline on the built-in image and writes the report into `out`.
pub fn zero_filled_report(params: &MaskParams, size: usize, out: &Path) -> anyhow::Result<ZeroFilledReport> {
    anyhow::ensure!(size >= 16, "--size {size} is too small: use at least 16");
    let [h, w] = [size, size];
    let params = MaskParams { shape: [h, w], ..params.clone() };
    let mask: Mask = generate(&params)?;
    let target = modified_shepp_logan(size);
    let k = simulate_kspace(&target, None, h, w);
    let zf = zero_filled_magnitude(&apply_mask(&k, &mask.data, h, w), h, w);

    let gt = Volume::new(1, h, w, target.iter().map(|&v| v as f64).collect());
    let pred = Volume::new(1, h, w, zf.iter().map(|&v| v as f64).collect());
    let metrics = Protocol::ALL.iter().map(|&p| evaluate(p, &gt, &pred)).collect::<Result<Vec<_>, _>>()?;

    let mut files = Vec::new();
    let mut save = |name: &str, values: &[f64], lo: f64, hi: f64| -> anyhow::Result<()> {
        png::write_scaled(&out.join(name), w, h, values, lo, hi)?;
        files.push(name.to_string());
        Ok(())
    };
    save("target.png", &gt.data, 0.0, 1.0)?;
    save("zero_filled.png", &pred.data, 0.0, 1.0)?;
    let err: Vec<f64> = gt.data.iter().zip(&pred.data).map(|(a, b)| (a - b).abs()).collect();
    save("error.png", &err, 0.0, 0.25)?;
    let logk: Vec<f64> = k.iter().map(|v| (1.0 + v.norm() as f64).ln()).collect();
    let kmax = logk.iter().cloned().fold(0.0, f64::max);
    save("kspace_log_magnitude.png", &logk, 0.0, kmax)?;
    png::write_gray8(&out.join("mask.png"), w, h, &mask.to_pixels())?;
    files.push("mask.png".into());

    let report = ZeroFilledReport {
        data: format!("modified Shepp-Logan phantom, {size}x{size}, magnitude"),
        size,
        mask_family: params.family.name(),
        mask_seed: params.seed.describe(),
        mask_hash: mask.hash_hex(),
        target_acceleration: params.acceleration,
        achieved_acceleration: mask.achieved_acceleration(),
        center_fraction: params.effective_center_fraction(),
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
