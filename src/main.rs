//! The thin binary: parse, run, map the outcome to an exit code in one place.
use std::process::ExitCode;

fn main() -> ExitCode {
    azprotect::cli::main()
}
