//! Drawing [`PlotData`] with plotters into an RGB buffer, then a PNG.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::ChartError;
use crate::data::{PlotData, Series, XAxis};
use crate::spec::{ChartKind, ChartSpec, Stacking};

/// The series colours, in order (Tableau's 10, then 14 more that stay apart from them).
pub const PALETTE: [RGBColor; 24] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 63, 92),
    RGBColor(188, 80, 144),
    RGBColor(255, 166, 0),
    RGBColor(102, 81, 145),
    RGBColor(0, 128, 128),
    RGBColor(128, 0, 0),
    RGBColor(170, 110, 40),
    RGBColor(0, 0, 128),
    RGBColor(128, 128, 0),
    RGBColor(60, 180, 75),
    RGBColor(240, 50, 230),
    RGBColor(70, 240, 240),
    RGBColor(250, 190, 190),
    RGBColor(0, 130, 200),
];

const FONT: &str = "sans-serif";

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn fail(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Draws the chart into `rgb` (3 bytes per pixel, `width × height`).
pub fn draw(
    data: &PlotData,
    spec: &ChartSpec,
    rgb: &mut [u8],
    (width, height): (u32, u32),
) -> Result<(), ChartError> {
    let root = BitMapBackend::with_buffer(rgb, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let area = match &spec.title {
        Some(title) => root
            .titled(title, (FONT, 22).into_font().color(&BLACK))
            .map_err(fail)?,
        None => root.clone(),
    };
    match spec.kind {
        ChartKind::PieChart => pie(&area, data)?,
        ChartKind::ColumnChart | ChartKind::BarChart => columns(&area, data, spec)?,
        ChartKind::TimeChart
        | ChartKind::LineChart
        | ChartKind::AreaChart
        | ChartKind::ScatterChart => lines(&area, data, spec)?,
    }
    root.present().map_err(fail)
}

/// The y range: the data's (from 0 unless values go below), widened a little above, or the
/// spec's `ymin`/`ymax`.
fn y_range(values: impl Iterator<Item = f64>, spec: &ChartSpec) -> Range<f64> {
    let (mut low, mut high) = values.fold((0.0f64, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if high <= low {
        high = low + 1.0;
    }
    high += (high - low) * 0.08;
    low = spec.y_min.unwrap_or(low);
    high = spec.y_max.unwrap_or(high).max(low + f64::EPSILON);
    low..high
}

fn x_label(axis: &XAxis, x: f64, span: f64) -> String {
    match axis {
        XAxis::Time => {
            let at = chrono::DateTime::from_timestamp(x as i64, 0).unwrap_or_default();
            let format = if span > 2.0 * 86_400.0 {
                "%m-%d"
            } else {
                "%m-%d %H:%M"
            };
            at.format(format).to_string()
        }
        XAxis::Number => kql::value::format_real(x),
        XAxis::Category(names) => {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            names.get(i as usize).cloned().unwrap_or_default()
        }
    }
}

/// A stacked chart's series: each point raised by the series before it at the same x (as a
/// share of the x's total for `stacked100`). Returns each series' `(x, base, top)`.
fn stacked(series: &[Series], stacking: Stacking) -> Vec<Vec<(f64, f64, f64)>> {
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let value = |s: &Series, x: f64| {
        s.points
            .iter()
            .filter(|p| p.0 == x)
            .map(|p| p.1)
            .sum::<f64>()
    };
    let totals: Vec<f64> = xs
        .iter()
        .map(|&x| series.iter().map(|s| value(s, x)).sum())
        .collect();
    let mut bases = vec![0.0; xs.len()];
    series
        .iter()
        .map(|s| {
            xs.iter()
                .enumerate()
                .map(|(i, &x)| {
                    let mut v = value(s, x);
                    if stacking == Stacking::Stacked100 && totals[i] != 0.0 {
                        v = 100.0 * v / totals[i];
                    }
                    let base = bases[i];
                    bases[i] += v;
                    (x, base, base + v)
                })
                .collect()
        })
        .collect()
}

fn legend_entry<DB: DrawingBackend>(
    drawn: &mut plotters::chart::SeriesAnno<'_, DB>,
    name: &str,
    c: RGBColor,
) {
    drawn
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
}

/// A chart with both axes in `f64`: numbers, times (seconds) or category slots.
type Plot<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// How a chart's axes are laid out and labelled.
struct Axes<'f> {
    x: Range<f64>,
    y: Range<f64>,
    x_label: &'f dyn Fn(&f64) -> String,
    y_label: &'f dyn Fn(&f64) -> String,
    /// Most labels on each axis.
    labels: (usize, usize),
    x_desc: String,
    y_desc: String,
    /// Pixels for the y-axis labels (category names need more than numbers).
    y_label_width: u32,
    /// Grid lines across the values only: none along the category axis (`Some(true)`: the
    /// categories are on x).
    categories_on_x: Option<bool>,
}

/// The chart's frame: axes, labels, titles and grid.
fn axes<'a, 'b>(area: &'a Area<'b>, a: Axes<'_>) -> Result<Plot<'a, 'b>, ChartError> {
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(a.y_label_width)
        .build_cartesian_2d(a.x, a.y)
        .map_err(fail)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(a.labels.0)
        .y_labels(a.labels.1)
        .x_label_formatter(a.x_label)
        .y_label_formatter(a.y_label)
        .x_desc(a.x_desc)
        .y_desc(a.y_desc)
        .label_style((FONT, 13))
        .light_line_style(RGBColor(235, 235, 235));
    match a.categories_on_x {
        Some(true) => {
            mesh.disable_x_mesh();
        }
        Some(false) => {
            mesh.disable_y_mesh();
        }
        None => {}
    }
    mesh.draw().map_err(fail)?;
    Ok(chart)
}

/// The legend, when there is more than one series and the spec does not hide it.
fn legend<'a, 'b: 'a>(
    chart: &mut Plot<'a, 'b>,
    spec: &ChartSpec,
    series: usize,
) -> Result<(), ChartError> {
    if !spec.legend || series < 2 {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(fail)
}

fn number_label(v: &f64) -> String {
    kql::value::format_real(*v)
}

/// Time, line, area and scatter charts: numeric x.
fn lines(area: &Area, data: &PlotData, spec: &ChartSpec) -> Result<(), ChartError> {
    let points = data.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = points
        .clone()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.0), h.max(p.0)));
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let stack = (spec.kind == ChartKind::AreaChart && spec.stacking != Stacking::Unstacked)
        .then(|| stacked(&data.series, spec.stacking));
    let ys: Vec<f64> = match &stack {
        Some(s) => s.iter().flatten().map(|p| p.2).collect(),
        None => points.map(|p| p.1).collect(),
    };
    let span = x1 - x0;
    let x_fmt = |x: &f64| x_label(&data.x_axis, *x, span);
    let mut chart = axes(
        area,
        Axes {
            x: x0..x1,
            y: y_range(ys.into_iter(), spec),
            x_label: &x_fmt,
            y_label: &number_label,
            labels: (10, 10),
            x_desc: spec.x_title.clone().unwrap_or_else(|| data.x_name.clone()),
            y_desc: spec.y_title.clone().unwrap_or_default(),
            y_label_width: 64,
            categories_on_x: None,
        },
    )?;
    for (i, s) in data.series.iter().enumerate() {
        let c = colour(i);
        let drawn = match (spec.kind, &stack) {
            (ChartKind::ScatterChart, _) => chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(fail)?,
            (ChartKind::AreaChart, Some(stack)) => {
                // The band between the series below and this one's top.
                let mut band: Vec<(f64, f64)> = stack[i].iter().map(|p| (p.0, p.2)).collect();
                band.extend(stack[i].iter().rev().map(|p| (p.0, p.1)));
                chart
                    .draw_series([Polygon::new(band, c.mix(0.7).filled())])
                    .map_err(fail)?
            }
            (ChartKind::AreaChart, None) => chart
                .draw_series(
                    AreaSeries::new(s.points.iter().copied(), 0.0, c.mix(0.35))
                        .border_style(c.stroke_width(2)),
                )
                .map_err(fail)?,
            _ => chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(fail)?,
        };
        legend_entry(drawn, &s.name, c);
    }
    legend(&mut chart, spec, data.series.len())
}

