//! Points, lines and polygons: distances, azimuths and angles, lengths, perimeters and areas,
//! centroids, containment and intersection tests, closest points, and WKT text (the `wkt`
//! crate). As Kusto (whose geospatial functions are built on S2), the Earth is a sphere: edges
//! are great-circle arcs, distances and bearings are `geo`'s haversine ones (on S2's Earth
//! sphere, of radius 6,371,010 m, which reproduces Kusto's distances), areas its
//! Chamberlain-Duquette ones scaled to that radius, centroids the true centroids of the `s2`
//! crate.

use geo::{
    ChamberlainDuquetteArea, Closest, Coord, Distance, Geometry, HaversineClosestPoint,
    HaversineMeasure, InterpolatePoint, Intersects, Length, LineString, MultiLineString, Point,
    Polygon,
};

/// The sphere Kusto computes on: S2's Earth (`S2Earth::RadiusMeters`, 6,371.01 km).
pub(super) const EARTH: HaversineMeasure = HaversineMeasure::new(6_371_010.0);

/// `geo`'s Chamberlain-Duquette areas are on the sphere of the equatorial radius; this scales
/// them to [`EARTH`].
fn area_scale() -> f64 {
    (EARTH.radius() / 6_378_137.0).powi(2)
}

use super::geojson::{point_json, shape, value};
use super::{lng_lat, or_null, real, real_or, string};
use crate::functions::registry::{Function, fixed};
use crate::value::{ScalarType, Value};

use ScalarType::{Bool, Dynamic, Real};

pub(in crate::functions) static FUNCTIONS: &[Function] = &[
    fixed("geo_angle", Real, |args, _| angle(args)),
    fixed("geo_azimuth", Real, |args, _| azimuth(args)),
    fixed("geo_closest_point_on_line", Dynamic, |args, _| {
        closest_point_on_line(args)
    }),
    fixed("geo_closest_point_on_polygon", Dynamic, |args, _| {
        closest_point_on_polygon(args)
    }),
    fixed("geo_distance_2points", Real, |args, _| {
        distance_2points(args)
    }),
    fixed("geo_distance_point_to_line", Real, |args, _| {
        distance_point_to_line(args)
    }),
    fixed("geo_distance_point_to_polygon", Real, |args, _| {
        distance_point_to_polygon(args)
    }),
    fixed("geo_from_wkt", Dynamic, |args, _| from_wkt(args)),
    fixed("geo_intersects_2lines", Bool, |args, _| {
        intersects_2lines(args)
    }),
    fixed("geo_intersects_2polygons", Bool, |args, _| {
        intersects_2polygons(args)
    }),
    fixed("geo_intersects_line_with_polygon", Bool, |args, _| {
        intersects_line_with_polygon(args)
    }),
    fixed("geo_line_centroid", Dynamic, |args, _| line_centroid(args)),
    fixed("geo_line_densify", Dynamic, |args, _| line_densify(args)),
    fixed("geo_line_interpolate_point", Dynamic, |args, _| {
        line_interpolate_point(args)
    }),
    fixed("geo_line_length", Real, |args, _| line_length(args)),
    fixed("geo_line_locate_point", Real, |args, _| {
        line_locate_point(args)
    }),
    fixed("geo_line_simplify", Dynamic, |args, _| line_simplify(args)),
    fixed("geo_point_in_circle", Bool, |args, _| point_in_circle(args)),
    fixed("geo_point_in_polygon", Bool, |args, _| {
        point_in_polygon(args)
    }),
    fixed("geo_polygon_area", Real, |args, _| polygon_area(args)),
    fixed("geo_polygon_centroid", Dynamic, |args, _| {
        polygon_centroid(args)
    }),
    fixed("geo_polygon_densify", Dynamic, |args, _| {
        polygon_densify(args)
    }),
    fixed("geo_polygon_perimeter", Real, |args, _| {
        polygon_perimeter(args)
    }),
    fixed("geo_polygon_simplify", Dynamic, |args, _| {
        polygon_simplify(args)
    }),
];

fn real_value(x: Option<f64>) -> Value {
    x.filter(|x| x.is_finite()).map_or(Value::Null, Value::Real)
}

