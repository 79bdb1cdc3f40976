//! Tabular operators after `|`: the dispatch of every operator, the simple ones, and the helpers
//! the others share.

use crate::bind::context::{Binding, Engine, Env};
use crate::bind::eval::{eval, eval_ref};
use crate::bind::expr::{AggSpec, CExpr, Row, tuple_result};
use crate::bind::naming::derive_name;
use crate::error::KqlError;
use crate::functions;
use crate::functions::aggregate::AggState;
use crate::syntax::ast::{Expr, ExprKind, NamedExpr, Operator, OperatorKind, SortKey};
use crate::value::convert::{Key, as_i64, coerce, coerced, key_of, sort_cmp, truth};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::input::Input;

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
    pub part: Part,
    pub ty: ScalarType,
}

/// Where a result of a call of several results is in the value the call evaluates to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    /// A member of the bag of a tuple function (`series_fit_line(y).slope`).
    Result(&'static str),
    /// An element of an array of arrays (`array_sort_asc(a, b)[1]`).
    Element(usize),
}

/// The columns of a call of several results, each with its values.
pub(super) type SpreadColumns = Vec<(Spread, Vec<Value>)>;

impl Spread {
    /// This column's value out of `bag`, the value of the whole call.
    pub(crate) fn of(&self, bag: CExpr) -> CExpr {
        match self.part {
            Part::Result(result) => tuple_result(bag, result, self.ty),
            Part::Element(i) => {
                CExpr::Index(Box::new(bag), Box::new(CExpr::Lit(Value::Long(i as i64))))
            }
        }
    }

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
pub(super) fn put_column(t: &mut Table, name: String, ty: ScalarType, values: Vec<Value>) {
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

/// The columns of `left` then those of `right`, a right name the output has already numbered
/// (`longitude1`), as `join` and the geo lookups name them.
pub(crate) fn joined_columns<'c>(
    left: &[Column],
    right: impl IntoIterator<Item = &'c Column>,
) -> Vec<Column> {
    let mut columns = left.to_vec();
    for c in right {
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        columns.push(Column::new(unique_name(&names, &c.name), c.ty));
    }
    columns
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
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
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

/// Whether `expr` may call a function of several results, each a column of its own (see
/// [`Engine::bind_spread`]).
pub(crate) fn may_spread(expr: &Expr, env: &Env<'_>) -> bool {
    matches!(&expr.kind, ExprKind::Call { name, .. }
        if env.get(name).is_none()
            && (matches!(name.as_str(), "array_sort_asc" | "array_sort_desc")
                || functions::tuple(name).is_some()))
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
                    keep.push(truth(&eval(&c, Row { rows: &t.rows, idx })) == Some(true));
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
            OperatorKind::Render(visualization) => {
                self.visualization = Some(visualization.clone());
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
                } else if plugin == "geo_polygon_lookup" || plugin == "geo_line_lookup" {
                    self.geo_lookup(op, t, plugin == "geo_line_lookup", args, env)
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
                // The expanded columns are the subquery's: the input's columns of those names are
                // not carried over (`mv-apply rings on (summarize cells = make_list(rings))`
                // gives only `cells`), those expanded under another name are.
                let expanded: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.name.clone().or_else(|| derive_name(&i.expr)))
                    .collect();
                let kept: Vec<usize> = (0..t.columns.len())
                    .filter(|&i| !expanded.contains(&t.columns[i].name))
                    .collect();
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
                    let mut columns: Vec<Column> =
                        kept.iter().map(|&i| t.columns[i].clone()).collect();
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
                    let base: Vec<Value> = match original {
                        Some(row) => kept.iter().map(|&i| row[i].clone()).collect(),
                        None => vec![Value::Null; kept.len()],
                    };
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
            out.push(coerced(eval_ref(c, Row { rows: &t.rows, idx }), ty).into_owned());
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
        if !may_spread(expr, env) {
            return Ok(None);
        }
        if matches!(name.as_str(), "array_sort_asc" | "array_sort_desc") {
            return self.bind_sorted_arrays(columns, expr, args, names, keep_rest, env);
        }
        let Some(tuple) = functions::tuple(name) else {
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
                part: Part::Result(result),
                ty: *ty,
            });
        }
        Ok(Some((bag, out)))
    }

    /// `array_sort_asc(a1, a2, …[, nulls_last])` with several arrays returns as many, each a
    /// column Kusto names `a1_sorted`, `a2_sorted`, … (or as `(x, y) = …` says, by the rules of
    /// [`Self::bind_spread`]); with one array it is an ordinary call (None).
    fn bind_sorted_arrays(
        &mut self,
        columns: &[Column],
        expr: &'a Expr,
        args: &'a [Expr],
        names: &[String],
        keep_rest: bool,
        env: &Env<'a>,
    ) -> Result<Option<(CExpr, Vec<Spread>)>, KqlError> {
        let mut arrays = args.len();
        if let Some(last) = args.last()
            && self.compile(last, columns, env)?.1 == ScalarType::Bool
        {
            arrays -= 1;
        }
        if arrays < 2 {
            return Ok(None);
        }
        if names.len() > arrays {
            return Err(self.type_error(
                expr,
                &format!(
                    "the call returns {arrays} arrays, fewer than the {} names given",
                    names.len()
                ),
            ));
        }
        let (bag, _) = self.compile(expr, columns, env)?;
        let mut out = Vec::new();
        for (i, arg) in args.iter().take(arrays).enumerate() {
            let (name, declared) = match names.get(i) {
                Some(n) => (n.clone(), true),
                None if keep_rest || names.is_empty() => (
                    format!("{}_sorted", derive_name(arg).unwrap_or_default()),
                    false,
                ),
                None => continue,
            };
            out.push(Spread {
                name,
                declared,
                part: Part::Element(i),
                ty: ScalarType::Dynamic,
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
            let member = s.of(CExpr::Col(0));
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
            compiled.push(self.project_item(expr, given, &t.columns, &mut names, env)?);
        }
        self.projected(Input::Rows(&t.rows, None), compiled, 0)
    }

    /// A `project` item that is not a call of several results: its expression over `columns`
    /// and its column, named apart from `names` (which takes its name).
    pub(crate) fn project_item(
        &mut self,
        expr: &'a Expr,
        given: &[String],
        columns: &[Column],
        names: &mut Vec<String>,
        env: &Env<'a>,
    ) -> Result<(CExpr, Column), KqlError> {
        if given.len() > 1 {
            return Err(self.type_error(expr, "The expression does not have multiple values"));
        }
        let (c, ty) = self.compile(expr, columns, env)?;
        let name = projected_name(given.first().cloned(), expr, names);
        names.push(name.clone());
        Ok((c, Column::new(name, ty)))
    }

    /// The rows of `input` projected to `compiled`, each with room for `room` more columns (those
    /// an `extend` next adds, so that adding them moves no row).
    pub(crate) fn projected(
        &mut self,
        input: Input<'_>,
        compiled: Vec<(CExpr, Column)>,
        room: usize,
    ) -> Result<Table, KqlError> {
        let exprs: Vec<&CExpr> = compiled.iter().map(|(c, _)| c).collect();
        let mut rows = Vec::with_capacity(match &input {
            Input::Rows(rows, picked) => picked.map_or(rows.len(), <[usize]>::len),
            Input::Range(_) => 0,
        });
        self.each_row(input, &exprs, |row| {
            let mut out = Vec::with_capacity(compiled.len() + room);
            // A column of its own type, the common item, is copied once and not evaluated.
            out.extend(
                compiled
                    .iter()
                    .map(|(c, col)| coerced(eval_ref(c, row), col.ty).into_owned()),
            );
            rows.push(out);
        })?;
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
}

pub(super) fn self_location(engine: &Engine<'_>, op: &Operator) -> crate::error::Location {
    crate::error::Location::from_offset(engine.text, op.span.start)
}

pub(crate) fn too_many_rows(operator: &str) -> KqlError {
    KqlError::Runtime {
        message: format!(
            "{operator} produced more than {} rows; filter or summarize the input first",
            crate::exec::MAX_ROWS
        ),
    }
}

pub(super) fn select(t: Table, keep: &[usize]) -> Table {
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

pub(super) fn dotnet_type(t: ScalarType) -> &'static str {
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
