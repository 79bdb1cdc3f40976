//! KQL (Kusto Query Language): lexer, parser and a local engine over in-memory tables.
//!
//! This crate knows nothing of MCP, HTTP or Azure.

pub mod catalog;
pub mod table;
pub mod value;

pub use catalog::Catalog;
pub use table::{Column, Table};
pub use value::{ScalarType, Value};
