//! The notebooks without a Jupyter kernel: every source parses, every cell has an id, and each
//! committed `.ipynb` is exactly what `mcmr notebook build` makes of its source. (CI executes
//! them with evcxr in `.ci/notebooks`; this keeps `cargo test` honest where evcxr is absent.)

use mcmr::notebook::ipynb::{parse_percent, to_ipynb, CellKind};
use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_notebook_ipynb_is_built_from_its_source_and_ends_with_its_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../notebooks");
    let all: Vec<PathBuf> = sources(&root).into_iter().chain(sources(&root.join("tests"))).collect();
    assert!(all.len() >= 3, "expected the physics tour, FSMNet and the planted-failure notebooks: {all:?}");
    for src in all {
        let text = std::fs::read_to_string(&src).unwrap();
        let cells = parse_percent(&text, &src.display().to_string()).unwrap();
        let built = to_ipynb(&cells);
        let committed = std::fs::read_to_string(src.with_extension("ipynb")).unwrap_or_default();
        assert!(committed == built, "{} is stale: run `mcmr notebook build notebooks notebooks/tests`", src.display());
        // The kit is the first thing a notebook loads, and its last code cell hands the verdict over.
        let code: Vec<&str> = cells.iter().filter(|c| c.kind == CellKind::Code).map(|c| c.source.as_str()).collect();
        assert!(
            code[0].starts_with(":dep mcmr-kernel = { path = "),
            "{}: first code cell {:?}",
            src.display(),
            code[0]
        );
        assert_eq!(code.last().map(|c| c.trim()), Some("nb.finish();"), "{}", src.display());
    }
}
