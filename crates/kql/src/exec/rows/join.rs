//! Combining tables: join, lookup, union.

use std::collections::HashMap;

use crate::bind::context::{Binding, Engine, Env};
use crate::error::KqlError;
use crate::syntax::ast::{Expr, ExprKind, JoinOn, Operator, OperatorKind, Union};
use crate::value::convert::{Key, coerce};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::*;

/// The `where` operators among those right after an `innerunique` join (`ops[0]`) that run on
/// its left side, before the left side keeps one row per key: those that read only `left`'s
/// columns. Kusto pushes such a filter below the join, so its keys always reach the output (the
/// docs' `join | where value == "val1.2"`); the other join kinds give the same rows either way.
/// Indices into `ops`; both executors run them first.
pub(crate) fn filters_before_join(ops: &[Operator], left: &[Column]) -> Vec<usize> {
    let Some(OperatorKind::Join { kind, .. }) = ops.first().map(|o| &o.kind) else {
        return Vec::new();
    };
    if !kind
        .as_deref()
        .is_none_or(|k| k.eq_ignore_ascii_case("innerunique"))
    {
        return Vec::new();
    }
    ops.iter()
        .enumerate()
        .skip(1)
        .map_while(|(i, o)| match &o.kind {
            OperatorKind::Where(pred) => Some((i, pred)),
            _ => None,
        })
        .filter(|(_, pred)| reads_only(pred, left))
        .map(|(i, _)| i)
        .collect()
}

/// Whether `e` is a row's own value over the columns `left` only: no other name, no subquery,
/// nothing that reads other rows (`prev`, `row_number`, ...).
fn reads_only(e: &Expr, left: &[Column]) -> bool {
    const ACROSS_ROWS: [&str; 8] = [
        "prev",
        "next",
        "row_number",
        "row_cumsum",
        "row_rank_dense",
        "row_rank_min",
        "row_window_session",
        "toscalar",
    ];
    let all = |es: &[Expr]| es.iter().all(|x| reads_only(x, left));
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::NullOf(_) | ExprKind::TypeOf(_) => true,
        ExprKind::Name(n) => left.iter().any(|c| c.name == *n),
        ExprKind::Member { target, .. } | ExprKind::Neg(target) => reads_only(target, left),
        ExprKind::Named { value, .. } => reads_only(value, left),
        ExprKind::Index { target, index } => reads_only(target, left) && reads_only(index, left),
        ExprKind::Call { name, args } => !ACROSS_ROWS.contains(&name.as_str()) && all(args),
        ExprKind::Binary {
            left: l, right: r, ..
        } => reads_only(l, left) && reads_only(r, left),
        ExprKind::In { expr, list, .. } => reads_only(expr, left) && all(list),
        ExprKind::Between {
            expr, low, high, ..
        } => reads_only(expr, left) && reads_only(low, left) && reads_only(high, left),
        _ => false,
    }
}

