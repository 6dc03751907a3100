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
        if json {
            say!("{}", serde_json::to_string(&r)?);
        } else {
            say_raw!("{}", mcmr::experiment::report::runs_table(&[(run_dir.display().to_string(), r)]).0);
        }
        Ok(())
    }
}
