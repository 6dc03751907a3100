//! From clean target and reference images to a dataset item: min-max before the k-space
//! simulation, paired augmentation, the mask, the simulated (and optionally noisy) k-space, the
//! zero-filled input and the mean-std or instance normalisation. Folders, phantoms and
//! fastMRI's simulated k-space all build their items here.

use crate::data::dataset::{DataError, Dataset, ReferenceStats, SliceItem, SliceMeta};
use crate::data::prepare::{stats, NormStats, Normalisation, Part};
use crate::kspace::{add_kspace_noise, apply_mask, simulate_kspace, zero_filled_magnitude};
use crate::rng::Seed;

/// Target and reference images of one slice, with the statistics applied to them so far.
#[derive(Clone)]
pub(super) struct Prepared {
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) target: Vec<f64>,
    pub(super) reference: Vec<f64>,
    pub(super) target_stats: NormStats,
    pub(super) reference_stats: NormStats,
}

impl Dataset {
    /// Target and reference images as the k-space simulation takes them: each min-max normalised
    /// on its own when the normalisation is `min_max` (the others act on the zero-filled input).
    pub(super) fn before_simulation(
        &self,
        h: usize,
        w: usize,
        mut target: Vec<f64>,
        mut reference: Vec<f64>,
    ) -> Prepared {
        let (mut ts, mut rs) = (NormStats::IDENTITY, NormStats::IDENTITY);
        if self.config.normalisation == Normalisation::MinMax {
            ts = stats(Normalisation::MinMax, &target);
            rs = stats(Normalisation::MinMax, &reference);
            ts.apply(&mut target);
            rs.apply(&mut reference);
        }
        Prepared { h, w, target, reference, target_stats: ts, reference_stats: rs }
    }

    /// Item `i` from its (normalised, augmented) target and reference images: the mask of the
    /// volume `volume`, the target's simulated k-space (with `kspace_noise`), the zero-filled
    /// input, and the mean-std or instance normalisation of input, target and reference.
    pub(super) fn simulated_item(
        &self,
        i: usize,
        epoch: usize,
        p: Prepared,
        volume: &str,
        slice: usize,
        source: String,
    ) -> Result<SliceItem, DataError> {
        let Prepared { h, w, mut target, mut reference, target_stats, reference_stats } = p;
        let (mask, mask_seed) = self.mask_for(volume, i, epoch, h, w)?;
        let t32: Vec<f32> = target.iter().map(|&v| v as f32).collect();
        let mut full = simulate_kspace(&t32, None, h, w);
        if self.config.kspace_noise > 0.0 {
            let mean = t32.iter().map(|&v| v as f64).sum::<f64>() / t32.len().max(1) as f64;
            // Fresh noise every epoch for training items; fixed noise for validation and test.
            let draw = if matches!(self.config.part, Some(Part::Train)) { epoch as u32 } else { 0 };
            let seed = Seed::Array(vec![self.config.seed, draw, i as u32, 0x4e53]);
            add_kspace_noise(&mut full, self.config.kspace_noise * mean, &seed);
        }
        let kspace = apply_mask(&full, &mask.data, h, w);
        let mut input: Vec<f64> = zero_filled_magnitude(&kspace, h, w).into_iter().map(f64::from).collect();
        let (mut ts, mut rs, mut is) = (target_stats, reference_stats, NormStats::IDENTITY);
        if matches!(self.config.normalisation, Normalisation::MeanStd | Normalisation::Instance) {
            is = stats(self.config.normalisation, &input);
            rs = match self.config.reference_stats {
                ReferenceStats::Own => stats(self.config.normalisation, &reference),
                ReferenceStats::ZeroFilled => {
                    let (ref_mask, _) = self.mask_for(&format!("{volume}:reference"), i, epoch, h, w)?;
                    let r32: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
                    let k = apply_mask(&simulate_kspace(&r32, None, h, w), &ref_mask.data, h, w);
                    let zf: Vec<f64> = zero_filled_magnitude(&k, h, w).into_iter().map(f64::from).collect();
                    stats(self.config.normalisation, &zf)
                }
            };
            is.apply(&mut input);
            is.apply(&mut target);
            rs.apply(&mut reference);
            ts = is;
        }
        let f32v = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let meta = SliceMeta {
            source,
            subject: volume.to_string(),
            slice,
            target_stats: ts,
            reference_stats: rs,
            input_stats: is,
            mask_family: mask.family.name(),
            mask_seed: mask_seed.describe(),
            mask_hash: mask.hash_hex(),
        };
        Ok(SliceItem {
            height: h,
            width: w,
            target: f32v(target),
            reference: f32v(reference),
            input: f32v(input),
            full_kspace: None,
            kspace,
            kspace_shape: [h, w],
            kspace_convention: self.config.kspace_convention,
            mask,
            meta,
        })
    }
}

/// Rotation about the image centre by `deg` (nearest neighbour, zeros outside), then an
/// optional left–right flip.
pub fn augment(img: &[f64], h: usize, w: usize, deg: f64, flip: bool) -> Vec<f64> {
    let (s, c) = deg.to_radians().sin_cos();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let mut out = vec![0.0; h * w];
    for r in 0..h {
        for col in 0..w {
            let oc = if flip { w - 1 - col } else { col };
            let (y, x) = (r as f64 - cy, col as f64 - cx);
            let (sy, sx) = (c * y - s * x + cy, s * y + c * x + cx);
            let (ry, rx) = (sy.round(), sx.round());
            if ry >= 0.0 && rx >= 0.0 && (ry as usize) < h && (rx as usize) < w {
                out[r * w + oc] = img[ry as usize * w + rx as usize];
            }
        }
    }
    out
}
