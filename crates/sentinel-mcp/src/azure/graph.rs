//! `GraphSecurityClient`: Microsoft Graph security incidents, alerts (`alerts_v2`) and advanced
//! hunting, and the mapping of Graph's shapes onto the backend's types.

use std::sync::Arc;

use kql::{Column, ScalarType, Table};
use reqwest::Method;
use serde_json::{Value as J, json};

use super::log_analytics::cell;
use super::{AzureError, AzureHttp, encode, join};
use crate::model::{Alert, AlertFilter, Comment, Incident, IncidentFilter, IncidentPatch};
use crate::outbound::OutboundRequest;

const SERVICE: &str = "Microsoft Graph";
/// The backend metrics\' `service` label of its calls.
const METRIC: &str = "graph";
/// Graph's largest page of incidents.
const MAX_PAGE: usize = 50;
/// Pages followed at most, whatever `@odata.nextLink` says.
const MAX_PAGES: usize = 100;

/// Microsoft Graph security.
pub struct GraphSecurityClient {
    pub http: Arc<AzureHttp>,
    pub endpoint: String,
    pub audience: String,
}

impl GraphSecurityClient {
    fn url(&self, path: &str) -> String {
        join(&self.endpoint, &format!("v1.0/{path}"))
    }

    async fn get(&self, url: String) -> Result<J, AzureError> {
        self.http
            .json(
                SERVICE,
                &self.audience,
                OutboundRequest::new(Method::GET, url).service(METRIC),
            )
            .await
    }

    /// Follows `@odata.nextLink` until `top` items or the last page.
    async fn pages(&self, first: String, top: usize) -> Result<Vec<J>, AzureError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page = self.get(url).await?;
            if let Some(items) = page.get("value").and_then(J::as_array) {
                out.extend(items.iter().cloned());
            }
            pages += 1;
            if out.len() >= top || pages >= MAX_PAGES {
                break;
            }
            next = page
                .get("@odata.nextLink")
                .and_then(J::as_str)
                .map(str::to_string);
            if let Some(link) = &next {
                super::same_origin(SERVICE, &self.endpoint, link)?;
            }
        }
        out.truncate(top);
        Ok(out)
    }

    /// `GET /security/incidents` with `$filter`, `$top` and `$expand=alerts`, following pages.
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<J>, AzureError> {
        let mut clauses = Vec::new();
        if let Some(s) = &filter.status {
            clauses.push(format!("status eq '{}'", incident_status_to_graph(s)));
        }
        if let Some(s) = &filter.severity {
            clauses.push(format!("severity eq '{}'", s.to_ascii_lowercase()));
        }
        if let Some(t) = filter.since {
            clauses.push(format!(
                "lastUpdateDateTime ge {}",
                kql::value::format_datetime(t)
            ));
        }
        let top = filter.top.max(1);
        let mut url = format!(
            "{}?$top={}&$expand=alerts",
            self.url("security/incidents"),
            top.min(MAX_PAGE)
        );
        if !clauses.is_empty() {
            url.push_str(&format!("&$filter={}", encode(&clauses.join(" and "))));
        }
        self.pages(url, top).await
    }

    /// `GET /security/incidents/{id}?$expand=alerts`.
    pub async fn get_incident(&self, id: &str) -> Result<J, AzureError> {
        self.get(format!(
            "{}?$expand=alerts",
            self.url(&format!("security/incidents/{}", encode(id)))
        ))
        .await
    }

    /// `PATCH /security/incidents/{id}`; answers the incident as it now is.
    pub async fn update_incident(&self, id: &str, body: J) -> Result<J, AzureError> {
        let url = self.url(&format!("security/incidents/{}", encode(id)));
        let request = OutboundRequest::new(Method::PATCH, url)
            .service(METRIC)
            .json(body);
        self.http.json(SERVICE, &self.audience, request).await
    }

    /// `POST /security/incidents/{id}/comments`; answers the incident's comments.
    pub async fn add_comment(&self, id: &str, message: &str) -> Result<J, AzureError> {
        let url = self.url(&format!("security/incidents/{}/comments", encode(id)));
        let request = OutboundRequest::new(Method::POST, url)
            .service(METRIC)
            .json(json!({
                "@odata.type": "microsoft.graph.security.alertComment",
                "comment": message
            }));
        self.http.json(SERVICE, &self.audience, request).await
    }

    /// `GET /security/alerts_v2` with `$filter` and `$top`, following pages.
    pub async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<J>, AzureError> {
        let mut clauses = Vec::new();
        if let Some(s) = &filter.severity {
            clauses.push(format!("severity eq '{}'", s.to_ascii_lowercase()));
        }
        if let Some(s) = &filter.status {
            clauses.push(format!("status eq '{}'", alert_status_to_graph(s)));
        }
        if let Some(id) = &filter.incident_id {
            clauses.push(format!("incidentId eq '{}'", id.replace('\'', "''")));
        }
        if let Some(t) = filter.since {
            clauses.push(format!(
                "createdDateTime ge {}",
                kql::value::format_datetime(t)
            ));
        }
        let top = filter.top.max(1);
        let mut url = format!(
            "{}?$top={}",
            self.url("security/alerts_v2"),
            top.min(MAX_PAGE)
        );
        if !clauses.is_empty() {
            url.push_str(&format!("&$filter={}", encode(&clauses.join(" and "))));
        }
        self.pages(url, top).await
    }

    /// `GET /security/alerts_v2/{id}`.
    pub async fn get_alert(&self, id: &str) -> Result<J, AzureError> {
        self.get(self.url(&format!("security/alerts_v2/{}", encode(id))))
            .await
    }

    /// `POST /security/runHuntingQuery` with `Query` and `Timespan`.
    pub async fn run_hunting_query(
        &self,
        query: &str,
        timespan: Option<String>,
        timeout: std::time::Duration,
    ) -> Result<Table, AzureError> {
        let mut body = json!({ "Query": query });
        if let Some(ts) = timespan {
            body["Timespan"] = J::String(ts);
        }
        let request = OutboundRequest::new(Method::POST, self.url("security/runHuntingQuery"))
            .service(METRIC)
            .json(body)
            .timeout(timeout + std::time::Duration::from_secs(5))
            .idempotent(true);
        let value = self.http.json(SERVICE, &self.audience, request).await?;
        Ok(hunting_table(&value))
    }
}

