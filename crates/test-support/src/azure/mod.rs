//! A fake of Azure as sentinel-mcp's Azure backend sees it, on one 127.0.0.1 port: the Entra
//! token endpoint (client secret and federated assertion), the Container Apps identity endpoint,
//! IMDS, Log Analytics (running queries with the local KQL engine over the demo workspace),
//! Microsoft Graph security and Sentinel's ARM incidents. Every request is recorded with the
//! principal its token names, tokens are issued per resource and checked by each service (its
//! own, and RS256 tokens the fake Entra signed, as a caller's on-behalf-of token is), per-user
//! access rules decide what each principal may read, and faults can be injected.

mod arm;
mod graph;
mod identity;
mod log_analytics;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The client secret the fake Entra accepts.
pub const CLIENT_SECRET: &str = "fake-client-secret-value";
/// The `X-IDENTITY-HEADER` value the fake Container Apps endpoint accepts.
pub const IDENTITY_HEADER: &str = "fake-identity-header";
pub use arm::{API_VERSION as ARM_API_VERSION, WORKSPACE_RESOURCE_ID};

/// The workspace id the fake Log Analytics serves.
pub const WORKSPACE_ID: &str = "8b1d9e4c-6a2f-4c0e-9f3a-1d2e3f4a5b6c";
/// A second workspace the fake serves (same tables), for named-workspace tests.
pub const SECOND_WORKSPACE_ID: &str = "0f0e0d0c-0b0a-4090-8070-605040302010";

/// Audiences (token resources) of the services.
pub const LOG_ANALYTICS: &str = "https://api.loganalytics.io";
pub const GRAPH: &str = "https://graph.microsoft.com";
pub const ARM: &str = "https://management.azure.com";

/// Object id the fake's own (opaque) tokens stand for: the server's identity.
pub const SERVER_IDENTITY_OID: &str = "fake-azure-server-identity";

/// Who a request's bearer token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `oid` of the token ([`SERVER_IDENTITY_OID`] for the fake's own tokens).
    pub oid: String,
    /// `upn` (or `preferred_username`) of a user token.
    pub upn: Option<String>,
    /// An application's own token (no user): `idtyp` is `app`, or there is no `scp`.
    pub app_only: bool,
}

impl Principal {
    /// A user, as a delegated (on-behalf-of) token names one.
    pub fn is_user(&self, oid: &str) -> bool {
        !self.app_only && self.oid == oid
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Who the bearer token names, when it is one the fake accepts at all.
    pub principal: Option<Principal>,
    pub method: String,
    pub path: String,
    /// The query string, percent-decoded into pairs.
    pub query: Vec<(String, String)>,
    /// Header names lower-case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    /// A query-string parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The body as form fields.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_pairs(&self.body)
    }
}

/// A fault the next matching request meets instead of (or before) its answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After: secs`.
    Throttle { retry_after_secs: u64 },
    /// 500 with an error body.
    ServerError,
    /// The answer, after a delay.
    Slow(Duration),
    /// The answer, once the gate opens: a response exactly as slow as the test needs.
    Hold(Gate),
    /// Log Analytics: 200 with the rows and a `PartialError`.
    PartialError,
    /// 401 as if the token had expired.
    Unauthorized,
    /// ARM: the next PUT answers 412 as if someone else changed the incident.
    EtagConflict,
    /// 200 with a JSON body of another shape than the service's (a proxy's answer, say).
    Malformed,
}

/// Holds the requests that meet [`Fault::Hold`] until [`Gate::open`].
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets every held request (and any later one) through.
    pub fn open(&self) {
        self.0.close();
    }

    async fn pass(&self) {
        // Acquiring fails once the gate is open (the semaphore closed); until then it waits.
        let _ = self.0.acquire().await;
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) requests: Vec<Recorded>,
    /// Each request's path as it starts (`true`) and as it is answered or dropped (`false`),
    /// in order: how many overlapped, for any subset of paths.
    spans: Vec<(String, bool)>,
    /// (path part, body part, fault), in injection order.
    faults: Vec<(String, String, Fault)>,
    /// token → audience
    pub(crate) tokens: HashMap<String, String>,
    pub(crate) issued: usize,
    pub(crate) token_lifetime: i64,
    pub(crate) graph: Option<graph::GraphData>,
    pub(crate) arm: Option<arm::ArmData>,
    /// (table, oid): the principal may not read the table (Log Analytics table-level RBAC,
    /// Defender's scoping for hunting).
    pub(crate) hidden_tables: Vec<(String, String)>,
    /// (incident id, oid): the principal may not see the Graph incident or its alerts.
    pub(crate) hidden_incidents: Vec<(String, String)>,
    /// Principals with no Sentinel role on the workspace (ARM answers 403).
    pub(crate) arm_denied: Vec<String>,
}

