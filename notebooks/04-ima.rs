// Notebook source (percent format). `mcmr notebook build notebooks/` writes the .ipynb beside it.

// %% [markdown] id="title"
// # Replication report: IMA
//
// *Breaking Information Isolation: Accelerating MRI via Inter-sequence Mapping and Progressive
// Masking* (Zheng, Yao, Shen, Li, Jiang; AAAI 2025). **No code of IMA is public**: the paper's
// text is the specification, and this report is for a reader who wants to see what the text
// left open and how the kit chose.
//
// **scope and claims** → **the unfolding as equations beside the spec** → **DCM: the masks stage
// by stage** → **results at smoke scale** → **what each stage does, with and without DCM** →
// **significance and the two SSIM protocols** → **published vs reproduced** → **the choices the
// paper left open** → **change the spec and rerun** → **paper scale**. The last cell checks the
// reproduced numbers and claims against `reference_results/ima/expected.json`, so a drift fails
// CI.
//
// **Smoke-scale numbers come from tiny networks trained for a minute on the kit's phantom; they
// are not the paper's numbers and are never presented as such.**

// %% id="dep"
:dep mcmr-kernel = { path = "../kernel" }

// %% id="setup"
use mcmr::experiment::evaluate::EvalResult;
use mcmr::experiment::published::{read_published, Published};
use mcmr::experiment::reference::CheckReport;
use mcmr::experiment::report::published_markdown;
use mcmr::experiment::run::{Activation, RunOutcome};
use mcmr::experiment::{reference, reproduce, run_activations, ReproduceOptions};
use mcmr::masks::dcm::{DcmKernel, DcmSchedule};
use mcmr::masks::{generate, Mask, MaskFamily, MaskParams};
use mcmr::notebook::{edited_spec, spec_excerpt, Markdown, Notebook, Picture};
use mcmr::rng::Seed;
use std::path::PathBuf;

/// The outcome of an experiment among finished runs.
fn outcome<'a>(outcomes: &'a [RunOutcome], experiment: &str) -> &'a RunOutcome {
    outcomes.iter().find(|o| o.manifest.experiment == experiment).expect("a run of that experiment")
}

/// Channel 0 of an activation (the read-out of a C-channel state).
fn channel0(a: &Activation) -> Vec<f64> {
    a.values[..a.height * a.width].iter().map(|&v| v as f64).collect()
}

/// PSNR of an image against the target with the target's maximum (the protocol's range), the
/// image clipped to [0, 1] as the protocol clips it.
fn psnr(image: &[f64], target: &[f64]) -> f64 {
    let clipped: Vec<f64> = image.iter().map(|v| v.clamp(0.0, 1.0)).collect();
    let peak = target.iter().cloned().fold(f64::MIN, f64::max);
    mcmr::metrics::psnr(target, &clipped, peak)
}

/// Per-slice PSNR or SSIM of an evaluation, in slice order.
fn per_slice(r: &EvalResult, metric: &str) -> Vec<f64> {
    r.per_slice.iter().map(|s| if metric == "psnr" { s.psnr } else { s.ssim }).collect()
}

/// A boolean mask as a picture (white: known).
fn bool_picture(m: &[bool], h: usize, w: usize) -> Picture {
    Picture::auto(&m.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect::<Vec<f64>>(), h, w)
}

let mut nb: Notebook = Notebook::start("04-ima").expect("an output folder");
let spec: PathBuf = PathBuf::from("../papers/ima.mcmr");
let references: PathBuf = PathBuf::from("../reference_results");
// Runs of an earlier `mcmr reproduce papers/ima.mcmr --out DIR` (CI sets MCMR_RUNS): those this
// kit version made from the same spec text are shown as they are; otherwise they are trained
// here (a few minutes on 2 CPU cores), once.
let runs_dir: PathBuf = nb.out().join("runs");
let reuse: PathBuf = std::env::var_os("MCMR_RUNS").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| runs_dir.clone());
println!("runs: {} (finished runs taken from {})", runs_dir.display(), reuse.display());

