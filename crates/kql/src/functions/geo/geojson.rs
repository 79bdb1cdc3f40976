//! GeoJSON dynamic values to `geo` geometries and back. A shape is valid as Kusto takes it:
//! coordinates are [longitude, latitude] with the latitude in [-90, 90] (points also need the
//! longitude in [-180, 180]); a line has two distinct points or more; a polygon's rings are
//! closed and have three distinct vertices or more.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value as J, json};

use crate::value::Value;

/// The GeoJSON shape an argument holds (a dynamic value or its JSON text).
pub(super) fn shape(v: Option<&Value>) -> Option<Geometry> {
    match v? {
        Value::Dynamic(d) => geometry(d),
        Value::String(s) => geometry(&serde_json::from_str(s).ok()?),
        _ => None,
    }
}

fn geometry(j: &J) -> Option<Geometry> {
    let o = j.as_object()?;
    let kind = o.get("type")?.as_str()?;
    if kind == "GeometryCollection" {
        let parts = o.get("geometries")?.as_array()?;
        return Some(Geometry::GeometryCollection(
            parts
                .iter()
                .map(geometry)
                .collect::<Option<Vec<_>>>()?
                .into(),
        ));
    }
    let c = o.get("coordinates")?;
    Some(match kind {
        "Point" => Geometry::Point(point(c)?),
        "LineString" => Geometry::LineString(line(c)?),
        "Polygon" => Geometry::Polygon(polygon(c)?),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            c.as_array()?.iter().map(point).collect::<Option<_>>()?,
        )),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            nonempty(c)?.iter().map(line).collect::<Option<_>>()?,
        )),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            nonempty(c)?.iter().map(polygon).collect::<Option<_>>()?,
        )),
        _ => return None,
    })
}

fn nonempty(c: &J) -> Option<&Vec<J>> {
    c.as_array().filter(|a| !a.is_empty())
}

fn coord(c: &J) -> Option<Coord> {
    let a = c.as_array()?;
    if a.len() < 2 {
        return None;
    }
    let (x, y) = (a[0].as_f64()?, a[1].as_f64()?);
    (x.is_finite() && (-90.0..=90.0).contains(&y)).then_some(Coord { x, y })
}

fn point(c: &J) -> Option<Point> {
    let p = coord(c)?;
    super::valid(p.x, p.y).then_some(Point(p))
}

fn coords(c: &J) -> Option<Vec<Coord>> {
    c.as_array()?.iter().map(coord).collect()
}

pub(super) fn distinct_points(cs: &[Coord]) -> usize {
    let mut seen: Vec<Coord> = Vec::new();
    for c in cs {
        if !seen.contains(c) {
            seen.push(*c);
            if seen.len() >= 3 {
                break;
            }
        }
    }
    seen.len()
}

fn line(c: &J) -> Option<LineString> {
    let cs = coords(c)?;
    (distinct_points(&cs) >= 2).then_some(LineString(cs))
}

fn ring(c: &J) -> Option<LineString> {
    let cs = coords(c)?;
    let closed = cs.len() >= 4 && cs.first() == cs.last() && distinct_points(&cs) >= 3;
    closed.then_some(LineString(cs))
}

fn polygon(c: &J) -> Option<Polygon> {
    let rings = nonempty(c)?;
    let outer = ring(&rings[0])?;
    let inner = rings[1..].iter().map(ring).collect::<Option<Vec<_>>>()?;
    Some(Polygon::new(outer, inner))
}

fn num(x: f64) -> J {
    serde_json::Number::from_f64(x).map_or(J::Null, J::Number)
}

fn pair(c: Coord) -> J {
    J::Array(vec![num(c.x), num(c.y)])
}

fn line_coords(l: &LineString) -> J {
    J::Array(l.0.iter().map(|c| pair(*c)).collect())
}

fn polygon_coords(p: &Polygon) -> J {
    J::Array(
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(line_coords)
            .collect(),
    )
}

fn typed(kind: &str, coordinates: J) -> J {
    let mut m = Map::new();
    m.insert("type".into(), J::String(kind.into()));
    m.insert("coordinates".into(), coordinates);
    J::Object(m)
}

/// A point as GeoJSON.
pub(super) fn point_json(lng: f64, lat: f64) -> J {
    typed("Point", J::Array(vec![num(lng), num(lat)]))
}

/// A polygon of one ring as GeoJSON.
pub(super) fn ring_json(ring: &[(f64, f64)]) -> J {
    let mut coords: Vec<J> = ring
        .iter()
        .map(|&(x, y)| J::Array(vec![num(x), num(y)]))
        .collect();
    if let (Some(first), Some(_)) = (coords.first().cloned(), coords.last()) {
        coords.push(first);
    }
    typed("Polygon", J::Array(vec![J::Array(coords)]))
}

/// A geometry as GeoJSON.
pub(super) fn to_json(g: &Geometry) -> J {
    match g {
        Geometry::Point(p) => point_json(p.x(), p.y()),
        Geometry::LineString(l) => typed("LineString", line_coords(l)),
        Geometry::Polygon(p) => typed("Polygon", polygon_coords(p)),
        Geometry::MultiPoint(m) => typed(
            "MultiPoint",
            J::Array(m.0.iter().map(|p| pair(p.0)).collect()),
        ),
        Geometry::MultiLineString(m) => typed(
            "MultiLineString",
            J::Array(m.0.iter().map(line_coords).collect()),
        ),
        Geometry::MultiPolygon(m) => typed(
            "MultiPolygon",
            J::Array(m.0.iter().map(polygon_coords).collect()),
        ),
        Geometry::GeometryCollection(c) => json!({
            "type": "GeometryCollection",
            "geometries": c.0.iter().map(to_json).collect::<Vec<_>>(),
        }),
        Geometry::Line(l) => typed("LineString", J::Array(vec![pair(l.start), pair(l.end)])),
        Geometry::Rect(r) => typed("Polygon", polygon_coords(&r.to_polygon())),
        Geometry::Triangle(t) => typed("Polygon", polygon_coords(&t.to_polygon())),
    }
}

/// A geometry as a dynamic value.
pub(super) fn value(g: &Geometry) -> Value {
    Value::dynamic(to_json(g))
}