impl State {
    /// Whether `principal` may see Graph incident `id`.
    pub(crate) fn sees_incident(&self, principal: Option<&Principal>, id: &str) -> bool {
        let oid = principal.map_or("", |p| p.oid.as_str());
        !self
            .hidden_incidents
            .iter()
            .any(|(i, o)| i == id && o == oid)
    }
}

/// The shared state and the demo catalog the fake services read.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) catalog: kql::Catalog,
    pub(crate) base: String,
}

impl Shared {
    /// The tables `principal` may read: the demo catalog without the tables hidden from it.
    pub(crate) fn catalog_for(
        &self,
        principal: Option<&Principal>,
    ) -> std::borrow::Cow<'_, kql::Catalog> {
        let oid = principal.map_or("", |p| p.oid.as_str());
        let hidden: Vec<String> = self
            .lock()
            .hidden_tables
            .iter()
            .filter(|(_, o)| o == oid)
            .map(|(t, _)| t.clone())
            .collect();
        if hidden.is_empty() {
            return std::borrow::Cow::Borrowed(&self.catalog);
        }
        let mut visible = self.catalog.clone();
        for table in &hidden {
            visible.remove(table);
        }
        std::borrow::Cow::Owned(visible)
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Graph data, locked.
    pub(crate) fn graph(&self) -> GraphView<'_> {
        GraphView(self.lock())
    }
}

/// A locked view of the Graph data.
pub(crate) struct GraphView<'a>(std::sync::MutexGuard<'a, State>);

impl GraphView<'_> {
    /// Whether `principal` may see Graph incident `id`.
    pub(crate) fn sees(&self, principal: Option<&Principal>, id: &str) -> bool {
        self.0.sees_incident(principal, id)
    }
}

impl std::ops::Deref for GraphView<'_> {
    type Target = graph::GraphData;

    fn deref(&self) -> &graph::GraphData {
        self.0
            .graph
            .as_ref()
            .expect("graph data is seeded at start")
    }
}

/// The running fake; stops when dropped.
pub struct FakeAzure {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    /// `http://127.0.0.1:PORT`: every endpoint setting points here.
    pub base: String,
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAzure {
    /// Starts the fake over a demo workspace of about `demo_rows` rows.
    pub async fn start(demo_rows: usize) -> FakeAzure {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Azure");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let now = kql::value::datetime_to_ticks(chrono::Utc::now());
        let catalog = sentinel_demo::workspace(sentinel_demo::SEED, demo_rows, now);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                token_lifetime: 3600,
                graph: Some(graph::GraphData::seed()),
                arm: Some(arm::ArmData::seed()),
                ..State::default()
            }),
            catalog,
            base: base.clone(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeAzure { shared, task, base }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Requests whose path contains `part`.
    pub fn requests_to(&self, part: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains(part))
            .collect()
    }

    /// Requests whose path contains `part` being handled now (a `Slow` fault holds one open).
    pub fn in_flight(&self, part: &str) -> usize {
        self.concurrency(part).0
    }

    /// The most requests whose path contains `part` that were ever handled at once.
    pub fn peak_in_flight(&self, part: &str) -> usize {
        self.concurrency(part).1
    }

    fn concurrency(&self, part: &str) -> (usize, usize) {
        let state = self.shared.lock();
        let (mut now, mut peak) = (0usize, 0usize);
        for (_, start) in state.spans.iter().filter(|(p, _)| p.contains(part)) {
            if *start {
                now += 1;
                peak = peak.max(now);
            } else {
                now = now.saturating_sub(1);
            }
        }
        (now, peak)
    }

    /// The next request whose path contains `path_part` meets `fault` (once).
    pub fn inject(&self, path_part: &str, fault: Fault) {
        self.inject_where(path_part, "", fault);
    }

