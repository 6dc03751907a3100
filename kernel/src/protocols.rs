//! Named, versioned metric protocols: which data range, which preprocessing, and how slices are
//! aggregated. The same images scored under two protocols can differ by more than the gap
//! between competing papers, so every number the kit reports carries its protocol's name.
//!
//! * **`fastmri-volume`** (fastMRI `evaluate.py`): the unit is a volume. The data range is the
//!   maximum of the ground-truth *volume*. PSNR comes from the MSE of the whole volume, NMSE is
//!   `‖gt − pred‖²/‖gt‖²` over the whole volume, and SSIM is the mean over slices of the 2D SSIM
//!   computed with the volume's data range.
//! * **`slice-mean`** (the old fastMRI validation loop and many papers): every slice is scored
//!   on its own, with that slice's ground-truth maximum as data range, and the per-slice PSNR,
//!   SSIM and NMSE are averaged.
//! * **`fsmnet-brats-uint8`** (FSMNet `test_brats.py`): inputs are intensities on a [0, 1]
//!   scale; both images are clipped to [0, 1], multiplied by 255 and **truncated** to 8-bit
//!   integers, then scored per slice with data range 255, and averaged over slices.
//! * **`unifs-unit`** (UniFS `test.py`): data range 1.0; predicted values below 0.01 are set to
//!   0 ("background filter") before scoring; no upper clamp; scored per slice and averaged.
//!
//! Per-slice values are always reported too; `mean` and `std` (population, over slices or
//! volumes as the protocol aggregates) go with every result.
//!
//! ```
//! use mcmr::protocols::{evaluate, Protocol};
//! use mcmr::io::volume::Volume;
//! let gt = Volume::new(1, 8, 8, (0..64).map(|i| 1.0 + (i % 8) as f64).collect());
//! let pred = Volume::new(1, 8, 8, gt.data.iter().map(|v| v * 0.99).collect());
//! let r = evaluate(Protocol::FastMriVolume, &gt, &pred).unwrap();
//! assert!(r.psnr > 30.0 && r.ssim > 0.9);
//! ```

use crate::io::volume::Volume;
use crate::metrics::{mse, nmse, psnr_from_mse, ssim};

/// The protocol version recorded with results; bump when any definition changes.
pub const PROTOCOLS_VERSION: u32 = 1;

