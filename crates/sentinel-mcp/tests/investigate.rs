//! investigate_entity on the demo workspace (the attack story) and against the Azure fakes.

mod common;

use std::time::Instant;

use common::{Server, SseClient, azure_session, structured, text};
use serde_json::{Value, json};
use test_support::azure::WORKSPACE_ID;

const VICTIM: &str = "mbrown@contoso.com";
/// Not sprayed, not phished, no part in the story.
const BENIGN: &str = "iberg@contoso.com";
const ATTACKER_IP: &str = "203.0.113.57";

async fn demo() -> (Server, SseClient) {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    (server, c)
}

fn events<'a>(r: &'a Value, field: &str) -> &'a Vec<Value> {
    structured(r)[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {r}"))
}

fn field<'a>(e: &'a Value, name: &str) -> &'a str {
    e[name].as_str().unwrap_or("")
}

/// Where in the timeline the first event `is` matches stands.
fn first(timeline: &[Value], what: &str, is: impl Fn(&Value) -> bool, all: &str) -> usize {
    timeline
        .iter()
        .position(is)
        .unwrap_or_else(|| panic!("no {what} in the timeline:\n{all}"))
}

fn no_query_failed(r: &Value) {
    for q in events(r, "queries") {
        assert!(q.get("error").is_none(), "{q}\n{}", text(r));
    }
}

/// One investigate_entity call, its time printed (the closing note states them), every query
/// of it run without an error.
async fn investigate(c: &mut SseClient, args: Value) -> Value {
    let started = Instant::now();
    let r = c.call_tool("investigate_entity", args.clone()).await;
    eprintln!("investigate_entity {args}: {:?}", started.elapsed());
    no_query_failed(&r);
    r
}

