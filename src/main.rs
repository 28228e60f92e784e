//! The thin binary: parse, run, map the outcome to an exit code in one place.
use std::process::ExitCode;

/// mimalloc rather than the system allocator: at estate scale the client and the sandbox spend
/// their time in many small allocations across threads (HTTP/2 frames, headers, JSON values),
/// where glibc's malloc took about a quarter of both processes' CPU in a 10,000-protection
/// apply (`perf`, see the README's numbers). Built so that it does not ask for transparent huge
/// pages for its arenas (`no_thp`; where the kernel's setting is `madvise`, as usual, they then
/// get none): with them, their 2 MB pages were zeroed again and again as it gave memory back
/// and took it again — a fifth of the client's CPU in the same apply, whose CPU fell from
/// 3.6–4.0 s to 2.4–2.8 s without them (`perf stat`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    azprotect::cli::main()
}