// %% [markdown] id="scope-md"
// ## 1. Scope and the paper's claims
//
// IMA reconstructs an under-sampled target contrast (IXI T2, fastMRI PDFS) with a fully sampled
// reference (PD) by **unfolding half-quadratic splitting** into 12 stages. Each stage takes a
// gradient step on the data term, updates k-space under a **progressively dilated and then
// contracted mask** (DCM), updates a self-learned auxiliary variable through a **cross-sequence
// attention** (CSCA), and closes with the G step of the splitting. Table 1 compares it with six
// baselines on both datasets under 1D random and 2D radial masks at 4× and 8×, with p-values;
// Table 2 ablates CSCA, DCM and the DCM kernel. Both tables and the claims are data in
// `reference_results/ima/published.json`, checked on the published numbers first.

// %% id="published"
let published: Published = read_published(&references.join("ima/published.json")).unwrap();
Markdown(published_markdown(&published))

// %% [markdown] id="method-md"
// ## 2. The unfolding, equation by equation, beside the spec
//
// The state (X, Ỹ, G) has C channels (C = 32 at paper scale). Stage s:
//
// | paper | what it says | the spec (block `ima_stage`) |
// |---|---|---|
// | Eq. 15 | X_temp = X − μ(Re F⁻¹(M₀⊙(FX − Z)) + α(X − G) + λ₁C_R1(X)) | `residual`, `prox`, `prior`, `x_temp`; M₀⊙(FX − Z) is X minus hard data consistency |
// | Eq. 16–17 | the mask grows where a kernel sees δ known points, until ratio or T/2 | `dcm_mask(m0, stage, stages, kernel, delta, ratio)` |
// | Eq. 18 | inside m_s keep the stage's input k-space, outside take X_temp's | `frozen = data_consistency(x_temp, fft2(x), m)` |
// | Eq. 19 | the measured samples replace their estimates | `data_consistency(frozen, z, m0)`, then Re(·) |
// | Eq. 20 | Ỹ ← Ỹ − β·BBᵀ(CSCA(Y, G) + Ỹ) − βλ₂C_R2(Ỹ) | `mapped`, `reg` (`as shared beta`) |
// | Eq. 21 | Q_catᵀK_i = Q₁ᵀK_i′ + Q₂ᵀK_i″ | `cross_channel_attention` in block `csca` |
// | Eq. 22 | G = (A(Y) + B(Ỹ) + αX)/(1 + α) | `weighted_average(mapping, x_new) as shared alpha` |
// | Eq. 25 | ℓ1(X_out − X_GT) + γ·ℓ1(X_out − (YA + ỸB)), γ = 0.5 | the experiment's `loss` |

// %% id="spec-stage"
spec_excerpt(&spec, "block ima_stage").unwrap()

// %% id="spec-csca"
spec_excerpt(&spec, "block csca").unwrap()

// %% id="spec-network"
spec_excerpt(&spec, "network ima").unwrap()

// %% [markdown] id="params-md"
// Parameters: the paper's Table 2(a) gives 1.53 M (1.33 M without CSCA). The spec's widths are
// our choice (C = 32 everywhere, note A1) and land 11–16 % below, within the ±25 % band the
// tests hold.

// %% id="params"
let mut sizes: String = String::from("| configuration | parameters | paper |\n|---|---|---|\n");
for (what, variant, paper) in [("IMA, C = 32, T = 12", None, "1.53 M"), ("w/o CSCA", Some("no_csca"), "1.33 M"), ("w/o DCM", Some("no_dcm"), "1.53 M"), ("smoke: C = 8, T = 6 (`small`)", Some("small"), "—")] {
    let (_, checked, _) = mcmr::spec::load_spec(&spec, Some("ima"), variant, &[]).unwrap();
    sizes += &format!("| {what} | {} | {paper} |\n", checked.graph.parameter_count());
}
Markdown(sizes.clone())

// %% [markdown] id="dcm-md"
// ## 3. DCM: the masks stage by stage
//
// The paper's Fig. 4 (the kernels) is missing from the text; the spec reads kernel 1 as 3×3 all
// ones with δ = 3 on the centred mask. The schedule is a palindrome: stage 1 uses the sampling
// mask, the mask dilates until it covers 90% of k-space or T/2 − 1 steps have passed, then
// contracts back. Inside the grey ring a stage keeps the k-space it was given and may change only
// the rest; the measured samples are always restored. Below: 8× radial and 8× random at 256×256
// (the paper's IXI size), stage masks 1…12.

