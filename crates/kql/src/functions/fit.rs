//! Fitting and decomposing series: `series_fit_line`, `series_fit_2lines`, `series_stats`,
//! `series_decompose`, `series_decompose_anomalies` and `series_decompose_forecast`, the
//! functions of several results (Kusto's tuples), each evaluated to one bag of its results
//! (what the `_dynamic` variants return) that `extend`/`project` spread into columns.

use serde_json::{Map, Value as J};

use super::registry::{Function, Returns};
use super::{arg, num, text};
use crate::value::convert::{as_f64, as_i64};
use crate::value::{ScalarType, Value};

/// A function of several results: its parameters and its results, in Kusto's order.
pub(crate) struct Tuple {
    pub name: &'static str,
    /// The parameters, the required ones first.
    pub params: &'static [&'static str],
    pub required: usize,
    pub results: &'static [(&'static str, ScalarType)],
}

use ScalarType::{Dynamic as D, Long as L, Real as R};

const LINE: &[(&str, ScalarType)] = &[
    ("rsquare", R),
    ("slope", R),
    ("variance", R),
    ("rvariance", R),
    ("interception", R),
    ("line_fit", D),
];

const TWO_LINES: &[(&str, ScalarType)] = &[
    ("rsquare", R),
    ("split_idx", L),
    ("variance", R),
    ("rvariance", R),
    ("line_fit", D),
    ("right_rsquare", R),
    ("right_slope", R),
    ("right_interception", R),
    ("right_variance", R),
    ("right_rvariance", R),
    ("left_rsquare", R),
    ("left_slope", R),
    ("left_interception", R),
    ("left_variance", R),
    ("left_rvariance", R),
];

const STATS: &[(&str, ScalarType)] = &[
    ("min", R),
    ("min_idx", L),
    ("max", R),
    ("max_idx", L),
    ("avg", R),
    ("stdev", R),
    ("variance", R),
];

const DECOMPOSITION: &[(&str, ScalarType)] = &[
    ("baseline", D),
    ("seasonal", D),
    ("trend", D),
    ("residual", D),
];

/// The functions of several results, sorted by name.
pub(crate) const TUPLES: [Tuple; 6] = [
    Tuple {
        name: "series_decompose",
        params: &[
            "series",
            "seasonality",
            "trend",
            "test_points",
            "seasonality_threshold",
        ],
        required: 1,
        results: DECOMPOSITION,
    },
    Tuple {
        name: "series_decompose_anomalies",
        params: &[
            "series",
            "threshold",
            "seasonality",
            "trend",
            "test_points",
            "method",
            "seasonality_threshold",
        ],
        required: 1,
        results: &[("ad_flag", D), ("ad_score", D), ("baseline", D)],
    },
    Tuple {
        name: "series_decompose_forecast",
        params: &[
            "series",
            "points",
            "seasonality",
            "trend",
            "seasonality_threshold",
        ],
        required: 2,
        results: DECOMPOSITION,
    },
    Tuple {
        name: "series_fit_2lines",
        params: &["series"],
        required: 1,
        results: TWO_LINES,
    },
    Tuple {
        name: "series_fit_line",
        params: &["series"],
        required: 1,
        results: LINE,
    },
    Tuple {
        name: "series_stats",
        params: &["series", "ignore_nonfinite"],
        required: 1,
        results: STATS,
    },
];

/// The function of several results called `name`.
pub(crate) fn tuple(name: &str) -> Option<&'static Tuple> {
    TUPLES.iter().find(|t| t.name == name)
}

/// One of this module's functions, also called with the `_dynamic` suffix in `aliases`.
const fn fitting(
    name: &'static str,
    aliases: &'static [&'static str],
    call: super::registry::Eval,
) -> Function {
    Function::new(name, aliases, Returns::Fixed(D), call)
}

