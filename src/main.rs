//! The thin binary: parse, run, map the outcome to an exit code in one place.
use std::process::ExitCode;

/// mimalloc rather than the system allocator: at estate scale the client and the sandbox spend
/// their time in many small allocations across threads (HTTP/2 frames, headers, JSON values),
/// where glibc's malloc took about a quarter of both processes' CPU in a 10,000-protection
/// apply (`perf`, see the README's numbers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    azprotect::cli::main()
}
