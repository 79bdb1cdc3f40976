//! The MCP service: one `SentinelServer` per session, all sharing one `AppState`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    Implementation, InitializeRequestParams, InitializeResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, RequestId, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::auth::{AccessPolicy, RequestMeta};
use crate::azure::access::{self, DataAccess};
use crate::azure::obo::OboError;
use crate::config::{AuditArguments, Transport};
use crate::failure::{CallFailure, catch_panic};
use crate::http::auth::APP_CALLER_DENIED;
use crate::limits::Limits;
use crate::metrics::metrics;
use crate::progress::{self, Progress};
use crate::results;
use crate::shutdown::Shutdown;
use crate::telemetry::trace::{RequestAttributes, RequestSpan, TraceParent};
use crate::telemetry::{InRequest, in_request};
use crate::tools::{ToolAnswer, ToolCatalog, ToolContext};

/// The error of a call the client cancelled (the code LSP uses for it; MCP names none).
const CANCELLED: ErrorCode = ErrorCode(-32800);

/// The server's name on the wire and in /health.
pub const SERVER_NAME: &str = "sentinel-mcp-server";
/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const INSTRUCTIONS: &str = "Security operations tools for a Microsoft Sentinel / Log Analytics workspace and Defender XDR. \
Start with list_sentinel_tables and get_table_schema, then query with run_kql_query (KQL; table and column names are case-sensitive). \
Triage with list_incidents, get_incident (alerts and entities), list_alerts and get_alert; investigate endpoints with run_hunting_query. \
Results are capped; prefer summarize and where over large raw pulls.";

/// State shared by every session and transport.
pub struct AppState {
    pub tools: ToolCatalog,
    pub context: ToolContext,
    pub policy: AccessPolicy,
    pub audit_arguments: AuditArguments,
    pub transport: Transport,
    pub started: Instant,
    /// The drain on SIGTERM/SIGINT: tool calls run as its in-flight work.
    pub shutdown: Arc<Shutdown>,
    /// Per-principal rate limit and the cap on concurrent calls.
    pub limits: Limits,
    /// Internal failures' detail goes to clients too (`DEBUG=true`), not only to the log.
    pub debug_errors: bool,
    /// `SENTINEL_MCP_TRACE_ARGUMENTS`: tool arguments on the call's span, as the audit keeps them.
    pub trace_arguments: bool,
}

impl AppState {
    /// The tools to list to a caller: only those it may call. `None` (stdio) sees every tool.
    pub fn tools_for(&self, meta: Option<&RequestMeta>) -> Vec<Tool> {
        match meta {
            Some(meta) => self
                .tools
                .list()
                .into_iter()
                .filter(|t| {
                    self.tools
                        .class(&t.name)
                        .is_some_and(|c| self.policy.allows(&meta.principal, c))
                })
                .collect(),
            None => self.tools.list(),
        }
    }

