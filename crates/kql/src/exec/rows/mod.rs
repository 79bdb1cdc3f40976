//! The row engine: each operator over a table of rows, the reference for Kusto's semantics.

pub(crate) mod ops;
pub(crate) mod pivot;
