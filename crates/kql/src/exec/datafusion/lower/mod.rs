//! Lowering a bound KQL query to a DataFusion logical plan (`LogicalPlanBuilder`, no SQL text).
//!
//! Names and types come from the row engine's binder (`Engine::compile`, `bind_summarize`), so
//! both engines agree on column names, types and errors. What this planner cannot express yet
//! returns `Err(reason)` and the query runs on the row engine instead.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::{Column as DfColumn, ScalarValue};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::functions::math::expr_fn::random;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{
    Expr as DfExpr, LogicalPlan, LogicalPlanBuilder, SortExpr, cast, lit,
};

use super::numbered::POSITION;
use super::scan::CountedTable;
use super::udf::{ExpandUdf, FieldUdf, ParseUdf, PositionsUdf, RowGuardUdf};
use crate::bind::context::{Binding, Engine, Env, pattern_call};
use crate::bind::naming::derive_name;
use crate::exec::MAX_ROWS;
use crate::exec::rows::join::{filters_before_join, union_columns};
use crate::exec::rows::ops::{fresh_name, piped_union_name, projected_name, union_input_name};
use crate::storage::arrow_table::{ArrowTable, copy_limit};
use crate::storage::layout::stored_type;
use crate::syntax::ast::{Expr, ExprKind, NamedExpr, Operator, OperatorKind, Statement};
use crate::value::convert::coerce;
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

mod bag_unpack;
mod call;
mod dcount;
mod expressions;
mod geo_lookup;
mod group_lists;
mod join;
mod make_series;
mod mv_apply;
mod partition;
mod percentiles;
mod pivot;
mod search;
mod summarize;
mod top_nested;
mod window;

/// Why a query is left to the row engine.
pub(super) type Fallback = String;

/// A plan and the KQL columns of its output (the plan's fields, in order, same names).
#[derive(Clone)]
pub(super) struct Plan {
    pub plan: LogicalPlan,
    pub columns: Vec<Column>,
    /// Whether a scanned table is large enough to be read in parallel partitions.
    pub parallel: bool,
}

pub(super) fn df<T>(r: datafusion::common::Result<T>) -> Result<T, Fallback> {
    r.map_err(|e| e.to_string())
}

pub(super) fn column(name: &str) -> DfExpr {
    DfExpr::Column(DfColumn::new_unqualified(name))
}

/// The value of a non-null constant in the stored layout.
pub(super) fn scalar(v: &Value, ty: ScalarType) -> Option<ScalarValue> {
    Some(match coerce(v.clone(), ty) {
        Value::Null => return None,
        Value::Bool(b) => ScalarValue::Boolean(Some(b)),
        Value::Int(i) => ScalarValue::Int32(Some(i)),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => ScalarValue::Int64(Some(i)),
        Value::Real(x) => ScalarValue::Float64(Some(x)),
        Value::Decimal(d) => ScalarValue::Float64(Some(d.to_f64())),
        Value::String(s) => ScalarValue::Utf8(Some(s.to_string())),
        Value::Guid(g) => ScalarValue::Utf8(Some(g.to_string())),
        Value::Dynamic(d) => ScalarValue::Utf8(Some(d.to_string())),
    })
}

/// Where a DataFusion table lives: which scanned table a plan's `TableScan` reads.
pub(super) fn address<T: ?Sized>(table: &Arc<T>) -> usize {
    Arc::as_ptr(table).cast::<()>() as usize
}

pub(super) fn typed_null(ty: ScalarType) -> DfExpr {
    cast(lit(ScalarValue::Null), stored_type(ty))
}

pub(super) fn constant(v: &Value, ty: ScalarType) -> DfExpr {
    scalar(v, ty).map_or_else(|| typed_null(ty), lit)
}

pub(super) fn numeric(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::Int | ScalarType::Long | ScalarType::Real | ScalarType::Decimal
    )
}

/// Whether two types compare natively in the stored layout with the row engine's result.
pub(super) fn same_class(a: ScalarType, b: ScalarType) -> bool {
    (numeric(a) && numeric(b))
        || (a == b
            && matches!(
                a,
                ScalarType::String | ScalarType::DateTime | ScalarType::TimeSpan | ScalarType::Bool
            ))
}

/// A table of the query bound to a name (a tabular `let`, parameter or `as` result), lowered.
#[derive(Clone)]
pub(super) struct Let {
    pub plan: Plan,
    /// Where the row engine would have bound it among the names in scope: the length of `env`
    /// then, and the count of tables named before it (`union`'s wildcards match in that order).
    pub at: (usize, usize),
    /// Whether it hides a table of the same name bound before, which a wildcard would match.
    pub hides: bool,
}

/// Lowers one query; `lets` are the tabular `let`s lowered so far.
pub(super) struct Lowering<'e, 'a> {
    pub engine: &'e mut Engine<'a>,
    pub env: Env<'a>,
    pub lets: HashMap<String, Let>,
    /// How many tables were named so far (see [`Let::at`]).
    pub named: usize,
    /// The name `as` gave the piped table, for a `union withsource=` right after it.
    pub piped_name: Option<String>,
    /// The catalog tables scanned so far, by the address of their DataFusion table: their
    /// columns' longest texts bound a row's width without reading it.
    pub scanned: HashMap<usize, Arc<ArrowTable>>,
    /// Whether an expression reads other rows of its input in order: the query then runs in
    /// one partition, which keeps that order (see `window.rs`).
    pub serial: bool,
    /// The tabular `let`s, `as` results and tabular parameters a scalar expression reads, run
    /// first, by their scoped names ([`scoped`](Self::scoped)).
    pub ran: Vec<(String, Arc<Table>)>,
    /// The function whose body is being lowered (its address), if any.
    pub scope: Option<usize>,
    /// A table of the query named like a catalog table, to run first (see
    /// [`name_table`](Self::name_table)).
    pub shadowing: Option<String>,
    /// What first runs answered, for operators whose columns the data decides.
    pub found: HashMap<RunKey, Arc<Table>>,
    /// The first run an operator asked for while the query was lowered.
    pub wanted: Option<(RunKey, Plan)>,
    /// How many times each operator asking for a first run was lowered so far.
    pub visits: HashMap<usize, usize>,
}

/// Which first run: the operator's address and its visit (a function's body is lowered once
/// per call, each over its own input).
pub(super) type RunKey = (usize, usize);

