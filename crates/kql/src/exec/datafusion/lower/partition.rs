//! `partition by Column (top N by …)` and `(take N)`: the operator on each value's rows is a
//! window over the input, its rows ranked within their value (ties, and `take`, in input order:
//! see [`positioned`](Lowering::positioned)) and cut to N; the parts come in the order their
//! values are first seen, each in its rank order, as the row engine runs the parts one after
//! another. Any other subquery stays on the row engine.

use datafusion::functions_aggregate::min_max::min_udaf;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::expr::{WindowFunction, WindowFunctionDefinition};
use datafusion::logical_expr::{ExprFunctionExt, SortExpr};

use crate::exec::datafusion::numbered::POSITION;

use super::*;

/// A row's rank within its part, and its part's first position.
const RANK: &str = "__part_rank";
const FIRST: &str = "__part_first";

impl<'a> Lowering<'_, 'a> {
    /// `partition by by (ops)` over `p`.
    pub(super) fn partition(
        &mut self,
        p: Plan,
        by: &str,
        ops: &'a [Operator],
    ) -> Result<Plan, Fallback> {
        let (count, keys) = match ops {
            [op] => match &op.kind {
                OperatorKind::Top { count, keys } => (count, &keys[..]),
                OperatorKind::Take(count) => (count, &[][..]),
                _ => return Err("a partition subquery other than top or take".into()),
            },
            _ => return Err("a partition subquery of several operators".into()),
        };
        let part = p
            .columns
            .iter()
            .find(|c| c.name == by)
            .ok_or_else(|| format!("Failed to resolve column named '{by}' to partition by"))?;
        // The row engine's parts are its grouping keys: a real's or a dynamic value's are not
        // DataFusion's.
        if matches!(
            part.ty,
            ScalarType::Real | ScalarType::Decimal | ScalarType::Dynamic
        ) {
            return Err(format!("a partition by a {} column", part.ty));
        }
        let n = self.count(count)?;
        let mut order = self.sort_exprs(keys, &p.columns)?;
        let p = self.positioned(p)?;
        order.push(SortExpr::new(column(POSITION), true, false));
        let rank = df(row_number()
            .partition_by(vec![column(by)])
            .order_by(order)
            .build())?
        .alias(RANK);
        let first = df(DfExpr::from(WindowFunction::new(
            WindowFunctionDefinition::AggregateUDF(min_udaf()),
            vec![column(POSITION)],
        ))
        .partition_by(vec![column(by)])
        .build())?
        .alias(FIRST);
        let width = p.columns.len() - 1;
        let (cols, exprs) = as_is(&p.columns[..width]);
        let kept = u64::try_from(n).map_err(|e| e.to_string())?;
        self.build(
            cols,
            p.parallel,
            |b| {
                b.window(vec![first])?
                    .window(vec![rank])?
                    .filter(column(RANK).lt_eq(lit(kept)))?
                    .sort(vec![
                        SortExpr::new(column(FIRST), true, false),
                        SortExpr::new(column(RANK), true, false),
                    ])?
                    .project(exprs)
            },
            p.plan,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::arrow_table::{BATCH_ROWS, PARALLEL_ROWS};
    use crate::value::table::{Column, Table};
    use crate::value::{ScalarType, Value};
    use crate::{Catalog, ExecOptions};

    /// Reports with tied and null times, a null report and one report of a single row.
    const FILES: &str = "datatable(Report:long, Mount:long, File:string) [
        7, 2, 'a',
        3, 5, 'b',
        7, 9, 'c',
        long(null), 4, 'd',
        3, 5, 'e',
        7, long(null), 'f',
        1, 1, 'g',
        long(null), 8, 'h',
        3, 1, 'i',
    ]";

    #[test]
    fn partition_by_a_column_of_top_or_take_answers_each_part_as_the_row_engine() {
        let c = Catalog::new();
        for sub in [
            "top 1 by Mount",
            "top 2 by Mount asc",
            "top 2 by Mount desc nulls first, File asc",
            "top 100 by File",
            "top 0 by Mount",
            "take 2",
        ] {
            let q = format!("{FILES} | partition by Report ({sub})");
            let (plan, fused, rows) = super::super::plan_and_answers(&c, &q);
            assert!(plan.contains(super::RANK), "{plan}");
            assert_eq!(fused, rows, "{q}");
        }
        let q = format!("{FILES} | partition by Report (top 1 by Mount)");
        let (_, fused, _) = super::super::plan_and_answers(&c, &q);
        let files: Vec<&Value> = fused.rows.iter().map(|r| &r[2]).collect();
        let text = |s: &str| Value::String(s.into());
        // Ties keep the first row; a null report is a part of its own.
        assert_eq!(files, [&text("c"), &text("b"), &text("h"), &text("g")]);
        // After a lookup, and over a table read in parallel partitions.
        let q = format!(
            "{FILES} | lookup kind=inner (datatable(Report:long, Name:string) [7, 'x', 3, 'y']) \
             on Report | partition by Report (top 1 by Mount) | sort by File asc"
        );
        let (_, fused, rows) = super::super::plan_and_answers(&c, &q);
        assert_eq!((fused.rows.len(), fused), (2, rows));
        let mut parallel = Catalog::new();
        let batch = BATCH_ROWS as i64;
        parallel.insert(
            "T",
            Table {
                columns: vec![
                    Column::new("k", ScalarType::Long),
                    Column::new("i", ScalarType::Long),
                    Column::new("row", ScalarType::Long),
                ],
                rows: (0..PARALLEL_ROWS as i64 + 10)
                    .map(|r| {
                        let k = 3 - (r / batch) % 4;
                        vec![Value::Long(k), Value::Long(r / 3), Value::Long(r)]
                    })
                    .collect(),
            },
        );
        // Rows tie by threes (the first batch's first part, and the fourth's, another
        // partition's): the first row of each part, the parts in the order first seen.
        let q = "T | partition by k (top 1 by i asc)";
        let (_, fused, rows) = super::super::plan_and_answers(&parallel, q);
        assert_eq!(fused, rows);
        let firsts: Vec<Value> = (0..4).map(|b| Value::Long(b * batch)).collect();
        let picked: Vec<Value> = fused.rows.iter().map(|r| r[2].clone()).collect();
        assert_eq!(picked, firsts);
        let q = format!("{FILES} | where Mount > 99 | partition by Report (top 1 by Mount)");
        let (_, fused, rows) = super::super::plan_and_answers(&c, &q);
        assert_eq!((fused.rows.len(), fused), (0, rows));
    }

    #[test]
    fn partition_of_other_subqueries_or_by_a_real_stays_on_the_row_engine() {
        let c = Catalog::new();
        for (sub, why) in [
            ("partition by Report (summarize count())", "other than top"),
            (
                "partition by Report (sort by Mount | take 1)",
                "several operators",
            ),
            (
                "extend r = todouble(Report) | partition by r (take 1)",
                "by a real",
            ),
        ] {
            let q = format!("{FILES} | {sub}");
            let err = crate::explain(&c, &q, &ExecOptions::default()).expect_err(&q);
            assert!(err.contains(why), "{err}");
        }
    }
}
