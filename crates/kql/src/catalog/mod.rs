//! The catalog: the tables a query can name.

pub mod load;
pub mod schemas;

#[cfg(feature = "datafusion")]
pub use load::read_arrow;
#[cfg(feature = "parquet")]
pub use load::write_parquet;
pub use load::{LoadError, LoadOptions, load_dir, load_dir_with};

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

/// Makes a table's rows when a query first needs them (the demo workspace, in the `sentinel-demo`
/// crate, generates each table on first use, so an idle server holds none of them).
pub type MakeTable = Arc<dyn Fn() -> Table + Send + Sync>;

/// Tables by name (case-sensitive, as in Kusto).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<Entry>>,
}

/// One table, as rows (the row engine's form) and as Arrow batches (DataFusion's), each made
/// from the other on first use; or, for a table made on first use, its columns and its maker.
#[derive(Default)]
struct Entry {
    /// The columns of a table not made yet.
    columns: Vec<Column>,
    make: Option<MakeTable>,
    made: OnceLock<()>,
    rows: OnceLock<Arc<Table>>,
    #[cfg(feature = "datafusion")]
    arrow: OnceLock<Arc<crate::storage::ArrowTable>>,
    /// The first and last time of the table's rows (see [`Catalog::time_range`]).
    times: OnceLock<Option<(i64, i64)>>,
    /// The first and last `TimeGenerated` when every row has one (see [`Catalog::dated_span`]).
    dated: OnceLock<Option<(i64, i64)>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("columns", &self.columns.len())
            .field("made", &self.made.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Makes a made-on-first-use table (once, whichever thread asks first; the others wait), in
    /// the compact form: Arrow batches when DataFusion is built in, rows otherwise.
    fn materialize(&self) {
        let Some(make) = &self.make else { return };
        self.made.get_or_init(|| {
            let table = make();
            let _ = self.times.set(time_range_of(&table));
            #[cfg(feature = "datafusion")]
            let _ = self
                .arrow
                .set(Arc::new(crate::storage::ArrowTable::from_table(&table)));
            #[cfg(not(feature = "datafusion"))]
            let _ = self.rows.set(Arc::new(table));
        });
    }
}

/// The `TimeGenerated` column of datetimes, which a query's time window filters on.
pub(crate) fn time_generated(columns: &[Column]) -> Option<usize> {
    columns
        .iter()
        .position(|c| c.name == "TimeGenerated" && c.ty == ScalarType::DateTime)
}

/// The column that dates a table's rows: `TimeGenerated`, else Defender's `Timestamp`.
fn time_column(columns: &[Column]) -> Option<usize> {
    ["TimeGenerated", "Timestamp"].iter().find_map(|name| {
        columns
            .iter()
            .position(|c| c.name == *name && c.ty == ScalarType::DateTime)
    })
}

fn time_range_of(table: &Table) -> Option<(i64, i64)> {
    let i = time_column(&table.columns)?;
    table
        .rows
        .iter()
        .filter_map(|r| match r.get(i) {
            Some(Value::DateTime(t)) => Some(*t),
            _ => None,
        })
        .fold(None, |range, t| match range {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        })
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds or replaces a table.
    pub fn insert(&mut self, name: impl Into<String>, table: Table) {
        let entry = Entry::default();
        let _ = entry.rows.set(Arc::new(table));
        self.tables.insert(name.into(), Arc::new(entry));
    }

    /// Removes a table; answers whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.tables.remove(name).is_some()
    }

    /// Adds or replaces a table that `make` makes when a query first needs its rows; until then
    /// only its columns are held.
    pub fn insert_lazy(&mut self, name: impl Into<String>, columns: Vec<Column>, make: MakeTable) {
        let entry = Entry {
            columns,
            make: Some(make),
            ..Entry::default()
        };
        self.tables.insert(name.into(), Arc::new(entry));
    }

