//! `mcmr fmt`: format specs.

use super::*;

#[derive(clap::Args)]
pub struct FmtCmd {
    files: Vec<PathBuf>,
    /// Do not write; exit 1 if a file is not formatted.
    #[arg(long)]
    check: bool,
}

impl FmtCmd {
    pub fn run(self) -> Result<()> {
        let FmtCmd { files, check } = self;
        anyhow::ensure!(!files.is_empty(), "give at least one spec file");
        let mut unformatted = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
            let spec = mcmr_dsl::parse(&text)
                .map_err(|d| anyhow::anyhow!("{}", d.render(&text, &file.display().to_string())))?;
            let formatted = mcmr_dsl::fmt::format(&spec, &text);
            if formatted != text {
                if check {
                    unformatted.push(file.display().to_string());
                } else {
                    mcmr::io::write_atomic(file, formatted.as_bytes())?;
                    say!("formatted {}", file.display());
                }
            }
        }
        if !unformatted.is_empty() {
            eprintln!("not formatted (run `mcmr fmt` on them): {}", unformatted.join(", "));
            std::process::exit(1);
        }
        Ok(())
    }
}
