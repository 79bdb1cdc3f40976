//! The local engine: binds a parsed query and runs it over in-memory tables.
//!
//! Two executors share one binder. With the `datafusion` feature (the default) a query is
//! lowered to a DataFusion plan and runs there, vectorised and on every core (`datafusion`); what
//! its planner does not lower yet runs on the row engine (`rows`), an evaluator that goes row by
//! row and is the reference for Kusto's semantics (a test runs the corpora on both and requires
//! the same answers). Names are bound and typed before any row is read (`bind::expr::CExpr`), so
//! unknown names and type clashes fail with a location even on empty tables, and every output
//! column has a type.
//!
//! Runs: `let` (scalars, tables, functions, views), `datatable`, `print`, `range`, `union`,
//! `search`, and the operators where, extend, project(-away/-keep/-rename/-reorder), summarize,
//! make-series, sort/order, top, take/limit, sample, count, distinct, join (all kinds), lookup,
//! union, mv-expand, mv-apply, parse/parse-where (simple, relaxed, regex), serialize, getschema,
//! as, invoke, render, top-nested, `evaluate bag_unpack`, and the element-wise series_* functions.
//! Parsed but not run (`KqlError::Unsupported`): top-hitters, partition, fork, facet, scan,
//! reduce, find, sample-distinct, parse-kv, other `evaluate` plugins, the geo_* functions and
//! series analysis (decompose, fit, periods).
//! Refused (`KqlError::Forbidden`): control commands, `externaldata`, `external_table()` and
//! network or code plugins.
//!
//! Differences from Kusto: `dcount` is exact (Kusto estimates with HyperLogLog), `percentile`
//! uses the nearest rank over all values (Kusto estimates with t-digest), the `hll` and `tdigest`
//! sketches hold their values exactly (so `estimate_data_size` of one is its values' size, not the
//! sketch's), `hash_many` and `hash_combine` combine hashes another way than Kusto's undocumented
//! one, `ingestion_time()` is `TimeGenerated`, and `innerunique` joins keep the first left row of
//! each key.

#[cfg(feature = "datafusion")]
pub(crate) mod datafusion;
pub(crate) mod rows;

use std::sync::Arc;

use crate::bind::context::{Binding, Engine, Env, ExecOptions, PatternCall, pattern_call};
use crate::bind::eval::eval;
use crate::bind::expr::{self, CExpr, Row};
use crate::bind::naming::argument_for;
use crate::budget::QueryBudget;
use crate::catalog::Catalog;
use crate::error::KqlError;
use crate::functions::{self, aggregate};
use crate::syntax::ast::{
    Expr, ExprKind, Function, LetValue, Pattern, PatternCase, Script, Statement, Visualization,
};
use crate::syntax::lexer::Token;
use crate::syntax::prepared::Prepared;
use crate::value::convert;
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub table: Table,
    pub warnings: Vec<String>,
    /// What a trailing `render` asked for (e.g. `timechart` with a title).
    pub visualization: Option<Visualization>,
    /// The engine that ran the query: `DataFusion` or `Rows`.
    pub executor: Executor,
    /// The most memory the query used at once, in bytes (0 without the counting allocator).
    pub peak_memory: usize,
}

/// Which engine runs a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Executor {
    /// DataFusion for what its planner lowers (with the `datafusion` feature) when the catalog
    /// tables the query names hold at least 5,000 rows, else the row engine (which answers small
    /// inputs faster than DataFusion can plan).
    #[default]
    Auto,
    /// DataFusion for what its planner lowers, whatever the input's size; else the row engine.
    DataFusion,
    /// The row engine only (the reference for Kusto's semantics).
    Rows,
}

/// Every function the engine runs, sorted, once each: the built-in scalar functions, those the
/// binder resolves itself (`now`, `pack_all`, `row_cumsum`, …) and the aggregation functions.
/// The binder knows no function outside this list.
pub fn function_names() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = functions::registry::names()
        .chain(expr::BINDER_FUNCTIONS)
        .chain(aggregate::names())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Parses and runs `text` against `catalog`.
