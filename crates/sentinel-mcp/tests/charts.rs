//! Charts from `render`: the PNG beside the table, on the demo workspace and on Azure, over
//! legacy SSE, Streamable HTTP, stdio and the `query` command.

mod common;

use base64::Engine as _;
use common::{Server, SseClient, mcp_message, mcp_stateless_call, structured, text};
use serde_json::{Value, json};

/// Width, height and pixels of a PNG.
fn decode(png: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(png).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    let pixels = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

/// The PNG of a tool result's image content, if it has one.
fn image(response: &Value) -> Option<Vec<u8>> {
    let content = response["result"]["content"].as_array()?;
    let image = content.iter().find(|c| c["type"] == "image")?;
    assert_eq!(image["mimeType"], "image/png");
    let data = image["data"].as_str()?;
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64"),
    )
}

/// The text blocks of a tool result, joined.
fn all_text(response: &Value) -> String {
    response["result"]["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Series colours a chart shows: the palette's colours covering 50 pixels or more.
fn series_colours(pixels: &[[u8; 3]]) -> usize {
    sentinel_charts::PALETTE
        .iter()
        .filter(|c| pixels.iter().filter(|p| **p == [c.0, c.1, c.2]).count() >= 50)
        .count()
}

/// Checks a chart PNG: its size, that it is not blank, and its series colours.
fn assert_chart(png: &[u8], size: (u32, u32), series: usize, what: &str) {
    let (w, h, pixels) = decode(png);
    assert_eq!((w, h), size, "{what}");
    assert!(png.len() <= 300 * 1024, "{what}: {} bytes", png.len());
    let white = pixels.iter().filter(|p| **p == [255, 255, 255]).count();
    assert!(white < pixels.len() * 97 / 100, "{what}: blank");
    assert_eq!(series_colours(&pixels), series, "{what}");
}

/// Sign-ins per day split into success and failure: two series.
const PER_DAY: &str = "SigninLogs | extend Outcome = iff(ResultType == '0', 'success', 'failure') \
                       | summarize count() by bin(TimeGenerated, 1d), Outcome";
/// Sign-ins by app, succeeded and failed: two y columns.
const BY_APP: &str = "SigninLogs | summarize ok = countif(ResultType == '0'), failed = countif(ResultType != '0') \
                      by AppDisplayName | top 5 by ok";

#[tokio::test]
async fn every_chart_type_comes_back_as_a_png_beside_its_table() {
    let server = Server::start(&[]).await;
    let mut c = SseClient::connect(&server).await;
    c.initialize().await;
    let severities = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SecurityAlert | distinct AlertSeverity"}),
        )
        .await;
    let slices = structured(&severities)["rows"].as_array().unwrap().len();
    for (query, series) in [
        (
            format!("{PER_DAY} | render timechart with (title='Sign-ins', ytitle='count')"),
            2,
        ),
        (format!("{PER_DAY} | render linechart"), 2),
        (
            format!("{PER_DAY} | render areachart with (kind=stacked)"),
            2,
        ),
        (format!("{PER_DAY} | render scatterchart"), 2),
        (format!("{BY_APP} | render columnchart"), 2),
        (format!("{BY_APP} | render barchart with (kind=stacked)"), 2),
        (
            "SecurityAlert | summarize count() by AlertSeverity | render piechart".to_string(),
            slices,
        ),
    ] {
        let r = c
            .call_tool("run_kql_query", json!({"query": query, "timespan": "P30D"}))
            .await;
        assert!(structured(&r)["rows"].as_array().is_some(), "{r}");
        let png = image(&r).unwrap_or_else(|| panic!("no chart: {}", all_text(&r)));
        assert_chart(&png, (1200, 800), series, &query);
        let kind = query.rsplit("render ").next().unwrap();
        let kind = kind.split_whitespace().next().unwrap();
        assert!(
            all_text(&r).contains(&format!("Chart: the {kind} is the 1200x800 PNG")),
            "{}",
            all_text(&r)
        );
    }
    // What draws no chart says why, and the table is still the answer.
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | distinct UserPrincipalName | render columnchart"}),
        )
        .await;
    assert!(image(&r).is_none());
    assert!(all_text(&r).contains("No chart: nothing to plot"), "{r}");
    assert!(!structured(&r)["rows"].as_array().unwrap().is_empty());
    let r = c
        .call_tool(
            "run_kql_query",
            json!({"query": "SigninLogs | take 3 | render table"}),
        )
        .await;
    assert!(
        image(&r).is_none() && !all_text(&r).contains("Chart"),
        "{r}"
    );
}