/// Column charts (vertical) and bar charts (horizontal): one slot per x value, the series side
/// by side in it or stacked.
fn columns(area: &Area, data: &PlotData, spec: &ChartSpec) -> Result<(), ChartError> {
    let slots = match &data.x_axis {
        XAxis::Category(names) => names.len(),
        // Numbers and times are categories here, in order.
        _ => 0,
    };
    let (data, slots) = if slots == 0 {
        let categorical = as_categories(data);
        let n = match &categorical.x_axis {
            XAxis::Category(names) => names.len(),
            _ => 0,
        };
        (std::borrow::Cow::Owned(categorical), n)
    } else {
        (std::borrow::Cow::Borrowed(data), slots)
    };
    let stack =
        (spec.stacking != Stacking::Unstacked).then(|| stacked(&data.series, spec.stacking));
    let bars: Vec<(usize, f64, f64, f64, f64)> = match &stack {
        // (series, slot low, slot high, value low, value high)
        Some(stack) => stack
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |&(x, b, t)| (i, x - 0.4, x + 0.4, b, t)))
            .collect(),
        None => {
            let k = data.series.len().max(1) as f64;
            let w = 0.8 / k;
            data.series
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    s.points.iter().map(move |&(x, y)| {
                        let left = x - 0.4 + i as f64 * w;
                        (i, left, left + w, 0.0f64.min(y), 0.0f64.max(y))
                    })
                })
                .collect()
        }
    };
    let values = y_range(bars.iter().flat_map(|b| [b.3, b.4]), spec);
    let slots_range = -0.5..(slots.max(1) as f64 - 0.5);
    let x_axis = data.x_axis.clone();
    let label = move |x: &f64| x_label(&x_axis, *x, 0.0);
    let horizontal = spec.kind == ChartKind::BarChart;
    let category_desc = spec.x_title.clone().unwrap_or_else(|| data.x_name.clone());
    let value_desc = spec.y_title.clone().unwrap_or_default();
    // A bar chart is a column chart on its side: categories up the y axis, values along x.
    let frame = match horizontal {
        false => Axes {
            x: slots_range,
            y: values,
            x_label: &label,
            y_label: &number_label,
            labels: (slots.min(24), 10),
            x_desc: category_desc,
            y_desc: value_desc,
            y_label_width: 64,
            categories_on_x: Some(true),
        },
        true => Axes {
            x: values,
            y: slots_range,
            x_label: &number_label,
            y_label: &label,
            labels: (10, slots.min(40)),
            x_desc: value_desc,
            y_desc: category_desc,
            y_label_width: 96,
            categories_on_x: Some(false),
        },
    };
    let mut chart = axes(area, frame)?;
    for (i, s) in data.series.iter().enumerate() {
        let c = colour(i);
        let rects = bars
            .iter()
            .filter(|b| b.0 == i)
            .map(|&(_, lo, hi, v0, v1)| {
                let corners = match horizontal {
                    true => [(v0, lo), (v1, hi)],
                    false => [(lo, v0), (hi, v1)],
                };
                Rectangle::new(corners, c.filled())
            });
        let drawn = chart.draw_series(rects).map_err(fail)?;
        legend_entry(drawn, &s.name, c);
    }
    legend(&mut chart, spec, data.series.len())
}

