//! The Azure backend: queries through Log Analytics, incidents and alerts through Microsoft
//! Graph security or Sentinel's ARM API, hunting through Graph: as the server's identity, or, with
//! SENTINEL_MCP_AZURE_ACCESS=on-behalf-of, as each caller (see `azure::access`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kql::{Column, Value};

use super::{Backend, BackendError, QueryOutput, QueryRequest, Readiness, TimeRange};
use crate::azure::access::{self, DataAccess};
use crate::azure::arm::{self, ArmError, SentinelArmClient};
use crate::azure::graph::{self, GraphSecurityClient};
use crate::azure::log_analytics::{LogAnalyticsClient, LogAnalyticsResult, iso_interval};
use crate::azure::obo::OnBehalfOf;
use crate::azure::token::{IdentityConfig, TokenCredential, providers};
use crate::azure::{Audiences, AzureError, AzureHttp, guard};
use crate::clock::Clock;
use crate::limits::{Busy, Slots};
use crate::model::{
    Alert, AlertFilter, Comment, Incident, IncidentDetail, IncidentFilter, IncidentPatch,
    IncidentsApi, TableInfo, TableList,
};
use crate::outbound::{OutboundClient, OutboundError, RetryPolicy};

/// At most one readiness probe per this period, however often the platform asks.
const PROBE_PERIOD: Duration = Duration::from_secs(30);
/// How long the readiness query may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything the Azure backend needs, resolved from settings.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    pub workspace_id: String,
    /// Further workspaces by name (`name`, workspace id).
    pub workspaces: Vec<(String, String)>,
    pub workspace_resource_id: Option<String>,
    pub incidents_api: IncidentsApi,
    pub identity: IdentityConfig,
    pub log_analytics_endpoint: String,
    pub graph_endpoint: String,
    pub arm_endpoint: String,
    pub audiences: Audiences,
    pub retry: RetryPolicy,
    pub schema_cache: Duration,
    /// The window `list_sentinel_tables` counts rows in.
    pub default_timespan: String,
    /// Queries (Log Analytics and hunting) in flight at once; 0: no cap.
    pub max_concurrent_queries: usize,
    /// Queries that may wait for a slot; 0: no bound.
    pub query_queue: usize,
}

/// What a call outside a tool call (the readiness probe) may use, by access mode.
pub enum AccessMode {
    /// Every call as the server's identity.
    ServerIdentity,
    /// Calls as their callers; readiness is the exchange's client credential.
    OnBehalfOf(Arc<OnBehalfOf>),
}

/// The last readiness probe.
struct Probe {
    at: Option<Instant>,
    state: Readiness,
}

/// Log Analytics, Graph and ARM behind the `Backend` trait.
pub struct AzureBackend {
    config: AzureConfig,
    la: LogAnalyticsClient,
    /// The read-only rules, checked again before anything is sent.
    guard: kql::QueryGuard,
    graph: GraphSecurityClient,
    /// Set when SENTINEL_MCP_INCIDENTS_API=arm: incidents through Sentinel's ARM API.
    arm: Option<SentinelArmClient>,
    /// Table lists by identity and workspace id (each caller sees its own in on-behalf-of mode).
    tables: tokio::sync::Mutex<HashMap<String, (Instant, TableList)>>,
    /// Schemas by identity, `workspace id/table`.
    schemas: tokio::sync::Mutex<HashMap<String, (Instant, Vec<Column>)>>,
    probe: std::sync::Mutex<Probe>,
    probing: AtomicBool,
    /// Set in on-behalf-of mode: readiness checks its client credential, not a query.
    obo: Option<Arc<OnBehalfOf>>,
    /// Every query runs as the one identity, whose concurrent queries the services limit.
    queries: Slots,
    /// Wall time for default windows and the tokens' lifetimes.
    clock: Clock,
    this: Weak<AzureBackend>,
}