impl<'a> Lowering<'_, 'a> {
    /// A tabular expression.
    pub(super) fn tabular(&mut self, e: &'a Expr) -> Result<Plan, Fallback> {
        // A pattern's mapping of one query is lowered in its place; one with `let`s is not.
        if let Some(call) = pattern_call(e, &self.env) {
            let case = self
                .engine
                .pattern_case(e, &call, &self.env)
                .map_err(|e| e.to_string())?;
            return match case.body.body.as_slice() {
                [Statement::Query(q)] => self.tabular(q),
                _ => Err("a pattern mapping with statements".into()),
            };
        }
        match &e.kind {
            ExprKind::Pipe { source, ops } => {
                let mut plan = self.tabular(source)?;
                // `as Name` names the result so far for the rest of this pipe only.
                let named = ops.iter().any(|op| matches!(op.kind, OperatorKind::As(_)));
                let outer = named.then(|| (self.env.clone(), self.lets.clone()));
                let mut done = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    if done.contains(&i) {
                        continue;
                    }
                    // As on the row engine: filters below an innerunique join run first.
                    for j in filters_before_join(&ops[i..], &plan.columns) {
                        plan = self.operator(plan, &ops[i + j])?;
                        done.push(i + j);
                    }
                    plan = self.operator(plan, op)?;
                    // `as Name` names the result so far in a `union withsource=` right after, and
                    // for the rest of the pipe, as a table (once run first, where a scalar
                    // expression reads it, as for a tabular `let`).
                    self.piped_name = match &op.kind {
                        OperatorKind::As(name) => {
                            self.name_table(name, plan.clone())?;
                            Some(name.clone())
                        }
                        _ => None,
                    };
                }
                if let Some((env, lets)) = outer {
                    (self.env, self.lets) = (env, lets);
                }
                Ok(plan)
            }
            ExprKind::Name(n) => {
                if let Some(l) = self.lets.get(n) {
                    return Ok(l.plan.clone());
                }
                match self.function(n) {
                    Some(f) if f.params.is_empty() => self.call(e, f, &[], None),
                    _ if self.env.get(n).is_some() => {
                        Err(format!("'{n}' is bound by the row engine"))
                    }
                    _ => self.catalog_table(n),
                }
            }
            ExprKind::Union(u) => self.union(None, u),
            ExprKind::Search(s) => self.search(None, s),
            ExprKind::Find(f) => self.find(f),
            ExprKind::Call { name, args } if let Some(f) = self.function(name) => {
                self.call(e, f, args, None)
            }
            ExprKind::Call { name, args } if name == "table" => self.table_call(args),
            ExprKind::Call { name, args } if name == "materialize" && args.len() == 1 => {
                self.tabular(&args[0])
            }
            ExprKind::Datatable { .. } | ExprKind::Print(_) | ExprKind::Range { .. } => {
                // Literal sources are small: the row engine builds them, DataFusion runs the rest.
                let t = self
                    .engine
                    .tabular(e, &self.env)
                    .map_err(|e| e.to_string())?;
                self.scan("literal", &ArrowTable::from_table(&t))
            }
            other => {
                let debug = format!("{other:?}");
                let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
                Err(format!("a {name} source"))
            }
        }
    }

    /// What `plan` answers, for the operator `op` whose columns it decides: the first time an
    /// `Err`, after which the query's lowering runs `plan` and lowers the query again.
    pub(super) fn first_run(
        &mut self,
        op: &'a Operator,
        plan: impl FnOnce(&mut Self) -> Result<Plan, Fallback>,
    ) -> Result<Arc<Table>, Fallback> {
        let at = std::ptr::from_ref(op) as usize;
        let visit = self.visits.entry(at).or_insert(0);
        *visit += 1;
        let key = (at, *visit);
        if let Some(t) = self.found.get(&key) {
            return Ok(Arc::clone(t));
        }
        let plan = plan(self)?;
        self.wanted = Some((key, plan));
        Err("an operator whose columns the data decides, to run first".into())
    }

    /// The table of the tabular `let`, `as` result or parameter `name` in scope, when it was
    /// run first.
    pub(super) fn ran(&self, name: &str) -> Option<Arc<Table>> {
        let name = self.scoped(name);
        let (_, t) = self.ran.iter().find(|(n, _)| *n == name)?;
        Some(Arc::clone(t))
    }

    /// `name`, a table of the query (a tabular `let`, parameter or `as` result), planned as
    /// `plan`: bound as a table where it was run first. One named like a catalog table is run
    /// first in any case (an `Err` now): the binder would read the catalog's in its place.
    pub(super) fn name_table(&mut self, name: &str, plan: Plan) -> Result<(), Fallback> {
        self.named += 1;
        let named = Let {
            plan,
            at: (self.env.vars.len(), self.named),
            hides: self.lets.contains_key(name),
        };
        self.lets.insert(name.to_string(), named);
        match self.ran(name) {
            Some(t) => self.env.push(name.to_string(), Binding::Table(t)),
            None if self.engine.catalog.row_count(name).is_some() => {
                self.shadowing = Some(name.to_string());
                return Err(format!("'{name}' is named like a catalog table"));
            }
            None => {}
        }
        Ok(())
    }

    /// `name` as a table run first is known by: a function's own names apart from the
    /// script's and other functions'.
    pub(in crate::exec::datafusion) fn scoped(&self, name: &str) -> String {
        match self.scope {
            Some(f) => format!("{name}@{f:x}"),
            None => name.to_string(),
        }
    }

    /// The catalog table `n`, as the query's timespan shows it.
    pub(super) fn catalog_table(&mut self, n: &str) -> Result<Plan, Fallback> {
        // The catalog's Arrow form is made once and kept for every query.
        let catalog = self.engine.catalog;
        let table = crate::budget::outside_query(|| catalog.arrow(n))
            .ok_or_else(|| format!("no table '{n}'"))?;
        let table = Arc::clone(table);
        let provider = self.counted(table.provider()?, &table);
        let plan = self.scan_provider(n, Arc::clone(&provider), &table)?;
        self.scanned.insert(address(&provider), table);
        self.timespan(plan)
    }

    /// `provider` (reading the catalog table `table`) as the query scans it: counting what it
    /// reads when the query reports its progress.
    pub(super) fn counted(
        &self,
        provider: Arc<dyn TableProvider>,
        table: &ArrowTable,
    ) -> Arc<dyn TableProvider> {
        match &self.engine.opts.progress {
            Some(progress) => Arc::new(CountedTable::new(
                provider,
                table.len(),
                Arc::clone(progress),
            )),
            None => provider,
        }
    }

    pub(super) fn scan(&mut self, name: &str, table: &ArrowTable) -> Result<Plan, Fallback> {
        self.scan_provider(name, table.provider()?, table)
    }

    /// A scan of `table` through `provider` (its own, or one counting what it reads).
    fn scan_provider(
        &mut self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        table: &ArrowTable,
    ) -> Result<Plan, Fallback> {
        let plan = df(LogicalPlanBuilder::scan(
            name,
            provider_as_source(provider),
            None,
        ))?;
        let plan = df(plan.build())?;
        // Re-project so every later reference is by unqualified name.
        let exprs: Vec<DfExpr> = table
            .columns
            .iter()
            .map(|c| column(&c.name).alias(c.name.clone()))
            .collect();
        let plan = df(df(LogicalPlanBuilder::from(plan).project(exprs))?.build())?;
        Ok(Plan {
            plan,
            columns: table.columns.clone(),
            parallel: table.len() >= crate::storage::arrow_table::PARALLEL_ROWS,
        })
    }

    /// Log Analytics' `timespan`: catalog rows outside it are not seen.
    pub(super) fn timespan(&mut self, plan: Plan) -> Result<Plan, Fallback> {
        let Some((start, end)) = self.engine.opts.timespan else {
            return Ok(plan);
        };
        if !plan
            .columns
            .iter()
            .any(|c| c.name == "TimeGenerated" && c.ty == ScalarType::DateTime)
        {
            return Ok(plan);
        }
        let t = column("TimeGenerated");
        let pred = t.clone().gt_eq(lit(start)).and(t.lt(lit(end)));
        self.build(plan.columns, plan.parallel, |b| b.filter(pred), plan.plan)
    }

    pub(super) fn build(
        &self,
        columns: Vec<Column>,
        parallel: bool,
        f: impl FnOnce(LogicalPlanBuilder) -> datafusion::common::Result<LogicalPlanBuilder>,
        plan: LogicalPlan,
    ) -> Result<Plan, Fallback> {
        let plan = df(df(f(LogicalPlanBuilder::from(plan)))?.build())?;
        Ok(Plan {
            plan,
            columns,
            parallel,
        })
    }

    pub(super) fn operator(&mut self, plan: Plan, op: &'a Operator) -> Result<Plan, Fallback> {
        let Plan {
            plan,
            columns: cols,
            parallel,
        } = plan;
        match &op.kind {
            OperatorKind::Where(pred) => {
                let (c, ty) = self.bind(pred, &cols)?;
                if ty != ScalarType::Bool {
                    return Err("a non-bool predicate".into());
                }
                let width = cols.len();
                let mut bound = [(c, ty)];
                let p = self.serial_windows(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    &mut bound,
                )?;
                let e = self.expr(&bound[0].0, ty, &p.columns)?;
                let kept = self.build(p.columns, p.parallel, |b| b.filter(e), p.plan)?;
                self.first_columns(kept, width)
            }
            // `serialize` keeps the order it is given: only its columns are to add.
            OperatorKind::Extend(items) | OperatorKind::Serialize(items) => {
                let mut p = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let input_width = p.columns.len();
                for item in items {
                    p = self.extend(p, item, input_width)?;
                }
                Ok(p)
            }
            OperatorKind::Project(items) => {
                let list = project_list(items);
                self.project(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    list,
                )
            }
            OperatorKind::Distinct(exprs) => {
                let p = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let p = if exprs.iter().any(|e| matches!(e.kind, ExprKind::Star)) {
                    p
                } else {
                    self.project(p, exprs.iter().map(|e| (e, &[][..])).collect())?
                };
                self.build(p.columns, p.parallel, |b| b.distinct(), p.plan)
            }
            OperatorKind::ProjectAway(_)
            | OperatorKind::ProjectKeep(_)
            | OperatorKind::ProjectRename(_)
            | OperatorKind::ProjectReorder(_) => {
                // The row engine's own rules on an empty table of the same columns.
                let shape = self
                    .engine
                    .operator(Table::new(cols.clone()), op, &self.env)
                    .map_err(|e| e.to_string())?;
                let mut exprs = Vec::new();
                let mut used = Vec::new();
                for (i, c) in shape.columns.iter().enumerate() {
                    // Same position order as the source unless renamed: find by name, then by slot.
                    let src = match &op.kind {
                        OperatorKind::ProjectRename(pairs) => pairs
                            .iter()
                            .find(|(new, _)| *new == c.name)
                            .map(|(_, old)| old.clone())
                            .unwrap_or_else(|| cols[i].name.clone()),
                        _ => c.name.clone(),
                    };
                    if used.contains(&src) {
                        return Err("a column used twice".into());
                    }
                    used.push(src.clone());
                    exprs.push(column(&src).alias(c.name.clone()));
                }
                self.build(shape.columns, parallel, |b| b.project(exprs), plan)
            }
            OperatorKind::Summarize { aggs, by } => {
                let s = self
                    .engine
                    .bind_summarize(&cols, aggs, by, &self.env)
                    .map_err(|e| e.to_string())?;
                self.summarize(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    s,
                )
            }
            OperatorKind::Sort(keys) | OperatorKind::Top { keys, .. } => {
                let sorts = self.sort_exprs(keys, &cols)?;
                let fetch = match &op.kind {
                    OperatorKind::Top { count, .. } => Some(self.count(count)?),
                    _ => None,
                };
                if let Some(late) = fetch.and_then(|n| self.late_top(&plan, &sorts, n)) {
                    return Ok(Plan {
                        plan: late,
                        columns: cols,
                        parallel,
                    });
                }
                self.build(cols, parallel, |b| sorted(b, sorts, fetch), plan)
            }
            OperatorKind::Take(n) => {
                let n = self.count(n)?;
                self.build(cols, parallel, |b| b.limit(0, Some(n)), plan)
            }
            OperatorKind::Sample(n) => {
                // The n rows of the lowest random keys: a uniform sample without replacement,
                // kept in a heap of n rows (DataFusion's TopK) rather than a sort of the input.
                let n = self.count(n)?;
                let by = vec![random().sort(true, false)];
                self.build(cols, parallel, |b| sorted(b, by, Some(n)), plan)
            }
            OperatorKind::Count => self.build(
                vec![Column::new("Count", ScalarType::Long)],
                parallel,
                |b| b.aggregate(Vec::<DfExpr>::new(), vec![count(lit(1)).alias("Count")]),
                plan,
            ),
            OperatorKind::As(_) => Ok(Plan {
                plan,
                columns: cols,
                parallel,
            }),
            OperatorKind::Render(visualization) => {
                self.engine.visualization = Some(visualization.clone());
                Ok(Plan {
                    plan,
                    columns: cols,
                    parallel,
                })
            }
            OperatorKind::Join { kind, right, on } => {
                let left = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let right = self.tabular(right)?;
                self.join(
                    left,
                    right,
                    kind.as_deref().unwrap_or("innerunique"),
                    on,
                    false,
                )
            }
            OperatorKind::Lookup { kind, right, on } => {
                let kind = kind.as_deref().unwrap_or("leftouter");
                // Kusto's lookup has only these two kinds; any other stays on the row engine.
                if !matches!(kind.to_ascii_lowercase().as_str(), "leftouter" | "inner") {
                    return Err(format!("lookup kind={kind}"));
                }
                let left = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let right = self.tabular(right)?;
                self.join(left, right, kind, on, true)
            }
            OperatorKind::Parse {
                source,
                kind,
                flags,
                parts,
                filter,
            } => self.parse(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                source,
                (kind, flags),
                parts,
                *filter,
            ),
            OperatorKind::Search(s) => self.search(
                Some(Plan {
                    plan,
                    columns: cols,
                    parallel,
                }),
                s,
            ),
            OperatorKind::MvApply { items, limit, ops } => self.mv_apply(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                items,
                limit.as_ref(),
                ops,
            ),
            OperatorKind::Invoke(call) => self.invoke(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                call,
            ),
            OperatorKind::Union(u) => self.union(
                Some(Plan {
                    plan,
                    columns: cols,
                    parallel,
                }),
                u,
            ),
            OperatorKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                params,
                items,
                limit.as_ref(),
            ),
            OperatorKind::Evaluate { plugin, args }
                if plugin == "geo_polygon_lookup" || plugin == "geo_line_lookup" =>
            {
                self.geo_lookup(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    op,
                    plugin == "geo_line_lookup",
                    args,
                )
            }
            OperatorKind::Evaluate { plugin, args } if plugin == "bag_unpack" => self.bag_unpack(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                op,
                args,
            ),
            // The schema alone, known before any row is read: the row engine's answer on no rows.
            OperatorKind::GetSchema => {
                let schema = self
                    .engine
                    .operator(Table::new(cols), op, &self.env)
                    .map_err(|e| e.to_string())?;
                self.scan("getschema", &ArrowTable::from_table(&schema))
            }
            OperatorKind::Pivot(pivot) => self.pivot(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                op,
                pivot,
            ),
            OperatorKind::Partition { by, ops } => self.partition(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                by,
                ops,
            ),
            OperatorKind::TopNested(levels) => self.top_nested(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                op,
                levels,
            ),
            OperatorKind::MakeSeries(ms) => self.make_series(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                op,
                ms,
            ),
            other => {
                let debug = format!("{other:?}");
                let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
                Err(format!("the {name} operator"))
            }
        }
    }

    /// `parse` / `parse-where`: one search of the source text a row (the row engine's
    /// `ParsePattern`, as a UDF answering every column at once in a hidden struct column), its
    /// columns replacing or added like `extend`; `parse-where` first keeps only the rows that
    /// match.
    pub(super) fn parse(
        &mut self,
        p: Plan,
        source: &'a Expr,
        (kind, flags): (&str, &str),
        parts: &[crate::syntax::ast::ParsePart],
        filter: bool,
    ) -> Result<Plan, Fallback> {
        /// The hidden column of the parsed struct (a table with a column so named is left to
        /// the row engine: the projection fails on the duplicate name).
        const PARSED: &str = "__kql_parsed";
        let (c, ty) = self.bind(source, &p.columns)?;
        let pattern = Arc::new(
            crate::exec::rows::parse::ParsePattern::new(kind, flags, parts)
                .ok_or("an invalid parse pattern")?,
        );
        let text = self.expr(&c, ty, &p.columns)?;
        let (mut cols, mut exprs) = as_is(&p.columns);
        let mut parsed = exprs.clone();
        parsed.push(ParseUdf::call(text, ty, &pattern).alias(PARSED));
        for (i, (name, cty)) in pattern.columns.iter().enumerate() {
            let e = FieldUdf::call(column(PARSED), ParseUdf::field(i)).alias(name.clone());
            set_column(&mut cols, &mut exprs, Column::new(name.clone(), *cty), e);
        }
        let matched = FieldUdf::call(column(PARSED), ParseUdf::MATCHED);
        let build = |b: LogicalPlanBuilder| {
            let b = b.project(parsed)?;
            let b = if filter { b.filter(matched)? } else { b };
            b.project(exprs)
        };
        self.build(cols, p.parallel, build, p.plan)
    }

    /// `union` (Kusto's default `kind=outer`): the columns of all inputs by name, in order of
    /// first appearance, null where an input lacks one.
    pub(super) fn union(
        &mut self,
        first: Option<Plan>,
        u: &'a crate::syntax::ast::Union,
    ) -> Result<Plan, Fallback> {
        let (mut source, mut fuzzy) = (None, false);
        for (name, value) in &u.params {
            match (name.as_str(), &value.kind) {
                ("withsource", ExprKind::Name(column)) => source = Some(column.clone()),
                ("isfuzzy", kind) => fuzzy = matches!(kind, ExprKind::Literal(Value::Bool(true))),
                ("kind", ExprKind::Name(kind)) if kind == "outer" => {}
                _ => return Err(format!("union {name}=")),
            }
        }
        // Each input with the name `withsource` gives it, as the row engine names them.
        let mut inputs: Vec<(String, Plan)> = Vec::new();
        if let Some(p) = first {
            inputs.push((piped_union_name(self.piped_name.take()), p));
        }
        let mut whole = Vec::new();
        for t in &u.tables {
            let matched = match &t.kind {
                ExprKind::Star => self.catalog_tables(|_| true)?,
                ExprKind::Wildcard(w) => self.matching_tables(t, w)?,
                _ => {
                    let name = union_input_name(t, inputs.len());
                    if fuzzy && self.unresolved(t) {
                        // As on the row engine, which skips an input it cannot resolve.
                        let skipped =
                            format!("union skipped '{name}', which could not be resolved");
                        if !self.engine.warnings.contains(&skipped) {
                            self.engine.warnings.push(skipped);
                        }
                        continue;
                    }
                    inputs.push((name, self.tabular(t)?));
                    continue;
                }
            };
            whole.extend(matched.iter().map(|(n, _)| n.clone()));
            inputs.extend(matched);
        }
        self.within_cells(&whole, &inputs, source.as_deref())?;
        self.union_of(inputs, source)
    }

    /// Whether the table `e` starts from is a name nothing binds: no table of the query, name
    /// in scope or catalog table.
    fn unresolved(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Pipe { source, .. } => self.unresolved(source),
            ExprKind::Name(n) => {
                !self.lets.contains_key(n)
                    && self.env.get(n).is_none()
                    && !self.engine.catalog.names().any(|m| m == n)
            }
            _ => false,
        }
    }

    /// The row engine refuses a union past its cells (every row gets every column), as
    /// `union *` over wide tables can be: a union of `inputs` reading the catalog tables `whole`
    /// whole that could be is left to it.
    pub(super) fn within_cells(
        &self,
        whole: &[String],
        inputs: &[(String, Plan)],
        source: Option<&str>,
    ) -> Result<(), Fallback> {
        let rows: usize = whole
            .iter()
            .filter_map(|n| self.engine.catalog.row_count(n))
            .sum();
        let schemas: Vec<&[Column]> = inputs.iter().map(|(_, p)| &p.columns[..]).collect();
        let width = union_columns(&schemas, source, false).1.len();
        if rows.saturating_mul(width) > crate::exec::MAX_CELLS {
            return Err(format!(
                "a union of more than {} cells",
                crate::exec::MAX_CELLS
            ));
        }
        Ok(())
    }

    /// The rows of every input under the columns of all of them by name, in order of first
    /// appearance (null where an input lacks one); first, with `source`, a column of that name
    /// holding each row's input's name.
    pub(super) fn union_of(
        &mut self,
        inputs: Vec<(String, Plan)>,
        source: Option<String>,
    ) -> Result<Plan, Fallback> {
        let (names, inputs): (Vec<String>, Vec<Plan>) = inputs.into_iter().unzip();
        // The row engine's columns: a name of several types is one column per type.
        let schemas: Vec<&[Column]> = inputs.iter().map(|p| &p.columns[..]).collect();
        let (pairs, columns) = union_columns(&schemas, source.as_deref(), false);
        let parallel = inputs.iter().any(|p| p.parallel);
        let mut plans = Vec::new();
        for (name, p) in names.into_iter().zip(inputs) {
            let mut exprs: Vec<DfExpr> = Vec::new();
            if let Some(s) = &source {
                exprs.push(lit(name).alias(s.clone()));
            }
            for ((n, ty), c) in pairs.iter().zip(&columns[exprs.len()..]) {
                let e = if p.columns.iter().any(|x| x.name == *n && x.ty == *ty) {
                    column(n)
                } else {
                    typed_null(*ty)
                };
                exprs.push(e.alias(c.name.clone()));
            }
            plans.push(self.build(columns.clone(), parallel, |b| b.project(exprs), p.plan)?);
        }
        let mut plans = plans.into_iter();
        let first = plans.next().ok_or("an empty union")?;
        let rest: Vec<LogicalPlan> = plans.map(|p| p.plan).collect();
        self.build(
            columns,
            parallel,
            |mut b| {
                for p in rest {
                    b = b.union(p)?;
                }
                Ok(b)
            },
            first.plan,
        )
    }

    /// Sort keys over `cols`, with Kusto's default nulls (last ascending, first descending).
    pub(super) fn sort_exprs(
        &mut self,
        keys: &'a [crate::syntax::ast::SortKey],
        cols: &[Column],
    ) -> Result<Vec<SortExpr>, Fallback> {
        let mut sorts = Vec::new();
        for k in keys {
            let (c, ty) = self.bind(&k.expr, cols)?;
            let e = self.expr(&c, ty, cols)?;
            sorts.push(SortExpr::new(e, !k.desc, k.nulls_first.unwrap_or(!k.desc)));
        }
        Ok(sorts)
    }

    /// `project`: each expression under its given or derived name (`ColumnN` otherwise); a
    /// call of several results (`series_stats(y)`) as a column per result, named as the row
    /// engine names them.
    pub(super) fn project(
        &mut self,
        p: Plan,
        items: Vec<(&'a Expr, &'a [String])>,
    ) -> Result<Plan, Fallback> {
        self.project_carrying(p, items, &[])
    }

    /// [`project`](Self::project), with the columns `carry` of `p` after the projected ones.
    pub(super) fn project_carrying(
        &mut self,
        p: Plan,
        items: Vec<(&'a Expr, &'a [String])>,
        carry: &[Column],
    ) -> Result<Plan, Fallback> {
        let mut bound = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (expr, given) in items {
            let spread = (self.engine)
                .bind_spread(&p.columns, expr, given, true, &self.env)
                .map_err(|e| e.to_string())?;
            match spread {
                Some((bag, spread)) => {
                    for s in spread {
                        names.push(s.name_among(&names));
                        bound.push((s.of(bag.clone()), s.ty));
                    }
                }
                // The row engine's error.
                None if given.len() > 1 => return Err("several names of one value".into()),
                None => {
                    bound.push(self.bind(expr, &p.columns)?);
                    names.push(projected_name(given.first().cloned(), expr, &names));
                }
            }
        }
        let p = self.serial_windows(p, &mut bound)?;
        let mut exprs = Vec::new();
        let mut out: Vec<Column> = Vec::new();
        for ((c, ty), name) in bound.into_iter().zip(names) {
            exprs.push(self.expr(&c, ty, &p.columns)?.alias(name.clone()));
            out.push(Column::new(name, ty));
        }
        for c in carry {
            exprs.push(column(&c.name));
            out.push(c.clone());
        }
        self.build(out, p.parallel, |b| b.project(exprs), p.plan)
    }

    pub(super) fn count(&mut self, e: &'a Expr) -> Result<usize, Fallback> {
        self.engine
            .count_arg(e, &self.env)
            .map_err(|e| e.to_string())
    }

    pub(super) fn extend(
        &mut self,
        p: Plan,
        item: &'a NamedExpr,
        input_width: usize,
    ) -> Result<Plan, Fallback> {
        let spread = self
            .engine
            .bind_spread(&p.columns, &item.expr, &item.names, false, &self.env)
            .map_err(|e| e.to_string())?;
        if let Some((bag, spread)) = spread {
            let (mut cols, mut exprs) = as_is(&p.columns);
            for s in spread {
                let taken: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
                let name = s.name_among(&taken);
                let result = s.of(bag.clone());
                let e = self.expr(&result, s.ty, &p.columns)?.alias(name.clone());
                set_column(&mut cols, &mut exprs, Column::new(name, s.ty), e);
            }
            return self.build(cols, p.parallel, |b| b.project(exprs), p.plan);
        }
        if item.names.len() > 1 {
            return Err("several names".into());
        }
        // pack_all() packs the extend's input columns, not those it adds alongside.
        let schema = match &item.expr.kind {
            ExprKind::Call { name, .. } if name == "pack_all" => &p.columns[..input_width],
            _ => &p.columns[..],
        };
        let (c, ty) = self.bind(&item.expr, schema)?;
        let name = item
            .names
            .first()
            .cloned()
            .or_else(|| derive_name(&item.expr))
            .unwrap_or_else(|| fresh_name(&p.columns, &[]));
        let width = p.columns.len();
        let mut bound = [(c, ty)];
        let p = self.serial_windows(p, &mut bound)?;
        let [(c, ty)] = bound;
        let new = self.expr(&c, ty, &p.columns)?.alias(name.clone());
        let (mut cols, mut exprs) = as_is(&p.columns[..width]);
        set_column(&mut cols, &mut exprs, Column::new(name, ty), new);
        self.build(cols, p.parallel, |b| b.project(exprs), p.plan)
    }

    /// `mv-expand` of one column: each row repeated once per value of the expansion, which
    /// replaces (or adds) the named column with the `to typeof(…)` type (dynamic by default).
    pub(super) fn mv_expand(
        &mut self,
        p: Plan,
        params: &[(String, Expr)],
        items: &'a [crate::syntax::ast::ExpandItem],
        limit: Option<&'a Expr>,
    ) -> Result<Plan, Fallback> {
        let mut as_array = false;
        let mut item_index = None;
        for (name, value) in params {
            match (name.as_str(), &value.kind) {
                ("kind" | "bagexpansion", ExprKind::Name(k)) if k == "array" || k == "bag" => {
                    as_array = k == "array";
                }
                ("with_itemindex", ExprKind::Name(n)) => item_index = Some(n.clone()),
                _ => return Err(format!("mv-expand {name}=")),
            }
        }
        let limit = match limit {
            Some(l) => self.count(l)?,
            None => usize::MAX,
        };
        // Several columns expand side by side (zipped; the shorter padded with nulls).
        let (mut cols, mut exprs) = as_is(&p.columns);
        let mut names = Vec::new();
        let mut lists = Vec::new();
        for item in items {
            let (c, arg_ty) = self.bind(&item.expr, &p.columns)?;
            let ty = item.to.unwrap_or(ScalarType::Dynamic);
            let name = item
                .name
                .clone()
                .or_else(|| derive_name(&item.expr))
                .unwrap_or_else(|| fresh_name(&cols, &[]));
            if names.contains(&name) {
                return Err("one column expanded twice".into());
            }
            let arg = self.expr(&c, arg_ty, &p.columns)?;
            let list = ExpandUdf::call(arg, (arg_ty, ty), (as_array, limit), self.row_width(&p));
            lists.push(list.clone());
            let list = list.alias(name.clone());
            set_column(&mut cols, &mut exprs, Column::new(name.clone(), ty), list);
            names.push(name);
        }
        // `with_itemindex`: each row's position in the longest expansion, a last column.
        if let Some(name) = item_index {
            if cols.iter().any(|c| c.name == name) {
                return Err("an item index named like a column".into());
            }
            let index = PositionsUdf::call(lists).alias(name.clone());
            set_column(
                &mut cols,
                &mut exprs,
                Column::new(name.clone(), ScalarType::Long),
                index,
            );
            names.push(name);
        }
        let targets: Vec<DfColumn> = names.iter().map(DfColumn::new_unqualified).collect();
        let unnested = self.build(
            cols.clone(),
            p.parallel,
            |b| {
                b.project(exprs)?
                    .unnest_columns_with_options(targets, Default::default())
            },
            p.plan,
        )?;
        // Name every column plainly again; strings read in place as views become text.
        let schema = unnested.plan.schema();
        let exprs: Vec<DfExpr> = (schema.columns().into_iter())
            .zip(schema.fields())
            .zip(&cols)
            .map(|((df_col, field), c)| {
                let e = DfExpr::Column(df_col);
                match field.data_type() {
                    arrow_schema::DataType::Utf8View => cast(e, arrow_schema::DataType::Utf8),
                    _ => e,
                }
                .alias(c.name.clone())
            })
            .collect();
        self.build(cols, p.parallel, |b| b.project(exprs), unnested.plan)
    }

    /// `p`, whose rows a join may repeat: a row wider than DataFusion may copy into a batch's
    /// rows leaves the query to the row engine.
    pub(super) fn narrow_rows(&self, p: Plan) -> Result<Plan, Fallback> {
        let (texts, fixed) = self.row_width(&p);
        if texts.is_empty() {
            return Ok(p);
        }
        let guard = RowGuardUdf::call(texts, fixed, copy_limit(self.engine.budget));
        self.build(p.columns, p.parallel, |b| b.filter(guard), p.plan)
    }

    /// What copying a row of `p` copies: the text columns to measure row by row, and the bytes
    /// known without reading rows (8 per column, and the longest text of each column that comes
    /// unchanged from a catalog table, while together those stay within what DataFusion may copy
    /// into a batch's rows; past that every text column is measured, so one long value in a table
    /// does not send its queries to the row engine).
    pub(super) fn row_width(&self, p: &Plan) -> (Vec<DfExpr>, usize) {
        let texts: Vec<&Column> = p
            .columns
            .iter()
            .filter(|c| stored_type(c.ty) == arrow_schema::DataType::Utf8)
            .collect();
        let fixed = 8 * p.columns.len();
        let known: Vec<Option<usize>> = texts
            .iter()
            .map(|c| self.longest_text(&p.plan, &c.name))
            .collect();
        let known_bytes = known.iter().flatten().sum::<usize>();
        let measure = |c: &&Column| column(&c.name);
        if fixed + known_bytes > copy_limit(self.engine.budget) {
            return (texts.iter().map(measure).collect(), fixed);
        }
        let unknown = texts.iter().zip(&known).filter(|(_, k)| k.is_none());
        (
            unknown.map(|(c, _)| measure(c)).collect(),
            fixed + known_bytes,
        )
    }

    /// [`longest_text`](Self::longest_text) of what `e` reads from `input`, when `e` is a column
    /// (maybe renamed).
    pub(super) fn longest_passed_on(&self, mut e: &DfExpr, input: &LogicalPlan) -> Option<usize> {
        while let DfExpr::Alias(a) = e {
            e = &a.expr;
        }
        match e {
            DfExpr::Column(c) => self.longest_text(input, &c.name),
            _ => None,
        }
    }

    /// The longest text column `name` of `plan` can hold, when it is a catalog table's column
    /// passed on unchanged (projected, renamed, filtered, sorted, limited or a group key).
    pub(super) fn longest_text(&self, plan: &LogicalPlan, name: &str) -> Option<usize> {
        match plan {
            LogicalPlan::Projection(p) => {
                let i = p.schema.index_of_column_by_name(None, name)?;
                self.longest_passed_on(p.expr.get(i)?, &p.input)
            }
            // The group keys come first in an aggregation's output.
            LogicalPlan::Aggregate(a) => {
                let i = a.schema.index_of_column_by_name(None, name)?;
                self.longest_passed_on(a.group_expr.get(i)?, &a.input)
            }
            LogicalPlan::Filter(f) => self.longest_text(&f.input, name),
            LogicalPlan::Sort(s) => self.longest_text(&s.input, name),
            LogicalPlan::Limit(l) => self.longest_text(&l.input, name),
            LogicalPlan::TableScan(t) => {
                let provider = source_as_provider(&t.source).ok()?;
                self.scanned.get(&address(&provider))?.longest_text(name)
            }
            _ => None,
        }
    }
}