impl<'a> Engine<'a> {
    pub(super) fn join(
        &mut self,
        op: &Operator,
        left: Table,
        kind: &str,
        right: Table,
        on: &[JoinOn],
        lookup: bool,
    ) -> Result<Table, KqlError> {
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for cond in on {
            let (l, r) = match cond {
                JoinOn::Column(n) => (n, n),
                JoinOn::Pair { left, right } => (left, right),
            };
            let li = left.column_index(l).ok_or_else(|| KqlError::Resolution {
                location: self_location(self, op),
                message: format!(
                    "Failed to resolve column named '{l}' on the left side of the join"
                ),
            })?;
            let ri = right.column_index(r).ok_or_else(|| KqlError::Resolution {
                location: self_location(self, op),
                message: format!(
                    "Failed to resolve column named '{r}' on the right side of the join"
                ),
            })?;
            lk.push(li);
            rk.push(ri);
        }
        if on.is_empty() {
            return Err(KqlError::Syntax {
                location: self_location(self, op),
                found: "a join without 'on'".into(),
                expected: "'on Column' or 'on $left.A == $right.B'".into(),
            });
        }
        let key = |row: &[Value], idx: &[usize]| -> Option<Vec<Key>> {
            let vals: Vec<Value> = idx
                .iter()
                .map(|i| row.get(*i).cloned().unwrap_or(Value::Null))
                .collect();
            if vals.iter().any(Value::is_null) {
                None
            } else {
                Some(key_row(&vals))
            }
        };
        let mut index: HashMap<Vec<Key>, Vec<usize>> = HashMap::new();
        for (i, r) in right.rows.iter().enumerate() {
            if let Some(k) = key(r, &rk) {
                index.entry(k).or_default().push(i);
            }
        }
        let kind = kind.to_ascii_lowercase();
        let known = [
            "innerunique",
            "inner",
            "leftouter",
            "rightouter",
            "fullouter",
            "leftanti",
            "anti",
            "leftantisemi",
            "rightanti",
            "rightantisemi",
            "leftsemi",
            "rightsemi",
        ];
        if !known.contains(&kind.as_str()) {
            return Err(self.unsupported_at(op.span, &format!("The join kind '{kind}'")));
        }
        // Right columns in the output: lookup drops the right key columns.
        let right_keep: Vec<usize> = (0..right.columns.len())
            .filter(|i| !(lookup && rk.contains(i)))
            .collect();
        let columns = joined_columns(&left.columns, right_keep.iter().map(|&i| &right.columns[i]));
        let mut matched_right = vec![false; right.rows.len()];
        let mut rows = Vec::new();
        let mut seen_left = std::collections::HashSet::new();
        let null_right: Vec<Value> = right_keep
            .iter()
            .map(|i| coerce(Value::Null, right.columns[*i].ty))
            .collect();
        for l in &left.rows {
            self.check()?;
            if rows.len() > crate::exec::MAX_ROWS {
                return Err(too_many_rows("join"));
            }
            let k = key(l, &lk);
            if kind == "innerunique"
                && let Some(k) = &k
                && !seen_left.insert(k.clone())
            {
                continue;
            }
            let matches: &[usize] = k
                .as_ref()
                .and_then(|k| index.get(k))
                .map_or(&[], |v| v.as_slice());
            for &m in matches {
                matched_right[m] = true;
            }
            match kind.as_str() {
                "leftanti" | "anti" | "leftantisemi" => {
                    if matches.is_empty() {
                        rows.push(l.clone());
                    }
                }
                "leftsemi" => {
                    if !matches.is_empty() {
                        rows.push(l.clone());
                    }
                }
                "rightanti" | "rightantisemi" | "rightsemi" => {}
                _ => {
                    for &m in matches {
                        // One left row can match many: check as the output grows.
                        self.check()?;
                        if rows.len() > crate::exec::MAX_ROWS {
                            return Err(too_many_rows("join"));
                        }
                        let mut row = l.clone();
                        row.extend(right_keep.iter().map(|i| right.rows[m][*i].clone()));
                        rows.push(row);
                    }
                    if matches.is_empty() && matches!(kind.as_str(), "leftouter" | "fullouter") {
                        let mut row = l.clone();
                        row.extend(null_right.iter().cloned());
                        rows.push(row);
                    }
                }
            }
        }
        match kind.as_str() {
            "leftanti" | "anti" | "leftantisemi" | "leftsemi" => Ok(Table {
                columns: left.columns,
                rows,
            }),
            "rightanti" | "rightantisemi" | "rightsemi" => {
                let want = kind == "rightsemi";
                let rows = right
                    .rows
                    .iter()
                    .zip(&matched_right)
                    .filter(|(_, m)| **m == want)
                    .map(|(r, _)| r.clone())
                    .collect();
                Ok(Table {
                    columns: right.columns,
                    rows,
                })
            }
            "rightouter" | "fullouter" => {
                for (r, m) in right.rows.iter().zip(&matched_right) {
                    if !m {
                        let mut row: Vec<Value> = left
                            .columns
                            .iter()
                            .map(|c| coerce(Value::Null, c.ty))
                            .collect();
                        row.extend(right_keep.iter().map(|i| r[*i].clone()));
                        rows.push(row);
                    }
                }
                Ok(Table { columns, rows })
            }
            _ => Ok(Table { columns, rows }),
        }
    }
    pub(crate) fn union(
        &mut self,
        input: Option<Table>,
        u: &'a Union,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let mut parts: Vec<(String, Table)> = Vec::new();
        if let Some(t) = input {
            parts.push((piped_union_name(self.piped_name.take()), t));
        }
        let fuzzy = u
            .params
            .iter()
            .any(|(n, v)| n == "isfuzzy" && matches!(v.kind, ExprKind::Literal(Value::Bool(true))));
        for e in &u.tables {
            match &e.kind {
                ExprKind::Wildcard(w) => {
                    let names: Vec<String> = self
                        .catalog
                        .names()
                        .filter(|n| wildcard_match(w, n))
                        .map(String::from)
                        .collect();
                    for n in names {
                        if let Some(t) = self.catalog_table(&n) {
                            parts.push((n, t));
                        }
                    }
                    // `let` tables and parameterless functions (views) match wildcards too.
                    let mut local: Vec<(String, Binding<'a>)> = Vec::new();
                    for (n, b) in env.vars.iter() {
                        if wildcard_match(w, n) && !local.iter().any(|(m, _)| m == n) {
                            local.push((n.clone(), b.clone()));
                        }
                    }
                    for (n, b) in local {
                        match b {
                            Binding::Table(t) => parts.push((n, (*t).clone())),
                            Binding::Function(f) if f.params.is_empty() => {
                                let t = self.invoke(e, f, &[], None, env)?;
                                parts.push((n, t));
                            }
                            _ => {}
                        }
                    }
                }
                ExprKind::Star => {
                    let names: Vec<String> = self.catalog.names().map(String::from).collect();
                    for n in names {
                        if let Some(t) = self.catalog_table(&n) {
                            parts.push((n, t));
                        }
                    }
                }
                _ => {
                    let name = union_input_name(e, parts.len());
                    match self.tabular(e, env) {
                        Ok(t) => parts.push((name, t)),
                        Err(KqlError::Resolution { .. }) if fuzzy => {
                            self.warnings.push(format!(
                                "union skipped '{name}', which could not be resolved"
                            ));
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        let inner = u
            .params
            .iter()
            .any(|(n, v)| n == "kind" && matches!(&v.kind, ExprKind::Name(k) if k == "inner"));
        let source = u
            .params
            .iter()
            .find(|(n, _)| n == "withsource")
            .and_then(|(_, v)| match &v.kind {
                ExprKind::Name(n) => Some(n.clone()),
                ExprKind::Literal(Value::String(s)) => Some(s.to_string()),
                _ => None,
            });
        self.merge_tables(parts, source, inner)
    }
    /// Stacks tables by column name (as `union` does); a name seen with several types becomes one
    /// column per type (`name_type`); `source` names a first column holding each row's table.
    pub(super) fn merge_tables(
        &mut self,
        parts: Vec<(String, Table)>,
        source: Option<String>,
        inner: bool,
    ) -> Result<Table, KqlError> {
        let schemas: Vec<&[Column]> = parts.iter().map(|(_, t)| &t.columns[..]).collect();
        let (pairs, columns) = union_columns(&schemas, source.as_deref(), inner);
        // Every row gets every column: a wide union (`union *` over many tables) is refused
        // before it is built rather than exhausting memory.
        let total: usize = parts.iter().map(|(_, t)| t.rows.len()).sum();
        if total.saturating_mul(columns.len()) > crate::exec::MAX_CELLS {
            return Err(KqlError::Runtime {
                message: format!(
                    "union would produce {total} rows of {} columns, more than {} cells; name the tables, or filter and project each input first",
                    columns.len(),
                    crate::exec::MAX_CELLS
                ),
            });
        }
        let mut rows = Vec::with_capacity(total);
        for (name, t) in parts {
            let map: Vec<Option<usize>> = t
                .columns
                .iter()
                .map(|c| pairs.iter().position(|(n, ty)| *n == c.name && *ty == c.ty))
                .collect();
            for r in t.rows {
                self.check()?;
                let mut row: Vec<Value> = pairs
                    .iter()
                    .map(|(_, ty)| coerce(Value::Null, *ty))
                    .collect();
                for (v, m) in r.into_iter().zip(&map) {
                    if let Some(i) = m {
                        row[*i] = v;
                    }
                }
                if source.is_some() {
                    row.insert(0, Value::str(&name));
                }
                rows.push(row);
            }
        }
        Ok(Table { columns, rows })
    }
}

/// The columns of a union of tables of these columns: each name and type once, in order of first
/// appearance (with `inner`, only those every table has), a name of several types once per type
/// as `name_type` (numbered where that is taken); with `source`, a string column of that name
/// first. Also the name and type each column after `source` takes from the tables.
pub(crate) fn union_columns(
    schemas: &[&[Column]],
    source: Option<&str>,
    inner: bool,
) -> (Vec<(String, ScalarType)>, Vec<Column>) {
    let mut pairs: Vec<(String, ScalarType)> = Vec::new();
    for c in schemas.iter().flat_map(|s| s.iter()) {
        if !pairs.contains(&(c.name.clone(), c.ty)) {
            pairs.push((c.name.clone(), c.ty));
        }
    }
    if inner {
        pairs.retain(|(n, ty)| {
            schemas
                .iter()
                .all(|s| s.iter().any(|c| c.name == *n && c.ty == *ty))
        });
    }
    let typed = |n: &str| pairs.iter().filter(|(m, _)| m == n).count() > 1;
    // Names kept as they are win; a `name_type` that collides with one gets a number.
    let mut taken: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| !typed(n))
        .map(|(n, _)| n.clone())
        .chain(source.map(String::from))
        .collect();
    let mut columns: Vec<Column> = Vec::new();
    for (n, ty) in &pairs {
        let name = if typed(n) {
            let name = unique_name(&taken, &format!("{n}_{}", ty.name()));
            taken.push(name.clone());
            name
        } else {
            n.clone()
        };
        columns.push(Column::new(name, *ty));
    }
    if let Some(s) = source {
        columns.insert(0, Column::new(s, ScalarType::String));
    }
    (pairs, columns)
}
