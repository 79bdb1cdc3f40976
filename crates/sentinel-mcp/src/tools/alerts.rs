//! list_alerts and get_alert.

use rmcp::model::CallToolResult;
use serde::{Deserialize, Serialize};

use super::{Call, ToolContext, ToolDef, ToolError, define, fresh, list_answer, list_top, success};
use crate::model::{Alert, AlertFilter, DataKind, ToolClass};

/// Arguments of list_alerts.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// Only alerts of this severity (High, Medium, Low, Informational).
    #[serde(default)]
    severity: Option<String>,
    /// Only alerts in this status (New, InProgress, Resolved).
    #[serde(default)]
    status: Option<String>,
    /// Only alerts generated within this window (P1D, 24h, 7d).
    #[serde(default)]
    since: Option<String>,
    /// Only the alerts of this incident (number or name).
    #[serde(default)]
    incident_id: Option<String>,
    /// Most alerts to return (default 50, at most 1000).
    #[serde(default)]
    top: Option<usize>,
}

/// Arguments of get_alert.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetArgs {
    /// The alert id (SystemAlertId) as list_alerts or get_incident shows it.
    id: String,
}

/// A list of alerts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct AlertsOut {
    alerts: Vec<Alert>,
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// When some were left out: the URI the whole list is kept at for a while, to read in pages with resources/read (`?offset=&limit=`, `format=json|csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    full_result: Option<String>,
}

pub(super) fn definitions() -> Vec<ToolDef> {
    vec![
        define::<ListArgs, AlertsOut>(
            ToolClass::Read,
            DataKind::Alerts,
            "list_alerts",
            "List alerts",
            "List security alerts (Sentinel analytics, Defender XDR, Entra ID Protection), newest first, optionally filtered by severity, status, time window or incident.",
            |call, args| fresh(list(call, args)),
        ),
        define::<GetArgs, Alert>(
            ToolClass::Read,
            DataKind::Alerts,
            "get_alert",
            "Get alert",
            "Get one security alert by id with its tactics, techniques, time range and entities.",
            |call, args| fresh(get(call.ctx, args)),
        ),
    ]
}

fn alert_line(a: &Alert) -> String {
    format!(
        "{} [{}] [{}] {} — {} ({})",
        a.id,
        a.severity,
        a.status,
        a.name,
        a.compromised_entity,
        a.time_generated.as_deref().unwrap_or("?")
    )
}

async fn list(call: &Call<'_>, args: ListArgs) -> Result<CallToolResult, ToolError> {
    let ctx = call.ctx;
    let top = list_top(args.top)?;
    let filter = AlertFilter {
        severity: args.severity,
        status: args.status,
        since: ctx.since(args.since.as_deref())?,
        incident_id: args.incident_id,
        top,
    };
    let alerts = ctx.backend.list_alerts(filter).await?;
    let out = |alerts: Vec<_>, note| AlertsOut {
        count: alerts.len(),
        alerts,
        note,
        full_result: None,
    };
    let kind = &crate::results::ALERT_LIST;
    list_answer(call, alerts, ("alert", alert_line), kind, out, |o| {
        &mut o.full_result
    })
    .await
}

async fn get(ctx: &ToolContext, args: GetArgs) -> Result<CallToolResult, ToolError> {
    let alert = ctx.backend.get_alert(&args.id).await?;
    let mut text = format!(
        "{}\n{}\nTactics: {}; techniques: {}\nProvider: {} / {}\n",
        alert_line(&alert),
        alert.description,
        alert.tactics,
        alert.techniques,
        alert.provider,
        alert.product
    );
    text.push_str(&format!("Entities ({}):\n", alert.entities.len()));
    for e in &alert.entities {
        text.push_str(&format!("- {e}\n"));
    }
    success(text, alert)
}
