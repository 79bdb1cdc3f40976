//! Series functions (`series_*`) applied to dynamic arrays.

use super::*;

/// A `series_*` function of `kind` with result type `ty`.
macro_rules! series_fn {
    ($name:literal, $ty:ident, $kind:expr) => {
        fixed($name, T::$ty, |args, _| series($kind, args))
    };
}

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    series_fn!("series_abs", Dynamic, Unary(f64::abs)),
    series_fn!("series_acos", Dynamic, Unary(f64::acos)),
    series_fn!("series_asin", Dynamic, Unary(f64::asin)),
    series_fn!("series_atan", Dynamic, Unary(f64::atan)),
    series_fn!("series_ceiling", Dynamic, Unary(f64::ceil)),
    series_fn!("series_cos", Dynamic, Unary(f64::cos)),
    series_fn!("series_exp", Dynamic, Unary(f64::exp)),
    series_fn!("series_floor", Dynamic, Unary(f64::floor)),
    series_fn!("series_log", Dynamic, Unary(f64::ln)),
    series_fn!("series_sign", Dynamic, Unary(f64::signum)),
    series_fn!("series_sin", Dynamic, Unary(f64::sin)),
    series_fn!("series_sqrt", Dynamic, Unary(f64::sqrt)),
    series_fn!("series_tan", Dynamic, Unary(f64::tan)),
    series_fn!("series_add", Dynamic, Binary(|a, b| num(a + b))),
    series_fn!("series_subtract", Dynamic, Binary(|a, b| num(a - b))),
    series_fn!("series_multiply", Dynamic, Binary(|a, b| num(a * b))),
    series_fn!("series_divide", Dynamic, Binary(|a, b| num(a / b))),
    series_fn!("series_pow", Dynamic, Binary(|a, b| num(a.powf(b)))),
    series_fn!("series_greater", Dynamic, Binary(|a, b| J::Bool(a > b))),
    series_fn!(
        "series_greater_equals",
        Dynamic,
        Binary(|a, b| J::Bool(a >= b))
    ),
    series_fn!("series_less", Dynamic, Binary(|a, b| J::Bool(a < b))),
    series_fn!(
        "series_less_equals",
        Dynamic,
        Binary(|a, b| J::Bool(a <= b))
    ),
    series_fn!("series_equals", Dynamic, Binary(|a, b| J::Bool(a == b))),
    series_fn!("series_not_equals", Dynamic, Binary(|a, b| J::Bool(a != b))),
    series_fn!("series_sum", Real, Reduce(Reduction::Sum)),
    series_fn!("series_product", Real, Reduce(Reduction::Product)),
    series_fn!("series_dot_product", Real, Reduce(Reduction::DotProduct)),
    series_fn!(
        "series_cosine_similarity",
        Real,
        Reduce(Reduction::CosineSimilarity)
    ),
    series_fn!(
        "series_pearson_correlation",
        Real,
        Reduce(Reduction::PearsonCorrelation)
    ),
    series_fn!("series_magnitude", Real, Reduce(Reduction::Magnitude)),
    series_fn!("series_fill_const", Dynamic, Fill(Filling::Const))
        .builds(size::product::series_fill_const),
    series_fn!("series_fill_forward", Dynamic, Fill(Filling::Forward)),
    series_fn!("series_fill_backward", Dynamic, Fill(Filling::Backward)),
    series_fn!("series_fill_linear", Dynamic, Fill(Filling::Linear))
        .builds(size::product::series_fill_linear),
    fixed("series_iir", T::Dynamic, |args, _| series_iir(args)),
];

/// How a `series_*` function combines its arguments.
enum SeriesKind {
    Unary(fn(f64) -> f64),
    Binary(fn(f64, f64) -> J),
    Reduce(Reduction),
    Fill(Filling),
}
use SeriesKind::*;

/// What a reducing `series_*` function computes of its series.
enum Reduction {
    Sum,
    Product,
    DotProduct,
    CosineSimilarity,
    PearsonCorrelation,
    /// The Euclidean norm: the square root of the series' dot product with itself.
    Magnitude,
}

