//! Streamable HTTP sessions belong to the principal that opened them: a request naming someone
//! else's `Mcp-Session-Id` is answered as if the session did not exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// A request for another principal's session, answered as if the session did not exist.
pub(super) struct ForeignSession;

impl IntoResponse for ForeignSession {
    fn into_response(self) -> Response {
        json_error(StatusCode::NOT_FOUND, "session not found")
    }
}

/// The Streamable HTTP session a request names, checked against its owner before the request
/// runs and recorded (or forgotten) from the response after.
pub(super) struct SessionClaim {
    session: Option<String>,
    owner: String,
    is_delete: bool,
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
            && state.mcp_owners.get(id).is_some_and(|o| o != owner)
        {
            tracing::warn!(
                session_id = id,
                "request for another principal's session refused"
            );
            return Err(ForeignSession);
        }
        Ok(SessionClaim {
            session,
            owner,
            is_delete: request.method() == Method::DELETE,
        })
    }

    /// Binds a session the response opened to the owner; forgets one a DELETE closed.
    pub(super) fn record(self, state: &HttpState, response: &Response) {
        match self.session {
            Some(id) if self.is_delete && response.status().is_success() => {
                state.mcp_owners.remove(&id)
            }
            None => {
                if let Some(id) = response
                    .headers()
                    .get("mcp-session-id")
                    .and_then(|v| v.to_str().ok())
                {
                    state.mcp_owners.set(id.to_string(), self.owner);
                }
            }
            _ => {}
        }
    }
}
