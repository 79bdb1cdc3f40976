//! Conditionals, null and emptiness tests, type tests and conversions.

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("isempty", T::Bool, |args, _| Value::Bool(is_empty(args))),
    fixed("isnotempty", T::Bool, |args, _| {
        Value::Bool(!is_empty(args))
    }),
    fixed("isnull", T::Bool, |args, _| {
        Value::Bool(arg(args, 0).is_null())
    }),
    fixed("isnotnull", T::Bool, |args, _| {
        Value::Bool(!arg(args, 0).is_null())
    }),
    fixed("not", T::Bool, |args, _| match arg(args, 0) {
        Value::Bool(b) => Value::Bool(!b),
        _ => Value::Null,
    }),
    Function::new(
        "iff",
        &["iif"],
        Returns::Computed(|args| unify(args.get(1..).unwrap_or(&[]))),
        |args, result| match arg(args, 0) {
            Value::Bool(true) => coerce(args.get(1).cloned().unwrap_or(Value::Null), result),
            _ => coerce(args.get(2).cloned().unwrap_or(Value::Null), result),
        },
    ),
    Function::new(
        "case",
        &[],
        Returns::Computed(|args| {
            let mut branch: Vec<ScalarType> = args.iter().skip(1).step_by(2).copied().collect();
            if let Some(last) = args.last() {
                branch.push(*last);
            }
            unify(&branch)
        }),
        |args, result| {
            let mut i = 0;
            while i + 1 < args.len() {
                if arg(args, i) == Value::Bool(true) {
                    return coerce(args[i + 1].clone(), result);
                }
                i += 2;
            }
            coerce(args.last().cloned().unwrap_or(Value::Null), result)
        },
    ),
    Function::new("coalesce", &[], Returns::Computed(unify), |args, result| {
        let found = args.iter().find(|a| match undyn(a) {
            Value::Null => false,
            Value::String(t) => !t.is_empty(),
            _ => true,
        });
        coerce(found.cloned().unwrap_or(Value::Null), result)
    }),
    Function::new("min_of", &[], Returns::Computed(unify), |args, result| {
        extreme(args, result, std::cmp::Ordering::Less)
    }),
    Function::new("max_of", &[], Returns::Computed(unify), |args, result| {
        extreme(args, result, std::cmp::Ordering::Greater)
    }),
    Function::new("todouble", &["toreal"], Returns::Fixed(T::Real), convert),
    fixed("todecimal", T::Decimal, convert),
    Function::new("tolong", &["toint64"], Returns::Fixed(T::Long), convert),
    fixed("toint", T::Int, convert),
    Function::new("tobool", &["toboolean"], Returns::Fixed(T::Bool), convert),
    fixed("todatetime", T::DateTime, convert),
    Function::new(
        "totimespan",
        &["totime"],
        Returns::Fixed(T::TimeSpan),
        convert,
    ),
    fixed("toguid", T::Guid, convert),
    fixed("isascii", T::Bool, |args, _| {
        Value::Bool(text(args, 0).is_ascii())
    }),
    fixed("isutf8", T::Bool, |_, _| Value::Bool(true)),
    fixed("gettype", T::String, |args, _| {
        Value::str(match args.first() {
            Some(Value::Dynamic(d)) => match &**d {
                J::Array(_) => "array",
                J::Object(_) => "dictionary",
                J::String(_) => "string",
                J::Bool(_) => "bool",
                // Whole numbers in dynamic values are ints when they fit, as Kusto documents.
                J::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => "int",
                J::Number(n) if n.is_i64() => "long",
                J::Number(_) => "real",
                J::Null => "null",
            },
            Some(v) => v.scalar_type().map_or("null", |t| t.name()),
            None => "null",
        })
    }),
    // The binder passes the fixed-size arguments' bytes summed as the first argument and the
    // strings and dynamic values after it (see `fixed_data_size`).
    fixed("estimate_data_size", T::Long, |args, _| {
        let fixed = as_i64(&arg(args, 0)).unwrap_or(0);
        Value::Long(
            args.iter()
                .skip(1)
                .fold(fixed, |n, v| n.saturating_add(data_size(v))),
        )
    }),
    fixed(
        "new_guid",
        T::Guid,
        |_, _| Value::Guid(uuid::Uuid::new_v4()),
    ),
];

/// Whether the first argument is null or empty text.
fn is_empty(args: &[Value]) -> bool {
    match args.first().map(undyn) {
        None | Some(Value::Null) => true,
        Some(Value::String(t)) => t.is_empty(),
        _ => false,
    }
}

/// `min_of` (`wanted` Less) or `max_of` (Greater): the first argument no other is more
/// extreme than, nulls left out.
fn extreme(args: &[Value], result: ScalarType, wanted: std::cmp::Ordering) -> Value {
    let mut best: Option<Value> = None;
    for a in args.iter().filter(|a| !a.is_null()) {
        let better = match &best {
            None => true,
            Some(b) => crate::value::convert::sort_cmp(a, b) == wanted,
        };
        if better {
            best = Some(a.clone());
        }
    }
    coerce(best.unwrap_or(Value::Null), result)
}

/// The conversions (`todouble`, `tolong`, `tobool`, `todatetime`, …): the first argument as the
/// result type, text parsed as a number or a bool first.
fn convert(args: &[Value], result: ScalarType) -> Value {
    let a = arg(args, 0);
    let a = match (&a, result) {
        (
            Value::String(t),
            ScalarType::Real | ScalarType::Decimal | ScalarType::Long | ScalarType::Int,
        ) => {
            let t = t.trim();
            match t.parse::<i64>() {
                Ok(i) => Value::Long(i),
                Err(_) => t.parse::<f64>().map_or(Value::Null, Value::Real),
            }
        }
        (Value::String(t), ScalarType::Bool) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::Null,
        },
        (Value::DateTime(t), ScalarType::Long) => Value::Long(*t),
        (Value::TimeSpan(t), ScalarType::Long) => Value::Long(*t),
        (Value::Long(t), ScalarType::TimeSpan) => Value::TimeSpan(*t),
        (Value::Bool(b), ScalarType::Long | ScalarType::Int | ScalarType::Real) => {
            Value::Long(i64::from(*b))
        }
        _ => a,
    };
    coerce(a, result)
}

/// The bytes `estimate_data_size` counts for every value of a fixed-size type, null or not, as
/// Kusto documents them (int 4, long 8, datetime 8, ...); `None` for strings and dynamic values,
/// which count their own size.
pub(crate) fn fixed_data_size(ty: ScalarType) -> Option<i64> {
    Some(match ty {
        ScalarType::Bool => 1,
        ScalarType::Int => 4,
        ScalarType::Long | ScalarType::Real | ScalarType::DateTime | ScalarType::TimeSpan => 8,
        ScalarType::Decimal | ScalarType::Guid => 16,
        ScalarType::String | ScalarType::Dynamic => return None,
    })
}

/// The estimated bytes of one value: a string its UTF-8 bytes, a dynamic value its JSON text
/// (Kusto's binary form of dynamic values is not documented), a null nothing.
fn data_size(v: &Value) -> i64 {
    let bytes = match v {
        Value::Null => 0,
        Value::String(s) => s.len(),
        Value::Dynamic(d) => crate::value::json_len(&**d),
        other => return other.scalar_type().and_then(fixed_data_size).unwrap_or(0),
    };
    i64::try_from(bytes).unwrap_or(i64::MAX)
}
