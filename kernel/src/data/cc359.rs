//! Measured single-coil k-space: the Calgary-Campinas (CC359) single-channel raw data in `.npy`
//! volumes as IGKR-Net's and FPS-Former's pipelines read them, and fastMRI's single-coil `.h5`
//! volumes read the same way (IGKR-Net's Table 2).
//!
//! CC359: one file per volume, `[slices, rows, columns, 2]` floats (real, imaginary) or
//! `[slices, rows, columns]` complex, the k-space **uncentred** (DC at index 0, as stored; the
//! image is the plain inverse FFT, FPS-Former's `ifft2` without shifts). fastMRI: `kspace`
//! `[slices, rows, columns]` complex, centred (its image is `ifft2c`), on the acquisition grid
//! with the readout oversampled (640×368 for the knee); the slice is taken to
//! `reconstruction_esc`'s grid (320×320) by fastMRI's own image-space centre crop. Files are
//! found under the data folder at any depth (CC359 ships `Train/` and `Val/` folders); a volume
//! is named by its file stem, which must be unique. Slices are read from disk on demand.
//!
//! Per slice, [`KSpaceVolume::centred`] gives the kit's layout: the image `I = ifft2(K)` as
//! numpy computes it (scaled by `1/(H·W)`), then `fft2c(I)`, DC at `(H/2, W/2)` (fastMRI's
//! stored k-space already is `fft2c` of its image). [`crop_centred`] reaches a working grid by
//! cutting (or zero-padding) the centred k-space: the same field of view at a coarser pixel
//! (IGKR-Net note A1), the image's intensities kept.

use crate::data::dataset::{DataError, Dataset, SliceItem, SliceMeta};
use crate::data::fastmri::{open_volume, FastMriVolume};
use crate::data::phantom::{self, Kind, PhantomOptions};
use crate::data::prepare::{crop_or_pad, stats, NormStats, Normalisation};
use crate::io::npy::{read_npy_elements, read_npy_header, NpyHeader};
use crate::kspace::{apply_mask, zero_filled_magnitude};
use num_complex::Complex32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a volume's slices are read from.
#[derive(Clone, Debug, PartialEq)]
enum Store {
    /// A `.npy` file of uncentred k-space (CC359).
    Npy(NpyHeader),
    /// A fastMRI single-coil `.h5` file: centred k-space on the acquisition grid.
    FastMri(FastMriVolume),
}

/// An opened k-space volume (header only; slices are read on demand).
#[derive(Clone, Debug, PartialEq)]
pub struct KSpaceVolume {
    pub path: PathBuf,
    /// The file stem.
    pub id: String,
    pub slices: usize,
    /// `[rows, columns]` of each slice as [`KSpaceVolume::centred`] gives it.
    pub shape: [usize; 2],
    store: Store,
}

impl KSpaceVolume {
    /// Opens `path` (`.npy`, or a fastMRI `.h5`) and checks its shape and type.
    pub fn open(path: &Path) -> Result<KSpaceVolume, String> {
        let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if path.extension().is_some_and(|x| x.eq_ignore_ascii_case("h5")) {
            let v = open_volume(path)?;
            let [rows, cols] = v.kspace_shape;
            if v.slices == 0 || rows < 2 || cols < 2 {
                return Err(format!(
                    "`{}`: `kspace` {:?} holds no usable slice",
                    path.display(),
                    [v.slices, rows, cols]
                ));
            }
            let shape = v.target_shape.unwrap_or(v.kspace_shape);
            return Ok(KSpaceVolume {
                path: path.to_path_buf(),
                id,
                slices: v.slices,
                shape,
                store: Store::FastMri(v),
            });
        }
        let header = read_npy_header(path).map_err(|e| e.to_string())?;
        let (slices, shape) = match (header.complex, header.shape.as_slice()) {
            (false, &[s, h, w, 2]) => (s, [h, w]),
            (true, &[s, h, w]) => (s, [h, w]),
            (_, shape) => {
                return Err(format!(
                    "`{}`: shape {shape:?} of `{}`: expected [slices, rows, columns, 2] floats (real, imaginary) or [slices, rows, columns] complex",
                    path.display(),
                    header.dtype
                ))
            }
        };
        if !header.dtype[1..].starts_with('f') && !header.complex {
            return Err(format!(
                "`{}`: dtype `{}`: k-space is stored as floats or complex",
                path.display(),
                header.dtype
            ));
        }
        if slices == 0 || shape[0] < 2 || shape[1] < 2 {
            return Err(format!("`{}`: shape {:?} holds no usable slice", path.display(), header.shape));
        }
        Ok(KSpaceVolume { path: path.to_path_buf(), id, slices, shape, store: Store::Npy(header) })
    }

