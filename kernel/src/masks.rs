//! Undersampling masks. Every mask takes an explicit seed and reports what it achieved.
//!
//! **1D Cartesian masks** select k-space *columns* (the last image axis, W, the phase-encoding
//! direction in fastMRI's layout) and are constant along rows. The fastMRI families are bit-exact
//! with `fastmri/data/subsample.py` for the same seed (numpy `RandomState` semantics, see
//! [`crate::rng`]; Python's round-half-to-even for `round(W·cf)`):
//!
//! | family | columns kept |
//! |---|---|
//! | `random` | centre block of `round(W·cf)` lines, plus each column with probability `(W/A − n_c)/(W − n_c)` (one uniform draw per column, all W drawn) |
//! | `equispaced` | centre block plus every `A`-th column from an offset `randint(0, round(A))` (more lines than `W/A`) |
//! | `equispaced_fraction` | centre block plus `around(arange(off, W−1, A'))`, `A' = A(n_c − W)/(n_c·A − W)`, so the total is ≈ `W/A` (the old fastMRI "equispaced", used by FSMNet at 8×) |
//! | `magic` | centre block plus Defazio's offset pattern (conjugate-symmetric sampling) with stride `A` |
//! | `magic_fraction` | `magic` with the stride adjusted so the total is `round(W/A)` |
//! | `unifs_equispace` | UniFS's variant: `floor(arange(off, W, A'))` instead of `around(arange(off, W−1, A'))` |
//! | `gaussian_1d` | centre block plus columns drawn independently with a Gaussian density in the distance from the centre, scaled so the expected total is `W/A` |
//!
//! The centre block is columns `[p, p + n_c)` with `n_c = round(W·cf)`, `p = (W − n_c + 1)/2`.
//! FSMNet's masks are `random` (cf 0.1, 4×, seed 1337) and `equispaced_fraction` (cf 0.04, 8×,
//! seed 1337), one mask for all slices. UniFS's `random` is fastMRI's `random`.
//!
//! **2D masks** select individual k-space points:
//!
//! | family | points kept |
//! |---|---|
//! | `center_square` | UniFS's low-resolution mask: a centred block of `⌊H·f⌋×⌊W·f⌋` points, `f = cf` or `1/A` (so "x4" keeps 1/16 of k-space) |
//! | `random_2d` | a centred block holding a fraction `cf` of the points, plus every other point with probability chosen so the expected total is `HW/A` |
//! | `gaussian_2d` | the same centre block, plus points drawn with a 2D Gaussian density (IGKR: 16% of points in the centre) |
//! | `radial` | spokes through the centre at equal angles (random rotation from the seed), rasterised on the grid; the smallest number of spokes reaching `HW/A` points |
//! | `spiral` | an Archimedean spiral (random rotation from the seed) rasterised on the grid; its pitch chosen so the count is closest to `HW/A` |
//! | `poisson_disc` | SigPy's variable-density Poisson-disc algorithm: radii grow linearly with the distance from the centre, the slope found by bisection until the acceleration is within 0.1 of `A`; corners outside the inscribed ellipse cropped |
//!
//! ```
//! use mcmr::masks::{generate, MaskFamily, MaskParams};
//! use mcmr::rng::Seed;
//! let p = MaskParams::new(MaskFamily::Random, [320, 320], 4.0).center_fraction(0.08).seed(Seed::Int(0));
//! let m = generate(&p).unwrap();
//! assert_eq!(m.num_low_frequencies, Some(26));
//! assert!(m.achieved_acceleration() > 2.5 && m.achieved_acceleration() < 6.0);
//! ```

use crate::rng::{NumpyRng, Seed};
use std::f64::consts::PI;

/// The mask families the kit knows. Names are the CLI/spec names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaskFamily {
    Random,
    Equispaced,
    EquispacedFraction,
    Magic,
    MagicFraction,
    UnifsEquispace,
    Gaussian1d,
    CenterSquare,
    Random2d,
    Gaussian2d,
    Radial,
    Spiral,
    PoissonDisc,
}

impl MaskFamily {
    /// Every family, in documentation order.
    pub const ALL: [MaskFamily; 13] = [
        MaskFamily::Random,
        MaskFamily::Equispaced,
        MaskFamily::EquispacedFraction,
        MaskFamily::Magic,
        MaskFamily::MagicFraction,
        MaskFamily::UnifsEquispace,
        MaskFamily::Gaussian1d,
        MaskFamily::CenterSquare,
        MaskFamily::Random2d,
        MaskFamily::Gaussian2d,
        MaskFamily::Radial,
        MaskFamily::Spiral,
        MaskFamily::PoissonDisc,
    ];

