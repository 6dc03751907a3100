//! Locating the shared fixtures (`../shared/fixtures` beside the repository, or `$MCMR_SHARED`).
//!
//! The kit runs without them, but CI has them: when they are missing a golden test fails under
//! `CI=true` and is reported as skipped otherwise, so a local clone without `shared/` still runs.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn shared_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MCMR_SHARED").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("fixtures").is_dir())
}

/// The fixtures folder, or `None` (after saying so) when it is absent outside CI.
pub fn fixtures() -> Option<PathBuf> {
    match shared_dir() {
        Some(d) => Some(d.join("fixtures")),
        None if std::env::var_os("CI").is_some() => {
            panic!("shared fixtures not found (set MCMR_SHARED or put shared/ beside the repository)")
        }
        None => {
            eprintln!("SKIPPED: shared fixtures not found (set MCMR_SHARED to run the golden tests)");
            None
        }
    }
}

pub fn json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn rel_close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300)
}
