//! `LogAnalyticsClient`: `POST {endpoint}/v1/workspaces/{id}/query` and the mapping of its
//! typed JSON tables into `kql::Table`.

use std::sync::Arc;
use std::time::Duration;

use kql::value::format_datetime;
use kql::{Column, ScalarType, Table, Value};
use reqwest::Method;
use serde_json::Value as J;

use super::{AzureError, AzureHttp, join};
use crate::outbound::OutboundRequest;

const SERVICE: &str = "Log Analytics";
/// The backend metrics\' `service` label of its calls.
const METRIC: &str = "log_analytics";

/// A query's answer from Log Analytics.
#[derive(Debug, Clone, Default)]
pub struct LogAnalyticsResult {
    pub table: Table,
    pub warnings: Vec<String>,
    pub visualization: Option<kql::Visualization>,
}

/// The Log Analytics query API.
pub struct LogAnalyticsClient {
    pub http: Arc<AzureHttp>,
    pub endpoint: String,
    pub audience: String,
}

/// `start/end` in ISO 8601, as the API's `timespan` takes it.
pub fn iso_interval(start: i64, end: i64) -> String {
    format!("{}/{}", format_datetime(start), format_datetime(end))
}

impl LogAnalyticsClient {
    /// Runs `query` on `workspace_id` over `[start, end)`, waiting up to `timeout` server-side.
    pub async fn query(
        &self,
        workspace_id: &str,
        query: &str,
        timespan: Option<(i64, i64)>,
        timeout: Duration,
    ) -> Result<LogAnalyticsResult, AzureError> {
        let url = join(
            &self.endpoint,
            &format!("v1/workspaces/{}/query", super::encode(workspace_id)),
        );
        let mut body = serde_json::json!({ "query": query });
        if let Some((start, end)) = timespan {
            body["timespan"] = J::String(iso_interval(start, end));
        }
        let wait = timeout.as_secs().clamp(1, 600);
        // Reading is safe to repeat, so 5xx is retried too.
        let request = OutboundRequest::new(Method::POST, url)
            .service(METRIC)
            .header(
                "Prefer",
                format!("wait={wait}, include-statistics=true, include-render=true"),
            )
            .json(body)
            // A little more than the service's own wait, so its timeout error arrives first.
            .timeout(timeout + Duration::from_secs(5))
            .idempotent(true);
        let value = self.http.json(SERVICE, &self.audience, request).await?;
        parse_response(&value).map_err(|reason| AzureError::Decode {
            service: SERVICE,
            reason,
        })
    }
}

/// Reads `{"tables":[{"name","columns":[{"name","type"}],"rows":[[…]]}], "error"?, "render"?}`.
pub fn parse_response(v: &J) -> Result<LogAnalyticsResult, String> {
    let tables = v
        .get("tables")
        .and_then(J::as_array)
        .ok_or("no \"tables\" array")?;
    let primary = tables
        .iter()
        .find(|t| t.get("name").and_then(J::as_str) == Some("PrimaryResult"))
        .or_else(|| tables.first());
    let table = match primary {
        Some(t) => parse_table(t)?,
        None => Table::default(),
    };
    let mut warnings = Vec::new();
    if let Some(error) = v.get("error").filter(|e| !e.is_null()) {
        warnings.push(partial_warning(error));
    }
    let visualization = v.get("render").and_then(visualization);
    Ok(LogAnalyticsResult {
        table,
        warnings,
        visualization,
    })
}

/// The `render` object (`Prefer: include-render=true`), e.g. `{"visualization": "barchart",
/// "title": "…", "kind": "default", "yColumns": null, …}`, as the properties of a KQL `render`:
/// names lower-cased as KQL writes them, null members left out, a list joined by commas.
fn visualization(render: &J) -> Option<kql::Visualization> {
    let object = render.as_object()?;
    let kind = object.get("visualization")?.as_str()?.to_string();
    let properties = object
        .iter()
        .filter(|(name, _)| *name != "visualization")
        .filter_map(|(name, value)| {
            let value = match value {
                J::String(s) if !s.is_empty() => s.clone(),
                J::Number(n) => n.to_string(),
                J::Bool(b) => b.to_string(),
                J::Array(items) => items
                    .iter()
                    .filter_map(J::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => return None,
            };
            Some((name.to_ascii_lowercase(), value))
        })
        .collect();
    Some(kql::Visualization { kind, properties })
}

fn partial_warning(error: &J) -> String {
    let code = error
        .get("code")
        .and_then(J::as_str)
        .unwrap_or("PartialError");
    let mut parts = vec![
        error
            .get("message")
            .and_then(J::as_str)
            .unwrap_or("some errors occurred")
            .to_string(),
    ];
    if let Some(details) = error.get("details").and_then(J::as_array) {
        for d in details {
            let m = d
                .get("innererror")
                .and_then(|i| i.get("message"))
                .or_else(|| d.get("message"))
                .and_then(J::as_str);
            if let Some(m) = m {
                parts.push(m.to_string());
            }
        }
    }
    format!(
        "Partial results: Log Analytics reported {code}: {}. Rows may be missing.",
        parts.join(" ")
    )
}

/// One table of the response.
pub fn parse_table(t: &J) -> Result<Table, String> {
    let columns: Vec<Column> = t
        .get("columns")
        .and_then(J::as_array)
        .ok_or("a table has no \"columns\"")?
        .iter()
        .map(|c| {
            let name = c.get("name").and_then(J::as_str).unwrap_or_default();
            let ty = c
                .get("type")
                .and_then(J::as_str)
                .and_then(ScalarType::from_name)
                .unwrap_or(ScalarType::Dynamic);
            Column::new(name, ty)
        })
        .collect();
    let rows = t
        .get("rows")
        .and_then(J::as_array)
        .ok_or("a table has no \"rows\"")?
        .iter()
        .map(|row| {
            let cells = row.as_array().map(Vec::as_slice).unwrap_or_default();
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| cell(c.ty, cells.get(i).unwrap_or(&J::Null)))
                .collect()
        })
        .collect();
    Ok(Table { columns, rows })
}