/// Every column as it is: the start of a projection that `set_column` changes.
pub(super) fn as_is(columns: &[Column]) -> (Vec<Column>, Vec<DfExpr>) {
    let exprs = columns.iter().map(|c| column(&c.name)).collect();
    (columns.to_vec(), exprs)
}

/// Replaces the column named like `col` by `e` in a projection (in place, with `col`'s type),
/// or adds it at the end, as `extend` does.
pub(super) fn set_column(cols: &mut Vec<Column>, exprs: &mut Vec<DfExpr>, col: Column, e: DfExpr) {
    match cols.iter().position(|c| c.name == col.name) {
        Some(i) => {
            cols[i].ty = col.ty;
            exprs[i] = e;
        }
        None => {
            cols.push(col);
            exprs.push(e);
        }
    }
}

/// The row cap of the final plan: one more than the row engine allows, to detect the overflow.
pub(super) fn capped(plan: LogicalPlan) -> Result<LogicalPlan, Fallback> {
    df(df(LogicalPlanBuilder::from(plan).limit(0, Some(MAX_ROWS + 1)))?.build())
}

/// For the lowering tests: the DataFusion plan of `q` over `catalog` and what each executor
/// answers, after checking DataFusion plans and runs it with the row engine's columns.
#[cfg(test)]
pub(super) fn plan_and_answers(catalog: &crate::Catalog, q: &str) -> (String, Table, Table) {
    use crate::{ExecOptions, Executor};
    let opts = ExecOptions::default();
    let plan = crate::explain(catalog, q, &opts).unwrap_or_else(|why| panic!("{q}: {why}"));
    let fused = crate::execute_on(Executor::DataFusion, catalog, q, &opts)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(fused.executor, Executor::DataFusion, "{q}");
    let rows = crate::execute_on(Executor::Rows, catalog, q, &opts).expect("rows");
    assert_eq!(fused.table.columns, rows.table.columns, "{q}");
    (plan, fused.table, rows.table)
}

