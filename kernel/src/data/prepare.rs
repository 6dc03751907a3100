//! Turning volumes into training slices: slice selection, orientation, crop/pad, the papers'
//! normalisations, and subject-level splits.
//!
//! Normalisations (each keeps its statistics so outputs can be de-normalised for metrics):
//!
//! * **`mean_std`** (FSMNet BraTS): `(x − μ)/(σ + 1e-11)` with the *population* standard deviation
//!   (numpy's default, ddof 0), clipped to ±6. The under-sampled input is normalised with its own
//!   statistics and **the target with the input's statistics**; the reference with its own.
//! * **`instance`** (fastMRI U-Net, MTrans, FSMNet knee): the same with the *unbiased* standard
//!   deviation (torch's default, ddof 1).
//! * **`min_max`** (UniFS): each slice mapped to [0, 1] by its own minimum and maximum *before*
//!   the k-space simulation.
//! * **`none`**.

use crate::rng::{NumpyRng, Seed};

/// Which slices of a volume to use.
#[derive(Clone, Debug, PartialEq)]
pub enum SliceSelection {
    /// Every slice.
    All,
    /// The `n` central slices (UniFS: 40).
    Central(usize),
    /// Slices `start..end`.
    Range(usize, usize),
    /// These slice indices (those inside the volume), of volumes with at least `min_slices`
    /// slices; a shorter volume gives none (IMA's IXI: 10 fixed indices, volumes of ≥ 120).
    Indices { indices: Vec<usize>, min_slices: usize },
}

impl SliceSelection {
    /// In words, for manifests.
    pub fn describe(&self) -> String {
        match self {
            SliceSelection::All => "all".into(),
            SliceSelection::Central(n) => format!("the {n} central slices"),
            SliceSelection::Range(a, b) => format!("slices {a}..{b}"),
            SliceSelection::Indices { indices, min_slices } => {
                format!("slices {indices:?} of volumes with at least {min_slices} slices")
            }
        }
    }

    /// The selected slice indices of a volume with `slices` slices.
    pub fn indices(&self, slices: usize) -> Vec<usize> {
        match self {
            SliceSelection::All => (0..slices).collect(),
            SliceSelection::Central(n) => {
                let n = (*n).min(slices);
                let start = (slices - n) / 2;
                (start..start + n).collect()
            }
            SliceSelection::Range(a, b) => ((*a).min(slices)..(*b).min(slices)).collect(),
            SliceSelection::Indices { indices, min_slices } => {
                if slices < *min_slices {
                    return Vec::new();
                }
                indices.iter().copied().filter(|&k| k < slices).collect()
            }
        }
    }
}

/// Axis flips and transposition applied to every extracted slice (after reading, before crop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation {
    /// Swap rows and columns first.
    pub transpose: bool,
    /// Reverse the row order (top ↔ bottom).
    pub flip_rows: bool,
    /// Reverse the column order (left ↔ right).
    pub flip_cols: bool,
}

impl Orientation {
    /// A counter-clockwise rotation by `degrees` (0, 90, 180 or 270), as numpy's `rot90`.
    pub fn rotation(degrees: u32) -> Option<Orientation> {
        let (transpose, flip_rows, flip_cols) = match degrees {
            0 => (false, false, false),
            90 => (true, true, false),
            180 => (false, true, true),
            270 => (true, false, true),
            _ => return None,
        };
        Some(Orientation { transpose, flip_rows, flip_cols })
    }

    /// Applies the orientation to an `h×w` slice; returns the new slice and its `(h, w)`.
    pub fn apply(&self, img: &[f64], h: usize, w: usize) -> (Vec<f64>, usize, usize) {
        let (oh, ow) = if self.transpose { (w, h) } else { (h, w) };
        let mut out = vec![0.0; h * w];
        for r in 0..oh {
            for c in 0..ow {
                let (r2, c2) =
                    (if self.flip_rows { oh - 1 - r } else { r }, if self.flip_cols { ow - 1 - c } else { c });
                let (sr, sc) = if self.transpose { (c2, r2) } else { (r2, c2) };
                out[r * ow + c] = img[sr * w + sc];
            }
        }
        (out, oh, ow)
    }
}