///
/// The query runs on its own thread with a large stack, so deeply nested (even hostile)
/// expressions cannot overflow the caller's stack; a panic there becomes `KqlError::Runtime`.
pub fn execute(catalog: &Catalog, text: &str, opts: &ExecOptions) -> Result<QueryResult, KqlError> {
    execute_on(Executor::Auto, catalog, text, opts)
}

/// [`execute`] on a chosen engine.
pub fn execute_on(
    executor: Executor,
    catalog: &Catalog,
    text: &str,
    opts: &ExecOptions,
) -> Result<QueryResult, KqlError> {
    budgeted(opts, |budget| {
        // Lexed once: the executor's choice reads the tokens too.
        let tokens = crate::syntax::lexer::tokenize(text)?;
        let script = crate::syntax::parser::parse_tokens(text, &tokens)?;
        execute_here(executor, catalog, text, &tokens, &script, opts, budget)
    })
}

/// [`execute`] of a query the guard has parsed already, without parsing it again.
pub fn execute_prepared(
    catalog: &Catalog,
    query: &Prepared,
    opts: &ExecOptions,
) -> Result<QueryResult, KqlError> {
    budgeted(opts, |budget| {
        execute_here(
            Executor::Auto,
            catalog,
            &query.text,
            &query.tokens,
            &query.script,
            opts,
            budget,
        )
    })
}

/// Runs `run` under the query's memory, time and cancel budget, on a deep stack.
fn budgeted(
    opts: &ExecOptions,
    run: impl FnOnce(&Arc<QueryBudget>) -> Result<QueryResult, KqlError> + Send,
) -> Result<QueryResult, KqlError> {
    let budget = match &opts.engine_memory {
        Some(engine) => engine.admit(opts.memory_limit, opts.deadline, opts.cancel.clone())?,
        None => QueryBudget::new(opts.memory_limit, opts.deadline, opts.cancel.clone()),
    };
    let result = {
        // The whole run (and its result) is charged to the query, on this thread and on every
        // DataFusion task it spawns.
        let _scope = budget.enter();
        crate::syntax::parser::on_deep_stack(|| run(&budget))
    };
    budget.release();
    // A limit that stopped the query is the answer, whatever error it caused on the way out.
    budget.stopped()?;
    result.map(|r| QueryResult {
        peak_memory: budget.peak(),
        ..r
    })
}

/// The DataFusion plan `execute_on(Executor::DataFusion, …)` runs for `text`, or (as the error)
/// why the query runs on the row engine instead. (`Executor::Auto` also leaves queries over
/// fewer than 5,000 catalog rows to the row engine.) A tabular `let` the query uses as a scalar
/// is executed to plan the rest, as it is when the query runs.
#[cfg(feature = "datafusion")]
pub fn explain(catalog: &Catalog, text: &str, opts: &ExecOptions) -> Result<String, String> {
    let budget = QueryBudget::new(opts.memory_limit, opts.deadline, opts.cancel.clone());
    let _scope = budget.enter();
    let planned = crate::syntax::parser::on_deep_stack(|| {
        let script = crate::syntax::parser::parse_script(text)?;
        Ok(datafusion::explain(
            &mut Engine::new(catalog, text, opts, &budget),
            &script,
        ))
    });
    planned.map_err(|e| e.to_string())?
}

