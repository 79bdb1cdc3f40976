//! `summarize` and its relatives: make-series, top-nested, the grouping they share.

use std::collections::HashMap;

use crate::bind::context::{Engine, Env};
use crate::bind::eval::{eval, eval_ref};
use crate::bind::expr::{AggCollector, AggSpec, CExpr, Row};
use crate::bind::naming::{default_name, derive_name};
use crate::error::KqlError;
use crate::functions::aggregate::{self, AggState};
use crate::syntax::ast::{ExprKind, NamedExpr, Operator};
use crate::value::convert::{Key, coerce, coerced, key_of, sort_cmp};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::input::Input;
use super::ops::*;

/// One bound level of `top-nested`: the rows its parent kept grouped by `of`, each group scored
/// by `agg` and the `count` best kept (ties in the order first seen).
pub(crate) struct NestedLevel {
    pub count: usize,
    pub of: CExpr,
    pub of_col: Column,
    /// The score, over the values of `specs` (slot `i` is aggregate `i`).
    pub agg: CExpr,
    pub agg_col: Column,
    pub specs: Vec<AggSpec>,
    pub desc: bool,
}

impl<'a> Engine<'a> {
    pub(super) fn make_series(
        &mut self,
        op: &Operator,
        t: Table,
        ms: &'a crate::syntax::ast::MakeSeries,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (axis, axis_ty) = self.compile(&ms.axis, &t.columns, env)?;
        let SeriesBinding {
            key_exprs,
            key_cols,
            specs,
            outs,
        } = self.bind_series(op, ms, &t.columns, None, env)?;
        let mut defaults = Vec::new();
        for ((_, d), (_, ty)) in ms.aggs.iter().zip(&outs) {
            defaults.push(match d {
                Some(d) => coerce(self.constant(d, env)?, *ty),
                None => coerce(Value::Long(0), *ty),
            });
        }
        let step_v = self.constant(&ms.step, env)?;
        let step = series_number(&step_v)
            .filter(|s| *s > 0.0)
            .ok_or_else(|| self.type_error(&ms.step, "make-series needs a positive step"))?;
        let mut axis_vals = Vec::with_capacity(t.rows.len());
        for idx in 0..t.rows.len() {
            self.check()?;
            axis_vals.push(eval(&axis, Row { rows: &t.rows, idx }).clone());
        }
        let from = match &ms.from {
            Some(f) => series_number(&self.constant(f, env)?),
            None => axis_vals
                .iter()
                .filter_map(series_number)
                .reduce(f64::min)
                .map(|m| (m / step).floor() * step),
        };
        let to = match &ms.to {
            Some(e) => series_number(&self.constant(e, env)?),
            None => axis_vals
                .iter()
                .filter_map(series_number)
                .reduce(f64::max)
                .map(|m| m + step),
        };
        let (Some(from), Some(to)) = (from, to) else {
            let mut columns = key_cols.clone();
            for (i, (item, _)) in ms.aggs.iter().enumerate() {
                columns.push(Column::new(series_name(item, i), ScalarType::Dynamic));
            }
            columns.push(Column::new(
                derive_name(&ms.axis).unwrap_or_else(|| "Axis".into()),
                ScalarType::Dynamic,
            ));
            return Ok(Table::new(columns));
        };
        let bins = series_bins(from, to, step);
        let mut groups: HashMap<Vec<Key>, usize> = HashMap::new();
        let mut group_keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<Option<Vec<AggState>>>> = Vec::new();
        for (idx, av) in axis_vals.iter().enumerate() {
            self.check()?;
            let Some(x) = series_number(av) else { continue };
            if x < from || x >= from + step * bins as f64 {
                continue;
            }
            let bin = (((x - from) / step).floor() as usize).min(bins.saturating_sub(1));
            let row = Row { rows: &t.rows, idx };
            let kv: Vec<Value> = key_exprs
                .iter()
                .zip(&key_cols)
                .map(|(c, col)| coerce(eval(c, row), col.ty))
                .collect();
            let g = *groups.entry(key_row(&kv)).or_insert_with(|| {
                group_keys.push(kv);
                states.push(vec![None; bins]);
                group_keys.len() - 1
            });
            let cell =
                states[g][bin].get_or_insert_with(|| specs.iter().map(|s| s.state()).collect());
            for (state, spec) in cell.iter_mut().zip(&specs) {
                let args: Vec<Value> = spec.args.iter().map(|a| eval(a, row)).collect();
                state.update(&spec.method, &args, &[]);
            }
        }
        if ms.nonempty && key_exprs.is_empty() && group_keys.is_empty() {
            group_keys.push(Vec::new());
            states.push(vec![None; bins]);
        }
        let mut columns = key_cols.clone();
        for (i, (item, _)) in ms.aggs.iter().enumerate() {
            columns.push(Column::new(series_name(item, i), ScalarType::Dynamic));
        }
        let axis_name = derive_name(&ms.axis).unwrap_or_else(|| "Axis".into());
        columns.push(Column::new(axis_name, ScalarType::Dynamic));
        let axis_json = series_axis(from, step, bins, axis_ty);
        let mut rows = Vec::new();
        for (keys, bins_states) in group_keys.into_iter().zip(states) {
            let mut series: Vec<Vec<serde_json::Value>> =
                vec![Vec::with_capacity(bins); outs.len()];
            for cell in &bins_states {
                self.check()?;
                for (o, ((c, ty), default)) in outs.iter().zip(&defaults).enumerate() {
                    let v = match cell {
                        Some(st) => {
                            let mut slots = keys.clone();
                            slots.extend(st.iter().zip(&specs).map(|(s, spec)| {
                                s.finish(spec.ty, &spec.percents, 1)
                                    .into_iter()
                                    .next()
                                    .unwrap_or(Value::Null)
                            }));
                            let slot_rows = [slots];
                            coerce(
                                eval(
                                    c,
                                    Row {
                                        rows: &slot_rows,
                                        idx: 0,
                                    },
                                ),
                                *ty,
                            )
                        }
                        None => default.clone(),
                    };
                    series[o].push(crate::value::convert::dyn_json(&v));
                }
            }
            let mut row = keys;
            row.extend(
                series
                    .into_iter()
                    .map(|s| Value::dynamic(serde_json::Value::Array(s))),
            );
            row.push(Value::dynamic(serde_json::Value::Array(axis_json.clone())));
            rows.push(row);
        }
        Ok(Table { columns, rows })
    }
    /// Binds `top-nested`'s levels over `columns` (shared by the row engine and the DataFusion
    /// planner, so both name and type the columns alike).
    pub(crate) fn bind_top_nested(
        &mut self,
        op: &Operator,
        columns: &[Column],
        levels: &'a [crate::syntax::ast::TopNestedLevel],
        env: &Env<'a>,
    ) -> Result<Vec<NestedLevel>, KqlError> {
        let mut compiled = Vec::new();
        for (i, l) in levels.iter().enumerate() {
            if l.others.is_some() {
                return Err(self.unsupported_at(op.span, "top-nested 'with others'"));
            }
            let count = match &l.count {
                Some(c) => self.count_arg(c, env)?,
                None => usize::MAX,
            };
            let (of, of_ty) = self.compile(&l.of.expr, columns, env)?;
            let of_name =
                l.of.names
                    .first()
                    .cloned()
                    .or_else(|| derive_name(&l.of.expr))
                    .unwrap_or_else(|| format!("Column{}", i + 1));
            self.agg = Some(AggCollector {
                input: columns.to_vec(),
                specs: Vec::new(),
                keys: 0,
                key_names: Vec::new(),
            });
            let bound = self.compile(&l.by.expr, &[], env);
            let specs = self.agg.take().map(|a| a.specs).unwrap_or_default();
            let (agg, agg_ty) = bound?;
            let agg_name =
                l.by.names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("aggregated_{of_name}"));
            compiled.push(NestedLevel {
                count,
                of,
                of_col: Column::new(of_name, of_ty),
                agg,
                agg_col: Column::new(agg_name, agg_ty),
                specs,
                desc: l.desc,
            });
        }
        Ok(compiled)
    }

    pub(super) fn top_nested(
        &mut self,
        op: &Operator,
        t: Table,
        levels: &'a [crate::syntax::ast::TopNestedLevel],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let compiled = self.bind_top_nested(op, &t.columns, levels, env)?;
        let mut columns = Vec::new();
        for l in &compiled {
            columns.push(l.of_col.clone());
            columns.push(l.agg_col.clone());
        }
        // Each level groups the rows its parent kept and keeps the top N groups by the aggregate.
        let mut frontier: Vec<(Vec<Value>, Vec<usize>)> =
            vec![(Vec::new(), (0..t.rows.len()).collect())];
        for l in &compiled {
            let mut next = Vec::new();
            for (prefix, rows) in frontier {
                let mut groups: HashMap<Key, usize> = HashMap::new();
                let mut found: Vec<(Value, Vec<usize>)> = Vec::new();
                for &idx in &rows {
                    self.check()?;
                    let k = coerce(eval(&l.of, Row { rows: &t.rows, idx }), l.of_col.ty);
                    let g = *groups.entry(key_of(&k)).or_insert_with(|| {
                        found.push((k, Vec::new()));
                        found.len() - 1
                    });
                    found[g].1.push(idx);
                }
                let mut scored = Vec::new();
                for (k, members) in found {
                    let mut states: Vec<AggState> = l.specs.iter().map(|s| s.state()).collect();
                    for &idx in &members {
                        let row = Row { rows: &t.rows, idx };
                        for (state, spec) in states.iter_mut().zip(&l.specs) {
                            let args: Vec<Value> = spec.args.iter().map(|a| eval(a, row)).collect();
                            state.update(&spec.method, &args, &[]);
                        }
                    }
                    let slots: Vec<Value> = states
                        .iter()
                        .zip(&l.specs)
                        .map(|(s, spec)| {
                            s.finish(spec.ty, &spec.percents, 1)
                                .into_iter()
                                .next()
                                .unwrap_or(Value::Null)
                        })
                        .collect();
                    let slot_rows = [slots];
                    let score = coerce(
                        eval(
                            &l.agg,
                            Row {
                                rows: &slot_rows,
                                idx: 0,
                            },
                        ),
                        l.agg_col.ty,
                    );
                    scored.push((k, score, members));
                }
                scored.sort_by(|a, b| {
                    let o = sort_cmp(&a.1, &b.1);
                    if l.desc { o.reverse() } else { o }
                });
                for (k, score, members) in scored.into_iter().take(l.count) {
                    let mut p = prefix.clone();
                    p.push(k);
                    p.push(score);
                    next.push((p, members));
                }
            }
            frontier = next;
        }
        Ok(Table {
            columns,
            rows: frontier.into_iter().map(|(p, _)| p).collect(),
        })
    }
    /// Binds a `summarize`: its keys, the aggregates inside its expressions, and its output
    /// columns with Kusto's names (shared by the row engine and the DataFusion planner).
    pub(crate) fn bind_summarize(
        &mut self,
        columns: &[Column],
        aggs: &'a [NamedExpr],
        by: &'a [NamedExpr],
        env: &Env<'a>,
    ) -> Result<Summary, KqlError> {
        let mut key_exprs = Vec::new();
        let mut key_cols: Vec<Column> = Vec::new();
        for item in by {
            let (c, ty) = self.compile(&item.expr, columns, env)?;
            let name = item
                .names
                .first()
                .cloned()
                .or_else(|| derive_name(&item.expr));
            let taken: Vec<String> = key_cols.iter().map(|c| c.name.clone()).collect();
            let name = name.unwrap_or_else(|| fresh_name(&key_cols, &taken));
            key_exprs.push(c);
            key_cols.push(Column::new(name, ty));
        }
        let (outs, specs) =
            self.compile_aggregates(aggs.iter().map(|item| &item.expr), columns, &key_cols, env)?;
        // Output columns: each aggregate expression gives one column, or several for
        // arg_max/arg_min/take_any(*) and percentiles.
        let mut out_cols: Vec<Column> = key_cols.clone();
        let mut plan = Vec::new();
        for (item, (c, ty)) in aggs.iter().zip(outs) {
            // Thousands of aggregates bind for a while: the timeout applies here too.
            crate::budget::check()?;
            let direct = match (&c, &item.expr.kind) {
                (CExpr::Col(slot), ExprKind::Call { name, args })
                    if aggregate::is_aggregate(name) =>
                {
                    Some((slot - key_cols.len(), name, args))
                }
                _ => None,
            };
            // The names taken so far, built only for a column the query leaves unnamed.
            let taken =
                |cols: &[Column]| -> Vec<String> { cols.iter().map(|c| c.name.clone()).collect() };
            if let Some((s, fname, args)) = direct {
                let spec = &specs[s];
                if !spec.row.is_empty() {
                    for (i, (_, col)) in spec.row.iter().enumerate() {
                        let given = item.names.get(i).cloned();
                        let n = given.unwrap_or_else(|| unique_name(&taken(&out_cols), &col.name));
                        out_cols.push(Column::new(n, col.ty));
                    }
                    plan.push(Out::Spread(s));
                    continue;
                }
                if spec.ty != ScalarType::Dynamic
                    && (fname == "percentiles" || spec.percents.len() > 1)
                {
                    let arg = args.first().and_then(derive_name).unwrap_or_default();
                    for (i, p) in spec.percents.iter().enumerate() {
                        let given = item.names.get(i).cloned();
                        let n = given.unwrap_or_else(|| {
                            format!("percentile_{arg}_{}", p.to_string().replace('.', "_"))
                        });
                        out_cols.push(Column::new(n, spec.ty));
                    }
                    plan.push(Out::Spread(s));
                    continue;
                }
                // Made only for an aggregate the query leaves unnamed.
                let default = || {
                    if matches!(
                        fname.as_str(),
                        "percentile" | "percentilew" | "percentilesw"
                    ) {
                        let arg = args.first().and_then(derive_name).unwrap_or_default();
                        format!(
                            "percentile_{arg}_{}",
                            spec.percents
                                .first()
                                .map_or("50".into(), |p| p.to_string().replace('.', "_"))
                        )
                    } else {
                        default_name(fname, args)
                    }
                };
                let n = item
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| unique_name(&taken(&out_cols), &default()));
                out_cols.push(Column::new(n, ty));
            } else {
                let n = item
                    .names
                    .first()
                    .cloned()
                    .or_else(|| derive_name(&item.expr).map(|n| unique_name(&taken(&out_cols), &n)))
                    .unwrap_or_else(|| fresh_name(&out_cols, &taken(&out_cols)));
                out_cols.push(Column::new(n, ty));
            }
            plan.push(Out::Expr(c, ty));
        }
        Ok(Summary {
            key_exprs,
            key_cols,
            specs,
            outs: plan,
            out_cols,
        })
    }
    /// Groups `t`'s rows by the values of `key_exprs` (groups in the order first seen) and folds
    /// each group's rows into a state per aggregate of `specs`.
    pub(crate) fn fold_groups(
        &mut self,
        t: &Table,
        key_exprs: &[CExpr],
        key_cols: &[Column],
        specs: &[AggSpec],
    ) -> Result<Groups, KqlError> {
        self.fold_input(
            &t.columns,
            Input::Rows(&t.rows, None),
            key_exprs,
            key_cols,
            specs,
        )
    }

    /// [`Self::fold_groups`] over the rows of `input`, whose columns are `columns`.
    fn fold_input(
        &mut self,
        columns: &[Column],
        input: Input<'_>,
        key_exprs: &[CExpr],
        key_cols: &[Column],
        specs: &[AggSpec],
    ) -> Result<Groups, KqlError> {
        // The common shapes fold over typed vectors, the others row by row.
        if let Some(groups) = self.typed_fold(columns, &input, key_exprs, key_cols, specs)? {
            return Ok(groups);
        }
        let read: Vec<&CExpr> = key_exprs
            .iter()
            .chain(
                specs
                    .iter()
                    .flat_map(|s| s.args.iter().chain(s.row.iter().map(|(c, _)| c))),
            )
            .collect();
        let mut folder = Folder::new(key_exprs, key_cols, specs);
        self.each_row(input, &read, |row| folder.add(row))?;
        Ok(folder.finish())
    }
    pub(super) fn summarize(
        &mut self,
        t: Table,
        aggs: &'a [NamedExpr],
        by: &'a [NamedExpr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        self.summarize_input(&t.columns, Input::Rows(&t.rows, None), aggs, by, env)
    }

    /// `summarize` over the rows of `input`, whose columns are `columns`.
    pub(crate) fn summarize_input(
        &mut self,
        columns: &[Column],
        input: Input<'_>,
        aggs: &'a [NamedExpr],
        by: &'a [NamedExpr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let Summary {
            key_exprs,
            key_cols,
            specs,
            outs: plan,
            out_cols,
        } = self.bind_summarize(columns, aggs, by, env)?;
        let (mut group_keys, mut states) =
            self.fold_input(columns, input, &key_exprs, &key_cols, &specs)?;
        if key_exprs.is_empty() && group_keys.is_empty() {
            group_keys.push(Vec::new());
            states.push(specs.iter().map(|s| s.state()).collect());
        }
        // Every value of an aggregate is needed only to spread it over several columns; else
        // its first is, made without a vector.
        let spreads = plan.iter().any(|p| matches!(p, Out::Spread(_)));
        // Each output the aggregate in its place (`summarize n = count() by k`): the slots are
        // the row, not copied into one.
        let in_place = !spreads
            && plan.len() == specs.len()
            && (plan.iter().enumerate()).all(
                |(j, p)| matches!(p, Out::Expr(CExpr::Col(i), _) if *i == key_exprs.len() + j),
            );
        let mut rows = Vec::with_capacity(group_keys.len());
        for (mut slots, st) in group_keys.into_iter().zip(states) {
            let finished: Vec<Vec<Value>> = if spreads {
                st.iter()
                    .zip(&specs)
                    .map(|(s, spec)| s.finish(spec.ty, &spec.percents, spec.row.len().max(1)))
                    .collect()
            } else {
                Vec::new()
            };
            // The slots (keys, then each aggregate's value) and the row made at their sizes,
            // not grown value by value.
            let keys = slots.len();
            slots.reserve_exact(st.len());
            if spreads {
                slots.extend(
                    finished
                        .iter()
                        .map(|f| f.first().cloned().unwrap_or(Value::Null)),
                );
            } else {
                slots.extend(
                    st.iter()
                        .zip(&specs)
                        .map(|(s, spec)| s.finish_first(spec.ty, &spec.percents)),
                );
            }
            if in_place {
                for (slot, p) in slots.iter_mut().skip(keys).zip(&plan) {
                    if let Out::Expr(_, ty) = p {
                        *slot = coerce(std::mem::replace(slot, Value::Null), *ty);
                    }
                }
                rows.push(slots);
                continue;
            }
            let slot_rows = std::slice::from_ref(&slots);
            let mut row = Vec::with_capacity(out_cols.len());
            row.extend_from_slice(slots.get(..keys).unwrap_or_default());
            for p in &plan {
                match p {
                    Out::Expr(c, ty) => row.push(coerce(
                        eval(
                            c,
                            Row {
                                rows: slot_rows,
                                idx: 0,
                            },
                        ),
                        *ty,
                    )),
                    Out::Spread(s) => row.extend(finished.get(*s).cloned().unwrap_or_default()),
                }
            }
            rows.push(row);
        }
        Ok(Table {
            columns: out_cols,
            rows,
        })
    }
}

