//! H3 cells (the `h3o` crate), S2 cells (the `s2` crate) and geohashes (the `geohash` crate):
//! a point's cell as a token, and a token's level, parent, children, neighbors, center and
//! polygon.

use h3o::{CellIndex, Resolution};
use serde_json::Value as J;

use super::geojson::{point_json, ring_json};
use super::{int, int_or, lng_lat, or_null, string};
use crate::functions::registry::{Function, fixed};
use crate::value::{ScalarType, Value};

use ScalarType::{Dynamic, Int, String};

pub(in crate::functions) static FUNCTIONS: &[Function] = &[
    fixed("geo_geohash_neighbors", Dynamic, |args, _| {
        geohash_neighbors(args)
    }),
    fixed("geo_geohash_to_central_point", Dynamic, |args, _| {
        geohash_to_central_point(args)
    }),
    fixed("geo_geohash_to_polygon", Dynamic, |args, _| {
        geohash_to_polygon(args)
    }),
    fixed("geo_h3cell_children", Dynamic, |args, _| {
        h3cell_children(args)
    }),
    fixed("geo_h3cell_level", Int, |args, _| h3cell_level(args)),
    fixed("geo_h3cell_neighbors", Dynamic, |args, _| {
        h3cell_neighbors(args)
    }),
    fixed("geo_h3cell_parent", String, |args, _| h3cell_parent(args)),
    fixed("geo_h3cell_rings", Dynamic, |args, _| h3cell_rings(args)),
    fixed("geo_h3cell_to_central_point", Dynamic, |args, _| {
        h3cell_to_central_point(args)
    }),
    fixed("geo_h3cell_to_polygon", Dynamic, |args, _| {
        h3cell_to_polygon(args)
    }),
    fixed("geo_point_to_geohash", String, |args, _| {
        point_to_geohash(args)
    }),
    fixed("geo_point_to_h3cell", String, |args, _| {
        point_to_h3cell(args)
    }),
    fixed("geo_point_to_s2cell", String, |args, _| {
        point_to_s2cell(args)
    }),
    fixed("geo_polygon_to_h3cells", Dynamic, |args, _| {
        polygon_to_h3cells(args)
    }),
    fixed("geo_s2cell_neighbors", Dynamic, |args, _| {
        s2cell_neighbors(args)
    }),
    fixed("geo_s2cell_to_central_point", Dynamic, |args, _| {
        s2cell_to_central_point(args)
    }),
    fixed("geo_s2cell_to_polygon", Dynamic, |args, _| {
        s2cell_to_polygon(args)
    }),
];

/// A token, or the empty string for invalid input (what the token functions answer).
fn token(t: Option<std::string::String>) -> Value {
    Value::str(t.unwrap_or_default())
}

fn tokens(items: impl IntoIterator<Item = std::string::String>) -> Value {
    Value::dynamic(J::Array(items.into_iter().map(J::String).collect()))
}

// H3

fn h3_cell(args: &[Value], i: usize) -> Option<CellIndex> {
    string(args, i)?.trim().parse().ok()
}

fn h3_resolution(r: i64) -> Option<Resolution> {
    Resolution::try_from(u8::try_from(r).ok()?).ok()
}

fn point_to_h3cell(args: &[Value]) -> Value {
    token((|| {
        let (lng, lat) = lng_lat(args, 0)?;
        let res = h3_resolution(int_or(args, 2, 6)?)?;
        Some(h3o::LatLng::new(lat, lng).ok()?.to_cell(res).to_string())
    })())
}

fn h3cell_level(args: &[Value]) -> Value {
    or_null(h3_cell(args, 0).map(|c| Value::Int(i32::from(u8::from(c.resolution())))))
}

fn h3cell_parent(args: &[Value]) -> Value {
    token((|| {
        let cell = h3_cell(args, 0)?;
        let level = i64::from(u8::from(cell.resolution()));
        let res = h3_resolution(int_or(args, 1, level - 1)?)?;
        Some(cell.parent(res)?.to_string())
    })())
}

/// The most levels below a cell that `geo_h3cell_children` goes (7^5 = 16,807 children).
const MAX_CHILDREN_LEVELS: i64 = 5;

fn h3cell_children(args: &[Value]) -> Value {
    or_null((|| {
        let cell = h3_cell(args, 0)?;
        let level = i64::from(u8::from(cell.resolution()));
        let r = int_or(args, 1, level + 1)?;
        if r < level || r - level > MAX_CHILDREN_LEVELS {
            return None;
        }
        let res = h3_resolution(r)?;
        Some(tokens(cell.children(res).map(|c| c.to_string())))
    })())
}

fn h3cell_neighbors(args: &[Value]) -> Value {
    or_null(h3_cell(args, 0).map(|cell| {
        // The first ring of the disk, in the order of `geo_h3cell_rings`.
        let disk: Vec<(CellIndex, u32)> = cell.grid_disk_distances(1);
        tokens(
            disk.into_iter()
                .filter(|c| c.1 == 1)
                .map(|c| c.0.to_string()),
        )
    }))
}

/// The farthest ring `geo_h3cell_rings` makes (Kusto's limit: 61,000 cells or so in all).
const MAX_RING_DISTANCE: i64 = 142;

fn h3cell_rings(args: &[Value]) -> Value {
    or_null((|| {
        let cell = h3_cell(args, 0)?;
        let k = int(args, 1).filter(|k| (0..=MAX_RING_DISTANCE).contains(k))? as u32;
        let mut rings: Vec<Vec<J>> = vec![Vec::new(); k as usize + 1];
        let disk: Vec<(CellIndex, u32)> = cell.grid_disk_distances(k);
        for (c, d) in disk {
            rings.get_mut(d as usize)?.push(J::String(c.to_string()));
        }
        Some(Value::dynamic(J::Array(
            rings.into_iter().map(J::Array).collect(),
        )))
    })())
}

