//! The embedded multi-contrast phantom: procedural brains and knees, deterministic from a seed.
//!
//! Each subject is a 3D label volume built from seeded geometry (size, position, rotation and
//! anatomy vary between subjects), turned into contrasts with MR signal equations:
//!
//! * spin echo (T1w, T2w, PD, PDFS): `S = PD·(1 − e^{−TR/T1})·e^{−TE/T2}`;
//! * inversion recovery (FLAIR): `S = PD·|1 − 2e^{−TI/T1} + e^{−TR/T1}|·e^{−TE/T2}`;
//! * fat suppression (PDFS) scales fat-bearing tissue by [`Protocol::fat_suppression`].
//!
//! A smooth multiplicative bias field, an optional smooth phase (complex images) and optional
//! complex Gaussian noise follow. The brain has scalp fat, skull, CSF (subarachnoid space and
//! lateral ventricles), cortical grey matter whose boundary with white matter is folded by
//! seeded harmonics (gyri), deep grey nuclei, and optionally a tumour (core + oedema, BraTS-like).
//! The knee has subcutaneous fat, muscle, femur and tibia (cortical bone around fatty marrow),
//! articular cartilage and joint fluid.
//!
//! **Tissue parameters** ([`TISSUES`]) are approximate values at 3 T, rounded from the
//! relaxometry literature: white/grey matter and muscle from Stanisz et al., *Magn Reson Med*
//! 54:507 (2005) and Wansapura et al., *J Magn Reson Imaging* 9:531 (1999); CSF from Lu et al.,
//! *J Magn Reson Imaging* 22:13 (2005); fat, marrow, cartilage and synovial fluid from Gold et al.,
//! *AJR* 183:343 (2004). Proton densities are relative water contents (CSF = 1). Tumour, necrosis
//! and oedema values are illustrative (longer T1 and T2 than the tissue they replace), not
//! measurements. The kit checks the orderings radiologists rely on (tests): CSF dark and white
//! matter brighter than grey matter in T1w; CSF bright and grey matter brighter than white matter
//! in T2w; fluid bright and fat dark in PDFS, fat bright in PD.
//!
//! ```
//! use mcmr::data::phantom::{brain, PhantomOptions};
//! let s = brain(0, 64, 4, &PhantomOptions::default());
//! let t1 = &s.contrasts["t1"];
//! assert_eq!(t1.shape(), [4, 64, 64]);
//! ```

use crate::io::volume::Volume;
use crate::rng::{NumpyRng, Seed};
use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Tissue labels of the phantoms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Tissue {
    Background = 0,
    Fat = 1,
    Bone = 2,
    Csf = 3,
    GreyMatter = 4,
    WhiteMatter = 5,
    DeepGrey = 6,
    Oedema = 7,
    Tumour = 8,
    Necrosis = 9,
    Muscle = 10,
    Marrow = 11,
    Cartilage = 12,
    Fluid = 13,
}

/// Relaxation and density of one tissue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TissueParams {
    pub tissue: Tissue,
    /// Longitudinal relaxation time, ms.
    pub t1: f64,
    /// Transverse relaxation time, ms.
    pub t2: f64,
    /// Relative proton density (CSF = 1).
    pub pd: f64,
    /// Whether fat suppression removes its signal.
    pub fatty: bool,
}