/// The column name of a `make-series` aggregate (`avg_Price`, `count_`).
/// A bound `make-series`: its keys, the aggregates it collects and its output expressions.
pub(crate) struct SeriesBinding {
    pub key_exprs: Vec<CExpr>,
    pub key_cols: Vec<Column>,
    pub specs: Vec<AggSpec>,
    pub outs: Vec<(CExpr, ScalarType)>,
}

/// A compiled expression and its type.
type Typed = (CExpr, ScalarType);

impl<'a> Engine<'a> {
    /// Compiles aggregate expressions over `input` grouped by `key_cols`: each expression with
    /// its type, and the aggregates they use (collected while they compile, and taken even when
    /// one fails, so none is left for the next operator).
    fn compile_aggregates(
        &mut self,
        exprs: impl IntoIterator<Item = &'a crate::syntax::ast::Expr>,
        input: &[Column],
        key_cols: &[Column],
        env: &Env<'a>,
    ) -> Result<(Vec<Typed>, Vec<AggSpec>), KqlError> {
        self.agg = Some(AggCollector {
            input: input.to_vec(),
            specs: Vec::new(),
            keys: key_cols.len(),
            key_names: key_cols.iter().map(|c| c.name.clone()).collect(),
        });
        let mut outs = Vec::new();
        let mut bound = Ok(());
        for e in exprs {
            match self.compile(e, key_cols, env) {
                Ok(c) => outs.push(c),
                Err(e) => {
                    bound = Err(e);
                    break;
                }
            }
        }
        let specs = self.agg.take().map(|a| a.specs).unwrap_or_default();
        bound.map(|()| (outs, specs))
    }

