//! Bound scalar expressions as DataFusion expressions: native where DataFusion has the
//! operation with Kusto's semantics, else a UDF over the row evaluator.

use datafusion::common::DFSchema;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprSchemable, cast, in_list, is_not_null, is_null, lit,
};

use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row, RunKind};
use crate::exec::datafusion::udf::{BinUdf, CaseUdf, EvalUdf, ExtractUdf, MatchUdf, mentions};
use crate::functions::{self, Pattern};
use crate::storage::arrow_table::copy_limit;
use crate::storage::layout::stored_type;
use crate::syntax::ast::{BinOp, Expr, StrOp};
use crate::value::convert::{as_i64, coerce};
use crate::value::size::value_bytes;
use crate::value::table::Column;
use crate::value::{ScalarType, Value};

use super::*;

impl<'a> Lowering<'_, 'a> {
    pub(super) fn bind(
        &mut self,
        e: &'a Expr,
        cols: &[Column],
    ) -> Result<(CExpr, ScalarType), Fallback> {
        self.engine
            .compile(e, cols, &self.env)
            .map_err(|e| e.to_string())
    }
    /// A bound expression over `cols` as a DataFusion expression of type `stored_type(ty)`.
    pub(super) fn expr(
        &mut self,
        c: &CExpr,
        ty: ScalarType,
        cols: &[Column],
    ) -> Result<DfExpr, Fallback> {
        let e = self.scalar(c, cols)?;
        let schema = df(DFSchema::try_from(
            crate::storage::arrow_table::schema_of(cols)
                .as_ref()
                .clone(),
        ))?;
        let want = stored_type(ty);
        let have = df(e.get_type(&schema))?;
        Ok(if have == want { e } else { cast(e, want) })
    }
    pub(super) fn scalar(&mut self, c: &CExpr, cols: &[Column]) -> Result<DfExpr, Fallback> {
        if c.reads_other_rows() {
            return Err("row_number(), prev() or next()".into());
        }
        let ty = type_of(c, cols);
        let mut read = Vec::new();
        columns_read(c, &mut read);
        if read.is_empty() && !mentions(c, &|n| matches!(n, "rand" | "new_guid")) {
            // Constant within the query (now() and ago() included): evaluate once.
            let v = coerce(eval(c, Row::EMPTY), ty);
            // DataFusion copies a constant into every row it makes of it; the row engine shares
            // one copy of a large one.
            let bytes = value_bytes(&v);
            if bytes > copy_limit(self.engine.budget) {
                return Err(format!(
                    "a constant of {bytes} bytes (copied into every row on DataFusion)"
                ));
            }
            return Ok(constant(&v, ty));
        }
        if let Some(e) = self.native(c, cols)? {
            return Ok(e);
        }
        let args = read
            .iter()
            .map(|&i| (column(&cols[i].name), cols[i].ty))
            .collect();
        Ok(EvalUdf::call(renumber(c, &read), args, ty))
    }
    /// The native DataFusion form of `c`, when it has one with the row engine's semantics.
    pub(super) fn native(
        &mut self,
        c: &CExpr,
        cols: &[Column],
    ) -> Result<Option<DfExpr>, Fallback> {
        let ty_of = |x: &CExpr| type_of(x, cols);
        Ok(Some(match c {
            CExpr::Col(i) => column(&cols[*i].name),
            CExpr::Bin(op, l, r) => {
                let (lt, rt) = (ty_of(l), ty_of(r));
                match op {
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
                        if same_class(lt, rt) =>
                    {
                        let (a, b) = (self.scalar(l, cols)?, self.scalar(r, cols)?);
                        match op {
                            BinOp::Eq => a.eq(b),
                            BinOp::Ne => a.not_eq(b),
                            BinOp::Lt => a.lt(b),
                            BinOp::Le => a.lt_eq(b),
                            BinOp::Gt => a.gt(b),
                            _ => a.gt_eq(b),
                        }
                    }
                    BinOp::EqCi | BinOp::NeCi
                        if lt == ScalarType::String && rt == ScalarType::String =>
                    {
                        let a = CaseUdf::call(self.scalar(l, cols)?, false);
                        let b = CaseUdf::call(self.scalar(r, cols)?, false);
                        if *op == BinOp::EqCi {
                            a.eq(b)
                        } else {
                            a.not_eq(b)
                        }
                    }
                    BinOp::And | BinOp::Or if lt == ScalarType::Bool && rt == ScalarType::Bool => {
                        let (a, b) = (self.scalar(l, cols)?, self.scalar(r, cols)?);
                        if *op == BinOp::And { a.and(b) } else { a.or(b) }
                    }
                    BinOp::Add | BinOp::Sub | BinOp::Mul
                        if ty_of(c) == ScalarType::Real && numeric(lt) && numeric(rt) =>
                    {
                        let a = cast(self.scalar(l, cols)?, stored_type(ScalarType::Real));
                        let b = cast(self.scalar(r, cols)?, stored_type(ScalarType::Real));
                        match op {
                            BinOp::Add => a + b,
                            BinOp::Sub => a - b,
                            _ => a * b,
                        }
                    }
                    BinOp::Str(sop, negated) if lt == ScalarType::String => {
                        let regex = match (&**r, sop) {
                            (CExpr::Lit(Value::String(needle)), _) => string_regex(*sop, needle),
                            (list, StrOp::HasAny) => any_term_regex(list),
                            _ => None,
                        };
                        let Some(regex) = regex else {
                            return Ok(None);
                        };
                        MatchUdf::call(self.scalar(l, cols)?, regex, *negated)
                    }
                    _ => return Ok(None),
                }
            }
            CExpr::In {
                expr,
                list,
                negated,
                ci,
            } => {
                let t = ty_of(expr);
                let ok = list
                    .iter()
                    .all(|x| matches!(x, CExpr::Lit(v) if !v.is_null()) && same_class(t, ty_of(x)));
                if !ok || (*ci && t != ScalarType::String) {
                    return Ok(None);
                }
                let mut items = Vec::new();
                for x in list {
                    let CExpr::Lit(v) = x else { return Ok(None) };
                    let v = if *ci {
                        Value::str(crate::value::convert::to_text(v).to_lowercase())
                    } else {
                        v.clone()
                    };
                    items.push(constant(&v, ty_of(x)));
                }
                let x = self.scalar(expr, cols)?;
                let x = if *ci { CaseUdf::call(x, false) } else { x };
                in_list(x, items, *negated)
            }
            CExpr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let t = ty_of(expr);
                if !(same_class(t, ty_of(low)) && same_class(t, ty_of(high)))
                    || matches!(t, ScalarType::String | ScalarType::Bool)
                {
                    return Ok(None);
                }
                let x = self.scalar(expr, cols)?;
                let (a, b) = (self.scalar(low, cols)?, self.scalar(high, cols)?);
                if *negated {
                    x.not_between(a, b)
                } else {
                    x.between(a, b)
                }
            }
            CExpr::Call { func, args, .. } => match (func.name, args.as_slice()) {
                ("bin" | "floor", [x, CExpr::Lit(size)])
                    if matches!(
                        ty_of(x),
                        ScalarType::Long | ScalarType::DateTime | ScalarType::TimeSpan
                    ) =>
                {
                    let size = match size {
                        Value::Long(n) | Value::TimeSpan(n) => *n,
                        Value::Int(n) => i64::from(*n),
                        _ => return Ok(None),
                    };
                    if size <= 0 {
                        return Ok(None);
                    }
                    BinUdf::call(self.scalar(x, cols)?, size)
                }
                // A constant regex and group; an invalid regex is left to the row evaluator.
                (
                    "extract",
                    [CExpr::Lit(Value::String(re)), CExpr::Lit(group), x]
                    | [CExpr::Lit(Value::String(re)), CExpr::Lit(group), x, _],
                ) => {
                    let Some(regex) = functions::regex(re) else {
                        return Ok(None);
                    };
                    // As the row engine reads the group: a negative or no number is group 0.
                    let group = as_i64(group).unwrap_or(0).max(0) as usize;
                    let arg = self.scalar(x, cols)?;
                    ExtractUdf::call(arg, ty_of(x), (regex, group), ty_of(c))
                }
                ("tolower" | "toupper", [x]) if ty_of(x) == ScalarType::String => {
                    CaseUdf::call(self.scalar(x, cols)?, func.name == "toupper")
                }
                ("isempty" | "isnotempty", [x]) if ty_of(x) == ScalarType::String => {
                    let x = self.scalar(x, cols)?;
                    if func.name == "isempty" {
                        is_null(x.clone()).or(x.eq(lit("")))
                    } else {
                        is_not_null(x.clone()).and(x.not_eq(lit("")))
                    }
                }
                ("isnull" | "isnotnull", [x])
                    if !matches!(ty_of(x), ScalarType::String | ScalarType::Dynamic) =>
                {
                    let x = self.scalar(x, cols)?;
                    if func.name == "isnull" {
                        is_null(x)
                    } else {
                        is_not_null(x)
                    }
                }
                ("tostring", [x]) if ty_of(x) == ScalarType::String => self.scalar(x, cols)?,
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }))
    }
}

