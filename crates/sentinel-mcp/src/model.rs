//! The domain: what the tools, the backends and the Azure clients speak of (tables,
//! incidents, alerts, their filters and changes), which data and permission a call needs, which
//! API holds incidents and what app-only callers may reach.
//! Depends on nothing else in the crate.

use serde::{Deserialize, Serialize};

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

/// Which data a tool reads or changes, and so which Azure service holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Workspace queries, tables and schemas (Log Analytics).
    Logs,
    /// Advanced hunting (Graph).
    Hunting,
    /// Incidents read (Graph, or ARM with SENTINEL_MCP_INCIDENTS_API=arm).
    Incidents,
    /// Incident updates and comments (as incidents).
    IncidentChanges,
    /// Alerts (Graph).
    Alerts,
}

/// What a principal must hold to call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolClass {
    /// Queries, schema, incidents and alerts read.
    Read,
    /// Advanced hunting.
    Hunt,
    /// Incident updates and comments.
    Write,
}

/// Which API the incident tools use on the Azure backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IncidentsApi {
    /// Microsoft Graph security (`/security/incidents`, Defender XDR unified incidents).
    Graph,
    /// Sentinel's ARM API (`Microsoft.SecurityInsights/incidents`).
    Arm,
}

/// What app-only callers get when the Azure backend acts on behalf of callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AppCallers {
    /// Refused with 403: there is no user to act for.
    Deny,
    /// Served with the server's own identity (the audit line says so).
    ServerIdentity,
}
