//! Built-in data. Until the procedural multi-contrast phantom lands (see the data issue), the
//! kit's default image is the modified Shepp–Logan phantom.

pub mod shepp_logan;
