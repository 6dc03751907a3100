//! `mcmr notebook`: build and verify notebooks.

use super::*;

/// `mcmr notebook build`: each source `X.rs` → `X.ipynb`, or with `check` a failure naming
/// every stale `.ipynb`.
fn notebook_build(paths: &[PathBuf], check: bool) -> Result<()> {
    let mut sources = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read `{}`", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "rs"))
                .collect();
            found.sort();
            sources.extend(found);
        } else {
            sources.push(p.clone());
        }
    }
    if sources.is_empty() {
        anyhow::bail!(
            "no notebook sources (`*.rs`) in {}",
            paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
        );
    }
    let mut stale = Vec::new();
    for src in &sources {
        let text = std::fs::read_to_string(src).with_context(|| format!("cannot read `{}`", src.display()))?;
        let cells =
            mcmr::notebook::ipynb::parse_percent(&text, &src.display().to_string()).map_err(anyhow::Error::msg)?;
        let ipynb = src.with_extension("ipynb");
        let json = mcmr::notebook::ipynb::to_ipynb(&cells);
        if check {
            if std::fs::read_to_string(&ipynb).ok().as_deref() != Some(json.as_str()) {
                stale.push(ipynb);
            } else {
                say!("ok {} ({} cells)", ipynb.display(), cells.len());
            }
        } else {
            mcmr::io::write_atomic(&ipynb, json.as_bytes())?;
            say!("wrote {} ({} cells)", ipynb.display(), cells.len());
        }
    }
    if !stale.is_empty() {
        anyhow::bail!(
            "{} differ(s) from its source: run `mcmr notebook build {}`",
            stale.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", "),
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum NotebookCommand {
    /// Write `NAME.ipynb` beside each percent-format source `NAME.rs` (outputs empty).
    Build {
        /// Sources, or folders whose `*.rs` files are sources.
        paths: Vec<PathBuf>,
        /// Write nothing; fail when an `.ipynb` differs from its source.
        #[arg(long)]
        check: bool,
    },
    /// Check an executed notebook and the verdict it wrote; fail on any failed cell or check.
    Verify {
        executed: PathBuf,
        /// The notebook's verdict.json.
        #[arg(long)]
        verdict: PathBuf,
        /// The name the verdict must carry (default: the executed file's stem).
        #[arg(long)]
        name: Option<String>,
    },
}

impl NotebookCommand {
    pub fn run(self) -> Result<()> {
        match self {
            NotebookCommand::Build { paths, check } => {
                notebook_build(&paths, check)?;
            }
            NotebookCommand::Verify { executed, verdict, name } => {
                let text = std::fs::read_to_string(&executed)
                    .with_context(|| format!("cannot read `{}`", executed.display()))?;
                let v = std::fs::read_to_string(&verdict).ok();
                let name = name.unwrap_or_else(|| {
                    executed.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
                });
                let problems = mcmr::notebook::ipynb::verify(&text, v.as_deref(), &name);
                for p in &problems {
                    say!("FAIL {name}: {p}");
                }
                if !problems.is_empty() {
                    anyhow::bail!("notebook `{name}` failed ({} problem(s))", problems.len());
                }
                say!("PASS {name}: every cell ran, no panic or error, verdict passed");
            }
        }
        Ok(())
    }
}
