//! What the notebooks (`notebooks/*.rs`, run by the evcxr Jupyter kernel) call: a few plain,
//! non-generic functions so that a notebook cell compiles in seconds.
//!
//! * [`Notebook`] — one executed notebook: its output folder (`$MCMR_NOTEBOOK_OUT`, else
//!   `out/<name>` beside the notebook), the checks it makes and the verdict file CI reads.
//!   evcxr does not fail a cell on a panic or an `Err`, so a notebook's verdict reaches CI only
//!   through `verdict.json` (written by [`Notebook::finish`], which also exits the kernel's
//!   process with status 1 on a failed check — the one failure evcxr reports).
//! * [`Picture`] — a grey-scale figure built from images, k-space and masks; [`Notebook::save`]
//!   writes it as PNG and returns an [`Image`] that the kernel displays inline (`image/png`).
//! * [`Markdown`] — text the kernel renders as Markdown (tables, reports).
//! * [`edited_spec`] — a copy of a spec with text replaced, for "change one value and rerun"
//!   without recompiling anything.
//! * [`ipynb`] — the percent-format sources (`// %%` cells) ↔ `.ipynb`, and the check of an
//!   executed notebook that `mcmr notebook verify` runs.
//!
//! ```
//! use mcmr::notebook::Picture;
//! let p = Picture::scaled(&[0.0, 0.5, 1.0, 2.0], 2, 2, 0.0, 1.0).enlarge(2);
//! assert_eq!((p.height, p.width), (4, 4));
//! assert_eq!(p.pixels[0..2], [0, 0]);
//! assert_eq!(p.pixels[15], 255);
//! ```

pub mod ipynb;

use crate::masks::Mask;
use num_complex::Complex32;
use std::path::{Path, PathBuf};

/// The file a notebook writes its verdict to, inside its output folder.
pub const VERDICT_FILE: &str = "verdict.json";

/// A notebook's verdict, as `verdict.json` holds it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    pub notebook: String,
    pub kit_version: String,
    pub passed: bool,
    pub checks: Vec<CheckResult>,
}

/// One check a notebook made.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub what: String,
    pub ok: bool,
}

/// One executed notebook: where its figures go and which checks it made.
#[derive(Clone, Debug)]
pub struct Notebook {
    name: String,
    out: PathBuf,
    checks: Vec<CheckResult>,
}

impl Notebook {
    /// Starts notebook `name`: creates its output folder (`$MCMR_NOTEBOOK_OUT`, else
    /// `out/<name>` relative to the kernel's folder, which is the notebook's) and removes an
    /// earlier verdict, so that a run that stops early leaves none.
    pub fn start(name: &str) -> Result<Notebook, String> {
        let out = match std::env::var_os("MCMR_NOTEBOOK_OUT") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from("out").join(name),
        };
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
        let verdict = out.join(VERDICT_FILE);
        if verdict.exists() {
            std::fs::remove_file(&verdict).map_err(|e| format!("cannot remove `{}`: {e}", verdict.display()))?;
        }
        Ok(Notebook { name: name.to_string(), out, checks: Vec::new() })
    }

    /// The output folder (figures, runs, the verdict).
    pub fn out(&self) -> PathBuf {
        self.out.clone()
    }

    /// Records a check and prints `PASS what` or `FAIL what`; returns `ok`.
    pub fn check(&mut self, what: &str, ok: bool) -> bool {
        println!("{} {what}", if ok { "PASS" } else { "FAIL" });
        self.checks.push(CheckResult { what: what.to_string(), ok });
        ok
    }

    /// The checks so far.
    pub fn checks(&self) -> &[CheckResult] {
        &self.checks
    }

    /// The verdict of the checks so far: passed when there is at least one and none failed.
    pub fn verdict(&self) -> Verdict {
        Verdict {
            notebook: self.name.clone(),
            kit_version: env!("CARGO_PKG_VERSION").to_string(),
            passed: !self.checks.is_empty() && self.checks.iter().all(|c| c.ok),
            checks: self.checks.clone(),
        }
    }

    /// Writes `verdict.json` (atomically) and returns the verdict, without exiting.
    pub fn write_verdict(&self) -> Result<Verdict, String> {
        let v = self.verdict();
        let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
        crate::io::write_atomic(&self.out.join(VERDICT_FILE), text.as_bytes()).map_err(|e| e.to_string())?;
        Ok(v)
    }

    /// The notebook's last cell: writes the verdict, prints a summary and, when a check failed
    /// (or none was made), ends the kernel's process with status 1 so that the runner's cell
    /// fails too.
    pub fn finish(&self) {
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        match self.write_verdict() {
            Ok(v) if v.passed => println!("{}: {} checks passed", self.name, v.checks.len()),
            Ok(v) => {
                println!("{}: {failed} of {} checks failed", self.name, v.checks.len());
                std::process::exit(1);
            }
            Err(e) => {
                println!("{}: cannot write the verdict: {e}", self.name);
                std::process::exit(1);
            }
        }
    }

    /// Writes a picture as `<out>/<file>` (PNG) and returns it for inline display.
    pub fn save(&self, file: &str, picture: &Picture) -> Result<Image, String> {
        let png = crate::io::png::encode_gray8(picture.width, picture.height, &picture.pixels);
        let path = self.out.join(file);
        crate::io::write_atomic(&path, &png).map_err(|e| e.to_string())?;
        Ok(Image { png, path })
    }

    /// An existing PNG (a run's figure), copied to `<out>/<file>` and returned for display.
    pub fn show(&self, png: &Path, file: &str) -> Result<Image, String> {
        let bytes = std::fs::read(png).map_err(|e| format!("cannot read `{}`: {e}", png.display()))?;
        let path = self.out.join(file);
        crate::io::write_atomic(&path, &bytes).map_err(|e| e.to_string())?;
        Ok(Image { png: bytes, path })
    }
}

