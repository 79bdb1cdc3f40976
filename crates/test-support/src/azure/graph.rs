//! Microsoft Graph security: `/v1.0/security/incidents` (filter, top, paging, expand, PATCH,
//! comments), `/v1.0/security/alerts_v2` and `/v1.0/security/runHuntingQuery`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kql::ScalarType;
use serde_json::{Value, json};

use super::{GRAPH, Recorded, Shared, error, refuse};

/// The fake's incidents and alerts (Graph's shapes) and its page size.
pub(crate) struct GraphData {
    pub(crate) incidents: Vec<Value>,
    pub(crate) alerts: Vec<Value>,
    pub(crate) page_size: usize,
}

impl GraphData {
    pub(crate) fn seed() -> GraphData {
        let severities = ["high", "medium", "high", "low", "informational"];
        let statuses = ["active", "inProgress", "active", "resolved", "active"];
        let mut incidents = Vec::new();
        let mut alerts = Vec::new();
        for (i, (sev, status)) in severities.iter().zip(statuses).enumerate() {
            let id = (101 + i).to_string();
            let updated = format!("2026-01-{:02}T10:00:00Z", 20 - i);
            for n in 1..=2 {
                alerts.push(json!({
                    "id": format!("da{id}-{n}"),
                    "incidentId": id,
                    "title": format!("Suspicious activity {n} on incident {id}"),
                    "description": "A process made an unusual connection.",
                    "severity": sev,
                    "status": "new",
                    "serviceSource": "microsoftDefenderForEndpoint",
                    "detectionSource": "antivirus",
                    "productName": "Microsoft Defender for Endpoint",
                    "category": "credentialAccess",
                    "mitreTechniques": ["T1110", "T1078"],
                    "createdDateTime": format!("2026-01-{:02}T09:0{n}:00Z", 20 - i),
                    "firstActivityDateTime": format!("2026-01-{:02}T08:0{n}:00Z", 20 - i),
                    "lastActivityDateTime": format!("2026-01-{:02}T09:0{n}:00Z", 20 - i),
                    "evidence": [
                        {"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": format!("ws-{id}.contoso.com"), "roles": [], "verdict": "suspicious"},
                        {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"userPrincipalName": "alex@contoso.com", "accountName": "alex"}}
                    ]
                }));
            }
            incidents.push(json!({
                "id": id,
                "tenantId": "contoso-tenant",
                "displayName": format!("Multi-stage incident {id}"),
                "description": "Password spray followed by a sign-in.",
                "severity": sev,
                "status": status,
                "classification": "unknown",
                "determination": "unknown",
                "assignedTo": null,
                "createdDateTime": format!("2026-01-{:02}T09:00:00Z", 20 - i),
                "lastUpdateDateTime": updated,
                "incidentWebUrl": format!("https://security.microsoft.com/incidents/{id}"),
                "customTags": ["demo"],
                "systemTags": [],
                "comments": []
            }));
        }
        GraphData {
            incidents,
            alerts,
            page_size: 2,
        }
    }
}

pub(super) fn handle(shared: &Shared, r: &Recorded) -> Response {
    if let Some(resp) = refuse(shared, r, GRAPH) {
        return resp;
    }
    let who = r.principal.as_ref();
    let rest = r.path.trim_start_matches("/v1.0/security/");
    let parts: Vec<&str> = rest.split('/').collect();
    match (r.method.as_str(), parts.as_slice()) {
        ("GET", ["incidents"]) => list(shared, r, "incidents"),
        ("GET", ["alerts_v2"]) => list(shared, r, "alerts_v2"),
        ("GET", ["incidents", id]) => {
            let data = shared.graph();
            match data.incidents.iter().find(|i| i["id"] == *id) {
                Some(i) if data.sees(who, id) => axum::Json(expand(&data, i, r)).into_response(),
                _ => missing(id),
            }
        }
        ("GET", ["alerts_v2", id]) => {
            let data = shared.graph();
            match data.alerts.iter().find(|a| a["id"] == *id) {
                Some(a) if data.sees(who, a["incidentId"].as_str().unwrap_or_default()) => {
                    axum::Json(a.clone()).into_response()
                }
                _ => missing(id),
            }
        }
        ("PATCH", ["incidents", id]) => {
            let body = r.json();
            let mut state = shared.lock();
            if !state.sees_incident(who, id) {
                return missing(id);
            }
            let Some(data) = state.graph.as_mut() else {
                return missing(id);
            };
            let Some(incident) = data.incidents.iter_mut().find(|i| i["id"] == *id) else {
                return missing(id);
            };
            let Some(fields) = body.as_object() else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "The body must be an object.",
                );
            };
            for (k, v) in fields {
                if ![
                    "status",
                    "severity",
                    "classification",
                    "determination",
                    "assignedTo",
                    "customTags",
                    "description",
                    "displayName",
                ]
                .contains(&k.as_str())
                {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!("Property '{k}' cannot be updated."),
                    );
                }
                incident[k] = v.clone();
            }
            incident["lastUpdateDateTime"] = json!("2026-01-25T00:00:00Z");
            axum::Json(incident.clone()).into_response()
        }
        ("POST", ["incidents", id, "comments"]) => {
            let body = r.json();
            let Some(text) = body.get("comment").and_then(Value::as_str) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "comment is required.",
                );
            };
            let mut state = shared.lock();
            if !state.sees_incident(who, id) {
                return missing(id);
            }
            let Some(data) = state.graph.as_mut() else {
                return missing(id);
            };
            let Some(incident) = data.incidents.iter_mut().find(|i| i["id"] == *id) else {
                return missing(id);
            };
            // Graph names the signed-in user as the author of a delegated call's comment.
            let author = match who {
                Some(p) if !p.app_only => p.upn.clone().unwrap_or_else(|| p.oid.clone()),
                _ => "sentinel-mcp (app)".to_string(),
            };
            let comment = json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": text, "createdByDisplayName": author, "createdDateTime": "2026-01-25T00:00:00Z"});
            if let Some(list) = incident["comments"].as_array_mut() {
                list.push(comment);
            }
            let comments = incident["comments"].clone();
            axum::Json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)", "value": comments})).into_response()
        }
        ("POST", ["runHuntingQuery"]) => hunting(shared, r),
        _ => super::not_found(&r.path),
    }
}

