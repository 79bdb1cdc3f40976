//! Execution on Apache DataFusion (the `datafusion` feature).
//!
//! A query is bound by the row engine's binder and lowered to a DataFusion `LogicalPlan` through
//! `LogicalPlanBuilder`: catalog tables are Arrow `MemTable`s, KQL operators become plan nodes,
//! the hot KQL functions and string operators are vectorised UDFs and every other KQL function
//! runs as a UDF over the row engine's evaluator, so both engines share one definition of each
//! function. Constructs the planner does not lower yet (see [`lower`]) run on the row engine,
//! which stays the reference for Kusto's semantics; `explain` tells which engine a query gets.

mod arg_best;
mod lower;
mod numbered;
mod scan;
mod udaf;
mod udf;
mod udwf;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow_array::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use lower::{Fallback, Lowering, Plan, RunKey};

use super::rows::ops::too_many_rows;
use crate::bind::context::{Engine, Env};
use crate::budget::QueryBudget;
use crate::budget::datafusion::{InQuery, QueryPool};
use crate::error::KqlError;
use crate::storage::arrow_table::{BATCH_ROWS, parallelism};
use crate::syntax::ast::Script;
use crate::value::table::Table;

/// How a query left the DataFusion path.
pub(super) enum Skip {
    /// Not lowered or not run (`explain` says why): the row engine runs it.
    Fallback,
    /// Stopped (cancelled, deadline passed, too many rows): the query's answer.
    Failed(KqlError),
}

fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // The tasks DataFusion spawns work for the query that spawned them.
            crate::budget::datafusion::follow_spawned_tasks();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(parallelism())
                .thread_name("kql-datafusion")
                // Planning recurses over the plan and expressions; KQL UDFs evaluate nested
                // expressions recursively too.
                .thread_stack_size(64 << 20)
                .enable_time()
                .build()
                .ok()
        })
        .as_ref()
}

/// Queries naming catalog tables of fewer rows than this in all run on the row engine under
/// `Executor::Auto` (literal sources count as none): planning costs DataFusion about a
/// millisecond, and the row engine is faster below about 5,000 rows (BENCHMARKS-kql.md, "Small
/// inputs": 0.27 vs 1.19 ms at 1,000 rows, 2.6 vs 1.4 ms at 10,000).
pub(super) const MIN_ROWS: usize = 5_000;

/// Rows of the catalog tables a query names (any identifier that is a table's name counts): a
/// cheap upper bound of what it reads from the catalog, known before anything is planned.
pub(super) fn catalog_rows(
    catalog: &crate::catalog::Catalog,
    tokens: &[crate::syntax::lexer::Token],
) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut rows = 0;
    for t in tokens {
        if let crate::syntax::lexer::TokenKind::Ident(n)
        | crate::syntax::lexer::TokenKind::QuotedIdent(n) = &t.kind
            && !seen.contains(&n.as_str())
        {
            seen.push(n);
            rows += catalog.row_count(n).unwrap_or(0);
        }
    }
    rows
}

/// Lowers the script: its `let`s, then its queries.
fn lower<'a>(engine: &mut Engine<'a>, script: &'a Script) -> Result<Plan, Fallback> {
    // A tabular `let` used as a scalar (`where u in (knownusers)`, `toscalar(T)`) is run on
    // DataFusion and bound as a table, as the row engine binds it; then planning starts over.
    let mut tables: Vec<(String, Arc<Table>)> = Vec::new();
    // An operator whose columns the data decides (`bag_unpack`) has what it needs run first too.
    let mut found: HashMap<RunKey, Arc<Table>> = HashMap::new();
    loop {
        match lower_once(engine, script, &tables, &found) {
            Err(Lower::NeedsTable(name, plan)) => {
                let batches = collect(plan.plan, plan.parallel, engine.budget)
                    .map_err(|_| format!("'{name}' could not be run"))?;
                let table =
                    crate::storage::arrow_table::batches_to_query_table(&plan.columns, &batches)
                        .map_err(|e| e.to_string())?;
                tables.push((name, Arc::new(table)));
            }
            Err(Lower::NeedsRun(key, plan)) => {
                if found.contains_key(&key) {
                    return Err("a first run asked for twice".into());
                }
                let batches = collect(plan.plan, plan.parallel, engine.budget)
                    .map_err(|_| "a first run could not be run".to_string())?;
                let table =
                    crate::storage::arrow_table::batches_to_query_table(&plan.columns, &batches)
                        .map_err(|e| e.to_string())?;
                found.insert(key, Arc::new(table));
            }
            Err(Lower::Fallback(why)) => return Err(why),
            Ok(plan) => return Ok(plan),
        }
    }
}

enum Lower {
    Fallback(Fallback),
    /// The tabular `let` of that name (scoped: `Lowering::scoped`) is used as a scalar: its
    /// plan, to run first.
    NeedsTable(String, Box<Plan>),
    /// An operator needs what this plan answers to lay its columns out (`Lowering::first_run`).
    NeedsRun(RunKey, Box<Plan>),
}

