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
use crate::value::table::Table;
use crate::value::{ScalarType, Value};

impl<'a> Engine<'a> {
    /// Runs `geo_polygon_lookup` (`lines` false) or `geo_line_lookup` (`lines` true):
    /// (LookupTable, LookupKey, longitude, latitude [, radius] [, return_unmatched]
    /// [, return_lookup_key]), the options by position or by name.
    pub(super) fn geo_lookup(
        &mut self,
        op: &Operator,
        t: Table,
        lines: bool,
        args: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (positional, named): (Vec<&'a Expr>, Vec<&'a Expr>) = args
            .iter()
            .partition(|a| !matches!(a.kind, ExprKind::Named { .. }));
        if positional.len() < 4 {
            return Err(self.unsupported_at(op.span, "A geo lookup without its four arguments"));
        }
        let lookup = self.tabular(positional[0], env)?;
        let key = match &positional[1].kind {
            ExprKind::Name(n) => lookup.column_index(n),
            _ => None,
        };
        let Some(key) = key else {
            return Err(self.unsupported(positional[1], "This lookup key"));
        };
        let (lng, _) = self.compile(positional[2], &t.columns, env)?;
        let (lat, _) = self.compile(positional[3], &t.columns, env)?;
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
        let kept: Vec<usize> = (0..lookup.columns.len())
            .filter(|&c| with_key || c != key)
            .collect();
        let mut columns = t.columns.clone();
        columns.extend(kept.iter().map(|&c| lookup.columns[c].clone()));
        let empty: Vec<Value> = kept
            .iter()
            .map(|&c| match lookup.columns[c].ty {
                ScalarType::String => Value::str(""),
                _ => Value::Null,
            })
            .collect();
        let mut rows = Vec::new();
        for idx in 0..t.rows.len() {
            self.check()?;
            let row = Row { rows: &t.rows, idx };
            let point = [eval(&lng, row), eval(&lat, row)];
            let mut matched = false;
            for l in &lookup.rows {
                let shape = l[key].clone();
                let hit = match (lines, radius) {
                    (false, None) => {
                        let args = [point[0].clone(), point[1].clone(), shape];
                        functions::function("geo_point_in_polygon").eval(&args, ScalarType::Bool)
                            == Value::Bool(true)
                    }
                    (false, Some(r)) => within("geo_distance_point_to_polygon", &point, shape, r),
                    (true, r) => within(
                        "geo_distance_point_to_line",
                        &point,
                        shape,
                        r.unwrap_or(0.0),
                    ),
                };
                if hit {
                    matched = true;
                    let mut out = t.rows[idx].clone();
                    out.extend(kept.iter().map(|&c| l[c].clone()));
                    rows.push(out);
                }
            }
            if !matched && unmatched {
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
