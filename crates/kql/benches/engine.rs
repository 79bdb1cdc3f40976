//! The local KQL engine against DuckDB on the same SigninLogs-like Parquet file.
//!
//! `cargo bench -p kql --bench engine` (or `scripts/bench-kql.sh`, which also prepares DuckDB).
//! Environment: `BENCH_ROWS` (default 1,000,000), `BENCH_ITERS` (timed runs per query, default
//! 5), `DUCKDB_PYTHON` (a Python with the `duckdb` package; DuckDB is skipped without it),
//! `BENCH_MD` (write the Markdown report there), `BENCH_JSON` (write the raw results there).
//! The data is generated once under `target/bench-data/` (or `BENCH_DATA`, for a build whose
//! target directory is elsewhere) and reused; a run that generates it hands over to a fresh
//! process of this bench for the load and the queries.
//!
//! Peak memory: each query runs once more in a child process of this bench (`BENCH_PEAK_OF`
//! names the query) that loads the table, resets its peak resident set and reports how far the
//! query raised it above the loaded table; DuckDB's script does the same for its side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kql::catalog::{read_arrow, write_parquet};
use kql::value::TICKS_PER_SECOND;
use kql::{Catalog, Column, ExecOptions, ScalarType, Table, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

// The engine runs as in the server: mimalloc, every allocation counted against the query's budget.
#[global_allocator]
static ALLOCATOR: kql::budget::CountingAllocator<mimalloc::MiMalloc> =
    kql::budget::CountingAllocator(mimalloc::MiMalloc);

/// The queries: (name, KQL). The SQL twins live in scripts/bench_kql_duckdb.py under the same names.
const QUERIES: [(&str, &str); 14] = [
    (
        "filter_bin_count",
        "SigninLogs | where ResultType != \"0\" | summarize count() by bin(TimeGenerated, 1h), ResultType",
    ),
    (
        "dcount_by_app",
        "SigninLogs | summarize dcount(UserPrincipalName) by AppDisplayName",
    ),
    (
        "has_term",
        "SigninLogs | where UserAgent has \"Firefox\" | count",
    ),
    (
        "join_aggregates",
        "SigninLogs | where ResultType != \"0\" | summarize failures = count() by UserPrincipalName \
         | join kind=inner (SigninLogs | summarize apps = dcount(AppDisplayName) by UserPrincipalName) on UserPrincipalName \
         | count",
    ),
    (
        "mv_expand",
        "SigninLogs | mv-expand Method = AuthenticationMethodsUsed to typeof(string) | summarize count() by Method",
    ),
    (
        "has_any",
        "SigninLogs | where UserAgent has_any (\"firefox\", \"python\", \"outlook\") | summarize count() by AppDisplayName",
    ),
    (
        "extract",
        "SigninLogs | extend Version = extract(@\"(Firefox|Chrome)/([0-9.]+)\", 2, UserAgent) | summarize count() by Version",
    ),
    (
        "parse",
        "SigninLogs | parse UserAgent with Product \"/\" Version \" \" * | summarize count() by Product, Version",
    ),
    (
        "arg_max_by_user",
        "SigninLogs | summarize arg_max(TimeGenerated, IPAddress, Location) by UserPrincipalName",
    ),
    (
        "top_n",
        "SigninLogs | where ResultType != \"0\" | top 100 by TimeGenerated desc",
    ),
    (
        "make_series",
        "SigninLogs | make-series count() default=0 on TimeGenerated from datetime(2026-01-01) to datetime(2026-01-31) step 1h by AppDisplayName",
    ),
    (
        "leftanti_join",
        "SigninLogs | where ResultType != \"0\" | join kind=leftanti (SigninLogs | where ResultType == \"0\") on IPAddress | count",
    ),
    (
        "percentiles_by_bin",
        "SigninLogs | summarize percentiles(RiskScore, 50, 95) by bin(TimeGenerated, 1d)",
    ),
    (
        "dcount_high_card",
        "SigninLogs | summarize dcount(IPAddress) by bin(TimeGenerated, 1d)",
    ),
];

const APPS: [&str; 12] = [
    "Microsoft Teams",
    "Office 365 Exchange Online",
    "Azure Portal",
    "Microsoft Edge",
    "OneDrive",
    "SharePoint Online",
    "Azure CLI",
    "Visual Studio Code",
    "Power BI",
    "Outlook Mobile",
    "Windows Sign In",
    "My Apps",
];
const RESULT_TYPES: [&str; 8] = [
    "50126", "50074", "50053", "53003", "50140", "700016", "50076", "65001",
];
const LOCATIONS: [&str; 10] = ["US", "GB", "DE", "FR", "NL", "IN", "BR", "JP", "AU", "CA"];
const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "python-requests/2.31.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17425)",
];
const METHODS: [&str; 6] = [
    "Password",
    "Mobile app notification",
    "OATH verification code",
    "FIDO2 security key",
    "Windows Hello for Business",
    "Text message",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn s(v: &str) -> Value {
    Value::String(Arc::from(v))
}

/// A SigninLogs-like table: 30 days, 5,000 users, mostly successful sign-ins.
/// Rows per generated Parquet file (a generated chunk is held as rows of values while written).
const ROWS_PER_FILE: usize = 1_000_000;

fn generate(rng: &mut StdRng, rows: usize) -> Table {
    let columns = vec![
        Column::new("TimeGenerated", ScalarType::DateTime),
        Column::new("UserPrincipalName", ScalarType::String),
        Column::new("AppDisplayName", ScalarType::String),
        Column::new("ResultType", ScalarType::String),
        Column::new("IPAddress", ScalarType::String),
        Column::new("Location", ScalarType::String),
        Column::new("UserAgent", ScalarType::String),
        Column::new("AuthenticationMethodsUsed", ScalarType::Dynamic),
        Column::new("RiskScore", ScalarType::Long),
    ];
    let start = 1_767_225_600 * TICKS_PER_SECOND; // 2026-01-01
    let span = 30 * 86_400 * TICKS_PER_SECOND;
    let users: Vec<Value> = (0..5_000)
        .map(|i| s(&format!("user{i:04}@contoso.com")))
        .collect();
    let apps: Vec<Value> = APPS.iter().map(|a| s(a)).collect();
    let agents: Vec<Value> = AGENTS.iter().map(|a| s(a)).collect();
    let locations: Vec<Value> = LOCATIONS.iter().map(|a| s(a)).collect();
    let results: Vec<Value> = RESULT_TYPES.iter().map(|a| s(a)).collect();
    let success = s("0");
    let mut table = Table::new(columns);
    table.rows.reserve(rows);
    for _ in 0..rows {
        let result = if rng.random_range(0..100) < 85 {
            success.clone()
        } else {
            results[rng.random_range(0..results.len())].clone()
        };
        // 1-2 a row.
        let n_methods = rng.random_range(1..=2);
        let methods: Vec<serde_json::Value> = (0..n_methods)
            .map(|_| json!(METHODS[rng.random_range(0..METHODS.len())]))
            .collect();
        table.rows.push(vec![
            Value::DateTime(start + rng.random_range(0..span)),
            users[rng.random_range(0..users.len())].clone(),
            apps[rng.random_range(0..apps.len())].clone(),
            result,
            s(&format!(
                "{}.{}.{}.{}",
                rng.random_range(1..224),
                rng.random_range(0..256),
                rng.random_range(0..256),
                rng.random_range(1..255)
            )),
            locations[rng.random_range(0..locations.len())].clone(),
            agents[rng.random_range(0..agents.len())].clone(),
            Value::dynamic(serde_json::Value::Array(methods)),
            Value::Long(rng.random_range(0..100)),
        ]);
    }
    table
}

fn data_dir(rows: usize) -> PathBuf {
    std::env::var_os("BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"))
        .join(format!("signinlogs-{rows}"))
}

