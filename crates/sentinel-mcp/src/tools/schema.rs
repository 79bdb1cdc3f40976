//! list_sentinel_tables and get_table_schema.

use std::sync::{Arc, Mutex};

use rmcp::model::CallToolResult;
use serde::{Deserialize, Serialize};

use super::format::ColumnOut;
use super::{EncodedResult, ToolAnswer, ToolContext, ToolDef, ToolError, define, fresh, success};
use crate::model::{DataKind, TableInfo, TableList, ToolClass};

/// How many table lists' answers are kept: one per workspace in use.
const KEPT_TABLE_LISTS: usize = 8;

/// Arguments of list_sentinel_tables.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TablesArgs {
    /// Which workspace, by the name the server's configuration gives it; the default workspace when absent.
    #[serde(default)]
    workspace: Option<String>,
}

/// Arguments of get_table_schema.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SchemaArgs {
    /// Table name exactly as list_sentinel_tables shows it (case-sensitive), e.g. SigninLogs.
    table: String,
    /// Which workspace, by the name the server's configuration gives it; the default workspace when absent.
    #[serde(default)]
    workspace: Option<String>,
}

/// The tables of the workspace.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct TablesOut {
    tables: Vec<TableInfo>,
}

/// One table's columns.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct SchemaOut {
    table: String,
    columns: Vec<ColumnOut>,
}

pub(super) fn definitions() -> Vec<ToolDef> {
    // list_sentinel_tables' answers by the table list they were built from, kept by the tool.
    let answers = Arc::new(TableListAnswers::default());
    vec![
        define::<TablesArgs, TablesOut>(
            ToolClass::Read,
            DataKind::Logs,
            "list_sentinel_tables",
            "List workspace tables",
            "List the tables in the Sentinel / Log Analytics workspace with their row counts and the time range their TimeGenerated spans. Start here to see what data exists.",
            move |call, args| {
                let answers = answers.clone();
                Box::pin(async move { answers.answer(call.ctx, args).await })
            },
        ),
        define::<SchemaArgs, SchemaOut>(
            ToolClass::Read,
            DataKind::Logs,
            "get_table_schema",
            "Get table schema",
            "Get the columns and their KQL types (string, long, real, bool, datetime, timespan, guid, dynamic) of one table, so queries name columns correctly.",
            |call, args| fresh(table_schema(call.ctx, args)),
        ),
    ]
}

/// list_sentinel_tables answers by the table list each was built from. An answer is a function of
/// the list alone, and a backend hands out a new list whenever its tables change (a reload, a
/// write, a refetch), so a kept answer is exactly what the tool would build now.
#[derive(Default)]
struct TableListAnswers {
    answers: Mutex<Vec<(TableList, Arc<EncodedResult>)>>,
}

impl TableListAnswers {
    /// The answer for the backend's current table list, built on the first call that sees it.
    async fn answer(&self, ctx: &ToolContext, args: TablesArgs) -> Result<ToolAnswer, ToolError> {
        let tables = ctx
            .backend
            .list_tables_in(args.workspace.as_deref())
            .await?;
        if let Some(kept) = self.kept(&tables) {
            return Ok(ToolAnswer::Shared(kept));
        }
        let answer = Arc::new(EncodedResult::new(tables_result(&tables)?)?);
        self.keep(tables, answer.clone());
        Ok(ToolAnswer::Shared(answer))
    }

    fn kept(&self, tables: &TableList) -> Option<Arc<EncodedResult>> {
        let answers = self.answers.lock().ok()?;
        answers
            .iter()
            .find(|(t, _)| Arc::ptr_eq(t, tables))
            .map(|(_, a)| a.clone())
    }

    fn keep(&self, tables: TableList, answer: Arc<EncodedResult>) {
        if let Ok(mut answers) = self.answers.lock() {
            // A list only we still hold has been replaced in the backend: no call will see it again.
            answers.retain(|(t, _)| Arc::strong_count(t) > 1);
            if answers.len() >= KEPT_TABLE_LISTS {
                answers.remove(0);
            }
            answers.push((tables, answer));
        }
    }
}

fn tables_result(tables: &[TableInfo]) -> Result<CallToolResult, ToolError> {
    let mut text = format!("{} tables:\n", tables.len());
    for t in tables {
        let span = match (&t.first_time, &t.last_time) {
            (Some(a), Some(b)) => format!(", {a} to {b}"),
            _ => String::new(),
        };
        text.push_str(&format!("- {} ({} rows{span})\n", t.name, t.row_count));
    }
    success(
        text,
        TablesOut {
            tables: tables.to_vec(),
        },
    )
}

async fn table_schema(ctx: &ToolContext, args: SchemaArgs) -> Result<CallToolResult, ToolError> {
    let columns = ctx
        .backend
        .table_schema_in(args.table.trim(), args.workspace.as_deref())
        .await?;
    let columns: Vec<ColumnOut> = columns
        .into_iter()
        .map(|c| ColumnOut {
            name: c.name,
            ty: c.ty.name().to_string(),
        })
        .collect();
    let mut text = format!("{} has {} columns:\n", args.table, columns.len());
    for c in &columns {
        text.push_str(&format!("- {}: {}\n", c.name, c.ty));
    }
    success(
        text,
        SchemaOut {
            table: args.table,
            columns,
        },
    )
}
