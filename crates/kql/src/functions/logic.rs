//! Conditionals, null and emptiness tests, type tests and conversions.

use super::*;

/// The functions of this family.
pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "isempty",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| Value::Bool(is_empty(args)),
    },
    Function {
        name: "isnotempty",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| Value::Bool(!is_empty(args)),
    },
    Function {
        name: "isnull",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| Value::Bool(arg(args, 0).is_null()),
    },
    Function {
        name: "isnotnull",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| Value::Bool(!arg(args, 0).is_null()),
    },
    Function {
        name: "not",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| match arg(args, 0) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
    },
    Function {
        name: "iff",
        aliases: &["iif"],
        returns: Returns::Computed(|args| unify(args.get(1..).unwrap_or(&[]))),
        call: |args, result| match arg(args, 0) {
            Value::Bool(true) => coerce(args.get(1).cloned().unwrap_or(Value::Null), result),
            _ => coerce(args.get(2).cloned().unwrap_or(Value::Null), result),
        },
    },
    Function {
        name: "case",
        aliases: &[],
        returns: Returns::Computed(|args| {
            let mut branch: Vec<ScalarType> = args.iter().skip(1).step_by(2).copied().collect();
            if let Some(last) = args.last() {
                branch.push(*last);
            }
            unify(&branch)
        }),
        call: |args, result| {
            let mut i = 0;
            while i + 1 < args.len() {
                if arg(args, i) == Value::Bool(true) {
                    return coerce(args[i + 1].clone(), result);
                }
                i += 2;
            }
            coerce(args.last().cloned().unwrap_or(Value::Null), result)
        },
    },
    Function {
        name: "coalesce",
        aliases: &[],
        returns: Returns::Computed(unify),
        call: |args, result| {
            let found = args.iter().find(|a| match undyn(a) {
                Value::Null => false,
                Value::String(t) => !t.is_empty(),
                _ => true,
            });
            coerce(found.cloned().unwrap_or(Value::Null), result)
        },
    },
    Function {
        name: "min_of",
        aliases: &[],
        returns: Returns::Computed(unify),
        call: |args, result| extreme(args, result, std::cmp::Ordering::Less),
    },
    Function {
        name: "max_of",
        aliases: &[],
        returns: Returns::Computed(unify),
        call: |args, result| extreme(args, result, std::cmp::Ordering::Greater),
    },
    Function {
        name: "todouble",
        aliases: &["toreal"],
        returns: Returns::Fixed(T::Real),
        call: todouble,
    },
    Function {
        name: "todecimal",
        aliases: &[],
        returns: Returns::Fixed(T::Decimal),
        call: todouble,
    },
    Function {
        name: "tolong",
        aliases: &["toint64"],
        returns: Returns::Fixed(T::Long),
        call: todouble,
    },
    Function {
        name: "toint",
        aliases: &[],
        returns: Returns::Fixed(T::Int),
        call: todouble,
    },
    Function {
        name: "tobool",
        aliases: &["toboolean"],
        returns: Returns::Fixed(T::Bool),
        call: todouble,
    },
    Function {
        name: "todatetime",
        aliases: &[],
        returns: Returns::Fixed(T::DateTime),
        call: todouble,
    },
    Function {
        name: "totimespan",
        aliases: &["totime"],
        returns: Returns::Fixed(T::TimeSpan),
        call: todouble,
    },
    Function {
        name: "toguid",
        aliases: &[],
        returns: Returns::Fixed(T::Guid),
        call: todouble,
    },
    Function {
        name: "isascii",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |args, _| {
            let s = |i: usize| text(args, i);
            Value::Bool(s(0).is_ascii())
        },
    },
    Function {
        name: "isutf8",
        aliases: &[],
        returns: Returns::Fixed(T::Bool),
        call: |_, _| Value::Bool(true),
    },
    Function {
        name: "gettype",
        aliases: &[],
        returns: Returns::Fixed(T::String),
        call: |args, _| {
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
        },
    },
    Function {
        name: "new_guid",
        aliases: &[],
        returns: Returns::Fixed(T::Guid),
        call: |_, _| Value::Guid(uuid::Uuid::new_v4()),
    },
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

fn todouble(args: &[Value], result: ScalarType) -> Value {
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
