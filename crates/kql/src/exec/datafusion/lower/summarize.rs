//! `summarize` as a DataFusion aggregate: native aggregates where their results match Kusto's,
//! the KQL UDAF for the rest.

use arrow_schema::DataType;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{avg, count, count_distinct, max, min, sum};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, LogicalPlanBuilder, cast, is_not_null, is_null, lit, when,
};

use crate::bind::expr::{AggSpec, CExpr};
use crate::exec::datafusion::arg_best::{ArgBest, PICKED_AT, Rank, row_field};
use crate::exec::datafusion::numbered::{POSITION, numbered};
use crate::exec::datafusion::udaf::KqlAggregate;
use crate::exec::rows::ops::{Out, Summary};
use crate::storage::layout::stored_type;
use crate::value::ScalarType;
use crate::value::table::Column;

use super::dcount;
use super::expressions::*;
use super::percentiles::rank_field;
use super::*;

impl<'a> Lowering<'_, 'a> {
    /// `summarize`: DataFusion's aggregate over the keys, then a projection of the output
    /// expressions. `arg_max`/`arg_min` are one aggregate each ([`ArgBest`]), a struct of the
    /// returned columns of the row whose value is largest (smallest), the first such row in
    /// input order on ties, as the row engine's aggregate state does (rows ordered by their
    /// [`positioned`](Self::positioned) position).
    pub(super) fn summarize(&mut self, p: Plan, s: Summary) -> Result<Plan, Fallback> {
        let arg_rows = |name: &str| matches!(name, "arg_max" | "arg_min");
        let p = match s.specs.iter().any(|sp| arg_rows(&sp.name)) {
            true => self.positioned(p)?,
            false => p,
        };
        let key_name = |i: usize| format!("__k{i}");
        let agg_name = |i: usize| format!("__a{i}");
        let mut keys = Vec::new();
        for (i, (c, col)) in s.key_exprs.iter().zip(&s.key_cols).enumerate() {
            keys.push(self.expr(c, col.ty, &p.columns)?.alias(key_name(i)));
        }
        let mut aggs = Vec::new();
        let mut seen: Vec<(DfExpr, String)> = Vec::new();
        // Every slot by its own name, repeated aggregates copied from the first.
        let mut copies: Vec<DfExpr> = (0..s.key_cols.len())
            .map(|i| column(&key_name(i)))
            .collect();
        let mut slots: Vec<Column> = s
            .key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| Column::new(key_name(i), c.ty))
            .collect();
        // Percentiles answered in a column per percentage, whose values `__a{i}_{k}` hold.
        let mut per_percent = Vec::with_capacity(s.specs.len());
        for (i, spec) in s.specs.iter().enumerate() {
            // Percentiles of whole numbers: one aggregate, a struct of every percentage's value.
            let ranks = self.nearest_ranks(spec, &p.columns)?;
            let spread = spec.row.is_empty()
                && (s.outs.iter()).any(|o| matches!(o, Out::Spread(j) if *j == i));
            per_percent.push(ranks.is_some() || spread);
            if let Some(agg) = ranks {
                let ranks = format!("__p{i}");
                aggs.push(agg.alias(ranks.clone()));
                let field = |k: usize| get_field(column(&ranks), rank_field(k));
                match spec.percents.as_slice() {
                    [_] if !spread => copies.push(field(0).alias(agg_name(i))),
                    all => {
                        copies.extend((0..all.len()).map(|k| field(k).alias(format!("__a{i}_{k}"))))
                    }
                }
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            if !spec.row.is_empty() && !arg_rows(&spec.name) {
                return Err(format!("the aggregate {}", spec.name));
            }
            if spread {
                // Any other percentiles: the row engine's state once per percentage.
                for (k, percent) in spec.percents.iter().enumerate() {
                    let agg = self.kql_aggregate(spec, vec![*percent], &p.columns)?;
                    let name = format!("__a{i}_{k}");
                    let agg = cast(agg, stored_type(spec.ty));
                    let source = once(&mut seen, &mut aggs, agg, name.clone());
                    copies.push(column(&source).alias(name));
                }
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            if arg_rows(&spec.name) {
                let value = spec.args.first().ok_or("arg_max without a value")?;
                let vt = type_of(value, &p.columns);
                // The types whose order the aggregate's Int64, Float64 and Utf8 keep.
                let ranked_as = match vt {
                    ScalarType::Dynamic | ScalarType::Guid => {
                        return Err(format!("{} of {vt}", spec.name));
                    }
                    ScalarType::String => DataType::Utf8,
                    ScalarType::Real | ScalarType::Decimal => DataType::Float64,
                    ScalarType::Bool
                    | ScalarType::Int
                    | ScalarType::Long
                    | ScalarType::DateTime
                    | ScalarType::TimeSpan => DataType::Int64,
                };
                let value = cast(self.expr(value, vt, &p.columns)?, ranked_as);
                let position = cast(column(POSITION), DataType::Int64);
                let row = spec
                    .row
                    .iter()
                    .map(|(c, col)| self.expr(c, col.ty, &p.columns))
                    .collect::<Result<Vec<_>, _>>()?;
                let rank = if spec.name == "arg_max" {
                    Rank::Max
                } else {
                    Rank::Min
                };
                let pick = |rank| ArgBest::call(rank, value.clone(), position.clone(), row.clone());
                let best = once(&mut seen, &mut aggs, pick(rank), format!("__r{i}"));
                // The first non-null real, when it is NaN, is the row engine's pick instead.
                let nan = (vt == ScalarType::Real).then(|| {
                    once(
                        &mut seen,
                        &mut aggs,
                        pick(Rank::FirstNan),
                        format!("__n{i}"),
                    )
                });
                for k in 0..spec.row.len() {
                    let field = |agg: &str| get_field(column(agg), row_field(k));
                    let picked = match &nan {
                        Some(nan) => {
                            when(is_not_null(get_field(column(nan), PICKED_AT)), field(nan))
                                .otherwise(field(&best))
                                .map_err(|e| e.to_string())?
                        }
                        None => field(&best),
                    };
                    copies.push(picked.alias(format!("__a{i}_{k}")));
                }
                // Only the spread columns are read; an expression over this slot finds no
                // column and leaves the query to the row engine.
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            let agg = match self.native_aggregate(spec, &p.columns)? {
                Some(agg) => agg,
                None => self.kql_aggregate(spec, spec.percents.clone(), &p.columns)?,
            };
            let agg = cast(agg, stored_type(spec.ty));
            let source = once(&mut seen, &mut aggs, agg, agg_name(i));
            slots.push(Column::new(agg_name(i), spec.ty));
            copies.push(column(&source).alias(agg_name(i)));
        }
        let grouped = self.build(
            slots.clone(),
            p.parallel,
            |b| b.aggregate(keys, aggs)?.project(copies),
            p.plan,
        )?;
        // Output: the keys, then each output expression over the keys and the aggregates.
        let mut exprs = Vec::new();
        for (i, col) in s.key_cols.iter().enumerate() {
            exprs.push(column(&key_name(i)).alias(col.name.clone()));
        }
        let mut names = s.out_cols[s.key_cols.len()..].iter();
        for out in &s.outs {
            match out {
                Out::Expr(c, ty) => {
                    let col = names.next().ok_or("fewer output columns than outputs")?;
                    exprs.push(self.expr(c, *ty, &slots)?.alias(col.name.clone()));
                }
                Out::Spread(si) => {
                    let spec = &s.specs[*si];
                    // The columns of an arg_max's row, or of each percentage.
                    let width = if arg_rows(&spec.name) {
                        spec.row.len()
                    } else if per_percent[*si] {
                        spec.percents.len()
                    } else {
                        return Err(format!("the aggregate {}", spec.name));
                    };
                    for k in 0..width {
                        let col = names.next().ok_or("fewer output columns than outputs")?;
                        exprs.push(column(&format!("__a{si}_{k}")).alias(col.name.clone()));
                    }
                }
            }
        }
        self.build(s.out_cols, p.parallel, |b| b.project(exprs), grouped.plan)
    }

    /// `spec` as one of DataFusion's aggregates, where its answer is Kusto's; `None` for the
    /// row engine's state ([`kql_aggregate`](Self::kql_aggregate)).
    fn native_aggregate(
        &mut self,
        spec: &AggSpec,
        columns: &[Column],
    ) -> Result<Option<DfExpr>, Fallback> {
        let mut arg = |k: usize| -> Result<(DfExpr, ScalarType), Fallback> {
            let c = spec.args.get(k).ok_or("a missing argument")?;
            let t = type_of(c, columns);
            Ok((self.expr(c, t, columns)?, t))
        };
        let when_end = |pred: DfExpr, x: DfExpr| when(pred, x).end().map_err(|e| e.to_string());
        Ok(Some(match spec.name.as_str() {
            "count" if spec.args.is_empty() => count(lit(1)),
            "countif" => {
                let (pred, t) = arg(0)?;
                if t != ScalarType::Bool {
                    return Err("countif of a non-bool".into());
                }
                count(when_end(pred, lit(1))?)
            }
            "dcount" | "dcountif" => {
                let (x, t) = arg(0)?;
                if t == ScalarType::Dynamic {
                    return Ok(None);
                }
                let x = if spec.name == "dcountif" {
                    let (pred, _) = arg(spec.args.len() - 1)?;
                    when_end(pred, x)?
                } else {
                    x
                };
                match dcount::hashable(t) {
                    true => dcount::distinct_hashes(x),
                    false => count_distinct(x),
                }
            }
            "sum" | "avg" | "sumif" | "avgif" => {
                let (x, t) = arg(0)?;
                if !matches!(t, ScalarType::Int | ScalarType::Long | ScalarType::Real) {
                    return Ok(None);
                }
                let x = if spec.name.ends_with("if") {
                    let (pred, _) = arg(spec.args.len() - 1)?;
                    when_end(pred, x)?
                } else {
                    x
                };
                if spec.name.starts_with("sum") {
                    // Kusto's sum over no values is 0, not null.
                    let total = sum(x);
                    when(is_null(total.clone()), lit(0))
                        .otherwise(total)
                        .map_err(|e| e.to_string())?
                } else {
                    // Kusto's avg over no values is 0/0: NaN, not null.
                    let mean = avg(x);
                    when(is_null(mean.clone()), lit(f64::NAN))
                        .otherwise(mean)
                        .map_err(|e| e.to_string())?
                }
            }
            "min" | "max" => {
                let (x, t) = arg(0)?;
                // DataFusion orders these unlike Kusto (or not at all).
                if matches!(t, ScalarType::Dynamic | ScalarType::Guid | ScalarType::Bool) {
                    return Ok(None);
                }
                if spec.name == "min" { min(x) } else { max(x) }
            }
            _ => return Ok(None),
        }))
    }

    /// `spec` as the row engine's aggregate state ([`KqlAggregate`]) at `percents`: its
    /// column arguments collected, its constants passed on, a `*if` predicate as the filter.
    fn kql_aggregate(
        &mut self,
        spec: &AggSpec,
        percents: Vec<f64>,
        columns: &[Column],
    ) -> Result<DfExpr, Fallback> {
        let predicate = spec.name.ends_with("if");
        let last = spec.args.len().saturating_sub(usize::from(predicate));
        let (mut values, mut consts) = (Vec::new(), Vec::new());
        for (k, c) in spec.args.iter().take(last).enumerate() {
            match c {
                CExpr::Lit(v) if k > 0 => consts.push(Some(v.clone())),
                _ => {
                    let t = type_of(c, columns);
                    values.push((self.expr(c, t, columns)?, t));
                    if k > 0 {
                        consts.push(None);
                    }
                }
            }
        }
        if values.is_empty() {
            return Err("a missing argument".into());
        }
        let agg = KqlAggregate::call(values, &spec.name, spec.ty, consts, predicate, percents);
        if !predicate {
            return Ok(agg);
        }
        let pred = spec.args.last().ok_or("a missing argument")?;
        let pred = self.expr(pred, type_of(pred, columns), columns)?;
        agg.filter(pred).build().map_err(|e| e.to_string())
    }

    /// `plan` with each row's position in the catalog table it reads as a last column
    /// ([`POSITION`]), when it is that table filtered, projected (which keep the table's row
    /// order) and summarized (a group's position is its first row's: the row engine's groups
    /// come in the order first seen); `None` for any other plan.
    pub(super) fn with_positions(&mut self, plan: &LogicalPlan) -> Option<LogicalPlan> {
        let builder = match plan {
            LogicalPlan::Projection(p) => {
                let mut exprs = p.expr.clone();
                exprs.push(column(POSITION));
                LogicalPlanBuilder::from(self.with_positions(&p.input)?).project(exprs)
            }
            LogicalPlan::Filter(f) => {
                LogicalPlanBuilder::from(self.with_positions(&f.input)?).filter(f.predicate.clone())
            }
            LogicalPlan::Aggregate(a) => {
                // An `arg_max`'s input has its positions already, when they are the table's.
                let input = match a.input.schema().has_column_with_unqualified_name(POSITION) {
                    true if scanned_in_order(&a.input) => a.input.as_ref().clone(),
                    true => return None,
                    false => self.with_positions(&a.input)?,
                };
                let mut aggs = a.aggr_expr.clone();
                aggs.push(min(column(POSITION)).alias(POSITION));
                LogicalPlanBuilder::from(input).aggregate(a.group_expr.clone(), aggs)
            }
            LogicalPlan::TableScan(t)
                if t.projection.is_none() && t.filters.is_empty() && t.fetch.is_none() =>
            {
                let read = source_as_provider(&t.source).ok()?;
                let table = Arc::clone(self.scanned.get(&address(&read))?);
                let provider = self.counted(Arc::new(numbered(&table).ok()?), &table);
                // Its texts are the table's: their longest bound a row as the plain scan's do.
                self.scanned.insert(address(&provider), Arc::clone(&table));
                LogicalPlanBuilder::scan(t.table_name.clone(), provider_as_source(provider), None)
            }
            _ => return None,
        };
        builder.ok()?.build().ok()
    }

    /// `p`'s plan with each row's position in the row engine's order as a last column
    /// ([`POSITION`]), where DataFusion knows it: [`with_positions`](Self::with_positions), or
    /// rows numbered in one partition that keeps their order (literal rows, what filters or
    /// projects them).
    pub(super) fn in_row_order(&mut self, p: &Plan) -> Result<Option<LogicalPlan>, Fallback> {
        if let Some(plan) = self.with_positions(&p.plan) {
            return Ok(Some(plan));
        }
        if p.parallel || !keeps_order(&p.plan) {
            return Ok(None);
        }
        numbered_rows(p).map(Some)
    }

    /// `p` with each row's position in input order as a last column ([`POSITION`]): in the row
    /// engine's order where DataFusion knows it ([`in_row_order`](Self::in_row_order)), else
    /// in DataFusion's own, after a join for instance (so ties there fall as they do for `top`).
    pub(super) fn positioned(&mut self, p: Plan) -> Result<Plan, Fallback> {
        let plan = match self.in_row_order(&p)? {
            Some(plan) => plan,
            None => numbered_rows(&p)?,
        };
        let mut columns = p.columns;
        columns.push(Column::new(POSITION, ScalarType::Long));
        Ok(Plan {
            plan,
            columns,
            parallel: p.parallel,
        })
    }
}

/// `p`'s rows numbered in one partition, in the order they come, as a last column
/// ([`POSITION`]).
fn numbered_rows(p: &Plan) -> Result<LogicalPlan, Fallback> {
    let (_, mut exprs) = as_is(&p.columns);
    exprs.push(cast(column("__row"), arrow_schema::DataType::Int64).alias(POSITION));
    df(df(
        df(LogicalPlanBuilder::from(p.plan.clone()).window(vec![row_number().alias("__row")]))?
            .project(exprs),
    )?
    .build())
}

/// Whether `plan` yields its rows in the order the row engine has them (in one partition):
/// scans, literal rows, and what filters, projects, expands or limits them in order.
fn keeps_order(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Unnest(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_) => plan.inputs().into_iter().all(keeps_order),
        LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => true,
        _ => false,
    }
}

