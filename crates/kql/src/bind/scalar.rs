//! Scalar expressions: binding names and types against a schema, then evaluating per row.

use std::sync::{Arc, Mutex};

use serde_json::Value as J;

use crate::error::KqlError;
use crate::exec::{Binding, Engine, Env};
use crate::functions;
use crate::functions::aggregate::{self, AggState};
use crate::syntax::ast::{BinOp, Expr, ExprKind, LetValue, Statement, StrOp};
use crate::value::convert::{as_f64, as_i64, coerce, compare, equals, is_numeric, to_text, undyn};
use crate::value::table::Column;
use crate::value::{ScalarType, Value};

/// The functions the binder resolves itself (the first `match` of `compile_call`), besides the
/// built-in scalar functions (`functions::NAMES`) and the aggregates (`aggregate::NAMES`).
pub(crate) const BINDER_FUNCTIONS: [&str; 18] = [
    "ago",
    "assert",
    "bag_pack_columns",
    "bin_auto",
    "column_ifexists",
    "column_names_of",
    "ingestion_time",
    "materialize",
    "next",
    "now",
    "pack_all",
    "prev",
    "row_cumsum",
    "row_number",
    "row_rank_dense",
    "row_rank_min",
    "row_window_session",
    "toscalar",
];

/// A bound scalar expression: names resolved to column positions or constants.
#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    Lit(Value),
    Col(usize),
    Neg(Box<CExpr>),
    Bin(BinOp, Box<CExpr>, Box<CExpr>),
    In {
        expr: Box<CExpr>,
        list: Vec<CExpr>,
        negated: bool,
        ci: bool,
    },
    Between {
        expr: Box<CExpr>,
        low: Box<CExpr>,
        high: Box<CExpr>,
        negated: bool,
    },
    Member(Box<CExpr>, String),
    Index(Box<CExpr>, Box<CExpr>),
    Call {
        name: String,
        args: Vec<CExpr>,
        ty: ScalarType,
    },
    /// `row_number(start)`.
    RowNumber(i64),
    /// `prev(expr, n)` (negative n) and `next(expr, n)`.
    Shift {
        expr: Box<CExpr>,
        by: i64,
        default: Box<CExpr>,
    },
    /// A value that runs over the serialized rows (`row_cumsum`, `row_rank_*`,
    /// `row_window_session`), starting afresh where `restart` is true.
    Running {
        kind: RunKind,
        args: Vec<CExpr>,
        restart: Option<Box<CExpr>>,
        /// The state after the last row evaluated (rows' address, row index), so rows evaluated
        /// in order cost one step each.
        memo: Arc<Mutex<Option<(usize, usize, RunState)>>>,
    },
}

impl CExpr {
    /// Whether `pick` holds for this expression or any expression inside it.
    pub(crate) fn any(&self, pick: &dyn Fn(&CExpr) -> bool) -> bool {
        pick(self)
            || match self {
                CExpr::Lit(_) | CExpr::Col(_) | CExpr::RowNumber(_) => false,
                CExpr::Neg(x) | CExpr::Member(x, _) => x.any(pick),
                CExpr::Bin(_, l, r) | CExpr::Index(l, r) => l.any(pick) || r.any(pick),
                CExpr::Call { args, .. } => args.iter().any(|a| a.any(pick)),
                CExpr::In { expr, list, .. } => expr.any(pick) || list.iter().any(|a| a.any(pick)),
                CExpr::Between {
                    expr, low, high, ..
                } => expr.any(pick) || low.any(pick) || high.any(pick),
                CExpr::Shift { expr, default, .. } => expr.any(pick) || default.any(pick),
                CExpr::Running { args, restart, .. } => {
                    args.iter().any(|a| a.any(pick))
                        || restart.as_ref().is_some_and(|r| r.any(pick))
                }
            }
    }
}

/// One result of the bag a call of several results evaluates to, as its column type.
pub(crate) fn tuple_result(bag: CExpr, result: &str, ty: ScalarType) -> CExpr {
    let member = CExpr::Member(Box::new(bag), result.to_string());
    let conversion = match ty {
        ScalarType::Real => "todouble",
        ScalarType::Long => "tolong",
        _ => return member,
    };
    CExpr::Call {
        name: conversion.into(),
        args: vec![member],
        ty,
    }
}

/// Which running value a `CExpr::Running` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunKind {
    CumSum,
    RankDense,
    RankMin,
    Session,
}

/// The running state after one row of a `CExpr::Running`.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    /// The running sum, or the session's first value.
    acc: Value,
    last: Value,
    rank: i64,
    /// Rows since the last restart, this one included.
    seen: i64,
}