/// A named metric protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    FastMriVolume,
    SliceMean,
    FsmnetBratsUint8,
    UnifsUnit,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 4] =
        [Protocol::FastMriVolume, Protocol::SliceMean, Protocol::FsmnetBratsUint8, Protocol::UnifsUnit];

    /// The protocol's name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::FastMriVolume => "fastmri-volume",
            Protocol::SliceMean => "slice-mean",
            Protocol::FsmnetBratsUint8 => "fsmnet-brats-uint8",
            Protocol::UnifsUnit => "unifs-unit",
        }
    }

    /// Parses a protocol name.
    pub fn parse(name: &str) -> Result<Protocol, MetricError> {
        Protocol::ALL.iter().copied().find(|p| p.name() == name).ok_or_else(|| MetricError::UnknownProtocol {
            name: name.to_string(),
            known: Protocol::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// Why metrics could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    #[error("unknown metric protocol `{name}` (known: {known})")]
    UnknownProtocol { name: String, known: String },
    #[error("ground truth has shape {gt:?} but the prediction has shape {pred:?}: they must match")]
    ShapeMismatch { gt: [usize; 3], pred: [usize; 3] },
    #[error("slices of {h}x{w} are smaller than the 7x7 SSIM window")]
    TooSmall { h: usize, w: usize },
    #[error("the {what} contains NaN or infinite values")]
    NotFinite { what: &'static str },
}

/// Metrics of one slice.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SliceMetrics {
    pub psnr: f64,
    pub ssim: f64,
    pub nmse: f64,
    pub mse: f64,
    pub data_range: f64,
}

/// The result of scoring a volume (or one slice) under a protocol.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricReport {
    pub protocol: &'static str,
    pub protocol_version: u32,
    pub psnr: f64,
    pub ssim: f64,
    pub nmse: f64,
    pub nrmse: f64,
    pub mse: f64,
    /// Per-slice values (for `fastmri-volume`, each slice with the volume's data range).
    pub per_slice: Vec<SliceMetrics>,
}

fn check(gt: &Volume, pred: &Volume) -> Result<(), MetricError> {
    if gt.shape() != pred.shape() {
        return Err(MetricError::ShapeMismatch { gt: gt.shape(), pred: pred.shape() });
    }
    if gt.height < 7 || gt.width < 7 {
        return Err(MetricError::TooSmall { h: gt.height, w: gt.width });
    }
    if gt.data.iter().any(|v| !v.is_finite()) {
        return Err(MetricError::NotFinite { what: "ground truth" });
    }
    if pred.data.iter().any(|v| !v.is_finite()) {
        return Err(MetricError::NotFinite { what: "prediction" });
    }
    Ok(())
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
}

fn slice_metrics(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64) -> SliceMetrics {
    let m = mse(gt, pred);
    SliceMetrics {
        psnr: psnr_from_mse(m, data_range),
        ssim: ssim(gt, pred, h, w, data_range),
        nmse: nmse(gt, pred),
        mse: m,
        data_range,
    }
}

fn mean_of(per: &[SliceMetrics], f: impl Fn(&SliceMetrics) -> f64) -> f64 {
    per.iter().map(f).sum::<f64>() / per.len() as f64
}

/// Scores `pred` against `gt` (both `[slices, H, W]`) under `protocol`.
pub fn evaluate(protocol: Protocol, gt: &Volume, pred: &Volume) -> Result<MetricReport, MetricError> {
    check(gt, pred)?;
    let (h, w) = (gt.height, gt.width);
    let report = |psnr: f64, ssim: f64, nmse: f64, mse: f64, per_slice: Vec<SliceMetrics>| MetricReport {
        protocol: protocol.name(),
        protocol_version: PROTOCOLS_VERSION,
        psnr,
        ssim,
        nmse,
        nrmse: nmse.sqrt(),
        mse,
        per_slice,
    };
    // Per-slice protocols report the mean of their slices' values.
    let averaged = |per: Vec<SliceMetrics>| {
        report(
            mean_of(&per, |s| s.psnr),
            mean_of(&per, |s| s.ssim),
            mean_of(&per, |s| s.nmse),
            mean_of(&per, |s| s.mse),
            per,
        )
    };
    match protocol {
        Protocol::FastMriVolume => {
            let range = max(&gt.data);
            let per: Vec<SliceMetrics> =
                (0..gt.slices).map(|k| slice_metrics(gt.slice(k), pred.slice(k), h, w, range)).collect();
            let m = mse(&gt.data, &pred.data);
            Ok(report(psnr_from_mse(m, range), mean_of(&per, |s| s.ssim), nmse(&gt.data, &pred.data), m, per))
        }
        Protocol::SliceMean => Ok(averaged(
            (0..gt.slices).map(|k| slice_metrics(gt.slice(k), pred.slice(k), h, w, max(gt.slice(k)))).collect(),
        )),
        Protocol::FsmnetBratsUint8 => {
            let quantise = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| (x.clamp(0.0, 1.0) * 255.0).trunc()).collect() };
            Ok(averaged(
                (0..gt.slices)
                    .map(|k| slice_metrics(&quantise(gt.slice(k)), &quantise(pred.slice(k)), h, w, 255.0))
                    .collect(),
            ))
        }
        Protocol::UnifsUnit => {
            let background = |v: &[f64]| -> Vec<f64> { v.iter().map(|&x| if x < 0.01 { 0.0 } else { x }).collect() };
            Ok(averaged(
                (0..gt.slices).map(|k| slice_metrics(gt.slice(k), &background(pred.slice(k)), h, w, 1.0)).collect(),
            ))
        }
    }
}

/// Population mean and standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}