/// The columns an expression reads.
pub(super) fn columns_read(e: &CExpr, out: &mut Vec<usize>) {
    match e {
        CExpr::Col(i) => {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        CExpr::Lit(_) | CExpr::RowNumber(_) => {}
        CExpr::Running { args, restart, .. } => {
            args.iter().for_each(|x| columns_read(x, out));
            restart.iter().for_each(|x| columns_read(x, out));
        }
        CExpr::Neg(x) | CExpr::Member(x, _) => columns_read(x, out),
        CExpr::Bin(_, l, r) | CExpr::Index(l, r) => {
            columns_read(l, out);
            columns_read(r, out);
        }
        CExpr::In { expr, list, .. } => {
            columns_read(expr, out);
            list.iter().for_each(|x| columns_read(x, out));
        }
        CExpr::Between {
            expr, low, high, ..
        } => {
            columns_read(expr, out);
            columns_read(low, out);
            columns_read(high, out);
        }
        CExpr::Shift { expr, default, .. } => {
            columns_read(expr, out);
            columns_read(default, out);
        }
        CExpr::Call { args, .. } => args.iter().for_each(|x| columns_read(x, out)),
    }
}

/// `e` with column `map[k]` renumbered to `k`.
pub(super) fn renumber(e: &CExpr, map: &[usize]) -> CExpr {
    let renumbered = map_nodes(e, &mut |x| {
        Ok::<_, std::convert::Infallible>(match x {
            CExpr::Col(i) => Some(CExpr::Col(map.iter().position(|m| m == i).unwrap_or(*i))),
            _ => None,
        })
    });
    match renumbered {
        Ok(e) => e,
        Err(never) => match never {},
    }
}

/// `e` rebuilt top-down: a node `f` replaces is not visited further, every other node is
/// rebuilt from its rebuilt children.
pub(super) fn map_nodes<E>(
    e: &CExpr,
    f: &mut dyn FnMut(&CExpr) -> Result<Option<CExpr>, E>,
) -> Result<CExpr, E> {
    if let Some(replaced) = f(e)? {
        return Ok(replaced);
    }
    let mut r = |x: &CExpr| map_nodes(x, f).map(Box::new);
    Ok(match e {
        CExpr::Lit(_) | CExpr::Col(_) | CExpr::RowNumber(_) => e.clone(),
        // A fresh memo: the running state belongs to the rows it was computed over.
        CExpr::Running {
            kind,
            args,
            restart,
            ..
        } => CExpr::Running {
            kind: *kind,
            args: args
                .iter()
                .map(|x| map_nodes(x, f))
                .collect::<Result<_, _>>()?,
            restart: restart
                .as_deref()
                .map(|x| map_nodes(x, f).map(Box::new))
                .transpose()?,
            memo: Default::default(),
        },
        CExpr::Neg(x) => CExpr::Neg(r(x)?),
        CExpr::Member(x, k) => CExpr::Member(r(x)?, k.clone()),
        CExpr::Bin(op, a, b) => CExpr::Bin(*op, r(a)?, r(b)?),
        CExpr::Index(a, b) => CExpr::Index(r(a)?, r(b)?),
        CExpr::In {
            expr,
            list,
            negated,
            ci,
        } => CExpr::In {
            expr: r(expr)?,
            list: list
                .iter()
                .map(|x| map_nodes(x, f))
                .collect::<Result<_, _>>()?,
            negated: *negated,
            ci: *ci,
        },
        CExpr::Between {
            expr,
            low,
            high,
            negated,
        } => CExpr::Between {
            expr: r(expr)?,
            low: r(low)?,
            high: r(high)?,
            negated: *negated,
        },
        CExpr::Shift { expr, by, default } => CExpr::Shift {
            expr: r(expr)?,
            by: *by,
            default: r(default)?,
        },
        CExpr::Call { func, args, ty } => CExpr::Call {
            func,
            args: args
                .iter()
                .map(|x| map_nodes(x, f))
                .collect::<Result<_, _>>()?,
            ty: *ty,
        },
    })
}

/// The KQL type of a bound expression over `cols`.
pub(super) fn type_of(e: &CExpr, cols: &[Column]) -> ScalarType {
    match e {
        CExpr::Lit(v) => v.scalar_type().unwrap_or(ScalarType::Dynamic),
        CExpr::Col(i) => cols.get(*i).map_or(ScalarType::Dynamic, |c| c.ty),
        CExpr::Call { ty, .. } => *ty,
        CExpr::Neg(x) | CExpr::Shift { expr: x, .. } => type_of(x, cols),
        CExpr::Bin(op, l, r) => match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                crate::bind::types::arith_type(*op, type_of(l, cols), type_of(r, cols))
                    .unwrap_or(ScalarType::Dynamic)
            }
            _ => ScalarType::Bool,
        },
        CExpr::In { .. } | CExpr::Between { .. } => ScalarType::Bool,
        CExpr::Running { kind, args, .. } => match (kind, args.first()) {
            (RunKind::CumSum | RunKind::Session, Some(x)) => type_of(x, cols),
            _ => ScalarType::Long,
        },
        CExpr::Member(..) | CExpr::Index(..) => ScalarType::Dynamic,
        CExpr::RowNumber(_) => ScalarType::Long,
    }
}