fn bool_value(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

fn pt(lng: f64, lat: f64) -> Point {
    Point::new(lng, lat)
}

pub(super) fn arg_point(args: &[Value], i: usize) -> Option<Point> {
    lng_lat(args, i).map(|(x, y)| pt(x, y))
}

/// A line argument: a LineString or MultiLineString, as its lines.
pub(super) fn lines(args: &[Value], i: usize) -> Option<Vec<LineString>> {
    match shape(args.get(i))? {
        Geometry::LineString(l) => Some(vec![l]),
        Geometry::MultiLineString(m) => Some(m.0),
        _ => None,
    }
}

/// A polygon argument: a Polygon or MultiPolygon, as its polygons.
pub(super) fn polygons(args: &[Value], i: usize) -> Option<Vec<Polygon>> {
    match shape(args.get(i))? {
        Geometry::Polygon(p) => Some(vec![p]),
        Geometry::MultiPolygon(m) => Some(m.0),
        _ => None,
    }
}

// Points

fn distance_2points(args: &[Value]) -> Value {
    real_value((|| {
        Some(EARTH.distance(arg_point(args, 0)?, arg_point(args, 2)?))
    })())
}

fn point_in_circle(args: &[Value]) -> Value {
    bool_value((|| {
        let (p, c) = (arg_point(args, 0)?, arg_point(args, 2)?);
        let r = real(args, 4).filter(|r| *r >= 0.0)?;
        Some(EARTH.distance(p, c) <= r)
    })())
}

/// The geodesic azimuth from `a` to `b` in radians clockwise from north, in [0, 2π); None
/// when the points are the same.
fn bearing(a: Point, b: Point) -> Option<f64> {
    if a == b {
        return None;
    }
    use geo::Bearing;
    Some(EARTH.bearing(a, b).to_radians())
}

fn azimuth(args: &[Value]) -> Value {
    real_value((|| bearing(arg_point(args, 0)?, arg_point(args, 2)?))())
}

/// The angle at the second point from the first to the third, clockwise, in [0, 2π).
fn angle(args: &[Value]) -> Value {
    real_value((|| {
        let (p1, p2, p3) = (
            arg_point(args, 0)?,
            arg_point(args, 2)?,
            arg_point(args, 4)?,
        );
        let a = bearing(p2, p3)? - bearing(p2, p1)?;
        Some(a.rem_euclid(2.0 * std::f64::consts::PI))
    })())
}

// WKT

fn from_wkt(args: &[Value]) -> Value {
    or_null((|| {
        let text = string(args, 0)?;
        let parsed: wkt::Wkt<f64> = text.trim().parse().ok()?;
        let g: Geometry = parsed.try_into().ok()?;
        // Through GeoJSON and back, so the shape is validated as any other.
        let json = super::geojson::to_json(&g);
        let g = shape(Some(&Value::dynamic(json)))?;
        Some(value(&g))
    })())
}

// Lengths, areas and centroids

fn line_length(args: &[Value]) -> Value {
    real_value(lines(args, 0).map(|ls| ls.iter().map(|l| EARTH.length(l)).sum()))
}

/// The polygons of a polygon argument, overlapping ones merged (a MultiPolygon's parts are
/// taken as their union, as Kusto does).
fn merged(args: &[Value], i: usize) -> Option<Vec<Polygon>> {
    let ps = polygons(args, i)?;
    if ps.len() < 2 {
        return Some(ps);
    }
    Some(geo::unary_union(&ps).0)
}

/// The boundary of the union of polygons, as edges on the sphere: each ring's edges (outer
/// rings counterclockwise, holes clockwise) cut where they cross another polygon's edges, the
/// pieces inside another polygon left out. For one polygon, its edges.
fn union_boundary(ps: &[Polygon]) -> Option<Vec<(Coord, Coord)>> {
    let rings = |p: &Polygon| -> Vec<Vec<Coord>> {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
            .map(|(k, r)| {
                let mut cs = r.0.clone();
                if (k == 0) != ring_is_ccw(r) {
                    cs.reverse();
                }
                cs
            })
            .collect()
    };
    let mut out = Vec::new();
    let mut checked = 0usize;
    for (i, p) in ps.iter().enumerate() {
        let others: Vec<&Polygon> = ps
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, q)| q)
            .collect();
        let other_edges: Vec<(s2::point::Point, s2::point::Point)> = others
            .iter()
            .flat_map(|q| std::iter::once(q.exterior()).chain(q.interiors()))
            .flat_map(|r| r.lines())
            .map(|e| (unit(e.start), unit(e.end)))
            .collect();
        for ring in rings(p) {
            for w in ring.windows(2) {
                let (a, b) = (unit(w[0]), unit(w[1]));
                let whole = a.0.angle(&b.0).rad();
                let mut cuts: Vec<(f64, Coord)> = Vec::new();
                for (c, d) in &other_edges {
                    checked += 1;
                    if checked >= 4096 {
                        checked = 0;
                        crate::budget::check().ok()?;
                    }
                    use s2::edge_crossings::{Crossing, crossing_sign, get_intersection};
                    if crossing_sign(&a, &b, c, d) == Crossing::Cross {
                        let x = get_intersection(&a, &b, c, d);
                        let ll = s2::latlng::LatLng::from(&x);
                        let at = Coord {
                            x: ll.lng.deg(),
                            y: ll.lat.deg(),
                        };
                        cuts.push((a.0.angle(&x.0).rad() / whole, at));
                    }
                }
                cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut points = vec![w[0]];
                points.extend(cuts.into_iter().map(|c| c.1));
                points.push(w[1]);
                for piece in points.windows(2) {
                    // Each containment test walks the other polygons' edges.
                    checked += other_edges.len();
                    if checked >= 4096 {
                        checked = 0;
                        crate::budget::check().ok()?;
                    }
                    let mid = s2::point::Point((unit(piece[0]) + unit(piece[1])).0.normalize());
                    if !others.iter().any(|q| sphere_contains(q, &mid)) {
                        out.push((piece[0], piece[1]));
                    }
                }
            }
        }
    }
    Some(out)
}