fn execute_here(
    executor: Executor,
    catalog: &Catalog,
    text: &str,
    tokens: &[Token],
    script: &Script,
    opts: &ExecOptions,
    budget: &Arc<QueryBudget>,
) -> Result<QueryResult, KqlError> {
    #[cfg(feature = "datafusion")]
    if executor == Executor::DataFusion
        || (executor == Executor::Auto
            && datafusion::catalog_rows(catalog, tokens) >= datafusion::MIN_ROWS)
    {
        let mut engine = Engine::new(catalog, text, opts, budget);
        match datafusion::run(&mut engine, script) {
            Ok(table) => {
                return Ok(QueryResult {
                    table,
                    warnings: engine.warnings,
                    visualization: engine.visualization,
                    executor: Executor::DataFusion,
                    peak_memory: 0,
                });
            }
            Err(datafusion::Skip::Failed(e)) => return Err(e),
            Err(datafusion::Skip::Fallback) => {}
        }
    }
    #[cfg(not(feature = "datafusion"))]
    let _ = (executor, tokens);
    let mut engine = Engine::new(catalog, text, opts, budget);
    let mut env = Env::default();
    let mut results = Vec::new();
    for st in &script.statements {
        match st {
            Statement::Query(e) => results.push(engine.tabular(e, &env)?),
            other => engine.statement(other, &mut env)?,
        }
    }
    if results.len() > 1 {
        engine.warnings.push(several_results_warning(results.len()));
    }
    let table = results.pop().ok_or_else(|| KqlError::Runtime {
        message: "the query has only let statements; end it with a tabular expression such as a table name".into(),
    })?;
    Ok(QueryResult {
        table,
        warnings: engine.warnings,
        visualization: engine.visualization,
        executor: Executor::Rows,
        peak_memory: 0,
    })
}

fn several_results_warning(n: usize) -> String {
    format!("The query has {n} result sets; only the last one is returned.")
}

/// The most rows one operator may produce; beyond it the query stops with an error rather
/// than exhausting memory.
pub(crate) const MAX_ROWS: usize = 2_000_000;

/// The most cells (rows times columns) a `union` may stack (about 1 GB of values): every input
/// row gets every column of every input, so a union of many wide tables is refused before it is
/// built.
pub(crate) const MAX_CELLS: usize = 40_000_000;

/// Where a function call's tabular parameter gets its table.
pub(crate) enum TableArg<'a> {
    /// The table piped into `invoke`.
    Input,
    /// The call's argument.
    Expr(&'a Expr),
}

impl<'a> Engine<'a> {
    pub(crate) fn statement(
        &mut self,
        st: &'a Statement,
        env: &mut Env<'a>,
    ) -> Result<(), KqlError> {
        match st {
            Statement::Let {
                name,
                value: LetValue::Expr(e),
                ..
            } => {
                if self.is_tabular(e, env) {
                    let t = self.tabular(e, env)?;
                    env.push(name.clone(), Binding::Table(Arc::new(t)));
                } else {
                    let (c, ty) = self.compile(e, &[], env)?;
                    let v = convert::coerce(eval(&c, Row::EMPTY), ty);
                    env.push(name.clone(), Binding::Scalar(v, ty));
                }
            }
            Statement::Let {
                name,
                value: LetValue::Function(f),
                ..
            } => env.push(name.clone(), Binding::Function(f)),
            // Options become bindings no identifier can name (`set:option`).
            Statement::Set {
                name,
                value: Some(e),
                ..
            } => {
                let (c, ty) = self.compile(e, &[], env)?;
                let v = convert::coerce(eval(&c, Row::EMPTY), ty);
                env.push(format!("set:{name}"), Binding::Scalar(v, ty));
            }
            Statement::Pattern(p) => env.push(p.name.clone(), Binding::Pattern(p)),
            Statement::Set { .. } | Statement::Declare { .. } => {}
            Statement::Query(_) => {}
        }
        Ok(())
    }

