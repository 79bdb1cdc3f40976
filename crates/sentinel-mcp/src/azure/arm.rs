//! `SentinelArmClient`: Sentinel incidents through Azure Resource Manager
//! (`Microsoft.SecurityInsights/incidents`), with etag-guarded updates.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value as J, json};

use super::{AzureError, AzureHttp, encode, join};
use crate::model::{Alert, Comment, Incident, IncidentFilter, IncidentPatch};
use crate::outbound::OutboundRequest;

const SERVICE: &str = "Azure Resource Manager (Sentinel)";
/// The backend metrics\' `service` label of its calls.
const METRIC: &str = "arm";
/// The SecurityInsights API version every call names.
pub const API_VERSION: &str = "2025-09-01";
const MAX_PAGES: usize = 100;

/// Why an ARM incident call failed.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error(transparent)]
    Azure(#[from] AzureError),
    #[error("no incident with id '{0}'")]
    NotFound(String),
    #[error(
        "the incident changed since it was read (etag mismatch); get it again and retry the update"
    )]
    Conflict,
}

/// Sentinel's ARM API for one workspace.
pub struct SentinelArmClient {
    pub http: Arc<AzureHttp>,
    pub endpoint: String,
    pub audience: String,
    /// `/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…`
    pub workspace_resource_id: String,
}

impl SentinelArmClient {
    fn url(&self, path: &str, query: &str) -> String {
        let base = join(
            &self.endpoint,
            &format!(
                "{}/providers/Microsoft.SecurityInsights/{path}",
                self.workspace_resource_id.trim_matches('/')
            ),
        );
        format!("{base}?api-version={API_VERSION}{query}")
    }

    async fn call(&self, request: OutboundRequest) -> Result<J, AzureError> {
        self.http.json(SERVICE, &self.audience, request).await
    }

    /// Incidents, most recently modified first, following `nextLink`.
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<J>, AzureError> {
        let mut clauses = Vec::new();
        if let Some(s) = &filter.status {
            clauses.push(format!("properties/status eq '{s}'"));
        }
        if let Some(s) = &filter.severity {
            clauses.push(format!("properties/severity eq '{s}'"));
        }
        if let Some(t) = filter.since {
            clauses.push(format!(
                "properties/lastModifiedTimeUtc ge {}",
                kql::value::format_datetime(t)
            ));
        }
        let top = filter.top.max(1);
        self.list(&clauses, top).await
    }

    async fn list(&self, clauses: &[String], top: usize) -> Result<Vec<J>, AzureError> {
        let mut query = format!(
            "&$top={}&$orderby={}",
            top.min(1000),
            encode("properties/lastModifiedTimeUtc desc")
        );
        if !clauses.is_empty() {
            query.push_str(&format!("&$filter={}", encode(&clauses.join(" and "))));
        }
        let mut next = Some(self.url("incidents", &query));
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page = self
                .call(OutboundRequest::new(Method::GET, url).service(METRIC))
                .await?;
            if let Some(items) = page.get("value").and_then(J::as_array) {
                out.extend(items.iter().cloned());
            }
            pages += 1;
            if out.len() >= top || pages >= MAX_PAGES {
                break;
            }
            next = page.get("nextLink").and_then(J::as_str).map(str::to_string);
            if let Some(link) = &next {
                super::same_origin(SERVICE, &self.endpoint, link)?;
            }
        }
        out.truncate(top);
        Ok(out)
    }

    /// One incident by number (`42`) or name (GUID).
    pub async fn find(&self, id: &str) -> Result<J, ArmError> {
        if id.chars().all(|c| c.is_ascii_digit()) {
            let clause = format!("properties/incidentNumber eq {id}");
            let found = self.list(&[clause], 1).await?;
            return found
                .into_iter()
                .next()
                .ok_or_else(|| ArmError::NotFound(id.to_string()));
        }
        let url = self.url(&format!("incidents/{}", encode(id)), "");
        match self
            .call(OutboundRequest::new(Method::GET, url).service(METRIC))
            .await
        {
            Err(e) if e.status() == Some(404) => Err(ArmError::NotFound(id.to_string())),
            other => Ok(other?),
        }
    }

    /// The incident's alerts (`POST …/alerts`).
    pub async fn alerts(&self, name: &str) -> Result<Vec<J>, AzureError> {
        let url = self.url(&format!("incidents/{}/alerts", encode(name)), "");
        let v = self
            .call(
                OutboundRequest::new(Method::POST, url)
                    .service(METRIC)
                    .idempotent(true),
            )
            .await?;
        Ok(list_of(&v, "value"))
    }

    /// The incident's entities (`POST …/entities`).
    pub async fn entities(&self, name: &str) -> Result<Vec<J>, AzureError> {
        let url = self.url(&format!("incidents/{}/entities", encode(name)), "");
        let v = self
            .call(
                OutboundRequest::new(Method::POST, url)
                    .service(METRIC)
                    .idempotent(true),
            )
            .await?;
        Ok(list_of(&v, "entities"))
    }

    /// The incident's comments.
    pub async fn comments(&self, name: &str) -> Result<Vec<J>, AzureError> {
        let url = self.url(&format!("incidents/{}/comments", encode(name)), "");
        let v = self
            .call(OutboundRequest::new(Method::GET, url).service(METRIC))
            .await?;
        Ok(list_of(&v, "value"))
    }

    /// GET → modify → PUT with the etag read; a 412 means someone else changed it first.
    pub async fn update(&self, id: &str, patch: &IncidentPatch) -> Result<J, ArmError> {
        let current = self.find(id).await?;
        let name = current
            .get("name")
            .and_then(J::as_str)
            .unwrap_or_default()
            .to_string();
        let etag = current
            .get("etag")
            .and_then(J::as_str)
            .unwrap_or_default()
            .to_string();
        let mut properties = current.get("properties").cloned().unwrap_or(json!({}));
        apply_patch(&mut properties, patch);
        let url = self.url(&format!("incidents/{}", encode(&name)), "");
        let request = OutboundRequest::new(Method::PUT, url)
            .service(METRIC)
            .header("If-Match", etag.clone())
            .json(json!({"etag": etag, "properties": properties}));
        let response = self.http.call(&self.audience, request).await?;
        if matches!(response.status, 409 | 412) {
            return Err(ArmError::Conflict);
        }
        if !response.is_success() {
            return Err(AzureError::from_response(SERVICE, &response).into());
        }
        response.json().map_err(|e| ArmError::Azure(e.into()))
    }

    /// Adds a comment (`PUT …/comments/{new id}`).
    pub async fn add_comment(&self, name: &str, message: &str) -> Result<J, AzureError> {
        let comment_id = uuid::Uuid::new_v4();
        let url = self.url(
            &format!("incidents/{}/comments/{comment_id}", encode(name)),
            "",
        );
        let request = OutboundRequest::new(Method::PUT, url)
            .service(METRIC)
            .json(json!({"properties": {"message": message}}));
        self.call(request).await
    }
}