fn polygon_perimeter(args: &[Value]) -> Value {
    real_value((|| {
        let edges = union_boundary(&polygons(args, 0)?)?;
        Some(
            edges
                .iter()
                .map(|(a, b)| EARTH.distance(Point(*a), Point(*b)))
                .sum(),
        )
    })())
}

fn polygon_area(args: &[Value]) -> Value {
    real_value(merged(args, 0).map(|ps| {
        ps.iter()
            .map(|p| p.chamberlain_duquette_unsigned_area() * area_scale())
            .sum()
    }))
}

fn unit(c: Coord) -> s2::point::Point {
    s2::point::Point::from(s2::latlng::LatLng::from_degrees(c.y, c.x))
}

/// A sum of 3D vectors as a point of longitude and latitude (None for the zero vector).
fn direction(x: f64, y: f64, z: f64) -> Option<Value> {
    let n = (x * x + y * y + z * z).sqrt();
    if n.is_nan() || n <= 0.0 {
        return None;
    }
    let ll = s2::latlng::LatLng::from(&s2::point::Point::from_coords(x / n, y / n, z / n));
    Some(Value::dynamic(point_json(ll.lng.deg(), ll.lat.deg())))
}

/// The centroid of lines on the sphere: each edge's midpoint direction weighted by its length.
fn line_centroid(args: &[Value]) -> Value {
    or_null((|| {
        let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
        for l in lines(args, 0)? {
            for seg in l.lines() {
                let (a, b) = (unit(seg.start), unit(seg.end));
                let m = (a + b).0;
                let theta = a.0.angle(&b.0).rad();
                let n = m.norm();
                if n > 0.0 {
                    let w = 2.0 * (theta / 2.0).sin() / n;
                    x += m.x * w;
                    y += m.y * w;
                    z += m.z * w;
                }
            }
        }
        direction(x, y, z)
    })())
}

/// The true centroid of polygons on the sphere: the s2 crate's triangle centroids summed over
/// a fan from one vertex to each edge of the union's boundary (holes, running clockwise,
/// subtract).
fn polygon_centroid(args: &[Value]) -> Value {
    or_null((|| {
        let edges = union_boundary(&polygons(args, 0)?)?;
        let o = unit(edges.first()?.0);
        let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
        for (a, b) in &edges {
            let c = s2::point::true_centroid(&o, &unit(*a), &unit(*b)).0;
            x += c.x;
            y += c.y;
            z += c.z;
        }
        direction(x, y, z)
    })())
}

