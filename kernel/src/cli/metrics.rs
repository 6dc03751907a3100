//! `mcmr metrics`: score a prediction under a protocol.

use super::*;

#[derive(clap::Args)]
pub struct MetricsCmd {
    /// Ground truth: .npy (2D or [slices, H, W]) or NIfTI.
    #[arg(long)]
    gt: PathBuf,
    /// Prediction, same shape as the ground truth.
    #[arg(long)]
    pred: PathBuf,
    /// fastmri-volume, slice-mean, fsmnet-brats-uint8 or unifs-unit
    #[arg(long)]
    protocol: String,
    #[arg(long)]
    json: bool,
}

impl MetricsCmd {
    pub fn run(self) -> Result<()> {
        let MetricsCmd { gt, pred, protocol, json } = self;
        let protocol = Protocol::parse(&protocol)?;
        let g = read_volume(&gt)?;
        let p = read_volume(&pred)?;
        let r = evaluate(protocol, &g, &p)
            .with_context(|| format!("comparing `{}` with `{}`", pred.display(), gt.display()))?;
        if json {
            let v = serde_json::json!({
                "protocol": r.protocol, "psnr": r.psnr, "ssim": r.ssim, "nmse": r.nmse,
                "nrmse": r.nrmse, "mse": r.mse, "slices": r.per_slice.len(),
            });
            say!("{}", serde_json::to_string(&v)?);
        } else {
            say!("{}: PSNR {:.4} dB, SSIM {:.5}, NMSE {:.6}", r.protocol, r.psnr, r.ssim, r.nmse);
        }
        Ok(())
    }
}