/// The most rows a `top` over a filtered table picks by their positions first
/// ([`Lowering::late_top`]).
const LATE_TOP_ROWS: usize = 65_536;

/// The column of the positions [`Lowering::late_top`] picks.
const PICKED: &str = "__picked";

impl Lowering<'_, '_> {
    /// `T | where … | top n by …` (filters straight over a catalog table) with its rows read
    /// late: the first n of the filtered rows by the keys, then by position in the table (ties
    /// in the row engine's order), are picked with only the columns the filter and the keys
    /// read; then the table's rows at those positions are read whole. Planned as a filter and
    /// a TopK, the filter copied every column of every row it kept (all of their text) only
    /// for the TopK to look at their keys. `None` for any other plan.
    fn late_top(&mut self, plan: &LogicalPlan, by: &[SortExpr], n: usize) -> Option<LogicalPlan> {
        let mut table = plan;
        while let LogicalPlan::Filter(f) = table {
            table = &f.input;
        }
        // The table as the lowering reads it (its columns named); over anything else (say an
        // `extend`), its work would be done again for every row.
        let scan = match table {
            LogicalPlan::Projection(p) => {
                let named = |e: &DfExpr| matches!(e.clone().unalias(), DfExpr::Column(_));
                p.expr.iter().all(named) && matches!(p.input.as_ref(), LogicalPlan::TableScan(_))
            }
            t => matches!(t, LogicalPlan::TableScan(_)),
        };
        if n == 0 || n > LATE_TOP_ROWS || !scan || std::ptr::eq(table, plan) {
            return None;
        }
        let filtered = self.with_positions(plan)?;
        let table = self.with_positions(table)?;
        let mut ranked = by.to_vec();
        ranked.push(column(POSITION).sort(true, false));
        let picked = LogicalPlanBuilder::from(filtered)
            .sort_with_limit(ranked.clone(), Some(n))
            .and_then(|b| b.project(vec![column(POSITION).alias(PICKED)]))
            .and_then(LogicalPlanBuilder::build)
            .ok()?;
        let columns: Vec<DfExpr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(DfExpr::Column)
            .collect();
        // The few picked positions are the join's build side, the table the side it probes.
        LogicalPlanBuilder::from(picked)
            .join(
                table,
                datafusion::logical_expr::JoinType::RightSemi,
                (vec![PICKED], vec![POSITION]),
                None,
            )
            .and_then(|b| b.sort_with_limit(ranked, Some(n)))
            .and_then(|b| b.project(columns))
            .and_then(LogicalPlanBuilder::build)
            .ok()
    }
}

