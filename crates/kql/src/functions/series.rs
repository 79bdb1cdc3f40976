//! Series functions (`series_*`) applied to dynamic arrays.

use super::*;

/// The result type of a function of this family, or None when `name` is not one of them.
pub(super) fn return_type(name: &str, _args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "series_sum"
        | "series_product"
        | "series_dot_product"
        | "series_cosine_similarity"
        | "series_pearson_correlation" => Real,
        n if n.starts_with("series_") && series_kind(n).is_some() => Dynamic,
        _ => return None,
    })
}

/// Evaluates a function of this family, or None when `name` is not one of them.
pub(super) fn call(name: &str, args: &[Value], _result: ScalarType) -> Option<Value> {
    Some(match name {
        n if series_kind(n).is_some() => series(n, args),
        _ => return None,
    })
}

/// How a `series_*` function combines its arguments.
pub(super) enum SeriesKind {
    Unary(fn(f64) -> f64),
    Binary(fn(f64, f64) -> J),
    Reduce,
    Fill,
}

fn series_kind(name: &str) -> Option<SeriesKind> {
    use SeriesKind::*;
    Some(match name.strip_prefix("series_")? {
        "abs" => Unary(f64::abs),
        "acos" => Unary(f64::acos),
        "asin" => Unary(f64::asin),
        "atan" => Unary(f64::atan),
        "ceiling" => Unary(f64::ceil),
        "cos" => Unary(f64::cos),
        "exp" => Unary(f64::exp),
        "floor" => Unary(f64::floor),
        "log" => Unary(f64::ln),
        "sign" => Unary(f64::signum),
        "sin" => Unary(f64::sin),
        "sqrt" => Unary(f64::sqrt),
        "tan" => Unary(f64::tan),
        "add" => Binary(|a, b| num(a + b)),
        "subtract" => Binary(|a, b| num(a - b)),
        "multiply" => Binary(|a, b| num(a * b)),
        "divide" => Binary(|a, b| num(a / b)),
        "pow" => Binary(|a, b| num(a.powf(b))),
        "greater" => Binary(|a, b| J::Bool(a > b)),
        "greater_equals" => Binary(|a, b| J::Bool(a >= b)),
        "less" => Binary(|a, b| J::Bool(a < b)),
        "less_equals" => Binary(|a, b| J::Bool(a <= b)),
        "equals" => Binary(|a, b| J::Bool(a == b)),
        "not_equals" => Binary(|a, b| J::Bool(a != b)),
        "sum" | "product" | "dot_product" | "cosine_similarity" | "pearson_correlation" => Reduce,
        "fill_const" | "fill_forward" | "fill_backward" | "fill_linear" => Fill,
        _ => return None,
    })
}

