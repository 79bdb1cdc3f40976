//! A pipe's source read where it is. A first `summarize` or `where` reads a catalog table or a
//! `let`-bound table in place (the timespan filter as a list of row numbers), rather than
//! copying every row first; a first `summarize` folds a `range` value by value, never holding
//! its rows.

use std::sync::Arc;

use crate::bind::context::{Binding, Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row};
use crate::error::KqlError;
use crate::exec::{MAX_ROWS, RangeSteps, range_too_long};
use crate::syntax::ast::{Expr, ExprKind, Operator, OperatorKind};
use crate::value::Value;
use crate::value::convert::truth;
use crate::value::table::{Column, Table};

/// The rows an operator reads.
pub(crate) enum Input<'t> {
    /// Rows of a table: all of them, or those at the given positions, in order.
    Rows(&'t [Vec<Value>], Option<&'t [usize]>),
    /// A `range`'s values, made one at a time.
    Range(RangeSteps),
}

impl<'a> Engine<'a> {
    /// `source | first` when `first` can read `source` in place; `None` when it cannot (the
    /// caller runs them as usual).
    pub(crate) fn in_place(
        &mut self,
        source: &'a Expr,
        first: Option<&'a Operator>,
        env: &Env<'a>,
    ) -> Result<Option<Table>, KqlError> {
        let Some(op) = first else {
            return Ok(None);
        };
        if !matches!(
            op.kind,
            OperatorKind::Summarize { .. } | OperatorKind::Where(_)
        ) {
            return Ok(None);
        }
        let (shared, picked) = match &source.kind {
            ExprKind::Range {
                name,
                from,
                to,
                step,
            } => {
                let OperatorKind::Summarize { aggs, by } = &op.kind else {
                    return Ok(None);
                };
                let (steps, ty) = self.range_steps(source, from, to, step, env)?;
                let columns = [Column::new(name.clone(), ty)];
                return self
                    .summarize_input(&columns, Input::Range(steps), aggs, by, env)
                    .map(Some);
            }
            ExprKind::Name(n) => match env.get(n) {
                Some(Binding::Table(t)) => (Arc::clone(t), None),
                None => match self.catalog_view(n) {
                    Some((t, picked)) => (Arc::clone(t), picked),
                    None => return Ok(None),
                },
                Some(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        let input = Input::Rows(&shared.rows, picked.as_deref());
        match &op.kind {
            OperatorKind::Summarize { aggs, by } => self
                .summarize_input(&shared.columns, input, aggs, by, env)
                .map(Some),
            OperatorKind::Where(pred) => self
                .filter_input(&shared.columns, input, pred, env)
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The rows of `input` that `pred` holds for.
    fn filter_input(
        &mut self,
        columns: &[Column],
        input: Input<'_>,
        pred: &'a Expr,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (c, _) = self.compile(pred, columns, env)?;
        let mut rows = Vec::new();
        self.each_row(input, &[&c], |row| {
            if truth(&eval(&c, row)) == Some(true) {
                rows.extend(row.rows.get(row.idx).cloned());
            }
        })?;
        Ok(Table {
            columns: columns.to_vec(),
            rows,
        })
    }

    /// Calls `f` with each row of `input`, in order. Where one of `exprs` reads neighbouring
    /// rows, the rows are first made into a table of their own, so its neighbours are the
    /// input's.
    pub(crate) fn each_row(
        &mut self,
        input: Input<'_>,
        exprs: &[&CExpr],
        mut f: impl FnMut(Row<'_>),
    ) -> Result<(), KqlError> {
        let owned;
        let input = match input {
            Input::Rows(_, None) => input,
            other if exprs.iter().any(|e| e.reads_other_rows()) => {
                owned = self.materialize(other)?;
                Input::Rows(&owned, None)
            }
            other => other,
        };
        match input {
            Input::Rows(rows, None) => {
                for idx in 0..rows.len() {
                    self.check()?;
                    f(Row { rows, idx });
                }
            }
            Input::Rows(rows, Some(picked)) => {
                for &idx in picked {
                    self.check()?;
                    f(Row { rows, idx });
                }
            }
            Input::Range(steps) => {
                // One row, rewritten value after value.
                let mut row = [Vec::with_capacity(1)];
                for (n, v) in steps.enumerate() {
                    self.check()?;
                    if n >= MAX_ROWS {
                        return Err(range_too_long());
                    }
                    row[0].clear();
                    row[0].push(v);
                    f(Row { rows: &row, idx: 0 });
                }
            }
        }
        Ok(())
    }

    /// The rows of `input` as rows of their own.
    fn materialize(&mut self, input: Input<'_>) -> Result<Vec<Vec<Value>>, KqlError> {
        match input {
            Input::Rows(rows, None) => Ok(rows.to_vec()),
            Input::Rows(rows, Some(picked)) => Ok(picked
                .iter()
                .filter_map(|&i| rows.get(i).cloned())
                .collect()),
            Input::Range(steps) => self.range_rows(steps),
        }
    }
}
