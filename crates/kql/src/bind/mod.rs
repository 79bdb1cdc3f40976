//! Binding: names and types resolved before any row is read, and the query guard.

pub(crate) mod compile;
pub(crate) mod context;
pub(crate) mod eval;
pub(crate) mod expr;
pub mod guard;
pub(crate) mod naming;
pub(crate) mod types;
