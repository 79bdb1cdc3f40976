//! Expanding values into rows and columns: mv-expand, `evaluate bag_unpack`.

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::Row;
use crate::bind::naming::derive_name;
use crate::error::KqlError;
use crate::syntax::ast::{Expr, ExprKind, Operator};
use crate::value::convert::{coerce, to_text};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::*;

impl<'a> Engine<'a> {
    pub(super) fn bag_unpack(
        &mut self,
        op: &Operator,
        t: Table,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let Some(col) = args.first() else {
            return Err(self.unsupported_at(op.span, "bag_unpack without a column"));
        };
        let (c, _) = self.compile(col, &t.columns, env)?;
        // bag_unpack(column [, OutputColumnPrefix] [, columnsConflict] [, ignoredProperties]),
        // the options by position or by name.
        let (mut prefix, mut conflict, mut ignored) = (String::new(), String::new(), Vec::new());
        for (i, a) in args.iter().enumerate().skip(1) {
            let (option, value) = match &a.kind {
                ExprKind::Named { name, value } => (name.to_ascii_lowercase(), &**value),
                _ => (
                    [
                        "",
                        "outputcolumnprefix",
                        "columnsconflict",
                        "ignoredproperties",
                    ]
                    .get(i)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                    a,
                ),
            };
            let v = self.constant(value, env)?;
            match option.as_str() {
                "outputcolumnprefix" => prefix = to_text(&v),
                "columnsconflict" => conflict = to_text(&v),
                "ignoredproperties" => {
                    ignored = match v {
                        Value::Dynamic(d) => d
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|j| j.as_str().map(str::to_string))
                            .collect(),
                        other => vec![to_text(&other)],
                    }
                }
                _ => return Err(self.unsupported(a, "This bag_unpack argument")),
            }
        }
        let source = match &col.kind {
            ExprKind::Name(n) => t.column_index(n),
            _ => None,
        };
        let mut bags = Vec::with_capacity(t.rows.len());
        let mut keys: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            let bag = match eval(&c, Row { rows: &t.rows, idx }) {
                Value::Dynamic(d) => d.as_object().cloned().unwrap_or_default(),
                _ => serde_json::Map::new(),
            };
            for k in bag.keys() {
                if !ignored.contains(k) && seen.insert(k.clone()) {
                    keys.push(k.clone());
                }
            }
            bags.push(bag);
        }
        // A cell per row and key: rows with keys of their own make a table of rows × keys.
        self.budget.reserve(
            bags.len()
                .saturating_mul(keys.len())
                .saturating_mul(std::mem::size_of::<Value>()),
        )?;
        keys.sort();
        // A property named like an existing column: `replace_source` drops that column,
        // `keep_source` drops the property, otherwise both stay (the property renamed).
        let clashes = |name: &str| t.column_index(&format!("{prefix}{name}")).is_some();
        match conflict.as_str() {
            "keep_source" => keys.retain(|k| !clashes(k)),
            "replace_source" => {
                keys.sort_by_key(|k| (!clashes(k), k.clone()));
            }
            _ => {}
        }
        let replaced: Vec<usize> = if conflict == "replace_source" {
            keys.iter()
                .filter_map(|k| t.column_index(&format!("{prefix}{k}")))
                .collect()
        } else {
            Vec::new()
        };
        let keep: Vec<usize> = (0..t.columns.len())
            .filter(|i| Some(*i) != source && !replaced.contains(i))
            .collect();
        let mut out = select(t, &keep);
        let names: Vec<String> = out.columns.iter().map(|c| c.name.clone()).collect();
        // Like Kusto, a key whose values all share one JSON kind gets that column type.
        let types: Vec<ScalarType> = keys
            .iter()
            .map(|k| {
                let kinds: Vec<ScalarType> = bags
                    .iter()
                    .filter_map(|b| match b.get(k) {
                        Some(serde_json::Value::String(_)) => Some(ScalarType::String),
                        Some(serde_json::Value::Bool(_)) => Some(ScalarType::Bool),
                        Some(serde_json::Value::Number(n)) if n.is_i64() => Some(ScalarType::Long),
                        Some(serde_json::Value::Number(_)) => Some(ScalarType::Real),
                        Some(serde_json::Value::Null) | None => None,
                        Some(_) => Some(ScalarType::Dynamic),
                    })
                    .collect();
                match kinds.first() {
                    Some(first) if kinds.iter().all(|t| t == first) => *first,
                    _ => ScalarType::Dynamic,
                }
            })
            .collect();
        for (k, ty) in keys.iter().zip(&types) {
            out.columns.push(Column::new(
                unique_name(&names, &format!("{prefix}{k}")),
                *ty,
            ));
        }
        for (row, bag) in out.rows.iter_mut().zip(bags) {
            self.budget.stopped()?;
            for (k, ty) in keys.iter().zip(&types) {
                row.push(match bag.get(k) {
                    None | Some(serde_json::Value::Null) => coerce(Value::Null, *ty),
                    Some(v) => coerce(
                        crate::value::convert::undyn(&Value::dynamic(v.clone())),
                        *ty,
                    ),
                });
            }
        }
        Ok(out)
    }
    pub(super) fn mv_expand(
        &mut self,
        mut t: Table,
        params: &[(String, Expr)],
        items: &'a [crate::syntax::ast::ExpandItem],
        limit: Option<&'a Expr>,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let limit = match limit {
            Some(l) => self.count_arg(l, env)?,
            None => usize::MAX,
        };
        let mut targets = Vec::new();
        let mut compiled = Vec::new();
        for item in items {
            let (c, _) = self.compile(&item.expr, &t.columns, env)?;
            let ty = item.to.unwrap_or(ScalarType::Dynamic);
            let name = item
                .name
                .clone()
                .or_else(|| derive_name(&item.expr))
                .unwrap_or_else(|| fresh_name(&t.columns, &[]));
            let idx = match t.column_index(&name) {
                Some(i) => {
                    t.columns[i].ty = ty;
                    i
                }
                None => {
                    t.columns.push(Column::new(name, ty));
                    for r in &mut t.rows {
                        r.push(Value::Null);
                    }
                    t.columns.len() - 1
                }
            };
            targets.push((idx, ty));
            compiled.push(c);
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, e)| match &e.kind {
                    ExprKind::Name(v) => Some(v.clone()),
                    _ => None,
                })
        };
        let as_array = param("kind").or_else(|| param("bagexpansion")).as_deref() == Some("array");
        let item_index = param("with_itemindex");
        if let Some(name) = &item_index {
            t.columns.push(Column::new(name.clone(), ScalarType::Long));
        }
        let mut rows = Vec::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            let row = Row { rows: &t.rows, idx };
            let lists: Vec<Vec<Value>> = compiled
                .iter()
                .map(|c| expansion(eval(c, row), as_array))
                .collect();
            let n = lists.iter().map(Vec::len).max().unwrap_or(0).min(limit);
            for i in 0..n {
                // One row can expand into many: check as the output grows.
                self.check()?;
                if rows.len() > crate::exec::MAX_ROWS {
                    return Err(too_many_rows("mv-expand"));
                }
                let mut r = t.rows[idx].clone();
                for ((target, ty), list) in targets.iter().zip(&lists) {
                    r[*target] = coerce(list.get(i).cloned().unwrap_or(Value::Null), *ty);
                }
                if item_index.is_some() {
                    r.push(Value::Long(i as i64));
                }
                rows.push(r);
            }
            if rows.len() > crate::exec::MAX_ROWS {
                return Err(too_many_rows("mv-expand"));
            }
        }
        Ok(Table {
            columns: t.columns,
            rows,
        })
    }
}