#[tokio::test]
async fn streamable_http_carries_the_chart_at_the_configured_size_and_none_when_turned_off() {
    let server = Server::start(&[("SENTINEL_MCP_CHART_SIZE", "640x480")]).await;
    let query = format!("{PER_DAY} | render timechart");
    let r = mcp_message(
        mcp_stateless_call(&server, 1, "run_kql_query", json!({"query": query}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_chart(
        &image(&r).expect("a chart"),
        (640, 480),
        2,
        "stateless /mcp",
    );

    let off = Server::start(&[("SENTINEL_MCP_RENDER_CHARTS", "false")]).await;
    let r = mcp_message(
        mcp_stateless_call(&off, 1, "run_kql_query", json!({"query": query}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(image(&r).is_none(), "{r}");
    assert!(text(&r).contains("'timechart' visualization"), "{r}");
}

#[tokio::test]
async fn on_azure_the_render_instructions_are_asked_for_and_drawn() {
    let (fake, _server, mut c) = common::azure_session(&[]).await;
    let query = format!("{BY_APP} | render columnchart with (title='By app', kind=stacked)");
    let r = c.call_tool("run_kql_query", json!({"query": query})).await;
    assert_chart(&image(&r).expect("a chart"), (1200, 800), 2, "azure");
    let sent = fake.requests_to(&format!(
        "/v1/workspaces/{}/query",
        test_support::azure::WORKSPACE_ID
    ));
    let prefer = sent.last().unwrap().header("prefer").unwrap().to_string();
    assert!(prefer.contains("include-render=true"), "{prefer}");
    // Defender's advanced hunting sends no render instructions: the query's own are drawn.
    let hunt = "DeviceProcessEvents | summarize count() by DeviceName | top 4 by count_ \
                | render piechart with (title='Processes by device')";
    let r = c
        .call_tool("run_hunting_query", json!({"query": hunt}))
        .await;
    let devices = structured(&r)["rows"].as_array().unwrap().len();
    assert_chart(
        &image(&r).expect("a chart"),
        (1200, 800),
        devices,
        "hunting",
    );
}

#[test]
fn the_query_command_writes_the_chart_to_a_file_or_says_why_not() {
    let dir = common::temp_dir("chart-cli");
    let file = dir.join("by-app.png");
    let out = std::process::Command::new(common::BIN)
        .args(["query", "--chart"])
        .arg(&file)
        .arg(format!("{BY_APP} | render barchart"))
        .env("SENTINEL_MCP_DEMO_ROWS", common::TEST_DEMO_ROWS)
        .env("SENTINEL_MCP_STATE_DIR", &dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("chart: the barchart written to"), "{err}");
    assert_chart(&std::fs::read(&file).unwrap(), (1200, 800), 2, "cli");

    let out = std::process::Command::new(common::BIN)
        .args(["query", "--chart"])
        .arg(dir.join("none.png"))
        .arg("SigninLogs | take 1")
        .env("SENTINEL_MCP_DEMO_ROWS", common::TEST_DEMO_ROWS)
        .env("SENTINEL_MCP_STATE_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--chart: the query does not end in a render"),
        "{err}"
    );
    assert!(!dir.join("none.png").exists());
}