impl RunKind {
    /// The state after a row with value `v` (and the session limits in `limits`).
    fn step(self, prev: Option<&RunState>, v: Value, limits: &[Value]) -> RunState {
        let seen = prev.map_or(1, |p| p.seen + 1);
        let same = prev.is_some_and(|p| equals(&p.last, &v, false) == Some(true));
        let (acc, rank) = match (self, prev) {
            (RunKind::CumSum, Some(p)) if !v.is_null() => {
                (arith(BinOp::Add, p.acc.clone(), v.clone()), 0)
            }
            (RunKind::CumSum, Some(p)) => (p.acc.clone(), 0),
            (RunKind::RankDense, Some(p)) => (Value::Null, p.rank + i64::from(!same)),
            (RunKind::RankMin, Some(p)) => (Value::Null, if same { p.rank } else { seen }),
            (RunKind::Session, Some(p)) => {
                let beyond = |from: &Value, limit: Option<&Value>| {
                    limit.is_some_and(|l| {
                        compare(&arith(BinOp::Sub, v.clone(), from.clone()), l)
                            .is_some_and(|o| o.is_gt())
                    })
                };
                if beyond(&p.acc, limits.first()) || beyond(&p.last, limits.get(1)) {
                    (v.clone(), 0)
                } else {
                    (p.acc.clone(), 0)
                }
            }
            (_, None) => (v.clone(), 1),
        };
        RunState {
            acc,
            last: v,
            rank,
            seen,
        }
    }

    fn output(self, st: &RunState) -> Value {
        match self {
            RunKind::CumSum | RunKind::Session => st.acc.clone(),
            RunKind::RankDense | RunKind::RankMin => Value::Long(st.rank),
        }
    }
}

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

/// An aggregate found while binding a `summarize` expression.
#[derive(Debug, Clone)]
pub(crate) struct AggSpec {
    pub name: String,
    pub args: Vec<CExpr>,
    pub ty: ScalarType,
    /// Columns `arg_max`/`arg_min`/`take_any` return (their expressions and names).
    pub row: Vec<(CExpr, Column)>,
    pub percents: Vec<f64>,
}

impl AggSpec {
    pub(crate) fn state(&self) -> AggState {
        AggState::new(&self.name)
    }
}

/// Collects aggregates while a `summarize` expression is bound.
pub(crate) struct AggCollector {
    pub input: Vec<Column>,
    pub specs: Vec<AggSpec>,
    pub keys: usize,
    /// Names of the `by` columns (excluded from `arg_max(x, *)`).
    pub key_names: Vec<String>,
}

/// A row being evaluated, with its neighbours for `prev`/`next`/`row_number`.
#[derive(Clone, Copy)]
pub(crate) struct Row<'r> {
    pub rows: &'r [Vec<Value>],
    pub idx: usize,
}

impl Row<'_> {
    pub(crate) const EMPTY: Row<'static> = Row { rows: &[], idx: 0 };
}

/// The argument for the parameter `name` of a user function: one passed by name (`f(len=3)`),
/// else the next positional one.
pub(crate) fn argument_for<'e>(args: &'e [Expr], name: &str, next: &mut usize) -> Option<&'e Expr> {
    let named = args.iter().find_map(|a| match &a.kind {
        ExprKind::Named { name: n, value } if n == name => Some(&**value),
        _ => None,
    });
    named.or_else(|| {
        let positional = args
            .iter()
            .filter(|a| !matches!(a.kind, ExprKind::Named { .. }))
            .nth(*next);
        *next += 1;
        positional
    })
}

/// The column name an expression gets when the query does not name it (`a.b` → `a_b`).
pub(crate) fn derive_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.clone()),
        ExprKind::Member { target, name } => Some(format!("{}_{}", derive_name(target)?, name)),
        ExprKind::Index { target, index } => {
            let idx = match &index.kind {
                ExprKind::Literal(Value::String(s)) => s.to_string(),
                ExprKind::Literal(v) => v.to_string(),
                _ => return None,
            };
            Some(format!("{}_{}", derive_name(target)?, idx))
        }
        ExprKind::Call { name, args } => call_result_name(name, args),
        // `bin(Minute=Timestamp, 5m)` is named after the argument's name.
        ExprKind::Named { name, .. } => Some(name.clone()),
        _ => None,
    }
}

