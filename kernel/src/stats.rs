//! Paired significance tests over test slices, for papers that print p-values beside their
//! tables (IMA's Table 1 does, without naming the test; the kit's choice is the paired two-sided
//! t-test, research note ima.md A23).
//!
//! ```
//! use mcmr::stats::paired_t_test;
//! let a = [30.1, 31.4, 29.8, 30.9, 31.0, 30.2];
//! let b = [29.5, 30.9, 29.9, 30.1, 30.2, 29.9];
//! let t = paired_t_test(&a, &b).unwrap();
//! assert!(t.mean_difference > 0.0 && t.p_two_sided < 0.05);
//! ```

/// The result of a paired t-test of `a` against `b`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairedTTest {
    /// Pairs compared.
    pub n: usize,
    /// Mean of `a − b`.
    pub mean_difference: f64,
    pub t: f64,
    pub df: usize,
    /// Two-sided p-value from Student's t distribution with `df` degrees of freedom.
    pub p_two_sided: f64,
}

/// Why a test could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StatsError {
    #[error("a paired test needs two samples of the same length, got {0} and {1}")]
    Lengths(usize, usize),
    #[error("a paired t-test needs at least 2 pairs, got {0}")]
    TooFew(usize),
    #[error("sample value {0} is not finite")]
    NotFinite(f64),
}

/// The paired two-sided t-test (scipy's `ttest_rel`): `t = mean(d) / (sd(d)/√n)` with the
/// unbiased standard deviation, `n − 1` degrees of freedom. Identical samples give `t = 0`, `p =
/// 1`; a constant non-zero difference gives `t = ±∞`, `p = 0`.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Result<PairedTTest, StatsError> {
    if a.len() != b.len() {
        return Err(StatsError::Lengths(a.len(), b.len()));
    }
    if let Some(&v) = a.iter().chain(b).find(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite(v));
    }
    let n = a.len();
    if n < 2 {
        return Err(StatsError::TooFew(n));
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let df = n - 1;
    let (t, p) = if var == 0.0 {
        if mean == 0.0 {
            (0.0, 1.0)
        } else {
            (mean.signum() * f64::INFINITY, 0.0)
        }
    } else {
        let t = mean / (var / n as f64).sqrt();
        (t, student_t_two_sided(t, df as f64))
    };
    Ok(PairedTTest { n, mean_difference: mean, t, df, p_two_sided: p })
}

/// `P(|T| ≥ |t|)` for Student's t with `df` degrees of freedom: `I_x(df/2, 1/2)` with `x = df/(df
/// + t²)`, the regularised incomplete beta function.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    regularized_beta(x, df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error below 1e-13 for the arguments a
/// t-test needs).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` by its continued fraction (modified
/// Lentz), on the side where it converges fast; at most 300 terms.
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + num / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two-sided 5% and 1% critical values from printed t tables: t(0.975; 10) = 2.228,
    /// t(0.975; 29) = 2.045, t(0.995; 5) = 4.032; and df = 1 (Cauchy): P(|T| ≥ 1) = 1/2.
    #[test]
    fn p_values_match_printed_critical_values() {
        for (t, df, p) in [(2.228, 10.0, 0.05), (2.045, 29.0, 0.05), (4.032, 5.0, 0.01), (1.0, 1.0, 0.5)] {
            let got = student_t_two_sided(t, df);
            assert!((got - p).abs() < 2e-4, "t = {t}, df = {df}: {got}");
        }
        assert_eq!(student_t_two_sided(0.0, 7.0), 1.0);
        assert!(student_t_two_sided(40.0, 30.0) < 1e-20);
    }

    #[test]
    fn the_paired_test_uses_the_differences() {
        // d = [1, 2, 3]: mean 2, sd 1, t = 2·√3.
        let r = paired_t_test(&[3.0, 5.0, 7.0], &[2.0, 3.0, 4.0]).unwrap();
        assert!((r.t - 2.0 * 3f64.sqrt()).abs() < 1e-12 && r.df == 2);
        assert_eq!(paired_t_test(&[1.0, 2.0], &[1.0, 2.0]).unwrap().p_two_sided, 1.0);
        assert_eq!(paired_t_test(&[2.0, 3.0], &[1.0, 2.0]).unwrap().p_two_sided, 0.0);
        assert_eq!(paired_t_test(&[1.0], &[1.0]).unwrap_err(), StatsError::TooFew(1));
        assert!(matches!(paired_t_test(&[1.0, f64::NAN], &[1.0, 2.0]), Err(StatsError::NotFinite(_))));
    }
}
