//! Loading a spec for the kernel: read it with its imports, elaborate one network (with a
//! variant and parameter overrides), and return the sections as that variant sees them.
//! Diagnostics are rendered against the file they refer to.

use mcmr_dsl::check::{Checked, Value};
use mcmr_dsl::plan::Section;
use mcmr_dsl::Loaded;
use std::path::Path;

/// Reads `file` and its imports, then elaborates `network` (the last network of the file when
/// `None`) under `variant` and parameter `overrides`. Returns the sections with the variant
/// applied (top-level ones: `parity`, `weights`, ...), the elaborated graph and the loaded files; errors are rendered diagnostics.
pub fn load_spec(
    file: &Path,
    network: Option<&str>,
    variant: Option<&str>,
    overrides: &[(String, Value)],
) -> Result<(Vec<Section>, Checked, Loaded), String> {
    let loaded = read_spec(file)?;
    let checked = elaborate(&loaded, file, network, variant, overrides)?;
    Ok((loaded.sections(variant), checked, loaded))
}

/// The names the kernel owns, for the spec checker: mask families, metric protocols,
/// normalisations, folder layouts, intensity mappings, resizings and roundings, each from its
/// own module's list.
pub fn vocabulary() -> mcmr_dsl::sections::Vocabulary {
    mcmr_dsl::sections::Vocabulary {
        mask_families: crate::masks::MaskFamily::names().into_iter().map(String::from).collect(),
        protocols: crate::protocols::Protocol::ALL.iter().map(|p| p.name().to_string()).collect(),
        normalisations: crate::data::prepare::Normalisation::ALL.iter().map(|n| n.name().to_string()).collect(),
        layouts: crate::data::layout::Layout::ALL.iter().map(|l| l.name().to_string()).collect(),
        intensities: crate::data::dataset::Intensity::ALL.iter().map(|i| i.name().to_string()).collect(),
        resizes: crate::data::prepare::Resize::ALL.iter().map(|r| r.name().to_string()).collect(),
        roundings: crate::masks::Rounding::ALL.iter().map(|r| r.name().to_string()).collect(),
    }
}

/// Reads `file` and its imports.
pub fn read_spec(file: &Path) -> Result<Loaded, String> {
    match mcmr_dsl::load(file) {
        Ok(l) => Ok(l),
        Err((files, d)) if files.is_empty() => Err(d.message),
        Err((files, d)) => {
            let loaded = Loaded { files, spec: Default::default() };
            Err(loaded.render(&d))
        }
    }
}

/// Elaborates a network of a loaded spec.
pub fn elaborate(
    loaded: &Loaded,
    file: &Path,
    network: Option<&str>,
    variant: Option<&str>,
    overrides: &[(String, Value)],
) -> Result<Checked, String> {
    loaded.elaborate(network, variant.as_slice(), overrides).map_err(|errors| {
        let rendered: String = errors.iter().map(|d| loaded.render(d)).collect::<Vec<_>>().join("\n");
        format!("{rendered}\n{} error(s) in `{}`", errors.len(), file.display())
    })
}
