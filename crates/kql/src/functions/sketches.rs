//! Sketches as scalar functions: `hll` and `tdigest` values merged and read (exact here: an hll is
//! its distinct values, a t-digest its weighted values).

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    // Sketches are exact here: an hll is its distinct values, a t-digest its weighted values.
    fixed("dcount_hll", T::Long, |args, _| {
        match args.first().and_then(dynamic_array) {
            Some(items) => Value::Long(items.len() as i64),
            None => Value::Null,
        }
    }),
    fixed("hll_merge", T::Dynamic, |args, _| {
        let mut out: Vec<J> = Vec::new();
        for j in args.iter().filter_map(dynamic_array).flatten() {
            if crate::budget::check().is_err() {
                return Value::Null;
            }
            if !out.contains(&j) {
                out.push(j);
            }
        }
        Value::dynamic(J::Array(out))
    }),
    Function::new(
        "tdigest_merge",
        &["merge_tdigest"],
        Returns::Fixed(T::Dynamic),
        |args, _| {
            Value::dynamic(J::Array(
                args.iter().filter_map(dynamic_array).flatten().collect(),
            ))
        },
    ),
    Function::new(
        "percentile_tdigest",
        &[],
        Returns::Computed(|args| args.get(2).copied().unwrap_or(T::Dynamic)),
        percentile_tdigest,
    ),
    fixed(
        "percentiles_array_tdigest",
        T::Dynamic,
        percentiles_array_tdigest,
    ),
    fixed("percentrank_tdigest", T::Real, percentrank_tdigest),
    fixed("rank_tdigest", T::Long, rank_tdigest),
];

/// The first argument's t-digest as (value, weight) pairs sorted by value; None when it is not
/// an array.
fn digest(args: &[Value]) -> Option<Vec<(Value, i64)>> {
    let digest = args.first().and_then(dynamic_array)?;
    let mut sorted: Vec<(Value, i64)> = digest
        .iter()
        .filter_map(|pair| {
            let v = undyn(&Value::dynamic(pair.get(0)?.clone()));
            Some((v, pair.get(1)?.as_i64()?))
        })
        .collect();
    sorted.sort_by(|a, b| crate::value::convert::sort_cmp(&a.0, &b.0));
    Some(sorted)
}

/// The value at percentile `p` of a sorted digest.
fn percentile(sorted: &[(Value, i64)], p: f64) -> Value {
    crate::functions::aggregate::weighted_percentile(sorted, p).unwrap_or(Value::Null)
}

/// `percentile_tdigest(digest, p[, type])`.
fn percentile_tdigest(args: &[Value], result: ScalarType) -> Value {
    let Some(sorted) = digest(args) else {
        return Value::Null;
    };
    as_f64(&arg(args, 1)).map_or(Value::Null, |p| {
        coerce(to_dynamic(&percentile(&sorted, p)), result)
    })
}

/// `percentiles_array_tdigest(digest, p1, p2, …)` (or a dynamic array of percentiles).
fn percentiles_array_tdigest(args: &[Value], _: ScalarType) -> Value {
    let Some(sorted) = digest(args) else {
        return Value::Null;
    };
    let ps: Vec<f64> = texts_of(args.get(1..).unwrap_or_default())
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    Value::dynamic(J::Array(
        ps.iter()
            .map(|p| crate::value::convert::dyn_json(&percentile(&sorted, *p)))
            .collect(),
    ))
}

/// The total weight of a sorted digest, and the weight of its values at or below `v`.
fn weight_at_or_below(sorted: &[(Value, i64)], v: &Value) -> (i64, i64) {
    let total = sorted
        .iter()
        .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
    let below = sorted
        .iter()
        .filter(|(x, _)| crate::value::convert::compare(x, v).is_some_and(|o| o.is_le()))
        .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
    (below, total)
}

/// `percentrank_tdigest(digest, value)`: the weighted share of values at or below the value,
/// in percent.
fn percentrank_tdigest(args: &[Value], _: ScalarType) -> Value {
    let Some(sorted) = digest(args) else {
        return Value::Null;
    };
    let v = arg(args, 1);
    let (below, total) = weight_at_or_below(&sorted, &v);
    if total == 0 || v.is_null() {
        Value::Null
    } else {
        Value::Real(100.0 * below as f64 / total as f64)
    }
}

/// `rank_tdigest(digest, value)`: how many of the digest's values (by weight) are at or below
/// the value.
fn rank_tdigest(args: &[Value], _: ScalarType) -> Value {
    let Some(sorted) = digest(args) else {
        return Value::Null;
    };
    let v = arg(args, 1);
    if v.is_null() {
        return Value::Null;
    }
    Value::Long(weight_at_or_below(&sorted, &v).0)
}
