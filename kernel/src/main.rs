//! `mcmr`: the mcmr-kit command-line tool.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use mcmr::io::volume::read_volume;
use mcmr::masks::{generate, MaskFamily, MaskParams};
use mcmr::protocols::{evaluate, Protocol};
use mcmr::rng::Seed;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "mcmr", version, about = "Reproduce multi-contrast MRI reconstruction papers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct MaskArgs {
    /// Acceleration factor (> 1).
    #[arg(long, default_value_t = 4.0)]
    acceleration: f64,
    /// Fraction of fully sampled centre lines (1D) or points (2D); the family's default if omitted.
    #[arg(long)]
    center_fraction: Option<f64>,
    /// Integer seed (numpy `RandomState(N)`).
    #[arg(long, conflicts_with = "seed_name")]
    seed: Option<u32>,
    /// fastMRI's per-file seed: the character codes of NAME (e.g. `file1000001.h5`).
    #[arg(long)]
    seed_name: Option<String>,
}

impl MaskArgs {
    fn params(&self, family: &str, shape: [usize; 2]) -> Result<MaskParams> {
        let family = MaskFamily::parse(family)?;
        let seed = match (&self.seed, &self.seed_name) {
            (_, Some(name)) => Seed::from_name(name),
            (Some(n), None) => Seed::Int(*n),
            (None, None) => Seed::Int(0),
        };
        Ok(MaskParams { family, shape, acceleration: self.acceleration, center_fraction: self.center_fraction, seed })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Make an undersampling mask and print or save it.
    Mask {
        /// random, equispaced, equispaced_fraction, magic, magic_fraction, unifs_equispace,
        /// gaussian_1d, center_square, random_2d, gaussian_2d, radial, spiral, poisson_disc
        family: String,
        /// k-space grid as H,W
        #[arg(long, value_parser = parse_shape)]
        shape: [usize; 2],
        #[command(flatten)]
        mask: MaskArgs,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
        /// Also write the mask as a PNG.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Score a prediction against a ground truth under a named protocol.
    Metrics {
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
    },
    /// Zero-filled reconstruction of the built-in image, scored under every protocol.
    ZeroFilled {
        /// Mask family.
        #[arg(long, default_value = "random")]
        family: String,
        /// Image size (square).
        #[arg(long, default_value_t = 240)]
        size: usize,
        #[command(flatten)]
        mask: MaskArgs,
        /// Output folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_shape(s: &str) -> std::result::Result<[usize; 2], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [h, w] => {
            let h: usize = h.parse().map_err(|_| format!("`{h}` is not a row count: expected H,W such as 320,320"))?;
            let w: usize =
                w.parse().map_err(|_| format!("`{w}` is not a column count: expected H,W such as 320,320"))?;
            Ok([h, w])
        }
        _ => Err(format!("`{s}` is not a shape: expected H,W such as 320,320")),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Mask { family, shape, mask, json, png } => {
            let params = mask.params(&family, shape)?;
            let m = generate(&params)?;
            if let Some(path) = png {
                mcmr::io::png::write_gray8(&path, m.width, m.height, &m.to_pixels())?;
            }
            let mut v = serde_json::json!({
                "family": params.family.name(),
                "shape": [m.height, m.width],
                "seed": params.seed.describe(),
                "achieved_acceleration": m.achieved_acceleration(),
                "mask_hash": m.hash_hex(),
            });
            if let (Some(cols), Some(n_low)) = (&m.sampled_columns, m.num_low_frequencies) {
                v["sampled_columns"] = serde_json::json!(cols);
                v["num_low_frequencies"] = serde_json::json!(n_low);
            } else {
                v["sampled_fraction"] = serde_json::json!(m.sampled_fraction());
            }
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else {
                println!(
                    "{} {}x{}: {} of {} points sampled, achieved acceleration {:.4}x (target {}x)",
                    params.family.name(),
                    m.height,
                    m.width,
                    m.sampled_count(),
                    m.height * m.width,
                    m.achieved_acceleration(),
                    params.acceleration
                );
            }
        }
        Command::Metrics { gt, pred, protocol, json } => {
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
                println!("{}", serde_json::to_string(&v)?);
            } else {
                println!("{}: PSNR {:.4} dB, SSIM {:.5}, NMSE {:.6}", r.protocol, r.psnr, r.ssim, r.nmse);
            }
        }
        Command::ZeroFilled { family, size, mask, out } => {
            let params = mask.params(&family, [size, size])?;
            let out = out.unwrap_or_else(mcmr::report::default_out_dir);
            let r = mcmr::report::zero_filled_report(&params, size, &out)?;
            print!("{}", mcmr::report::markdown(&r));
            println!("\nwritten to {}", out.display());
        }
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(if e.downcast_ref::<mcmr::masks::MaskError>().is_some() { 2 } else { 1 });
    }
}