    /// The family's name in the CLI and in specs.
    pub fn name(self) -> &'static str {
        match self {
            MaskFamily::Random => "random",
            MaskFamily::Equispaced => "equispaced",
            MaskFamily::EquispacedFraction => "equispaced_fraction",
            MaskFamily::Magic => "magic",
            MaskFamily::MagicFraction => "magic_fraction",
            MaskFamily::UnifsEquispace => "unifs_equispace",
            MaskFamily::Gaussian1d => "gaussian_1d",
            MaskFamily::CenterSquare => "center_square",
            MaskFamily::Random2d => "random_2d",
            MaskFamily::Gaussian2d => "gaussian_2d",
            MaskFamily::Radial => "radial",
            MaskFamily::Spiral => "spiral",
            MaskFamily::PoissonDisc => "poisson_disc",
        }
    }

    /// Parses a family name; the error lists the known names and suggests the closest one.
    pub fn parse(name: &str) -> Result<MaskFamily, MaskError> {
        let norm = name.trim().to_ascii_lowercase().replace('-', "_");
        MaskFamily::ALL.iter().copied().find(|f| f.name() == norm).ok_or_else(|| {
            let suggestion = mcmr_dsl::diag::suggest(&norm, MaskFamily::ALL.iter().map(|f| f.name()))
                .map(|n| format!(" — did you mean `{n}`?"))
                .unwrap_or_default();
            let known: Vec<&str> = MaskFamily::ALL.iter().map(|f| f.name()).collect();
            MaskError::Param {
                param: "family",
                message: format!("unknown mask family `{name}`{suggestion} (known: {})", known.join(", ")),
            }
        })
    }

    /// Whether the family selects whole columns (1D Cartesian).
    pub fn is_1d(self) -> bool {
        matches!(
            self,
            MaskFamily::Random
                | MaskFamily::Equispaced
                | MaskFamily::EquispacedFraction
                | MaskFamily::Magic
                | MaskFamily::MagicFraction
                | MaskFamily::UnifsEquispace
                | MaskFamily::Gaussian1d
        )
    }

    fn uses_center_fraction(self) -> bool {
        !matches!(self, MaskFamily::Radial | MaskFamily::Spiral)
    }
}

/// A mask that could not be made; names the parameter and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MaskError {
    /// A parameter is out of range or inconsistent with the others.
    #[error("invalid mask parameter `{param}`: {message}")]
    Param { param: &'static str, message: String },
}

fn param_err(param: &'static str, message: impl Into<String>) -> MaskError {
    MaskError::Param { param, message: message.into() }
}

/// Everything that defines a mask.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskParams {
    /// Which pattern.
    pub family: MaskFamily,
    /// `[H, W]` of the k-space grid.
    pub shape: [usize; 2],
    /// Target acceleration `A` (> 1).
    pub acceleration: f64,
    /// Fraction of fully sampled centre lines (1D) or points (2D); `None` picks the family's
    /// default (fastMRI's pairs: 0.08 below 8×, 0.04 from 8×; 2D: IGKR's 0.16 up to 5×, then
    /// `0.8/A`; the Poisson disc: no calibration region; `center_square`: crop factor `1/A`).
    pub center_fraction: Option<f64>,
    /// Seed of the draws.
    pub seed: Seed,
}

impl MaskParams {
    /// Parameters with the default centre fraction and seed 0.
    pub fn new(family: MaskFamily, shape: [usize; 2], acceleration: f64) -> Self {
        MaskParams { family, shape, acceleration, center_fraction: None, seed: Seed::Int(0) }
    }
    /// Sets the centre fraction.
    pub fn center_fraction(mut self, cf: f64) -> Self {
        self.center_fraction = Some(cf);
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// The centre fraction this mask uses.
    pub fn effective_center_fraction(&self) -> Option<f64> {
        if !self.family.uses_center_fraction() {
            return None;
        }
        Some(self.center_fraction.unwrap_or(match self.family {
            f if f.is_1d() => {
                if self.acceleration < 8.0 {
                    0.08
                } else {
                    0.04
                }
            }
            MaskFamily::CenterSquare => 1.0 / self.acceleration,
            MaskFamily::PoissonDisc => 0.0,
            // IGKR's 16% centre at 20% sampling (5x), scaled down for higher accelerations.
            _ => (0.8 / self.acceleration).min(0.16),
        }))
    }
}

/// A sampling mask on an `H×W` grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    /// The family that made it.
    pub family: MaskFamily,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// 1 where k-space is sampled, row-major.
    pub data: Vec<u8>,
    /// For 1D families: the sampled columns, ascending.
    pub sampled_columns: Option<Vec<usize>>,
    /// For 1D families: the size of the fully sampled centre block.
    pub num_low_frequencies: Option<usize>,
}

