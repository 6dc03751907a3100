//! A stand-in for `cubecl-llvm` 0.11.3 without LLVM (see this crate's README.md): the items
//! `cubecl-cuda` names, with the real crate's signatures. The kit builds `cubecl-cuda` with its
//! CUDA C++ backend (kernels compiled by NVRTC at run time), which never calls into these beyond
//! the types; the LLVM backend, if selected, fails at its first kernel with [`NO_LLVM`].

pub mod shared;
pub mod target;

#[cfg(feature = "nvptx")]
pub mod nvptx {
    //! NVPTX: only the PTX version type.
    pub mod ptx_version;
}

#[cfg(feature = "nvptx")]
pub use shared::NvptxModule;
pub use shared::{PlironArtifact, PlironCompiler, PlironOptions};
pub use target::LlvmTarget;

/// Why nothing here compiles a kernel, and the fix.
pub const NO_LLVM: &str = "this build's cubecl-llvm is mcmr-kit's stand-in without LLVM \
     (vendor/cubecl-llvm): the CUDA runtime must use its C++ backend, which \
     `--features mcmr-kernel/cuda` selects through cubecl's `cuda-cpp` feature";
