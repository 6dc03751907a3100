//! Dropout in training, drawn from a seed the trainer gives each forward pass (a function of the
//! run's seed, the stage and the step, so a resumed run drops what the uninterrupted one would).
//! Each node draws from its own stream: element `i` of node `n` is kept when a hash of
//! `(seed, n, i)` read as a uniform number in `[0, 1)` is at least `p`, so the mask does not
//! depend on the order nodes run in or on the thread count. PyTorch's own draws cannot be
//! matched (its generator differs); what matches is the distribution: each element (or, for
//! `dropout2d`, each channel of each item) zeroed with probability `p`, the rest scaled by
//! `1/(1 − p)`.

use super::{Ctx, ModelError};
use burn::tensor::{Tensor, TensorData};

/// SplitMix64's output function: a bijective 64-bit mix.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The keep-and-scale factors of `n` draws of node `node` under `seed`: `1/(1 − p)` or 0.
pub fn mask(seed: u64, node: usize, n: usize, p: f64) -> Vec<f32> {
    let stream = mix(seed ^ mix(node as u64));
    let scale = (1.0 / (1.0 - p)) as f32;
    (0..n)
        .map(|i| {
            let u = (mix(stream.wrapping_add(i as u64)) >> 11) as f64 / (1u64 << 53) as f64;
            if u < p {
                0.0
            } else {
                scale
            }
        })
        .collect()
}

impl Ctx<'_> {
    /// `t` with dropout `p` applied in training (per element, or per `[item, channel]` with
    /// `channelwise`), unchanged in evaluation or when `p` is 0. A training forward without
    /// the trainer's seed (parity, tests) refuses `p > 0`.
    pub(super) fn dropout(&self, t: Tensor<4>, p: f64, channelwise: bool) -> Result<Tensor<4>, ModelError> {
        if !self.train || p == 0.0 {
            return Ok(t);
        }
        let Some(seed) = self.dropout_seed else {
            return Err(ModelError::Unsupported(format!(
                "dropout with p = {p} in training at `{}` needs the trainer's seeded generator",
                self.node.path
            )));
        };
        let [b, c, h, w] = t.dims();
        let shape = if channelwise { [b, c, 1, 1] } else { [b, c, h, w] };
        let n = shape.iter().product();
        let m = Tensor::<4>::from_data(TensorData::new(mask(seed, self.index, n, p), shape), &t.device());
        let m = m.cast(t.dtype());
        Ok(t * m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_drop_at_the_rate_asked_and_scale_the_rest() {
        for p in [0.1, 0.5] {
            let m = mask(7, 3, 200_000, p);
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / m.len() as f64;
            assert!((dropped - p).abs() < 0.005, "p {p}: dropped {dropped}");
            assert!(m.iter().all(|&v| v == 0.0 || v == (1.0 / (1.0 - p)) as f32));
            // Mean 1: the expected activation is unchanged.
            let mean = m.iter().map(|&v| v as f64).sum::<f64>() / m.len() as f64;
            assert!((mean - 1.0).abs() < 0.01, "p {p}: mean {mean}");
        }
        // The same seed and node give the same mask; another step or node another one.
        assert_eq!(mask(7, 3, 1000, 0.3), mask(7, 3, 1000, 0.3));
        assert_ne!(mask(7, 3, 1000, 0.3), mask(8, 3, 1000, 0.3));
        assert_ne!(mask(7, 3, 1000, 0.3), mask(7, 4, 1000, 0.3));
    }
}
