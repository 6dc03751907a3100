//! The optimisers' update rules ([`crate::optim`]) on the parameters' own device: on a GPU the
//! host path would copy every parameter and gradient to the host and back at every step. Same
//! formulas, in the parameters' float type (float32 in training) instead of float64, so results
//! agree with the host path to float32 rounding, not bit for bit; parity and CPU training keep
//! the host path. The hyper-parameters and Adam's per-parameter step counts stay in the
//! [`Optimizer`]; the buffers (`m`, `v`, `square_avg`, `momentum_buffer`) live here as device
//! tensors, and [`DeviceBuffers::store`]/[`DeviceBuffers::load`] move them to and from the
//! optimiser's host state for checkpoints, so a checkpoint does not say which path wrote it.

use crate::optim::Optimizer;
use burn::tensor::{Tensor, TensorData};
use std::collections::BTreeMap;

/// The optimiser's per-parameter buffers on the device, by (buffer name, parameter index).
#[derive(Default)]
pub struct DeviceBuffers {
    bufs: BTreeMap<(&'static str, usize), Tensor<4>>,
}

/// `a·x + b·y` without temporaries for the zero cases.
fn lerp(x: Tensor<4>, a: f64, y: Tensor<4>, b: f64) -> Tensor<4> {
    x * a + y * b
}

impl DeviceBuffers {
    /// The buffers of `opt`'s host state (a restored or continued optimiser), as device tensors
    /// shaped like the parameters `like` (`None` for a parameter without buffers).
    pub fn load(opt: &Optimizer, like: &[Tensor<4>]) -> DeviceBuffers {
        let mut bufs = BTreeMap::new();
        for (name, host) in opt.host_buffers() {
            for (i, b) in host.iter().enumerate() {
                if let (Some(b), Some(p)) = (b, like.get(i)) {
                    let values: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                    let t = Tensor::<4>::from_data(TensorData::new(values, p.dims()), &p.device()).cast(p.dtype());
                    bufs.insert((name, i), t);
                }
            }
        }
        DeviceBuffers { bufs }
    }

    /// Writes the buffers into `opt`'s host state (for a checkpoint, or for the next stage to
    /// continue from). This is the only place they cross to the host.
    pub fn store(&self, opt: &mut Optimizer, n_params: usize) {
        for (name, host) in opt.host_buffers_mut() {
            host.clear();
            host.resize(n_params, None);
            for (i, slot) in host.iter_mut().enumerate() {
                if let Some(t) = self.bufs.get(&(name, i)) {
                    *slot = Some(t.clone().into_data().convert::<f64>().try_to_vec::<f64>().expect("float buffer"));
                }
            }
        }
    }

    fn take(&mut self, name: &'static str, i: usize, like: &Tensor<4>) -> (Tensor<4>, bool) {
        match self.bufs.remove(&(name, i)) {
            Some(t) => (t, false),
            None => (like.zeros_like(), true),
        }
    }

    /// One step of `opt` on device tensors: `params[i]` is replaced where `grads[i]` is given
    /// (parameters without a gradient are skipped, as PyTorch skips them).
    pub fn step(&mut self, opt: &mut Optimizer, params: &mut [Tensor<4>], grads: &[Option<Tensor<4>>]) {
        let lr = opt.lr();
        let steps = opt.count_steps(grads.iter().map(Option::is_some).collect());
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            let x = p.clone();
            *p = match &*opt {
                Optimizer::RmsProp(o) => {
                    let gi = if o.weight_decay != 0.0 { g.clone() + x.clone() * o.weight_decay } else { g.clone() };
                    let (v, _) = self.take("square_avg", i, &x);
                    let v = lerp(v, o.alpha, gi.clone().powi_scalar(2), 1.0 - o.alpha);
                    let new = x - gi * lr / (v.clone().sqrt() + o.eps);
                    self.bufs.insert(("square_avg", i), v);
                    new
                }
                Optimizer::Adam(o) => {
                    let step = steps[i] as i32;
                    let (bc1, bc2) = (1.0 - o.beta1.powi(step), 1.0 - o.beta2.powi(step));
                    let (x, gi) = if o.decoupled {
                        (x * (1.0 - lr * o.weight_decay), g.clone())
                    } else if o.weight_decay != 0.0 {
                        (x.clone(), g.clone() + x * o.weight_decay)
                    } else {
                        (x, g.clone())
                    };
                    let (m, _) = self.take("m", i, &x);
                    let (v, _) = self.take("v", i, &x);
                    let m = lerp(m, o.beta1, gi.clone(), 1.0 - o.beta1);
                    let v = lerp(v, o.beta2, gi.powi_scalar(2), 1.0 - o.beta2);
                    let denom = v.clone().sqrt() / bc2.sqrt() + o.eps;
                    let new = x - m.clone() * (lr / bc1) / denom;
                    self.bufs.insert(("m", i), m);
                    self.bufs.insert(("v", i), v);
                    new
                }
                Optimizer::Sgd(o) => {
                    let mut gi = if o.weight_decay != 0.0 { g.clone() + x.clone() * o.weight_decay } else { g.clone() };
                    if o.momentum != 0.0 {
                        let (b, first) = self.take("momentum_buffer", i, &x);
                        let b = if first { gi.clone() } else { b * o.momentum + gi.clone() };
                        gi = if o.nesterov { gi + b.clone() * o.momentum } else { b.clone() };
                        self.bufs.insert(("momentum_buffer", i), b);
                    }
                    x - gi * lr
                }
            };
        }
    }
}