    /// Evaluates a tabular expression.
    pub(crate) fn tabular(&mut self, e: &'a Expr, env: &Env<'a>) -> Result<Table, KqlError> {
        self.check()?;
        if let Some(call) = pattern_call(e, env) {
            return self.invoke_pattern(e, call, env);
        }
        match &e.kind {
            ExprKind::Pipe { source, ops } => {
                // The first wheres and summarize read the source in place when they can.
                let (mut t, first) = match self.in_place(source, ops, env)? {
                    Some((t, ran)) => {
                        self.piped_name = None;
                        (t, ran)
                    }
                    None => (self.tabular(source, env)?, 0),
                };
                let mut scope: Option<Env<'a>> = None;
                let mut done = Vec::new();
                for (i, op) in ops.iter().enumerate().skip(first) {
                    if done.contains(&i) {
                        continue;
                    }
                    // Filters Kusto runs below an innerunique join run on its left side first.
                    for j in rows::join::filters_before_join(&ops[i..], &t.columns) {
                        t = self.operator(t, &ops[i + j], scope.as_ref().unwrap_or(env))?;
                        done.push(i + j);
                    }
                    t = self.operator(t, op, scope.as_ref().unwrap_or(env))?;
                    self.piped_name = None;
                    // `as Name` makes the result so far visible to the rest of the query,
                    // and names it in a `union withsource=` right after.
                    if let crate::syntax::ast::OperatorKind::As(name) = &op.kind {
                        let s = scope.get_or_insert_with(|| env.clone());
                        s.push(name.clone(), Binding::Table(Arc::new(t.clone())));
                        self.piped_name = Some(name.clone());
                    }
                }
                Ok(t)
            }
            ExprKind::Name(n) => match env.get(n) {
                Some(Binding::Table(t)) => Ok((**t).clone()),
                Some(Binding::Function(f)) if f.params.is_empty() => {
                    self.invoke(e, f, &[], None, env)
                }
                Some(Binding::Pattern(_)) => Err(self.resolution(
                    e,
                    &format!("Pattern '{n}' must be invoked with its arguments: {n}(...)"),
                )),
                Some(_) => Err(self.type_error(
                    e,
                    &format!("'{n}' is a scalar, but a table was expected here"),
                )),
                None => self.catalog_table(n).ok_or_else(|| {
                    self.resolution(
                        e,
                        &format!("Failed to resolve table or column expression named '{n}'"),
                    )
                }),
            },
            ExprKind::Call { name, args } => match env.get(name) {
                Some(Binding::Function(f)) => {
                    let f = *f;
                    self.invoke(e, f, args, None, env)
                }
                _ => match name.as_str() {
                    "materialize" | "view" => match args.first() {
                        Some(a) => self.tabular(a, env),
                        None => Err(self.type_error(e, "materialize() needs a tabular argument")),
                    },
                    // The name may be any constant string: a literal, or a function's
                    // parameter (`let f = (t: string) { table(t) | ... }; f("SigninLogs")`).
                    "table" => match args.first().map(|a| self.constant(a, env)).transpose()? {
                        Some(Value::String(n)) => self.catalog_table(&n).ok_or_else(|| {
                            self.resolution(
                                e,
                                &format!(
                                    "Failed to resolve table or column expression named '{n}'"
                                ),
                            )
                        }),
                        _ => Err(self.type_error(e, "table() needs a table name as a string")),
                    },
                    "external_table" => Err(self.forbidden(e.span, "external_table()")),
                    "cluster" | "database" | "workspace" | "app" | "resource" | "adx" | "arg" => {
                        Err(self.unsupported(
                            e,
                            &format!("The cross-resource query function '{name}()'"),
                        ))
                    }
                    _ => Err(self.resolution(
                        e,
                        &format!("Failed to resolve table or column expression named '{name}'"),
                    )),
                },
            },
            ExprKind::Datatable { columns, values } => self.datatable(e, columns, values, env),
            ExprKind::Print(items) => {
                let mut columns = Vec::new();
                let mut row = Vec::new();
                for (i, ne) in items.iter().enumerate() {
                    // A call of several results makes several columns, as in `project`.
                    if let Some((bag, spread)) =
                        self.bind_spread(&[], &ne.expr, &ne.names, true, env)?
                    {
                        let bag = CExpr::Lit(eval(&bag, Row::EMPTY));
                        for s in spread {
                            let taken: Vec<String> =
                                columns.iter().map(|c: &Column| c.name.clone()).collect();
                            columns.push(Column::new(s.name_among(&taken), s.ty));
                            row.push(convert::coerce(eval(&s.of(bag.clone()), Row::EMPTY), s.ty));
                        }
                        continue;
                    }
                    let (c, ty) = self.compile(&ne.expr, &[], env)?;
                    let name = ne
                        .names
                        .first()
                        .cloned()
                        .unwrap_or_else(|| format!("print_{i}"));
                    columns.push(Column::new(name, ty));
                    row.push(convert::coerce(eval(&c, Row::EMPTY), ty));
                }
                Ok(Table {
                    columns,
                    rows: vec![row],
                })
            }
            ExprKind::Range {
                name,
                from,
                to,
                step,
            } => self.range(e, name, from, to, step, env),
            ExprKind::Union(u) => self.union(None, u, env),
            ExprKind::Search(s) => self.search(None, s, env),
            ExprKind::Find(f) => self.find(f, env),
            ExprKind::ExternalData => Err(self.forbidden(e.span, "externaldata")),
            ExprKind::OtherSource(w) => Err(self.unsupported(e, &format!("The '{w}' operator"))),
            // `workspace('x').T`, `arg('').Resources`: the call reports the cross-resource query.
            ExprKind::Member { target, .. } if matches!(target.kind, ExprKind::Call { .. }) => {
                self.tabular(target, env)?;
                Err(self.type_error(e, "a table was expected here"))
            }
            ExprKind::Wildcard(w) => Err(self.resolution(
                e,
                &format!("Failed to resolve table or column expression named '{w}'"),
            )),
            _ => Err(self.type_error(
                e,
                "a scalar expression was found where a table was expected",
            )),
        }
    }

