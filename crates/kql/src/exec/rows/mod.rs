//! The row engine: the operator dispatch and the simple operators (`ops`), with the larger ones
//! in files of their own.

pub(crate) mod expand;
pub(crate) mod geo_lookup;
pub(crate) mod input;
pub(crate) mod join;
pub(crate) mod ops;
pub(crate) mod parse;
pub(crate) mod pivot;
mod search;
pub(crate) mod summarize;
mod typed_fold;