/// Tissue parameters at 3 T (see the module documentation for sources).
pub const TISSUES: [TissueParams; 14] = [
    TissueParams { tissue: Tissue::Background, t1: 1.0, t2: 1.0, pd: 0.0, fatty: false },
    TissueParams { tissue: Tissue::Fat, t1: 380.0, t2: 70.0, pd: 0.9, fatty: true },
    TissueParams { tissue: Tissue::Bone, t1: 1000.0, t2: 1.0, pd: 0.05, fatty: false },
    TissueParams { tissue: Tissue::Csf, t1: 4200.0, t2: 1800.0, pd: 1.0, fatty: false },
    TissueParams { tissue: Tissue::GreyMatter, t1: 1800.0, t2: 99.0, pd: 0.8, fatty: false },
    TissueParams { tissue: Tissue::WhiteMatter, t1: 1080.0, t2: 69.0, pd: 0.7, fatty: false },
    TissueParams { tissue: Tissue::DeepGrey, t1: 1400.0, t2: 80.0, pd: 0.77, fatty: false },
    TissueParams { tissue: Tissue::Oedema, t1: 2000.0, t2: 160.0, pd: 0.88, fatty: false },
    TissueParams { tissue: Tissue::Tumour, t1: 1900.0, t2: 120.0, pd: 0.85, fatty: false },
    TissueParams { tissue: Tissue::Necrosis, t1: 3500.0, t2: 600.0, pd: 0.95, fatty: false },
    TissueParams { tissue: Tissue::Muscle, t1: 1420.0, t2: 32.0, pd: 0.75, fatty: false },
    TissueParams { tissue: Tissue::Marrow, t1: 370.0, t2: 50.0, pd: 0.85, fatty: true },
    TissueParams { tissue: Tissue::Cartilage, t1: 1240.0, t2: 37.0, pd: 0.75, fatty: false },
    TissueParams { tissue: Tissue::Fluid, t1: 3600.0, t2: 770.0, pd: 1.0, fatty: false },
];

/// Parameters of the tissue with label `t`.
pub fn params(t: Tissue) -> TissueParams {
    TISSUES[t as usize]
}

/// An acquisition: sequence timing for the signal equation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Protocol {
    /// Repetition time, ms.
    pub tr: f64,
    /// Echo time, ms.
    pub te: f64,
    /// Inversion time, ms (`None`: spin echo).
    pub ti: Option<f64>,
    /// Remaining fraction of fat signal (1 = no suppression).
    pub fat_suppression: f64,
}

impl Protocol {
    /// T1-weighted spin echo (short TR, short TE).
    pub const T1W: Protocol = Protocol { tr: 500.0, te: 15.0, ti: None, fat_suppression: 1.0 };
    /// T2-weighted spin echo (long TR, long TE).
    pub const T2W: Protocol = Protocol { tr: 4000.0, te: 100.0, ti: None, fat_suppression: 1.0 };
    /// Proton-density spin echo (long TR, short TE).
    pub const PD: Protocol = Protocol { tr: 3000.0, te: 20.0, ti: None, fat_suppression: 1.0 };
    /// Fat-suppressed proton density.
    pub const PDFS: Protocol = Protocol { tr: 3000.0, te: 20.0, ti: None, fat_suppression: 0.08 };
    /// FLAIR: inversion recovery with TI near CSF's null point.
    pub const FLAIR: Protocol = Protocol { tr: 9000.0, te: 100.0, ti: Some(2600.0), fat_suppression: 1.0 };
    /// Contrast-enhanced T1w: T1w with a shortened tumour T1 (applied in [`signal`]).
    pub const T1CE: Protocol = Protocol { tr: 500.0, te: 15.0, ti: None, fat_suppression: 1.0 };

    /// The signal of a tissue under this protocol (before bias, phase and noise).
    pub fn signal(&self, p: &TissueParams) -> f64 {
        let e2 = (-self.te / p.t2).exp();
        let m = match self.ti {
            None => 1.0 - (-self.tr / p.t1).exp(),
            Some(ti) => (1.0 - 2.0 * (-ti / p.t1).exp() + (-self.tr / p.t1).exp()).abs(),
        };
        let fat = if p.fatty { self.fat_suppression } else { 1.0 };
        p.pd * m * e2 * fat
    }
}

/// Options shared by the phantoms.
#[derive(Clone, Debug, PartialEq)]
pub struct PhantomOptions {
    /// Peak-to-peak amplitude of the smooth multiplicative bias field (0 = none).
    pub bias: f64,
    /// Add a smooth phase (complex images); `false` gives real, non-negative images.
    pub phase: bool,
    /// Complex Gaussian noise, standard deviation relative to the image's maximum (0 = none).
    pub noise: f64,
    /// Brains only: add a tumour with oedema.
    pub lesion: bool,
    /// Contrasts and their sequence timings; `None` gives the defaults (brain: `t1`
    /// [`Protocol::T1W`], `t1ce`, `t2` [`Protocol::T2W`], `flair` [`Protocol::FLAIR`]; knee: `pd`
    /// [`Protocol::PD`], `pdfs` [`Protocol::PDFS`]). A contrast named `t1ce` gets the
    /// contrast-enhanced tumour T1.
    pub sequences: Option<Vec<(String, Protocol)>>,
}

