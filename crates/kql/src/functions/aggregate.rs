//! Aggregation functions of `summarize`: their names, result types and running state.

use std::collections::HashSet;

use serde_json::Value as J;

use crate::value::convert::{Key, as_f64, as_i64, coerce, compare, key_of, sort_cmp, undyn};
use crate::value::{ScalarType, Value};

/// The current name of a legacy aggregate alias (`makeset` → `make_set`).
pub(crate) fn canonical(name: &str) -> &str {
    match name {
        "makeset" | "make_set_with_limit" => "make_set",
        "makelist" | "make_list_with_limit" => "make_list",
        "makebag" => "make_bag",
        other => other,
    }
}

/// Every aggregation function, by its current name (see [`canonical`] for the legacy ones).
pub(crate) const NAMES: [&str; 53] = [
    "count",
    "countif",
    "dcount",
    "dcountif",
    "sum",
    "sumif",
    "avg",
    "avgif",
    "min",
    "max",
    "minif",
    "maxif",
    "make_set",
    "make_list",
    "make_set_if",
    "make_list_if",
    "make_bag",
    "make_bag_if",
    "arg_max",
    "arg_min",
    "any",
    "take_any",
    "anyif",
    "take_anyif",
    "percentile",
    "percentiles",
    "stdev",
    "stdevif",
    "variance",
    "varianceif",
    "stdevp",
    "variancep",
    "count_distinct",
    "count_distinctif",
    "binary_all_or",
    "binary_all_and",
    "binary_all_xor",
    "covariance",
    "covarianceif",
    "covariancep",
    "covariancepif",
    "percentilesw",
    "percentilew",
    "make_list_with_nulls",
    "percentiles_array",
    "percentilesw_array",
    "hll",
    "hll_if",
    "hll_merge",
    "tdigest",
    "tdigest_merge",
    "merge_tdigest",
    "buildschema",
];

/// True when `name` is an aggregation function.
pub(crate) fn is_aggregate(name: &str) -> bool {
    NAMES.contains(&canonical(name))
}

/// True for the percentile aggregates that take a weight after the value.
pub(crate) fn is_weighted(name: &str) -> bool {
    matches!(name, "percentilew" | "percentilesw" | "percentilesw_array")
}

/// True when a call of `name` with `nargs` arguments aggregates: the merge functions are also
/// scalar functions when given several sketches.
pub(crate) fn is_aggregate_call(name: &str, nargs: usize) -> bool {
    is_aggregate(name)
        && !(matches!(name, "hll_merge" | "tdigest_merge" | "merge_tdigest") && nargs > 1)
}

/// The value at percentile `p` of values sorted ascending with weights (nearest rank).
pub(crate) fn weighted_percentile(sorted: &[(Value, i64)], p: f64) -> Option<Value> {
    let total = sorted
        .iter()
        .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0i64;
    sorted
        .iter()
        .find(|(_, w)| {
            seen = seen.saturating_add(*w);
            seen >= rank
        })
        .or(sorted.last())
        .map(|(v, _)| v.clone())
}

/// The result type of an aggregate given its argument types.
pub(crate) fn result_type(name: &str, args: &[ScalarType]) -> ScalarType {
    let first = args.first().copied().unwrap_or(ScalarType::Long);
    match name {
        "count" | "countif" | "dcount" | "dcountif" | "count_distinct" | "count_distinctif" => {
            ScalarType::Long
        }
        "sum" | "sumif" => match first {
            ScalarType::Int | ScalarType::Long | ScalarType::Bool => ScalarType::Long,
            ScalarType::TimeSpan => ScalarType::TimeSpan,
            ScalarType::Decimal => ScalarType::Decimal,
            _ => ScalarType::Real,
        },
        "avg" | "avgif" => match first {
            ScalarType::TimeSpan | ScalarType::DateTime => first,
            _ => ScalarType::Real,
        },
        "stdev" | "stdevif" | "variance" | "varianceif" | "stdevp" | "variancep" | "covariance"
        | "covarianceif" | "covariancep" | "covariancepif" => ScalarType::Real,
        "binary_all_and" | "binary_all_or" | "binary_all_xor" => ScalarType::Long,
        "percentiles_array" | "percentilesw_array" | "hll" | "hll_if" | "hll_merge" | "tdigest"
        | "tdigest_merge" | "merge_tdigest" | "buildschema" => ScalarType::Dynamic,
        "make_set"
        | "make_list"
        | "make_set_if"
        | "make_list_if"
        | "make_bag"
        | "make_bag_if"
        | "make_list_with_nulls" => ScalarType::Dynamic,
        "percentile" | "percentiles" | "percentilew" | "percentilesw" => match first {
            ScalarType::Int | ScalarType::Long => ScalarType::Long,
            other => other,
        },
        _ => first,
    }
}