// %% id="dcm"
let mut fills: String = String::from("| mask | sampled | stage fill ratios 1…12 |\n|---|---|---|\n");
let mut rows: Vec<Picture> = Vec::new();
for (name, family, cf) in [("8x radial", MaskFamily::Radial, 0.0), ("8x random", MaskFamily::Random, 0.04)] {
    let mut p = MaskParams::new(family, [256, 256], 8.0).seed(Seed::Int(6));
    if cf > 0.0 {
        p = p.center_fraction(cf);
    }
    let m: Mask = generate(&p).unwrap();
    let m0: Vec<bool> = m.data.iter().map(|&v| v > 0).collect();
    let s = DcmSchedule::new(&m0, 256, 256, 12, DcmKernel::Ones3, 3, 0.9);
    let f: Vec<String> = s.stage_fills().iter().map(|v| format!("{v:.2}")).collect();
    fills += &format!("| {name} | {:.1}% | {} |\n", 100.0 * m.sampled_fraction(), f.join(" "));
    rows.push(Picture::row(&(1..=12).map(|t| bool_picture(s.stage(t), 256, 256)).collect::<Vec<_>>()));
}
nb.save("ima-dcm-radial.png", &rows[0]).unwrap();
nb.save("ima-dcm-random.png", &rows[1]).unwrap();
Markdown(fills.clone())

// %% [markdown] id="results-md"
// ## 4. Results at smoke scale
//
// Every smoke experiment of the spec: IMA, w/o CSCA, w/o DCM, the kit's U-Net and zero filling
// under one fixed 8× radial mask (Table 2's setting), on the brain phantom at 32×32 with T1 as
// the reference (the phantom has no PD), the `small` width (C = 8, T = 6), scored under the
// group's protocol (`ima-group`: SSIM at data range 2).

// %% id="reproduce"
let opts: ReproduceOptions = ReproduceOptions { out: runs_dir.clone(), reuse: Some(reuse.clone()), ..ReproduceOptions::default() };
let outcomes: Vec<RunOutcome> = reproduce(&spec, &opts).unwrap();
for o in &outcomes {
    println!("{:<30} {:>8.1} s  {}", o.manifest.experiment, o.manifest.wall_time_s, o.dir.display());
}
Markdown::file(&runs_dir.join("ima/smoke-summary.md")).unwrap()

// %% [markdown] id="grid-md"
// The reconstruction figure `mcmr reproduce` wrote for IMA: reference | zero-filled | IMA |
// ground truth, then the error maps.

// %% id="grid"
let full: PathBuf = outcome(&outcomes, "ixi_radial_x8").dir.clone();
nb.show(&full.join("figures/reconstruction.png"), "ima-reconstruction.png").unwrap()

// %% [markdown] id="stages-md"
// ## 5. What each stage does, with and without DCM
//
// The paper's Fig. 7 shows stage-wise error curves: smooth with DCM, "fluctuating severely"
// without (no values printed; claim C9). Here the first test slice through the trained IMA and
// w/o-DCM networks: channel 0 of X after every stage (top: IMA, bottom: w/o DCM) and its PSNR.
// At smoke scale (T = 6, one slice) the last column says whether either curve fluctuates: when
// neither loses PSNR from stage to stage, C9 is not observable here, and the report says so
// rather than reading smoothness into two monotone curves.

// %% id="stages"
let mut names: Vec<String> = (1..=6).map(|s| format!("stage{s}.x_out")).collect();
names.push("target".to_string());
let mut curves: String = String::from("| run | PSNR after stage 1…6 (dB) | stages that lose PSNR |\n|---|---|---|\n");
let mut strips: Vec<Picture> = Vec::new();
for experiment in ["ixi_radial_x8", "ixi_radial_x8_no_dcm"] {
    let wanted: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let acts: Vec<Activation> = run_activations(&outcome(&outcomes, experiment).dir, &spec, &wanted).unwrap();
    let target: Vec<f64> = channel0(&acts[6]);
    let stage_psnr: Vec<f64> = acts[..6].iter().map(|a| psnr(&channel0(a), &target)).collect();
    let values: Vec<String> = stage_psnr.iter().map(|v| format!("{v:.2}")).collect();
    let drops: usize = stage_psnr.windows(2).filter(|w| w[1] < w[0]).count();
    curves += &format!("| {experiment} | {} | {drops} of 5 |\n", values.join(" "));
    strips.push(Picture::row(&acts[..6].iter().map(|a| Picture::auto(&channel0(a), a.height, a.width)).collect::<Vec<_>>()));
}
nb.save("ima-stages.png", &Picture::column(&strips).enlarge(4)).unwrap();
Markdown(curves.clone())

