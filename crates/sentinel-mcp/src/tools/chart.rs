//! The chart a query's `render` asks for, drawn beside its table as MCP image content.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock};
use sentinel_charts::{ChartSpec, Limits};

/// Adds the chart `visualization` asks for to `result`: a PNG image and a line saying what it
/// shows, or a line saying why there is none. Visualizations that are not charts (`table`,
/// `card`) and a server with charts off add nothing. Drawing is CPU work: it runs on the
/// blocking pool.
pub(super) async fn attach(
    result: &mut CallToolResult,
    limits: Option<Limits>,
    table: kql::Table,
    visualization: Option<kql::Visualization>,
) {
    let (Some(limits), Some(visualization)) = (limits, visualization) else {
        return;
    };
    let Some(spec) = ChartSpec::from_visualization(&visualization) else {
        return;
    };
    let kind = visualization.kind;
    let drawn =
        tokio::task::spawn_blocking(move || sentinel_charts::render(&table, &spec, &limits)).await;
    let line = match drawn {
        Ok(Ok(chart)) => {
            let line = format!(
                "Chart: the {kind} is the {}x{} PNG image beside this text ({} series{}).",
                chart.width,
                chart.height,
                chart.series,
                chart.note.map(|n| format!("; {n}")).unwrap_or_default()
            );
            let png = base64::engine::general_purpose::STANDARD.encode(&chart.png);
            result.content.push(ContentBlock::image(png, "image/png"));
            line
        }
        Ok(Err(e)) => format!("No chart: {e}."),
        Err(e) => {
            tracing::error!(error = %e, "drawing a chart failed");
            "No chart: drawing it failed; the table above is complete.".to_string()
        }
    };
    result.content.push(ContentBlock::text(line));
}
