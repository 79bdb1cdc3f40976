//! Tabular operators after `|`.

use std::collections::HashMap;

use crate::bind::expr::{AggCollector, AggSpec, CExpr, Row, tuple_result};
use crate::bind::naming::{default_name, derive_name};
use crate::error::KqlError;
use crate::exec::eval::eval;
use crate::exec::{Binding, Engine, Env};
use crate::functions;
use crate::functions::aggregate::{self, AggState};
use crate::syntax::ast::{
    Expr, ExprKind, JoinOn, NamedExpr, Operator, OperatorKind, ParsePart, SortKey, Union,
};
use crate::value::convert::{Key, as_i64, coerce, key_of, sort_cmp, to_text};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

/// One output column of a `summarize`: an expression over the keys and the aggregates'
/// results, or the several columns of `arg_max`/`arg_min`/`take_any(*)`/`percentiles`.
pub(crate) enum Out {
    Expr(CExpr, ScalarType),
    Spread(usize),
}

/// A bound `summarize`.
pub(crate) struct Summary {
    pub key_exprs: Vec<CExpr>,
    pub key_cols: Vec<Column>,
    pub specs: Vec<AggSpec>,
    pub outs: Vec<Out>,
    pub out_cols: Vec<Column>,
}

/// The values `mv-expand` makes of one cell: an array's elements, a bag's properties (each a
/// one-property bag, or a `[key, value]` array with `kind=array`), or the value itself.
pub(crate) fn expansion(v: Value, as_array: bool) -> Vec<Value> {
    match v {
        Value::Dynamic(d) => match &*d {
            serde_json::Value::Array(a) => a.iter().map(|j| Value::dynamic(j.clone())).collect(),
            serde_json::Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    if as_array {
                        return Value::dynamic(serde_json::json!([k, v]));
                    }
                    let mut m = serde_json::Map::new();
                    m.insert(k.clone(), v.clone());
                    Value::dynamic(serde_json::Value::Object(m))
                })
                .collect(),
            serde_json::Value::Null => vec![Value::Null],
            _ => vec![Value::Dynamic(d.clone())],
        },
        other => vec![other],
    }
}

/// The name `union withsource=` gives the piped input: what `as` called it, or `union_arg0`.
pub(crate) fn piped_union_name(as_name: Option<String>) -> String {
    as_name.unwrap_or_else(|| "union_arg0".into())
}

/// The name `union withsource=` gives the input `e` in position `index`: the table's name,
/// what a final `as` called it, or `union_argN`.
pub(crate) fn union_input_name(e: &Expr, index: usize) -> String {
    match &e.kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Pipe { ops, .. } => match ops.last().map(|o| &o.kind) {
            Some(OperatorKind::As(n)) => n.clone(),
            _ => format!("union_arg{index}"),
        },
        _ => format!("union_arg{index}"),
    }
}

/// The first `ColumnN` name not taken.
pub(crate) fn fresh_name(columns: &[Column], taken: &[String]) -> String {
    (1..)
        .map(|n| format!("Column{n}"))
        .find(|c| !columns.iter().any(|x| x.name == *c) && !taken.contains(c))
        .unwrap_or_default()
}

/// A column a call of several results makes: its name, whether the query gave it, and which
/// of the results it holds.
pub(crate) struct Spread {
    pub name: String,
    pub declared: bool,
    pub result: &'static str,
    pub ty: ScalarType,
}

/// The columns of a call of several results, each with its values.
type SpreadColumns = Vec<(Spread, Vec<Value>)>;

impl Spread {
    /// Its name among `taken`: a name the query gave replaces a column, Kusto's own is made
    /// unique.
    pub(crate) fn name_among(&self, taken: &[String]) -> String {
        if self.declared {
            self.name.clone()
        } else {
            unique_name(taken, &self.name)
        }
    }
}

/// Sets the column `name` of `t` to `values`, replacing one of that name or adding it.
fn put_column(t: &mut Table, name: String, ty: ScalarType, values: Vec<Value>) {
    match t.column_index(&name) {
        Some(i) => {
            t.columns[i].ty = ty;
            for (row, v) in t.rows.iter_mut().zip(values) {
                row[i] = v;
            }
        }
        None => {
            t.columns.push(Column::new(name, ty));
            for (row, v) in t.rows.iter_mut().zip(values) {
                row.push(v);
            }
        }
    }
}

