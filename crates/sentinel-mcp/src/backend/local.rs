//! The local backend: the embedded KQL engine over the demo workspace or the user's exports,
//! with incident updates and comments journaled to a state file so a restart loses nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kql::value::format_datetime;
use kql::{Catalog, Column, EngineMemory, ExecOptions, ScalarType, Table, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Mutex, watch};

use super::{Backend, BackendError, QueryOutput, QueryRequest, Readiness};
use crate::clock::Clock;
use crate::config::MemoryBudgets;
use crate::model::{
    Alert, AlertFilter, Comment, Incident, IncidentDetail, IncidentFilter, IncidentPatch,
    TableInfo, TableList,
};

/// Where the local backend's tables come from.
#[derive(Debug, Clone)]
pub enum LocalSource {
    /// The generated demo workspace of about this many rows.
    Demo { rows: usize },
    /// One `<Table>.jsonl|csv|parquet` per table in this directory.
    Dir(PathBuf),
}

/// How long a tool call waits for the workspace to finish loading at start-up.
const LOAD_WAIT: Duration = Duration::from_secs(60);
const STATE_FILE: &str = "sentinel-mcp-state.json";

#[derive(Clone)]
enum LoadState {
    Loading,
    Ready(Arc<Workspace>),
    Failed(String),
}

/// The loaded tables and what `list_sentinel_tables` reports of them (worked out on the first
/// list: the demo workspace makes each table on first use, and listing them all makes them all).
struct Workspace {
    catalog: Catalog,
    tables: OnceLock<TableList>,
}

impl Workspace {
    fn new(catalog: Catalog) -> Workspace {
        Workspace {
            catalog,
            tables: OnceLock::new(),
        }
    }

    fn tables(&self) -> &TableList {
        self.tables.get_or_init(|| table_infos(&self.catalog))
    }
}

/// One journaled change to an incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Change {
    Update {
        incident: String,
        at: i64,
        actor: String,
        patch: IncidentPatch,
    },
    Comment {
        incident: String,
        at: i64,
        actor: String,
        id: String,
        message: String,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    changes: Vec<Change>,
}

/// The KQL engine over in-memory tables.
pub struct LocalBackend {
    state: watch::Sender<LoadState>,
    state_path: PathBuf,
    /// Serializes writers: one journal append and table update at a time.
    write_lock: Mutex<()>,
    /// Bytes one query may use.
    query_memory: usize,
    /// The memory all running queries share.
    engine_memory: Arc<EngineMemory>,
    /// Now for queries (`now()`, `ago()`), the demo's dates and the journal's entries.
    clock: Clock,
}

/// A query that used this much memory at its peak gives the heap's free pages back afterwards.
const TRIM_AFTER_BYTES: usize = 64 << 20;