impl Mask {
    fn from_columns(family: MaskFamily, h: usize, cols: &[bool], num_low: usize) -> Mask {
        let w = cols.len();
        let mut data = vec![0u8; h * w];
        for r in 0..h {
            for (c, &on) in cols.iter().enumerate() {
                data[r * w + c] = on as u8;
            }
        }
        let sampled: Vec<usize> = cols.iter().enumerate().filter(|(_, &on)| on).map(|(i, _)| i).collect();
        Mask { family, height: h, width: w, data, sampled_columns: Some(sampled), num_low_frequencies: Some(num_low) }
    }

    fn from_points(family: MaskFamily, h: usize, w: usize, data: Vec<u8>) -> Mask {
        Mask { family, height: h, width: w, data, sampled_columns: None, num_low_frequencies: None }
    }

    /// Number of sampled points.
    pub fn sampled_count(&self) -> usize {
        self.data.iter().map(|&v| v as usize).sum()
    }

    /// Fraction of k-space sampled.
    pub fn sampled_fraction(&self) -> f64 {
        self.sampled_count() as f64 / (self.height * self.width) as f64
    }

    /// Achieved acceleration: all points over sampled points.
    pub fn achieved_acceleration(&self) -> f64 {
        (self.height * self.width) as f64 / self.sampled_count().max(1) as f64
    }

    /// A stable 64-bit FNV-1a hash of the shape and the pattern, as hex (for manifests).
    pub fn hash_hex(&self) -> String {
        let mut h = crate::io::FNV_OFFSET;
        for v in [self.height as u64, self.width as u64] {
            h = crate::io::fnv1a(h, &v.to_le_bytes());
        }
        format!("{:016x}", crate::io::fnv1a(h, &self.data))
    }

    /// The mask as 8-bit pixels (sampled = 255).
    pub fn to_pixels(&self) -> Vec<u8> {
        self.data.iter().map(|&v| v * 255).collect()
    }
}

/// Makes the mask described by `p`.
pub fn generate(p: &MaskParams) -> Result<Mask, MaskError> {
    let [h, w] = p.shape;
    let acc = p.acceleration;
    if !acc.is_finite() || acc <= 1.0 {
        return Err(param_err("acceleration", format!("must be a number greater than 1, got {acc}")));
    }
    if let Some(cf) = p.center_fraction {
        if !p.family.uses_center_fraction() {
            return Err(param_err(
                "center_fraction",
                format!("the `{}` family has no fully sampled centre", p.family.name()),
            ));
        }
        if !(cf > 0.0 && cf < 1.0) {
            return Err(param_err("center_fraction", format!("must lie in (0, 1), got {cf}")));
        }
    }
    let min = if p.family.is_1d() { [1, 2] } else { [4, 4] };
    if h < min[0] || w < min[1] {
        return Err(param_err(
            "shape",
            format!("{h}x{w} is too small for `{}` (at least {}x{})", p.family.name(), min[0], min[1]),
        ));
    }
    let cf = p.effective_center_fraction();
    let mut rng = NumpyRng::new(&p.seed);
    if p.family.is_1d() {
        let kind = match p.family {
            MaskFamily::Random => FastMriKind::Random,
            MaskFamily::Equispaced => FastMriKind::Equispaced,
            MaskFamily::EquispacedFraction => FastMriKind::EquispacedFraction,
            MaskFamily::Magic => FastMriKind::Magic,
            MaskFamily::MagicFraction => FastMriKind::MagicFraction,
            MaskFamily::UnifsEquispace => FastMriKind::UnifsEquispace,
            _ => {
                let cf = cf.expect("1D families have a centre fraction");
                let (cols, n_low) = gaussian_columns(w, cf, acc, &mut rng)?;
                return Ok(Mask::from_columns(p.family, h, &cols, n_low));
            }
        };
        let func = FastMriMaskFunc::new(kind, vec![cf.expect("1D families have a centre fraction")], vec![acc]);
        let (cols, n_low) = func.sample(w, &mut rng)?;
        return Ok(Mask::from_columns(p.family, h, &cols, n_low));
    }
    let data = match p.family {
        MaskFamily::CenterSquare => center_square(h, w, cf.unwrap())?,
        MaskFamily::Random2d => variable_density_2d(h, w, cf.unwrap(), acc, None, &mut rng)?,
        MaskFamily::Gaussian2d => variable_density_2d(h, w, cf.unwrap(), acc, Some(0.3), &mut rng)?,
        MaskFamily::Radial => radial(h, w, acc, &mut rng)?,
        MaskFamily::Spiral => spiral(h, w, acc, &mut rng)?,
        MaskFamily::PoissonDisc => poisson_disc(h, w, acc, cf.unwrap(), &mut rng)?,
        _ => unreachable!("1D families handled above"),
    };
    Ok(Mask::from_points(p.family, h, w, data))
}

