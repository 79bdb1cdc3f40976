//! `top-nested` as grouped aggregates: a level's groups are the input's rows grouped by its key
//! and the keys of the levels above (a group's rows are its parent's rows of that key, whether
//! or not the parent survives), so each level is one `summarize`, its groups ranked within their
//! parent (`row_number`; ties in the order first seen, as the row engine's stable sort keeps
//! them: see [`positioned`](Lowering::positioned)) and cut to its count. The levels are then
//! joined on their shared keys, which keeps only the groups whose every parent survived, and
//! ordered by their ranks, as the row engine nests them.

use datafusion::common::{Column as DfColumn, JoinType, NullEquality};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, SortExpr};

use crate::bind::expr::{AggSpec, CExpr};
use crate::exec::rows::ops::{Out, Summary};
use crate::exec::rows::summarize::NestedLevel;
use crate::functions::aggregate::Method;
use crate::syntax::ast::TopNestedLevel;

use super::*;

/// Level `d`'s key, its score, its rank within its parent, and its first row's position.
fn key(d: usize) -> String {
    format!("__nested_k{d}")
}
fn score(d: usize) -> String {
    format!("__nested_s{d}")
}
fn rank(d: usize) -> String {
    format!("__nested_r{d}")
}
fn slot(i: usize) -> String {
    format!("__nested_v{i}")
}