/// The running state of one aggregate in one group.
#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Count(i64),
    Distinct(HashSet<Key>),
    Sum {
        long: i64,
        real: f64,
    },
    Avg {
        sum: f64,
        n: i64,
    },
    Best(Value, bool),
    List(Vec<J>, HashSet<Key>, bool),
    Bag(serde_json::Map<String, J>),
    Arg {
        best: Value,
        row: Vec<Value>,
        max: bool,
    },
    Any(Option<Vec<Value>>),
    /// Values with their weights (1 unless `percentilesw`), for percentiles.
    Values(Vec<(Value, i64)>),
    /// Co-moments of two columns for `covariance` (sample) and `covariancep` (population).
    CoMoments {
        n: f64,
        sx: f64,
        sy: f64,
        sxy: f64,
        population: bool,
    },
    /// An exact stand-in for a t-digest: every value with its weight, as `[[value, weight], …]`.
    Digest(Vec<J>),
    /// The schema `buildschema` infers.
    Schema(Shape),
    /// Bitwise AND, OR or XOR of all values.
    Bits(Option<i64>, fn(i64, i64) -> i64),
    Moments {
        n: f64,
        sum: f64,
        sq: f64,
        variance: bool,
        /// Population (`stdevp`, `variancep`) rather than sample statistics.
        population: bool,
    },
}

/// The shapes `buildschema` has seen in one position of the values: a bag (its keys in the
/// order first seen), an array (`` `indexer` `` for its elements) and scalar type names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    bag: Option<Vec<(String, Shape)>>,
    items: Option<Box<Shape>>,
    scalars: Vec<&'static str>,
}

impl Shape {
    fn add(&mut self, j: &J) {
        let scalar = match j {
            J::Null => return,
            J::Object(o) => {
                let bag = self.bag.get_or_insert_with(Vec::new);
                for (k, v) in o {
                    match bag.iter_mut().find(|(n, _)| n == k) {
                        Some((_, shape)) => shape.add(v),
                        None => {
                            let mut shape = Shape::default();
                            shape.add(v);
                            bag.push((k.clone(), shape));
                        }
                    }
                }
                return;
            }
            J::Array(a) => {
                let items = self.items.get_or_insert_with(Box::default);
                a.iter().for_each(|v| items.add(v));
                return;
            }
            J::Bool(_) => "bool",
            J::Number(n) if n.is_i64() || n.is_u64() => "long",
            J::Number(_) => "double",
            J::String(_) => "string",
        };
        if !self.scalars.contains(&scalar) {
            self.scalars.push(scalar);
        }
    }

    /// The schema: one shape, or the alternatives as an array (bag, array, then scalars).
    fn to_json(&self) -> J {
        let mut alternatives = Vec::new();
        if let Some(bag) = &self.bag {
            alternatives.push(J::Object(
                bag.iter().map(|(k, s)| (k.clone(), s.to_json())).collect(),
            ));
        }
        if let Some(items) = &self.items {
            alternatives.push(serde_json::json!({ "`indexer`": items.to_json() }));
        }
        alternatives.extend(self.scalars.iter().map(|t| J::String(t.to_string())));
        match alternatives.len() {
            0 => J::Null,
            1 => alternatives.swap_remove(0),
            _ => J::Array(alternatives),
        }
    }
}

