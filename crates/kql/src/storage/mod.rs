//! The Arrow layout tables are stored in, shared by the catalog, its loaders and DataFusion.

pub(crate) mod arrow_table;

pub use arrow_table::ArrowTable;