impl Default for PhantomOptions {
    fn default() -> Self {
        PhantomOptions { bias: 0.2, phase: false, noise: 0.0, lesion: true, sequences: None }
    }
}

/// One phantom subject: labels and contrasts, each `[slices, H, W]`.
#[derive(Clone, Debug)]
pub struct Subject {
    /// Subject identifier, e.g. `Phantom_000`.
    pub id: String,
    /// Tissue labels as `u8` values of [`Tissue`].
    pub labels: Vec<u8>,
    /// Contrast name → magnitude volume (`t1`, `t1ce`, `t2`, `flair` or `pd`, `pdfs`).
    pub contrasts: BTreeMap<String, Volume>,
    /// Contrast name → phase volume in radians, when [`PhantomOptions::phase`] is set.
    pub phases: BTreeMap<String, Volume>,
}

/// Seeded per-subject geometry: a similarity transform and shape jitter.
struct Pose {
    scale_x: f64,
    scale_y: f64,
    shift_x: f64,
    shift_y: f64,
    angle: f64,
}

impl Pose {
    fn draw(rng: &mut NumpyRng) -> Pose {
        let mut u = |a: f64, b: f64| a + (b - a) * rng.random_sample();
        Pose {
            scale_x: u(0.9, 1.05),
            scale_y: u(0.9, 1.05),
            shift_x: u(-0.05, 0.05),
            shift_y: u(-0.05, 0.05),
            angle: u(-0.15, 0.15),
        }
    }

    /// Image coordinates in [-1, 1]² → subject coordinates.
    fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.shift_x, y - self.shift_y);
        let (s, c) = self.angle.sin_cos();
        ((c * dx + s * dy) / self.scale_x, (-s * dx + c * dy) / self.scale_y)
    }
}

fn ellipse(x: f64, y: f64, cx: f64, cy: f64, a: f64, b: f64) -> f64 {
    ((x - cx) / a).powi(2) + ((y - cy) / b).powi(2)
}

/// A smooth field on [-1, 1]²: a few low-frequency cosines with seeded phases.
struct SmoothField {
    terms: Vec<(f64, f64, f64, f64)>,
}

impl SmoothField {
    fn draw(rng: &mut NumpyRng, n: usize) -> SmoothField {
        let terms = (0..n)
            .map(|_| {
                let kx = 0.5 + rng.random_sample() * 1.5;
                let ky = 0.5 + rng.random_sample() * 1.5;
                let phase = rng.random_sample() * 2.0 * PI;
                let amp = 0.5 + rng.random_sample();
                (kx, ky, phase, amp)
            })
            .collect();
        SmoothField { terms }
    }

    /// A value in about [-1, 1].
    fn at(&self, x: f64, y: f64, z: f64) -> f64 {
        let total: f64 = self.terms.iter().map(|t| t.3).sum();
        self.terms.iter().map(|&(kx, ky, ph, a)| a * (kx * x + ky * y + 0.7 * z + ph).cos()).sum::<f64>() / total
    }
}

/// The brain label of one point (subject coordinates, `z` in [-1, 1] from inferior to superior).
struct BrainAnatomy {
    folds: Vec<(f64, f64, f64)>,
    ventricle: f64,
    lesion: Option<(f64, f64, f64, f64)>,
}

impl BrainAnatomy {
    fn draw(rng: &mut NumpyRng, lesion: bool) -> Self {
        let folds = (0..6)
            .map(|_| {
                (6.0 + (rng.random_sample() * 14.0).floor(), rng.random_sample() * 2.0 * PI, 0.6 + rng.random_sample())
            })
            .collect();
        let ventricle = 0.85 + 0.35 * rng.random_sample();
        let lesion = lesion.then(|| {
            let ang = rng.random_sample() * 2.0 * PI;
            let r = 0.2 + 0.25 * rng.random_sample();
            (r * ang.cos(), r * ang.sin() * 0.9, 0.08 + 0.07 * rng.random_sample(), rng.random_sample() - 0.5)
        });
        BrainAnatomy { folds, ventricle, lesion }
    }