// ---------------------------------------------------------------------------------------------
// fastMRI column masks

/// Which fastMRI-style column sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastMriKind {
    Random,
    Equispaced,
    EquispacedFraction,
    Magic,
    MagicFraction,
    UnifsEquispace,
}

/// fastMRI's `MaskFunc`: lists of centre fractions and accelerations, one pair drawn per call.
#[derive(Clone, Debug, PartialEq)]
pub struct FastMriMaskFunc {
    pub kind: FastMriKind,
    pub center_fractions: Vec<f64>,
    pub accelerations: Vec<f64>,
    /// Draw the centre fraction and the acceleration independently (fastMRI's
    /// `allow_any_combination`) instead of drawing one index for both lists.
    pub allow_any_combination: bool,
}

/// Python's `round()` (half to even) to an integer.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// numpy `arange(start, stop, step)` for floats, value for value: the length is
/// `ceil((stop − start)/step)` and element `i` is `start + i·((start + step) − start)`.
fn np_arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let len = ((stop - start) / step).ceil();
    if len <= 0.0 || !len.is_finite() {
        return Vec::new();
    }
    let len = len as usize;
    let delta = (start + step) - start;
    (0..len)
        .map(|i| match i {
            0 => start,
            1 => start + step,
            _ => start + i as f64 * delta,
        })
        .collect()
}

impl FastMriMaskFunc {
    /// One centre fraction and one acceleration.
    pub fn new(kind: FastMriKind, center_fractions: Vec<f64>, accelerations: Vec<f64>) -> Self {
        FastMriMaskFunc { kind, center_fractions, accelerations, allow_any_combination: false }
    }

    fn choose(&self, rng: &mut NumpyRng) -> (f64, f64) {
        if self.allow_any_combination {
            let cf = self.center_fractions[rng.randint(self.center_fractions.len() as u64) as usize];
            let acc = self.accelerations[rng.randint(self.accelerations.len() as u64) as usize];
            (cf, acc)
        } else {
            let i = rng.randint(self.center_fractions.len() as u64) as usize;
            (self.center_fractions[i], self.accelerations[i])
        }
    }

