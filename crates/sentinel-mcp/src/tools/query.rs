//! run_kql_query and run_hunting_query.

use std::time::Instant;

use rmcp::model::CallToolResult;
use serde::Deserialize;

use super::format::{ResultCaps, TableResult, table_result};
use super::link::{self, Whole};
use super::{Call, ToolDef, ToolError, chart, define, fresh};
use crate::backend::{QueryOutput, QueryRequest};
use crate::model::{DataKind, ToolClass};

/// Arguments of run_kql_query.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct QueryArgs {
    /// The KQL query, e.g. `SigninLogs | where ResultType != "0" | summarize count() by UserPrincipalName | top 10 by count_`.
    query: String,
    /// Time window the rows must fall in (filters TimeGenerated): ISO 8601 duration (PT1H, P7D), an interval `start/end`, or shorthand like 24h or 7d. Defaults to the server's default (30 days).
    #[serde(default)]
    timespan: Option<String>,
    /// Most rows to return (default 200). Larger results are truncated with a notice; prefer summarize.
    #[serde(default)]
    max_rows: Option<usize>,
    /// Which workspace to query, by the name the server's configuration gives it (SENTINEL_MCP_WORKSPACES); the default workspace when absent.
    #[serde(default)]
    workspace: Option<String>,
}

/// Arguments of run_hunting_query.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct HuntingArgs {
    /// An advanced hunting KQL query over the Defender XDR tables (DeviceProcessEvents, DeviceNetworkEvents, DeviceLogonEvents, DeviceFileEvents, EmailEvents, …).
    query: String,
    /// Time window (ISO 8601 duration like P7D or shorthand like 7d); defaults to 30 days.
    #[serde(default)]
    timespan: Option<String>,
}

pub(super) fn definitions() -> Vec<ToolDef> {
    vec![
        define::<QueryArgs, TableResult>(
            ToolClass::Read,
            DataKind::Logs,
            "run_kql_query",
            "Run KQL query",
            "Run a read-only KQL (Kusto Query Language) query against the Microsoft Sentinel / Log Analytics workspace and return the result table. \
             Use list_sentinel_tables and get_table_schema first to learn table and column names (they are case-sensitive). \
             Filter early with `where`, aggregate with `summarize`, and limit with `take`/`top`; results are capped (default 200 rows) with a notice of what was left out. \
             Control commands (.show, .drop…), externaldata and network plugins are refused.",
            |call, args| fresh(run_kql_query(call, args)),
        ),
        define::<HuntingArgs, TableResult>(
            ToolClass::Hunt,
            DataKind::Hunting,
            "run_hunting_query",
            "Run advanced hunting query",
            "Run a Microsoft Defender XDR advanced hunting query (KQL over Device*, Email*, Identity* tables) and return the result table. \
             Use it to investigate endpoint activity: processes, network connections, logons, file events and email. Read-only; results are capped like run_kql_query.",
            |call, args| fresh(run_hunting_query(call, args)),
        ),
    ]
}

async fn run_kql_query(call: &Call<'_>, args: QueryArgs) -> Result<CallToolResult, ToolError> {
    let ctx = call.ctx;
    let caps = ctx.caps(args.max_rows)?;
    let mut request = request(call, args.query, args.timespan.as_deref())?;
    request.workspace = args.workspace;
    let out = ctx.backend.query(request).await?;
    answer(call, caps, out).await
}

async fn run_hunting_query(
    call: &Call<'_>,
    args: HuntingArgs,
) -> Result<CallToolResult, ToolError> {
    let ctx = call.ctx;
    let caps = ctx.caps(None)?;
    let request = request(call, args.query, args.timespan.as_deref())?;
    let out = ctx.backend.hunt(request).await?;
    answer(call, caps, out).await
}

/// A query's result: the table within the caps, the chart its `render` asks for, and, when
/// rows were left out, a link to the whole table kept for the caller.
async fn answer(
    call: &Call<'_>,
    caps: ResultCaps,
    mut out: QueryOutput,
) -> Result<CallToolResult, ToolError> {
    let kind = out.visualization.as_ref().map(|v| v.kind.clone());
    let warnings = out.warnings.clone();
    let (text, structured) = table_result(&out.table, caps, out.warnings, kind);
    let whole = structured.truncated.then(|| Whole {
        kind: &crate::results::QUERY_RESULT,
        // The chart draws from the table too: a copy then (a chart of a truncated result).
        table: match out.visualization {
            Some(_) => out.table.clone(),
            None => std::mem::take(&mut out.table),
        },
        warnings,
        shown: structured.returned_rows,
        rest_at: structured.returned_rows,
    });
    let mut result = link::answer(call, whole, text, structured, |s| &mut s.full_result).await?;
    chart::attach(
        &mut result,
        call.ctx.settings.charts,
        out.table,
        out.visualization,
    )
    .await;
    Ok(result)
}

/// A query's request after the guard, with the time window and the call's time left.
pub(super) fn request(
    call: &Call<'_>,
    query: String,
    timespan: Option<&str>,
) -> Result<QueryRequest, ToolError> {
    if query.trim().is_empty() {
        return Err(ToolError::Input(
            "query is empty; pass a KQL query such as `SigninLogs | take 10`".into(),
        ));
    }
    crate::failure::test_panic("tool", &query);
    let range = call.ctx.time_range(timespan)?;
    // Every backend, Azure included, only ever sees a query the guard let through.
    let guarded = call.ctx.guard(&query, range)?;
    // Time spent waiting for a slot counts against the query's time limit.
    let left = call.deadline.saturating_duration_since(Instant::now());
    Ok(QueryRequest {
        query,
        range,
        timeout: guarded.timeout.min(left),
        workspace: None,
        prepared: guarded.prepared,
    })
}