impl AzureBackend {
    /// Builds the clients, reading wall time from `clock`; the first readiness probe starts
    /// when readiness is first asked.
    pub fn start(
        config: AzureConfig,
        timeout: Duration,
        mode: AccessMode,
        clock: Clock,
    ) -> Result<Arc<AzureBackend>, String> {
        let http = OutboundClient::new(timeout)
            .map_err(|e| e.to_string())?
            .with_retry(config.retry)
            .with_clock(clock.clone());
        let credential = Arc::new(TokenCredential::new(
            providers(&config.identity, &http),
            clock.clone(),
        ));
        let (unscoped, obo) = match mode {
            AccessMode::ServerIdentity => {
                tracing::info!(providers = ?credential.provider_names(), "Azure identity chain");
                (Some(DataAccess::Server), None)
            }
            AccessMode::OnBehalfOf(obo) => {
                tracing::info!(
                    credential = obo.credential_name(),
                    "Azure access on behalf of each caller"
                );
                (None, Some(obo))
            }
        };
        let http = Arc::new(AzureHttp {
            http,
            credential,
            unscoped,
        });
        let la = LogAnalyticsClient {
            http: http.clone(),
            endpoint: config.log_analytics_endpoint.clone(),
            audience: config.audiences.log_analytics.clone(),
        };
        let graph = GraphSecurityClient {
            http: http.clone(),
            endpoint: config.graph_endpoint.clone(),
            audience: config.audiences.graph.clone(),
        };
        let arm = match (config.incidents_api, &config.workspace_resource_id) {
            (IncidentsApi::Arm, Some(id)) => Some(SentinelArmClient {
                http: http.clone(),
                endpoint: config.arm_endpoint.clone(),
                audience: config.audiences.arm.clone(),
                workspace_resource_id: id.clone(),
            }),
            _ => None,
        };
        let mut workspaces = vec![config.workspace_id.clone()];
        for (name, id) in &config.workspaces {
            workspaces.push(name.clone());
            workspaces.push(id.clone());
        }
        let checking = Readiness::NotReady(match obo {
            Some(_) => "checking the on-behalf-of client credential".into(),
            None => "checking Azure: identity and a test query".into(),
        });
        let backend = Arc::new_cyclic(|this| AzureBackend {
            guard: guard::read_only(workspaces),
            la,
            graph,
            arm,
            tables: tokio::sync::Mutex::new(HashMap::new()),
            schemas: tokio::sync::Mutex::new(HashMap::new()),
            probe: std::sync::Mutex::new(Probe {
                at: None,
                state: checking,
            }),
            probing: AtomicBool::new(false),
            obo,
            queries: Slots::new(
                "Azure queries",
                config.max_concurrent_queries,
                config.query_queue,
            ),
            config,
            clock,
            this: this.clone(),
        });
        Ok(backend)
    }

