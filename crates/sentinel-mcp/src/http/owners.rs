//! Streamable HTTP sessions belong to the principal that opened them: a request naming someone
//! else's `Mcp-Session-Id` is answered as if the session did not exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use super::{HttpState, json_error};
use crate::auth::RequestMeta;

/// How often owners of sessions rmcp has since forgotten (expired, closed) are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Owner key by Streamable HTTP session id.
#[derive(Default)]
pub struct SessionOwners {
    owners: Mutex<HashMap<String, String>>,
}

impl SessionOwners {
    fn get(&self, id: &str) -> Option<String> {
        self.owners.lock().ok()?.get(id).cloned()
    }

    fn set(&self, id: String, owner: String) {
        if let Ok(mut o) = self.owners.lock() {
            o.insert(id, owner);
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut o) = self.owners.lock() {
            o.remove(id);
        }
    }

    /// Drops the owners of sessions the session manager no longer has, until `stop`.
    pub async fn prune(
        self: Arc<Self>,
        manager: Arc<LocalSessionManager>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = stop.cancelled() => return,
            }
            let ids: Vec<String> = self
                .owners
                .lock()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for id in ids {
                if !manager
                    .has_session(&id.as_str().into())
                    .await
                    .unwrap_or(false)
                {
                    self.remove(&id);
                }
            }
        }
    }
}

/// Middleware on `/mcp`: enforce and record session ownership.
pub async fn bind_session_owner(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
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
        && state.mcp_owners.get(id).is_some_and(|o| o != owner)
    {
        tracing::warn!(
            session_id = id,
            "request for another principal's session refused"
        );
        return json_error(StatusCode::NOT_FOUND, "session not found");
    }
    let is_delete = request.method() == Method::DELETE;
    let response = next.run(request).await;
    match session {
        Some(id) if is_delete && response.status().is_success() => state.mcp_owners.remove(&id),
        None => {
            if let Some(id) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
            {
                state.mcp_owners.set(id.to_string(), owner);
            }
        }
        _ => {}
    }
    response
}
