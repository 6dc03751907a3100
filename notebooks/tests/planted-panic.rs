// A notebook that must FAIL verification (.ci/notebooks checks that it does): one cell panics,
// yet evcxr reports that cell as successful, every check passes and the verdict says passed.
// Only `mcmr notebook verify`, reading the panic on the cell's stderr, catches it.

// %% id="dep"
:dep mcmr-kernel = { path = "../../kernel" }

// %% id="start"
let mut nb = mcmr::notebook::Notebook::start("planted-panic").expect("an output folder");

// %% id="planted-panic"
let v: Vec<f64> = Vec::new();
if v.is_empty() {
    panic!("a planted panic: the runner must not call this notebook passed");
}

// %% id="check"
nb.check("a check that passes", true);

// %% id="finish"
nb.finish();