/// A PNG the notebook displays inline.
#[derive(Clone, Debug)]
pub struct Image {
    pub png: Vec<u8>,
    /// Where it was written.
    pub path: PathBuf,
}

impl Image {
    /// evcxr's display hook: one `image/png` block, base64.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT", base64(&self.png));
    }
}

/// Markdown the notebook renders.
#[derive(Clone, Debug, PartialEq)]
pub struct Markdown(pub String);

impl Markdown {
    /// A Markdown file (a report the kit wrote).
    pub fn file(path: &Path) -> Result<Markdown, String> {
        std::fs::read_to_string(path).map(Markdown).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    }

    /// evcxr's display hook: one `text/markdown` block.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/markdown\n{}\nEVCXR_END_CONTENT", self.0);
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An 8-bit grey-scale picture (row-major), built from images and composed side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
}

impl Picture {
    /// `values` (`h×w`, row-major) mapped linearly from `[lo, hi]` to black–white, clipped.
    pub fn scaled(values: &[f64], h: usize, w: usize, lo: f64, hi: f64) -> Picture {
        assert_eq!(values.len(), h * w, "Picture::scaled: {} values for a {h}x{w} image", values.len());
        Picture { height: h, width: w, pixels: crate::io::png::to_gray8(values, lo, hi) }
    }

    /// `values` from their minimum (black) to their maximum (white).
    pub fn auto(values: &[f64], h: usize, w: usize) -> Picture {
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        Picture::scaled(values, h, w, lo, hi)
    }

    /// The log-magnitude of (centred) k-space over the 12 natural-log units below its peak.
    pub fn log_kspace(k: &[Complex32], h: usize, w: usize) -> Picture {
        assert_eq!(k.len(), h * w, "Picture::log_kspace: {} values for a {h}x{w} image", k.len());
        Picture { height: h, width: w, pixels: crate::io::png::log_kspace_gray8(k) }
    }

    /// A mask: sampled white, skipped black.
    pub fn mask(m: &Mask) -> Picture {
        Picture { height: m.height, width: m.width, pixels: m.to_pixels() }
    }

    /// Each pixel repeated `k×k` times (small phantoms display at a readable size).
    pub fn enlarge(&self, k: usize) -> Picture {
        let k = k.max(1);
        let (h, w) = (self.height * k, self.width * k);
        let mut pixels = Vec::with_capacity(h * w);
        for r in 0..h {
            for c in 0..w {
                pixels.push(self.pixels[(r / k) * self.width + c / k]);
            }
        }
        Picture { height: h, width: w, pixels }
    }

