//! Incidents, alerts and advanced hunting through Microsoft Graph security: MCP tool calls
//! through the real server against the fake Graph, asserting what it received.

mod common;

use common::{Server, SseClient, structured, text};
use serde_json::json;
use test_support::azure::{FakeAzure, GRAPH, Recorded};

async fn start() -> (FakeAzure, Server, SseClient) {
    let fake = FakeAzure::start(20_000).await;
    let mut env = fake.server_env();
    env.push(("SENTINEL_MCP_ENABLE_WRITE_TOOLS".into(), "true".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env).await;
    let mut client = SseClient::connect(&server).await;
    client.initialize().await;
    (fake, server, client)
}

fn assert_graph_token(fake: &FakeAzure, r: &Recorded) {
    let token = r
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(fake.audience_of(token).as_deref(), Some(GRAPH), "{r:?}");
}

#[tokio::test]
async fn azure_graph_incidents_are_filtered_paged_and_expanded() {
    let (fake, _server, mut c) = start().await;
    let r = c.call_tool("list_incidents", json!({})).await;
    let incidents = structured(&r)["incidents"].as_array().unwrap().clone();
    assert_eq!(incidents.len(), 5, "three pages of two followed: {r}");
    let reqs = fake.requests_to("/v1.0/security/incidents");
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].param("$expand"), Some("alerts"));
    assert!(reqs[1].param("$skiptoken").is_some(), "nextLink followed");
    for r in &reqs {
        assert_graph_token(&fake, r);
    }
    assert_eq!(incidents[0]["id"], "101");
    assert_eq!(incidents[0]["alert_ids"], json!(["da101-1", "da101-2"]));
    assert_eq!(
        incidents[1]["status"], "Active",
        "Graph inProgress is Sentinel Active"
    );

    let r = c
        .call_tool(
            "list_incidents",
            json!({"severity": "High", "status": "New", "top": 1}),
        )
        .await;
    let incidents = structured(&r)["incidents"].as_array().unwrap().clone();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["severity"], "High");
    let last = fake.requests_to("/v1.0/security/incidents").pop().unwrap();
    assert_eq!(
        last.param("$filter"),
        Some("status eq 'active' and severity eq 'high'")
    );
    assert_eq!(last.param("$top"), Some("1"));
}

#[tokio::test]
async fn azure_graph_incident_detail_carries_alerts_and_entities() {
    let (fake, _server, mut c) = start().await;
    let r = c.call_tool("get_incident", json!({"id": "103"})).await;
    let d = structured(&r);
    assert_eq!(d["incident"]["title"], "Multi-stage incident 103");
    assert_eq!(d["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(d["alerts"][0]["compromised_entity"], "ws-103.contoso.com");
    assert_eq!(
        d["entities"].as_array().unwrap().len(),
        2,
        "deduplicated: {d}"
    );
    let req = fake
        .requests_to("/v1.0/security/incidents/103")
        .pop()
        .unwrap();
    assert_eq!(req.param("$expand"), Some("alerts"));

    let r = c.call_tool("get_incident", json!({"id": "999"})).await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("no incident with id '999'"), "{r}");
    let r = c
        .call_tool("get_incident", json!({"id": "../../users"}))
        .await;
    assert!(text(&r).contains("not a valid incident id"), "{r}");
}

#[tokio::test]
async fn azure_graph_update_patches_and_comment_posts() {
    let (fake, _server, mut c) = start().await;
    let r = c
        .call_tool(
            "update_incident",
            json!({"id": "102", "status": "Closed", "classification": "TruePositive", "owner": "sam@contoso.com"}),
        )
        .await;
    let i = structured(&r);
    assert_eq!(i["status"], "Closed");
    assert_eq!(i["classification"], "TruePositive");
    assert_eq!(i["owner"], "sam@contoso.com");
    let patch = fake
        .requests_to("/v1.0/security/incidents/102")
        .pop()
        .unwrap();
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.json(),
        json!({"status": "resolved", "classification": "truePositive", "assignedTo": "sam@contoso.com"})
    );
    assert_graph_token(&fake, &patch);

    let r = c
        .call_tool("update_incident", json!({"id": "102", "status": "Closed"}))
        .await;
    assert!(text(&r).contains("needs a classification"), "{r}");

    let r = c
        .call_tool(
            "add_incident_comment",
            json!({"id": "102", "message": "Contained: reset alex's password."}),
        )
        .await;
    let comment = structured(&r);
    assert_eq!(comment["message"], "Contained: reset alex's password.");
    let post = fake
        .requests_to("/v1.0/security/incidents/102/comments")
        .pop()
        .unwrap();
    assert_eq!(post.method, "POST");
    assert_eq!(post.json()["comment"], "Contained: reset alex's password.");
    assert_eq!(
        post.json()["@odata.type"],
        "microsoft.graph.security.alertComment"
    );
}

#[tokio::test]
async fn azure_graph_alerts_list_by_incident_and_get_one() {
    let (fake, _server, mut c) = start().await;
    let r = c
        .call_tool("list_alerts", json!({"incident_id": "104"}))
        .await;
    let alerts = structured(&r)["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 2);
    assert!(
        alerts
            .iter()
            .all(|a| a["id"].as_str().unwrap().starts_with("da104-"))
    );
    let req = fake.requests_to("/v1.0/security/alerts_v2").pop().unwrap();
    assert_eq!(req.param("$filter"), Some("incidentId eq '104'"));

    let r = c.call_tool("get_alert", json!({"id": "da104-2"})).await;
    let a = structured(&r);
    assert_eq!(a["severity"], "Low");
    assert_eq!(a["techniques"], "T1110, T1078");
    assert_eq!(a["product"], "Microsoft Defender for Endpoint");
}

#[tokio::test]
async fn azure_hunting_posts_query_and_timespan_to_graph() {
    let (fake, _server, mut c) = start().await;
    let r = c
        .call_tool(
            "run_hunting_query",
            json!({"query": "DeviceProcessEvents | summarize n = count() by DeviceName | top 3 by n", "timespan": "P30D"}),
        )
        .await;
    let s = structured(&r);
    assert_eq!(
        s["columns"],
        json!([{"name": "DeviceName", "type": "string"}, {"name": "n", "type": "long"}])
    );
    assert!(!s["rows"].as_array().unwrap().is_empty());
    let req = fake
        .requests_to("/v1.0/security/runHuntingQuery")
        .pop()
        .unwrap();
    assert_eq!(req.method, "POST");
    let body = req.json();
    assert!(
        body["Query"]
            .as_str()
            .unwrap()
            .starts_with("DeviceProcessEvents")
    );
    assert!(body["Timespan"].as_str().unwrap().contains('/'));
    assert_graph_token(&fake, &req);

    let r = c
        .call_tool("run_hunting_query", json!({"query": ".show tables"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert_eq!(fake.requests_to("/v1.0/security/runHuntingQuery").len(), 1);
}

#[tokio::test]
async fn azure_graph_throttling_is_retried() {
    let (fake, _server, mut c) = start().await;
    fake.inject(
        "/v1.0/security/alerts_v2",
        test_support::azure::Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    let r = c.call_tool("get_alert", json!({"id": "da101-1"})).await;
    assert_eq!(structured(&r)["id"], "da101-1");
    assert_eq!(fake.requests_to("/v1.0/security/alerts_v2").len(), 2);
}
