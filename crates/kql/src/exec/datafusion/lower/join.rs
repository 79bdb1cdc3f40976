//! Joins and lookups as DataFusion joins: a lookup is a left outer or inner join without the
//! right side's key columns.

use datafusion::common::{Column as DfColumn, JoinType};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr, lit,
};

use crate::exec::rows::ops::joined_columns;
use crate::syntax::ast::JoinOn;
use crate::value::ScalarType;
use crate::value::table::Column;

use super::*;

impl<'a> Lowering<'_, 'a> {
    pub(super) fn join(
        &mut self,
        left: Plan,
        right: Plan,
        kind: &str,
        on: &[JoinOn],
        lookup: bool,
    ) -> Result<Plan, Fallback> {
        let kind = kind.to_ascii_lowercase();
        // Which sides' columns the output has.
        let (join_type, keep_left, keep_right) = match kind.as_str() {
            "inner" => (JoinType::Inner, true, true),
            "innerunique" => (JoinType::Inner, true, true),
            "leftouter" => (JoinType::Left, true, true),
            "rightouter" => (JoinType::Right, true, true),
            "fullouter" => (JoinType::Full, true, true),
            "leftsemi" => (JoinType::LeftSemi, true, false),
            "leftanti" | "anti" | "leftantisemi" => (JoinType::LeftAnti, true, false),
            "rightsemi" => (JoinType::RightSemi, false, true),
            "rightanti" | "rightantisemi" => (JoinType::RightAnti, false, true),
            _ => return Err(format!("join kind={kind}")),
        };
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for o in on {
            let (l, r) = match o {
                JoinOn::Column(c) => (c.clone(), c.clone()),
                JoinOn::Pair { left, right } => (left.clone(), right.clone()),
            };
            let lt = left.columns.iter().find(|c| c.name == l).map(|c| c.ty);
            let rt = right.columns.iter().find(|c| c.name == r).map(|c| c.ty);
            match (lt, rt) {
                (Some(a), Some(b)) if a == b && a != ScalarType::Dynamic => {}
                _ => return Err("join keys of different or unknown types".into()),
            }
            lk.push(l);
            rk.push(r);
        }
        let (left, right) = (self.narrow_rows(left)?, self.narrow_rows(right)?);
        // `innerunique` (Kusto's default) keeps the first left row of each key, then joins.
        let left = if kind == "innerunique" && !unique_on(&left, on) {
            let first = row_number()
                .partition_by(lk.iter().map(|k| column(k)).collect())
                .order_by(vec![SortExpr::new(column("__lo"), true, false)])
                .build()
                .map_err(|e| e.to_string())?
                .alias("__lr");
            let keep: Vec<DfExpr> = left.columns.iter().map(|c| column(&c.name)).collect();
            let plan = df(df(df(df(df(
                LogicalPlanBuilder::from(left.plan).window(vec![row_number().alias("__lo")])
            )?
            .window(vec![first]))?
            .filter(column("__lr").eq(lit(1u64))))?
            .project(keep))?
            .build())?;
            Plan { plan, ..left }
        } else {
            left
        };
        // Qualify both sides so equal names stay apart, then name the output as Kusto does.
        let lq = df(df(LogicalPlanBuilder::from(left.plan).alias("l"))?.build())?;
        let rq = df(df(LogicalPlanBuilder::from(right.plan).alias("r"))?.build())?;
        let lkeys: Vec<DfColumn> = lk.iter().map(|n| DfColumn::new(Some("l"), n)).collect();
        let rkeys: Vec<DfColumn> = rk.iter().map(|n| DfColumn::new(Some("r"), n)).collect();
        let joined =
            df(
                df(LogicalPlanBuilder::from(lq).join(rq, join_type, (lkeys, rkeys), None))?.build(),
            )?;
        let side = |q: &str, c: &Column| DfExpr::Column(DfColumn::new(Some(q), &c.name));
        let lefts: Vec<(&str, &Column)> = (left.columns.iter())
            .filter(|_| keep_left)
            .map(|c| ("l", c))
            .collect();
        // As on the row engine, a lookup keeps the key columns once, from the left.
        let rights: Vec<(&str, &Column)> = (right.columns.iter())
            .filter(|c| keep_right && !(lookup && rk.contains(&c.name)))
            .map(|c| ("r", c))
            .collect();
        let kept: Vec<Column> = lefts.iter().map(|(_, c)| (*c).clone()).collect();
        let out = joined_columns(&kept, rights.iter().map(|(_, c)| *c));
        let exprs: Vec<DfExpr> = (lefts.iter().chain(&rights).zip(&out))
            .map(|((q, c), named)| side(q, c).alias(named.name.clone()))
            .collect();
        let parallel = left.parallel || right.parallel;
        self.build(out, parallel, |b| b.project(exprs), joined)
    }
}

/// Whether the left side of a join has one row per key (a `summarize … by` the join keys), so
/// Kusto's default `innerunique` is a plain inner join.
pub(super) fn unique_on(left: &Plan, on: &[JoinOn]) -> bool {
    let LogicalPlan::Projection(p) = &left.plan else {
        return false;
    };
    let LogicalPlan::Aggregate(a) = p.input.as_ref() else {
        return false;
    };
    let keys: Vec<&str> = on
        .iter()
        .map(|o| match o {
            JoinOn::Column(c) => c.as_str(),
            JoinOn::Pair { left, .. } => left.as_str(),
        })
        .collect();
    a.group_expr.len() == keys.len()
        && keys.iter().all(|k| {
            left.columns
                .iter()
                .position(|c| c.name == *k)
                .is_some_and(|i| i < a.group_expr.len())
        })
}