    /// Runs one tool call for a caller (`None` on stdio), checking its permission, in one of the
    /// call slots, and writes the audit event. `id` is the JSON-RPC id: it names the call in the
    /// log and, without an HTTP request id, in an internal error.
    /// `call_meta` is the request's `_meta`: its `traceparent`, when present, is the call's
    /// parent (else the HTTP request's header is).
    /// `progress`, when the client asked for it, hears how the call goes while it runs.
    /// The call's (large) future is boxed once here: every layer above it (the drain, the
    /// transport's task) then moves a pointer, not kilobytes of state.
    pub fn call_tool<'a>(
        &'a self,
        meta: Option<&'a RequestMeta>,
        id: &'a RequestId,
        request: CallToolRequestParams,
        call_meta: Option<&rmcp::model::JsonObject>,
        progress: Option<Progress>,
    ) -> InRequest<Pin<Box<impl Future<Output = Result<ToolAnswer, ErrorData>> + 'a>>> {
        let span = self.request_span(
            "tools/call",
            Some(request.name.as_ref()),
            meta,
            id,
            call_meta,
        );
        // The call's work logs inside it: its lines carry the request's and the span's ids.
        let context = span
            .log_context(
                request_id_of(meta, id).into_owned(),
                meta.and_then(|m| m.session_id.as_deref()),
                caller_of(meta),
            )
            .with_sampled(span.sampled);
        let entered = span.span.clone();
        let waiting_on = progress::waiting_on(
            self.tools.data_kind(&request.name),
            self.context.backend.kind(),
        );
        let call = self.call_tool_in_span(meta, id, request, span);
        in_request(
            Arc::new(context),
            entered,
            Box::pin(progress::report(call, progress, waiting_on)),
        )
    }

    /// The SERVER span of one MCP request (`method`, on `tool`). Its parent is the `traceparent`
    /// in the request's `_meta`, else the HTTP request's header, else none (a new trace).
    pub fn request_span(
        &self,
        method: &'static str,
        tool: Option<&str>,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        request_meta: Option<&rmcp::model::JsonObject>,
    ) -> RequestSpan {
        let parent = request_meta
            .and_then(TraceParent::from_meta)
            .or_else(|| meta.and_then(|m| m.trace_parent.clone()));
        RequestSpan::start(
            parent.as_ref(),
            &RequestAttributes {
                method,
                tool,
                session_id: meta.and_then(|m| m.session_id.as_deref()),
                protocol_version: meta.and_then(|m| m.protocol_version.as_deref()),
                jsonrpc_id: id,
                network_transport: if meta.is_some() { "tcp" } else { "pipe" },
                enduser: caller_of(meta),
                request_id: &request_id_of(meta, id),
            },
        )
    }

    async fn call_tool_in_span(
        &self,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        request: CallToolRequestParams,
        span: RequestSpan,
    ) -> Result<ToolAnswer, ErrorData> {
        let started = Instant::now();
        let name = request.name.as_ref();
        let actor = meta
            .map_or("local", |m| m.principal.display_name())
            .to_string();
        let audit_args = audit_arguments(request.arguments.as_ref(), self.audit_arguments);
        if let Some(query) = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("query"))
            .and_then(|q| q.as_str())
        {
            span.span.record("kql.query_length", query.chars().count());
        }
        if self.trace_arguments {
            span.span
                .record("gen_ai.tool.call.arguments", audit_args.to_string());
        }
        let permitted = match (meta, self.tools.class(name)) {
            (Some(m), Some(class)) => self.policy.allows(&m.principal, class),
            _ => true,
        };
        // What the log and an internal error name the call by.
        let request_id: Arc<str> = match meta {
            Some(m) if !m.request_id.is_empty() => m.request_id.as_str().into(),
            _ => id.to_string().into(),
        };
        // Stdio has no caller: the server's identity.
        let access = meta.map_or(Some(DataAccess::Server), |m| m.access.clone());
        let result = match (&access, permitted) {
            (_, false) => Ok(tool_error(format!(
                "You are not permitted to call '{name}': your token lacks the role or scope it needs."
            ))),
            (None, true) => Ok(tool_error(APP_CALLER_DENIED.to_string())),
            (Some(access), true) => match prepared_failure(access) {
                Some(e) => refused_access(e),
                None => {
                    access::scope(
                        access.clone(),
                        self.run_tool(
                            name,
                            request.arguments,
                            (&actor, &owner_of(meta)),
                            started,
                            &request_id,
                        ),
                    )
                    .await
                }
            },
        };
        let outcome = match &result {
            Ok(_) if !permitted || access.is_none() => "forbidden",
            Ok(r) if r.result().is_error == Some(true) => "tool_error",
            Ok(_) => "ok",
            Err(failure) => failure.outcome(),
        };
        let rows = result
            .as_ref()
            .ok()
            .and_then(|r| r.result().structured_content.as_ref())
            .and_then(|s| s.get("returned_rows").or_else(|| s.get("count")))
            .and_then(|v| v.as_u64());
        if let Some(rows) = rows {
            span.span.record("kql.row_count", rows);
        }
        span.finish((outcome != "ok").then_some(outcome));
        self.tools.series(name).record(
            outcome,
            started.elapsed(),
            rows.filter(|_| outcome == "ok"),
        );
        let principal = meta.map(|m| &m.principal);
        tracing::info!(
            target: "audit",
            tool = name,
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            rows,
            identity = access.as_ref().map_or("none", DataAccess::label),
            arguments = %audit_args,
            oid = principal.map(|p| p.object_id.as_str()),
            tid = principal.map(|p| p.tenant_id.as_str()),
            app_id = principal.map(|p| p.app_id.as_str()),
            upn = principal.and_then(|p| p.upn.as_deref()),
            roles = principal.map(|p| tracing::field::display(Spaced(&p.roles))),
            scopes = principal.map(|p| tracing::field::display(Spaced(&p.scopes))),
            request_id = meta.map(|m| m.request_id.as_str()),
            session_id = meta.and_then(|m| m.session_id.as_deref()),
            "tool call"
        );
        result.map_err(|failure| {
            // A panic was logged by the panic hook, where it happened.
            if let CallFailure::Internal(detail) = &failure {
                tracing::error!(
                    tool = name,
                    request_id = &*request_id,
                    session_id = meta.and_then(|m| m.session_id.as_deref()),
                    error = detail,
                    "tool call failed: internal error"
                );
            }
            failure.into_error(&request_id, self.debug_errors)
        })
    }

    /// A permitted call: waits for a call slot (the wait counts against the query timeout), then
    /// runs the tool with any panic caught.
    async fn run_tool(
        &self,
        name: &str,
        arguments: Option<rmcp::model::JsonObject>,
        (actor, owner): (&str, &str),
        started: Instant,
        request_id: &Arc<str>,
    ) -> Result<ToolAnswer, CallFailure> {
        let time_limit = self.context.settings.query_timeout;
        let _slot = self
            .limits
            .calls
            .acquire(time_limit)
            .await
            .map_err(CallFailure::Busy)?;
        // Inline, not a local: a local would be one more copy of the tool future in this one.
        catch_panic(
            request_id.clone(),
            self.tools.call(
                &self.context,
                name,
                arguments,
                actor,
                owner,
                started + time_limit,
            ),
        )
        .await?
    }
}

