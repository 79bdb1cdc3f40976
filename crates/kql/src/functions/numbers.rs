//! Numbers: rounding and binning, powers and logarithms, bitwise operations, sizes.

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("bin", &["floor"], Returns::First, |args, _| {
        bin_value(&arg(args, 0), &arg(args, 1))
    }),
    Function::new("bin_at", &[], Returns::First, |args, result| {
        let (v, size, at) = (arg(args, 0), arg(args, 1), arg(args, 2));
        match (&v, &size, &at) {
            (Value::DateTime(t), Value::TimeSpan(s), Value::DateTime(a)) if *s > 0 => {
                Value::DateTime(floor_to(t.wrapping_sub(*a), *s).wrapping_add(*a))
            }
            (Value::TimeSpan(t), Value::TimeSpan(s), Value::TimeSpan(a)) if *s > 0 => {
                Value::TimeSpan(floor_to(t.wrapping_sub(*a), *s).wrapping_add(*a))
            }
            _ => match (as_f64(&v), as_f64(&size), as_f64(&at)) {
                (Some(x), Some(s), Some(a)) if s > 0.0 => {
                    coerce(Value::Real(((x - a) / s).floor() * s + a), result)
                }
                _ => Value::Null,
            },
        }
    }),
    Function::new(
        "round",
        &[],
        Returns::Computed(|args| match args.first() {
            Some(T::Int | T::Long) => T::Long,
            _ => T::Real,
        }),
        |args, result| {
            let digits = as_i64(&arg(args, 1)).unwrap_or(0).clamp(-15, 15) as i32;
            match as_f64(&arg(args, 0)) {
                Some(x) => {
                    let m = 10f64.powi(digits);
                    coerce(Value::Real((x * m).round() / m), result)
                }
                None => Value::Null,
            }
        },
    ),
    fixed("ceiling", T::Real, |args, result| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| coerce(Value::Real(x.ceil()), result))
    }),
    Function::new("abs", &[], Returns::First, |args, _| match arg(args, 0) {
        Value::Int(i) => Value::Int(i.wrapping_abs()),
        Value::Long(i) => Value::Long(i.wrapping_abs()),
        Value::Real(r) => Value::Real(r.abs()),
        Value::Decimal(d) => Value::Decimal(d.abs()),
        Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_abs()),
        _ => Value::Null,
    }),
    fixed("sign", T::Real, |args, result| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| {
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
        })
    }),
    fixed("log", T::Real, |args, _| real(args, |x| x.ln())),
    fixed("log10", T::Real, |args, _| real(args, |x| x.log10())),
    fixed("log2", T::Real, |args, _| real(args, |x| x.log2())),
    fixed("exp", T::Real, |args, _| real(args, |x| x.exp())),
    fixed("exp2", T::Real, |args, _| real(args, |x| x.exp2())),
    fixed("exp10", T::Real, |args, _| real(args, |x| 10f64.powf(x))),
    fixed("sqrt", T::Real, |args, _| real(args, |x| x.sqrt())),
    fixed("cos", T::Real, |args, _| real(args, |x| x.cos())),
    fixed("sin", T::Real, |args, _| real(args, |x| x.sin())),
    fixed("tan", T::Real, |args, _| real(args, |x| x.tan())),
    fixed("acos", T::Real, |args, _| real(args, |x| x.acos())),
    fixed("asin", T::Real, |args, _| real(args, |x| x.asin())),
    fixed("atan", T::Real, |args, _| real(args, |x| x.atan())),
    fixed("degrees", T::Real, |args, _| real(args, |x| x.to_degrees())),
    fixed("radians", T::Real, |args, _| real(args, |x| x.to_radians())),
    fixed("pow", T::Real, |args, _| real2(args, f64::powf)),
    fixed("atan2", T::Real, |args, _| real2(args, f64::atan2)),
    fixed("pi", T::Real, |_, _| Value::Real(std::f64::consts::PI)),
    fixed("rand", T::Real, |args, _| {
        let r: f64 = rand::random();
        match as_i64(&arg(args, 0)) {
            Some(n) if n > 0 => Value::Real((r * n as f64).floor()),
            _ => Value::Real(r),
        }
    }),
    fixed("isnan", T::Bool, |args, _| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_nan()))
    }),
    fixed("isinf", T::Bool, |args, _| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_infinite()))
    }),
    fixed("isfinite", T::Bool, |args, _| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_finite()))
    }),
    fixed("bitset_count_ones", T::Long, |args, _| {
        as_i64(&arg(args, 0)).map_or(Value::Null, |n| Value::Long(i64::from(n.count_ones())))
    }),
    fixed("cot", T::Real, |args, _| {
        as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Real(1.0 / x.tan()))
    }),
    // around(value, center, delta): whether value lies within delta of center.
    fixed("around", T::Bool, |args, _| {
        use crate::functions::arith::arith;
        use crate::syntax::ast::BinOp;
        let (v, c, d) = (arg(args, 0), arg(args, 1), arg(args, 2));
        let lo = arith(BinOp::Sub, &c, &d);
        let hi = arith(BinOp::Add, &c, &d);
        match (
            crate::value::convert::compare(&v, &lo),
            crate::value::convert::compare(&v, &hi),
        ) {
            (Some(a), Some(b)) => Value::Bool(a.is_ge() && b.is_le()),
            _ => Value::Null,
        }
    }),
    // format_bytes(size[, precision[, units[, base]]]): the size in the given unit, or in the
    // largest unit it reaches.
    fixed("format_bytes", T::String, |args, _| {
        const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
        let Some(size) = as_f64(&arg(args, 0)) else {
            return Value::str("");
        };
        let precision = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 15) as usize;
        let base = as_i64(&arg(args, 3))
            .filter(|b| *b == 1000)
            .map_or(1024.0, |b| b as f64);
        let asked = text(args, 2);
        let unit = match UNITS.iter().position(|u| u.eq_ignore_ascii_case(&asked)) {
            Some(u) => u,
            None => (0..UNITS.len())
                .rev()
                .find(|&u| size.abs() >= base.powi(u as i32))
                .unwrap_or(0),
        };
        let scaled = size / base.powi(unit as i32);
        Value::str(format!("{scaled:.precision$} {}", UNITS[unit]))
    }),
    // Negative numbers print as two's complement of their own size (int 32, long 64 bits).
    fixed("tohex", T::String, |args, _| match as_i64(&arg(args, 0)) {
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
    }),
    fixed("binary_and", T::Long, |args, _| long2(args, |a, b| a & b)),
    fixed("binary_or", T::Long, |args, _| long2(args, |a, b| a | b)),
    fixed("binary_xor", T::Long, |args, _| long2(args, |a, b| a ^ b)),
    fixed("binary_shift_left", T::Long, |args, _| {
        long2(args, |a, b| a.checked_shl(b as u32).unwrap_or(0))
    }),
    fixed("binary_shift_right", T::Long, |args, _| {
        long2(args, |a, b| a.checked_shr(b as u32).unwrap_or(0))
    }),
    fixed("binary_not", T::Long, |args, _| {
        as_i64(&arg(args, 0)).map_or(Value::Null, |a| Value::Long(!a))
    }),
];

/// `f` of the first argument as a number (null when it is not one).
fn real(args: &[Value], f: fn(f64) -> f64) -> Value {
    as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Real(f(x)))
}

/// `f` of the first two arguments as numbers (null when one is not a number).
fn real2(args: &[Value], f: fn(f64, f64) -> f64) -> Value {
    match (as_f64(&arg(args, 0)), as_f64(&arg(args, 1))) {
        (Some(x), Some(y)) => Value::Real(f(x, y)),
        _ => Value::Null,
    }
}

/// `f` of the first two arguments as longs (null when one is not a number).
fn long2(args: &[Value], f: fn(i64, i64) -> i64) -> Value {
    match (as_i64(&arg(args, 0)), as_i64(&arg(args, 1))) {
        (Some(a), Some(b)) => Value::Long(f(a, b)),
        _ => Value::Null,
    }
}