/// Whether `plan` is a scan filtered and projected: its positions, if it has them, are the
/// scanned table's.
fn scanned_in_order(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Projection(_) | LogicalPlan::Filter(_) => {
            plan.inputs().into_iter().all(scanned_in_order)
        }
        LogicalPlan::TableScan(_) => true,
        _ => false,
    }
}

/// The name `agg` is computed under: `name`, or the first name it was given. DataFusion refuses
/// the same aggregate twice (`a = countif(x), b = countif(x)`), so it is computed once.
fn once(
    seen: &mut Vec<(DfExpr, String)>,
    aggs: &mut Vec<DfExpr>,
    agg: DfExpr,
    name: String,
) -> String {
    if let Some((_, first)) = seen.iter().find(|(e, _)| *e == agg) {
        return first.clone();
    }
    seen.push((agg.clone(), name.clone()));
    aggs.push(agg.alias(name.clone()));
    name
}

#[cfg(test)]
mod tests {
    use crate::storage::arrow_table::{BATCH_ROWS, PARALLEL_ROWS};
    use crate::value::table::{Column, Table};
    use crate::value::{ScalarType, Value};
    use crate::{Catalog, ExecOptions, Executor};

    const BATCH: i64 = BATCH_ROWS as i64;

    /// A table read in parallel partitions: row `i` has key `i % 6` and value `(i / BATCH_ROWS) %
    /// 4`, so each key's largest value first comes in the fourth batch (another partition than
    /// the first's) and ties in every fourth batch after it; key 5 has only null values.
    fn catalog() -> Catalog {
        let rows = (0..PARALLEL_ROWS as i64 + 10)
            .map(|i| {
                let v = match i % 6 {
                    5 => Value::Null,
                    _ => Value::Long((i / BATCH) % 4),
                };
                vec![Value::Long(i % 6), v, Value::Long(i)]
            })
            .collect();
        let mut c = Catalog::new();
        c.insert(
            "T",
            Table {
                columns: vec![
                    Column::new("k", ScalarType::Long),
                    Column::new("v", ScalarType::Long),
                    Column::new("i", ScalarType::Long),
                ],
                rows,
            },
        );
        c
    }

