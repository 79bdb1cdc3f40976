//! Catalog tables that count what DataFusion reads of them, for a query's [`ScanProgress`]:
//! `MemTable` scans keep no row metrics, so a query that reports progress scans each catalog
//! table through [`CountedTable`], whose plan ([`CountedScan`]) is the `MemTable`'s own with one
//! relaxed atomic add per batch it yields. Everything else (projection, filter and limit
//! pushdown, partitioning, ordering, statistics) is the `MemTable` plan's, delegated, so the
//! optimizer plans a counted scan exactly as it plans the bare one.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Constraints, Result, Statistics};
use datafusion::datasource::{TableType, source_as_provider};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::execution_plan::{CardinalityEffect, ReplaceChildrenOptions};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    SortOrderPushdownResult, StatisticsArgs,
};
use futures::StreamExt;

use crate::progress::ScanProgress;

/// A catalog table whose scans count the rows they yield into a query's progress.
#[derive(Debug)]
pub(super) struct CountedTable {
    inner: Arc<dyn TableProvider>,
    rows: usize,
    progress: Arc<ScanProgress>,
}

impl CountedTable {
    /// `inner` (a catalog table of `rows` rows) counted into `progress`.
    pub(super) fn new(
        inner: Arc<dyn TableProvider>,
        rows: usize,
        progress: Arc<ScanProgress>,
    ) -> CountedTable {
        CountedTable {
            inner,
            rows,
            progress,
        }
    }
}

