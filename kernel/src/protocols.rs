//! Named, versioned metric protocols: which data range, which preprocessing, and how slices are
//! aggregated. A protocol is those parameters ([`Protocol`]); the papers' protocols below are
//! presets of them ([`Protocol::PRESETS`]). The same images scored under two protocols can differ by more than the gap
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
//! * **`ima-group`** (IMA's group, PGIUN's test script with scikit-image 0.19.3 pinned): the
//!   prediction clipped to [0, 1]; per slice, PSNR with the slice's maximum and SSIM with data
//!   range **2** (that scikit-image's implicit range for float images); averaged. **`ima-unit`**
//!   is the same with SSIM's range 1, the honest figure for [0, 1] images.
//! * **`kt-slice`** (the K-Space Transformer's `cal_psnr`/`cal_ssim`, IGKR-Net's evident
//!   protocol): per slice on magnitudes, PSNR and SSIM with the slice's span max − min as data
//!   range; averaged over slices.
//!
//! Per-slice values are always reported too; `mean` and `std` (population, over slices or
//! volumes as the protocol aggregates) go with every result.
//!
//! ```
//! use mcmr::protocols::{evaluate, Protocol};
//! use mcmr::io::volume::Volume;
//! let gt = Volume::new(1, 8, 8, (0..64).map(|i| 1.0 + (i % 8) as f64).collect());
//! let pred = Volume::new(1, 8, 8, gt.data.iter().map(|v| v * 0.99).collect());
//! let r = evaluate(Protocol::FASTMRI_VOLUME, &gt, &pred).unwrap();
//! assert!(r.psnr > 30.0 && r.ssim > 0.9);
//! ```

use crate::io::volume::Volume;
use crate::metrics::{mse, nmse, psnr_from_mse, ssim};

/// The protocol version recorded with results; bump when any definition changes.
pub const PROTOCOLS_VERSION: u32 = 1;

/// Which value is the data range of PSNR and SSIM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataRange {
    /// The maximum of the ground-truth volume.
    VolumeMax,
    /// The maximum of each ground-truth slice.
    SliceMax,
    /// The span (maximum − minimum) of each ground-truth slice (the K-Space Transformer's).
    SliceSpan,
    /// A fixed value (after quantisation, the quantised scale).
    Fixed(f64),
}

/// What is scored as one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// The volume: PSNR and NMSE over the whole volume, SSIM the mean of its slices.
    Volume,
    /// Each slice on its own; the protocol's values are the means over slices.
    SliceMean,
}

/// Intensities mapped to integers before scoring (an image export such as FSMNet's PNGs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantise {
    /// Both images are clipped to `[0, 1]`, multiplied by `levels` and truncated.
    pub levels: f64,
}

/// A metric protocol: its parameters, and its name as results carry it. The papers' protocols
/// are presets ([`Protocol::PRESETS`]), not code of their own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Protocol {
    pub name: &'static str,
    pub data_range: DataRange,
    pub quantise: Option<Quantise>,
    /// Predicted values below this become 0 before scoring (UniFS's "background filter").
    pub background_below: Option<f64>,
    /// Predictions clipped to `[0, 1]` before scoring (IMA's group: `clamp(0, 1)`).
    pub clip_prediction: bool,
    /// SSIM's data range when it differs from PSNR's (IMA's group: scikit-image 0.19's implicit
    /// range of 2 for float images).
    pub ssim_range: Option<DataRange>,
    pub aggregate: Aggregate,
}

impl Protocol {
    /// fastMRI's `evaluate.py`.
    pub const FASTMRI_VOLUME: Protocol = Protocol {
        name: "fastmri-volume",
        data_range: DataRange::VolumeMax,
        quantise: None,
        background_below: None,
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::Volume,
    };
    /// Per-slice scores with each slice's maximum, averaged.
    pub const SLICE_MEAN: Protocol = Protocol {
        name: "slice-mean",
        data_range: DataRange::SliceMax,
        quantise: None,
        background_below: None,
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::SliceMean,
    };
    /// FSMNet's `test_brats.py`: 8-bit images, range 255, per slice.
    pub const FSMNET_BRATS_UINT8: Protocol = Protocol {
        name: "fsmnet-brats-uint8",
        data_range: DataRange::Fixed(255.0),
        quantise: Some(Quantise { levels: 255.0 }),
        background_below: None,
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::SliceMean,
    };
    /// UniFS's `test.py`: range 1, the background filter, per slice.
    pub const UNIFS_UNIT: Protocol = Protocol {
        name: "unifs-unit",
        data_range: DataRange::Fixed(1.0),
        quantise: None,
        background_below: Some(0.01),
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::SliceMean,
    };

