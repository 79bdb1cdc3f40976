//! The `sentinel-mcp` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// mimalloc, with every allocation counted so each query's memory budget sees all it uses.
#[global_allocator]
static ALLOCATOR: kql::budget::CountingAllocator<sentinel_mcp::heap::Mimalloc> =
    kql::budget::CountingAllocator(sentinel_mcp::heap::Mimalloc);

/// mimalloc's `arena_eager_commit` option (its index in `mimalloc.h`, the same in v2 and v3).
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Commits mimalloc's arenas as they are used, not all at once: an eagerly committed arena
/// left an idle session 22 KiB of resident memory where lazily committed it takes 13.6 KiB
/// (`scripts/bench.sh`, 5,000 initialized sessions). Only a default: `MIMALLOC_ARENA_EAGER_COMMIT`
/// in the environment still decides.
#[cfg(target_os = "linux")]
extern "C" fn commit_arenas_lazily() {
    // SAFETY: sets one option's default value; no allocation, no other state.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

/// Runs before the runtime's first allocation (the first arena is reserved there): a function
/// in `.init_array` runs before `main` and the Rust runtime's start-up.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENAS_LAZILY: extern "C" fn() = commit_arenas_lazily;

fn main() -> ExitCode {
    let cli = sentinel_mcp::config::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Queries run on the blocking threads' own stacks (deep enough for the most nested
        // query), not on a stack mapped for each one.
        .thread_stack_size(kql::QUERY_THREAD_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(sentinel_mcp::run(cli));
    // A query still running on a blocking thread (the drain abandoned it) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
