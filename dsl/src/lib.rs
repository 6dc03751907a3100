//! # mcmr-dsl — the spec language of mcmr-kit
//!
//! A spec describes a paper: networks as graphs of blocks, and experiments as nested sections.
//! [`parse`] turns text into a syntax tree, [`check::elaborate`] turns a network of it into a
//! flat, fully sized graph ([`ir::Graph`]) with one node per primitive call and a parameter path
//! per parameter, reporting every problem as a [`diag::Diagnostic`]. The kernel compiles that
//! graph into a burn model at run time. See `docs/language.md` for the language reference.

pub mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod ir;
mod parse;
pub mod prims;

pub use parse::parse;
