//! Lowering a bound KQL query to a DataFusion logical plan (`LogicalPlanBuilder`, no SQL text).
//!
//! Names and types come from the row engine's binder (`Engine::compile`, `bind_summarize`), so
//! both engines agree on column names, types and errors. What this planner cannot express yet
//! returns `Err(reason)` and the query runs on the row engine instead.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::{Column as DfColumn, DFSchema, JoinType, ScalarValue};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::functions_aggregate::expr_fn::{
    avg, count, count_distinct, first_value, max, min, sum,
};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, ExprSchemable, LogicalPlan, LogicalPlanBuilder, SortExpr,
    cast, in_list, is_not_null, is_null, lit, when,
};

use super::udaf::KqlAggregate;
use super::udf::{BinUdf, CaseUdf, EvalUdf, ExpandUdf, MatchUdf, ParseUdf, RowGuardUdf, mentions};
use crate::bind::expr::{CExpr, Row, tuple_result};
use crate::bind::naming::derive_name;
use crate::exec::eval::eval;
use crate::exec::rows::ops::{
    Out, Summary, fresh_name, piped_union_name, projected_name, union_input_name, unique_name,
};
use crate::exec::{Engine, Env, MAX_ROWS};
use crate::functions::{self, Pattern};
use crate::storage::arrow_table::{ArrowTable, copy_limit};
use crate::storage::layout::stored_type;
use crate::syntax::ast::{BinOp, Expr, ExprKind, JoinOn, NamedExpr, Operator, OperatorKind, StrOp};
use crate::value::convert::coerce;
use crate::value::size::value_bytes;
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

/// Why a query is left to the row engine.
pub(super) type Fallback = String;

/// A plan and the KQL columns of its output (the plan's fields, in order, same names).
#[derive(Clone)]
pub(super) struct Plan {
    pub plan: LogicalPlan,
    pub columns: Vec<Column>,
    /// Whether a scanned table is large enough to be read in parallel partitions.
    pub parallel: bool,
}

fn df<T>(r: datafusion::common::Result<T>) -> Result<T, Fallback> {
    r.map_err(|e| e.to_string())
}

fn column(name: &str) -> DfExpr {
    DfExpr::Column(DfColumn::new_unqualified(name))
}

/// The value of a non-null constant in the stored layout.
fn scalar(v: &Value, ty: ScalarType) -> Option<ScalarValue> {
    Some(match coerce(v.clone(), ty) {
        Value::Null => return None,
        Value::Bool(b) => ScalarValue::Boolean(Some(b)),
        Value::Int(i) => ScalarValue::Int32(Some(i)),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => ScalarValue::Int64(Some(i)),
        Value::Real(x) | Value::Decimal(x) => ScalarValue::Float64(Some(x)),
        Value::String(s) => ScalarValue::Utf8(Some(s.to_string())),
        Value::Guid(g) => ScalarValue::Utf8(Some(g.to_string())),
        Value::Dynamic(d) => ScalarValue::Utf8(Some(d.to_string())),
    })
}

/// Where a DataFusion table lives: which scanned table a plan's `TableScan` reads.
fn address<T: ?Sized>(table: &Arc<T>) -> usize {
    Arc::as_ptr(table).cast::<()>() as usize
}

fn typed_null(ty: ScalarType) -> DfExpr {
    cast(lit(ScalarValue::Null), stored_type(ty))
}

fn constant(v: &Value, ty: ScalarType) -> DfExpr {
    scalar(v, ty).map_or_else(|| typed_null(ty), lit)
}

fn numeric(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::Int | ScalarType::Long | ScalarType::Real | ScalarType::Decimal
    )
}

/// Whether two types compare natively in the stored layout with the row engine's result.
fn same_class(a: ScalarType, b: ScalarType) -> bool {
    (numeric(a) && numeric(b))
        || (a == b
            && matches!(
                a,
                ScalarType::String | ScalarType::DateTime | ScalarType::TimeSpan | ScalarType::Bool
            ))
}

/// Whether an expression depends on neighbouring rows (`row_number`, `prev`, `next`).
fn row_context(e: &CExpr) -> bool {
    match e {
        CExpr::RowNumber(_) | CExpr::Shift { .. } | CExpr::Running { .. } => true,
        CExpr::Lit(_) | CExpr::Col(_) => false,
        CExpr::Neg(x) | CExpr::Member(x, _) => row_context(x),
        CExpr::Bin(_, l, r) | CExpr::Index(l, r) => row_context(l) || row_context(r),
        CExpr::In { expr, list, .. } => row_context(expr) || list.iter().any(row_context),
        CExpr::Between {
            expr, low, high, ..
        } => row_context(expr) || row_context(low) || row_context(high),
        CExpr::Call { args, .. } => args.iter().any(row_context),
    }
}

