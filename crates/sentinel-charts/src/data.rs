//! A result table read the way Kusto's render operator reads it: an x-axis column, y-axis
//! columns (each row gives each series one point per y column) and series columns (their
//! combined values name a series).

use std::collections::HashMap;

use kql::{ScalarType, Table, Value};

use crate::ChartError;
use crate::spec::{ChartKind, ChartSpec};

/// Most series a chart draws (the ones with the largest totals); the rest are left out and
/// said so.
pub const MAX_SERIES: usize = 24;

/// Most rows a chart reads; a longer result is drawn from its first rows, and said so.
pub const MAX_ROWS: usize = 20_000;

/// What the x values are.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Seconds since 1970-01-01 (a datetime column).
    Time,
    Number,
    /// Text: x is the index of the category, in order of first appearance.
    Category(Vec<String>),
}

/// One line, area, set of columns or points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// `(x, y)`, sorted by x.
    pub points: Vec<(f64, f64)>,
}

/// The table as the chart sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotData {
    pub x_axis: XAxis,
    pub x_name: String,
    pub y_names: Vec<String>,
    pub series: Vec<Series>,
    /// Series left out beyond [`MAX_SERIES`].
    pub series_left_out: usize,
    /// Rows not read beyond [`MAX_ROWS`].
    pub rows_left_out: usize,
}

fn is_numeric(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::Int | ScalarType::Long | ScalarType::Real | ScalarType::Decimal
    )
}

fn column(table: &Table, name: &str) -> Result<usize, ChartError> {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| ChartError::NoSuchColumn(name.to_string()))
}

fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Int(i) => f64::from(*i),
        Value::Long(l) => *l as f64,
        Value::Real(r) => *r,
        Value::Decimal(d) => d.to_f64(),
        Value::DateTime(ticks) => *ticks as f64 / 1e7,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// The x column: `xcolumn`, else the first column; a timechart's must be a datetime, so it
/// takes the first datetime column when the first is not one.
fn x_column(table: &Table, spec: &ChartSpec) -> Result<usize, ChartError> {
    if let Some(name) = &spec.x_column {
        return column(table, name);
    }
    if table.columns.is_empty() {
        return Err(ChartError::Empty);
    }
    let first = 0;
    if spec.kind == ChartKind::TimeChart && table.columns[first].ty != ScalarType::DateTime {
        return table
            .columns
            .iter()
            .position(|c| c.ty == ScalarType::DateTime)
            .ok_or(ChartError::NoTimeColumn);
    }
    Ok(first)
}

