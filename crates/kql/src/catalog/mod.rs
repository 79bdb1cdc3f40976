//! The catalog: the tables a query can name.

pub mod demo;
pub mod load;

pub use demo::{DEMO_SEED, demo_story, demo_workspace};
#[cfg(feature = "datafusion")]
pub use load::read_arrow;
pub use load::{LoadError, LoadOptions, load_dir, load_dir_with, write_parquet};

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::table::Table;

/// Tables by name (case-sensitive, as in Kusto).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<Entry>>,
}

/// One table, as rows (the row engine's form) and as Arrow batches (DataFusion's), each made
/// from the other on first use.
#[derive(Debug, Default)]
struct Entry {
    rows: OnceLock<Arc<Table>>,
    #[cfg(feature = "datafusion")]
    arrow: OnceLock<Arc<crate::engine::ArrowTable>>,
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

    /// Adds or replaces a table held only as Arrow batches in the stored layout (as
    /// [`read_arrow`] returns them); rows are made from them only if the row engine needs them.
    #[cfg(feature = "datafusion")]
    pub fn insert_arrow(
        &mut self,
        name: impl Into<String>,
        columns: Vec<crate::table::Column>,
        batches: Vec<arrow_array::RecordBatch>,
    ) {
        let entry = Entry::default();
        let _ = entry
            .arrow
            .set(Arc::new(crate::engine::ArrowTable::new(columns, batches)));
        self.tables.insert(name.into(), Arc::new(entry));
    }

    /// A table by exact name.
    pub fn get(&self, name: &str) -> Option<&Arc<Table>> {
        let entry = self.tables.get(name)?;
        #[cfg(feature = "datafusion")]
        if entry.rows.get().is_none()
            && let Some(arrow) = entry.arrow.get()
        {
            return Some(entry.rows.get_or_init(|| Arc::new(arrow.to_table())));
        }
        entry.rows.get()
    }

    /// Number of rows of a table, without converting it between forms.
    pub fn row_count(&self, name: &str) -> Option<usize> {
        let entry = self.tables.get(name)?;
        #[cfg(feature = "datafusion")]
        if let Some(arrow) = entry.arrow.get() {
            return Some(arrow.len());
        }
        entry.rows.get().map(|t| t.len())
    }

    /// A table by exact name as Arrow batches.
    #[cfg(feature = "datafusion")]
    pub(crate) fn arrow(&self, name: &str) -> Option<&Arc<crate::engine::ArrowTable>> {
        let entry = self.tables.get(name)?;
        if entry.arrow.get().is_none()
            && let Some(rows) = entry.rows.get()
        {
            return Some(
                entry
                    .arrow
                    .get_or_init(|| Arc::new(crate::engine::ArrowTable::from_table(rows))),
            );
        }
        entry.arrow.get()
    }

    /// Table names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// Every table with its name, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Table>)> {
        self.tables
            .keys()
            .filter_map(|k| Some((k.as_str(), self.get(k)?)))
    }
}
