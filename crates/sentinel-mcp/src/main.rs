//! The `sentinel-mcp` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// mimalloc, with every allocation counted so each query's memory budget sees all it uses.
#[global_allocator]
static ALLOCATOR: kql::budget::CountingAllocator<mimalloc::MiMalloc> =
    kql::budget::CountingAllocator(mimalloc::MiMalloc);

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
