//! `mcmr resume`: continue a run.

use super::*;

#[derive(clap::Args)]
pub struct ResumeCmd {
    run_dir: PathBuf,
    /// No progress on stderr.
    #[arg(long)]
    quiet: bool,
}

impl ResumeCmd {
    pub fn run(self) -> Result<()> {
        let ResumeCmd { run_dir, quiet } = self;
        let o = mcmr::experiment::resume(&run_dir, !quiet).map_err(anyhow::Error::msg)?;
        let rows = vec![(format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone())];
        say_raw!("{}", mcmr::experiment::report::runs_table(&rows).0);
        Ok(())
    }
}