    /// Slice `k` as stored (`.npy`: uncentred; fastMRI: centred, on the acquisition grid).
    /// Non-finite values are an error naming the slice.
    pub fn raw(&self, k: usize) -> Result<Vec<Complex32>, String> {
        if k >= self.slices {
            return Err(format!("`{}`: slice {k} asked for, the volume has {}", self.path.display(), self.slices));
        }
        let v: Vec<Complex32> = match &self.store {
            Store::Npy(header) => {
                let n = self.shape[0] * self.shape[1];
                let per_slice = if header.complex { n } else { 2 * n };
                let v = read_npy_elements(&self.path, header, k * per_slice, per_slice).map_err(|e| e.to_string())?;
                v.chunks_exact(2).map(|c| Complex32::new(c[0] as f32, c[1] as f32)).collect()
            }
            Store::FastMri(f) => f.kspace(k)?,
        };
        if let Some(p) = v.iter().position(|z| !z.re.is_finite() || !z.im.is_finite()) {
            return Err(format!(
                "`{}`: slice {k} holds a non-finite value ({} at element {p})",
                self.path.display(),
                v[p]
            ));
        }
        Ok(v)
    }

    /// Slice `k` in the kit's layout on the volume's grid [`KSpaceVolume::shape`]: `fft2c` of
    /// its image, DC at `(H/2, W/2)` (fastMRI: the image `ifft2c(K)` centre-cropped to
    /// `reconstruction_esc`'s grid first).
    pub fn centred(&self, k: usize) -> Result<Vec<Complex32>, String> {
        let raw = self.raw(k)?;
        let [h, w] = self.shape;
        match &self.store {
            Store::Npy(_) => Ok(centre(raw, h, w)),
            Store::FastMri(f) if f.kspace_shape == self.shape => Ok(raw),
            Store::FastMri(f) => {
                let [rows, cols] = f.kspace_shape;
                let mut img = crop_or_pad(&crate::kspace::to_image(&raw, rows, cols), rows, cols, h, w);
                crate::fft::fft2c(&mut img, h, w);
                Ok(img)
            }
        }
    }
}

/// Uncentred k-space `K` → `fft2c(I)` of its image `I = ifft2(K)` (numpy's inverse, `1/(H·W)`).
pub fn centre(mut k: Vec<Complex32>, h: usize, w: usize) -> Vec<Complex32> {
    let f = crate::fft::Fft2::<f32>::cached(h, w);
    f.ifft2(&mut k, crate::fft::Norm::Backward, false);
    crate::fft::fft2c(&mut k, h, w);
    k
}

/// The central `th × tw` of centred k-space (zero-padded where the grid is larger), scaled by
/// `√(th·tw / (h·w))` so that the image keeps its intensities.
pub fn crop_centred(k: &[Complex32], h: usize, w: usize, th: usize, tw: usize) -> Vec<Complex32> {
    let scale = ((th * tw) as f64 / (h * w) as f64).sqrt() as f32;
    let mut out = vec![Complex32::new(0.0, 0.0); th * tw];
    // Index r of the output sits at r − th/2 from DC, as row r + h/2 − th/2 of the input does.
    for r in 0..th {
        let sr = r as isize + (h / 2) as isize - (th / 2) as isize;
        if sr < 0 || sr >= h as isize {
            continue;
        }
        for c in 0..tw {
            let sc = c as isize + (w / 2) as isize - (tw / 2) as isize;
            if sc >= 0 && sc < w as isize {
                out[r * tw + c] = k[sr as usize * w + sc as usize] * scale;
            }
        }
    }
    out
}