impl AppState {
    /// `resources/list`: the caller's kept results. `hints`: with the 2026-07-28 revision's
    /// caching hints (rmcp's path; legacy SSE answers without them).
    pub fn list_resources(
        &self,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        request_meta: Option<&rmcp::model::JsonObject>,
        hints: bool,
    ) -> ListResourcesResult {
        self.resource_request("resources/list", meta, id, request_meta, || {
            Ok(results::resource::list(
                &self.context.results,
                &owner_of(meta),
                hints,
            ))
        })
        .unwrap_or_default()
    }

    /// `resources/templates/list`: the template of a kept result's URI.
    pub fn list_resource_templates(
        &self,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        request_meta: Option<&rmcp::model::JsonObject>,
        hints: bool,
    ) -> ListResourceTemplatesResult {
        self.resource_request("resources/templates/list", meta, id, request_meta, || {
            Ok(results::resource::templates(hints))
        })
        .unwrap_or_default()
    }

    /// `resources/read`: a page of one of the caller's kept results (here, or shared by another
    /// replica).
    pub async fn read_resource(
        &self,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        uri: &str,
        request_meta: Option<&rmcp::model::JsonObject>,
        hints: bool,
    ) -> Result<ReadResourceResult, ErrorData> {
        let started = Instant::now();
        let span = self.request_span("resources/read", None, meta, id, request_meta);
        let owner = owner_of(meta);
        let read = results::resource::read(&self.context.results, &owner, uri, hints);
        let result = tracing::Instrument::instrument(read, span.span.clone()).await;
        let code = result.as_ref().err().map(|e| e.code.0.to_string());
        span.finish(code.as_deref());
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics().operation("resources/read", outcome, started.elapsed());
        result
    }

    /// Answers a resource request in its span, with its metric.
    fn resource_request<T>(
        &self,
        method: &'static str,
        meta: Option<&RequestMeta>,
        id: &RequestId,
        request_meta: Option<&rmcp::model::JsonObject>,
        answer: impl FnOnce() -> Result<T, ErrorData>,
    ) -> Result<T, ErrorData> {
        let started = Instant::now();
        let span = self.request_span(method, None, meta, id, request_meta);
        let result = span.span.in_scope(answer);
        let code = result.as_ref().err().map(|e| e.code.0.to_string());
        span.finish(code.as_deref());
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics().operation(method, outcome, started.elapsed());
        result
    }
}

/// The id a request is known by: its HTTP request id, or on stdio its JSON-RPC id.
/// Role or scope names as the token's `scp` claim writes them, space-separated, for the audit
/// line: plain text a log query can split, written without an allocation.
struct Spaced<'a>(&'a [String]);

impl std::fmt::Display for Spaced<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

fn request_id_of<'a>(meta: Option<&'a RequestMeta>, id: &RequestId) -> Cow<'a, str> {
    meta.map_or_else(
        || Cow::Owned(id.to_string()),
        |m| Cow::Borrowed(m.request_id.as_str()),
    )
}

/// Whose the results a request keeps or reads are: the principal's tenant and object id, or
/// on stdio (no request) the local user.
fn owner_of(meta: Option<&RequestMeta>) -> String {
    meta.map_or_else(
        || crate::results::LOCAL_OWNER.to_string(),
        |m| m.principal.owner_key(),
    )
}

/// The authenticated caller's object id (none when authentication is off).
fn caller_of(meta: Option<&RequestMeta>) -> Option<&str> {
    meta.map(|m| &m.principal)
        .filter(|p| !p.tenant_id.is_empty())
        .map(|p| p.object_id.as_str())
}

fn tool_error(message: String) -> ToolAnswer {
    ToolAnswer::Fresh(CallToolResult::error(vec![ContentBlock::text(message)]))
}

/// The failed exchange the request checks made for this call, if any.
fn prepared_failure(access: &DataAccess) -> Option<OboError> {
    match access {
        DataAccess::Caller(grant) => grant.prepared_failure(),
        DataAccess::Server => None,
    }
}

