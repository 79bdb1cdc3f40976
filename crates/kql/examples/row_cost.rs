//! What one small query costs on the row engine, called as the server calls it: `kql::execute`
//! with `Executor::Auto` (every input here is under 5,000 rows, so the row engine runs it), under
//! the server's allocator (mimalloc, counted) on a thread with the server's query stack.
//!
//! Count its instructions with callgrind, collecting only inside `run_calls`:
//!
//! ```text
//! cargo build --release -p kql --no-default-features --example row_cost
//! MIMALLOC_ARENA_EAGER_COMMIT=0 valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='row_cost::run_calls' target/release/examples/row_cost range_bucket 10
//! ```
//!
//! and divide the total by the number of calls. Without valgrind it prints the wall time per call.
//! Shapes: `range_bucket` (issue 14's benchmark query), `count_by_string`, `dcount_max`,
//! `where_project_extend`, or `all`.

use std::hint::black_box;
use std::time::Instant;

use kql::value::TICKS_PER_SECOND;
use kql::{Catalog, Column, ExecOptions, ScalarType, Table, Value};

// The engine runs as in the server: mimalloc, every allocation counted against the query's
// budget (the server also commits mimalloc's arenas lazily: MIMALLOC_ARENA_EAGER_COMMIT=0).
#[global_allocator]
static ALLOCATOR: kql::budget::CountingAllocator<mimalloc::MiMalloc> =
    kql::budget::CountingAllocator(mimalloc::MiMalloc);

/// The shapes: (name, KQL).
const SHAPES: [(&str, &str); 4] = [
    (
        "range_bucket",
        "range i from 1 to 1000 step 1 | summarize n = count(), total = sum(i) by bucket = i / 100",
    ),
    ("count_by_string", "Events | summarize count() by App"),
    (
        "dcount_max",
        "Events | summarize dcount(User), max(Bytes) by App",
    ),
    (
        "where_project_extend",
        "Events | where Bytes > 500 | project App, Bytes | extend kb = Bytes / 1024",
    ),
];

const APPS: [&str; 8] = [
    "Microsoft Teams",
    "Azure Portal",
    "OneDrive",
    "SharePoint Online",
    "Azure CLI",
    "Outlook",
    "Visual Studio Code",
    "Power BI",
];

/// 2024-01-02T00:00:00Z, the queries' `now()`.
const NOW: i64 = 1_704_153_600 * TICKS_PER_SECOND;

/// 1,000 rows like a small demo table, one a minute up to `NOW`: an app (8 values), a user
/// (50), a byte count.
fn events() -> Table {
    let mut t = Table::new(vec![
        Column::new("TimeGenerated", ScalarType::DateTime),
        Column::new("App", ScalarType::String),
        Column::new("User", ScalarType::String),
        Column::new("Bytes", ScalarType::Long),
    ]);
    for i in 0..1000u64 {
        // A fixed multiplicative hash, so the data is the same on every run.
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        t.rows.push(vec![
            Value::DateTime(NOW - (i as i64 + 1) * 60 * TICKS_PER_SECOND),
            Value::String(APPS[(h % 8) as usize].into()),
            Value::String(format!("user{}@contoso.com", h % 50).into()),
            Value::Long((h % 2000) as i64),
        ]);
    }
    t
}

/// Runs `query` `calls` times; the only function callgrind collects in.
#[inline(never)]
fn run_calls(catalog: &Catalog, query: &str, opts: &ExecOptions, calls: usize) -> usize {
    let mut rows = 0;
    for _ in 0..calls {
        match kql::execute(catalog, black_box(query), opts) {
            Ok(r) => rows += r.table.rows.len(),
            Err(e) => {
                eprintln!("{query}: {e}");
                std::process::exit(1);
            }
        }
    }
    rows
}

fn main() {
    // The server runs queries on threads with this stack, where the engine maps none per query.
    let runs = std::thread::Builder::new()
        .stack_size(kql::QUERY_THREAD_STACK_BYTES)
        .spawn(run_shapes);
    if !matches!(runs.map(|t| t.join().is_ok()), Ok(true)) {
        eprintln!("the shapes' thread failed");
        std::process::exit(1);
    }
}

fn run_shapes() {
    let mut args = std::env::args().skip(1);
    let shape = args.next().unwrap_or_else(|| "all".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let mut catalog = Catalog::new();
    catalog.insert("Events", events());
    // As the server runs a query: a time window (here a day, holding every row).
    let opts = ExecOptions {
        now: NOW,
        timespan: Some((NOW - 24 * 3600 * TICKS_PER_SECOND, NOW + 1)),
        ..ExecOptions::default()
    };
    for (name, query) in SHAPES {
        if shape != "all" && shape != name {
            continue;
        }
        // One call first, so one-time work (lazy tables, the thread's first stack) is not counted.
        let _ = kql::execute(&catalog, query, &opts);
        let started = Instant::now();
        let rows = run_calls(&catalog, query, &opts, calls);
        let per_call = started.elapsed() / calls as u32;
        println!(
            "{name}: {per_call:?} per call, {} rows out",
            rows / calls.max(1)
        );
    }
}
