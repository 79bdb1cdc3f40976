//! list_incidents, get_incident, update_incident, add_incident_comment.

use rmcp::model::CallToolResult;
use serde::{Deserialize, Serialize};

use super::{Call, ToolContext, ToolDef, ToolError, define, fresh, list_answer, list_top, success};
use crate::model::{
    Comment, DataKind, Incident, IncidentDetail, IncidentFilter, IncidentPatch, ToolClass,
};

const MAX_COMMENT_CHARS: usize = 30_000;

/// Incident status.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
enum Status {
    New,
    Active,
    Closed,
}

/// Incident severity.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
enum Severity {
    High,
    Medium,
    Low,
    Informational,
}

/// How a closed incident is classified.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
enum Classification {
    TruePositive,
    BenignPositive,
    FalsePositive,
    Undetermined,
}

fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Arguments of list_incidents.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// Only incidents in this status.
    #[serde(default)]
    status: Option<Status>,
    /// Only incidents of this severity.
    #[serde(default)]
    severity: Option<Severity>,
    /// Only incidents modified within this window (ISO 8601 duration like P1D, or 24h, 7d) or since an ISO datetime interval start.
    #[serde(default)]
    since: Option<String>,
    /// Most incidents to return (default 50, at most 1000).
    #[serde(default)]
    top: Option<usize>,
}

/// Arguments naming one incident.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetArgs {
    /// The incident number (e.g. "42") or its incident name (GUID), as list_incidents shows.
    id: String,
}

/// Arguments of update_incident.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateArgs {
    /// The incident number or name.
    id: String,
    /// New status. Closing needs a classification.
    #[serde(default)]
    status: Option<Status>,
    /// New severity.
    #[serde(default)]
    severity: Option<Severity>,
    /// Classification (required when closing).
    #[serde(default)]
    classification: Option<Classification>,
    /// New owner's user principal name or email.
    #[serde(default)]
    owner: Option<String>,
}

/// Arguments of add_incident_comment.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CommentArgs {
    /// The incident number or name.
    id: String,
    /// The comment text (plain text or Markdown, at most 30,000 characters).
    message: String,
}

/// A list of incidents.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct IncidentsOut {
    incidents: Vec<Incident>,
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// When some were left out: the URI the whole list is kept at for a while, to read in pages with resources/read (`?offset=&limit=`, `format=json|csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    full_result: Option<String>,
}

pub(super) fn definitions() -> Vec<ToolDef> {
    vec![
        define::<ListArgs, IncidentsOut>(
            ToolClass::Read,
            DataKind::Incidents,
            "list_incidents",
            "List incidents",
            "List Microsoft Sentinel incidents, most recently modified first, optionally filtered by status (New, Active, Closed), severity (High, Medium, Low, Informational) and a time window. Each incident lists its alert ids; use get_incident for alerts and entities.",
            |call, args| fresh(list(call, args)),
        ),
        define::<GetArgs, IncidentDetail>(
            ToolClass::Read,
            DataKind::Incidents,
            "get_incident",
            "Get incident",
            "Get one Sentinel incident by number with its full details, its alerts and the entities (accounts, hosts, IPs, files, processes) those alerts name. Use it to triage an incident.",
            |call, args| fresh(get(call.ctx, args)),
        ),
        define::<UpdateArgs, Incident>(
            ToolClass::Write,
            DataKind::IncidentChanges,
            "update_incident",
            "Update incident",
            "Change an incident's status, severity, classification or owner. Closing (status Closed) requires a classification (TruePositive, BenignPositive, FalsePositive, Undetermined). Answers the incident as it now is.",
            |call, args| fresh(update(call.ctx, args, call.actor)),
        ),
        define::<CommentArgs, Comment>(
            ToolClass::Write,
            DataKind::IncidentChanges,
            "add_incident_comment",
            "Add incident comment",
            "Add a comment to an incident, for example triage findings or next steps. Answers the stored comment.",
            |call, args| fresh(comment(call.ctx, args, call.actor)),
        ),
    ]
}