/// A key of an object, in any case (the hunting API has answered both `Schema` and `schema`).
fn key<'a>(v: &'a J, name: &str) -> Option<&'a J> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn hunting_type(name: &str) -> ScalarType {
    match name.to_ascii_lowercase().as_str() {
        "string" => ScalarType::String,
        "datetime" | "date" => ScalarType::DateTime,
        "int32" | "int" | "int16" | "sbyte" | "byte" => ScalarType::Int,
        "int64" | "long" | "uint32" | "uint64" => ScalarType::Long,
        "double" | "real" | "single" | "float" => ScalarType::Real,
        "decimal" => ScalarType::Decimal,
        "boolean" | "bool" => ScalarType::Bool,
        "guid" => ScalarType::Guid,
        "timespan" => ScalarType::TimeSpan,
        _ => ScalarType::Dynamic,
    }
}

/// `{"schema":[{"name","type"}],"results":[{col: value}]}`, keys in any case.
pub fn hunting_table(v: &J) -> Table {
    let columns: Vec<Column> = key(v, "schema")
        .and_then(J::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    let name = key(c, "name").and_then(J::as_str).unwrap_or_default();
                    let ty = key(c, "type")
                        .and_then(J::as_str)
                        .map_or(ScalarType::Dynamic, hunting_type);
                    Column::new(name, ty)
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = key(v, "results")
        .and_then(J::as_array)
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| {
                            let value = r
                                .get(&c.name)
                                .or_else(|| key(r, &c.name))
                                .unwrap_or(&J::Null);
                            cell(c.ty, value)
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Table { columns, rows }
}

/// Sentinel's incident status as Graph names it (Sentinel New = Defender active).
pub fn incident_status_to_graph(status: &str) -> &'static str {
    match status.to_ascii_lowercase().as_str() {
        "new" => "active",
        "active" | "inprogress" => "inProgress",
        "closed" | "resolved" => "resolved",
        _ => "active",
    }
}

fn incident_status_from_graph(status: &str) -> String {
    match status {
        "active" => "New",
        "inProgress" => "Active",
        "resolved" | "redirected" => "Closed",
        other => other,
    }
    .to_string()
}

fn alert_status_to_graph(status: &str) -> String {
    match status.to_ascii_lowercase().as_str() {
        "new" => "new".into(),
        "inprogress" | "active" => "inProgress".into(),
        "resolved" | "closed" => "resolved".into(),
        other => other.to_string(),
    }
}

/// Sentinel's classification as Graph names it.
pub fn classification_to_graph(c: &str) -> &'static str {
    match c {
        "TruePositive" => "truePositive",
        "FalsePositive" => "falsePositive",
        "BenignPositive" => "informationalExpectedActivity",
        _ => "unknown",
    }
}

fn classification_from_graph(c: &str) -> String {
    match c {
        "truePositive" => "TruePositive",
        "falsePositive" => "FalsePositive",
        "informationalExpectedActivity" => "BenignPositive",
        "unknown" | "" => "",
        other => other,
    }
    .to_string()
}

/// `high` → `High`.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn text(v: &J, k: &str) -> String {
    v.get(k).and_then(J::as_str).unwrap_or_default().to_string()
}

fn time(v: &J, k: &str) -> Option<String> {
    v.get(k).and_then(J::as_str).map(str::to_string)
}

