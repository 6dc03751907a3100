//! The optimisers a spec names (`optimizer = adamw(lr = 1e-4, ...)`), with PyTorch's defaults for
//! the arguments left out, and their state as named tensors for checkpoints.
//!
//! The update rules live in [`crate::model`] ([`RmsProp`], [`Adam`], [`Sgd`]); they work on host
//! copies of the parameters in float64. Per-parameter state is saved as `optim.<name>.<index>`
//! (only for parameters that have received a gradient), plus `optim.step` for Adam's counter.

use crate::model::{Adam, RmsProp, Sgd};
use mcmr_dsl::ast::{Arg, Expr, ExprKind};
use std::collections::BTreeMap;

/// One of the supported optimisers.
pub enum Optimizer {
    RmsProp(RmsProp),
    Adam(Adam),
    Sgd(Sgd),
}

fn number(e: &Expr) -> Result<f64, String> {
    match e.kind {
        ExprKind::Float(f) => Ok(f),
        ExprKind::Int(i) => Ok(i as f64),
        ExprKind::Bool(b) => Ok(f64::from(u8::from(b))),
        _ => Err("expected a number".into()),
    }
}

impl Optimizer {
    /// The optimiser of `optimizer = name(arg = value, ...)`.
    pub fn from_call(e: &Expr) -> Result<Optimizer, String> {
        match &e.kind {
            ExprKind::Call { name, args, .. } => Optimizer::new(&name.name, args),
            _ => Err("an optimizer is a call such as `adam(lr = 1e-4)`".into()),
        }
    }

    /// The optimiser `name` with the given named arguments.
    pub fn new(name: &str, args: &[Arg]) -> Result<Optimizer, String> {
        let mut get = BTreeMap::new();
        for a in args {
            let key = a.name.as_ref().map(|n| n.name.clone()).ok_or(format!("`{name}` takes named arguments"))?;
            let value = number(&a.value).map_err(|e| format!("`{name}({key} = ...)`: {e}"))?;
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
            out.insert("optim.step".into(), vec![f64::from(o.step)]);
        }
        out
    }

    /// Restores a state saved by [`Optimizer::state`] for `n_params` parameters; an entry of the
    /// wrong kind or index is an error (a checkpoint from another optimiser or network).
    pub fn load_state(&mut self, state: &BTreeMap<String, Vec<f64>>, n_params: usize) -> Result<(), String> {
        let mut used = 0;
        if let Optimizer::Adam(o) = self {
            if let Some(s) = state.get("optim.step") {
                o.step = s.first().copied().unwrap_or(0.0) as u32;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_continues_identically() {
        for name in ["adamw", "rmsprop", "sgd"] {
            let args = if name == "sgd" {
                mcmr_dsl::parse("experiment { optimizer = sgd(lr = 0.1, momentum = 0.9) }").unwrap()
            } else {
                mcmr_dsl::parse(&format!("experiment {{ optimizer = {name}(lr = 0.1) }}")).unwrap()
            };
            let mcmr_dsl::ast::Entry::Setting { value, .. } = &args.sections[0].entries[0] else { panic!() };
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