/// The functions of this module: each evaluates to the bag of its results (null when the series
/// is not an array).
pub(super) static FUNCTIONS: &[Function] = &[
    fitting(
        "series_fit_line",
        &["series_fit_line_dynamic"],
        |args, _| bag(args, |y, _| line_bag(y)),
    ),
    fitting(
        "series_fit_2lines",
        &["series_fit_2lines_dynamic"],
        |args, _| bag(args, |y, _| two_lines(y)),
    ),
    fitting("series_stats", &["series_stats_dynamic"], |args, _| {
        bag(args, |y, args| {
            stats(y, args.get(1).and_then(as_bool).unwrap_or(false))
        })
    }),
    fitting("series_decompose", &[], |args, _| {
        bag(args, |y, args| {
            decomposition(y, &Options::of(args, 1, 2, 3, 4)).bag()
        })
    }),
    fitting("series_decompose_forecast", &[], |args, _| {
        bag(args, |y, args| {
            let mut options = Options::of(args, 2, 3, 0, 4);
            options.test_points = count(args, 1);
            decomposition(y, &options).bag()
        })
    }),
    fitting("series_decompose_anomalies", &[], |args, _| {
        bag(args, anomalies)
    }),
];

/// The bag `results` makes of the series (the first argument) and the arguments; null when the
/// series is not an array.
fn bag(args: &[Value], results: fn(&[f64], &[Value]) -> Map<String, J>) -> Value {
    let Some(y) = series(args.first()) else {
        return Value::Null;
    };
    Value::dynamic(J::Object(results(&y, args)))
}

