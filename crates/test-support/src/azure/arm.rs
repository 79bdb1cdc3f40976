//! Sentinel's ARM API: `…/providers/Microsoft.SecurityInsights/incidents` (list with `$filter`,
//! `$top` and `nextLink`, GET with `etag`, PUT guarded by the etag, alerts, entities, comments),
//! refusing any api-version but 2025-09-01.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ARM, Recorded, Shared, error, refuse};

/// The API version the fake accepts.
pub const API_VERSION: &str = "2025-09-01";
/// The workspace resource id the fake serves.
pub const WORKSPACE_RESOURCE_ID: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/ws-sec";

pub(crate) struct ArmData {
    pub(crate) incidents: Vec<Value>,
    pub(crate) comments: Vec<(String, Value)>,
}

fn name_of(n: usize) -> String {
    format!("7c1a0f3e-0000-4000-8000-{n:012}")
}

impl ArmData {
    pub(crate) fn seed() -> ArmData {
        let severities = ["High", "Medium", "High"];
        let incidents = severities
            .iter()
            .enumerate()
            .map(|(i, sev)| {
                let n = i + 1;
                let name = name_of(n);
                json!({
                    "id": format!("{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/Incidents/{name}"),
                    "name": name,
                    "etag": "\"0a00e6f1-0000-0d00-0000-000000000001\"",
                    "type": "Microsoft.SecurityInsights/Incidents",
                    "properties": {
                        "title": format!("Password spray against contoso ({n})"),
                        "description": "Many failed sign-ins from one address.",
                        "severity": sev,
                        "status": "New",
                        "owner": {"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null},
                        "labels": [{"labelName": "spray", "labelType": "User"}],
                        "firstActivityTimeUtc": "2026-01-20T08:00:00Z",
                        "lastActivityTimeUtc": "2026-01-20T09:00:00Z",
                        "lastModifiedTimeUtc": format!("2026-01-2{}T10:00:00Z", 3 - i),
                        "createdTimeUtc": "2026-01-20T09:05:00Z",
                        "incidentNumber": n,
                        "additionalData": {"alertsCount": 1, "bookmarksCount": 0, "commentsCount": 0, "alertProductNames": ["Azure Sentinel"], "tactics": ["CredentialAccess"]},
                        "incidentUrl": format!("https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/Incidents/{name}")
                    }
                })
            })
            .collect();
        ArmData {
            incidents,
            comments: Vec::new(),
        }
    }
}

pub(super) fn handle(shared: &Shared, r: &Recorded, conflict: bool) -> Response {
    if let Some(resp) = refuse(shared, r, ARM) {
        return resp;
    }
    if let Some(p) = &r.principal
        && shared.lock().arm_denied.contains(&p.oid)
    {
        return error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            &format!(
                "The client '{}' with object id '{}' does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/read' over scope '{WORKSPACE_RESOURCE_ID}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                p.upn.as_deref().unwrap_or(&p.oid),
                p.oid
            ),
        );
    }
    if r.param("api-version") != Some(API_VERSION) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{}' is invalid.",
                r.param("api-version").unwrap_or("")
            ),
        );
    }
    let prefix = format!("{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/");
    let Some(rest) = r.path.strip_prefix(&prefix) else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The resource {} was not found.", r.path),
        );
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let mut state = shared.lock();
    let Some(data) = state.arm.as_mut() else {
        return super::not_found(&r.path);
    };
    let find = |data: &ArmData, name: &str| data.incidents.iter().position(|i| i["name"] == name);
    match (r.method.as_str(), parts.as_slice()) {
        ("GET", ["incidents"]) => list(&shared.base, data, r),
        ("GET", ["incidents", name]) => match find(data, name) {
            Some(i) => axum::Json(data.incidents[i].clone()).into_response(),
            None => missing(name),
        },
        ("PUT", ["incidents", name]) => {
            let Some(i) = find(data, name) else {
                return missing(name);
            };
            let body = r.json();
            let current = data.incidents[i]["etag"].clone();
            if conflict || body.get("etag") != Some(&current) {
                return error(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "The etag does not match the incident's current etag; it was changed by someone else.");
            }
            let Some(props) = body.get("properties").and_then(Value::as_object) else {
                return error(StatusCode::BAD_REQUEST, "BadRequest", "properties are required");
            };
            for required in ["title", "severity", "status"] {
                if !props.contains_key(required) {
                    return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("The {required} field is required."));
                }
            }
            if props.get("status").and_then(Value::as_str) == Some("Closed") && props.get("classification").is_none_or(Value::is_null) {
                return error(StatusCode::BAD_REQUEST, "BadRequest", "Classification is required when closing an incident.");
            }
            let incident = &mut data.incidents[i];
            for k in ["title", "description", "severity", "status", "classification", "classificationReason", "classificationComment", "owner", "labels"] {
                if let Some(v) = props.get(k) {
                    incident["properties"][k] = v.clone();
                }
            }
            incident["properties"]["lastModifiedTimeUtc"] = json!("2026-01-25T00:00:00Z");
            let n: u64 = incident["etag"].as_str().and_then(|e| e.trim_matches('"').rsplit('-').next()?.parse().ok()).unwrap_or(0);
            incident["etag"] = json!(format!("\"0a00e6f1-0000-0d00-0000-{:012}\"", n + 1));
            axum::Json(incident.clone()).into_response()
        }
        ("POST", ["incidents", name, "alerts"]) => {
            let Some(i) = find(data, name) else {
                return missing(name);
            };
            let n = &data.incidents[i]["properties"]["incidentNumber"];
            axum::Json(json!({"value": [{
                "id": format!("{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/Entities/alert-{n}"),
                "name": format!("alert-{n}"),
                "kind": "SecurityAlert",
                "properties": {
                    "alertDisplayName": "Password spray", "severity": "High", "status": "New",
                    "description": "Many failed sign-ins", "productName": "Azure Sentinel", "vendorName": "Microsoft",
                    "tactics": ["CredentialAccess"], "techniques": ["T1110"], "compromisedEntity": "alex@contoso.com",
                    "startTimeUtc": "2026-01-20T08:00:00Z", "endTimeUtc": "2026-01-20T09:00:00Z", "timeGenerated": "2026-01-20T09:01:00Z",
                    "friendlyName": "Password spray"
                }
            }]}))
            .into_response()
        }
        ("POST", ["incidents", name, "entities"]) => match find(data, name) {
            Some(_) => axum::Json(json!({"entities": [
                {"id": "e1", "name": "e1", "kind": "Account", "properties": {"accountName": "alex", "upnSuffix": "contoso.com", "friendlyName": "alex"}},
                {"id": "e2", "name": "e2", "kind": "Ip", "properties": {"address": "203.0.113.7", "friendlyName": "203.0.113.7"}}
            ], "metaData": [{"count": 1, "entityKind": "Account"}, {"count": 1, "entityKind": "Ip"}]}))
            .into_response(),
            None => missing(name),
        },
        ("GET", ["incidents", name, "comments"]) => {
            let value: Vec<Value> = data.comments.iter().filter(|(n, _)| n == name).map(|(_, c)| c.clone()).collect();
            axum::Json(json!({"value": value})).into_response()
        }
        ("PUT", ["incidents", name, "comments", id]) => {
            if find(data, name).is_none() {
                return missing(name);
            }
            let Some(message) = r.json()["properties"]["message"].as_str().map(str::to_string) else {
                return error(StatusCode::BAD_REQUEST, "BadRequest", "properties.message is required");
            };
            let comment = json!({
                "id": format!("{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/Incidents/{name}/Comments/{id}"),
                "name": id,
                "etag": "\"1\"",
                "type": "Microsoft.SecurityInsights/Incidents/Comments",
                "properties": {"message": message, "createdTimeUtc": "2026-01-25T00:00:00Z", "author": {"name": "sentinel-mcp", "userPrincipalName": null, "objectId": "app", "email": null}}
            });
            data.comments.push((name.to_string(), comment.clone()));
            (StatusCode::CREATED, axum::Json(comment)).into_response()
        }
        _ => super::not_found(&r.path),
    }
}

