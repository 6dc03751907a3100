//! # mcmr-dsl — the spec language of mcmr-kit
//!
//! This crate will hold the grammar (pest), the checks and diagnostics, the formatter and the
//! lowering of paper specs to burn models. It is empty until the spec-language issue lands; it
//! exists now so that the workspace has its final shape and its dependency set (pest) is built
//! from the first commit, avoiding feature-unification rebuilds later.
