//! The optimisers a spec names (`optimizer = adamw(lr = 1e-4, ...)`), with PyTorch's defaults for
//! the arguments left out, and their state as named tensors for checkpoints.
//!
//! The update rules ([`RmsProp`], [`Adam`], [`Sgd`], [`clip_grad_norm`]) are PyTorch's, on host
//! copies of the parameters in float64. Per-parameter state is saved as `optim.<name>.<index>`
//! (only for parameters that have received a gradient), plus `optim.step` for Adam's counters
//! (one per parameter, as PyTorch's).

use mcmr_dsl::plan::Setting;
use std::collections::BTreeMap;

/// One of the supported optimisers.
pub enum Optimizer {
    RmsProp(RmsProp),
    Adam(Adam),
    Sgd(Sgd),
}

fn number(e: &Setting) -> Result<f64, String> {
    match (e.num(), e.bool()) {
        (Some(v), _) => Ok(v),
        (None, Some(b)) => Ok(f64::from(u8::from(b))),
        _ => Err("expected a number".into()),
    }
}

impl Optimizer {
    /// The optimiser of `optimizer = name(arg = value, ...)`.
    pub fn from_call(e: &Setting) -> Result<Optimizer, String> {
        match e.call() {
            Some(c) => Optimizer::new(&c.name, &c.args),
            None => Err("an optimizer is a call such as `adam(lr = 1e-4)`".into()),
        }
    }

