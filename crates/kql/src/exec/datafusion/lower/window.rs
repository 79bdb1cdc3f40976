//! Expressions that read other rows of the serialized input (`row_number`, `prev`, `next`, the
//! running `row_cumsum`, `row_rank_*`, `row_window_session`) as DataFusion window functions over
//! the whole input in its order (no partition, no order of their own).
//!
//! `row_number(start)` is DataFusion's `row_number`, `prev`/`next` are `lag`/`lead` (their
//! default, when there is one, taken where a `lag`/`lead` of `true` finds no row). An expression
//! with anything else that reads other rows runs whole as one window function over the row
//! engine's evaluator ([`SerialUdwf`]), so each keeps one definition. A query with such a window
//! runs in one partition, and its windows are ordered by the keys of the `sort` that serialized
//! their input: without an order of its own, a window does not need its input sorted, and
//! DataFusion's optimizer drops a sort whose order nothing above needs (say under a `count`).

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::functions_window::expr_fn::{lag, lead, row_number};
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, LogicalPlanBuilder, Projection, SortExpr, cast, lit, when,
};

use crate::bind::expr::CExpr;
use crate::exec::datafusion::udwf::SerialUdwf;
use crate::value::ScalarType;
use crate::value::table::Column;

use super::expressions::{columns_read, map_nodes, renumber, type_of};
use super::*;

/// The window columns one operator's expressions need.
struct Windows {
    /// The input's columns, then one per rewritten part.
    cols: Vec<Column>,
    /// The window functions, each aliased to its raw column.
    windows: Vec<DfExpr>,
    /// The serialized order, when a sort made it.
    order: Vec<SortExpr>,
    /// The final value of each rewritten part, from the raw columns and the row's own.
    finals: Vec<DfExpr>,
}

impl Windows {
    fn raw(&mut self, window: DfExpr) -> Result<DfExpr, Fallback> {
        let name = format!("__serial_raw{}", self.windows.len());
        let window = if self.order.is_empty() {
            window
        } else {
            df(window.order_by(self.order.clone()).build())?
        };
        self.windows.push(window.alias(name.clone()));
        Ok(column(&name))
    }

    /// A new column of type `ty` holding `value`; the bound expression reading it.
    fn add(&mut self, value: DfExpr, ty: ScalarType) -> CExpr {
        let name = format!("__serial{}", self.finals.len());
        self.finals.push(value.alias(name.clone()));
        self.cols.push(Column::new(name, ty));
        CExpr::Col(self.cols.len() - 1)
    }
}

