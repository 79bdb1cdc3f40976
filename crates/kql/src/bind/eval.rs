//! Evaluating bound expressions row by row (both executors run them: the row engine directly,
//! DataFusion through its UDFs).

use std::borrow::Cow;
use std::sync::Mutex;

use serde_json::Value as J;

use crate::bind::expr::{CExpr, Row, RunKind, RunState};
use crate::functions;
use crate::functions::arith::arith;
use crate::functions::terms::has_term;
use crate::syntax::ast::{BinOp, StrOp};
use crate::value::Value;
use crate::value::convert::{as_i64, compare, equals, into_plain, to_text, truth, undyn};

/// Evaluates a running value at `row`: one step from the memoized previous row when rows come
/// in order, else a fold from the last restart.
fn running(
    kind: RunKind,
    args: &[CExpr],
    restart: Option<&CExpr>,
    memo: &Mutex<Option<(usize, usize, RunState)>>,
    row: Row<'_>,
) -> Value {
    let at = |idx: usize| Row {
        rows: row.rows,
        idx,
    };
    let restarts = |idx: usize| restart.is_some_and(|r| truth(&eval(r, at(idx))) == Some(true));
    let step = |prev: Option<&RunState>, idx: usize| {
        let limits: Vec<Value> = args.iter().skip(1).map(|a| eval(a, at(idx))).collect();
        let prev = prev.filter(|_| !restarts(idx));
        kind.step(prev, undyn(&eval(&args[0], at(idx))), &limits)
    };
    let key = row.rows.as_ptr() as usize;
    let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
    let state = match memo.as_ref() {
        Some((k, i, prev)) if *k == key && i + 1 == row.idx => step(Some(prev), row.idx),
        _ => {
            let start = (1..=row.idx).rev().find(|&i| restarts(i)).unwrap_or(0);
            let mut st = step(None, start);
            for i in start + 1..=row.idx {
                st = step(Some(&st), i);
            }
            st
        }
    };
    let out = kind.output(&state);
    *memo = Some((key, row.idx, state));
    out
}

/// The values of a list, with the elements of dynamic arrays in it (at any depth) in their
/// place: `x has_any (dynamic(["a", "b"]))` and `x has_any (L)` for `let L = dynamic([...])` are
/// lists of the array's elements, as `x has_any ("a", "b")` is.
fn flatten(values: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for v in values {
        match &v {
            Value::Dynamic(d) if d.is_array() => {
                if let Some(arr) = d.as_array() {
                    out.extend(flatten(
                        arr.iter()
                            .map(|j| undyn(&Value::dynamic(j.clone())))
                            .collect(),
                    ));
                }
            }
            _ => out.push(v),
        }
    }
    out
}

fn string_op(op: StrOp, l: &Value, r: &Value) -> Option<bool> {
    let hay = to_text(l);
    if let StrOp::HasAny | StrOp::HasAll = op {
        let needles = flatten(vec![r.clone()]);
        let hay = hay.to_lowercase();
        let mut hits = needles
            .iter()
            .map(|n| has_term(&hay, &to_text(n).to_lowercase(), true, true));
        return Some(if op == StrOp::HasAny {
            hits.any(|h| h)
        } else {
            hits.all(|h| h)
        });
    }
    let needle = to_text(r);
    let fold = |cs: bool, s: &str| if cs { s.to_string() } else { s.to_lowercase() };
    Some(match op {
        StrOp::Has { cs } => has_term(&fold(cs, &hay), &fold(cs, &needle), true, true),
        StrOp::HasPrefix { cs } => has_term(&fold(cs, &hay), &fold(cs, &needle), true, false),
        StrOp::HasSuffix { cs } => has_term(&fold(cs, &hay), &fold(cs, &needle), false, true),
        StrOp::Contains { cs } => fold(cs, &hay).contains(&fold(cs, &needle)),
        StrOp::StartsWith { cs } => fold(cs, &hay).starts_with(&fold(cs, &needle)),
        StrOp::EndsWith { cs } => fold(cs, &hay).ends_with(&fold(cs, &needle)),
        StrOp::MatchesRegex => functions::regex(&needle)?.over(&hay)?.is_match(&hay),
        StrOp::HasAny | StrOp::HasAll => false,
    })
}

fn member(v: Value, key: &str) -> Value {
    let j = match &v {
        Value::Dynamic(d) => d.get(key).cloned(),
        Value::String(s) => serde_json::from_str::<J>(s)
            .ok()
            .and_then(|j| j.get(key).cloned()),
        _ => None,
    };
    match j {
        None | Some(J::Null) => Value::Null,
        Some(j) => Value::dynamic(j),
    }
}

fn index(v: Value, i: &Value) -> Value {
    let d = match &v {
        Value::Dynamic(d) => (**d).clone(),
        Value::String(s) => match serde_json::from_str::<J>(s) {
            Ok(j) => j,
            Err(_) => return Value::Null,
        },
        _ => return Value::Null,
    };
    let j = match undyn(i) {
        Value::String(k) => d.get(&*k).cloned(),
        other => match (as_i64(&other), d.as_array()) {
            (Some(n), Some(arr)) => {
                let idx = if n < 0 { arr.len() as i64 + n } else { n };
                usize::try_from(idx).ok().and_then(|i| arr.get(i).cloned())
            }
            _ => None,
        },
    };
    match j {
        None | Some(J::Null) => Value::Null,
        Some(j) => Value::dynamic(j),
    }
}