/// The global L2 norm of the gradients (one number read back), and with `max_norm` the
/// gradients scaled by `max_norm/(total + 1e-6)` when that is below 1, as
/// `torch.nn.utils.clip_grad_norm_`. A non-finite total means some gradient is not finite.
pub fn clip_grad_norm(grads: &mut [Option<Tensor<4>>], max_norm: Option<f64>) -> f64 {
    // Summed in the gradients' own float type, as PyTorch does on a GPU.
    let sums: Vec<Tensor<1>> = grads.iter().flatten().map(|g| g.clone().powi_scalar(2).sum()).collect();
    if sums.is_empty() {
        return 0.0;
    }
    let total = Tensor::cat(sums, 0).sum().into_data().convert::<f64>().try_to_vec::<f64>().expect("float")[0].sqrt();
    if let Some(max) = max_norm {
        let coef = max / (total + 1e-6);
        if coef < 1.0 {
            for g in grads.iter_mut().flatten() {
                *g = g.clone() * coef;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Adam, RmsProp, Sgd};
    use burn::tensor::Device;

    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n).map(|i| (((i + 1) * seed % 97) as f64 - 48.0) / 40.0).collect()
    }

    fn tensor(v: &[f64], shape: [usize; 4]) -> Tensor<4> {
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        Tensor::<4>::from_data(TensorData::new(v, shape), &Device::flex())
    }

    fn host(t: &Tensor<4>) -> Vec<f64> {
        t.clone().into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    /// Three steps of `make()` on host float64 copies and on device float32 tensors, with the
    /// second parameter's gradient missing at the second step (PyTorch skips it: no update, no
    /// decay, no step count): the parameters and the stored buffers agree to float32 rounding.
    fn agree(name: &str, make: &dyn Fn() -> Optimizer, clip: Option<f64>) {
        let shapes = [[2, 3, 4, 5], [7, 1, 1, 1]];
        let mut host_opt = make();
        let mut dev_opt = make();
        let mut hp: Vec<Vec<f64>> =
            shapes.iter().enumerate().map(|(i, s)| values(s.iter().product(), 31 + i)).collect();
        let mut dp: Vec<Tensor<4>> = hp.iter().zip(&shapes).map(|(v, s)| tensor(v, *s)).collect();
        let mut bufs = DeviceBuffers::default();
        for step in 0..3 {
            let mut hg: Vec<Option<Vec<f64>>> = shapes
                .iter()
                .enumerate()
                .map(|(i, s)| (step != 1 || i == 0).then(|| values(s.iter().product(), 53 + 7 * step + i)))
                .collect();
            let mut dg: Vec<Option<Tensor<4>>> =
                hg.iter().zip(&shapes).map(|(g, s)| g.as_ref().map(|g| tensor(g, *s))).collect();
            let host_norm = match clip {
                Some(max) => crate::optim::clip_grad_norm(&mut hg, max),
                None => hg.iter().flatten().flat_map(|g| g.iter()).map(|x| x * x).sum::<f64>().sqrt(),
            };
            let dev_norm = clip_grad_norm(&mut dg, clip);
            assert!((dev_norm / host_norm - 1.0).abs() < 1e-6, "{name}: norm {dev_norm} vs {host_norm}");
            host_opt.step(&mut hp, &hg);
            bufs.step(&mut dev_opt, &mut dp, &dg);
            for (i, (h, d)) in hp.iter().zip(&dp).enumerate() {
                for (a, b) in h.iter().zip(host(d)) {
                    assert!((a - b).abs() <= 2e-6 * a.abs().max(1.0), "{name} step {step} param {i}: {a} vs {b}");
                }
            }
        }
        bufs.store(&mut dev_opt, shapes.len());
        let (hs, ds) = (host_opt.state(), dev_opt.state());
        // The same entries, except that the host keeps an all-zero momentum buffer for plain
        // SGD, which the device path does not allocate (either loads into the other).
        assert!(ds.keys().all(|k| hs.contains_key(k)), "{name}: device state {:?}", ds.keys());
        for (k, h) in &hs {
            let Some(d) = ds.get(k) else {
                assert!(h.iter().all(|&v| v == 0.0), "{name}: {k} missing on the device");
                continue;
            };
            for (a, b) in h.iter().zip(d) {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1e-3), "{name} {k}: {a} vs {b}");
            }
        }
        // The buffers come back from a checkpoint's state and continue identically.
        let reloaded = DeviceBuffers::load(&dev_opt, &dp);
        for (k, t) in &bufs.bufs {
            assert_eq!(host(t), host(&reloaded.bufs[k]), "{name}: {k:?} reloaded");
        }
    }

    #[test]
    fn device_steps_equal_the_host_float64_steps_to_float32_rounding() {
        agree("rmsprop", &|| Optimizer::RmsProp(RmsProp::new(1e-2, 0.99, 1e-8, 1e-3)), None);
        agree("adam with L2 decay", &|| Optimizer::Adam(Adam::adam(1e-3, 0.9, 0.999, 1e-8, 1e-2)), Some(0.5));
        agree("adamw", &|| Optimizer::Adam(Adam::adamw(1e-3, 0.9, 0.999, 1e-8, 1e-2)), Some(1e3));
        agree("sgd momentum", &|| Optimizer::Sgd(Sgd::new(1e-2, 0.9, 1e-4, false)), None);
        agree("sgd nesterov", &|| Optimizer::Sgd(Sgd::new(1e-2, 0.9, 0.0, true)), Some(0.1));
        agree("sgd plain", &|| Optimizer::Sgd(Sgd::new(1e-1, 0.0, 0.0, false)), None);
    }
}
