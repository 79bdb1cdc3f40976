//! The context a query is bound and run in: its options, the names in scope, the catalog, the
//! budget and the errors that point at the query text. The binder (`compile.rs`) and the
//! executors (`crate::exec`) both work through it.

use std::sync::Arc;
use std::time::Instant;

use crate::bind::expr::{AggCollector, CExpr};
use crate::budget::{EngineMemory, QueryBudget};
use crate::catalog::Catalog;
use crate::error::{KqlError, Location};
use crate::progress::ScanProgress;
use crate::syntax::ast::{Expr, ExprKind, Function, Pattern, Statement, Visualization};
use crate::syntax::lexer::Span;
use crate::value::table::{Table, rows_at};
use crate::value::{ScalarType, Value, datetime_to_ticks};

/// How to run a query.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// The query's `now()` in ticks since the Unix epoch; `ago()` counts back from it.
    pub now: i64,
    /// `[start, end)` in ticks: catalog tables with a `TimeGenerated` datetime column only show
    /// rows inside it, like Log Analytics' `timespan` parameter.
    pub timespan: Option<(i64, i64)>,
    /// When passed, the query stops with `KqlError::Cancelled`.
    pub deadline: Option<Instant>,
    /// When set to true, the query stops with `KqlError::Cancelled`.
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Bytes the query may use, on either executor: the values and tables it builds,
    /// DataFusion's joins, aggregations and sorts, and its result. Past it the query stops with
    /// `KqlError::Memory` instead of exhausting the server's memory. (Measured by
    /// [`crate::budget::CountingAllocator`]; without it as the global allocator, only the
    /// engine's checks before large allocations apply.)
    pub memory_limit: usize,
    /// The memory all running queries share: the query gets the smaller of `memory_limit` and
    /// what is left, and waits (bounded) to start when too little is left. `None`: no budget
    /// beyond `memory_limit`.
    pub engine_memory: Option<Arc<EngineMemory>>,
    /// When set, both executors count in it the rows they read from catalog tables and the rows
    /// they are going to read, for a caller reporting the query's progress.
    pub progress: Option<Arc<ScanProgress>>,
}

/// The default [`ExecOptions::memory_limit`]: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

impl Default for ExecOptions {
    fn default() -> ExecOptions {
        ExecOptions {
            now: datetime_to_ticks(chrono::Utc::now()),
            timespan: None,
            deadline: None,
            cancel: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            engine_memory: None,
            progress: None,
        }
    }
}

/// The deepest nesting of user-defined function calls.
const MAX_CALL_DEPTH: usize = 64;

/// What a name bound by `let` (or a function parameter) stands for.
#[derive(Debug, Clone)]
pub(crate) enum Binding<'a> {
    Scalar(Value, ScalarType),
    Expr(CExpr, ScalarType),
    Table(Arc<Table>),
    Function(&'a Function),
    /// A `declare pattern`.
    Pattern(&'a Pattern),
}

/// An invocation of a declared pattern: `name("a", ...)` or `name("a", ...).path`.
pub(crate) struct PatternCall<'e, 'a> {
    pub pattern: &'a Pattern,
    pub args: &'e [Expr],
    pub path: Option<&'e str>,
}

/// `e` as an invocation of a pattern `env` declares, if it is one.
pub(crate) fn pattern_call<'e, 'a>(e: &'e Expr, env: &Env<'a>) -> Option<PatternCall<'e, 'a>> {
    let (call, path) = match &e.kind {
        ExprKind::Member { target, name } => (&**target, Some(name.as_str())),
        ExprKind::Index { target, index } => match &index.kind {
            ExprKind::Literal(Value::String(s)) => (&**target, Some(&**s)),
            _ => return None,
        },
        _ => (e, None),
    };
    let ExprKind::Call { name, args } = &call.kind else {
        return None;
    };
    match env.get(name) {
        Some(Binding::Pattern(pattern)) => Some(PatternCall {
            pattern,
            args,
            path,
        }),
        _ => None,
    }
}

/// Names in scope, innermost last.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env<'a> {
    pub(crate) vars: Vec<(String, Binding<'a>)>,
}

impl<'a> Env<'a> {
    pub(crate) fn get(&self, name: &str) -> Option<&Binding<'a>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    pub(crate) fn push(&mut self, name: String, b: Binding<'a>) {
        self.vars.push((name, b));
    }
}

