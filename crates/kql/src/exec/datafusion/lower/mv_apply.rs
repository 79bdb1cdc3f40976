//! `mv-apply`: a subquery run on each row's expansion, its rows laid over the row's other
//! columns (as the row engine does it: a column the subquery makes replaces the row's column of
//! that name, the others come after).
//!
//! Each input row gets a number, and a hidden copy of each column it keeps; the expansion is
//! `mv-expand`'s, and the subquery's operators run on all rows' expansions at once, each one per
//! row: row by row as they are, `summarize` grouped by the row too (the hidden copies with it;
//! without keys, joined back to the input rows, so a row whose expansion is empty still has its
//! answer), `top` as a window over each row's rows, `project` carrying the hidden columns. An
//! operator reading every column (`pack_all()`, `*`) or other rows (`prev`, `row_number`), or
//! any other operator, leaves the query to the row engine.

use datafusion::common::{Column as DfColumn, JoinType};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, SortExpr, cast, when};

use crate::bind::expr::CExpr;
use crate::exec::rows::ops::Out;
use crate::syntax::ast::ExpandItem;

use super::expressions::map_nodes;
use super::*;

/// How an `mv-apply` subquery's operators tell the input rows apart.
struct EachRow<'c> {
    /// The row's number and hidden copies of its columns, which every operator passes on.
    carried: &'c [Column],
    /// The number's column.
    row: &'c str,
    /// The input rows, numbered, when a `summarize` of no key must answer each of them.
    every: Option<&'c Plan>,
}

/// Whether the debug text `text` has `word` as a whole word.
fn mentions(text: &str, word: &str) -> bool {
    let part_of_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !part_of_word(text[..at].chars().next_back())
            && !part_of_word(text[at + word.len()..].chars().next())
    })
}

/// The prefix of the hidden columns an `mv-apply` carries through its subquery.
const HIDDEN: &str = "__mv_apply";

