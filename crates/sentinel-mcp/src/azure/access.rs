//! The identity one tool call reaches Azure with. The HTTP layer decides it per request (the
//! server's own identity, or the caller's through on-behalf-of); the tool call runs inside
//! [`scope`], and the Azure clients read it with [`current`], so the same tool, backend and
//! client code serves both modes. In on-behalf-of mode a call outside any scope is refused
//! rather than made with the server's identity.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use super::obo::{CallerToken, OboError, OnBehalfOf};
use super::token::AccessToken;
use crate::model::{AppCallers, DataKind};
use crate::secret::Secret;

tokio::task_local! {
    static ACCESS: DataAccess;
}

/// Runs `work` with `access` as the identity of every Azure call it makes.
pub async fn scope<F: std::future::Future>(access: DataAccess, work: F) -> F::Output {
    ACCESS.scope(access, work).await
}

/// The identity of the call being made, when it runs inside [`scope`].
pub fn current() -> Option<DataAccess> {
    ACCESS.try_with(Clone::clone).ok()
}

/// Whose identity a call uses.
#[derive(Clone)]
pub enum DataAccess {
    /// The server's own identity (its credential chain).
    Server,
    /// The caller's, through on-behalf-of.
    Caller(Arc<CallerGrant>),
}

impl DataAccess {
    /// `caller` or `server`, as the audit line records which identity reached Azure.
    pub fn label(&self) -> &'static str {
        match self {
            DataAccess::Server => "server",
            DataAccess::Caller(_) => "caller",
        }
    }

    /// The key under which what this identity may see is cached: one for the server, one per
    /// caller (tenant and object id), so no caller is answered from another's view.
    pub fn cache_key(&self) -> Cow<'_, str> {
        match self {
            DataAccess::Server => Cow::Borrowed("server"),
            DataAccess::Caller(grant) => Cow::Owned(format!(
                "caller:{}/{}",
                grant.caller.tenant_id, grant.caller.object_id
            )),
        }
    }
}

impl std::fmt::Debug for DataAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataAccess::Server => f.write_str("Server"),
            DataAccess::Caller(grant) => write!(
                f,
                "Caller({}/{})",
                grant.caller.tenant_id, grant.caller.object_id
            ),
        }
    }
}

/// A caller's token and the exchange that turns it into downstream tokens, for one request.
pub struct CallerGrant {
    exchange: Arc<OnBehalfOf>,
    caller: CallerToken,
    /// The exchange the request checks made before the call, kept for the call so that a
    /// failure is not asked of Entra twice: (audience, outcome).
    prepared: Mutex<Option<(String, Result<AccessToken, OboError>)>>,
}

impl CallerGrant {
    /// The grant of one request.
    pub fn new(exchange: Arc<OnBehalfOf>, caller: CallerToken) -> CallerGrant {
        CallerGrant {
            exchange,
            caller,
            prepared: Mutex::new(None),
        }
    }

    fn prepared(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(String, Result<AccessToken, OboError>)>> {
        self.prepared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Exchanges now for the service that holds `kind`, before the call runs, and keeps the
    /// outcome for it; answers the failure, if any.
    pub async fn prepare(&self, kind: DataKind) -> Result<(), OboError> {
        let audience = self.exchange.audience(kind).to_string();
        let outcome = self.exchange.token(&self.caller, &audience).await;
        let failure = outcome.as_ref().err().cloned();
        *self.prepared() = Some((audience, outcome));
        failure.map_or(Ok(()), Err)
    }

    /// The caller's token for `audience`: the prepared outcome, else the exchange's cache.
    pub async fn token(&self, audience: &str) -> Result<Secret, OboError> {
        let prepared = match self.prepared().as_ref() {
            Some((a, outcome)) if a == audience => Some(outcome.clone()),
            _ => None,
        };
        match prepared {
            Some(outcome) => outcome.map(|t| t.token),
            None => Ok(self.exchange.token(&self.caller, audience).await?.token),
        }
    }

    /// The exchange the request checks made, when it failed.
    pub fn prepared_failure(&self) -> Option<OboError> {
        self.prepared()
            .as_ref()
            .and_then(|(_, outcome)| outcome.as_ref().err().cloned())
    }

    /// Forgets the caller's token for `audience`: the service refused it.
    pub fn invalidate(&self, audience: &str) {
        let mut prepared = self.prepared();
        if prepared.as_ref().is_some_and(|(a, _)| a == audience) {
            *prepared = None;
        }
        drop(prepared);
        self.exchange.invalidate(&self.caller, audience);
    }
}

/// How the HTTP layer gives callers their Azure access when the backend acts on their behalf.
pub struct CallerAccess {
    pub exchange: Arc<OnBehalfOf>,
    /// What app-only callers (no user to act for) get.
    pub app_callers: AppCallers,
}

impl CallerAccess {
    /// The access of a validated caller: its own through the exchange; an app-only caller the
    /// server's identity when allowed, else `None` (refused).
    pub fn for_caller(&self, caller: CallerToken, app_only: bool) -> Option<DataAccess> {
        if app_only {
            return (self.app_callers == AppCallers::ServerIdentity).then_some(DataAccess::Server);
        }
        Some(DataAccess::Caller(Arc::new(CallerGrant::new(
            self.exchange.clone(),
            caller,
        ))))
    }
}
