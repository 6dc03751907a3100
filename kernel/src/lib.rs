//! # mcmr — the numeric core of mcmr-kit
//!
//! MRI physics, metrics, data, compiled networks, training, evaluation and reports for
//! reproducing multi-contrast MRI reconstruction papers. One concept per module, each stating
//! its convention in its first paragraph:
//!
//! * [`fft`] — host FFTs (rustfft): centred/uncentred, `backward`/`ortho`/`forward`, rfft2/irfft2.
//! * [`ops`] — the same transforms on burn tensors, differentiable, plus magnitude/phase/polar.
//! * [`rng`] — a numpy-`RandomState`-compatible Mersenne Twister (bit-exact fastMRI masks).
//! * [`masks`] — every undersampling pattern the papers use, each with an explicit seed.
//! * [`kspace`] — k-space simulation, masking, zero filling, noise, data consistency.
//! * [`metrics`] and [`protocols`] — PSNR/SSIM/NMSE and the protocols (parameters, with the
//!   papers' as presets) that aggregate them.
//! * [`io`] — `.npy`, NIfTI, safetensors and PNG, with atomic writes.
//! * [`data`] — the embedded phantoms, dataset folders (BraTS, IXI, HCP, fastMRI) and the one
//!   dataset interface training reads.
//! * [`spec`] — loading a spec for the kernel, and the kernel's vocabulary for its checker.
//! * [`model`] — a spec's network compiled into a burn module; [`loss`], [`optim`] and
//!   [`schedule`] — losses, PyTorch's optimisers and learning-rate schedules; [`optim_device`]
//!   the same update rules on the parameters' device (GPU training).
//! * [`experiment`] — plans, runs, training, evaluation, reports and comparisons.
//! * [`parity`] — a compiled spec against the official code's tensors.
//! * [`threads`] — where CPU work runs: each training step and evaluated batch on a rayon worker.
//! * [`stats`] — paired significance tests over test slices (the p-values some tables print).
//! * [`zero_filled`] — the zero-filled baseline report that `mcmr zero-filled` writes.
//! * [`notebook`] — what the evcxr notebooks call: figures, Markdown, checks and the verdict CI reads.
//!
//! ```
//! use mcmr::masks::{generate, MaskFamily, MaskParams};
//! use mcmr::rng::Seed;
//! let m = generate(&MaskParams::new(MaskFamily::EquispacedFraction, [240, 240], 8.0)
//!     .center_fraction(0.04).seed(Seed::Int(1337))).unwrap();
//! println!("{} lines, {:.2}x", m.sampled_columns.as_ref().unwrap().len(), m.achieved_acceleration());
//! ```

pub mod data;
pub mod experiment;
pub mod fft;
pub mod io;
pub mod kspace;
pub mod loss;
pub mod lpips;
pub mod masks;
pub mod metrics;
pub mod model;
pub mod notebook;
pub mod ops;
pub mod optim;
pub mod optim_device;
pub mod parity;
pub mod protocols;
pub mod rng;
pub mod schedule;
pub mod spec;
pub mod stats;
pub mod threads;
pub mod zero_filled;

/// The spec language (re-exported for notebooks: parameter values, diagnostics).
pub use mcmr_dsl as dsl;
/// The complex sample type of k-space (re-exported so that notebooks need no extra dependency).
pub use num_complex::Complex32;