    /// Binds a `make-series`'s keys over `columns` (then `extra`, a key the caller adds, such as
    /// DataFusion's bin number) and its aggregates over those keys.
    pub(crate) fn bind_series(
        &mut self,
        op: &Operator,
        ms: &'a crate::syntax::ast::MakeSeries,
        columns: &[Column],
        extra: Option<(CExpr, Column)>,
        env: &Env<'a>,
    ) -> Result<SeriesBinding, KqlError> {
        let mut key_exprs = Vec::new();
        let mut key_cols: Vec<Column> = Vec::new();
        for item in &ms.by {
            let (c, ty) = self.compile(&item.expr, columns, env)?;
            let taken: Vec<String> = key_cols.iter().map(|c| c.name.clone()).collect();
            let name = item
                .names
                .first()
                .cloned()
                .or_else(|| derive_name(&item.expr))
                .unwrap_or_else(|| fresh_name(&key_cols, &taken));
            key_exprs.push(c);
            key_cols.push(Column::new(name, ty));
        }
        if let Some((c, col)) = extra {
            key_exprs.push(c);
            key_cols.push(col);
        }
        let exprs = ms.aggs.iter().map(|(item, _)| &item.expr);
        let (outs, specs) = self.compile_aggregates(exprs, columns, &key_cols, env)?;
        if specs
            .iter()
            .any(|s| !s.row.is_empty() || s.percents.len() > 1)
        {
            return Err(self.unsupported_at(
                op.span,
                "arg_max, arg_min, take_any(*) and percentiles in make-series",
            ));
        }
        Ok(SeriesBinding {
            key_exprs,
            key_cols,
            specs,
            outs,
        })
    }
}

