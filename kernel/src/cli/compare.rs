//! `mcmr compare`: compare a run with expected and published numbers.

use super::*;

#[derive(clap::Args)]
pub struct CompareCmd {
    run_dir: PathBuf,
    /// The reference_results folder.
    #[arg(long, default_value = "reference_results")]
    references: PathBuf,
}

impl CompareCmd {
    pub fn run(self) -> Result<()> {
        let CompareCmd { run_dir, references } = self;
        let text = mcmr::experiment::reference::compare_run(&run_dir, &references).map_err(anyhow::Error::msg)?;
        say_raw!("{text}");
        Ok(())
    }
}