    /// Adds or replaces a table held only as Arrow batches in the stored layout (as
    /// [`read_arrow`] returns them); rows are made from them only if the row engine needs them.
    #[cfg(feature = "datafusion")]
    pub fn insert_arrow(
        &mut self,
        name: impl Into<String>,
        columns: Vec<crate::value::table::Column>,
        batches: Vec<arrow_array::RecordBatch>,
    ) {
        let entry = Entry::default();
        let _ = entry
            .arrow
            .set(Arc::new(crate::storage::ArrowTable::new(columns, batches)));
        self.tables.insert(name.into(), Arc::new(entry));
    }

    /// A table by exact name.
    pub fn get(&self, name: &str) -> Option<&Arc<Table>> {
        let entry = self.tables.get(name)?;
        entry.materialize();
        #[cfg(feature = "datafusion")]
        if entry.rows.get().is_none()
            && let Some(arrow) = entry.arrow.get()
        {
            return Some(entry.rows.get_or_init(|| Arc::new(arrow.to_table())));
        }
        entry.rows.get()
    }

    /// A table's columns, without making or converting it.
    pub fn columns(&self, name: &str) -> Option<&[Column]> {
        let entry = self.tables.get(name)?;
        if let Some(rows) = entry.rows.get() {
            return Some(&rows.columns);
        }
        #[cfg(feature = "datafusion")]
        if let Some(arrow) = entry.arrow.get() {
            return Some(&arrow.columns);
        }
        Some(&entry.columns)
    }

    /// Number of rows of a table, without converting it between forms.
    pub fn row_count(&self, name: &str) -> Option<usize> {
        let entry = self.tables.get(name)?;
        entry.materialize();
        #[cfg(feature = "datafusion")]
        if let Some(arrow) = entry.arrow.get() {
            return Some(arrow.len());
        }
        entry.rows.get().map(|t| t.len())
    }

    /// The first and last time of a table's rows (by `TimeGenerated`, or Defender's `Timestamp`
    /// where a table has no `TimeGenerated`); `None` for a table with neither or no rows.
    pub fn time_range(&self, name: &str) -> Option<(i64, i64)> {
        let entry = self.tables.get(name)?;
        entry.materialize();
        *entry.times.get_or_init(|| {
            if let Some(rows) = entry.rows.get() {
                return time_range_of(rows);
            }
            // A table held only as batches is read once here, not kept as rows.
            #[cfg(feature = "datafusion")]
            if let Some(arrow) = entry.arrow.get() {
                return time_range_of(&arrow.to_table());
            }
            None
        })
    }

    /// The first and last `TimeGenerated` of a table's rows when every row has one, found once
    /// a table: a time window holding both keeps every row, unread. `None` for a table without
    /// the column or rows, or with a row without a time.
    pub(crate) fn dated_span(&self, name: &str) -> Option<(i64, i64)> {
        let entry = self.tables.get(name)?;
        let table = self.get(name)?;
        *entry.dated.get_or_init(|| {
            let i = time_generated(&table.columns)?;
            let mut span: Option<(i64, i64)> = None;
            for row in &table.rows {
                let Some(Value::DateTime(t)) = row.get(i) else {
                    return None;
                };
                span = Some(span.map_or((*t, *t), |(lo, hi)| (lo.min(*t), hi.max(*t))));
            }
            span
        })
    }

    /// A table by exact name as Arrow batches.
    #[cfg(feature = "datafusion")]
    pub(crate) fn arrow(&self, name: &str) -> Option<&Arc<crate::storage::ArrowTable>> {
        let entry = self.tables.get(name)?;
        entry.materialize();
        if entry.arrow.get().is_none()
            && let Some(rows) = entry.rows.get()
        {
            return Some(
                entry
                    .arrow
                    .get_or_init(|| Arc::new(crate::storage::ArrowTable::from_table(rows))),
            );
        }
        entry.arrow.get()
    }