/// `b` sorted by `by`, the first `fetch` rows kept. None of them is no sort: DataFusion's TopK
/// asserts that it keeps at least one row (`top 0 by …` panicked and fell back to the row engine).
fn sorted(
    b: LogicalPlanBuilder,
    by: Vec<SortExpr>,
    fetch: Option<usize>,
) -> datafusion::common::Result<LogicalPlanBuilder> {
    match fetch {
        Some(0) => b.limit(0, Some(0)),
        _ => b.sort_with_limit(by, fetch),
    }
}

/// A `project`'s items as expressions and the names each is given.
pub(super) fn project_list(items: &[NamedExpr]) -> Vec<(&Expr, &[String])> {
    items.iter().map(|i| (&i.expr, &i.names[..])).collect()
}

#[cfg(test)]
mod tests {
    use super::plan_and_answers;
    use crate::value::Value;
    use crate::{Catalog, ExecOptions};

    const SALES: &str = "datatable(k:string, n:long) ['a', 1, 'b', 3, 'a', 4, 'c', 0]";

    /// `sample` on DataFusion: n distinct rows of the input, every row when n is larger, none for
    /// 0, and not the same rows every time (five samples of 10 of 100 rows are one set of 10 with
    /// a chance below 1 in 10^52).
    #[test]
    fn sample_takes_distinct_random_rows_on_datafusion() {
        use crate::Executor;
        let c = Catalog::new();
        let sample = |n: usize| {
            let q = format!("range i from 1 to 100 step 1 | sample {n}");
            let r = crate::execute_on(Executor::DataFusion, &c, &q, &ExecOptions::default())
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(r.executor, Executor::DataFusion, "{q}");
            let mut seen: Vec<i64> = r
                .table
                .rows
                .iter()
                .map(|row| match row[..] {
                    [Value::Long(i)] if (1..=100).contains(&i) => i,
                    _ => panic!("{q}: {row:?}"),
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), r.table.rows.len().min(n), "{q}: a row twice");
            seen
        };
        assert_eq!(sample(1000), (1..=100).collect::<Vec<_>>());
        assert!(sample(0).is_empty());
        let mut union: Vec<i64> = (0..5).flat_map(|_| sample(10)).collect();
        union.sort_unstable();
        union.dedup();
        assert!(
            union.len() > 10,
            "five samples were the same ten rows: {union:?}"
        );
        // `top 0` keeps no row on DataFusion too (its TopK asserts one at least).
        let q = "range i from 1 to 100 step 1 | top 0 by i";
        let (_, fused, rows) = plan_and_answers(&c, q);
        assert_eq!((fused.rows.len(), &fused), (0, &rows));
    }

