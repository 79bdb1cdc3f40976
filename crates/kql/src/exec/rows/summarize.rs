//! `summarize` and its relatives: make-series, top-nested, the grouping they share.

use std::collections::HashMap;

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{AggCollector, AggSpec, CExpr, Row};
use crate::bind::naming::{default_name, derive_name};
use crate::error::KqlError;
use crate::functions::aggregate::{self, AggState};
use crate::syntax::ast::{ExprKind, NamedExpr, Operator};
use crate::value::convert::{Key, coerce, key_of, sort_cmp};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::*;

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
                state.update(&spec.name, &args, &[]);
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
    pub(super) fn top_nested(
        &mut self,
        op: &Operator,
        t: Table,
        levels: &'a [crate::syntax::ast::TopNestedLevel],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        struct Level {
            count: usize,
            of: CExpr,
            of_col: Column,
            agg: CExpr,
            agg_col: Column,
            specs: Vec<AggSpec>,
            desc: bool,
        }
        let mut compiled = Vec::new();
        for (i, l) in levels.iter().enumerate() {
            if l.others.is_some() {
                return Err(self.unsupported_at(op.span, "top-nested 'with others'"));
            }
            let count = match &l.count {
                Some(c) => self.count_arg(c, env)?,
                None => usize::MAX,
            };
            let (of, of_ty) = self.compile(&l.of.expr, &t.columns, env)?;
            let of_name =
                l.of.names
                    .first()
                    .cloned()
                    .or_else(|| derive_name(&l.of.expr))
                    .unwrap_or_else(|| format!("Column{}", i + 1));
            self.agg = Some(AggCollector {
                input: t.columns.clone(),
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
            compiled.push(Level {
                count,
                of,
                of_col: Column::new(of_name, of_ty),
                agg,
                agg_col: Column::new(agg_name, agg_ty),
                specs,
                desc: l.desc,
            });
        }
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
                            state.update(&spec.name, &args, &[]);
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
        self.agg = Some(AggCollector {
            input: columns.to_vec(),
            specs: Vec::new(),
            keys: key_cols.len(),
            key_names: key_cols.iter().map(|c| c.name.clone()).collect(),
        });
        let mut outs = Vec::new();
        let mut bound = Ok(());
        for item in aggs {
            match self.compile(&item.expr, &key_cols, env) {
                Ok(c) => outs.push(c),
                Err(e) => {
                    bound = Err(e);
                    break;
                }
            }
        }
        let specs = self.agg.take().map(|a| a.specs).unwrap_or_default();
        bound?;
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
                let default = if matches!(
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
                };
                let n = item
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| unique_name(&taken(&out_cols), &default));
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
        // aHash with a random seed: as resistant to keys crafted to collide (the data may come
        // from an attacker's logs) as SipHash, at a fraction of its cost per row.
        let mut groups: HashMap<Vec<Key>, usize, ahash::RandomState> = HashMap::default();
        let mut group_keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<AggState>> = Vec::new();
        // One buffer each, reused row after row: a row that joins a known group allocates nothing.
        let (mut kv, mut key, mut args, mut kept) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for idx in 0..t.rows.len() {
            self.check()?;
            let row = Row { rows: &t.rows, idx };
            kv.clear();
            kv.extend(
                key_exprs
                    .iter()
                    .zip(key_cols)
                    .map(|(c, col)| coerce(eval(c, row), col.ty)),
            );
            key.clear();
            key.extend(kv.iter().map(key_of));
            let g = match groups.get(key.as_slice()) {
                Some(&g) => g,
                None => {
                    group_keys.push(kv.clone());
                    states.push(specs.iter().map(|s| s.state()).collect());
                    groups.insert(key.clone(), group_keys.len() - 1);
                    group_keys.len() - 1
                }
            };
            for (state, spec) in states[g].iter_mut().zip(specs) {
                args.clear();
                args.extend(spec.args.iter().map(|a| eval(a, row)));
                kept.clear();
                kept.extend(spec.row.iter().map(|(c, col)| coerce(eval(c, row), col.ty)));
                state.update(&spec.name, &args, &kept);
            }
        }
        Ok((group_keys, states))
    }
    pub(super) fn summarize(
        &mut self,
        t: Table,
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
        } = self.bind_summarize(&t.columns, aggs, by, env)?;
        let (mut group_keys, mut states) = self.fold_groups(&t, &key_exprs, &key_cols, &specs)?;
        if key_exprs.is_empty() && group_keys.is_empty() {
            group_keys.push(Vec::new());
            states.push(specs.iter().map(|s| s.state()).collect());
        }
        let mut rows = Vec::with_capacity(group_keys.len());
        for (keys, st) in group_keys.into_iter().zip(states) {
            let finished: Vec<Vec<Value>> = st
                .iter()
                .zip(&specs)
                .map(|(s, spec)| s.finish(spec.ty, &spec.percents, spec.row.len().max(1)))
                .collect();
            let mut slots = keys.clone();
            slots.extend(
                finished
                    .iter()
                    .map(|f| f.first().cloned().unwrap_or(Value::Null)),
            );
            let slot_rows = [slots];
            let mut row = keys;
            for p in &plan {
                match p {
                    Out::Expr(c, ty) => row.push(coerce(
                        eval(
                            c,
                            Row {
                                rows: &slot_rows,
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

impl<'a> Engine<'a> {
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
        self.agg = Some(AggCollector {
            input: columns.to_vec(),
            specs: Vec::new(),
            keys: key_cols.len(),
            key_names: key_cols.iter().map(|c| c.name.clone()).collect(),
        });
        let mut outs = Vec::new();
        let mut bound = Ok(());
        for (item, _) in &ms.aggs {
            match self.compile(&item.expr, &key_cols, env) {
                Ok(c) => outs.push(c),
                Err(e) => {
                    bound = Err(e);
                    break;
                }
            }
        }
        let specs = self.agg.take().map(|a| a.specs).unwrap_or_default();
        bound?;
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