/// Centre crop or zero-pad an `h×w` slice to `th×tw` (crop start `(h − th)/2`, as fastMRI's
/// `center_crop`; padding splits the extra rows/columns the same way).
pub fn crop_or_pad<T: Copy + Default>(img: &[T], h: usize, w: usize, th: usize, tw: usize) -> Vec<T> {
    let mut out = vec![T::default(); th * tw];
    for r in 0..th {
        let sr = r as isize + (h as isize - th as isize) / 2;
        if sr < 0 || sr >= h as isize {
            continue;
        }
        for c in 0..tw {
            let sc = c as isize + (w as isize - tw as isize) / 2;
            if sc >= 0 && sc < w as isize {
                out[r * tw + c] = img[sr as usize * w + sc as usize];
            }
        }
    }
    out
}

/// How a slice reaches the run's `size` when it differs from the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resize {
    /// The whole field of view at another resolution: the centred k-space cropped (or
    /// zero-padded) to the size ([`resample_kspace`]); the default.
    #[default]
    KSpace,
    /// An image-space centre crop or zero-pad ([`crop_or_pad`]): UniFS's 200×200 BraTS crops,
    /// fastMRI's 320×320.
    Crop,
}

impl Resize {
    pub const ALL: [Resize; 2] = [Resize::KSpace, Resize::Crop];

    pub fn name(self) -> &'static str {
        match self {
            Resize::KSpace => "kspace",
            Resize::Crop => "crop",
        }
    }

    pub fn parse(s: &str) -> Result<Resize, String> {
        Resize::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| format!("unknown resize `{s}` (kspace, crop)"))
    }

    /// An `h×w` slice at `th×tw` (unchanged when the sizes agree).
    pub fn apply(self, img: &[f64], h: usize, w: usize, th: usize, tw: usize) -> Vec<f64> {
        match self {
            _ if (h, w) == (th, tw) => img.to_vec(),
            Resize::KSpace => resample_kspace(img, h, w, th, tw),
            Resize::Crop => crop_or_pad(img, h, w, th, tw),
        }
    }
}

/// An `h×w` image at `th×tw` with the same field of view: its centred orthonormal k-space
/// (`fft2c`) cropped or zero-padded around the centre (DC stays at `(⌊n/2⌋)`), back to image
/// space, the magnitude taken (as for any MRI magnitude image), and scaled by
/// `√(th·tw/(h·w))` so that intensities keep their level (a constant image stays the same
/// constant). Values are then clipped to the source's range: Gibbs ringing at sharp edges would
/// otherwise overshoot it (above 1 after a mapping to [0, 1], which 8-bit protocols refuse).
/// `img` (`h×w`) bilinearly interpolated to `th×tw` as PyTorch's `F.interpolate(mode =
/// "bilinear", align_corners = False)` without antialiasing: output pixel `d` reads the source
/// at `(d + 0.5)·(h/th) − 0.5`, clamped at 0, between its two neighbours (the last one repeated).
pub fn bilinear_resize(img: &[f32], h: usize, w: usize, th: usize, tw: usize) -> Vec<f32> {
    let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|d| {
                let src = (scale * (d as f64 + 0.5) - 0.5).max(0.0);
                let i0 = (src as usize).min(n_in - 1);
                let i1 = (i0 + 1).min(n_in - 1);
                (i0, i1, (src - i0 as f64) as f32)
            })
            .collect()
    };
    let (rows, cols) = (taps(h, th), taps(w, tw));
    let mut out = Vec::with_capacity(th * tw);
    for &(r0, r1, lr) in &rows {
        for &(c0, c1, lc) in &cols {
            let at = |r: usize, c: usize| img[r * w + c];
            let top = (1.0 - lc) * at(r0, c0) + lc * at(r0, c1);
            let bottom = (1.0 - lc) * at(r1, c0) + lc * at(r1, c1);
            out.push((1.0 - lr) * top + lr * bottom);
        }
    }
    out
}

pub fn resample_kspace(img: &[f64], h: usize, w: usize, th: usize, tw: usize) -> Vec<f64> {
    let lo = img.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = img.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    use num_complex::Complex;
    let mut k: Vec<Complex<f32>> = img.iter().map(|&v| Complex::new(v as f32, 0.0)).collect();
    crate::fft::fft2c(&mut k, h, w);
    let mut out = vec![Complex::new(0.0f32, 0.0); th * tw];
    let (r0, c0) = ((h / 2) as isize - (th / 2) as isize, (w / 2) as isize - (tw / 2) as isize);
    for r in 0..th {
        let sr = r as isize + r0;
        if sr < 0 || sr >= h as isize {
            continue;
        }
        for c in 0..tw {
            let sc = c as isize + c0;
            if sc >= 0 && sc < w as isize {
                out[r * tw + c] = k[sr as usize * w + sc as usize];
            }
        }
    }
    crate::fft::ifft2c(&mut out, th, tw);
    let scale = ((th * tw) as f64 / (h * w) as f64).sqrt();
    out.iter().map(|z| (f64::from(z.norm()) * scale).clamp(lo.min(hi), hi)).collect()
}

