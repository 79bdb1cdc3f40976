//! The seam between tools and data: `Backend`, with a local implementation over the KQL engine.

pub mod azure;
pub mod local;
pub mod timespan;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kql::{Column, Table};

pub use timespan::{TimeRange, TimespanError};

use crate::model::{
    Alert, AlertFilter, Comment, Incident, IncidentDetail, IncidentFilter, IncidentPatch, TableList,
};

/// A query as a tool asks for it.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub query: String,
    /// The time window rows must fall in (Log Analytics' `timespan`).
    pub range: TimeRange,
    pub timeout: Duration,
    /// A workspace by its configured name; the default workspace when `None`.
    pub workspace: Option<String>,
    /// `query` as the guard parsed it: the local engine runs it without parsing it again.
    pub prepared: Option<Arc<kql::Prepared>>,
}

/// A query's answer: the table plus anything the caller must see beside it.
#[derive(Debug, Clone, Default)]
pub struct QueryOutput {
    pub table: Table,
    pub warnings: Vec<String>,
    /// What a trailing `render` operator asked for: the visualization and its properties.
    pub visualization: Option<kql::Visualization>,
}

/// Readiness of a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady(String),
}

/// What can go wrong in a backend; each message is shown to the caller as it is, except
/// `Internal`'s, which goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Query(#[from] kql::KqlError),
    #[error("the workspace is not ready: {0}")]
    NotReady(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the query did not finish within {0} seconds and was cancelled; narrow the timespan or add filters"
    )]
    Timeout(u64),
    /// A failure of the server, not of the request; the caller sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
    /// Every slot for the service's queries is taken and the wait queue is full.
    #[error("{0}")]
    Busy(crate::limits::Busy),
    /// An Azure service refused or failed the call; the message carries its code and text.
    #[error("{0}")]
    Upstream(String),
}

impl BackendError {
    /// A query that ran out of its `limit` (whole seconds, rounded up: a call that waited for
    /// a slot has a fraction of its timeout left).
    pub fn timeout(limit: Duration) -> BackendError {
        BackendError::Timeout(limit.as_secs_f64().ceil() as u64)
    }
}

/// The refusal of a workspace name by a backend that has one workspace.
fn one_workspace(name: &str) -> BackendError {
    BackendError::Invalid(format!(
        "this backend has one workspace; omit workspace (got '{name}')"
    ))
}

/// Where tool data comes from. Nothing below this trait knows about MCP or HTTP.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs and /health (`local`, `azure`).
    fn kind(&self) -> &'static str;
    /// Whether the backend can answer now, and why not.
    fn readiness(&self) -> Readiness;
    /// The cap on the queries it runs at once against a shared service, if it has one.
    fn query_slots(&self) -> Option<&crate::limits::Slots> {
        None
    }
    /// Runs a KQL query against the workspace.
    async fn query(&self, request: QueryRequest) -> Result<QueryOutput, BackendError>;
    /// Runs an advanced hunting query (Defender XDR schema).
    async fn hunt(&self, request: QueryRequest) -> Result<QueryOutput, BackendError>;
    /// Tables with row counts and time ranges.
    async fn list_tables(&self) -> Result<TableList, BackendError>;
    /// Columns of one table.
    async fn table_schema(&self, table: &str) -> Result<Vec<Column>, BackendError>;
    /// Tables of a workspace by its configured name (`None`: the default workspace); a backend
    /// with one workspace refuses a name rather than answer from the wrong one.
    async fn list_tables_in(&self, workspace: Option<&str>) -> Result<TableList, BackendError> {
        match workspace {
            Some(name) => Err(one_workspace(name)),
            None => self.list_tables().await,
        }
    }
    /// Columns of one table of a workspace by name (`None`: the default workspace).
    async fn table_schema_in(
        &self,
        table: &str,
        workspace: Option<&str>,
    ) -> Result<Vec<Column>, BackendError> {
        match workspace {
            Some(name) => Err(one_workspace(name)),
            None => self.table_schema(table).await,
        }
    }
    /// Incidents, newest first.
    async fn list_incidents(&self, filter: IncidentFilter) -> Result<Vec<Incident>, BackendError>;
    /// One incident with its alerts and entities.
    async fn get_incident(&self, id: &str) -> Result<IncidentDetail, BackendError>;
    /// Alerts, newest first.
    async fn list_alerts(&self, filter: AlertFilter) -> Result<Vec<Alert>, BackendError>;
    /// One alert.
    async fn get_alert(&self, id: &str) -> Result<Alert, BackendError>;
    /// Applies a patch and answers the incident as it now is.
    async fn update_incident(
        &self,
        id: &str,
        patch: IncidentPatch,
        actor: &str,
    ) -> Result<Incident, BackendError>;
    /// Adds a comment and answers it.
    async fn add_incident_comment(
        &self,
        id: &str,
        message: &str,
        actor: &str,
    ) -> Result<Comment, BackendError>;
}
