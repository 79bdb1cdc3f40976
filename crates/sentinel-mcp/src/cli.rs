//! The one-shot commands: `query`, `kql parse`, `healthcheck`.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use kql::{Table, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend::{Backend, QueryOutput, QueryRequest, TimeRange};
use crate::config::{OutputFormat, Settings};
use crate::tools::format::TableJson;
use crate::{RunError, clock, local_backend_now};

/// `sentinel-mcp query`: runs one query (given, or read from stdin) and prints it; errors go to
/// stderr.
pub async fn query(
    settings: &Settings,
    text: Option<String>,
    format: OutputFormat,
    chart: Option<&Path>,
) -> Result<(), RunError> {
    let text = match text.filter(|t| t != "-") {
        Some(t) => t,
        None => read_stdin()?,
    };
    if text.trim().is_empty() {
        return Err(RunError::Config(
            "no query: give it as the argument, on stdin (`-` or no argument), or run a file of queries with --batch FILE".into(),
        ));
    }
    let runner = Runner::start(settings)?;
    let out = runner.run(&text).await.map_err(RunError::Query)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    // Written as it is formatted: a large result is not copied into one string first.
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let written = match format {
        OutputFormat::Json => serde_json::to_writer(&mut w, &TableJson(&out.table))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(w)),
        OutputFormat::Csv => csv(&out.table, &mut w),
        OutputFormat::Table => {
            let cut = ascii_table(&out.table, &mut w);
            if let Ok(n) = cut
                && n > 0
            {
                eprintln!(
                    "note: {n} cell{} longer than {MAX_CELL_CHARS} characters {} cut short (…); --format csv or json prints every value whole.",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "was" } else { "were" }
                );
            }
            cut.map(|_| ())
        }
    };
    match written.and_then(|()| w.flush()) {
        Ok(()) => {}
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(RunError::Query(format!("cannot write the result: {e}"))),
    }
    match chart {
        Some(path) => write_chart(settings, &out, path),
        None => Ok(()),
    }
}

/// `query --chart FILE.png`: the chart the query's `render` asks for, written to `path`.
fn write_chart(settings: &Settings, out: &QueryOutput, path: &Path) -> Result<(), RunError> {
    let fail = |m: String| RunError::Query(format!("--chart: {m}"));
    let Some((visualization, spec)) = out
        .visualization
        .as_ref()
        .and_then(|v| sentinel_charts::ChartSpec::from_visualization(v).map(|spec| (v, spec)))
    else {
        return Err(fail(
            "the query does not end in a render that draws a chart (timechart, linechart, areachart, columnchart, barchart, piechart or scatterchart)".into(),
        ));
    };
    let limits = settings.chart_limits().map_err(|e| fail(e.to_string()))?;
    let chart =
        sentinel_charts::render(&out.table, &spec, &limits).map_err(|e| fail(e.to_string()))?;
    std::fs::write(path, &chart.png)
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "chart: the {} written to {} ({}x{} PNG, {} series{})",
        visualization.kind,
        path.display(),
        chart.width,
        chart.height,
        chart.series,
        chart.note.map(|n| format!("; {n}")).unwrap_or_default()
    );
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
            crate::config::BackendKind::Azure => {
                let config = crate::config::BackendConfig::Azure {
                    config: Box::new(settings.azure_config()?),
                    on_behalf_of: None,
                };
                crate::start_backend(settings, config, &clock::Clock::system())?.0
            }
        };
        // The same guard as the tools: read-only, length and window limits, for every backend.
        let guard = settings.query_guard()?;
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
                prepared: guarded.prepared,
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
        None => read_stdin()?,
    };
    kql::parse(&text).map_err(|e| RunError::Query(e.to_string()))?;
    println!("ok");
    Ok(())
}

fn read_stdin() -> Result<String, RunError> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| RunError::Config(format!("cannot read stdin: {e}")))?;
    Ok(s)
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

/// The widest cell the table layout shows; longer ones end with `…`.
const MAX_CELL_CHARS: usize = 256;

/// A cell (or column name) as the table layout shows it: at most [`MAX_CELL_CHARS`]
/// characters, read from the value without making the whole text of a large one.
struct Cell {
    text: String,
    chars: usize,
    cut: bool,
}