    fn spawn_probe(&self) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(this) = self.this.upgrade() else {
            self.probing.store(false, Ordering::Release);
            return;
        };
        tokio::spawn(async move {
            let outcome = match &this.obo {
                Some(obo) => Ok(obo
                    .check_client_credential()
                    .await
                    .map_err(|e| e.to_string())),
                None => {
                    let workspace = &this.config.workspace_id;
                    this.la_query(workspace, "print ready = 1", None, PROBE_TIMEOUT)
                        .await
                        .map(|answer| answer.map(drop).map_err(|e| e.to_string()))
                }
            };
            let state = match outcome {
                Ok(Ok(())) => Some(Readiness::Ready),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "Azure readiness probe failed");
                    Some(Readiness::NotReady(e))
                }
                // Every query slot busy: a busy server is not an unready one, so the last
                // verdict stands and the next readiness check probes again.
                Err(busy) => {
                    tracing::debug!(%busy, "Azure readiness probe found no free query slot");
                    None
                }
            };
            if let Some(state) = state
                && let Ok(mut probe) = this.probe.lock()
            {
                *probe = Probe {
                    at: Some(Instant::now()),
                    state,
                };
            }
            this.probing.store(false, Ordering::Release);
        });
    }

    /// The workspace id a request names.
    fn workspace_id(&self, name: Option<&str>) -> Result<&str, BackendError> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(&self.config.workspace_id);
        };
        if name.eq_ignore_ascii_case("default") || name == self.config.workspace_id {
            return Ok(&self.config.workspace_id);
        }
        self.config
            .workspaces
            .iter()
            .find(|(n, id)| n.eq_ignore_ascii_case(name) || id == name)
            .map(|(_, id)| id.as_str())
            .ok_or_else(|| {
                let mut names = vec!["default".to_string()];
                names.extend(self.config.workspaces.iter().map(|(n, _)| n.clone()));
                BackendError::Invalid(format!(
                    "unknown workspace '{name}'; this server knows: {}",
                    names.join(", ")
                ))
            })
    }

    async fn run_query(&self, request: &QueryRequest) -> Result<QueryOutput, BackendError> {
        guard::check(&self.guard, &request.query)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        let workspace = self.workspace_id(request.workspace.as_deref())?;
        let range = Some((request.range.start, request.range.end));
        let result = self
            .la_query(workspace, &request.query, range, request.timeout)
            .await
            .map_err(BackendError::Busy)?
            .map_err(|e| query_failure(e, request.timeout))?;
        Ok(QueryOutput {
            table: result.table,
            warnings: result.warnings,
            visualization: result.visualization,
        })
    }

    async fn tables(&self, workspace: &str) -> Result<TableList, BackendError> {
        let key = identity_key(workspace);
        let mut cached = self.tables.lock().await;
        if let Some((at, tables)) = cached.get(&key)
            && at.elapsed() < self.config.schema_cache
        {
            return Ok(tables.clone());
        }
        let range = TimeRange::parse(&self.config.default_timespan, self.clock.now_ticks())
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        let query = "union withsource=TableName * \
            | summarize RowCount = count(), FirstTime = min(TimeGenerated), LastTime = max(TimeGenerated) by TableName \
            | sort by TableName asc";
        let result = self
            .la_query(
                workspace,
                query,
                Some((range.start, range.end)),
                Duration::from_secs(120),
            )
            .await
            .map_err(BackendError::Busy)?
            .map_err(upstream)?;
        let t = &result.table;
        let col = |name: &str| t.column_index(name);
        let (Some(n), Some(c), Some(f), Some(l)) = (
            col("TableName"),
            col("RowCount"),
            col("FirstTime"),
            col("LastTime"),
        ) else {
            return Err(BackendError::Internal(
                "Log Analytics answered the table list without the expected columns".into(),
            ));
        };
        let time = |v: &Value| match v {
            Value::DateTime(t) => Some(kql::value::format_datetime(*t)),
            _ => None,
        };
        let tables: TableList = t
            .rows
            .iter()
            .map(|r| TableInfo {
                name: r[n].to_string(),
                row_count: match r[c] {
                    Value::Long(x) => x.max(0) as u64,
                    Value::Int(x) => x.max(0) as u64,
                    _ => 0,
                },
                first_time: time(&r[f]),
                last_time: time(&r[l]),
            })
            .collect();
        let ttl = self.config.schema_cache;
        cached.retain(|_, (at, _)| at.elapsed() < ttl);
        cached.insert(key, (Instant::now(), tables.clone()));
        Ok(tables)
    }

    /// A Log Analytics query in one of the query slots; the wait for a slot counts against
    /// `timeout`.
    async fn la_query(
        &self,
        workspace: &str,
        query: &str,
        timespan: Option<(i64, i64)>,
        timeout: Duration,
    ) -> Result<Result<LogAnalyticsResult, AzureError>, Busy> {
        self.queries
            .run(timeout, async |left| {
                self.la.query(workspace, query, timespan, left).await
            })
            .await
    }

    async fn suggestion(&self, workspace: &str, table: &str) -> Option<String> {
        let tables = self.tables(workspace).await.ok()?;
        tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(table))
            .map(|t| t.name.clone())
    }
}

/// A cache key for what the current call's identity may see of `item`: one view for the
/// server, one per caller.
fn identity_key(item: &str) -> String {
    match access::current() {
        Some(access) => format!("{}|{item}", access.cache_key()),
        None => format!("server|{item}"),
    }
}

/// A service failure as the caller sees it: with its detail when the caller can act on it (the
/// service refused the request itself, 4xx, or is throttling, 429; in on-behalf-of mode also
/// 401/403, which refuse the caller's own identity); as an internal failure otherwise (the
/// server's identity was refused, 401/403; an outage, 5xx; no answer; an answer that could not
/// be read), whose detail goes only to the log.
fn upstream(e: AzureError) -> BackendError {
    let as_caller = matches!(access::current(), Some(DataAccess::Caller(_)));
    match e.status() {
        Some(401 | 403) if !as_caller => BackendError::Internal(e.to_string()),
        Some(400..=499) => BackendError::Upstream(e.to_string()),
        _ => BackendError::Internal(e.to_string()),
    }
}

/// A query's failure; running out of time is the caller's to act on (narrow the query).
fn query_failure(e: AzureError, timeout: Duration) -> BackendError {
    match e {
        AzureError::Transport(OutboundError::Timeout { .. }) => BackendError::timeout(timeout),
        other => upstream(other),
    }
}

fn arm_error(e: ArmError) -> BackendError {
    match e {
        ArmError::Azure(e) => upstream(e),
        ArmError::NotFound(_) => BackendError::NotFound(e.to_string()),
        ArmError::Conflict => BackendError::Invalid(e.to_string()),
    }
}