    /// `where P | top N by K` over a catalog table picks positions from the filtered keys and
    /// reads those rows whole: the row engine's answers, ties in its order (by position), with
    /// more or fewer than N rows passing, null keys and null predicates.
    #[test]
    fn top_of_a_filtered_table_picks_positions_then_reads_their_rows() {
        use crate::value::ScalarType;
        use crate::value::table::{Column, Table};
        let long = Value::Long;
        // Key `k` null at the multiples of 7; `g` ties in tens; text to read whole.
        let rows = (1..=3000)
            .map(|i: i64| {
                let k = if i % 7 == 0 {
                    Value::Null
                } else {
                    long(i % 1000)
                };
                vec![long(i), k, long(i % 10), Value::str(format!("row {i}"))]
            })
            .collect();
        let columns = vec![
            Column::new("i", ScalarType::Long),
            Column::new("k", ScalarType::Long),
            Column::new("g", ScalarType::Long),
            Column::new("s", ScalarType::String),
        ];
        let mut c = Catalog::new();
        c.insert("T", Table { columns, rows });
        let firsts = |t: &Table| -> Vec<Value> { t.rows.iter().map(|r| r[0].clone()).collect() };
        for (tail, want) in [
            // Many pass; 987 and 1987 are multiples of 7 (null keys rank last).
            (
                "where i % 3 == 0 | top 4 by k desc",
                vec![999, 1998, 2997, 996],
            ),
            // Ties on `g` fall in the table's order.
            ("where i > 2990 | top 3 by g desc", vec![2999, 2998, 2997]),
            (
                "where i % 2 == 0 and i % 5 == 0 | top 4 by g asc",
                vec![10, 20, 30, 40],
            ),
            // Fewer than N pass, one with a null key; and a predicate null on null keys.
            (
                "where i == 350 or i == 5 or i == 6 | top 5 by k desc",
                vec![6, 5, 350],
            ),
            (
                "where k > 997 and i < 2000 | where s != '' | top 9 by k asc",
                vec![998, 1998, 999, 1999],
            ),
            ("where i < 0 | top 5 by k", vec![]),
        ] {
            let q = format!("T | {tail}");
            let (plan, fused, rows) = plan_and_answers(&c, &q);
            assert_eq!(fused, rows, "{q}");
            assert_eq!(
                firsts(&fused),
                want.into_iter().map(long).collect::<Vec<_>>(),
                "{q}"
            );
            assert!(
                plan.contains(super::PICKED) && plan.contains("RightSemi"),
                "{q}\n{plan}"
            );
        }
        // Not over a table's filters only (the extend would be computed for every row again):
        // planned as a TopK.
        let q = "T | extend j = i * 2 | where j > 10 | top 3 by i desc";
        let (plan, fused, rows) = plan_and_answers(&c, q);
        assert_eq!(fused, rows, "{q}");
        assert!(!plan.contains(super::PICKED), "{plan}");
    }

