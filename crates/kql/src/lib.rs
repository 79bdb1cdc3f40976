//! KQL (Kusto Query Language): lexer, parser and a local engine over in-memory tables.
//!
//! This crate knows nothing of MCP, HTTP or Azure. Its folders are the pipeline, each using
//! only the ones below it: `syntax` (text to AST), `bind` (names, types, the query guard),
//! `exec` (the row engine and DataFusion), over `functions`, `catalog`, `storage` and `value`.

pub mod bind;
pub mod budget;
pub mod catalog;
pub mod error;
mod exec;
mod functions;
pub mod progress;
pub mod settings;
#[cfg(feature = "parquet")]
pub mod storage;
pub mod syntax;
pub mod value;

pub use bind::guard;
pub use bind::guard::{GuardError, GuardedQuery, QueryGuard};
pub use budget::{EngineMemory, MemoryError, QueryBudget};
pub use catalog::Catalog;
pub use error::{KqlError, Location};
pub use progress::ScanProgress;
pub use syntax::ast::Visualization;
pub use syntax::prepared::Prepared;
pub use syntax::{ast, parser::QUERY_THREAD_STACK_BYTES};
pub use value::table::{self, Column, Table};
pub use value::{Decimal, ScalarType, Value};

/// Parses a query text without running it (on a large-stack thread, so hostile nesting
/// is reported as an error rather than overflowing the caller's stack).
pub fn parse(text: &str) -> Result<ast::Script, KqlError> {
    syntax::parser::on_deep_stack(|| syntax::parser::parse_script(text))
}

pub use bind::context::{DEFAULT_MEMORY_LIMIT, ExecOptions};
#[cfg(feature = "datafusion")]
pub use exec::explain;
pub use exec::{Executor, QueryResult, execute, execute_on, execute_prepared, function_names};

// Unit tests count allocations as the server does, so budgets are enforced in them too.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: budget::CountingAllocator = budget::CountingAllocator(std::alloc::System);
