//! Finding subjects and contrasts in a folder of NIfTI volumes, and checking them.
//!
//! Layouts (contrast names are canonical: `t1`, `t1ce`, `t2`, `flair`, `pd`, `pdfs`):
//!
//! * **`brats`** — one folder per subject holding `<subject>_t1.nii.gz`, `_t1ce`, `_t2`, `_flair`
//!   (BraTS 2018–2021 naming) or `<subject>-t1n.nii.gz`, `-t1c`, `-t2w`, `-t2f` (BraTS 2023
//!   naming); `_seg` files are ignored.
//! * **`knee`** — the kit's knee phantom: one folder per subject with `<subject>_pd.nii.gz` and
//!   `<subject>_pdfs.nii.gz`.
//! * **`ixi`** — one folder per contrast whose name ends in `T1`, `T2` or `PD` (IXI's `IXI-T1/`,
//!   `IXI-T2/`, `IXI-PD/`), holding `<subject>-T1.nii.gz` etc.; the subject is the file name
//!   before the final `-T1` (`IXI002-Guys-0828`); no literal `IXI` prefix is required.
//! * **`hcp`** — one folder per subject; the first file (in path order, preferring names with
//!   `restore`) anywhere below it named `T1w*.nii[.gz]` or `T2w*.nii[.gz]`.
//!
//! [`inspect`] reads every file and reports **all** problems at once: missing contrasts,
//! contrasts of one subject with different shapes, unreadable or truncated files, unsupported
//! data types, NaN or infinite voxels, empty folders.

use crate::io::volume::{read_volume, Volume};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A dataset layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Brats,
    Knee,
    Ixi,
    Hcp,
    /// fastMRI single-coil HDF5: a folder of `.h5` volumes (one subject each, its contrast from
    /// the `acquisition` attribute) or a PD/PDFS pair CSV (one subject per pair).
    Fastmri,
}

impl Layout {
    pub const ALL: [Layout; 5] = [Layout::Brats, Layout::Knee, Layout::Ixi, Layout::Hcp, Layout::Fastmri];

    pub fn name(self) -> &'static str {
        match self {
            Layout::Brats => "brats",
            Layout::Knee => "knee",
            Layout::Ixi => "ixi",
            Layout::Hcp => "hcp",
            Layout::Fastmri => "fastmri",
        }
    }

    pub fn parse(s: &str) -> Result<Layout, String> {
        Layout::ALL.iter().copied().find(|l| l.name() == s).ok_or_else(|| {
            format!(
                "unknown layout `{s}` (known: {})",
                Layout::ALL.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// The contrasts every subject of this layout must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Layout::Brats => &["t1", "t1ce", "t2", "flair"],
            Layout::Knee => &["pd", "pdfs"],
            Layout::Ixi => &["t1", "t2", "pd"],
            Layout::Hcp => &["t1", "t2"],
            Layout::Fastmri => &["pd", "pdfs"],
        }
    }
}

/// One subject: its id and the file of each contrast found.
#[derive(Clone, Debug, PartialEq)]
pub struct SubjectFiles {
    pub id: String,
    pub files: BTreeMap<String, PathBuf>,
}

/// What a folder holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovery {
    pub layout: Layout,
    pub subjects: Vec<SubjectFiles>,
    /// Problems that concern the folder rather than one subject.
    pub problems: Vec<String>,
}

fn nifti_stem(name: &str) -> Option<&str> {
    name.strip_suffix(".nii.gz").or_else(|| name.strip_suffix(".nii"))
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// The canonical contrast of a BraTS/knee file name, given its subject folder name.
fn subject_folder_contrast(stem: &str) -> Option<&'static str> {
    let lower = stem.to_ascii_lowercase();
    let suffix = lower.rsplit(['_', '-']).next()?;
    Some(match suffix {
        "t1" | "t1n" => "t1",
        "t1ce" | "t1c" | "t1gd" => "t1ce",
        "t2" | "t2w" => "t2",
        "flair" | "t2f" => "flair",
        "pd" => "pd",
        "pdfs" => "pdfs",
        _ => return None,
    })
}