impl<'a> Lowering<'_, 'a> {
    /// `top-nested` over `p`.
    pub(super) fn top_nested(
        &mut self,
        p: Plan,
        op: &'a Operator,
        levels: &'a [TopNestedLevel],
    ) -> Result<Plan, Fallback> {
        let bound = self
            .engine
            .bind_top_nested(op, &p.columns, levels, &self.env)
            .map_err(|e| e.to_string())?;
        if let Some(l) = bound.iter().find(|l| !ranks_alike(l.agg_col.ty)) {
            // Reals (-0.0 and 0.0 apart, NaN), dynamic values and guids sort otherwise there.
            return Err(format!("a top-nested ranked by a {}", l.agg_col.ty));
        }
        let p = self.positioned(p)?;
        // Every level's key, computed once beside the input's columns.
        let (mut cols, mut exprs) = as_is(&p.columns);
        for (d, l) in bound.iter().enumerate() {
            exprs.push(self.expr(&l.of, l.of_col.ty, &p.columns)?.alias(key(d)));
            cols.push(Column::new(key(d), l.of_col.ty));
        }
        let keyed = self.build(cols, p.parallel, |b| b.project(exprs), p.plan)?;
        let mut nested: Option<Plan> = None;
        for (d, l) in bound.iter().enumerate() {
            let level = self.nested_level(&keyed, p.columns.len(), d, l)?;
            nested = Some(match nested {
                None => level,
                Some(above) => self.under(above, level, d)?,
            });
        }
        let nested = nested.ok_or("a top-nested of no level")?;
        let ranks: Vec<SortExpr> = (0..bound.len())
            .map(|d| SortExpr::new(column(&rank(d)), true, false))
            .collect();
        let mut out = Vec::new();
        let mut exprs = Vec::new();
        for (d, l) in bound.iter().enumerate() {
            exprs.push(column(&key(d)).alias(l.of_col.name.clone()));
            exprs.push(column(&score(d)).alias(l.agg_col.name.clone()));
            out.push(l.of_col.clone());
            out.push(l.agg_col.clone());
        }
        self.build(
            out,
            nested.parallel,
            |b| b.sort(ranks)?.project(exprs),
            nested.plan,
        )
    }

    /// Level `d`'s surviving groups: its keys and those above, its score and its rank.
    /// `keyed` is the input (its position last of its first `width` columns) with every
    /// level's key after.
    fn nested_level(
        &mut self,
        keyed: &Plan,
        width: usize,
        d: usize,
        l: &NestedLevel,
    ) -> Result<Plan, Fallback> {
        let key_cols: Vec<Column> = keyed.columns[width..=width + d].to_vec();
        // The level's aggregates, then its first row's position.
        let mut specs = l.specs.clone();
        specs.push(AggSpec {
            name: "min".into(),
            method: Method::of("min"),
            args: vec![CExpr::Col(width - 1)],
            ty: ScalarType::Long,
            row: Vec::new(),
            percents: Vec::new(),
        });
        let slots: Vec<Column> = (specs.iter().enumerate())
            .map(|(i, s)| Column::new(slot(i), s.ty))
            .collect();
        let mut out_cols = key_cols.clone();
        out_cols.extend(slots.iter().cloned());
        let summary = Summary {
            key_exprs: (width..=width + d).map(CExpr::Col).collect(),
            outs: (slots.iter().enumerate())
                .map(|(i, c)| Out::Expr(CExpr::Col(key_cols.len() + i), c.ty))
                .collect(),
            key_cols: key_cols.clone(),
            specs,
            out_cols,
        };
        let grouped = self.summarize(keyed.clone(), summary)?;
        let value = self.expr(&l.agg, l.agg_col.ty, &slots)?;
        // As the row engine's `sort_cmp`: a null is the least value (its text is empty, so an
        // empty text ties with it).
        let ranked_by = match l.agg_col.ty {
            ScalarType::String => coalesce(vec![column(&score(d)), lit("")]),
            _ => column(&score(d)),
        };
        let first = slot(slots.len() - 1);
        let parents: Vec<DfExpr> = (0..d).map(|k| column(&key(k))).collect();
        let numbered = df(row_number()
            .partition_by(parents)
            .order_by(vec![
                SortExpr::new(ranked_by, !l.desc, !l.desc),
                SortExpr::new(column(&first), true, false),
            ])
            .build())?
        .alias(rank(d));
        let mut exprs: Vec<DfExpr> = (0..=d).map(|k| column(&key(k))).collect();
        exprs.push(value.alias(score(d)));
        exprs.push(column(&first));
        let mut cols = key_cols;
        cols.push(Column::new(score(d), l.agg_col.ty));
        cols.push(Column::new(first.clone(), ScalarType::Long));
        let scored = self.build(cols, grouped.parallel, |b| b.project(exprs), grouped.plan)?;
        let mut kept: Vec<DfExpr> = (0..=d).map(|k| column(&key(k))).collect();
        kept.extend([column(&score(d)), column(&rank(d))]);
        let mut cols = scored.columns[..=d + 1].to_vec();
        cols.push(Column::new(rank(d), ScalarType::Long));
        let count = l.count;
        self.build(
            cols,
            scored.parallel,
            |b| {
                let b = b.window(vec![numbered])?;
                let b = match u64::try_from(count) {
                    Ok(n) if count != usize::MAX => b.filter(column(&rank(d)).lt_eq(lit(n)))?,
                    _ => b,
                };
                b.project(kept)
            },
            scored.plan,
        )
    }

    /// The groups of `level` (level `d`) under the groups of `above` that survived: joined on
    /// the keys they share (a null key is a group too).
    fn under(&mut self, above: Plan, level: Plan, d: usize) -> Result<Plan, Fallback> {
        let lq = df(df(LogicalPlanBuilder::from(above.plan).alias("l"))?.build())?;
        let rq = df(df(LogicalPlanBuilder::from(level.plan).alias("r"))?.build())?;
        let on = |side: &str| -> Vec<DfColumn> {
            (0..d)
                .map(|k| DfColumn::new(Some(side.to_string()), key(k)))
                .collect()
        };
        let joined = df(df(LogicalPlanBuilder::from(lq).join_detailed(
            rq,
            JoinType::Inner,
            (on("l"), on("r")),
            None,
            NullEquality::NullEqualsNull,
        ))?
        .build())?;
        let mut cols = above.columns;
        let mut exprs: Vec<DfExpr> = cols
            .iter()
            .map(|c| DfExpr::Column(DfColumn::new(Some("l"), &c.name)).alias(c.name.clone()))
            .collect();
        for c in &level.columns[d..] {
            exprs.push(DfExpr::Column(DfColumn::new(Some("r"), &c.name)).alias(c.name.clone()));
            cols.push(c.clone());
        }
        let parallel = above.parallel || level.parallel;
        self.build(cols, parallel, |b| b.project(exprs), joined)
    }
}

/// Whether DataFusion orders values of type `ty` as the row engine's `sort_cmp` does.
fn ranks_alike(ty: ScalarType) -> bool {
    matches!(
        ty,
        ScalarType::Int
            | ScalarType::Long
            | ScalarType::DateTime
            | ScalarType::TimeSpan
            | ScalarType::Bool
            | ScalarType::String
    )
}

#[cfg(test)]
mod tests {
    use crate::storage::arrow_table::{BATCH_ROWS, PARALLEL_ROWS};
    use crate::value::table::{Column, Table};
    use crate::value::{ScalarType, Value};
    use crate::{Catalog, ExecOptions};

    /// `q`'s table on DataFusion, after checking it ran `top-nested` there and the row engine
    /// answers the same columns, rows and row order.
    fn nested(catalog: &Catalog, q: &str) -> Table {
        let (plan, fused, rows) = super::super::plan_and_answers(catalog, q);
        assert!(plan.contains(&super::rank(0)), "{plan}");
        assert_eq!(fused, rows, "{q}");
        fused
    }

