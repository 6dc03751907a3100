//! Data: the embedded phantoms (the default source), the modified Shepp–Logan test image, and
//! (with the loaders) real-format datasets.

pub mod dataset;
pub mod fastmri;
pub mod layout;
pub mod phantom;
pub mod prepare;
pub mod shepp_logan;