fn discover_subject_folders(root: &Path, layout: Layout) -> Discovery {
    let mut subjects = Vec::new();
    for dir in sorted_entries(root).into_iter().filter(|p| p.is_dir()) {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let entries = sorted_entries(&dir);
        let names: Vec<String> =
            entries.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        if !names.iter().any(|n| nifti_stem(n).is_some()) {
            continue; // not a subject folder (previews, notes, ...)
        }
        let mut files = BTreeMap::new();
        for (f, name) in entries.into_iter().zip(&names) {
            if let Some(c) = nifti_stem(name).and_then(subject_folder_contrast) {
                files.entry(c.to_string()).or_insert(f);
            }
        }
        subjects.push(SubjectFiles { id, files });
    }
    Discovery { layout, subjects, problems: Vec::new() }
}

fn discover_ixi(root: &Path) -> Discovery {
    let mut by_subject: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for dir in sorted_entries(root).into_iter().filter(|p| p.is_dir()) {
        let dname = dir.file_name().unwrap().to_string_lossy().to_ascii_uppercase();
        let Some(contrast) = ["T1", "T2", "PD"].into_iter().find(|c| dname.ends_with(c)) else { continue };
        for f in sorted_entries(&dir) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = nifti_stem(&name) else { continue };
            let tag = format!("-{contrast}");
            if let Some(id) = stem.strip_suffix(&tag).or_else(|| stem.strip_suffix(&tag.to_ascii_lowercase())) {
                by_subject.entry(id.to_string()).or_default().insert(contrast.to_ascii_lowercase(), f);
            }
        }
    }
    let subjects = by_subject.into_iter().map(|(id, files)| SubjectFiles { id, files }).collect();
    Discovery { layout: Layout::Ixi, subjects, problems: Vec::new() }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for p in sorted_entries(dir) {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn discover_hcp(root: &Path) -> Discovery {
    let mut subjects = Vec::new();
    for dir in sorted_entries(root).into_iter().filter(|p| p.is_dir()) {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut all = Vec::new();
        walk(&dir, &mut all);
        let mut files = BTreeMap::new();
        for (contrast, prefix) in [("t1", "T1w"), ("t2", "T2w")] {
            let mut matches: Vec<&PathBuf> = all
                .iter()
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with(prefix) && nifti_stem(&n).is_some()
                })
                .collect();
            matches.sort_by_key(|p| !p.to_string_lossy().contains("restore"));
            if let Some(p) = matches.first() {
                files.insert(contrast.to_string(), (*p).clone());
            }
        }
        subjects.push(SubjectFiles { id, files });
    }
    Discovery { layout: Layout::Hcp, subjects, problems: Vec::new() }
}

/// Finds the subjects under `root`; the layout is detected when not given.
pub fn discover(root: &Path, layout: Option<Layout>) -> Discovery {
    if !root.is_dir() {
        return Discovery {
            layout: layout.unwrap_or(Layout::Brats),
            subjects: Vec::new(),
            problems: vec![format!("`{}` is not a folder", root.display())],
        };
    }
    let layout = layout.unwrap_or_else(|| detect(root));
    let mut d = match layout {
        Layout::Fastmri => Discovery { layout, subjects: Vec::new(), problems: Vec::new() },
        Layout::Brats | Layout::Knee => discover_subject_folders(root, layout),
        Layout::Ixi => discover_ixi(root),
        Layout::Hcp => discover_hcp(root),
    };
    if d.subjects.is_empty() {
        d.problems.push(format!(
            "`{}` holds no subject in the `{}` layout (expected {})",
            root.display(),
            layout.name(),
            match layout {
                Layout::Brats => "one folder per subject with <subject>_t1.nii.gz, _t1ce, _t2, _flair",
                Layout::Knee => "one folder per subject with <subject>_pd.nii.gz and _pdfs",
                Layout::Ixi => "folders IXI-T1/, IXI-T2/, IXI-PD/ with <subject>-T1.nii.gz etc.",
                Layout::Hcp => "one folder per subject with T1w*.nii.gz and T2w*.nii.gz below it",
                Layout::Fastmri => "fastMRI .h5 volumes",
            }
        ));
    }
    d
}

