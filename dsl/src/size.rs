//! Spatial sizes at check time.
//!
//! A network's inputs declare their height and width by name (`input x: [1, H, W]`), so a tensor's
//! size is a function of those names. Rather than simplifying symbolic expressions with floors
//! (conv strides, pooling, `rfft2`'s `W/2 + 1`), the checker evaluates every size at a fixed set of
//! sample input sizes ("environments") and compares the results: two sizes that differ in every
//! environment can never meet (an error); sizes that differ in some are a warning that says which
//! multiples make them agree (a U-Net without padding works only for multiples of 2^depth).

use std::rc::Rc;

/// Sample sizes: odd, even, and multiples of 2 up to 64, including the sizes papers use.
const SAMPLES: [i32; 16] = [31, 33, 50, 63, 64, 70, 96, 100, 127, 128, 200, 218, 240, 256, 320, 372];
/// Environments: in the first half every name gets its own sample (names are spread over the
/// samples), in the second half all names share one sample (square images).
const ENVS: usize = 2 * SAMPLES.len();

/// The value of the `symbol`-th size name in environment `env`.
fn sample(env: usize, symbol: usize) -> i32 {
    let n = SAMPLES.len();
    if env < n {
        SAMPLES[(env + 5 * symbol) % n]
    } else {
        SAMPLES[env - n]
    }
}

/// One spatial extent evaluated in every environment; 0 where unknown or not positive.
#[derive(Clone, Debug, PartialEq)]
pub struct Extent(Rc<[i32]>);

/// Height and width.
pub type Size = [Extent; 2];

impl Extent {
    pub fn symbol(index: usize) -> Extent {
        Extent((0..ENVS).map(|e| sample(e, index)).collect())
    }

    pub fn literal(v: usize) -> Extent {
        Extent(vec![i32::try_from(v).unwrap_or(0); ENVS].into())
    }

    /// The product in every environment (a token count `h·w`); unknown stays unknown.
    pub fn times(&self, other: &Extent) -> Extent {
        Extent(self.0.iter().zip(other.0.iter()).map(|(&a, &b)| a.saturating_mul(b).max(0)).collect())
    }

    /// The sum in every environment (two token sets); unknown stays unknown.
    pub fn plus(&self, other: &Extent) -> Extent {
        Extent(
            self.0
                .iter()
                .zip(other.0.iter())
                .map(|(&a, &b)| if a > 0 && b > 0 { a.saturating_add(b) } else { 0 })
                .collect(),
        )
    }

    pub fn unknown() -> Extent {
        Extent(vec![0; ENVS].into())
    }

    /// `floor((x + pre) / div) * mul + post` in every environment (PyTorch's output-size
    /// formulas are all of this form); unknown stays unknown, non-positive results become unknown.
    pub fn affine(&self, pre: i64, div: i64, mul: i64, post: i64) -> Extent {
        let div = div.max(1);
        Extent(
            self.0
                .iter()
                .map(|&x| {
                    if x <= 0 {
                        return 0;
                    }
                    let y = (x as i64 + pre).div_euclid(div).saturating_mul(mul).saturating_add(post);
                    if y > 0 && y <= i32::MAX as i64 {
                        y as i32
                    } else {
                        0
                    }
                })
                .collect(),
        )
    }
}

/// How the sizes of several tensors that must match relate.
#[derive(Debug, PartialEq)]
pub enum Agreement {
    /// Equal wherever known.
    Always,
    /// Equal only in some environments: `multiple` (if any) is the smallest power of two such that
    /// inputs whose sizes are all multiples of it always agree; `example` is an environment where
    /// they differ.
    Sometimes { multiple: Option<i32>, example: usize },
    /// Different in every environment where they are known; `example` is one of them.
    Never { example: usize },
}

