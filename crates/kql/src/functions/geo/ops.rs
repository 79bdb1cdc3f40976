//! Operations that make new shapes: intersections and unions of lines and polygons, and a
//! point's buffer. Crossings of lines are the `s2` crate's (great-circle edges, as Kusto's);
//! intersections and unions of polygons are `geo`'s boolean operations on the (longitude,
//! latitude) plane, close to Kusto's for the small shapes they are used on.

use geo::{BooleanOps, Destination, Geometry, LineString, MultiLineString, MultiPolygon, Point};
use s2::edge_crossings::{Crossing, crossing_sign, get_intersection};
use serde_json::{Value as J, json};

use super::geojson::{shape, value};
use super::shapes::{EARTH, arg_point, lines, polygons};
use super::{Entry, or_null, real, real_or};
use crate::value::{ScalarType, Value};

use ScalarType::Dynamic;

pub(super) const FUNCTIONS: [Entry; 6] = [
    ("geo_intersection_2lines", Dynamic, intersection_2lines),
    (
        "geo_intersection_2polygons",
        Dynamic,
        intersection_2polygons,
    ),
    (
        "geo_intersection_line_with_polygon",
        Dynamic,
        intersection_line_with_polygon,
    ),
    ("geo_point_buffer", Dynamic, point_buffer),
    (
        "geo_simplify_polygons_array",
        Dynamic,
        simplify_polygons_array,
    ),
    ("geo_union_polygons_array", Dynamic, union_polygons_array),
];

fn empty_collection() -> Value {
    Value::dynamic(json!({"type": "GeometryCollection", "geometries": []}))
}

fn unit(c: geo::Coord) -> s2::point::Point {
    s2::point::Point::from(s2::latlng::LatLng::from_degrees(c.y, c.x))
}

fn degrees(p: &s2::point::Point) -> geo::Coord {
    let ll = s2::latlng::LatLng::from(p);
    geo::Coord {
        x: ll.lng.deg(),
        y: ll.lat.deg(),
    }
}

/// Points and shared segments as one GeoJSON geometry: a Point, LineString, their Multi forms,
/// a GeometryCollection when both kinds are there, an empty one when there is nothing.
fn assemble(points: Vec<geo::Coord>, mut segments: Vec<LineString>) -> Value {
    let geometry = match (points.len(), segments.len()) {
        (0, 0) => return empty_collection(),
        (1, 0) => Geometry::Point(Point(points[0])),
        (_, 0) => Geometry::MultiPoint(points.into_iter().map(Point).collect()),
        (0, 1) => Geometry::LineString(segments.swap_remove(0)),
        (0, _) => Geometry::MultiLineString(MultiLineString(segments)),
        _ => Geometry::GeometryCollection(
            points
                .into_iter()
                .map(|p| Geometry::Point(Point(p)))
                .chain(segments.into_iter().map(Geometry::LineString))
                .collect(),
        ),
    };
    value(&geometry)
}

/// Where two lines meet: the crossings of their edges (on the sphere), their shared vertices,
/// and the edges they share.
fn intersection_2lines(args: &[Value]) -> Value {
    or_null((|| {
        let (a, b) = (lines(args, 0)?, lines(args, 1)?);
        let mut points: Vec<geo::Coord> = Vec::new();
        let mut segments: Vec<LineString> = Vec::new();
        let mut checked = 0usize;
        for la in &a {
            for sa in la.lines() {
                for lb in &b {
                    for sb in lb.lines() {
                        checked += 1;
                        if checked.is_multiple_of(4096) && crate::budget::check().is_err() {
                            return None;
                        }
                        let same = (sa.start == sb.start && sa.end == sb.end)
                            || (sa.start == sb.end && sa.end == sb.start);
                        if same {
                            let seg = LineString(vec![sa.start, sa.end]);
                            if !segments.contains(&seg) {
                                segments.push(seg);
                            }
                            continue;
                        }
                        let (a0, a1, b0, b1) =
                            (unit(sa.start), unit(sa.end), unit(sb.start), unit(sb.end));
                        let at = match crossing_sign(&a0, &a1, &b0, &b1) {
                            Crossing::Cross => degrees(&get_intersection(&a0, &a1, &b0, &b1)),
                            Crossing::MaybeCross => {
                                match [sa.start, sa.end]
                                    .into_iter()
                                    .find(|c| *c == sb.start || *c == sb.end)
                                {
                                    Some(c) => c,
                                    None => continue,
                                }
                            }
                            Crossing::DoNotCross => continue,
                        };
                        if !points.contains(&at) {
                            points.push(at);
                        }
                    }
                }
            }
        }
        // A point on a shared segment is part of it.
        points.retain(|p| !segments.iter().any(|s| s.0.contains(p)));
        Some(assemble(points, segments))
    })())
}

