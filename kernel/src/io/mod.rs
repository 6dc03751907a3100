//! File input and output: `.npy` arrays, NIfTI volumes, PNG images, atomic writes.
//!
//! Every writer goes through [`write_atomic`] (a temporary file in the same folder, then a
//! rename), so a crash never leaves a half-written file behind.

pub mod npy;
pub mod png;
pub mod safetensors;
pub mod volume;

use std::path::{Path, PathBuf};

/// Errors from reading or writing files; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    /// The file was read but its content is not what was expected.
    #[error("`{path}`: {message}")]
    Format { path: PathBuf, message: String },
}

/// 64-bit FNV-1a of `bytes`, continuing from `h` (start with [`FNV_OFFSET`]): the hash the
/// kit records for files, masks and specs.
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// FNV-1a's starting value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let wrap = |e| IoError::Write { path: path.to_path_buf(), source: e };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(wrap)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(wrap)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        wrap(e)
    })
}
