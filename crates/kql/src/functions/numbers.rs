//! Numbers: rounding and binning, powers and logarithms, bitwise operations, sizes.

use super::*;

/// The result type of a function of this family, or None when `name` is not one of them.
pub(super) fn return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    let first = args.first().copied().unwrap_or(Dynamic);
    Some(match name {
        "format_bytes" => String,
        "isnan" | "isinf" | "isfinite" => Bool,
        "log" | "log10" | "log2" | "exp" | "exp2" | "exp10" | "pow" | "sqrt" | "rand" | "pi"
        | "cos" | "sin" | "tan" | "acos" | "asin" | "atan" | "atan2" | "degrees" | "radians" => {
            Real
        }
        "bin" | "floor" | "bin_at" | "abs" => first,
        "sign" | "ceiling" => Real,
        "tohex" => String,
        "binary_and" | "binary_or" | "binary_xor" | "binary_not" | "binary_shift_left"
        | "binary_shift_right" => Long,
        "around" => Bool,
        "bitset_count_ones" => Long,
        "cot" => Real,
        "round" => {
            if matches!(first, Int | Long) {
                Long
            } else {
                Real
            }
        }
        _ => return None,
    })
}

/// Evaluates a function of this family, or None when `name` is not one of them.
pub(super) fn call(name: &str, args: &[Value], result: ScalarType) -> Option<Value> {
    let s = |i: usize| text(args, i);
    Some(match name {
        "bin" | "floor" => bin_value(&arg(args, 0), &arg(args, 1)),
        "bin_at" => {
            let (v, size, at) = (arg(args, 0), arg(args, 1), arg(args, 2));
            match (&v, &size, &at) {
                (Value::DateTime(t), Value::TimeSpan(s), Value::DateTime(a)) if *s > 0 => {
                    Value::DateTime((t - a).div_euclid(*s) * s + a)
                }
                (Value::TimeSpan(t), Value::TimeSpan(s), Value::TimeSpan(a)) if *s > 0 => {
                    Value::TimeSpan((t - a).div_euclid(*s) * s + a)
                }
                _ => match (as_f64(&v), as_f64(&size), as_f64(&at)) {
                    (Some(x), Some(s), Some(a)) if s > 0.0 => {
                        coerce(Value::Real(((x - a) / s).floor() * s + a), result)
                    }
                    _ => Value::Null,
                },
            }
        }
        "round" => {
            let digits = as_i64(&arg(args, 1)).unwrap_or(0).clamp(-15, 15) as i32;
            match as_f64(&arg(args, 0)) {
                Some(x) => {
                    let m = 10f64.powi(digits);
                    coerce(Value::Real((x * m).round() / m), result)
                }
                None => Value::Null,
            }
        }
        "ceiling" => {
            as_f64(&arg(args, 0)).map_or(Value::Null, |x| coerce(Value::Real(x.ceil()), result))
        }
        "abs" => match arg(args, 0) {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Long(i) => Value::Long(i.wrapping_abs()),
            Value::Real(r) => Value::Real(r.abs()),
            Value::Decimal(r) => Value::Decimal(r.abs()),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_abs()),
            _ => Value::Null,
        },
        "sign" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| {
            coerce(
                Value::Real(if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }),
                result,
            )
        }),
        "log" | "log10" | "log2" | "exp" | "exp2" | "exp10" | "sqrt" | "cos" | "sin" | "tan"
        | "acos" | "asin" | "atan" | "degrees" | "radians" => match as_f64(&arg(args, 0)) {
            Some(x) => Value::Real(match name {
                "log" => x.ln(),
                "log10" => x.log10(),
                "log2" => x.log2(),
                "exp" => x.exp(),
                "exp2" => x.exp2(),
                "exp10" => 10f64.powf(x),
                "sqrt" => x.sqrt(),
                "cos" => x.cos(),
                "sin" => x.sin(),
                "tan" => x.tan(),
                "acos" => x.acos(),
                "asin" => x.asin(),
                "atan" => x.atan(),
                "degrees" => x.to_degrees(),
                _ => x.to_radians(),
            }),
            None => Value::Null,
        },
        "pow" | "atan2" => match (as_f64(&arg(args, 0)), as_f64(&arg(args, 1))) {
            (Some(x), Some(y)) => Value::Real(if name == "pow" { x.powf(y) } else { x.atan2(y) }),
            _ => Value::Null,
        },
        "pi" => Value::Real(std::f64::consts::PI),
        "rand" => {
            let r: f64 = rand::random();
            match as_i64(&arg(args, 0)) {
                Some(n) if n > 0 => Value::Real((r * n as f64).floor()),
                _ => Value::Real(r),
            }
        }
        "isnan" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_nan())),
        "isinf" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_infinite())),
        "isfinite" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_finite())),
        "bitset_count_ones" => {
            as_i64(&arg(args, 0)).map_or(Value::Null, |n| Value::Long(i64::from(n.count_ones())))
        }
        "cot" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Real(1.0 / x.tan())),
        // around(value, center, delta): whether value lies within delta of center.
        "around" => {
            use crate::functions::arith::arith;
            use crate::syntax::ast::BinOp;
            let (v, c, d) = (arg(args, 0), arg(args, 1), arg(args, 2));
            let lo = arith(BinOp::Sub, c.clone(), d.clone());
            let hi = arith(BinOp::Add, c, d);
            match (
                crate::value::convert::compare(&v, &lo),
                crate::value::convert::compare(&v, &hi),
            ) {
                (Some(a), Some(b)) => Value::Bool(a.is_ge() && b.is_le()),
                _ => Value::Null,
            }
        }
        // format_bytes(size[, precision[, units[, base]]]): the size in the given unit, or in the
        // largest unit it reaches.
        "format_bytes" => {
            const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
            let Some(size) = as_f64(&arg(args, 0)) else {
                return Some(Value::str(""));
            };
            let precision = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 15) as usize;
            let base = as_i64(&arg(args, 3))
                .filter(|b| *b == 1000)
                .map_or(1024.0, |b| b as f64);
            let asked = s(2);
            let unit = match UNITS.iter().position(|u| u.eq_ignore_ascii_case(&asked)) {
                Some(u) => u,
                None => (0..UNITS.len())
                    .rev()
                    .find(|&u| size.abs() >= base.powi(u as i32))
                    .unwrap_or(0),
            };
            let scaled = size / base.powi(unit as i32);
            Value::str(format!("{scaled:.precision$} {}", UNITS[unit]))
        }
        // Negative numbers print as two's complement of their own size (int 32, long 64 bits).
        "tohex" => match as_i64(&arg(args, 0)) {
            Some(n) => {
                let width = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 16) as usize;
                let hex = match arg(args, 0) {
                    Value::Int(i) if i < 0 => format!("{:x}", i as u32),
                    _ if n < 0 => format!("{:x}", n as u64),
                    _ => format!("{n:x}"),
                };
                Value::str(format!("{hex:0>width$}"))
            }
            None => Value::Null,
        },
        "binary_and" | "binary_or" | "binary_xor" | "binary_shift_left" | "binary_shift_right" => {
            match (as_i64(&arg(args, 0)), as_i64(&arg(args, 1))) {
                (Some(a), Some(b)) => Value::Long(match name {
                    "binary_and" => a & b,
                    "binary_or" => a | b,
                    "binary_xor" => a ^ b,
                    "binary_shift_left" => a.checked_shl(b as u32).unwrap_or(0),
                    _ => a.checked_shr(b as u32).unwrap_or(0),
                }),
                _ => Value::Null,
            }
        }
        "binary_not" => as_i64(&arg(args, 0)).map_or(Value::Null, |a| Value::Long(!a)),
        _ => return None,
    })
}