    /// The next request whose path contains `path_part` and whose body contains `body_part` meets
    /// `fault` (once): e.g. one query, whatever other queries (readiness probes) run meanwhile.
    pub fn inject_where(&self, path_part: &str, body_part: &str, fault: Fault) {
        self.shared
            .lock()
            .faults
            .push((path_part.to_string(), body_part.to_string(), fault));
    }

    /// Lifetime in seconds of the tokens issued from now on.
    pub fn set_token_lifetime(&self, secs: i64) {
        self.shared.lock().token_lifetime = secs;
    }

    /// How many tokens have been issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.lock().issued
    }

    /// Accepts `token` (issued elsewhere, e.g. by a fake `az`) for `audience`.
    pub fn register_token(&self, token: &str, audience: &str) {
        self.shared
            .lock()
            .tokens
            .insert(token.to_string(), audience.to_string());
    }

    /// The audience a token was issued for.
    pub fn audience_of(&self, token: &str) -> Option<String> {
        self.shared.lock().tokens.get(token).cloned()
    }

    /// `oid` may not read `table` (hidden from it, as table-level RBAC hides a table).
    pub fn hide_table(&self, table: &str, oid: &str) {
        self.shared
            .lock()
            .hidden_tables
            .push((table.to_string(), oid.to_string()));
    }

    /// `oid` may not see Graph incident `id` (nor its alerts).
    pub fn hide_incident(&self, id: &str, oid: &str) {
        self.shared
            .lock()
            .hidden_incidents
            .push((id.to_string(), oid.to_string()));
    }

    /// `oid` holds no Sentinel role on the workspace: ARM refuses it with 403.
    pub fn deny_arm(&self, oid: &str) {
        self.shared.lock().arm_denied.push(oid.to_string());
    }

    /// The authority host to configure (`SENTINEL_MCP_AUTHORITY_HOST`).
    pub fn authority_host(&self) -> String {
        self.base.clone()
    }

    /// The Container Apps identity endpoint (`IDENTITY_ENDPOINT`).
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.base)
    }

    /// Environment for a server whose Azure backend uses this fake with a client secret.
    pub fn server_env(&self) -> Vec<(String, String)> {
        vec![
            ("SENTINEL_MCP_BACKEND".into(), "azure".into()),
            ("SENTINEL_WORKSPACE_ID".into(), WORKSPACE_ID.into()),
            ("AZURE_TENANT_ID".into(), "contoso-tenant".into()),
            (
                "AZURE_CLIENT_ID".into(),
                "11111111-2222-3333-4444-555555555555".into(),
            ),
            ("AZURE_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("SENTINEL_MCP_AUTHORITY_HOST".into(), self.base.clone()),
            ("SENTINEL_MCP_IMDS_ENDPOINT".into(), self.base.clone()),
            ("SENTINEL_MCP_AZURE_CLI".into(), "false".into()),
            (
                "SENTINEL_MCP_LOG_ANALYTICS_ENDPOINT".into(),
                self.base.clone(),
            ),
            ("SENTINEL_MCP_GRAPH_ENDPOINT".into(), self.base.clone()),
            ("SENTINEL_MCP_ARM_ENDPOINT".into(), self.base.clone()),
        ]
    }
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = bearer(&headers).and_then(|t| identify(&shared, t));
    let recorded = Recorded {
        principal,
        method: method.to_string(),
        path: uri.path().to_string(),
        query: parse_pairs(uri.query().unwrap_or("")),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).to_string(),
    };
    let _span = Span::open(&shared, &recorded.path);
    let fault = {
        let mut state = shared.lock();
        state.requests.push(recorded.clone());
        let at = state.faults.iter().position(|(part, body, f)| {
            recorded.path.contains(part.as_str())
                && recorded.body.contains(body.as_str())
                && !matches!(f, Fault::EtagConflict if recorded.method != "PUT")
        });
        at.map(|i| state.faults.remove(i).2)
    };
    match &fault {
        Some(Fault::Throttle { retry_after_secs }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                axum::Json(json!({"error": {"code": "TooManyRequests", "message": "Rate limit exceeded; retry later."}})),
            )
                .into_response();
        }
        Some(Fault::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"error": {"code": "InternalServerError", "message": "Something went wrong."}})),
            )
                .into_response();
        }
        Some(Fault::Unauthorized) => {
            return unauthorized("The access token has expired.");
        }
        Some(Fault::Malformed) => {
            return axum::Json(json!({"message": "an answer of another shape"})).into_response();
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(*d).await,
        Some(Fault::Hold(gate)) => gate.pass().await,
        _ => {}
    }
    let partial = matches!(fault, Some(Fault::PartialError));
    let conflict = matches!(fault, Some(Fault::EtagConflict));
    let path = recorded.path.clone();
    if path.ends_with("/oauth2/v2.0/token") {
        identity::entra_token(&shared, &recorded)
    } else if path == "/msi/token" {
        identity::container_apps_token(&shared, &recorded)
    } else if path == "/metadata/identity/oauth2/token" {
        identity::imds_token(&shared, &recorded)
    } else if path.starts_with("/v1/workspaces/") {
        // The KQL engine can run for seconds (a `union *` over the demo workspace in a debug
        // build): off the runtime, or every other fake on a test's single-threaded runtime (the
        // OTLP receiver, Entra) stops answering meanwhile, and an export in flight times out.
        let (shared, recorded) = (shared.clone(), recorded.clone());
        tokio::task::spawn_blocking(move || log_analytics::handle(&shared, &recorded, partial))
            .await
            .unwrap_or_else(|e| {
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    &format!("the query panicked: {e}"),
                )
            })
    } else if path.starts_with("/v1.0/security/") {
        graph::handle(&shared, &recorded)
    } else if path.starts_with("/subscriptions/") {
        arm::handle(&shared, &recorded, conflict)
    } else {
        not_found(&path)
    }
}

