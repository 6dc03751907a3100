//! `mcmr data`: make or inspect datasets.

use super::*;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Write a phantom dataset as NIfTI (brain: BraTS layout; knee: <id>/<id>_pd.nii.gz, _pdfs),
    /// or with `--format cc359` as measured complex k-space volumes (Train/, Val/, split.csv).
    Phantom {
        #[arg(long)]
        out: PathBuf,
        /// brain or knee
        #[arg(long, default_value = "brain")]
        kind: String,
        #[arg(long, default_value_t = 4)]
        subjects: usize,
        #[arg(long, default_value_t = 240)]
        size: usize,
        #[arg(long, default_value_t = 16)]
        slices: usize,
        #[arg(long, default_value_t = 0)]
        seed: u32,
        /// Complex Gaussian noise, standard deviation relative to each volume's maximum.
        #[arg(long, default_value_t = 0.0)]
        noise: f64,
        /// Leave out the tumour (brains).
        #[arg(long)]
        no_lesion: bool,
        /// nifti, or cc359: one contrast (brain T1, knee PD) with a smooth phase as raw uncentred
        /// k-space `.npy` volumes, intensities in the thousands (noise and --no-lesion unused)
        #[arg(long, default_value = "nifti")]
        format: String,
    },
    /// Report the subjects, contrasts and problems of a dataset folder.
    Inspect {
        path: PathBuf,
        /// brats, knee, ixi or hcp (detected when omitted)
        #[arg(long)]
        layout: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl DataCommand {
    pub fn run(self) -> Result<()> {
        match self {
            DataCommand::Phantom { out, kind, subjects, size, slices, seed, noise, no_lesion, format } => {
                use mcmr::data::phantom::{write_dataset, Kind, PhantomOptions};
                let kind = Kind::parse(&kind).map_err(anyhow::Error::msg)?;
                anyhow::ensure!((32..=1024).contains(&size), "--size {size}: expected 32 to 1024");
                anyhow::ensure!(subjects >= 1 && slices >= 1, "--subjects and --slices must be at least 1");
                anyhow::ensure!((0.0..1.0).contains(&noise), "--noise {noise}: expected a fraction in [0, 1)");
                if format == "cc359" {
                    let contrast = if kind == Kind::Brain { "t1" } else { "pd" };
                    let ids = mcmr::data::cc359::write_phantom_volumes(
                        &out, kind, contrast, subjects, size, slices, seed, 1e3,
                    )?;
                    say!(
                        "wrote {} volumes of {contrast} k-space ({}) and split.csv to {}",
                        ids.len(),
                        ids.join(", "),
                        out.display()
                    );
                    return Ok(());
                }
                anyhow::ensure!(format == "nifti", "--format {format}: expected nifti or cc359");
                let opts = PhantomOptions { noise, lesion: !no_lesion, ..Default::default() };
                let ids = write_dataset(&out, kind, subjects, size, slices, seed, &opts)?;
                say!("wrote {} subjects ({}) to {}", ids.len(), ids.join(", "), out.display());
            }
            DataCommand::Inspect { path, layout, json } => {
                use mcmr::data::layout::{inspect, Layout};
                let layout = layout.map(|l| Layout::parse(&l)).transpose().map_err(anyhow::Error::msg)?;
                let r = inspect(&path, layout);
                if json {
                    say!("{}", serde_json::to_string(&r)?);
                } else {
                    say!("{}: layout {}, {} subjects", path.display(), r.layout, r.subjects.len());
                    for s in &r.subjects {
                        let c: Vec<String> =
                            s.contrasts.iter().map(|(k, d)| format!("{k} {}x{}x{}", d[0], d[1], d[2])).collect();
                        say!("  {}: {}", s.id, c.join(", "));
                        for p in &s.problems {
                            say!("    problem: {p}");
                        }
                    }
                    for p in &r.problems {
                        say!("problem: {p}");
                    }
                    let bad = r.subjects.len() - r.good_subjects().len();
                    say!("{} usable subjects, {bad} with problems", r.good_subjects().len());
                }
            }
        }
        Ok(())
    }
}