/// A failed exchange as the caller sees it: what the caller (or an administrator) must do about
/// consent is a tool error; a sign-in to repeat (a claims challenge, an expired sign-in) or the
/// server's own credential failing is a JSON-RPC error carrying the HTTP status and, for a
/// sign-in, the `WWW-Authenticate` challenge the client would have got on `/mcp`.
fn refused_access(e: OboError) -> Result<ToolAnswer, CallFailure> {
    let Some(status) = e.status() else {
        return Ok(tool_error(e.to_string()));
    };
    let mut data = serde_json::json!({"status": status});
    if let Some(challenge) = e.www_authenticate() {
        data["www_authenticate"] = challenge.into();
    }
    if let OboError::ClaimsChallenge { claims, .. } = &e {
        data["claims"] = claims.clone().into();
    }
    Err(CallFailure::AccessRefused(ErrorData::new(
        ErrorCode(-32001),
        e.to_string(),
        Some(data),
    )))
}

/// The per-session MCP handler; cloning is one `Arc` increment.
#[derive(Clone)]
pub struct SentinelServer {
    app: Arc<AppState>,
}

impl SentinelServer {
    /// A handler over the shared state.
    pub fn new(app: Arc<AppState>) -> SentinelServer {
        SentinelServer { app }
    }
}

impl SentinelServer {
    /// The span of a request rmcp hands over, from its HTTP request's meta and its `_meta`.
    fn span_of(
        &self,
        method: &'static str,
        context: &RequestContext<RoleServer>,
        meta: Option<&RequestMeta>,
    ) -> RequestSpan {
        self.app
            .request_span(method, None, meta, &context.id, Some(&context.meta.0.0))
    }
}

impl ServerHandler for SentinelServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        );
        info.server_info = Implementation::new(SERVER_NAME, VERSION);
        info.instructions = Some(INSTRUCTIONS.to_string());
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let started = Instant::now();
        let meta = request_meta(&context);
        let span = self.span_of("tools/list", &context, meta.as_ref());
        let _in_span = span.span.enter();
        let tools = self.app.tools_for(meta.as_ref());
        metrics().operation("tools/list", "ok", started.elapsed());
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let meta = request_meta(&context);
        let span = self.span_of("initialize", &context, meta.as_ref());
        let _in_span = span.span.enter();
        context.peer.set_peer_info(request.clone());
        let result = self.negotiate_initialize(&request);
        let code = result.as_ref().err().map(|e| e.code.0.to_string());
        span.finish(code.as_deref());
        result
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let meta = request_meta(&context);
        let call_meta = Some(&context.meta.0.0);
        let progress = Progress::requested(call_meta, || {
            let peer = context.peer.clone();
            Box::new(move |notification| {
                let peer = peer.clone();
                Box::pin(async move {
                    let _ = peer.notify_progress(notification).await;
                })
            })
        });
        let call = self.app.shutdown.run_call(self.app.call_tool(
            meta.as_ref(),
            &context.id,
            request,
            call_meta,
            progress,
        ));
        // rmcp does not drop a cancelled handler: stop here, so the call leaves its slot or
        // the queue at once (a client's notifications/cancelled, a closed session or stdin).
        tokio::select! {
            result = call => result.map(|answer| answer.into_result().into()),
            _ = context.ct.cancelled() => Err(ErrorData::new(CANCELLED, "the call was cancelled", None)),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let meta = request_meta(&context);
        Ok(self
            .app
            .list_resources(meta.as_ref(), &context.id, Some(&context.meta.0.0), true))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let meta = request_meta(&context);
        Ok(self.app.list_resource_templates(
            meta.as_ref(),
            &context.id,
            Some(&context.meta.0.0),
            true,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let meta = request_meta(&context);
        self.app
            .read_resource(
                meta.as_ref(),
                &context.id,
                &request.uri,
                Some(&context.meta.0.0),
                true,
            )
            .await
            .map(Into::into)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.app.tools.get(name).cloned()
    }
}

/// What the HTTP layer attached to this request: directly (legacy SSE) or inside the HTTP request
/// parts rmcp passes along (Streamable HTTP). `None` on stdio.
fn request_meta(context: &RequestContext<RoleServer>) -> Option<RequestMeta> {
    context
        .extensions
        .get::<RequestMeta>()
        .or_else(|| {
            context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|p| p.extensions.get::<RequestMeta>())
        })
        .cloned()
}

/// Tool arguments as the audit log records them.
fn audit_arguments(
    args: Option<&rmcp::model::JsonObject>,
    mode: AuditArguments,
) -> serde_json::Value {
    let Some(args) = args else {
        return serde_json::Value::Null;
    };
    match mode {
        AuditArguments::Full => serde_json::Value::Object(args.clone()),
        AuditArguments::Redacted => serde_json::Value::Object(
            args.iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s)
                            if matches!(k.as_str(), "query" | "message") =>
                        {
                            format!("<redacted: {} chars>", s.chars().count()).into()
                        }
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
    }
}
