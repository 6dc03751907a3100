// A notebook that must FAIL (.ci/notebooks checks that it does): its tolerance check fails, so
// its verdict says failed and its last cell ends the kernel's process.

// %% id="dep"
:dep mcmr-kernel = { path = "../../kernel" }

// %% id="start"
let mut nb = mcmr::notebook::Notebook::start("planted-check").expect("an output folder");

// %% id="check"
let (published, reproduced, tolerance) = (41.76, 23.43, 0.5);
nb.check("a planted failure: 23.43 dB is within 0.5 dB of 41.76 dB", f64::abs(published - reproduced) <= tolerance);

// %% id="finish"
nb.finish();