    /// IMA's group (PGIUN `mc_rec_train_and_test_ac3m.py` with the pinned scikit-image 0.19.3):
    /// the prediction clipped to [0, 1]; per slice, PSNR with the slice's maximum and SSIM
    /// (7×7 uniform window) with data range 2, the float default of that scikit-image; averaged.
    pub const IMA_GROUP: Protocol = Protocol {
        name: "ima-group",
        data_range: DataRange::SliceMax,
        quantise: None,
        background_below: None,
        clip_prediction: true,
        ssim_range: Some(DataRange::Fixed(2.0)),
        aggregate: Aggregate::SliceMean,
    };
    /// The same with SSIM's data range 1, the range of the [0, 1] images: the honest figure
    /// beside `ima-group`.
    pub const IMA_UNIT: Protocol = Protocol {
        name: "ima-unit",
        data_range: DataRange::SliceMax,
        quantise: None,
        background_below: None,
        clip_prediction: true,
        ssim_range: Some(DataRange::Fixed(1.0)),
        aggregate: Aggregate::SliceMean,
    };

    /// The K-Space Transformer's `cal_psnr`/`cal_ssim`, which IGKR-Net evidently reused (its
    /// research note's "kt-slice"): per slice on magnitudes, PSNR and SSIM (7×7 uniform window)
    /// with the slice's span max − min as data range; averaged over slices.
    pub const KT_SLICE: Protocol = Protocol {
        name: "kt-slice",
        data_range: DataRange::SliceSpan,
        quantise: None,
        background_below: None,
        clip_prediction: false,
        ssim_range: None,
        aggregate: Aggregate::SliceMean,
    };

    /// The named protocols a spec or the command line can ask for.
    pub const PRESETS: [Protocol; 7] = [
        Protocol::FASTMRI_VOLUME,
        Protocol::SLICE_MEAN,
        Protocol::FSMNET_BRATS_UINT8,
        Protocol::UNIFS_UNIT,
        Protocol::IMA_GROUP,
        Protocol::IMA_UNIT,
        Protocol::KT_SLICE,
    ];
    /// Every preset (the name older code used).
    pub const ALL: [Protocol; 7] = Protocol::PRESETS;