fn ring_is_ccw(ring: &LineString) -> bool {
    use geo::Winding;
    ring.is_ccw()
}

// Containment, intersection, closest points

/// Whether a ring winds around a point on the sphere (its edges being great-circle arcs): the
/// angles its edges span, seen from the point, add up to a full turn.
fn winds(ring: &LineString, p: &s2::point::Point) -> bool {
    let q = p.0;
    let turn: f64 = ring
        .lines()
        .map(|e| {
            let (a, b) = (unit(e.start).0, unit(e.end).0);
            let y = q.dot(&a.cross(&b));
            let x = a.dot(&b) - q.dot(&a) * q.dot(&b);
            y.atan2(x)
        })
        .sum();
    turn.abs() > std::f64::consts::PI
}

/// Whether a polygon (great-circle edges, as Kusto's) holds a point: inside its outer ring and
/// none of its holes.
pub(super) fn sphere_contains(poly: &Polygon, p: &s2::point::Point) -> bool {
    winds(poly.exterior(), p) && !poly.interiors().iter().any(|h| winds(h, p))
}

/// Whether polygons hold a point: inside one (on the sphere), or on an edge or vertex.
fn polygons_hold(ps: &[Polygon], p: Point) -> bool {
    let s = unit(p.0);
    ps.iter().any(|poly| {
        sphere_contains(poly, &s)
            || std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .any(|r| r.intersects(&p))
    })
}

fn point_in_polygon(args: &[Value]) -> Value {
    bool_value((|| {
        let p = arg_point(args, 0)?;
        let ps = polygons(args, 2)?;
        Some(polygons_hold(&ps, p))
    })())
}

fn intersects_2lines(args: &[Value]) -> Value {
    bool_value((|| {
        let (a, b) = (lines(args, 0)?, lines(args, 1)?);
        Some(MultiLineString(a).intersects(&MultiLineString(b)))
    })())
}

fn intersects_2polygons(args: &[Value]) -> Value {
    bool_value((|| {
        let (a, b) = (polygons(args, 0)?, polygons(args, 1)?);
        Some(a.iter().any(|p| b.iter().any(|q| p.intersects(q))))
    })())
}

fn intersects_line_with_polygon(args: &[Value]) -> Value {
    bool_value((|| {
        let (a, b) = (lines(args, 0)?, polygons(args, 1)?);
        Some(a.iter().any(|l| b.iter().any(|p| l.intersects(p))))
    })())
}

fn closest_of(c: Closest<f64>) -> Option<Point> {
    match c {
        Closest::Intersection(p) | Closest::SinglePoint(p) => Some(p),
        Closest::Indeterminate => None,
    }
}

