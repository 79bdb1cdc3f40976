//! `evaluate pivot`, whose columns are the values of the pivoted column in the order first seen:
//! a first run finds them (each value's first row, in one partition), then the input is
//! summarized by the keys and the value, and each value's cell is gathered into its column,
//! the aggregation of no rows where a key has none of it, as the row engine's `pivot` answers.
//! An input whose row order DataFusion does not keep as the row engine does (an aggregation, a
//! join, a sort of ties, parallel partitions) could order the columns otherwise: it stays on the
//! row engine.

use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::when;

use crate::bind::expr::CExpr;
use crate::exec::rows::ops::{Out, Summary};
use crate::exec::rows::pivot::pivot_name;
use crate::syntax::ast::Pivot;
use crate::value::convert::to_text;

use super::*;

/// Each input row's position, in the first run.
const POSITION: &str = "__position";
/// A value's first position, in the first run.
const FIRST: &str = "__first";
/// A key and value's cell, between the two aggregates.
const CELL: &str = "__cell";
/// The rows of a pivot without keys (none: no row, as on the row engine).
const ROWS: &str = "__rows";

impl<'a> Lowering<'_, 'a> {
    /// `evaluate pivot(column [, aggregation [, key, ...]])` over `p`.
    pub(super) fn pivot(
        &mut self,
        p: Plan,
        op: &'a Operator,
        pivot: &'a Pivot,
    ) -> Result<Plan, Fallback> {
        let bound = self
            .engine
            .bind_pivot(&p.columns, pivot, &self.env)
            .map_err(|e| e.to_string())?;
        if p.parallel || !keeps_order(&p.plan) {
            return Err("a pivot of rows in an order DataFusion does not keep".into());
        }
        let pivoted = p.columns[bound.pivot].clone();
        // A dynamic value's stored text need not be the text a constant of it is stored as.
        if pivoted.ty == ScalarType::Dynamic {
            return Err("a pivot of a dynamic column".into());
        }
        let seen = self.first_run(op, |l| {
            let value = column(&pivoted.name);
            l.build(
                vec![pivoted.clone()],
                false,
                |b| {
                    b.window(vec![row_number().alias(POSITION)])?
                        .aggregate(vec![value], vec![min(column(POSITION)).alias(FIRST)])?
                        .sort(vec![column(FIRST).sort(true, false)])?
                        .project(vec![column(&pivoted.name)])
                },
                p.plan.clone(),
            )
        })?;
        let values: Vec<Value> = seen
            .rows
            .iter()
            .filter_map(|r| r.first().cloned())
            .collect();
        let texts: Vec<String> = values.iter().map(to_text).collect();
        // Values of one text share a column on the row engine, the last group's cell winning.
        if (1..texts.len()).any(|i| texts[..i].contains(&texts[i])) {
            return Err("pivoted values of the same text".into());
        }

        // One row per key and value: its cell.
        let keys: Vec<Column> = bound.keys.iter().map(|&i| p.columns[i].clone()).collect();
        let grouped: Vec<usize> = bound.keys.iter().copied().chain([bound.pivot]).collect();
        let key_cols: Vec<Column> = grouped.iter().map(|&i| p.columns[i].clone()).collect();
        // The aggregates' values, then the cell computed of them (the result reads them alone).
        let slot = |i: usize| format!("__s{i}");
        let slots: Vec<Column> = (bound.specs.iter().enumerate())
            .map(|(i, spec)| Column::new(slot(i), spec.ty))
            .collect();
        let mut out_cols = key_cols.clone();
        out_cols.extend(slots.iter().cloned());
        let summary = Summary {
            key_exprs: grouped.iter().map(|&i| CExpr::Col(i)).collect(),
            outs: (slots.iter().enumerate())
                .map(|(i, c)| Out::Expr(CExpr::Col(grouped.len() + i), c.ty))
                .collect(),
            key_cols: key_cols.clone(),
            specs: bound.specs,
            out_cols,
        };
        let aggregated = self.summarize(p, summary)?;
        let cell = self.expr(&bound.result, bound.ty, &slots)?.alias(CELL);
        let mut exprs: Vec<DfExpr> = key_cols.iter().map(|c| column(&c.name)).collect();
        exprs.push(cell);
        let mut cell_cols = key_cols;
        cell_cols.push(Column::new(CELL, bound.ty));
        let cells = self.build(
            cell_cols,
            aggregated.parallel,
            |b| b.project(exprs),
            aggregated.plan,
        )?;

        // One row per key: each value's cell in its column.
        let group: Vec<DfExpr> = keys.iter().map(|c| column(&c.name)).collect();
        let mut exprs = group.clone();
        let mut columns = keys.clone();
        let mut aggs = Vec::new();
        let none = constant(&bound.none, bound.ty);
        for (j, (v, text)) in values.iter().zip(&texts).enumerate() {
            let this = match scalar(v, pivoted.ty) {
                Some(v) => column(&pivoted.name).eq(lit(v)),
                None => column(&pivoted.name).is_null(),
            };
            let (rows, cell) = (format!("__n{j}"), format!("__c{j}"));
            let counted = when(this.clone(), lit(1))
                .end()
                .map_err(|e| e.to_string())?;
            aggs.push(count(counted).alias(rows.clone()));
            let picked = when(this, column(CELL)).end().map_err(|e| e.to_string())?;
            aggs.push(max(picked).alias(cell.clone()));
            let name = pivot_name(&columns, text);
            let e = when(column(&rows).gt(lit(0i64)), column(&cell))
                .otherwise(none.clone())
                .map_err(|e| e.to_string())?;
            exprs.push(e.alias(name.clone()));
            columns.push(Column::new(name, bound.ty));
        }
        let no_keys = keys.is_empty();
        if no_keys {
            aggs.push(count(lit(1)).alias(ROWS));
        }
        self.build(
            columns,
            cells.parallel,
            |b| {
                let b = b.aggregate(group, aggs)?;
                let b = if no_keys {
                    b.filter(column(ROWS).gt(lit(0i64)))?
                } else {
                    b
                };
                b.project(exprs)
            },
            cells.plan,
        )
    }
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