    fn label(&self, x: f64, y: f64, z: f64) -> Tissue {
        // The head shrinks towards the top and bottom of the volume.
        let zs = (1.0 - 0.55 * z * z).max(0.05).sqrt();
        let head = ellipse(x, y, 0.0, 0.0, 0.78 * zs, 0.92 * zs);
        if head > 1.0 {
            return Tissue::Background;
        }
        let (r, theta) = ((x / 0.78).hypot(y / 0.92) / zs, (y / 0.92).atan2(x / 0.78));
        if r > 0.94 {
            return Tissue::Fat;
        }
        if r > 0.88 {
            return Tissue::Bone;
        }
        // Folded cortex: a slow wave moves the brain surface; a fast gyral wave `g` (seeded
        // harmonics, 14–34 gyri around the head) cuts CSF-filled sulci into the grey matter and
        // pushes white-matter fingers into the gyri.
        let slow: f64 =
            self.folds[..2].iter().map(|&(k, ph, a)| a * ((k / 4.0).floor() * theta + ph + z).sin()).sum::<f64>()
                / self.folds[..2].iter().map(|f| f.2).sum::<f64>();
        let g: f64 =
            self.folds[2..].iter().map(|&(k, ph, a)| a * ((k + 14.0) * theta + ph + 3.0 * z).sin()).sum::<f64>()
                / self.folds[2..].iter().map(|f| f.2).sum::<f64>();
        let surface = 0.85 + 0.02 * slow;
        if r > surface {
            return Tissue::Csf;
        }
        if g > 0.45 && r > surface - 0.1 * (g - 0.45) / 0.55 - 0.02 {
            return Tissue::Csf;
        }
        if let Some((lx, ly, lr, lz)) = self.lesion {
            let d = (ellipse(x, y, lx, ly, lr, lr * 1.2) + ((z - lz) / 0.35).powi(2)).sqrt();
            if d < 0.45 {
                return Tissue::Necrosis;
            }
            if d < 1.0 {
                return Tissue::Tumour;
            }
            if d < 1.9 {
                return Tissue::Oedema;
            }
        }
        let gm_depth = 0.1 + 0.05 * g;
        if r > surface - gm_depth {
            return Tissue::GreyMatter;
        }
        // Lateral ventricles (a butterfly pair), present in the middle slices.
        let vz = (1.0 - (z / 0.6).powi(2)).max(0.0) * self.ventricle;
        if vz > 0.0 {
            for side in [-1.0, 1.0] {
                if ellipse(x, y, side * 0.1, -0.05, 0.07 * vz, 0.28 * vz) < 1.0 {
                    return Tissue::Csf;
                }
            }
            // Deep grey nuclei beside the ventricles.
            for side in [-1.0, 1.0] {
                if ellipse(x, y, side * 0.27, 0.05, 0.09 * vz.sqrt(), 0.14 * vz.sqrt()) < 1.0 {
                    return Tissue::DeepGrey;
                }
            }
        }
        Tissue::WhiteMatter
    }
}

fn knee_label(x: f64, y: f64, gap: f64) -> Tissue {
    // Sagittal-ish knee: femur above, tibia below, joint line at y = 0.
    let outer = ellipse(x, y, 0.0, 0.0, 0.72, 1.05);
    if outer > 1.0 {
        return Tissue::Background;
    }
    if outer > 0.8 {
        return Tissue::Fat;
    }
    let femur = ellipse(x, y, 0.0, -0.55 - gap, 0.42, 0.55);
    let tibia = ellipse(x, y, 0.0, 0.55 + gap, 0.4, 0.52);
    for bone in [femur, tibia] {
        if bone < 0.8 {
            return Tissue::Marrow;
        }
        if bone < 1.0 {
            return Tissue::Bone;
        }
    }
    let femur_cart = ellipse(x, y, 0.0, -0.55 - gap, 0.46, 0.6);
    let tibia_cart = ellipse(x, y, 0.0, 0.55 + gap, 0.44, 0.57);
    if (femur_cart < 1.0 && y > -0.3) || (tibia_cart < 1.0 && y < 0.3) {
        return Tissue::Cartilage;
    }
    if y.abs() < 0.08 + gap && x.abs() < 0.5 {
        return Tissue::Fluid;
    }
    if ellipse(x, y, 0.0, -0.1, 0.12, 0.35) < 1.0 && x < 0.0 {
        return Tissue::Fluid; // suprapatellar effusion
    }
    Tissue::Muscle
}