fn detect(root: &Path) -> Layout {
    if sorted_entries(root).iter().any(|p| p.extension().is_some_and(|e| e == "h5")) {
        return Layout::Fastmri;
    }
    let dirs: Vec<PathBuf> = sorted_entries(root).into_iter().filter(|p| p.is_dir()).collect();
    let names: Vec<String> =
        dirs.iter().map(|d| d.file_name().unwrap().to_string_lossy().to_ascii_uppercase()).collect();
    if names.iter().any(|n| n.ends_with("-T1") || n.ends_with("-T2") || n.ends_with("-PD") || n == "T1" || n == "T2") {
        return Layout::Ixi;
    }
    for d in &dirs {
        for f in sorted_entries(d) {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            match nifti_stem(&n).and_then(subject_folder_contrast) {
                Some("pd") | Some("pdfs") => return Layout::Knee,
                Some(_) => return Layout::Brats,
                None => {}
            }
        }
        let mut all = Vec::new();
        walk(d, &mut all);
        if all.iter().any(|p| p.file_name().unwrap().to_string_lossy().starts_with("T1w")) {
            return Layout::Hcp;
        }
    }
    Layout::Brats
}

/// One subject in an inspection report.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SubjectReport {
    pub id: String,
    /// Contrast → NIfTI dimensions `[X, Y, Z]`.
    pub contrasts: BTreeMap<String, [usize; 3]>,
    pub problems: Vec<String>,
}

/// What `mcmr data inspect` prints.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InspectReport {
    pub layout: &'static str,
    pub subjects: Vec<SubjectReport>,
    pub problems: Vec<String>,
}

impl InspectReport {
    /// Subjects without problems.
    pub fn good_subjects(&self) -> Vec<&str> {
        self.subjects.iter().filter(|s| s.problems.is_empty()).map(|s| s.id.as_str()).collect()
    }
}

/// Reads one subject's contrasts, checking each file and the shapes across contrasts.
/// Returns the volumes that could be read and the problems found.
pub fn load_subject(s: &SubjectFiles, required: &[&str]) -> (BTreeMap<String, Volume>, Vec<String>) {
    let mut problems = Vec::new();
    let mut volumes = BTreeMap::new();
    for c in required {
        if !s.files.contains_key(*c) {
            problems.push(format!("subject `{}`: missing contrast `{c}`", s.id));
        }
    }
    for (c, path) in &s.files {
        match read_volume(path) {
            Ok(v) => {
                let bad = v.data.iter().filter(|x| !x.is_finite()).count();
                if bad > 0 {
                    problems.push(format!("subject `{}`: `{}` has {bad} NaN or infinite voxels", s.id, path.display()));
                }
                volumes.insert(c.clone(), v);
            }
            Err(e) => problems.push(format!("subject `{}`: {e}", s.id)),
        }
    }
    let shapes: BTreeMap<&String, [usize; 3]> = volumes.iter().map(|(c, v)| (c, nifti_dims(v))).collect();
    if let Some((c0, s0)) = shapes.iter().next() {
        for (c, sh) in &shapes {
            if sh != s0 {
                problems.push(format!(
                    "subject `{}`: `{}` has shape {}x{}x{} but `{}` has {}x{}x{}",
                    s.id,
                    s.files[*c].file_name().unwrap().to_string_lossy(),
                    sh[0],
                    sh[1],
                    sh[2],
                    s.files[*c0].file_name().unwrap().to_string_lossy(),
                    s0[0],
                    s0[1],
                    s0[2]
                ));
            }
        }
    }
    (volumes, problems)
}

