//! The compiler types `cubecl-cuda` names, and the feature narrowing it calls for the LLVM
//! backend.

use crate::target::LlvmTarget;
use cubecl_core::ir::amd::GfxArch;
#[cfg(feature = "nvptx")]
use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::compiler::{CompilationError, Compiler};
use cubecl_runtime::config::compilation::F16Evaluation;
use cubecl_runtime::kernel::BufferIOAttr;

/// The LLVM compiler's handle: here it refuses every kernel with [`crate::NO_LLVM`].
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    pub target: LlvmTarget,
}

/// The LLVM compiler's options (the real crate's fields).
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    pub cpu_buffer_alignment: Option<u32>,
    pub arch: Option<GfxArch>,
    pub f16_evaluation: F16Evaluation,
    #[cfg(feature = "nvptx")]
    pub sm_arch: Option<SmArch>,
    #[cfg(feature = "nvptx")]
    pub ptx_version: Option<crate::nvptx::ptx_version::PtxVersion>,
    pub grid_constants: bool,
}

/// A compiled PTX module (the real crate's fields; never produced here).
#[cfg(feature = "nvptx")]
#[derive(Clone, Debug)]
pub struct NvptxModule {
    pub ptx: Vec<core::ffi::c_char>,
    pub entrypoint: String,
    pub ir: String,
    pub shared_memory_size: usize,
    pub io: Vec<BufferIOAttr>,
}

/// What the LLVM compiler produces. The real crate also has a CPU JIT engine and an AMDGPU code
/// object; `Unavailable` stands in for them (nothing constructs any variant here).
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    Unavailable,
    #[cfg(feature = "nvptx")]
    NvptxCode(NvptxModule),
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlironArtifact::Unavailable => f.write_str(crate::NO_LLVM),
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => f.write_str(&module.ir),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match repr {
            PlironArtifact::Unavailable => None,
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => Some(module.io.clone()),
        }
    }

    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic { reason: crate::NO_LLVM.to_string(), backtrace: BackTrace::capture() })
    }

    fn extension(&self) -> &'static str {
        if self.target.is_gpu() {
            "ll"
        } else {
            "plir"
        }
    }

    fn lang_tag(&self) -> &'static str {
        if self.target.is_gpu() {
            "llvm"
        } else {
            "mlir"
        }
    }
}

pub mod lowered_features {
    //! What the LLVM backend can lower, per GPU target.

    use cubecl_core::ir::DeviceProperties;

    /// The GPU target whose lowering the device's features would be narrowed to.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum GpuTarget {
        #[cfg(feature = "nvptx")]
        Nvptx,
        #[cfg(feature = "amdgpu")]
        AmdGpu { wmma: Option<cubecl_core::ir::amd::AmdWmma> },
    }

    /// Narrows `props` to what the LLVM backend lowers. Without LLVM nothing is lowered by it,
    /// and the C++ backend (the only one that runs) keeps the device's own features, so this
    /// leaves `props` as they are; the runtime calls it only when the LLVM backend is selected.
    pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
}
