//! The tools analysts' agents call: one module per family, one catalog, one dispatch.

mod alerts;
pub mod format;
mod incidents;
mod portable;
mod query;
mod schema;

#[cfg(test)]
mod guard_tests;

use crate::metrics::{ToolSeries, UNKNOWN_TOOL};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Backend, BackendError, TimeRange};
use crate::clock::Clock;
use crate::failure::CallFailure;
use crate::model::{DataKind, ToolClass};
use format::ResultCaps;
use portable::Side;

/// Limits and defaults the tools apply.
#[derive(Debug, Clone)]
pub struct ToolSettings {
    pub max_rows: usize,
    pub max_rows_limit: usize,
    pub max_result_bytes: usize,
    pub query_timeout: Duration,
    pub default_timespan: String,
    pub write_tools: bool,
    /// Read-only rules and limits every query passes before any backend sees it.
    pub guard: kql::QueryGuard,
}

/// Everything a tool call needs, shared by every session.
pub struct ToolContext {
    pub backend: Arc<dyn Backend>,
    pub settings: ToolSettings,
    /// Where relative time windows (`P7D`, `since`) end.
    pub clock: Clock,
}

/// One tool: its MCP definition and the class of permission it needs.
struct ToolDef {
    class: ToolClass,
    tool: Tool,
    /// Its metric series, resolved once.
    series: ToolSeries,
}

/// The tools this server offers, built once at start-up and shared by every session.
pub struct ToolCatalog {
    defs: Vec<ToolDef>,
    write_enabled: bool,
    /// list_sentinel_tables answers by the table list they were built from.
    table_lists: schema::TableListAnswers,
}

/// What a tool call answers: a result built for this call, or one shared with earlier calls
/// together with its JSON encoding.
pub enum ToolAnswer {
    Fresh(CallToolResult),
    Shared(Arc<EncodedResult>),
}

/// A tool result and its JSON encoding, built once and reused while its inputs are unchanged.
pub struct EncodedResult {
    result: CallToolResult,
    json: String,
}

impl EncodedResult {
    fn new(result: CallToolResult) -> Result<EncodedResult, ToolError> {
        let json = serde_json::to_string(&result)
            .map_err(|e| ToolError::Internal(format!("the result could not be encoded: {e}")))?;
        Ok(EncodedResult { result, json })
    }
}

impl ToolAnswer {
    /// The result, to read.
    pub fn result(&self) -> &CallToolResult {
        match self {
            ToolAnswer::Fresh(r) => r,
            ToolAnswer::Shared(e) => &e.result,
        }
    }

    /// The result, owned (a copy when shared).
    pub fn into_result(self) -> CallToolResult {
        match self {
            ToolAnswer::Fresh(r) => r,
            ToolAnswer::Shared(e) => e.result.clone(),
        }
    }

    /// Appends the result's JSON, as `serde_json` encodes a `CallToolResult`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            ToolAnswer::Fresh(r) => serde_json::to_writer(out, r),
            ToolAnswer::Shared(e) => {
                out.extend_from_slice(e.json.as_bytes());
                Ok(())
            }
        }
    }
}

impl ToolCatalog {
    /// All tools; write tools only when enabled.
    pub fn new(write_enabled: bool) -> ToolCatalog {
        let mut defs = Vec::new();
        defs.extend(query::definitions());
        defs.extend(schema::definitions());
        defs.extend(incidents::definitions());
        defs.extend(alerts::definitions());
        defs.retain(|d| write_enabled || d.class != ToolClass::Write);
        ToolCatalog {
            defs,
            write_enabled,
            table_lists: Default::default(),
        }
    }

