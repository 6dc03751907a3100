//! Where the CPU backend's work runs: each training step and each evaluated batch on one of
//! rayon's worker threads, with glibc's allocator told to keep freed memory.
//!
//! The kernels that split their work (the kit's convolutions, FFTs and depthwise loops, gemm,
//! burn-flex's reductions) run on rayon's pool. Called from a thread outside the pool, each such
//! section is handed to the workers while the caller sleeps, and the element-wise work between
//! sections runs on the caller while the workers spin and then sleep: on two cores that is three
//! threads contending for two, and a wake-up for every section (several hundred per FSMNet step).
//! From inside the pool the caller takes its own share of each section and nothing is handed
//! over. Measured side by side on the 64×64 FSMNet step: 479, 490 ms from the main thread;
//! 370, 418 ms on a worker (`docs/benchmarks.md`). The values are the same: every split
//! of the kernels is fixed by the sizes and the pool's thread count, not by which thread asks.
//!
//! Only the step itself runs there: a closure that never waits on anything outside rayon (the
//! training loop's prefetching reader is waited for outside), so no worker can block on work that
//! only a worker could do, whatever `RAYON_NUM_THREADS` is.
//!
//! glibc hands allocations above its (adaptive) mmap threshold to fresh `mmap`s and returns them
//! on free, so the large activations of every step were page-faulted in anew: 9-15% of the
//! 64×64 FSMNet step in `perf`. Raising the threshold to its 32 MiB maximum, never trimming the
//! heap and growing it 128 MiB at a time keeps freed activations for the next step (the step
//! went from 479-516 to 424-442 ms alone). A process that sets `GLIBC_TUNABLES` with a `malloc`
//! entry keeps its own settings.

use burn::tensor::Device;

/// Runs `f` on one of rayon's workers when `device` is the Flex CPU backend and the caller is not
/// a worker already; elsewhere (a GPU, or inside the pool) on the calling thread. `f` must not
/// wait on work outside rayon's pool.
pub fn on_workers<R: Send>(device: &Device, f: impl FnOnce() -> R + Send) -> R {
    if !is_cpu(device) {
        return f();
    }
    tune_allocator();
    if rayon::current_thread_index().is_some() {
        return f();
    }
    // From outside the pool, `scope` runs its body on a worker and blocks until it is done.
    rayon::scope(|_| f())
}

/// Whether `device` (with or without autodiff) is the Flex CPU backend.
fn is_cpu(device: &Device) -> bool {
    device.clone().without_autodiff() == Device::flex()
}

/// glibc's allocator keeps freed memory (see the module's documentation), once per process.
fn tune_allocator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("malloc")) {
            return;
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes the allocator's parameters; any value is accepted or refused
        // (return 0) by glibc, and these are within its documented ranges.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            libc::mallopt(libc::M_TOP_PAD, 128 << 20);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_work_runs_on_a_worker_and_returns_its_value() {
        let device = Device::flex().autodiff();
        let (on_worker, v) = on_workers(&device, || (rayon::current_thread_index().is_some(), 41 + 1));
        assert!(on_worker, "the closure ran outside rayon's pool");
        assert_eq!(v, 42);
        // Nested calls run in place.
        let nested = on_workers(&device, || on_workers(&device, || rayon::current_thread_index()));
        assert!(nested.is_some());
    }

    #[test]
    fn the_same_step_gives_the_same_values_on_a_worker_and_on_the_caller() {
        use burn::tensor::{Tensor, TensorData};
        let device = Device::flex().autodiff();
        let step = || {
            let x = Tensor::<4>::from_data(
                TensorData::new(
                    (0..2 * 3 * 16 * 16).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect::<Vec<_>>(),
                    [2, 3, 16, 16],
                ),
                &device,
            )
            .require_grad();
            let w = Tensor::<4>::from_data(
                TensorData::new(
                    (0..4 * 3 * 9).map(|i| ((i * 13) % 17) as f32 / 17.0 - 0.5).collect::<Vec<_>>(),
                    [4, 3, 3, 3],
                ),
                &device,
            );
            let y = crate::ops::conv2d(x.clone(), w, None, 1);
            let (re, im) = crate::ops::fft2(y.clone(), y.zeros_like(), crate::fft::Norm::Ortho, true);
            let loss = burn::tensor::activation::sigmoid(crate::ops::magnitude(re, im)).mean();
            let g = x.grad(&loss.backward()).unwrap();
            (loss.into_data().try_to_vec::<f32>().unwrap(), g.into_data().try_to_vec::<f32>().unwrap())
        };
        let here = step();
        let there = on_workers(&device, step);
        assert_eq!(here, there);
    }
}