/// How long past its timeout a query's caller waits for the engine to notice and stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl LocalBackend {
    fn new(state_dir: &Path, budgets: MemoryBudgets, clock: Clock) -> LocalBackend {
        let (tx, _) = watch::channel(LoadState::Loading);
        LocalBackend {
            state: tx,
            state_path: state_dir.join(STATE_FILE),
            write_lock: Mutex::new(()),
            query_memory: budgets.query,
            engine_memory: EngineMemory::new(budgets.engine),
            clock,
        }
    }

    /// Starts loading `source` in the background; the backend answers once it is loaded.
    pub fn start(
        source: LocalSource,
        state_dir: PathBuf,
        budgets: MemoryBudgets,
        clock: Clock,
    ) -> Arc<LocalBackend> {
        let backend = Arc::new(LocalBackend::new(&state_dir, budgets, clock));
        let loader = backend.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let next = match loader.load(&source) {
                Ok(ws) => {
                    tracing::info!(
                        tables = ws.catalog.names().count(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "workspace loaded"
                    );
                    LoadState::Ready(Arc::new(ws))
                }
                Err(e) => {
                    tracing::error!(error = %e, "workspace failed to load");
                    LoadState::Failed(e)
                }
            };
            loader.state.send_replace(next);
        });
        backend
    }

    /// Loads synchronously (for the CLI): answers once the workspace is ready.
    pub fn load_now(
        source: LocalSource,
        state_dir: PathBuf,
        budgets: MemoryBudgets,
        clock: Clock,
    ) -> Result<LocalBackend, BackendError> {
        let backend = LocalBackend::new(&state_dir, budgets, clock);
        let ws = backend.load(&source).map_err(BackendError::NotReady)?;
        backend.state.send_replace(LoadState::Ready(Arc::new(ws)));
        Ok(backend)
    }

    fn load(&self, source: &LocalSource) -> Result<Workspace, String> {
        let mut catalog = match source {
            LocalSource::Demo { rows } => {
                sentinel_demo::workspace(sentinel_demo::SEED, *rows, self.clock.now_ticks())
            }
            LocalSource::Dir(dir) => {
                // JSONL/CSV are converted to Parquet once, so the next start reads the fast copy.
                let cache_dir = self.state_path.parent().map(|d| d.join("cache"));
                let options = kql::catalog::LoadOptions { cache_dir };
                kql::catalog::load_dir_with(dir, &options).map_err(|e| e.to_string())?
            }
        };
        let journal = read_state(&self.state_path)?;
        for change in &journal.changes {
            apply_change(&mut catalog, change)
                .map_err(|e| format!("state file {}: {e}", self.state_path.display()))?;
        }
        Ok(Workspace::new(catalog))
    }

    async fn workspace(&self) -> Result<Arc<Workspace>, BackendError> {
        let mut rx = self.state.subscribe();
        let state =
            tokio::time::timeout(LOAD_WAIT, rx.wait_for(|s| !matches!(s, LoadState::Loading)))
                .await
                .map_err(|_| {
                    BackendError::NotReady(
                        "the workspace is still loading; try again shortly".into(),
                    )
                })?
                .map_err(|_| BackendError::Internal("workspace loader stopped".into()))?
                .clone();
        match state {
            LoadState::Ready(ws) => Ok(ws),
            // The data or the state file could not be read: the operator's to fix (and /ready
            // says why), nothing a caller can do.
            LoadState::Failed(e) => Err(BackendError::Internal(format!(
                "the workspace failed to load: {e}"
            ))),
            LoadState::Loading => Err(BackendError::NotReady(
                "the workspace is still loading".into(),
            )),
        }
    }

    async fn run(&self, request: QueryRequest) -> Result<QueryOutput, BackendError> {
        let ws = self.workspace().await?;
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let opts = ExecOptions {
            now: self.clock.now_ticks(),
            timespan: Some((request.range.start, request.range.end)),
            deadline: Some(Instant::now() + request.timeout),
            cancel: Some(cancel),
            memory_limit: self.query_memory,
            engine_memory: Some(Arc::clone(&self.engine_memory)),
            // The call's progress notifications count the rows the engine reads.
            progress: crate::progress::scan_progress(),
        };
        let timeout = request.timeout;
        let task = tokio::task::spawn_blocking(move || {
            let _running = crate::metrics::metrics().local_query();
            crate::failure::test_panic("engine", &request.query);
            let result = match &request.prepared {
                Some(query) if query.text() == request.query => {
                    kql::execute_prepared(&ws.catalog, query, &opts)
                }
                _ => kql::execute(&ws.catalog, &request.query, &opts),
            };
            // What a large query freed goes back to the OS, rather than staying resident in
            // this thread's heap until it is reused.
            let large = match &result {
                Ok(r) => r.peak_memory >= TRIM_AFTER_BYTES,
                Err(e) => matches!(e, kql::KqlError::Memory(_)),
            };
            if large {
                crate::heap::release_free();
            }
            result
        });
        // The engine stops at its deadline; should a step overrun it, the caller still gets its
        // answer (the cancel flag is set when this future ends, and the step stops at its next
        // check).
        let result = tokio::time::timeout(timeout + STOP_GRACE, task)
            .await
            .map_err(|_| BackendError::timeout(timeout))?
            .map_err(|e| BackendError::Internal(format!("query task failed: {e}")))?;
        match result {
            Ok(r) => {
                crate::telemetry::trace::record_executor(match r.executor {
                    kql::Executor::DataFusion => "datafusion",
                    _ => "rows",
                });
                tracing::debug!(
                    peak_memory_kib = r.peak_memory >> 10,
                    executor = ?r.executor,
                    rows = r.table.rows.len(),
                    "query ran"
                );
                Ok(QueryOutput {
                    table: r.table,
                    warnings: r.warnings,
                    visualization: r.visualization,
                })
            }
            Err(kql::KqlError::Cancelled) => Err(BackendError::timeout(timeout)),
            Err(e) => Err(BackendError::Query(e)),
        }
    }

    /// Appends a change to the journal and applies it to the tables.
    async fn commit(&self, change: Change) -> Result<Arc<Workspace>, BackendError> {
        let _guard = self.write_lock.lock().await;
        let ws = self.workspace().await?;
        let mut catalog = ws.catalog.clone();
        apply_change(&mut catalog, &change).map_err(BackendError::NotFound)?;
        let path = self.state_path.clone();
        tokio::task::spawn_blocking(move || append_state(&path, change))
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))?
            .map_err(BackendError::Internal)?;
        let next = Arc::new(Workspace::new(catalog));
        self.state.send_replace(LoadState::Ready(next.clone()));
        Ok(next)
    }
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn readiness(&self) -> Readiness {
        match &*self.state.borrow() {
            LoadState::Ready(_) => Readiness::Ready,
            LoadState::Loading => Readiness::NotReady("the workspace is loading".into()),
            LoadState::Failed(e) => {
                Readiness::NotReady(format!("the workspace failed to load: {e}"))
            }
        }
    }

    async fn query(&self, request: QueryRequest) -> Result<QueryOutput, BackendError> {
        if let Some(name) = &request.workspace {
            return Err(BackendError::Invalid(format!(
                "the local backend has one workspace; omit workspace (got '{name}')"
            )));
        }
        self.run(request).await
    }

    async fn hunt(&self, request: QueryRequest) -> Result<QueryOutput, BackendError> {
        self.run(request).await
    }

    async fn list_tables(&self) -> Result<TableList, BackendError> {
        let ws = self.workspace().await?;
        if let Some(tables) = ws.tables.get() {
            return Ok(tables.clone());
        }
        // The first list may make every table: off the runtime's threads.
        tokio::task::spawn_blocking(move || ws.tables().clone())
            .await
            .map_err(|e| BackendError::Internal(format!("table list task failed: {e}")))
    }

    async fn table_schema(&self, table: &str) -> Result<Vec<Column>, BackendError> {
        let ws = self.workspace().await?;
        match ws.catalog.columns(table) {
            Some(columns) => Ok(columns.to_vec()),
            None => Err(BackendError::NotFound(unknown_table(&ws.catalog, table))),
        }
    }

    async fn list_incidents(&self, filter: IncidentFilter) -> Result<Vec<Incident>, BackendError> {
        let ws = self.workspace().await?;
        let mut incidents: Vec<Incident> = latest_incidents(&ws.catalog)
            .into_iter()
            .filter(|(inc, modified)| {
                filter
                    .status
                    .as_ref()
                    .is_none_or(|s| inc.status.eq_ignore_ascii_case(s))
                    && filter
                        .severity
                        .as_ref()
                        .is_none_or(|s| inc.severity.eq_ignore_ascii_case(s))
                    && filter.since.is_none_or(|t| *modified >= t)
            })
            .map(|(inc, _)| inc)
            .collect();
        incidents.truncate(filter.top);
        Ok(incidents)
    }

    async fn get_incident(&self, id: &str) -> Result<IncidentDetail, BackendError> {
        let ws = self.workspace().await?;
        let incident = find_incident(&ws.catalog, id)?;
        let alerts: Vec<Alert> = all_alerts(&ws.catalog)
            .into_iter()
            .filter(|a| incident.alert_ids.contains(&a.id))
            .collect();
        let mut entities: Vec<serde_json::Value> = Vec::new();
        for e in alerts.iter().flat_map(|a| a.entities.iter()) {
            let clean = strip_entity_refs(e);
            if !entities.contains(&clean) {
                entities.push(clean);
            }
        }
        Ok(IncidentDetail {
            incident,
            alerts,
            entities,
        })
    }

    async fn list_alerts(&self, filter: AlertFilter) -> Result<Vec<Alert>, BackendError> {
        let ws = self.workspace().await?;
        let wanted_ids = match &filter.incident_id {
            Some(id) => Some(find_incident(&ws.catalog, id)?.alert_ids),
            None => None,
        };
        let mut alerts: Vec<Alert> = all_alerts(&ws.catalog)
            .into_iter()
            .filter(|a| {
                filter
                    .severity
                    .as_ref()
                    .is_none_or(|s| a.severity.eq_ignore_ascii_case(s))
                    && filter
                        .status
                        .as_ref()
                        .is_none_or(|s| a.status.eq_ignore_ascii_case(s))
                    && filter.since.is_none_or(|t| {
                        a.time_generated
                            .as_deref()
                            .and_then(parse_iso)
                            .is_some_and(|g| g >= t)
                    })
                    && wanted_ids.as_ref().is_none_or(|ids| ids.contains(&a.id))
            })
            .collect();
        alerts.truncate(filter.top);
        Ok(alerts)
    }

    async fn get_alert(&self, id: &str) -> Result<Alert, BackendError> {
        let ws = self.workspace().await?;
        all_alerts(&ws.catalog)
            .into_iter()
            .find(|a| a.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                BackendError::NotFound(format!("no alert has id '{id}'; list_alerts shows the ids"))
            })
    }

    async fn update_incident(
        &self,
        id: &str,
        patch: IncidentPatch,
        actor: &str,
    ) -> Result<Incident, BackendError> {
        let ws = self.workspace().await?;
        let current = find_incident(&ws.catalog, id)?;
        let closing = patch
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Closed"));
        if closing && patch.classification.is_none() && current.classification.is_empty() {
            return Err(BackendError::Invalid(
                "closing an incident needs a classification (TruePositive, BenignPositive, FalsePositive or Undetermined)".into(),
            ));
        }
        let change = Change::Update {
            incident: current.id.clone(),
            at: self.clock.now_ticks(),
            actor: actor.into(),
            patch,
        };
        let ws = self.commit(change).await?;
        find_incident(&ws.catalog, &current.id)
    }

    async fn add_incident_comment(
        &self,
        id: &str,
        message: &str,
        actor: &str,
    ) -> Result<Comment, BackendError> {
        let ws = self.workspace().await?;
        let current = find_incident(&ws.catalog, id)?;
        let comment_id = uuid::Uuid::new_v4().to_string();
        let change = Change::Comment {
            incident: current.id.clone(),
            at: self.clock.now_ticks(),
            actor: actor.into(),
            id: comment_id.clone(),
            message: message.into(),
        };
        let ws = self.commit(change).await?;
        find_incident(&ws.catalog, &current.id)?
            .comments
            .into_iter()
            .find(|c| c.id == comment_id)
            .ok_or_else(|| {
                BackendError::Internal("the comment was stored but not found again".into())
            })
    }
}

