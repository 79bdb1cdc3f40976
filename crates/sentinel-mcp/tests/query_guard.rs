//! The query guard in front of every backend: refusals are tool errors that name the rule and
//! the setting, and a query the guard refuses never reaches the backend.

mod common;

use common::{Server, SseClient, text};
use serde_json::json;

#[tokio::test]
async fn forbidden_and_over_long_queries_are_tool_errors_naming_the_rule_and_setting() {
    let server = Server::start(&[
        ("SENTINEL_MCP_MAX_QUERY_CHARS", "500"),
        ("SENTINEL_MCP_MAX_TIMESPAN", "P90D"),
    ])
    .await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;

    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | take 1 | evaluate http_request('https://example.com')"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let msg = text(&r);
    assert!(
        msg.contains("'no network or code plugins' rule") && msg.contains("'http_request'"),
        "{msg}"
    );

    // Deep inside a let function and a union; the same for advanced hunting.
    let r = c
        .call_tool(
            "run_hunting_query",
            json!({"query": "let f = () { union DeviceProcessEvents, (externaldata(a:string)['https://e/x']) };\nf() | take 1"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("'no externaldata' rule"), "{r}");

    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "cluster('help').database('Samples').StormEvents | take 1"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        text(&r).contains("cross-cluster") && text(&r).contains("SENTINEL_WORKSPACE_ID"),
        "{r}"
    );

    let r = c
        .call_tool("run_kql_query", json!({"query": ".drop table SigninLogs"}))
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("'no control commands' rule"), "{r}");

    let long = format!(
        "SigninLogs | where UserPrincipalName in ({})",
        vec!["'a@b.c'"; 80].join(", ")
    );
    let chars = long.chars().count();
    let r = c.call_tool("run_kql_query", json!({"query": long})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let msg = text(&r);
    assert!(
        msg.contains(&format!(
            "The query is {chars} characters; the limit is 500 (SENTINEL_MCP_MAX_QUERY_CHARS)"
        )),
        "{msg}"
    );

    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | count", "timespan": "P120D"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        text(&r).contains("120 days; the limit is 90 days (SENTINEL_MCP_MAX_TIMESPAN"),
        "{r}"
    );

    // Ordinary queries, and strings that merely mention the forbidden words, still run.
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | where UserPrincipalName != 'externaldata http_request' | count", "timespan": "P90D"}),
        )
        .await;
    assert_ne!(r["result"]["isError"], true, "{r}");
}