/// The series' values; an element that is not a number (a gap) counts as 0, as `make-series`
/// fills it by default.
fn series(v: Option<&Value>) -> Option<Vec<f64>> {
    match v? {
        Value::Dynamic(d) => Some(
            d.as_array()?
                .iter()
                .map(|j| j.as_f64().unwrap_or(0.0))
                .collect(),
        ),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match arg(std::slice::from_ref(v), 0) {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn count(args: &[Value], i: usize) -> usize {
    args.get(i)
        .and_then(as_i64)
        .map_or(0, |n| usize::try_from(n).unwrap_or(0))
}

fn array(xs: impl IntoIterator<Item = f64>) -> J {
    J::Array(xs.into_iter().map(num).collect())
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample variance (n - 1 in the denominator, as Kusto's fits report it).
fn variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// A least-squares line through `y` at x = `first`, `first` + 1, … (Kusto's x starts at 1).
struct Line {
    slope: f64,
    interception: f64,
    fit: Vec<f64>,
    rsquare: f64,
    variance: f64,
    rvariance: f64,
}

impl Line {
    fn through(y: &[f64], first: usize) -> Line {
        let xs: Vec<f64> = (0..y.len()).map(|i| (first + i) as f64).collect();
        let (mx, my) = (mean(&xs), mean(y));
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        let sxy: f64 = xs.iter().zip(y).map(|(x, y)| (x - mx) * (y - my)).sum();
        let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
        let interception = my - slope * mx;
        let fit: Vec<f64> = xs.iter().map(|x| slope * x + interception).collect();
        let residuals: Vec<f64> = y.iter().zip(&fit).map(|(y, f)| y - f).collect();
        let total: f64 = y.iter().map(|y| (y - my) * (y - my)).sum();
        let rsquare = 1.0 - residuals.iter().map(|r| r * r).sum::<f64>() / total;
        Line {
            slope,
            interception,
            rsquare,
            variance: variance(y),
            rvariance: variance(&residuals),
            fit,
        }
    }

    /// The fit's numbers under `prefix` (`left_`, `right_`, or none).
    fn put(&self, bag: &mut Map<String, J>, prefix: &str) {
        for (k, v) in [
            ("rsquare", self.rsquare),
            ("slope", self.slope),
            ("variance", self.variance),
            ("rvariance", self.rvariance),
            ("interception", self.interception),
        ] {
            bag.insert(format!("{prefix}{k}"), num(v));
        }
    }
}

fn line_bag(y: &[f64]) -> Map<String, J> {
    let line = Line::through(y, 1);
    let mut bag = Map::new();
    line.put(&mut bag, "");
    bag.insert("line_fit".into(), array(line.fit));
    bag
}

/// Two lines, split where their joint r-square is highest; `split_idx` is the first index of
/// the right line, and each line has at least two points.
fn two_lines(y: &[f64]) -> Map<String, J> {
    let mut bag = Map::new();
    let n = y.len();
    let my = mean(y);
    let total: f64 = y.iter().map(|v| (v - my) * (v - my)).sum();
    let best = (2..n.saturating_sub(1))
        .map(|s| {
            let (left, right) = (Line::through(&y[..s], 1), Line::through(&y[s..], s + 1));
            let fit: Vec<f64> = left.fit.iter().chain(&right.fit).copied().collect();
            let squares: f64 = y.iter().zip(&fit).map(|(v, f)| (v - f) * (v - f)).sum();
            (s, left, right, fit, 1.0 - squares / total)
        })
        .fold(
            None,
            |best: Option<(usize, Line, Line, Vec<f64>, f64)>, c| match best {
                Some(b) if b.4 >= c.4 => Some(b),
                _ => Some(c),
            },
        );
    let Some((split, left, right, fit, rsquare)) = best else {
        for (k, _) in TWO_LINES {
            bag.insert((*k).into(), J::Null);
        }
        return bag;
    };
    let residuals: Vec<f64> = y.iter().zip(&fit).map(|(v, f)| v - f).collect();
    bag.insert("rsquare".into(), num(rsquare));
    bag.insert("split_idx".into(), J::from(split));
    bag.insert("variance".into(), num(variance(y)));
    bag.insert("rvariance".into(), num(variance(&residuals)));
    bag.insert("line_fit".into(), array(fit));
    right.put(&mut bag, "right_");
    left.put(&mut bag, "left_");
    bag
}

fn stats(y: &[f64], ignore_nonfinite: bool) -> Map<String, J> {
    let values: Vec<(usize, f64)> = y
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| !ignore_nonfinite || v.is_finite())
        .collect();
    let mut bag = Map::new();
    let min = values.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let max = values
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    let xs: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
    bag.insert("min".into(), min.map_or(J::Null, |m| num(m.1)));
    bag.insert("min_idx".into(), min.map_or(J::Null, |m| J::from(m.0)));
    bag.insert("max".into(), max.map_or(J::Null, |m| num(m.1)));
    bag.insert("max_idx".into(), max.map_or(J::Null, |m| J::from(m.0)));
    // The bag (`series_stats_dynamic`) also holds the sum and the count.
    bag.insert("sum".into(), num(xs.iter().sum()));
    bag.insert("len".into(), J::from(xs.len()));
    bag.insert("avg".into(), num(mean(&xs)));
    bag.insert("stdev".into(), num(variance(&xs).sqrt()));
    bag.insert("variance".into(), num(variance(&xs)));
    bag
}

/// How a series is decomposed.
struct Options {
    /// -1 detects the period, 0 has none.
    seasonality: i64,
    trend: String,
    /// Points at the end left out of the learning (forecast).
    test_points: usize,
    seasonality_threshold: f64,
}

impl Options {
    /// The options from the arguments at these positions (0 for one the function lacks).
    fn of(
        args: &[Value],
        seasonality: usize,
        trend: usize,
        test: usize,
        threshold: usize,
    ) -> Options {
        let given = |i: usize| {
            (i > 0)
                .then(|| args.get(i))
                .flatten()
                .filter(|v| !v.is_null())
        };
        Options {
            seasonality: given(seasonality).and_then(as_i64).unwrap_or(-1),
            trend: given(trend).map_or_else(|| "avg".into(), |_| text(args, trend)),
            test_points: if test > 0 { count(args, test) } else { 0 },
            seasonality_threshold: given(threshold).and_then(as_f64).unwrap_or(0.6),
        }
    }
}

struct Decomposition {
    seasonal: Vec<f64>,
    trend: Vec<f64>,
    baseline: Vec<f64>,
    residual: Vec<f64>,
}

impl Decomposition {
    fn bag(self) -> Map<String, J> {
        let mut bag = Map::new();
        bag.insert("baseline".into(), array(self.baseline));
        bag.insert("seasonal".into(), array(self.seasonal));
        bag.insert("trend".into(), array(self.trend));
        bag.insert("residual".into(), array(self.residual));
        bag
    }
}

/// Kusto's decomposition: the seasonal series (the median of the learning points in the same
/// phase of the period), the trend of what remains (its average, or its regression line), the
/// baseline (seasonal + trend, the forecast past the learning points) and the residual.
fn decomposition(y: &[f64], o: &Options) -> Decomposition {
    let n = y.len();
    let learn = n.saturating_sub(o.test_points).max(1).min(n);
    let period = match o.seasonality {
        -1 => detect_period(&y[..learn], o.seasonality_threshold),
        p => usize::try_from(p).ok().filter(|&p| p > 1 && p < learn),
    };
    let seasonal: Vec<f64> = match period {
        Some(p) => {
            let phases: Vec<f64> = (0..p)
                .map(|phase| median((phase..learn).step_by(p).map(|i| y[i]).collect()))
                .collect();
            (0..n).map(|i| phases[i % p]).collect()
        }
        None => vec![0.0; n],
    };
    let rest: Vec<f64> = y[..learn]
        .iter()
        .zip(&seasonal)
        .map(|(v, s)| v - s)
        .collect();
    let trend: Vec<f64> = match o.trend.as_str() {
        "linefit" if learn > 1 => {
            let line = Line::through(&rest, 1);
            (1..=n)
                .map(|x| line.slope * x as f64 + line.interception)
                .collect()
        }
        "none" => vec![0.0; n],
        _ if rest.is_empty() => vec![0.0; n],
        _ => vec![mean(&rest); n],
    };
    let baseline: Vec<f64> = seasonal.iter().zip(&trend).map(|(s, t)| s + t).collect();
    let residual = y.iter().zip(&baseline).map(|(v, b)| v - b).collect();
    Decomposition {
        seasonal,
        trend,
        baseline,
        residual,
    }
}

/// The period whose autocorrelation is highest, when it reaches `threshold`: periods of 2 up to
/// a third of the series, so that at least three cycles back each one.
fn detect_period(y: &[f64], threshold: f64) -> Option<usize> {
    let m = mean(y);
    let d: Vec<f64> = y.iter().map(|v| v - m).collect();
    let energy: f64 = d.iter().map(|v| v * v).sum();
    if energy == 0.0 {
        return None;
    }
    (2..=y.len() / 3)
        .map(|p| {
            let lagged: f64 = d.iter().zip(&d[p..]).map(|(a, b)| a * b).sum();
            // Scaled to the pairs there are, so that long lags are not penalised for fewer pairs.
            (p, lagged / energy * y.len() as f64 / (y.len() - p) as f64)
        })
        .filter(|(_, score)| *score >= threshold)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(p, _)| p)
}

fn median(mut xs: Vec<f64>) -> f64 {
    percentile(&mut xs, 50.0)
}

/// The `p`th percentile, interpolated between the two nearest ranks.
fn percentile(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (xs.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (rank - lo as f64)
}

/// Anomalies of the decomposition's residual by Tukey's fences: a point's score is how many
/// inter-percentile ranges it lies beyond the range (10th-90th percentile of the learning
/// residuals for `ctukey`, the default; 25th-75th for `tukey`); beyond `threshold` (1.5 by
/// default) it is flagged 1 (above) or -1 (below).
fn anomalies(y: &[f64], args: &[Value]) -> Map<String, J> {
    let threshold = args
        .get(1)
        .filter(|v| !v.is_null())
        .and_then(as_f64)
        .unwrap_or(1.5);
    let options = Options::of(args, 2, 3, 4, 6);
    let (low, high) = match text(args, 5).as_str() {
        "tukey" => (25.0, 75.0),
        _ => (10.0, 90.0),
    };
    let d = decomposition(y, &options);
    let learn = y.len().saturating_sub(options.test_points);
    let mut learning = d.residual[..learn].to_vec();
    let (q1, q3) = (
        percentile(&mut learning, low),
        percentile(&mut learning, high),
    );
    let range = q3 - q1;
    let scores: Vec<f64> = d
        .residual
        .iter()
        .map(|&r| match () {
            _ if range == 0.0 => 0.0,
            _ if r > q3 => (r - q3) / range,
            _ if r < q1 => (r - q1) / range,
            _ => 0.0,
        })
        .collect();
    let flags = scores
        .iter()
        .map(|&s| J::from(i64::from(s > threshold) - i64::from(s < -threshold)))
        .collect();
    let mut bag = Map::new();
    bag.insert("ad_flag".into(), J::Array(flags));
    bag.insert("ad_score".into(), array(scores));
    bag.insert("baseline".into(), array(d.baseline));
    bag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(name: &str, args: &[Value]) -> J {
        let f = FUNCTIONS.iter().find(|f| f.name == name).unwrap();
        match (f.call)(args, D) {
            Value::Dynamic(d) => (*d).clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn series(xs: &[f64]) -> Value {
        Value::dynamic(serde_json::json!(xs))
    }

    fn close(j: &J, want: f64) {
        let got = j.as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-3, "{got} != {want}");
    }

    #[test]
    fn fit_line_matches_the_kusto_docs_example() {
        let y = series(&[2., 5., 6., 8., 11., 15., 17., 18., 25., 26., 30., 30.]);
        let b = bag("series_fit_line", &[y]);
        close(&b["rsquare"], 0.982_900);
        close(&b["slope"], 2.730_769);
        close(&b["variance"], 98.628_787);
        close(&b["rvariance"], 1.686_480);
        close(&b["interception"], -1.666_666);
        close(&b["line_fit"][0], 1.064_102);
        close(&b["line_fit"][11], 31.102_564);
    }

    #[test]
    fn two_lines_split_where_the_trend_turns() {
        let y = series(&[1., 2., 3., 4., 5., 6., 2., 1., 0., -1.]);
        let b = bag("series_fit_2lines", &[y]);
        assert_eq!(b["split_idx"], J::from(6));
        close(&b["rsquare"], 1.0);
        close(&b["left_slope"], 1.0);
        close(&b["right_slope"], -1.0);
        close(&b["line_fit"][7], 1.0);
    }

    #[test]
    fn decompose_finds_the_weekly_period_and_anomalies_stand_out_of_the_residual() {
        let week = [10., 12., 11., 13., 12., 2., 1.];
        let noise = |i: usize| (i * 7 % 5) as f64 * 0.1;
        let mut y: Vec<f64> = (0..28).map(|i| week[i % 7] + noise(i)).collect();
        let d = bag("series_decompose", &[series(&y)]);
        close(&d["seasonal"][5], 2.25);
        y[17] += 30.0;
        let a = bag(
            "series_decompose_anomalies",
            &[series(&y), Value::Real(1.5), Value::Long(7)],
        );
        let flagged: Vec<usize> = (0..28).filter(|&i| a["ad_flag"][i] != 0).collect();
        assert_eq!(flagged, [17]);
        assert_eq!(a["ad_flag"][17], J::from(1));
        // A threshold above the anomaly's score flags nothing.
        let score = a["ad_score"][17].as_f64().unwrap_or(0.0);
        let a = bag(
            "series_decompose_anomalies",
            &[series(&y), Value::Real(score + 1.0), Value::Long(7)],
        );
        assert!((0..28).all(|i| a["ad_flag"][i] == 0));
    }

    #[test]
    fn forecast_extends_the_learnt_line_over_the_test_points() {
        let y: Vec<f64> = (0..20)
            .map(|i| if i < 16 { 2.0 * i as f64 } else { 0.0 })
            .collect();
        let f = bag(
            "series_decompose_forecast",
            &[
                series(&y),
                Value::Long(4),
                Value::Long(0),
                Value::str("linefit"),
            ],
        );
        close(&f["baseline"][19], 38.0);
    }
}