/// A regular expression with the meaning of a KQL string operator against `needle`.
pub(super) fn string_regex(op: StrOp, needle: &str) -> Option<Pattern> {
    let (pattern, cs) = string_pattern(op, needle)?;
    // The flag is in the pattern, so the expression's name tells `has` from `has_cs`.
    let flags = if cs { "" } else { "(?i)" };
    functions::regex(&format!("{flags}{pattern}"))
}

/// `has_any` of a constant list of strings as one regular expression: any of the terms, each
/// as `has` matches it (whole term, any case). Anything else is left to the row evaluator.
fn any_term_regex(list: &CExpr) -> Option<Pattern> {
    // The list (a `pack_array` of literals) is constant: evaluated once, here.
    let literal = |e: &CExpr| match e {
        CExpr::Lit(_) => true,
        CExpr::Call { func, .. } => func.name == "pack_array",
        _ => false,
    };
    if list.any(&|e| !literal(e)) {
        return None;
    }
    let Value::Dynamic(needles) = eval(list, Row::EMPTY) else {
        return None;
    };
    let mut alternatives = Vec::new();
    for needle in needles.as_array()? {
        let (pattern, _) = string_pattern(StrOp::Has { cs: false }, needle.as_str()?)?;
        alternatives.push(pattern);
    }
    if alternatives.is_empty() {
        return None;
    }
    functions::regex(&format!("(?i)(?:{})", alternatives.join("|")))
}