fn polygon_result(m: MultiPolygon) -> Value {
    match m.0.len() {
        0 => empty_collection(),
        1 => value(&Geometry::Polygon(m.0.into_iter().next().unwrap_or_else(
            || geo::Polygon::new(LineString(Vec::new()), Vec::new()),
        ))),
        _ => value(&Geometry::MultiPolygon(m)),
    }
}

fn intersection_2polygons(args: &[Value]) -> Value {
    or_null((|| {
        let (a, b) = (polygons(args, 0)?, polygons(args, 1)?);
        Some(polygon_result(
            MultiPolygon(a).intersection(&MultiPolygon(b)),
        ))
    })())
}

fn intersection_line_with_polygon(args: &[Value]) -> Value {
    or_null((|| {
        let (l, p) = (lines(args, 0)?, polygons(args, 1)?);
        let clipped = MultiPolygon(p).clip(&MultiLineString(l), false);
        Some(match clipped.0.len() {
            0 => empty_collection(),
            1 => value(&Geometry::LineString(clipped.0.into_iter().next()?)),
            _ => value(&Geometry::MultiLineString(clipped)),
        })
    })())
}

/// The polygons of a dynamic array of Polygon or MultiPolygon values (None if one is not).
fn polygon_array(args: &[Value]) -> Option<Vec<geo::Polygon>> {
    let Value::Dynamic(d) = args.first()? else {
        return None;
    };
    let items = d.as_array()?;
    let mut out = Vec::new();
    for item in items {
        match shape(Some(&Value::dynamic(item.clone())))? {
            Geometry::Polygon(p) => out.push(p),
            Geometry::MultiPolygon(m) => out.extend(m.0),
            _ => return None,
        }
    }
    Some(out)
}

fn union_polygons_array(args: &[Value]) -> Value {
    or_null((|| {
        let ps = polygon_array(args)?;
        Some(polygon_result(geo::unary_union(&ps)))
    })())
}

/// The union of the polygons, simplified with the tolerance in meters (Kusto's range: 0 to
/// under 1,000,000, 10 by default).
fn simplify_polygons_array(args: &[Value]) -> Value {
    or_null((|| {
        let t = real_or(args, 1, 10.0).filter(|t| (0.0..1_000_000.0).contains(t))?;
        let ps = polygon_array(args)?;
        let union = polygon_result(geo::unary_union(&ps));
        let Value::Dynamic(_) = union else {
            return None;
        };
        let simplified = super::call("geo_polygon_simplify", &[union, Value::Real(t)], Dynamic)?;
        match simplified {
            Value::Null => None,
            v => Some(v),
        }
    })())
}

/// How many vertices a point's buffer has (Kusto's tolerance decides it there; a fixed count
/// here).
const BUFFER_VERTICES: usize = 64;

/// A circle of `radius` meters around a point, as a polygon (counterclockwise, closed). Kusto
/// takes radii up to the Earth's half circumference.
fn point_buffer(args: &[Value]) -> Value {
    or_null((|| {
        let p: Point = arg_point(args, 0)?;
        let r = real(args, 2).filter(|r| *r > 0.0 && *r <= 20_000_000.0)?;
        real_or(args, 3, 0.1).filter(|t| (0.00001..=1.0).contains(t))?;
        let ring: Vec<J> = (0..=BUFFER_VERTICES)
            .map(|k| {
                let bearing = 360.0 - 360.0 * (k % BUFFER_VERTICES) as f64 / BUFFER_VERTICES as f64;
                let q = EARTH.destination(p, bearing, r);
                json!([q.x(), q.y()])
            })
            .collect();
        Some(Value::dynamic(
            json!({"type": "Polygon", "coordinates": [ring]}),
        ))
    })())
}
