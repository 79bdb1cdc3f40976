//! Incidents through Sentinel's ARM API (SENTINEL_MCP_INCIDENTS_API=arm): api-version on every
//! call, ARM's token, paging, GET → modify → PUT with the etag, and 412 as "retry".

mod common;

use common::{Server, SseClient, structured, text};
use serde_json::json;
use test_support::azure::{ARM, ARM_API_VERSION, FakeAzure, Fault, WORKSPACE_RESOURCE_ID};

async fn start() -> (FakeAzure, Server, SseClient) {
    let fake = FakeAzure::start(20_000).await;
    let mut env = fake.server_env();
    env.push(("SENTINEL_MCP_ENABLE_WRITE_TOOLS".into(), "true".into()));
    env.push(("SENTINEL_MCP_INCIDENTS_API".into(), "arm".into()));
    env.push((
        "SENTINEL_MCP_WORKSPACE_RESOURCE_ID".into(),
        WORKSPACE_RESOURCE_ID.into(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env).await;
    let mut client = SseClient::connect(&server).await;
    client.initialize().await;
    (fake, server, client)
}

fn arm_requests(fake: &FakeAzure) -> Vec<test_support::azure::Recorded> {
    fake.requests_to("/providers/Microsoft.SecurityInsights/")
}

#[tokio::test]
async fn azure_arm_incidents_list_pages_with_api_version_and_arm_token() {
    let (fake, _server, mut c) = start().await;
    let r = c.call_tool("list_incidents", json!({})).await;
    let incidents = structured(&r)["incidents"].as_array().unwrap().clone();
    assert_eq!(incidents.len(), 3, "{r}");
    assert_eq!(incidents[0]["id"], "1");
    assert_eq!(incidents[0]["severity"], "High");
    assert_eq!(incidents[0]["labels"], json!(["spray"]));
    let reqs = arm_requests(&fake);
    assert_eq!(reqs.len(), 2, "nextLink followed");
    for r in &reqs {
        assert_eq!(r.param("api-version"), Some(ARM_API_VERSION));
        let token = r
            .header("authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        assert_eq!(fake.audience_of(token).as_deref(), Some(ARM));
        assert!(r.path.starts_with(WORKSPACE_RESOURCE_ID));
    }
    assert_eq!(
        reqs[0].param("$orderby"),
        Some("properties/lastModifiedTimeUtc desc")
    );

    c.call_tool(
        "list_incidents",
        json!({"severity": "Medium", "status": "New"}),
    )
    .await;
    let last = arm_requests(&fake).pop().unwrap();
    assert_eq!(
        last.param("$filter"),
        Some("properties/status eq 'New' and properties/severity eq 'Medium'")
    );
}

#[tokio::test]
async fn azure_arm_incident_detail_by_number_has_alerts_entities_and_comments() {
    let (fake, _server, mut c) = start().await;
    let r = c.call_tool("get_incident", json!({"id": "2"})).await;
    let d = structured(&r);
    assert_eq!(d["incident"]["id"], "2");
    assert_eq!(d["alerts"][0]["name"], "Password spray");
    assert_eq!(d["incident"]["alert_ids"], json!(["alert-2"]));
    assert_eq!(d["entities"].as_array().unwrap().len(), 2);
    let reqs = arm_requests(&fake);
    assert_eq!(
        reqs[0].param("$filter"),
        Some("properties/incidentNumber eq 2")
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/alerts"))
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/entities"))
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "GET" && r.path.ends_with("/comments"))
    );

    let r = c.call_tool("get_incident", json!({"id": "77"})).await;
    assert!(text(&r).contains("no incident with id '77'"), "{r}");
}

#[tokio::test]
async fn azure_arm_update_puts_with_the_etag_and_a_conflict_says_retry() {
    let (fake, _server, mut c) = start().await;
    fake.inject(
        "/providers/Microsoft.SecurityInsights/incidents/",
        Fault::EtagConflict,
    );
    let args = json!({"id": "1", "status": "Closed", "classification": "FalsePositive", "owner": "sam@contoso.com"});
    let r = c.call_tool("update_incident", args.clone()).await;
    assert_eq!(r["result"]["isError"], true);
    assert!(
        text(&r).contains("changed since it was read") && text(&r).contains("retry"),
        "{r}"
    );

    let r = c.call_tool("update_incident", args).await;
    let i = structured(&r);
    assert_eq!(i["status"], "Closed");
    assert_eq!(i["classification"], "FalsePositive");
    assert_eq!(i["classification_reason"], "IncorrectAlertLogic");
    assert_eq!(i["owner"], "sam@contoso.com");
    let put = arm_requests(&fake)
        .into_iter()
        .rfind(|r| r.method == "PUT")
        .unwrap();
    let body = put.json();
    let etag = body["etag"].as_str().unwrap();
    assert!(!etag.is_empty());
    assert_eq!(put.header("if-match"), Some(etag));
    assert_eq!(
        body["properties"]["title"], "Password spray against contoso (1)",
        "the whole incident is PUT back"
    );
    assert_eq!(put.param("api-version"), Some(ARM_API_VERSION));
}

#[tokio::test]
async fn azure_arm_comment_is_put_under_a_new_id() {
    let (fake, _server, mut c) = start().await;
    let r = c
        .call_tool(
            "add_incident_comment",
            json!({"id": "3", "message": "Blocked 203.0.113.7 at the firewall."}),
        )
        .await;
    let comment = structured(&r);
    assert_eq!(comment["message"], "Blocked 203.0.113.7 at the firewall.");
    let put = arm_requests(&fake)
        .into_iter()
        .rfind(|r| r.method == "PUT")
        .unwrap();
    assert!(put.path.contains("/comments/"));
    assert_eq!(
        put.json()["properties"]["message"],
        "Blocked 203.0.113.7 at the firewall."
    );
    let r = c.call_tool("get_incident", json!({"id": "3"})).await;
    assert_eq!(
        structured(&r)["incident"]["comments"][0]["message"],
        "Blocked 203.0.113.7 at the firewall."
    );
}
