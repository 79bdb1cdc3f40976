//! Kept results as MCP resources: the URI template `resources/templates/list` advertises, a
//! principal's live results for `resources/list`, and `resources/read`'s pages of one result
//! (`?offset=&limit=`, `format=json|csv`). Every transport answers through these.

use kql::Value;
use rmcp::ErrorData;
use rmcp::model::{
    CacheScope, ErrorCode, JsonObject, ListResourceTemplatesResult, ListResourcesResult,
    MetaObject, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use serde_json::json;

use super::{ResultStore, URI_PREFIX};

/// The template of a kept result's URI (RFC 6570).
pub const TEMPLATE: &str = "sentinel://results/{id}{?offset,limit,format}";

/// Rows in a page when the URI asks for no `limit`, and the most it may ask for.
pub const DEFAULT_PAGE_ROWS: usize = 1_000;
pub const MAX_PAGE_ROWS: usize = 10_000;

/// A page stops before its rows' text passes this (it always holds at least one row): the next
/// page starts where it stopped (`next_offset`).
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// How long a client may cache the template list: it never changes while the server runs.
const TEMPLATES_TTL_MS: u64 = 3_600_000;

/// The text a page is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    fn mime_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv",
        }
    }
}

/// What a `resources/read` URI asks for.
#[derive(Debug, PartialEq, Eq)]
struct PageRequest<'a> {
    id: &'a str,
    offset: usize,
    limit: usize,
    format: Format,
}

/// `resources/templates/list`: the one template. With `hints` (the 2026-07-28 revision's
/// caching hints) it may be cached by anyone for an hour: it is the same for every caller.
pub fn templates(hints: bool) -> ListResourceTemplatesResult {
    let template = ResourceTemplate::new(TEMPLATE, "query-result")
        .with_title("Full result of a truncated answer")
        .with_description(format!(
            "The whole table of a tool answer the row or size cap cut (a run_kql_query or run_hunting_query result, a list_incidents or list_alerts list, investigate_entity's timeline), kept for a while for the caller that asked. \
             The truncated answer links to it. Read it in pages: offset (first row, default 0), limit (rows, default {DEFAULT_PAGE_ROWS}, at most {MAX_PAGE_ROWS}), \
             format json (default: columns, rows, total_rows, next_offset) or csv."
        ))
        .with_mime_type(Format::Json.mime_type());
    let result = ListResourceTemplatesResult::with_all_items(vec![template]);
    match hints {
        true => result
            .with_ttl_ms(TEMPLATES_TTL_MS)
            .with_cache_scope(CacheScope::Public),
        false => result,
    }
}

/// `resources/list`: the caller's live results. Private, and stale at once: a query may add one.
pub fn list(store: &ResultStore, owner: &str, hints: bool) -> ListResourcesResult {
    let resources = store
        .list(owner)
        .iter()
        .map(|r| {
            Resource::new(r.uri(), format!("{}-{}", r.kind.name, r.id))
                .with_title(format!("Full {}: {} rows", r.kind.noun, r.table.rows.len()))
                .with_description(format!(
                    "The whole {} a truncated answer left rows out of ({} rows, {} columns), kept until {}.",
                    r.kind.noun,
                    r.table.rows.len(),
                    r.table.columns.len(),
                    kql::value::format_datetime(r.expires_ticks)
                ))
                .with_mime_type(Format::Json.mime_type())
        })
        .collect();
    let result = ListResourcesResult::with_all_items(resources);
    match hints {
        true => result.with_ttl_ms(0).with_cache_scope(CacheScope::Private),
        false => result,
    }
}

/// `resources/read`: one page of a kept result, from this replica's store or, when another
/// replica kept it, from the shared store. An unknown, expired or another principal's id
/// is the same `RESOURCE_NOT_FOUND` error (rmcp turns it into `INVALID_PARAMS` for a peer of the
/// 2026-07-28 revision, as that revision asks); a malformed page request is `INVALID_PARAMS`.
/// With `hints`, the page may be cached by this caller until the result expires: it never
/// changes.
pub async fn read(
    store: &ResultStore,
    owner: &str,
    uri: &str,
    hints: bool,
) -> Result<ReadResourceResult, ErrorData> {
    let request = parse(uri)?;
    let (contents, expires_ticks) = match store.get(owner, request.id) {
        Some(stored) => (
            page(
                Rows {
                    rows: &stored.table.rows,
                    first: 0,
                    total: stored.table.rows.len(),
                    columns: &stored.table.columns,
                    warnings: &stored.warnings,
                    expires_ticks: stored.expires_ticks,
                },
                &request,
                uri,
            ),
            stored.expires_ticks,
        ),
        None => {
            let wanted = request.offset..request.offset.saturating_add(request.limit);
            let Some((header, table, first)) = store.fetch_shared(owner, request.id, wanted).await
            else {
                return Err(expired_or_unknown(store, &request, uri));
            };
            let rows = Rows {
                rows: &table.rows,
                first,
                total: header.total,
                columns: &table.columns,
                warnings: &header.warnings,
                expires_ticks: header.expires_ticks,
            };
            (page(rows, &request, uri), header.expires_ticks)
        }
    };
    let result = ReadResourceResult::new(vec![contents]);
    Ok(match hints {
        true => result
            .with_ttl_ms(store.remaining_ms_until(expires_ticks))
            .with_cache_scope(CacheScope::Private),
        false => result,
    })
}

