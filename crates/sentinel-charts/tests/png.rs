//! Every chart type drawn from a small table, checked by decoding the PNG.

use kql::{Column, ScalarType, Table, Value};
use sentinel_charts::{ChartKind, ChartSpec, Limits, PALETTE, render};

/// Width, height and RGB pixels of a PNG.
fn decode(png: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(png);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

/// How many palette colours cover a visible patch (50 pixels or more): the series drawn.
fn series_colours(pixels: &[[u8; 3]]) -> usize {
    PALETTE
        .iter()
        .filter(|c| pixels.iter().filter(|p| **p == [c.0, c.1, c.2]).count() >= 50)
        .count()
}

const HOUR: i64 = 3_600 * 10_000_000;

/// Sign-ins per hour and result: 3 results over 12 hours.
fn per_hour() -> Table {
    let mut rows = Vec::new();
    for h in 0..12i64 {
        for (i, result) in ["success", "failure", "interrupted"].iter().enumerate() {
            rows.push(vec![
                Value::DateTime(1_700_000_000 * 10_000_000 + h * HOUR),
                Value::str(result),
                Value::Long(10 + (h * (i as i64 + 1)) % 7),
            ]);
        }
    }
    Table {
        columns: vec![
            Column::new("TimeGenerated", ScalarType::DateTime),
            Column::new("ResultType", ScalarType::String),
            Column::new("count_", ScalarType::Long),
        ],
        rows,
    }
}

/// Events per user: 4 users, 2 numeric columns.
fn per_user() -> Table {
    let rows = ["alice", "bob", "carol", "dave"]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            vec![
                Value::str(u),
                Value::Long(5 * (i as i64 + 1)),
                Value::Long(3 + i as i64),
            ]
        })
        .collect();
    Table {
        columns: vec![
            Column::new("User", ScalarType::String),
            Column::new("ok", ScalarType::Long),
            Column::new("failed", ScalarType::Long),
        ],
        rows,
    }
}

fn draw(table: &Table, visualization: &str, props: &[(&str, &str)]) -> sentinel_charts::Chart {
    let spec = ChartSpec::from_properties(visualization, props.iter().copied()).unwrap();
    render(table, &spec, &Limits::default()).unwrap()
}

#[test]
fn each_chart_type_draws_its_series_in_distinct_colours() {
    let cases: [(&str, Table, usize); 7] = [
        ("timechart", per_hour(), 3),
        ("linechart", per_hour(), 3),
        ("areachart", per_hour(), 3),
        ("scatterchart", per_hour(), 3),
        ("columnchart", per_user(), 2),
        ("barchart", per_user(), 2),
        ("piechart", per_user(), 4),
    ];
    for (visualization, table, expected) in cases {
        let chart = draw(&table, visualization, &[("title", "Sign-ins")]);
        let (w, h, pixels) = decode(&chart.png);
        assert_eq!((w, h), (1200, 800), "{visualization}");
        assert_eq!((chart.width, chart.height), (w, h));
        assert!(
            chart.png.len() <= 300 * 1024,
            "{visualization}: {}",
            chart.png.len()
        );
        let white = pixels.iter().filter(|p| **p == [255, 255, 255]).count();
        assert!(white < pixels.len() * 97 / 100, "{visualization} is blank");
        assert_eq!(chart.series, expected, "{visualization}");
        assert_eq!(series_colours(&pixels), expected, "{visualization}");
    }
}

#[test]
fn stacked_columns_and_the_size_limits_are_kept() {
    let chart = draw(&per_user(), "columnchart", &[("kind", "stacked")]);
    assert_eq!(series_colours(&decode(&chart.png).2), 2);
    let spec = ChartSpec::from_properties("barchart", []).unwrap();
    let small = Limits {
        width: 600,
        height: 400,
        max_bytes: 300 * 1024,
    };
    let chart = render(&per_user(), &spec, &small).unwrap();
    assert_eq!(decode(&chart.png).0, 600);
    // A budget too small for any chart is refused with the sizes, not an oversized PNG.
    let tiny = Limits {
        max_bytes: 200,
        ..Limits::default()
    };
    let err = render(&per_hour(), &ChartSpec::new(ChartKind::TimeChart), &tiny).unwrap_err();
    assert!(err.to_string().contains("over the 200 allowed"), "{err}");
}

#[test]
fn a_table_the_chart_cannot_use_is_refused_with_the_reason() {
    let text_only = Table {
        columns: vec![Column::new("User", ScalarType::String)],
        rows: vec![vec![Value::str("alice")]],
    };
    let spec = ChartSpec::new(ChartKind::ColumnChart);
    let err = render(&text_only, &spec, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("no numeric column"), "{err}");
    let empty = Table {
        rows: Vec::new(),
        ..per_user()
    };
    let err = render(&empty, &spec, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("no rows"), "{err}");
}
