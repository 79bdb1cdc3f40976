//! The guard sits in front of every backend: a refused query never reaches `Backend::query`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kql::{Column, Table};
use serde_json::json;

use super::{ToolCatalog, ToolContext, ToolSettings};
use crate::backend::*;
use crate::model::*;

/// A backend that counts the queries it receives and answers an empty table.
#[derive(Default)]
struct CountingBackend {
    queries: AtomicUsize,
}

#[async_trait]
impl Backend for CountingBackend {
    fn kind(&self) -> &'static str {
        "azure"
    }
    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }
    async fn query(&self, _: QueryRequest) -> Result<QueryOutput, BackendError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        Ok(QueryOutput {
            table: Table::default(),
            ..QueryOutput::default()
        })
    }
    async fn hunt(&self, r: QueryRequest) -> Result<QueryOutput, BackendError> {
        self.query(r).await
    }
    async fn list_tables(&self) -> Result<TableList, BackendError> {
        Ok(TableList::from([]))
    }
    async fn table_schema(&self, _: &str) -> Result<Vec<Column>, BackendError> {
        Ok(Vec::new())
    }
    async fn list_incidents(&self, _: IncidentFilter) -> Result<Vec<Incident>, BackendError> {
        Ok(Vec::new())
    }
    async fn get_incident(&self, id: &str) -> Result<IncidentDetail, BackendError> {
        Err(BackendError::NotFound(id.into()))
    }
    async fn list_alerts(&self, _: AlertFilter) -> Result<Vec<Alert>, BackendError> {
        Ok(Vec::new())
    }
    async fn get_alert(&self, id: &str) -> Result<Alert, BackendError> {
        Err(BackendError::NotFound(id.into()))
    }
    async fn update_incident(
        &self,
        id: &str,
        _: IncidentPatch,
        _: &str,
    ) -> Result<Incident, BackendError> {
        Err(BackendError::NotFound(id.into()))
    }
    async fn add_incident_comment(
        &self,
        id: &str,
        _: &str,
        _: &str,
    ) -> Result<Comment, BackendError> {
        Err(BackendError::NotFound(id.into()))
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn context(backend: Arc<CountingBackend>) -> ToolContext {
    ToolContext {
        backend,
        clock: crate::clock::Clock::system(),
        results: crate::results::ResultStore::new(
            crate::clock::Clock::system(),
            Duration::from_secs(600),
            1 << 20,
        ),
        settings: ToolSettings {
            max_rows: 200,
            max_rows_limit: 5_000,
            max_result_bytes: 256 * 1024,
            query_timeout: Duration::from_secs(60),
            default_timespan: "P30D".into(),
            write_tools: false,
            guard: kql::QueryGuard {
                max_query_chars: 200,
                syntax: kql::guard::SyntaxPolicy::LeaveToService,
                ..kql::QueryGuard::default()
            },
            charts: None,
        },
    }
}

#[tokio::test]
async fn refused_queries_never_reach_the_backend_and_allowed_ones_do() {
    let backend = Arc::new(CountingBackend::default());
    let ctx = context(backend.clone());
    let tools = ToolCatalog::new(false);
    let refused = [
        ("run_kql_query", "print 1 | evaluate sql_request('x', 'y')"),
        ("run_kql_query", ".set-or-append T <| print 1"),
        ("run_hunting_query", "database('other').DeviceEvents"),
        (
            "run_hunting_query",
            "DeviceEvents | partition by DeviceId (evaluate python(typeof(*), 'x'))",
        ),
        (
            "run_kql_query",
            "print s = 'a' // ........................................................................................................................................................................................",
        ),
    ];
    for (tool, query) in refused {
        let args = json!({"query": query}).as_object().cloned();
        let r = tools
            .call(&ctx, tool, args, "tester", "t/tester", deadline())
            .await
            .unwrap();
        let r = r.result();
        assert_eq!(r.is_error, Some(true), "{query} was not refused");
    }
    assert_eq!(backend.queries.load(Ordering::SeqCst), 0);

    // A construct the local parser does not know is left to the remote service.
    for query in ["SigninLogs | take 1", "SigninLogs | some-new-operator x"] {
        let args = json!({"query": query}).as_object().cloned();
        let r = tools
            .call(
                &ctx,
                "run_kql_query",
                args,
                "tester",
                "t/tester",
                deadline(),
            )
            .await
            .unwrap()
            .into_result();
        assert_ne!(r.is_error, Some(true), "{query}: {r:?}");
    }
    assert_eq!(backend.queries.load(Ordering::SeqCst), 2);
}
