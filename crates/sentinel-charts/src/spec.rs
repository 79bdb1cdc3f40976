//! What a query's `render` operator asked for: the visualization and its properties, read from
//! the operator's `with (...)` list or from Log Analytics' `render` object.

/// The visualizations drawn as charts. Others (`table`, `card`, `pivotchart`, ...) draw nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    TimeChart,
    LineChart,
    AreaChart,
    ColumnChart,
    BarChart,
    PieChart,
    ScatterChart,
}

impl ChartKind {
    /// The kind a `render` visualization names, if it is one we draw.
    pub fn from_name(name: &str) -> Option<ChartKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "timechart" => ChartKind::TimeChart,
            "linechart" => ChartKind::LineChart,
            "areachart" => ChartKind::AreaChart,
            "columnchart" => ChartKind::ColumnChart,
            "barchart" => ChartKind::BarChart,
            "piechart" => ChartKind::PieChart,
            "scatterchart" => ChartKind::ScatterChart,
            _ => return None,
        })
    }

    /// The visualization's name as KQL spells it.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::TimeChart => "timechart",
            ChartKind::LineChart => "linechart",
            ChartKind::AreaChart => "areachart",
            ChartKind::ColumnChart => "columnchart",
            ChartKind::BarChart => "barchart",
            ChartKind::PieChart => "piechart",
            ChartKind::ScatterChart => "scatterchart",
        }
    }
}

/// How the series of an area, column or bar chart share the axis (`kind=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacking {
    /// Side by side (columns, bars) or overlapping (areas).
    #[default]
    Unstacked,
    /// On top of each other.
    Stacked,
    /// On top of each other, scaled to 100 % at each x.
    Stacked100,
}

/// The chart to draw: the visualization and the properties Kusto defines for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    pub title: Option<String>,
    pub x_title: Option<String>,
    pub y_title: Option<String>,
    /// The x-axis column; the first column when `None`.
    pub x_column: Option<String>,
    /// The y-axis columns; every numeric column but the x-axis when empty.
    pub y_columns: Vec<String>,
    /// The columns whose combined values name a series; every text column but the x-axis when
    /// empty.
    pub series: Vec<String>,
    pub stacking: Stacking,
    pub legend: bool,
    pub y_min: Option<f64>,
    pub y_max: Option<f64>,
}

impl ChartSpec {
    /// A spec with no properties set.
    pub fn new(kind: ChartKind) -> ChartSpec {
        ChartSpec {
            kind,
            title: None,
            x_title: None,
            y_title: None,
            x_column: None,
            y_columns: Vec::new(),
            series: Vec::new(),
            stacking: Stacking::Unstacked,
            legend: true,
            y_min: None,
            y_max: None,
        }
    }

    /// From a `render` operator: its visualization and its `with (name = value, ...)` properties
    /// (names case-insensitive, as Kusto reads them). `None` when the visualization is not a
    /// chart we draw.
    pub fn from_properties<'a>(
        visualization: &str,
        properties: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<ChartSpec> {
        let mut spec = ChartSpec::new(ChartKind::from_name(visualization)?);
        for (name, value) in properties {
            spec.set(name, value);
        }
        Some(spec)
    }

    /// From what a query's `render` operator asked for.
    pub fn from_visualization(v: &kql::Visualization) -> Option<ChartSpec> {
        ChartSpec::from_properties(
            &v.kind,
            v.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }

    /// Sets one property by its KQL name; unknown names and unreadable values are ignored, as
    /// Kusto's user agents do.
    fn set(&mut self, name: &str, value: &str) {
        let value = value.trim();
        let text = || (!value.is_empty()).then(|| value.to_string());
        let list = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        match name.to_ascii_lowercase().as_str() {
            "title" => self.title = text(),
            "xtitle" => self.x_title = text(),
            "ytitle" => self.y_title = text(),
            "xcolumn" => self.x_column = text(),
            "ycolumns" => self.y_columns = list(),
            "series" => self.series = list(),
            "legend" => self.legend = !value.eq_ignore_ascii_case("hidden"),
            "ymin" => self.y_min = value.parse().ok().filter(|v: &f64| v.is_finite()),
            "ymax" => self.y_max = value.parse().ok().filter(|v: &f64| v.is_finite()),
            "kind" => {
                self.stacking = match value.to_ascii_lowercase().as_str() {
                    "stacked" => Stacking::Stacked,
                    "stacked100" => Stacking::Stacked100,
                    _ => Stacking::Unstacked,
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_read_case_insensitively_and_unknown_ones_ignored() {
        let spec = ChartSpec::from_properties(
            "ColumnChart",
            [
                ("Title", "Sign-ins"),
                ("xtitle", "Hour"),
                ("YTITLE", "Count"),
                ("kind", "stacked100"),
                ("ycolumns", "a, b"),
                ("legend", "hidden"),
                ("ymax", "10"),
                ("accumulate", "true"),
            ],
        )
        .unwrap();
        assert_eq!(spec.kind, ChartKind::ColumnChart);
        assert_eq!(spec.title.as_deref(), Some("Sign-ins"));
        assert_eq!(spec.x_title.as_deref(), Some("Hour"));
        assert_eq!(spec.y_title.as_deref(), Some("Count"));
        assert_eq!(spec.stacking, Stacking::Stacked100);
        assert_eq!(spec.y_columns, ["a", "b"]);
        assert!(!spec.legend);
        assert_eq!(spec.y_max, Some(10.0));
    }

    #[test]
    fn visualizations_that_are_not_charts_draw_nothing() {
        for name in ["table", "card", "pivotchart", "anything"] {
            assert_eq!(ChartSpec::from_properties(name, []), None, "{name}");
        }
    }
}
