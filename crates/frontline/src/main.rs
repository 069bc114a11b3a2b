//! The `frontline` binary: a thin shell over the library crates.

mod cli;
mod commands;
mod config;

use clap::Parser;

// mimalloc: under load, glibc's allocator spent a fifth of the CPU profile of
// single-scan ingest in its arena locks and consolidation (buffers allocated
// on one thread and freed on another). Without transparent huge pages
// (`no_thp`): the kernel zeroing fresh 2 MiB pages took 6 % of a census import.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