#[cfg(test)]
mod tests {
    use crate::value::table::Table;
    use crate::value::{ScalarType, Value};
    use crate::{Catalog, ExecOptions};

    /// `q`'s table on DataFusion, after checking it pivots there and the row engine answers the
    /// same columns (in order), types and rows.
    fn pivoted(q: &str) -> Table {
        let (plan, fused, rows) = super::super::plan_and_answers(&Catalog::new(), q);
        assert!(plan.contains(super::CELL), "{plan}");
        assert_eq!(fused, rows, "{q}");
        fused
    }

    fn names(t: &Table) -> Vec<&str> {
        t.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Keys, values in an order neither sorted nor of the keys, a null value, ties, and a value
    /// named like a key column.
    const EVENTS: &str = "datatable(User:string, Action:string, n:long, Code:long) [
        'b', 'Write', 1, 2,
        'a', 'Read', 2, int(null),
        'b', 'Read', 3, 2,
        'a', 'User', 4, 1,
        'c', 'Write', 5, 1,
        'b', 'Write', 6, int(null),
    ]";

    #[test]
    fn pivot_makes_a_column_of_each_value_in_the_order_first_seen_as_the_row_engine() {
        let q =
            format!("{EVENTS} | project User, Action | evaluate pivot(Action) | sort by User asc");
        let t = pivoted(&q);
        assert_eq!(names(&t), ["User", "Write", "Read", "User1"]);
        assert_eq!(t.columns[1].ty, ScalarType::Long);
        // `b` wrote twice; `c` read nothing: the count of no rows.
        assert_eq!(
            t.rows[1],
            [
                Value::String("b".into()),
                Value::Long(2),
                Value::Long(1),
                Value::Long(0)
            ]
        );
        assert_eq!(t.rows[2][2], Value::Long(0));
        let with_keys =
            format!("{EVENTS} | evaluate pivot(Action, sum(n), User) | sort by User asc");
        pivoted(&with_keys);
        let sets = format!("{EVENTS} | evaluate pivot(Code, make_set(n), User) | sort by User asc");
        let t = pivoted(&sets);
        // A null code is a column too, named by its empty text.
        assert_eq!(names(&t), ["User", "2", "", "1"]);
        assert_eq!(t.columns[1].ty, ScalarType::Dynamic);
        // Every other column is a key: here `n` and `Code` too.
        let every = format!("{EVENTS} | evaluate pivot(Action) | sort by n asc");
        pivoted(&every);
    }

    #[test]
    fn pivot_without_keys_or_rows_answers_as_the_row_engine() {
        let t = pivoted(&format!(
            "{EVENTS} | project Action | evaluate pivot(Action)"
        ));
        assert_eq!(t.rows, [[Value::Long(3), Value::Long(2), Value::Long(1)]]);
        let one = format!("{EVENTS} | where n == 4 | project Action | evaluate pivot(Action)");
        assert_eq!(pivoted(&one).rows, [[Value::Long(1)]]);
        let none = format!("{EVENTS} | where n > 9 | project Action | evaluate pivot(Action)");
        let t = pivoted(&none);
        assert!(t.columns.is_empty() && t.rows.is_empty());
        let none = format!("{EVENTS} | where n > 9 | evaluate pivot(Action, count(), User)");
        assert_eq!(names(&pivoted(&none)), ["User"]);
    }

    #[test]
    fn pivot_of_rows_whose_order_datafusion_may_change_stays_on_the_row_engine() {
        let q = format!(
            "{EVENTS} | summarize n = count() by User, Action | evaluate pivot(Action, sum(n))"
        );
        let why = crate::explain(&Catalog::new(), &q, &ExecOptions::default())
            .expect_err("an aggregate's order is its own");
        assert!(why.contains("order"), "{why}");
    }
}