fn missing(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("Incident '{name}' was not found."),
    )
}

/// `properties/x eq 'v'` / `properties/incidentNumber eq 3` clauses joined by ` and `.
fn matches(item: &Value, filter: &str) -> bool {
    filter.split(" and ").all(|clause| {
        let mut parts = clause.trim().splitn(3, ' ');
        let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let field = field.trim_start_matches("properties/");
        let value = value.trim_matches('\'');
        let actual = match &item["properties"][field] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match op {
            "eq" => actual == value,
            "ge" => actual.as_str() >= value,
            _ => false,
        }
    })
}

fn list(base: &str, data: &ArmData, r: &Recorded) -> Response {
    let filter = r.param("$filter").unwrap_or("");
    let mut matching: Vec<&Value> = data
        .incidents
        .iter()
        .filter(|i| filter.is_empty() || matches(i, filter))
        .collect();
    matching.sort_by(|a, b| {
        b["properties"]["lastModifiedTimeUtc"]
            .as_str()
            .cmp(&a["properties"]["lastModifiedTimeUtc"].as_str())
    });
    let top: usize = r.param("$top").and_then(|t| t.parse().ok()).unwrap_or(50);
    let skip: usize = r
        .param("$skipToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page = top.min(2);
    let value: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(page)
        .map(|v| (*v).clone())
        .collect();
    let mut out = json!({"value": value});
    if skip + page < matching.len() {
        let mut link = format!(
            "{base}{WORKSPACE_RESOURCE_ID}/providers/Microsoft.SecurityInsights/incidents?api-version={API_VERSION}&$skipToken={}&$top={top}",
            skip + page
        );
        if !filter.is_empty() {
            link.push_str(&format!(
                "&$filter={}",
                filter.replace(' ', "%20").replace('\'', "%27")
            ));
        }
        out["nextLink"] = json!(link);
    }
    axum::Json(out).into_response()
}