/// Writes complex images as a volume of this format (atomically): each slice's raw k-space is
/// numpy's `fft2(I)` (unnormalised, unshifted), stored `[slices, h, w, 2]` as float32.
pub fn write_volume(path: &Path, images: &[Vec<Complex32>], h: usize, w: usize) -> Result<(), crate::io::IoError> {
    let f = crate::fft::Fft2::<f32>::cached(h, w);
    let mut data = Vec::with_capacity(images.len() * h * w * 2);
    for img in images {
        assert_eq!(img.len(), h * w, "an image is not {h}x{w}");
        let mut k = img.clone();
        f.fft2(&mut k, crate::fft::Norm::Backward, false);
        data.extend(k.iter().flat_map(|z| [z.re, z.im]));
    }
    crate::io::npy::write_npy_f32(path, &[images.len(), h, w, 2], &data)
}

/// The phantom as measured k-space volumes of this format, to try the paper-scale data path:
/// each subject's `contrast` with its smooth phase ([`PhantomOptions::phase`]), intensities
/// times `scale`, under CC359's `Train/` and `Val/` folders, and a `split.csv` beside them: the
/// last 20% of the subjects (at least one, when there are two or more) test, one validation
/// subject before them when there are three or more, the rest train. Returns the volume names.
#[allow(clippy::too_many_arguments)]
pub fn write_phantom_volumes(
    out: &Path,
    kind: Kind,
    contrast: &str,
    subjects: usize,
    size: usize,
    slices: usize,
    seed: u32,
    scale: f64,
) -> Result<Vec<String>, crate::io::IoError> {
    let opts = PhantomOptions { phase: true, ..PhantomOptions::default() };
    let test = if subjects >= 2 { ((subjects as f64 * 0.2).round() as usize).max(1) } else { 0 };
    let train = subjects - test - usize::from(subjects >= 3);
    let mut split = String::new();
    let mut ids = Vec::new();
    for i in 0..subjects {
        let s = phantom::subject(kind, seed, i, size, slices, &opts);
        let (Some(m), Some(ph)) = (s.contrasts.get(contrast), s.phases.get(contrast)) else {
            let known: Vec<&String> = s.contrasts.keys().collect();
            return Err(crate::io::IoError::Format {
                path: out.to_path_buf(),
                message: format!("the {kind:?} phantom has no contrast `{contrast}` (it has {known:?})"),
            });
        };
        let images: Vec<Vec<Complex32>> = (0..slices)
            .map(|k| {
                m.slice(k)
                    .iter()
                    .zip(ph.slice(k))
                    .map(|(&a, &p)| Complex32::from_polar((a * scale) as f32, p as f32))
                    .collect()
            })
            .collect();
        let part = if i < train {
            "train"
        } else if i < subjects - test {
            "val"
        } else {
            "test"
        };
        let id = s.id.clone();
        write_volume(
            &out.join(if part == "train" { "Train" } else { "Val" }).join(format!("{id}.npy")),
            &images,
            size,
            size,
        )?;
        split += &format!("{id},{part}\n");
        ids.push(id);
    }
    crate::io::write_atomic(&out.join("split.csv"), split.as_bytes())?;
    Ok(ids)
}