    /// Runs the mapping a pattern invocation names.
    fn invoke_pattern(
        &mut self,
        e: &'a Expr,
        call: PatternCall<'a, 'a>,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let case = self.pattern_case(e, &call, env)?;
        self.invoke(e, &case.body, &[], None, env)
    }

    /// The mapping of a pattern for the invocation's arguments and path, or an error naming the
    /// reference the pattern does not map, as Kusto's.
    pub(crate) fn pattern_case(
        &mut self,
        e: &Expr,
        call: &PatternCall<'a, 'a>,
        env: &Env<'a>,
    ) -> Result<&'a PatternCase, KqlError> {
        let mut args = Vec::with_capacity(call.args.len());
        for a in call.args {
            args.push(self.constant(a, env)?.to_string());
        }
        let pattern: &'a Pattern = call.pattern;
        if let Some(case) = pattern
            .cases
            .iter()
            .find(|c| c.args == args && c.path.as_deref() == call.path)
        {
            return Ok(case);
        }
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let mut reference = format!("{}({})", pattern.name, quoted.join(", "));
        if let Some(path) = call.path {
            reference.push_str(&format!(".['{path}']"));
        }
        Err(self.resolution(
            e,
            &format!(
                "One or more pattern references were not declared. Detected pattern references: \
                 [\"{reference}\"]"
            ),
        ))
    }

    /// Runs a user-defined function that returns a table; `input` feeds its first tabular parameter.
    pub(crate) fn invoke(
        &mut self,
        e: &'a Expr,
        f: &'a Function,
        args: &'a [Expr],
        input: Option<Table>,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        self.enter_call(e)?;
        let r = self.invoke_body(e, f, args, input, env);
        self.calls -= 1;
        r
    }

    pub(crate) fn invoke_body(
        &mut self,
        e: &'a Expr,
        f: &'a Function,
        args: &'a [Expr],
        input: Option<Table>,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let mut inner = env.clone();
        let mut input = input;
        for (name, arg) in self.bind_params(e, f, args, input.is_some(), env, &mut inner)? {
            let t = match arg {
                TableArg::Input => input.take().unwrap_or_default(),
                TableArg::Expr(a) => self.tabular(a, env)?,
            };
            inner.push(name, Binding::Table(Arc::new(t)));
        }
        let mut result = None;
        for st in &f.body {
            match st {
                Statement::Query(q) => result = Some(self.tabular(q, &inner)?),
                other => self.statement(other, &mut inner)?,
            }
        }
        result.ok_or_else(|| self.type_error(e, "the function body has no tabular result"))
    }

    /// Binds the scalar parameters of a call of `f` in `inner` (each to its argument's value,
    /// else its default's, evaluated in `env`), and says where each tabular one comes from: the
    /// piped input (to the first, when `piped`), else its argument.
    pub(crate) fn bind_params(
        &mut self,
        e: &'a Expr,
        f: &'a Function,
        args: &'a [Expr],
        piped: bool,
        env: &Env<'a>,
        inner: &mut Env<'a>,
    ) -> Result<Vec<(String, TableArg<'a>)>, KqlError> {
        let mut tables = Vec::new();
        let mut piped = piped;
        let mut next = 0;
        for p in &f.params {
            if p.ty.is_none() {
                let arg = if std::mem::take(&mut piped) {
                    TableArg::Input
                } else {
                    match argument_for(args, &p.name, &mut next) {
                        Some(a) => TableArg::Expr(a),
                        None => {
                            return Err(self.type_error(
                                e,
                                &format!("the function needs a table for parameter '{}'", p.name),
                            ));
                        }
                    }
                };
                tables.push((p.name.clone(), arg));
                continue;
            }
            let ty = p.ty.unwrap_or(ScalarType::Dynamic);
            let v = match (argument_for(args, &p.name, &mut next), &p.default) {
                (Some(a), _) => self.constant(a, env)?,
                (None, Some(d)) => self.constant(d, env)?,
                (None, None) => {
                    return Err(self.type_error(
                        e,
                        &format!("the function is missing a value for parameter '{}'", p.name),
                    ));
                }
            };
            inner.push(p.name.clone(), Binding::Scalar(convert::coerce(v, ty), ty));
        }
        Ok(tables)
    }

    pub(crate) fn datatable(
        &mut self,
        e: &'a Expr,
        columns: &[(String, ScalarType)],
        values: &'a [Expr],
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        if columns.is_empty() || !values.len().is_multiple_of(columns.len()) {
            return Err(self.type_error(
                e,
                &format!(
                    "datatable has {} values, which is not a multiple of its {} columns",
                    values.len(),
                    columns.len()
                ),
            ));
        }
        let cols: Vec<crate::value::table::Column> = columns
            .iter()
            .map(|(n, t)| crate::value::table::Column::new(n.clone(), *t))
            .collect();
        let mut rows = Vec::new();
        for chunk in values.chunks(columns.len()) {
            let mut row = Vec::new();
            for (v, c) in chunk.iter().zip(&cols) {
                row.push(convert::coerce(self.constant(v, env)?, c.ty));
            }
            rows.push(row);
        }
        Ok(Table {
            columns: cols,
            rows,
        })
    }

    pub(crate) fn range(
        &mut self,
        e: &'a Expr,
        name: &str,
        from: &'a Expr,
        to: &'a Expr,
        step: &'a Expr,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (steps, ty) = self.range_steps(e, from, to, step, env)?;
        Ok(Table {
            columns: vec![Column::new(name, ty)],
            rows: self.range_rows(steps)?,
        })
    }

    /// The values of a `range` (checked once: bounds of one type, a step that is not zero) and
    /// their type.
    pub(crate) fn range_steps(
        &mut self,
        e: &'a Expr,
        from: &'a Expr,
        to: &'a Expr,
        step: &'a Expr,
        env: &Env<'a>,
    ) -> Result<(RangeSteps, ScalarType), KqlError> {
        let (fv, tv, sv) = (
            self.constant(from, env)?,
            self.constant(to, env)?,
            self.constant(step, env)?,
        );
        match (&fv, &sv) {
            (Value::DateTime(_) | Value::TimeSpan(_), Value::TimeSpan(s)) => {
                let (start, end) = match (&fv, &tv) {
                    (Value::DateTime(a), Value::DateTime(b))
                    | (Value::TimeSpan(a), Value::TimeSpan(b)) => (*a, *b),
                    _ => return Err(self.type_error(e, "range bounds must have the same type")),
                };
                if *s == 0 {
                    return Err(self.type_error(e, "range step must not be zero"));
                }
                let ty = if matches!(fv, Value::DateTime(_)) {
                    ScalarType::DateTime
                } else {
                    ScalarType::TimeSpan
                };
                let steps = RangeSteps::Ints {
                    next: start,
                    end,
                    step: *s,
                    ty,
                };
                Ok((steps, ty))
            }
            _ => {
                let (Some(a), Some(b), Some(s)) = (
                    convert::as_f64(&fv),
                    convert::as_f64(&tv),
                    convert::as_f64(&sv),
                ) else {
                    return Err(self.type_error(
                        e,
                        "range needs numeric, datetime or timespan bounds and step",
                    ));
                };
                if s == 0.0 {
                    return Err(self.type_error(e, "range step must not be zero"));
                }
                let real = matches!(
                    fv.scalar_type(),
                    Some(ScalarType::Real | ScalarType::Decimal)
                ) || sv.scalar_type() == Some(ScalarType::Real);
                if real {
                    return Ok((RangeSteps::numbers(a, b, s, true), ScalarType::Real));
                }
                // Whole-number bounds and step count in integers, exact past 2^53 as Kusto's
                // longs are; a fractional (decimal) step keeps the float formula.
                let steps = match (whole(&fv), whole(&sv)) {
                    (Some(next), Some(step)) if !b.is_nan() => RangeSteps::Ints {
                        next,
                        // The last whole number inside a fractional bound; a bound past the
                        // ends of i64 saturates to them.
                        end: whole(&tv)
                            .unwrap_or((if step > 0 { b.floor() } else { b.ceil() }) as i64),
                        step,
                        ty: ScalarType::Long,
                    },
                    _ => RangeSteps::numbers(a, b, s, false),
                };
                Ok((steps, ScalarType::Long))
            }
        }
    }

    /// The rows of a `range`, each its value, up to [`MAX_ROWS`].
    pub(crate) fn range_rows(&mut self, steps: RangeSteps) -> Result<Vec<Vec<Value>>, KqlError> {
        let mut rows = Vec::new();
        for v in steps {
            self.check()?;
            rows.push(vec![v]);
            if rows.len() > MAX_ROWS {
                return Err(range_too_long());
            }
        }
        Ok(rows)
    }
}