impl<'a> Lowering<'_, 'a> {
    /// `p` with a column for each part of `exprs` (bound over `p.columns`, with their types)
    /// that reads other rows, and `exprs` rewritten to read those columns instead; `p` as it
    /// is when none does. The new columns come after `p`'s, so projecting `p`'s columns drops
    /// them.
    pub(super) fn serial_windows(
        &mut self,
        p: Plan,
        exprs: &mut [(CExpr, ScalarType)],
    ) -> Result<Plan, Fallback> {
        if !exprs.iter().any(|(c, _)| c.reads_other_rows()) {
            return Ok(p);
        }
        let mut w = Windows {
            cols: p.columns.clone(),
            windows: Vec::new(),
            order: serial_order(&p.plan)?,
            finals: Vec::new(),
        };
        for (c, ty) in exprs.iter_mut() {
            if !c.reads_other_rows() {
                continue;
            }
            *c = if natively(c, &p.columns) {
                map_nodes(c, &mut |x| self.native_window(x, &p.columns, &mut w))?
            } else {
                let mut read = Vec::new();
                columns_read(c, &mut read);
                let args = read
                    .iter()
                    .map(|&i| (column(&p.columns[i].name), p.columns[i].ty))
                    .collect();
                let raw = w.raw(SerialUdwf::call(renumber(c, &read), args, *ty))?;
                w.add(raw, *ty)
            };
        }
        self.serial = true;
        let (_, mut exprs) = as_is(&p.columns);
        exprs.extend(w.finals);
        let windows = w.windows;
        let plan =
            df(df(df(LogicalPlanBuilder::from(p.plan).window(windows))?.project(exprs))?.build())?;
        Ok(Plan {
            plan,
            columns: w.cols,
            parallel: false,
        })
    }

    /// `p` without the columns after its first `width` (those `serial_windows` added).
    pub(super) fn first_columns(&self, p: Plan, width: usize) -> Result<Plan, Fallback> {
        if p.columns.len() == width {
            return Ok(p);
        }
        let (cols, exprs) = as_is(&p.columns[..width]);
        self.build(cols, p.parallel, |b| b.project(exprs), p.plan)
    }

    /// The column replacing `x` when it is `row_number` or `prev`/`next` (see [`natively`]).
    fn native_window(
        &mut self,
        x: &CExpr,
        cols: &[Column],
        w: &mut Windows,
    ) -> Result<Option<CExpr>, Fallback> {
        Ok(Some(match x {
            CExpr::RowNumber(start) => {
                let n = cast(w.raw(row_number())?, stored_type(ScalarType::Long));
                let value = if *start == 1 {
                    n
                } else {
                    n + lit(start.wrapping_sub(1))
                };
                w.add(value, ScalarType::Long)
            }
            CExpr::Shift { expr, by, default } => {
                let ty = type_of(expr, cols);
                let value = self.expr(expr, ty, cols)?;
                let shift = |e: DfExpr| {
                    let n = Some(by.unsigned_abs().min(i64::MAX as u64) as i64);
                    if *by < 0 {
                        lag(e, n, None)
                    } else {
                        lead(e, n, None)
                    }
                };
                let shifted = w.raw(shift(value))?;
                let value = if matches!(**default, CExpr::Lit(Value::Null)) {
                    shifted
                } else {
                    // Past either end the default, evaluated on the row itself.
                    let beyond = w.raw(shift(lit(true)))?.is_null();
                    let default = self.expr(default, ty, cols)?;
                    df(when(beyond, default).otherwise(shifted))?
                };
                w.add(value, ty)
            }
            _ => return Ok(None),
        }))
    }
}

/// The order of `plan`'s rows: the keys of the sort beneath it, in its own column names; none
/// when its rows come in a scan's order. An order DataFusion does not keep (an aggregate's, a
/// join's) or keys not passed on up to `plan` leave the query to the row engine.
fn serial_order(plan: &LogicalPlan) -> Result<Vec<SortExpr>, Fallback> {
    let lost = || "rows serialized in an order DataFusion does not keep".to_string();
    match plan {
        LogicalPlan::Sort(s) => Ok(s.expr.clone()),
        LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
            Ok(Vec::new())
        }
        LogicalPlan::Filter(f) => serial_order(&f.input),
        LogicalPlan::Limit(l) => serial_order(&l.input),
        LogicalPlan::Window(w) => serial_order(&w.input),
        LogicalPlan::Projection(p) => serial_order(&p.input)?
            .into_iter()
            .map(|k| {
                let expr = passed_on(&k.expr, p).ok_or_else(lost)?;
                Ok(SortExpr { expr, ..k })
            })
            .collect(),
        _ => Err(lost()),
    }
}