/// The point of `lines` closest to `p` (along great circles) and its geodesic distance.
fn closest_on_lines(p: Point, lines: &[LineString]) -> Option<(Point, f64)> {
    lines
        .iter()
        .filter_map(|l| closest_of(l.haversine_closest_point(&p)))
        .map(|c| (c, EARTH.distance(p, c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn boundary(ps: &[Polygon]) -> Vec<LineString> {
    ps.iter()
        .flat_map(|p| std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned()))
        .collect()
}

fn distance_point_to_line(args: &[Value]) -> Value {
    real_value((|| {
        Some(closest_on_lines(arg_point(args, 0)?, &lines(args, 2)?)?.1)
    })())
}

fn closest_point_on_line(args: &[Value]) -> Value {
    or_null((|| {
        let (c, _) = closest_on_lines(arg_point(args, 0)?, &lines(args, 2)?)?;
        Some(Value::dynamic(point_json(c.x(), c.y())))
    })())
}

fn distance_point_to_polygon(args: &[Value]) -> Value {
    real_value((|| {
        let p = arg_point(args, 0)?;
        let ps = polygons(args, 2)?;
        if polygons_hold(&ps, p) {
            return Some(0.0);
        }
        Some(closest_on_lines(p, &boundary(&ps))?.1)
    })())
}

fn closest_point_on_polygon(args: &[Value]) -> Value {
    or_null((|| {
        let p = arg_point(args, 0)?;
        let ps = polygons(args, 2)?;
        if polygons_hold(&ps, p) {
            return Some(Value::dynamic(point_json(p.x(), p.y())));
        }
        let (c, _) = closest_on_lines(p, &boundary(&ps))?;
        Some(Value::dynamic(point_json(c.x(), c.y())))
    })())
}

// Positions along a line

/// The geodesic lengths of a line's segments.
fn segment_lengths(l: &LineString) -> Vec<f64> {
    l.lines()
        .map(|s| EARTH.distance(Point(s.start), Point(s.end)))
        .collect()
}

fn line_interpolate_point(args: &[Value]) -> Value {
    or_null((|| {
        let ls = lines(args, 0)?;
        let [l] = ls.as_slice() else { return None };
        let f = real(args, 1).filter(|f| (0.0..=1.0).contains(f))?;
        let lens = segment_lengths(l);
        let total: f64 = lens.iter().sum();
        let mut left = f * total;
        for (s, len) in l.lines().zip(&lens) {
            if left <= *len || std::ptr::eq(len, lens.last()?) {
                let p = if *len > 0.0 {
                    EARTH.point_at_distance_between(Point(s.start), Point(s.end), left.min(*len))
                } else {
                    Point(s.start)
                };
                return Some(Value::dynamic(point_json(p.x(), p.y())));
            }
            left -= len;
        }
        None
    })())
}

fn line_locate_point(args: &[Value]) -> Value {
    real_value((|| {
        let ls = lines(args, 0)?;
        let [l] = ls.as_slice() else { return None };
        let p = arg_point(args, 1)?;
        let lens = segment_lengths(l);
        let total: f64 = lens.iter().sum();
        let mut best: Option<(f64, f64)> = None;
        let mut before = 0.0;
        for (s, len) in l.lines().zip(&lens) {
            if let Some(c) = closest_of(geo::Line::new(s.start, s.end).haversine_closest_point(&p))
            {
                let d = EARTH.distance(p, c);
                let along = before + EARTH.distance(Point(s.start), c);
                if best.is_none_or(|b| d < b.0) {
                    best = Some((d, along));
                }
            }
            before += len;
        }
        let along = best?.1;
        (total > 0.0).then(|| (along / total).clamp(0.0, 1.0))
    })())
}

// Densify and simplify

/// The most points a densified shape may have in all (every line or ring of it); past it the
/// call answers null.
const MAX_DENSIFIED_POINTS: usize = 1 << 17;

/// The points strictly between `a` and `b` that keep the straight (longitude, latitude) edge
/// within `tolerance` meters of the geodesic, halving the edge as often as needed.
fn densify_edge(
    a: Coord,
    b: Coord,
    tolerance: f64,
    out: &mut Vec<Coord>,
    depth: u32,
    room: usize,
) -> bool {
    if out.len() > room {
        return false;
    }
    let mid = Coord {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    };
    let geodesic_mid = EARTH.point_at_ratio_between(Point(a), Point(b), 0.5);
    if depth >= 30 || EARTH.distance(Point(mid), geodesic_mid) <= tolerance {
        return true;
    }
    densify_edge(a, mid, tolerance, out, depth + 1, room) && {
        out.push(mid);
        densify_edge(mid, b, tolerance, out, depth + 1, room)
    }
}

/// A line densified, counting its points against `made` (the shape's points so far).
fn densify(l: &LineString, tolerance: f64, made: &mut usize) -> Option<LineString> {
    let room = MAX_DENSIFIED_POINTS.checked_sub(*made)?;
    let mut out = Vec::new();
    for s in l.lines() {
        out.push(s.start);
        if !densify_edge(s.start, s.end, tolerance, &mut out, 0, room) {
            return None;
        }
    }
    out.extend(l.0.last());
    *made += out.len();
    (*made <= MAX_DENSIFIED_POINTS).then_some(LineString(out))
}

/// Kusto's tolerance range for densify (meters).
fn densify_tolerance(args: &[Value]) -> Option<f64> {
    real_or(args, 1, 10.0).filter(|t| (0.1..=10_000.0).contains(t))
}

fn line_densify(args: &[Value]) -> Value {
    or_null((|| {
        let t = densify_tolerance(args)?;
        let mut made = 0;
        let ls = lines(args, 0)?
            .iter()
            .map(|l| densify(l, t, &mut made))
            .collect::<Option<Vec<_>>>()?;
        Some(value(&match <[LineString; 1]>::try_from(ls) {
            Ok([l]) => Geometry::LineString(l),
            Err(ls) => Geometry::MultiLineString(MultiLineString(ls)),
        }))
    })())
}

fn polygon_densify(args: &[Value]) -> Value {
    or_null((|| {
        let t = densify_tolerance(args)?;
        let mut made = 0;
        let ps = polygons(args, 0)?
            .iter()
            .map(|p| {
                Some(Polygon::new(
                    densify(p.exterior(), t, &mut made)?,
                    p.interiors()
                        .iter()
                        .map(|r| densify(r, t, &mut made))
                        .collect::<Option<Vec<_>>>()?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(value(&match <[Polygon; 1]>::try_from(ps) {
            Ok([p]) => Geometry::Polygon(p),
            Err(ps) => Geometry::MultiPolygon(geo::MultiPolygon(ps)),
        }))
    })())
}

/// Kusto's tolerance range for simplify (meters).
fn simplify_tolerance(args: &[Value]) -> Option<f64> {
    real_or(args, 1, 10.0).filter(|t| (0.0..=1_000_000.0).contains(t) && *t < 1_000_000.0)
}

/// Douglas-Peucker with the tolerance in meters, measured as distances on the sphere from each
/// point to the great-circle chord (the `geo` crate's closest point). The ranges to split wait
/// on a stack (no recursion, however many points), and the query's budget is checked as they
/// go (None when it is spent).
fn simplify_line(l: &LineString, tolerance: f64) -> Option<LineString> {
    let pts = &l.0;
    if pts.len() < 2 {
        return Some(LineString(Vec::new()));
    }
    let mut kept = vec![false; pts.len()];
    kept[0] = true;
    kept[pts.len() - 1] = true;
    let mut ranges = vec![(0, pts.len() - 1)];
    let mut tested = 0usize;
    while let Some((first, last)) = ranges.pop() {
        if last <= first + 1 {
            continue;
        }
        tested += last - first;
        if tested >= 4096 {
            tested = 0;
            crate::budget::check().ok()?;
        }
        let chord = geo::Line::new(pts[first], pts[last]);
        let far = (first + 1..last)
            .filter_map(|i| {
                let p = Point(pts[i]);
                let q = closest_of(chord.haversine_closest_point(&p))?;
                Some((i, EARTH.distance(p, q)))
            })
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, d)) = far
            && d > tolerance
        {
            kept[i] = true;
            ranges.push((i, last));
            ranges.push((first, i));
        }
    }
    Some(LineString(
        pts.iter()
            .zip(kept)
            .filter(|(_, k)| *k)
            .map(|(c, _)| *c)
            .collect(),
    ))
}

fn line_simplify(args: &[Value]) -> Value {
    or_null((|| {
        let t = simplify_tolerance(args)?;
        let ls = lines(args, 0)?;
        let out: Vec<LineString> = ls
            .iter()
            .map(|l| simplify_line(l, t))
            .collect::<Option<_>>()?;
        // A line that the tolerance shrinks to a point is no line.
        if out
            .iter()
            .any(|l| super::geojson::distinct_points(&l.0) < 2 || (t > 0.0 && EARTH.length(l) <= t))
        {
            return None;
        }
        Some(value(&match <[LineString; 1]>::try_from(out) {
            Ok([l]) => Geometry::LineString(l),
            Err(ls) => Geometry::MultiLineString(MultiLineString(ls)),
        }))
    })())
}

pub(super) fn polygon_simplify(args: &[Value]) -> Value {
    or_null((|| {
        let t = simplify_tolerance(args)?;
        let ps = polygons(args, 0)?;
        let mut out = Vec::new();
        for p in &ps {
            let ext = simplify_line(p.exterior(), t)?;
            if super::geojson::distinct_points(&ext.0) < 3 {
                return None;
            }
            let mut holes: Vec<LineString> = Vec::new();
            for r in p.interiors() {
                let hole = simplify_line(r, t)?;
                if super::geojson::distinct_points(&hole.0) >= 3 {
                    holes.push(hole);
                }
            }
            out.push(Polygon::new(ext, holes));
        }
        Some(value(&match <[Polygon; 1]>::try_from(out) {
            Ok([p]) => Geometry::Polygon(p),
            Err(ps) => Geometry::MultiPolygon(geo::MultiPolygon(ps)),
        }))
    })())
}