impl<'a> Lowering<'_, 'a> {
    /// `mv-apply items [limit] on (ops)` over `p`.
    pub(super) fn mv_apply(
        &mut self,
        p: Plan,
        items: &'a [ExpandItem],
        limit: Option<&'a Expr>,
        ops: &'a [Operator],
    ) -> Result<Plan, Fallback> {
        // The hidden columns are in the subquery's schema: what reads every column would see them.
        let text = format!("{ops:?}");
        // So would what reads other rows (`prev`, `row_number`…): it would read other input rows'.
        // (`*` is the word `Star`, which `StartsWith` is not.)
        if [
            "pack_all",
            "Wildcard",
            "ProjectKeep",
            "\"prev\"",
            "\"next\"",
            "\"row_",
        ]
        .iter()
        .any(|w| text.contains(w))
            || mentions(&text, "Star")
        {
            return Err("an mv-apply subquery reading every column".into());
        }
        // Nested mv-apply subqueries number their rows apart.
        let depth = p
            .columns
            .iter()
            .filter(|c| c.name.starts_with(HIDDEN))
            .count();
        let row = format!("{HIDDEN}{depth}_row");
        let expanded: Vec<String> = items
            .iter()
            .filter_map(|i| i.name.clone().or_else(|| derive_name(&i.expr)))
            .collect();
        let kept: Vec<Column> = p
            .columns
            .iter()
            .filter(|c| !expanded.contains(&c.name))
            .cloned()
            .collect();
        let hidden = |i: usize| format!("{HIDDEN}{depth}_{i}");
        // The row's number and hidden copies of the columns it keeps.
        let (mut cols, mut exprs) = as_is(&p.columns);
        for (i, c) in kept.iter().enumerate() {
            exprs.push(column(&c.name).alias(hidden(i)));
            cols.push(Column::new(hidden(i), c.ty));
        }
        exprs.push(cast(column("__mv_apply_n"), stored_type(ScalarType::Long)).alias(row.clone()));
        cols.push(Column::new(row.clone(), ScalarType::Long));
        // A summarize of no key makes a row for every input row, those whose expansion is
        // empty too: they are joined back from the input, which is read twice, so the rows are
        // numbered in an order of their own (rows of one number on both sides are equal).
        let every_row = ops
            .iter()
            .any(|o| matches!(&o.kind, OperatorKind::Summarize { by, .. } if by.is_empty()));
        let number = if every_row {
            let order = p
                .columns
                .iter()
                .map(|c| SortExpr::new(column(&c.name), true, true))
                .collect();
            df(row_number().order_by(order).build())?
        } else {
            row_number()
        };
        let numbered = df(df(df(
            LogicalPlanBuilder::from(p.plan).window(vec![number.alias("__mv_apply_n")])
        )?
        .project(exprs))?
        .build())?;
        let carried: Vec<Column> = cols[p.columns.len()..].to_vec();
        let mut sub = Plan {
            plan: numbered,
            columns: cols,
            parallel: p.parallel,
        };
        let every = every_row.then(|| sub.clone());
        sub = self.mv_expand(sub, &[], items, limit)?;
        let rows = EachRow {
            carried: &carried,
            row: &row,
            every: every.as_ref(),
        };
        for op in ops {
            sub = self.per_row(sub, op, &rows)?;
            if !carried.iter().all(|c| sub.columns.contains(c)) {
                return Err("an mv-apply subquery dropping its row".into());
            }
        }
        // The kept columns, each the subquery's where it made one, then the subquery's others.
        let visible: Vec<&Column> = sub
            .columns
            .iter()
            .filter(|c| !c.name.starts_with(HIDDEN))
            .collect();
        let mut out = Vec::new();
        let mut exprs = Vec::new();
        for (i, c) in kept.iter().enumerate() {
            match visible.iter().find(|v| v.name == c.name) {
                Some(v) => {
                    out.push((*v).clone());
                    exprs.push(column(&v.name));
                }
                None => {
                    out.push(c.clone());
                    exprs.push(column(&hidden(i)).alias(c.name.clone()));
                }
            }
        }
        for v in visible {
            if !kept.iter().any(|c| c.name == v.name) {
                out.push(v.clone());
                exprs.push(column(&v.name));
            }
        }
        self.build(out, sub.parallel, |b| b.project(exprs), sub.plan)
    }

    /// One operator of an `mv-apply` subquery, run on each input row's rows apart.
    fn per_row(&mut self, p: Plan, op: &'a Operator, rows: &EachRow) -> Result<Plan, Fallback> {
        let (carried, row) = (rows.carried, rows.row);
        match &op.kind {
            OperatorKind::Where(_)
            | OperatorKind::Extend(_)
            | OperatorKind::Parse { .. }
            | OperatorKind::MvExpand { .. }
            | OperatorKind::MvApply { .. }
            | OperatorKind::ProjectAway(_)
            | OperatorKind::ProjectRename(_) => self.operator(p, op),
            OperatorKind::Serialize(items) if items.is_empty() => Ok(p),
            OperatorKind::Project(items) => {
                let list = project_list(items);
                self.project_carrying(p, list, carried)
            }
            OperatorKind::Summarize { aggs, by } => {
                // What the row engine answers for a row whose rows are none.
                let none = match rows.every.filter(|_| by.is_empty()) {
                    Some(every) => {
                        let empty = Table::new(p.columns.clone());
                        let t = self.engine.operator(empty, op, &self.env);
                        let t = t.map_err(|e| e.to_string())?;
                        Some((every, t))
                    }
                    None => None,
                };
                let mut s = self
                    .engine
                    .bind_summarize(&p.columns, aggs, by, &self.env)
                    .map_err(|e| e.to_string())?;
                // Grouped by the row too: its hidden columns are one value per row.
                let at = s.key_cols.len();
                for (j, c) in carried.iter().enumerate() {
                    let i = p
                        .columns
                        .iter()
                        .position(|x| x == c)
                        .ok_or("an mv-apply row lost")?;
                    s.key_exprs.push(CExpr::Col(i));
                    s.key_cols.push(c.clone());
                    s.out_cols.insert(at + j, c.clone());
                }
                // The outputs read the keys then the aggregates: those after the keys move on.
                for out in &mut s.outs {
                    if let Out::Expr(c, _) = out {
                        *c = map_nodes(c, &mut |x| {
                            Ok::<_, Fallback>(match x {
                                CExpr::Col(i) if *i >= at => Some(CExpr::Col(i + carried.len())),
                                _ => None,
                            })
                        })?;
                    }
                }
                let grouped = self.summarize(p, s)?;
                match none {
                    Some((every, t)) => self.every_row(grouped, every, &t, rows),
                    None => Ok(grouped),
                }
            }
            OperatorKind::Top { count, keys } => {
                let n = self.count(count)?;
                let keys = self.sort_exprs(keys, &p.columns)?;
                self.first_of_each_row(p, row, keys, n)
            }
            OperatorKind::Sort(keys) => {
                let mut sorts = vec![SortExpr::new(column(row), true, false)];
                sorts.extend(self.sort_exprs(keys, &p.columns)?);
                self.build(p.columns, p.parallel, |b| b.sort(sorts), p.plan)
            }
            other => {
                let debug = format!("{other:?}");
                let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
                Err(format!("the {name} operator in mv-apply"))
            }
        }
    }

    /// `grouped` (one row per input row that has rows), with a row of the answer `none` for each
    /// input row of `every` that has none.
    fn every_row(
        &mut self,
        grouped: Plan,
        every: &Plan,
        none: &Table,
        rows: &EachRow,
    ) -> Result<Plan, Fallback> {
        let row = rows.row;
        let (_, carried) = as_is(rows.carried);
        let left =
            df(df(LogicalPlanBuilder::from(every.plan.clone()).project(carried))?.alias("l"))?
                .build();
        let right = df(df(LogicalPlanBuilder::from(grouped.plan).alias("r"))?.build())?;
        let joined = df(df(LogicalPlanBuilder::from(df(left)?).join(
            right,
            JoinType::Left,
            (
                vec![DfColumn::new(Some("l"), row)],
                vec![DfColumn::new(Some("r"), row)],
            ),
            None,
        ))?
        .build())?;
        let missing = DfExpr::Column(DfColumn::new(Some("r"), row)).is_null();
        let mut exprs = Vec::new();
        for c in &grouped.columns {
            let e = if rows.carried.contains(c) {
                DfExpr::Column(DfColumn::new(Some("l"), &c.name))
            } else {
                let at = none
                    .column_index(&c.name)
                    .ok_or("a summarize column unknown")?;
                let value = none.rows.first().and_then(|r| r.get(at)).ok_or("no row")?;
                let here = DfExpr::Column(DfColumn::new(Some("r"), &c.name));
                df(when(missing.clone(), constant(value, c.ty)).otherwise(here))?
            };
            exprs.push(e.alias(c.name.clone()));
        }
        self.build(
            grouped.columns,
            grouped.parallel,
            |b| b.project(exprs),
            joined,
        )
    }

    /// The first `n` rows of each input row's rows in the order of `keys`, sorted by row and
    /// `keys`.
    fn first_of_each_row(
        &mut self,
        p: Plan,
        row: &str,
        keys: Vec<SortExpr>,
        n: usize,
    ) -> Result<Plan, Fallback> {
        let rank = df(row_number()
            .partition_by(vec![column(row)])
            .order_by(keys.clone())
            .build())?
        .alias("__mv_apply_rank");
        let (cols, exprs) = as_is(&p.columns);
        let mut sorts = vec![SortExpr::new(column(row), true, false)];
        sorts.extend(keys);
        let plan = df(df(
            df(df(df(LogicalPlanBuilder::from(p.plan).window(vec![rank]))?
                .filter(column("__mv_apply_rank").lt_eq(lit(n as u64))))?
            .project(exprs))?
            .sort(sorts),
        )?
        .build())?;
        Ok(Plan {
            plan,
            columns: cols,
            parallel: p.parallel,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, Value};

    const DATA: &str = "datatable (index: long, Arr: dynamic, Props: dynamic) [\
        0, dynamic([7, 15, 12]), dynamic([{'name': 'a', 'value': 1}, {'name': 'b', 'value': 2}]), \
        1, dynamic([3, 11, 2]), dynamic([{'name': 'a', 'value': 3}]), \
        2, dynamic([]), dynamic([{'name': 'b', 'value': 4, 'items': [1, 2, 3]}])]";

    /// The rows of `q` on DataFusion, after checking it is planned there and answers the row
    /// engine's columns and rows (in any order).
    fn planned_and_agreeing(q: &str) -> Vec<Vec<Value>> {
        let (_, fused, rows) = super::super::plan_and_answers(&Catalog::new(), q);
        let sorted = |mut r: Vec<Vec<Value>>| {
            r.sort_by_key(|row| format!("{row:?}"));
            r
        };
        let (a, b) = (sorted(fused.rows), sorted(rows.rows));
        assert_eq!(a, b, "{q}");
        a
    }

    fn longs(rows: &[Vec<Value>], col: usize) -> Vec<i64> {
        rows.iter()
            .filter_map(|r| match r[col] {
                Value::Long(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn mv_apply_runs_its_subquery_on_each_rows_expansion_on_datafusion() {
        // `top` per row: each row's largest element, the row's other columns kept.
        let q = format!(
            "{DATA} | mv-apply top1 = Arr to typeof(long) on (top 1 by top1) | project index, top1"
        );
        let rows = planned_and_agreeing(&q);
        assert_eq!(longs(&rows, 1), [15, 11]);
        // `where`, `extend`, `project`: the row's columns come back after the projection.
        let q = format!(
            "{DATA} | mv-apply p = Props on (where p.name == 'a' | extend v = tolong(p.value) | project v) \
             | project index, v"
        );
        let rows = planned_and_agreeing(&q);
        assert_eq!(longs(&rows, 1), [1, 3]);
        // `summarize ... by` per row.
        let q = format!(
            "{DATA} | mv-apply x = Arr to typeof(long) on (summarize n = count() by odd = x % 2 == 1) \
             | project index, odd, n"
        );
        let rows = planned_and_agreeing(&q);
        assert_eq!(longs(&rows, 2), [1, 2, 1, 2]);
        // Nested: the inner subquery runs on each of the outer's rows.
        let q = format!(
            "{DATA} | mv-apply p = Props on (extend items = p.items \
             | mv-apply i = items to typeof(long) on (where i > 1)) | project index, i"
        );
        let rows = planned_and_agreeing(&q);
        assert_eq!(longs(&rows, 1), [2, 3]);
    }

    /// Row 2's expansion is empty, yet it has its row of the subquery's answer over no rows.
    #[test]
    fn a_summarize_of_no_key_answers_every_row_even_one_whose_expansion_is_empty() {
        let q = format!(
            "{DATA} | union ({DATA}) \
             | mv-apply x = Arr to typeof(long) on (where x > 5 | summarize n = count(), s = sum(x), l = make_list(x)) \
             | project index, n, s"
        );
        let rows = planned_and_agreeing(&q);
        assert_eq!(longs(&rows, 1), [3, 3, 1, 1, 0, 0]);
        assert_eq!(longs(&rows, 2), [34, 34, 11, 11, 0, 0]);
    }

    /// A string predicate named like `*` (`startswith`) reads no column but its own; `*` does.
    #[test]
    fn a_subquery_filtering_with_startswith_is_planned_and_one_reading_star_is_not() {
        let q = "datatable(Source: string, Target: string, Count: long) \
             ['555-1234', '555-1212', 46, '555-2424', '', int(null)] \
             | extend Pack = pack_all() \
             | mv-apply removeProperties = Pack on (mv-expand kind = array Pack \
                 | where Pack[1] !startswith '555' | summarize propsToRemove = make_set(Pack[0])) \
             | extend values = bag_remove_keys(Pack, propsToRemove) | project-away propsToRemove";
        let rows = planned_and_agreeing(q);
        assert_eq!(rows.len(), 2);
        let q = format!("{DATA} | mv-apply x = Arr to typeof(long) on (summarize count(*))");
        let why = crate::explain(&Catalog::new(), &q, &crate::ExecOptions::default())
            .expect_err("count(*) is left to the row engine");
        assert!(why.contains("every column"), "{why}");
        assert!(super::mentions("kind: Star }", "Star"));
        assert!(!super::mentions("StartsWith { cs: false }", "Star"));
    }
}
