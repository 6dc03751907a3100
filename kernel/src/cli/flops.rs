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