    #[test]
    fn a_result_named_with_as_is_read_as_a_table_and_as_a_scalar_for_the_rest_of_its_pipe() {
        let c = Catalog::new();
        let q = format!(
            "{SALES} | summarize n = sum(n) by k | as T \
             | extend share = round(100.0 * n / toscalar(T | summarize sum(n)), 2) \
             | join kind=inner (T | project k, m = n * 2) on k | sort by k asc"
        );
        let (_, fused, rows) = plan_and_answers(&c, &q);
        assert_eq!(fused, rows, "{q}");
        let share: Vec<&Value> = fused.rows.iter().map(|r| &r[2]).collect();
        assert_eq!(
            share,
            [&Value::Real(62.5), &Value::Real(37.5), &Value::Real(0.0)]
        );
        // No rows: the scalar is the count of none.
        let q = format!("{SALES} | where n > 9 | as T | extend c = toscalar(T | count)");
        let (_, fused, rows) = plan_and_answers(&c, &q);
        assert_eq!((fused.rows.len(), fused), (0, rows));
        // After its pipe the name is unknown, on both engines.
        let q = format!("{SALES} | as T | count; T");
        assert!(crate::explain(&c, &q, &ExecOptions::default()).is_err());
    }

    #[test]
    fn mv_expand_with_itemindex_numbers_each_row_in_the_longest_expansion() {
        let c = Catalog::new();
        let q = "print a = dynamic([1, 2, 3]), b = dynamic(['x']), c = dynamic([]), d = 7, \
                 e = dynamic(null)";
        for expand in [
            "mv-expand with_itemindex=i a",
            "mv-expand with_itemindex=i a, b",
            "mv-expand with_itemindex=i b, a limit 2",
            "mv-expand with_itemindex=i c",
            "mv-expand with_itemindex=i d",
            "mv-expand with_itemindex=i e",
            "mv-expand kind=array with_itemindex=i f = bag_pack('k', 1, 'l', 2)",
        ] {
            let q = format!("{q} | {expand}");
            let (plan, fused, rows) = plan_and_answers(&c, &q);
            assert!(plan.contains("kql_item_positions"), "{plan}");
            assert_eq!(fused, rows, "{q}");
        }
        let q = format!("{q} | mv-expand with_itemindex=i b, a");
        let (_, fused, _) = plan_and_answers(&c, &q);
        let index: Vec<&Value> = fused.rows.iter().filter_map(|r| r.last()).collect();
        assert_eq!(index, [&Value::Long(0), &Value::Long(1), &Value::Long(2)]);
    }