/// An ARM incident with its alerts and comments.
async fn arm_detail(
    client: &SentinelArmClient,
    v: &serde_json::Value,
) -> Result<IncidentDetail, BackendError> {
    let name = v
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let (alerts, entities, comments) = tokio::try_join!(
        client.alerts(name),
        client.entities(name),
        client.comments(name)
    )
    .map_err(upstream)?;
    let alerts: Vec<Alert> = alerts.iter().map(arm::alert).collect();
    let comments = comments.iter().map(arm::comment).collect();
    let ids = alerts.iter().map(|a| a.id.clone()).collect();
    Ok(IncidentDetail {
        incident: arm::incident(v, ids, comments),
        alerts,
        entities,
    })
}

/// A service failure where a 404 means the named thing does not exist.
fn upstream_or_missing(e: AzureError, what: &str, id: &str) -> BackendError {
    if e.status() == Some(404) {
        BackendError::NotFound(format!("no {what} with id '{id}'"))
    } else {
        upstream(e)
    }
}

/// Ids go into URL paths: refuse anything but the characters Graph and ARM ids use.
fn check_id(what: &str, id: &str) -> Result<(), BackendError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BackendError::Invalid(format!(
            "'{id}' is not a valid {what} id; use the id list_incidents or list_alerts shows"
        )))
    }
}

fn check_patch(patch: &IncidentPatch) -> Result<(), BackendError> {
    if patch.status.as_deref() == Some("Closed") && patch.classification.is_none() {
        return Err(BackendError::Invalid(
            "closing an incident needs a classification (TruePositive, BenignPositive, FalsePositive, Undetermined)".into(),
        ));
    }
    Ok(())
}

/// The entities of alerts, each once.
fn entities_of(alerts: &[Alert]) -> Vec<serde_json::Value> {
    let mut seen = std::collections::HashSet::new();
    alerts
        .iter()
        .flat_map(|a| a.entities.iter())
        .filter(|e| seen.insert(e.to_string()))
        .cloned()
        .collect()
}