#[tokio::test]
async fn the_compromised_account_shows_the_attack_in_order() {
    let (_server, mut c) = demo().await;
    let r = investigate(
        &mut c,
        json!({"kind": "user", "value": VICTIM, "max_events": 100}),
    )
    .await;
    for q in events(&r, "queries") {
        eprintln!("  {} {} ms", field(q, "table"), q["elapsed_ms"]);
    }
    // The first call also loads the tables it reads and lists the workspace; a second is warm.
    let second = investigate(
        &mut c,
        json!({"kind": "user", "value": VICTIM, "max_events": 100}),
    )
    .await;
    assert_eq!(structured(&second)["timeline"], structured(&r)["timeline"]);
    let all = text(&r);
    assert_ne!(r["result"]["isError"], true, "{all}");
    let timeline = events(&r, "timeline");
    let times: Vec<&str> = timeline.iter().map(|e| field(e, "time")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let spray = first(
        timeline,
        "password spray",
        |e| field(e, "notable") == "password spray" && field(e, "ip") == ATTACKER_IP,
        &all,
    );
    let signin = first(
        timeline,
        "successful sign-in from the attacker",
        |e| field(e, "event").starts_with("sign-in succeeded") && field(e, "ip") == ATTACKER_IP,
        &all,
    );
    let powershell = first(
        timeline,
        "encoded PowerShell",
        |e| {
            field(e, "notable") == "suspicious command line"
                && field(e, "command_line").contains("-enc")
                && field(e, "process").eq_ignore_ascii_case("powershell.exe")
        },
        &all,
    );
    let lateral = first(
        timeline,
        "lateral movement to srv-fs01",
        |e| {
            field(e, "table") == "DeviceLogonEvents"
                && field(e, "host").starts_with("srv-fs01")
                && field(e, "notable") == "remote interactive logon"
        },
        &all,
    );
    let exfiltration = first(
        timeline,
        "exfiltration",
        |e| {
            field(e, "process").eq_ignore_ascii_case("rclone.exe")
                || field(e, "notable") == "mass download"
        },
        &all,
    );
    assert!(
        spray < signin && signin < powershell && powershell < lateral && lateral < exfiltration,
        "{spray} {signin} {powershell} {lateral} {exfiltration}\n{all}"
    );

    // The failed sign-in is notable, and so are the alerts and the incident naming her.
    let notable = events(&r, "notable");
    assert!(
        notable
            .iter()
            .any(|e| field(e, "notable") == "failed sign-in")
    );
    assert!(
        notable.iter().any(|e| field(e, "notable") == "alert"),
        "{all}"
    );
    assert!(
        notable
            .iter()
            .any(|e| field(e, "notable") == "incident" && field(e, "event").contains("1042")),
        "{all}"
    );
    // Her addresses, hosts and apps, and the queries to pivot from.
    let related = events(&r, "related");
    let has = |kind: &str, value: &str| {
        related
            .iter()
            .any(|e| field(e, "kind") == kind && field(e, "value") == value)
    };
    assert!(has("ip", ATTACKER_IP), "{all}");
    assert!(
        has("host", "wks-014") || has("host", "wks-014.contoso.com"),
        "{all}"
    );
    assert!(related.iter().any(|e| field(e, "kind") == "app"), "{all}");
    assert!(structured(&r)["first_seen"].is_string());
    let activity = events(&r, "activity");
    assert!(activity.iter().any(|a| field(a, "table") == "SigninLogs"));
    assert!(all.contains("SigninLogs\n| where UserPrincipalName =~ \"mbrown@contoso.com\""));
    assert!(all.contains("Notable events"));
}

#[tokio::test]
async fn a_benign_user_raises_no_alarm() {
    let (_server, mut c) = demo().await;
    let r = investigate(&mut c, json!({"kind": "user", "value": BENIGN})).await;
    let all = text(&r);
    assert!(structured(&r)["first_seen"].is_string(), "{all}");
    let notable = events(&r, "notable");
    let count = |flag: &str| -> i64 {
        notable
            .iter()
            .filter(|e| field(e, "notable") == flag)
            .map(|e| e["count"].as_i64().unwrap_or(0))
            .sum()
    };
    for alarm in [
        "alert",
        "incident",
        "suspicious command line",
        "password spray",
        "risky sign-in",
        "mass download",
    ] {
        assert_eq!(count(alarm), 0, "{alarm}\n{all}");
    }
    assert!(count("failed sign-in") < 5, "{all}");
}

#[tokio::test]
async fn an_address_and_a_host_bring_their_related_entities() {
    let (_server, mut c) = demo().await;
    let r = investigate(&mut c, json!({"kind": "ip", "value": ATTACKER_IP})).await;
    let all = text(&r);
    let related = events(&r, "related");
    let users: Vec<&str> = related
        .iter()
        .filter(|e| field(e, "kind") == "user")
        .map(|e| field(e, "value"))
        .collect();
    assert!(users.contains(&VICTIM), "{all}");
    assert!(users.len() >= 10, "the sprayed accounts: {users:?}");
    let notable = events(&r, "notable");
    for flag in ["password spray", "threat intelligence match"] {
        assert!(
            notable.iter().any(|e| field(e, "notable") == flag),
            "{flag}\n{all}"
        );
    }

    // max_events bounds the timeline and the notable events; notable events are kept first.
    let r = investigate(
        &mut c,
        json!({"kind": "ip", "value": ATTACKER_IP, "max_events": 3}),
    )
    .await;
    let timeline = events(&r, "timeline");
    assert_eq!(timeline.len(), 3, "{}", text(&r));
    assert!(timeline.iter().all(|e| e["notable"].is_string()));
    assert!(events(&r, "notable").len() <= 3);
    assert!(structured(&r)["timeline_left_out"].as_u64().unwrap() > 0);
    assert!(structured(&r)["notable_left_out"].as_u64().unwrap() > 0);

    let r = investigate(&mut c, json!({"kind": "host", "value": "srv-fs01"})).await;
    let all = text(&r);
    let related = events(&r, "related");
    let has = |kind: &str, value: &str| {
        related
            .iter()
            .any(|e| field(e, "kind") == kind && field(e, "value").eq_ignore_ascii_case(value))
    };
    assert!(has("process", "rclone.exe"), "{all}");
    assert!(
        related
            .iter()
            .any(|e| field(e, "kind") == "user" && field(e, "value").contains("mbrown")),
        "{all}"
    );
    assert!(
        related
            .iter()
            .any(|e| field(e, "kind") == "user" && field(e, "value").contains("adavis")),
        "{all}"
    );
    assert!(
        events(&r, "notable")
            .iter()
            .any(|e| field(e, "command_line").contains("lsass")),
        "{all}"
    );
}

#[tokio::test]
async fn a_hostile_value_stays_a_string_literal() {
    let (_server, mut c) = demo().await;
    for value in [
        r#"x" | union *"#,
        r#"nobody@contoso.com" or 1 == 1 or "a"#,
        r#"zz\" | union *"#,
    ] {
        let r = investigate(&mut c, json!({"kind": "user", "value": value})).await;
        let all = text(&r);
        // Nothing matches the value as written, so nothing is found: no query widened.
        assert!(structured(&r)["first_seen"].is_null(), "{value}\n{all}");
        assert!(events(&r, "timeline").is_empty(), "{value}\n{all}");
        // The query holds the value as one escaped string literal.
        let literal = format!("\"{}\"", value.replace('\\', r"\\").replace('"', r#"\""#));
        assert!(
            all.contains(&format!("UserPrincipalName =~ {literal}\n")),
            "{literal}\n{all}"
        );
    }
    // A newline could start a new statement; it is refused before any query is built.
    let r = c
        .call_tool(
            "investigate_entity",
            json!({"kind": "user", "value": "x\"\n| union *"}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("field 'value'"),
        "{r}"
    );
}

#[tokio::test]
async fn wrong_arguments_are_refused_naming_the_field() {
    let (_server, mut c) = demo().await;
    for (args, field) in [
        (json!({"kind": "person", "value": VICTIM}), "kind"),
        (json!({"kind": "user", "value": ""}), "value"),
        (json!({"kind": "user", "value": "   "}), "value"),
        (json!({"kind": "user"}), "value"),
        (
            json!({"kind": "user", "value": VICTIM, "extra": 1}),
            "extra",
        ),
    ] {
        let r = c.call_tool("investigate_entity", args).await;
        assert_eq!(r["error"]["code"], -32602, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    let r = c
        .call_tool(
            "investigate_entity",
            json!({"kind": "user", "value": VICTIM, "max_events": 0}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r).contains("max_events"), "{r}");
}

#[tokio::test]
async fn on_azure_the_queries_go_to_log_analytics_a_few_at_a_time() {
    let (fake, _server, mut c) = azure_session(&[]).await;
    let r = investigate(&mut c, json!({"kind": "user", "value": VICTIM})).await;
    let all = text(&r);
    let path = format!("/v1/workspaces/{WORKSPACE_ID}/query");
    let sent = fake.requests_to(&path);
    let ran = events(&r, "queries");
    assert!(ran.len() >= 10, "{all}");
    for q in ran {
        let text = field(q, "query");
        assert!(
            sent.iter()
                .any(|s| s.json()["query"].as_str() == Some(text)),
            "{text} was not sent"
        );
    }
    assert!(fake.peak_in_flight(&path) <= 3);
    assert!(
        events(&r, "notable")
            .iter()
            .any(|e| field(e, "notable") == "password spray"),
        "{all}"
    );
}

#[tokio::test]
async fn a_domain_a_url_and_a_file_hash_find_the_implant() {
    let (_server, mut c) = demo().await;
    let r = investigate(
        &mut c,
        json!({"kind": "domain", "value": "cdn-update.example"}),
    )
    .await;
    let all = text(&r);
    assert!(
        events(&r, "notable")
            .iter()
            .any(|e| field(e, "notable") == "threat intelligence match"),
        "{all}"
    );
    assert!(
        events(&r, "related")
            .iter()
            .any(|e| field(e, "kind") == "host" && field(e, "value").starts_with("wks-014")),
        "{all}"
    );

    // The stager's URL: its queries all run.
    investigate(
        &mut c,
        json!({"kind": "url", "value": "http://198.51.100.23/sqlupd.exe"}),
    )
    .await;

    // The dropped implant's hash, as the story's query finds it.
    let q = c
        .call_tool(
            "run_kql_query",
            json!({"query": "DeviceFileEvents | where FolderPath startswith @\"C:\\ProgramData\" and FileName endswith \".exe\" | take 1 | project SHA256"}),
        )
        .await;
    let hash = structured(&q)["rows"][0][0].as_str().unwrap().to_string();
    let r = investigate(&mut c, json!({"kind": "file_hash", "value": hash})).await;
    let all = text(&r);
    let activity = events(&r, "activity");
    assert!(
        activity
            .iter()
            .any(|a| field(a, "table") == "DeviceFileEvents"),
        "{all}"
    );
    assert!(
        events(&r, "related")
            .iter()
            .any(|e| field(e, "kind") == "host" && field(e, "value").starts_with("wks-014")),
        "{all}"
    );
}