fn render(
    id: String,
    labels: Vec<u8>,
    slices: usize,
    size: usize,
    defaults: &[(&str, Protocol)],
    rng: &mut NumpyRng,
    opts: &PhantomOptions,
) -> Subject {
    let contrasts: Vec<(String, Protocol)> = match &opts.sequences {
        Some(list) => list.clone(),
        None => defaults.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
    };
    let bias = SmoothField::draw(rng, 3);
    let phase = SmoothField::draw(rng, 3);
    let noise_seed = rng.next_u32();
    let n = size * size;
    let coord = |i: usize| (2.0 * i as f64 + 1.0) / size as f64 - 1.0;
    let zc = |k: usize| if slices > 1 { 2.0 * k as f64 / (slices - 1) as f64 - 1.0 } else { 0.0 };
    let mut out = BTreeMap::new();
    let mut phases = BTreeMap::new();
    for (ci, (name, proto)) in contrasts.iter().enumerate() {
        let table: Vec<f64> = TISSUES
            .iter()
            .map(|p| {
                let mut p = *p;
                if name == "t1ce" && matches!(p.tissue, Tissue::Tumour) {
                    p.t1 = 400.0; // gadolinium shortens the enhancing tumour's T1
                }
                proto.signal(&p)
            })
            .collect();
        let mut mag = vec![0f32; slices * n];
        let mut ph = vec![0f32; slices * n];
        for k in 0..slices {
            for r in 0..size {
                for c in 0..size {
                    let i = k * n + r * size + c;
                    let (x, y) = (coord(c), coord(r));
                    let b = 1.0 + 0.5 * opts.bias * bias.at(x, y, zc(k));
                    mag[i] = (table[labels[i] as usize] * b) as f32;
                    if opts.phase {
                        ph[i] = (PI * 0.6 * phase.at(x, y, zc(k))) as f32;
                    }
                }
            }
        }
        if opts.noise > 0.0 {
            let peak = mag.iter().cloned().fold(0.0f32, f32::max) as f64;
            let mut nrng = NumpyRng::new(&Seed::Array(vec![noise_seed, ci as u32]));
            let sigma = opts.noise * peak;
            for (m, p) in mag.iter_mut().zip(ph.iter_mut()) {
                let (re, im) = ((*m as f64) * (*p as f64).cos(), (*m as f64) * (*p as f64).sin());
                let (re, im) = (re + sigma * nrng.standard_normal(), im + sigma * nrng.standard_normal());
                *m = re.hypot(im) as f32;
                if opts.phase {
                    *p = im.atan2(re) as f32;
                }
            }
        }
        out.insert(name.clone(), Volume::new(slices, size, size, mag.into_iter().map(f64::from).collect()));
        if opts.phase {
            phases.insert(name.clone(), Volume::new(slices, size, size, ph.into_iter().map(f64::from).collect()));
        }
    }
    Subject { id, labels, contrasts: out, phases }
}

/// Brain subject `index` (seeded by `(seed, index)`) of `size × size × slices`, with the
/// contrasts `t1`, `t1ce`, `t2` and `flair`.
pub fn brain_with_seed(seed: u32, index: usize, size: usize, slices: usize, opts: &PhantomOptions) -> Subject {
    let mut rng = NumpyRng::new(&Seed::Array(vec![seed, index as u32, 0x6272]));
    let pose = Pose::draw(&mut rng);
    let anatomy = BrainAnatomy::draw(&mut rng, opts.lesion);
    let n = size * size;
    let coord = |i: usize| (2.0 * i as f64 + 1.0) / size as f64 - 1.0;
    // Slices span the middle 70% of the head, where the brain is.
    let zc = |k: usize| if slices > 1 { 0.7 * (2.0 * k as f64 / (slices - 1) as f64 - 1.0) } else { 0.0 };
    let mut labels = vec![0u8; slices * n];
    for k in 0..slices {
        for r in 0..size {
            for c in 0..size {
                let (x, y) = pose.map(coord(c), coord(r));
                labels[k * n + r * size + c] = anatomy.label(x, y, zc(k)) as u8;
            }
        }
    }
    let contrasts =
        [("t1", Protocol::T1W), ("t1ce", Protocol::T1CE), ("t2", Protocol::T2W), ("flair", Protocol::FLAIR)];
    render(format!("Phantom_{index:03}"), labels, slices, size, &contrasts, &mut rng, opts)
}