    /// Users and actions with tied counts and sums, a null number, a user whose numbers are all
    /// null and an empty action.
    const EVENTS: &str = "datatable(u:string, a:string, n:long) [
        'b', 'read', 1,
        'a', 'write', 2,
        'c', 'read', long(null),
        'a', 'read', 1,
        'b', '', 2,
        'd', 'write', 3,
        'c', 'write', long(null),
        'd', 'read', 0,
    ]";

    #[test]
    fn top_nested_keeps_each_levels_best_groups_within_their_parent_as_the_row_engine() {
        let c = Catalog::new();
        for levels in [
            "top-nested 2 of u by sum(n)",
            "top-nested 2 of u by count() asc, top-nested 1 of a by max(n)",
            "top-nested of u by Total = sum(n) * 2, top-nested 2 of Odd = n % 2 by count() asc",
            // Ties at the cut: the groups first seen win, at every level.
            "top-nested 1 of a by count(), top-nested 1 of u by count()",
            "top-nested 3 of u by count() > 0 asc",
            // A null score is the least; a null key is a group of its own.
            "top-nested 2 of u by max(n) asc",
            "top-nested 2 of u by max(n) desc",
            "top-nested of n by dcount(u), top-nested of u by min(a)",
            "top-nested 1 of u by max(a) asc, top-nested of a by count()",
            // More than the groups, none, and no rows at all.
            "top-nested 100 of u by count(), top-nested 100 of a by sum(n)",
            "top-nested 0 of u by count()",
        ] {
            nested(&c, &format!("{EVENTS} | {levels}"));
        }
        let none = nested(
            &c,
            &format!("{EVENTS} | where n > 9 | top-nested 2 of u by count()"),
        );
        assert!(none.rows.is_empty());
        let one = nested(
            &c,
            &format!(
                "{EVENTS} | where n == 3 | top-nested 2 of u by count(), top-nested of a by sum(n)"
            ),
        );
        assert_eq!(
            one.rows,
            [[
                Value::String("d".into()),
                Value::Long(1),
                Value::String("write".into()),
                Value::Long(3)
            ]]
        );
    }

    #[test]
    fn the_documented_top_nested_example_answers_as_the_row_engine() {
        let q = r#"datatable(id: string, timestamp: datetime, otherInformation: string)
            [
                "Barak", datetime(2015-01-01), "1",
                "Barak", datetime(2016-01-01), "2",
                "Barak", datetime(2017-01-20), "3",
                "Donald", datetime(2017-01-20), "4",
                "Donald", datetime(2017-01-18), "5",
                "Donald", datetime(2017-01-19), "6"
            ]
            | top-nested of id by Ignore0=max(1),
              top-nested 2 of timestamp by Ignore1=max(timestamp),
              top-nested of otherInformation by Ignore2=max(1)
            | project-away Ignore0, Ignore1, Ignore2"#;
        let t = nested(&Catalog::new(), q);
        let info: Vec<&Value> = t.rows.iter().map(|r| &r[2]).collect();
        let text = |s: &str| Value::String(s.into());
        assert_eq!(info, [&text("3"), &text("2"), &text("4"), &text("6")]);
    }

    #[test]
    fn top_nested_ties_across_partitions_keep_the_groups_first_seen() {
        // Key 3 fills the first batch, 2 the second, 1 the third, 0 the fourth, and so on: every
        // key ties, and the first seen are not the smallest.
        let batch = BATCH_ROWS as i64;
        let rows = (0..PARALLEL_ROWS as i64 + 10)
            .map(|i| vec![Value::Long(3 - (i / batch) % 4), Value::Long(i % 3)])
            .collect();
        let mut c = Catalog::new();
        c.insert(
            "T",
            Table {
                columns: vec![
                    Column::new("k", ScalarType::Long),
                    Column::new("m", ScalarType::Long),
                ],
                rows,
            },
        );
        let t = nested(
            &c,
            "T | top-nested 2 of k by count() > 0, top-nested 2 of m by count() > 0 asc",
        );
        let keys: Vec<(&Value, &Value)> = t.rows.iter().map(|r| (&r[0], &r[2])).collect();
        let (k, m) = (Value::Long, Value::Long);
        assert_eq!(
            keys,
            [
                (&k(3), &m(0)),
                (&k(3), &m(1)),
                (&k(2), &m(2)),
                (&k(2), &m(0))
            ]
        );
    }

    #[test]
    fn top_nested_ranked_by_a_real_stays_on_the_row_engine() {
        let q = format!("{EVENTS} | top-nested 2 of u by avg(n)");
        let err = crate::explain(&Catalog::new(), &q, &ExecOptions::default()).expect_err(&q);
        assert!(err.contains("ranked by a real"), "{err}");
    }
}
