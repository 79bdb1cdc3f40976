//! A pipe's source read where it is. The `where`s and the `summarize` a pipe starts with read a
//! catalog table or a `let`-bound table in place (the timespan filter and each `where` narrow
//! a list of row numbers), so only the rows that reach a later operator are copied (a `project`
//! after them copies only its columns); a first `summarize` folds a `range` value by value, never
//! holding its rows.

use std::sync::Arc;

use crate::bind::context::{Binding, Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row};
use crate::error::KqlError;
use crate::exec::{MAX_ROWS, RangeSteps, range_too_long};
use crate::syntax::ast::{Expr, ExprKind, Operator, OperatorKind};
use crate::value::Value;
use crate::value::convert::truth;
use crate::value::table::{Column, Table, rows_at};

use super::ops::may_spread;

/// The rows an operator reads.
pub(crate) enum Input<'t> {
    /// Rows of a table: all of them, or those at the given positions, in order.
    Rows(&'t [Vec<Value>], Option<&'t [usize]>),
    /// A `range`'s values, made one at a time.
    Range(RangeSteps),
}

impl<'a> Engine<'a> {
    /// Runs the first operators of `source | ops` that read `source` in place (the `where`s
    /// up to a `summarize` or a `project`, or one of those): their result and how many operators ran. `None`
    /// when none can (the caller runs them as usual).
    pub(crate) fn in_place(
        &mut self,
        source: &'a Expr,
        ops: &'a [Operator],
        env: &Env<'a>,
    ) -> Result<Option<(Table, usize)>, KqlError> {
        let Some(first) = ops.first() else {
            return Ok(None);
        };
        if !matches!(
            first.kind,
            OperatorKind::Summarize { .. } | OperatorKind::Where(_) | OperatorKind::Project(_)
        ) {
            return Ok(None);
        }
        let (shared, mut picked) = match &source.kind {
            ExprKind::Range {
                name,
                from,
                to,
                step,
            } => {
                let OperatorKind::Summarize { aggs, by } = &first.kind else {
                    return Ok(None);
                };
                let (steps, ty) = self.range_steps(source, from, to, step, env)?;
                let columns = [Column::new(name.clone(), ty)];
                let t = self.summarize_input(&columns, Input::Range(steps), aggs, by, env)?;
                return Ok(Some((t, 1)));
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
        for (i, op) in ops.iter().enumerate() {
            let input = Input::Rows(&shared.rows, picked.as_deref());
            match &op.kind {
                OperatorKind::Where(pred) => {
                    picked = Some(self.filter_input(&shared.columns, input, pred, env)?);
                }
                OperatorKind::Summarize { aggs, by } => {
                    let t = self.summarize_input(&shared.columns, input, aggs, by, env)?;
                    return Ok(Some((t, i + 1)));
                }
                OperatorKind::Project(items)
                    if !items.iter().any(|item| may_spread(&item.expr, env)) =>
                {
                    let room = match ops.get(i + 1).map(|o| &o.kind) {
                        Some(OperatorKind::Extend(added)) => added.len(),
                        _ => 0,
                    };
                    let mut names = Vec::new();
                    let mut compiled = Vec::with_capacity(items.len());
                    for item in items {
                        let (expr, given) = (&item.expr, &item.names);
                        compiled.push(self.project_item(
                            expr,
                            given,
                            &shared.columns,
                            &mut names,
                            env,
                        )?);
                    }
                    return Ok(Some((self.projected(input, compiled, room)?, i + 1)));
                }
                _ => return Ok(Some((own(&shared, picked.as_deref()), i))),
            }
        }
        Ok(Some((own(&shared, picked.as_deref()), ops.len())))
    }

    /// The row numbers (in `input`'s table) of the rows of `input` that `pred` holds for.
    fn filter_input(
        &mut self,
        columns: &[Column],
        input: Input<'_>,
        pred: &'a Expr,
        env: &Env<'a>,
    ) -> Result<Vec<usize>, KqlError> {
        let (c, _) = self.compile(pred, columns, env)?;
        let picked = match &input {
            Input::Rows(_, picked) => *picked,
            Input::Range(_) => None,
        };
        // Positions in the input (its rows may be visited as a table of their own).
        let (mut kept, mut at) = (Vec::new(), 0);
        self.each_row(input, &[&c], |row| {
            if truth(&eval(&c, row)) == Some(true) {
                kept.push(at);
            }
            at += 1;
        })?;
        Ok(match picked {
            Some(p) => kept.iter().filter_map(|&k| p.get(k).copied()).collect(),
            None => kept,
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
            Input::Rows(rows, picked) => Ok(rows_at(rows, picked)),
            Input::Range(steps) => self.range_rows(steps),
        }
    }
}

/// The rows of `t` at `picked` (all of them when `None`) as a table of their own.
fn own(t: &Table, picked: Option<&[usize]>) -> Table {
    Table {
        columns: t.columns.clone(),
        rows: rows_at(&t.rows, picked),
    }
}
