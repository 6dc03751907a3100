//! `mcmr`: the mcmr-kit command-line tool. Each command lives in its own file under `cli/`.

mod cli;

fn main() {
    cli::main()
}