    #[test]
    fn getschema_answers_the_columns_without_reading_a_row() {
        let c = Catalog::new();
        for q in [
            "datatable(a:string, b:dynamic) ['x', dynamic([1, 2])] | mv-expand b to typeof(int) \
             | getschema",
            "datatable(a:string) [] | extend t = now() | getschema",
        ] {
            let (plan, fused, rows) = plan_and_answers(&c, q);
            assert!(plan.contains("getschema"), "{plan}");
            assert_eq!(fused, rows, "{q}");
        }
    }

    #[test]
    fn project_of_a_call_of_several_results_makes_a_column_per_result_on_datafusion() {
        let c = Catalog::new();
        let input = "range i from 1 to 4 step 1 | extend y = pack_array(i, i * 3, 2), z = pack_array(3 - i, i)";
        for project in [
            // Kusto's names, and the names given to the first results.
            "project series_stats(y)",
            "project i, (lo, lo_at) = series_stats(y), k = i * 2",
            // A name taken already is numbered.
            "project series_stats_y_min = 0, series_stats(y)",
            "project array_sort_asc(y, z)",
            // Empty arrays and nulls.
            "where i > 9 | project series_stats(y)",
            "extend y = dynamic(null) | project series_stats(y)",
        ] {
            let q = format!("{input} | {project}");
            let (_, fused, rows) = plan_and_answers(&c, &q);
            assert_eq!(fused, rows, "{q}");
        }
        let q = format!("{input} | project series_stats(y)");
        let (_, fused, _) = plan_and_answers(&c, &q);
        assert_eq!(fused.columns.len(), 7);
        assert_eq!(fused.columns[0].name, "series_stats_y_min");
        assert_eq!(fused.rows.len(), 4);
    }
}
