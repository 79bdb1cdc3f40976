//! `search` and `find` across tables, and `partition`.

use std::collections::HashMap;

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row};
use crate::error::KqlError;
use crate::syntax::ast::{Expr, ExprKind, Operator};
use crate::value::convert::{Key, coerce, key_of};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::*;

/// What `find` makes of each table and of their union ([`Engine::find_layout`]).
pub(crate) struct FindLayout {
    /// Per table: the predicate over its columns, and each output column with its value.
    pub parts: Vec<(CExpr, Vec<(Column, CExpr)>)>,
    project: Option<Vec<(String, Option<ScalarType>)>>,
    /// The output's column names in order (a name the union split by type is left out).
    order: Vec<String>,
}

impl FindLayout {
    /// The columns `project` names that the union of the tables lacks: null (empty for a
    /// string), of the type asked (dynamic when none is), after the union's.
    pub(crate) fn missing(&self, union: &[Column]) -> Vec<Column> {
        let mut missing: Vec<Column> = Vec::new();
        for (n, ty) in self.project.iter().flatten() {
            if !union.iter().chain(&missing).any(|c| c.name == *n) {
                missing.push(Column::new(n.clone(), ty.unwrap_or(ScalarType::Dynamic)));
            }
        }
        missing
    }

    /// Where the output's columns are among `columns` (the union's, then the missing ones).
    pub(crate) fn order(&self, columns: &[Column]) -> Vec<usize> {
        let at = |n: &String| columns.iter().position(|c| c.name == *n);
        self.order.iter().filter_map(at).collect()
    }
}

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
    /// `find`: the rows of each table the predicate holds for, laid out by [`FindLayout`].
    pub(crate) fn find(
        &mut self,
        f: &'a crate::syntax::ast::Find,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let parts = self.searched_tables(&f.tables, env)?;
        let schemas: Vec<&[Column]> = parts.iter().map(|(_, t)| &t.columns[..]).collect();
        let layout = self.find_layout(f, &schemas, env)?;
        let mut kept = Vec::new();
        for ((name, t), (pred, out)) in parts.into_iter().zip(&layout.parts) {
            let mut rows = Vec::new();
            for idx in 0..t.rows.len() {
                self.check()?;
                let row = Row { rows: &t.rows, idx };
                if matches!(eval(pred, row), Value::Bool(true)) {
                    rows.push(out.iter().map(|(_, e)| eval(e, row)).collect());
                }
            }
            let columns = out.iter().map(|(c, _)| c.clone()).collect();
            kept.push((name, Table { columns, rows }));
        }
        let mut merged = self.merge_tables(kept, Some(f.source.clone()), false)?;
        for c in layout.missing(&merged.columns) {
            for row in &mut merged.rows {
                row.push(coerce(Value::Null, c.ty));
            }
            merged.columns.push(c);
        }
        let at = layout.order(&merged.columns);
        Ok(select(merged, &at))
    }
    /// How `find` lays out the tables of these columns, from their columns alone (so both
    /// engines lay it out alike): as `project` lists their columns (null where a table lacks
    /// one), or by `project-smart`: the columns the predicate reads and those every table has,
    /// the rest of each row's non-null values packed into `pack_`.
    pub(crate) fn find_layout(
        &mut self,
        f: &'a crate::syntax::ast::Find,
        schemas: &[&[Column]],
        env: &Env<'a>,
    ) -> Result<FindLayout, KqlError> {
        let common: Vec<&str> = schemas
            .first()
            .map(|s| s.iter().map(|c| c.name.as_str()))
            .into_iter()
            .flatten()
            .filter(|n| schemas.iter().all(|s| s.iter().any(|c| c.name == *n)))
            .collect();
        let index = |s: &[Column], n: &str| s.iter().position(|c| c.name == n);
        let mut parts = Vec::new();
        let mut order: Vec<String> = vec![f.source.clone()];
        for s in schemas {
            let pred = self.search_predicate(&f.predicate, s, env, false)?;
            let read = |i: usize| pred.any(&|x| matches!(x, CExpr::Col(j) if *j == i));
            let keep: Vec<usize> = match &f.project {
                Some(cols) => cols.iter().filter_map(|(c, _)| index(s, c)).collect(),
                None => (0..s.len())
                    .filter(|&i| read(i) || common.contains(&s[i].name.as_str()))
                    .collect(),
            };
            let mut out: Vec<(Column, CExpr)> = keep
                .iter()
                .map(|&i| (s[i].clone(), CExpr::Col(i)))
                .collect();
            if f.project.is_none() {
                let packed = (0..s.len()).filter(|i| !keep.contains(i));
                let args = packed.flat_map(|i| [CExpr::Lit(Value::str(&s[i].name)), CExpr::Col(i)]);
                let pack = CExpr::Call {
                    func: &crate::functions::PACK_NONNULL,
                    args: args.collect(),
                    ty: ScalarType::Dynamic,
                };
                out.push((Column::new("pack_", ScalarType::Dynamic), pack));
            }
            for (c, _) in &out {
                if !order.contains(&c.name) {
                    order.push(c.name.clone());
                }
            }
            parts.push((pred, out));
        }
        match &f.project {
            // `pack_` comes last, after every table's columns.
            None => {
                order.retain(|n| n != "pack_");
                order.push("pack_".into());
            }
            Some(cols) => {
                order.truncate(1);
                order.extend(cols.iter().map(|(n, _)| n.clone()));
            }
        }
        Ok(FindLayout {
            parts,
            project: f.project.clone(),
            order,
        })
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