/// A `make-series` axis value as ticks or a number (`None`: the row is in no bin).
pub(crate) fn series_number(v: &Value) -> Option<f64> {
    match crate::value::convert::undyn(v) {
        Value::DateTime(x) | Value::TimeSpan(x) => Some(x as f64),
        other => crate::value::convert::as_f64(&other),
    }
}

/// How many bins `[from + i*step, from + (i+1)*step)` cover `from`..`to` (at most 100,000).
pub(crate) fn series_bins(from: f64, to: f64, step: f64) -> usize {
    (((to - from) / step).ceil().max(0.0) as usize).min(100_000)
}

/// The axis column's array: each bin's start, in the axis's type.
pub(crate) fn series_axis(
    from: f64,
    step: f64,
    bins: usize,
    axis_ty: ScalarType,
) -> Vec<serde_json::Value> {
    (0..bins)
        .map(|i| {
            let x = from + step * i as f64;
            match axis_ty {
                ScalarType::DateTime => crate::value::convert::datetime_json(x as i64),
                ScalarType::TimeSpan => Value::TimeSpan(x as i64).to_json(),
                ScalarType::Real | ScalarType::Decimal => Value::Real(x).to_json(),
                _ => Value::Long(x as i64).to_json(),
            }
        })
        .collect()
}