    /// The protocol's name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The preset called `name`.
    pub fn parse(name: &str) -> Result<Protocol, MetricError> {
        Protocol::PRESETS.iter().copied().find(|p| p.name == name).ok_or_else(|| MetricError::UnknownProtocol {
            name: name.to_string(),
            known: Protocol::PRESETS.iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
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
    #[error(
        "protocol `{protocol}` scores intensities in [0, {limit}], but the ground truth spans [{min}, {max}]: \
         clipping would make prediction and ground truth equal. Map the data to [0, {limit}] first \
         (as the paper's export does), or score with a protocol that takes the data's own range (`fastmri-volume`)"
    )]
    OutOfRange { protocol: &'static str, limit: f64, min: f64, max: f64 },
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

/// The range a protocol assumes its ground truth lies in: `[0, 1]` when it quantises (images
/// clipped to `[0, 1]` first), `[0, r]` for a fixed data range `r`; `None`: the data's own.
fn assumed_range(protocol: &Protocol) -> Option<f64> {
    match (protocol.quantise, protocol.data_range) {
        (Some(_), _) => Some(1.0),
        (None, DataRange::Fixed(r)) => Some(r),
        _ => None,
    }
}

/// Ground truth beyond the protocol's assumed range by more than this fraction of it is refused.
const RANGE_SLACK: f64 = 1e-3;

fn check_range(protocol: &Protocol, gt: &Volume) -> Result<(), MetricError> {
    let Some(limit) = assumed_range(protocol) else { return Ok(()) };
    let (lo, hi) = (gt.data.iter().cloned().fold(f64::INFINITY, f64::min), max(&gt.data));
    if lo < -RANGE_SLACK * limit || hi > limit * (1.0 + RANGE_SLACK) {
        return Err(MetricError::OutOfRange { protocol: protocol.name, limit, min: lo, max: hi });
    }
    Ok(())
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

fn min(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::INFINITY, f64::min)
}

fn slice_metrics(gt: &[f64], pred: &[f64], h: usize, w: usize, data_range: f64, ssim_range: f64) -> SliceMetrics {
    let m = mse(gt, pred);
    SliceMetrics {
        psnr: psnr_from_mse(m, data_range),
        ssim: ssim(gt, pred, h, w, ssim_range),
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
    check_range(&protocol, gt)?;
    let (h, w) = (gt.height, gt.width);
    let report = |psnr: f64, ssim: f64, nmse: f64, mse: f64, per_slice: Vec<SliceMetrics>| MetricReport {
        protocol: protocol.name,
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
    // The images as scored: quantised (both) and background-filtered (the prediction).
    let quantised = |v: &[f64]| -> Vec<f64> {
        match protocol.quantise {
            Some(q) => v.iter().map(|x| (x.clamp(0.0, 1.0) * q.levels).trunc()).collect(),
            None => v.to_vec(),
        }
    };
    let scored_gt = quantised(&gt.data);
    let mut scored_pred = quantised(&pred.data);
    if let Some(t) = protocol.background_below {
        scored_pred.iter_mut().filter(|x| **x < t).for_each(|x| *x = 0.0);
    }
    if protocol.clip_prediction {
        scored_pred.iter_mut().for_each(|x| *x = x.clamp(0.0, 1.0));
    }
    let n = h * w;
    let (g, p) = (|k: usize| &scored_gt[k * n..(k + 1) * n], |k: usize| &scored_pred[k * n..(k + 1) * n]);
    let range = |k: usize| match protocol.data_range {
        DataRange::VolumeMax => max(&scored_gt),
        DataRange::SliceMax => max(g(k)),
        DataRange::SliceSpan => max(g(k)) - min(g(k)),
        DataRange::Fixed(r) => r,
    };
    let ssim_range = |k: usize| match protocol.ssim_range {
        Some(DataRange::Fixed(r)) => r,
        Some(DataRange::SliceMax) => max(g(k)),
        Some(DataRange::SliceSpan) => max(g(k)) - min(g(k)),
        Some(DataRange::VolumeMax) => max(&scored_gt),
        None => range(k),
    };
    let per: Vec<SliceMetrics> =
        (0..gt.slices).map(|k| slice_metrics(g(k), p(k), h, w, range(k), ssim_range(k))).collect();
    Ok(match protocol.aggregate {
        Aggregate::Volume => {
            let m = mse(&scored_gt, &scored_pred);
            let r = match protocol.data_range {
                DataRange::Fixed(r) => r,
                DataRange::VolumeMax | DataRange::SliceMax => max(&scored_gt),
                DataRange::SliceSpan => max(&scored_gt) - min(&scored_gt),
            };
            report(psnr_from_mse(m, r), mean_of(&per, |s| s.ssim), nmse(&scored_gt, &scored_pred), m, per)
        }
        Aggregate::SliceMean => averaged(per),
    })
}

/// Population mean and standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-slice 16×16 volume at BraTS's int16 scale (intensities in the hundreds), and a
    /// prediction off by a few units.
    fn brats_scale() -> (Volume, Volume) {
        let gt: Vec<f64> = (0..2 * 16 * 16).map(|i| ((i * 37) % 800) as f64).collect();
        let pred: Vec<f64> = gt.iter().enumerate().map(|(i, v)| v + (i % 7) as f64 - 3.0).collect();
        (Volume::new(2, 16, 16, gt), Volume::new(2, 16, 16, pred))
    }

    #[test]
    fn data_at_the_wrong_scale_is_refused_not_scored_as_identical() {
        let (gt, pred) = brats_scale();
        for p in [Protocol::FSMNET_BRATS_UINT8, Protocol::UNIFS_UNIT] {
            let e = evaluate(p, &gt, &pred).unwrap_err().to_string();
            assert!(e.contains("[0, 1]") && e.contains("[0, 798]") && e.contains(p.name), "{e}");
        }
        // The same images mapped to [0, 1] score a finite PSNR under both.
        let scale = |v: &Volume| Volume::new(2, 16, 16, v.data.iter().map(|x| x / 798.0).collect());
        let (g, q) = (scale(&gt), scale(&pred));
        for p in [Protocol::FSMNET_BRATS_UINT8, Protocol::UNIFS_UNIT] {
            let r = evaluate(p, &g, &q).unwrap();
            assert!(r.psnr.is_finite() && r.ssim < 1.0, "{}: {r:?}", p.name);
        }
        // Protocols that take the data's own range score the int16 data as it is.
        assert!(evaluate(Protocol::FASTMRI_VOLUME, &gt, &pred).unwrap().psnr.is_finite());
    }
}