/// Numeric or time x values as categories (columns stand in slots, not at positions).
fn as_categories(data: &PlotData) -> PlotData {
    let mut xs: Vec<f64> = data
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let span = xs.last().copied().unwrap_or(0.0) - xs.first().copied().unwrap_or(0.0);
    let names = xs.iter().map(|&x| x_label(&data.x_axis, x, span)).collect();
    let slot = |x: f64| xs.binary_search_by(|v| v.total_cmp(&x)).unwrap_or(0) as f64;
    PlotData {
        x_axis: XAxis::Category(names),
        series: data
            .series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                points: s.points.iter().map(|&(x, y)| (slot(x), y)).collect(),
            })
            .collect(),
        ..data.clone()
    }
}

/// A pie: one slice per x value, sized by the first y column's (positive) values.
fn pie(area: &Area, data: &PlotData) -> Result<(), ChartError> {
    let series = &data.series[0];
    let mut slices: Vec<(String, f64)> = series
        .points
        .iter()
        .filter(|p| p.1 > 0.0)
        .map(|&(x, y)| (x_label(&data.x_axis, x, 0.0), y))
        .collect();
    if slices.is_empty() {
        return Err(ChartError::Empty);
    }
    slices.sort_by(|a, b| b.1.total_cmp(&a.1));
    let sizes: Vec<f64> = slices.iter().map(|s| s.1).collect();
    let labels: Vec<String> = slices.iter().map(|s| s.0.clone()).collect();
    let colours: Vec<RGBColor> = (0..slices.len()).map(colour).collect();
    let (w, h) = area.dim_in_pixel();
    let center = (w as i32 / 2, h as i32 / 2);
    let radius = f64::from(w.min(h)) * 0.36;
    let mut pie = Pie::new(&center, &radius, &sizes, &colours, &labels);
    pie.label_style((FONT, 14).into_font().color(&BLACK));
    pie.start_angle(-90.0);
    area.draw(&pie).map_err(fail)
}
