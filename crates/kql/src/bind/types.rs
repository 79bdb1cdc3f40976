//! Type rules of operators: what arithmetic and comparison accept and return.

use crate::syntax::ast::BinOp;
use crate::value::ScalarType;
use crate::value::convert::is_numeric;

pub(crate) fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "subtract",
        BinOp::Mul => "multiply",
        BinOp::Div => "divide",
        BinOp::Mod => "take the modulo of",
        _ => "compare",
    }
}

/// The result type of arithmetic, or None when the types do not combine.
pub(crate) fn arith_type(op: BinOp, l: ScalarType, r: ScalarType) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match (l, r) {
        (Int, Int) => Int,
        (Int | Long, Int | Long) => Long,
        (Decimal, a) | (a, Decimal) if is_numeric(a) => Decimal,
        (a, b) if is_numeric(a) && is_numeric(b) => Real,
        (Bool, b) | (b, Bool) if is_numeric(b) => b,
        (DateTime, DateTime) if op == BinOp::Sub => TimeSpan,
        (DateTime, TimeSpan) if matches!(op, BinOp::Add | BinOp::Sub) => DateTime,
        (TimeSpan, DateTime) if op == BinOp::Add => DateTime,
        (TimeSpan, TimeSpan) if op == BinOp::Div => Real,
        (TimeSpan, TimeSpan) if op != BinOp::Mul => TimeSpan,
        (TimeSpan, n) if is_numeric(n) && matches!(op, BinOp::Mul | BinOp::Div) => TimeSpan,
        (n, TimeSpan) if is_numeric(n) && op == BinOp::Mul => TimeSpan,
        (Dynamic, Dynamic) => Dynamic,
        (Dynamic, DateTime) | (DateTime, Dynamic) if op == BinOp::Sub => TimeSpan,
        (Dynamic, t @ (DateTime | TimeSpan)) | (t @ (DateTime | TimeSpan), Dynamic) => t,
        (Dynamic, n) | (n, Dynamic) if is_numeric(n) => Real,
        _ => return None,
    })
}

pub(crate) fn comparable(l: ScalarType, r: ScalarType) -> bool {
    use ScalarType::*;
    l == r
        || l == Dynamic
        || r == Dynamic
        || (is_numeric(l) && is_numeric(r))
        // Kusto converts between strings and numbers or bools in comparisons (`ResultType == 0`).
        || matches!(
            (l, r),
            (String, DateTime | TimeSpan | Guid | Bool | Int | Long | Real | Decimal)
                | (DateTime | TimeSpan | Guid | Bool | Int | Long | Real | Decimal, String)
        )
        || (matches!((l, r), (Bool, _) | (_, Bool)) && (is_numeric(l) || is_numeric(r)))
}