    /// The `i` column of `q`'s rows on DataFusion, after checking DataFusion plans it without
    /// numbering the input in a window and the row engine answers the same.
    fn picked(catalog: &Catalog, q: &str) -> Vec<Value> {
        let (plan, fused, rows) = super::super::plan_and_answers(catalog, q);
        assert!(!plan.contains("row_number"), "{plan}");
        assert!(plan.contains("kql_arg_m"), "{plan}");
        assert_eq!(fused, rows, "{q}");
        let i = fused.columns.iter().position(|c| c.name == "i");
        fused
            .rows
            .iter()
            .map(|r| i.and_then(|i| r.get(i).cloned()).unwrap_or(Value::Null))
            .collect()
    }

    #[test]
    fn arg_max_and_arg_min_keep_the_first_tied_row_across_partitions_as_the_row_engine() {
        let catalog = catalog();
        let first_of = |k: i64, from: i64| Value::Long(from + (k - from).rem_euclid(6));
        let by_key = picked(&catalog, "T | summarize arg_max(v, i) by k | sort by k asc");
        let mut expected: Vec<Value> = (0..5).map(|k| first_of(k, 3 * BATCH)).collect();
        // Only nulls: the group's first row.
        expected.push(Value::Long(5));
        assert_eq!(by_key, expected);
        let smallest = picked(
            &catalog,
            "T | where k != 0 | summarize arg_min(-v, i) by k | sort by k asc",
        );
        assert_eq!(smallest, expected[1..]);
        let whole = picked(&catalog, "T | where k > 2 | summarize arg_max(v, i)");
        assert_eq!(whole, [first_of(3, 3 * BATCH)]);
        // A better row in every batch: the picks are copied together as the batches pile up.
        let last = PARALLEL_ROWS as i64 + 9;
        let latest = picked(&catalog, "T | summarize arg_max(i, v) by k | sort by k asc");
        let expected: Vec<_> = (0..6).map(|k| Value::Long(last - (last - k) % 6)).collect();
        assert_eq!(latest, expected);
    }