/// Reads `table` for `spec`.
pub fn plot_data(table: &Table, spec: &ChartSpec) -> Result<PlotData, ChartError> {
    let x = x_column(table, spec)?;
    let x_type = table.columns[x].ty;
    let y: Vec<usize> = if spec.y_columns.is_empty() {
        (0..table.columns.len())
            .filter(|&i| i != x && is_numeric(table.columns[i].ty))
            .collect()
    } else {
        let mut y = Vec::new();
        for name in &spec.y_columns {
            let i = column(table, name)?;
            if !is_numeric(table.columns[i].ty) {
                return Err(ChartError::NotNumeric(name.clone()));
            }
            y.push(i);
        }
        y
    };
    if y.is_empty() {
        return Err(ChartError::NoNumericColumn);
    }
    // A pie's slices are its x values: it has no series columns.
    let series_columns: Vec<usize> = if spec.kind == ChartKind::PieChart {
        Vec::new()
    } else if spec.series.is_empty() {
        (0..table.columns.len())
            .filter(|&i| i != x && !y.contains(&i))
            .filter(|&i| matches!(table.columns[i].ty, ScalarType::String | ScalarType::Guid))
            .collect()
    } else {
        spec.series
            .iter()
            .map(|name| column(table, name))
            .collect::<Result<_, _>>()?
    };

    let numeric_x = x_type == ScalarType::DateTime || is_numeric(x_type);
    let mut categories: Vec<String> = Vec::new();
    let mut category_index: HashMap<String, usize> = HashMap::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut series: Vec<Series> = Vec::new();
    for row in table.rows.iter().take(MAX_ROWS) {
        let xv = if numeric_x {
            match number(&row[x]) {
                Some(v) => v,
                None => continue,
            }
        } else {
            let label = text(&row[x]);
            let next = categories.len();
            let i = *category_index.entry(label.clone()).or_insert(next);
            if i == next {
                categories.push(label);
            }
            i as f64
        };
        let key: Vec<String> = series_columns.iter().map(|&c| text(&row[c])).collect();
        let key = key.join(", ");
        for &yc in &y {
            let Some(yv) = number(&row[yc]) else {
                continue;
            };
            let name = match (key.is_empty(), y.len() > 1 || series_columns.is_empty()) {
                (true, _) => table.columns[yc].name.clone(),
                (false, true) => format!("{key}:{}", table.columns[yc].name),
                (false, false) => key.clone(),
            };
            let next = series.len();
            let i = *index.entry(name.clone()).or_insert(next);
            if i == next {
                series.push(Series {
                    name,
                    points: Vec::new(),
                });
            }
            series[i].points.push((xv, yv));
        }
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(ChartError::Empty);
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let series_left_out = series.len().saturating_sub(MAX_SERIES);
    if series_left_out > 0 {
        let total = |s: &Series| s.points.iter().map(|p| p.1.abs()).sum::<f64>();
        series.sort_by(|a, b| total(b).total_cmp(&total(a)));
        series.truncate(MAX_SERIES);
    }
    Ok(PlotData {
        x_axis: match x_type {
            ScalarType::DateTime => XAxis::Time,
            _ if numeric_x => XAxis::Number,
            _ => XAxis::Category(categories),
        },
        x_name: table.columns[x].name.clone(),
        y_names: y.iter().map(|&i| table.columns[i].name.clone()).collect(),
        series,
        series_left_out,
        rows_left_out: table.rows.len().saturating_sub(MAX_ROWS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kql::Column;

    fn table(columns: &[(&str, ScalarType)], rows: Vec<Vec<Value>>) -> Table {
        Table {
            columns: columns.iter().map(|(n, t)| Column::new(*n, *t)).collect(),
            rows,
        }
    }

    const HOUR: i64 = 3_600 * 10_000_000;

    #[test]
    fn a_text_column_splits_a_timechart_into_series() {
        let t = table(
            &[
                ("TimeGenerated", ScalarType::DateTime),
                ("Result", ScalarType::String),
                ("n", ScalarType::Long),
            ],
            vec![
                vec![Value::DateTime(HOUR), Value::str("ok"), Value::Long(3)],
                vec![Value::DateTime(0), Value::str("ok"), Value::Long(1)],
                vec![Value::DateTime(0), Value::str("fail"), Value::Long(2)],
            ],
        );
        let d = plot_data(&t, &ChartSpec::new(ChartKind::TimeChart)).unwrap();
        assert_eq!(d.x_axis, XAxis::Time);
        let names: Vec<&str> = d.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ok", "fail"]);
        assert_eq!(
            d.series[0].points,
            [(0.0, 1.0), (3600.0, 3.0)],
            "sorted by x"
        );
    }

    #[test]
    fn several_y_columns_are_several_series_and_text_x_is_categories() {
        let t = table(
            &[
                ("User", ScalarType::String),
                ("ok", ScalarType::Long),
                ("failed", ScalarType::Real),
            ],
            vec![
                vec![Value::str("alice"), Value::Long(5), Value::Real(1.0)],
                vec![Value::str("bob"), Value::Long(2), Value::Null],
            ],
        );
        let d = plot_data(&t, &ChartSpec::new(ChartKind::ColumnChart)).unwrap();
        assert_eq!(
            d.x_axis,
            XAxis::Category(vec!["alice".into(), "bob".into()])
        );
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].points, [(0.0, 5.0), (1.0, 2.0)]);
        assert_eq!(d.series[1].points, [(0.0, 1.0)], "a null y is no point");
    }

    #[test]
    fn named_columns_must_exist_and_be_numbers() {
        let t = table(
            &[("a", ScalarType::String), ("b", ScalarType::Long)],
            vec![vec![Value::str("x"), Value::Long(1)]],
        );
        let mut spec = ChartSpec::new(ChartKind::LineChart);
        spec.y_columns = vec!["a".into()];
        assert!(matches!(plot_data(&t, &spec), Err(ChartError::NotNumeric(c)) if c == "a"));
        spec.y_columns = vec!["nope".into()];
        assert!(matches!(plot_data(&t, &spec), Err(ChartError::NoSuchColumn(c)) if c == "nope"));
        let only_text = table(&[("a", ScalarType::String)], vec![vec![Value::str("x")]]);
        assert!(matches!(
            plot_data(&only_text, &ChartSpec::new(ChartKind::BarChart)),
            Err(ChartError::NoNumericColumn)
        ));
        assert!(matches!(
            plot_data(&t, &ChartSpec::new(ChartKind::TimeChart)),
            Err(ChartError::NoTimeColumn)
        ));
    }

    #[test]
    fn beyond_the_cap_the_largest_series_are_kept() {
        let rows = (0..MAX_SERIES as i64 + 3)
            .map(|i| vec![Value::Long(0), Value::str(format!("s{i}")), Value::Long(i)])
            .collect();
        let t = table(
            &[
                ("x", ScalarType::Long),
                ("s", ScalarType::String),
                ("y", ScalarType::Long),
            ],
            rows,
        );
        let d = plot_data(&t, &ChartSpec::new(ChartKind::LineChart)).unwrap();
        assert_eq!(d.series.len(), MAX_SERIES);
        assert_eq!(d.series_left_out, 3);
        assert!(d.series.iter().all(|s| s.name != "s0" && s.name != "s2"));
    }
}
