// Notebook source (percent format). `mcmr notebook build notebooks/` writes the .ipynb beside it.

// %% [markdown] id="title"
// # A tour of accelerated MRI physics
//
// A course companion to mcmr-kit. Every number and picture below is computed by the kit's own
// code when this notebook runs, on the embedded brain phantom (no data download):
//
// 1. what k-space is, and the centred orthonormal FFT convention (`fft2c`);
// 2. each undersampling mask family, its achieved acceleration and its aliasing pattern;
// 3. zero-filled reconstructions and their metrics under each protocol — the same images give
//    different numbers under different protocols;
// 4. why a fully sampled reference contrast helps;
// 5. data consistency.
//
// Each section ends with checks of a physical fact (Parseval's theorem, a projection that never
// moves away from the truth, ...). The last cell writes them to `verdict.json`, which CI reads.
// Change any value and rerun: the cells call the kit's library, nothing needs recompiling.

// %% id="dep"
:dep mcmr-kernel = { path = "../kernel" }

// %% id="setup"
use mcmr::data::phantom::{brain, PhantomOptions};
use mcmr::fft::{fft2c, ifft2c};
use mcmr::kspace::{apply_mask, hard_data_consistency, simulate_kspace, to_image, zero_filled_magnitude};
use mcmr::io::volume::Volume;
use mcmr::masks::{generate, Mask, MaskFamily, MaskParams};
use mcmr::metrics::{psnr, ssim};
use mcmr::notebook::{Markdown, Notebook, Picture};
use mcmr::protocols::{evaluate, Protocol};
use mcmr::rng::Seed;
use mcmr::Complex32;

/// Slice `s` of a volume, as a flat `n×n` image.
fn slice(v: &Volume, s: usize) -> Vec<f64> {
    let a = v.height * v.width;
    v.data[s * a..(s + 1) * a].to_vec()
}
fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}
fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}
/// The value recorded under `name`.
fn lookup(pairs: &[(String, f64)], name: &str) -> f64 {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| *v).expect("a recorded name")
}

let mut nb: Notebook = Notebook::start("00-mri-physics-tour").expect("an output folder");
println!("figures and the verdict go to {}", nb.out().display());

// %% [markdown] id="phantom-md"
// ## 1. A multi-contrast slice and its k-space
//
// The phantom is one procedural brain seen with two MR contrasts: T1-weighted (the
// *reference*, fast to acquire) and T2-weighted (the *target*, the slow scan we want to
// accelerate). Same anatomy, different tissue brightness.

// %% id="phantom"
let n: usize = 128;
let subject: mcmr::data::phantom::Subject = brain(0, n, 4, &PhantomOptions::default());
let t1: Volume = subject.contrasts["t1"].clone();
let t2: Volume = subject.contrasts["t2"].clone();
let t1s: Vec<f64> = slice(&t1, 2);
let t2s: Vec<f64> = slice(&t2, 2);
let hi: f64 = t2s.iter().cloned().fold(0.0, f64::max);
let fig: Picture = Picture::row(&[Picture::auto(&t1s, n, n), Picture::scaled(&t2s, n, n, 0.0, hi)]).enlarge(2);
nb.save("phantom.png", &fig).unwrap()

// %% [markdown] id="kspace-md"
// The scanner measures the Fourier transform of the image: **k-space**. The kit's convention is
// fastMRI's `fft2c`: shift the image centre to index 0, apply the orthonormal 2D DFT
// (`1/√(H·W)` on both directions), shift back — so the zero frequency sits at `(H/2, W/2)` and
// the transform preserves energy (Parseval). Below, the log-magnitude of the T2 k-space; then
// the image rebuilt from only its central 8% of columns (contrast, no edges) and from everything
// but them (edges, no contrast).