/// A cell as the column's type; what cannot be read as that type is null.
pub fn cell(ty: ScalarType, v: &J) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    let text = v.as_str();
    match ty {
        ScalarType::Bool => match v {
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Bool(n.as_f64() != Some(0.0)),
            _ => match text.map(str::to_ascii_lowercase).as_deref() {
                Some("true") | Some("1") => Value::Bool(true),
                Some("false") | Some("0") => Value::Bool(false),
                _ => Value::Null,
            },
        },
        ScalarType::Int => integer(v)
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, Value::Int),
        ScalarType::Long => integer(v).map_or(Value::Null, Value::Long),
        ScalarType::Real => real(v).map_or(Value::Null, Value::Real),
        // Log Analytics writes decimals as text: every digit kept.
        ScalarType::Decimal => match v {
            J::String(s) => kql::Decimal::parse(s).map_or(Value::Null, Value::Decimal),
            other => real(other).map_or(Value::Null, Value::decimal),
        },
        ScalarType::String => match v {
            J::String(s) => Value::str(s),
            other => Value::str(other.to_string()),
        },
        ScalarType::DateTime => text
            .and_then(kql::value::parse_datetime_text)
            .map_or(Value::Null, Value::DateTime),
        ScalarType::TimeSpan => text
            .and_then(kql::value::parse_timespan_text)
            .map_or(Value::Null, Value::TimeSpan),
        ScalarType::Guid => text
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .map_or(Value::Null, Value::Guid),
        // Log Analytics sends dynamic cells as JSON text; a plain string stays a string.
        ScalarType::Dynamic => match v {
            J::String(s) => Value::dynamic(
                serde_json::from_str::<J>(s).unwrap_or_else(|_| J::String(s.clone())),
            ),
            other => Value::dynamic(other.clone()),
        },
    }
}

fn integer(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        J::String(s) => s.trim().parse().ok(),
        J::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn real(v: &J) -> Option<f64> {
    match v {
        J::Number(n) => n.as_f64(),
        J::String(s) => match s.trim() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_column_type_maps_including_dynamic_as_json_text() {
        let v = json!({"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "b", "type": "bool"}, {"name": "i", "type": "int"}, {"name": "l", "type": "long"},
            {"name": "r", "type": "real"}, {"name": "d", "type": "decimal"}, {"name": "s", "type": "string"},
            {"name": "t", "type": "datetime"}, {"name": "ts", "type": "timespan"}, {"name": "g", "type": "guid"},
            {"name": "dy", "type": "dynamic"}, {"name": "dy2", "type": "dynamic"}],
            "rows": [[true, 5, 9007199254740993i64, "NaN", "1.5", "x", "2024-01-02T03:04:05.5Z", "1.02:03:04",
                      "6f1e1a8c-0a5b-4d4b-9c1e-2f3a4b5c6d7e", "{\"a\":[1,2]}", "plain"]]}]});
        let r = parse_response(&v).unwrap();
        let row = &r.table.rows[0];
        assert_eq!(row[0], Value::Bool(true));
        assert_eq!(row[1], Value::Int(5));
        assert_eq!(row[2], Value::Long(9007199254740993));
        assert!(matches!(row[3], Value::Real(x) if x.is_nan()));
        assert_eq!(row[4], Value::decimal(1.5));
        assert_eq!(row[5], Value::str("x"));
        assert_eq!(
            format_datetime(match row[6] {
                Value::DateTime(t) => t,
                _ => 0,
            }),
            "2024-01-02T03:04:05.5Z"
        );
        assert_eq!(row[7], Value::TimeSpan((93_784) * 10_000_000));
        assert!(matches!(row[8], Value::Guid(_)));
        assert_eq!(row[9], Value::dynamic(json!({"a": [1, 2]})));
        assert_eq!(row[10], Value::dynamic(json!("plain")));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn partial_errors_become_a_visible_warning() {
        let v = json!({"tables": [{"name": "PrimaryResult", "columns": [], "rows": []}],
            "error": {"code": "PartialError", "message": "There were some errors when processing your query.",
                      "details": [{"code": "EngineError", "message": "x", "innererror": {"code": "E_QUERY_RESULT_SET_TOO_LARGE", "message": "result set too large"}}]}});
        let r = parse_response(&v).unwrap();
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].contains("PartialError")
                && r.warnings[0].contains("result set too large"),
            "{:?}",
            r.warnings
        );
    }
}