/// Brain subject `index` with seed 0.
pub fn brain(index: usize, size: usize, slices: usize, opts: &PhantomOptions) -> Subject {
    brain_with_seed(0, index, size, slices, opts)
}

/// Knee subject `index` (seeded by `(seed, index)`), contrasts `pd` and `pdfs`.
pub fn knee_with_seed(seed: u32, index: usize, size: usize, slices: usize, opts: &PhantomOptions) -> Subject {
    let mut rng = NumpyRng::new(&Seed::Array(vec![seed, index as u32, 0x6b6e]));
    let pose = Pose::draw(&mut rng);
    let gap = 0.02 + 0.03 * rng.random_sample();
    let n = size * size;
    let coord = |i: usize| (2.0 * i as f64 + 1.0) / size as f64 - 1.0;
    let mut labels = vec![0u8; slices * n];
    for k in 0..slices {
        // Slices move across the knee: the bones narrow away from the centre slice.
        let zc = if slices > 1 { 2.0 * k as f64 / (slices - 1) as f64 - 1.0 } else { 0.0 };
        let squeeze = (1.0 - 0.35 * zc * zc).sqrt();
        for r in 0..size {
            for c in 0..size {
                let (x, y) = pose.map(coord(c), coord(r));
                labels[k * n + r * size + c] = knee_label(x / squeeze, y, gap) as u8;
            }
        }
    }
    let contrasts = [("pd", Protocol::PD), ("pdfs", Protocol::PDFS)];
    let mut opts = opts.clone();
    opts.lesion = false;
    render(format!("Knee_{index:03}"), labels, slices, size, &contrasts, &mut rng, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_signal(s: &Subject, contrast: &str, tissue: Tissue) -> f64 {
        let v = &s.contrasts[contrast];
        let (sum, n) = v
            .data
            .iter()
            .zip(&s.labels)
            .filter(|(_, &l)| l == tissue as u8)
            .fold((0.0, 0usize), |(a, n), (&x, _)| (a + x, n + 1));
        assert!(n > 0, "{tissue:?} absent from {}", s.id);
        sum / n as f64
    }

    #[test]
    fn brain_contrasts_have_the_expected_tissue_ordering() {
        for index in 0..3 {
            let s = brain(index, 96, 5, &PhantomOptions { bias: 0.0, ..Default::default() });
            let m = |c, t| mean_signal(&s, c, t);
            use Tissue::*;
            assert!(m("t1", WhiteMatter) > m("t1", GreyMatter) && m("t1", GreyMatter) > m("t1", Csf), "T1w order");
            assert!(m("t2", Csf) > m("t2", GreyMatter) && m("t2", GreyMatter) > m("t2", WhiteMatter), "T2w order");
            assert!(m("flair", Csf) < m("flair", WhiteMatter), "FLAIR suppresses CSF");
            assert!(m("flair", Oedema) > m("flair", WhiteMatter), "oedema is bright on FLAIR");
            assert!(m("t1ce", Tumour) > m("t1", Tumour), "contrast enhancement");
        }
    }

    #[test]
    fn knee_fat_suppression_darkens_fat_and_keeps_fluid() {
        let s = knee_with_seed(0, 0, 96, 3, &PhantomOptions { bias: 0.0, ..Default::default() });
        let m = |c, t| mean_signal(&s, c, t);
        use Tissue::*;
        assert!(m("pd", Fat) > m("pd", Muscle));
        assert!(m("pdfs", Fat) < m("pdfs", Muscle));
        assert!(m("pdfs", Fluid) > m("pdfs", Cartilage) && m("pdfs", Cartilage) > m("pdfs", Fat));
    }

    #[test]
    fn sequence_timings_are_configurable() {
        // A longer TE darkens short-T2 white matter relative to CSF.
        let mk = |te: f64| {
            let seq = Protocol { tr: 4000.0, te, ti: None, fat_suppression: 1.0 };
            let o = PhantomOptions { bias: 0.0, sequences: Some(vec![("t2x".into(), seq)]), ..Default::default() };
            let s = brain(0, 64, 3, &o);
            mean_signal(&s, "t2x", Tissue::WhiteMatter) / mean_signal(&s, "t2x", Tissue::Csf)
        };
        assert!(mk(150.0) < mk(60.0));
    }

    #[test]
    fn subjects_are_deterministic_and_differ_from_each_other() {
        let o = PhantomOptions { noise: 0.01, phase: true, ..Default::default() };
        let a = brain(1, 48, 3, &o);
        let b = brain(1, 48, 3, &o);
        let c = brain(2, 48, 3, &o);
        assert_eq!(a.contrasts["t2"], b.contrasts["t2"]);
        assert_eq!(a.phases["t2"], b.phases["t2"]);
        assert_ne!(a.labels, c.labels);
    }
}

/// Which phantom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Brain,
    Knee,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind, String> {
        match s {
            "brain" => Ok(Kind::Brain),
            "knee" => Ok(Kind::Knee),
            other => Err(format!("unknown phantom kind `{other}` (expected `brain` or `knee`)")),
        }
    }
}

