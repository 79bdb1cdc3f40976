//! Operations that make new shapes: intersections and unions of lines and polygons, and a
//! point's buffer. Crossings of lines are the `s2` crate's (great-circle edges, as Kusto's);
//! intersections and unions of polygons are `geo`'s boolean operations on the (longitude,
//! latitude) plane, close to Kusto's for the small shapes they are used on.

use geo::{BooleanOps, Destination, Geometry, LineString, MultiLineString, MultiPolygon, Point};
use s2::edge_crossings::{Crossing, crossing_sign, get_intersection};
use serde_json::json;

use super::geojson::{shape, value};
use super::shapes::{EARTH, arg_point, lines, polygon_simplify, polygons};
use super::{or_null, real, real_or};
use crate::functions::registry::{Function, fixed};
use crate::value::{ScalarType, Value};

use ScalarType::Dynamic;

pub(in crate::functions) static FUNCTIONS: &[Function] = &[
    fixed("geo_intersection_2lines", Dynamic, |args, _| {
        intersection_2lines(args)
    }),
    fixed("geo_intersection_2polygons", Dynamic, |args, _| {
        intersection_2polygons(args)
    }),
    fixed("geo_intersection_line_with_polygon", Dynamic, |args, _| {
        intersection_line_with_polygon(args)
    }),
    fixed("geo_line_buffer", Dynamic, |args, _| line_buffer(args)),
    fixed("geo_point_buffer", Dynamic, |args, _| point_buffer(args)),
    fixed("geo_polygon_buffer", Dynamic, |args, _| {
        polygon_buffer(args)
    }),
    fixed("geo_simplify_polygons_array", Dynamic, |args, _| {
        simplify_polygons_array(args)
    }),
    fixed("geo_union_lines_array", Dynamic, |args, _| {
        union_lines_array(args)
    }),
    fixed("geo_union_polygons_array", Dynamic, |args, _| {
        union_polygons_array(args)
    }),
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
    or_null((|| lines_meet(&lines(args, 0)?, &lines(args, 1)?))())
}

/// Where the lines `a` and `b` meet, as one geometry (see [`assemble`]).
fn lines_meet(a: &[LineString], b: &[LineString]) -> Option<Value> {
    let mut points: Vec<geo::Coord> = Vec::new();
    let mut segments: Vec<LineString> = Vec::new();
    let mut checked = 0usize;
    for la in a {
        for sa in la.lines() {
            for lb in b {
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
                    // A shared vertex is where they meet; else where the arcs cross.
                    let shared = [sa.start, sa.end]
                        .into_iter()
                        .find(|c| *c == sb.start || *c == sb.end);
                    let at = match (shared, crossing_sign(&a0, &a1, &b0, &b1)) {
                        (Some(c), _) => c,
                        (None, Crossing::Cross) => degrees(&get_intersection(&a0, &a1, &b0, &b1)),
                        (None, _) => continue,
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
        let common = MultiPolygon(a.clone()).intersection(&MultiPolygon(b.clone()));
        if !common.0.is_empty() {
            return Some(polygon_result(common));
        }
        // No area in common: where the boundaries touch, if anywhere.
        let rings = |ps: &[geo::Polygon]| -> Vec<LineString> {
            ps.iter()
                .flat_map(|p| {
                    std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
                })
                .collect()
        };
        lines_meet(&rings(&a), &rings(&b))
    })())
}

/// The parts of a line inside polygons: each edge is cut where it crosses a polygon's edges
/// (on the sphere, the s2 crate's crossings), and the pieces whose midpoints are inside are
/// kept, joined where they meet.
fn intersection_line_with_polygon(args: &[Value]) -> Value {
    or_null((|| {
        let (ls, ps) = (lines(args, 0)?, polygons(args, 1)?);
        let edges: Vec<(s2::point::Point, s2::point::Point)> = ps
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.lines())
            .map(|e| (unit(e.start), unit(e.end)))
            .collect();
        let inside = |c: geo::Coord| ps.iter().any(|p| geo::Intersects::intersects(p, &c));
        let mut out: Vec<LineString> = Vec::new();
        let mut current: Vec<geo::Coord> = Vec::new();
        let mut checked = 0usize;
        for l in &ls {
            for seg in l.lines() {
                let (a, b) = (unit(seg.start), unit(seg.end));
                let whole = a.0.angle(&b.0).rad();
                let mut cuts: Vec<(f64, geo::Coord)> = Vec::new();
                for (c, d) in &edges {
                    checked += 1;
                    if checked.is_multiple_of(4096) && crate::budget::check().is_err() {
                        return None;
                    }
                    if crossing_sign(&a, &b, c, d) == Crossing::Cross {
                        let x = get_intersection(&a, &b, c, d);
                        cuts.push((a.0.angle(&x.0).rad() / whole, degrees(&x)));
                    }
                }
                cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut points = vec![seg.start];
                points.extend(cuts.into_iter().map(|c| c.1));
                points.push(seg.end);
                for w in points.windows(2) {
                    let mid = degrees(&s2::point::Point((unit(w[0]) + unit(w[1])).0.normalize()));
                    if inside(mid) {
                        if current.last() != Some(&w[0]) {
                            if current.len() >= 2 {
                                out.push(LineString(std::mem::take(&mut current)));
                            }
                            current = vec![w[0]];
                        }
                        current.push(w[1]);
                    }
                }
            }
            if current.len() >= 2 {
                out.push(LineString(std::mem::take(&mut current)));
            }
            current.clear();
        }
        Some(match out.len() {
            0 => empty_collection(),
            1 => value(&Geometry::LineString(out.swap_remove(0))),
            _ => value(&Geometry::MultiLineString(MultiLineString(out))),
        })
    })())
}

