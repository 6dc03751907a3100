//! IMA's dilation–contraction masking (DCM; Eqs. 16–18 of the paper, research note ima.md §2.3):
//! a data-independent schedule of masks, one per unfolding stage, computed from the sampling
//! mask alone.
//!
//! * Dilation (Eq. 16): `D₀ = M₀`, `D_{j+1} = (φ ⋆ D_j ≥ δ) ∨ M₀`, where `φ ⋆ D` counts the known
//!   points under the kernel (a correlation with zero padding, on the *centred* mask).
//! * Stop (Eq. 17): `J` is the first `j` with `fill(D_j) > ratio`, or `T/2 − 1`, whichever comes
//!   first (the paper's "t > T/2" leaves the off-by-one open; this choice keeps at most `T/2`
//!   distinct masks on the way up).
//! * Contraction ("inversely symmetric"): the stage masks are the palindrome
//!   `m_s = D_{min(s−1, T−s, J)}` for `s = 1..T`, which starts and ends at `M₀`.
//!
//! The kernel is not printed (Fig. 4 is missing from the text): `ones3` (3×3 all ones, the note's
//! reading of the best kernel 1) is the default; `cross3` (3×3 cross) and `ones5` (5×5 all ones)
//! are the guesses for kernels 2 and 3; `none` never dilates (the "w/o DCM" ablation).

/// The diffusion kernel φ of Eq. 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcmKernel {
    /// 3×3 all ones, centre included (kernel 1).
    Ones3,
    /// The centre and its four neighbours (kernel 2, a guess; with δ = 3 it never grows a 1D
    /// Cartesian mask).
    Cross3,
    /// 5×5 all ones (kernel 3, a guess).
    Ones5,
    /// No dilation: every stage uses `M₀`.
    None,
}

impl DcmKernel {
    pub const NAMES: [&'static str; 4] = ["ones3", "cross3", "ones5", "none"];

    pub fn parse(name: &str) -> Option<DcmKernel> {
        Some(match name {
            "ones3" => DcmKernel::Ones3,
            "cross3" => DcmKernel::Cross3,
            "ones5" => DcmKernel::Ones5,
            "none" => DcmKernel::None,
            _ => return None,
        })
    }

    /// The kernel's offsets `(dy, dx)`.
    fn offsets(self) -> Vec<(isize, isize)> {
        let square = |r: isize| (-r..=r).flat_map(|dy| (-r..=r).map(move |dx| (dy, dx))).collect::<Vec<_>>();
        match self {
            DcmKernel::Ones3 => square(1),
            DcmKernel::Ones5 => square(2),
            DcmKernel::Cross3 => vec![(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)],
            DcmKernel::None => vec![],
        }
    }
}

/// One dilation step (Eq. 16): a point becomes known when at least `delta` known points lie
/// under the kernel centred on it, or when it was sampled (`m0`). Masks are row-major `h × w`,
/// nonzero = known.
pub fn dilate(d: &[bool], m0: &[bool], h: usize, w: usize, kernel: DcmKernel, delta: usize) -> Vec<bool> {
    let offsets = kernel.offsets();
    let mut out = m0.to_vec();
    if offsets.is_empty() {
        return out;
    }
    for r in 0..h {
        for c in 0..w {
            if out[r * w + c] {
                continue;
            }
            let mut count = 0;
            for &(dy, dx) in &offsets {
                let (y, x) = (r as isize + dy, c as isize + dx);
                if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w && d[y as usize * w + x as usize] {
                    count += 1;
                }
            }
            out[r * w + c] = count >= delta;
        }
    }
    out
}

/// The fraction of known points.
pub fn fill(d: &[bool]) -> f64 {
    d.iter().filter(|&&b| b).count() as f64 / d.len().max(1) as f64
}

/// The schedule of one mask: the dilations `D₀ … D_J` and the stage masks' indices into them.
#[derive(Clone, Debug)]
pub struct DcmSchedule {
    /// `D₀ = M₀, D₁, …, D_J`.
    pub dilations: Vec<Vec<bool>>,
    /// For stage `s = 1..T`, the index `min(s − 1, T − s, J)` of its mask in `dilations`.
    pub stage_index: Vec<usize>,
}

impl DcmSchedule {
    /// The schedule of `m0` (`h × w`, centred) for `stages` stages. `ratio` stops the dilation
    /// once more than that fraction of points is known.
    pub fn new(m0: &[bool], h: usize, w: usize, stages: usize, kernel: DcmKernel, delta: usize, ratio: f64) -> Self {
        let cap = (stages / 2).saturating_sub(1);
        let mut dilations = vec![m0.to_vec()];
        while dilations.len() - 1 < cap && fill(dilations.last().expect("D0")) <= ratio {
            let next = dilate(dilations.last().expect("D0"), m0, h, w, kernel, delta);
            let unchanged = &next == dilations.last().expect("D0");
            dilations.push(next);
            if unchanged {
                // A fixed point (no kernel, or nothing reaches δ): further steps repeat it.
                break;
            }
        }
        let j = dilations.len() - 1;
        let stage_index = (1..=stages).map(|s| (s - 1).min(stages - s).min(j)).collect();
        DcmSchedule { dilations, stage_index }
    }

    /// The mask of stage `s` (1-based).
    pub fn stage(&self, s: usize) -> &[bool] {
        &self.dilations[self.stage_index[s - 1]]
    }

    /// The fill ratio of every stage's mask, stage 1 first.
    pub fn stage_fills(&self) -> Vec<f64> {
        self.stage_index.iter().map(|&i| fill(&self.dilations[i])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_mask(h: usize, w: usize, cols: &[usize]) -> Vec<bool> {
        (0..h * w).map(|i| cols.contains(&(i % w))).collect()
    }

    #[test]
    fn a_sampled_line_grows_one_column_per_side_per_step_under_ones3() {
        let (h, w) = (6, 9);
        let m0 = column_mask(h, w, &[4]);
        let d1 = dilate(&m0, &m0, h, w, DcmKernel::Ones3, 3);
        // Interior rows of columns 3 and 5 see three known points; the border rows only two.
        for r in 0..h {
            let edge = r == 0 || r == h - 1;
            assert_eq!(d1[r * w + 3], !edge, "row {r}");
            assert_eq!(d1[r * w + 5], !edge, "row {r}");
            assert!(!d1[r * w + 2] && !d1[r * w + 6]);
        }
        // The cross never grows a line at δ = 3 (one known neighbour at most).
        assert_eq!(dilate(&m0, &m0, h, w, DcmKernel::Cross3, 3), m0);
    }

    #[test]
    fn the_schedule_is_a_palindrome_from_m0_back_to_m0() {
        let (h, w) = (16, 16);
        let m0 = column_mask(h, w, &[7, 8, 2, 12]);
        let s = DcmSchedule::new(&m0, h, w, 12, DcmKernel::Ones3, 3, 0.9);
        assert_eq!(s.stage(1), &m0[..]);
        assert_eq!(s.stage(12), &m0[..]);
        let idx = &s.stage_index;
        assert!(idx.iter().eq(idx.iter().rev()), "{idx:?}");
        assert!(s.dilations.len() - 1 <= 5);
        let none = DcmSchedule::new(&m0, h, w, 12, DcmKernel::None, 3, 0.9);
        assert!((1..=12).all(|t| none.stage(t) == &m0[..]));
    }
}
