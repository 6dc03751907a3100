//! Learning-rate schedules as PyTorch's `torch.optim.lr_scheduler` computes them, written as
//! closed forms of the step counter `t` (iterations or epochs, as the spec's `schedule_unit`
//! says; `t = 0` before the first scheduler step).
//!
//! PyTorch's `CosineAnnealingLR` updates recursively; without outside changes to the learning
//! rate its recursion equals the closed form used here (to rounding), including the restart
//! branch after `t_max` (the cosine continues with period `2·t_max`).

use mcmr_dsl::plan::Setting;

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// The base learning rate throughout.
    Constant,
    /// `StepLR`: `lr·γ^⌊t/step_size⌋`.
    Step { step_size: u64, gamma: f64 },
    /// `MultiStepLR`: `lr·γ^(number of milestones ≤ t)`, repeated milestones counting twice.
    MultiStep { milestones: Vec<u64>, gamma: f64 },
    /// `CosineAnnealingLR`: `η_min + (lr − η_min)·(1 + cos(π·t/t_max))/2`.
    Cosine { t_max: u64, eta_min: f64 },
}

impl Schedule {
    /// The learning rate at step `t` for base rate `base`.
    pub fn lr(&self, base: f64, t: u64) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => base * gamma.powi((t / step_size.max(&1)) as i32),
            Schedule::MultiStep { milestones, gamma } => {
                base * gamma.powi(milestones.iter().filter(|&&m| m <= t).count() as i32)
            }
            Schedule::Cosine { t_max, eta_min } => {
                let phase = std::f64::consts::PI * t as f64 / (*t_max).max(1) as f64;
                eta_min + (base - eta_min) * (1.0 + phase.cos()) / 2.0
            }
        }
    }

    /// A schedule from a spec's `schedule = name(arg = value, ...)` (checked by the spec's
    /// schema first), with PyTorch's defaults for `gamma` (0.1) and `eta_min` (0).
    pub fn from_call(e: &Setting) -> Result<Schedule, String> {
        let Some(call) = e.call() else {
            return Err("a schedule is a call such as `step(step_size = 30, gamma = 0.1)`".into());
        };
        let name = &call.name;
        let num = |k: &str, default: Option<f64>| -> Result<f64, String> {
            match call.arg(k) {
                Some(v) => v.num().ok_or_else(|| format!("`{name}({k} = ...)` must be a number")),
                None => default.ok_or_else(|| format!("`{name}` needs `{k}`")),
            }
        };
        let count = |k: &str| -> Result<u64, String> {
            match call.arg(k) {
                Some(v) => v
                    .int()
                    .filter(|&i| i >= 1)
                    .map(|i| i as u64)
                    .ok_or_else(|| format!("`{name}({k} = ...)` must be an integer ≥ 1")),
                None => Err(format!("`{name}` needs `{k}`")),
            }
        };
        match name.as_str() {
            "constant" => Ok(Schedule::Constant),
            "step" => Ok(Schedule::Step { step_size: count("step_size")?, gamma: num("gamma", Some(0.1))? }),
            "multistep" => {
                let Some(items) = call.arg("milestones").and_then(|v| v.list()) else {
                    return Err("`multistep` needs `milestones = [..]`".into());
                };
                let milestones = items
                    .iter()
                    .map(|m| m.count().map(|i| i as u64).ok_or("`multistep` milestones are integers ≥ 0".to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Schedule::MultiStep { milestones, gamma: num("gamma", Some(0.1))? })
            }
            "cosine" => Ok(Schedule::Cosine { t_max: count("t_max")?, eta_min: num("eta_min", Some(0.0))? }),
            other => Err(format!("unknown schedule `{other}` (constant, step, multistep, cosine)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Schedule {
        Schedule::from_call(&mcmr_dsl::plan::parse_setting(text).unwrap()).unwrap()
    }

    // Expected values are PyTorch's documented schedules worked by hand.
    #[test]
    fn step_and_multistep_decay_at_the_documented_steps() {
        let s = parse("step(step_size = 30)");
        assert_eq!(s, Schedule::Step { step_size: 30, gamma: 0.1 });
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b.abs().max(1e-300);
        assert!(close(s.lr(1e-3, 29), 1e-3) && close(s.lr(1e-3, 30), 1e-4) && close(s.lr(1e-3, 60), 1e-5));
        let m = parse("multistep(milestones = [2, 4, 4], gamma = 0.5)");
        let lrs: Vec<f64> = (0..6).map(|t| m.lr(1.0, t)).collect();
        assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.125, 0.125], "a repeated milestone decays twice");
        assert_eq!(parse("constant()").lr(0.3, 1000), 0.3);
    }

    #[test]
    fn cosine_reaches_eta_min_at_t_max_and_continues_periodically() {
        let c = parse("cosine(t_max = 10, eta_min = 0.1)");
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        assert!(close(c.lr(1.1, 0), 1.1));
        assert!(close(c.lr(1.1, 5), 0.6), "halfway: 0.1 + 1.0·(1 + 0)/2");
        assert!(close(c.lr(1.1, 10), 0.1));
        assert!(close(c.lr(1.1, 15), 0.6) && close(c.lr(1.1, 20), 1.1));
    }

    #[test]
    fn bad_schedules_name_the_problem() {
        let errors: Vec<String> = ["step(gamma = 0.5)", "warmup(n = 3)", "3"]
            .iter()
            .map(|t| Schedule::from_call(&mcmr_dsl::plan::parse_setting(t).unwrap()).unwrap_err())
            .collect();
        assert!(errors[0].contains("needs `step_size`"), "{errors:?}");
        assert!(errors[1].contains("unknown schedule `warmup`"), "{errors:?}");
        assert!(errors[2].contains("is a call"), "{errors:?}");
    }
}
