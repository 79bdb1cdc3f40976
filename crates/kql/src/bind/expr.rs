//! Bound expressions: what the binder makes of a scalar expression, with names resolved to
//! column positions or constants and every node typed.

use std::sync::{Arc, Mutex};

use crate::functions::Function;
use crate::functions::aggregate::{AggState, Method};
use crate::functions::arith::arith;
use crate::syntax::ast::BinOp;
use crate::value::convert::{compare, equals};
use crate::value::table::Column;
use crate::value::{ScalarType, Value};

/// The functions the binder resolves itself (the first `match` of `compile_call`), besides the
/// built-in scalar functions (`functions::registry`) and the aggregates (`aggregate::AGGREGATES`).
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
    /// A built-in scalar function, resolved once by the binder.
    Call {
        func: &'static Function,
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
    /// Whether its value depends on neighbouring rows (`row_number`, `prev`, `next`, the
    /// running functions), not on its own row alone.
    pub(crate) fn reads_other_rows(&self) -> bool {
        self.any(&|e| {
            matches!(
                e,
                CExpr::RowNumber(_) | CExpr::Shift { .. } | CExpr::Running { .. }
            )
        })
    }

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
        func: crate::functions::function(conversion),
        args: vec![member],
        ty,
    }
}

/// Which running value a `CExpr::Running` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunKind {
    /// `row_number(start, restart)`: `start` plus the rows since the last restart.
    RowNumber,
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
    pub(crate) fn step(self, prev: Option<&RunState>, v: Value, limits: &[Value]) -> RunState {
        let seen = prev.map_or(1, |p| p.seen + 1);
        let same = prev.is_some_and(|p| equals(&p.last, &v, false) == Some(true));
        let (acc, rank) = match (self, prev) {
            (RunKind::CumSum, Some(p)) if !v.is_null() => (arith(BinOp::Add, &p.acc, &v), 0),
            (RunKind::CumSum | RunKind::RowNumber, Some(p)) => (p.acc.clone(), 0),
            (RunKind::RankDense, Some(p)) => (Value::Null, p.rank + i64::from(!same)),
            (RunKind::RankMin, Some(p)) => (Value::Null, if same { p.rank } else { seen }),
            (RunKind::Session, Some(p)) => {
                let beyond = |from: &Value, limit: Option<&Value>| {
                    limit.is_some_and(|l| {
                        compare(&arith(BinOp::Sub, &v, from), l).is_some_and(|o| o.is_gt())
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

    pub(crate) fn output(self, st: &RunState) -> Value {
        match self {
            // `acc` holds the start the first row saw.
            RunKind::RowNumber => match st.acc {
                Value::Long(start) => Value::Long(start.saturating_add(st.seen - 1)),
                _ => Value::Null,
            },
            RunKind::CumSum | RunKind::Session => st.acc.clone(),
            RunKind::RankDense | RunKind::RankMin => Value::Long(st.rank),
        }
    }
}

/// An aggregate found while binding a `summarize` expression.
#[derive(Debug, Clone)]
pub(crate) struct AggSpec {
    /// Its canonical name: the DataFusion planner matches it; the row engine runs `method`.
    #[cfg_attr(not(feature = "datafusion"), allow(dead_code))]
    pub name: String,
    /// How it runs, resolved from `name` once.
    pub method: Method,
    pub args: Vec<CExpr>,
    pub ty: ScalarType,
    /// Columns `arg_max`/`arg_min`/`take_any` return (their expressions and names).
    pub row: Vec<(CExpr, Column)>,
    pub percents: Vec<f64>,
}

impl AggSpec {
    pub(crate) fn state(&self) -> AggState {
        self.method.state()
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