/// `e`, over a projection's input, over its output: every column it reads renamed to the output
/// column that passes it on as it is, if each has one.
fn passed_on(e: &DfExpr, p: &Projection) -> Option<DfExpr> {
    let output = |name: &str| {
        p.expr.iter().enumerate().find_map(|(i, x)| {
            let x = match x {
                DfExpr::Alias(a) => a.expr.as_ref(),
                x => x,
            };
            matches!(x, DfExpr::Column(c) if c.name == name)
                .then(|| p.schema.field(i).name().clone())
        })
    };
    let mut lost = false;
    let renamed = e
        .clone()
        .transform(|x| {
            Ok(match x {
                DfExpr::Column(c) => match output(&c.name) {
                    Some(name) => Transformed::yes(column(&name)),
                    None => {
                        lost = true;
                        Transformed::no(DfExpr::Column(c))
                    }
                },
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    (!lost).then_some(renamed)
}

/// Whether every part of `c` that reads other rows has a native window function: `row_number`
/// without a restart, and `prev`/`next` of an expression of this row whose default (if any) is
/// of its type (the row engine answers a default of another type as it is).
fn natively(c: &CExpr, cols: &[Column]) -> bool {
    !c.any(&|x| match x {
        CExpr::Running { .. } => true,
        CExpr::Shift { expr, default, .. } => {
            expr.reads_other_rows()
                || default.reads_other_rows()
                || !(matches!(**default, CExpr::Lit(Value::Null))
                    || type_of(default, cols) == type_of(expr, cols))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, Value};

    /// The DataFusion plan of `q`, after checking DataFusion answers it with the row engine's
    /// columns and rows, in the same order.
    fn planned_and_agreeing(q: &str) -> (String, Vec<Vec<Value>>) {
        let (plan, fused, rows) = super::super::plan_and_answers(&Catalog::new(), q);
        assert_eq!(fused, rows, "{q}");
        (plan, rows.rows)
    }

    fn longs(rows: &[Vec<Value>], col: usize) -> Vec<Option<i64>> {
        rows.iter()
            .map(|r| match r[col] {
                Value::Long(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn row_number_prev_and_next_are_datafusion_window_functions() {
        let q = "range a from 1 to 5 step 1 | sort by a desc \
                 | extend rn = row_number(7), p = prev(a), n = next(a, 2, -1) \
                 | where isnull(p) or p - a == 1 \
                 | project a, rn, p, n, back = prev(rn, 1, 0)";
        let (plan, rows) = planned_and_agreeing(q);
        for f in ["row_number", "lag", "lead"] {
            assert!(plan.contains(f), "{f}: {plan}");
        }
        assert!(!plan.contains("kql_serial"), "{plan}");
        assert_eq!(longs(&rows, 0), [5, 4, 3, 2, 1].map(Some));
        assert_eq!(longs(&rows, 1), [7, 8, 9, 10, 11].map(Some));
        assert_eq!(longs(&rows, 2), [None, Some(5), Some(4), Some(3), Some(2)]);
        assert_eq!(
            longs(&rows, 3),
            [Some(3), Some(2), Some(1), Some(-1), Some(-1)]
        );
        assert_eq!(longs(&rows, 4), [0, 7, 8, 9, 10].map(Some));
    }

    /// Nothing above a `count` needs rows in order, so DataFusion would drop the sort beneath
    /// a window that does not ask for its order.
    #[test]
    fn the_windows_keep_the_sort_that_serialized_their_input_under_a_count() {
        let q = "range x from 1 to 100 step 1 | sort by x desc \
                 | project y = x | extend p = prev(y), rn = row_number() \
                 | where p == y + 1 and rn == 101 - y | count";
        let (plan, rows) = planned_and_agreeing(q);
        assert!(plan.contains("ORDER BY [y DESC"), "{plan}");
        assert_eq!(longs(&rows, 0), [Some(99)]);
    }

    #[test]
    fn running_values_and_restarts_run_on_datafusion_through_the_row_engines_evaluator() {
        let q = "datatable (k: string, v: long, t: datetime) [\
                 'a', 3, datetime(2024-01-01 10:00), 'a', 3, datetime(2024-01-01 10:20), \
                 'a', 5, datetime(2024-01-01 12:00), 'b', 1, datetime(2024-01-01 10:05), \
                 'b', 4, datetime(2024-01-01 10:10)] \
                 | sort by k asc, v asc \
                 | serialize s = row_cumsum(v, k != prev(k)), r = row_rank_min(v, k != prev(k)), \
                   d = row_rank_dense(v), i = row_number(10, k != prev(k)), \
                   w = row_window_session(t, 1h, 30m, k != prev(k)), \
                   late = t - next(t, 1, 0) > 1h";
        let (plan, rows) = planned_and_agreeing(q);
        assert!(plan.contains("kql_serial"), "{plan}");
        assert_eq!(longs(&rows, 3), [3, 6, 11, 1, 5].map(Some));
        assert_eq!(longs(&rows, 4), [1, 1, 3, 1, 2].map(Some));
        assert_eq!(longs(&rows, 5), [1, 1, 2, 3, 4].map(Some));
        assert_eq!(longs(&rows, 6), [10, 11, 12, 10, 11].map(Some));
    }
}
