//! Kept results shared with the other replicas, so a link answers on any of them: with
//! `SENTINEL_MCP_REDIS_URL`, a kept table is also written to Redis for its TTL, as a header
//! (owner, columns, row count, warnings, expiry) and chunks of [`CHUNK_ROWS`] rows of JSON
//! cells, and a replica that does not hold a result reads the chunks a page needs from there.
//! Each replica's memory holds its own results within `SENTINEL_MCP_RESULT_STORE_MB`, and the
//! shared copies are held within the same bound across all replicas (the oldest deleted to make
//! room), each for its TTL at most.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

use kql::{Column, ScalarType, Table, Value};
use serde::{Deserialize, Serialize};

use super::StoredResult;

/// Rows in one chunk: a default page reads one or two.
pub const CHUNK_ROWS: usize = 1_000;

/// A shared store's answer, later.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where kept results are shared (Redis). `None`/`false` when it cannot be reached: a read then
/// finds nothing, as for an unknown result.
pub trait SharedResults: Send + Sync {
    /// Stores a result's header and chunks, each for `ttl`, deleting the oldest shared results
    /// until every replica's together take at most `budget` bytes; false when it was not
    /// stored (larger than the budget alone, or the store cannot be reached).
    fn put<'a>(
        &'a self,
        id: &'a str,
        header: String,
        chunks: Vec<String>,
        ttl: Duration,
        budget: usize,
    ) -> Pending<'a, bool>;
    /// Forgets the results that have expired, so they no longer count against the budget.
    fn sweep(&self) -> Pending<'_, ()>;
    /// A result's header.
    fn header<'a>(&'a self, id: &'a str) -> Pending<'a, Option<String>>;
    /// Chunks `range` of a result, all of them or none.
    fn chunks<'a>(&'a self, id: &'a str, range: Range<usize>) -> Pending<'a, Option<Vec<String>>>;
}

/// What a shared result says about itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub owner: String,
    /// Names and Kusto type names.
    pub columns: Vec<(String, String)>,
    pub total: usize,
    pub warnings: Vec<String>,
    pub expires_ticks: i64,
}

/// A result as shared: its header and its chunks, JSON.
pub fn encode(stored: &StoredResult) -> (String, Vec<String>) {
    let header = Header {
        owner: stored.owner.to_string(),
        columns: stored
            .table
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.name().to_string()))
            .collect(),
        total: stored.table.rows.len(),
        warnings: stored.warnings.clone(),
        expires_ticks: stored.expires_ticks,
    };
    let chunks = stored
        .table
        .rows
        .chunks(CHUNK_ROWS)
        .map(|rows| {
            let rows: Vec<Vec<serde_json::Value>> = rows
                .iter()
                .map(|row| row.iter().map(Value::to_json).collect())
                .collect();
            serde_json::to_string(&rows).unwrap_or_default()
        })
        .collect();
    (serde_json::to_string(&header).unwrap_or_default(), chunks)
}

/// The columns a header names.
pub fn columns(header: &Header) -> Vec<Column> {
    header
        .columns
        .iter()
        .map(|(name, ty)| {
            Column::new(
                name.as_str(),
                ScalarType::from_name(ty).unwrap_or(ScalarType::Dynamic),
            )
        })
        .collect()
}

/// The chunks holding rows `rows`.
pub fn chunk_range(rows: Range<usize>) -> Range<usize> {
    if rows.is_empty() {
        return 0..0;
    }
    rows.start / CHUNK_ROWS..(rows.end - 1) / CHUNK_ROWS + 1
}

/// Decoded chunks as a table of those rows (cells as the page writes them: the JSON a cell
/// was shared as reads back to a value that writes the same JSON and text).
pub fn decode(columns: Vec<Column>, chunks: &[String]) -> Option<Table> {
    let mut rows = Vec::new();
    for chunk in chunks {
        let cells: Vec<Vec<serde_json::Value>> = serde_json::from_str(chunk).ok()?;
        rows.extend(
            cells
                .into_iter()
                .map(|row| row.into_iter().map(value_of).collect::<Vec<_>>()),
        );
    }
    Some(Table { columns, rows })
}

fn value_of(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::str(s),
        other => Value::dynamic(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges_cover_the_rows_asked_for() {
        assert_eq!(chunk_range(0..1000), 0..1);
        assert_eq!(chunk_range(10..510), 0..1);
        assert_eq!(chunk_range(990..1010), 0..2);
        assert_eq!(chunk_range(1000..2000), 1..2);
        assert_eq!(chunk_range(5..5), 0..0);
    }
}