fn missing(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("Entity with id '{id}' was not found."),
    )
}

fn expand(data: &GraphData, incident: &Value, r: &Recorded) -> Value {
    let mut out = incident.clone();
    if r.param("$expand") == Some("alerts") {
        let id = &incident["id"];
        out["alerts"] = Value::Array(
            data.alerts
                .iter()
                .filter(|a| &a["incidentId"] == id)
                .cloned()
                .collect(),
        );
    }
    out
}

/// `field eq 'v' and field ge 2024-…` over the items.
fn matches(item: &Value, filter: &str) -> bool {
    filter.split(" and ").all(|clause| {
        let mut parts = clause.trim().splitn(3, ' ');
        let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let value = value.trim_matches('\'');
        let actual = match &item[field] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match op {
            "eq" => actual.eq_ignore_ascii_case(value),
            "ge" => actual.as_str() >= value,
            "le" => actual.as_str() <= value,
            _ => false,
        }
    })
}

fn list(shared: &Shared, r: &Recorded, what: &str) -> Response {
    let data = shared.graph();
    let items = if what == "incidents" {
        &data.incidents
    } else {
        &data.alerts
    };
    let filter = r.param("$filter").unwrap_or("");
    let who = r.principal.as_ref();
    let visible = |i: &Value| {
        let incident = if what == "incidents" {
            &i["id"]
        } else {
            &i["incidentId"]
        };
        data.sees(who, incident.as_str().unwrap_or_default())
    };
    let matching: Vec<&Value> = items
        .iter()
        .filter(|i| visible(i) && (filter.is_empty() || matches(i, filter)))
        .collect();
    let top: usize = r.param("$top").and_then(|t| t.parse().ok()).unwrap_or(50);
    let skip: usize = r
        .param("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page = top.min(data.page_size);
    let value: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(page)
        .map(|i| {
            if what == "incidents" {
                expand(&data, i, r)
            } else {
                (*i).clone()
            }
        })
        .collect();
    let mut out = json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#security/{what}"), "value": value});
    if skip + page < matching.len() {
        let mut link = format!(
            "{}/v1.0/security/{what}?$top={top}&$skiptoken={}",
            shared.base,
            skip + page
        );
        for (k, v) in &r.query {
            if k != "$top" && k != "$skiptoken" {
                link.push_str(&format!("&{k}={}", encode(v)));
            }
        }
        out["@odata.nextLink"] = json!(link);
    }
    axum::Json(out).into_response()
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hunting(shared: &Shared, r: &Recorded) -> Response {
    let body = r.json();
    let Some(query) = body.get("Query").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Query is required.");
    };
    let timespan = body.get("Timespan").and_then(Value::as_str).and_then(|ts| {
        let (a, b) = ts.split_once('/')?;
        Some((
            kql::value::parse_datetime_text(a)?,
            kql::value::parse_datetime_text(b)?,
        ))
    });
    let opts = kql::ExecOptions {
        now: kql::value::datetime_to_ticks(chrono::Utc::now()),
        timespan,
        deadline: None,
        cancel: None,
        ..kql::ExecOptions::default()
    };
    match kql::execute(&shared.catalog_for(r.principal.as_ref()), query, &opts) {
        Ok(result) => {
            let t = &result.table;
            let schema: Vec<Value> = t
                .columns
                .iter()
                .map(|c| json!({"name": c.name, "type": graph_type(c.ty)}))
                .collect();
            let results: Vec<Value> = t
                .rows
                .iter()
                .map(|row| {
                    Value::Object(
                        t.columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| (c.name.clone(), v.to_json()))
                            .collect(),
                    )
                })
                .collect();
            axum::Json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults", "schema": schema, "results": results})).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Query execution failed: {e}"),
        ),
    }
}

fn graph_type(ty: ScalarType) -> &'static str {
    match ty {
        ScalarType::Bool => "Boolean",
        ScalarType::Int => "Int32",
        ScalarType::Long => "Int64",
        ScalarType::Real => "Double",
        ScalarType::Decimal => "Decimal",
        ScalarType::String => "String",
        ScalarType::DateTime => "DateTime",
        ScalarType::TimeSpan => "TimeSpan",
        ScalarType::Guid => "Guid",
        ScalarType::Dynamic => "Object",
    }
}