    /// Pictures left to right, top-aligned, 4 grey pixels apart.
    pub fn row(pictures: &[Picture]) -> Picture {
        let gap = 4;
        let h = pictures.iter().map(|p| p.height).max().unwrap_or(0);
        let w = pictures.iter().map(|p| p.width).sum::<usize>() + gap * pictures.len().saturating_sub(1);
        let mut pixels = vec![128u8; h * w];
        let mut x0 = 0;
        for p in pictures {
            for r in 0..p.height {
                pixels[r * w + x0..r * w + x0 + p.width].copy_from_slice(&p.pixels[r * p.width..(r + 1) * p.width]);
            }
            x0 += p.width + gap;
        }
        Picture { height: h, width: w, pixels }
    }

    /// Feature maps: one row per activation, its first `per_row` channels, each channel from
    /// its own minimum to maximum, every map enlarged to the largest map's size.
    pub fn features(acts: &[crate::experiment::run::Activation], per_row: usize) -> Picture {
        let size = acts.iter().map(|a| a.height).max().unwrap_or(1);
        let rows: Vec<Picture> = acts
            .iter()
            .map(|a| {
                let maps: Vec<Picture> = (0..a.channels.min(per_row.max(1)))
                    .map(|c| {
                        let n = a.height * a.width;
                        let v: Vec<f64> = a.values[c * n..(c + 1) * n].iter().map(|&x| f64::from(x)).collect();
                        Picture::auto(&v, a.height, a.width).enlarge(size / a.height.max(1))
                    })
                    .collect();
                Picture::row(&maps)
            })
            .collect();
        Picture::column(&rows)
    }

    /// Pictures top to bottom, left-aligned, 4 grey pixels apart.
    pub fn column(pictures: &[Picture]) -> Picture {
        let gap = 4;
        let w = pictures.iter().map(|p| p.width).max().unwrap_or(0);
        let mut pixels = Vec::new();
        for (i, p) in pictures.iter().enumerate() {
            if i > 0 {
                pixels.extend(std::iter::repeat_n(128u8, gap * w));
            }
            for r in 0..p.height {
                pixels.extend_from_slice(&p.pixels[r * p.width..(r + 1) * p.width]);
                pixels.extend(std::iter::repeat_n(128u8, w - p.width));
            }
        }
        let h = pixels.len() / w.max(1);
        Picture { height: h, width: w, pixels }
    }
}

/// A copy of spec `original` with each `(find, replace)` applied and `append` added at its end
/// (a new experiment section, say), written as
/// `<dir>/<original's file name>` together with every file it imports (same relative paths),
/// so that imports still resolve. Each `find` must occur exactly once in the main file: the
/// error says how often it did. Returns the copy's absolute path; runs made from it carry its
/// own spec hash, so they are never mistaken for runs of the original.
pub fn edited_spec(original: &Path, edits: &[(&str, &str)], append: &str, dir: &Path) -> Result<PathBuf, String> {
    let loaded = crate::spec::read_spec(original)?;
    let base = original.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut main = loaded.files[0].text.clone();
    for (find, replace) in edits {
        let n = main.matches(find).count();
        if n != 1 {
            return Err(format!(
                "`{}`: the text `{find}` occurs {n} times; an edit needs text that occurs exactly once",
                original.display()
            ));
        }
        main = main.replacen(find, replace, 1);
    }
    if !append.is_empty() {
        main = format!("{}\n\n{}\n", main.trim_end(), append.trim());
    }
    let write = |path: &Path, text: &str| crate::io::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string());
    let name = original.file_name().ok_or_else(|| format!("`{}` is not a file", original.display()))?;
    let target = dir.join(name);
    for f in &loaded.files[1..] {
        let rel = f.path.strip_prefix(&base).map_err(|_| {
            format!("`{}` imports `{}`, outside its folder: cannot copy it", original.display(), f.path.display())
        })?;
        if rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(format!(
                "`{}` imports `{}` from a parent folder: cannot copy it",
                original.display(),
                f.path.display()
            ));
        }
        write(&dir.join(rel), &f.text)?;
    }
    write(&target, &main)?;
    // The copy must still be a valid spec: report its diagnostics against the copy.
    crate::spec::read_spec(&target)?;
    std::path::absolute(&target).map_err(|e| format!("`{}`: {e}", target.display()))
}

