//! `mcmr flops`: what an experiment's network computes on one slice, per module.

use super::*;

#[derive(clap::Args)]
pub struct FlopsCmd {
    spec: PathBuf,
    /// The experiment whose network, data and mask are counted.
    #[arg(long)]
    experiment: String,
    /// The scale whose settings apply (smoke or paper).
    #[arg(long, default_value = "smoke")]
    scale: String,
    /// A variant of the spec.
    #[arg(long)]
    variant: Option<String>,
    /// Network parameter override, KEY=VALUE (repeatable): e.g. the paper's sizes at smoke scale.
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// Square slices of this size instead of the data's.
    #[arg(long)]
    size: Option<usize>,
    #[arg(long)]
    json: bool,
}

/// `n` in units of `unit`, three significant decimals.
fn scaled(n: u64, unit: f64) -> String {
    format!("{:.3}", n as f64 / unit)
}

impl FlopsCmd {
    pub fn run(self) -> Result<()> {
        let variants = match &self.variant {
            Some(v) => mcmr::experiment::Variants::One(v.clone()),
            None => mcmr::experiment::Variants::Base,
        };
        let opts = mcmr::experiment::ReproduceOptions { scale: self.scale.clone(), variants, ..Default::default() };
        let overrides: Vec<(String, mcmr_dsl::check::Value)> =
            self.params.iter().map(|(k, v)| (k.clone(), mcmr_dsl::check::Value::parse_literal(v))).collect();
        let (report, [h, w], parameters) =
            mcmr::experiment::experiment_flops(&self.spec, &opts, &self.experiment, &overrides, self.size)
                .map_err(|e| anyhow::anyhow!(e))?;
        if self.json {
            let module = |c: &mcmr::model::flops::Cost| {
                serde_json::json!({
                    "weight_macs": c.weight_macs,
                    "attention_macs": c.attention_macs,
                    "other_flops": c.other_flops,
                    "total_flops": c.total_flops(),
                })
            };
            let v = serde_json::json!({
                "experiment": self.experiment,
                "scale": self.scale,
                "size": [h, w],
                "parameters": parameters,
                "modules": report.modules.iter().map(|(m, c)| (m.clone(), module(c))).collect::<serde_json::Map<_, _>>(),
                "total": module(&report.total),
            });
            say!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(());
        }
        say!("{} `{}` at {h}x{w} (one slice; {parameters} parameters)", self.spec.display(), self.experiment);
        // Giga for paper sizes, mega for smoke sizes.
        let (unit, p) = if report.total.total_flops() >= 1_000_000_000 { (1e9, "G") } else { (1e6, "M") };
        say!("| module | conv/linear {p}MACs | attention {p}MACs | other {p}FLOPs | total {p}FLOPs |");
        say!("|---|---|---|---|---|");
        for (m, c) in report.modules.iter().chain(std::iter::once(&("total".to_string(), report.total.clone()))) {
            say!(
                "| {m} | {} | {} | {} | {} |",
                scaled(c.weight_macs, unit),
                scaled(c.attention_macs, unit),
                scaled(c.other_flops, unit),
                scaled(c.total_flops(), unit)
            );
        }
        say!("(conv/linear MACs are what thop and ptflops count; fvcore adds the attention MACs; total = 2 x MACs + other)");
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct BenchTrainCmd {
    spec: PathBuf,
    /// The experiment whose network, batch, image size, loss and optimiser are timed (its last
    /// training stage: the whole network when training is staged).
    #[arg(long)]
    experiment: String,
    /// The scale whose settings apply; the data is always the embedded phantom at its size.
    #[arg(long, default_value = "paper")]
    scale: String,
    #[arg(long)]
    variant: Option<String>,
    /// cpu, or cuda (a build with `--features mcmr-kernel/cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Training steps to time.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// The run folder (replaced).
    #[arg(long, default_value = "runs/bench-train")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

impl BenchTrainCmd {
    pub fn run(self) -> Result<()> {
        let opts = mcmr::experiment::bench::BenchOptions {
            scale: self.scale,
            variant: self.variant,
            experiment: self.experiment,
            device: self.device,
            steps: self.steps,
        };
        let v = mcmr::experiment::bench::bench_train(&self.spec, &opts, &self.out).map_err(anyhow::Error::msg)?;
        if self.json {
            say!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(());
        }
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        say!(
            "{} `{}` at {} scale: {} ({} parameters), {}x{}, batch {}, on {} ({})",
            self.spec.display(),
            v["experiment"].as_str().unwrap_or("?"),
            v["scale"].as_str().unwrap_or("?"),
            v["network"].as_str().unwrap_or("?"),
            v["parameters"],
            v["size"][0],
            v["size"][1],
            v["batch_size"],
            v["device"].as_str().unwrap_or("?"),
            v["backend"].as_str().unwrap_or("?"),
        );
        say!(
            "{} steps: median {:.4} s ({:.2} steps/s), mean {:.4} s, first {:.3} s",
            v["steps"],
            f("median_step_s"),
            f("steps_per_second"),
            f("mean_step_s"),
            f("first_step_s")
        );
        say!(
            "{:.3} TFLOP per step (3 x {:.2} GFLOP forward per slice x batch): {:.3} TFLOP/s achieved",
            f("step_tflop"),
            f("forward_gflop_per_slice"),
            f("achieved_tflops")
        );
        say!(
            "peak host memory {:.2} GiB; data: the embedded phantom at the experiment's size",
            f("peak_host_memory_gib")
        );
        Ok(())
    }
}
