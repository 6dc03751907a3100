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
//! | `gaussian_1d` | centre block plus columns drawn independently with a Gaussian density in the distance from the centre, scaled so the expected total is `W/A` |
//!
//! `equispaced_fraction` takes `rounding = "floor"`: `floor(arange(off, W, A'))` instead of
//! `around(arange(off, W−1, A'))`, UniFS's variant. A paper's variant of a family is a named
//! preset ([`PRESETS`]: `unifs_equispace`), usable wherever a family name is.
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

mod cartesian;
pub mod dcm;
mod points;

use cartesian::*;
pub use cartesian::{FastMriKind, FastMriMaskFunc};
use points::*;

/// The mask families the kit knows. Names are the CLI/spec names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaskFamily {
    Random,
    Equispaced,
    EquispacedFraction,
    Magic,
    MagicFraction,
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
    pub const ALL: [MaskFamily; 12] = [
        MaskFamily::Random,
        MaskFamily::Equispaced,
        MaskFamily::EquispacedFraction,
        MaskFamily::Magic,
        MaskFamily::MagicFraction,
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
        match MaskFamily::parse_with_preset(name)? {
            (family, Rounding::Nearest) => Ok(family),
            _ => Err(MaskError::Param {
                param: "family",
                message: format!("`{name}` is a preset, not a family (use it where presets are accepted)"),
            }),
        }
    }

    /// Parses a family name or a preset's ([`PRESETS`]) into a family and its rounding.
    pub fn parse_with_preset(name: &str) -> Result<(MaskFamily, Rounding), MaskError> {
        let norm = name.trim().to_ascii_lowercase().replace('-', "_");
        if let Some(p) = PRESETS.iter().find(|p| p.name == norm) {
            return Ok((p.family, p.rounding));
        }
        MaskFamily::ALL.iter().copied().find(|f| f.name() == norm).map(|f| (f, Rounding::Nearest)).ok_or_else(|| {
            let known = MaskFamily::names();
            let suggestion = mcmr_dsl::diag::suggest(&norm, known.iter().copied())
                .map(|n| format!(" — did you mean `{n}`?"))
                .unwrap_or_default();
            MaskError::Param {
                param: "family",
                message: format!("unknown mask family `{name}`{suggestion} (known: {})", known.join(", ")),
            }
        })
    }

    /// The names a spec or the CLI may give: every family, then every preset.
    pub fn names() -> Vec<&'static str> {
        MaskFamily::ALL.iter().map(|f| f.name()).chain(PRESETS.iter().map(|p| p.name)).collect()
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
                | MaskFamily::Gaussian1d
        )
    }

    fn uses_center_fraction(self) -> bool {
        !matches!(self, MaskFamily::Radial | MaskFamily::Spiral)
    }
}

/// How `equispaced_fraction` rounds its fractional column positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Rounding {
    /// numpy's `around(arange(off, W − 1, A'))` (fastMRI).
    #[default]
    Nearest,
    /// `floor(arange(off, W, A'))` (UniFS).
    Floor,
}

impl Rounding {
    pub const ALL: [Rounding; 2] = [Rounding::Nearest, Rounding::Floor];

    pub fn name(self) -> &'static str {
        match self {
            Rounding::Nearest => "nearest",
            Rounding::Floor => "floor",
        }
    }

    pub fn parse(name: &str) -> Result<Rounding, MaskError> {
        Rounding::ALL.iter().copied().find(|r| r.name() == name).ok_or_else(|| MaskError::Param {
            param: "rounding",
            message: format!("unknown rounding `{name}` (nearest, floor)"),
        })
    }
}

/// A paper's variant of a family, by name: the family and its parameters.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    pub name: &'static str,
    pub family: MaskFamily,
    pub rounding: Rounding,
    pub about: &'static str,
}

/// The named presets.
pub const PRESETS: &[Preset] = &[Preset {
    name: "unifs_equispace",
    family: MaskFamily::EquispacedFraction,
    rounding: Rounding::Floor,
    about: "UniFS's equispaced masks: equispaced_fraction with floor rounding",
}];

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
    /// How `equispaced_fraction` rounds column positions (other families: `Nearest` only).
    pub rounding: Rounding,
}

