//! The chart a KQL query's `render` operator asks for (`timechart`, `linechart`, `areachart`,
//! `columnchart`, `barchart`, `piechart`, `scatterchart`), drawn from its result table as a PNG
//! with a bundled font: no system fonts, no browser. The table is read by Kusto's rules (an
//! x-axis column, numeric y-axis columns, text columns naming the series), with the properties
//! of `render ... with (title=..., xtitle=..., ytitle=..., kind=..., ...)`.

mod data;
mod draw;
mod spec;

use std::sync::OnceLock;

pub use data::{MAX_ROWS, MAX_SERIES};
pub use draw::PALETTE;
pub use spec::{ChartKind, ChartSpec, Stacking};

/// The chart font: DejaVu Sans, cut to the scripts labels need (fonts/README.md).
static FONT_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// Why no chart was drawn, as a sentence for the person who wrote the query.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the chart names column {0:?}, which the result does not have")]
    NoSuchColumn(String),
    #[error("the chart's y-axis column {0:?} is not numeric")]
    NotNumeric(String),
    #[error("nothing to plot: the result has no numeric column for the y-axis")]
    NoNumericColumn,
    #[error("a timechart needs a datetime column for its x-axis, and the result has none")]
    NoTimeColumn,
    #[error("nothing to plot: the result has no rows with values")]
    Empty,
    #[error("the chart could not be drawn: {0}")]
    Draw(String),
    #[error("the chart is {bytes} bytes as a PNG even at {width}x{height}, over the {max} allowed")]
    TooLarge {
        bytes: usize,
        max: usize,
        width: u32,
        height: u32,
    },
}

/// How big a chart may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub width: u32,
    pub height: u32,
    /// The PNG's size at most; a larger one is drawn again smaller.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            width: 1200,
            height: 800,
            max_bytes: 300 * 1024,
        }
    }
}

/// A drawn chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Series drawn (slices, for a pie).
    pub series: usize,
    /// Said beside the chart when something was left out of it.
    pub note: Option<String>,
}

fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(
                "sans-serif",
                plotters::style::FontStyle::Normal,
                FONT_BYTES,
            )
            .map_err(|_| "the bundled font does not load".to_string())
        })
        .clone()
        .map_err(ChartError::Draw)
}

/// Draws `table` as `spec` asks, within `limits`.
pub fn render(table: &kql::Table, spec: &ChartSpec, limits: &Limits) -> Result<Chart, ChartError> {
    register_font()?;
    let data = data::plot_data(table, spec)?;
    let series = match spec.kind {
        ChartKind::PieChart => data.series[0].points.iter().filter(|p| p.1 > 0.0).count(),
        _ => data.series.len(),
    };
    let mut notes = Vec::new();
    if data.series_left_out > 0 {
        notes.push(format!(
            "it shows the {MAX_SERIES} largest series; {} more are left out",
            data.series_left_out
        ));
    }
    if data.rows_left_out > 0 {
        notes.push(format!(
            "it is drawn from the first {MAX_ROWS} rows; {} more are left out",
            data.rows_left_out
        ));
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    let mut size = (limits.width.max(200), limits.height.max(150));
    loop {
        let (width, height) = size;
        let mut rgb = vec![255u8; width as usize * height as usize * 3];
        draw::draw(&data, spec, &mut rgb, size)?;
        let png = encode(&rgb, width, height)?;
        if png.len() <= limits.max_bytes {
            return Ok(Chart {
                png,
                width,
                height,
                series,
                note,
            });
        }
        // Charts are flat colours and compress well; a busy one is drawn again smaller.
        if width <= 320 {
            return Err(ChartError::TooLarge {
                bytes: png.len(),
                max: limits.max_bytes,
                width,
                height,
            });
        }
        size = (width * 3 / 4, height * 3 / 4);
    }
}

fn encode(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let fail = |e: png::EncodingError| ChartError::Draw(e.to_string());
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(rgb).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}
