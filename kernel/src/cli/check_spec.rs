//! `mcmr check-spec`: check a spec and every run it declares.

use super::*;

#[derive(clap::Args)]
pub struct CheckSpecCmd {
    file: PathBuf,
    #[command(flatten)]
    net: NetworkArgs,
    #[arg(long)]
    json: bool,
}

impl CheckSpecCmd {
    pub fn run(self) -> Result<()> {
        let CheckSpecCmd { file, net: NetworkArgs { variant, params, network }, json } = self;
        let (_, checked, loaded) = load_spec(&file, network.as_deref(), variant.as_deref(), &params)?;
        let g = &checked.graph;
        // Without --variant, every variant is checked too (an ablation row must not rot).
        let mut variants = std::collections::BTreeMap::new();
        if variant.is_none() {
            for name in loaded.variants() {
                let (_, c, _) = load_spec(&file, network.as_deref(), Some(&name), &params)
                    .map_err(|e| anyhow::anyhow!("with --variant {name}:\n{e}"))?;
                variants.insert(name, c.graph.parameter_count());
            }
        }
        // Every run of every experiment, at each scale and under each variant, planned and
        // checked against the network it builds (settings, bindings, losses).
        let runs = mcmr::experiment::check_runs(&file).map_err(|e| anyhow::anyhow!(e))?;
        let warnings: Vec<_> = checked.warnings.iter().cloned().chain(loaded.experiment_warnings(None)).collect();
        if json {
            let v = serde_json::json!({
                "ok": true,
                "runs": runs,
                "network": g.name,
                "parameters": g.parameter_count(),
                "frozen": g.frozen_count(),
                "blocks": g.block_counts(),
                "variants": variants,
                "warnings": warnings.iter().map(|w| w.clone().locate(&loaded.files[w.file].text)).collect::<Vec<_>>(),
            });
            say!("{}", serde_json::to_string(&v)?);
        } else {
            for w in &warnings {
                eprint!("{}", loaded.render(w));
            }
            say!("{}: network `{}` ok, {} parameters", file.display(), g.name, g.parameter_count());
            for (block, n) in g.block_counts() {
                say!("  {block}: {n}");
            }
            for (name, n) in &variants {
                say!("variant `{name}` ok, {n} parameters");
            }
            if !runs.is_empty() {
                let mut scales: Vec<&str> = runs.iter().map(|r| r.scale.as_str()).collect();
                scales.dedup();
                say!("{} runs ok (experiments × variants at scales {})", runs.len(), scales.join(", "));
            }
        }
        Ok(())
    }
}