/// Element-wise arithmetic, comparisons, reductions and gap filling over numeric arrays.
pub(super) fn series(name: &str, args: &[Value]) -> Value {
    let elems = |v: Option<&Value>| -> Option<Vec<Option<f64>>> {
        match v {
            Some(Value::Dynamic(d)) => d.as_array().map(|a| a.iter().map(J::as_f64).collect()),
            _ => None,
        }
    };
    let Some(first) = elems(args.first()) else {
        return Value::Null;
    };
    let second = || -> Vec<Option<f64>> {
        elems(args.get(1)).unwrap_or_else(|| vec![args.get(1).and_then(as_f64); first.len()])
    };
    let out = match series_kind(name) {
        Some(SeriesKind::Unary(f)) => first
            .iter()
            .map(|x| x.map_or(J::Null, |x| num(f(x))))
            .collect(),
        Some(SeriesKind::Binary(f)) => {
            let b = second();
            first
                .iter()
                .enumerate()
                .map(|(i, a)| match (a, b.get(i).copied().flatten()) {
                    (Some(a), Some(b)) => f(*a, b),
                    _ => J::Null,
                })
                .collect()
        }
        Some(SeriesKind::Reduce) => {
            let b = second();
            let pairs: Vec<(f64, f64)> = first
                .iter()
                .enumerate()
                .filter_map(|(i, a)| Some(((*a)?, b.get(i).copied().flatten().unwrap_or(f64::NAN))))
                .collect();
            let xs: Vec<f64> = first.iter().flatten().copied().collect();
            let dot: f64 = pairs.iter().map(|(a, b)| a * b).sum();
            let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
            let r = match name {
                "series_sum" => xs.iter().sum(),
                "series_product" => xs.iter().product(),
                "series_dot_product" => dot,
                "series_cosine_similarity" => {
                    dot / (norm(&mut pairs.iter().map(|p| p.0))
                        * norm(&mut pairs.iter().map(|p| p.1)))
                }
                _ => {
                    let n = pairs.len() as f64;
                    let (ma, mb) = (
                        pairs.iter().map(|p| p.0).sum::<f64>() / n,
                        pairs.iter().map(|p| p.1).sum::<f64>() / n,
                    );
                    let cov: f64 = pairs.iter().map(|(a, b)| (a - ma) * (b - mb)).sum();
                    let va: f64 = pairs.iter().map(|(a, _)| (a - ma).powi(2)).sum();
                    let vb: f64 = pairs.iter().map(|(_, b)| (b - mb).powi(2)).sum();
                    cov / (va * vb).sqrt()
                }
            };
            return Value::Real(r);
        }
        Some(SeriesKind::Fill) => {
            let Some(Value::Dynamic(d)) = args.first() else {
                return Value::Null;
            };
            let raw: Vec<J> = d.as_array().cloned().unwrap_or_default();
            let mut out = raw.clone();
            match name {
                "series_fill_const" => {
                    let c = args.get(1).map_or(J::from(0), json_of);
                    for v in out.iter_mut().filter(|v| v.is_null()) {
                        *v = c.clone();
                    }
                }
                "series_fill_forward" => {
                    for i in 1..out.len() {
                        if out[i].is_null() {
                            out[i] = out[i - 1].clone();
                        }
                    }
                }
                "series_fill_backward" => {
                    for i in (0..out.len().saturating_sub(1)).rev() {
                        if out[i].is_null() {
                            out[i] = out[i + 1].clone();
                        }
                    }
                }
                // series_fill_linear(x[, missing, fill_edges, constant]): interpolates between
                // known values, extends the first and last known values over the edges unless
                // fill_edges is false, and fills a series with no known value with the constant
                // (0). Integer series stay integers.
                _ => {
                    let missing = args.get(1).map_or(J::Null, json_of);
                    let fill_edges = !matches!(args.get(2).map(undyn), Some(Value::Bool(false)));
                    let known: Vec<(usize, f64)> = raw
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v != missing)
                        .filter_map(|(i, v)| Some((i, v.as_f64()?)))
                        .collect();
                    let ints = known
                        .iter()
                        .all(|(i, _)| raw[*i].is_i64() || raw[*i].is_u64());
                    let value = |x: f64| if ints { J::from(x as i64) } else { num(x) };
                    for v in out.iter_mut().filter(|v| **v == missing) {
                        *v = J::Null;
                    }
                    match (known.first(), known.last()) {
                        (Some(&(first, a)), Some(&(last, b))) => {
                            for pair in known.windows(2) {
                                let ((i0, v0), (i1, v1)) = (pair[0], pair[1]);
                                for (i, slot) in out.iter_mut().enumerate().take(i1).skip(i0 + 1) {
                                    *slot =
                                        value(v0 + (v1 - v0) * (i - i0) as f64 / (i1 - i0) as f64);
                                }
                            }
                            if fill_edges {
                                out[..first].fill(value(a));
                                out[last + 1..].fill(value(b));
                            }
                        }
                        _ => out.fill(args.get(3).map_or(num(0.0), json_of)),
                    }
                }
            }
            return Value::dynamic(J::Array(out));
        }
        None => return Value::Null,
    };
    Value::dynamic(J::Array(out))
}