/// Min and median of `iters` timed runs after one warm-up; answers them with the result's rows.
fn time<T>(iters: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut out = f();
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        out = f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[times.len() / 2], out)
}

/// A cell as `bench_kql_duckdb.py` writes DuckDB's: datetimes and timespans as ticks, reals
/// with six decimals, dynamic values as compact JSON.
fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => i.to_string(),
        Value::Real(x) => format!("{x:.6}"),
        Value::Decimal(d) => format!("{:.6}", d.to_f64()),
        Value::String(s) => s.to_string(),
        Value::Guid(g) => g.to_string(),
        Value::Dynamic(d) => d.to_string(),
    }
}

/// An answer in a form both engines can be compared in: its rows as text, sorted, and a
/// 64-bit FNV-1a digest of them all (the same as the DuckDB script's).
fn answer(table: &Table) -> (Vec<String>, String) {
    let mut rows: Vec<String> = table
        .rows
        .iter()
        .map(|r| r.iter().map(cell_text).collect::<Vec<_>>().join("|"))
        .collect();
    rows.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rows.join("\n").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (rows, format!("{h:016x}"))
}

/// A `/proc/self/status` field in MiB (`VmRSS`: resident now; `VmHWM`: the peak since start or
/// since the last [`reset_peak`]).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Resets `VmHWM` to the resident set now (Linux's `clear_refs`), so a query's own peak is read
/// apart from the loading's.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5")
        .expect("reset the peak RSS (/proc/self/clear_refs)");
}