/// Whether `sizes` agree; with `broadcast`, an extent of 1 matches anything (PyTorch broadcasting).
/// `symbols` is the number of size names declared so far.
pub fn agree(sizes: &[&Size], broadcast: bool, symbols: usize) -> Agreement {
    let same = |e: usize| -> Option<bool> {
        let mut ok = true;
        for axis in 0..2 {
            let vals: Vec<i32> = sizes.iter().map(|s| s[axis].0[e]).collect();
            if vals.contains(&0) {
                return None;
            }
            let target = if broadcast { vals.iter().copied().find(|&v| v != 1) } else { Some(vals[0]) };
            if let Some(t) = target {
                ok &= vals.iter().all(|&v| v == t || (broadcast && v == 1));
            }
        }
        Some(ok)
    };
    let results: Vec<Option<bool>> = (0..ENVS).map(same).collect();
    let differ: Vec<usize> = (0..ENVS).filter(|&e| results[e] == Some(false)).collect();
    let agree_count = results.iter().filter(|r| **r == Some(true)).count();
    let Some(&example) = differ.first() else { return Agreement::Always };
    if agree_count == 0 {
        return Agreement::Never { example };
    }
    let multiple = [2, 4, 8, 16, 32, 64].into_iter().find(|&m| {
        let envs: Vec<usize> = (0..ENVS).filter(|&e| (0..symbols.max(1)).all(|s| sample(e, s) % m == 0)).collect();
        !envs.is_empty() && envs.iter().all(|&e| results[e] != Some(false))
    });
    Agreement::Sometimes { multiple, example }
}

/// `H = 50, W = 70` for environment `env`.
pub fn describe_env(env: usize, names: &[String]) -> String {
    names.iter().enumerate().map(|(i, n)| format!("{n} = {}", sample(env, i))).collect::<Vec<_>>().join(", ")
}

/// `25×35` for environment `env` (`?` where unknown).
pub fn describe_size(size: &Size, env: usize) -> String {
    let one = |e: &Extent| match e.0[env] {
        0 => "?".to_string(),
        v => v.to_string(),
    };
    format!("{}×{}", one(&size[0]), one(&size[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(h: usize, w: usize) -> Size {
        [Extent::symbol(h), Extent::symbol(w)]
    }

    #[test]
    fn same_names_agree_and_padded_convolutions_keep_the_size() {
        let x = sym(0, 1);
        let y = [x[0].affine(2 - 2 - 1, 1, 1, 1), x[1].affine(2 - 2 - 1, 1, 1, 1)];
        assert_eq!(agree(&[&x, &y], false, 2), Agreement::Always);
    }

    #[test]
    fn unpadded_convolution_never_matches_its_input() {
        let x = sym(0, 1);
        let y = [x[0].affine(-2, 1, 1, 0), x[1].clone()];
        assert!(matches!(agree(&[&x, &y], false, 2), Agreement::Never { .. }));
    }

    #[test]
    fn down_then_up_agrees_only_for_even_sizes() {
        let x = sym(0, 1);
        let down = |e: &Extent| e.affine(0, 2, 1, 0).affine(0, 2, 1, 0);
        let up = |e: &Extent| e.affine(0, 1, 4, 0);
        let y = [up(&down(&x[0])), up(&down(&x[1]))];
        match agree(&[&x, &y], false, 2) {
            Agreement::Sometimes { multiple, example } => {
                assert_eq!(multiple, Some(4));
                let names = ["H".to_string(), "W".to_string()];
                let at = describe_env(example, &names);
                assert!(at.starts_with("H = "), "{at}");
                assert_ne!(describe_size(&x, example), describe_size(&y, example));
            }
            other => panic!("expected Sometimes, got {other:?}"),
        }
    }

    #[test]
    fn broadcasting_accepts_one_by_one_and_different_names_sometimes_differ() {
        let x = sym(0, 1);
        let pooled = [Extent::literal(1), Extent::literal(1)];
        assert_eq!(agree(&[&x, &pooled], true, 2), Agreement::Always);
        assert!(matches!(agree(&[&x, &pooled], false, 2), Agreement::Never { .. }));
        let other = sym(2, 3);
        assert!(matches!(agree(&[&x, &other], false, 4), Agreement::Sometimes { .. }));
        assert_eq!(agree(&[&x, &[Extent::unknown(), Extent::unknown()]], false, 2), Agreement::Always);
    }
}
