//! `evaluate pivot`, whose columns are the values of the pivoted column in the order first seen:
//! a first run finds them (each value's first row, by the rows' positions in the row engine's
//! order: `Lowering::in_row_order`), then the input is summarized by the keys and the value, and
//! each value's cell is gathered into its column, the aggregation of no rows where a key has none
//! of it, as the row engine's `pivot` answers. An input whose row order DataFusion does not know
//! (a join, a sort of ties) could order the columns otherwise: it stays on the row engine.

use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::logical_expr::when;

use crate::bind::expr::CExpr;
use crate::exec::datafusion::numbered::POSITION;
use crate::exec::rows::ops::{Out, Summary};
use crate::exec::rows::pivot::pivot_name;
use crate::syntax::ast::Pivot;
use crate::value::convert::to_text;

use super::*;

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
        let ordered = self
            .in_row_order(&p)?
            .ok_or("a pivot of rows in an order DataFusion does not know")?;
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
                    b.aggregate(vec![value], vec![min(column(POSITION)).alias(FIRST)])?
                        .sort(vec![column(FIRST).sort(true, false)])?
                        .project(vec![column(&pivoted.name)])
                },
                ordered,
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

#[cfg(test)]
mod tests {
    use crate::value::table::{Column, Table};
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
    fn pivot_after_a_summarize_of_a_table_orders_its_columns_by_each_groups_first_row() {
        let text = |s: &str| Value::String(s.into());
        let rows = [
            ("d1", "20", "Windows", 1),
            ("d2", "10", "Linux", 2),
            ("d1", "30", "Windows", 3),
            ("d3", "40", "Windows", 4),
            ("d2", "20", "Linux", 5),
            ("d4", "5", "Windows", 6),
        ];
        let mut c = Catalog::new();
        c.insert(
            "Devices",
            Table {
                columns: vec![
                    Column::new("DeviceId", ScalarType::String),
                    Column::new("OSBuild", ScalarType::String),
                    Column::new("OSPlatform", ScalarType::String),
                    Column::new("T", ScalarType::Long),
                ],
                rows: (rows.iter())
                    .map(|(d, b, p, t)| vec![text(d), text(b), text(p), Value::Long(*t)])
                    .collect(),
            },
        );
        let latest = "Devices | summarize arg_max(T, *) by DeviceId | where isnotempty(OSPlatform) \
             | evaluate pivot(OSBuild, count(), OSPlatform) | sort by OSPlatform asc";
        let (plan, t, rows) = super::super::plan_and_answers(&c, latest);
        assert!(plan.contains(super::CELL), "{plan}");
        assert_eq!(t, rows);
        assert_eq!(names(&t), ["OSPlatform", "30", "20", "40", "5"]);
        for q in [
            "Devices | summarize n = count() by OSPlatform, OSBuild | where n > 0 \
             | evaluate pivot(OSBuild, sum(n))",
            "Devices | where T > 1 | summarize max(T) by OSBuild | evaluate pivot(OSBuild) \
             | sort by max_T asc",
            "Devices | where T > 9 | summarize max(T) by OSBuild | evaluate pivot(OSBuild)",
        ] {
            let (plan, fused, rows) = super::super::plan_and_answers(&c, q);
            assert!(plan.contains(super::CELL), "{plan}");
            assert_eq!(fused, rows, "{q}");
        }
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
