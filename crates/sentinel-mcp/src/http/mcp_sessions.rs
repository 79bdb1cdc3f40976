//! Streamable HTTP sessions: rmcp's in-memory session manager, wrapped so that we see exactly
//! when each session begins and ends (DELETE, idle expiry, the server closing) and keep beside
//! it who owns it and its place in the owner's session quota. A request naming someone else's
//! `Mcp-Session-Id` is answered as if the session did not exist. Idleness is ours too: a session
//! ends after `SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS` without a request running or arriving,
//! whichever path answers its requests (rmcp's worker only sees the requests it answers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

use tokio_util::sync::CancellationToken;

use super::heap::ClosedSessions;
use super::quota::SessionSlot;
use super::{HttpState, json_error};
use crate::auth::RequestMeta;
use crate::metrics::{SessionEnd, Transport, metrics};
use crate::shutdown::Shutdown;

/// What we keep beside each session rmcp holds.
struct McpSession {
    /// Tenant and object id of the principal that opened it; `None` until its `initialize`
    /// response is out.
    owner: Option<Box<str>>,
    _slot: Option<SessionSlot>,
    opened: Instant,
    /// Its owner sent DELETE.
    deleted: bool,
    /// When its last request arrived or ended.
    last_active: Instant,
    /// Its requests whose responses are not written yet.
    running: u32,
    /// Its tool calls answered beside rmcp, so that `notifications/cancelled` and the session's
    /// end stop them.
    calls: HashMap<RequestId, CancellationToken>,
}

impl McpSession {
    fn new() -> McpSession {
        let now = Instant::now();
        McpSession {
            owner: None,
            _slot: None,
            opened: now,
            deleted: false,
            last_active: now,
            running: 0,
            calls: HashMap::new(),
        }
    }
}

/// A request of a session in progress: the session is not idle until it is dropped (its
/// response written or abandoned).
pub(super) struct SessionRequest {
    sessions: Arc<McpSessions>,
    id: SessionId,
}

impl Drop for SessionRequest {
    fn drop(&mut self) {
        if let Some(session) = self.sessions.lock().get_mut(&self.id) {
            session.running = session.running.saturating_sub(1);
            session.last_active = Instant::now();
        }
    }
}

/// A tool call of a session answered beside rmcp: cancelled by `notifications/cancelled` for its
/// id or by the session's end; forgotten when dropped.
pub(super) struct RunningCall {
    sessions: Arc<McpSessions>,
    session: SessionId,
    id: RequestId,
    pub(super) cancelled: CancellationToken,
}

impl Drop for RunningCall {
    fn drop(&mut self) {
        if let Some(session) = self.sessions.lock().get_mut(&self.session) {
            session.calls.remove(&self.id);
        }
    }
}

/// rmcp's [`LocalSessionManager`] plus the owner and quota slot of every session.
pub struct McpSessions {
    inner: LocalSessionManager,
    sessions: Mutex<HashMap<SessionId, McpSession>>,
    /// Sessions closed since the heap trimmer last looked.
    pub(super) closed: ClosedSessions,
    /// Sessions rmcp closes while the server drains were closed by the drain.
    shutdown: Arc<Shutdown>,
    /// How long a session may go without a request; `None` is forever.
    idle: Option<Duration>,
    /// Where sessions are registered for the other replicas to find.
    #[cfg(feature = "redis")]
    replicas: Option<Arc<crate::replicas::Replicas>>,
}

impl McpSessions {
    /// Sessions that expire after `idle` without a request ([`McpSessions::expire_idle`]);
    /// never when `None`.
    pub fn new(
        idle: Option<Duration>,
        shutdown: Arc<Shutdown>,
        #[cfg(feature = "redis")] replicas: Option<Arc<crate::replicas::Replicas>>,
    ) -> McpSessions {
        // rmcp's own idle timer counts only the requests its worker sees.
        let mut inner = LocalSessionManager::default();
        inner.session_config.keep_alive = None;
        McpSessions {
            inner,
            sessions: Mutex::default(),
            closed: ClosedSessions::default(),
            shutdown,
            idle,
            #[cfg(feature = "redis")]
            replicas,
        }
    }

    /// Whether the session is open here.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, McpSession>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the session exists and belongs to someone other than `owner`.
    fn owned_by_other(&self, id: &str, owner: &str) -> bool {
        self.lock()
            .get(id)
            .and_then(|s| s.owner.as_deref())
            .is_some_and(|o| o != owner)
    }

    /// Whether the session's `initialize` has been answered (its owner bound).
    /// A request of the session begins; `None` when the session is not open here.
    pub(super) fn begin(self: &Arc<Self>, id: &str) -> Option<SessionRequest> {
        let mut sessions = self.lock();
        let (id, _) = sessions.get_key_value(id)?;
        let id = id.clone();
        let session = sessions.get_mut(&id)?;
        session.running += 1;
        session.last_active = Instant::now();
        Some(SessionRequest {
            sessions: self.clone(),
            id,
        })
    }

    /// Registers a tool call of the session answered beside rmcp; `None` when the session is
    /// gone, not initialized yet, or already runs a call with that id.
    pub(super) fn start_call(self: &Arc<Self>, id: &str, call: &RequestId) -> Option<RunningCall> {
        let mut sessions = self.lock();
        let (session_id, _) = sessions.get_key_value(id)?;
        let session_id = session_id.clone();
        let session = sessions.get_mut(&session_id)?;
        if session.owner.is_none() || session.calls.contains_key(call) {
            return None;
        }
        let cancelled = CancellationToken::new();
        session.calls.insert(call.clone(), cancelled.clone());
        Some(RunningCall {
            sessions: self.clone(),
            session: session_id,
            id: call.clone(),
            cancelled,
        })
    }