/// How a `series_fill_*` function fills the gaps.
enum Filling {
    Const,
    Forward,
    Backward,
    Linear,
}

/// Element-wise arithmetic, comparisons, reductions and gap filling over numeric arrays.
fn series(kind: SeriesKind, args: &[Value]) -> Value {
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
    let out = match kind {
        Unary(f) => first
            .iter()
            .map(|x| x.map_or(J::Null, |x| num(f(x))))
            .collect(),
        Binary(f) => {
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
        Reduce(reduction) => {
            let b = second();
            let pairs: Vec<(f64, f64)> = first
                .iter()
                .enumerate()
                .filter_map(|(i, a)| Some(((*a)?, b.get(i).copied().flatten().unwrap_or(f64::NAN))))
                .collect();
            let xs: Vec<f64> = first.iter().flatten().copied().collect();
            let dot: f64 = pairs.iter().map(|(a, b)| a * b).sum();
            let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
            let r = match reduction {
                Reduction::Sum => xs.iter().sum(),
                Reduction::Product => xs.iter().product(),
                Reduction::DotProduct => dot,
                Reduction::Magnitude => norm(&mut xs.iter().copied()),
                Reduction::CosineSimilarity => {
                    dot / (norm(&mut pairs.iter().map(|p| p.0))
                        * norm(&mut pairs.iter().map(|p| p.1)))
                }
                Reduction::PearsonCorrelation => {
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
        Fill(filling) => {
            let Some(Value::Dynamic(d)) = args.first() else {
                return Value::Null;
            };
            let raw: Vec<J> = d.as_array().cloned().unwrap_or_default();
            let mut out = raw.clone();
            match filling {
                Filling::Const => {
                    let c = args.get(1).map_or(J::from(0), json_of);
                    for v in out.iter_mut().filter(|v| v.is_null()) {
                        *v = c.clone();
                    }
                }
                Filling::Forward => {
                    for i in 1..out.len() {
                        if out[i].is_null() {
                            out[i] = out[i - 1].clone();
                        }
                    }
                }
                Filling::Backward => {
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
                Filling::Linear => {
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
    };
    Value::dynamic(J::Array(out))
}

/// `series_iir(x, numerators, denominators)`: Kusto's infinite impulse response filter,
/// `y[i] = (b[0]x[i] + … + b[nb-1]x[i-nb+1] - a[1]y[i-1] - … - a[na-1]y[i-na+1]) / a[0]`.
/// A missing or non-numeric element of the series counts as 0; null when a coefficient is not a
/// number, or `a[0]` is 0 or missing.
fn series_iir(args: &[Value]) -> Value {
    let numbers = |v: Option<&Value>| -> Option<Vec<Option<f64>>> {
        match v {
            Some(Value::Dynamic(d)) => Some(d.as_array()?.iter().map(J::as_f64).collect()),
            _ => None,
        }
    };
    let coefficients = |v| numbers(v)?.into_iter().collect::<Option<Vec<f64>>>();
    let (Some(x), Some(b), Some(a)) = (
        numbers(args.first()),
        coefficients(args.get(1)),
        coefficients(args.get(2)),
    ) else {
        return Value::Null;
    };
    let Some(&a0) = a.first().filter(|a0| **a0 != 0.0) else {
        return Value::Null;
    };
    let x: Vec<f64> = x.into_iter().map(|v| v.unwrap_or(0.0)).collect();
    let mut y: Vec<f64> = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        // Each element costs a pass over the coefficients: stop with the query.
        if crate::budget::check().is_err() {
            return Value::Null;
        }
        let fed: f64 = b.iter().zip(x[..=i].iter().rev()).map(|(b, x)| b * x).sum();
        let back: f64 = a[1..].iter().zip(y.iter().rev()).map(|(a, y)| a * y).sum();
        y.push((fed - back) / a0);
    }
    Value::dynamic(J::Array(y.into_iter().map(num).collect()))
}
