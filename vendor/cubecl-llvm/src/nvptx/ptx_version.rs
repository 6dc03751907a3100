//! The PTX ISA version the LLVM backend would emit.

use core::fmt;
use std::ffi::CString;

/// A PTX ISA version written as the NVPTX target feature spells it (`87` for 8.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtxVersion(u32);

impl PtxVersion {
    /// The PTX version to emit for a driver of CUDA `driver` (`cuDriverGetVersion`'s number).
    /// Always `None` here: nothing in this build emits PTX (the C++ backend hands CUDA C++ to
    /// NVRTC, which picks its own), and `None` is what the runtime passes on for "LLVM's
    /// default", so the C++ backend's kernel cache keys are unaffected.
    pub fn for_driver(_driver: i32) -> Option<Self> {
        None
    }

    /// The NVPTX target feature that selects this version (`+ptx87`).
    pub fn target_feature(self) -> CString {
        CString::new(format!("+{self}")).expect("no NUL in a PTX feature")
    }
}

impl fmt::Display for PtxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ptx{}", self.0)
    }
}
