//! Large results by reference: a query result cut by the row or byte cap links to its whole
//! table, kept for the caller that ran it, and `resources/read` pages through it (JSON or CSV)
//! on every transport and era, on the local engine and against the Azure fakes.

mod common;

use std::io::{BufRead, BufReader, Write};

use common::{
    APP, Server, SseClient, TENANT, init_params, mcp_message, mcp_open_session, mcp_post,
    mcp_session_request, mcp_stateless_call, structured, text,
};
use serde_json::{Value, json};
use test_support::entra::{FakeEntra, TokenSpec};

/// 1,000 rows, 10 shown: truncated by the row cap.
fn big_query() -> Value {
    json!({"query": "range x from 1 to 1000 step 1 | extend s = strcat('row,', x)", "max_rows": 10})
}

/// The checks every transport shares on a truncated query result (see [`full_result_link`]).
fn link_of(response: &Value) -> String {
    let s = structured(response);
    assert_eq!(s["truncated"], true, "{response}");
    assert_eq!(s["returned_rows"], 10);
    assert_eq!(s["total_rows"], 1000);
    full_result_link(response)
}

/// The link every truncated answer carries: the URI is in the text, in
/// `structuredContent.full_result` and in a `resource_link` content item. Returns the URI.
fn full_result_link(response: &Value) -> String {
    let uri = structured(response)["full_result"]
        .as_str()
        .unwrap_or_else(|| panic!("no full_result: {response}"))
        .to_string();
    assert!(uri.starts_with("sentinel://results/"), "{uri}");
    assert!(
        text(response).contains(&uri),
        "the URI in the text: {}",
        text(response)
    );
    let links: Vec<&Value> = response["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "resource_link")
        .collect();
    assert_eq!(links.len(), 1, "{response}");
    assert_eq!(links[0]["uri"], uri.as_str());
    assert_eq!(links[0]["mimeType"], "application/json");
    uri
}

/// The single text content of a `resources/read` response.
fn page_text(response: &Value) -> (&str, &Value) {
    assert!(response.get("error").is_none(), "{response}");
    let contents = response["result"]["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1);
    (contents[0]["text"].as_str().unwrap(), &contents[0])
}

/// A JSON page's checks: rows `offset+1 ..`, `count` of them, with the paging numbers.
fn check_json_page(response: &Value, offset: u64, count: u64) {
    let (body, content) = page_text(response);
    assert_eq!(content["mimeType"], "application/json");
    let page: Value = serde_json::from_str(body).unwrap();
    assert_eq!(page["total_rows"], 1000);
    assert_eq!(page["offset"], offset);
    assert_eq!(page["returned_rows"], count);
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len() as u64, count);
    assert_eq!(rows[0], json!([offset + 1, format!("row,{}", offset + 1)]));
    let next = offset + count;
    let expected_next = if next < 1000 {
        json!(next)
    } else {
        Value::Null
    };
    assert_eq!(page["next_offset"], expected_next);
    assert_eq!(content["_meta"]["next_offset"], expected_next);
    assert_eq!(
        page["columns"],
        json!([{"name": "x", "type": "long"}, {"name": "s", "type": "string"}])
    );
}

/// A CSV page's checks: the header, then rows quoted where they hold a comma.
fn check_csv_page(response: &Value) {
    let (body, content) = page_text(response);
    assert_eq!(content["mimeType"], "text/csv");
    assert_eq!(body, "x,s\r\n991,\"row,991\"\r\n992,\"row,992\"\r\n");
    assert_eq!(content["_meta"]["total_rows"], 1000);
    assert_eq!(content["_meta"]["next_offset"], 992);
}

fn assert_expired_or_unknown(response: &Value, code: i64) {
    let error = &response["error"];
    assert_eq!(error["code"], code, "{response}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("is expired or unknown"),
        "{response}"
    );
}

#[tokio::test]
async fn legacy_sse_links_a_truncated_result_and_reads_it_in_pages() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    let init = c.initialize().await;
    assert!(
        init["result"]["capabilities"]["resources"].is_object(),
        "{init}"
    );
    let r = c.call_tool("run_kql_query", big_query()).await;
    let uri = link_of(&r);
    check_json_page(
        &c.request("resources/read", json!({"uri": uri})).await,
        0,
        1000,
    );
    check_json_page(
        &c.request(
            "resources/read",
            json!({"uri": format!("{uri}?offset=10&limit=500")}),
        )
        .await,
        10,
        500,
    );
    let csv = c
        .request(
            "resources/read",
            json!({"uri": format!("{uri}?offset=990&limit=2&format=csv")}),
        )
        .await;
    check_csv_page(&csv);
    assert!(
        csv["result"].get("resultType").is_none() && csv["result"].get("ttlMs").is_none(),
        "a legacy peer gets the legacy shape: {csv}"
    );
    let templates = c.request("resources/templates/list", json!({})).await;
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "sentinel://results/{id}{?offset,limit,format}"
    );
    let list = c.request("resources/list", json!({})).await;
    assert_eq!(
        list["result"]["resources"][0]["uri"],
        uri.as_str(),
        "{list}"
    );
    // Unknown ids, malformed pages.
    let unknown = uri.replace(
        uri.strip_prefix("sentinel://results/").unwrap(),
        "00000000000000000000000000000000",
    );
    assert_expired_or_unknown(
        &c.request("resources/read", json!({"uri": unknown})).await,
        -32002,
    );
    for bad in ["limit=0", "limit=10001", "offset=x", "format=xml", "page=2"] {
        let r = c
            .request("resources/read", json!({"uri": format!("{uri}?{bad}")}))
            .await;
        assert_eq!(r["error"]["code"], -32602, "{bad}: {r}");
    }
    // A result within the caps has no link.
    let small = c
        .call_tool("run_kql_query", json!({"query": "print n = 1"}))
        .await;
    assert!(structured(&small).get("full_result").is_none());
    assert_eq!(small["result"]["content"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn streamable_session_era_reads_the_link_in_its_session() {
    let server = Server::start(&[]).await;
    let sid = mcp_open_session(&server, &[]).await;
    let on_session = async |id: u64, method: &str, params: Value| {
        mcp_message(mcp_session_request(&server, &sid, id, method, params).await).await
    };
    let call = on_session(
        2,
        "tools/call",
        json!({"name": "run_kql_query", "arguments": big_query()}),
    )
    .await;
    let uri = link_of(&call);
    let read = |query: &str| json!({"uri": format!("{uri}?{query}")});
    let page = on_session(3, "resources/read", read("offset=10&limit=500")).await;
    check_json_page(&page, 10, 500);
    let csv = on_session(4, "resources/read", read("offset=990&limit=2&format=csv")).await;
    check_csv_page(&csv);
    let templates = on_session(5, "resources/templates/list", json!({})).await;
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["name"],
        "query-result"
    );
}

/// A stateless-era (2026-07-28) request of `method` on /mcp, `name` its `Mcp-Name`.
fn stateless(
    server: &Server,
    id: u64,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> reqwest::RequestBuilder {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "sentinel-mcp-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let req = mcp_post(
        server,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .header("mcp-protocol-version", "2026-07-28")
    .header("mcp-method", method);
    match name {
        Some(name) => req.header("mcp-name", name),
        None => req,
    }
}

/// A stateless-era `resources/read` of `uri` on /mcp.
fn stateless_read(server: &Server, id: u64, uri: &str) -> reqwest::RequestBuilder {
    stateless(server, id, "resources/read", Some(uri), json!({"uri": uri}))
}

#[tokio::test]
async fn stateless_era_reads_pages_with_caching_hints() {
    let server = Server::start(&[]).await;
    let call = mcp_message(
        mcp_stateless_call(&server, 1, "run_kql_query", big_query())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let uri = link_of(&call);
    let read = async |id: u64, uri: String| {
        mcp_message(stateless_read(&server, id, &uri).send().await.unwrap()).await
    };
    let page = read(2, format!("{uri}?offset=10&limit=500")).await;
    check_json_page(&page, 10, 500);
    assert_eq!(page["result"]["resultType"], "complete");
    assert_eq!(page["result"]["cacheScope"], "private");
    let ttl = page["result"]["ttlMs"].as_u64().unwrap();
    assert!(
        ttl > 500_000 && ttl <= 600_000,
        "cacheable until it expires: {ttl}"
    );
    check_csv_page(&read(3, format!("{uri}?offset=990&limit=2&format=csv")).await);
    let templates = mcp_message(
        stateless(&server, 4, "resources/templates/list", None, json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(templates["result"]["cacheScope"], "public", "{templates}");
    assert_eq!(templates["result"]["ttlMs"], 3_600_000);
    let list = mcp_message(
        stateless(&server, 5, "resources/list", None, json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["result"]["cacheScope"], "private", "{list}");
    assert_eq!(list["result"]["ttlMs"], 0);
    // The revision asks for INVALID_PARAMS where older ones had RESOURCE_NOT_FOUND.
    let unknown = read(
        6,
        "sentinel://results/00000000000000000000000000000000".into(),
    )
    .await;
    assert_expired_or_unknown(&unknown, -32602);
}

#[tokio::test]
async fn stdio_links_and_reads_a_truncated_result() {
    let mut child = common::stdio_command().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut exchange = |v: Value| -> Value {
        writeln!(stdin, "{v}").unwrap();
        if v.get("id").is_none() {
            return Value::Null;
        }
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "stdout closed early");
        serde_json::from_str(&line).unwrap()
    };
    exchange(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params("2025-06-18")}),
    );
    exchange(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let call = exchange(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "run_kql_query", "arguments": big_query()}}),
    );
    let uri = link_of(&call);
    let page = exchange(
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": format!("{uri}?offset=10&limit=500")}}),
    );
    check_json_page(&page, 10, 500);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn on_azure_the_full_result_is_what_log_analytics_returned() {
    let (_fake, _server, mut c) = common::azure_session(&[]).await;
    let r = c.call_tool("run_kql_query", big_query()).await;
    let uri = link_of(&r);
    check_json_page(
        &c.request(
            "resources/read",
            json!({"uri": format!("{uri}?offset=10&limit=500")}),
        )
        .await,
        10,
        500,
    );
}

#[tokio::test]
async fn when_log_analytics_stopped_at_its_own_cap_the_kept_result_says_so() {
    let (fake, _server, mut c) = common::azure_session(&[]).await;
    fake.inject(
        &format!("/v1/workspaces/{}/query", test_support::azure::WORKSPACE_ID),
        test_support::azure::Fault::PartialError,
    );
    let r = c.call_tool("run_kql_query", big_query()).await;
    let uri = link_of(&r);
    let page = c
        .request(
            "resources/read",
            json!({"uri": format!("{uri}?offset=10&limit=5")}),
        )
        .await;
    let (body, _) = page_text(&page);
    let page: Value = serde_json::from_str(body).unwrap();
    let warnings = page["warnings"].to_string();
    assert!(
        warnings.contains("Partial results") && warnings.contains("E_QUERY_RESULT_SET_TOO_LARGE"),
        "the service's own cap is said beside the kept rows: {warnings}"
    );
}

#[tokio::test]
async fn only_the_principal_that_ran_the_query_reads_its_result() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let server = common::start_with_entra(&entra, &[]).await;
    let all = ["SecOps.Read", "SecOps.Hunt"];
    let alice = entra.mint(&TokenSpec::user(TENANT, APP, &all));
    let mut spec = TokenSpec::user(TENANT, APP, &all);
    spec.oid = "99999999-9999-9999-9999-999999999999".into();
    spec.upn = Some("mallory@contoso.com".into());
    let mallory = entra.mint(&spec);
    let call = mcp_message(
        mcp_stateless_call(&server, 1, "run_kql_query", big_query())
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let uri = link_of(&call);
    let read_as = async |token: String, uri: String| {
        let read = stateless_read(&server, 2, &uri).bearer_auth(token);
        mcp_message(read.send().await.unwrap()).await
    };
    check_json_page(&read_as(alice.clone(), uri.clone()).await, 0, 1000);
    let theirs = read_as(mallory.clone(), uri.clone()).await;
    let unknown_uri = "sentinel://results/00000000000000000000000000000000".to_string();
    let unknown = read_as(mallory.clone(), unknown_uri.clone()).await;
    assert_expired_or_unknown(&theirs, -32602);
    let id = uri.strip_prefix("sentinel://results/").unwrap();
    // Exactly the same answer as for an id that never existed, but for the id and URI.
    assert_eq!(
        theirs["error"].to_string().replace(id, "ID"),
        unknown["error"]
            .to_string()
            .replace("00000000000000000000000000000000", "ID")
    );
    // Nor does it show in their list, over legacy SSE either.
    let mut m = SseClient::connect_as(&server, Some(&mallory)).await;
    m.initialize().await;
    let list = m.request("resources/list", json!({})).await;
    assert_eq!(list["result"]["resources"], json!([]), "{list}");
    assert_expired_or_unknown(
        &m.request("resources/read", json!({"uri": uri})).await,
        -32002,
    );
    let mut a = SseClient::connect_as(&server, Some(&alice)).await;
    a.initialize().await;
    check_json_page(
        &a.request("resources/read", json!({"uri": uri})).await,
        0,
        1000,
    );
}

#[tokio::test]
async fn a_result_expires_after_its_ttl() {
    let server = Server::start(&[("SENTINEL_MCP_RESULT_TTL_SECS", "1")]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let uri = link_of(&c.call_tool("run_kql_query", big_query()).await);
    assert!(
        text(&c.call_tool("run_kql_query", big_query()).await).contains("(1 s)"),
        "the note says how long"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_expired_or_unknown(
        &c.request("resources/read", json!({"uri": uri})).await,
        -32002,
    );
}

/// `rows` rows of about 100 bytes each in the store (a long, a short string, their cells).
fn sized_query(rows: u32) -> Value {
    json!({"query": format!("range x from 1 to {rows} step 1 | extend s = strcat('row-', x)"), "max_rows": 5})
}

#[tokio::test]
async fn the_store_evicts_the_oldest_result_and_refuses_one_larger_than_itself() {
    let server = Server::start(&[("SENTINEL_MCP_RESULT_STORE_MB", "1")]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    // Three results of about 400 KB in a 1 MiB store: the third evicts the first.
    let mut uris = Vec::new();
    for _ in 0..3 {
        let r = c.call_tool("run_kql_query", sized_query(4_000)).await;
        uris.push(structured(&r)["full_result"].as_str().unwrap().to_string());
    }
    assert_expired_or_unknown(
        &c.request("resources/read", json!({"uri": uris[0]})).await,
        -32002,
    );
    assert_eq!(
        server.metric("sentinel_mcp_result_store_results").await,
        Some(2)
    );
    let bytes = server
        .metric("sentinel_mcp_result_store_bytes")
        .await
        .unwrap();
    assert!((900_000..=1 << 20).contains(&bytes), "{bytes} bytes kept");
    for uri in &uris[1..] {
        let r = c
            .request("resources/read", json!({"uri": format!("{uri}?limit=1")}))
            .await;
        assert!(r.get("error").is_none(), "{r}");
    }
    // About 2 MB: never kept, and the tool says so.
    let r = c.call_tool("run_kql_query", sized_query(20_000)).await;
    assert!(structured(&r).get("full_result").is_none(), "{r}");
    assert!(
        text(&r).contains("larger than the server keeps"),
        "{}",
        text(&r)
    );
    assert!(
        !r["result"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "resource_link")
    );
    // Nothing was evicted for it.
    for uri in &uris[1..] {
        let r = c
            .request("resources/read", json!({"uri": format!("{uri}?limit=1")}))
            .await;
        assert!(r.get("error").is_none(), "{r}");
    }
}

#[tokio::test]
async fn no_store_no_link() {
    let server = Server::start(&[("SENTINEL_MCP_RESULT_STORE_MB", "0")]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.call_tool("run_kql_query", big_query()).await;
    assert_eq!(structured(&r)["truncated"], true);
    assert!(structured(&r).get("full_result").is_none());
    assert!(!text(&r).contains("sentinel://results/"));
}

#[tokio::test]
async fn a_truncated_hunting_result_links_too() {
    let (_server, mut c) = common::local_session(&[]).await;
    a_truncated_hunting_result_links(&mut c).await;
}

#[tokio::test]
async fn on_azure_a_truncated_hunting_result_links_to_what_defender_returned() {
    let (_fake, _server, mut c) = common::azure_session(&[]).await;
    a_truncated_hunting_result_links(&mut c).await;
}

/// run_hunting_query, cut to the default 200 rows, links to all 1,000.
async fn a_truncated_hunting_result_links(c: &mut SseClient) {
    let r = c
        .call_tool(
            "run_hunting_query",
            json!({"query": "range x from 1 to 1000 step 1 | extend s = strcat('row,', x)"}),
        )
        .await;
    let s = structured(&r);
    assert_eq!(s["truncated"], true, "{r}");
    let uri = s["full_result"].as_str().unwrap().to_string();
    let page = c
        .request(
            "resources/read",
            json!({"uri": format!("{uri}?offset=200&limit=800")}),
        )
        .await;
    check_json_page(&page, 200, 800);
}

/// Reading pages spends the same per-principal allowance as calling tools: a client cannot page
/// through a large result faster than it could query. Over it, legacy SSE answers -32029 on the
/// stream and `/mcp` answers 429 with `Retry-After`, and nothing is read.
#[tokio::test]
async fn reading_pages_counts_against_the_rate_limit_on_every_transport() {
    let server = Server::start(&[
        ("SENTINEL_MCP_RATE_LIMIT_PER_MINUTE", "1"),
        ("SENTINEL_MCP_RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    // One token for the query, two for pages: the third page is refused.
    let uri = link_of(&c.call_tool("run_kql_query", big_query()).await);
    for _ in 0..2 {
        check_json_page(
            &c.request("resources/read", json!({"uri": uri})).await,
            0,
            1000,
        );
    }
    let refused = c.request("resources/read", json!({"uri": uri})).await;
    assert_eq!(refused["error"]["code"], -32029, "{refused}");
    assert!(refused.get("result").is_none(), "{refused}");
    // The bucket is the principal's, whatever the transport: /mcp refuses the read before it runs.
    let read = stateless_read(&server, 7, &uri).send().await.unwrap();
    assert_eq!(read.status(), 429);
    assert!(read.headers().contains_key("retry-after"));
    let body = read.text().await.unwrap();
    assert!(
        body.contains("-32029") && !body.contains("\"rows\""),
        "{body}"
    );
    assert_eq!(
        server
            .metric("sentinel_mcp_refused_calls_total{reason=\"rate_limit\"}")
            .await,
        Some(2)
    );
}

/// The whole kept table behind `uri`, in one JSON page.
async fn whole(c: &mut SseClient, uri: &str) -> Value {
    let page = c
        .request(
            "resources/read",
            json!({"uri": format!("{uri}?limit=10000")}),
        )
        .await;
    serde_json::from_str(page_text(&page).0).unwrap()
}

/// `tool` (list_incidents or list_alerts, under a row cap of 1) shows one record and links to
/// every record it had, a column per field, the shown one first; within the caps, no link.
async fn a_capped_list_links_to_all_it_had(c: &mut SseClient, tool: &str, field: &str) {
    let r = c.call_tool(tool, json!({})).await;
    let s = structured(&r);
    let shown = s[field].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(shown.len(), 1, "{r}");
    let uri = full_result_link(&r);
    let page = whole(c, &uri).await;
    let total = page["total_rows"].as_u64().unwrap();
    assert!(total > 1, "{page}");
    assert!(
        s["note"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Showing 1 of {total};")),
        "{r}"
    );
    assert_eq!(page["columns"][0], json!({"name": "id", "type": "string"}));
    assert_eq!(page["rows"][0][0], shown[0]["id"], "{page}");
    let columns = page["columns"].to_string();
    assert!(
        columns.contains(r#"{"name":"severity","type":"string"}"#),
        "{columns}"
    );
    let link = r["result"]["content"][1].clone();
    assert!(
        link["name"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}-list-", field.trim_end_matches('s'))),
        "{link}"
    );
    let within = c.call_tool(tool, json!({"top": 1})).await;
    assert!(structured(&within).get("full_result").is_none(), "{within}");
    assert_eq!(within["result"]["content"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn capped_incident_and_alert_lists_link_to_every_record_they_had() {
    let (_server, mut c) = common::local_session(&[("SENTINEL_MCP_MAX_ROWS", "1")]).await;
    a_capped_list_links_to_all_it_had(&mut c, "list_incidents", "incidents").await;
    a_capped_list_links_to_all_it_had(&mut c, "list_alerts", "alerts").await;
}

#[tokio::test]
async fn on_azure_capped_lists_link_to_what_the_service_returned() {
    let (_fake, _server, mut c) = common::azure_session(&[("SENTINEL_MCP_MAX_ROWS", "1")]).await;
    a_capped_list_links_to_all_it_had(&mut c, "list_incidents", "incidents").await;
    a_capped_list_links_to_all_it_had(&mut c, "list_alerts", "alerts").await;
}

/// investigate_entity cut to one event links to the whole merged timeline: every event it
/// gathered (the one shown and those left out), oldest first.
async fn an_investigation_links_to_its_whole_timeline(c: &mut SseClient) {
    let args = json!({"kind": "user", "value": "mbrown@contoso.com", "max_events": 1});
    let r = c.call_tool("investigate_entity", args).await;
    let s = structured(&r);
    assert_eq!(s["timeline"].as_array().unwrap().len(), 1, "{r}");
    let left_out = s["timeline_left_out"].as_u64().unwrap();
    assert!(left_out > 0, "{r}");
    let uri = full_result_link(&r);
    assert!(
        text(&r).contains(&format!("{uri}?offset=0&")),
        "the shown event is a selection, so the rest is read from the start: {}",
        text(&r)
    );
    let page = whole(c, &uri).await;
    assert_eq!(page["total_rows"], left_out + 1, "{page}");
    let names: Vec<&str> = page["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..5], ["time", "last_time", "count", "table", "event"]);
    assert!(names.contains(&"notable"), "{names:?}");
    let times: Vec<&str> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    let shown = &s["timeline"][0];
    assert!(
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row[0] == shown["time"] && row[4] == shown["event"]),
        "the shown event is in the whole: {shown}"
    );
}

#[tokio::test]
async fn investigate_entity_links_to_its_whole_timeline() {
    let (_server, mut c) = common::local_session(&[]).await;
    an_investigation_links_to_its_whole_timeline(&mut c).await;
}

#[tokio::test]
async fn on_azure_investigate_entity_links_to_its_whole_timeline() {
    let (_fake, _server, mut c) = common::azure_session(&[]).await;
    an_investigation_links_to_its_whole_timeline(&mut c).await;
}