    #[test]
    fn a_nan_first_in_one_partition_beats_numbers_of_another_as_in_input_order() {
        let first_of = |k: i64, from: i64| from + (k - from).rem_euclid(3);
        let last = PARALLEL_ROWS as i64 / BATCH;
        let rows = (0..PARALLEL_ROWS as i64 + 10)
            .map(|i| {
                let (b, k) = (i / BATCH, i % 3);
                let number = Value::Real((b % 4) as f64);
                let v = match k {
                    0 if i == first_of(0, 5 * BATCH) => Value::Real(f64::NAN),
                    0 => number,
                    // Null in the first batch, NaN first in the second (another partition).
                    1 if b == 0 => Value::Null,
                    1 if i == first_of(1, BATCH) => Value::Real(f64::NAN),
                    1 => number,
                    _ if i == first_of(2, last * BATCH) => Value::Real(f64::NAN),
                    _ => Value::Null,
                };
                vec![long(k), v, long(i)]
            })
            .collect();
        let columns = [
            ("k", ScalarType::Long),
            ("v", ScalarType::Real),
            ("i", ScalarType::Long),
        ];
        let catalog = small(&columns, rows);
        let nans = [first_of(1, BATCH), first_of(2, last * BATCH)].map(long);
        let q = "T | summarize arg_max(v, i) by k | project k, i | sort by k asc";
        let largest = picked(&catalog, q);
        assert_eq!(largest, [&[long(3 * BATCH)], &nans[..]].concat());
        let q = "T | summarize arg_min(v, i) by k | project k, i | sort by k asc";
        assert_eq!(picked(&catalog, q), [&[long(0)], &nans[..]].concat());
    }