/// Maximum elements `make_set`/`make_list` keep by default, as in Kusto.
const MAX_LIST: usize = 1_048_576;

impl AggState {
    /// A fresh state for the aggregate `name`.
    pub(crate) fn new(name: &str) -> AggState {
        match name {
            "count" | "countif" => AggState::Count(0),
            "dcount" | "dcountif" | "count_distinct" | "count_distinctif" => {
                AggState::Distinct(HashSet::new())
            }
            "sum" | "sumif" => AggState::Sum { long: 0, real: 0.0 },
            "avg" | "avgif" => AggState::Avg { sum: 0.0, n: 0 },
            "min" | "minif" => AggState::Best(Value::Null, false),
            "max" | "maxif" => AggState::Best(Value::Null, true),
            "binary_all_and" => AggState::Bits(None, |a, b| a & b),
            "binary_all_or" => AggState::Bits(None, |a, b| a | b),
            "binary_all_xor" => AggState::Bits(None, |a, b| a ^ b),
            "covariance" | "covarianceif" | "covariancep" | "covariancepif" => {
                AggState::CoMoments {
                    n: 0.0,
                    sx: 0.0,
                    sy: 0.0,
                    sxy: 0.0,
                    population: name.starts_with("covariancep"),
                }
            }
            // An exact stand-in for a HyperLogLog sketch: the distinct values themselves.
            "make_set" | "make_set_if" | "hll" | "hll_if" | "hll_merge" => {
                AggState::List(Vec::new(), HashSet::new(), true)
            }
            "tdigest" | "tdigest_merge" | "merge_tdigest" => AggState::Digest(Vec::new()),
            "buildschema" => AggState::Schema(Shape::default()),
            "make_list" | "make_list_if" | "make_list_with_nulls" => {
                AggState::List(Vec::new(), HashSet::new(), false)
            }
            "make_bag" | "make_bag_if" => AggState::Bag(serde_json::Map::new()),
            "arg_max" => AggState::Arg {
                best: Value::Null,
                row: Vec::new(),
                max: true,
            },
            "arg_min" => AggState::Arg {
                best: Value::Null,
                row: Vec::new(),
                max: false,
            },
            "percentile" | "percentiles" | "percentilew" | "percentilesw" | "percentiles_array"
            | "percentilesw_array" => AggState::Values(Vec::new()),
            "stdev" | "stdevif" => AggState::Moments {
                n: 0.0,
                sum: 0.0,
                sq: 0.0,
                variance: false,
                population: false,
            },
            "stdevp" | "variancep" => AggState::Moments {
                n: 0.0,
                sum: 0.0,
                sq: 0.0,
                variance: name == "variancep",
                population: true,
            },
            "variance" | "varianceif" => AggState::Moments {
                n: 0.0,
                sum: 0.0,
                sq: 0.0,
                variance: true,
                population: false,
            },
            _ => AggState::Any(None),
        }
    }