#[async_trait]
impl Backend for AzureBackend {
    fn kind(&self) -> &'static str {
        "azure"
    }

    fn query_slots(&self) -> Option<&Slots> {
        Some(&self.queries)
    }

    fn readiness(&self) -> Readiness {
        let (stale, state) = match self.probe.lock() {
            Ok(p) => (
                p.at.is_none_or(|at| at.elapsed() >= PROBE_PERIOD),
                p.state.clone(),
            ),
            Err(_) => (true, Readiness::NotReady("readiness state poisoned".into())),
        };
        if stale {
            self.spawn_probe();
        }
        state
    }

    async fn query(&self, request: QueryRequest) -> Result<QueryOutput, BackendError> {
        crate::telemetry::trace::record_executor("log_analytics");
        self.run_query(&request).await
    }

    async fn hunt(&self, request: QueryRequest) -> Result<QueryOutput, BackendError> {
        crate::telemetry::trace::record_executor("defender_advanced_hunting");
        guard::check(&self.guard, &request.query)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        let interval = iso_interval(request.range.start, request.range.end);
        let table = self
            .queries
            .run(request.timeout, async |left| {
                self.graph
                    .run_hunting_query(&request.query, Some(interval), left)
                    .await
            })
            .await
            .map_err(BackendError::Busy)?
            .map_err(|e| query_failure(e, request.timeout))?;
        // Advanced hunting returns no render instructions: read them from the query, which KQL
        // parses as Defender does (a query the local parser cannot read simply draws no chart).
        let visualization = kql::parse(&request.query)
            .ok()
            .and_then(|script| script.visualization().cloned());
        Ok(QueryOutput {
            table,
            warnings: Vec::new(),
            visualization,
        })
    }

    async fn list_tables(&self) -> Result<TableList, BackendError> {
        self.list_tables_in(None).await
    }

    async fn table_schema(&self, table: &str) -> Result<Vec<Column>, BackendError> {
        self.table_schema_in(table, None).await
    }

    async fn list_tables_in(&self, workspace: Option<&str>) -> Result<TableList, BackendError> {
        let workspace = self.workspace_id(workspace)?.to_string();
        self.tables(&workspace).await
    }

    async fn table_schema_in(
        &self,
        table: &str,
        workspace: Option<&str>,
    ) -> Result<Vec<Column>, BackendError> {
        let workspace = self.workspace_id(workspace)?.to_string();
        if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(BackendError::Invalid(format!(
                "'{table}' is not a table name; use list_sentinel_tables to see the tables"
            )));
        }
        {
            let cache = self.schemas.lock().await;
            if let Some((at, cols)) = cache.get(&identity_key(&format!("{workspace}/{table}")))
                && at.elapsed() < self.config.schema_cache
            {
                return Ok(cols.clone());
            }
        }
        let query = format!("{table} | take 0");
        match self
            .la_query(&workspace, &query, None, Duration::from_secs(60))
            .await
            .map_err(BackendError::Busy)?
        {
            Ok(result) => {
                let cols = result.table.columns;
                let ttl = self.config.schema_cache;
                let mut cache = self.schemas.lock().await;
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
                cache.insert(
                    identity_key(&format!("{workspace}/{table}")),
                    (Instant::now(), cols.clone()),
                );
                Ok(cols)
            }
            Err(e) if e.status() == Some(400) => {
                let hint = match self.suggestion(&workspace, table).await {
                    Some(name) if name != table => format!("; did you mean {name}?"),
                    _ => "; use list_sentinel_tables to see the tables".into(),
                };
                Err(BackendError::NotFound(format!(
                    "no table named '{table}' in the workspace{hint}"
                )))
            }
            Err(e) => Err(upstream(e)),
        }
    }

    async fn list_incidents(&self, filter: IncidentFilter) -> Result<Vec<Incident>, BackendError> {
        if let Some(arm) = &self.arm {
            let items = arm.list_incidents(&filter).await.map_err(upstream)?;
            return Ok(items
                .iter()
                .map(|v| arm::incident(v, Vec::new(), Vec::new()))
                .collect());
        }
        let items = self.graph.list_incidents(&filter).await.map_err(upstream)?;
        let mut incidents: Vec<Incident> = items.iter().map(graph::incident).collect();
        incidents.sort_by(|a, b| b.last_modified_time.cmp(&a.last_modified_time));
        Ok(incidents)
    }

    async fn get_incident(&self, id: &str) -> Result<IncidentDetail, BackendError> {
        check_id("incident", id)?;
        if let Some(arm) = &self.arm {
            let v = arm.find(id).await.map_err(arm_error)?;
            return arm_detail(arm, &v).await;
        }
        let v = self
            .graph
            .get_incident(id)
            .await
            .map_err(|e| upstream_or_missing(e, "incident", id))?;
        let alerts: Vec<Alert> = v
            .get("alerts")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().map(graph::alert).collect())
            .unwrap_or_default();
        Ok(IncidentDetail {
            incident: graph::incident(&v),
            entities: entities_of(&alerts),
            alerts,
        })
    }

    async fn list_alerts(&self, filter: AlertFilter) -> Result<Vec<Alert>, BackendError> {
        let items = self.graph.list_alerts(&filter).await.map_err(upstream)?;
        let mut alerts: Vec<Alert> = items.iter().map(graph::alert).collect();
        alerts.sort_by(|a, b| b.time_generated.cmp(&a.time_generated));
        Ok(alerts)
    }

    async fn get_alert(&self, id: &str) -> Result<Alert, BackendError> {
        check_id("alert", id)?;
        let v = self
            .graph
            .get_alert(id)
            .await
            .map_err(|e| upstream_or_missing(e, "alert", id))?;
        Ok(graph::alert(&v))
    }

    async fn update_incident(
        &self,
        id: &str,
        patch: IncidentPatch,
        actor: &str,
    ) -> Result<Incident, BackendError> {
        check_id("incident", id)?;
        check_patch(&patch)?;
        if let Some(arm) = &self.arm {
            tracing::info!(incident = id, actor, "updating incident through ARM");
            let v = arm.update(id, &patch).await.map_err(arm_error)?;
            return Ok(arm::incident(&v, Vec::new(), Vec::new()));
        }
        tracing::info!(incident = id, actor, "updating incident through Graph");
        let v = self
            .graph
            .update_incident(id, graph::patch_body(&patch))
            .await
            .map_err(|e| upstream_or_missing(e, "incident", id))?;
        Ok(graph::incident(&v))
    }

    async fn add_incident_comment(
        &self,
        id: &str,
        message: &str,
        actor: &str,
    ) -> Result<Comment, BackendError> {
        check_id("incident", id)?;
        if let Some(arm) = &self.arm {
            tracing::info!(incident = id, actor, "commenting on incident through ARM");
            let incident = arm.find(id).await.map_err(arm_error)?;
            let name = incident
                .get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let v = arm.add_comment(name, message).await.map_err(upstream)?;
            return Ok(arm::comment(&v));
        }
        tracing::info!(incident = id, actor, "commenting on incident through Graph");
        let v = self
            .graph
            .add_comment(id, message)
            .await
            .map_err(|e| upstream_or_missing(e, "incident", id))?;
        let comments = v
            .get("value")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        match comments.last() {
            Some(last) => Ok(graph::comment(comments.len() - 1, last)),
            None => Ok(Comment {
                id: "1".into(),
                message: message.to_string(),
                author: actor.to_string(),
                created_time: self.clock.now_iso(),
            }),
        }
    }
}
