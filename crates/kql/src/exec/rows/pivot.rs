//! `evaluate pivot`: the values of one column become columns holding an aggregate of their rows.

use std::collections::HashMap;

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{AggSpec, CExpr, Row};
use crate::error::KqlError;
use crate::exec::rows::ops::{Out, Summary, key_row, unique_name};
use crate::functions::aggregate::{AggState, is_aggregate};
use crate::syntax::ast::{Expr, ExprKind, Pivot};
use crate::value::convert::{Key, coerce, to_text};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

/// A bound `pivot`: the pivoted column, the key columns, and the aggregation.
pub(crate) struct PivotBinding {
    /// The input column whose values become columns.
    pub pivot: usize,
    /// The input columns each output row is a value of.
    pub keys: Vec<usize>,
    pub specs: Vec<AggSpec>,
    /// The cell: the aggregation's one result over its aggregates' finished values.
    pub result: CExpr,
    pub ty: ScalarType,
    /// The cell of a key without rows of some value: the aggregation of no rows.
    pub none: Value,
}

impl PivotBinding {
    /// The cell of the aggregates' `states`.
    pub(crate) fn finish(&self, states: &[AggState]) -> Value {
        let slots: Vec<Value> = states
            .iter()
            .zip(&self.specs)
            .map(|(s, spec)| {
                let finished = s.finish(spec.ty, &spec.percents, spec.row.len().max(1));
                finished.into_iter().next().unwrap_or(Value::Null)
            })
            .collect();
        coerce(
            eval(
                &self.result,
                Row {
                    rows: &[slots],
                    idx: 0,
                },
            ),
            self.ty,
        )
    }
}

impl<'a> Engine<'a> {
    /// `pivot(column [, aggregation [, key, ...]])` over `columns`, bound: the keys are the given
    /// columns, else every column neither pivoted nor aggregated; `count()` by default.
    pub(crate) fn bind_pivot(
        &mut self,
        columns: &[Column],
        p: &'a Pivot,
        env: &Env<'a>,
    ) -> Result<PivotBinding, KqlError> {
        let pivot = self.pivot_column(&p.column, columns, env)?;
        let agg = &p.agg[0].expr;
        let one_aggregate =
            |e: &Expr| matches!(&e.kind, ExprKind::Call { name, .. } if is_aggregate(name));
        let bound = if one_aggregate(agg) {
            Some(self.bind_summarize(columns, &p.agg, &[], env)?)
        } else {
            None
        };
        let one_result = |Summary {
                              specs, mut outs, ..
                          }: Summary| match (outs.pop(), outs.len()) {
            (Some(Out::Expr(c, ty)), 0) => Some((specs, c, ty)),
            _ => None,
        };
        let Some((specs, result, ty)) = bound.and_then(one_result) else {
            return Err(self.type_error(
                agg,
                "pivot takes one aggregation with one result, such as sum(Count)",
            ));
        };
        let aggregated = |i: usize| {
            specs.iter().any(|s| {
                s.args
                    .iter()
                    .chain(s.row.iter().map(|(c, _)| c))
                    .any(|c| c.any(&|x| matches!(x, CExpr::Col(j) if *j == i)))
            })
        };
        let keys: Vec<usize> = if p.by.is_empty() {
            (0..columns.len())
                .filter(|&i| i != pivot && !aggregated(i))
                .collect()
        } else {
            p.by.iter()
                .map(|e| self.pivot_column(e, columns, env))
                .collect::<Result<_, _>>()?
        };
        let mut binding = PivotBinding {
            pivot,
            keys,
            specs,
            result,
            ty,
            none: Value::Null,
        };
        let fresh: Vec<AggState> = binding.specs.iter().map(|s| s.state()).collect();
        binding.none = binding.finish(&fresh);
        Ok(binding)
    }

    /// `pivot(column [, aggregation [, key, ...]])`: a row per key (the given columns, else every
    /// column neither pivoted nor aggregated), a column per value of `column` in the order first
    /// seen, each cell the aggregation (`count()` by default) of the rows with that key and value;
    /// a key without rows of some value gets the aggregation of no rows (`count()` 0).
    pub(crate) fn pivot(
        &mut self,
        t: Table,
        p: &'a Pivot,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let bound = self.bind_pivot(&t.columns, p, env)?;
        let keys = &bound.keys;
        let grouped: Vec<usize> = keys.iter().copied().chain([bound.pivot]).collect();
        let key_exprs: Vec<CExpr> = grouped.iter().map(|&i| CExpr::Col(i)).collect();
        let key_cols: Vec<Column> = grouped.iter().map(|&i| t.columns[i].clone()).collect();
        let (groups, states) = self.fold_groups(&t, &key_exprs, &key_cols, &bound.specs)?;
        let mut values: Vec<String> = Vec::new();
        let mut value_at: HashMap<String, usize> = HashMap::new();
        let mut row_at: HashMap<Vec<Key>, usize> = HashMap::new();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut cells: Vec<(usize, usize, Value)> = Vec::with_capacity(groups.len());
        for (group, st) in groups.into_iter().zip(states) {
            self.check()?;
            let (key, value) = group.split_at(keys.len());
            let name = value.first().map(to_text).unwrap_or_default();
            let column = *value_at.entry(name.clone()).or_insert_with(|| {
                values.push(name);
                values.len() - 1
            });
            let row = *row_at.entry(key_row(key)).or_insert_with(|| {
                rows.push(key.to_vec());
                rows.len() - 1
            });
            cells.push((row, column, bound.finish(&st)));
        }
        // Every key gets a cell per value: the output is rows × values whatever the input.
        self.budget.reserve(
            rows.len()
                .saturating_mul(values.len())
                .saturating_mul(std::mem::size_of::<Value>()),
        )?;
        for row in &mut rows {
            row.resize(keys.len() + values.len(), bound.none.clone());
        }
        for (row, column, v) in cells {
            rows[row][keys.len() + column] = v;
        }
        let mut columns: Vec<Column> = keys.iter().map(|&i| t.columns[i].clone()).collect();
        for v in values {
            columns.push(Column::new(pivot_name(&columns, &v), bound.ty));
        }
        Ok(Table { columns, rows })
    }

    /// The index of the input column `e` names.
    fn pivot_column(
        &mut self,
        e: &'a Expr,
        columns: &[Column],
        env: &Env<'a>,
    ) -> Result<usize, KqlError> {
        match self.compile(e, columns, env)? {
            (CExpr::Col(i), _) => Ok(i),
            _ => Err(self.type_error(e, "pivot takes column names, as in pivot(State)")),
        }
    }
}

/// The name of the column of a pivoted value's text, after the `columns` before it.
pub(crate) fn pivot_name(columns: &[Column], text: &str) -> String {
    let taken: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    unique_name(&taken, text)
}