// %% [markdown] id="stats-md"
// ## 6. Significance, and the two SSIM protocols
//
// Table 1 prints two p-values per cell (PSNR / SSIM) from a test it does not name; the kit's
// choice is the paired two-sided t-test over test slices (`mcmr::stats::paired_t_test`). And the
// group's SSIM uses scikit-image 0.19's implicit data range of 2 for float images, which
// flatters SSIM on [0, 1] images: the same predictions under `ima-unit` (range 1) below.

// %% id="stats"
let ima_results: EvalResult = outcome(&outcomes, "ixi_radial_x8").results.clone();
let mut tests: String = String::from("| IMA vs | ΔPSNR (dB) | p (PSNR) | ΔSSIM | p (SSIM) |\n|---|---|---|---|---|\n");
for other in ["ixi_radial_x8_unet", "ixi_radial_x8_no_csca", "ixi_radial_x8_no_dcm", "ixi_radial_x8_zero_filled"] {
    let o = outcome(&outcomes, other);
    let p = mcmr::stats::paired_t_test(&per_slice(&ima_results, "psnr"), &per_slice(&o.results, "psnr")).unwrap();
    let s = mcmr::stats::paired_t_test(&per_slice(&ima_results, "ssim"), &per_slice(&o.results, "ssim")).unwrap();
    tests += &format!("| {other} | {:+.2} | {:.2e} | {:+.4} | {:.2e} |\n", p.mean_difference, p.p_two_sided, s.mean_difference, s.p_two_sided);
}
Markdown(tests.clone())

// %% id="protocols"
let mut both: String = String::from("| run | PSNR | SSIM (ima-group, range 2) | SSIM (ima-unit, range 1) |\n|---|---|---|---|\n");
for o in &outcomes {
    let unit: EvalResult = mcmr::experiment::evaluate_run_with(&o.dir, &spec, mcmr::protocols::Protocol::IMA_UNIT).unwrap();
    both += &format!("| {} | {:.2} | {:.4} | {:.4} |\n", o.manifest.experiment, o.results.mean("psnr").unwrap(), o.results.mean("ssim").unwrap(), unit.mean("ssim").unwrap());
}
Markdown(both.clone())

// %% [markdown] id="compare-md"
// ## 7. Published vs reproduced
//
// The report `mcmr reproduce` wrote: every published cell beside the smoke run that stands for
// it, then every claim on the published numbers and on the smoke runs. At smoke scale there is
// no Δ against published values.

// %% id="compare"
Markdown::file(&runs_dir.join("ima/smoke-published.md")).unwrap()

// %% [markdown] id="expected-md"
// The smoke numbers and claims CI guards (`reference_results/ima/expected.json`).

// %% id="expected"
Markdown::file(&runs_dir.join("ima/smoke-comparison.md")).unwrap()

