//! `mcmr evaluate`: evaluate a finished run again.

use super::*;

#[derive(clap::Args)]
pub struct EvaluateCmd {
    run_dir: PathBuf,
    #[arg(long)]
    data: Option<PathBuf>,
    /// Also draw the run's figures (reconstruction, error, mask, k-space, training) here.
    #[arg(long)]
    figures: Option<PathBuf>,
    /// Also score these outputs of the network (comma-separated, e.g. IGKR-Net's stages
    /// `i1,i2,i3,i4`): PSNR per slice against the target (pooled to a smaller output's size)
    /// at the target's span, as `kt-slice` scores a slice; their means follow the table.
    #[arg(long, value_delimiter = ',')]
    outputs: Vec<String>,
    #[arg(long)]
    json: bool,
}

impl EvaluateCmd {
    pub fn run(self) -> Result<()> {
        let EvaluateCmd { run_dir, data, figures, outputs, json } = self;
        let r = mcmr::experiment::evaluate_run(&run_dir, data.as_deref(), figures.as_deref())
            .map_err(anyhow::Error::msg)?;
        // Which subjects and slices were scored, on stderr (stdout keeps the table or the JSON).
        let mut subjects: Vec<(String, Vec<usize>)> = Vec::new();
        for s in &r.per_slice {
            match subjects.iter_mut().find(|(id, _)| *id == s.subject) {
                Some((_, slices)) => slices.push(s.slice),
                None => subjects.push((s.subject.clone(), vec![s.slice])),
            }
        }
        let listed: Vec<String> = subjects
            .iter()
            .map(|(id, sl)| {
                let (lo, hi) = (sl.iter().min().copied().unwrap_or(0), sl.iter().max().copied().unwrap_or(0));
                format!("{id} ({} slices, {lo}-{hi})", sl.len())
            })
            .collect();
        eprintln!(
            "scored {} slices of {} subjects from {} ({} part): {}",
            r.per_slice.len(),
            subjects.len(),
            data.as_ref().map(|d| format!("`{}`", d.display())).unwrap_or("the run's own data".into()),
            r.part,
            listed.join(", ")
        );
        // Each named output's PSNR per slice (the run's own evaluated slices), then its mean.
        let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let per_slice = if names.is_empty() {
            Vec::new()
        } else {
            mcmr::experiment::run_output_psnr_own_spec(&run_dir, &names).map_err(anyhow::Error::msg)?
        };
        let scored: Vec<(&str, Vec<f64>)> =
            names.iter().enumerate().map(|(k, n)| (*n, per_slice.iter().map(|s| s[k]).collect())).collect();
        if json {
            let mut v = serde_json::to_value(&r)?;
            if !scored.is_empty() {
                v["outputs"] = scored
                    .iter()
                    .map(|(n, p)| {
                        let (mean, std) = mcmr::protocols::mean_std(p);
                        (n.to_string(), serde_json::json!({ "psnr": { "mean": mean, "std": std }, "per_slice": p }))
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            say!("{}", serde_json::to_string(&v)?);
        } else {
            say_raw!("{}", mcmr::experiment::report::runs_table(&[(run_dir.display().to_string(), r)]).0);
            for (n, p) in &scored {
                let (mean, std) = mcmr::protocols::mean_std(p);
                say!("output `{n}`: PSNR {mean:.2} ± {std:.2} dB over {} slices", p.len());
            }
        }
        Ok(())
    }
}