// %% id="kspace"
let mut k: Vec<Complex32> = t2s.iter().map(|&x| Complex32::new(x as f32, 0.0)).collect();
fft2c(&mut k, n, n);
let energy_image: f64 = t2s.iter().map(|x| x * x).sum();
let energy_k: f64 = k.iter().map(|z| f64::from(z.norm_sqr())).sum();
let dc: f64 = k[(n / 2) * n + n / 2].re as f64;
let sum: f64 = t2s.iter().sum();
let mut back: Vec<Complex32> = k.clone();
ifft2c(&mut back, n, n);
let roundtrip: f64 = back.iter().zip(&t2s).map(|(a, &b)| (f64::from(a.re) - b).abs()).fold(0.0, f64::max);
println!("energy: image {energy_image:.3}, k-space {energy_k:.3}");
println!("k[H/2, W/2] = {dc:.4}; sum/sqrt(HW) = {:.4}", sum / n as f64);
println!("max |ifft2c(fft2c(x)) - x| = {roundtrip:.2e}");
nb.check("Parseval: fft2c keeps the image's energy (relative gap < 1e-5)", (energy_k / energy_image - 1.0).abs() < 1e-5);
nb.check("the zero frequency sits at (H/2, W/2) and equals sum/sqrt(HW)", (dc - sum / n as f64).abs() < 1e-3 * sum / n as f64);
nb.check("ifft2c inverts fft2c (max error < 1e-5 of the peak)", roundtrip < 1e-5 * hi);
let band: usize = (n as f64 * 0.04).round() as usize;
let centre: Vec<u8> = (0..n * n).map(|i| u8::from((i % n).abs_diff(n / 2) <= band)).collect();
let outside: Vec<u8> = centre.iter().map(|&c| 1 - c).collect();
let low: Vec<f64> = f64s(&zero_filled_magnitude(&apply_mask(&k, &centre, n, n), n, n));
let high: Vec<f64> = f64s(&zero_filled_magnitude(&apply_mask(&k, &outside, n, n), n, n));
let fig: Picture = Picture::row(&[Picture::log_kspace(&k, n, n), Picture::scaled(&low, n, n, 0.0, hi), Picture::auto(&high, n, n)]).enlarge(2);
nb.save("kspace.png", &fig).unwrap()

// %% [markdown] id="masks-md"
// ## 2. Undersampling masks
//
// Acquiring fewer k-space lines makes the scan faster by the **acceleration** `R` = all samples
// / sampled ones. Every mask family the papers use, at a nominal `R = 4`: the mask, the
// zero-filled reconstruction (inverse FFT with the missing samples set to zero) and its error
// (×2). Regular (equispaced) undersampling folds the image onto itself in sharp ghosts; random
// undersampling spreads the same energy as noise-like streaks, which a network removes more
// easily. 1D families pick whole columns (phase-encoding lines); 2D families pick points, as a
// 3D acquisition's two phase-encoding directions would. A mask's *achieved* acceleration can
// differ from the nominal one: fastMRI's `equispaced` and `magic` add the fully sampled centre
// on top of every 4th line (so they sample more), which is why their `_fraction` variants
// exist; `center_square` (UniFS's low-resolution mask) keeps a block of 1/4 of each axis, so
// "4x" there means 16x fewer samples. Every family samples the centre of k-space, where most of
// the image's energy is.