/// The regular expression of a KQL string operator against `needle`, and whether it is case
/// sensitive.
fn string_pattern(op: StrOp, needle: &str) -> Option<(String, bool)> {
    let lit = regex::escape(needle);
    // Kusto's terms are runs of letters and digits (`char::is_alphanumeric`).
    let term = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let before = if term(needle.chars().next()) {
        r"(?:^|[^\p{Alphabetic}\p{N}])"
    } else {
        ""
    };
    let after = if term(needle.chars().last()) {
        r"(?:$|[^\p{Alphabetic}\p{N}])"
    } else {
        ""
    };
    let (pattern, cs) = match op {
        StrOp::Has { cs } if needle.is_empty() => (String::new(), cs),
        StrOp::Has { cs } => (format!("{before}{lit}{after}"), cs),
        StrOp::HasPrefix { cs } => (format!("{before}{lit}"), cs),
        StrOp::HasSuffix { cs } => (format!("{lit}{after}"), cs),
        StrOp::Contains { cs } => (lit, cs),
        StrOp::StartsWith { cs } => (format!("^{lit}"), cs),
        StrOp::EndsWith { cs } => (format!("{lit}$"), cs),
        // A longer pattern is left to the row engine, which refuses it.
        StrOp::MatchesRegex => (needle.to_string(), true),
        StrOp::HasAny | StrOp::HasAll => return None,
    };
    Some((pattern, cs))
}
