//! The tools on the demo workspace, including the write tools and their persistence.

mod common;

use common::{Server, SseClient, structured, text};
use serde_json::json;

#[tokio::test]
async fn tables_schema_incidents_and_alerts_answer_from_the_demo_workspace() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;

    let r = c.call_tool("list_sentinel_tables", json!({})).await;
    let tables = structured(&r)["tables"].as_array().unwrap().clone();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in [
        "SecurityIncident",
        "SecurityAlert",
        "SigninLogs",
        "AuditLogs",
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "DeviceLogonEvents",
        "DeviceFileEvents",
        "EmailEvents",
        "OfficeActivity",
        "CommonSecurityLog",
        "Heartbeat",
    ] {
        assert!(names.contains(&t), "{t} missing");
    }
    assert!(names.len() >= 50, "{names:?}");
    assert!(tables.iter().all(|t| t["row_count"].as_u64().unwrap() > 0));
    // Dated tables report their time range; inventories without a time column report none.
    let table = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap();
    for dated in [
        "SigninLogs",
        "DeviceProcessEvents",
        "AADSignInEventsBeta",
        "Heartbeat",
    ] {
        assert!(table(dated)["last_time"].is_string(), "{dated}");
    }
    assert!(table("DeviceTvmSoftwareInventory")["last_time"].is_null());

    let r = c
        .call_tool("get_table_schema", json!({"table": "SigninLogs"}))
        .await;
    let cols = structured(&r)["columns"].as_array().unwrap().clone();
    assert!(cols.contains(&json!({"name": "TimeGenerated", "type": "datetime"})));
    assert!(cols.contains(&json!({"name": "UserPrincipalName", "type": "string"})));
    let r = c
        .call_tool("get_table_schema", json!({"table": "signinlogs"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("did you mean SigninLogs"), "{r}");

    let r = c
        .call_tool("list_incidents", json!({"severity": "High"}))
        .await;
    let incidents = structured(&r)["incidents"].as_array().unwrap().clone();
    assert!(!incidents.is_empty());
    assert!(incidents.iter().all(|i| i["severity"] == "High"));
    let id = incidents[0]["id"].as_str().unwrap().to_string();
    let r = c
        .call_tool("list_incidents", json!({"severity": "Critical"}))
        .await;
    assert_eq!(r["error"]["code"], -32602, "enum values are validated: {r}");

    let r = c.call_tool("get_incident", json!({"id": id})).await;
    let detail = structured(&r);
    assert_eq!(detail["incident"]["id"], id.as_str());
    let alerts = detail["alerts"].as_array().unwrap();
    assert!(
        !alerts.is_empty(),
        "the incident's alerts are resolved: {detail}"
    );
    assert!(!detail["entities"].as_array().unwrap().is_empty());

    let alert_id = alerts[0]["id"].as_str().unwrap().to_string();
    let r = c.call_tool("get_alert", json!({"id": alert_id})).await;
    assert_eq!(structured(&r)["id"], alert_id.as_str());
    let r = c.call_tool("list_alerts", json!({"incident_id": id})).await;
    assert_eq!(
        structured(&r)["count"].as_u64().unwrap() as usize,
        alerts.len()
    );
    let r = c.call_tool("get_incident", json!({"id": "999999"})).await;
    assert_eq!(r["result"]["isError"], true);
}

#[tokio::test]
async fn results_are_capped_with_a_notice() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "range i from 1 to 1000 step 1", "max_rows": 10}),
        )
        .await;
    let s = structured(&r);
    assert_eq!(s["returned_rows"], 10);
    assert_eq!(s["total_rows"], 1000);
    assert_eq!(s["truncated"], true);
    assert!(text(&r).contains("990 rows were left out"), "{}", text(&r));
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "print 1", "max_rows": 1000000}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "above the hard cap: {r}");
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "print 1", "timespan": "soon"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("invalid timespan"));
}

#[tokio::test]
async fn hunting_finds_the_encoded_powershell_of_the_story() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool("run_hunting_query", json!({"query": "DeviceProcessEvents | where ProcessCommandLine has '-enc' | summarize n = count() by DeviceName", "timespan": "P14D"}))
        .await;
    let s = structured(&r);
    assert!(s["total_rows"].as_u64().unwrap() >= 1, "{s}");
}

