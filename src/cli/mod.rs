//! Command-line wiring: clap types, settings resolution, one file per command.

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
