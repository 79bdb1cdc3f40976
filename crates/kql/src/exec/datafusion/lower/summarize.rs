//! `summarize` as a DataFusion aggregate: native aggregates where their results match Kusto's,
//! the KQL UDAF for the rest.

use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{
    avg, count, count_distinct, first_value, max, min, sum,
};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, LogicalPlanBuilder, SortExpr, cast, is_null, lit, when,
};

use crate::bind::expr::CExpr;
use crate::exec::datafusion::numbered::{POSITION, numbered};
use crate::exec::datafusion::udaf::KqlAggregate;
use crate::exec::rows::ops::{Out, Summary};
use crate::storage::layout::stored_type;
use crate::value::ScalarType;
use crate::value::table::Column;

use super::expressions::*;
use super::percentiles::rank_field;
use super::*;

impl<'a> Lowering<'_, 'a> {
    /// `summarize`: DataFusion's aggregate over the keys, then a projection of the output
    /// expressions. `arg_max`/`arg_min` keep, per group, each returned column of the row whose
    /// value is largest (smallest), the first such row in input order on ties, as the row
    /// engine's aggregate state does: rows are ordered by their position in the catalog table
    /// when the input is one (filtered and projected), else numbered in one partition.
    pub(super) fn summarize(&mut self, p: Plan, s: Summary) -> Result<Plan, Fallback> {
        let arg_rows = |name: &str| matches!(name, "arg_max" | "arg_min");
        let input = if !s.specs.iter().any(|sp| arg_rows(&sp.name)) {
            p.plan
        } else if let Some(positioned) = self.with_positions(&p.plan) {
            positioned
        } else {
            df(
                df(LogicalPlanBuilder::from(p.plan).window(vec![row_number().alias(POSITION)]))?
                    .build(),
            )?
        };
        let p = Plan { plan: input, ..p };
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
        let mut ranked = Vec::with_capacity(s.specs.len());
        for (i, spec) in s.specs.iter().enumerate() {
            // Percentiles of whole numbers: one aggregate, a struct of every percentage's value.
            let ranks = self.nearest_ranks(spec, &p.columns)?;
            ranked.push(ranks.is_some());
            if let Some(agg) = ranks {
                let ranks = format!("__p{i}");
                aggs.push(agg.alias(ranks.clone()));
                let field = |k: usize| get_field(column(&ranks), rank_field(k));
                match spec.percents.as_slice() {
                    [_] => copies.push(field(0).alias(agg_name(i))),
                    many => copies
                        .extend((0..many.len()).map(|k| field(k).alias(format!("__a{i}_{k}")))),
                }
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            if (!spec.row.is_empty() && !arg_rows(&spec.name)) || spec.percents.len() > 1 {
                return Err(format!("the aggregate {}", spec.name));
            }
            if arg_rows(&spec.name) {
                let value = spec.args.first().ok_or("arg_max without a value")?;
                let vt = type_of(value, &p.columns);
                if matches!(
                    vt,
                    ScalarType::Dynamic | ScalarType::Bool | ScalarType::Guid
                ) {
                    return Err(format!("{} of {vt}", spec.name));
                }
                let ranking = vec![
                    SortExpr::new(
                        self.expr(value, vt, &p.columns)?,
                        spec.name == "arg_min",
                        false,
                    ),
                    SortExpr::new(column(POSITION), true, false),
                ];
                for (k, (c, col)) in spec.row.iter().enumerate() {
                    let name = format!("__a{i}_{k}");
                    let e = first_value(self.expr(c, col.ty, &p.columns)?, ranking.clone());
                    aggs.push(e.alias(name.clone()));
                    copies.push(column(&name));
                }
                // Only the spread columns are read; an expression over this slot finds no
                // column and leaves the query to the row engine.
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            let mut arg = |k: usize| -> Result<(DfExpr, ScalarType), Fallback> {
                let c = spec.args.get(k).ok_or("a missing argument")?;
                let t = type_of(c, &p.columns);
                Ok((self.expr(c, t, &p.columns)?, t))
            };
            let agg = match spec.name.as_str() {
                "count" if spec.args.is_empty() => count(lit(1)),
                "countif" => {
                    let (pred, t) = arg(0)?;
                    if t != ScalarType::Bool {
                        return Err("countif of a non-bool".into());
                    }
                    count(when(pred, lit(1)).end().map_err(|e| e.to_string())?)
                }
                "dcount" | "dcountif" => {
                    let (x, t) = arg(0)?;
                    if t == ScalarType::Dynamic {
                        return Err("dcount of dynamic".into());
                    }
                    if spec.name == "dcountif" {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        count_distinct(when(pred, x).end().map_err(|e| e.to_string())?)
                    } else {
                        count_distinct(x)
                    }
                }
                "sum" | "avg" | "sumif" | "avgif" => {
                    let (x, t) = arg(0)?;
                    if !matches!(t, ScalarType::Int | ScalarType::Long | ScalarType::Real) {
                        return Err(format!("{} of {t}", spec.name));
                    }
                    let x = if spec.name.ends_with("if") {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        when(pred, x).end().map_err(|e| e.to_string())?
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
                    if matches!(t, ScalarType::Dynamic | ScalarType::Guid | ScalarType::Bool) {
                        return Err(format!("{} of {t}", spec.name));
                    }
                    if spec.name == "min" { min(x) } else { max(x) }
                }
                other => {
                    // The row engine's aggregate state, as a DataFusion UDAF.
                    let predicate = other.ends_with("if");
                    let last = spec.args.len().saturating_sub(usize::from(predicate));
                    let mut consts = Vec::new();
                    for c in spec.args.iter().take(last).skip(1) {
                        match c {
                            CExpr::Lit(v) => consts.push(v.clone()),
                            _ => {
                                return Err(format!(
                                    "the aggregate {other} with a column argument"
                                ));
                            }
                        }
                    }
                    let (x, t) = arg(0)?;
                    let agg = KqlAggregate::call(
                        x,
                        other,
                        (t, spec.ty),
                        consts,
                        predicate,
                        spec.percents.clone(),
                    );
                    if predicate {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        agg.filter(pred).build().map_err(|e| e.to_string())?
                    } else {
                        agg
                    }
                }
            };
            // The same aggregate twice (`a = countif(x), b = countif(x)`) is computed once:
            // DataFusion refuses two identical aggregate expressions.
            let agg = cast(agg, stored_type(spec.ty));
            let source = match seen.iter().find(|(e, _)| *e == agg) {
                Some((_, first)) => first.clone(),
                None => {
                    seen.push((agg.clone(), agg_name(i)));
                    aggs.push(agg.alias(agg_name(i)));
                    agg_name(i)
                }
            };
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
                    } else if ranked[*si] {
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

    /// `plan` with each row's position in the catalog table it reads as a last column
    /// ([`POSITION`]), when it is that table filtered and projected (which keep the table's
    /// row order); `None` for any other plan.
    fn with_positions(&mut self, plan: &LogicalPlan) -> Option<LogicalPlan> {
        let builder = match plan {
            LogicalPlan::Projection(p) => {
                let mut exprs = p.expr.clone();
                exprs.push(column(POSITION));
                LogicalPlanBuilder::from(self.with_positions(&p.input)?).project(exprs)
            }
            LogicalPlan::Filter(f) => {
                LogicalPlanBuilder::from(self.with_positions(&f.input)?).filter(f.predicate.clone())
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
}