/// The body of `PATCH /security/incidents/{id}` for a patch.
pub fn patch_body(patch: &IncidentPatch) -> J {
    let mut body = serde_json::Map::new();
    if let Some(s) = &patch.status {
        body.insert("status".into(), incident_status_to_graph(s).into());
    }
    if let Some(s) = &patch.severity {
        body.insert("severity".into(), s.to_ascii_lowercase().into());
    }
    if let Some(c) = &patch.classification {
        body.insert("classification".into(), classification_to_graph(c).into());
    }
    if let Some(o) = &patch.owner {
        body.insert("assignedTo".into(), o.clone().into());
    }
    J::Object(body)
}

/// A Graph incident as the tools show it.
pub fn incident(v: &J) -> Incident {
    let alerts: Vec<&J> = v
        .get("alerts")
        .and_then(J::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let first_activity = alerts
        .iter()
        .filter_map(|a| time(a, "firstActivityDateTime"))
        .min();
    let last_activity = alerts
        .iter()
        .filter_map(|a| time(a, "lastActivityDateTime"))
        .max();
    let tags = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut labels = tags("customTags");
    labels.extend(tags("systemTags"));
    let id = match v.get("id") {
        Some(J::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Incident {
        name: id.clone(),
        id,
        title: text(v, "displayName"),
        description: text(v, "description"),
        severity: capitalized(&text(v, "severity")),
        status: incident_status_from_graph(&text(v, "status")),
        classification: classification_from_graph(&text(v, "classification")),
        classification_reason: text(v, "determination"),
        owner: text(v, "assignedTo"),
        created_time: time(v, "createdDateTime"),
        last_modified_time: time(v, "lastUpdateDateTime"),
        first_activity_time: first_activity,
        last_activity_time: last_activity,
        alert_ids: alerts.iter().map(|a| text(a, "id")).collect(),
        labels,
        comments: v
            .get("comments")
            .and_then(J::as_array)
            .map(|c| c.iter().enumerate().map(|(i, c)| comment(i, c)).collect())
            .unwrap_or_default(),
        url: text(v, "incidentWebUrl"),
    }
}

/// One `alertComment`.
pub fn comment(index: usize, v: &J) -> Comment {
    Comment {
        id: (index + 1).to_string(),
        message: text(v, "comment"),
        author: text(v, "createdByDisplayName"),
        created_time: text(v, "createdDateTime"),
    }
}

/// A Graph `alert` (v2) as the tools show it.
pub fn alert(v: &J) -> Alert {
    let evidence: Vec<J> = v
        .get("evidence")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    let compromised = evidence
        .iter()
        .find_map(|e| {
            e.get("deviceDnsName")
                .and_then(J::as_str)
                .or_else(|| {
                    e.get("userAccount")
                        .and_then(|u| u.get("userPrincipalName"))
                        .and_then(J::as_str)
                })
                .map(str::to_string)
        })
        .unwrap_or_default();
    let techniques = v
        .get("mitreTechniques")
        .and_then(J::as_array)
        .map(|t| {
            t.iter()
                .filter_map(J::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let status = match text(v, "status").as_str() {
        "new" => "New".to_string(),
        "inProgress" => "InProgress".to_string(),
        "resolved" => "Resolved".to_string(),
        other => other.to_string(),
    };
    Alert {
        id: text(v, "id"),
        name: text(v, "title"),
        severity: capitalized(&text(v, "severity")),
        status,
        description: text(v, "description"),
        provider: text(v, "serviceSource"),
        product: text(v, "productName"),
        tactics: capitalized(&text(v, "category")),
        techniques,
        compromised_entity: compromised,
        start_time: time(v, "firstActivityDateTime"),
        end_time: time(v, "lastActivityDateTime"),
        time_generated: time(v, "createdDateTime"),
        entities: evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunting_results_are_read_with_keys_in_any_case() {
        let v = json!({"Schema": [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "DeviceName", "Type": "String"}, {"Name": "Count", "Type": "Int64"}, {"Name": "Extra", "Type": "Object"}],
                       "Results": [{"Timestamp": "2024-01-01T00:00:00Z", "DeviceName": "ws-01", "Count": 3, "Extra": {"a": 1}}]});
        let t = hunting_table(&v);
        assert_eq!(t.columns.len(), 4);
        assert_eq!(t.columns[2].ty, ScalarType::Long);
        assert_eq!(t.rows[0][1], kql::Value::str("ws-01"));
        assert_eq!(t.rows[0][2], kql::Value::Long(3));
        assert_eq!(t.rows[0][3], kql::Value::dynamic(json!({"a": 1})));
    }

    #[test]
    fn statuses_follow_the_sentinel_defender_mapping() {
        assert_eq!(incident_status_to_graph("New"), "active");
        assert_eq!(incident_status_to_graph("Active"), "inProgress");
        assert_eq!(incident_status_to_graph("Closed"), "resolved");
        let i = incident(
            &json!({"id": "7", "status": "inProgress", "severity": "high", "classification": "informationalExpectedActivity"}),
        );
        assert_eq!(
            (
                i.status.as_str(),
                i.severity.as_str(),
                i.classification.as_str()
            ),
            ("Active", "High", "BenignPositive")
        );
    }
}