/// The lines of a dynamic array of LineString or MultiLineString values (None if one is not).
fn line_array(args: &[Value]) -> Option<Vec<LineString>> {
    let Value::Dynamic(d) = args.first()? else {
        return None;
    };
    let mut out = Vec::new();
    for item in d.as_array()? {
        match shape(Some(&Value::dynamic(item.clone())))? {
            Geometry::LineString(l) => out.push(l),
            Geometry::MultiLineString(m) => out.extend(m.0),
            _ => return None,
        }
    }
    Some(out)
}

/// The union of lines: their distinct edges (an edge given twice, either way, counts once),
/// chained into the longest lines that do not branch.
fn union_lines_array(args: &[Value]) -> Value {
    or_null((|| {
        let ls = line_array(args)?;
        let key = |c: geo::Coord| (c.x.to_bits(), c.y.to_bits());
        let mut edges: Vec<(geo::Coord, geo::Coord)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for l in &ls {
            for e in l.lines() {
                let (p, q) = (key(e.start), key(e.end));
                if p != q && seen.insert((p.min(q), p.max(q))) {
                    edges.push((e.start, e.end));
                }
            }
        }
        // The edges at each vertex (its degree is their count).
        let mut at_vertex: std::collections::HashMap<(u64, u64), Vec<usize>> = Default::default();
        for (i, (a, b)) in edges.iter().enumerate() {
            at_vertex.entry(key(*a)).or_default().push(i);
            at_vertex.entry(key(*b)).or_default().push(i);
        }
        let degree = |c: geo::Coord| at_vertex.get(&key(c)).map_or(0, Vec::len);
        let mut used = vec![false; edges.len()];
        let mut out: Vec<LineString> = Vec::new();
        // Chains start where lines end or branch; what is left are closed rings.
        for pass in 0..2 {
            for i in 0..edges.len() {
                if used[i] {
                    continue;
                }
                let (a, b) = edges[i];
                let (start, next) = if pass == 1 || degree(a) != 2 {
                    (a, b)
                } else if degree(b) != 2 {
                    (b, a)
                } else {
                    continue;
                };
                used[i] = true;
                let mut chain = vec![start, next];
                let mut at = next;
                while degree(at) == 2 {
                    let Some(&j) = at_vertex[&key(at)].iter().find(|&&j| !used[j]) else {
                        break;
                    };
                    used[j] = true;
                    at = if key(edges[j].0) == key(at) {
                        edges[j].1
                    } else {
                        edges[j].0
                    };
                    chain.push(at);
                }
                out.push(LineString(chain));
            }
        }
        Some(match out.len() {
            0 => return None,
            1 => value(&Geometry::LineString(out.swap_remove(0))),
            _ => value(&Geometry::MultiLineString(MultiLineString(out))),
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
        let simplified = polygon_simplify(&[union, Value::Real(t)]);
        match simplified {
            Value::Null => None,
            v => Some(v),
        }
    })())
}

/// The region within `r` meters of lines: a circle around each vertex and a band along each
/// edge (its ends moved `r` meters to either side), merged.
fn lines_buffer(ls: &[LineString], r: f64) -> Option<MultiPolygon> {
    let mut parts: Vec<geo::Polygon> = Vec::new();
    for l in ls {
        for c in &l.0 {
            parts.push(circle(Point(*c), r));
            if parts.len() > MAX_BUFFER_PARTS {
                return None;
            }
        }
        for e in l.lines() {
            let (a, b) = (Point(e.start), Point(e.end));
            let (fwd, back) = (bearing(a, b), bearing(b, a));
            let side =
                |p: Point, heading: f64, turn: f64| EARTH.destination(p, heading + turn, r).0;
            parts.push(geo::Polygon::new(
                LineString(vec![
                    side(a, fwd, -90.0),
                    side(a, fwd, 90.0),
                    side(b, back, -90.0),
                    side(b, back, 90.0),
                    side(a, fwd, -90.0),
                ]),
                Vec::new(),
            ));
        }
    }
    Some(geo::unary_union(&parts))
}

fn bearing(a: Point, b: Point) -> f64 {
    use geo::Bearing;
    EARTH.bearing(a, b)
}

/// The most circles and bands a line or polygon buffer merges.
const MAX_BUFFER_PARTS: usize = 4096;

/// Kusto's buffer tolerance (a share of the radius, 0.1 by default): checked, not used.
fn buffer_tolerance(args: &[Value], i: usize) -> Option<f64> {
    real_or(args, i, 0.1).filter(|t| (0.00001..=1.0).contains(t))
}

fn line_buffer(args: &[Value]) -> Value {
    or_null((|| {
        let ls = lines(args, 0)?;
        let r = real(args, 1).filter(|r| *r > 0.0 && *r <= 20_000_000.0)?;
        buffer_tolerance(args, 2)?;
        Some(polygon_result(lines_buffer(&ls, r)?))
    })())
}

/// A polygon grown by `r` meters (only growing: a negative radius answers null here).
fn polygon_buffer(args: &[Value]) -> Value {
    or_null((|| {
        let ps = polygons(args, 0)?;
        let r = real(args, 1).filter(|r| *r > 0.0 && *r <= 20_000_000.0)?;
        buffer_tolerance(args, 2)?;
        let rings: Vec<LineString> = ps
            .iter()
            .flat_map(|p| {
                std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
            })
            .collect();
        let band = lines_buffer(&rings, r)?;
        Some(polygon_result(MultiPolygon(ps).union(&band)))
    })())
}

/// How many vertices a point's buffer has (Kusto's tolerance decides it there; a fixed count
/// here).
const BUFFER_VERTICES: usize = 64;

/// A circle of `r` meters around a point, as a polygon (counterclockwise, closed).
fn circle(p: Point, r: f64) -> geo::Polygon {
    let ring: Vec<geo::Coord> = (0..=BUFFER_VERTICES)
        .map(|k| {
            let heading = 360.0 - 360.0 * (k % BUFFER_VERTICES) as f64 / BUFFER_VERTICES as f64;
            EARTH.destination(p, heading, r).0
        })
        .collect();
    geo::Polygon::new(LineString(ring), Vec::new())
}

/// A circle of `radius` meters around a point. Kusto takes radii up to the Earth's half
/// circumference.
fn point_buffer(args: &[Value]) -> Value {
    or_null((|| {
        let p: Point = arg_point(args, 0)?;
        let r = real(args, 2).filter(|r| *r > 0.0 && *r <= 20_000_000.0)?;
        buffer_tolerance(args, 3)?;
        Some(value(&Geometry::Polygon(circle(p, r))))
    })())
}
