//! The seam between tools and data: `Backend`, with a local implementation over the KQL engine.

pub mod azure;
pub mod local;
pub mod timespan;

use std::time::Duration;

use async_trait::async_trait;
use kql::{Column, Table};
use serde::{Deserialize, Serialize};

pub use timespan::{TimeRange, TimespanError};

/// A query as a tool asks for it.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub query: String,
    /// The time window rows must fall in (Log Analytics' `timespan`).
    pub range: TimeRange,
    pub timeout: Duration,
    /// A workspace by its configured name; the default workspace when `None`.
    pub workspace: Option<String>,
}

/// A query's answer: the table plus anything the caller must see beside it.
#[derive(Debug, Clone, Default)]
pub struct QueryOutput {
    pub table: Table,
    pub warnings: Vec<String>,
    /// The visualization a `render` operator asked for.
    pub visualization: Option<String>,
}

/// A table the workspace holds.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TableInfo {
    pub name: String,
    pub row_count: u64,
    /// Earliest TimeGenerated (ISO 8601), when the table has that column and rows.
    pub first_time: Option<String>,
    /// Latest TimeGenerated (ISO 8601).
    pub last_time: Option<String>,
}

/// The tables of a workspace as a backend last saw them. A backend hands out the same `Arc`
/// until the list changes, so a caller may keep what it derives from a snapshot, keyed by
/// `Arc::ptr_eq`, for as long as it holds the snapshot.
pub type TableList = std::sync::Arc<[TableInfo]>;

/// Filters of `list_incidents`.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
    /// Only incidents created or modified at or after this time (ticks).
    pub since: Option<i64>,
    pub top: usize,
}

/// Filters of `list_alerts`.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub severity: Option<String>,
    pub status: Option<String>,
    pub since: Option<i64>,
    pub incident_id: Option<String>,
    pub top: usize,
}

/// A Sentinel incident (latest version).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Incident {
    /// The incident number analysts see, used as `id` by the tools.
    pub id: String,
    /// Sentinel's incident name (a GUID).
    pub name: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub status: String,
    pub classification: String,
    pub classification_reason: String,
    pub owner: String,
    pub created_time: Option<String>,
    pub last_modified_time: Option<String>,
    pub first_activity_time: Option<String>,
    pub last_activity_time: Option<String>,
    pub alert_ids: Vec<String>,
    pub labels: Vec<String>,
    pub comments: Vec<Comment>,
    pub url: String,
}

/// A comment on an incident.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comment {
    pub id: String,
    pub message: String,
    pub author: String,
    pub created_time: String,
}

/// A security alert.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    pub id: String,
    pub name: String,
    pub severity: String,
    pub status: String,
    pub description: String,
    pub provider: String,
    pub product: String,
    pub tactics: String,
    pub techniques: String,
    pub compromised_entity: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub time_generated: Option<String>,
    pub entities: Vec<serde_json::Value>,
}

/// An incident with its alerts and the entities they name.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub alerts: Vec<Alert>,
    pub entities: Vec<serde_json::Value>,
}

/// Changes `update_incident` applies; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncidentPatch {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub classification: Option<String>,
    pub owner: Option<String>,
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
