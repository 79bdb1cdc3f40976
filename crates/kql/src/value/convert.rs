//! Conversions and comparisons between values, with Kusto's rules.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::value::{ScalarType, Value};

/// A dynamic scalar as a plain value; arrays and bags stay dynamic.
pub(crate) fn undyn(v: &Value) -> Value {
    use serde_json::Value as J;
    match v {
        Value::Dynamic(d) => match &**d {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Long(i),
                None => n.as_f64().map_or(Value::Null, Value::Real),
            },
            J::String(s) => Value::str(s),
            _ => v.clone(),
        },
        other => other.clone(),
    }
}

/// [`undyn`] of a value owned: only a dynamic is converted (and nothing else copied).
pub(crate) fn into_plain(v: Value) -> Value {
    match v {
        Value::Dynamic(_) => undyn(&v),
        other => other,
    }
}

/// Text of a value as `tostring` gives it; null is the empty string.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        // Converted to text, a datetime keeps all seven fractional digits, as in Kusto.
        Value::DateTime(t) => match datetime_json(*t) {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// A number as f64 (numeric values and dynamic numbers only).
pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match undyn(v) {
        Value::Int(i) => Some(f64::from(i)),
        Value::Long(i) => Some(i as f64),
        Value::Real(r) => Some(r),
        Value::Decimal(d) => Some(d.to_f64()),
        _ => None,
    }
}

/// A whole number as i64 (reals truncate).
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match undyn(v) {
        Value::Int(i) => Some(i64::from(i)),
        Value::Long(i) => Some(i),
        Value::Real(r) if r.is_finite() => Some(r.trunc() as i64),
        Value::Decimal(d) => Some(d.to_f64().trunc() as i64),
        _ => None,
    }
}

/// A datetime inside a dynamic value: Kusto writes all seven fractional digits.
pub(crate) fn datetime_json(ticks: i64) -> serde_json::Value {
    let text = crate::value::format_datetime(ticks);
    let base = text.split('.').next().unwrap_or("").trim_end_matches('Z');
    let frac = ticks.rem_euclid(crate::value::TICKS_PER_SECOND);
    serde_json::Value::String(format!("{base}.{frac:07}Z"))
}

/// A value as an element of a dynamic array or bag.
pub(crate) fn dyn_json(v: &Value) -> serde_json::Value {
    match v {
        Value::DateTime(t) => datetime_json(*t),
        other => other.to_json(),
    }
}

/// A value as JSON for a dynamic cell.
pub(crate) fn to_dynamic(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::DateTime(t) => Value::dynamic(datetime_json(*t)),
        Value::Dynamic(_) => v.clone(),
        other => Value::dynamic(other.to_json()),
    }
}

/// [`coerce`] of a borrowed value, copying it only when it must change.
pub(crate) fn coerced(v: Cow<'_, Value>, ty: ScalarType) -> Cow<'_, Value> {
    if v.scalar_type() == Some(ty) {
        v
    } else {
        Cow::Owned(coerce(v.into_owned(), ty))
    }
}

/// Converts a value into a column of type `ty`; values that cannot convert become null.
pub(crate) fn coerce(v: Value, ty: ScalarType) -> Value {
    if v.is_null() && ty == ScalarType::String {
        // Kusto strings are never null: a missing string is empty.
        return Value::str("");
    }
    if v.is_null() || v.scalar_type() == Some(ty) {
        return v;
    }
    let v = match (&v, ty) {
        (Value::String(t), ScalarType::Long | ScalarType::Int | ScalarType::Real) => {
            let t = t.trim();
            match t.parse::<i64>() {
                Ok(i) => Value::Long(i),
                Err(_) => t.parse::<f64>().map_or(Value::Null, Value::Real),
            }
        }
        _ => v,
    };
    match ty {
        ScalarType::Dynamic => to_dynamic(&v),
        ScalarType::String => Value::str(to_text(&v)),
        ScalarType::Long => as_i64(&v).map_or(Value::Null, Value::Long),
        ScalarType::Int => as_i64(&v)
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, Value::Int),
        ScalarType::Real => as_f64(&v).map_or(Value::Null, Value::Real),
        ScalarType::Decimal => match &v {
            // Text keeps all its digits, a long all of its.
            Value::String(t) => crate::value::Decimal::parse(t).map_or(Value::Null, Value::Decimal),
            Value::Long(i) => Value::Decimal(crate::value::Decimal::from_i128(i128::from(*i))),
            Value::Int(i) => Value::Decimal(crate::value::Decimal::from_i128(i128::from(*i))),
            other => as_f64(other).map_or(Value::Null, Value::decimal),
        },
        ScalarType::Bool => match undyn(&v) {
            Value::Bool(b) => Value::Bool(b),
            other => as_i64(&other).map_or(Value::Null, |i| Value::Bool(i != 0)),
        },
        ScalarType::DateTime => match undyn(&v) {
            Value::DateTime(t) => Value::DateTime(t),
            Value::String(s) => {
                super::time::parse_datetime_text(&s).map_or(Value::Null, Value::DateTime)
            }
            _ => Value::Null,
        },
        ScalarType::TimeSpan => match undyn(&v) {
            Value::TimeSpan(t) => Value::TimeSpan(t),
            Value::String(s) => {
                super::time::parse_timespan_text(&s).map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
        ScalarType::Guid => match undyn(&v) {
            Value::Guid(g) => Value::Guid(g),
            Value::String(s) => uuid::Uuid::parse_str(&s)
                .or_else(|_| uuid::Uuid::parse_str(&s.replace('-', "")))
                .map_or(Value::Null, Value::Guid),
            _ => Value::Null,
        },
    }
}

/// True for the numeric types.
pub(crate) fn is_numeric(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::Int | ScalarType::Long | ScalarType::Real | ScalarType::Decimal
    )
}

/// Orders two values (null handling is the caller's); None when they do not compare.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    // Two values of one plain type, the common case (`where Bytes > 500`), compare without the
    // copies `undyn` makes.
    match (a, b) {
        (Value::Long(x), Value::Long(y))
        | (Value::DateTime(x), Value::DateTime(y))
        | (Value::TimeSpan(x), Value::TimeSpan(y)) => return Some(x.cmp(y)),
        (Value::Real(x), Value::Real(y)) => return x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => return Some(x.cmp(y)),
        _ => {}
    }
    let (a, b) = (undyn(a), undyn(b));
    match (&a, &b) {
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => {
            Some(as_i64(&a)?.cmp(&as_i64(&b)?))
        }
        (
            Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_),
            Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_),
        ) => as_f64(&a)?.partial_cmp(&as_f64(&b)?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        // A bool is true (1) or false (0): `IsCompliant == 0` compares it as a number.
        (
            Value::Bool(x),
            n @ (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_)),
        ) => f64::from(u8::from(*x)).partial_cmp(&as_f64(n)?),
        (
            n @ (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_)),
            Value::Bool(y),
        ) => as_f64(n)?.partial_cmp(&f64::from(u8::from(*y))),
        (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => {
            Some(x.cmp(y))
        }
        (Value::DateTime(x), Value::String(s)) => {
            super::time::parse_datetime_text(s).map(|y| x.cmp(&y))
        }
        (Value::String(s), Value::DateTime(y)) => {
            super::time::parse_datetime_text(s).map(|x| x.cmp(y))
        }
        (Value::TimeSpan(x), Value::String(s)) => {
            super::time::parse_timespan_text(s).map(|y| x.cmp(&y))
        }
        (Value::String(s), Value::TimeSpan(y)) => {
            super::time::parse_timespan_text(s).map(|x| x.cmp(y))
        }
        (Value::Guid(x), Value::Guid(y)) => Some(x.cmp(y)),
        (
            Value::String(s),
            n @ (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_)),
        ) => s.trim().parse::<f64>().ok()?.partial_cmp(&as_f64(n)?),
        (
            n @ (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_)),
            Value::String(s),
        ) => as_f64(n)?.partial_cmp(&s.trim().parse::<f64>().ok()?),
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => {
            let t = s.trim().to_ascii_lowercase();
            (t == "true" || t == "false")
                .then(|| (if *b { "true" } else { "false" }).cmp(t.as_str()))
        }
        (Value::Guid(_), Value::String(_)) | (Value::String(_), Value::Guid(_)) => {
            Some(to_text(&a).to_lowercase().cmp(&to_text(&b).to_lowercase()))
        }
        (Value::Dynamic(x), Value::Dynamic(y)) => Some(x.to_string().cmp(&y.to_string())),
        _ => None,
    }
}