/// One query run: the catalog, the options and what the run collects.
pub(crate) struct Engine<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) text: &'a str,
    pub(crate) opts: &'a ExecOptions,
    /// The query's memory and time budget.
    pub(crate) budget: &'a Arc<QueryBudget>,
    pub(crate) agg: Option<AggCollector>,
    pub(crate) visualization: Option<Visualization>,
    pub(crate) warnings: Vec<String>,
    pub(crate) ticks: u32,
    /// Function calls being evaluated, innermost last.
    pub(crate) calls: usize,
    /// The name `as` just gave the piped table, for a following `union withsource=`.
    pub(crate) piped_name: Option<String>,
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        catalog: &'a Catalog,
        text: &'a str,
        opts: &'a ExecOptions,
        budget: &'a Arc<QueryBudget>,
    ) -> Engine<'a> {
        Engine {
            catalog,
            text,
            opts,
            budget,
            agg: None,
            visualization: None,
            warnings: Vec::new(),
            ticks: 0,
            calls: 0,
            piped_name: None,
        }
    }

    /// Checks the memory budget, the cancel flag and the deadline (cheaply: the clock is read
    /// every 256 calls).
    pub(crate) fn check(&mut self) -> Result<(), KqlError> {
        self.budget.stopped()?;
        self.ticks = self.ticks.wrapping_add(1);
        if !self.ticks.is_multiple_of(256) {
            return Ok(());
        }
        self.budget.check_deadline()
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        Location::from_offset(self.text, span.start)
    }

    pub(crate) fn resolution(&self, e: &Expr, message: &str) -> KqlError {
        KqlError::Resolution {
            location: self.location(e.span),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported_at(&self, span: Span, construct: &str) -> KqlError {
        KqlError::Unsupported {
            location: self.location(span),
            construct: construct.into(),
        }
    }

    pub(crate) fn unsupported(&self, e: &Expr, construct: &str) -> KqlError {
        self.unsupported_at(e.span, construct)
    }

    pub(crate) fn type_error(&self, e: &Expr, message: &str) -> KqlError {
        KqlError::Type {
            location: self.location(e.span),
            message: message.into(),
        }
    }

    pub(crate) fn forbidden(&self, span: Span, construct: &str) -> KqlError {
        KqlError::Forbidden {
            location: self.location(span),
            construct: construct.into(),
        }
    }

    /// Whether an expression denotes a table (rather than a scalar).
    pub(crate) fn is_tabular(&self, e: &Expr, env: &Env<'a>) -> bool {
        if pattern_call(e, env).is_some() {
            return true;
        }
        match &e.kind {
            ExprKind::Pipe { .. }
            | ExprKind::Datatable { .. }
            | ExprKind::Print(_)
            | ExprKind::Range { .. }
            | ExprKind::Union(_)
            | ExprKind::Search(_)
            | ExprKind::Find(_)
            | ExprKind::ExternalData
            | ExprKind::OtherSource(_)
            | ExprKind::Wildcard(_) => true,
            ExprKind::Name(n) => match env.get(n) {
                Some(Binding::Table(_)) => true,
                Some(_) => false,
                None => self.catalog.row_count(n).is_some(),
            },
            ExprKind::Call { name, args } => match env.get(name) {
                Some(Binding::Function(f)) => {
                    f.body.iter().rev().find_map(|s| match s {
                        Statement::Query(q) => {
                            Some(self.is_tabular(q, env) || matches!(q.kind, ExprKind::Name(_)))
                        }
                        _ => None,
                    }) == Some(true)
                }
                _ => {
                    matches!(
                        name.as_str(),
                        "materialize" | "view" | "table" | "external_table"
                    ) || (name == "materialize" && args.len() == 1)
                }
            },
            _ => false,
        }
    }

    /// A catalog table's rows. The catalog makes them once (from its Arrow form) and keeps them
    /// for every query: that is the process's memory, not this query's.
    pub(crate) fn catalog_rows(&self, name: &str) -> Option<&'a Arc<Table>> {
        let catalog = self.catalog;
        crate::budget::outside_query(|| catalog.get(name))
    }

    /// A catalog table as the query sees it (the timespan filter applied).
    pub(crate) fn catalog_table(&self, name: &str) -> Option<Table> {
        let (t, picked) = self.catalog_view(name)?;
        Some(Table {
            columns: t.columns.clone(),
            rows: rows_at(&t.rows, picked.as_deref()),
        })
    }

    /// A catalog table read in place: the table, and the rows the timespan filter keeps (`None`:
    /// all of them).
    pub(crate) fn catalog_view(&self, name: &str) -> Option<(&'a Arc<Table>, Option<Vec<usize>>)> {
        let t = self.catalog_rows(name)?;
        // The row engine reads a table whole, here: it is known and read at once.
        if let Some(progress) = &self.opts.progress {
            progress.will_read(t.rows.len());
            progress.read(t.rows.len());
        }
        let Some((start, end)) = self.opts.timespan else {
            return Some((t, None));
        };
        let Some(i) = crate::catalog::time_generated(&t.columns) else {
            return Some((t, None));
        };
        // A window holding every row's time (as the server's usually does) keeps them all.
        let catalog = self.catalog;
        if let Some((first, last)) = crate::budget::outside_query(|| catalog.dated_span(name))
            && first >= start
            && last < end
        {
            return Some((t, None));
        }
        // Sized for every row (the window usually holds most of them): one allocation, not a
        // doubling series of them.
        let mut picked = Vec::with_capacity(t.rows.len());
        picked.extend(t.rows.iter().enumerate().filter_map(|(idx, r)| {
            matches!(r.get(i), Some(Value::DateTime(x)) if *x >= start && *x < end).then_some(idx)
        }));
        Some((t, Some(picked)))
    }

    /// Counts nested function calls: Kusto has no recursion, and unbounded nesting would exhaust the stack.
    pub(crate) fn enter_call(&mut self, e: &Expr) -> Result<(), KqlError> {
        if self.calls >= MAX_CALL_DEPTH {
            return Err(KqlError::Resolution {
                location: self.location(e.span),
                message: format!(
                    "Functions nest more than {MAX_CALL_DEPTH} calls deep here; recursive functions are not supported"
                ),
            });
        }
        self.calls += 1;
        Ok(())
    }
}