fn lower_once<'a>(
    engine: &mut Engine<'a>,
    script: &'a Script,
    tables: &[(String, Arc<Table>)],
    found: &HashMap<RunKey, Arc<Table>>,
) -> Result<Plan, Lower> {
    let mut l = Lowering {
        engine,
        env: Env::default(),
        lets: HashMap::new(),
        named: 0,
        piped_name: None,
        scanned: HashMap::new(),
        serial: false,
        ran: tables.to_vec(),
        scope: None,
        shadowing: None,
        found: found.clone(),
        wanted: None,
        visits: HashMap::new(),
    };
    // Which `let` a failure to bind a scalar name points at, if any.
    let needs = |l: &mut Lowering<'_, 'a>, why: Fallback| -> Lower {
        if let Some((key, plan)) = l.wanted.take() {
            return Lower::NeedsRun(key, Box::new(plan));
        }
        if let Some(name) = l.shadowing.take()
            && let Some(named) = l.lets.get(&name)
        {
            return Lower::NeedsTable(l.scoped(&name), Box::new(named.plan.clone()));
        }
        let wanted = l.lets.iter().find(|(name, _)| {
            ["scalar expression", "table or column expression"]
                .iter()
                .any(|what| why.contains(&format!("Failed to resolve {what} named '{name}'")))
                && !tables.iter().any(|(t, _)| *t == l.scoped(name))
        });
        match wanted {
            Some((name, named)) => Lower::NeedsTable(l.scoped(name), Box::new(named.plan.clone())),
            None => Lower::Fallback(why),
        }
    };
    let mut queries = Vec::new();
    for st in &script.statements {
        let query = l.statement(st).map_err(|why| needs(&mut l, why))?;
        queries.extend(query);
    }
    // Every result set is planned (so each binds), the last one is returned, as the row engine
    // does.
    let last = queries.pop().ok_or(Lower::Fallback("no query".into()))?;
    for e in &queries {
        l.tabular(e).map_err(|why| needs(&mut l, why))?;
    }
    let mut plan = l.tabular(last).map_err(|why| needs(&mut l, why))?;
    plan.parallel &= !l.serial;
    if !queries.is_empty() {
        l.engine
            .warnings
            .push(super::several_results_warning(queries.len() + 1));
    }
    Ok(plan)
}

/// The DataFusion plan of a query, or why it runs on the row engine.
pub(super) fn explain<'a>(engine: &mut Engine<'a>, script: &'a Script) -> Result<String, String> {
    lower(engine, script).map(|p| p.plan.display_indent().to_string())
}

/// Runs the script on DataFusion.
pub(super) fn run<'a>(engine: &mut Engine<'a>, script: &'a Script) -> Result<Table, Skip> {
    let plan = lower(engine, script).map_err(|_| Skip::Fallback)?;
    if plan.plan.schema().fields().len() != plan.columns.len() {
        return Err(Skip::Fallback);
    }
    let capped = lower::capped(plan.plan).map_err(|_| Skip::Fallback)?;
    let batches = collect(capped, plan.parallel, engine.budget)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > super::MAX_ROWS {
        return Err(Skip::Failed(too_many_rows("the query")));
    }
    crate::storage::arrow_table::batches_to_query_table(&plan.columns, &batches)
        .map_err(Skip::Failed)
}

/// Executes a plan on the shared runtime within the query's budget: its tasks work for the
/// query, DataFusion's memory pool is the budget, and the deadline, the cancel flag and the
/// memory used are checked as batches arrive and every 20 ms.
fn collect(
    plan: LogicalPlan,
    parallel: bool,
    budget: &Arc<QueryBudget>,
) -> Result<Vec<RecordBatch>, Skip> {
    let rt = runtime().ok_or(Skip::Fallback)?;
    budget.check_deadline().map_err(Skip::Failed)?;
    scan::announce(&plan);
    let partitions = if parallel { parallelism() } else { 1 };
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(BATCH_ROWS);
    // No spilling to disk: a query past its memory stops (a shared server's disk is not scratch).
    let Ok(runtime) = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(QueryPool::new(Arc::clone(budget))))
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()
    else {
        return Err(Skip::Fallback);
    };
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let in_query = Arc::clone(budget);
    let task = rt.spawn(InQuery::new(
        Arc::clone(budget),
        Box::pin(async move {
            let result = gather(ctx, plan, &in_query).await;
            let _ = tx.send(result);
        }),
    ));
    let stopped = |task: &tokio::task::JoinHandle<()>| {
        let why = budget.check_deadline();
        if why.is_err() {
            task.abort();
        }
        why.map_err(Skip::Failed)
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Ok(batches)) => return Ok(batches),
            // Past a limit the row engine would not fare better: the query stops.
            Ok(Err(_)) => {
                stopped(&task)?;
                // A value too large to be copied into DataFusion's rows, or a runtime failure
                // (say an overflow DataFusion reports): the row engine defines the answer.
                return Err(Skip::Fallback);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                stopped(&task)?;
                return Err(Skip::Fallback);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => stopped(&task)?,
        }
    }
}

/// Runs the plan and gathers its batches, stopping between batches when the budget says so.
async fn gather(
    ctx: SessionContext,
    plan: LogicalPlan,
    budget: &QueryBudget,
) -> Result<Vec<RecordBatch>, DataFusionError> {
    let mut stream = ctx
        .execute_logical_plan(plan)
        .await?
        .execute_stream()
        .await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
        budget
            .check_deadline()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
    }
    Ok(batches)
}
