//! Data: the embedded multi-contrast phantoms (the default source), real-format loaders (NIfTI
//! layouts, fastMRI HDF5, measured k-space in `.npy` volumes such as CC359's), preparation (slices, orientation, crop, normalisation, splits) and the
//! dataset interface that serves slice items to training and evaluation.

pub mod cc359;
pub mod dataset;
pub mod fastmri;
pub mod layout;
pub mod phantom;
pub mod prepare;
pub mod simulate;