/// Each group's key values and its aggregates' states, in the order the groups were first seen.
pub(crate) type Groups = (Vec<Vec<Value>>, Vec<Vec<AggState>>);

/// The name of a `project` column: the given one, else the expression's own (suffixed when an
/// earlier column took it: `project T, startofday(T)` → `T`, `T1`), else `ColumnN`.
pub(crate) fn projected_name(given: Option<String>, expr: &Expr, taken: &[String]) -> String {
    given
        .or_else(|| derive_name(expr).map(|n| unique_name(taken, &n)))
        .unwrap_or_else(|| fresh_name(&[], taken))
}

/// A name not yet in `names`, suffixing 1, 2, … as Kusto does for duplicates.
pub(crate) fn unique_name(names: &[String], base: &str) -> String {
    if !names.iter().any(|n| n == base) {
        return base.to_string();
    }
    (1..)
        .map(|i| format!("{base}{i}"))
        .find(|c| !names.contains(c))
        .unwrap_or_default()
}

/// Shell-style match of a name against a pattern with `*`.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

pub(crate) fn key_row(vals: &[Value]) -> Vec<Key> {
    vals.iter().map(key_of).collect()
}

impl<'a> Engine<'a> {
    pub(crate) fn operator(
        &mut self,
        t: Table,
        op: &'a Operator,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        match &op.kind {
            OperatorKind::Where(pred) => {
                let (c, _) = self.compile(pred, &t.columns, env)?;
                let mut keep = Vec::with_capacity(t.rows.len());
                for idx in 0..t.rows.len() {
                    self.check()?;
                    keep.push(matches!(
                        crate::value::convert::undyn(&eval(&c, Row { rows: &t.rows, idx })),
                        Value::Bool(true)
                    ));
                }
                let rows = t
                    .rows
                    .into_iter()
                    .zip(keep)
                    .filter(|(_, k)| *k)
                    .map(|(r, _)| r)
                    .collect();
                Ok(Table {
                    columns: t.columns,
                    rows,
                })
            }
            OperatorKind::Extend(items) | OperatorKind::Serialize(items) => {
                self.extend(t, items, env)
            }
            OperatorKind::Project(items) => {
                let list = items.iter().map(|i| (&i.expr, &i.names[..])).collect();
                self.project(t, list, env)
            }
            OperatorKind::ProjectAway(pats) => {
                let drop = self.match_columns(&t, pats)?;
                let keep: Vec<usize> = (0..t.columns.len()).filter(|i| !drop.contains(i)).collect();
                Ok(select(t, &keep))
            }
            OperatorKind::ProjectKeep(pats) => {
                let mut keep = self.match_columns(&t, pats)?;
                keep.sort_unstable();
                keep.dedup();
                Ok(select(t, &keep))
            }
            OperatorKind::ProjectRename(pairs) => {
                let mut t = t;
                for (new, old) in pairs {
                    let i = t.column_index(old).ok_or_else(|| KqlError::Resolution {
                        location: self_location(self, op),
                        message: format!("Failed to resolve column named '{old}'"),
                    })?;
                    t.columns[i].name = new.clone();
                }
                Ok(t)
            }
            OperatorKind::ProjectReorder(keys) => {
                let mut order = Vec::new();
                for k in keys {
                    let mut found = self.match_columns(&t, std::slice::from_ref(&k.expr))?;
                    if matches!(k.expr.kind, ExprKind::Wildcard(_)) {
                        found.sort_by(|a, b| t.columns[*a].name.cmp(&t.columns[*b].name));
                        if k.desc {
                            found.reverse();
                        }
                    }
                    for i in found {
                        if !order.contains(&i) {
                            order.push(i);
                        }
                    }
                }
                order.extend(
                    (0..t.columns.len())
                        .filter(|i| !order.contains(i))
                        .collect::<Vec<_>>(),
                );
                Ok(select(t, &order))
            }
            OperatorKind::Summarize { aggs, by } => self.summarize(t, aggs, by, env),
            OperatorKind::Sort(keys) => self.sort(t, keys, env),
            OperatorKind::Top { count, keys } => {
                let n = self.count_arg(count, env)?;
                let mut t = self.sort(t, keys, env)?;
                t.rows.truncate(n);
                Ok(t)
            }
            OperatorKind::Take(count) => {
                let n = self.count_arg(count, env)?;
                let mut t = t;
                t.rows.truncate(n);
                Ok(t)
            }
            OperatorKind::Sample(count) => {
                let n = self.count_arg(count, env)?.min(t.rows.len());
                let picks = rand::seq::index::sample(&mut rand::rng(), t.rows.len(), n);
                let rows = picks
                    .iter()
                    .filter_map(|i| t.rows.get(i).cloned())
                    .collect();
                Ok(Table {
                    columns: t.columns,
                    rows,
                })
            }
            OperatorKind::Count => Ok(Table {
                columns: vec![Column::new("Count", ScalarType::Long)],
                rows: vec![vec![Value::Long(t.rows.len() as i64)]],
            }),
            OperatorKind::Distinct(exprs) => {
                let t = if exprs.iter().any(|e| matches!(e.kind, ExprKind::Star)) {
                    t
                } else {
                    self.project(t, exprs.iter().map(|e| (e, &[][..])).collect(), env)?
                };
                let mut seen = std::collections::HashSet::new();
                let rows = t
                    .rows
                    .into_iter()
                    .filter(|r| seen.insert(key_row(r)))
                    .collect();
                Ok(Table {
                    columns: t.columns,
                    rows,
                })
            }
            OperatorKind::Join { kind, right, on } => {
                let r = self.tabular(right, env)?;
                self.join(
                    op,
                    t,
                    kind.as_deref().unwrap_or("innerunique"),
                    r,
                    on,
                    false,
                )
            }
            OperatorKind::Lookup { kind, right, on } => {
                let r = self.tabular(right, env)?;
                self.join(op, t, kind.as_deref().unwrap_or("leftouter"), r, on, true)
            }
            OperatorKind::Union(u) => self.union(Some(t), u, env),
            OperatorKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(t, params, items, limit.as_ref(), env),
            OperatorKind::Parse {
                source,
                kind,
                flags,
                parts,
                filter,
            } => self.parse_op(op, t, source, (kind, flags), parts, *filter, env),
            OperatorKind::GetSchema => Ok(Table {
                columns: vec![
                    Column::new("ColumnName", ScalarType::String),
                    Column::new("ColumnOrdinal", ScalarType::Int),
                    Column::new("DataType", ScalarType::String),
                    Column::new("ColumnType", ScalarType::String),
                ],
                rows: t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        vec![
                            Value::str(&c.name),
                            Value::Int(i32::try_from(i).unwrap_or(i32::MAX)),
                            Value::str(dotnet_type(c.ty)),
                            Value::str(c.ty.name()),
                        ]
                    })
                    .collect(),
            }),
            OperatorKind::As(_) => Ok(t),
            OperatorKind::Render(kind) => {
                self.visualization = Some(kind.clone());
                Ok(t)
            }
            OperatorKind::Invoke(call) => match &call.kind {
                ExprKind::Call { name, args } => match env.get(name) {
                    Some(Binding::Function(f)) => {
                        let f = *f;
                        self.invoke(call, f, args, Some(t), env)
                    }
                    _ => Err(self
                        .resolution(call, &format!("Failed to resolve function named '{name}'"))),
                },
                _ => Err(self.type_error(call, "invoke needs a function call")),
            },
            OperatorKind::Evaluate { plugin, args } => {
                if crate::bind::guard::plugin_is_forbidden(plugin) {
                    Err(KqlError::Forbidden {
                        location: self_location(self, op),
                        construct: format!("The plugin '{plugin}'"),
                    })
                } else if plugin == "bag_unpack" {
                    self.bag_unpack(op, t, args, env)
                } else {
                    Err(self.unsupported_at(op.span, &format!("The plugin 'evaluate {plugin}'")))
                }
            }
            OperatorKind::Pivot(p) => self.pivot(t, p, env),
            OperatorKind::Partition { by, ops } => self.partition(op, t, by, ops, env),
            OperatorKind::Search(s) => self.search(Some(t), s, env),
            OperatorKind::TopNested(levels) => self.top_nested(op, t, levels, env),
            OperatorKind::MakeSeries(ms) => self.make_series(op, t, ms, env),
            OperatorKind::MvApply { items, limit, ops } => {
                let mut out: Option<Table> = None;
                let inputs: Vec<Table> = if t.rows.is_empty() {
                    vec![Table::new(t.columns.clone())]
                } else {
                    t.rows
                        .iter()
                        .map(|r| Table {
                            columns: t.columns.clone(),
                            rows: vec![r.clone()],
                        })
                        .collect()
                };
                for one in inputs {
                    let original = one.rows.first().cloned();
                    let mut sub = self.mv_expand(one, &[], items, limit.as_ref(), env)?;
                    for o in ops {
                        sub = self.operator(sub, o, env)?;
                    }
                    // Each result row is the original row with the subquery's columns laid over it.
                    let mut columns = t.columns.clone();
                    let mut slots = Vec::new();
                    for c in &sub.columns {
                        match columns.iter().position(|x| x.name == c.name) {
                            Some(i) => {
                                columns[i].ty = c.ty;
                                slots.push(i);
                            }
                            None => {
                                columns.push(c.clone());
                                slots.push(columns.len() - 1);
                            }
                        }
                    }
                    let base = original.unwrap_or_else(|| vec![Value::Null; t.columns.len()]);
                    let rows: Vec<Vec<Value>> = sub
                        .rows
                        .into_iter()
                        .map(|r| {
                            let mut row = base.clone();
                            row.resize(columns.len(), Value::Null);
                            for (v, slot) in r.into_iter().zip(&slots) {
                                row[*slot] = v;
                            }
                            row
                        })
                        .collect();
                    match &mut out {
                        None => out = Some(Table { columns, rows }),
                        Some(acc) => acc.rows.extend(rows),
                    }
                }
                Ok(out.unwrap_or_default())
            }
            OperatorKind::Other(name) => {
                Err(self.unsupported_at(op.span, &format!("The '{name}' operator")))
            }
        }
    }

    fn make_series(
        &mut self,
        op: &Operator,
        t: Table,
        ms: &'a crate::syntax::ast::MakeSeries,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (axis, axis_ty) = self.compile(&ms.axis, &t.columns, env)?;
        let mut key_exprs = Vec::new();
        let mut key_cols: Vec<Column> = Vec::new();
        for item in &ms.by {
            let (c, ty) = self.compile(&item.expr, &t.columns, env)?;
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
        self.agg = Some(AggCollector {
            input: t.columns.clone(),
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
        let mut defaults = Vec::new();
        for ((_, d), (_, ty)) in ms.aggs.iter().zip(&outs) {
            defaults.push(match d {
                Some(d) => coerce(self.constant(d, env)?, *ty),
                None => coerce(Value::Long(0), *ty),
            });
        }
        // The axis as ticks or numbers; bins are [start + i*step, start + (i+1)*step).
        let num = |v: &Value| -> Option<f64> {
            match crate::value::convert::undyn(v) {
                Value::DateTime(x) | Value::TimeSpan(x) => Some(x as f64),
                other => crate::value::convert::as_f64(&other),
            }
        };
        let step_v = self.constant(&ms.step, env)?;
        let step = num(&step_v)
            .filter(|s| *s > 0.0)
            .ok_or_else(|| self.type_error(&ms.step, "make-series needs a positive step"))?;
        let mut axis_vals = Vec::with_capacity(t.rows.len());
        for idx in 0..t.rows.len() {
            self.check()?;
            axis_vals.push(eval(&axis, Row { rows: &t.rows, idx }).clone());
        }
        let from = match &ms.from {
            Some(f) => num(&self.constant(f, env)?),
            None => axis_vals
                .iter()
                .filter_map(num)
                .reduce(f64::min)
                .map(|m| (m / step).floor() * step),
        };
        let to = match &ms.to {
            Some(e) => num(&self.constant(e, env)?),
            None => axis_vals
                .iter()
                .filter_map(num)
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
        let bins = (((to - from) / step).ceil().max(0.0) as usize).min(100_000);
        let mut groups: HashMap<Vec<Key>, usize> = HashMap::new();
        let mut group_keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<Option<Vec<AggState>>>> = Vec::new();
        for (idx, av) in axis_vals.iter().enumerate() {
            self.check()?;
            let Some(x) = num(av) else { continue };
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
        let axis_json: Vec<serde_json::Value> = (0..bins)
            .map(|i| {
                let x = from + step * i as f64;
                match axis_ty {
                    ScalarType::DateTime => crate::value::convert::datetime_json(x as i64),
                    ScalarType::TimeSpan => Value::TimeSpan(x as i64).to_json(),
                    ScalarType::Real | ScalarType::Decimal => Value::Real(x).to_json(),
                    _ => Value::Long(x as i64).to_json(),
                }
            })
            .collect();
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

    fn top_nested(
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

    fn bag_unpack(
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

    pub(crate) fn count_arg(&mut self, e: &'a Expr, env: &Env<'a>) -> Result<usize, KqlError> {
        let v = self.constant(e, env)?;
        as_i64(&v)
            .map(|n| n.max(0) as usize)
            .ok_or_else(|| self.type_error(e, "the row count must be a number"))
    }

    fn match_columns(&self, t: &Table, pats: &[Expr]) -> Result<Vec<usize>, KqlError> {
        let mut out = Vec::new();
        for p in pats {
            match &p.kind {
                ExprKind::Wildcard(w) => out.extend(
                    (0..t.columns.len()).filter(|i| wildcard_match(w, &t.columns[*i].name)),
                ),
                ExprKind::Star => out.extend(0..t.columns.len()),
                ExprKind::Name(n) => match t.column_index(n) {
                    Some(i) => out.push(i),
                    None => {
                        return Err(
                            self.resolution(p, &format!("Failed to resolve column named '{n}'"))
                        );
                    }
                },
                _ => {
                    return Err(
                        self.type_error(p, "a column name or a wildcard pattern was expected")
                    );
                }
            }
        }
        Ok(out)
    }

    fn column_values(
        &mut self,
        t: &Table,
        c: &CExpr,
        ty: ScalarType,
    ) -> Result<Vec<Value>, KqlError> {
        let mut out = Vec::with_capacity(t.rows.len());
        for idx in 0..t.rows.len() {
            self.check()?;
            out.push(coerce(eval(c, Row { rows: &t.rows, idx }), ty));
        }
        Ok(out)
    }

    fn extend(
        &mut self,
        mut t: Table,
        items: &'a [NamedExpr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let input_width = t.columns.len();
        for item in items {
            if let Some(spread) = self.spread(&t, &item.expr, &item.names, false, env)? {
                for (s, values) in spread {
                    let taken: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                    put_column(&mut t, s.name_among(&taken), s.ty, values);
                }
                continue;
            }
            if item.names.len() > 1 {
                return Err(
                    self.type_error(&item.expr, "The expression does not have multiple values")
                );
            }
            // pack_all() packs the extend's input columns, not those it adds alongside.
            let schema = match &item.expr.kind {
                ExprKind::Call { name, .. } if name == "pack_all" => &t.columns[..input_width],
                _ => &t.columns[..],
            };
            let (c, ty) = self.compile(&item.expr, schema, env)?;
            let name = item
                .names
                .first()
                .cloned()
                .or_else(|| derive_name(&item.expr))
                .unwrap_or_else(|| fresh_name(&t.columns, &[]));
            let values = self.column_values(&t, &c, ty)?;
            put_column(&mut t, name, ty, values);
        }
        Ok(t)
    }

    /// Binds `expr` when it calls a function of several results (`series_fit_line(y)`), else
    /// None: the call as the bag of its results, and the columns it makes. `(a, b) = f(y)` names
    /// the first results; the others (all of them when none is named) keep Kusto's names
    /// (`f_y_result`) when `keep_rest`, as in `project`, and are dropped otherwise, as in
    /// `extend`. Shared by both engines.
    pub(crate) fn bind_spread(
        &mut self,
        columns: &[Column],
        expr: &'a Expr,
        names: &[String],
        keep_rest: bool,
        env: &Env<'a>,
    ) -> Result<Option<(CExpr, Vec<Spread>)>, KqlError> {
        let ExprKind::Call { name, args } = &expr.kind else {
            return Ok(None);
        };
        let Some(tuple) = functions::tuple(name).filter(|_| env.get(name).is_none()) else {
            return Ok(None);
        };
        if names.len() > tuple.results.len() {
            return Err(self.type_error(
                expr,
                &format!(
                    "{name} has {} results, fewer than the {} names given",
                    tuple.results.len(),
                    names.len()
                ),
            ));
        }
        let bag = self.compile_tuple(expr, tuple, args, columns, env)?;
        let prefix: Vec<String> = [Some(name.clone()), args.first().and_then(derive_name)]
            .into_iter()
            .flatten()
            .collect();
        let mut out = Vec::new();
        for (i, (result, ty)) in tuple.results.iter().enumerate() {
            let (name, declared) = match names.get(i) {
                Some(n) => (n.clone(), true),
                None if keep_rest || names.is_empty() => {
                    (format!("{}_{result}", prefix.join("_")), false)
                }
                None => continue,
            };
            out.push(Spread {
                name,
                declared,
                result,
                ty: *ty,
            });
        }
        Ok(Some((bag, out)))
    }

    /// The columns of a call of several results with their values: the call runs once a row.
    fn spread(
        &mut self,
        t: &Table,
        expr: &'a Expr,
        names: &[String],
        keep_rest: bool,
        env: &Env<'a>,
    ) -> Result<Option<SpreadColumns>, KqlError> {
        let Some((bag, spread)) = self.bind_spread(&t.columns, expr, names, keep_rest, env)? else {
            return Ok(None);
        };
        let bags: Vec<Vec<Value>> = self
            .column_values(t, &bag, ScalarType::Dynamic)?
            .into_iter()
            .map(|b| vec![b])
            .collect();
        let mut out = Vec::with_capacity(spread.len());
        for s in spread {
            let member = tuple_result(CExpr::Col(0), s.result, s.ty);
            let mut values = Vec::with_capacity(bags.len());
            for idx in 0..bags.len() {
                self.check()?;
                values.push(coerce(eval(&member, Row { rows: &bags, idx }), s.ty));
            }
            out.push((s, values));
        }
        Ok(Some(out))
    }

    fn project(
        &mut self,
        mut t: Table,
        items: Vec<(&'a Expr, &'a [String])>,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let mut compiled = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (expr, given) in items {
            if let Some(spread) = self.spread(&t, expr, given, true, env)? {
                // Each result rides along as an unnamed input column until the rows are built.
                for (s, values) in spread {
                    let name = s.name_among(&names);
                    names.push(name.clone());
                    let at = t.columns.len();
                    put_column(&mut t, format!("\u{0}{at}"), s.ty, values);
                    compiled.push((CExpr::Col(at), Column::new(name, s.ty)));
                }
                continue;
            }
            if given.len() > 1 {
                return Err(self.type_error(expr, "The expression does not have multiple values"));
            }
            let (c, ty) = self.compile(expr, &t.columns, env)?;
            let name = projected_name(given.first().cloned(), expr, &names);
            names.push(name.clone());
            compiled.push((c, Column::new(name, ty)));
        }
        let mut rows = Vec::with_capacity(t.rows.len());
        for idx in 0..t.rows.len() {
            self.check()?;
            rows.push(
                compiled
                    .iter()
                    .map(|(c, col)| coerce(eval(c, Row { rows: &t.rows, idx }), col.ty))
                    .collect(),
            );
        }
        Ok(Table {
            columns: compiled.into_iter().map(|(_, c)| c).collect(),
            rows,
        })
    }

    fn sort(&mut self, t: Table, keys: &'a [SortKey], env: &Env<'a>) -> Result<Table, KqlError> {
        let mut compiled = Vec::new();
        for k in keys {
            let (c, ty) = self.compile(&k.expr, &t.columns, env)?;
            compiled.push((c, ty, k.desc, k.nulls_first.unwrap_or(!k.desc)));
        }
        let mut keyed: Vec<(Vec<Value>, Vec<Value>)> = Vec::with_capacity(t.rows.len());
        for idx in 0..t.rows.len() {
            self.check()?;
            let ks = compiled
                .iter()
                .map(|(c, ty, _, _)| coerce(eval(c, Row { rows: &t.rows, idx }), *ty))
                .collect();
            keyed.push((ks, Vec::new()));
        }
        for (k, row) in keyed.iter_mut().zip(t.rows) {
            k.1 = row;
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, (_, _, desc, nulls_first)) in compiled.iter().enumerate() {
                let (x, y) = (&a[i], &b[i]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if *nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if *nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    (false, false) => {
                        let o = sort_cmp(x, y);
                        if *desc { o.reverse() } else { o }
                    }
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        Ok(Table {
            columns: t.columns,
            rows: keyed.into_iter().map(|(_, r)| r).collect(),
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
        let mut groups: HashMap<Vec<Key>, usize> = HashMap::new();
        let mut group_keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<AggState>> = Vec::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            let row = Row { rows: &t.rows, idx };
            let kv: Vec<Value> = key_exprs
                .iter()
                .zip(key_cols)
                .map(|(c, col)| coerce(eval(c, row), col.ty))
                .collect();
            let g = *groups.entry(key_row(&kv)).or_insert_with(|| {
                group_keys.push(kv);
                states.push(specs.iter().map(|s| s.state()).collect());
                group_keys.len() - 1
            });
            for (state, spec) in states[g].iter_mut().zip(specs) {
                let args: Vec<Value> = spec.args.iter().map(|a| eval(a, row)).collect();
                let kept: Vec<Value> = spec
                    .row
                    .iter()
                    .map(|(c, col)| coerce(eval(c, row), col.ty))
                    .collect();
                state.update(&spec.name, &args, &kept);
            }
        }
        Ok((group_keys, states))
    }

    fn summarize(
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

    fn join(
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
        let mut names: Vec<String> = left.columns.iter().map(|c| c.name.clone()).collect();
        let mut columns = left.columns.clone();
        for &i in &right_keep {
            let n = unique_name(&names, &right.columns[i].name);
            names.push(n.clone());
            columns.push(Column::new(n, right.columns[i].ty));
        }
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
    fn merge_tables(
        &mut self,
        parts: Vec<(String, Table)>,
        source: Option<String>,
        inner: bool,
    ) -> Result<Table, KqlError> {
        let mut pairs: Vec<(String, ScalarType)> = Vec::new();
        for (_, t) in &parts {
            for c in &t.columns {
                if !pairs.contains(&(c.name.clone(), c.ty)) {
                    pairs.push((c.name.clone(), c.ty));
                }
            }
        }
        if inner {
            pairs.retain(|(n, ty)| {
                parts
                    .iter()
                    .all(|(_, t)| t.columns.iter().any(|c| c.name == *n && c.ty == *ty))
            });
        }
        let typed = |n: &str| pairs.iter().filter(|(m, _)| m == n).count() > 1;
        // Names kept as they are win; a `name_type` that collides with one gets a number.
        let mut taken: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| !typed(n))
            .map(|(n, _)| n.clone())
            .chain(source.clone())
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
        if let Some(s) = &source {
            columns.insert(0, Column::new(s.clone(), ScalarType::String));
        }
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
    fn partition(
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
    fn search_rows(
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
    fn searched_tables(
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

    fn search_predicate(
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
                name: "not".into(),
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

    fn mv_expand(
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

    #[allow(clippy::too_many_arguments)]
    fn parse_op(
        &mut self,
        op: &Operator,
        mut t: Table,
        source: &'a Expr,
        (kind, flags): (&str, &str),
        parts: &[ParsePart],
        filter: bool,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (src, _) = self.compile(source, &t.columns, env)?;
        let pattern = ParsePattern::new(kind, flags, parts).ok_or_else(|| KqlError::Syntax {
            location: self_location(self, op),
            found: "an invalid parse pattern".into(),
            expected: "a pattern of strings, '*' and column names".into(),
        })?;
        let cols = pattern.columns.clone();
        let mut targets = Vec::new();
        for (name, ty) in &cols {
            let idx = match t.column_index(name) {
                Some(i) => {
                    t.columns[i].ty = *ty;
                    i
                }
                None => {
                    t.columns.push(Column::new(name.clone(), *ty));
                    for r in &mut t.rows {
                        r.push(Value::Null);
                    }
                    t.columns.len() - 1
                }
            };
            targets.push((idx, *ty));
        }
        let mut keep = vec![true; t.rows.len()];
        let mut updates = Vec::with_capacity(t.rows.len());
        for (idx, kept) in keep.iter_mut().enumerate() {
            self.check()?;
            let text = to_text(&eval(&src, Row { rows: &t.rows, idx }));
            let vals = pattern.values(&text);
            *kept = vals.is_some() || !filter;
            updates.push(vals.unwrap_or_else(|| pattern.nulls()));
        }
        for (row, vals) in t.rows.iter_mut().zip(updates) {
            for ((target, _), v) in targets.iter().zip(vals) {
                row[*target] = v;
            }
        }
        let rows = t
            .rows
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(r, _)| r)
            .collect();
        Ok(Table {
            columns: t.columns,
            rows,
        })
    }
}

/// A `parse` operator's pattern: one regular expression with a named group per column.
#[derive(Debug, Clone)]
pub(crate) struct ParsePattern {
    regex: functions::Pattern,
    relaxed: bool,
    /// The columns it extracts, with their types.
    pub columns: Vec<(String, ScalarType)>,
}

impl ParsePattern {
    /// The pattern of `parse kind=… flags=… with parts`, or `None` when it is not a valid one.
    pub(crate) fn new(kind: &str, flags: &str, parts: &[ParsePart]) -> Option<ParsePattern> {
        let regex_kind = kind == "regex";
        // Regex mode is greedy unless flag U; simple mode matches the shortest text between literals.
        let flags: String = flags.chars().filter(|c| "imsU".contains(*c)).collect();
        let mut pattern = if regex_kind {
            if flags.is_empty() {
                String::new()
            } else {
                format!("(?{flags})")
            }
        } else {
            String::from("(?s)^")
        };
        let mut cols = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            match p {
                ParsePart::Literal(s) => pattern.push_str(&if regex_kind {
                    s.clone()
                } else {
                    regex::escape(s)
                }),
                ParsePart::Star => pattern.push_str(if regex_kind { ".*" } else { ".*?" }),
                ParsePart::Column { name, ty } => {
                    // Named groups, so groups inside regex literals do not shift the columns.
                    let number = match ty {
                        ScalarType::Int | ScalarType::Long => Some(r"-?\d+"),
                        ScalarType::Real | ScalarType::Decimal => {
                            Some(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
                        }
                        _ => None,
                    };
                    let any = if last || regex_kind { ".*" } else { ".*?" };
                    // Relaxed mode falls back to any text for a number and nulls what does not
                    // convert.
                    let body = match number {
                        Some(n) if kind == "relaxed" => format!("{n}|{any}"),
                        Some(n) => n.to_string(),
                        None => any.to_string(),
                    };
                    pattern.push_str(&format!("(?P<kqlcol{}>{body})", cols.len()));
                    cols.push((name.clone(), *ty));
                }
            }
        }
        if !regex_kind && matches!(parts.last(), Some(ParsePart::Literal(_))) && kind == "simple" {
            pattern.push('$');
        }
        Some(ParsePattern {
            regex: functions::regex(&pattern)?,
            relaxed: kind == "relaxed",
            columns: cols,
        })
    }

    /// The columns' values parsed from `text`, or `None` when it does not match (outside relaxed
    /// mode, a value that does not convert to its column's type fails the whole match).
    pub(crate) fn values(&self, text: &str) -> Option<Vec<Value>> {
        let caps = self.regex.over(text)?.captures(text)?;
        let mut unconverted = false;
        let vals = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| match caps.name(&format!("kqlcol{i}")) {
                Some(m) => {
                    let v = coerce(Value::str(m.as_str()), *ty);
                    unconverted |= v.is_null();
                    v
                }
                None => coerce(Value::Null, *ty),
            })
            .collect();
        (self.relaxed || !unconverted).then_some(vals)
    }

    /// The columns' values when the text does not match.
    pub(crate) fn nulls(&self) -> Vec<Value> {
        self.columns
            .iter()
            .map(|(_, ty)| coerce(Value::Null, *ty))
            .collect()
    }
}

fn self_location(engine: &Engine<'_>, op: &Operator) -> crate::error::Location {
    crate::error::Location::from_offset(engine.text, op.span.start)
}

/// The column name of a `make-series` aggregate (`avg_Price`, `count_`).
fn series_name(item: &NamedExpr, i: usize) -> String {
    if let Some(n) = item.names.first() {
        return n.clone();
    }
    match &item.expr.kind {
        ExprKind::Call { name, args } if aggregate::is_aggregate(name) => default_name(name, args),
        _ => format!("Column{}", i + 1),
    }
}

pub(crate) fn too_many_rows(operator: &str) -> KqlError {
    KqlError::Runtime {
        message: format!(
            "{operator} produced more than {} rows; filter or summarize the input first",
            crate::exec::MAX_ROWS
        ),
    }
}

fn select(t: Table, keep: &[usize]) -> Table {
    let columns = keep
        .iter()
        .filter_map(|i| t.columns.get(*i).cloned())
        .collect();
    let rows = t
        .rows
        .into_iter()
        .map(|r| {
            keep.iter()
                .map(|i| r.get(*i).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    Table { columns, rows }
}

fn dotnet_type(t: ScalarType) -> &'static str {
    match t {
        ScalarType::Bool => "System.SByte",
        ScalarType::Int => "System.Int32",
        ScalarType::Long => "System.Int64",
        ScalarType::Real => "System.Double",
        ScalarType::Decimal => "System.Data.SqlTypes.SqlDecimal",
        ScalarType::String => "System.String",
        ScalarType::DateTime => "System.DateTime",
        ScalarType::TimeSpan => "System.TimeSpan",
        ScalarType::Guid => "System.Guid",
        ScalarType::Dynamic => "System.Object",
    }
}