/// NIfTI dimensions `[X, Y, Z]` of a volume read by [`read_volume`] (`H = X`, `W = Y`).
fn nifti_dims(v: &Volume) -> [usize; 3] {
    [v.height, v.width, v.slices]
}

fn fastmri_contrast(v: &crate::data::fastmri::FastMriVolume) -> String {
    match v.acquisition.as_deref() {
        Some("CORPDFS_FBK") => "pdfs".into(),
        Some("CORPD_FBK") => "pd".into(),
        Some(other) => other.to_ascii_lowercase(),
        None => "unknown".into(),
    }
}

/// fastMRI: dimensions are reported as `[rows, columns, slices]` of the k-space.
fn inspect_fastmri(path: &Path) -> InspectReport {
    use crate::data::fastmri::{open_volume, read_pairs_csv};
    let mut report = InspectReport { layout: "fastmri", subjects: Vec::new(), problems: Vec::new() };
    let dims = |v: &crate::data::fastmri::FastMriVolume| [v.kspace_shape[0], v.kspace_shape[1], v.slices];
    let check_target = |v: &crate::data::fastmri::FastMriVolume, problems: &mut Vec<String>| {
        if v.target_shape.is_none() {
            problems.push(format!("`{}` has no `reconstruction_esc` (the single-coil target)", v.path.display()));
        }
    };
    if path.is_file() {
        let pairs = match read_pairs_csv(path) {
            Ok(p) => p,
            Err(e) => {
                report.problems.push(e);
                return report;
            }
        };
        let root = path.parent().unwrap_or(Path::new("."));
        for (pd, pdfs) in pairs {
            let mut s = SubjectReport { id: format!("{pd}+{pdfs}"), contrasts: BTreeMap::new(), problems: Vec::new() };
            for (c, name) in [("pd", &pd), ("pdfs", &pdfs)] {
                match open_volume(&root.join(format!("{name}.h5"))) {
                    Ok(v) => {
                        check_target(&v, &mut s.problems);
                        s.contrasts.insert(c.to_string(), dims(&v));
                    }
                    Err(e) => s.problems.push(e),
                }
            }
            report.subjects.push(s);
        }
    } else {
        for p in sorted_entries(path).into_iter().filter(|p| p.extension().is_some_and(|e| e == "h5")) {
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            let mut s = SubjectReport { id, contrasts: BTreeMap::new(), problems: Vec::new() };
            match open_volume(&p) {
                Ok(v) => {
                    check_target(&v, &mut s.problems);
                    s.contrasts.insert(fastmri_contrast(&v), dims(&v));
                }
                Err(e) => s.problems.push(e),
            }
            report.subjects.push(s);
        }
    }
    if report.subjects.is_empty() && report.problems.is_empty() {
        report.problems.push(format!("`{}` holds no fastMRI .h5 volume", path.display()));
    }
    report
}

/// Reads every file of the dataset under `root` and reports what it found and every problem.
pub fn inspect(root: &Path, layout: Option<Layout>) -> InspectReport {
    let is_csv = root.extension().is_some_and(|e| e == "csv");
    if layout == Some(Layout::Fastmri)
        || (layout.is_none() && (is_csv || (root.is_dir() && detect(root) == Layout::Fastmri)))
    {
        return inspect_fastmri(root);
    }
    let d = discover(root, layout);
    let subjects = d
        .subjects
        .iter()
        .map(|s| {
            let (volumes, problems) = load_subject(s, d.layout.required());
            SubjectReport {
                id: s.id.clone(),
                contrasts: volumes.iter().map(|(c, v)| (c.clone(), nifti_dims(v))).collect(),
                problems,
            }
        })
        .collect();
    InspectReport { layout: d.layout.name(), subjects, problems: d.problems }
}
