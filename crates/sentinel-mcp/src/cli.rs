//! The one-shot commands: `query`, `kql parse`, `healthcheck`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use kql::{Table, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend::{Backend, QueryRequest, TimeRange};
use crate::config::{OutputFormat, Settings};
use crate::tools::format::table_json;
use crate::{RunError, clock, local_backend_now};

/// `sentinel-mcp query`: runs one query and prints it; errors go to stderr.
pub async fn query(settings: &Settings, text: &str, format: OutputFormat) -> Result<(), RunError> {
    let runner = Runner::start(settings)?;
    let out = runner.run(text).await.map_err(RunError::Query)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    let printed = match format {
        OutputFormat::Json => table_json(&out.table).to_string() + "\n",
        OutputFormat::Csv => csv(&out.table),
        OutputFormat::Table => ascii_table(&out.table),
    };
    print!("{printed}");
    Ok(())
}

/// `sentinel-mcp query --batch FILE`: runs every query of a JSON Lines file (objects with a
/// `"query"` string, like the hunting corpus) against one workspace and prints one JSON line per
/// input line: `{"line": n, "rows": r}` or `{"line": n, "error": "..."}`. A query that fails is
/// a result, not a failure of the command; a summary goes to stderr.
pub async fn query_batch(settings: &Settings, file: &Path) -> Result<(), RunError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| RunError::Config(format!("cannot read {}: {e}", file.display())))?;
    let runner = Runner::start(settings)?;
    let (mut total, mut ran, mut with_rows) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        let query = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|e| format!("line {} is not JSON: {e}", i + 1))
            .and_then(|record| match record.get("query") {
                Some(serde_json::Value::String(q)) => Ok(q.clone()),
                _ => Err(format!("line {} has no \"query\" string", i + 1)),
            });
        let result = match query {
            Ok(q) => runner.run(&q).await,
            Err(e) => Err(e),
        };
        let record = match result {
            Ok(out) => {
                ran += 1;
                with_rows += usize::from(!out.table.rows.is_empty());
                serde_json::json!({"line": i + 1, "rows": out.table.rows.len()})
            }
            Err(e) => serde_json::json!({"line": i + 1, "error": e}),
        };
        writeln!(stdout, "{record}")
            .map_err(|e| RunError::Config(format!("cannot write the results: {e}")))?;
    }
    eprintln!(
        "{total} queries: {ran} ran ({with_rows} returned rows), {} failed",
        total - ran
    );
    Ok(())
}

/// A backend and the query guard the tools use, for the one-shot commands.
struct Runner {
    backend: std::sync::Arc<dyn Backend>,
    guard: kql::QueryGuard,
}

impl Runner {
    fn start(settings: &Settings) -> Result<Runner, RunError> {
        let backend: std::sync::Arc<dyn Backend> = match settings.azure.backend {
            crate::config::BackendKind::Local => std::sync::Arc::new(local_backend_now(settings)?),
            crate::config::BackendKind::Azure => crate::start_backend(settings, false)?.0,
        };
        // The same guard as the tools: read-only, length and window limits, for every backend.
        let guard = crate::query_guard(settings, backend.kind())?;
        Ok(Runner { backend, guard })
    }

    async fn run(&self, text: &str) -> Result<crate::backend::QueryOutput, String> {
        let guarded = self
            .guard
            .check(text, None, clock::now_ticks())
            .map_err(|e| e.to_string())?;
        self.backend
            .query(QueryRequest {
                query: guarded.query,
                range: TimeRange {
                    start: guarded.range.0,
                    end: guarded.range.1,
                },
                timeout: guarded.timeout,
                workspace: None,
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// `sentinel-mcp kql parse [FILE]`: parses without running.
pub fn parse(file: Option<&Path>) -> Result<(), RunError> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| RunError::Config(format!("cannot read {}: {e}", path.display())))?,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| RunError::Config(format!("cannot read stdin: {e}")))?;
            s
        }
    };
    kql::parse(&text).map_err(|e| RunError::Query(e.to_string()))?;
    println!("ok");
    Ok(())
}

/// `sentinel-mcp healthcheck`: exit 0 when /health answers 200.
pub async fn healthcheck(settings: &Settings, url: Option<&str>) -> Result<(), RunError> {
    let default = format!("http://127.0.0.1:{}/health", settings.port);
    let url = url.unwrap_or(&default);
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        RunError::Config(format!(
            "healthcheck URL must start with http:// (got {url})"
        ))
    })?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut buf = vec![0u8; 64];
        let n = stream.read(&mut buf).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).to_string())
    };
    let head = tokio::time::timeout(Duration::from_secs(5), probe)
        .await
        .map_err(|_| RunError::Unhealthy(format!("{url} did not answer within 5 seconds")))?
        .map_err(|e| RunError::Unhealthy(format!("{url}: {e}")))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        println!("healthy");
        Ok(())
    } else {
        Err(RunError::Unhealthy(format!(
            "{url} answered status {status}"
        )))
    }
}

fn cells(table: &Table) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|r| r.iter().map(Value::to_string).collect())
        .collect()
}

fn ascii_table(table: &Table) -> String {
    let rows = cells(table);
    let mut widths: Vec<usize> = table
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |vals: Vec<&str>| -> String {
        let parts: Vec<String> = vals
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(table.columns.iter().map(|c| c.name.as_str()).collect());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push_str(&format!(
        "({} row{})\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

fn csv(table: &Table) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = table
        .columns
        .iter()
        .map(|c| field(&c.name))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for row in cells(table) {
        out.push_str(&(row.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\n"));
    }
    out
}
