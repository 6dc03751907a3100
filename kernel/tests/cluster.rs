//! A reproduction split into tasks for a cluster (issue 21, part 3): the plan, one run per task,
//! the gathered reports, and the Slurm job script. The one-node Slurm test that submits a real
//! array is `tools/slurm/test.sh` (run by `.ci/run`); these run everywhere.

use mcmr::experiment::cluster::{gather, plan_json, run_task, slurm_script, SlurmOptions};
use mcmr::experiment::{reproduce, ReproduceOptions, Variants};
use std::path::{Path, PathBuf};
use std::process::Command;

const SPEC: &str = r#"network tiny() {
    input image: [1, H, W]
    x = conv2d(image, 4, kernel = 3, padding = 1) as head
    output output = conv2d(relu(x), 1, kernel = 3, padding = 1) as tail
}

experiment {
    seed = 5
    loss = l1(output, target)
    optimizer = adam(lr = 1e-2)
    batch_size = 2
    iterations = 12
    data {
        subjects = 4
        slices = 2
        size = 16
        split = [2, 1, 1]
    }
    mask {
        family = "random"
        acceleration = 4
    }
}

experiment x4 {
}

experiment x8 {
    mask {
        acceleration = 8
    }
}

variant wide {
    experiment {
        seed = 6
    }
}
"#;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcmr-cluster-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("papers")).unwrap();
    d
}

fn spec(d: &Path) -> PathBuf {
    let p = d.join("papers").join("tiny.mcmr");
    std::fs::write(&p, SPEC).unwrap();
    p
}

fn opts(out: &Path) -> ReproduceOptions {
    ReproduceOptions { out: out.to_path_buf(), variants: Variants::All, ..ReproduceOptions::default() }
}

#[test]
fn tasks_one_by_one_then_gather_equal_the_sequential_reproduction() {
    let d = temp("tasks");
    let spec = spec(&d);
    let seq = reproduce(&spec, &opts(&d.join("seq"))).unwrap();
    assert_eq!(seq.len(), 4, "two experiments, as written and under `wide`");

    let out = d.join("tasks");
    let plan = plan_json(&spec, &opts(&out)).unwrap();
    let runs = plan["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r["task"], i);
        let command: Vec<&str> = r["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(&command[command.len() - 2..], ["--task", &i.to_string()]);
        assert!(command.contains(&"all"), "the variant selection travels with the task: {command:?}");
        assert!(Path::new(r["dir"].as_str().unwrap()).is_absolute());
    }
    assert_eq!(runs[3]["variant"], "wide");

    // Before every task has run, gather names what is missing.
    run_task(&spec, &opts(&out), 2).unwrap();
    let e = gather(&spec, &opts(&out)).unwrap_err();
    assert!(e.contains("3 of 4 run(s) are not finished") && e.contains("task 0:") && !e.contains("task 2:"), "{e}");
    for i in [3, 0, 1] {
        run_task(&spec, &opts(&out), i).unwrap();
    }
    let gathered = gather(&spec, &opts(&out)).unwrap();
    for (a, b) in seq.iter().zip(&gathered) {
        assert_eq!(a.manifest.experiment, b.manifest.experiment);
        assert_eq!(a.manifest.variant, b.manifest.variant);
        let read = |dir: &Path| std::fs::read(dir.join("results.json")).unwrap();
        assert_eq!(read(&a.dir), read(&b.dir), "{}: the same numbers, bit for bit", a.dir.display());
    }
    for f in ["smoke-summary.md", "smoke-summary.tex"] {
        let read = |o: &str| std::fs::read_to_string(d.join(o).join("tiny").join(f)).unwrap();
        assert_eq!(read("seq"), read("tasks"), "{f}");
    }

    // A task past the end is refused with the plan's size.
    let e = run_task(&spec, &opts(&out), 4).unwrap_err();
    assert!(e.contains("task 4") && e.contains("4 run(s), tasks 0 to 3"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_rerun_task_keeps_a_finished_run_and_resumes_a_stopped_one() {
    let d = temp("requeue");
    let spec = spec(&d);
    let out = d.join("out");
    let mcmr = env!("CARGO_BIN_EXE_mcmr");
    let task_with = |i: &str, extra: &[&str]| {
        let o = Command::new(mcmr)
            .args(["reproduce", spec.to_str().unwrap(), "--variant", "all", "--out", out.to_str().unwrap()])
            .args(["--task", i])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let task = |i: &str| task_with(i, &[]);
    task("1");
    let dir = out.join("tiny/base/smoke/x8");
    let results = std::fs::read(dir.join("results.json")).unwrap();
    let said = task("1");
    assert!(said.contains("finished earlier"), "{said}");

    // A task stopped after its last checkpoint (preempted, then requeued by Slurm).
    let manifest = dir.join("manifest.json");
    let text =
        std::fs::read_to_string(&manifest).unwrap().replace("\"status\": \"complete\"", "\"status\": \"running\"");
    assert!(text.contains("\"running\""), "the manifest spells its status as expected");
    std::fs::write(&manifest, text).unwrap();
    std::fs::remove_file(dir.join("results.json")).unwrap();
    let said = task("1");
    assert!(said.contains("task 1: resume"), "{said}");
    assert_eq!(std::fs::read(dir.join("results.json")).unwrap(), results);
    // `--overwrite` trains a finished run again from the start.
    let said = task_with("1", &["--overwrite"]);
    assert!(said.contains("task 1: run"), "{said}");
    assert_eq!(std::fs::read(dir.join("results.json")).unwrap(), results);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn the_slurm_script_is_an_array_with_a_task_per_run() {
    let d = temp("script");
    let spec = spec(&d);
    let s = SlurmOptions {
        mcmr: PathBuf::from("/opt/mcmr/bin/mcmr"),
        partition: Some("gpu".into()),
        time: Some("1-00:00:00".into()),
        cpus_per_task: 8,
        gpus: 1,
        max_parallel: Some(2),
        ..SlurmOptions::default()
    };
    let mut o = opts(&d.join("out(1)"));
    o.device = "cuda".into();
    let t = slurm_script(&spec, &o, &s).unwrap();
    for line in [
        "#SBATCH --array=0-3%2",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1-00:00:00",
        "#     3  wide/x8",
    ] {
        assert!(t.lines().any(|l| l == line), "no line `{line}` in\n{t}");
    }
    let exec = t.lines().last().unwrap();
    assert!(exec.starts_with("exec /opt/mcmr/bin/mcmr reproduce /"), "{exec}");
    assert!(exec.contains("--device cuda") && exec.contains("--variant all"), "{exec}");
    assert!(
        exec.contains(&format!("--out '{}'", d.join("out(1)").display())),
        "a path the shell would read is quoted: {exec}"
    );
    assert!(exec.ends_with("--quiet --task \"$SLURM_ARRAY_TASK_ID\""), "{exec}");
    // Every #SBATCH line comes before the first command (sbatch stops reading at it).
    let first_command = t.lines().position(|l| !l.starts_with('#')).unwrap();
    assert!(t.lines().skip(first_command).all(|l| !l.starts_with("#SBATCH")));

    let bad = SlurmOptions { time: Some("1 day".into()), ..s.clone() };
    let e = slurm_script(&spec, &o, &bad).unwrap_err();
    assert!(e.contains("`--time`") && e.contains("one word"), "{e}");
    // #SBATCH lines take one word: a log folder with a space is refused, not split.
    let e = slurm_script(&spec, &opts(&d.join("out dir")), &s).unwrap_err();
    assert!(e.contains("`--out`") && e.contains("out dir"), "{e}");
    std::fs::remove_dir_all(d).unwrap();
}