/// The columns an expression reads.
fn columns_read(e: &CExpr, out: &mut Vec<usize>) {
    match e {
        CExpr::Col(i) => {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        // Never lowered (see `row_context`).
        CExpr::Lit(_) | CExpr::RowNumber(_) | CExpr::Running { .. } => {}
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
fn renumber(e: &CExpr, map: &[usize]) -> CExpr {
    let r = |x: &CExpr| Box::new(renumber(x, map));
    match e {
        CExpr::Col(i) => CExpr::Col(map.iter().position(|m| m == i).unwrap_or(*i)),
        CExpr::Lit(_) | CExpr::RowNumber(_) | CExpr::Running { .. } => e.clone(),
        CExpr::Neg(x) => CExpr::Neg(r(x)),
        CExpr::Member(x, k) => CExpr::Member(r(x), k.clone()),
        CExpr::Bin(op, a, b) => CExpr::Bin(*op, r(a), r(b)),
        CExpr::Index(a, b) => CExpr::Index(r(a), r(b)),
        CExpr::In {
            expr,
            list,
            negated,
            ci,
        } => CExpr::In {
            expr: r(expr),
            list: list.iter().map(|x| renumber(x, map)).collect(),
            negated: *negated,
            ci: *ci,
        },
        CExpr::Between {
            expr,
            low,
            high,
            negated,
        } => CExpr::Between {
            expr: r(expr),
            low: r(low),
            high: r(high),
            negated: *negated,
        },
        CExpr::Shift { expr, by, default } => CExpr::Shift {
            expr: r(expr),
            by: *by,
            default: r(default),
        },
        CExpr::Call { name, args, ty } => CExpr::Call {
            name: name.clone(),
            args: args.iter().map(|x| renumber(x, map)).collect(),
            ty: *ty,
        },
    }
}

/// The KQL type of a bound expression over `cols`.
fn type_of(e: &CExpr, cols: &[Column]) -> ScalarType {
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
        CExpr::Member(..) | CExpr::Index(..) | CExpr::Running { .. } => ScalarType::Dynamic,
        CExpr::RowNumber(_) => ScalarType::Long,
    }
}

/// A regular expression with the meaning of a KQL string operator against `needle`.
fn string_regex(op: StrOp, needle: &str) -> Option<Pattern> {
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
    // The flag is in the pattern, so the expression's name tells `has` from `has_cs`.
    let flags = if cs { "" } else { "(?i)" };
    functions::regex(&format!("{flags}{pattern}"))
}

/// Lowers one query; `lets` are the tabular `let`s lowered so far.
pub(super) struct Lowering<'e, 'a> {
    pub engine: &'e mut Engine<'a>,
    pub env: Env<'a>,
    pub lets: HashMap<String, Plan>,
    /// The name `as` gave the piped table, for a `union withsource=` right after it.
    pub piped_name: Option<String>,
    /// The catalog tables scanned so far, by the address of their DataFusion table: their
    /// columns' longest texts bound a row's width without reading it.
    pub scanned: HashMap<usize, Arc<ArrowTable>>,
}

impl<'a> Lowering<'_, 'a> {
    /// A tabular expression.
    pub(super) fn tabular(&mut self, e: &'a Expr) -> Result<Plan, Fallback> {
        match &e.kind {
            ExprKind::Pipe { source, ops } => {
                let mut plan = self.tabular(source)?;
                for op in ops {
                    plan = self.operator(plan, op)?;
                    // `as Name` names the result so far in a `union withsource=` right after.
                    self.piped_name = match &op.kind {
                        OperatorKind::As(name) => Some(name.clone()),
                        _ => None,
                    };
                }
                Ok(plan)
            }
            ExprKind::Name(n) => {
                if let Some(p) = self.lets.get(n) {
                    return Ok(p.clone());
                }
                if self.env.get(n).is_some() {
                    return Err(format!("'{n}' is bound by the row engine"));
                }
                // The catalog's Arrow form is made once and kept for every query.
                let catalog = self.engine.catalog;
                let table = crate::budget::outside_query(|| catalog.arrow(n))
                    .ok_or_else(|| format!("no table '{n}'"))?;
                let table = Arc::clone(table);
                let plan = self.scan(n, &table)?;
                self.scanned.insert(address(&table.provider()?), table);
                self.timespan(plan)
            }
            ExprKind::Union(u) => self.union(None, u),
            ExprKind::Call { name, args } if name == "materialize" && args.len() == 1 => {
                self.tabular(&args[0])
            }
            ExprKind::Datatable { .. } | ExprKind::Print(_) | ExprKind::Range { .. } => {
                // Literal sources are small: the row engine builds them, DataFusion runs the rest.
                let t = self
                    .engine
                    .tabular(e, &self.env)
                    .map_err(|e| e.to_string())?;
                self.scan("literal", &ArrowTable::from_table(&t))
            }
            other => {
                let debug = format!("{other:?}");
                let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
                Err(format!("a {name} source"))
            }
        }
    }

    fn scan(&mut self, name: &str, table: &ArrowTable) -> Result<Plan, Fallback> {
        let provider = table.provider()?;
        let plan = df(LogicalPlanBuilder::scan(
            name,
            provider_as_source(provider),
            None,
        ))?;
        let plan = df(plan.build())?;
        // Re-project so every later reference is by unqualified name.
        let exprs: Vec<DfExpr> = table
            .columns
            .iter()
            .map(|c| column(&c.name).alias(c.name.clone()))
            .collect();
        let plan = df(df(LogicalPlanBuilder::from(plan).project(exprs))?.build())?;
        Ok(Plan {
            plan,
            columns: table.columns.clone(),
            parallel: table.len() >= crate::storage::arrow_table::PARALLEL_ROWS,
        })
    }

    /// Log Analytics' `timespan`: catalog rows outside it are not seen.
    fn timespan(&mut self, plan: Plan) -> Result<Plan, Fallback> {
        let Some((start, end)) = self.engine.opts.timespan else {
            return Ok(plan);
        };
        if !plan
            .columns
            .iter()
            .any(|c| c.name == "TimeGenerated" && c.ty == ScalarType::DateTime)
        {
            return Ok(plan);
        }
        let t = column("TimeGenerated");
        let pred = t.clone().gt_eq(lit(start)).and(t.lt(lit(end)));
        self.build(plan.columns, plan.parallel, |b| b.filter(pred), plan.plan)
    }

    fn build(
        &self,
        columns: Vec<Column>,
        parallel: bool,
        f: impl FnOnce(LogicalPlanBuilder) -> datafusion::common::Result<LogicalPlanBuilder>,
        plan: LogicalPlan,
    ) -> Result<Plan, Fallback> {
        let plan = df(df(f(LogicalPlanBuilder::from(plan)))?.build())?;
        Ok(Plan {
            plan,
            columns,
            parallel,
        })
    }

    fn bind(&mut self, e: &'a Expr, cols: &[Column]) -> Result<(CExpr, ScalarType), Fallback> {
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

    fn scalar(&mut self, c: &CExpr, cols: &[Column]) -> Result<DfExpr, Fallback> {
        if row_context(c) {
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
    fn native(&mut self, c: &CExpr, cols: &[Column]) -> Result<Option<DfExpr>, Fallback> {
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
                        let CExpr::Lit(Value::String(needle)) = &**r else {
                            return Ok(None);
                        };
                        let Some(regex) = string_regex(*sop, needle) else {
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
            CExpr::Call { name, args, .. } => match (name.as_str(), args.as_slice()) {
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
                ("tolower" | "toupper", [x]) if ty_of(x) == ScalarType::String => {
                    CaseUdf::call(self.scalar(x, cols)?, name == "toupper")
                }
                ("isempty" | "isnotempty", [x]) if ty_of(x) == ScalarType::String => {
                    let x = self.scalar(x, cols)?;
                    if name == "isempty" {
                        is_null(x.clone()).or(x.eq(lit("")))
                    } else {
                        is_not_null(x.clone()).and(x.not_eq(lit("")))
                    }
                }
                ("isnull" | "isnotnull", [x])
                    if !matches!(ty_of(x), ScalarType::String | ScalarType::Dynamic) =>
                {
                    let x = self.scalar(x, cols)?;
                    if name == "isnull" {
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

    fn operator(&mut self, plan: Plan, op: &'a Operator) -> Result<Plan, Fallback> {
        let Plan {
            plan,
            columns: cols,
            parallel,
        } = plan;
        match &op.kind {
            OperatorKind::Where(pred) => {
                let (c, ty) = self.bind(pred, &cols)?;
                if ty != ScalarType::Bool {
                    return Err("a non-bool predicate".into());
                }
                let e = self.expr(&c, ty, &cols)?;
                self.build(cols, parallel, |b| b.filter(e), plan)
            }
            OperatorKind::Extend(items) => {
                let mut p = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let input_width = p.columns.len();
                for item in items {
                    p = self.extend(p, item, input_width)?;
                }
                Ok(p)
            }
            OperatorKind::Serialize(items) if items.is_empty() => Ok(Plan {
                plan,
                columns: cols,
                parallel,
            }),
            OperatorKind::Project(items) => {
                let mut list = Vec::new();
                for item in items {
                    if item.names.len() > 1 || spreads(&item.expr) {
                        return Err("several names".into());
                    }
                    list.push((&item.expr, item.names.first().cloned()));
                }
                self.project(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    list,
                )
            }
            OperatorKind::Distinct(exprs) => {
                let p = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let p = if exprs.iter().any(|e| matches!(e.kind, ExprKind::Star)) {
                    p
                } else {
                    self.project(p, exprs.iter().map(|e| (e, None)).collect())?
                };
                self.build(p.columns, p.parallel, |b| b.distinct(), p.plan)
            }
            OperatorKind::ProjectAway(_)
            | OperatorKind::ProjectKeep(_)
            | OperatorKind::ProjectRename(_)
            | OperatorKind::ProjectReorder(_) => {
                // The row engine's own rules on an empty table of the same columns.
                let shape = self
                    .engine
                    .operator(Table::new(cols.clone()), op, &self.env)
                    .map_err(|e| e.to_string())?;
                let mut exprs = Vec::new();
                let mut used = Vec::new();
                for (i, c) in shape.columns.iter().enumerate() {
                    // Same position order as the source unless renamed: find by name, then by slot.
                    let src = match &op.kind {
                        OperatorKind::ProjectRename(pairs) => pairs
                            .iter()
                            .find(|(new, _)| *new == c.name)
                            .map(|(_, old)| old.clone())
                            .unwrap_or_else(|| cols[i].name.clone()),
                        _ => c.name.clone(),
                    };
                    if used.contains(&src) {
                        return Err("a column used twice".into());
                    }
                    used.push(src.clone());
                    exprs.push(column(&src).alias(c.name.clone()));
                }
                self.build(shape.columns, parallel, |b| b.project(exprs), plan)
            }
            OperatorKind::Summarize { aggs, by } => {
                let s = self
                    .engine
                    .bind_summarize(&cols, aggs, by, &self.env)
                    .map_err(|e| e.to_string())?;
                self.summarize(
                    Plan {
                        plan,
                        columns: cols,
                        parallel,
                    },
                    s,
                )
            }
            OperatorKind::Sort(keys) | OperatorKind::Top { keys, .. } => {
                let mut sorts = Vec::new();
                for k in keys {
                    let (c, ty) = self.bind(&k.expr, &cols)?;
                    let e = self.expr(&c, ty, &cols)?;
                    sorts.push(SortExpr::new(e, !k.desc, k.nulls_first.unwrap_or(!k.desc)));
                }
                let fetch = match &op.kind {
                    OperatorKind::Top { count, .. } => Some(self.count(count)?),
                    _ => None,
                };
                self.build(cols, parallel, |b| b.sort_with_limit(sorts, fetch), plan)
            }
            OperatorKind::Take(n) => {
                let n = self.count(n)?;
                self.build(cols, parallel, |b| b.limit(0, Some(n)), plan)
            }
            OperatorKind::Count => self.build(
                vec![Column::new("Count", ScalarType::Long)],
                parallel,
                |b| b.aggregate(Vec::<DfExpr>::new(), vec![count(lit(1)).alias("Count")]),
                plan,
            ),
            OperatorKind::As(_) => Ok(Plan {
                plan,
                columns: cols,
                parallel,
            }),
            OperatorKind::Render(kind) => {
                self.engine.visualization = Some(kind.clone());
                Ok(Plan {
                    plan,
                    columns: cols,
                    parallel,
                })
            }
            OperatorKind::Join { kind, right, on } => {
                let left = Plan {
                    plan,
                    columns: cols,
                    parallel,
                };
                let right = self.tabular(right)?;
                self.join(left, right, kind.as_deref().unwrap_or("innerunique"), on)
            }
            OperatorKind::Parse {
                source,
                kind,
                flags,
                parts,
                filter,
            } => self.parse(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                source,
                (kind, flags),
                parts,
                *filter,
            ),
            OperatorKind::Union(u) => self.union(
                Some(Plan {
                    plan,
                    columns: cols,
                    parallel,
                }),
                u,
            ),
            OperatorKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(
                Plan {
                    plan,
                    columns: cols,
                    parallel,
                },
                params,
                items,
                limit.as_ref(),
            ),
            other => {
                let debug = format!("{other:?}");
                let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
                Err(format!("the {name} operator"))
            }
        }
    }

    /// `parse` / `parse-where`: the pattern's columns, each a UDF over the source text (the
    /// row engine's `ParsePattern`), replacing or added like `extend`; `parse-where` first keeps
    /// only the rows that match.
    fn parse(
        &mut self,
        p: Plan,
        source: &'a Expr,
        (kind, flags): (&str, &str),
        parts: &[crate::syntax::ast::ParsePart],
        filter: bool,
    ) -> Result<Plan, Fallback> {
        let (c, ty) = self.bind(source, &p.columns)?;
        let pattern = Arc::new(
            crate::exec::rows::parse::ParsePattern::new(kind, flags, parts)
                .ok_or("an invalid parse pattern")?,
        );
        let text = self.expr(&c, ty, &p.columns)?;
        let mut p = p;
        if filter {
            let matched = ParseUdf::call(text.clone(), ty, &pattern, None);
            p = self.build(p.columns, p.parallel, |b| b.filter(matched), p.plan)?;
        }
        let (mut cols, mut exprs) = as_is(&p.columns);
        for (i, (name, cty)) in pattern.columns.iter().enumerate() {
            let e = ParseUdf::call(text.clone(), ty, &pattern, Some(i)).alias(name.clone());
            set_column(&mut cols, &mut exprs, Column::new(name.clone(), *cty), e);
        }
        self.build(cols, p.parallel, |b| b.project(exprs), p.plan)
    }

    /// `union` (Kusto's default `kind=outer`): the columns of all inputs by name, in order of
    /// first appearance, null where an input lacks one.
    fn union(
        &mut self,
        first: Option<Plan>,
        u: &'a crate::syntax::ast::Union,
    ) -> Result<Plan, Fallback> {
        let mut source = None;
        for (name, value) in &u.params {
            match (name.as_str(), &value.kind) {
                ("withsource", ExprKind::Name(column)) => source = Some(column.clone()),
                // Fuzzy only matters for inputs that do not resolve, which are not lowered.
                ("isfuzzy", _) => {}
                ("kind", ExprKind::Name(kind)) if kind == "outer" => {}
                _ => return Err(format!("union {name}=")),
            }
        }
        // Each input with the name `withsource` gives it, as the row engine names them.
        let mut inputs: Vec<(String, Plan)> = Vec::new();
        if let Some(p) = first {
            inputs.push((piped_union_name(self.piped_name.take()), p));
        }
        for t in &u.tables {
            inputs.push((union_input_name(t, inputs.len()), self.tabular(t)?));
        }
        let (names, inputs): (Vec<String>, Vec<Plan>) = inputs.into_iter().unzip();
        let mut columns: Vec<Column> = Vec::new();
        for c in inputs.iter().flat_map(|p| &p.columns) {
            match columns.iter().find(|x| x.name == c.name) {
                Some(x) if x.ty != c.ty => return Err("union columns of different types".into()),
                Some(_) => {}
                None => columns.push(c.clone()),
            }
        }
        if let Some(s) = &source {
            columns.insert(0, Column::new(s.clone(), ScalarType::String));
        }
        let parallel = inputs.iter().any(|p| p.parallel);
        let mut plans = Vec::new();
        for (name, p) in names.into_iter().zip(inputs) {
            let exprs: Vec<DfExpr> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 && source.is_some() {
                        lit(name.clone()).alias(c.name.clone())
                    } else if p.columns.iter().any(|x| x.name == c.name) {
                        column(&c.name)
                    } else {
                        typed_null(c.ty).alias(c.name.clone())
                    }
                })
                .collect();
            plans.push(self.build(columns.clone(), parallel, |b| b.project(exprs), p.plan)?);
        }
        let mut plans = plans.into_iter();
        let first = plans.next().ok_or("an empty union")?;
        let rest: Vec<LogicalPlan> = plans.map(|p| p.plan).collect();
        self.build(
            columns,
            parallel,
            |mut b| {
                for p in rest {
                    b = b.union(p)?;
                }
                Ok(b)
            },
            first.plan,
        )
    }

    /// `project`: each expression under its given or derived name (`ColumnN` otherwise).
    fn project(
        &mut self,
        p: Plan,
        items: Vec<(&'a Expr, Option<String>)>,
    ) -> Result<Plan, Fallback> {
        let mut exprs = Vec::new();
        let mut out: Vec<Column> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (expr, given) in items {
            let (c, ty) = self.bind(expr, &p.columns)?;
            let name = projected_name(given, expr, &names);
            names.push(name.clone());
            exprs.push(self.expr(&c, ty, &p.columns)?.alias(name.clone()));
            out.push(Column::new(name, ty));
        }
        self.build(out, p.parallel, |b| b.project(exprs), p.plan)
    }

    fn count(&mut self, e: &'a Expr) -> Result<usize, Fallback> {
        self.engine
            .count_arg(e, &self.env)
            .map_err(|e| e.to_string())
    }

    fn extend(
        &mut self,
        p: Plan,
        item: &'a NamedExpr,
        input_width: usize,
    ) -> Result<Plan, Fallback> {
        let spread = self
            .engine
            .bind_spread(&p.columns, &item.expr, &item.names, false, &self.env)
            .map_err(|e| e.to_string())?;
        if let Some((bag, spread)) = spread {
            let (mut cols, mut exprs) = as_is(&p.columns);
            for s in spread {
                let taken: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
                let name = s.name_among(&taken);
                let result = tuple_result(bag.clone(), s.result, s.ty);
                let e = self.expr(&result, s.ty, &p.columns)?.alias(name.clone());
                set_column(&mut cols, &mut exprs, Column::new(name, s.ty), e);
            }
            return self.build(cols, p.parallel, |b| b.project(exprs), p.plan);
        }
        if item.names.len() > 1 {
            return Err("several names".into());
        }
        // pack_all() packs the extend's input columns, not those it adds alongside.
        let schema = match &item.expr.kind {
            ExprKind::Call { name, .. } if name == "pack_all" => &p.columns[..input_width],
            _ => &p.columns[..],
        };
        let (c, ty) = self.bind(&item.expr, schema)?;
        let name = item
            .names
            .first()
            .cloned()
            .or_else(|| derive_name(&item.expr))
            .unwrap_or_else(|| fresh_name(&p.columns, &[]));
        let new = self.expr(&c, ty, &p.columns)?.alias(name.clone());
        let (mut cols, mut exprs) = as_is(&p.columns);
        set_column(&mut cols, &mut exprs, Column::new(name, ty), new);
        self.build(cols, p.parallel, |b| b.project(exprs), p.plan)
    }

    /// `mv-expand` of one column: each row repeated once per value of the expansion, which
    /// replaces (or adds) the named column with the `to typeof(…)` type (dynamic by default).
    fn mv_expand(
        &mut self,
        p: Plan,
        params: &[(String, Expr)],
        items: &'a [crate::syntax::ast::ExpandItem],
        limit: Option<&'a Expr>,
    ) -> Result<Plan, Fallback> {
        let mut as_array = false;
        for (name, value) in params {
            match (name.as_str(), &value.kind) {
                ("kind" | "bagexpansion", ExprKind::Name(k)) if k == "array" || k == "bag" => {
                    as_array = k == "array";
                }
                _ => return Err(format!("mv-expand {name}=")),
            }
        }
        let limit = match limit {
            Some(l) => self.count(l)?,
            None => usize::MAX,
        };
        // Several columns expand side by side (zipped; the shorter padded with nulls).
        let (mut cols, mut exprs) = as_is(&p.columns);
        let mut names = Vec::new();
        for item in items {
            let (c, arg_ty) = self.bind(&item.expr, &p.columns)?;
            let ty = item.to.unwrap_or(ScalarType::Dynamic);
            let name = item
                .name
                .clone()
                .or_else(|| derive_name(&item.expr))
                .unwrap_or_else(|| fresh_name(&cols, &[]));
            if names.contains(&name) {
                return Err("one column expanded twice".into());
            }
            let arg = self.expr(&c, arg_ty, &p.columns)?;
            let list = ExpandUdf::call(arg, (arg_ty, ty), (as_array, limit), self.row_width(&p))
                .alias(name.clone());
            set_column(&mut cols, &mut exprs, Column::new(name.clone(), ty), list);
            names.push(name);
        }
        let targets: Vec<DfColumn> = names.iter().map(DfColumn::new_unqualified).collect();
        let unnested = self.build(
            cols.clone(),
            p.parallel,
            |b| {
                b.project(exprs)?
                    .unnest_columns_with_options(targets, Default::default())
            },
            p.plan,
        )?;
        // Name every column plainly again.
        let exprs: Vec<DfExpr> = unnested
            .plan
            .schema()
            .columns()
            .into_iter()
            .zip(&cols)
            .map(|(df_col, c)| DfExpr::Column(df_col).alias(c.name.clone()))
            .collect();
        self.build(cols, p.parallel, |b| b.project(exprs), unnested.plan)
    }

    /// `summarize`: DataFusion's aggregate over the keys, then a projection of the output
    /// expressions. `arg_max`/`arg_min` keep, per group, each returned column of the row whose
    /// value is largest (smallest), the first such row in input order on ties, as the row
    /// engine's aggregate state does.
    fn summarize(&mut self, p: Plan, s: Summary) -> Result<Plan, Fallback> {
        let arg_rows = |name: &str| matches!(name, "arg_max" | "arg_min");
        let input = if s.specs.iter().any(|sp| arg_rows(&sp.name)) {
            df(
                df(LogicalPlanBuilder::from(p.plan).window(vec![row_number().alias("__o")]))?
                    .build(),
            )?
        } else {
            p.plan
        };
        let p = Plan { plan: input, ..p };
        let key_name = |i: usize| format!("__k{i}");
        let agg_name = |i: usize| format!("__a{i}");
        let mut keys = Vec::new();
        for (i, (c, col)) in s.key_exprs.iter().zip(&s.key_cols).enumerate() {
            keys.push(self.expr(c, col.ty, &p.columns)?.alias(key_name(i)));
        }
        let mut aggs = Vec::new();
        let mut seen: Vec<(DfExpr, String)> = Vec::new();
        // Every slot by its own name, repeated aggregates copied from the first.
        let mut copies: Vec<DfExpr> = (0..s.key_cols.len())
            .map(|i| column(&key_name(i)))
            .collect();
        let mut slots: Vec<Column> = s
            .key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| Column::new(key_name(i), c.ty))
            .collect();
        for (i, spec) in s.specs.iter().enumerate() {
            if (!spec.row.is_empty() && !arg_rows(&spec.name)) || spec.percents.len() > 1 {
                return Err(format!("the aggregate {}", spec.name));
            }
            if arg_rows(&spec.name) {
                let value = spec.args.first().ok_or("arg_max without a value")?;
                let vt = type_of(value, &p.columns);
                if matches!(
                    vt,
                    ScalarType::Dynamic | ScalarType::Bool | ScalarType::Guid
                ) {
                    return Err(format!("{} of {vt}", spec.name));
                }
                let ranking = vec![
                    SortExpr::new(
                        self.expr(value, vt, &p.columns)?,
                        spec.name == "arg_min",
                        false,
                    ),
                    SortExpr::new(column("__o"), true, false),
                ];
                for (k, (c, col)) in spec.row.iter().enumerate() {
                    let name = format!("__a{i}_{k}");
                    let e = first_value(self.expr(c, col.ty, &p.columns)?, ranking.clone());
                    aggs.push(e.alias(name.clone()));
                    copies.push(column(&name));
                }
                // Only the spread columns are read; an expression over this slot finds no
                // column and leaves the query to the row engine.
                slots.push(Column::new(agg_name(i), spec.ty));
                continue;
            }
            let mut arg = |k: usize| -> Result<(DfExpr, ScalarType), Fallback> {
                let c = spec.args.get(k).ok_or("a missing argument")?;
                let t = type_of(c, &p.columns);
                Ok((self.expr(c, t, &p.columns)?, t))
            };
            let agg = match spec.name.as_str() {
                "count" if spec.args.is_empty() => count(lit(1)),
                "countif" => {
                    let (pred, t) = arg(0)?;
                    if t != ScalarType::Bool {
                        return Err("countif of a non-bool".into());
                    }
                    count(when(pred, lit(1)).end().map_err(|e| e.to_string())?)
                }
                "dcount" | "dcountif" => {
                    let (x, t) = arg(0)?;
                    if t == ScalarType::Dynamic {
                        return Err("dcount of dynamic".into());
                    }
                    if spec.name == "dcountif" {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        count_distinct(when(pred, x).end().map_err(|e| e.to_string())?)
                    } else {
                        count_distinct(x)
                    }
                }
                "sum" | "avg" | "sumif" | "avgif" => {
                    let (x, t) = arg(0)?;
                    if !matches!(t, ScalarType::Int | ScalarType::Long | ScalarType::Real) {
                        return Err(format!("{} of {t}", spec.name));
                    }
                    let x = if spec.name.ends_with("if") {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        when(pred, x).end().map_err(|e| e.to_string())?
                    } else {
                        x
                    };
                    if spec.name.starts_with("sum") {
                        // Kusto's sum over no values is 0, not null.
                        let total = sum(x);
                        when(is_null(total.clone()), lit(0))
                            .otherwise(total)
                            .map_err(|e| e.to_string())?
                    } else {
                        avg(x)
                    }
                }
                "min" | "max" => {
                    let (x, t) = arg(0)?;
                    if matches!(t, ScalarType::Dynamic | ScalarType::Guid | ScalarType::Bool) {
                        return Err(format!("{} of {t}", spec.name));
                    }
                    if spec.name == "min" { min(x) } else { max(x) }
                }
                other => {
                    // The row engine's aggregate state, as a DataFusion UDAF.
                    let predicate = other.ends_with("if");
                    let last = spec.args.len().saturating_sub(usize::from(predicate));
                    let mut consts = Vec::new();
                    for c in spec.args.iter().take(last).skip(1) {
                        match c {
                            CExpr::Lit(v) => consts.push(v.clone()),
                            _ => {
                                return Err(format!(
                                    "the aggregate {other} with a column argument"
                                ));
                            }
                        }
                    }
                    let (x, t) = arg(0)?;
                    let agg = KqlAggregate::call(
                        x,
                        other,
                        (t, spec.ty),
                        consts,
                        predicate,
                        spec.percents.clone(),
                    );
                    if predicate {
                        let (pred, _) = arg(spec.args.len() - 1)?;
                        agg.filter(pred).build().map_err(|e| e.to_string())?
                    } else {
                        agg
                    }
                }
            };
            // The same aggregate twice (`a = countif(x), b = countif(x)`) is computed once:
            // DataFusion refuses two identical aggregate expressions.
            let agg = cast(agg, stored_type(spec.ty));
            let source = match seen.iter().find(|(e, _)| *e == agg) {
                Some((_, first)) => first.clone(),
                None => {
                    seen.push((agg.clone(), agg_name(i)));
                    aggs.push(agg.alias(agg_name(i)));
                    agg_name(i)
                }
            };
            slots.push(Column::new(agg_name(i), spec.ty));
            copies.push(column(&source).alias(agg_name(i)));
        }
        let grouped = self.build(
            slots.clone(),
            p.parallel,
            |b| b.aggregate(keys, aggs)?.project(copies),
            p.plan,
        )?;
        // Output: the keys, then each output expression over the keys and the aggregates.
        let mut exprs = Vec::new();
        for (i, col) in s.key_cols.iter().enumerate() {
            exprs.push(column(&key_name(i)).alias(col.name.clone()));
        }
        let mut names = s.out_cols[s.key_cols.len()..].iter();
        for out in &s.outs {
            match out {
                Out::Expr(c, ty) => {
                    let col = names.next().ok_or("fewer output columns than outputs")?;
                    exprs.push(self.expr(c, *ty, &slots)?.alias(col.name.clone()));
                }
                Out::Spread(si) => {
                    let spec = &s.specs[*si];
                    if !arg_rows(&spec.name) {
                        return Err(format!("the aggregate {}", spec.name));
                    }
                    for k in 0..spec.row.len() {
                        let col = names.next().ok_or("fewer output columns than outputs")?;
                        exprs.push(column(&format!("__a{si}_{k}")).alias(col.name.clone()));
                    }
                }
            }
        }
        self.build(s.out_cols, p.parallel, |b| b.project(exprs), grouped.plan)
    }

    /// `p`, whose rows a join may repeat: a row wider than DataFusion may copy into a batch's
    /// rows leaves the query to the row engine.
    fn narrow_rows(&self, p: Plan) -> Result<Plan, Fallback> {
        let (texts, fixed) = self.row_width(&p);
        if texts.is_empty() {
            return Ok(p);
        }
        let guard = RowGuardUdf::call(texts, fixed, copy_limit(self.engine.budget));
        self.build(p.columns, p.parallel, |b| b.filter(guard), p.plan)
    }

    /// What copying a row of `p` copies: the text columns to measure row by row, and the bytes
    /// known without reading rows (8 per column, and the longest text of each column that comes
    /// unchanged from a catalog table, while together those stay within what DataFusion may copy
    /// into a batch's rows; past that every text column is measured, so one long value in a table
    /// does not send its queries to the row engine).
    fn row_width(&self, p: &Plan) -> (Vec<DfExpr>, usize) {
        let texts: Vec<&Column> = p
            .columns
            .iter()
            .filter(|c| stored_type(c.ty) == arrow_schema::DataType::Utf8)
            .collect();
        let fixed = 8 * p.columns.len();
        let known: Vec<Option<usize>> = texts
            .iter()
            .map(|c| self.longest_text(&p.plan, &c.name))
            .collect();
        let known_bytes = known.iter().flatten().sum::<usize>();
        let measure = |c: &&Column| column(&c.name);
        if fixed + known_bytes > copy_limit(self.engine.budget) {
            return (texts.iter().map(measure).collect(), fixed);
        }
        let unknown = texts.iter().zip(&known).filter(|(_, k)| k.is_none());
        (
            unknown.map(|(c, _)| measure(c)).collect(),
            fixed + known_bytes,
        )
    }

    /// [`longest_text`](Self::longest_text) of what `e` reads from `input`, when `e` is a column
    /// (maybe renamed).
    fn longest_passed_on(&self, mut e: &DfExpr, input: &LogicalPlan) -> Option<usize> {
        while let DfExpr::Alias(a) = e {
            e = &a.expr;
        }
        match e {
            DfExpr::Column(c) => self.longest_text(input, &c.name),
            _ => None,
        }
    }

    /// The longest text column `name` of `plan` can hold, when it is a catalog table's column
    /// passed on unchanged (projected, renamed, filtered, sorted, limited or a group key).
    fn longest_text(&self, plan: &LogicalPlan, name: &str) -> Option<usize> {
        match plan {
            LogicalPlan::Projection(p) => {
                let i = p.schema.index_of_column_by_name(None, name)?;
                self.longest_passed_on(p.expr.get(i)?, &p.input)
            }
            // The group keys come first in an aggregation's output.
            LogicalPlan::Aggregate(a) => {
                let i = a.schema.index_of_column_by_name(None, name)?;
                self.longest_passed_on(a.group_expr.get(i)?, &a.input)
            }
            LogicalPlan::Filter(f) => self.longest_text(&f.input, name),
            LogicalPlan::Sort(s) => self.longest_text(&s.input, name),
            LogicalPlan::Limit(l) => self.longest_text(&l.input, name),
            LogicalPlan::TableScan(t) => {
                let provider = source_as_provider(&t.source).ok()?;
                self.scanned.get(&address(&provider))?.longest_text(name)
            }
            _ => None,
        }
    }

    fn join(
        &mut self,
        left: Plan,
        right: Plan,
        kind: &str,
        on: &[JoinOn],
    ) -> Result<Plan, Fallback> {
        let kind = kind.to_ascii_lowercase();
        // Which sides' columns the output has.
        let (join_type, keep_left, keep_right) = match kind.as_str() {
            "inner" => (JoinType::Inner, true, true),
            "innerunique" => (JoinType::Inner, true, true),
            "leftouter" => (JoinType::Left, true, true),
            "rightouter" => (JoinType::Right, true, true),
            "fullouter" => (JoinType::Full, true, true),
            "leftsemi" => (JoinType::LeftSemi, true, false),
            "leftanti" | "anti" | "leftantisemi" => (JoinType::LeftAnti, true, false),
            "rightsemi" => (JoinType::RightSemi, false, true),
            "rightanti" | "rightantisemi" => (JoinType::RightAnti, false, true),
            _ => return Err(format!("join kind={kind}")),
        };
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for o in on {
            let (l, r) = match o {
                JoinOn::Column(c) => (c.clone(), c.clone()),
                JoinOn::Pair { left, right } => (left.clone(), right.clone()),
            };
            let lt = left.columns.iter().find(|c| c.name == l).map(|c| c.ty);
            let rt = right.columns.iter().find(|c| c.name == r).map(|c| c.ty);
            match (lt, rt) {
                (Some(a), Some(b)) if a == b && a != ScalarType::Dynamic => {}
                _ => return Err("join keys of different or unknown types".into()),
            }
            lk.push(l);
            rk.push(r);
        }
        let (left, right) = (self.narrow_rows(left)?, self.narrow_rows(right)?);
        // `innerunique` (Kusto's default) keeps the first left row of each key, then joins.
        let left = if kind == "innerunique" && !unique_on(&left, on) {
            let first = row_number()
                .partition_by(lk.iter().map(|k| column(k)).collect())
                .order_by(vec![SortExpr::new(column("__lo"), true, false)])
                .build()
                .map_err(|e| e.to_string())?
                .alias("__lr");
            let keep: Vec<DfExpr> = left.columns.iter().map(|c| column(&c.name)).collect();
            let plan = df(df(df(df(df(
                LogicalPlanBuilder::from(left.plan).window(vec![row_number().alias("__lo")])
            )?
            .window(vec![first]))?
            .filter(column("__lr").eq(lit(1u64))))?
            .project(keep))?
            .build())?;
            Plan { plan, ..left }
        } else {
            left
        };
        // Qualify both sides so equal names stay apart, then name the output as Kusto does.
        let lq = df(df(LogicalPlanBuilder::from(left.plan).alias("l"))?.build())?;
        let rq = df(df(LogicalPlanBuilder::from(right.plan).alias("r"))?.build())?;
        let lkeys: Vec<DfColumn> = lk.iter().map(|n| DfColumn::new(Some("l"), n)).collect();
        let rkeys: Vec<DfColumn> = rk.iter().map(|n| DfColumn::new(Some("r"), n)).collect();
        let joined =
            df(
                df(LogicalPlanBuilder::from(lq).join(rq, join_type, (lkeys, rkeys), None))?.build(),
            )?;
        let mut out: Vec<Column> = Vec::new();
        let mut exprs = Vec::new();
        for c in left.columns.iter().filter(|_| keep_left) {
            exprs.push(DfExpr::Column(DfColumn::new(Some("l"), &c.name)).alias(c.name.clone()));
            out.push(c.clone());
        }
        if keep_right {
            for c in &right.columns {
                let names: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
                let name = unique_name(&names, &c.name);
                exprs.push(DfExpr::Column(DfColumn::new(Some("r"), &c.name)).alias(name.clone()));
                out.push(Column::new(name, c.ty));
            }
        }
        let parallel = left.parallel || right.parallel;
        self.build(out, parallel, |b| b.project(exprs), joined)
    }
}

/// Every column as it is: the start of a projection that `set_column` changes.
fn as_is(columns: &[Column]) -> (Vec<Column>, Vec<DfExpr>) {
    let exprs = columns.iter().map(|c| column(&c.name)).collect();
    (columns.to_vec(), exprs)
}

/// Replaces the column named like `col` by `e` in a projection (in place, with `col`'s type),
/// or adds it at the end, as `extend` does.
fn set_column(cols: &mut Vec<Column>, exprs: &mut Vec<DfExpr>, col: Column, e: DfExpr) {
    match cols.iter().position(|c| c.name == col.name) {
        Some(i) => {
            cols[i].ty = col.ty;
            exprs[i] = e;
        }
        None => {
            cols.push(col);
            exprs.push(e);
        }
    }
}

/// Whether the left side of a join has one row per key (a `summarize … by` the join keys), so
/// Kusto's default `innerunique` is a plain inner join.
fn unique_on(left: &Plan, on: &[JoinOn]) -> bool {
    let LogicalPlan::Projection(p) = &left.plan else {
        return false;
    };
    let LogicalPlan::Aggregate(a) = p.input.as_ref() else {
        return false;
    };
    let keys: Vec<&str> = on
        .iter()
        .map(|o| match o {
            JoinOn::Column(c) => c.as_str(),
            JoinOn::Pair { left, .. } => left.as_str(),
        })
        .collect();
    a.group_expr.len() == keys.len()
        && keys.iter().all(|k| {
            left.columns
                .iter()
                .position(|c| c.name == *k)
                .is_some_and(|i| i < a.group_expr.len())
        })
}

/// The row cap of the final plan: one more than the row engine allows, to detect the overflow.
pub(super) fn capped(plan: LogicalPlan) -> Result<LogicalPlan, Fallback> {
    df(df(LogicalPlanBuilder::from(plan).limit(0, Some(MAX_ROWS + 1)))?.build())
}

/// Whether `e` calls a function of several results, whose columns `extend` and `project` make
/// on the row engine.
fn spreads(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. } if functions::tuple(name).is_some())
}
