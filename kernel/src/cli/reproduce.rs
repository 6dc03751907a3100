//! `mcmr reproduce`: train and evaluate what a spec declares.

use super::*;

#[derive(clap::Args)]
pub struct ReproduceCmd {
    spec: PathBuf,
    /// smoke (CPU minutes, phantom data), reduced (up to about an hour on a 2-core CPU, phantom
    /// data, where the orderings can show) or paper (the paper's settings and data).
    #[arg(long, default_value = "smoke")]
    scale: String,
    /// A variant of the spec, or `all` (the spec as written and every variant).
    #[arg(long)]
    variant: Option<String>,
    /// Only this experiment (repeatable; default: all of them).
    #[arg(long = "experiment")]
    experiments: Vec<String>,
    /// cpu, or cuda (a build with `--features mcmr-kernel/cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Runs go to OUT/<paper>/<variant>/<scale>/<experiment>/.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Data folder replacing the spec's data path (or the phantom).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Replace existing run folders.
    #[arg(long)]
    overwrite: bool,
    /// No progress on stderr (default: a bar per training stage on a terminal, plain lines
    /// elsewhere, and a line per finished run).
    #[arg(long)]
    quiet: bool,
    /// Take the runs finished under this earlier `--out` (by this kit version, from the same
    /// spec text) as they are; train only the others.
    #[arg(long)]
    reuse: Option<PathBuf>,
}

impl ReproduceCmd {
    pub fn run(self) -> Result<()> {
        let ReproduceCmd { spec, scale, variant, experiments, device, out, data, overwrite, quiet, reuse } = self;
        use mcmr::experiment::{reproduce, ReproduceOptions, Variants};
        let opts = ReproduceOptions {
            scale,
            variants: match variant.as_deref() {
                None => Variants::Base,
                Some("all") => Variants::All,
                Some(v) => Variants::One(v.to_string()),
            },
            experiments,
            device,
            out,
            data,
            overwrite,
            progress: !quiet,
            reuse,
        };
        let outcomes = reproduce(&spec, &opts).map_err(anyhow::Error::msg)?;
        let rows: Vec<(String, mcmr::experiment::evaluate::EvalResult)> = outcomes
            .iter()
            .map(|o| (format!("{}/{}", o.manifest.variant, o.manifest.experiment), o.results.clone()))
            .collect();
        say_raw!("{}", mcmr::experiment::report::runs_table(&rows).0);
        for o in &outcomes {
            say!("{}: {:.1} s", o.dir.display(), o.manifest.wall_time_s);
        }
        let paper = spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let comparison = opts.out.join(&paper).join(format!("{}-comparison.md", opts.scale));
        if let Ok(text) = std::fs::read_to_string(&comparison) {
            say!("\n{text}");
            say!("(written to {})", comparison.display());
        }
        Ok(())
    }
}