#[tokio::test]
async fn write_tools_are_hidden_and_refused_unless_enabled() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c
        .call_tool("add_incident_comment", json!({"id": "1", "message": "hi"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert!(text(&r).contains("SENTINEL_MCP_ENABLE_WRITE_TOOLS"));
    assert!(
        !server.state_dir.join("sentinel-mcp-state.json").exists(),
        "nothing was written"
    );
}

#[tokio::test]
async fn incident_updates_and_comments_survive_a_restart() {
    let state = common::temp_dir("persist");
    let envs = [("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true")];
    let id;
    {
        let server = Server::start_with_state(&envs, state.clone()).await;
        let mut c = SseClient::connect(&server).await;
        c.initialize().await;
        let tools = c.request("tools/list", json!({})).await;
        assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 11);
        let r = c
            .call_tool("list_incidents", json!({"status": "New", "top": 1}))
            .await;
        id = structured(&r)["incidents"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let r = c
            .call_tool("update_incident", json!({"id": id, "status": "Closed"}))
            .await;
        assert_eq!(
            r["result"]["isError"], true,
            "closing needs a classification"
        );
        let r = c
            .call_tool(
                "update_incident",
                json!({"id": id, "status": "Active", "owner": "analyst@contoso.com"}),
            )
            .await;
        assert_eq!(structured(&r)["status"], "Active");
        assert_eq!(structured(&r)["owner"], "analyst@contoso.com");
        let r = c
            .call_tool(
                "add_incident_comment",
                json!({"id": id, "message": "Spray source blocked at the firewall."}),
            )
            .await;
        assert_eq!(
            structured(&r)["message"],
            "Spray source blocked at the firewall."
        );
        // KQL sees the new incident version, as in Sentinel.
        let q = format!(
            "SecurityIncident | where IncidentNumber == {id} | summarize arg_max(LastModifiedTime, *) | project Status"
        );
        let r = c.call_tool("run_kql_query", json!({"query": q})).await;
        assert_eq!(structured(&r)["rows"], json!([["Active"]]));
    }
    let server = Server::start_with_state(&envs, state).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let r = c.call_tool("get_incident", json!({"id": id})).await;
    let inc = &structured(&r)["incident"];
    assert_eq!(inc["status"], "Active");
    assert_eq!(inc["owner"], "analyst@contoso.com");
    assert_eq!(
        inc["comments"][0]["message"],
        "Spray source blocked at the firewall."
    );
}

#[tokio::test]
async fn a_data_dir_of_exports_is_served_and_cached_as_parquet() {
    let data = common::temp_dir("exports");
    std::fs::write(
        data.join("SigninLogs.jsonl"),
        "{\"TimeGenerated\":\"2099-01-01T00:00:00Z\",\"UserPrincipalName\":\"a@contoso.com\",\"ResultType\":\"0\"}\n\
         {\"TimeGenerated\":\"2099-01-01T01:00:00Z\",\"UserPrincipalName\":\"b@contoso.com\",\"ResultType\":\"50126\"}\n",
    )
    .unwrap();
    std::fs::write(
        data.join("Heartbeat.csv"),
        "TimeGenerated,Computer\n2099-01-01T00:00:00Z,wks-1\n",
    )
    .unwrap();
    let state = common::temp_dir("exports-state");
    for start in 0..2 {
        let server = Server::start_with_state(
            &[("SENTINEL_MCP_DATA_DIR", data.to_str().unwrap())],
            state.clone(),
        )
        .await;
        let mut c = SseClient::connect(&server).await;
        c.initialize().await;
        let r = c.call_tool("list_sentinel_tables", json!({})).await;
        let names: Vec<String> = structured(&r)["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["Heartbeat", "SigninLogs"], "start {start}");
        let r = c
            .call_tool("run_kql_query", json!({"query": "SigninLogs | where ResultType == '50126' | project UserPrincipalName", "timespan": "2098-12-31T00:00:00Z/2099-01-02T00:00:00Z"}))
            .await;
        assert_eq!(
            structured(&r)["rows"],
            json!([["b@contoso.com"]]),
            "start {start}"
        );
    }
    let cached = std::fs::read_dir(state.join("cache"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .count();
    assert_eq!(cached, 2, "each JSONL/CSV export has a Parquet copy");
}

#[tokio::test]
async fn table_list_follows_the_data_after_a_write_appends_an_incident_version() {
    let envs = [("SENTINEL_MCP_ENABLE_WRITE_TOOLS", "true")];
    let server = Server::start(&envs).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let incidents = |r: &serde_json::Value| {
        structured(r)["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "SecurityIncident")
            .expect("SecurityIncident listed")["row_count"]
            .as_u64()
            .unwrap()
    };
    let before = c.call_tool("list_sentinel_tables", json!({})).await;
    let again = c.call_tool("list_sentinel_tables", json!({})).await;
    assert_eq!(
        before["result"], again["result"],
        "unchanged data, same answer"
    );
    let rows = incidents(&before);
    assert!(text(&before).contains(&format!("- SecurityIncident ({rows} rows")));

    let r = c
        .call_tool("list_incidents", json!({"status": "New", "top": 1}))
        .await;
    let id = structured(&r)["incidents"][0]["id"].clone();
    let r = c
        .call_tool("add_incident_comment", json!({"id": id, "message": "seen"}))
        .await;
    assert_eq!(structured(&r)["message"], "seen");

    let after = c.call_tool("list_sentinel_tables", json!({})).await;
    assert_eq!(incidents(&after), rows + 1, "the new version is counted");
    assert!(
        text(&after).contains(&format!("- SecurityIncident ({} rows", rows + 1)),
        "{}",
        text(&after)
    );
    // A second session gets the same, current answer.
    let mut other = SseClient::connect(&server).await;
    other.initialize().await;
    let r = other.call_tool("list_sentinel_tables", json!({})).await;
    assert_eq!(r["result"], after["result"]);
}
