//! `search` and `find` across tables, and `partition`.

use std::collections::HashMap;

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row};
use crate::error::KqlError;
use crate::syntax::ast::{Expr, ExprKind, Operator};
use crate::value::convert::{Key, key_of};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::*;

impl<'a> Engine<'a> {
    /// `search`: rows of the given tables where the predicate holds; a bare string is a term
    /// looked up in every column.
    pub(crate) fn search(
        &mut self,
        input: Option<Table>,
        s: &'a crate::syntax::ast::Search,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let parts = match input {
            Some(t) => vec![("union_arg0".into(), t)],
            None => self.searched_tables(&s.tables, env)?,
        };
        let mut kept = Vec::new();
        for (name, t) in parts {
            let t = self.search_rows(t, &s.predicate, env, s.case_sensitive)?;
            kept.push((name, t));
        }
        self.merge_tables(kept, Some("$table".into()), false)
    }
    /// `find`: the rows of each table the predicate holds for, as `project` lists their columns
    /// (null where a table lacks one), or by `project-smart`: the columns the predicate reads
    /// and those every table has, the rest of each row packed into `pack_`.
    pub(crate) fn find(
        &mut self,
        f: &'a crate::syntax::ast::Find,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let parts = self.searched_tables(&f.tables, env)?;
        let common: Vec<String> = parts
            .first()
            .map(|(_, t)| t.columns.iter().map(|c| c.name.clone()))
            .into_iter()
            .flatten()
            .filter(|n| parts.iter().all(|(_, t)| t.column_index(n).is_some()))
            .collect();
        let mut kept = Vec::new();
        let mut order: Vec<String> = vec![f.source.clone()];
        for (name, t) in parts {
            let pred = self.search_predicate(&f.predicate, &t.columns, env, false)?;
            let read = |i: usize| pred.any(&|x| matches!(x, CExpr::Col(j) if *j == i));
            let t = self.search_rows(t, &f.predicate, env, false)?;
            let keep: Vec<usize> = match &f.project {
                Some(cols) => cols.iter().filter_map(|(c, _)| t.column_index(c)).collect(),
                None => (0..t.columns.len())
                    .filter(|&i| read(i) || common.contains(&t.columns[i].name))
                    .collect(),
            };
            let packed: Vec<usize> = match &f.project {
                Some(_) => Vec::new(),
                None => (0..t.columns.len()).filter(|i| !keep.contains(i)).collect(),
            };
            let mut out = select(t.clone(), &keep);
            if f.project.is_none() {
                out.columns.push(Column::new("pack_", ScalarType::Dynamic));
                for (row, full) in out.rows.iter_mut().zip(&t.rows) {
                    let bag: serde_json::Map<String, serde_json::Value> = packed
                        .iter()
                        .filter(|&&i| !full[i].is_null())
                        .map(|&i| (t.columns[i].name.clone(), full[i].to_json()))
                        .collect();
                    row.push(Value::dynamic(serde_json::Value::Object(bag)));
                }
            }
            for c in &out.columns {
                if !order.contains(&c.name) {
                    order.push(c.name.clone());
                }
            }
            kept.push((name, out));
        }
        if f.project.is_none() {
            // pack_ comes last, after every table's columns.
            order.retain(|n| n != "pack_");
            order.push("pack_".into());
        }
        let mut merged = self.merge_tables(kept, Some(f.source.clone()), false)?;
        // `project`'s columns in its order (typed as asked, null where no table has one).
        if let Some(cols) = &f.project {
            order.truncate(1);
            for (name, ty) in cols {
                if merged.column_index(name).is_none() {
                    merged
                        .columns
                        .push(Column::new(name.clone(), ty.unwrap_or(ScalarType::Dynamic)));
                    for row in &mut merged.rows {
                        row.push(Value::Null);
                    }
                }
                order.push(name.clone());
            }
        }
        let at: Vec<usize> = order
            .iter()
            .filter_map(|n| merged.column_index(n))
            .collect();
        Ok(select(merged, &at))
    }
    /// `partition by Column (operators)`: the operators run on each value's rows (in the order
    /// the values come), and their results are put together.
    pub(super) fn partition(
        &mut self,
        op: &Operator,
        t: Table,
        by: &str,
        ops: &'a [Operator],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let Some(col) = t.column_index(by) else {
            return Err(KqlError::Resolution {
                location: self_location(self, op),
                message: format!("Failed to resolve column named '{by}' to partition by"),
            });
        };
        let mut at: HashMap<Key, usize> = HashMap::new();
        let mut parts: Vec<Table> = Vec::new();
        for row in t.rows {
            self.check()?;
            let part = *at.entry(key_of(&row[col])).or_insert_with(|| {
                parts.push(Table::new(t.columns.clone()));
                parts.len() - 1
            });
            parts[part].rows.push(row);
        }
        if parts.is_empty() {
            parts.push(Table::new(t.columns));
        }
        let mut results = Vec::with_capacity(parts.len());
        for mut part in parts {
            for o in ops {
                part = self.operator(part, o, env)?;
            }
            results.push((String::new(), part));
        }
        self.merge_tables(results, None, false)
    }
    /// The rows of `t` that a `search`/`find` predicate holds for.
    pub(super) fn search_rows(
        &mut self,
        t: Table,
        predicate: &'a Expr,
        env: &Env<'a>,
        case_sensitive: bool,
    ) -> Result<Table, KqlError> {
        let pred = self.search_predicate(predicate, &t.columns, env, case_sensitive)?;
        let mut rows = Vec::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            if matches!(eval(&pred, Row { rows: &t.rows, idx }), Value::Bool(true)) {
                rows.push(t.rows[idx].clone());
            }
        }
        Ok(Table {
            columns: t.columns,
            rows,
        })
    }
    /// The tables `search in (...)`/`find in (...)` name (wildcards matched), every table when
    /// none is named.
    pub(super) fn searched_tables(
        &mut self,
        tables: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Vec<(String, Table)>, KqlError> {
        let mut parts: Vec<(String, Table)> = Vec::new();
        match () {
            _ if tables.is_empty() => {
                let names: Vec<String> = self.catalog.names().map(String::from).collect();
                for n in names {
                    if let Some(t) = self.catalog_table(&n) {
                        parts.push((n, t));
                    }
                }
            }
            _ => {
                for e in tables {
                    let name = match &e.kind {
                        ExprKind::Name(n) => n.clone(),
                        _ => String::new(),
                    };
                    if let ExprKind::Wildcard(w) = &e.kind {
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
                    } else {
                        parts.push((name, self.tabular(e, env)?));
                    }
                }
            }
        }
        Ok(parts)
    }
    pub(crate) fn search_predicate(
        &mut self,
        e: &'a Expr,
        schema: &[Column],
        env: &Env<'a>,
        cs: bool,
    ) -> Result<CExpr, KqlError> {
        use crate::syntax::ast::{BinOp, StrOp};
        Ok(match &e.kind {
            ExprKind::Literal(Value::String(term)) => {
                let (op, term) = if term.contains('*') {
                    (StrOp::Contains { cs }, term.replace('*', ""))
                } else {
                    (StrOp::Has { cs }, term.to_string())
                };
                (0..schema.len())
                    .map(|i| {
                        CExpr::Bin(
                            BinOp::Str(op, false),
                            Box::new(CExpr::Col(i)),
                            Box::new(CExpr::Lit(Value::str(&term))),
                        )
                    })
                    .reduce(|a, b| CExpr::Bin(BinOp::Or, Box::new(a), Box::new(b)))
                    .unwrap_or(CExpr::Lit(Value::Bool(false)))
            }
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                left,
                right,
            } => CExpr::Bin(
                *op,
                Box::new(self.search_predicate(left, schema, env, cs)?),
                Box::new(self.search_predicate(right, schema, env, cs)?),
            ),
            // `search *` keeps every row.
            ExprKind::Star => CExpr::Lit(Value::Bool(true)),
            ExprKind::Call { name, args } if name == "not" && args.len() == 1 => CExpr::Call {
                func: crate::functions::function("not"),
                args: vec![self.search_predicate(&args[0], schema, env, cs)?],
                ty: ScalarType::Bool,
            },
            // A part that names a column this table lacks is false here, not an error.
            _ => match self.compile(e, schema, env) {
                Ok((c, _)) => c,
                Err(KqlError::Resolution { .. }) => CExpr::Lit(Value::Bool(false)),
                Err(err) => return Err(err),
            },
        })
    }
}