    /// Samples the columns of a `num_cols`-wide k-space in fastMRI's draw order; returns the
    /// column mask and the number of low frequencies.
    pub fn sample(&self, num_cols: usize, rng: &mut NumpyRng) -> Result<(Vec<bool>, usize), MaskError> {
        if self.center_fractions.is_empty() || self.accelerations.is_empty() {
            return Err(param_err("center_fraction", "needs at least one centre fraction and one acceleration"));
        }
        if !self.allow_any_combination && self.center_fractions.len() != self.accelerations.len() {
            return Err(param_err(
                "center_fraction",
                format!(
                    "{} centre fractions but {} accelerations: give one centre fraction per acceleration",
                    self.center_fractions.len(),
                    self.accelerations.len()
                ),
            ));
        }
        let (cf, acc) = self.choose(rng);
        let w = num_cols;
        let wf = w as f64;
        let mut n_low = py_round(wf * cf).max(0) as usize;
        let mut accel_cols = vec![false; w];
        let too_many_centre = |n_low: usize| {
            param_err(
                "center_fraction",
                format!(
                    "{cf} of {w} columns gives {n_low} centre lines, but {acc}x allows only {:.2} lines in all: \
                     lower the centre fraction or the acceleration",
                    wf / acc
                ),
            )
        };
        let integer_acc = |name: &str| -> Result<usize, MaskError> {
            if acc.fract() != 0.0 {
                return Err(param_err("acceleration", format!("`{name}` needs an integer acceleration, got {acc}")));
            }
            Ok(acc as usize)
        };
        match self.kind {
            FastMriKind::Random => {
                if n_low as f64 >= wf / acc {
                    return Err(too_many_centre(n_low));
                }
                let prob = (wf / acc - n_low as f64) / (wf - n_low as f64);
                for (c, u) in accel_cols.iter_mut().zip(rng.uniform_vec(w)) {
                    *c = u < prob;
                }
            }
            FastMriKind::Equispaced => {
                let stride = integer_acc("equispaced")?;
                if n_low as f64 > wf / acc {
                    return Err(too_many_centre(n_low));
                }
                let offset = rng.randint(py_round(acc) as u64) as usize;
                for c in (offset..w).step_by(stride) {
                    accel_cols[c] = true;
                }
            }
            FastMriKind::EquispacedFraction | FastMriKind::UnifsEquispace => {
                if n_low as f64 >= wf / acc {
                    return Err(too_many_centre(n_low));
                }
                let nl = n_low as f64;
                let adjusted = (acc * (nl - wf)) / (nl * acc - wf);
                let offset = rng.randint(py_round(adjusted).max(1) as u64) as f64;
                if self.kind == FastMriKind::EquispacedFraction {
                    for v in np_arange(offset, wf - 1.0, adjusted) {
                        accel_cols[v.round_ties_even() as usize] = true;
                    }
                } else {
                    for v in np_arange(offset, wf, adjusted) {
                        accel_cols[(v.floor() as usize).min(w - 1)] = true;
                    }
                }
            }
            FastMriKind::Magic => {
                let stride = integer_acc("magic")?;
                if n_low as f64 > wf / acc {
                    return Err(too_many_centre(n_low));
                }
                let offset = rng.randint(stride as u64) as usize;
                accel_cols = magic_columns(w, stride, offset);
            }
            FastMriKind::MagicFraction => {
                let target = py_round(wf / acc).max(0) as usize;
                n_low = n_low.min(target).max(1);
                let adjusted_target = target.saturating_sub(n_low);
                if adjusted_target == 0 {
                    // fastMRI raises here from randint(0, 0) (its issue #344).
                    return Err(too_many_centre(n_low));
                }
                let adjusted_acc = py_round(wf / adjusted_target as f64).max(1) as usize;
                let offset = rng.randint(adjusted_acc as u64) as usize;
                accel_cols = magic_columns(w, adjusted_acc, offset);
            }
        }
        let pad = (w - n_low + 1) / 2;
        for c in accel_cols.iter_mut().skip(pad).take(n_low) {
            *c = true;
        }
        Ok((accel_cols, n_low))
    }
}

/// Defazio's offset ("magic") sampling: the positive and negative halves of k-space get
/// conjugate-symmetric strided patterns, concatenated then `fftshift`ed.
fn magic_columns(w: usize, stride: usize, offset: usize) -> Vec<bool> {
    let (pos_start, neg_start) = if offset % 2 == 0 { (offset + 1, offset + 2) } else { (offset + 2, offset - 1) };
    let poslen = w.div_ceil(2);
    let neglen = w - poslen;
    let mut pos = vec![false; poslen];
    let mut neg = vec![false; neglen];
    (pos_start..poslen).step_by(stride).for_each(|i| pos[i] = true);
    (neg_start..neglen).step_by(stride).for_each(|i| neg[i] = true);
    neg.reverse();
    let joined: Vec<bool> = pos.into_iter().chain(neg).collect();
    let shift = w / 2;
    (0..w).map(|i| joined[(i + w - shift) % w]).collect()
}

// ---------------------------------------------------------------------------------------------
// Variable density and non-Cartesian-on-grid masks

