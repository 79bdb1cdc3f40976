//! The Arrow layout tables are stored in, shared by the catalog, its loaders and DataFusion.

#[cfg(feature = "datafusion")]
pub(crate) mod arrow_table;
pub(crate) mod layout;

#[cfg(feature = "datafusion")]
pub use arrow_table::ArrowTable;