impl MaskParams {
    /// Parameters with the default centre fraction and seed 0.
    pub fn new(family: MaskFamily, shape: [usize; 2], acceleration: f64) -> Self {
        MaskParams {
            family,
            shape,
            acceleration,
            center_fraction: None,
            seed: Seed::Int(0),
            rounding: Rounding::Nearest,
        }
    }
    /// Sets the rounding of `equispaced_fraction`.
    pub fn rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }
    /// A rounding other than `nearest` is `equispaced_fraction`'s only.
    pub fn check_rounding(&self) -> Result<(), MaskError> {
        if self.rounding != Rounding::Nearest && self.family != MaskFamily::EquispacedFraction {
            return Err(param_err(
                "rounding",
                format!(
                    "`{}` rounding applies to `equispaced_fraction` only, not `{}`",
                    self.rounding.name(),
                    self.family.name()
                ),
            ));
        }
        Ok(())
    }

    /// A short name of the pattern for reports: the family (or its preset's name), the
    /// acceleration and the centre fraction when given (`random 4x cf 0.08`).
    pub fn label(&self) -> String {
        let name = PRESETS
            .iter()
            .find(|p| p.family == self.family && p.rounding == self.rounding && self.rounding != Rounding::Nearest)
            .map(|p| p.name)
            .unwrap_or(self.family.name());
        match self.center_fraction {
            Some(cf) => format!("{name} {}x cf {cf}", self.acceleration),
            None => format!("{name} {}x", self.acceleration),
        }
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
    p.check_rounding()?;
    if let Some(cf) = p.center_fraction {
        if !p.family.uses_center_fraction() {
            return Err(param_err(
                "center_fraction",
                format!("the `{}` family has no fully sampled centre", p.family.name()),
            ));
        }
        // 2D point masks may have no fully sampled centre (IGKR-Net's Table 5 "2D random").
        let no_centre = cf == 0.0 && matches!(p.family, MaskFamily::Random2d | MaskFamily::Gaussian2d);
        if !(cf > 0.0 && cf < 1.0) && !no_centre {
            return Err(param_err(
                "center_fraction",
                format!("must lie in (0, 1) (or be 0 for random_2d and gaussian_2d: no centre), got {cf}"),
            ));
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
            _ => {
                let cf = cf.expect("1D families have a centre fraction");
                let (cols, n_low) = gaussian_columns(w, cf, acc, &mut rng)?;
                return Ok(Mask::from_columns(p.family, h, &cols, n_low));
            }
        };
        let mut func = FastMriMaskFunc::new(kind, vec![cf.expect("1D families have a centre fraction")], vec![acc]);
        func.rounding = p.rounding;
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

    #[test]
    fn floor_rounding_is_unifs_equispace_and_the_preset_says_so() {
        // W = 30, A = 3, cf = 0.1: 3 centre columns and A' = 3·(3 − 30)/(3·3 − 30) = 27/7.
        let step = 27.0 / 7.0;
        let centre: Vec<usize> = (14..17).collect(); // [p, p + 3), p = (30 - 3 + 1)/2
        let mut differ = 0;
        for seed in 0..12 {
            let p = MaskParams::new(MaskFamily::EquispacedFraction, [1, 30], 3.0)
                .center_fraction(0.1)
                .seed(Seed::Int(seed));
            let near = generate(&p).unwrap().sampled_columns.unwrap();
            let floor = generate(&p.clone().rounding(Rounding::Floor)).unwrap().sampled_columns.unwrap();
            // Both draw the same offset (randint(round(A')) = randint(4)); find it from the
            // nearest mask, then the floor mask must be floor(off + i·A') over [0, W).
            let off = (0..4)
                .find(|&o| {
                    let mut want: Vec<usize> = (0..)
                        .map(|i| o as f64 + i as f64 * step)
                        .take_while(|&v| v < 29.0)
                        .map(|v| v.round_ties_even() as usize)
                        .chain(centre.iter().copied())
                        .collect();
                    want.sort();
                    want.dedup();
                    want == near
                })
                .expect("the nearest mask is around(arange(off, W - 1, A'))");
            let mut want: Vec<usize> = (0..)
                .map(|i| off as f64 + i as f64 * step)
                .take_while(|&v| v < 30.0)
                .map(|v| (v.floor() as usize).min(29))
                .chain(centre.iter().copied())
                .collect();
            want.sort();
            want.dedup();
            assert_eq!(floor, want, "seed {seed}, offset {off}");
            differ += usize::from(floor != near);
        }
        assert!(differ > 0, "the two roundings differ for some seed");
        assert_eq!(
            MaskFamily::parse_with_preset("unifs_equispace").unwrap(),
            (MaskFamily::EquispacedFraction, Rounding::Floor)
        );
        assert!(MaskFamily::parse("unifs_equispace").is_err(), "a preset is not a family");
        let radial = MaskParams::new(MaskFamily::Radial, [32, 32], 4.0).rounding(Rounding::Floor);
        assert!(generate(&radial).unwrap_err().to_string().contains("`equispaced_fraction` only"));
    }
}