    /// Table names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// Every table with its name, sorted by name (making every table made on first use).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Table>)> {
        self.tables
            .keys()
            .filter_map(|k| Some((k.as_str(), self.get(k)?)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counted_table(made: Arc<AtomicUsize>) -> MakeTable {
        Arc::new(move || {
            made.fetch_add(1, Ordering::SeqCst);
            Table {
                columns: vec![
                    Column::new("TimeGenerated", ScalarType::DateTime),
                    Column::new("Name", ScalarType::String),
                ],
                rows: vec![
                    vec![Value::DateTime(30), Value::str("b")],
                    vec![Value::DateTime(10), Value::str("a")],
                ],
            }
        })
    }

    #[test]
    fn a_lazy_table_is_made_once_on_first_use_and_its_columns_are_known_before() {
        let made = Arc::new(AtomicUsize::new(0));
        let mut catalog = Catalog::new();
        let columns = vec![
            Column::new("TimeGenerated", ScalarType::DateTime),
            Column::new("Name", ScalarType::String),
        ];
        catalog.insert_lazy("T", columns.clone(), counted_table(Arc::clone(&made)));
        assert_eq!(catalog.columns("T"), Some(columns.as_slice()));
        assert_eq!(catalog.names().collect::<Vec<_>>(), ["T"]);
        assert_eq!(
            made.load(Ordering::SeqCst),
            0,
            "naming a table does not make it"
        );
        // Many threads asking at once: one makes it, the others wait for it.
        let shared = catalog.clone();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| assert_eq!(shared.row_count("T"), Some(2)));
            }
        });
        assert_eq!(catalog.time_range("T"), Some((10, 30)));
        assert_eq!(catalog.get("T").map(|t| t.len()), Some(2));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(catalog.row_count("missing"), None);
        assert_eq!(catalog.time_range("missing"), None);
    }

    #[test]
    fn dated_span_is_the_time_generated_range_only_when_every_row_has_one() {
        let mut catalog = Catalog::new();
        let table = |name: &str, times: &[Value]| Table {
            columns: vec![Column::new(name, ScalarType::DateTime)],
            rows: times.iter().map(|t| vec![t.clone()]).collect(),
        };
        let (five, two) = (Value::DateTime(5), Value::DateTime(2));
        catalog.insert(
            "Dated",
            table("TimeGenerated", &[five.clone(), two.clone()]),
        );
        catalog.insert("One", table("TimeGenerated", std::slice::from_ref(&two)));
        catalog.insert("Null", table("TimeGenerated", &[five, Value::Null, two]));
        catalog.insert("Empty", table("TimeGenerated", &[]));
        catalog.insert("Defender", table("Timestamp", &[Value::DateTime(1)]));
        assert_eq!(catalog.dated_span("Dated"), Some((2, 5)));
        assert_eq!(catalog.dated_span("One"), Some((2, 2)));
        // Found once, then read.
        assert_eq!(catalog.dated_span("Dated"), Some((2, 5)));
        for name in ["Null", "Empty", "Defender", "missing"] {
            assert_eq!(catalog.dated_span(name), None, "{name}");
        }
    }

    #[test]
    fn time_range_reads_time_generated_or_else_a_defender_timestamp() {
        let mut catalog = Catalog::new();
        let table = |name: &str| Table {
            columns: vec![Column::new(name, ScalarType::DateTime)],
            rows: vec![
                vec![Value::DateTime(5)],
                vec![Value::Null],
                vec![Value::DateTime(2)],
            ],
        };
        catalog.insert("A", table("TimeGenerated"));
        catalog.insert("B", table("Timestamp"));
        catalog.insert("C", table("CreatedDateTime"));
        assert_eq!(catalog.time_range("A"), Some((2, 5)));
        assert_eq!(catalog.time_range("B"), Some((2, 5)));
        assert_eq!(catalog.time_range("C"), None);
    }
}
