//! S2 cell covers of polygons and lines: the `s2` crate's region coverer, with cells of one
//! level, over a region made of the shape's edges (great-circle arcs, as in Kusto).

use geo::{Coord, LineString, Polygon};
use s2::cap::Cap;
use s2::cell::Cell;
use s2::cellid::CellID;
use s2::edge_crossings::{Crossing, crossing_sign};
use s2::point::Point;
use s2::region::{Region, RegionCoverer};
use serde_json::Value as J;

use super::shapes::{EARTH, lines, polygons};
use super::{int_or, or_null, real_or};
use crate::functions::registry::{Function, fixed};
use crate::value::{ScalarType, Value};

pub(in crate::functions) static FUNCTIONS: &[Function] = &[
    fixed("geo_line_to_s2cells", ScalarType::Dynamic, |args, _| {
        line_to_s2cells(args)
    }),
    fixed("geo_polygon_to_s2cells", ScalarType::Dynamic, |args, _| {
        polygon_to_s2cells(args)
    }),
];

/// The most cells a cover has (Kusto's limit); past it the call answers null.
const MAX_COVER_CELLS: usize = 65_536;

fn unit(c: Coord) -> Point {
    Point::from(s2::latlng::LatLng::from_degrees(c.y, c.x))
}

/// A shape as the coverer sees it: its edges on the sphere, and (for polygons) the polygons
/// themselves for the test of a point inside.
struct Shape {
    edges: Vec<(Point, Point)>,
    vertices: Vec<Point>,
    polygons: Vec<Polygon>,
    cap: Cap,
}

impl Shape {
    fn new(rings: Vec<LineString>, polygons: Vec<Polygon>) -> Option<Shape> {
        let vertices: Vec<Point> = rings
            .iter()
            .flat_map(|r| r.0.iter().map(|c| unit(*c)))
            .collect();
        let edges = rings
            .iter()
            .flat_map(|r| r.lines())
            .map(|e| (unit(e.start), unit(e.end)))
            .collect();
        // A cap around the vertices holds the edges too while it is under a hemisphere.
        let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
        for v in &vertices {
            x += v.0.x;
            y += v.0.y;
            z += v.0.z;
        }
        let n = (x * x + y * y + z * z).sqrt();
        let cap = if n > 0.0 {
            let center = Point::from_coords(x / n, y / n, z / n);
            let radius = vertices
                .iter()
                .map(|v| center.distance(v).rad())
                .fold(0.0, f64::max);
            if radius < std::f64::consts::FRAC_PI_2 * 0.99 {
                Cap::from_center_angle(
                    &center,
                    &s2::s1::Angle::from(s2::s1::Rad(radius * 1.01 + 1e-9)),
                )
            } else {
                Cap::full()
            }
        } else {
            Cap::full()
        };
        Some(Shape {
            edges,
            vertices,
            polygons,
            cap,
        })
    }

    fn inside(&self, p: &Point) -> bool {
        self.polygons
            .iter()
            .any(|poly| super::shapes::sphere_contains(poly, p))
    }

    fn crosses(&self, cell: &Cell) -> bool {
        let corners: Vec<Point> = (0..4).map(|k| cell.vertex(k)).collect();
        (0..4).any(|k| {
            let (a, b) = (&corners[k], &corners[(k + 1) % 4]);
            self.edges
                .iter()
                .any(|(c, d)| crossing_sign(a, b, c, d) != Crossing::DoNotCross)
        })
    }
}

impl Region for Shape {
    fn cap_bound(&self) -> Cap {
        self.cap.clone()
    }

    fn contains_cell(&self, cell: &Cell) -> bool {
        !self.polygons.is_empty()
            && (0..4).all(|k| self.inside(&cell.vertex(k)))
            && !self.crosses(cell)
    }

    fn intersects_cell(&self, cell: &Cell) -> bool {
        self.vertices.iter().any(|v| cell.contains_point(v))
            || (0..4).any(|k| self.inside(&cell.vertex(k)))
            || self.crosses(cell)
    }
}

/// About how many cells of `level` cover a shape of `area` square meters and `length` meters
/// of edges: the cells inside and those along the edges.
fn estimated_cells(level: u64, area: f64, length: f64) -> f64 {
    let sphere = 4.0 * std::f64::consts::PI * EARTH.radius().powi(2);
    let cell_area = sphere / (6.0 * 4f64.powi(level as i32));
    area / cell_area + 4.0 * length / cell_area.sqrt() + 4.0
}

/// The most edge tests a cover may make (cells tested times the shape's edges, four sides
/// each): a few seconds.
const MAX_COVER_WORK: f64 = 1e9;

fn cover(shape: Shape, level: u64, cells_estimate: f64) -> Option<Value> {
    if cells_estimate * 4.0 * shape.edges.len().max(1) as f64 > MAX_COVER_WORK {
        return None;
    }
    let coverer = RegionCoverer {
        min_level: level as u8,
        max_level: level as u8,
        level_mod: 1,
        max_cells: MAX_COVER_CELLS,
    };
    let cells: Vec<CellID> = coverer.covering(&shape).0;
    if cells.len() > MAX_COVER_CELLS {
        return None;
    }
    Some(Value::dynamic(J::Array(
        cells.into_iter().map(|c| J::String(c.to_token())).collect(),
    )))
}

fn level_arg(args: &[Value]) -> Option<u64> {
    u64::try_from(int_or(args, 1, 11)?)
        .ok()
        .filter(|l| *l <= 30)
}

/// The cells of one level that cover polygons (a buffer radius is not applied here: a
/// positive one answers null).
fn polygon_to_s2cells(args: &[Value]) -> Value {
    use geo::{ChamberlainDuquetteArea, Length};
    or_null((|| {
        let ps = polygons(args, 0)?;
        let level = level_arg(args)?;
        if real_or(args, 2, 0.0)? != 0.0 {
            return None;
        }
        let rings: Vec<LineString> = ps
            .iter()
            .flat_map(|p| {
                std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
            })
            .collect();
        let area: f64 = ps
            .iter()
            .map(|p| p.chamberlain_duquette_unsigned_area())
            .sum();
        let length: f64 = rings.iter().map(|r| EARTH.length(r)).sum();
        let estimate = estimated_cells(level, area, length);
        if estimate > 4.0 * MAX_COVER_CELLS as f64 {
            return None;
        }
        cover(Shape::new(rings, ps)?, level, estimate)
    })())
}

/// The cells of one level that a line passes through.
fn line_to_s2cells(args: &[Value]) -> Value {
    use geo::Length;
    or_null((|| {
        let ls = lines(args, 0)?;
        let level = level_arg(args)?;
        if real_or(args, 2, 0.0)? != 0.0 {
            return None;
        }
        let length: f64 = ls.iter().map(|l| EARTH.length(l)).sum();
        let estimate = estimated_cells(level, 0.0, length);
        if estimate > 4.0 * MAX_COVER_CELLS as f64 {
            return None;
        }
        cover(Shape::new(ls, Vec::new())?, level, estimate)
    })())
}
