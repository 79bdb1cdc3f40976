//! `evaluate geo_polygon_lookup(…)` and `evaluate geo_line_lookup(…)`: each row's point joined
//! with the lookup table's rows whose polygon holds it (or is within a radius of it) or whose
//! line is within a radius of it. The tests are the geo functions' own
//! (`geo_point_in_polygon`, `geo_distance_point_to_polygon`, `geo_distance_point_to_line`).

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::Row;
use crate::error::KqlError;
use crate::functions;
use crate::syntax::ast::{Expr, ExprKind, Operator};
use crate::value::convert::{as_f64, to_text};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

use super::ops::joined_columns;

/// `evaluate geo_polygon_lookup(…)` or `geo_line_lookup(…)`, its arguments read: both executors
/// join with it.
pub(crate) struct GeoLookup<'a> {
    pub lookup: &'a Expr,
    key: &'a Expr,
    pub longitude: &'a Expr,
    pub latitude: &'a Expr,
    pub hit: GeoHit,
    /// Whether a point that matches no shape stays, with empty lookup columns.
    pub unmatched: bool,
    with_key: bool,
}

impl GeoLookup<'_> {
    /// The lookup key's column among the lookup table's `columns`.
    pub(crate) fn key(&self, columns: &[Column]) -> Option<usize> {
        match &self.key.kind {
            ExprKind::Name(n) => columns.iter().position(|c| c.name == *n),
            _ => None,
        }
    }

    /// The lookup table's columns the output adds after the input's, by position.
    pub(crate) fn kept(&self, columns: &[Column], key: usize) -> Vec<usize> {
        (0..columns.len())
            .filter(|&c| self.with_key || c != key)
            .collect()
    }
}

/// What makes a shape match a point: holding it (a polygon without a radius), or being within
/// the radius of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GeoHit {
    pub lines: bool,
    pub radius: Option<f64>,
}

impl GeoHit {
    /// Whether `shape` matches the point (`longitude`, `latitude`).
    pub(crate) fn test(&self, longitude: Value, latitude: Value, shape: Value) -> bool {
        let point = [longitude, latitude];
        match (self.lines, self.radius) {
            (false, None) => {
                let [lng, lat] = point;
                functions::function("geo_point_in_polygon")
                    .eval(&[lng, lat, shape], ScalarType::Bool)
                    == Value::Bool(true)
            }
            (false, Some(r)) => within("geo_distance_point_to_polygon", &point, shape, r),
            (true, r) => within(
                "geo_distance_point_to_line",
                &point,
                shape,
                r.unwrap_or(0.0),
            ),
        }
    }
}

/// A lookup column's cell on a row whose point matches no shape.
pub(crate) fn unmatched_cell(ty: ScalarType) -> Value {
    match ty {
        ScalarType::String => Value::str(""),
        _ => Value::Null,
    }
}

impl<'a> Engine<'a> {
    /// The arguments of `geo_polygon_lookup` (`lines` false) or `geo_line_lookup` (`lines`
    /// true): (LookupTable, LookupKey, longitude, latitude [, radius] [, return_unmatched]
    /// [, return_lookup_key]), the options by position or by name.
    pub(crate) fn geo_lookup_args(
        &mut self,
        op: &Operator,
        lines: bool,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<GeoLookup<'a>, KqlError> {
        let (positional, named): (Vec<&'a Expr>, Vec<&'a Expr>) = args
            .iter()
            .partition(|a| !matches!(a.kind, ExprKind::Named { .. }));
        if positional.len() < 4 {
            return Err(self.unsupported_at(op.span, "A geo lookup without its four arguments"));
        }
        let (mut radius, mut unmatched, mut with_key) = (None, false, false);
        let options = ["radius", "return_unmatched", "return_lookup_key"];
        for (i, a) in positional.iter().enumerate().skip(4) {
            let name = options.get(i - 4).copied().unwrap_or_default();
            self.lookup_option(name, a, env, &mut radius, &mut unmatched, &mut with_key)?;
        }
        for a in named {
            if let ExprKind::Named { name, value } = &a.kind {
                let name = name.to_ascii_lowercase();
                self.lookup_option(
                    &name,
                    value,
                    env,
                    &mut radius,
                    &mut unmatched,
                    &mut with_key,
                )?;
            }
        }
        if lines && radius.is_none() {
            return Err(self.unsupported_at(op.span, "geo_line_lookup without a radius"));
        }
        Ok(GeoLookup {
            lookup: positional[0],
            key: positional[1],
            longitude: positional[2],
            latitude: positional[3],
            hit: GeoHit { lines, radius },
            unmatched,
            with_key,
        })
    }

    /// Runs `geo_polygon_lookup` (`lines` false) or `geo_line_lookup` (`lines` true).
    pub(super) fn geo_lookup(
        &mut self,
        op: &Operator,
        t: Table,
        lines: bool,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let g = self.geo_lookup_args(op, lines, args, env)?;
        let lookup = self.tabular(g.lookup, env)?;
        let Some(key) = g.key(&lookup.columns) else {
            return Err(self.unsupported(g.key, "This lookup key"));
        };
        let (lng, _) = self.compile(g.longitude, &t.columns, env)?;
        let (lat, _) = self.compile(g.latitude, &t.columns, env)?;
        let kept = g.kept(&lookup.columns, key);
        let columns = joined_columns(&t.columns, kept.iter().map(|&c| &lookup.columns[c]));
        let empty: Vec<Value> = (kept.iter())
            .map(|&c| unmatched_cell(lookup.columns[c].ty))
            .collect();
        let mut rows = Vec::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            let row = Row { rows: &t.rows, idx };
            let point = (eval(&lng, row), eval(&lat, row));
            let mut matched = false;
            for l in &lookup.rows {
                if (g.hit).test(point.0.clone(), point.1.clone(), l[key].clone()) {
                    matched = true;
                    let mut out = t.rows[idx].clone();
                    out.extend(kept.iter().map(|&c| l[c].clone()));
                    rows.push(out);
                }
            }
            if !matched && g.unmatched {
                let mut out = t.rows[idx].clone();
                out.extend(empty.iter().cloned());
                rows.push(out);
            }
        }
        Ok(Table { columns, rows })
    }

    fn lookup_option(
        &mut self,
        name: &str,
        value: &'a Expr,
        env: &Env<'a>,
        radius: &mut Option<f64>,
        unmatched: &mut bool,
        with_key: &mut bool,
    ) -> Result<(), KqlError> {
        let v = self.constant(value, env)?;
        match name {
            "radius" => *radius = as_f64(&v),
            "return_unmatched" => *unmatched = to_text(&v) == "true",
            "return_lookup_key" => *with_key = to_text(&v) == "true",
            _ => return Err(self.unsupported(value, "This geo lookup argument")),
        }
        Ok(())
    }
}

/// Whether a shape is within `r` meters of a point (by the geo function `distance`).
fn within(distance: &str, point: &[Value; 2], shape: Value, r: f64) -> bool {
    let args = [point[0].clone(), point[1].clone(), shape];
    matches!(functions::function(distance).eval(&args, ScalarType::Real), Value::Real(d) if d <= r)
}
