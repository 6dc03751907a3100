//! `mcmr check`: rerun or score the expected reproductions.

use super::*;

#[derive(clap::Args)]
pub struct CheckCmd {
    /// Only this paper (a folder of reference_results).
    #[arg(long)]
    paper: Option<String>,
    /// smoke (`<paper>/expected.json`, minutes; what CI runs) or reduced (`<paper>/reduced.json`,
    /// about an hour per paper on 2 CPU cores).
    #[arg(long, default_value = "smoke")]
    scale: String,
    #[arg(long, default_value = "reference_results")]
    references: PathBuf,
    /// Where the check's runs go (replaced on every check).
    #[arg(long, default_value = "runs/check")]
    out: PathBuf,
    /// Score the finished runs of an earlier `mcmr reproduce --out DIR` instead of rerunning
    /// them (those made by this kit version from the same spec text; others are rerun).
    #[arg(long)]
    runs: Option<PathBuf>,
}

impl CheckCmd {
    pub fn run(self) -> Result<()> {
        let CheckCmd { paper, scale, references, out, runs } = self;
        let report = mcmr::experiment::reference::check_scale(
            &references,
            paper.as_deref(),
            &scale,
            &out,
            runs.as_deref(),
            |line| say!("{line}"),
        )
        .map_err(anyhow::Error::msg)?;
        say!("{} passed, {} failed", report.passed, report.failed);
        if report.failed > 0 {
            std::process::exit(1);
        }
        Ok(())
    }
}