/// How far one run of `query` raises this process's resident set above what it holds now, MiB.
fn peak_of(catalog: &Catalog, query: &str, opts: &ExecOptions) -> f64 {
    reset_peak();
    let base = status_mib("VmRSS");
    let out = kql::execute(catalog, query, opts);
    let peak = status_mib("VmHWM");
    drop(out.unwrap_or_else(|e| panic!("{query}: {e}")));
    peak - base
}

/// The peak of `name` measured in a fresh process of this bench (so no query inherits memory an
/// earlier one left mapped), MiB.
fn peak_in_child(name: &str) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .env("BENCH_PEAK_OF", name)
        .env_remove("BENCH_MD")
        .env_remove("BENCH_JSON")
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "{name}: peak run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |k| (k / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    format!("{cpu}, {cores} cores visible, {mem_gib} GiB RAM")
}

/// The row engine against DataFusion on small tables (where `Executor::Auto` picks the row
/// engine below 5,000 rows): the same query, both executors, as a Markdown section.
fn small_inputs(iters: usize) -> String {
    let query = QUERIES[0].1;
    let mut out = String::from(
        "\n## Small inputs: row engine vs DataFusion\n\n`filter_bin_count` on small generated tables, each executor forced (`kql::execute_on`); median of the runs (min in brackets). `Executor::Auto` runs inputs under 5,000 rows on the row engine.\n\n| Rows | Row engine ms | DataFusion ms |\n| ---: | ---: | ---: |\n",
    );
    let mut rng = StdRng::seed_from_u64(7);
    for n in [100, 1_000, 10_000, 100_000] {
        let mut catalog = Catalog::new();
        catalog.insert("SigninLogs", generate(&mut rng, n));
        let opts = ExecOptions::default();
        let cell = |executor| {
            let (min, median, out) = time(iters.max(20), || {
                kql::execute_on(executor, &catalog, query, &opts)
            });
            let r = out.unwrap_or_else(|e| panic!("{n} rows: {e}"));
            assert_eq!(r.executor, executor);
            format!("{:.3} ({:.3})", ms(median), ms(min))
        };
        let rows = cell(kql::Executor::Rows);
        let fused = cell(kql::Executor::DataFusion);
        eprintln!("small {n:>7} rows: row engine {rows} ms, DataFusion {fused} ms");
        out.push_str(&format!("| {n} | {rows} | {fused} |\n"));
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks queries by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows = env_usize("BENCH_ROWS", 1_000_000);
    let iters = env_usize("BENCH_ITERS", 5);
    let dir = data_dir(rows);
    let files: Vec<PathBuf> = (0..rows.div_ceil(ROWS_PER_FILE))
        .map(|i| dir.join(format!("part-{i:03}.parquet")))
        .collect();
    if !files.iter().all(|f| f.exists()) {
        std::fs::create_dir_all(&dir).expect("create target/bench-data");
        let t = Instant::now();
        let mut rng = StdRng::seed_from_u64(0x5167_1a06);
        for (i, file) in files.iter().enumerate() {
            let n = ROWS_PER_FILE.min(rows - i * ROWS_PER_FILE);
            write_parquet(&generate(&mut rng, n), file).expect("write a Parquet file");
        }
        eprintln!(
            "generated {rows} rows into {} in {:.1}s",
            dir.display(),
            t.elapsed().as_secs_f64()
        );
        // The load is timed in a fresh process, apart from the generator's freed heap and the
        // files' write-back (one load right after generating, in this process, took 7.1 s at
        // 10 M rows; loads in processes of their own took 2.0-5.5 s on this VM).
        let status = std::env::current_exe()
            .and_then(|exe| Command::new(exe).args(std::env::args_os().skip(1)).status())
            .expect("run the bench again over the generated data");
        std::process::exit(status.code().unwrap_or(1));
    }
    let dir = dir.canonicalize().unwrap_or(dir);
    let parquet = dir.join("part-*.parquet");
    let file_mib = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len() as f64 / 1048576.0)
        .sum::<f64>();

    let rss_before = status_mib("VmRSS");
    let t = Instant::now();
    let mut columns = Vec::new();
    let mut batches = Vec::new();
    for file in &files {
        let (c, b) = read_arrow(file).expect("read a Parquet file");
        columns = c;
        batches.extend(b);
    }
    let arrow_mib = batches
        .iter()
        .map(|b| b.get_array_memory_size() as f64 / 1048576.0)
        .sum::<f64>();
    let mut catalog = Catalog::new();
    catalog.insert_arrow("SigninLogs", columns, batches);
    let load = t.elapsed();
    let resident_mib = status_mib("VmRSS") - rss_before;
    eprintln!(
        "kql: loaded {rows} rows in {:.2}s (Arrow buffers {arrow_mib:.0} MiB, resident +{resident_mib:.0} MiB)",
        load.as_secs_f64()
    );

    let opts = ExecOptions::default();
    if let Ok(name) = std::env::var("BENCH_PEAK_OF") {
        let (_, query) = QUERIES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no query {name}"));
        println!("{:.1}", peak_of(&catalog, query, &opts));
        return;
    }
    let mut results = BTreeMap::new();
    for (name, query) in QUERIES {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        if let Err(why) = kql::explain(&catalog, query, &opts) {
            panic!("{name} would run on the row engine, not DataFusion: {why}");
        }
        let (min, median, out) = time(iters, || kql::execute(&catalog, query, &opts));
        let table = out.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(table.executor, kql::Executor::DataFusion, "{name}");
        let peak = peak_in_child(name);
        let (sorted, digest) = answer(&table.table);
        eprintln!(
            "kql {name:18} min {:>9.2} ms  median {:>9.2} ms  ({} rows, peak +{peak:.0?} MiB)",
            ms(min),
            ms(median),
            table.table.rows.len()
        );
        results.insert(
            name.to_string(),
            json!({"query": query, "kql_min_ms": ms(min), "kql_median_ms": ms(median),
                   "kql_peak_mib": peak,
                   "kql_rows": table.table.rows.len(), "kql_first": sorted.first(), "kql_digest": digest}),
        );
    }

    let duckdb = std::env::var("DUCKDB_PYTHON").ok().and_then(|python| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench_kql_duckdb.py");
        let names: Vec<&str> = results.keys().map(String::as_str).collect();
        let out = Command::new(python)
            .arg(script)
            .arg(&parquet)
            .arg(iters.to_string())
            .env("BENCH_ONLY", names.join(" "))
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run DuckDB");
        if !out.status.success() {
            eprintln!("duckdb failed");
            return None;
        }
        serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()
    });

    let mut md = String::new();
    md.push_str("# KQL engine vs DuckDB\n\n");
    md.push_str(&format!(
        "Measured {} on {} by `scripts/bench-kql.sh` (`cargo bench -p kql --bench engine`).\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    ));
    md.push_str(&format!(
        "Data: a generated SigninLogs-like table of {rows} rows (30 days, 5,000 users, 12 apps, 15% failed sign-ins, 1-2 authentication methods a row), Snappy Parquet files of {file_mib:.1} MiB in all under `target/bench-data/`. \
         The KQL engine loads them once into Arrow batches ({:.2} s, not counted below) and runs each query on DataFusion (every query here is lowered to a DataFusion plan; `kql::explain` is checked) over those in-memory batches; DuckDB {} runs the equivalent SQL over the same files (`parquet`) and over the same rows loaded into an in-memory table (`memory`). \
         Times are the median of {iters} runs after a warm-up (min in brackets). Ratio = KQL engine / DuckDB in-memory, of the medians (of the minimums in brackets); the goal is 1.0× or less for each query and 0.8× or less for their geometric mean. \
         Peak MiB = how far one run of the query raised the resident set (`VmHWM`, reset after loading) above the loaded table, each query in a fresh process of its engine.\n\n",
        load.as_secs_f64(),
        duckdb
            .as_ref()
            .and_then(|d| d["version"].as_str())
            .unwrap_or("(not run)"),
    ));
    md.push_str("| Query | KQL engine ms | DuckDB parquet ms | DuckDB memory ms | Ratio | Peak MiB (KQL / DuckDB) | Rows (KQL / DuckDB), answers |\n");
    md.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    let mut log_ratios = Vec::new();
    for (name, r) in &mut results {
        let d = duckdb.as_ref().map(|d| &d["queries"][name.as_str()]);
        let kql_med = r["kql_median_ms"].as_f64().unwrap_or(0.0);
        let cell = |k: &str| {
            d.and_then(|d| {
                Some(format!(
                    "{:.2} ({:.2})",
                    d[format!("{k}_median_ms")].as_f64()?,
                    d[format!("{k}_min_ms")].as_f64()?
                ))
            })
            .unwrap_or_else(|| "–".into())
        };
        let kql_min = r["kql_min_ms"].as_f64().unwrap_or(0.0);
        let ratio = match d.map(|d| (d["memory_median_ms"].as_f64(), d["memory_min_ms"].as_f64())) {
            Some((Some(med), Some(min))) => {
                log_ratios.push((kql_med / med.max(0.001)).ln());
                format!(
                    "{:.2}× ({:.2}×)",
                    kql_med / med.max(0.001),
                    kql_min / min.max(0.001)
                )
            }
            _ => "–".into(),
        };
        let mib = |v: &serde_json::Value| v.as_f64().map_or("–".into(), |m| format!("{m:.0}"));
        let peaks = format!(
            "{} / {}",
            mib(&r["kql_peak_mib"]),
            d.map_or("–".into(), |d| mib(&d["memory_peak_mib"]))
        );
        let drows = d
            .and_then(|d| d["rows"].as_u64())
            .map_or("–".into(), |n| n.to_string());
        let same = match d.and_then(|d| d["digest"].as_str()) {
            Some(digest) if r["kql_digest"].as_str() == Some(digest) => "same",
            Some(_) => "**differ**",
            None => "–",
        };
        md.push_str(&format!(
            "| `{name}` | {:.2} ({:.2}) | {} | {} | {ratio} | {peaks} | {} / {drows}, {same} |\n",
            kql_med,
            kql_min,
            cell("parquet"),
            cell("memory"),
            r["kql_rows"],
        ));
        if let (Some(obj), Some(d)) = (r.as_object_mut(), d) {
            obj.insert("duckdb".into(), d.clone());
        }
    }
    if !log_ratios.is_empty() {
        md.push_str(&format!(
            "\nGeometric mean of the ratios (medians): {:.2}× over {} queries.\n",
            (log_ratios.iter().sum::<f64>() / log_ratios.len() as f64).exp(),
            log_ratios.len()
        ));
    }
    let load_of = |k: &str| duckdb.as_ref().and_then(|d| d["load"][k].as_f64());
    let or_dash =
        |v: Option<f64>, digits: usize| v.map_or("–".into(), |x| format!("{x:.digits$}"));
    md.push_str(&format!(
        "\n## Loading the {rows}-row table\n\n| Engine | Load s | Resident MiB (RSS growth) | Table MiB (engine's own count) |\n| --- | ---: | ---: | ---: |\n\
         | KQL engine (Parquet → Arrow batches) | {:.2} | {resident_mib:.0} | {arrow_mib:.0} (Arrow buffers) |\n\
         | DuckDB (`CREATE TABLE … AS SELECT * FROM read_parquet`) | {} | {} | {} (`duckdb_memory()`) |\n",
        load.as_secs_f64(),
        or_dash(load_of("seconds"), 2),
        or_dash(load_of("resident_mib"), 0),
        or_dash(load_of("table_mib"), 0),
    ));
    md.push_str("\nQueries (KQL; the SQL twins are in `scripts/bench_kql_duckdb.py`):\n\n");
    for (name, r) in &results {
        md.push_str(&format!(
            "- `{name}`: `{}`\n",
            r["query"].as_str().unwrap_or("")
        ));
    }
    md.push_str(&small_inputs(iters));
    println!("{md}");
    if let Ok(path) = std::env::var("BENCH_MD") {
        // Hand-written notes between the markers survive a rerun.
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if let (Some(a), Some(b)) = (
            old.find("<!-- notes:begin -->"),
            old.find("<!-- notes:end -->"),
        ) && a < b
        {
            md.push('\n');
            md.push_str(&old[a..b + "<!-- notes:end -->".len()]);
            md.push('\n');
        }
        std::fs::write(&path, &md).expect("write BENCH_MD");
    }
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let all = json!({"rows": rows, "iters": iters, "load_s": load.as_secs_f64(),
                         "arrow_mib": arrow_mib, "resident_mib": resident_mib,
                         "parquet_mib": file_mib, "machine": machine(), "duckdb": duckdb, "kql": results});
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&all).unwrap_or_default(),
        )
        .expect("write BENCH_JSON");
    }
}
