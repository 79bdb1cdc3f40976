//! The geospatial functions, on documented examples (results recorded on Kusto).

use super::*;

fn real(q: &str) -> f64 {
    match cell(q) {
        Value::Real(x) => x,
        other => panic!("{q}: {other:?}"),
    }
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

fn json(q: &str) -> serde_json::Value {
    cell(q).to_json()
}

#[test]
fn h3_cells_tokens_levels_parents_children_and_shapes() {
    assert_eq!(
        cell("print geo_point_to_h3cell(-73.956683, 40.807907, 5)"),
        Value::str("852a100bfffffff")
    );
    // Out-of-range coordinates or resolutions give the empty string.
    assert_eq!(cell("print geo_point_to_h3cell(300, 1, 8)"), Value::str(""));
    assert_eq!(cell("print geo_point_to_h3cell(1, 1, 16)"), Value::str(""));
    assert_eq!(
        cell("print geo_h3cell_level('862a1072fffffff')"),
        Value::Int(6)
    );
    assert_eq!(cell("print geo_h3cell_level('abc')"), Value::Null);
    assert_eq!(
        cell("print geo_h3cell_parent('862a1072fffffff', 1)"),
        Value::str("812a3ffffffffff")
    );
    assert_eq!(
        cell("print array_length(geo_h3cell_children('862a1072fffffff', 9))"),
        Value::Long(343)
    );
    let rings = json("print geo_h3cell_rings('861f8894fffffff', 1)");
    assert_eq!(rings[0], serde_json::json!(["861f8894fffffff"]));
    assert_eq!(rings[1].as_array().map(Vec::len), Some(6));
    let center = json("print geo_h3cell_to_central_point('862a1072fffffff')");
    assert!(close(
        center["coordinates"][0].as_f64().unwrap(),
        -74.01600847979243
    ));
    let polygon = json("print geo_h3cell_to_polygon('862a1072fffffff')");
    assert_eq!(polygon["coordinates"][0].as_array().map(Vec::len), Some(7));
}

#[test]
fn h3_calls_with_extreme_arguments_are_null_not_huge() {
    assert_eq!(
        cell("print geo_point_to_h3cell(1, 1, 1000000000)"),
        Value::str("")
    );
    assert_eq!(
        cell("print geo_h3cell_children(geo_point_to_h3cell(1, 1, 0), 15)"),
        Value::Null
    );
    assert_eq!(
        cell("print geo_h3cell_rings('861f8894fffffff', 1000000000)"),
        Value::Null
    );
    assert_eq!(
        cell("print geo_h3cell_rings('861f8894fffffff', -1)"),
        Value::Null
    );
}

#[test]
fn s2_cells_and_geohashes() {
    assert_eq!(
        cell("print geo_point_to_s2cell(-80.195829, 25.802215, 8)"),
        Value::str("88d9b")
    );
    assert_eq!(cell("print geo_point_to_s2cell(1, 1, 35)"), Value::str(""));
    let center = json("print geo_s2cell_to_central_point('1234567')");
    assert!(close(
        center["coordinates"][0].as_f64().unwrap(),
        9.86830731850408
    ));
    assert!(close(
        center["coordinates"][1].as_f64().unwrap(),
        27.468392925827605
    ));
    assert_eq!(cell("print geo_s2cell_neighbors('a')"), Value::Null);
    assert_eq!(
        cell("print geo_point_to_geohash(-73.975212, 40.789608, 5)"),
        Value::str("dr72h")
    );
    assert_eq!(
        json("print geo_geohash_to_polygon('dr5ru')")["coordinates"][0][2],
        serde_json::json!([-73.9599609375, 40.78125])
    );
    assert_eq!(
        json("print geo_geohash_neighbors('sunny')"),
        serde_json::json!([
            "sunnv", "sunnt", "sunnw", "sunnx", "sunpp", "sunnz", "sunpn", "sunpj"
        ])
    );
    assert_eq!(cell("print geo_geohash_to_central_point('a')"), Value::Null);
}

#[test]
fn distances_bearings_and_lengths_are_on_s2_s_sphere() {
    assert!(close(
        real("print geo_distance_2points(-122.407628, 47.578557, -118.275287, 34.019056)"),
        1546754.3519738095
    ));
    assert!(close(
        real("print geo_azimuth(5, 10, 10, -40)"),
        3.054599397964492
    ));
    assert!(close(
        real("print geo_angle(0, 10, 0, 5, 3, -10)"),
        2.9449384340688165
    ));
    assert_eq!(cell("print geo_azimuth(5, 10, 5, 10)"), Value::Null);
    assert!(close(
        real(
            r#"print geo_line_length(dynamic({"type":"LineString","coordinates":[[-73.95807266235352,40.800426144169315],[-73.94966125488281,40.79691751000055],[-73.97317886352539,40.764486356930334]]}))"#
        ),
        4922.4801699208065
    ));
    assert_eq!(
        cell(r#"print geo_line_length(dynamic({"type":"LineString","coordinates":[[1, 1]]}))"#),
        Value::Null
    );
    assert_eq!(
        cell("print geo_point_in_circle(-122.137575, 47.630683, -122.100896, 47.527351, 3500)"),
        Value::Bool(false)
    );
    assert_eq!(
        cell("print geo_point_in_circle(1, 1, 1, 1, -1)"),
        Value::Null
    );
}

#[test]
fn shapes_from_wkt_containment_and_intersections() {
    assert_eq!(
        json("print geo_from_wkt('LINESTRING (1 2, 3 4)')"),
        serde_json::json!({"type": "LineString", "coordinates": [[1.0, 2.0], [3.0, 4.0]]})
    );
    assert_eq!(
        cell(
            r#"print geo_point_in_polygon(1, 1, dynamic({"type":"Polygon","coordinates":[[[0,0],[10,10],[10,10],[0,0]]]}))"#
        ),
        Value::Null
    );
    assert_eq!(
        cell(
            r#"print geo_point_in_polygon(2, 1, dynamic({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,0]]]}))"#
        ),
        Value::Bool(true)
    );
    let crossing = json(
        r#"print geo_intersection_2lines(dynamic({"type":"LineString","coordinates":[[-73.978929,40.785155],[-73.980903,40.782621]]}), dynamic({"type":"LineString","coordinates":[[-73.985195,40.788275],[-73.974552,40.779761]]}))"#,
    );
    assert_eq!(crossing["type"], "Point");
    assert!(close(
        crossing["coordinates"][0].as_f64().unwrap(),
        -73.97983711667098
    ));
    assert_eq!(
        json(
            r#"print geo_intersection_2lines(dynamic({"type":"LineString","coordinates":[[1,1],[2,2]]}), dynamic({"type":"LineString","coordinates":[[3,3],[4,4]]}))"#
        ),
        serde_json::json!({"type": "GeometryCollection", "geometries": []})
    );
    assert_eq!(
        cell(
            r#"print geo_union_polygons_array(dynamic([{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}, {"type":"Polygon","coordinates":[[[1,1]]]}]))"#
        ),
        Value::Null
    );
}

#[test]
fn densify_and_buffers_are_bounded() {
    // The smallest tolerance over the longest edge: halved as often as needed, up to the cap.
    let long = json(
        r#"print geo_line_densify(dynamic({"type":"LineString","coordinates":[[-179,-89],[179,89]]}), 0.1)"#,
    );
    let points = long["coordinates"].as_array().map_or(0, Vec::len);
    assert!(points > 1000 && points <= (1 << 17) + 2, "{points}");
    // The cap counts the points of every line of the shape: several such lines are null.
    let lines = r#"[[-179,-89],[179,89]]"#;
    assert_eq!(
        cell(&format!(
            r#"print geo_line_densify(dynamic({{"type":"MultiLineString","coordinates":[{lines},{lines},{lines},{lines},{lines},{lines}]}}), 0.1)"#
        )),
        Value::Null
    );
    assert_eq!(
        cell(
            r#"print geo_line_densify(dynamic({"type":"LineString","coordinates":[[1,1],[2,2]]}), 0)"#
        ),
        Value::Null
    );
    assert_eq!(cell("print geo_point_buffer(10, 10, -1)"), Value::Null);
    let buffer = json("print geo_point_buffer(-115.1745008278, 36.1497251277, 20000)");
    assert_eq!(buffer["type"], "Polygon");
}

#[test]
fn polygon_to_h3cells_takes_the_cells_whose_centers_are_inside() {
    let cells = json(
        r#"print geo_polygon_to_h3cells(dynamic({"type":"Polygon","coordinates":[[[-3.659,40.553],[-3.913,40.409],[-3.729,40.273],[-3.524,40.440],[-3.659,40.553]]]}))"#,
    );
    let mut cells: Vec<&str> = cells
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    cells.sort_unstable();
    // Kusto's 13 cells (in another order).
    assert_eq!(cells.len(), 13);
    assert!(cells.contains(&"86390cbafffffff") && cells.contains(&"86390cb57ffffff"));
    // Past Kusto's limit of 61,680 cells: null, without enumerating them.
    assert_eq!(
        cell(
            r#"print geo_polygon_to_h3cells(dynamic({"type":"Polygon","coordinates":[[[0,0],[50,0],[50,50],[0,0]]]}), 15)"#
        ),
        Value::Null
    );
}

#[test]
fn unions_of_lines_chain_shared_edges_and_buffers_need_a_positive_radius() {
    let union = json(
        r#"print geo_union_lines_array(dynamic([{"type":"LineString","coordinates":[[0,0],[1,1],[2,1]]}, {"type":"LineString","coordinates":[[2,1],[1,1]]}, {"type":"LineString","coordinates":[[2,1],[3,0]]}]))"#,
    );
    assert_eq!(
        union,
        serde_json::json!({"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0], [2.0, 1.0], [3.0, 0.0]]})
    );
    assert_eq!(
        cell(
            r#"print geo_union_lines_array(dynamic([{"type":"LineString","coordinates":[[1,1]]}]))"#
        ),
        Value::Null
    );
    let buffer = json(
        r#"print geo_line_buffer(dynamic({"type":"LineString","coordinates":[[0,0],[0.01,0]]}), 100)"#,
    );
    assert_eq!(buffer["type"], "Polygon");
    assert_eq!(
        cell(
            r#"print geo_line_buffer(dynamic({"type":"LineString","coordinates":[[0,0],[1,1]]}), 0)"#
        ),
        Value::Null
    );
    assert_eq!(
        cell(
            r#"print geo_polygon_buffer(dynamic({"type":"Polygon","coordinates":[[[10,10],[0,10],[0,0],[10,10]]]}), 0)"#
        ),
        Value::Null
    );
    let inside = json(
        r#"print geo_intersection_line_with_polygon(dynamic({"type":"LineString","coordinates":[[-1,0.5],[2,0.5]]}), dynamic({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}))"#,
    );
    assert_eq!(inside["type"], "LineString");
    let x = inside["coordinates"][0][0].as_f64().unwrap();
    assert!((x - 0.0).abs() < 1e-9, "{inside}");
}

#[test]
fn s2_covers_have_cells_of_one_level_and_a_limit() {
    let count = cell(
        r#"print array_length(geo_polygon_to_s2cells(dynamic({"type":"Polygon","coordinates":[[[0,0],[0,50],[100,50],[0,0]]]}), 5))"#,
    );
    // Kusto covers this triangle with 286 cells.
    let Value::Long(n) = count else {
        panic!("{count:?}")
    };
    assert_eq!(n, 286);
    assert_eq!(
        cell(
            r#"print geo_polygon_to_s2cells(dynamic({"type":"Polygon","coordinates":[[[0,0],[0,50],[100,50],[0,0]]]}), 30)"#
        ),
        Value::Null
    );
    let line = json(
        r#"print geo_line_to_s2cells(dynamic({"type":"LineString","coordinates":[[-73.98,40.75],[-73.97,40.76]]}), 14)"#,
    );
    let tokens: Vec<&str> = line
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(!tokens.is_empty());
    let start = cell("print geo_point_to_s2cell(-73.98, 40.75, 14)");
    assert!(tokens.iter().any(|t| Value::str(*t) == start), "{tokens:?}");
}

#[test]
fn polygon_edges_are_great_circle_arcs() {
    // The edge from (0, 50) to (100, 50) bulges north on the sphere: (50, 52) is inside.
    let q = |lng: f64, lat: f64| {
        cell(&format!(
            r#"print geo_point_in_polygon({lng}, {lat}, dynamic({{"type":"Polygon","coordinates":[[[0,0],[0,50],[100,50],[0,0]]]}}))"#
        ))
    };
    assert_eq!(q(50.0, 52.0), Value::Bool(true));
    assert_eq!(q(50.0, 70.0), Value::Bool(false));
    // A vertex is in.
    assert_eq!(q(0.0, 50.0), Value::Bool(true));
}

#[test]
fn polygons_that_only_touch_intersect_in_a_point() {
    assert_eq!(
        json(
            r#"print geo_intersection_2polygons(dynamic({"type":"Polygon","coordinates":[[[2,45],[0,45],[1,44],[2,45]]]}), dynamic({"type":"Polygon","coordinates":[[[3,44],[2,45],[2,43],[3,44]]]}))"#
        ),
        serde_json::json!({"type": "Point", "coordinates": [2.0, 45.0]})
    );
}

#[test]
fn geo_lookup_plugins_join_points_with_the_shapes_near_them() {
    let polygons = r#"let polygons = datatable(name:string, polygon:dynamic)
[
    "square", dynamic({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}),
];
let roads = datatable(road:string, line:dynamic)
[
    "equator", dynamic({"type":"LineString","coordinates":[[10,0],[11,0]]}),
];
datatable(place:string, lng:real, lat:real)
[
    "in", 0.5, 0.5,
    "near", 1.001, 0.5,
    "road", 10.5, 0.0005,
]
"#;
    let rows = |q: &str| {
        let r = run(&format!("{polygons}{q}"));
        r.table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows("| evaluate geo_polygon_lookup(polygons, polygon, lng, lat)"),
        vec!["in,0.5,0.5,square"]
    );
    // Within 200 m (the point 1.001 is about 111 m east of the square).
    assert_eq!(
        rows("| evaluate geo_polygon_lookup(polygons, polygon, lng, lat, 200) | project place"),
        vec!["in", "near"]
    );
    assert_eq!(
        rows(
            "| evaluate geo_line_lookup(roads, line, lng, lat, 100, return_unmatched = true) | project place, road"
        ),
        vec!["in,", "near,", "road,equator"]
    );
}

#[test]
fn simplify_keeps_the_far_points_and_takes_long_lines_without_recursion() {
    assert_eq!(
        json(
            r#"print geo_line_simplify(dynamic({"type":"LineString","coordinates":[[0,0],[0.5,0.00001],[1,0],[1,1]]}), 10)"#
        ),
        serde_json::json!({"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]})
    );
    // 20,000 points on a curve: every split keeps one more point at one end.
    let simplified = json(
        r#"range i from 0 to 19999 step 1
        | summarize c = strcat_array(make_list(strcat('[', i * 0.0001, ',', exp(i * 0.0004) * 0.00001, ']')), ',')
        | project geo_line_simplify(parse_json(strcat('{"type":"LineString","coordinates":[', c, ']}')), 0.1)"#,
    );
    let kept = simplified["coordinates"].as_array().map_or(0, Vec::len);
    assert!(
        kept > 10,
        "{kept} {}",
        simplified.to_string().chars().take(300).collect::<String>()
    );
}