// %% [markdown] id="choices-md"
// ## 8. What the paper left open, and what the spec chose
//
// The research note (`ima.md` §8) ranks 26 ambiguities by their likely effect; each choice is a
// commented setting in the spec. The ones that matter most:
//
// | | the paper | the spec's choice |
// |---|---|---|
// | A6 | what Eq. 18 freezes; which mask stage 1 uses; how contraction is indexed | the stage's input k-space inside m_s; m₁ = M₀; the palindrome m_s = D_min(s−1, T−s, J) |
// | A7 | the DCM kernels (Fig. 4 is missing) | kernel 1 = 3×3 ones (δ = 3); 2 = 3×3 cross, 3 = 5×5 ones (guesses; variants `kernel2`, `kernel3`) |
// | A1 | widths C, c, r − c; how X, Z, Y are embedded | C = 32 for everything; X₀ and Z by channel repetition; Y by a conv block computed once |
// | A9 | CSCA's internals | channel attention summing a self and a cross affinity (Eq. 21); LayerNorm, 1×1 + depthwise 3×3/5×5 Q/K/V, 4 heads, 1×1 merge, no residual, one per stage; the windowed form (8×8 windows, Swin's relative position bias, in jCAN's style) as variant `csca_window` |
// | A21 | the masks' generators | fastMRI's random columns (centre 0.08 at 4×, 0.04 at 8×); equally spaced radial spokes; one fixed mask per setting |
// | A22 | the metric code | the group's: clip to [0, 1], PSNR at the slice maximum, SSIM at range 2 (`ima-group`); range 1 beside it (`ima-unit`) |
// | A15 | the learning-rate schedule | StepLR(10 epochs, 0.5), the group's default |
// | A5 | complex → real after each F⁻¹ | Re(·) (the group's code takes |·|) |
// | A3 | output and loss targets | channel 0 of X_T; the loss over all C channels, the target repeated |
// | A2 | initial Ỹ₀, G₀ | Ỹ₀ = 0, G₀ = X₀ |
// | A10 | Eq. 20 has Ỹ, not B(Ỹ), inside BBᵀ | as printed |
// | A11, A12 | the ablations | w/o CSCA: A(Y) − G in its place; w/o DCM: every stage uses M₀ |
// | A13 | initial scalars | μ = 0.5, α = 1, β = 0.5, λ₁ = λ₂ = 1; α clamped at 0 in the G step |
// | A23 | the significance test | paired two-sided t-test over test slices |
// | A31 | seed | 6 (the group's default) |
//
// Not yet in the kit: CSCA's windowed (jCAN-style) form, the fastMRI runs (the kit's fastMRI
// reader takes the raw k-space; IMA simulates k-space from the images), and the baselines
// MICCAN, DuDoRNet, DuDoCAF, MC-VarNet and RNU (their rows are "not run").

// %% [markdown] id="student-md"
// ## 9. Change the spec and rerun: the DCM kernel
//
// Table 2(b) says the kernel matters (1.1–1.7 dB on IXI). Here, the 5×5 kernel (our guess for
// kernel 3) as a new experiment appended to a copy of the spec, trained at smoke scale; compare
// with IMA (kernel 1) and w/o DCM above.

// %% id="student"
let mine: PathBuf = edited_spec(&spec, &[], r#"
experiment kernel_5x5 {
    use = ["ixi_radial_x8", "ima"]
    variant = "kernel3"
}"#, &nb.out().join("edited")).unwrap();
let sweep: Vec<RunOutcome> = reproduce(&mine, &ReproduceOptions {
    out: nb.out().join("edited-runs"),
    experiments: vec!["kernel_5x5".into()],
    overwrite: true,
    ..ReproduceOptions::default()
}).unwrap();
let kernels: String = {
    let mut t = String::from("| kernel | PSNR (dB) | SSIM |\n|---|---|---|\n");
    for (k, r) in [("3×3 ones (kernel 1, IMA)", &ima_results), ("5×5 ones (kernel 3?)", &outcome(&sweep, "kernel_5x5").results), ("none (w/o DCM)", &outcome(&outcomes, "ixi_radial_x8_no_dcm").results)] {
        t += &format!("| {k} | {:.2} | {:.4} |\n", r.mean("psnr").unwrap(), r.mean("ssim").unwrap());
    }
    t
};
Markdown(kernels.clone())

// %% [markdown] id="paper-md"
// ## 10. Running at paper scale
//
// With IXI as NIfTI volumes (T2 and PD per subject, registered), on a GPU:
//
// ```
// cargo build --release --features mcmr-kernel/cuda
// target/release/mcmr reproduce papers/ima.mcmr --scale paper --experiment ixi_radial_x8 --data /data/ixi --device cuda --out runs
// target/release/mcmr reproduce papers/ima.mcmr --scale paper --data /data/ixi --device cuda --out runs
// ```
//
// Paper scale is C = 32 and T = 12 stages, 100 epochs of batch 1 at 256×256; every run
// reproducing a published cell then shows Δ and a verdict.
//
// ## 11. Tolerance check (CI)

// %% id="check"
let report: CheckReport = reference::check(&references, Some("ima"), &nb.out().join("check"), Some(&reuse), |_| {}).unwrap();
for line in &report.lines {
    let ok = line.starts_with("PASS");
    nb.check(line.trim_start_matches("PASS ").trim_start_matches("FAIL "), ok);
}
println!("{} passed, {} failed", report.passed, report.failed);

// %% id="finish"
nb.finish();
