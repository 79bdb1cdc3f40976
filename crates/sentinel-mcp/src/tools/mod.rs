//! The tools analysts' agents call. Each tool is defined once, in its family's module (`query`,
//! `schema`, `incidents`, `alerts`): its name, description, argument and result types (the MCP
//! schemas come from them), the permission class and data it needs, and its handler. The
//! catalog holds those definitions and dispatches a call by looking its name up once.

mod alerts;
mod chart;
pub mod format;
mod incidents;
mod investigate;
mod link;
mod portable;
mod query;
mod schema;

#[cfg(test)]
mod guard_tests;

use crate::metrics::{ToolSeries, UNKNOWN_TOOL};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
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
    /// How big a `render` chart may be; `None` draws none.
    pub charts: Option<sentinel_charts::Limits>,
}

/// Everything a tool call needs, shared by every session.
pub struct ToolContext {
    pub backend: Arc<dyn Backend>,
    pub settings: ToolSettings,
    /// Where relative time windows (`P7D`, `since`) end.
    pub clock: Clock,
    /// Full results of truncated queries, read back as resources.
    pub results: crate::results::ResultStore,
}

/// A tool call under way.
type Running<'a> = Pin<Box<dyn Future<Output = Result<ToolAnswer, ToolError>> + Send + 'a>>;

/// A tool's handler: decodes the call's arguments (the -32602 error naming the field when they
/// are wrong) and starts the call.
type Handler =
    Box<dyn for<'a> Fn(&'a Call<'a>, JsonObject) -> Result<Running<'a>, ErrorData> + Send + Sync>;

/// One tool, defined in one place (see [`define`]).
struct ToolDef {
    class: ToolClass,
    /// The data it reaches, so which Azure service a caller's token is exchanged for.
    data: DataKind,
    tool: Tool,
    /// Its metric series, resolved once.
    series: ToolSeries,
    /// Decodes arguments without running the tool.
    check: fn(&str, JsonObject) -> Result<(), ErrorData>,
    handler: Handler,
}

/// The tools this server offers, built once at start-up and shared by every session.
pub struct ToolCatalog {
    defs: Vec<ToolDef>,
    /// The write tools, when they are off: a call to one is told how to turn them on.
    disabled: Vec<Tool>,
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
    /// Shared by every answer that sends it, without a copy.
    json: Bytes,
}

impl EncodedResult {
    fn new(result: CallToolResult) -> Result<EncodedResult, ToolError> {
        let json = serde_json::to_vec(&result)
            .map_err(|e| ToolError::Internal(format!("the result could not be encoded: {e}")))?;
        Ok(EncodedResult {
            result,
            json: Bytes::from(json),
        })
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

    /// The result's JSON, as `serde_json` encodes a `CallToolResult`: a shared answer's encoding
    /// without a copy, a fresh one's appended to `out`. `resultType` is kept for a peer of the
    /// 2026-07-28 revision and left out for an older one, as rmcp's handler does
    /// (`ServerResult::strip_result_type_for_legacy_peer`).
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        result_type: bool,
    ) -> serde_json::Result<Option<Bytes>> {
        /// How a result built with rmcp's constructors begins: `resultType` is its first field.
        const COMPLETE: &[u8] = b"{\"resultType\":\"complete\",";
        match self {
            ToolAnswer::Fresh(r) => {
                let start = out.len();
                serde_json::to_writer(&mut *out, r)?;
                if !result_type && out[start..].starts_with(COMPLETE) {
                    out.drain(start + 1..start + COMPLETE.len());
                }
                Ok(None)
            }
            ToolAnswer::Shared(e) if !result_type && e.json.starts_with(COMPLETE) => {
                out.push(b'{');
                Ok(Some(e.json.slice(COMPLETE.len()..)))
            }
            ToolAnswer::Shared(e) => Ok(Some(e.json.clone())),
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
        defs.extend(investigate::definitions());
        let (defs, disabled): (Vec<ToolDef>, Vec<ToolDef>) = defs
            .into_iter()
            .partition(|d| write_enabled || d.class != ToolClass::Write);
        ToolCatalog {
            defs,
            disabled: disabled.into_iter().map(|d| d.tool).collect(),
        }
    }

    /// The tools to list, in a stable order.
    pub fn list(&self) -> Vec<Tool> {
        self.defs.iter().map(|d| d.tool.clone()).collect()
    }

    fn def(&self, name: &str) -> Option<&ToolDef> {
        self.defs.iter().find(|d| d.tool.name == name)
    }

    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.def(name).map(|d| &d.tool)
    }

