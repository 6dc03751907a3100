//! `mcmr mask`: make an undersampling mask.

use super::*;

#[derive(clap::Args, Clone)]
pub struct MaskArgs {
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
    pub fn params(&self, family: &str, shape: [usize; 2]) -> Result<MaskParams> {
        let (family, rounding) = MaskFamily::parse_with_preset(family)?;
        let seed = match (&self.seed, &self.seed_name) {
            (_, Some(name)) => Seed::from_name(name),
            (Some(n), None) => Seed::Int(*n),
            (None, None) => Seed::Int(0),
        };
        Ok(MaskParams {
            family,
            shape,
            acceleration: self.acceleration,
            center_fraction: self.center_fraction,
            seed,
            rounding,
        })
    }
}

pub(crate) fn parse_shape(s: &str) -> std::result::Result<[usize; 2], String> {
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

#[derive(clap::Args)]
pub struct MaskCmd {
    /// random, equispaced, equispaced_fraction, magic, magic_fraction, gaussian_1d,
    /// center_square, random_2d, gaussian_2d, radial, spiral, poisson_disc; or a preset:
    /// unifs_equispace (equispaced_fraction with floor rounding)
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
}

impl MaskCmd {
    pub fn run(self) -> Result<()> {
        let MaskCmd { family, shape, mask, json, png } = self;
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
        if params.rounding != mcmr::masks::Rounding::Nearest {
            v["rounding"] = serde_json::json!(params.rounding.name());
        }
        if let (Some(cols), Some(n_low)) = (&m.sampled_columns, m.num_low_frequencies) {
            v["sampled_columns"] = serde_json::json!(cols);
            v["num_low_frequencies"] = serde_json::json!(n_low);
        } else {
            v["sampled_fraction"] = serde_json::json!(m.sampled_fraction());
        }
        if json {
            say!("{}", serde_json::to_string(&v)?);
        } else {
            say!(
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
        Ok(())
    }
}
