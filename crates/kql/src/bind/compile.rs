//! Binding scalar expressions: names and functions resolved and typed against a schema before
//! any row is read, so unknown names and type clashes fail with a location even on empty tables.

use std::sync::Arc;

use serde_json::Value as J;

use crate::bind::context::{Binding, Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::{AggCollector, AggSpec, CExpr, Row, RunKind, tuple_result};
use crate::bind::naming::{argument_for, derive_name};
use crate::bind::types::{arith_type, comparable, op_name};
use crate::error::KqlError;
use crate::functions;
use crate::functions::aggregate;
use crate::syntax::ast::{BinOp, Expr, ExprKind, LetValue, Statement};
use crate::value::convert::{as_f64, as_i64, coerce, to_text, truth};
use crate::value::table::Column;
use crate::value::{ScalarType, Value};

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
                    Some(Binding::Pattern(_)) => {
                        return Err(self.resolution(
                            e,
                            &format!("Pattern '{n}' must be invoked with its arguments: {n}(...)"),
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
                        func: functions::function("bin_at"),
                        args: vec![x, CExpr::Lit(size), CExpr::Lit(at)],
                        ty,
                    },
                    None => CExpr::Call {
                        func: functions::function("bin"),
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
                    func: if nonempty {
                        &functions::PACK_NONEMPTY
                    } else {
                        functions::function("pack")
                    },
                    args: packed,
                    ty: T::Dynamic,
                };
                return Ok((call, T::Dynamic));
            }
            // estimate_data_size(a, b, *): a fixed-size type counts the same for every value
            // (null too), so those columns are summed here once; the call sizes the strings and
            // dynamic values row by row.
            "estimate_data_size" => {
                let mut fixed = 0i64;
                let mut sized = Vec::new();
                for a in args {
                    let compiled = if matches!(a.kind, ExprKind::Star) {
                        (0..schema.len())
                            .map(|i| (CExpr::Col(i), schema[i].ty))
                            .collect()
                    } else {
                        vec![self.compile(a, schema, env)?]
                    };
                    for (c, t) in compiled {
                        match functions::fixed_data_size(t) {
                            Some(n) => fixed += n,
                            None => sized.push(c),
                        }
                    }
                }
                sized.insert(0, CExpr::Lit(Value::Long(fixed)));
                let call = CExpr::Call {
                    func: functions::function("estimate_data_size"),
                    args: sized,
                    ty: T::Long,
                };
                return Ok((call, T::Long));
            }
            "row_number" => {
                let start = match args.first() {
                    Some(a) => as_i64(&self.constant(a, env)?).unwrap_or(1),
                    None => 1,
                };
                // With a restart predicate it is a running count, back to `start` on each row
                // where the predicate holds.
                return Ok(match args.get(1) {
                    Some(r) => (
                        CExpr::Running {
                            kind: RunKind::RowNumber,
                            args: vec![CExpr::Lit(Value::Long(start))],
                            restart: Some(Box::new(self.compile(r, schema, env)?.0)),
                            memo: Arc::default(),
                        },
                        T::Long,
                    ),
                    None => (CExpr::RowNumber(start), T::Long),
                });
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
        let Some(func) = functions::lookup(name) else {
            return Err(if functions::is_known_unsupported(name) {
                self.unsupported(e, &format!("The function '{name}()'"))
            } else {
                self.resolution(
                    e,
                    &format!("Failed to resolve scalar expression named '{name}'"),
                )
            });
        };
        let mut compiled = Vec::new();
        let mut types = Vec::new();
        for a in args {
            let (c, t) = self.compile(a, schema, env)?;
            compiled.push(c);
            types.push(t);
        }
        let ty = if func.name == "datetime_diff" && is_week(args.first()) {
            // Kusto answers a real for weeks (a long for every other part).
            T::Real
        } else {
            func.result_type(&types)
        };
        Ok((
            CExpr::Call {
                func,
                args: compiled,
                ty,
            },
            ty,
        ))
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
            func: functions::function(tuple.name),
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
                Statement::Pattern(p) => inner.push(p.name.clone(), Binding::Pattern(p)),
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
            method: aggregate::Method::of(name),
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

/// The literal part `'week'` (any case), the one `datetime_diff` answers as a real.
fn is_week(part: Option<&Expr>) -> bool {
    matches!(part, Some(Expr { kind: ExprKind::Literal(Value::String(p)), .. }) if p.eq_ignore_ascii_case("week"))
}