/// Solves `Σ min(1, c·g_i) = target` for `c ≥ 0` by bisection (`g_i > 0`).
fn scale_for_expected_count(g: &[f64], target: f64) -> f64 {
    let total = |c: f64| g.iter().map(|&v| (c * v).min(1.0)).sum::<f64>();
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while total(hi) < target && hi < 1e300 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if total(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn gaussian_columns(w: usize, cf: f64, acc: f64, rng: &mut NumpyRng) -> Result<(Vec<bool>, usize), MaskError> {
    let wf = w as f64;
    let n_low = py_round(wf * cf).max(0) as usize;
    if n_low as f64 >= wf / acc {
        return Err(param_err(
            "center_fraction",
            format!("{cf} of {w} columns gives {n_low} centre lines, but {acc}x allows only {:.2}", wf / acc),
        ));
    }
    let pad = (w - n_low + 1) / 2;
    let centre = |c: usize| c >= pad && c < pad + n_low;
    let half = wf / 2.0;
    let sigma = 0.3;
    let density: Vec<f64> = (0..w)
        .filter(|&c| !centre(c))
        .map(|c| (-((c as f64 - half) / half).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let scale = scale_for_expected_count(&density, wf / acc - n_low as f64);
    let mut cols = vec![false; w];
    let mut k = 0;
    for (c, col) in cols.iter_mut().enumerate() {
        // One uniform per column, in column order, so the draw is reproducible and local.
        let u = rng.random_sample();
        if centre(c) {
            *col = true;
        } else {
            *col = u < (scale * density[k]).min(1.0);
            k += 1;
        }
    }
    Ok((cols, n_low))
}

fn center_square(h: usize, w: usize, f: f64) -> Result<Vec<u8>, MaskError> {
    let (ch, cw) = ((h as f64 * f).floor() as usize, (w as f64 * f).floor() as usize);
    if ch == 0 || cw == 0 {
        return Err(param_err("center_fraction", format!("crop factor {f} keeps no point of a {h}x{w} grid")));
    }
    let (r0, c0) = ((h - ch) / 2, (w - cw) / 2);
    let mut data = vec![0u8; h * w];
    for r in r0..r0 + ch {
        for c in c0..c0 + cw {
            data[r * w + c] = 1;
        }
    }
    Ok(data)
}

/// Centre block holding a fraction `cf` of the points (a centred rectangle of
/// `round(H√cf)×round(W√cf)`), then the other points independently, uniformly
/// (`sigma = None`) or with a Gaussian density of the normalised radius, so that the expected
/// total is `HW/A`.
fn variable_density_2d(
    h: usize,
    w: usize,
    cf: f64,
    acc: f64,
    sigma: Option<f64>,
    rng: &mut NumpyRng,
) -> Result<Vec<u8>, MaskError> {
    let n = (h * w) as f64;
    let (ch, cw) = ((h as f64 * cf.sqrt()).round() as usize, (w as f64 * cf.sqrt()).round() as usize);
    if (ch * cw) as f64 >= n / acc {
        return Err(param_err(
            "center_fraction",
            format!("a centre of {ch}x{cw} points already exceeds the {:.0} points that {acc}x allows", n / acc),
        ));
    }
    let (r0, c0) = ((h - ch) / 2, (w - cw) / 2);
    let in_centre = |r: usize, c: usize| r >= r0 && r < r0 + ch && c >= c0 && c < c0 + cw;
    let (hy, hx) = (h as f64 / 2.0, w as f64 / 2.0);
    let mut density = Vec::with_capacity(h * w);
    for r in 0..h {
        for c in 0..w {
            if in_centre(r, c) {
                continue;
            }
            density.push(match sigma {
                None => 1.0,
                Some(s) => {
                    let (dy, dx) = ((r as f64 - hy) / hy, (c as f64 - hx) / hx);
                    (-(dy * dy + dx * dx) / (2.0 * s * s)).exp()
                }
            });
        }
    }
    let scale = scale_for_expected_count(&density, n / acc - (ch * cw) as f64);
    let mut data = vec![0u8; h * w];
    let mut k = 0;
    for r in 0..h {
        for c in 0..w {
            let u = rng.random_sample();
            if in_centre(r, c) {
                data[r * w + c] = 1;
            } else {
                data[r * w + c] = (u < (scale * density[k]).min(1.0)) as u8;
                k += 1;
            }
        }
    }
    Ok(data)
}

fn plot(data: &mut [u8], h: usize, w: usize, y: f64, x: f64) {
    let (r, c) = (y.round(), x.round());
    if r >= 0.0 && c >= 0.0 && (r as usize) < h && (c as usize) < w {
        data[r as usize * w + c as usize] = 1;
    }
}

fn count(data: &[u8]) -> usize {
    data.iter().map(|&v| v as usize).sum()
}

fn radial_with(h: usize, w: usize, spokes: usize, rotation: f64) -> Vec<u8> {
    let mut data = vec![0u8; h * w];
    let (cy, cx) = ((h / 2) as f64, (w / 2) as f64);
    let reach = ((h * h + w * w) as f64).sqrt() / 2.0 + 1.0;
    for s in 0..spokes {
        let theta = rotation + PI * s as f64 / spokes as f64;
        let (sn, cs) = theta.sin_cos();
        let mut t = -reach;
        while t <= reach {
            plot(&mut data, h, w, cy + t * sn, cx + t * cs);
            t += 0.25;
        }
    }
    data
}

/// Radial spokes: the smallest number of equally spaced spokes whose gridded points reach
/// `HW/A`; the seed rotates the pattern.
fn radial(h: usize, w: usize, acc: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let target = ((h * w) as f64 / acc).ceil() as usize;
    let rotation = rng.random_sample() * PI;
    let (mut lo, mut hi) = (1usize, 2usize);
    while count(&radial_with(h, w, hi, rotation)) < target {
        hi *= 2;
        if hi > 16 * (h + w) {
            return Err(param_err("acceleration", format!("radial spokes cannot reach {acc}x on a {h}x{w} grid")));
        }
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if count(&radial_with(h, w, mid, rotation)) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(radial_with(h, w, hi, rotation))
}

fn spiral_with(h: usize, w: usize, pitch: f64, rotation: f64) -> Vec<u8> {
    // Archimedean spiral r = pitch·θ/2π from the centre out to the corners, stepped at about a
    // quarter pixel of arc length.
    let mut data = vec![0u8; h * w];
    let (cy, cx) = ((h / 2) as f64, (w / 2) as f64);
    let reach = ((h * h + w * w) as f64).sqrt() / 2.0 + 1.0;
    let b = pitch / (2.0 * PI);
    let mut theta = 0.0f64;
    loop {
        let r = b * theta;
        if r > reach {
            break;
        }
        let (sn, cs) = (theta + rotation).sin_cos();
        plot(&mut data, h, w, cy + r * sn, cx + r * cs);
        theta += 0.25 / (r.max(b)).max(1e-3);
    }
    data
}

/// An Archimedean spiral whose pitch (pixels between turns) is chosen by bisection so that the
/// gridded point count is closest to `HW/A`; the seed rotates the pattern.
fn spiral(h: usize, w: usize, acc: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let target = (h * w) as f64 / acc;
    let rotation = rng.random_sample() * 2.0 * PI;
    let (mut lo, mut hi) = (1.0f64, (h.max(w)) as f64);
    if (count(&spiral_with(h, w, lo, rotation)) as f64) < target {
        return Err(param_err("acceleration", format!("a spiral cannot reach {acc}x on a {h}x{w} grid")));
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if count(&spiral_with(h, w, mid, rotation)) as f64 >= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(spiral_with(h, w, lo, rotation))
}

/// SigPy's variable-density Poisson-disc sampling (`sigpy.mri.poisson`), re-implemented:
/// Bridson's algorithm with per-point radii `(1 + s·r)·(n/max(H, W))` growing with the
/// normalised distance `r` from the centre (calibration region excluded), the slope `s` found
/// by bisection in `[0, max(H, W)]` until the acceleration is within `tol = 0.1` of the target
/// (at most 30 attempts per active point). The draws use this kit's numpy-compatible generator,
/// so the pattern follows SigPy's algorithm but is not bit-identical to SigPy's numba draws.
fn poisson_disc(h: usize, w: usize, acc: f64, cf: f64, rng: &mut NumpyRng) -> Result<Vec<u8>, MaskError> {
    let (ny, nx) = (h, w);
    let calib = [(ny as f64 * cf).round(), (nx as f64 * cf).round()];
    let norm_axis = |n: usize, cal: f64| -> Vec<f64> {
        let v: Vec<f64> = (0..n).map(|i| ((i as f64 - n as f64 / 2.0).abs() - cal / 2.0).max(0.0)).collect();
        let m = v.iter().cloned().fold(0.0, f64::max);
        v.into_iter().map(|x| if m > 0.0 { x / m } else { 0.0 }).collect()
    };
    let ys = norm_axis(ny, calib[0]);
    let xs = norm_axis(nx, calib[1]);
    let r: Vec<f64> = (0..ny * nx).map(|i| (ys[i / nx].powi(2) + xs[i % nx].powi(2)).sqrt()).collect();
    let nmax = nx.max(ny) as f64;
    let seed_state = rng.clone();
    let (mut slope_min, mut slope_max) = (0.0f64, nmax);
    let tol = 0.1;
    let mut best: Option<(f64, Vec<u8>)> = None;
    for _ in 0..64 {
        let slope = 0.5 * (slope_min + slope_max);
        let rx: Vec<f64> = r.iter().map(|&v| ((1.0 + v * slope) * nx as f64 / nmax).max(1.0)).collect();
        let ry: Vec<f64> = r.iter().map(|&v| ((1.0 + v * slope) * ny as f64 / nmax).max(1.0)).collect();
        // Same draws for every slope, as SigPy reseeds inside its sampler.
        let mut draw = seed_state.clone();
        let mut mask = bridson(nx, ny, 30, &rx, &ry, calib, &mut draw);
        for (m, &rv) in mask.iter_mut().zip(&r) {
            if rv >= 1.0 {
                *m = 0;
            }
        }
        let achieved = (nx * ny) as f64 / count(&mask).max(1) as f64;
        if best.as_ref().is_none_or(|(a, _)| (achieved - acc).abs() < (a - acc).abs()) {
            best = Some((achieved, mask));
        }
        if (achieved - acc).abs() < tol {
            break;
        }
        if achieved < acc {
            slope_min = slope;
        } else {
            slope_max = slope;
        }
        if slope_max - slope_min < 1e-9 {
            break;
        }
    }
    let (achieved, mask) = best.expect("at least one attempt");
    if (achieved - acc).abs() >= tol {
        return Err(param_err(
            "acceleration",
            format!("the Poisson disc cannot reach {acc}x within ±{tol} on a {h}x{w} grid (closest: {achieved:.3}x)"),
        ));
    }
    Ok(mask)
}

fn bridson(
    nx: usize,
    ny: usize,
    max_attempts: usize,
    rx: &[f64],
    ry: &[f64],
    calib: [f64; 2],
    rng: &mut NumpyRng,
) -> Vec<u8> {
    let mut mask = vec![0u8; nx * ny];
    let mut pxs = Vec::with_capacity(nx * ny);
    let mut pys = Vec::with_capacity(nx * ny);
    pxs.push(rng.randint(nx as u64) as i64);
    pys.push(rng.randint(ny as u64) as i64);
    while !pxs.is_empty() {
        let i = rng.randint(pxs.len() as u64) as usize;
        let (px, py) = (pxs[i], pys[i]);
        let (rxp, ryp) = (rx[py as usize * nx + px as usize], ry[py as usize * nx + px as usize]);
        let mut done = false;
        let (mut qx, mut qy) = (0.0, 0.0);
        let mut k = 0;
        while !done && k < max_attempts {
            let v = (rng.random_sample() * 3.0 + 1.0).sqrt();
            let t = 2.0 * PI * rng.random_sample();
            qx = px as f64 + v * rxp * t.cos();
            qy = py as f64 + v * ryp * t.sin();
            if qx >= 0.0 && qx < nx as f64 && qy >= 0.0 && qy < ny as f64 {
                let sx = ((qx - rxp) as i64).max(0) as usize;
                let ex = ((qx + rxp + 1.0) as i64).min(nx as i64) as usize;
                let sy = ((qy - ryp) as i64).max(0) as usize;
                let ey = ((qy + ryp + 1.0) as i64).min(ny as i64) as usize;
                done = true;
                'scan: for x in sx..ex {
                    for y in sy..ey {
                        let j = y * nx + x;
                        if mask[j] == 1 && ((qx - x as f64) / rx[j]).powi(2) + ((qy - y as f64) / ry[j]).powi(2) < 1.0 {
                            done = false;
                            break 'scan;
                        }
                    }
                }
            }
            k += 1;
        }
        if done {
            let (ix, iy) = (qx as i64, qy as i64);
            pxs.push(ix);
            pys.push(iy);
            mask[iy as usize * nx + ix as usize] = 1;
        } else {
            pxs.swap_remove(i);
            pys.swap_remove(i);
        }
    }
    let (cy0, cy1) = ((ny as f64 / 2.0 - calib[0] / 2.0) as usize, (ny as f64 / 2.0 + calib[0] / 2.0) as usize);
    let (cx0, cx1) = ((nx as f64 / 2.0 - calib[1] / 2.0) as usize, (nx as f64 / 2.0 + calib[1] / 2.0) as usize);
    for y in cy0..cy1.min(ny) {
        for x in cx0..cx1.min(nx) {
            mask[y * nx + x] = 1;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_arange_takes_the_second_element_from_start_plus_step() {
        let v = np_arange(3.0, 367.0, 5.42);
        assert_eq!(v.len(), ((367.0f64 - 3.0) / 5.42).ceil() as usize);
        assert_eq!(v[1], 3.0 + 5.42);
        assert_eq!(v[2], 3.0 + 2.0 * ((3.0 + 5.42) - 3.0));
    }

    #[test]
    fn python_round_is_half_to_even() {
        assert_eq!(py_round(2.5), 2);
        assert_eq!(py_round(4.5), 4);
        assert_eq!(py_round(46.5), 46);
        assert_eq!(py_round(3.5), 4);
    }

    #[test]
    fn unknown_family_suggests_the_closest_name() {
        let e = MaskFamily::parse("equispace").unwrap_err().to_string();
        assert!(e.contains("did you mean `equispaced`"), "{e}");
    }
}