fn series_name(item: &NamedExpr, i: usize) -> String {
    if let Some(n) = item.names.first() {
        return n.clone();
    }
    match &item.expr.kind {
        ExprKind::Call { name, args } if aggregate::is_aggregate(name) => default_name(name, args),
        _ => format!("Column{}", i + 1),
    }
}

/// The groups seen so far, by their keys' values. One key, the common case, is hashed alone (no
/// vector of keys per row); no key is a single group, found without hashing.
enum GroupIndex<'s> {
    Whole,
    One {
        groups: HashMap<Key, usize, ahash::RandomState>,
        expr: &'s CExpr,
        ty: ScalarType,
    },
    Many(HashMap<Vec<Key>, usize, ahash::RandomState>),
}

/// Folds rows, one at a time, into groups (in the order first seen) and a state per aggregate
/// of each group.
pub(crate) struct Folder<'s> {
    key_exprs: &'s [CExpr],
    key_cols: &'s [Column],
    specs: &'s [AggSpec],
    // aHash with a random seed: as resistant to keys crafted to collide (the data may come
    // from an attacker's logs) as SipHash, at a fraction of its cost per row.
    index: GroupIndex<'s>,
    group_keys: Vec<Vec<Value>>,
    states: Vec<Vec<AggState>>,
    // One buffer each, reused row after row: a row that joins a known group allocates nothing.
    kv: Vec<Value>,
    key: Vec<Key>,
    args: Vec<Value>,
    kept: Vec<Value>,
}