    #[test]
    fn arg_max_of_a_group_per_row_passes_rows_on_as_state_and_answers_each() {
        // So many groups that DataFusion skips the first phase: each row becomes a state.
        let catalog = catalog();
        let q = "T | summarize arg_max(v, k) by i | summarize sum(k), count()";
        let (plan, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert!(plan.contains("kql_arg_max"), "{plan}");
        assert_eq!(fused, rows, "{q}");
        let n = PARALLEL_ROWS as i64 + 10;
        let keys: i64 = (0..n).map(|i| i % 6).sum();
        assert_eq!(fused.rows, [[long(keys), long(n)]]);
    }

    /// A table `T` of the given columns and rows.
    fn small(columns: &[(&str, ScalarType)], rows: Vec<Vec<Value>>) -> Catalog {
        let columns = columns.iter().map(|(n, t)| Column::new(*n, *t)).collect();
        let mut c = Catalog::new();
        c.insert("T", Table { columns, rows });
        c
    }

    /// `q`'s rows on DataFusion, after checking it runs the aggregate (no `first_value`) and
    /// the row engine answers the same.
    fn answers(catalog: &Catalog, q: &str) -> Vec<Vec<Value>> {
        let (plan, fused, rows) = super::super::plan_and_answers(catalog, q);
        assert!(plan.contains("kql_arg_m"), "{plan}");
        assert!(!plan.contains("first_value"), "{plan}");
        assert_eq!(fused, rows, "{q}");
        fused.rows
    }

    fn long(i: i64) -> Value {
        Value::Long(i)
    }

    /// `arg_max(v, i)` and `arg_min(v, i)` by `k` over rows `(k, v)` of `v`'s type, `i` each
    /// row's position, answer the positions `picks` (`[k, max's i, min's i]`, by `k`).
    fn picks(ty: ScalarType, rows: Vec<(i64, Value)>, picks: &[[i64; 3]]) {
        let rows = (rows.into_iter().enumerate())
            .map(|(i, (k, v))| vec![long(k), v, long(i as i64)])
            .collect();
        let columns = [("k", ScalarType::Long), ("v", ty), ("i", ScalarType::Long)];
        let catalog = small(&columns, rows);
        let q =
            "T | summarize arg_max(v, i), arg_min(v, i) by k | project k, i, i1 | sort by k asc";
        let expected: Vec<Vec<Value>> = picks.iter().map(|r| r.map(long).to_vec()).collect();
        assert_eq!(answers(&catalog, q), expected);
    }

    #[test]
    fn arg_max_ranks_null_values_below_any_and_a_group_of_nulls_answers_its_first_row() {
        let v = |x: Option<i64>| x.map_or(Value::Null, Value::Long);
        let rows = [
            (1, None),
            (1, Some(5)),
            (1, None),
            (1, Some(5)),
            (2, None),
            (2, None),
            (3, Some(7)),
            (3, Some(9)),
            (3, Some(9)),
            (3, Some(7)),
        ];
        let rows = rows.iter().map(|(k, x)| (*k, v(*x))).collect();
        picks(ScalarType::Long, rows, &[[1, 1, 1], [2, 4, 4], [3, 7, 6]]);
    }

    #[test]
    fn arg_max_and_arg_min_of_strings_compare_their_bytes_and_keep_the_first_tie() {
        let s = |x: Option<&str>| x.map_or(Value::Null, |x| Value::String(x.into()));
        let rows = [
            (1, Some("a")),
            (1, Some("B")),
            (1, Some("ab")),
            (1, Some("ab")),
            (2, None),
            (2, Some("")),
            (2, Some("")),
        ];
        let rows = rows.iter().map(|(k, x)| (*k, s(*x))).collect();
        picks(ScalarType::String, rows, &[[1, 2, 1], [2, 5, 5]]);
    }

    #[test]
    fn arg_max_of_reals_keeps_a_nan_only_when_it_is_the_groups_first_value() {
        let r = |x: Option<f64>| x.map_or(Value::Null, Value::Real);
        let rows = [
            // The first non-null is NaN: the row engine keeps it whatever follows.
            (1, None),
            (1, Some(f64::NAN)),
            (1, Some(5.0)),
            // A NaN after a number never wins.
            (2, Some(1.0)),
            (2, Some(f64::NAN)),
            (2, Some(2.0)),
            // -0 ties 0.
            (3, Some(-0.0)),
            (3, Some(0.0)),
            (4, None),
            (4, None),
        ];
        let rows = rows.iter().map(|(k, x)| (*k, r(*x))).collect();
        picks(
            ScalarType::Real,
            rows,
            &[[1, 1, 1], [2, 5, 3], [3, 6, 6], [4, 8, 8]],
        );
    }

    #[test]
    fn arg_max_of_bools_ranks_false_below_true() {
        let rows = [false, true, true, false]
            .iter()
            .enumerate()
            .map(|(i, b)| vec![Value::Bool(*b), long(i as i64)])
            .collect();
        let catalog = small(&[("b", ScalarType::Bool), ("i", ScalarType::Long)], rows);
        let q = "T | summarize arg_max(b, i), arg_min(b, i) | project i, i1";
        assert_eq!(answers(&catalog, q), [[long(1), long(0)]]);
    }

    #[test]
    fn arg_max_without_keys_answers_one_row_even_of_no_rows() {
        let rows = (0..6).map(|i| vec![long(i % 3), long(i)]).collect();
        let catalog = small(&[("v", ScalarType::Long), ("i", ScalarType::Long)], rows);
        let q = "T | summarize arg_max(v, i), arg_min(v, i) | project i, i1";
        assert_eq!(answers(&catalog, q), [[long(2), long(0)]]);
        let q = "T | where v > 5 | summarize arg_max(v, i) | project i";
        assert_eq!(answers(&catalog, q), [[Value::Null]]);
    }

    #[test]
    fn arg_max_reads_the_table_once_in_its_partitions_while_counting_progress() {
        let catalog = catalog();
        let progress = std::sync::Arc::new(crate::progress::ScanProgress::new());
        let opts = ExecOptions {
            progress: Some(std::sync::Arc::clone(&progress)),
            ..ExecOptions::default()
        };
        let q = "T | summarize arg_max(v, i) by k | count";
        let r = crate::execute_on(Executor::DataFusion, &catalog, q, &opts)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!(r.executor, Executor::DataFusion);
        assert_eq!(r.table.rows, [[Value::Long(6)]]);
        let rows = PARALLEL_ROWS as u64 + 10;
        assert_eq!(
            (progress.rows_read(), progress.rows_total()),
            (rows, Some(rows))
        );
    }

    /// `q` runs on DataFusion through the row engine's aggregate state and answers the row
    /// engine's table, which it returns.
    fn through_the_row_engines_state(catalog: &Catalog, q: &str) -> Table {
        let (plan, fused, rows) = super::super::plan_and_answers(catalog, q);
        assert!(plan.contains("kql_"), "{plan}");
        assert_eq!(fused, rows, "{q}");
        fused
    }

    #[test]
    fn aggregates_of_two_columns_run_across_partitions_as_on_the_row_engine() {
        let catalog = catalog();
        // Key 5's values are all null; `k > 1` keeps no row of keys 0 and 1.
        let q = "T | summarize covariance(v, i), covariancep(v, k), covarianceif(v, i, k > 1), \
                 percentilew(v, i, 40) by k | sort by k asc";
        let t = through_the_row_engines_state(&catalog, q);
        assert_eq!(t.rows.len(), 6);
        let empty = "T | where i < 0 | summarize covariance(v, i), percentilew(v, i, 40)";
        through_the_row_engines_state(&catalog, empty);
        let one = "T | where i == 7 | summarize covariance(v, i), percentilew(v, i, 40)";
        through_the_row_engines_state(&catalog, one);
    }

    #[test]
    fn percentiles_answered_in_a_column_each_run_the_state_once_per_percentage() {
        let catalog = catalog();
        // Ties everywhere: `v` takes four values, each over thousands of rows.
        let q = "T | extend r = todouble(v) | summarize percentilesw(v, i, 50, 75, 99.9), \
                 percentiles(r, 50), p = percentilesw_array(r, k, 10, 90) by k | sort by k asc";
        let t = through_the_row_engines_state(&catalog, q);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "k",
                "percentile_v_50",
                "percentile_v_75",
                "percentile_v_99_9",
                "percentile_r_50",
                "p"
            ]
        );
        let none = "T | where i < 0 | extend r = todouble(v) \
                    | summarize percentilesw(v, i, 50, 75), percentiles(r, 50)";
        through_the_row_engines_state(&catalog, none);
    }

    #[test]
    fn percentiles_of_longs_are_nearest_ranks_across_partitions_and_groups_of_one_row() {
        let catalog = catalog();
        // Percentages out of order and at both ends; key 5's values are all null.
        let q = "T | summarize percentiles(i, 95, 5, 50, 100, 0), percentile(v, 30) by k \
                 | sort by k asc";
        let (plan, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert!(plan.contains("kql_percentiles"), "{plan}");
        assert_eq!(fused, rows);
        // Key 0's values of `i` are 0, 6, 12, …: the nearest rank r of p% is 6 * (r - 1).
        let n = (PARALLEL_ROWS as i64 + 10 + 5) / 6;
        let at = |p: f64| Value::Long(6 * ((p / 100.0 * n as f64).ceil().max(1.0) as i64 - 1));
        let want = [95.0, 5.0, 50.0, 100.0, 0.0].map(at);
        assert_eq!(fused.rows[0][1..6], want);
        assert_eq!(fused.rows[5][6], Value::Null);
        // A group a row: past DataFusion's probe, each row's state is made without folding.
        let q = "T | summarize p = percentile(i, 50), percentiles(v, 10, 90) by i \
                 | summarize sum(p), countif(isnull(percentile_v_10)), \
                   countif(percentile_v_90 == percentile_v_10), count()";
        let (_, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert_eq!(fused, rows);
    }

    #[test]
    fn dcount_of_text_and_longs_counts_each_groups_distinct_values_across_partitions() {
        // Over parallel partitions: key `i % 6`; text that repeats every 1,000 rows, empty in
        // every tenth row and null under key 5.
        let text = |i: i64| match (i % 6, i % 10) {
            (5, _) => None,
            (_, 0) => Some(String::new()),
            _ => Some(format!("user{}@contoso.com", i % 1000)),
        };
        let all = 0..PARALLEL_ROWS as i64 + 10;
        let rows = all
            .clone()
            .map(|i| {
                let s = text(i).map_or(Value::Null, |s| Value::str(&s));
                vec![long(i % 6), s, long(i % 7), long(i)]
            })
            .collect();
        let columns = [
            ("k", ScalarType::Long),
            ("s", ScalarType::String),
            ("n", ScalarType::Long),
            ("i", ScalarType::Long),
        ];
        let catalog = small(&columns, rows);
        let q = "T | summarize dcount(s), dcountif(s, n > 2), dcount(n), dcount(todouble(n)) by k \
                 | sort by k asc";
        let (plan, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert_eq!(plan.matches("kql_dcount").count(), 3, "{plan}");
        assert!(
            plan.contains("count(DISTINCT"),
            "reals keep DataFusion's: {plan}"
        );
        assert_eq!(fused, rows);
        for k in 0..6 {
            let of_k = || all.clone().filter(move |i| i % 6 == k);
            let distinct = |keep: &dyn Fn(i64) -> bool| {
                let values = of_k().filter(|&i| keep(i)).filter_map(text);
                values.collect::<std::collections::BTreeSet<_>>().len() as i64
            };
            let want = [
                long(k),
                long(distinct(&|_| true)),
                long(distinct(&|i| i % 7 > 2)),
            ];
            assert_eq!(fused.rows[k as usize][..3], want, "key {k}");
            assert_eq!(fused.rows[k as usize][3..], [long(7), long(7)]);
        }
        // No key (one group), and a group a row (each row's state made without folding).
        let q = "T | summarize dcount(s), dcountif(n, s == \"\")";
        let (_, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert_eq!(fused, rows);
        assert_eq!(fused.rows, [[long(901), long(7)]]);
        let q = "T | summarize d = dcount(s) by i | summarize sum(d), countif(d == 0)";
        let (_, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert_eq!(fused, rows);
        assert_eq!(fused.rows, [[long(all.end - 43692), long(43692)]]);
    }

    #[test]
    fn max_of_bools_and_digests_of_weights_run_the_row_engines_state() {
        let rows = [
            (1, Some(true), 2),
            (1, Some(false), 1),
            (2, None, 1),
            (3, Some(false), 4),
        ]
        .into_iter()
        .map(|(k, b, w)| vec![long(k), b.map_or(Value::Null, Value::Bool), long(w)])
        .collect();
        let columns = [
            ("k", ScalarType::Long),
            ("b", ScalarType::Bool),
            ("w", ScalarType::Long),
        ];
        let catalog = small(&columns, rows);
        let q = "T | summarize max(b), min(b), d = tdigest(k, w) by k | sort by k asc";
        let t = through_the_row_engines_state(&catalog, q);
        assert_eq!(t.rows[0][1], Value::Bool(true));
        assert_eq!(t.rows[0][2], Value::Bool(false));
        let q = "T | where k > 5 | summarize max(b), tdigest(k, w)";
        through_the_row_engines_state(&catalog, q);
    }
}
