//! `POST /v1/workspaces/{id}/query`: runs the query with the local KQL engine over the demo
//! workspace and answers Log Analytics' JSON (dynamic cells as JSON text), or its error shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kql::{KqlError, ScalarType, Table};
use serde_json::{Value, json};

use super::{LOG_ANALYTICS, Recorded, SECOND_WORKSPACE_ID, Shared, WORKSPACE_ID, error, refuse};

pub(super) fn handle(shared: &Shared, r: &Recorded, partial: bool) -> Response {
    if let Some(resp) = refuse(shared, r, LOG_ANALYTICS) {
        return resp;
    }
    let known = [WORKSPACE_ID, SECOND_WORKSPACE_ID]
        .iter()
        .any(|id| r.path == format!("/v1/workspaces/{id}/query"));
    if !known {
        return error(
            StatusCode::NOT_FOUND,
            "WorkspaceNotFoundError",
            &format!("The workspace could not be found: {}", r.path),
        );
    }
    if r.method != "POST" {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "POST the query",
        );
    }
    let body = r.json();
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadArgumentError",
            "The request had some invalid properties: query is required",
        );
    };
    let timespan = match body.get("timespan").and_then(Value::as_str) {
        None => None,
        Some(ts) => match interval(ts) {
            Some(range) => Some(range),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadArgumentError",
                    &format!("Invalid timespan '{ts}'"),
                );
            }
        },
    };
    let now = kql::value::datetime_to_ticks(chrono::Utc::now());
    let opts = kql::ExecOptions {
        now,
        timespan,
        deadline: None,
        cancel: None,
        ..kql::ExecOptions::default()
    };
    match kql::execute(&shared.catalog_for(r.principal.as_ref()), query, &opts) {
        Ok(result) => {
            let mut out = json!({"tables": [table_json(&result.table)]});
            if r.header("prefer")
                .is_some_and(|p| p.contains("include-statistics=true"))
            {
                out["statistics"] = json!({"query": {"executionTime": 0.01, "resourceUsage": {"cache": {"memory": {"hits": 1}}}}});
            }
            // As the service: the render instructions only for a client that asks for them.
            if let Some(v) = &result.visualization
                && r.header("prefer")
                    .is_some_and(|p| p.contains("include-render=true"))
            {
                out["render"] = render_json(v);
            }
            if partial {
                out["error"] = json!({
                    "code": "PartialError",
                    "message": "There were some errors when processing your query.",
                    "details": [{"code": "EngineError", "message": "Something went wrong processing your query on the server.",
                                 "innererror": {"code": "-2133196797", "message": "Query result set has exceeded the internal data size limit 64000000 (E_QUERY_RESULT_SET_TOO_LARGE)."}}]
                });
            }
            axum::Json(out).into_response()
        }
        Err(e) => query_error(&e),
    }
}

/// A `render` as Log Analytics describes it: camel-case names, a list as an array, and the
/// members the service always sends.
fn render_json(v: &kql::Visualization) -> Value {
    let mut out = json!({
        "visualization": v.kind, "title": "", "accumulate": false, "isQuerySorted": false,
        "kind": "default", "annotation": "", "by": null,
    });
    for (name, value) in &v.properties {
        let key = match name.to_ascii_lowercase().as_str() {
            "xtitle" => "xTitle",
            "ytitle" => "yTitle",
            "xcolumn" => "xColumn",
            "ycolumns" => "yColumns",
            "ymin" => "yMin",
            "ymax" => "yMax",
            "title" => "title",
            "kind" => "kind",
            "series" => "series",
            "legend" => "legend",
            _ => continue,
        };
        out[key] = match key {
            "yColumns" | "series" => json!(value.split(',').map(str::trim).collect::<Vec<_>>()),
            "yMin" | "yMax" => value.parse::<f64>().map_or(Value::Null, |n| json!(n)),
            _ => json!(value),
        };
    }
    out
}

fn interval(text: &str) -> Option<(i64, i64)> {
    let (a, b) = text.split_once('/')?;
    Some((
        kql::value::parse_datetime_text(a)?,
        kql::value::parse_datetime_text(b)?,
    ))
}

/// A result table in Log Analytics' shape.
pub(crate) fn table_json(t: &Table) -> Value {
    let columns: Vec<Value> = t
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.ty.name()}))
        .collect();
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|row| {
            Value::Array(
                row.iter()
                    .zip(&t.columns)
                    .map(|(v, c)| {
                        let j = v.to_json();
                        if c.ty == ScalarType::Dynamic && !j.is_null() {
                            Value::String(j.to_string())
                        } else {
                            j
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    json!({"name": "PrimaryResult", "columns": columns, "rows": rows})
}

fn query_error(e: &KqlError) -> Response {
    let (inner_code, inner_message) = match e {
        KqlError::Syntax { .. } => ("SyntaxError", "A recognition error occurred in the query."),
        KqlError::Resolution { .. } | KqlError::Type { .. } => {
            ("SemanticError", "A semantic error occurred.")
        }
        _ => ("EngineError", "The query failed."),
    };
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {
            "message": "The request had some invalid properties",
            "code": "BadArgumentError",
            "correlationId": "5e8bd4a1-0000-4a2e-9b1e-000000000000",
            "innererror": {"code": inner_code, "message": inner_message,
                "innererror": {"code": "SYN0002", "message": e.to_string()}}
        }})),
    )
        .into_response()
}