/// Every `.npy` and `.h5` volume under `root` (any depth, sorted by path), and the problems of the files
/// that could not be used (each names its file).
pub fn discover(root: &Path) -> (Vec<KSpaceVolume>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    // Bounded: every directory is visited once (symbolic links to directories are not followed).
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("cannot read the folder `{}`: {e}", dir.display()));
                continue;
            }
        };
        for e in entries.flatten() {
            let p = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("npy") || x.eq_ignore_ascii_case("h5")) {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut volumes: Vec<KSpaceVolume> = Vec::new();
    for f in files {
        match KSpaceVolume::open(&f) {
            Ok(v) => {
                if let Some(o) = volumes.iter().find(|o| o.id == v.id) {
                    problems.push(format!(
                        "`{}` and `{}` have the same name `{}`: volumes are named by their file stem",
                        o.path.display(),
                        f.display(),
                        v.id
                    ));
                } else {
                    volumes.push(v);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if volumes.is_empty() && problems.is_empty() {
        problems.push(format!("no k-space volume (`.npy`, fastMRI `.h5`) under `{}`", root.display()));
    }
    (volumes, problems)
}

impl Dataset {
    /// Item `i` of a measured k-space source: the slice centred and cut to the working grid, its
    /// complex image normalised (`complex_standardise`, or `min_max`: divided by its largest
    /// magnitude) together with its k-space, which is then masked. The target and the reference
    /// are the image's magnitude. Both are computed once per slice and cached.
    pub(super) fn get_measured(&self, i: usize, epoch: usize) -> Result<SliceItem, DataError> {
        let volumes = self.kvolumes.as_deref().expect("a measured k-space source");
        let key = self.index[i];
        let v = &volumes[key.0];
        let [h, w] = self.config.size.unwrap_or(v.shape);
        let cached = self.complex_cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        let prepared = match cached {
            Some(p) => p,
            None => {
                let raw = v.centred(key.1).map_err(|e| DataError::Problems(vec![e]))?;
                let mut full = crop_centred(&raw, v.shape[0], v.shape[1], h, w);
                let img = crate::kspace::to_image(&full, h, w);
                let stats = match self.config.normalisation {
                    Normalisation::None => NormStats::IDENTITY,
                    Normalisation::MinMax => {
                        let max = img.iter().map(|z| z.norm() as f64).fold(0.0, f64::max);
                        NormStats { offset: 0.0, scale: if max > 0.0 { max } else { 1.0 }, clip: None }
                    }
                    Normalisation::ComplexStandardise => {
                        let parts: Vec<f64> = img.iter().flat_map(|z| [z.re as f64, z.im as f64]).collect();
                        stats(Normalisation::ComplexStandardise, &parts)
                    }
                    other => {
                        return Err(DataError::Config(format!(
                            "measured k-space is normalised as a complex image: `normalisation` is none, min_max or complex_standardise, not {}",
                            other.name()
                        )))
                    }
                };
                // The image's offset m(1 + i) lives only in k-space's DC coefficient (orthonormal
                // fft2c: √(H·W) times the image mean), so k-space is normalised without a second FFT.
                let (m, s) = (stats.offset as f32, stats.scale as f32);
                full[(h / 2) * w + w / 2] -= Complex32::new(m, m) * ((h * w) as f32).sqrt();
                full.iter_mut().for_each(|z| *z /= s);
                let target: Vec<f32> = img.iter().map(|z| Complex32::new(z.re - m, z.im - m).norm() / s).collect();
                let p = Arc::new((full, target));
                self.complex_cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, p.clone());
                p
            }
        };
        let (full, target) = (&prepared.0, prepared.1.clone());
        let (mask, mask_seed) = self.mask_for(&v.id, i, epoch, h, w)?;
        let kspace = apply_mask(full, &mask.data, h, w);
        let input = zero_filled_magnitude(&kspace, h, w);
        let meta = SliceMeta {
            source: format!("kspace:{}", v.path.parent().map(|p| p.display().to_string()).unwrap_or_default()),
            subject: v.id.clone(),
            slice: key.1,
            // Scored as normalised (KT scored its standardised images): a magnitude cannot undo
            // a complex offset, and the protocols' data range max − min ignores the scale.
            target_stats: NormStats::IDENTITY,
            reference_stats: NormStats::IDENTITY,
            input_stats: NormStats::IDENTITY,
            mask_family: mask.family.name(),
            mask_seed: mask_seed.describe(),
            mask_hash: mask.hash_hex(),
        };
        Ok(SliceItem {
            height: h,
            width: w,
            reference: target.clone(),
            target,
            input,
            full_kspace: Some(full.clone()),
            kspace,
            kspace_shape: [h, w],
            kspace_convention: self.config.kspace_convention,
            mask,
            meta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::write_npy_f32;
    use std::f64::consts::PI;

    /// A band-limited complex image: a few complex exponentials with frequencies within ±`fmax`
    /// cycles per field of view, evaluated at `x/n` of the field of view.
    fn image(y: f64, x: f64, n: f64) -> (f64, f64) {
        let terms = [(0, 0, 3.0, 0.0), (2, -3, 0.8, 0.4), (-5, 7, 0.5, -1.1), (11, 4, 0.3, 2.0), (-15, -9, 0.2, 0.7)];
        terms.iter().fold((0.0, 0.0), |(re, im), &(fy, fx, a, ph)| {
            let t = 2.0 * PI * (fy as f64 * y + fx as f64 * x) / n + ph;
            (re + a * t.cos(), im + a * t.sin())
        })
    }

    #[test]
    fn a_cropped_volume_is_the_same_field_of_view_sampled_coarser() {
        // Raw k-space = numpy's unnormalised, unshifted fft2 of the image, at real scanner scale.
        let (n, slices, gain) = (64usize, 2usize, 4.0e4);
        let images: Vec<Vec<Complex32>> = (0..slices)
            .map(|s| {
                (0..n * n)
                    .map(|i| {
                        let (re, im) = image((i / n) as f64, (i % n) as f64, n as f64);
                        let g = gain * (s + 1) as f64;
                        Complex32::new((re * g) as f32, (im * g) as f32)
                    })
                    .collect()
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("mcmr-cc359-{}", std::process::id()));
        write_volume(&dir.join("Train").join("e0001s1.npy"), &images, n, n).unwrap();
        let (vols, problems) = discover(&dir);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((vols[0].id.as_str(), vols[0].slices, vols[0].shape), ("e0001s1", 2, [n, n]));
        // At 32x32, pixel j of the crop is the image at 2j: the same anatomy, intensities kept.
        let m = n / 2;
        let k = crop_centred(&vols[0].centred(1).unwrap(), n, n, m, m);
        let img = crate::kspace::to_image(&k, m, m);
        let mut worst: f64 = 0.0;
        for j in 0..m * m {
            let (re, im) = image(2.0 * (j / m) as f64, 2.0 * (j % m) as f64, n as f64);
            let want = re.hypot(im) * gain * 2.0;
            worst = worst.max((img[j].norm() as f64 - want).abs() / (gain * 2.0));
        }
        assert!(worst < 1e-4, "largest error {worst} (of the image's unit)");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_volumes_are_named_and_skipped() {
        let dir = std::env::temp_dir().join(format!("mcmr-cc359-bad-{}", std::process::id()));
        write_npy_f32(&dir.join("a").join("flat.npy"), &[4, 4], &[0.0; 16]).unwrap();
        write_npy_f32(&dir.join("a").join("ok.npy"), &[1, 4, 4, 2], &[0.0; 32]).unwrap();
        write_npy_f32(&dir.join("b").join("ok.npy"), &[1, 4, 4, 2], &[0.0; 32]).unwrap();
        let mut nan = vec![0.0f32; 32];
        nan[9] = f32::NAN;
        write_npy_f32(&dir.join("nan.npy"), &[1, 4, 4, 2], &nan).unwrap();
        let (vols, problems) = discover(&dir);
        assert_eq!(vols.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["ok", "nan"]);
        assert!(
            problems.iter().any(|p| p.contains("flat.npy") && p.contains("[slices, rows, columns, 2]")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("the same name `ok`")), "{problems:?}");
        let e = vols[1].raw(0).unwrap_err();
        assert!(e.contains("nan.npy") && e.contains("slice 0") && e.contains("element 4"), "{e}");
        assert!(vols[1].raw(1).unwrap_err().contains("the volume has 1"));
        let (none, p) = discover(&dir.join("missing"));
        assert!(none.is_empty() && p[0].contains("cannot read the folder"), "{p:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