// %% id="masks"
let k_t2: Vec<Complex32> = simulate_kspace(&f32s(&t2s), None, n, n);
let mut rows: Vec<Picture> = Vec::new();
let mut table: String = String::from("| family | 1D | sampled | achieved R | PSNR (dB) | SSIM |\n|---|---|---|---|---|---|\n");
let mut achieved: Vec<(String, f64)> = Vec::new();
let mut centre_sampled: Vec<bool> = Vec::new();
for family in MaskFamily::ALL {
    let m = generate(&MaskParams::new(family, [n, n], 4.0).seed(Seed::Int(1337))).unwrap();
    let zf = f64s(&zero_filled_magnitude(&apply_mask(&k_t2, &m.to_pixels(), n, n), n, n));
    let err: Vec<f64> = zf.iter().zip(&t2s).map(|(a, b)| (a - b).abs()).collect();
    let (p, s) = (psnr(&t2s, &zf, hi), ssim(&t2s, &zf, n, n, hi));
    table += &format!("| `{}` | {} | {} | {:.2} | {p:.2} | {s:.3} |\n", family.name(), family.is_1d(), m.sampled_count(), m.achieved_acceleration());
    achieved.push((family.name().to_string(), m.achieved_acceleration()));
    centre_sampled.push(m.to_pixels()[(n / 2) * n + n / 2] != 0);
    rows.push(Picture::row(&[Picture::mask(&m), Picture::scaled(&zf, n, n, 0.0, hi), Picture::scaled(&err, n, n, 0.0, hi / 2.0)]));
}
nb.check("every mask family samples the centre of k-space", centre_sampled.iter().all(|&c| c));
nb.check(
    "equispaced_fraction reaches the nominal 4x more closely than equispaced (which adds the centre on top)",
    (lookup(&achieved, "equispaced_fraction") - 4.0).abs() < (lookup(&achieved, "equispaced") - 4.0).abs(),
);
nb.check(
    "magic_fraction reaches the nominal 4x more closely than magic",
    (lookup(&achieved, "magic_fraction") - 4.0).abs() < (lookup(&achieved, "magic") - 4.0).abs(),
);
nb.save("masks.png", &Picture::column(&rows)).unwrap()

// %% id="masks-table"
Markdown(table.clone())

// %% [markdown] id="protocols-md"
// ## 3. One reconstruction, four protocols
//
// The papers report PSNR and SSIM, but each computes them its own way: which data range, which
// preprocessing, per slice or per volume. Here one zero-filled volume (4 slices, random mask
// at 4x) is scored under each of the kit's named protocols, twice: with intensities scaled so
// that the volume's maximum is 1, and the same images at half that scale (another
// normalisation convention). `fastmri-volume` and `slice-mean` take the data range from the
// ground truth, so the scale does not matter; `unifs-unit` fixes the data range at 1 and
// `fsmnet-brats-uint8` at 255 after clipping to [0, 1], so halving every intensity moves their
// PSNR by about 20·log10(2) ≈ 6 dB — for identical reconstructions. Such gaps are larger than
// the margins by which papers beat each other, which is why every result of the kit carries
// its protocol's name.

// %% id="protocols"
let m4: Mask = generate(&MaskParams::new(MaskFamily::Random, [n, n], 4.0).center_fraction(0.08).seed(Seed::Int(1337))).unwrap();
let vol_k: Vec<Complex32> = simulate_kspace(&f32s(&t2.data), None, n, n);
let zf_vol: Vec<f64> = f64s(&zero_filled_magnitude(&apply_mask(&vol_k, &m4.to_pixels(), n, n), n, n));
let peak: f64 = t2.data.iter().cloned().fold(0.0, f64::max);
/// The volume's values times `scale / peak`.
fn scaled(values: &[f64], slices: usize, n: usize, scale: f64) -> Volume {
    let peak = values.iter().cloned().fold(0.0, f64::max);
    Volume::new(slices, n, n, values.iter().map(|x| x * scale / peak).collect())
}
let mut table: String = String::from("| protocol | PSNR, max 1 (dB) | PSNR, max 0.5 (dB) | shift (dB) | SSIM, max 1 | SSIM, max 0.5 |\n|---|---|---|---|---|---|\n");
let mut shifts: Vec<(String, f64)> = Vec::new();
for p in Protocol::ALL {
    // The ground truth sets the scale; the reconstruction is scaled by the same factor.
    let r1 = evaluate(p, &scaled(&t2.data, t2.slices, n, 1.0), &Volume::new(t2.slices, n, n, zf_vol.iter().map(|x| x / peak).collect())).unwrap();
    let r2 = evaluate(p, &scaled(&t2.data, t2.slices, n, 0.5), &Volume::new(t2.slices, n, n, zf_vol.iter().map(|x| 0.5 * x / peak).collect())).unwrap();
    table += &format!("| `{}` | {:.2} | {:.2} | {:+.2} | {:.4} | {:.4} |\n", p.name(), r1.psnr, r2.psnr, r2.psnr - r1.psnr, r1.ssim, r2.ssim);
    shifts.push((p.name().to_string(), r2.psnr - r1.psnr));
}
nb.check("fastmri-volume and slice-mean do not depend on the intensity scale", lookup(&shifts, "fastmri-volume").abs() < 1e-9 && lookup(&shifts, "slice-mean").abs() < 1e-9);
nb.check(
    "unifs-unit (data range fixed at 1) gains 20 log10(2) = 6.02 dB (within 0.5 dB: its background filter) when intensities halve",
    (lookup(&shifts, "unifs-unit") - 20.0 * 2f64.log10()).abs() < 0.5,
);
Markdown(table.clone())