    /// Adds one row: `args` are the evaluated arguments (for `*if` forms the predicate is last),
    /// `row` the projected values `arg_max`/`arg_min`/`take_any` keep.
    pub(crate) fn update(&mut self, name: &str, args: &[Value], row: &[Value]) {
        if name.ends_with("if") && !matches!(name, "countif") {
            if args.last().map(undyn) != Some(Value::Bool(true)) {
                return;
            }
        } else if name == "countif" && args.first().map(undyn) != Some(Value::Bool(true)) {
            return;
        }
        let v = args.first().cloned().unwrap_or(Value::Null);
        match self {
            AggState::Count(n) => {
                *n += 1;
            }
            AggState::Distinct(set) => {
                if !v.is_null() {
                    set.insert(key_of(&v));
                }
            }
            AggState::Sum { long, real } => match undyn(&v) {
                Value::Int(i) => *long = long.wrapping_add(i64::from(i)),
                Value::Long(i) | Value::TimeSpan(i) => *long = long.wrapping_add(i),
                Value::Bool(b) => *long += i64::from(b),
                Value::Real(r) | Value::Decimal(r) => *real += r,
                _ => {}
            },
            AggState::Avg { sum, n } => {
                let x = match undyn(&v) {
                    Value::TimeSpan(t) | Value::DateTime(t) => Some(t as f64),
                    other => as_f64(&other),
                };
                if let Some(x) = x {
                    *sum += x;
                    *n += 1;
                }
            }
            AggState::Best(best, max) => {
                if v.is_null() {
                    return;
                }
                let better = best.is_null()
                    || compare(&v, best).is_some_and(|o| if *max { o.is_gt() } else { o.is_lt() });
                if better {
                    *best = v;
                }
            }
            AggState::List(items, seen, set) => {
                let limit = args
                    .get(if name.ends_with("_if") { 2 } else { 1 })
                    .filter(|_| name.starts_with("make_"))
                    .and_then(crate::value::convert::as_i64)
                    .map_or(MAX_LIST, |l| l.max(0) as usize);
                if items.len() >= limit {
                    return;
                }
                if v.is_null() {
                    if name == "make_list_with_nulls" {
                        items.push(J::Null);
                    }
                    return;
                }
                if let Value::Dynamic(d) = &v
                    && let Some(arr) = d.as_array()
                {
                    for j in arr {
                        let val = Value::dynamic(j.clone());
                        if !*set || seen.insert(key_of(&val)) {
                            items.push(j.clone());
                        }
                    }
                    return;
                }
                if !*set || seen.insert(key_of(&v)) {
                    items.push(crate::value::convert::dyn_json(&v));
                }
            }
            AggState::Bag(map) => {
                if let Value::Dynamic(d) = &v
                    && let Some(o) = d.as_object()
                {
                    for (k, val) in o {
                        map.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                }
            }
            AggState::Arg {
                best,
                row: kept,
                max,
            } => {
                if v.is_null() {
                    if kept.is_empty() && best.is_null() {
                        *kept = row.to_vec();
                    }
                    return;
                }
                let better = best.is_null()
                    || compare(&v, best).is_some_and(|o| if *max { o.is_gt() } else { o.is_lt() });
                if better {
                    *best = v;
                    *kept = row.to_vec();
                }
            }
            AggState::Any(kept) => {
                if kept.is_none() && !v.is_null() {
                    *kept = Some(if row.is_empty() {
                        vec![v]
                    } else {
                        row.to_vec()
                    });
                }
            }
            AggState::Values(vals) => {
                let weight = if is_weighted(name) {
                    args.get(1).and_then(as_i64).unwrap_or(0)
                } else {
                    1
                };
                if !v.is_null() && weight > 0 {
                    vals.push((v, weight));
                }
            }
            AggState::Digest(items) => match &v {
                // Merging: the input is itself a digest.
                Value::Dynamic(d) if name != "tdigest" => {
                    items.extend(d.as_array().into_iter().flatten().cloned());
                }
                _ if !v.is_null() => {
                    let weight = args.get(1).and_then(as_i64).unwrap_or(1);
                    if weight > 0 {
                        items.push(J::Array(vec![
                            crate::value::convert::dyn_json(&v),
                            J::from(weight),
                        ]));
                    }
                }
                _ => {}
            },
            AggState::Schema(shape) => shape.add(&crate::value::convert::dyn_json(&v)),
            AggState::CoMoments { n, sx, sy, sxy, .. } => {
                if let (Some(x), Some(y)) = (as_f64(&v), args.get(1).and_then(as_f64)) {
                    *n += 1.0;
                    *sx += x;
                    *sy += y;
                    *sxy += x * y;
                }
            }
            AggState::Bits(acc, op) => {
                if let Some(x) = as_i64(&v) {
                    *acc = Some(acc.map_or(x, |a| op(a, x)));
                }
            }
            AggState::Moments { n, sum, sq, .. } => {
                if let Some(x) = as_f64(&v) {
                    *n += 1.0;
                    *sum += x;
                    *sq += x * x;
                }
            }
        }
    }

    /// The final values: one for most aggregates; several for `arg_max`, `arg_min`, `take_any`
    /// (the kept row) and `percentiles` (one per requested percentile).
    pub(crate) fn finish(&self, ty: ScalarType, percents: &[f64], width: usize) -> Vec<Value> {
        let one = |v: Value| vec![coerce(v, ty)];
        match self {
            AggState::Count(n) => one(Value::Long(*n)),
            AggState::Distinct(set) => one(Value::Long(set.len() as i64)),
            // Over no (non-null) values, sum is 0, as Kusto documents for its defaults.
            AggState::Sum { long, real, .. } => match ty {
                ScalarType::Long => one(Value::Long(*long)),
                ScalarType::TimeSpan => one(Value::TimeSpan(*long)),
                _ => one(Value::Real(*real + *long as f64)),
            },
            AggState::Avg { sum, n } => one(match (*n, ty) {
                (0, _) => Value::Null,
                (_, ScalarType::TimeSpan) => Value::TimeSpan((sum / *n as f64) as i64),
                (_, ScalarType::DateTime) => Value::DateTime((sum / *n as f64) as i64),
                _ => Value::Real(sum / *n as f64),
            }),
            AggState::Best(v, _) => one(v.clone()),
            AggState::List(items, _, _) => one(Value::dynamic(J::Array(items.clone()))),
            AggState::Bag(map) => one(Value::dynamic(J::Object(map.clone()))),
            AggState::Arg { row, .. } | AggState::Any(Some(row)) => {
                let mut out = row.clone();
                out.resize(width, Value::Null);
                out
            }
            AggState::Any(None) => vec![Value::Null; width.max(1)],
            AggState::Values(vals) => {
                let mut sorted = vals.clone();
                sorted.sort_by(|a, b| sort_cmp(&a.0, &b.0));
                let picked: Vec<Value> = percents
                    .iter()
                    .map(|p| {
                        weighted_percentile(&sorted, *p).map_or(Value::Null, |v| coerce(v, ty))
                    })
                    .collect();
                if ty == ScalarType::Dynamic {
                    // Each element copies a value, and a call can ask for thousands: once the
                    // query is stopped the array ends (the query's next check says why).
                    let mut items = Vec::with_capacity(picked.len());
                    for v in &picked {
                        if crate::budget::check().is_err() {
                            break;
                        }
                        items.push(crate::value::convert::dyn_json(v));
                    }
                    one(Value::dynamic(J::Array(items)))
                } else {
                    picked
                }
            }
            AggState::CoMoments {
                n,
                sx,
                sy,
                sxy,
                population,
            } => {
                let d = if *population { *n } else { n - 1.0 };
                one(if d <= 0.0 {
                    Value::Null
                } else {
                    Value::Real((sxy - sx * sy / n) / d)
                })
            }
            AggState::Bits(acc, _) => one(acc.map_or(Value::Null, Value::Long)),
            AggState::Schema(shape) => one(match shape.to_json() {
                J::Null => Value::Null,
                j => Value::dynamic(j),
            }),
            AggState::Digest(items) if items.is_empty() => one(Value::Null),
            AggState::Digest(items) => one(Value::dynamic(J::Array(items.clone()))),
            AggState::Moments {
                n,
                sum,
                sq,
                variance,
                population,
            } => {
                if *population {
                    if *n == 0.0 {
                        return one(Value::Null);
                    }
                    let var = ((sq - sum * sum / n) / n).max(0.0);
                    return one(Value::Real(if *variance { var } else { var.sqrt() }));
                }
                // One value, or none (Kusto's default), has no spread.
                if *n < 2.0 {
                    return one(Value::Real(0.0));
                }
                let var = ((sq - sum * sum / n) / (n - 1.0)).max(0.0);
                one(Value::Real(if *variance { var } else { var.sqrt() }))
            }
        }
    }
}