/// Subject `index` of a phantom dataset.
pub fn subject(kind: Kind, seed: u32, index: usize, size: usize, slices: usize, opts: &PhantomOptions) -> Subject {
    match kind {
        Kind::Brain => brain_with_seed(seed, index, size, slices, opts),
        Kind::Knee => knee_with_seed(seed, index, size, slices, opts),
    }
}

/// Writes a phantom dataset as NIfTI: brains in the BraTS layout (`<id>/<id>_t1.nii.gz`, `_t1ce`,
/// `_t2`, `_flair`), knees in the kit's knee layout (`<id>/<id>_pd.nii.gz`, `_pdfs`); each
/// subject also gets `<id>_labels.nii.gz` (tissue labels, see [`Tissue`]), `preview/` holds a PNG
/// of each contrast's middle slice and `phantom.json` records how the data were made.
/// Returns the subject ids.
pub fn write_dataset(
    out: &std::path::Path,
    kind: Kind,
    subjects: usize,
    size: usize,
    slices: usize,
    seed: u32,
    opts: &PhantomOptions,
) -> Result<Vec<String>, crate::io::IoError> {
    use crate::io::{png, volume::write_nifti, write_atomic};
    let mut ids = Vec::new();
    for index in 0..subjects {
        let s = subject(kind, seed, index, size, slices, opts);
        let dir = out.join(&s.id);
        for (c, v) in &s.contrasts {
            write_nifti(&dir.join(format!("{}_{c}.nii.gz", s.id)), v)?;
            let mid = v.slices / 2;
            let slice = v.slice(mid);
            let peak = slice.iter().cloned().fold(0.0, f64::max);
            png::write_scaled(&out.join("preview").join(format!("{}_{c}.png", s.id)), size, size, slice, 0.0, peak)?;
        }
        let labels = Volume::new(slices, size, size, s.labels.iter().map(|&l| l as f64).collect());
        write_nifti(&dir.join(format!("{}_labels.nii.gz", s.id)), &labels)?;
        ids.push(s.id);
    }
    let manifest = serde_json::json!({
        "generator": "mcmr data phantom",
        "kit_version": env!("CARGO_PKG_VERSION"),
        "kind": match kind { Kind::Brain => "brain", Kind::Knee => "knee" },
        "layout": match kind { Kind::Brain => "brats", Kind::Knee => "knee" },
        "subjects": ids, "size": size, "slices": slices, "seed": seed,
        "options": {"bias": opts.bias, "phase": opts.phase, "noise": opts.noise, "lesion": opts.lesion},
        "orientation": "NIfTI (x, y, z) = (image row, image column, slice)",
        "tissues": TISSUES.iter().map(|t| serde_json::json!({
            "label": t.tissue as u8, "name": format!("{:?}", t.tissue), "t1_ms": t.t1, "t2_ms": t.t2, "pd": t.pd
        })).collect::<Vec<_>>(),
    });
    write_atomic(&out.join("phantom.json"), serde_json::to_string_pretty(&manifest).unwrap().as_bytes())?;
    Ok(ids)
}
