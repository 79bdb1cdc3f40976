//! The rows a query reads from catalog tables, counted into `ExecOptions::progress` by both
//! executors, out of the rows it is going to read.

use std::sync::Arc;

use super::*;
use crate::progress::ScanProgress;

/// `Events`: `rows` rows an hour apart back from `NOW`, over several of DataFusion's batches.
fn events(rows: usize) -> Catalog {
    let mut c = Catalog::new();
    let rows = (0..rows as i64)
        .map(|i| vec![Value::DateTime(NOW - i * HOUR), Value::Long(i)])
        .collect();
    c.insert(
        "Events",
        Table {
            columns: vec![
                Column::new("TimeGenerated", ScalarType::DateTime),
                Column::new("n", ScalarType::Long),
            ],
            rows,
        },
    );
    c
}

/// Runs `q` on `executor` and says what its progress counted: (rows read, rows in all).
fn counted(
    catalog: &Catalog,
    executor: Executor,
    q: &str,
    timespan: Option<(i64, i64)>,
) -> (u64, Option<u64>, Executor) {
    let progress = Arc::new(ScanProgress::new());
    let opts = ExecOptions {
        timespan,
        progress: Some(Arc::clone(&progress)),
        ..opts()
    };
    let r = execute_on(executor, catalog, q, &opts).unwrap_or_else(|e| panic!("{q}: {e}"));
    (progress.rows_read(), progress.rows_total(), r.executor)
}

#[test]
fn a_full_scan_reads_the_whole_table_on_the_row_engine() {
    let catalog = events(20_000);
    let q = "Events | where n >= 0 | summarize count()";
    assert_eq!(
        counted(&catalog, Executor::Rows, q, None),
        (20_000, Some(20_000), Executor::Rows)
    );
    // The timespan hides rows, but they are read to be filtered.
    let day = Some((NOW - 24 * HOUR, NOW + 1));
    assert_eq!(
        counted(&catalog, Executor::Rows, q, day),
        (20_000, Some(20_000), Executor::Rows)
    );
}

#[test]
fn a_query_without_catalog_tables_knows_no_total() {
    let catalog = events(10);
    let q = "range x from 1 to 10 step 1 | summarize sum(x)";
    assert_eq!(
        counted(&catalog, Executor::Rows, q, None),
        (0, None, Executor::Rows)
    );
}

#[cfg(feature = "datafusion")]
#[test]
fn a_full_scan_reads_the_whole_table_on_datafusion() {
    let catalog = events(20_000);
    let q = "Events | where n >= 0 | summarize count()";
    assert_eq!(
        counted(&catalog, Executor::DataFusion, q, None),
        (20_000, Some(20_000), Executor::DataFusion)
    );
    let day = Some((NOW - 24 * HOUR, NOW + 1));
    assert_eq!(
        counted(&catalog, Executor::DataFusion, q, day),
        (20_000, Some(20_000), Executor::DataFusion)
    );
    // A table scanned twice is read twice.
    let twice = "Events | join kind=inner (Events | project n) on n | summarize count()";
    assert_eq!(
        counted(&catalog, Executor::DataFusion, twice, None),
        (40_000, Some(40_000), Executor::DataFusion)
    );
}

#[cfg(feature = "datafusion")]
#[test]
fn a_large_table_read_in_parallel_partitions_is_counted_whole() {
    let rows = crate::storage::arrow_table::PARALLEL_ROWS + 1_000;
    let catalog = events(rows);
    let q = "Events | where n % 2 == 0 | summarize count()";
    let rows = rows as u64;
    assert_eq!(
        counted(&catalog, Executor::DataFusion, q, None),
        (rows, Some(rows), Executor::DataFusion)
    );
}
