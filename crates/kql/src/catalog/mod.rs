//! The catalog: the tables a query can name.

pub mod demo;
pub mod load;

pub use demo::{DEMO_SEED, demo_story, demo_workspace};
pub use load::{LoadError, LoadOptions, load_dir, load_dir_with, write_parquet};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::table::Table;

/// Tables by name (case-sensitive, as in Kusto).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<Table>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds or replaces a table.
    pub fn insert(&mut self, name: impl Into<String>, table: Table) {
        self.tables.insert(name.into(), Arc::new(table));
    }

    /// A table by exact name.
    pub fn get(&self, name: &str) -> Option<&Arc<Table>> {
        self.tables.get(name)
    }

    /// Table names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// Every table with its name, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Table>)> {
        self.tables.iter().map(|(k, v)| (k.as_str(), v))
    }
}