/// The error of a `range` of more than [`MAX_ROWS`] values.
pub(crate) fn range_too_long() -> KqlError {
    KqlError::Runtime {
        message: format!("range produces more than {MAX_ROWS} rows; use a larger step"),
    }
}

/// An int or a long as i64; None for other values (a real or decimal, even a whole one).
fn whole(v: &Value) -> Option<i64> {
    match convert::undyn(v) {
        Value::Int(i) => Some(i64::from(i)),
        Value::Long(i) => Some(i),
        _ => None,
    }
}

/// A long, datetime or timespan (`ty`) as a value.
pub(crate) fn int_value(ty: ScalarType, x: i64) -> Value {
    match ty {
        ScalarType::DateTime => Value::DateTime(x),
        ScalarType::TimeSpan => Value::TimeSpan(x),
        _ => Value::Long(x),
    }
}

/// The values of a `range`, made one at a time.
#[derive(Clone)]
pub(crate) enum RangeSteps {
    /// Longs, or datetimes or timespans as ticks (`ty`), counted on in integers.
    Ints {
        next: i64,
        end: i64,
        step: i64,
        ty: ScalarType,
    },
    /// `from + i * step` (as Kusto computes them, so a real step does not drift): reals, or
    /// longs of a fractional step.
    Numbers {
        from: f64,
        to: f64,
        step: f64,
        i: f64,
        real: bool,
    },
}

