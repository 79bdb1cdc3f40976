//! Sketches as scalar functions: `hll` and `tdigest` values merged and read (exact here: an hll is
//! its distinct values, a t-digest its weighted values).

use super::*;

/// The result type of a function of this family, or None when `name` is not one of them.
pub(super) fn return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "dcount_hll" => Long,
        "hll_merge" | "tdigest_merge" | "merge_tdigest" | "percentiles_array_tdigest" => Dynamic,
        "percentile_tdigest" => args.get(2).copied().unwrap_or(Dynamic),
        "percentrank_tdigest" => Real,
        _ => return None,
    })
}

/// Evaluates a function of this family, or None when `name` is not one of them.
pub(super) fn call(name: &str, args: &[Value], result: ScalarType) -> Option<Value> {
    Some(match name {
        // Sketches are exact here: an hll is its distinct values, a t-digest its weighted values.
        "dcount_hll" => match args.first().and_then(dynamic_array) {
            Some(items) => Value::Long(items.len() as i64),
            None => Value::Null,
        },
        "hll_merge" => {
            let mut out: Vec<J> = Vec::new();
            for j in args.iter().filter_map(dynamic_array).flatten() {
                if crate::budget::check().is_err() {
                    return Some(Value::Null);
                }
                if !out.contains(&j) {
                    out.push(j);
                }
            }
            Value::dynamic(J::Array(out))
        }
        "tdigest_merge" | "merge_tdigest" => Value::dynamic(J::Array(
            args.iter().filter_map(dynamic_array).flatten().collect(),
        )),
        "percentile_tdigest" | "percentiles_array_tdigest" | "percentrank_tdigest" => {
            let Some(digest) = args.first().and_then(dynamic_array) else {
                return Some(Value::Null);
            };
            let mut sorted: Vec<(Value, i64)> = digest
                .iter()
                .filter_map(|pair| {
                    let v = undyn(&Value::dynamic(pair.get(0)?.clone()));
                    Some((v, pair.get(1)?.as_i64()?))
                })
                .collect();
            sorted.sort_by(|a, b| crate::value::convert::sort_cmp(&a.0, &b.0));
            let at = |p: f64| {
                crate::functions::aggregate::weighted_percentile(&sorted, p).unwrap_or(Value::Null)
            };
            if name == "percentrank_tdigest" {
                // The weighted share of values at or below the value, in percent.
                let v = arg(args, 1);
                let total = sorted
                    .iter()
                    .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
                let below = sorted
                    .iter()
                    .filter(|(x, _)| {
                        crate::value::convert::compare(x, &v).is_some_and(|o| o.is_le())
                    })
                    .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
                return Some(if total == 0 || v.is_null() {
                    Value::Null
                } else {
                    Value::Real(100.0 * below as f64 / total as f64)
                });
            }
            if name == "percentile_tdigest" {
                as_f64(&arg(args, 1)).map_or(Value::Null, |p| coerce(to_dynamic(&at(p)), result))
            } else {
                let ps: Vec<f64> = texts_of(args.get(1..).unwrap_or_default())
                    .iter()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                Value::dynamic(J::Array(
                    ps.iter()
                        .map(|p| crate::value::convert::dyn_json(&at(*p)))
                        .collect(),
                ))
            }
        }
        _ => return None,
    })
}