    /// The tools to list, in a stable order.
    pub fn list(&self) -> Vec<Tool> {
        self.defs.iter().map(|d| d.tool.clone()).collect()
    }

    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.defs
            .iter()
            .find(|d| d.tool.name == name)
            .map(|d| &d.tool)
    }

    /// A tool's metric series; one shared `unknown` series for any name the catalogue does not
    /// hold, so no caller can add label values.
    pub fn series(&self, name: &str) -> &ToolSeries {
        self.defs
            .iter()
            .find(|d| d.tool.name == name)
            .map_or(&UNKNOWN_TOOL, |d| &d.series)
    }

    /// The permission class of a tool.
    pub fn class(&self, name: &str) -> Option<ToolClass> {
        self.defs
            .iter()
            .find(|d| d.tool.name == name)
            .map(|d| d.class)
    }

    /// Which data a tool reaches (so which Azure service the request checks exchange for).
    pub fn data_kind(&self, name: &str) -> Option<DataKind> {
        self.get(name)?;
        Some(match name {
            "run_hunting_query" => DataKind::Hunting,
            "list_incidents" | "get_incident" => DataKind::Incidents,
            "update_incident" | "add_incident_comment" => DataKind::IncidentChanges,
            "list_alerts" | "get_alert" => DataKind::Alerts,
            _ => DataKind::Logs,
        })
    }

    /// Runs a tool. Protocol-level problems (bad arguments) are `Err` (-32602), and so are
    /// a busy server and internal failures; everything the caller should read and act on (query
    /// errors, unknown ids) is an error result. Queries must finish by `deadline`.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Option<JsonObject>,
        actor: &str,
        deadline: Instant,
    ) -> Result<ToolAnswer, CallFailure> {
        let decoded = match self.get(name) {
            Some(_) => ToolArgs::decode(name, args.unwrap_or_default()),
            None => None,
        };
        let Some(args) = decoded else {
            return Ok(ToolAnswer::Fresh(error_result(self.unknown_tool(name))));
        };
        let call = Call {
            ctx,
            actor,
            deadline,
        };
        match args.map_err(CallFailure::Invalid)?.run(self, &call).await {
            Ok(answer) => Ok(answer),
            Err(e) => e.into_answer().map(ToolAnswer::Fresh),
        }
    }

    /// Why a tool name is not one this server offers.
    fn unknown_tool(&self, name: &str) -> String {
        if !self.write_enabled && incidents::WRITE_TOOLS.contains(&name) {
            format!(
                "The tool '{name}' is disabled on this server; an administrator can enable write tools with SENTINEL_MCP_ENABLE_WRITE_TOOLS=true."
            )
        } else {
            format!(
                "Unknown tool '{name}'. Available tools: {}.",
                self.defs
                    .iter()
                    .map(|d| d.tool.name.as_ref())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// What one call of a tool needs besides its arguments.
struct Call<'a> {
    ctx: &'a ToolContext,
    /// Who is calling, for the incident journal and comments.
    actor: &'a str,
    /// When its queries must have finished (the query timeout, less the wait for a slot).
    deadline: Instant,
}

/// A tool's arguments, decoded into that tool's own type.
enum ToolArgs {
    Tables(schema::TablesArgs),
    Schema(schema::SchemaArgs),
    Query(query::QueryArgs),
    Hunting(query::HuntingArgs),
    ListIncidents(incidents::ListArgs),
    GetIncident(incidents::GetArgs),
    UpdateIncident(incidents::UpdateArgs),
    Comment(incidents::CommentArgs),
    ListAlerts(alerts::ListArgs),
    GetAlert(alerts::GetArgs),
}

impl ToolArgs {
    /// The arguments of tool `name`, or the -32602 error naming the field that is wrong; `None`
    /// when no tool has that name.
    fn decode(name: &str, args: JsonObject) -> Option<Result<ToolArgs, ErrorData>> {
        Some(match name {
            "list_sentinel_tables" => parse_args(name, args).map(ToolArgs::Tables),
            "get_table_schema" => parse_args(name, args).map(ToolArgs::Schema),
            "run_kql_query" => parse_args(name, args).map(ToolArgs::Query),
            "run_hunting_query" => parse_args(name, args).map(ToolArgs::Hunting),
            "list_incidents" => parse_args(name, args).map(ToolArgs::ListIncidents),
            "get_incident" => parse_args(name, args).map(ToolArgs::GetIncident),
            "update_incident" => parse_args(name, args).map(ToolArgs::UpdateIncident),
            "add_incident_comment" => parse_args(name, args).map(ToolArgs::Comment),
            "list_alerts" => parse_args(name, args).map(ToolArgs::ListAlerts),
            "get_alert" => parse_args(name, args).map(ToolArgs::GetAlert),
            _ => return None,
        })
    }

    async fn run(self, catalog: &ToolCatalog, call: &Call<'_>) -> Result<ToolAnswer, ToolError> {
        let (ctx, actor) = (call.ctx, call.actor);
        let result = match self {
            ToolArgs::Tables(args) => return catalog.table_lists.answer(ctx, args).await,
            ToolArgs::Schema(args) => schema::table_schema(ctx, args).await,
            ToolArgs::Query(args) => query::run_kql_query(call, args).await,
            ToolArgs::Hunting(args) => query::run_hunting_query(call, args).await,
            ToolArgs::ListIncidents(args) => incidents::list(ctx, args).await,
            ToolArgs::GetIncident(args) => incidents::get(ctx, args).await,
            ToolArgs::UpdateIncident(args) => incidents::update(ctx, args, actor).await,
            ToolArgs::Comment(args) => incidents::comment(ctx, args, actor).await,
            ToolArgs::ListAlerts(args) => alerts::list(ctx, args).await,
            ToolArgs::GetAlert(args) => alerts::get(ctx, args).await,
        };
        result.map(ToolAnswer::Fresh)
    }
}

/// Decodes `arguments` as tool `name` would, without running it: `Ok` when they are valid, the
/// -32602 error a call would get otherwise (unknown tools have no arguments to check). For
/// fuzzing what a request goes through before a tool runs.
pub fn check_arguments(name: &str, arguments: JsonObject) -> Result<(), ErrorData> {
    ToolArgs::decode(name, arguments).map_or(Ok(()), |r| r.map(drop))
}

/// Why a tool could not answer: shown to the caller as an error result, except for internal
/// failures and a busy server (see [`ToolError::into_answer`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Guard(#[from] kql::GuardError),
    /// A failure of the server, not of the request; its detail is for the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ToolError {
    /// The caller's answer: an error result with the detail when the caller can act on it (its
    /// query, arguments, ids; a timeout; throttling), a failure otherwise.
    fn into_answer(self) -> Result<CallToolResult, CallFailure> {
        match self {
            ToolError::Internal(detail) | ToolError::Backend(BackendError::Internal(detail)) => {
                Err(CallFailure::Internal(detail))
            }
            ToolError::Backend(BackendError::Busy(busy)) => Err(CallFailure::Busy(busy)),
            other => Ok(error_result(other.to_string())),
        }
    }
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// A successful result: readable text plus the same data as `structuredContent`.
fn success(text: String, structured: impl Serialize) -> Result<CallToolResult, ToolError> {
    let value = serde_json::to_value(structured)
        .map_err(|e| ToolError::Internal(format!("the result could not be encoded: {e}")))?;
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    Ok(result)
}

/// Most items a list tool returns when the caller gives no `top`, and the most it may ask for.
const DEFAULT_TOP: usize = 50;
const MAX_TOP: usize = 1000;

/// The `top` argument of a list tool.
fn list_top(top: Option<usize>) -> Result<usize, ToolError> {
    match top {
        Some(0) => Err(ToolError::Input("top must be at least 1".into())),
        Some(n) if n > MAX_TOP => Err(ToolError::Input(format!("top must be at most {MAX_TOP}"))),
        Some(n) => Ok(n),
        None => Ok(DEFAULT_TOP),
    }
}

/// The text of a list result: a count, one line per item, and the capping note if any.
fn list_text<T>(
    items: &[T],
    noun: &str,
    line: impl Fn(&T) -> String,
    note: Option<&str>,
) -> String {
    let mut text = format!(
        "{} {noun}{}:\n",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    for item in items {
        text.push_str(&line(item));
        text.push('\n');
    }
    if let Some(n) = note {
        text.push_str(&format!("\nNote: {n}\n"));
    }
    text
}

/// Decodes tool arguments; errors name the field (`-32602`).
fn parse_args<T: DeserializeOwned>(tool: &str, args: JsonObject) -> Result<T, ErrorData> {
    let value = serde_json::Value::Object(args);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = if path == "." {
            format!("invalid arguments for {tool}: {inner}")
        } else {
            format!("invalid arguments for {tool}: field '{path}': {inner}")
        };
        ErrorData::invalid_params(msg, None)
    })
}

/// A tool's definition from its argument and output types.
fn define<A: schemars::JsonSchema, O: schemars::JsonSchema>(
    class: ToolClass,
    name: &'static str,
    title: &str,
    description: &'static str,
) -> ToolDef {
    let tool = Tool::new(name, description, Arc::new(schema_object::<A>(Side::Input)))
        .with_title(title)
        .with_raw_output_schema(Arc::new(schema_object::<O>(Side::Output)))
        .with_annotations(
            ToolAnnotations::with_title(title)
                .read_only(class != ToolClass::Write)
                .destructive(false),
        );
    ToolDef {
        class,
        tool,
        series: ToolSeries::new(name),
    }
}

/// A type's schema in the portable subset (`portable`): definitions inlined, no `$defs`.
fn schema_object<T: schemars::JsonSchema>(side: Side) -> JsonObject {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.meta_schema = None;
        s.inline_subschemas = true;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let Ok(mut value) = serde_json::to_value(schema) else {
        return JsonObject::new();
    };
    portable::make_portable(&mut value, side);
    match value {
        serde_json::Value::Object(mut o) => {
            o.remove("title");
            o.entry("type").or_insert_with(|| "object".into());
            o.entry("properties")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            o
        }
        _ => JsonObject::new(),
    }
}

impl ToolContext {
    fn caps(&self, max_rows: Option<usize>) -> Result<ResultCaps, ToolError> {
        let limit = self.settings.max_rows_limit;
        let max_rows = match max_rows {
            None => self.settings.max_rows.min(limit),
            Some(0) => return Err(ToolError::Input("max_rows must be at least 1".into())),
            Some(n) if n > limit => {
                return Err(ToolError::Input(format!(
                    "max_rows must be at most {limit} (the server's SENTINEL_MCP_MAX_ROWS_LIMIT)"
                )));
            }
            Some(n) => n,
        };
        Ok(ResultCaps {
            max_rows,
            max_bytes: self.settings.max_result_bytes,
        })
    }

    fn time_range(&self, timespan: Option<&str>) -> Result<TimeRange, ToolError> {
        let text = timespan.unwrap_or(&self.settings.default_timespan);
        TimeRange::parse(text, self.clock.now_ticks()).map_err(|e| ToolError::Input(e.to_string()))
    }

    /// The guard's verdict on a query over `range`; a refusal is the caller's to act on.
    fn guard(&self, query: &str, range: TimeRange) -> Result<kql::GuardedQuery, ToolError> {
        let guarded = self.settings.guard.check(
            query,
            Some((range.start, range.end)),
            self.clock.now_ticks(),
        )?;
        Ok(guarded)
    }

    fn since(&self, since: Option<&str>) -> Result<Option<i64>, ToolError> {
        since
            .map(|s| self.time_range(Some(s)).map(|r| r.start))
            .transpose()
    }
}
