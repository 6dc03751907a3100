// A notebook that must FAIL verification; .ci/notebooks checks that it does, for both planted
// reasons. One cell panics — evcxr still reports that cell as successful and runs the next
// ones — and one tolerance check fails, so the verdict says failed and the last cell ends the
// kernel's process.

// %% id="dep"
:dep mcmr-kernel = { path = "../../kernel" }

// %% id="start"
let mut nb = mcmr::notebook::Notebook::start("planted-failures").expect("an output folder");

// %% id="panics"
let v: Vec<f64> = Vec::new();
if v.is_empty() {
    panic!("a planted panic: verification must not pass this notebook");
}

// %% id="checks"
nb.check("a check that passes", true);
let (published, reproduced, tolerance) = (41.76f64, 23.43f64, 0.5f64);
nb.check("a planted failed check: 23.43 dB within 0.5 dB of 41.76 dB", (published - reproduced).abs() <= tolerance);

// %% id="finish"
nb.finish();
