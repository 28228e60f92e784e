//! The thin binary: parse, run, map the outcome to an exit code in one place.
use std::process::ExitCode;

/// mimalloc rather than the system allocator: at estate scale the client and the sandbox spend
/// their time in many small allocations across threads (HTTP/2 frames, headers, JSON values),
/// where glibc's malloc took about a quarter of both processes' CPU in a 10,000-protection
/// apply (`perf`, see the README's numbers). Built without transparent huge pages (`no_thp`):
/// with them, its arenas' 2 MB pages were zeroed again and again as it returned and re-took
/// memory, which cost the client a third of its CPU in the same apply (`perf stat`: 4.0 s of
/// CPU with them, 2.8 s without).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    azprotect::cli::main()
}