/// Equality with Kusto's rules; None when either side is null.
pub(crate) fn equals(a: &Value, b: &Value, ci: bool) -> Option<bool> {
    let (a, b) = (undyn(a), undyn(b));
    if a.is_null() || b.is_null() {
        return None;
    }
    if ci || matches!((&a, &b), (Value::String(_), _) | (_, Value::String(_))) {
        if let (Value::String(x), Value::String(y)) = (&a, &b) {
            return Some(if ci {
                x.to_lowercase() == y.to_lowercase()
            } else {
                x == y
            });
        }
        if let Some(o) = compare(&a, &b) {
            return Some(o == Ordering::Equal);
        }
        let (x, y) = (to_text(&a), to_text(&b));
        return Some(if ci {
            x.to_lowercase() == y.to_lowercase()
        } else {
            x == y
        });
    }
    Some(compare(&a, &b).map_or_else(|| to_text(&a) == to_text(&b), |o| o == Ordering::Equal))
}

/// Total order for sorting: nulls are placed by the caller, incomparable values by type then text.
pub(crate) fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    compare(a, b).unwrap_or_else(|| to_text(a).cmp(&to_text(b)))
}

/// A hashable form of a value for grouping, distinct and joins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Real(u64),
    Text(Arc<str>),
    Ticks(u8, i64),
    Guid(uuid::Uuid),
}

/// The grouping key of a value (int and long with the same value are one key).
pub(crate) fn key_of(v: &Value) -> Key {
    match v {
        Value::Null => Key::Null,
        Value::Bool(b) => Key::Bool(*b),
        Value::Int(i) => Key::Int(i64::from(*i)),
        Value::Long(i) => Key::Int(*i),
        // Decimals group and compare by their real, as DataFusion (which stores them as reals)
        // does, so the two executors agree.
        Value::Real(_) | Value::Decimal(_) => {
            let r = &as_f64(v).unwrap_or(f64::NAN);
            if r.fract() == 0.0 && r.abs() < 9.0e15 {
                Key::Int(*r as i64)
            } else {
                Key::Real(r.to_bits())
            }
        }
        Value::String(s) => Key::Text(s.clone()),
        Value::DateTime(t) => Key::Ticks(0, *t),
        Value::TimeSpan(t) => Key::Ticks(1, *t),
        Value::Guid(g) => Key::Guid(*g),
        Value::Dynamic(d) => match &**d {
            serde_json::Value::String(s) => Key::Text(Arc::from(s.as_str())),
            other => Key::Text(Arc::from(other.to_string())),
        },
    }
}

/// A value as a condition: a bool, bare or in a dynamic; anything else is neither true nor false.
pub(crate) fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Dynamic(_) => match undyn(v) {
            Value::Bool(b) => Some(b),
            _ => None,
        },
        _ => None,
    }
}