fn incident_line(i: &Incident) -> String {
    let owner = if i.owner.is_empty() {
        "unassigned".to_string()
    } else {
        i.owner.clone()
    };
    format!(
        "#{} [{}] [{}] {} (owner: {owner}; created {}; {} alerts)",
        i.id,
        i.severity,
        i.status,
        i.title,
        i.created_time.as_deref().unwrap_or("?"),
        i.alert_ids.len()
    )
}

async fn list(call: &Call<'_>, args: ListArgs) -> Result<CallToolResult, ToolError> {
    let ctx = call.ctx;
    let top = list_top(args.top)?;
    let filter = IncidentFilter {
        status: args.status.as_ref().map(name),
        severity: args.severity.as_ref().map(name),
        since: ctx.since(args.since.as_deref())?,
        top,
    };
    let incidents = ctx.backend.list_incidents(filter).await?;
    let out = |incidents: Vec<_>, note| IncidentsOut {
        count: incidents.len(),
        incidents,
        note,
        full_result: None,
    };
    let kind = &crate::results::INCIDENT_LIST;
    list_answer(
        call,
        incidents,
        ("incident", incident_line),
        kind,
        out,
        |o| &mut o.full_result,
    )
    .await
}

async fn get(ctx: &ToolContext, args: GetArgs) -> Result<CallToolResult, ToolError> {
    let detail = ctx.backend.get_incident(&args.id).await?;
    let i = &detail.incident;
    let mut text = format!("{}\n{}\n", incident_line(i), i.description);
    if !i.classification.is_empty() {
        text.push_str(&format!(
            "Classification: {} {}\n",
            i.classification, i.classification_reason
        ));
    }
    text.push_str(&format!("\nAlerts ({}):\n", detail.alerts.len()));
    for a in &detail.alerts {
        text.push_str(&format!(
            "- {} [{}] {} (tactics: {}; {})\n",
            a.id,
            a.severity,
            a.name,
            a.tactics,
            a.time_generated.as_deref().unwrap_or("?")
        ));
    }
    text.push_str(&format!("\nEntities ({}):\n", detail.entities.len()));
    for e in &detail.entities {
        text.push_str(&format!("- {e}\n"));
    }
    if !i.comments.is_empty() {
        text.push_str(&format!("\nComments ({}):\n", i.comments.len()));
        for c in &i.comments {
            text.push_str(&format!(
                "- {} ({}): {}\n",
                c.author, c.created_time, c.message
            ));
        }
    }
    success(text, detail)
}

async fn update(
    ctx: &ToolContext,
    args: UpdateArgs,
    actor: &str,
) -> Result<CallToolResult, ToolError> {
    if args.status.is_none()
        && args.severity.is_none()
        && args.classification.is_none()
        && args.owner.is_none()
    {
        return Err(ToolError::Input(
            "nothing to update: pass at least one of status, severity, classification, owner"
                .into(),
        ));
    }
    if args
        .owner
        .as_deref()
        .is_some_and(|o| o.trim().is_empty() || o.len() > 256)
    {
        return Err(ToolError::Input(
            "owner must be a user principal name or email of at most 256 characters".into(),
        ));
    }
    let patch = IncidentPatch {
        status: args.status.as_ref().map(name),
        severity: args.severity.as_ref().map(name),
        classification: args.classification.as_ref().map(name),
        owner: args.owner.map(|o| o.trim().to_string()),
    };
    let incident = ctx.backend.update_incident(&args.id, patch, actor).await?;
    success(format!("Updated: {}", incident_line(&incident)), incident)
}

async fn comment(
    ctx: &ToolContext,
    args: CommentArgs,
    actor: &str,
) -> Result<CallToolResult, ToolError> {
    let message = args.message.trim();
    if message.is_empty() {
        return Err(ToolError::Input("message is empty".into()));
    }
    if message.chars().count() > MAX_COMMENT_CHARS {
        return Err(ToolError::Input(format!(
            "message is longer than {MAX_COMMENT_CHARS} characters"
        )));
    }
    let comment = ctx
        .backend
        .add_incident_comment(&args.id, message, actor)
        .await?;
    success(
        format!(
            "Comment {} added to incident {} by {}.",
            comment.id, args.id, comment.author
        ),
        comment,
    )
}
