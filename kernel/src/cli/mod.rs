//! The `mcmr` command line: one file per command, each a clap `Args` struct (or a subcommand
//! enum) with a `run` method; this file holds the command list, shared helpers and `main`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use mcmr::io::volume::read_volume;
use mcmr::masks::{generate, MaskFamily, MaskParams};
use mcmr::protocols::{evaluate, Protocol};
use mcmr::rng::Seed;
use std::path::PathBuf;

/// Prints to stdout; a closed pipe (`mcmr ... | head`) ends the program quietly instead of
/// panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe { std::process::exit(0); }
        }
    }};
}

macro_rules! say_raw {
    ($($t:tt)*) => {{
        use std::io::Write;
        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe { std::process::exit(0); }
        }
    }};
}

mod check;
mod check_spec;
mod compare;
mod data;
mod evaluate;
mod flops;
mod fmt;
mod mask;
mod metrics;
mod notebook;
mod parity;
mod reproduce;
mod resume;
mod zero_filled;

#[derive(Parser)]
#[command(name = "mcmr", version, about = "Reproduce multi-contrast MRI reconstruction papers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an undersampling mask and print or save it.
    Mask(mask::MaskCmd),
    /// Score a prediction against a ground truth under a named protocol.
    Metrics(metrics::MetricsCmd),
    /// Check a spec: diagnostics, then parameter counts.
    CheckSpec(check_spec::CheckSpecCmd),
    /// Format a spec in place (or check that it is formatted).
    Fmt(fmt::FmtCmd),
    /// Time an experiment's training steps at a scale's sizes, on the phantom (the GPU benchmark).
    BenchTrain(flops::BenchTrainCmd),
    /// Count what an experiment's network computes on one slice (MACs and FLOPs per module).
    Flops(flops::FlopsCmd),
    /// Compare a compiled spec with the official code's tensors in a fixture folder.
    Parity(parity::ParityCmd),
    /// Make or inspect datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Notebook sources (`notebooks/*.rs`) and executed notebooks.
    #[command(subcommand)]
    Notebook(notebook::NotebookCommand),
    /// Train and evaluate what a spec declares; write run folders and print the table.
    Reproduce(reproduce::ReproduceCmd),
    /// A reproduction as a Slurm job array, one run per task (print the script, or `--submit`).
    Slurm(reproduce::SlurmCmd),
    /// Continue a run from its last checkpoint and finish it.
    Resume(resume::ResumeCmd),
    /// Evaluate a finished run's model again (optionally on other data).
    Evaluate(evaluate::EvaluateCmd),
    /// Compare a run with the expected and published numbers of reference_results.
    Compare(compare::CompareCmd),
    /// Run the reproductions reference_results expects (smoke, or `--scale reduced`) and check every cell and claim.
    Check(check::CheckCmd),
    /// Zero-filled reconstruction of one slice (embedded phantom or --data), scored under every protocol.
    ZeroFilled(zero_filled::ZeroFilledCmd),
}

/// Which network of a spec, under which variant and parameter overrides (`check-spec`, `parity`).
#[derive(clap::Args)]
pub struct NetworkArgs {
    /// A variant section of the spec whose settings override network parameters.
    #[arg(long)]
    variant: Option<String>,
    /// Network parameter override, KEY=VALUE (repeatable).
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// The network (default: the last one in the file).
    #[arg(long)]
    network: Option<String>,
}

pub(crate) fn parse_kv(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

pub(crate) fn load_spec(
    file: &std::path::Path,
    network: Option<&str>,
    variant: Option<&str>,
    params: &[(String, String)],
) -> Result<(Vec<mcmr_dsl::plan::Section>, mcmr_dsl::check::Checked, mcmr_dsl::Loaded)> {
    let overrides: Vec<(String, mcmr_dsl::check::Value)> =
        params.iter().map(|(k, v)| (k.clone(), mcmr_dsl::check::Value::parse_literal(v))).collect();
    mcmr::spec::load_spec(file, network, variant, &overrides).map_err(|e| anyhow::anyhow!(e))
}

/// Runs the command line; errors go to stderr with exit code 1 (2 for invalid mask parameters).
pub fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mask(c) => c.run(),
        Command::Metrics(c) => c.run(),
        Command::CheckSpec(c) => c.run(),
        Command::Fmt(c) => c.run(),
        Command::Flops(c) => c.run(),
        Command::BenchTrain(c) => c.run(),
        Command::Parity(c) => c.run(),
        Command::Data(c) => c.run(),
        Command::Notebook(c) => c.run(),
        Command::Reproduce(c) => c.run(),
        Command::Slurm(c) => c.run(),
        Command::Resume(c) => c.run(),
        Command::Evaluate(c) => c.run(),
        Command::Compare(c) => c.run(),
        Command::Check(c) => c.run(),
        Command::ZeroFilled(c) => c.run(),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(if e.downcast_ref::<mcmr::masks::MaskError>().is_some() { 2 } else { 1 });
    }
}