/// Tells each query's progress the rows `plan` is going to read: every catalog table it scans
/// (a table scanned twice counts twice). Called as the plan is about to run.
pub(super) fn announce(plan: &LogicalPlan) {
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(provider) = source_as_provider(&scan.source)
            && let Some(counted) =
                (provider.as_ref() as &dyn std::any::Any).downcast_ref::<CountedTable>()
        {
            counted.progress.will_read(counted.rows);
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

#[async_trait]
impl TableProvider for CountedTable {
    fn schema(&self) -> arrow_schema::SchemaRef {
        self.inner.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.inner.get_column_default(column)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        Ok(CountedScan::wrap(plan, &self.progress))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }
}

/// A catalog table's scan that counts the rows of each batch it yields. A leaf, like the scan
/// it wraps: every optimizer hook goes to that scan and the result is wrapped again.
#[derive(Debug)]
pub(super) struct CountedScan {
    inner: Arc<dyn ExecutionPlan>,
    progress: Arc<ScanProgress>,
}

impl CountedScan {
    fn wrap(inner: Arc<dyn ExecutionPlan>, progress: &Arc<ScanProgress>) -> Arc<dyn ExecutionPlan> {
        Arc::new(CountedScan {
            inner,
            progress: Arc::clone(progress),
        })
    }

    fn rewrap(&self, inner: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        CountedScan::wrap(inner, &self.progress)
    }
}

impl DisplayAs for CountedScan {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.inner.fmt_as(t, f)
    }
}

impl ExecutionPlan for CountedScan {
    fn name(&self) -> &str {
        "CountedScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn replace_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
        _: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        config: &ConfigOptions,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .inner
            .repartitioned(target_partitions, config)?
            .map(|p| self.rewrap(p)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let stream = self.inner.execute(partition, context)?;
        let schema = stream.schema();
        let progress = Arc::clone(&self.progress);
        let counted = stream.inspect(move |batch| {
            if let Ok(batch) = batch {
                progress.read(batch.num_rows());
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, counted)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        self.inner.metrics()
    }

    #[allow(deprecated)]
    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        self.inner.partition_statistics(partition)
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.inner.statistics_from_inputs(input_stats, args)
    }

    fn supports_limit_pushdown(&self) -> bool {
        self.inner.supports_limit_pushdown()
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        Some(self.rewrap(self.inner.with_fetch(limit)?))
    }

    fn fetch(&self) -> Option<usize> {
        self.inner.fetch()
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        self.inner.cardinality_effect()
    }

    fn try_swapping_with_projection(
        &self,
        projection: &ProjectionExec,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .inner
            .try_swapping_with_projection(projection)?
            .map(|p| self.rewrap(p)))
    }

    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let mut result =
            self.inner
                .handle_child_pushdown_result(phase, child_pushdown_result, config)?;
        result.updated_node = result.updated_node.map(|p| self.rewrap(p));
        Ok(result)
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
    ) -> Result<SortOrderPushdownResult<Arc<dyn ExecutionPlan>>> {
        self.inner
            .try_pushdown_sort(order)?
            .try_map(|p| Ok(self.rewrap(p)))
    }

    fn with_preserve_order(&self, preserve_order: bool) -> Option<Arc<dyn ExecutionPlan>> {
        Some(self.rewrap(self.inner.with_preserve_order(preserve_order)?))
    }

    fn with_new_state(
        &self,
        state: Arc<dyn std::any::Any + Send + Sync>,
    ) -> Option<Arc<dyn ExecutionPlan>> {
        Some(self.rewrap(self.inner.with_new_state(state)?))
    }

    fn reset_state(self: Arc<Self>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self.rewrap(Arc::clone(&self.inner).reset_state()?))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::physical_plan::{ExecutionPlan, displayable};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use crate::bind::context::{Engine, ExecOptions};
    use crate::budget::QueryBudget;
    use crate::catalog::Catalog;
    use crate::progress::ScanProgress;
    use crate::storage::arrow_table::{BATCH_ROWS, PARALLEL_ROWS, parallelism};
    use crate::value::table::{Column, Table};
    use crate::value::{ScalarType, Value};

    fn catalog() -> Catalog {
        let mut c = Catalog::new();
        let table = |rows: i64| Table {
            columns: vec![
                Column::new("TimeGenerated", ScalarType::DateTime),
                Column::new("n", ScalarType::Long),
                Column::new("s", ScalarType::String),
            ],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        Value::DateTime(i * 10_000_000),
                        Value::Long(i),
                        Value::str(if i % 2 == 0 { "even" } else { "odd" }),
                    ]
                })
                .collect(),
        };
        // One read in parallel partitions, one in a single partition.
        c.insert("Large", table(PARALLEL_ROWS as i64 + 10));
        c.insert("Small", table(20_000));
        c
    }

    /// The physical plan DataFusion makes of `q`, as text, and how many of its leaves count.
    fn physical(
        catalog: &Catalog,
        q: &str,
        progress: Option<Arc<ScanProgress>>,
    ) -> (String, usize) {
        let opts = ExecOptions {
            progress,
            ..ExecOptions::default()
        };
        let budget = QueryBudget::new(opts.memory_limit, None, None);
        let script = crate::syntax::parser::parse_script(q).unwrap();
        let mut engine = Engine::new(catalog, q, &opts, &budget);
        let plan = super::super::lower(&mut engine, &script).unwrap_or_else(|e| panic!("{q}: {e}"));
        let partitions = if plan.parallel { parallelism() } else { 1 };
        let config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_batch_size(BATCH_ROWS);
        let ctx = SessionContext::new_with_config(config);
        let runtime = super::super::runtime().unwrap();
        let physical = runtime
            .block_on(ctx.state().create_physical_plan(&plan.plan))
            .unwrap();
        fn counted(p: &Arc<dyn ExecutionPlan>) -> usize {
            usize::from(p.name() == "CountedScan")
                + p.children().into_iter().map(counted).sum::<usize>()
        }
        let n = counted(&physical);
        (displayable(physical.as_ref()).indent(true).to_string(), n)
    }

    #[test]
    fn a_counted_scan_plans_exactly_as_the_bare_one() {
        let catalog = catalog();
        let queries = [
            ("Small | where n > 5 | take 10", 1),
            ("Large | where n > 5 | take 10", 1),
            ("Large | project n | sort by n desc | take 3", 1),
            ("Large | summarize count() by s", 1),
            (
                "Large | where s == 'odd' | join kind=inner (Small | project n, t = s) on n | count",
                2,
            ),
            ("union Large, Small | summarize max(n) by s", 2),
        ];
        for (q, scans) in queries {
            let (bare, none) = physical(&catalog, q, None);
            let progress = Some(Arc::new(ScanProgress::new()));
            let (counted, counting) = physical(&catalog, q, progress);
            assert_eq!(counted, bare, "{q}");
            assert_eq!((none, counting), (0, scans), "{q}:\n{bare}");
        }
    }
}
