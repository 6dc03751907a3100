//! 1D Cartesian masks: fastMRI's mask functions (bit-exact), Defazio's `magic` offsets and the
//! Gaussian column density.

use super::*;

/// Which fastMRI-style column sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastMriKind {
    Random,
    Equispaced,
    EquispacedFraction,
    Magic,
    MagicFraction,
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
    /// How `EquispacedFraction` rounds column positions.
    pub rounding: Rounding,
}

/// Python's `round()` (half to even) to an integer.
pub(super) fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// numpy `arange(start, stop, step)` for floats, value for value: the length is
/// `ceil((stop − start)/step)` and element `i` is `start + i·((start + step) − start)`.
pub(super) fn np_arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
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
        FastMriMaskFunc {
            kind,
            center_fractions,
            accelerations,
            allow_any_combination: false,
            rounding: Rounding::Nearest,
        }
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
            FastMriKind::EquispacedFraction => {
                if n_low as f64 >= wf / acc {
                    return Err(too_many_centre(n_low));
                }
                let nl = n_low as f64;
                let adjusted = (acc * (nl - wf)) / (nl * acc - wf);
                let offset = rng.randint(py_round(adjusted).max(1) as u64) as f64;
                if self.rounding == Rounding::Nearest {
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
pub(super) fn magic_columns(w: usize, stride: usize, offset: usize) -> Vec<bool> {
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
pub(super) fn scale_for_expected_count(g: &[f64], target: f64) -> f64 {
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

pub(super) fn gaussian_columns(
    w: usize,
    cf: f64,
    acc: f64,
    rng: &mut NumpyRng,
) -> Result<(Vec<bool>, usize), MaskError> {
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
