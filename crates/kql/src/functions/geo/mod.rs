//! The geospatial functions (`geo_*`): H3 cells, S2 cells and geohashes (`cells`), S2 covers
//! of shapes (`cover`), measures and tests of points, lines and polygons given as GeoJSON
//! dynamic values (`shapes`), and the shapes made from others (`ops`: intersections, unions,
//! buffers). Coordinates are longitude and latitude in degrees. As Kusto's (built on S2), the
//! Earth is a sphere of radius 6,371,010 m whose shapes have great-circle edges; distances,
//! lengths and areas are in meters. Invalid input (a longitude outside [-180, 180], a latitude
//! outside [-90, 90], a malformed shape, a level out of range) answers null, or the empty
//! string for the functions that return a cell token, as Kusto does.
//!
//! Each of `cells`, `shapes`, `ops` and `cover` declares its functions in a `FUNCTIONS` table,
//! which `registry::families` gathers with the other families'.

pub(super) mod cells;
pub(super) mod cover;
mod geojson;
pub(super) mod ops;
pub(super) mod shapes;

use crate::value::Value;
use crate::value::convert::{as_f64, as_i64, undyn};

/// A finite number argument.
fn real(args: &[Value], i: usize) -> Option<f64> {
    args.get(i).and_then(as_f64).filter(|x| x.is_finite())
}

/// An optional finite number argument: `default` when absent, None when given but null or not a
/// number.
fn real_or(args: &[Value], i: usize, default: f64) -> Option<f64> {
    match args.get(i).map(undyn) {
        None => Some(default),
        Some(_) => real(args, i),
    }
}

/// A whole number argument.
fn int(args: &[Value], i: usize) -> Option<i64> {
    args.get(i).and_then(as_i64)
}

/// An optional whole number argument (`default` when absent, None when null).
fn int_or(args: &[Value], i: usize, default: i64) -> Option<i64> {
    match args.get(i).map(undyn) {
        None => Some(default),
        Some(_) => int(args, i),
    }
}

/// A string argument (None for anything else).
fn string(args: &[Value], i: usize) -> Option<String> {
    match args.get(i).map(undyn) {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// A valid longitude and latitude from arguments `i` and `i + 1`.
fn lng_lat(args: &[Value], i: usize) -> Option<(f64, f64)> {
    let (lng, lat) = (real(args, i)?, real(args, i + 1)?);
    valid(lng, lat).then_some((lng, lat))
}

fn valid(lng: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat)
}

fn or_null(v: Option<Value>) -> Value {
    v.unwrap_or(Value::Null)
}