fn expired_or_unknown(store: &ResultStore, request: &PageRequest<'_>, uri: &str) -> ErrorData {
    ErrorData::new(
        ErrorCode::RESOURCE_NOT_FOUND,
        format!(
            "the result {} is expired or unknown: a truncated answer's full result is kept for {} seconds (less when newer ones need the room), for the caller that asked only; ask again",
            request.id,
            store.ttl().as_secs()
        ),
        Some(json!({ "uri": uri })),
    )
}

/// Reads a kept result's URI: `sentinel://results/{id}` and its query parameters.
fn parse(uri: &str) -> Result<PageRequest<'_>, ErrorData> {
    let Some(rest) = uri.strip_prefix(URI_PREFIX) else {
        return Err(ErrorData::new(
            ErrorCode::RESOURCE_NOT_FOUND,
            format!(
                "unknown resource {uri}: this server's resources are kept query results, {URI_PREFIX}{{id}}"
            ),
            Some(json!({ "uri": uri })),
        ));
    };
    let (id, query) = rest.split_once('?').unwrap_or((rest, ""));
    let invalid = |message: String| ErrorData::invalid_params(message, Some(json!({ "uri": uri })));
    let mut request = PageRequest {
        id,
        offset: 0,
        limit: DEFAULT_PAGE_ROWS,
        format: Format::Json,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<usize>().map_err(|_| {
                invalid(format!(
                    "{key} must be a whole number of rows, not '{value}'"
                ))
            })
        };
        match key {
            "offset" => request.offset = number()?,
            "limit" => {
                request.limit = number()?;
                if !(1..=MAX_PAGE_ROWS).contains(&request.limit) {
                    return Err(invalid(format!(
                        "limit must be from 1 to {MAX_PAGE_ROWS} rows, not {}",
                        request.limit
                    )));
                }
            }
            "format" => {
                request.format = match value.to_ascii_lowercase().as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    _ => {
                        return Err(invalid(format!(
                            "format must be json or csv, not '{value}'"
                        )));
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "unknown parameter '{key}': a result's URI takes offset, limit and format"
                )));
            }
        }
    }
    Ok(request)
}

/// Rows of a kept result a page is cut from: `rows` are rows `first..` of `total`.
struct Rows<'a> {
    rows: &'a [Vec<Value>],
    first: usize,
    total: usize,
    columns: &'a [kql::Column],
    warnings: &'a [String],
    expires_ticks: i64,
}

/// The page `request` asks for, as one text content: JSON (`columns`, `rows`, `offset`,
/// `returned_rows`, `total_rows`, `next_offset`, `warnings`, `expires_at`) or CSV with a header
/// line. Either way the content's `_meta` carries the paging numbers.
fn page(source: Rows<'_>, request: &PageRequest<'_>, uri: &str) -> ResourceContents {
    let total = source.total;
    let start = request.offset.min(total);
    let from = start.saturating_sub(source.first).min(source.rows.len());
    let mut text = String::new();
    let mut rows: Vec<String> = Vec::new();
    let mut bytes = 0;
    for row in source.rows[from..].iter().take(request.limit) {
        let line = match request.format {
            Format::Json => {
                serde_json::Value::Array(row.iter().map(Value::to_json).collect()).to_string()
            }
            Format::Csv => csv_record(row.iter().map(Value::to_string)),
        };
        if bytes + line.len() > PAGE_BYTES && !rows.is_empty() {
            break;
        }
        bytes += line.len();
        rows.push(line);
    }
    let returned = rows.len();
    let next = (start + returned < total).then_some(start + returned);
    let expires_at = kql::value::format_datetime(source.expires_ticks);
    match request.format {
        Format::Json => {
            text.push_str("{\"columns\":");
            text.push_str(&columns_json(source.columns).to_string());
            text.push_str(",\"rows\":[");
            text.push_str(&rows.join(","));
            text.push_str("],");
            let tail = json!({
                "offset": start,
                "returned_rows": returned,
                "total_rows": total,
                "next_offset": next,
                "warnings": source.warnings,
                "expires_at": expires_at,
            })
            .to_string();
            text.push_str(&tail[1..]);
        }
        Format::Csv => {
            text.push_str(&csv_record(source.columns.iter().map(|c| c.name.clone())));
            for row in rows {
                text.push_str(&row);
            }
        }
    }
    let mut meta = JsonObject::new();
    for (key, value) in [
        ("offset", json!(start)),
        ("returned_rows", json!(returned)),
        ("total_rows", json!(total)),
        ("next_offset", json!(next)),
        ("expires_at", json!(expires_at)),
    ] {
        meta.insert(key.into(), value);
    }
    ResourceContents::TextResourceContents {
        uri: uri.to_string(),
        mime_type: Some(request.format.mime_type().into()),
        text,
        meta: Some(MetaObject(meta)),
    }
}