    /// The optimiser `name` with the given named arguments.
    pub fn new(name: &str, args: &[(Option<String>, Setting)]) -> Result<Optimizer, String> {
        let mut get = BTreeMap::new();
        for (key, value) in args {
            let key = key.clone().ok_or(format!("`{name}` takes named arguments"))?;
            let value = number(value).map_err(|e| format!("`{name}({key} = ...)`: {e}"))?;
            get.insert(key, value);
        }
        let known: &[&str] = match name {
            "rmsprop" => &["lr", "alpha", "eps", "weight_decay"],
            "adam" | "adamw" => &["lr", "beta1", "beta2", "eps", "weight_decay"],
            "sgd" => &["lr", "momentum", "weight_decay", "nesterov"],
            other => return Err(format!("optimizer `{other}` is not supported (rmsprop, adam, adamw, sgd)")),
        };
        if let Some(k) = get.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("`{name}` has no argument `{k}` (expected {})", known.join(", ")));
        }
        let v = |k: &str, d: f64| get.get(k).copied().unwrap_or(d);
        let (b1, b2, eps) = (v("beta1", 0.9), v("beta2", 0.999), v("eps", 1e-8));
        Ok(match name {
            "rmsprop" => Optimizer::RmsProp(RmsProp::new(
                v("lr", 1e-2),
                v("alpha", 0.99),
                v("eps", 1e-8),
                v("weight_decay", 0.0),
            )),
            "adam" => Optimizer::Adam(Adam::adam(v("lr", 1e-3), b1, b2, eps, v("weight_decay", 0.0))),
            "adamw" => Optimizer::Adam(Adam::adamw(v("lr", 1e-3), b1, b2, eps, v("weight_decay", 1e-2))),
            _ => Optimizer::Sgd(Sgd::new(
                v("lr", 1e-3),
                v("momentum", 0.0),
                v("weight_decay", 0.0),
                v("nesterov", 0.0) != 0.0,
            )),
        })
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::RmsProp(o) => o.lr,
            Optimizer::Adam(o) => o.lr,
            Optimizer::Sgd(o) => o.lr,
        }
    }

    /// Sets the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::RmsProp(o) => o.lr = lr,
            Optimizer::Adam(o) => o.lr = lr,
            Optimizer::Sgd(o) => o.lr = lr,
        }
    }

    /// One step on host copies of the parameters.
    pub fn step(&mut self, p: &mut [Vec<f64>], g: &[Option<Vec<f64>>]) {
        match self {
            Optimizer::RmsProp(o) => o.step(p, g),
            Optimizer::Adam(o) => o.step(p, g),
            Optimizer::Sgd(o) => o.step(p, g),
        }
    }

    /// The per-parameter buffers by name (`m`, `v`, `square_avg`, `momentum_buffer`), host side.
    pub(crate) fn host_buffers(&self) -> Vec<(&'static str, &Vec<Option<Vec<f64>>>)> {
        self.buffers()
    }

    pub(crate) fn host_buffers_mut(&mut self) -> Vec<(&'static str, &mut Vec<Option<Vec<f64>>>)> {
        self.buffers_mut()
    }

    /// Counts one step for each parameter with a gradient (Adam's bias corrections; PyTorch
    /// counts per parameter) and returns the counts (zeros for the other optimisers).
    pub(crate) fn count_steps(&mut self, has_grad: Vec<bool>) -> Vec<u32> {
        match self {
            Optimizer::Adam(o) => {
                o.steps.resize(has_grad.len(), 0);
                for (s, g) in o.steps.iter_mut().zip(&has_grad) {
                    *s += u32::from(*g);
                }
                o.steps.clone()
            }
            _ => vec![0; has_grad.len()],
        }
    }

    fn buffers(&self) -> Vec<(&'static str, &Vec<Option<Vec<f64>>>)> {
        match self {
            Optimizer::RmsProp(o) => vec![("square_avg", &o.square_avg)],
            Optimizer::Adam(o) => vec![("m", &o.m), ("v", &o.v)],
            Optimizer::Sgd(o) => vec![("momentum_buffer", &o.buf)],
        }
    }

    fn buffers_mut(&mut self) -> Vec<(&'static str, &mut Vec<Option<Vec<f64>>>)> {
        match self {
            Optimizer::RmsProp(o) => vec![("square_avg", &mut o.square_avg)],
            Optimizer::Adam(o) => vec![("m", &mut o.m), ("v", &mut o.v)],
            Optimizer::Sgd(o) => vec![("momentum_buffer", &mut o.buf)],
        }
    }

    /// The state as named float64 vectors (`optim.m.3`, `optim.step`, ...).
    pub fn state(&self) -> BTreeMap<String, Vec<f64>> {
        let mut out = BTreeMap::new();
        for (name, bufs) in self.buffers() {
            for (i, b) in bufs.iter().enumerate() {
                if let Some(b) = b {
                    out.insert(format!("optim.{name}.{i}"), b.clone());
                }
            }
        }
        if let Optimizer::Adam(o) = self {
            // One step count per parameter, as PyTorch keeps `state[p]["step"]`: a parameter that
            // joins later (IGKR's modules, stage by stage) starts its bias correction at 1.
            let steps: Vec<f64> = o.steps.iter().map(|&s| f64::from(s)).collect();
            out.insert("optim.step".into(), steps);
        }
        out
    }

    /// Restores a state saved by [`Optimizer::state`] for `n_params` parameters; an entry of the
    /// wrong kind or index is an error (a checkpoint from another optimiser or network).
    pub fn load_state(&mut self, state: &BTreeMap<String, Vec<f64>>, n_params: usize) -> Result<(), String> {
        let mut used = 0;
        if let Optimizer::Adam(o) = self {
            if let Some(s) = state.get("optim.step") {
                o.steps = s.iter().map(|&v| v as u32).collect();
                if o.steps.len() == 1 && n_params > 1 {
                    // A checkpoint of one shared count (kit ≤ 0.1 before per-parameter counts).
                    o.steps = vec![o.steps[0]; n_params];
                }
                used += 1;
            }
        }
        for (name, bufs) in self.buffers_mut() {
            bufs.clear();
            bufs.resize(n_params, None);
            for (i, slot) in bufs.iter_mut().enumerate() {
                if let Some(v) = state.get(&format!("optim.{name}.{i}")) {
                    *slot = Some(v.clone());
                    used += 1;
                }
            }
        }
        if used != state.len() {
            let unknown: Vec<&String> = state.keys().filter(|k| !self.state_key_known(k, n_params)).collect();
            return Err(format!("optimiser state entries that do not belong to this optimiser: {unknown:?}"));
        }
        Ok(())
    }

    fn state_key_known(&self, key: &str, n_params: usize) -> bool {
        if key == "optim.step" {
            return matches!(self, Optimizer::Adam(_));
        }
        self.buffers().iter().any(|(name, _)| {
            key.strip_prefix(&format!("optim.{name}."))
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i < n_params)
        })
    }
}

