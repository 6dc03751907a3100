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
    #[arg(long)]
    json: bool,
}

impl EvaluateCmd {
    pub fn run(self) -> Result<()> {
        let EvaluateCmd { run_dir, data, figures, json } = self;
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
        if json {
            say!("{}", serde_json::to_string(&r)?);
        } else {
            say_raw!("{}", mcmr::experiment::report::runs_table(&[(run_dir.display().to_string(), r)]).0);
        }
        Ok(())
    }
}
