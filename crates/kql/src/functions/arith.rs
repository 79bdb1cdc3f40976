//! Kusto arithmetic on values: integer operations wrap, division by zero is null.

use crate::syntax::ast::BinOp;
use crate::value::Value;
use crate::value::convert::{as_f64, as_i64, undyn};

/// `a op b` (an arithmetic `op`), with Kusto's types: two longs, the common case, inlined.
#[inline]
pub(crate) fn arith(op: BinOp, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Long(x), Value::Long(y)) => int_op(op, *x, *y).map_or(Value::Null, Value::Long),
        _ => converted(op, a, b),
    }
}

/// [`arith`] of any other operands: dynamics unwrapped, bools as longs, mixed types widened.
fn converted(op: BinOp, a: &Value, b: &Value) -> Value {
    use Value::*;
    let (a, b) = (undyn(a), undyn(b));
    let (a, b) = match (a, b) {
        (Bool(x), y) => (Long(i64::from(x)), y),
        (x, Bool(y)) => (x, Long(i64::from(y))),
        other => other,
    };
    match (&a, &b) {
        (Null, _) | (_, Null) => Null,
        (Int(x), Int(y)) => int_op(op, i64::from(*x), i64::from(*y))
            .map_or(Null, |v| i32::try_from(v).map_or(Long(v), Int)),
        (Int(_) | Long(_), Int(_) | Long(_)) => match (as_i64(&a), as_i64(&b)) {
            (Some(x), Some(y)) => int_op(op, x, y).map_or(Null, Long),
            _ => Null,
        },
        (DateTime(x), TimeSpan(y)) => match op {
            BinOp::Add => DateTime(x.wrapping_add(*y)),
            BinOp::Sub => DateTime(x.wrapping_sub(*y)),
            _ => Null,
        },
        (TimeSpan(x), DateTime(y)) if op == BinOp::Add => DateTime(x.wrapping_add(*y)),
        (DateTime(x), DateTime(y)) if op == BinOp::Sub => TimeSpan(x.wrapping_sub(*y)),
        (TimeSpan(x), TimeSpan(y)) => match op {
            BinOp::Add => TimeSpan(x.wrapping_add(*y)),
            BinOp::Sub => TimeSpan(x.wrapping_sub(*y)),
            BinOp::Div if *y != 0 => Real(*x as f64 / *y as f64),
            BinOp::Mod if *y != 0 => TimeSpan(x % y),
            _ => Null,
        },
        (TimeSpan(x), n) => match (op, as_f64(n)) {
            (BinOp::Mul, Some(f)) => TimeSpan((*x as f64 * f) as i64),
            (BinOp::Div, Some(f)) if f != 0.0 => TimeSpan((*x as f64 / f) as i64),
            _ => Null,
        },
        (n, TimeSpan(x)) if op == BinOp::Mul => {
            as_f64(n).map_or(Null, |f| TimeSpan((*x as f64 * f) as i64))
        }
        _ => match (as_f64(&a), as_f64(&b)) {
            (Some(x), Some(y)) => Real(real_op(op, x, y)),
            _ => Null,
        },
    }
}

/// `x op y` of two reals (an arithmetic `op`): division by zero is an infinity or NaN.
#[inline]
pub(crate) fn real_op(op: BinOp, x: f64, y: f64) -> f64 {
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x.rem_euclid(y),
    }
}

/// `x op y` of two longs (an arithmetic `op`): wrapping, None (null) for division by zero.
#[inline]
pub(crate) fn int_op(op: BinOp, x: i64, y: i64) -> Option<i64> {
    match op {
        BinOp::Add => Some(x.wrapping_add(y)),
        BinOp::Sub => Some(x.wrapping_sub(y)),
        BinOp::Mul => Some(x.wrapping_mul(y)),
        BinOp::Div => x.checked_div(y),
        _ => x.checked_rem_euclid(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_truncates_and_divide_by_zero_is_null() {
        assert_eq!(
            arith(BinOp::Div, &Value::Long(7), &Value::Long(2)),
            Value::Long(3)
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Long(7), &Value::Long(0)),
            Value::Null
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Real(7.0), &Value::Long(2)),
            Value::Real(3.5)
        );
    }
}