fn columns_json(columns: &[kql::Column]) -> serde_json::Value {
    columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.ty.name()}))
        .collect()
}

/// One CSV line (RFC 4180: a field with a comma, quote or line break is quoted).
fn csv_record(fields: impl Iterator<Item = String>) -> String {
    let mut line = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&f);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;
    use crate::results::Kept;
    use kql::{Column, ScalarType, Table};

    fn store_with(rows: usize) -> (ResultStore, String) {
        let store = ResultStore::new(Clock::system(), Duration::from_secs(600), 1 << 24);
        let table = Table {
            columns: vec![
                Column::new("n", ScalarType::Long),
                Column::new("s", ScalarType::String),
            ],
            rows: (0..rows)
                .map(|i| vec![Value::Long(i as i64), Value::str(format!("a,\"{i}\""))])
                .collect(),
        };
        let Kept::Stored(r) = store.keep(
            "o",
            &crate::results::QUERY_RESULT,
            table,
            vec!["a note".into()],
        ) else {
            panic!("not kept")
        };
        (store, r.uri())
    }

    fn text(result: &ReadResourceResult) -> (&str, &JsonObject) {
        match &result.contents[0] {
            ResourceContents::TextResourceContents { text, meta, .. } => {
                (text, &meta.as_ref().unwrap().0)
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_json_page_carries_the_rows_asked_for_and_where_the_next_starts() {
        let (store, uri) = store_with(2_500);
        let first = read(&store, "o", &uri, true).await.unwrap();
        let (body, meta) = text(&first);
        let page: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(page["rows"].as_array().unwrap().len(), DEFAULT_PAGE_ROWS);
        assert_eq!(page["total_rows"], 2_500);
        assert_eq!(page["next_offset"], 1_000);
        assert_eq!(page["columns"][0], json!({"name": "n", "type": "long"}));
        assert_eq!(page["warnings"], json!(["a note"]));
        assert_eq!(meta.get("next_offset"), Some(&json!(1_000)));
        assert_eq!(first.cache_scope, Some(CacheScope::Private));
        assert!(first.ttl_ms.unwrap() > 590_000);
        let last = read(&store, "o", &format!("{uri}?offset=2400&limit=500"), false)
            .await
            .unwrap();
        let page: serde_json::Value = serde_json::from_str(text(&last).0).unwrap();
        assert_eq!(page["rows"][0][0], 2_400);
        assert_eq!(page["returned_rows"], 100);
        assert_eq!(page["next_offset"], serde_json::Value::Null);
        assert_eq!(last.ttl_ms, None);
    }

    #[tokio::test]
    async fn a_csv_page_has_a_header_and_quotes_what_needs_it() {
        let (store, uri) = store_with(3);
        let result = read(&store, "o", &format!("{uri}?format=csv&offset=1"), false)
            .await
            .unwrap();
        let (body, meta) = text(&result);
        assert_eq!(body, "n,s\r\n1,\"a,\"\"1\"\"\"\r\n2,\"a,\"\"2\"\"\"\r\n");
        assert_eq!(meta.get("total_rows"), Some(&json!(3)));
        let ResourceContents::TextResourceContents { mime_type, .. } = &result.contents[0] else {
            unreachable!()
        };
        assert_eq!(mime_type.as_deref(), Some("text/csv"));
    }

    #[tokio::test]
    async fn unknown_and_someone_elses_results_get_the_same_error() {
        let (store, uri) = store_with(3);
        let theirs = read(&store, "p", &uri, false).await.unwrap_err();
        let id = uri.strip_prefix(URI_PREFIX).unwrap();
        let unknown_uri = uri.replace(id, "0123456789abcdef0123456789abcdef");
        let unknown = read(&store, "o", &unknown_uri, false).await.unwrap_err();
        assert_eq!(theirs.code, ErrorCode::RESOURCE_NOT_FOUND);
        assert!(
            theirs.message.contains("expired or unknown"),
            "{}",
            theirs.message
        );
        assert_eq!(
            theirs.message.replace(id, "ID"),
            unknown
                .message
                .replace("0123456789abcdef0123456789abcdef", "ID")
        );
    }

    #[tokio::test]
    async fn malformed_page_requests_are_invalid_params() {
        let (store, uri) = store_with(3);
        for (query, needle) in [
            ("limit=0", "limit must be from 1"),
            ("limit=10001", "limit must be from 1"),
            ("offset=-1", "offset must be a whole number"),
            ("format=xml", "format must be json or csv"),
            ("rows=3", "unknown parameter 'rows'"),
        ] {
            let e = read(&store, "o", &format!("{uri}?{query}"), false)
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{query}");
            assert!(e.message.contains(needle), "{query}: {}", e.message);
        }
        let e = read(&store, "o", "file:///etc/passwd", false)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::RESOURCE_NOT_FOUND);
    }

    #[tokio::test]
    async fn the_template_is_public_and_cacheable() {
        let t = templates(true);
        assert_eq!(t.resource_templates[0].uri_template, TEMPLATE);
        assert_eq!(t.cache_scope, Some(CacheScope::Public));
        assert_eq!(templates(false).ttl_ms, None);
    }
}