impl<'s> Folder<'s> {
    pub(crate) fn new(
        key_exprs: &'s [CExpr],
        key_cols: &'s [Column],
        specs: &'s [AggSpec],
    ) -> Self {
        let index = match (key_exprs, key_cols) {
            ([], _) => GroupIndex::Whole,
            ([expr], [col]) => GroupIndex::One {
                groups: HashMap::default(),
                expr,
                ty: col.ty,
            },
            _ => GroupIndex::Many(HashMap::default()),
        };
        Folder {
            key_exprs,
            key_cols,
            specs,
            index,
            group_keys: Vec::new(),
            states: Vec::new(),
            kv: Vec::new(),
            key: Vec::new(),
            args: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Adds `row` to its group, opening the group on its first row.
    pub(crate) fn add(&mut self, row: Row<'_>) {
        let g = match &mut self.index {
            GroupIndex::Whole if !self.states.is_empty() => 0,
            GroupIndex::Whole => self.open(Vec::new()),
            GroupIndex::One { groups, expr, ty } => {
                // The key's value is borrowed from the row: copied only for a new group.
                let v = coerced(eval_ref(expr, row), *ty);
                let key = key_of(&v);
                match groups.get(&key) {
                    Some(&g) => g,
                    None => {
                        groups.insert(key, self.group_keys.len());
                        self.open(vec![v.into_owned()])
                    }
                }
            }
            GroupIndex::Many(groups) => {
                self.kv.clear();
                self.kv.extend(
                    self.key_exprs
                        .iter()
                        .zip(self.key_cols)
                        .map(|(c, col)| coerce(eval(c, row), col.ty)),
                );
                self.key.clear();
                self.key.extend(self.kv.iter().map(key_of));
                match groups.get(self.key.as_slice()) {
                    Some(&g) => g,
                    None => {
                        groups.insert(self.key.clone(), self.group_keys.len());
                        self.open(self.kv.clone())
                    }
                }
            }
        };
        let Some(states) = self.states.get_mut(g) else {
            return;
        };
        for (state, spec) in states.iter_mut().zip(self.specs) {
            match (spec.args.as_slice(), spec.row.is_empty()) {
                // No argument, or one (borrowed from the row): no copy of a value.
                ([], true) => state.update(&spec.method, &[], &[]),
                ([arg], true) => state.update(
                    &spec.method,
                    std::slice::from_ref(&*eval_ref(arg, row)),
                    &[],
                ),
                _ => {
                    self.args.clear();
                    self.args.extend(spec.args.iter().map(|a| eval(a, row)));
                    self.kept.clear();
                    self.kept
                        .extend(spec.row.iter().map(|(c, col)| coerce(eval(c, row), col.ty)));
                    state.update(&spec.method, &self.args, &self.kept);
                }
            }
        }
    }

    /// Opens a group with the key values `kv`: its index.
    fn open(&mut self, kv: Vec<Value>) -> usize {
        self.group_keys.push(kv);
        self.states
            .push(self.specs.iter().map(|s| s.state()).collect());
        self.group_keys.len() - 1
    }

    /// Each group's key values and states.
    pub(crate) fn finish(self) -> Groups {
        (self.group_keys, self.states)
    }
}