fn unknown_table(catalog: &Catalog, name: &str) -> String {
    // The same name in other case first; otherwise names containing it.
    let mut close: Vec<&str> = catalog
        .names()
        .filter(|n| n.eq_ignore_ascii_case(name))
        .collect();
    if close.is_empty() {
        close = catalog
            .names()
            .filter(|n| n.to_ascii_lowercase().contains(&name.to_ascii_lowercase()))
            .collect();
    }
    if close.is_empty() {
        format!("table '{name}' does not exist; list_sentinel_tables shows the tables")
    } else {
        format!(
            "table '{name}' does not exist (table names are case-sensitive); did you mean {}?",
            close.join(", ")
        )
    }
}

fn read_state(path: &Path) -> Result<StateFile, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("state file {} is not valid: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile {
            version: 1,
            changes: Vec::new(),
        }),
        Err(e) => Err(format!("cannot read state file {}: {e}", path.display())),
    }
}

/// Rewrites the state file with one more change, atomically (temp file + rename).
fn append_state(path: &Path, change: Change) -> Result<(), String> {
    let mut state = read_state(path)?;
    state.version = 1;
    state.changes.push(change);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create state directory {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, bytes)
        .map_err(|e| format!("cannot write state file {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("cannot replace state file {}: {e}", path.display()))
}

/// Applies a change as Sentinel does: a new SecurityIncident row version with the change.
fn apply_change(catalog: &mut Catalog, change: &Change) -> Result<(), String> {
    let (incident, at) = match change {
        Change::Update { incident, at, .. } | Change::Comment { incident, at, .. } => {
            (incident, *at)
        }
    };
    let table = catalog
        .get("SecurityIncident")
        .ok_or("the workspace has no SecurityIncident table")?;
    let mut table: Table = (**table).clone();
    let latest = latest_row_index(&table, incident)
        .ok_or_else(|| format!("no incident has id '{incident}'; list_incidents shows the ids"))?;
    let mut row = table.rows[latest].clone();
    let set = |row: &mut Vec<Value>, table: &Table, col: &str, v: Value| {
        if let Some(i) = table.column_index(col) {
            row[i] = coerce(v, table.columns[i].ty);
        }
    };
    set(&mut row, &table, "TimeGenerated", Value::DateTime(at));
    set(&mut row, &table, "LastModifiedTime", Value::DateTime(at));
    match change {
        Change::Update { patch, actor, .. } => {
            if let Some(s) = &patch.status {
                set(&mut row, &table, "Status", Value::str(s));
                if s.eq_ignore_ascii_case("Closed") {
                    set(&mut row, &table, "ClosedTime", Value::DateTime(at));
                }
            }
            if let Some(s) = &patch.severity {
                set(&mut row, &table, "Severity", Value::str(s));
            }
            if let Some(c) = &patch.classification {
                set(&mut row, &table, "Classification", Value::str(c));
            }
            if let Some(o) = &patch.owner {
                let owner =
                    json!({"objectId": null, "email": o, "assignedTo": o, "userPrincipalName": o});
                set(&mut row, &table, "Owner", Value::dynamic(owner));
            }
            set(&mut row, &table, "ModifiedBy", Value::str(actor));
        }
        Change::Comment {
            actor, id, message, ..
        } => {
            let i = table
                .column_index("Comments")
                .ok_or("the SecurityIncident table has no Comments column")?;
            let mut comments = match as_json(&row[i]) {
                serde_json::Value::Array(a) => a,
                _ => Vec::new(),
            };
            comments.push(json!({
                "id": id,
                "message": message,
                "createdTimeUtc": format_datetime(at),
                "author": {"name": actor, "userPrincipalName": actor},
            }));
            row[i] = coerce(
                Value::dynamic(serde_json::Value::Array(comments)),
                table.columns[i].ty,
            );
        }
    }
    table.rows.push(row);
    catalog.insert("SecurityIncident", table);
    Ok(())
}

fn coerce(v: Value, ty: ScalarType) -> Value {
    match (v, ty) {
        (Value::Dynamic(d), ScalarType::String) => Value::str(d.to_string()),
        (Value::String(s), ScalarType::Dynamic) => {
            Value::dynamic(serde_json::Value::String(s.to_string()))
        }
        (v, _) => v,
    }
}

fn cell<'a>(table: &'a Table, row: &'a [Value], col: &str) -> Option<&'a Value> {
    table.column_index(col).and_then(|i| row.get(i))
}

fn text(table: &Table, row: &[Value], col: &str) -> String {
    cell(table, row, col)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn time(table: &Table, row: &[Value], col: &str) -> Option<String> {
    match cell(table, row, col)? {
        Value::DateTime(t) => Some(format_datetime(*t)),
        Value::Null => None,
        other => Some(other.to_string()).filter(|s| !s.is_empty()),
    }
}

fn ticks(table: &Table, row: &[Value], col: &str) -> i64 {
    match cell(table, row, col) {
        Some(Value::DateTime(t)) => *t,
        Some(Value::String(s)) => parse_iso(s).unwrap_or(i64::MIN),
        _ => i64::MIN,
    }
}

fn parse_iso(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| kql::value::datetime_to_ticks(t.with_timezone(&chrono::Utc)))
}

/// A cell as JSON; strings holding JSON (as exports often store dynamic columns) are parsed.
fn as_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Dynamic(d) => match &**d {
            serde_json::Value::String(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
            }
            other => other.clone(),
        },
        Value::String(s) => {
            serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
        }
        Value::Null => serde_json::Value::Null,
        other => other.to_json(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v.map(as_json) {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s,
                serde_json::Value::Object(o) => o
                    .get("labelName")
                    .and_then(|l| l.as_str())
                    .map(String::from)
                    .unwrap_or_else(|| serde_json::Value::Object(o).to_string()),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Index of the latest row version of an incident (by LastModifiedTime, then TimeGenerated, then position).
fn latest_row_index(table: &Table, id: &str) -> Option<usize> {
    let id = id.trim().trim_start_matches('#');
    table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            text(table, r, "IncidentNumber") == id
                || text(table, r, "IncidentName").eq_ignore_ascii_case(id)
        })
        .max_by_key(|(i, r)| {
            (
                ticks(table, r, "LastModifiedTime"),
                ticks(table, r, "TimeGenerated"),
                *i,
            )
        })
        .map(|(i, _)| i)
}

fn incident_from_row(table: &Table, row: &[Value]) -> Incident {
    let owner = cell(table, row, "Owner").map(as_json).unwrap_or_default();
    let owner = ["assignedTo", "userPrincipalName", "email"]
        .iter()
        .find_map(|k| {
            owner
                .get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        })
        .map(String::from)
        .unwrap_or_default();
    let comments = match cell(table, row, "Comments").map(as_json) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(n, c)| Comment {
                id: c
                    .get("id")
                    .and_then(|v| v.as_str())
                    .map(String::from)
                    .unwrap_or_else(|| n.to_string()),
                message: c
                    .get("message")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                author: c
                    .pointer("/author/name")
                    .or_else(|| c.pointer("/author/userPrincipalName"))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                created_time: c
                    .get("createdTimeUtc")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Incident {
        id: text(table, row, "IncidentNumber"),
        name: text(table, row, "IncidentName"),
        title: text(table, row, "Title"),
        description: text(table, row, "Description"),
        severity: text(table, row, "Severity"),
        status: text(table, row, "Status"),
        classification: text(table, row, "Classification"),
        classification_reason: text(table, row, "ClassificationReason"),
        owner,
        created_time: time(table, row, "CreatedTime"),
        last_modified_time: time(table, row, "LastModifiedTime"),
        first_activity_time: time(table, row, "FirstActivityTime"),
        last_activity_time: time(table, row, "LastActivityTime"),
        alert_ids: strings(cell(table, row, "AlertIds")),
        labels: strings(cell(table, row, "Labels")),
        comments,
        url: text(table, row, "IncidentUrl"),
    }
}

/// The latest version of every incident with its modification time, newest first.
fn latest_incidents(catalog: &Catalog) -> Vec<(Incident, i64)> {
    let Some(table) = catalog.get("SecurityIncident") else {
        return Vec::new();
    };
    let mut latest: std::collections::HashMap<String, (usize, (i64, i64, usize))> =
        std::collections::HashMap::new();
    for (i, r) in table.rows.iter().enumerate() {
        let key = (
            ticks(table, r, "LastModifiedTime"),
            ticks(table, r, "TimeGenerated"),
            i,
        );
        let entry = latest
            .entry(text(table, r, "IncidentNumber"))
            .or_insert((i, key));
        if key > entry.1 {
            *entry = (i, key);
        }
    }
    let mut out: Vec<(Incident, i64)> = latest
        .into_values()
        .map(|(i, (modified, generated, _))| {
            (
                incident_from_row(table, &table.rows[i]),
                modified.max(generated),
            )
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.id.cmp(&a.0.id)));
    out
}

fn find_incident(catalog: &Catalog, id: &str) -> Result<Incident, BackendError> {
    let table = catalog.get("SecurityIncident").ok_or_else(|| {
        BackendError::NotFound("the workspace has no SecurityIncident table".into())
    })?;
    latest_row_index(table, id)
        .map(|i| incident_from_row(table, &table.rows[i]))
        .ok_or_else(|| {
            BackendError::NotFound(format!(
                "no incident has id '{id}'; list_incidents shows the ids"
            ))
        })
}

/// Every alert (latest row per SystemAlertId), newest first.
fn all_alerts(catalog: &Catalog) -> Vec<Alert> {
    let Some(t) = catalog.get("SecurityAlert") else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<&Vec<Value>> = t.rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(ticks(t, r, "TimeGenerated")));
    rows.into_iter()
        .filter(|r| seen.insert(text(t, r, "SystemAlertId")))
        .map(|r| Alert {
            id: text(t, r, "SystemAlertId"),
            name: text(t, r, "AlertName"),
            severity: text(t, r, "AlertSeverity"),
            status: text(t, r, "Status"),
            description: text(t, r, "Description"),
            provider: text(t, r, "ProviderName"),
            product: text(t, r, "ProductName"),
            tactics: text(t, r, "Tactics"),
            techniques: text(t, r, "Techniques"),
            compromised_entity: text(t, r, "CompromisedEntity"),
            start_time: time(t, r, "StartTime"),
            end_time: time(t, r, "EndTime"),
            time_generated: time(t, r, "TimeGenerated"),
            entities: match cell(t, r, "Entities").map(as_json) {
                Some(serde_json::Value::Array(items)) => items,
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Entities as Sentinel stores them carry `$id`/`$ref` bookkeeping; an analyst needs neither.
fn strip_entity_refs(e: &serde_json::Value) -> serde_json::Value {
    match e {
        serde_json::Value::Object(o) => serde_json::Value::Object(
            o.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn table_infos(catalog: &Catalog) -> TableList {
    catalog
        .names()
        .map(|name| {
            let (first, last) = catalog.time_range(name).unzip();
            TableInfo {
                name: name.to_string(),
                row_count: catalog.row_count(name).unwrap_or(0) as u64,
                first_time: first.map(format_datetime),
                last_time: last.map(format_datetime),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::TimeRange;
    use crate::clock::ManualClock;

    /// `now()` as a query on `backend` sees it.
    async fn now(backend: &LocalBackend) -> Value {
        let request = QueryRequest {
            query: "print t = now()".into(),
            range: TimeRange {
                start: 0,
                end: backend.clock.now_ticks() + 1,
            },
            timeout: Duration::from_secs(30),
            workspace: None,
            prepared: None,
        };
        backend.query(request).await.unwrap().table.rows[0][0].clone()
    }

    #[tokio::test]
    async fn queries_and_the_journal_read_the_backends_clock() {
        let time = ManualClock::new();
        let dir = std::env::temp_dir().join(format!("local-clock-{}", uuid::Uuid::new_v4()));
        let budgets = MemoryBudgets {
            query: 256 << 20,
            engine: 512 << 20,
        };
        let backend = LocalBackend::load_now(
            LocalSource::Demo { rows: 2_000 },
            dir.clone(),
            budgets,
            time.clock(),
        )
        .unwrap();
        let before = time.clock().now_ticks();
        assert_eq!(now(&backend).await, Value::DateTime(before));
        time.advance(Duration::from_secs(3_600));
        let later = before + 3_600 * 10_000_000;
        assert_eq!(now(&backend).await, Value::DateTime(later));
        // A comment is journalled at the clock's time, an hour after the first query's now.
        let comment = backend
            .add_incident_comment("1042", "contained", "analyst@contoso.com")
            .await
            .unwrap();
        assert_eq!(comment.created_time, kql::value::format_datetime(later));
        let _ = std::fs::remove_dir_all(dir);
    }
}