/// One RMSprop step as PyTorch computes it (`alpha`, `eps` outside the square root, no
/// momentum, no centring): `v = α·v + (1 − α)·g²`, `p = p − lr·g/(√v + ε)`; weight decay adds
/// `wd·p` to `g` first. Parameters without a gradient are skipped, as PyTorch skips them.
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub(crate) square_avg: Vec<Option<Vec<f64>>>,
}

impl RmsProp {
    pub fn new(lr: f64, alpha: f64, eps: f64, weight_decay: f64) -> Self {
        RmsProp { lr, alpha, eps, weight_decay, square_avg: Vec::new() }
    }

    /// Updates host copies of the parameters in place from their gradients.
    pub fn step(&mut self, params: &mut [Vec<f64>], grads: &[Option<Vec<f64>>]) {
        self.square_avg.resize(params.len(), None);
        for ((p, g), v) in params.iter_mut().zip(grads).zip(self.square_avg.iter_mut()) {
            let Some(g) = g else { continue };
            let v = v.get_or_insert_with(|| vec![0.0; p.len()]);
            for i in 0..p.len() {
                let gi = g[i] + self.weight_decay * p[i];
                v[i] = self.alpha * v[i] + (1.0 - self.alpha) * gi * gi;
                p[i] -= self.lr * gi / (v[i].sqrt() + self.eps);
            }
        }
    }
}

/// Adam and AdamW as PyTorch computes them (`torch.optim.Adam`/`AdamW`, no amsgrad):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)`.
/// Weight decay is decoupled for AdamW (`p ← p·(1 − lr·wd)` first) and an L2 term for Adam
/// (`g ← g + wd·p` first). Parameters without a gradient are skipped (no update, no decay), as
/// PyTorch skips them.
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW's decoupled decay rather than Adam's L2 term.
    pub decoupled: bool,
    /// Steps taken per parameter (those without a gradient at a step do not count).
    pub(crate) steps: Vec<u32>,
    pub(crate) m: Vec<Option<Vec<f64>>>,
    pub(crate) v: Vec<Option<Vec<f64>>>,
}

impl Adam {
    /// `torch.optim.Adam` (PyTorch's default weight decay: 0).
    pub fn adam(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Self {
        Adam { lr, beta1, beta2, eps, weight_decay, decoupled: false, steps: Vec::new(), m: Vec::new(), v: Vec::new() }
    }

    /// `torch.optim.AdamW` (PyTorch's default weight decay: 0.01).
    pub fn adamw(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Self {
        Adam { decoupled: true, ..Adam::adam(lr, beta1, beta2, eps, weight_decay) }
    }

    /// Updates host copies of the parameters in place from their gradients.
    pub fn step(&mut self, params: &mut [Vec<f64>], grads: &[Option<Vec<f64>>]) {
        self.m.resize(params.len(), None);
        self.v.resize(params.len(), None);
        self.steps.resize(params.len(), 0);
        let all = params.iter_mut().zip(grads).zip(self.m.iter_mut()).zip(self.v.iter_mut()).zip(self.steps.iter_mut());
        for ((((p, g), m), v), step) in all {
            let Some(g) = g else { continue };
            *step += 1;
            let bc1 = 1.0 - self.beta1.powi(*step as i32);
            let bc2 = 1.0 - self.beta2.powi(*step as i32);
            let m = m.get_or_insert_with(|| vec![0.0; p.len()]);
            let v = v.get_or_insert_with(|| vec![0.0; p.len()]);
            for i in 0..p.len() {
                let gi = if self.decoupled {
                    p[i] *= 1.0 - self.lr * self.weight_decay;
                    g[i]
                } else {
                    g[i] + self.weight_decay * p[i]
                };
                m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * gi;
                v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * gi * gi;
                let denom = v[i].sqrt() / bc2.sqrt() + self.eps;
                p[i] -= self.lr / bc1 * m[i] / denom;
            }
        }
    }
}

/// SGD as PyTorch computes it (`torch.optim.SGD`, dampening 0): `g ← g + wd·p`; with momentum
/// `b ← g` on the first step and `b ← μb + g` after, then `g ← b` (or `g + μb` with Nesterov);
/// `p ← p − lr·g`. Parameters without a gradient are skipped.
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub(crate) buf: Vec<Option<Vec<f64>>>,
}

impl Sgd {
    pub fn new(lr: f64, momentum: f64, weight_decay: f64, nesterov: bool) -> Self {
        Sgd { lr, momentum, weight_decay, nesterov, buf: Vec::new() }
    }