// %% [markdown] id="reference-md"
// ## 4. Why a fully sampled reference contrast helps
//
// T1 and T2 image the same anatomy: edges sit in the same places, only each tissue's
// brightness differs. Two experiments without any learning, at 8x (equispaced-fraction):
//
// * **Naive substitution** — fill the target's missing k-space lines with the reference's,
//   scaled by the least-squares factor fitted on the lines both have. The contrasts differ, so
//   the borrowed lines carry the wrong brightness for each tissue.
// * **Contrast mapping** — map each T1 intensity to the mean of the zero-filled T2 over the
//   pixels with that T1 intensity (a joint histogram with 64 bins). Aliasing averages out
//   within each bin, and the result has the reference's sharp edges with the target's
//   contrast; data consistency (section 5) then restores the measured lines.
//
// Multi-contrast networks learn a far better version of this transfer; the panels show
// zero-filled | naive substitution | contrast mapping | mapping + data consistency | truth.

// %% id="reference"
let m8: Mask = generate(&MaskParams::new(MaskFamily::EquispacedFraction, [n, n], 8.0).center_fraction(0.04).seed(Seed::Int(1337))).unwrap();
let px: Vec<u8> = m8.to_pixels();
let k_t1: Vec<Complex32> = simulate_kspace(&f32s(&t1s), None, n, n);
let measured: Vec<Complex32> = apply_mask(&k_t2, &px, n, n);
let zf8: Vec<f64> = f64s(&zero_filled_magnitude(&measured, n, n));
// Naive substitution.
let mut num: Complex32 = Complex32::new(0.0, 0.0);
let mut den: f32 = 0.0;
for i in 0..n * n {
    if px[i] != 0 {
        num += k_t2[i] * k_t1[i].conj();
        den += k_t1[i].norm_sqr();
    }
}
let alpha: Complex32 = num / den;
let filled: Vec<Complex32> = (0..n * n).map(|i| if px[i] != 0 { k_t2[i] } else { k_t1[i] * alpha }).collect();
let naive: Vec<f64> = f64s(&zero_filled_magnitude(&filled, n, n));
// Contrast mapping through the joint histogram of T1 and the zero-filled T2.
let bins: usize = 64;
let t1_hi: f64 = t1s.iter().cloned().fold(0.0, f64::max);
let bin: Vec<usize> = t1s.iter().map(|&v| ((v / t1_hi * bins as f64) as usize).min(bins - 1)).collect();
let mut sums: Vec<(f64, usize)> = vec![(0.0, 0); bins];
for i in 0..n * n {
    sums[bin[i]].0 += zf8[i];
    sums[bin[i]].1 += 1;
}
let mapped: Vec<f64> = bin.iter().map(|&b| sums[b].0 / sums[b].1 as f64).collect();
let k_mapped: Vec<Complex32> = simulate_kspace(&f32s(&mapped), None, n, n);
let mapped_dc: Vec<f64> = to_image(&hard_data_consistency(&k_mapped, &measured, &px, n, n), n, n).iter().map(|z| f64::from(z.norm())).collect();
let p_zf: f64 = psnr(&t2s, &zf8, hi);
println!("8x equispaced-fraction, PSNR against the truth:");
println!("  zero-filled                 {p_zf:.2} dB");
println!("  naive substitution          {:.2} dB (alpha = {alpha:.3})", psnr(&t2s, &naive, hi));
println!("  contrast mapping            {:.2} dB", psnr(&t2s, &mapped, hi));
println!("  mapping + data consistency  {:.2} dB", psnr(&t2s, &mapped_dc, hi));
nb.check("contrast mapping from the reference, with data consistency, beats zero-filling at 8x", psnr(&t2s, &mapped_dc, hi) > p_zf);
let fig: Picture = Picture::row(&[&zf8, &naive, &mapped, &mapped_dc, &t2s].map(|v| Picture::scaled(v, n, n, 0.0, hi))).enlarge(2);
nb.save("reference.png", &fig).unwrap()

