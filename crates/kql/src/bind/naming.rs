//! Kusto's column naming: the name a column gets when the query does not give one, and which
//! argument binds to which parameter of a user function.

use crate::functions::aggregate::{self, Column};
use crate::syntax::ast::{Expr, ExprKind};
use crate::value::Value;

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
        _ if aggregate::is_aggregate_call(name, args.len()) => Some(default_name(name, args)),
        _ => None,
    }
}

/// The default output column name of an aggregate called with `args`: Kusto names it after the
/// function and its first argument (both arguments for `covariance`).
pub(crate) fn default_name(name: &str, args: &[Expr]) -> String {
    let mut named = args
        .iter()
        .filter(|a| !matches!(a.kind, ExprKind::Star))
        .map(|a| derive_name(a).unwrap_or_default());
    let arg = named.next().unwrap_or_default();
    match aggregate::lookup(name) {
        Some(a) => match a.column {
            Column::Prefixed(prefix) => format!("{prefix}_{arg}"),
            Column::Fixed(name) => name.into(),
            Column::Covariance => format!("{}_{arg}_{}", a.name, named.next().unwrap_or_default()),
        },
        None => format!("{name}_{arg}"),
    }
}