/// A normalisation scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Normalisation {
    None,
    MeanStd,
    Instance,
    MinMax,
    /// Measured complex data only: each slice's complex image to zero mean and unit standard
    /// deviation, both taken over its real and imaginary parts together, before masking (KT's
    /// `normal_in_i`; IGKR-Net note A7).
    ComplexStandardise,
}

impl Normalisation {
    /// Every normalisation.
    pub const ALL: [Normalisation; 5] = [
        Normalisation::None,
        Normalisation::MeanStd,
        Normalisation::Instance,
        Normalisation::MinMax,
        Normalisation::ComplexStandardise,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Normalisation::None => "none",
            Normalisation::MeanStd => "mean_std",
            Normalisation::Instance => "instance",
            Normalisation::MinMax => "min_max",
            Normalisation::ComplexStandardise => "complex_standardise",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Normalisation::ALL.into_iter().find(|n| n.name() == s).ok_or_else(|| {
            format!("unknown normalisation `{s}` (known: none, mean_std, instance, min_max, complex_standardise)")
        })
    }
}

/// Statistics of one normalisation: `x_norm = (x − offset)/scale`, clipped to `clip` if set.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct NormStats {
    pub offset: f64,
    pub scale: f64,
    pub clip: Option<f64>,
}

impl NormStats {
    pub const IDENTITY: NormStats = NormStats { offset: 0.0, scale: 1.0, clip: None };

    /// Normalises in place.
    pub fn apply(&self, x: &mut [f64]) {
        for v in x.iter_mut() {
            let y = (*v - self.offset) / self.scale;
            *v = match self.clip {
                Some(c) => y.clamp(-c, c),
                None => y,
            };
        }
    }

    /// Undoes the normalisation (clipping cannot be undone).
    pub fn invert(&self, x: &mut [f64]) {
        for v in x.iter_mut() {
            *v = *v * self.scale + self.offset;
        }
    }
}

/// `(mean, std)` with `ddof` 0 (population) or 1 (unbiased).
pub fn mean_std(x: &[f64], ddof: usize) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (ss / (n - ddof as f64)).sqrt())
}

/// The statistics `scheme` takes from `x`.
pub fn stats(scheme: Normalisation, x: &[f64]) -> NormStats {
    const EPS: f64 = 1e-11;
    match scheme {
        Normalisation::None => NormStats::IDENTITY,
        Normalisation::MeanStd => {
            let (m, s) = mean_std(x, 0);
            NormStats { offset: m, scale: s + EPS, clip: Some(6.0) }
        }
        Normalisation::ComplexStandardise => {
            let (m, s) = mean_std(x, 0);
            NormStats { offset: m, scale: s + EPS, clip: None }
        }
        Normalisation::Instance => {
            let (m, s) = mean_std(x, 1);
            NormStats { offset: m, scale: s + EPS, clip: Some(6.0) }
        }
        Normalisation::MinMax => {
            let lo = x.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            NormStats { offset: lo, scale: if hi > lo { hi - lo } else { 1.0 }, clip: None }
        }
    }
}

/// Which part of a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Train,
    Val,
    Test,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Result<Part, String> {
        match s {
            "train" => Ok(Part::Train),
            "val" => Ok(Part::Val),
            "test" => Ok(Part::Test),
            other => Err(format!("unknown split part `{other}` (expected train, val or test)")),
        }
    }
}

/// Assigns subjects to train/val/test by ratios (e.g. 3:1, 3:1:1, 7:1:2) after a seeded shuffle
/// of the sorted subject ids. Counts are `floor(n·r/Σr)` for val and test, the rest train, so
/// every subject is assigned exactly once and the split is reproducible from the seed.
pub fn split_by_ratio(ids: &[String], ratios: &[f64], seed: u32) -> Result<Vec<(String, Part)>, String> {
    if !(2..=3).contains(&ratios.len()) || ratios.iter().any(|r| !(r.is_finite() && *r >= 0.0)) || ratios[0] <= 0.0 {
        return Err(format!(
            "split ratios {ratios:?}: expected 2 or 3 non-negative numbers, train > 0 (e.g. 3:1 or 7:1:2)"
        ));
    }
    let mut sorted = ids.to_vec();
    sorted.sort();
    let mut rng = NumpyRng::new(&Seed::Int(seed));
    // Fisher–Yates from the end, numpy's `shuffle` order of draws.
    for i in (1..sorted.len()).rev() {
        let j = rng.randint(i as u64 + 1) as usize;
        sorted.swap(i, j);
    }
    let total: f64 = ratios.iter().sum();
    let n = sorted.len() as f64;
    let (n_test, n_val) = if ratios.len() == 2 {
        ((n * ratios[1] / total).floor() as usize, 0)
    } else {
        ((n * ratios[2] / total).floor() as usize, (n * ratios[1] / total).floor() as usize)
    };
    let n_train = sorted.len() - n_test - n_val;
    Ok(sorted
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let part = if i < n_train {
                Part::Train
            } else if i < n_train + n_val {
                Part::Val
            } else {
                Part::Test
            };
            (id, part)
        })
        .collect())
}