// %% [markdown] id="dc-md"
// ## 5. Data consistency
//
// Whatever a network predicts, the lines that were measured are known exactly (here, without
// noise). *Hard data consistency* replaces the prediction's k-space on the sampled lines by the
// measurements. It is a projection onto the set of images that agree with the measurements;
// the truth is in that set, so the projection can only move a prediction closer to it (in
// k-space, hence — the FFT being orthonormal — in the complex image). Below, the
// naive substitution of section 4 and a blurred zero-filled image, each before and after.

// %% id="dc"
let mut results: Vec<(String, f64, f64)> = Vec::new();
let blur: Vec<f64> = (0..n * n)
    .map(|i| {
        let (r, c) = (i / n, i % n);
        let mut s = 0.0;
        for (dr, dc) in [(0, 0), (0, 1), (1, 0), (0, n - 1), (n - 1, 0)] {
            s += zf8[((r + dr) % n) * n + (c + dc) % n];
        }
        s / 5.0
    })
    .collect();
/// The L2 distance between two k-spaces.
fn distance(a: &[Complex32], b: &[Complex32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from((x - y).norm_sqr())).sum::<f64>().sqrt()
}
let mut pictures: Vec<Picture> = Vec::new();
for (name, img) in [("naive substitution", naive.clone()), ("blurred zero-filled", blur.clone())] {
    let k_pred = simulate_kspace(&f32s(&img), None, n, n);
    let k_dc = hard_data_consistency(&k_pred, &apply_mask(&k_t2, &px, n, n), &px, n, n);
    let after: Vec<f64> = to_image(&k_dc, n, n).iter().map(|z| f64::from(z.norm())).collect();
    let (before_d, after_d) = (distance(&k_pred, &k_t2), distance(&k_dc, &k_t2));
    println!(
        "{name}: k-space distance to the truth {before_d:.4} -> {after_d:.4}; PSNR {:.2} -> {:.2} dB",
        psnr(&t2s, &img, hi),
        psnr(&t2s, &after, hi)
    );
    results.push((name.to_string(), before_d, after_d));
    pictures.push(Picture::row(&[Picture::scaled(&img, n, n, 0.0, hi), Picture::scaled(&after, n, n, 0.0, hi)]));
}
nb.check("hard data consistency never moves a prediction away from the truth", results.iter().all(|(_, b, a)| a <= b));
nb.save("data-consistency.png", &Picture::column(&pictures).enlarge(2)).unwrap()

// %% [markdown] id="end-md"
// ## Verdict
//
// The last cell writes `verdict.json` beside the figures. If a check failed it ends the kernel's
// process, which fails the notebook run; CI also reads the verdict file.

// %% id="finish"
nb.finish();