/// The text of one item of a spec file — the lines from the first one that starts with
/// `header` (`network fsmnet`, `variant paper`, `experiment brats_x4`) to the closing brace at
/// the start of a line — with the comment lines just above it, as a fenced block.
pub fn spec_excerpt(spec: &Path, header: &str) -> Result<Markdown, String> {
    let text = std::fs::read_to_string(spec).map_err(|e| format!("cannot read `{}`: {e}", spec.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(header) && l[header.len()..].starts_with([' ', '(', '{']))
        .ok_or_else(|| format!("`{}` has no line starting with `{header}`", spec.display()))?;
    let end = (start..lines.len())
        .find(|&i| lines[i].starts_with('}'))
        .ok_or_else(|| format!("`{}`: `{header}` (line {}) is never closed", spec.display(), start + 1))?;
    let mut first = start;
    while first > 0 && lines[first - 1].starts_with("//") {
        first -= 1;
    }
    Ok(Markdown(format!(
        "`{}`, lines {}–{}:\n\n```\n{}\n```",
        spec.display(),
        first + 1,
        end + 1,
        lines[first..=end].join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }

    #[test]
    fn pictures_compose_with_grey_gaps() {
        let a = Picture::scaled(&[0.0; 4], 2, 2, 0.0, 1.0);
        let b = Picture::scaled(&[1.0; 2], 1, 2, 0.0, 1.0);
        let r = Picture::row(&[a.clone(), b.clone()]);
        assert_eq!((r.height, r.width), (2, 8));
        assert_eq!(&r.pixels[0..8], &[0, 0, 128, 128, 128, 128, 255, 255]);
        assert_eq!(&r.pixels[8..16], &[0, 0, 128, 128, 128, 128, 128, 128]);
        let c = Picture::column(&[a, b]);
        assert_eq!((c.height, c.width), (7, 2));
        assert_eq!(&c.pixels[12..14], &[255, 255]);
    }

    #[test]
    fn an_edited_spec_keeps_its_imports_and_refuses_ambiguous_edits() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/fsmnet.mcmr");
        let dir = std::env::temp_dir().join(format!("mcmr-edited-{}", std::process::id()));
        let e = edited_spec(&root, &[("num_features = 16", "num_features = 8")], "", &dir).unwrap_err();
        assert!(e.contains("occurs 3 times; an edit needs text that occurs exactly once"), "{e}");
        let extra = "experiment student {\n    network = \"zero_filled\"\n    loss = l1(output, target)\n}";
        let path = edited_spec(&root, &[("gamma = 0.5", "gamma = 0.25")], extra, &dir).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("gamma = 0.25") && text.trim_end().ends_with('}') && text.contains("experiment student"));
        assert!(dir.join("baselines/unet.mcmr").exists(), "imports are copied beside the edited spec");
        let original = crate::experiment::run::spec_hash(&crate::spec::read_spec(&root).unwrap());
        let edited = crate::experiment::run::spec_hash(&crate::spec::read_spec(&path).unwrap());
        assert_ne!(original, edited, "runs of the edited copy never pass for runs of the original");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn spec_excerpts_run_from_the_comments_to_the_closing_brace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/fsmnet.mcmr");
        let m = spec_excerpt(&root, "variant paper").unwrap().0;
        assert!(m.contains("variant paper {") && m.contains("gamma = 0.1") && m.ends_with("}\n```"), "{m}");
        assert!(!m.contains("variant fsfe_only"));
        assert!(spec_excerpt(&root, "variant nope").unwrap_err().contains("no line starting with `variant nope`"));
    }

    #[test]
    fn a_failed_check_fails_the_verdict_and_no_check_is_no_pass() {
        let dir = std::env::temp_dir().join(format!("mcmr-notebook-{}", std::process::id()));
        let mut nb = Notebook { name: "t".into(), out: dir.clone(), checks: Vec::new() };
        assert!(!nb.verdict().passed, "a notebook that checked nothing has not passed");
        nb.check("one", true);
        assert!(nb.verdict().passed);
        nb.check("two", false);
        let v = nb.write_verdict().unwrap();
        assert!(!v.passed);
        let back: Verdict = serde_json::from_str(&std::fs::read_to_string(dir.join(VERDICT_FILE)).unwrap()).unwrap();
        assert_eq!(back, v);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
