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

/// `evaluate bag_unpack(column [, OutputColumnPrefix] [, columnsConflict] [,
/// ignoredProperties])`, its options read. Both executors lay the output out with it.
pub(crate) struct BagUnpack<'a> {
    /// The bags' expression.
    pub bag: &'a Expr,
    prefix: String,
    conflict: String,
    ignored: Vec<String>,
}

impl BagUnpack<'_> {
    /// The unpacked table over an input of `columns` (`source`: the bag's column, when it is
    /// one) given each property seen with its column type ([`PropertyKinds::types`]): the input
    /// columns kept (by position), then each property's key and column, in order.
    pub(crate) fn layout(
        &self,
        columns: &[Column],
        source: Option<usize>,
        props: Vec<(String, ScalarType)>,
    ) -> (Vec<usize>, Vec<(String, Column)>) {
        let index = |name: &str| columns.iter().position(|c| c.name == name);
        let mut props: Vec<(String, ScalarType)> = (props.into_iter())
            .filter(|(k, _)| !self.ignored.contains(k))
            .collect();
        props.sort_by(|a, b| a.0.cmp(&b.0));
        // A property named like an existing column: `replace_source` drops that column,
        // `keep_source` drops the property, otherwise both stay (the property renamed).
        let clashes = |name: &str| index(&format!("{}{name}", self.prefix)).is_some();
        match self.conflict.as_str() {
            "keep_source" => props.retain(|(k, _)| !clashes(k)),
            "replace_source" => props.sort_by_key(|(k, _)| (!clashes(k), k.clone())),
            _ => {}
        }
        let replaced: Vec<usize> = match self.conflict.as_str() {
            "replace_source" => (props.iter())
                .filter_map(|(k, _)| index(&format!("{}{k}", self.prefix)))
                .collect(),
            _ => Vec::new(),
        };
        let keep: Vec<usize> = (0..columns.len())
            .filter(|i| Some(*i) != source && !replaced.contains(i))
            .collect();
        let names: Vec<String> = keep.iter().map(|&i| columns[i].name.clone()).collect();
        let unpacked = (props.into_iter())
            .map(|(k, ty)| {
                let name = unique_name(&names, &format!("{}{k}", self.prefix));
                (k, Column::new(name, ty))
            })
            .collect();
        (keep, unpacked)
    }
}

/// The properties a bag value holds (none for a value that is not a bag).
pub(crate) fn bag_of(v: &Value) -> Option<&serde_json::Map<String, serde_json::Value>> {
    match v {
        Value::Dynamic(d) => d.as_object(),
        _ => None,
    }
}

/// The column type a property's value asks for: `None` for a null, which asks for none.
pub(crate) fn property_kind(v: &serde_json::Value) -> Option<ScalarType> {
    match v {
        serde_json::Value::String(_) => Some(ScalarType::String),
        serde_json::Value::Bool(_) => Some(ScalarType::Bool),
        serde_json::Value::Number(n) if n.is_i64() => Some(ScalarType::Long),
        serde_json::Value::Number(_) => Some(ScalarType::Real),
        serde_json::Value::Null => None,
        _ => Some(ScalarType::Dynamic),
    }
}

/// The kinds of value each property was seen with, which decide its column's type.
#[derive(Default)]
pub(crate) struct PropertyKinds(std::collections::BTreeMap<String, Vec<ScalarType>>);

impl PropertyKinds {
    pub(crate) fn add(&mut self, key: &str, kind: Option<ScalarType>) {
        let kinds = match self.0.get_mut(key) {
            Some(kinds) => kinds,
            None => self.0.entry(key.to_string()).or_default(),
        };
        if let Some(kind) = kind
            && !kinds.contains(&kind)
        {
            kinds.push(kind);
        }
    }

    /// Each property with its column type: like Kusto, a property whose values all share one
    /// JSON kind gets that type, any other `dynamic`.
    pub(crate) fn types(self) -> Vec<(String, ScalarType)> {
        (self.0.into_iter())
            .map(|(k, kinds)| match kinds.as_slice() {
                [one] => (k, *one),
                _ => (k, ScalarType::Dynamic),
            })
            .collect()
    }
}

/// A property's cell in its column of type `ty` (null where the bag lacks it).
pub(crate) fn property_value(v: Option<&serde_json::Value>, ty: ScalarType) -> Value {
    match v {
        None | Some(serde_json::Value::Null) => coerce(Value::Null, ty),
        Some(v) => coerce(crate::value::convert::undyn(&Value::dynamic(v.clone())), ty),
    }
}

impl<'a> Engine<'a> {
    /// `evaluate bag_unpack`'s arguments: the bag, then the options by position or by name.
    pub(crate) fn bag_unpack_args(
        &mut self,
        op: &Operator,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<BagUnpack<'a>, KqlError> {
        let Some(bag) = args.first() else {
            return Err(self.unsupported_at(op.span, "bag_unpack without a column"));
        };
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
        Ok(BagUnpack {
            bag,
            prefix,
            conflict,
            ignored,
        })
    }

    pub(super) fn bag_unpack(
        &mut self,
        op: &Operator,
        t: Table,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let unpack = self.bag_unpack_args(op, args, env)?;
        let (c, _) = self.compile(unpack.bag, &t.columns, env)?;
        let source = match &unpack.bag.kind {
            ExprKind::Name(n) => t.column_index(n),
            _ => None,
        };
        let mut bags = Vec::with_capacity(t.rows.len());
        let mut seen = PropertyKinds::default();
        for idx in 0..t.rows.len() {
            self.check()?;
            let bag = bag_of(&eval(&c, Row { rows: &t.rows, idx })).cloned();
            let bag = bag.unwrap_or_default();
            bag.iter().for_each(|(k, v)| seen.add(k, property_kind(v)));
            bags.push(bag);
        }
        let (keep, props) = unpack.layout(&t.columns, source, seen.types());
        // A cell per row and key: rows with keys of their own make a table of rows × keys.
        self.budget.reserve(
            bags.len()
                .saturating_mul(props.len())
                .saturating_mul(std::mem::size_of::<Value>()),
        )?;
        let mut out = select(t, &keep);
        for (row, bag) in out.rows.iter_mut().zip(bags) {
            self.budget.stopped()?;
            for (k, col) in &props {
                row.push(property_value(bag.get(k), col.ty));
            }
        }
        out.columns.extend(props.into_iter().map(|(_, c)| c));
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
