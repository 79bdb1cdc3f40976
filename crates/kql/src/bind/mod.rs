//! Binding: names and types resolved before any row is read, and the query guard.

pub mod guard;
pub(crate) mod scalar;