/// Reads a split file: one `subject,part` per line (`part` = train, val or test; `#` comments
/// and blank lines ignored). Errors name the line.
pub fn read_split_file(text: &str, file: &str) -> Result<Vec<(String, Part)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut it = line.split(',').map(str::trim);
        match (it.next(), it.next(), it.next()) {
            (Some(id), Some(part), None) if !id.is_empty() => {
                let part = Part::parse(part).map_err(|e| format!("{file}:{}: {e}", i + 1))?;
                out.push((id.to_string(), part));
            }
            _ => return Err(format!("{file}:{}: expected `subject,part`, found `{line}`", i + 1)),
        }
    }
    Ok(out)
}

/// Every subject a split file names must be in the data (a typo would silently leave a volume
/// out): the first one that is not, with its line, is an error. Subjects that the data has but
/// whose files were broken (named in `problems`) are let through.
pub fn check_split_names(
    list: &[(String, Part)],
    text: &str,
    file: &str,
    known: &[String],
    problems: &[String],
) -> Result<(), String> {
    let Some((id, _)) =
        list.iter().find(|(id, _)| !known.contains(id) && !problems.iter().any(|p| p.contains(id.as_str())))
    else {
        return Ok(());
    };
    let line = text.lines().position(|l| l.split(',').next().map(str::trim) == Some(id.as_str())).map_or(0, |i| i + 1);
    let some: Vec<String> = known.iter().take(3).map(|k| format!("`{k}`")).collect();
    Err(format!(
        "{file}:{line}: `{id}` is not in the data ({} subjects{}{})",
        known.len(),
        if some.is_empty() { "" } else { ", e.g. " },
        some.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsmnet_mean_std_uses_the_population_std_and_clips_at_six() {
        let x = vec![0.0, 1.0, 2.0, 3.0];
        let s = stats(Normalisation::MeanStd, &x);
        assert!((s.scale - (1.25f64.sqrt() + 1e-11)).abs() < 1e-15);
        let u = stats(Normalisation::Instance, &x);
        assert!((u.scale - ((5.0f64 / 3.0).sqrt() + 1e-11)).abs() < 1e-15);
        let mut y = vec![0.0, 1000.0];
        s.apply(&mut y);
        assert_eq!(y[1], 6.0);
    }

    #[test]
    fn ratio_splits_cover_every_subject_once_and_follow_the_seed() {
        let ids: Vec<String> = (0..20).map(|i| format!("S{i:02}")).collect();
        let a = split_by_ratio(&ids, &[7.0, 1.0, 2.0], 5).unwrap();
        let b = split_by_ratio(&ids, &[7.0, 1.0, 2.0], 5).unwrap();
        let c = split_by_ratio(&ids, &[7.0, 1.0, 2.0], 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let count = |p| a.iter().filter(|(_, q)| *q == p).count();
        assert_eq!((count(Part::Train), count(Part::Val), count(Part::Test)), (14, 2, 4));
        let mut seen: Vec<&String> = a.iter().map(|(id, _)| id).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 20);
        assert!(split_by_ratio(&ids, &[0.0, 1.0], 0).is_err());
    }

    #[test]
    fn split_file_errors_name_the_line() {
        let e = read_split_file("a,train\nb,validation\n", "split.csv").unwrap_err();
        assert!(e.starts_with("split.csv:2:"), "{e}");
    }

    #[test]
    fn rotations_are_numpys_rot90() {
        // [[0, 1, 2], [3, 4, 5]]: np.rot90 gives [[2, 5], [1, 4], [0, 3]], twice [[5, 4, 3], [2, 1, 0]].
        let img = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let rot = |d: u32| Orientation::rotation(d).unwrap().apply(&img, 2, 3);
        assert_eq!(rot(90), (vec![2.0, 5.0, 1.0, 4.0, 0.0, 3.0], 3, 2));
        assert_eq!(rot(180), (vec![5.0, 4.0, 3.0, 2.0, 1.0, 0.0], 2, 3));
        assert_eq!(rot(270), (vec![3.0, 0.0, 4.0, 1.0, 5.0, 2.0], 3, 2));
        assert_eq!(rot(0), (img.to_vec(), 2, 3));
        assert_eq!(Orientation::rotation(45), None);
    }

    #[test]
    fn orientation_and_crop_move_pixels_where_expected() {
        // 2x3 image with value 10r + c.
        let img: Vec<f64> = (0..6).map(|i| (10 * (i / 3) + i % 3) as f64).collect();
        let (t, h, w) = Orientation { transpose: true, ..Default::default() }.apply(&img, 2, 3);
        assert_eq!((h, w), (3, 2));
        assert_eq!(t, vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        let (f, _, _) = Orientation { flip_rows: true, ..Default::default() }.apply(&img, 2, 3);
        assert_eq!(&f[..3], &[10.0, 11.0, 12.0]);
        assert_eq!(crop_or_pad(&img, 2, 3, 2, 1), vec![1.0, 11.0]);
        assert_eq!(crop_or_pad(&img, 2, 3, 4, 3)[3..9], img[..]);
    }

    #[test]
    fn kspace_resizing_keeps_the_field_of_view_and_the_intensity_level() {
        // A constant image stays the same constant, down and up.
        let flat = vec![3.0; 24 * 20];
        for (th, tw) in [(12, 10), (32, 28), (13, 9)] {
            let r = resample_kspace(&flat, 24, 20, th, tw);
            assert!(r.iter().all(|v| (v - 3.0).abs() < 1e-5), "{th}x{tw}: {:?}", &r[..3]);
        }
        // A bright block in a corner: a centre crop loses it, k-space resizing keeps it (at half
        // the resolution, about the same energy per area in the same corner).
        let (h, w) = (32, 32);
        let mut img = vec![0.0; h * w];
        for r in 0..8 {
            for c in 0..8 {
                img[r * w + c] = 1.0;
            }
        }
        let cropped = Resize::Crop.apply(&img, h, w, 16, 16);
        assert!(cropped.iter().all(|&v| v == 0.0), "the crop keeps the centre only");
        let lowres = Resize::KSpace.apply(&img, h, w, 16, 16);
        let corner: f64 =
            (0..4).flat_map(|r| (0..4).map(move |c| (r, c))).map(|(r, c)| lowres[r * 16 + c]).sum::<f64>() / 16.0;
        let centre = lowres[8 * 16 + 8];
        assert!((corner - 1.0).abs() < 0.15 && centre.abs() < 0.05, "corner {corner}, centre {centre}");
        assert_eq!(Resize::KSpace.apply(&img, h, w, h, w), img, "same size: unchanged");
        assert!(lowres.iter().all(|v| (0.0..=1.0).contains(v)), "ringing stays within the source's range");
    }

    #[test]
    fn bilinear_resize_matches_pytorchs_interpolate() {
        // torch 2.15: F.interpolate(x, size, mode="bilinear") of x[i] = ((7 i + 3) % 11) / 10, 4x5.
        let img: Vec<f32> = (0..20).map(|i| ((i * 7 + 3) % 11) as f32 / 10.0).collect();
        let up = [
            0.3, 0.7, 0.885714, 0.6, 0.314286, 0.5, 0.9, 0.4, 0.485714, 0.592857, 0.7, 0.414286, 0.364286, 0.45,
            0.533333, 0.304762, 0.333333, 0.833333, 0.547619, 0.261905, 0.033333, 0.666667, 0.438095, 0.466667,
            0.966667, 0.680952, 0.395238, 0.166667, 0.8, 0.571429, 0.442857, 0.55, 0.657143, 0.528571, 0.3, 0.9,
            0.671429, 0.385714, 0.1, 0.6, 0.628571, 0.4,
        ];
        let down = [0.505556, 0.633333, 0.577778, 0.466667, 0.9, 0.233333, 0.733333, 0.25, 0.5];
        for (got, want) in
            [(bilinear_resize(&img, 4, 5, 6, 7), &up[..]), (bilinear_resize(&img, 4, 5, 3, 3), &down[..])]
        {
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!((g - w).abs() < 2e-6, "pixel {i}: {g} vs {w}");
            }
        }
        assert_eq!(bilinear_resize(&img, 4, 5, 4, 5), img, "same size: unchanged");
    }
}