    /// Whether the session runs a tool call answered beside rmcp.
    pub(super) fn runs_calls(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|s| !s.calls.is_empty())
    }

    /// Cancels the session's call `call` if it is answered beside rmcp (rmcp cancels its own).
    pub(super) fn cancel(&self, id: &str, call: &RequestId) {
        if let Some(token) = self.lock().get(id).and_then(|s| s.calls.get(call)) {
            token.cancel();
        }
    }

    /// Closes the sessions idle for `SENTINEL_MCP_SESSION_IDLE_TIMEOUT_SECS` (no request running
    /// or arriving), looking a few times per timeout, until `stop`. Returns at once when sessions
    /// never idle out.
    pub async fn expire_idle(self: Arc<Self>, stop: CancellationToken) {
        let Some(idle) = self.idle else { return };
        let every = (idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            let expired: Vec<SessionId> = self
                .lock()
                .iter()
                .filter(|(_, s)| s.running == 0 && s.last_active.elapsed() >= idle)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                tracing::debug!(session_id = %id, "Streamable HTTP session idle: closing");
                if let Err(e) = self.close_session(&id).await {
                    tracing::warn!(session_id = %id, error = %e, "an idle session could not be closed");
                }
            }
        }
    }

    /// Notes that the session's owner asked to end it (DELETE), before rmcp closes it.
    fn mark_deleted(&self, id: &str) {
        if let Some(session) = self.lock().get_mut(id) {
            session.deleted = true;
        }
    }

    /// Binds a session an `initialize` just opened to its owner and quota slot; when the session
    /// is already gone, the slot is freed at once.
    fn adopt(&self, id: &str, owner: String, slot: Option<SessionSlot>) {
        if let Some(session) = self.lock().get_mut(id) {
            session.owner = Some(owner.into());
            session._slot = slot;
        }
    }
}

impl SessionManager for McpSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.lock().insert(id.clone(), McpSession::new());
        metrics().session_opened(Transport::Streamable);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    /// Called on DELETE and whenever a session's worker ends (idle expiry, shutdown, failure).
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let removed = self.lock().remove(id);
        if let Some(session) = removed {
            session.calls.values().for_each(CancellationToken::cancel);
            self.closed.count();
            #[cfg(feature = "redis")]
            if let Some(replicas) = &self.replicas {
                replicas.deregister(id);
            }
            let reason = if session.deleted {
                SessionEnd::ClientGone
            } else if self.shutdown.is_draining() {
                SessionEnd::Drain
            } else {
                SessionEnd::IdleTimeout
            };
            metrics().session_closed(Transport::Streamable, reason, session.opened.elapsed());
        }
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        let outcome = self.inner.restore_session(id.clone()).await?;
        if let RestoreOutcome::Restored(_) = &outcome
            && let std::collections::hash_map::Entry::Vacant(entry) = self.lock().entry(id)
        {
            entry.insert(McpSession::new());
            metrics().session_opened(Transport::Streamable);
        }
        Ok(outcome)
    }

    fn event_store(&self) -> Option<std::sync::Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}

/// A request for another principal's session, answered as if the session did not exist.
pub(super) struct ForeignSession;

impl IntoResponse for ForeignSession {
    fn into_response(self) -> Response {
        json_error(StatusCode::NOT_FOUND, "session not found")
    }
}

/// The Streamable HTTP session a request names, checked against its owner before the request
/// runs; a session the response opens is bound to the owner after.
pub(super) struct SessionClaim {
    session: Option<String>,
    owner: String,
}

impl SessionClaim {
    /// Refuses a request for another principal's session as if the session did not exist.
    pub(super) fn check(
        state: &HttpState,
        request: &Request,
    ) -> Result<SessionClaim, ForeignSession> {
        let owner = request
            .extensions()
            .get::<RequestMeta>()
            .map(|m| m.principal.owner_key())
            .unwrap_or_default();
        let session = request
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        if let Some(id) = &session
            && state.mcp_sessions.owned_by_other(id, &owner)
        {
            tracing::warn!(
                session_id = id,
                "request for another principal's session refused"
            );
            return Err(ForeignSession);
        }
        if let Some(id) = &session
            && request.method() == Method::DELETE
        {
            state.mcp_sessions.mark_deleted(id);
        }
        Ok(SessionClaim { session, owner })
    }

    /// The session the request names.
    pub(super) fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Whether the request names no session (it may open one).
    pub(super) fn is_sessionless(&self) -> bool {
        self.session.is_none()
    }

    /// The session a response opened, if it opened one (`initialize` on `/mcp`).
    pub(super) fn opened_by(&self, response: &Response) -> Option<String> {
        if self.session.is_some() {
            return None;
        }
        let id = response.headers().get("mcp-session-id")?.to_str().ok()?;
        Some(id.to_string())
    }

    /// Binds a session the response opened to the owner and its quota slot, and registers it
    /// for the other replicas before the client can send its next request.
    pub(super) async fn record(
        self,
        state: &HttpState,
        opened: Option<String>,
        slot: Option<SessionSlot>,
    ) {
        let Some(id) = opened else { return };
        #[cfg(feature = "redis")]
        if let Some(replicas) = &state.replicas {
            replicas.register(&id, "streamable", &self.owner).await;
        }
        state.mcp_sessions.adopt(&id, self.owner, slot);
    }
}
