//! Conditionals, null and emptiness tests, type tests and conversions.

use super::*;

/// The result type of a function of this family, or None when `name` is not one of them.
pub(super) fn return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "gettype" => String,
        "isnotempty" | "isempty" | "isnull" | "isnotnull" | "not" | "tobool" | "toboolean"
        | "isascii" | "isutf8" => Bool,
        "tolong" | "toint64" => Long,
        "toint" => Int,
        "todouble" | "toreal" => Real,
        "todecimal" => Decimal,
        "todatetime" => DateTime,
        "totimespan" | "totime" => TimeSpan,
        "toguid" | "new_guid" => Guid,
        "iff" | "iif" => unify(args.get(1..).unwrap_or(&[])),
        "case" => {
            let mut branch: Vec<ScalarType> = args.iter().skip(1).step_by(2).copied().collect();
            if let Some(last) = args.last() {
                branch.push(*last);
            }
            unify(&branch)
        }
        "coalesce" | "min_of" | "max_of" => unify(args),
        _ => return None,
    })
}

/// Evaluates a function of this family, or None when `name` is not one of them.
pub(super) fn call(name: &str, args: &[Value], result: ScalarType) -> Option<Value> {
    let s = |i: usize| text(args, i);
    Some(match name {
        "isempty" | "isnotempty" => {
            let empty = match args.first().map(undyn) {
                None | Some(Value::Null) => true,
                Some(Value::String(t)) => t.is_empty(),
                _ => false,
            };
            Value::Bool(empty == (name == "isempty"))
        }
        "isnull" | "isnotnull" => Value::Bool(arg(args, 0).is_null() == (name == "isnull")),
        "not" => match arg(args, 0) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        "iff" | "iif" => match arg(args, 0) {
            Value::Bool(true) => coerce(args.get(1).cloned().unwrap_or(Value::Null), result),
            _ => coerce(args.get(2).cloned().unwrap_or(Value::Null), result),
        },
        "case" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if arg(args, i) == Value::Bool(true) {
                    return Some(coerce(args[i + 1].clone(), result));
                }
                i += 2;
            }
            coerce(args.last().cloned().unwrap_or(Value::Null), result)
        }
        "coalesce" => {
            let found = args.iter().find(|a| match undyn(a) {
                Value::Null => false,
                Value::String(t) => !t.is_empty(),
                _ => true,
            });
            coerce(found.cloned().unwrap_or(Value::Null), result)
        }
        "min_of" | "max_of" => {
            let mut best: Option<Value> = None;
            for a in args.iter().filter(|a| !a.is_null()) {
                let better = match &best {
                    None => true,
                    Some(b) => {
                        let o = crate::value::convert::sort_cmp(a, b);
                        if name == "min_of" {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    best = Some(a.clone());
                }
            }
            coerce(best.unwrap_or(Value::Null), result)
        }
        "todouble" | "toreal" | "todecimal" | "tolong" | "toint64" | "toint" | "tobool"
        | "toboolean" | "todatetime" | "totimespan" | "totime" | "toguid" => {
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
                (Value::String(t), ScalarType::Bool) => {
                    match t.trim().to_ascii_lowercase().as_str() {
                        "true" | "1" => Value::Bool(true),
                        "false" | "0" => Value::Bool(false),
                        _ => Value::Null,
                    }
                }
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
        "isascii" => Value::Bool(s(0).is_ascii()),
        "isutf8" => Value::Bool(true),
        "gettype" => Value::str(match args.first() {
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
        }),
        "new_guid" => Value::Guid(uuid::Uuid::new_v4()),
        _ => return None,
    })
}