/// A request being handled: its start is recorded now, its end when the answer is ready or the
/// client went away (the handler dropped).
struct Span<'a> {
    shared: &'a Shared,
    path: String,
}

impl<'a> Span<'a> {
    fn open(shared: &'a Shared, path: &str) -> Span<'a> {
        shared.lock().spans.push((path.to_string(), true));
        Span {
            shared,
            path: path.to_string(),
        }
    }
}

impl Drop for Span<'_> {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        self.shared.lock().spans.push((path, false));
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
}

/// The principal a token names: the fake's own tokens are the server's identity; an RS256 token
/// signed by the fake Entra names its `oid`.
fn identify(shared: &Shared, token: &str) -> Option<Principal> {
    if shared.lock().tokens.contains_key(token) {
        return Some(Principal {
            oid: SERVER_IDENTITY_OID.to_string(),
            upn: None,
            app_only: true,
        });
    }
    let claims = crate::entra::verify_issued(token).ok()?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Principal {
        oid: text("oid")?,
        upn: text("upn").or_else(|| text("preferred_username")),
        app_only: text("idtyp").as_deref() == Some("app") || text("scp").is_none(),
    })
}

/// The 401 to answer when the request's bearer token was not issued for `audience`: one of the
/// fake's own tokens for it, or an unexpired RS256 token from the fake Entra whose `aud` it is.
pub(crate) fn refuse(shared: &Shared, r: &Recorded, audience: &str) -> Option<Response> {
    let Some(token) = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return Some(unauthorized("No Authorization header."));
    };
    if let Some(a) = shared.lock().tokens.get(token) {
        return (a != audience)
            .then(|| unauthorized(&format!("The token's audience {a} is not {audience}.")));
    }
    match crate::entra::verify_issued(token) {
        Ok(claims) => {
            let aud = claims
                .get("aud")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (aud.trim_end_matches('/') != audience)
                .then(|| unauthorized(&format!("The token's audience {aud} is not {audience}.")))
        }
        Err(crate::entra::Unverified::Expired) => {
            Some(unauthorized("The access token has expired."))
        }
        Err(_) => Some(unauthorized("The token is not valid.")),
    }
}

pub(crate) fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Bearer error=\"invalid_token\"")],
        axum::Json(json!({"error": {"code": "InvalidAuthenticationToken", "message": message}})),
    )
        .into_response()
}

pub(crate) fn not_found(path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({"error": {"code": "NotFound", "message": format!("No route for {path}.")}}),
        ),
    )
        .into_response()
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// `a=1&b=x%20y` → pairs, `+` as space.
pub(crate) fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}