/// [`eval`], borrowing a column's value or a literal rather than copying it: the common
/// operands of comparisons, arithmetic and aggregates.
pub(crate) fn eval_ref<'r>(e: &'r CExpr, row: Row<'r>) -> Cow<'r, Value> {
    match e {
        CExpr::Lit(v) => Cow::Borrowed(v),
        CExpr::Col(i) => row
            .rows
            .get(row.idx)
            .and_then(|r| r.get(*i))
            .map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        other => Cow::Owned(eval(other, row)),
    }
}

/// Evaluates a bound expression on one row; failures yield null, as in Kusto.
pub(crate) fn eval(e: &CExpr, row: Row<'_>) -> Value {
    match e {
        CExpr::Lit(v) => v.clone(),
        CExpr::Col(i) => row
            .rows
            .get(row.idx)
            .and_then(|r| r.get(*i))
            .cloned()
            .unwrap_or(Value::Null),
        CExpr::Neg(x) => match into_plain(eval(x, row)) {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Long(i) => Value::Long(i.wrapping_neg()),
            Value::Real(r) => Value::Real(-r),
            Value::Decimal(d) => Value::Decimal(-d),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
            _ => Value::Null,
        },
        CExpr::Bin(op, l, r) => {
            let lv = eval_ref(l, row);
            match op {
                BinOp::And => {
                    if truth(&lv) == Some(false) {
                        return Value::Bool(false);
                    }
                    let rv = truth(&eval_ref(r, row));
                    return match (truth(&lv), rv) {
                        (_, Some(false)) => Value::Bool(false),
                        (Some(true), Some(true)) => Value::Bool(true),
                        _ => Value::Null,
                    };
                }
                BinOp::Or => {
                    if truth(&lv) == Some(true) {
                        return Value::Bool(true);
                    }
                    let rv = truth(&eval_ref(r, row));
                    return match (truth(&lv), rv) {
                        (_, Some(true)) => Value::Bool(true),
                        (Some(false), Some(false)) => Value::Bool(false),
                        _ => Value::Null,
                    };
                }
                _ => {}
            }
            let rv = eval_ref(r, row);
            let (lv, rv) = (&*lv, &*rv);
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                    arith(*op, lv, rv)
                }
                BinOp::Eq | BinOp::EqCi => {
                    equals(lv, rv, *op == BinOp::EqCi).map_or(Value::Null, Value::Bool)
                }
                BinOp::Ne | BinOp::NeCi => {
                    equals(lv, rv, *op == BinOp::NeCi).map_or(Value::Null, |b| Value::Bool(!b))
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    if lv.is_null() || rv.is_null() {
                        return Value::Null;
                    }
                    match compare(lv, rv) {
                        Some(o) => Value::Bool(match op {
                            BinOp::Lt => o.is_lt(),
                            BinOp::Le => o.is_le(),
                            BinOp::Gt => o.is_gt(),
                            _ => o.is_ge(),
                        }),
                        None => Value::Null,
                    }
                }
                BinOp::Str(sop, negated) => {
                    string_op(*sop, lv, rv).map_or(Value::Null, |b| Value::Bool(b != *negated))
                }
                BinOp::And | BinOp::Or => Value::Null,
            }
        }
        CExpr::In {
            expr,
            list,
            negated,
            ci,
        } => {
            let x = eval(expr, row);
            if x.is_null() {
                return Value::Bool(*negated);
            }
            let items = flatten(list.iter().map(|i| eval(i, row)).collect());
            let found = items.iter().any(|i| equals(&x, i, *ci) == Some(true));
            Value::Bool(found != *negated)
        }
        CExpr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let x = eval(expr, row);
            let lo = into_plain(eval(low, row));
            let hi = match (&lo, into_plain(eval(high, row))) {
                (Value::DateTime(l), Value::TimeSpan(s)) => Value::DateTime(l.wrapping_add(s)),
                (_, h) => h,
            };
            if x.is_null() || lo.is_null() || hi.is_null() {
                return Value::Null;
            }
            let inside = compare(&x, &lo).is_some_and(|o| o.is_ge())
                && compare(&x, &hi).is_some_and(|o| o.is_le());
            Value::Bool(inside != *negated)
        }
        CExpr::Member(t, name) => member(eval(t, row), name),
        CExpr::Index(t, i) => index(eval(t, row), &eval(i, row)),
        CExpr::Call { func, args, ty } => {
            let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
            func.eval(&vals, *ty)
        }
        CExpr::RowNumber(start) => Value::Long(row.idx as i64 + start),
        CExpr::Running {
            kind,
            args,
            restart,
            memo,
        } => running(*kind, args, restart.as_deref(), memo, row),
        CExpr::Shift { expr, by, default } => {
            let target = (row.idx as i64).saturating_add(*by);
            match usize::try_from(target).ok().filter(|t| *t < row.rows.len()) {
                Some(t) => eval(
                    expr,
                    Row {
                        rows: row.rows,
                        idx: t,
                    },
                ),
                None => eval(default, row),
            }
        }
    }
}