fn h3cell_to_central_point(args: &[Value]) -> Value {
    or_null(h3_cell(args, 0).map(|cell| {
        let ll = h3o::LatLng::from(cell);
        Value::dynamic(point_json(ll.lng(), ll.lat()))
    }))
}

fn h3cell_to_polygon(args: &[Value]) -> Value {
    or_null(h3_cell(args, 0).map(|cell| {
        let ring: Vec<(f64, f64)> = cell
            .boundary()
            .iter()
            .map(|ll| (ll.lng(), ll.lat()))
            .collect();
        Value::dynamic(ring_json(&ring))
    }))
}

/// The most cells `geo_polygon_to_h3cells` answers (Kusto's limit); past it, null.
const MAX_POLYGON_CELLS: usize = 61_680;

/// The cells whose centers are inside a polygon or multipolygon (edges are straight lines in
/// longitude and latitude, as in Kusto), h3o's tiler. A buffer radius is not applied here: a
/// positive one answers null.
fn polygon_to_h3cells(args: &[Value]) -> Value {
    use h3o::geom::{ContainmentMode, TilerBuilder};
    or_null((|| {
        let polygons = super::shapes::polygons(args, 0)?;
        let res = h3_resolution(int_or(args, 1, 6)?)?;
        let radius = super::real_or(args, 2, 0.0)?;
        if radius != 0.0 {
            return None;
        }
        let mut tiler = TilerBuilder::new(res)
            .containment_mode(ContainmentMode::ContainsCentroid)
            .build();
        for p in polygons {
            tiler.add(p).ok()?;
        }
        // The size hint bounds the cells from the bounding boxes: far past the limit, do not
        // enumerate them.
        if tiler.coverage_size_hint() > 16 * MAX_POLYGON_CELLS {
            return None;
        }
        let cells: Vec<std::string::String> = tiler
            .into_coverage()
            .take(MAX_POLYGON_CELLS + 1)
            .map(|c| c.to_string())
            .collect();
        (cells.len() <= MAX_POLYGON_CELLS).then(|| tokens(cells))
    })())
}

// Geohash

fn point_to_geohash(args: &[Value]) -> Value {
    token((|| {
        let (lng, lat) = lng_lat(args, 0)?;
        let len = usize::try_from(int_or(args, 2, 5)?).ok()?;
        geohash::encode(geohash::Coord { x: lng, y: lat }, len).ok()
    })())
}

fn geohash_arg(args: &[Value]) -> Option<std::string::String> {
    string(args, 0).filter(|h| !h.is_empty() && h.len() <= 18)
}

fn geohash_to_central_point(args: &[Value]) -> Value {
    or_null((|| {
        let (c, _, _) = geohash::decode(&geohash_arg(args)?).ok()?;
        Some(Value::dynamic(point_json(c.x, c.y)))
    })())
}

fn geohash_to_polygon(args: &[Value]) -> Value {
    or_null((|| {
        let r = geohash::decode_bbox(&geohash_arg(args)?).ok()?;
        let (lo, hi) = (r.min(), r.max());
        Some(Value::dynamic(ring_json(&[
            (lo.x, lo.y),
            (hi.x, lo.y),
            (hi.x, hi.y),
            (lo.x, hi.y),
        ])))
    })())
}

fn geohash_neighbors(args: &[Value]) -> Value {
    or_null((|| {
        let n = geohash::neighbors(&geohash_arg(args)?).ok()?;
        // Kusto's order.
        Some(tokens([n.w, n.sw, n.s, n.se, n.ne, n.e, n.n, n.nw]))
    })())
}

// S2

fn s2_cell(args: &[Value]) -> Option<s2::cellid::CellID> {
    let t = string(args, 0)?;
    let t = t.trim();
    if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = s2::cellid::CellID::from_token(t);
    id.is_valid().then_some(id)
}

fn point_to_s2cell(args: &[Value]) -> Value {
    token((|| {
        let (lng, lat) = lng_lat(args, 0)?;
        let level = u64::try_from(int_or(args, 2, 11)?)
            .ok()
            .filter(|l| *l <= 30)?;
        let leaf = s2::cellid::CellID::from(s2::latlng::LatLng::from_degrees(lat, lng));
        Some(leaf.parent(level).to_token())
    })())
}

fn s2_degrees(p: &s2::point::Point) -> (f64, f64) {
    let ll = s2::latlng::LatLng::from(p);
    (ll.lng.deg(), ll.lat.deg())
}

fn s2cell_to_central_point(args: &[Value]) -> Value {
    or_null(s2_cell(args).map(|id| {
        let (lng, lat) = s2_degrees(&s2::point::Point::from(id));
        Value::dynamic(point_json(lng, lat))
    }))
}

fn s2cell_to_polygon(args: &[Value]) -> Value {
    or_null(s2_cell(args).map(|id| {
        let cell = s2::cell::Cell::from(id);
        let ring: Vec<(f64, f64)> = (0..4).map(|k| s2_degrees(&cell.vertex(k))).collect();
        Value::dynamic(ring_json(&ring))
    }))
}

fn s2cell_neighbors(args: &[Value]) -> Value {
    or_null(s2_cell(args).map(|id| {
        let mut out: Vec<std::string::String> = Vec::new();
        for n in id.all_neighbors(id.level()) {
            let t = n.to_token();
            if !out.contains(&t) {
                out.push(t);
            }
        }
        tokens(out)
    }))
}