/// The next of a range of integers: `next`, then moved a step on; None past `end`. A step past the
/// ends of `i64` leaves nothing inside the range, so it ends the range by zeroing `step` (a
/// saturated `next` would repeat a bound of `i64::MAX` for ever).
#[inline]
fn next_int(next: &mut i64, end: i64, step: &mut i64) -> Option<i64> {
    let x = *next;
    if !((*step > 0 && x <= end) || (*step < 0 && x >= end)) {
        return None;
    }
    match x.checked_add(*step) {
        Some(n) => *next = n,
        None => *step = 0,
    }
    Some(x)
}

/// The next of a range of numbers: `from + i * step`, then `i` counted on; None past `to`.
#[inline]
fn next_number(from: f64, to: f64, step: f64, i: &mut f64) -> Option<f64> {
    let x = from + *i * step;
    if (step > 0.0 && x > to) || (step < 0.0 && x < to) {
        return None;
    }
    *i += 1.0;
    Some(x)
}

/// How many of the next `n` values of a range of numbers (from position `at`) `next_number`
/// gives. Its test is monotone in the position (the float products and sums round monotonically),
/// so the count is found by a binary search: a dozen tests, not one a value.
fn numbers_left(from: f64, to: f64, step: f64, at: f64, n: usize) -> usize {
    let passes = |k: usize| next_number(from, to, step, &mut (at + k as f64)).is_some();
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if passes(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl RangeSteps {
    /// `from + i * step` from the start.
    fn numbers(from: f64, to: f64, step: f64, real: bool) -> RangeSteps {
        RangeSteps::Numbers {
            from,
            to,
            step,
            i: 0.0,
            real,
        }
    }

    /// The type of the values: datetime, timespan, long or real.
    pub(crate) fn ty(&self) -> ScalarType {
        match self {
            RangeSteps::Ints { ty, .. } => *ty,
            RangeSteps::Numbers { real: true, .. } => ScalarType::Real,
            RangeSteps::Numbers { .. } => ScalarType::Long,
        }
    }

    /// The next values (up to `n`) as ticks or longs, without making a `Value` of each as
    /// [`Iterator::next`] does; None for a range of reals. The loops count on copies of the
    /// position, kept in registers rather than stored back at each step.
    pub(crate) fn next_ints(&mut self, n: usize) -> Option<Vec<Option<i64>>> {
        let mut out = Vec::with_capacity(n);
        match self {
            RangeSteps::Ints {
                next, end, step, ..
            } => {
                let (at, by) = (*next, *step);
                let inside = (by > 0 && at <= *end) || (by < 0 && at >= *end);
                let left = if inside {
                    (i128::from(*end) - i128::from(at)) / i128::from(by) + 1
                } else {
                    0
                };
                let m = left.min(n as i128) as i64;
                // Each value lies between `at` and `end`, so the wrapping sums are exact.
                out.extend((0..m).map(|k| Some(at.wrapping_add(k.wrapping_mul(by)))));
                if i128::from(m) == left {
                    // The end: a zero step gives nothing more.
                    *step = 0;
                } else {
                    *next = at.wrapping_add(m.wrapping_mul(by));
                }
            }
            RangeSteps::Numbers { real: true, .. } => return None,
            RangeSteps::Numbers {
                from, to, step, i, ..
            } => {
                let (from, to, step, at) = (*from, *to, *step, *i);
                let m = numbers_left(from, to, step, at, n);
                out.extend((0..m).map(|k| Some((from + (at + k as f64) * step) as i64)));
                *i = at + m as f64;
            }
        }
        Some(out)
    }

    /// The next values (up to `n`) of a range of reals; None for one of other values.
    pub(crate) fn next_reals(&mut self, n: usize) -> Option<Vec<Option<f64>>> {
        let RangeSteps::Numbers {
            from,
            to,
            step,
            i,
            real: true,
        } = self
        else {
            return None;
        };
        let (from, to, step, at) = (*from, *to, *step, *i);
        let m = numbers_left(from, to, step, at, n);
        let mut out = Vec::with_capacity(m);
        out.extend((0..m).map(|k| Some(from + (at + k as f64) * step)));
        *i = at + m as f64;
        Some(out)
    }
}

impl Iterator for RangeSteps {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        match self {
            RangeSteps::Ints {
                next,
                end,
                step,
                ty,
            } => next_int(next, *end, step).map(|x| int_value(*ty, x)),
            RangeSteps::Numbers {
                from,
                to,
                step,
                i,
                real,
            } => {
                let x = next_number(*from, *to, *step, i)?;
                Some(if *real {
                    Value::Real(x)
                } else {
                    Value::Long(x as i64)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