/// The column name Kusto gives an unnamed call, after Kusto.Language's `ResultNameKind` of the
/// function: most calls get `ColumnN`, conversions, rounding and math take their first
/// argument's name (`bin(TimeGenerated, 1h)` → `TimeGenerated`), a few prefix it.
fn call_result_name(name: &str, args: &[Expr]) -> Option<String> {
    let first = || args.first().and_then(derive_name);
    // A prefixed name keeps its `_` when the argument has no name (`strlen("a")` → `strlen_`).
    let prefixed = |prefix: &str| Some(format!("{prefix}_{}", first().unwrap_or_default()));
    match name {
        "tostring"
        | "tohex"
        | "todynamic"
        | "toobject"
        | "tolong"
        | "toint"
        | "toreal"
        | "todouble"
        | "todatetime"
        | "totimespan"
        | "totime"
        | "tobool"
        | "toboolean"
        | "todecimal"
        | "toguid"
        | "split"
        | "parse_csv"
        | "parsejson"
        | "parse_json"
        | "parse_xml"
        | "format_datetime"
        | "format_timespan"
        | "format_bytes"
        | "startofday"
        | "bin"
        | "floor"
        | "bin_at"
        | "bin_auto"
        | "binary_and"
        | "binary_or"
        | "binary_xor"
        | "binary_not"
        | "binary_shift_right"
        | "binary_shift_left"
        | "bitset_count_ones"
        | "series_fir"
        | "series_iir"
        | "series_outliers"
        | "series_fill_backward"
        | "series_fill_forward"
        | "series_fill_const"
        | "series_fill_linear"
        | "round"
        | "ceiling"
        | "pow"
        | "sqrt"
        | "log"
        | "log2"
        | "log10"
        | "exp"
        | "exp2"
        | "exp10"
        | "cos"
        | "sin"
        | "tan"
        | "acos"
        | "asin"
        | "atan"
        | "atan2"
        | "abs"
        | "rand"
        | "gamma"
        | "loggamma"
        | "erf"
        | "erfc" => first(),
        "make_datetime" | "make_timespan" if args.len() == 1 => first(),
        "strlen" | "string_size" | "dcount_hll" | "percentile_tdigest" => prefixed(name),
        "percentiles_array_tdigest" => prefixed("percentile_tdigest"),
        "gettype" => prefixed("type"),
        "treepath" => prefixed("tree"),
        "repeat" => prefixed("repeat"),
        "tdigest_merge" | "merge_tdigest" => Some("tdigests_merge_result".into()),
        "hll_merge" => Some("hll_merged_result".into()),
        // An aggregate inside an expression (`tostring(make_set(x))`) is named as a bare one.
        _ if aggregate::is_aggregate_call(name, args.len()) => {
            Some(aggregate::default_name(name, args))
        }
        _ => None,
    }
}

fn op_name(op: BinOp) -> &'static str {
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