fn list_of(v: &J, key: &str) -> Vec<J> {
    v.get(key)
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The reason Sentinel requires with each closing classification.
fn classification_reason(classification: &str) -> Option<&'static str> {
    match classification {
        "TruePositive" => Some("SuspiciousActivity"),
        "FalsePositive" => Some("IncorrectAlertLogic"),
        "BenignPositive" => Some("SuspiciousButExpected"),
        _ => None,
    }
}

fn apply_patch(p: &mut J, patch: &IncidentPatch) {
    if let Some(s) = &patch.status {
        p["status"] = json!(s);
    }
    if let Some(s) = &patch.severity {
        p["severity"] = json!(s);
    }
    if let Some(c) = &patch.classification {
        p["classification"] = json!(c);
        if let Some(reason) = classification_reason(c) {
            p["classificationReason"] = json!(reason);
        }
    }
    if let Some(o) = &patch.owner {
        let mut owner = json!({"assignedTo": o, "userPrincipalName": o});
        if o.contains('@') {
            owner["email"] = json!(o);
        }
        p["owner"] = owner;
    }
}

fn text(v: &J, k: &str) -> String {
    v.get(k).and_then(J::as_str).unwrap_or_default().to_string()
}

fn time(v: &J, k: &str) -> Option<String> {
    v.get(k).and_then(J::as_str).map(str::to_string)
}

/// An ARM incident as the tools show it.
pub fn incident(v: &J, alert_ids: Vec<String>, comments: Vec<Comment>) -> Incident {
    let empty = json!({});
    let p = v.get("properties").unwrap_or(&empty);
    let owner = p.get("owner").unwrap_or(&empty);
    let owner = ["assignedTo", "userPrincipalName", "email"]
        .iter()
        .map(|k| text(owner, k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let id = match p.get("incidentNumber") {
        Some(J::Number(n)) => n.to_string(),
        Some(J::String(s)) => s.clone(),
        _ => text(v, "name"),
    };
    Incident {
        id,
        name: text(v, "name"),
        title: text(p, "title"),
        description: text(p, "description"),
        severity: text(p, "severity"),
        status: text(p, "status"),
        classification: text(p, "classification"),
        classification_reason: text(p, "classificationReason"),
        owner,
        created_time: time(p, "createdTimeUtc"),
        last_modified_time: time(p, "lastModifiedTimeUtc"),
        first_activity_time: time(p, "firstActivityTimeUtc"),
        last_activity_time: time(p, "lastActivityTimeUtc"),
        alert_ids,
        labels: p
            .get("labels")
            .and_then(J::as_array)
            .map(|l| l.iter().map(|l| text(l, "labelName")).collect())
            .unwrap_or_default(),
        comments,
        url: text(p, "incidentUrl"),
    }
}

/// An ARM incident comment.
pub fn comment(v: &J) -> Comment {
    let empty = json!({});
    let p = v.get("properties").unwrap_or(&empty);
    let author = p.get("author").unwrap_or(&empty);
    let author = ["userPrincipalName", "email", "name"]
        .iter()
        .map(|k| text(author, k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    Comment {
        id: text(v, "name"),
        message: text(p, "message"),
        author,
        created_time: text(p, "createdTimeUtc"),
    }
}

/// An ARM security alert (an incident's alert) as the tools show it.
pub fn alert(v: &J) -> Alert {
    let empty = json!({});
    let p = v.get("properties").unwrap_or(&empty);
    let join_list = |k: &str| {
        p.get(k)
            .and_then(J::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(J::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    Alert {
        id: text(v, "name"),
        name: text(p, "alertDisplayName"),
        severity: text(p, "severity"),
        status: text(p, "status"),
        description: text(p, "description"),
        provider: text(p, "vendorName"),
        product: text(p, "productName"),
        tactics: join_list("tactics"),
        techniques: join_list("techniques"),
        compromised_entity: text(p, "compromisedEntity"),
        start_time: time(p, "startTimeUtc"),
        end_time: time(p, "endTimeUtc"),
        time_generated: time(p, "timeGenerated"),
        entities: Vec::new(),
    }
}
