//! Every committed `reference_results/<paper>/{expected,reduced}.json` reads, names runs its
//! spec plans at that scale, and its claims hold on its own numbers (a typo in a hand-made or
//! generated file fails here, not an hour into `mcmr check --scale reduced`).

use mcmr::experiment::reference::{claim_holds, read_expected};
use mcmr::experiment::{plan_runs, ReproduceOptions};
use std::path::Path;

#[test]
fn committed_expected_numbers_name_planned_runs_and_their_claims_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = 0;
    for paper in std::fs::read_dir(root.join("reference_results")).unwrap().flatten() {
        for (file, scale) in [("expected.json", "smoke"), ("reduced.json", "reduced")] {
            let path = paper.path().join(file);
            if !path.exists() {
                continue;
            }
            files += 1;
            let e = read_expected(&path).unwrap();
            assert_eq!(e.scale, scale, "{}", path.display());
            let mut planned = std::collections::BTreeMap::new();
            for run in e.runs.values() {
                let spec = root.join(&run.spec);
                let runs = planned.entry(run.spec.clone()).or_insert_with(|| {
                    let o = ReproduceOptions { scale: scale.into(), ..ReproduceOptions::default() };
                    plan_runs(&spec, &o).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
                });
                assert!(
                    runs.iter().any(|r| r.config.experiment == run.experiment),
                    "{}: run `{}` is not an experiment of {} at {scale} scale",
                    path.display(),
                    run.experiment,
                    run.spec
                );
            }
            for c in &e.claims {
                let value = |id: &str| e.runs[id].cells.get(&c.metric).map(|cell| cell.value);
                if let (Some(b), Some(w)) = (value(&c.better), value(&c.worse)) {
                    assert!(claim_holds(&c.metric, b, w, c.margin), "{}: \"{}\" ({b} vs {w})", path.display(), c.text);
                }
            }
        }
    }
    assert!(files >= 10, "found {files} files");
}