impl Cell {
    fn of(value: &dyn std::fmt::Display) -> Cell {
        let mut cell = Cell {
            text: String::new(),
            chars: 0,
            cut: false,
        };
        // The writer refuses text past the limit, which ends the formatting early.
        let _ = write!(cell, "{value}");
        if cell.cut {
            cell.text.push('…');
            cell.chars += 1;
        }
        cell
    }
}

impl std::fmt::Write for Cell {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.chars == MAX_CELL_CHARS {
                self.cut = true;
                return Err(std::fmt::Error);
            }
            self.text.push(c);
            self.chars += 1;
        }
        Ok(())
    }
}

/// The table layout: columns padded to their widest (shown) cell. Answers how many cells were
/// cut short.
fn ascii_table(table: &Table, w: &mut impl Write) -> std::io::Result<usize> {
    let header: Vec<Cell> = table.columns.iter().map(|c| Cell::of(&c.name)).collect();
    let mut widths: Vec<usize> = header.iter().map(|c| c.chars).collect();
    let mut cut = header.iter().filter(|c| c.cut).count();
    for row in &table.rows {
        for (width, v) in widths.iter_mut().zip(row) {
            let cell = Cell::of(v);
            *width = (*width).max(cell.chars);
            cut += usize::from(cell.cut);
        }
    }
    let line = |w: &mut dyn Write, cells: &[Cell]| -> std::io::Result<()> {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(&cell.text);
            out.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars)));
        }
        writeln!(w, "{}", out.trim_end())
    };
    line(w, &header)?;
    let rule: Vec<Cell> = widths
        .iter()
        .map(|n| Cell {
            text: "-".repeat(*n),
            chars: *n,
            cut: false,
        })
        .collect();
    line(w, &rule)?;
    for row in &table.rows {
        let cells: Vec<Cell> = row.iter().map(|v| Cell::of(v)).collect();
        line(w, &cells)?;
    }
    let n = table.rows.len();
    writeln!(w, "({n} row{})", if n == 1 { "" } else { "s" })?;
    Ok(cut)
}

/// CSV, every value whole.
fn csv(table: &Table, w: &mut impl Write) -> std::io::Result<()> {
    let field = |w: &mut dyn Write, s: &str| -> std::io::Result<()> {
        if s.contains([',', '"', '\n', '\r']) {
            write!(w, "\"{}\"", s.replace('"', "\"\""))
        } else {
            w.write_all(s.as_bytes())
        }
    };
    let record = |w: &mut dyn Write, fields: &mut dyn Iterator<Item = String>| {
        for (i, f) in fields.enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            field(w, &f)?;
        }
        w.write_all(b"\n")
    };
    record(w, &mut table.columns.iter().map(|c| c.name.clone()))?;
    for row in &table.rows {
        record(w, &mut row.iter().map(Value::to_string))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kql::{Column, ScalarType};

    fn one(v: Value) -> Table {
        Table {
            columns: vec![Column::new("x", ScalarType::String)],
            rows: vec![vec![v]],
        }
    }

    #[test]
    fn a_very_wide_cell_is_cut_with_a_marker_and_the_layout_does_not_panic() {
        let wide = "abc".repeat(100_000);
        let mut out = Vec::new();
        let cut = ascii_table(&one(Value::str(&wide)), &mut out).unwrap();
        assert_eq!(cut, 1);
        let text = String::from_utf8(out).unwrap();
        let cell = text.lines().nth(2).unwrap();
        assert_eq!(cell.chars().count(), MAX_CELL_CHARS + 1);
        assert!(cell.ends_with('…') && cell.starts_with("abcabc"), "{cell}");
        assert!(text.ends_with("(1 row)\n"), "{text}");
    }

    #[test]
    fn csv_keeps_a_very_wide_value_whole() {
        let wide = "a,b".repeat(100_000);
        let mut out = Vec::new();
        csv(&one(Value::str(&wide)), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("x\n\"{wide}\"\n"));
    }

    #[test]
    fn narrow_cells_are_laid_out_as_before() {
        let t = Table {
            columns: vec![
                Column::new("name", ScalarType::String),
                Column::new("n", ScalarType::Long),
            ],
            rows: vec![
                vec![Value::str("a"), Value::Long(10)],
                vec![Value::str("longer"), Value::Long(2)],
            ],
        };
        let mut out = Vec::new();
        assert_eq!(ascii_table(&t, &mut out).unwrap(), 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name    n\n------  --\na       10\nlonger  2\n(2 rows)\n"
        );
    }
}
