//! KQL (Kusto Query Language): lexer, parser and a local engine over in-memory tables.
//!
//! This crate knows nothing of MCP, HTTP or Azure.

pub mod ast;
pub mod budget;
pub mod catalog;
pub mod error;
pub mod guard;
pub mod lexer;
pub mod parser;
pub mod table;
pub mod value;

pub use budget::{EngineMemory, MemoryError, QueryBudget};
pub use catalog::Catalog;
pub use error::{KqlError, Location};
pub use guard::{GuardError, GuardedQuery, QueryGuard};
pub use parser::QUERY_THREAD_STACK_BYTES;
pub use table::{Column, Table};
pub use value::{ScalarType, Value};

/// Parses a query text without running it (on a large-stack thread, so hostile nesting
/// is reported as an error rather than overflowing the caller's stack).
pub fn parse(text: &str) -> Result<ast::Script, KqlError> {
    parser::on_deep_stack(|| parser::parse_script(text))
}

pub mod engine;
#[cfg(feature = "datafusion")]
pub use engine::explain;
pub use engine::{DEFAULT_MEMORY_LIMIT, ExecOptions, Executor, QueryResult, execute, execute_on};

// Unit tests count allocations as the server does, so budgets are enforced in them too.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: budget::CountingAllocator = budget::CountingAllocator;