    /// Updates host copies of the parameters in place from their gradients.
    pub fn step(&mut self, params: &mut [Vec<f64>], grads: &[Option<Vec<f64>>]) {
        self.buf.resize(params.len(), None);
        for ((p, g), buf) in params.iter_mut().zip(grads).zip(self.buf.iter_mut()) {
            let Some(g) = g else { continue };
            let first = buf.is_none();
            let b = buf.get_or_insert_with(|| vec![0.0; p.len()]);
            for i in 0..p.len() {
                let mut gi = g[i] + self.weight_decay * p[i];
                if self.momentum != 0.0 {
                    b[i] = if first { gi } else { self.momentum * b[i] + gi };
                    gi = if self.nesterov { gi + self.momentum * b[i] } else { b[i] };
                }
                p[i] -= self.lr * gi;
            }
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_` (L2): scales every gradient by `max_norm/(total + 1e-6)`
/// when that is below 1. Returns the total norm before clipping.
pub fn clip_grad_norm(grads: &mut [Option<Vec<f64>>], max_norm: f64) -> f64 {
    let total = grads.iter().flatten().flat_map(|g| g.iter()).map(|x| x * x).sum::<f64>().sqrt();
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut().flatten() {
            g.iter_mut().for_each(|x| *x *= coef);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values below are PyTorch's documented update rules worked by hand for one scalar
    // parameter p = 1 with gradient 0.5 on both steps.

    #[test]
    fn adam_counts_steps_per_parameter_as_pytorch_does() {
        // Parameter 1 has no gradient for two steps, then joins (a module added by a later
        // training stage): its first update is PyTorch's first Adam step, lr·g/(|g| + eps'),
        // whatever parameter 0 did before.
        let mut o = Adam::adam(0.1, 0.9, 0.999, 1e-8, 0.0);
        let mut p = [vec![1.0], vec![2.0]];
        o.step(&mut p, &[Some(vec![0.5]), None]);
        o.step(&mut p, &[Some(vec![0.5]), None]);
        assert_eq!(p[1], vec![2.0]);
        o.step(&mut p, &[Some(vec![0.5]), Some(vec![-4.0])]);
        assert!((p[1][0] - 2.1).abs() < 1e-8, "{}", p[1][0]);
        assert_eq!(o.steps, [3, 1]);
        // The counts travel with the state, and a one-count state of older checkpoints is
        // read as every parameter's count.
        let state = Optimizer::Adam(o).state();
        assert_eq!(state["optim.step"], [3.0, 1.0]);
        let mut back = Optimizer::Adam(Adam::adam(0.1, 0.9, 0.999, 1e-8, 0.0));
        back.load_state(&state, 2).unwrap();
        let mut old = state.clone();
        old.insert("optim.step".into(), vec![7.0]);
        back.load_state(&old, 2).unwrap();
        let Optimizer::Adam(a) = back else { unreachable!() };
        assert_eq!(a.steps, [7, 7]);
    }

    #[test]
    fn sgd_follows_pytorchs_momentum_nesterov_and_weight_decay() {
        let g = [Some(vec![0.5])];
        let mut p = [vec![1.0]];
        let mut o = Sgd::new(0.1, 0.9, 0.1, false);
        o.step(&mut p, &g); // g' = 0.6, b = 0.6, p = 0.94
        assert!((p[0][0] - 0.94).abs() < 1e-15, "{}", p[0][0]);
        o.step(&mut p, &g); // g' = 0.594, b = 0.9·0.6 + 0.594 = 1.134, p = 0.8266
        assert!((p[0][0] - 0.8266).abs() < 1e-14, "{}", p[0][0]);
        let mut p = [vec![1.0]];
        let mut o = Sgd::new(0.1, 0.9, 0.0, true);
        o.step(&mut p, &g); // b = 0.5, g = 0.5 + 0.45 = 0.95, p = 0.905
        assert!((p[0][0] - 0.905).abs() < 1e-15, "{}", p[0][0]);
        let mut p = [vec![1.0], vec![2.0]];
        Sgd::new(0.1, 0.0, 0.0, false).step(&mut p, &[Some(vec![0.5]), None]);
        assert_eq!(p, [vec![0.95], vec![2.0]], "a parameter without gradient is skipped");
    }

    #[test]
    fn adam_couples_weight_decay_and_adamw_decouples_it() {
        let g = [Some(vec![0.5])];
        // Adam, wd 0.1: g' = 0.6; m̂ = 0.6, v̂ = 0.36, so p = 1 − 0.1·0.6/(0.6 + 1e-8).
        let mut p = [vec![1.0]];
        Adam::adam(0.1, 0.9, 0.999, 1e-8, 0.1).step(&mut p, &g);
        assert!((p[0][0] - (1.0 - 0.1 * 0.6 / (0.6 + 1e-8))).abs() < 1e-15, "{}", p[0][0]);
        // AdamW, wd 0.1: p = 1·(1 − 0.01) = 0.99; m̂ = 0.5, v̂ = 0.25: p = 0.99 − 0.1·0.5/(0.5 + 1e-8).
        let mut p = [vec![1.0]];
        Adam::adamw(0.1, 0.9, 0.999, 1e-8, 0.1).step(&mut p, &g);
        assert!((p[0][0] - (0.99 - 0.1 * 0.5 / (0.5 + 1e-8))).abs() < 1e-15, "{}", p[0][0]);
    }

    #[test]
    fn state_round_trip_continues_identically() {
        for name in ["adamw", "rmsprop", "sgd"] {
            let text =
                if name == "sgd" { "sgd(lr = 0.1, momentum = 0.9)".to_string() } else { format!("{name}(lr = 0.1)") };
            let value = &mcmr_dsl::plan::parse_setting(&text).unwrap();
            let g = [Some(vec![0.5, -0.25]), None];
            let mut a = Optimizer::from_call(value).unwrap();
            let mut pa = [vec![1.0, 2.0], vec![3.0]];
            a.step(&mut pa, &g);
            let after_one = pa.clone();
            let mut b = Optimizer::from_call(value).unwrap();
            b.load_state(&a.state(), 2).unwrap();
            let mut pb = pa.clone();
            a.step(&mut pa, &g);
            b.step(&mut pb, &g);
            assert_eq!(pa, pb, "{name}: a restored optimiser takes the same step");
            let mut c = Optimizer::from_call(value).unwrap();
            let mut pc = after_one;
            c.step(&mut pc, &g);
            assert_ne!(pc, pa, "{name}: a fresh optimiser would not (the test can fail)");
        }
    }

    #[test]
    fn foreign_state_is_refused() {
        let mut o = Optimizer::new("sgd", &[]).unwrap();
        let s = BTreeMap::from([("optim.m.0".to_string(), vec![1.0])]);
        assert!(o.load_state(&s, 1).unwrap_err().contains("optim.m.0"));
    }
}