fn comparable(l: ScalarType, r: ScalarType) -> bool {
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

impl<'a> Engine<'a> {
    /// Binds a scalar expression against `schema` (the columns of the input rows).
    pub(crate) fn compile(
        &mut self,
        e: &'a Expr,
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<(CExpr, ScalarType), KqlError> {
        self.check()?;
        use ScalarType as T;
        Ok(match &e.kind {
            ExprKind::Literal(v) => (CExpr::Lit(v.clone()), v.scalar_type().unwrap_or(T::Dynamic)),
            ExprKind::TypeOf(t) | ExprKind::NullOf(t) => (CExpr::Lit(Value::Null), *t),
            ExprKind::Name(n) => {
                if let Some(i) = schema.iter().position(|c| c.name == *n) {
                    return Ok((CExpr::Col(i), schema[i].ty));
                }
                match env.get(n) {
                    Some(Binding::Scalar(v, t)) => (CExpr::Lit(v.clone()), *t),
                    Some(Binding::Expr(c, t)) => (c.clone(), *t),
                    Some(Binding::Table(t)) => (CExpr::Lit(first_column_array(t)), T::Dynamic),
                    Some(Binding::Function(_)) => {
                        return Err(self.resolution(
                            e,
                            &format!("Function '{n}' must be called with parentheses: {n}()"),
                        ));
                    }
                    None => match self.catalog_rows(n) {
                        Some(t) => (CExpr::Lit(first_column_array(t)), T::Dynamic),
                        None => {
                            return Err(self.resolution(
                                e,
                                &format!("Failed to resolve scalar expression named '{n}'"),
                            ));
                        }
                    },
                }
            }
            ExprKind::Star => return Err(self.unsupported(e, "'*' in this position")),
            ExprKind::Wildcard(w) => {
                return Err(self.resolution(
                    e,
                    &format!("Failed to resolve scalar expression named '{w}'"),
                ));
            }
            ExprKind::Member { target, name } => {
                let (t, _) = self.compile(target, schema, env)?;
                (CExpr::Member(Box::new(t), name.clone()), T::Dynamic)
            }
            ExprKind::Index { target, index } => {
                let (t, _) = self.compile(target, schema, env)?;
                let (i, _) = self.compile(index, schema, env)?;
                (CExpr::Index(Box::new(t), Box::new(i)), T::Dynamic)
            }
            // A built-in function's argument given by name (`case(c, strcat="x", …)`) is its
            // value, as Kusto takes it; user functions match names before this (argument_for).
            ExprKind::Named { value, .. } => return self.compile(value, schema, env),
            ExprKind::Neg(inner) => {
                let (c, t) = self.compile(inner, schema, env)?;
                (CExpr::Neg(Box::new(c)), t)
            }
            ExprKind::Binary { op, left, right } => {
                let (l, lt) = self.compile(left, schema, env)?;
                let (r, rt) = self.compile(right, schema, env)?;
                let ty = match op {
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                        arith_type(*op, lt, rt).ok_or_else(|| {
                            self.type_error(
                                e,
                                &format!(
                                    "cannot {} a value of type {lt} and a value of type {rt}",
                                    op_name(*op)
                                ),
                            )
                        })?
                    }
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        if !comparable(lt, rt) {
                            return Err(self.type_error(
                                e,
                                &format!(
                                    "cannot compare a value of type {lt} with a value of type {rt}"
                                ),
                            ));
                        }
                        T::Bool
                    }
                    _ => T::Bool,
                };
                (CExpr::Bin(*op, Box::new(l), Box::new(r)), ty)
            }
            ExprKind::In {
                expr,
                list,
                negated,
                ci,
            } => {
                let (x, _) = self.compile(expr, schema, env)?;
                let mut items = Vec::new();
                for item in list {
                    items.push(self.compile(item, schema, env)?.0);
                }
                (
                    CExpr::In {
                        expr: Box::new(x),
                        list: items,
                        negated: *negated,
                        ci: *ci,
                    },
                    T::Bool,
                )
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (x, _) = self.compile(expr, schema, env)?;
                let (l, _) = self.compile(low, schema, env)?;
                let (h, _) = self.compile(high, schema, env)?;
                (
                    CExpr::Between {
                        expr: Box::new(x),
                        low: Box::new(l),
                        high: Box::new(h),
                        negated: *negated,
                    },
                    T::Bool,
                )
            }
            ExprKind::Call { name, args } => return self.compile_call(e, name, args, schema, env),
            ExprKind::Pipe { .. }
            | ExprKind::Datatable { .. }
            | ExprKind::Print(_)
            | ExprKind::Range { .. }
            | ExprKind::Union(_)
            | ExprKind::Search(_)
            | ExprKind::Find(_)
            | ExprKind::ExternalData
            | ExprKind::OtherSource(_) => {
                let t = self.tabular(e, env)?;
                (CExpr::Lit(first_column_array(&t)), T::Dynamic)
            }
        })
    }

    fn compile_call(
        &mut self,
        e: &'a Expr,
        name: &str,
        args: &'a [Expr],
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<(CExpr, ScalarType), KqlError> {
        use ScalarType as T;
        if aggregate::is_aggregate_call(name, args.len()) {
            let Some(mut collector) = self.agg.take() else {
                return Err(self.resolution(
                    e,
                    &format!("The aggregation function '{name}' can only be used in summarize"),
                ));
            };
            let result = self.compile_aggregate(e, name, args, &mut collector, env);
            let slot = collector.keys + collector.specs.len();
            match result {
                Ok(spec) => {
                    let ty = spec.ty;
                    collector.specs.push(spec);
                    self.agg = Some(collector);
                    return Ok((CExpr::Col(slot), ty));
                }
                Err(err) => {
                    self.agg = Some(collector);
                    return Err(err);
                }
            }
        }
        match name {
            "now" => return Ok((CExpr::Lit(Value::DateTime(self.opts.now)), T::DateTime)),
            // Local tables carry no ingestion time; TimeGenerated is the closest stand-in.
            "ingestion_time" => {
                return Ok(
                    match schema.iter().position(|c| c.name == "TimeGenerated") {
                        Some(i) => (CExpr::Col(i), schema[i].ty),
                        None => (CExpr::Lit(Value::Null), T::DateTime),
                    },
                );
            }
            "ago" => {
                let (span, _) = self.compile_arg(e, args, 0, schema, env)?;
                let now = Box::new(CExpr::Lit(Value::DateTime(self.opts.now)));
                return Ok((CExpr::Bin(BinOp::Sub, now, Box::new(span)), T::DateTime));
            }
            "toscalar" => {
                let inner = args
                    .first()
                    .ok_or_else(|| self.type_error(e, "toscalar() needs a tabular argument"))?;
                if !self.is_tabular(inner, env) {
                    return self.compile(inner, schema, env);
                }
                let t = self.tabular(inner, env)?;
                let v = t
                    .rows
                    .first()
                    .and_then(|r| r.first())
                    .cloned()
                    .unwrap_or(Value::Null);
                let ty = t.columns.first().map_or(T::Dynamic, |c| c.ty);
                return Ok((CExpr::Lit(v), ty));
            }
            "materialize" => return self.compile_arg(e, args, 0, schema, env),
            // bin_auto(x): bin_at(x, size, at) with the query's `query_bin_auto_size` and
            // `query_bin_auto_at` options (at defaults to zero of x's type).
            "bin_auto" => {
                let (x, ty) = self.compile_arg(e, args, 0, schema, env)?;
                let option = |name: &str| match env.get(&format!("set:{name}")) {
                    Some(Binding::Scalar(v, _)) => Some(v.clone()),
                    _ => None,
                };
                let size = option("query_bin_auto_size").ok_or_else(|| {
                    self.type_error(e, "bin_auto() needs 'set query_bin_auto_size = ...;'")
                })?;
                let call = match option("query_bin_auto_at") {
                    Some(at) => CExpr::Call {
                        name: "bin_at".into(),
                        args: vec![x, CExpr::Lit(size), CExpr::Lit(at)],
                        ty,
                    },
                    None => CExpr::Call {
                        name: "bin".into(),
                        args: vec![x, CExpr::Lit(size)],
                        ty,
                    },
                };
                return Ok((call, ty));
            }
            // assert(condition, message): checked while the query is analysed, so the condition
            // must be constant; a false one fails the query with the message.
            "assert" => {
                let cond = args
                    .first()
                    .ok_or_else(|| self.type_error(e, "assert() needs a condition"))?;
                let message = match args.get(1) {
                    Some(m) => to_text(&self.constant(m, env)?),
                    None => String::new(),
                };
                return match truth(&self.constant(cond, env)?) {
                    Some(true) => Ok((CExpr::Lit(Value::Bool(true)), T::Bool)),
                    _ => Err(KqlError::Runtime {
                        message: format!("assertion failed: {message}"),
                    }),
                };
            }
            // column_names_of(T): the names of a table's columns.
            "column_names_of" => {
                let table = args
                    .first()
                    .filter(|a| self.is_tabular(a, env))
                    .ok_or_else(|| self.type_error(e, "column_names_of() needs a table"))?;
                let t = self.tabular(table, env)?;
                let names = t
                    .columns
                    .iter()
                    .map(|c| J::String(c.name.clone()))
                    .collect();
                return Ok((CExpr::Lit(Value::dynamic(J::Array(names))), T::Dynamic));
            }
            // `pack_all()` and `bag_pack_columns(a, b)`: a bag of the row's columns by name.
            // `pack_all(true)` leaves out null and empty columns.
            "pack_all" | "bag_pack_columns" => {
                let nonempty = match (name, args.first()) {
                    ("pack_all", Some(a)) => truth(&self.constant(a, env)?) == Some(true),
                    _ => false,
                };
                let mut packed = Vec::new();
                if name == "pack_all" {
                    for (i, c) in schema.iter().enumerate() {
                        packed.push(CExpr::Lit(Value::str(&c.name)));
                        packed.push(CExpr::Col(i));
                    }
                } else {
                    for a in args {
                        let label = derive_name(a).ok_or_else(|| {
                            self.type_error(a, "bag_pack_columns takes column names")
                        })?;
                        packed.push(CExpr::Lit(Value::str(label)));
                        packed.push(self.compile(a, schema, env)?.0);
                    }
                }
                let call = CExpr::Call {
                    name: if nonempty { "pack:nonempty" } else { "pack" }.into(),
                    args: packed,
                    ty: T::Dynamic,
                };
                return Ok((call, T::Dynamic));
            }
            "row_number" => {
                let start = match args.first() {
                    Some(a) => as_i64(&self.constant(a, env)?).unwrap_or(1),
                    None => 1,
                };
                return Ok((CExpr::RowNumber(start), T::Long));
            }
            "row_cumsum" | "row_rank_dense" | "row_rank_min" | "row_window_session" => {
                let (kind, arity) = match name {
                    "row_cumsum" => (RunKind::CumSum, 1),
                    "row_rank_dense" => (RunKind::RankDense, 1),
                    "row_rank_min" => (RunKind::RankMin, 1),
                    _ => (RunKind::Session, 3),
                };
                let mut compiled = Vec::new();
                let mut ty = T::Long;
                for i in 0..arity {
                    let (c, t) = self.compile_arg(e, args, i, schema, env)?;
                    if i == 0 {
                        ty = t;
                    }
                    compiled.push(c);
                }
                let restart = match args.get(arity) {
                    Some(a) => Some(Box::new(self.compile(a, schema, env)?.0)),
                    None => None,
                };
                if matches!(kind, RunKind::RankDense | RunKind::RankMin) {
                    ty = T::Long;
                }
                let run = CExpr::Running {
                    kind,
                    args: compiled,
                    restart,
                    memo: Arc::default(),
                };
                return Ok((run, ty));
            }
            "prev" | "next" => {
                let (x, ty) = self.compile_arg(e, args, 0, schema, env)?;
                let n = match args.get(1) {
                    Some(a) => as_i64(&self.constant(a, env)?).unwrap_or(1),
                    None => 1,
                };
                let default = match args.get(2) {
                    Some(a) => self.compile(a, schema, env)?.0,
                    None => CExpr::Lit(Value::Null),
                };
                let by = if name == "prev" {
                    n.saturating_neg()
                } else {
                    n
                };
                return Ok((
                    CExpr::Shift {
                        expr: Box::new(x),
                        by,
                        default: Box::new(default),
                    },
                    ty,
                ));
            }
            "column_ifexists" => {
                if let Some(Expr {
                    kind: ExprKind::Literal(Value::String(col)),
                    ..
                }) = args.first()
                    && let Some(i) = schema.iter().position(|c| c.name == **col)
                {
                    return Ok((CExpr::Col(i), schema[i].ty));
                }
                return self.compile_arg(e, args, 1, schema, env);
            }
            _ => {}
        }
        if let Some(Binding::Function(f)) = env.get(name) {
            return self.inline_function(e, f, args, schema, env);
        }
        if let Some(tuple) = functions::tuple(name) {
            // Outside `extend`/`project`, a call of several results is its first result.
            let bag = self.compile_tuple(e, tuple, args, schema, env)?;
            let (first, ty) = tuple.results[0];
            return Ok((tuple_result(bag, first, ty), ty));
        }
        if functions::return_type(name, &[]).is_none() {
            return Err(if functions::is_known_unsupported(name) {
                self.unsupported(e, &format!("The function '{name}()'"))
            } else {
                self.resolution(
                    e,
                    &format!("Failed to resolve scalar expression named '{name}'"),
                )
            });
        }
        let mut compiled = Vec::new();
        let mut types = Vec::new();
        for a in args {
            let (c, t) = self.compile(a, schema, env)?;
            compiled.push(c);
            types.push(t);
        }
        match functions::return_type(name, &types) {
            Some(ty) => Ok((
                CExpr::Call {
                    name: name.to_string(),
                    args: compiled,
                    ty,
                },
                ty,
            )),
            None if functions::is_known_unsupported(name) => {
                Err(self.unsupported(e, &format!("The function '{name}()'")))
            }
            None => Err(self.resolution(
                e,
                &format!("Failed to resolve scalar expression named '{name}'"),
            )),
        }
    }

    /// A call of several results (`series_fit_line(y)`) as the bag of all of them, its
    /// arguments checked against the function's parameters.
    pub(crate) fn compile_tuple(
        &mut self,
        e: &'a Expr,
        tuple: &functions::Tuple,
        args: &'a [Expr],
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<CExpr, KqlError> {
        let count = if tuple.required == tuple.params.len() {
            format!("{}", tuple.required)
        } else {
            format!("{} to {}", tuple.required, tuple.params.len())
        };
        if args.len() < tuple.required || args.len() > tuple.params.len() {
            return Err(self.type_error(
                e,
                &format!(
                    "{} takes {count} argument(s): ({}), not {}",
                    tuple.name,
                    tuple.params.join(", "),
                    args.len()
                ),
            ));
        }
        let mut compiled = Vec::with_capacity(args.len());
        for (a, param) in args.iter().zip(tuple.params) {
            let (c, ty) = self.compile(a, schema, env)?;
            if *param == "series" && ty != ScalarType::Dynamic {
                return Err(self.type_error(
                    a,
                    &format!("{}'s series must be a dynamic array, not {ty}", tuple.name),
                ));
            }
            compiled.push(c);
        }
        Ok(CExpr::Call {
            name: tuple.name.to_string(),
            args: compiled,
            ty: ScalarType::Dynamic,
        })
    }

    fn compile_arg(
        &mut self,
        e: &'a Expr,
        args: &'a [Expr],
        i: usize,
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<(CExpr, ScalarType), KqlError> {
        match args.get(i) {
            Some(a) => self.compile(a, schema, env),
            None => Err(self.type_error(
                e,
                &format!("this function needs at least {} argument(s)", i + 1),
            )),
        }
    }

    /// Evaluates a row-independent expression.
    pub(crate) fn constant(&mut self, e: &'a Expr, env: &Env<'a>) -> Result<Value, KqlError> {
        let (c, ty) = self.compile(e, &[], env)?;
        Ok(coerce(eval(&c, Row::EMPTY), ty))
    }

    fn inline_function(
        &mut self,
        e: &'a Expr,
        f: &'a crate::syntax::ast::Function,
        args: &'a [Expr],
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<(CExpr, ScalarType), KqlError> {
        self.enter_call(e)?;
        let r = self.inline_function_body(e, f, args, schema, env);
        self.calls -= 1;
        r
    }

    fn inline_function_body(
        &mut self,
        e: &'a Expr,
        f: &'a crate::syntax::ast::Function,
        args: &'a [Expr],
        schema: &[Column],
        env: &Env<'a>,
    ) -> Result<(CExpr, ScalarType), KqlError> {
        let mut inner = env.clone();
        let mut next = 0;
        for p in &f.params {
            let bound = match (argument_for(args, &p.name, &mut next), &p.default) {
                (Some(a), _) => self.compile(a, schema, env)?,
                (None, Some(d)) => self.compile(d, &[], env)?,
                (None, None) => {
                    return Err(self.type_error(
                        e,
                        &format!("the function is missing a value for parameter '{}'", p.name),
                    ));
                }
            };
            let ty = p.ty.unwrap_or(bound.1);
            inner.push(p.name.clone(), Binding::Expr(bound.0, ty));
        }
        let mut result = None;
        for st in &f.body {
            match st {
                Statement::Let {
                    name,
                    value: LetValue::Expr(x),
                    ..
                } => {
                    if self.is_tabular(x, &inner) {
                        let t = self.tabular(x, &inner)?;
                        inner.push(name.clone(), Binding::Table(Arc::new(t)));
                    } else {
                        let (c, t) = self.compile(x, schema, &inner)?;
                        inner.push(name.clone(), Binding::Expr(c, t));
                    }
                }
                Statement::Let {
                    name,
                    value: LetValue::Function(g),
                    ..
                } => inner.push(name.clone(), Binding::Function(g)),
                Statement::Query(x) => result = Some(self.compile(x, schema, &inner)?),
                Statement::Set { .. } | Statement::Declare { .. } => {}
            }
        }
        result.ok_or_else(|| self.type_error(e, "the function body has no result expression"))
    }

    fn compile_aggregate(
        &mut self,
        e: &'a Expr,
        name: &str,
        args: &'a [Expr],
        collector: &mut AggCollector,
        env: &Env<'a>,
    ) -> Result<AggSpec, KqlError> {
        let input = collector.input.clone();
        let name = aggregate::canonical(name);
        let mut spec = AggSpec {
            name: name.to_string(),
            args: Vec::new(),
            ty: ScalarType::Long,
            row: Vec::new(),
            percents: Vec::new(),
        };
        let mut types = Vec::new();
        match name {
            "percentile" | "percentiles" | "percentiles_array" | "percentilew" | "percentilesw"
            | "percentilesw_array" => {
                let (c, t) = self.compile_arg(e, args, 0, &input, env)?;
                spec.args.push(c);
                types.push(t);
                let weighted = aggregate::is_weighted(name);
                if weighted {
                    spec.args.push(self.compile_arg(e, args, 1, &input, env)?.0);
                }
                // Percentages come one by one or, for the `_array` forms, as a dynamic array.
                for p in args.iter().skip(1 + usize::from(weighted)) {
                    match self.constant(p, env)? {
                        Value::Dynamic(d) if d.is_array() => spec.percents.extend(
                            d.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(serde_json::Value::as_f64),
                        ),
                        v => spec.percents.push(as_f64(&v).unwrap_or(50.0)),
                    }
                }
            }
            "arg_max" | "arg_min" | "take_any" | "any"
                if name.starts_with("arg_")
                    || args.len() != 1
                    || matches!(args.first().map(|a| &a.kind), Some(ExprKind::Star)) =>
            {
                let mut cols = args.iter();
                if name.starts_with("arg_") {
                    let first = cols.next().ok_or_else(|| {
                        self.type_error(e, "arg_max/arg_min need an expression to maximize")
                    })?;
                    let (c, t) = self.compile(first, &input, env)?;
                    spec.args.push(c.clone());
                    types.push(t);
                    let n = derive_name(first).unwrap_or_else(|| format!("{}_", &name[4..]));
                    spec.row.push((c, Column::new(n, t)));
                }
                for a in cols {
                    if matches!(a.kind, ExprKind::Star) {
                        for (i, col) in input.iter().enumerate() {
                            if !spec.row.iter().any(|(_, c)| c.name == col.name)
                                && !collector.key_names.contains(&col.name)
                            {
                                spec.row.push((CExpr::Col(i), col.clone()));
                            }
                        }
                    } else {
                        let (c, t) = self.compile(a, &input, env)?;
                        let n = derive_name(a)
                            .unwrap_or_else(|| format!("Column{}", spec.row.len() + 1));
                        if spec.args.is_empty() {
                            spec.args.push(c.clone());
                        }
                        spec.row.push((c, Column::new(n, t)));
                    }
                }
                if spec.args.is_empty() {
                    spec.args.push(CExpr::Lit(Value::Bool(true)));
                }
            }
            _ => {
                for a in args {
                    if matches!(a.kind, ExprKind::Star) {
                        continue;
                    }
                    let (c, t) = self.compile(a, &input, env)?;
                    spec.args.push(c);
                    types.push(t);
                }
            }
        }
        spec.ty = aggregate::result_type(name, &types);
        Ok(spec)
    }
}

/// The first column of a table as a dynamic array (for `in (T)` and `has_any (T)`).
fn first_column_array(t: &crate::value::table::Table) -> Value {
    Value::dynamic(J::Array(
        t.rows
            .iter()
            .map(|r| r.first().map_or(J::Null, crate::value::convert::dyn_json))
            .collect(),
    ))
}

pub(crate) fn arith(op: BinOp, a: Value, b: Value) -> Value {
    use Value::*;
    let (a, b) = (undyn(&a), undyn(&b));
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
            (Some(x), Some(y)) => Real(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x.rem_euclid(y),
            }),
            _ => Null,
        },
    }
}

fn int_op(op: BinOp, x: i64, y: i64) -> Option<i64> {
    match op {
        BinOp::Add => Some(x.wrapping_add(y)),
        BinOp::Sub => Some(x.wrapping_sub(y)),
        BinOp::Mul => Some(x.wrapping_mul(y)),
        BinOp::Div => x.checked_div(y),
        _ => x.checked_rem_euclid(y),
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Kusto's `has` family: `needle` must sit on term boundaries (start, end or both).
pub(crate) fn has_term(hay: &str, needle: &str, start: bool, end: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    let first_term = needle.chars().next().is_some_and(is_term_char);
    let last_term = needle.chars().last().is_some_and(is_term_char);
    hay.match_indices(needle).any(|(i, m)| {
        let before_ok = !start
            || !first_term
            || hay[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !is_term_char(c));
        let after_ok = !end
            || !last_term
            || hay[i + m.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_term_char(c));
        before_ok && after_ok
    })
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

fn truth(v: &Value) -> Option<bool> {
    match undyn(v) {
        Value::Bool(b) => Some(b),
        _ => None,
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
        CExpr::Neg(x) => match undyn(&eval(x, row)) {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Long(i) => Value::Long(i.wrapping_neg()),
            Value::Real(r) => Value::Real(-r),
            Value::Decimal(r) => Value::Decimal(-r),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
            _ => Value::Null,
        },
        CExpr::Bin(op, l, r) => {
            let lv = eval(l, row);
            match op {
                BinOp::And => {
                    if truth(&lv) == Some(false) {
                        return Value::Bool(false);
                    }
                    let rv = truth(&eval(r, row));
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
                    let rv = truth(&eval(r, row));
                    return match (truth(&lv), rv) {
                        (_, Some(true)) => Value::Bool(true),
                        (Some(false), Some(false)) => Value::Bool(false),
                        _ => Value::Null,
                    };
                }
                _ => {}
            }
            let rv = eval(r, row);
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                    arith(*op, lv, rv)
                }
                BinOp::Eq | BinOp::EqCi => {
                    equals(&lv, &rv, *op == BinOp::EqCi).map_or(Value::Null, Value::Bool)
                }
                BinOp::Ne | BinOp::NeCi => {
                    equals(&lv, &rv, *op == BinOp::NeCi).map_or(Value::Null, |b| Value::Bool(!b))
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    if lv.is_null() || rv.is_null() {
                        return Value::Null;
                    }
                    match compare(&lv, &rv) {
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
                    string_op(*sop, &lv, &rv).map_or(Value::Null, |b| Value::Bool(b != *negated))
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
            let lo = undyn(&eval(low, row));
            let hi = match (&lo, undyn(&eval(high, row))) {
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
        CExpr::Call { name, args, ty } => {
            let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
            functions::call(name, &vals, *ty)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_whole_terms_only() {
        assert!(has_term("powershell -enc abc", "-enc", true, true));
        assert!(has_term("user logged on", "logged", true, true));
        assert!(!has_term("userloggedon", "logged", true, true));
        assert!(has_term("c:\\windows\\system32", "system32", true, true));
        assert!(has_term("hello world", "wor", true, false));
        assert!(!has_term("hello world", "orld", true, false));
    }

    #[test]
    fn integer_division_truncates_and_divide_by_zero_is_null() {
        assert_eq!(
            arith(BinOp::Div, Value::Long(7), Value::Long(2)),
            Value::Long(3)
        );
        assert_eq!(
            arith(BinOp::Div, Value::Long(7), Value::Long(0)),
            Value::Null
        );
        assert_eq!(
            arith(BinOp::Div, Value::Real(7.0), Value::Long(2)),
            Value::Real(3.5)
        );
    }
}
