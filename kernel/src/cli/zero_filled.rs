//! `mcmr zero-filled`: the zero-filled report.

use super::*;

#[derive(clap::Args)]
pub struct ZeroFilledCmd {
    /// Mask family.
    #[arg(long, default_value = "random")]
    family: String,
    /// Phantom size (square); ignored with --data.
    #[arg(long, default_value_t = 240)]
    size: usize,
    /// brain or knee phantom; ignored with --data.
    #[arg(long, default_value = "brain")]
    phantom: String,
    /// A dataset folder (BraTS, IXI, HCP, knee, fastMRI .h5) or a fastMRI pair CSV.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Layout of --data (detected when omitted).
    #[arg(long)]
    layout: Option<String>,
    /// Target contrast of --data (default: the layout's usual one).
    #[arg(long)]
    target: Option<String>,
    /// Reference contrast of --data.
    #[arg(long)]
    reference: Option<String>,
    #[command(flatten)]
    mask: super::mask::MaskArgs,
    /// Output folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl ZeroFilledCmd {
    pub fn run(self) -> Result<()> {
        let ZeroFilledCmd { family, size, phantom, data, layout, target, reference, mask, out } = self;
        use mcmr::zero_filled::ReportData;
        let params = mask.params(&family, [size, size])?;
        let data = match data {
            Some(path) => {
                let layout =
                    layout.map(|l| mcmr::data::layout::Layout::parse(&l)).transpose().map_err(anyhow::Error::msg)?;
                ReportData::Folder { path, layout, target, reference }
            }
            None => {
                anyhow::ensure!((32..=1024).contains(&size), "--size {size}: expected 32 to 1024");
                let kind = mcmr::data::phantom::Kind::parse(&phantom).map_err(anyhow::Error::msg)?;
                ReportData::Phantom { kind, size, seed: 0 }
            }
        };
        let out = out.unwrap_or_else(mcmr::zero_filled::default_out_dir);
        let r = mcmr::zero_filled::zero_filled_report(&data, &params, &out)?;
        say_raw!("{}", mcmr::zero_filled::markdown(&r));
        say!("\nwritten to {}", out.display());
        Ok(())
    }
}