    /// A tool's metric series; one shared `unknown` series for any name the catalogue does not
    /// hold, so no caller can add label values.
    pub fn series(&self, name: &str) -> &ToolSeries {
        self.def(name).map_or(&UNKNOWN_TOOL, |d| &d.series)
    }

    /// The permission class of a tool.
    pub fn class(&self, name: &str) -> Option<ToolClass> {
        self.def(name).map(|d| d.class)
    }

    /// Which data a tool reaches (so which Azure service the request checks exchange for).
    pub fn data_kind(&self, name: &str) -> Option<DataKind> {
        self.def(name).map(|d| d.data)
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
        owner: &str,
        deadline: Instant,
    ) -> Result<ToolAnswer, CallFailure> {
        let Some(def) = self.def(name) else {
            return Ok(ToolAnswer::Fresh(error_result(self.unknown_tool(name))));
        };
        let call = Call {
            ctx,
            actor,
            owner,
            deadline,
        };
        let running =
            (def.handler)(&call, args.unwrap_or_default()).map_err(CallFailure::Invalid)?;
        match running.await {
            Ok(answer) => Ok(answer),
            Err(e) => e.into_answer().map(ToolAnswer::Fresh),
        }
    }

    /// Why a tool name is not one this server offers.
    fn unknown_tool(&self, name: &str) -> String {
        if self.disabled.iter().any(|t| t.name == name) {
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
    /// Whose the results it keeps are (tenant and object id; `results::LOCAL_OWNER` on stdio).
    owner: &'a str,
    /// When its queries must have finished (the query timeout, less the wait for a slot).
    deadline: Instant,
}

/// Decodes `arguments` as tool `name` would, without running it: `Ok` when they are valid, the
/// -32602 error a call would get otherwise (unknown tools have no arguments to check). For
/// fuzzing what a request goes through before a tool runs.
pub fn check_arguments(name: &str, arguments: JsonObject) -> Result<(), ErrorData> {
    static EVERY_TOOL: LazyLock<ToolCatalog> = LazyLock::new(|| ToolCatalog::new(true));
    EVERY_TOOL
        .def(name)
        .map_or(Ok(()), |d| (d.check)(name, arguments))
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

/// A list tool's answer: the `items` within the caps, one `line` each, the note when some were
/// left out, and then a link to the whole list (a `kind`); `out` makes the structured result
/// from the items shown and the note.
async fn list_answer<T: Serialize, O: Serialize>(
    call: &Call<'_>,
    items: Vec<T>,
    (noun, line): (&str, fn(&T) -> String),
    kind: &'static crate::results::ResultKind,
    out: impl FnOnce(Vec<T>, Option<String>) -> O,
    full_result: fn(&mut O) -> &mut Option<String>,
) -> Result<CallToolResult, ToolError> {
    let capped = format::capped_list(items, call.ctx.caps(None)?);
    let text = list_text(&capped.shown, noun, line, capped.note.as_deref());
    let whole = capped.whole.map(|table| link::Whole {
        kind,
        table,
        warnings: Vec::new(),
        shown: capped.shown.len(),
        rest_at: capped.shown.len(),
    });
    let out = out(capped.shown, capped.note);
    link::answer(call, whole, text, out, full_result).await
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

/// A tool's whole definition: its permission class, the data it reaches, its MCP definition
/// (the argument type `A` and result type `O` give the schemas) and its handler, which gets
/// the decoded arguments.
fn define<A, O>(
    class: ToolClass,
    data: DataKind,
    name: &'static str,
    title: &str,
    description: &'static str,
    run: impl for<'a> Fn(&'a Call<'a>, A) -> Running<'a> + Send + Sync + 'static,
) -> ToolDef
where
    A: schemars::JsonSchema + DeserializeOwned + 'static,
    O: schemars::JsonSchema,
{
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
        data,
        tool,
        series: ToolSeries::new(name),
        check: |name, args| parse_args::<A>(name, args).map(drop),
        handler: handler(move |call, args| Ok(run(call, parse_args::<A>(name, args)?))),
    }
}

/// Boxes a handler (naming its type so the closure is checked for every lifetime of a call).
fn handler(
    f: impl for<'a> Fn(&'a Call<'a>, JsonObject) -> Result<Running<'a>, ErrorData>
    + Send
    + Sync
    + 'static,
) -> Handler {
    Box::new(f)
}

/// A call whose result is built for it alone.
fn fresh<'a>(
    result: impl Future<Output = Result<CallToolResult, ToolError>> + Send + 'a,
) -> Running<'a> {
    Box::pin(async move { result.await.map(ToolAnswer::Fresh) })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tool_is_defined_once_with_its_class_and_data() {
        let all = ToolCatalog::new(true);
        let expected = [
            ("run_kql_query", ToolClass::Read, DataKind::Logs),
            ("run_hunting_query", ToolClass::Hunt, DataKind::Hunting),
            ("list_sentinel_tables", ToolClass::Read, DataKind::Logs),
            ("get_table_schema", ToolClass::Read, DataKind::Logs),
            ("list_incidents", ToolClass::Read, DataKind::Incidents),
            ("get_incident", ToolClass::Read, DataKind::Incidents),
            (
                "update_incident",
                ToolClass::Write,
                DataKind::IncidentChanges,
            ),
            (
                "add_incident_comment",
                ToolClass::Write,
                DataKind::IncidentChanges,
            ),
            ("list_alerts", ToolClass::Read, DataKind::Alerts),
            ("get_alert", ToolClass::Read, DataKind::Alerts),
            ("investigate_entity", ToolClass::Read, DataKind::Logs),
        ];
        let listed: Vec<String> = all.list().iter().map(|t| t.name.to_string()).collect();
        assert_eq!(listed, expected.map(|(name, _, _)| name));
        for (name, class, data) in expected {
            assert_eq!(all.class(name), Some(class), "{name}");
            assert_eq!(all.data_kind(name), Some(data), "{name}");
        }
        assert_eq!(all.class("nope"), None);
    }

    #[test]
    fn write_tools_when_off_are_refused_with_the_setting_that_turns_them_on() {
        let read_only = ToolCatalog::new(false);
        for name in ["update_incident", "add_incident_comment"] {
            assert!(read_only.get(name).is_none() && read_only.data_kind(name).is_none());
            assert!(
                read_only
                    .unknown_tool(name)
                    .contains("SENTINEL_MCP_ENABLE_WRITE_TOOLS=true")
            );
        }
        assert!(
            read_only
                .unknown_tool("nope")
                .starts_with("Unknown tool 'nope'")
        );
    }

    #[test]
    fn arguments_are_checked_by_the_tool_they_are_for() {
        let args = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        assert!(check_arguments("run_kql_query", args(serde_json::json!({"query": "T"}))).is_ok());
        let e = check_arguments("run_kql_query", args(serde_json::json!({"query": 1})))
            .expect_err("a number is not a query");
        assert!(e.message.contains("field 'query'"), "{}", e.message);
        // Write tools are checked whether or not this server offers them; unknown names have
        // no arguments to check.
        assert!(check_arguments("update_incident", args(serde_json::json!({}))).is_err());
        assert!(check_arguments("nope", args(serde_json::json!({"x": 1}))).is_ok());
    }
}
