//! User-defined functions lowered in their place: a call as a source (`f(...)`, a view named
//! alone), `T | invoke f(...)`, and `table("name")`.
//!
//! The binder knows the body, so the call is inlined: its scalar parameters are bound to their
//! values as the row engine binds them (`Engine::bind_params`), its tabular parameters name the
//! plans of their arguments (the piped input first), and its statements are lowered like a
//! script's, in a scope that ends with the call.

use crate::bind::context::Binding;
use crate::exec::TableArg;
use crate::syntax::ast::Function;

use super::*;

impl<'a> Lowering<'_, 'a> {
    /// The user-defined function `name` names in scope, if any.
    pub(super) fn function(&self, name: &str) -> Option<&'a Function> {
        match self.env.get(name) {
            Some(Binding::Function(f)) => Some(*f),
            _ => None,
        }
    }

    /// A call `e` of `f` with `args` (and `input` piped into its first tabular parameter).
    pub(super) fn call(
        &mut self,
        e: &'a Expr,
        f: &'a Function,
        args: &'a [Expr],
        input: Option<Plan>,
    ) -> Result<Plan, Fallback> {
        let mut inner = self.env.clone();
        let tables = self
            .engine
            .bind_params(e, f, args, input.is_some(), &self.env, &mut inner)
            .map_err(|e| e.to_string())?;
        let mut input = input;
        let mut plans = Vec::new();
        for (name, arg) in tables {
            let plan = match arg {
                TableArg::Input => input.take().ok_or("invoke without an input")?,
                TableArg::Expr(a) => self.tabular(a)?,
            };
            plans.push((name, plan));
        }
        // A function's tables run first are known by its scope: a second call would find the
        // first's.
        let at = std::ptr::from_ref(f) as usize;
        let calls = self.visits.entry(at).or_insert(0);
        *calls += 1;
        if *calls > 1
            && self
                .ran
                .iter()
                .any(|(n, _)| n.ends_with(&format!("@{at:x}")))
        {
            return Err("a function whose tables are run first, called twice".into());
        }
        self.engine.enter_call(e).map_err(|e| e.to_string())?;
        let outer_env = std::mem::replace(&mut self.env, inner);
        let outer_lets = self.lets.clone();
        let outer_scope = self.scope.replace(at);
        let body = (plans.into_iter())
            .try_for_each(|(name, plan)| self.name_table(&name, plan))
            .and_then(|()| self.body(&f.body));
        self.engine.calls -= 1;
        // On failure the body's scope stays, for the query's lowering to find what it lacked.
        let body = body?;
        self.env = outer_env;
        self.lets = outer_lets;
        self.scope = outer_scope;
        body.ok_or_else(|| "a function body with no tabular result".into())
    }

    /// The statements of a function's body in order; the plan of its last query.
    fn body(&mut self, body: &'a [Statement]) -> Result<Option<Plan>, Fallback> {
        let mut result = None;
        for st in body {
            if let Some(q) = self.statement(st)? {
                result = Some(self.tabular(q)?);
            }
        }
        Ok(result)
    }

    /// One statement of a script or a function's body: a tabular `let` is lowered and named,
    /// another binds in scope as on the row engine; a query is returned, to be lowered.
    pub(in crate::exec::datafusion) fn statement(
        &mut self,
        st: &'a Statement,
    ) -> Result<Option<&'a Expr>, Fallback> {
        match st {
            Statement::Let {
                name,
                value: crate::syntax::ast::LetValue::Expr(e),
                ..
            } if self.engine.is_tabular(e, &self.env)
                || matches!(&e.kind, ExprKind::Name(n) if self.lets.contains_key(n)) =>
            {
                let plan = self.tabular(e)?;
                self.name_table(name, plan)?;
                Ok(None)
            }
            Statement::Query(e) => Ok(Some(e)),
            other => {
                let bound = self.engine.statement(other, &mut self.env);
                bound.map_err(|e| e.to_string())?;
                Ok(None)
            }
        }
    }

    /// `T | invoke f(...)`: `T` is `f`'s first tabular parameter.
    pub(super) fn invoke(&mut self, p: Plan, call: &'a Expr) -> Result<Plan, Fallback> {
        match &call.kind {
            ExprKind::Call { name, args } => {
                let f = self
                    .function(name)
                    .ok_or_else(|| format!("invoke of '{name}'"))?;
                self.call(call, f, args, Some(p))
            }
            _ => Err("invoke without a call".into()),
        }
    }

    /// `table("name")`: the catalog table of that constant name.
    pub(super) fn table_call(&mut self, args: &'a [Expr]) -> Result<Plan, Fallback> {
        let [arg] = args else {
            return Err("table() of several arguments".into());
        };
        match self.engine.constant(arg, &self.env) {
            Ok(Value::String(name)) => self.catalog_table(&name),
            _ => Err("table() of no constant name".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::value::table::{Column, Table};
    use crate::{Catalog, ScalarType, Value};

    /// The DataFusion plan of `q` over a table `T` of `x` = 1..=5, after checking DataFusion
    /// answers it with the row engine's columns and rows.
    fn planned_and_agreeing(q: &str) -> (String, Vec<Vec<Value>>) {
        let mut catalog = Catalog::new();
        let mut t = Table::new(vec![Column::new("x", ScalarType::Long)]);
        t.rows = (1..=5).map(|x| vec![Value::Long(x)]).collect();
        catalog.insert("T", t);
        let (plan, fused, rows) = super::super::plan_and_answers(&catalog, q);
        assert_eq!(fused, rows, "{q}");
        (plan, rows.rows)
    }

    #[test]
    fn a_function_called_as_a_source_or_invoked_is_lowered_in_its_place() {
        let cases = [
            // Scalar and tabular parameters, named and positional, and a default.
            (
                "let above = (n: long, S: (x: long), k: long = 10) { S | where x > n | summarize c = count(), m = max(x) + k }; \
                 above(S = T, 2)",
                vec![Value::Long(3), Value::Long(15)],
            ),
            // `invoke`: the piped table is the first tabular parameter.
            (
                "let above = (S: (x: long), n: long) { S | where x > n | summarize c = count(), m = max(x) }; \
                 T | where x != 5 | invoke above(1)",
                vec![Value::Long(3), Value::Long(4)],
            ),
            // A view named alone, and a function calling another with `table()`.
            (
                "let V = view () { table('T') | where x < 3 }; \
                 let W = (name: string) { table(name) | where x >= 3 }; \
                 union V, W('T') | summarize c = count(), m = sum(x)",
                vec![Value::Long(5), Value::Long(15)],
            ),
            // A `let` in the body is the body's own: the outer `S` is seen again after it.
            (
                "let S = T | where x == 1; \
                 let f = () { let S = T | where x > 1; S | summarize c = count(), m = sum(x) }; \
                 f() | union (S | summarize c = count(), m = sum(x)) | summarize c = sum(c), m = sum(m)",
                vec![Value::Long(5), Value::Long(15)],
            ),
        ];
        for (q, want) in cases {
            let (plan, rows) = planned_and_agreeing(q);
            assert!(plan.contains("TableScan: t"), "{q}: {plan}");
            assert_eq!(rows, [want], "{q}");
        }
    }

    #[test]
    fn a_functions_table_read_as_a_scalar_is_run_first_for_each_call_apart() {
        // A tabular parameter and a `let` of the body, each read by a scalar expression.
        let clipped = "let clipped = (T:(x: long), low:double, high:double) {
                let hi = toscalar(T | summarize percentile(x, high));
                let lo = toscalar(T | summarize percentile(x, low));
                T | where x > lo and x < hi | summarize avg(x)
            };";
        let q = format!("{clipped} range x from 1 to 100 step 1 | invoke clipped(5, 95)");
        let (plan, rows) = planned_and_agreeing(&q);
        assert!(plan.contains("Aggregate"), "{plan}");
        assert_eq!(rows, [[Value::Real(50.0)]]);
        let q = "let above = (n:long) { let big = range y from 1 to 10 step 1 | where y > n; \
                 print has = toscalar(big | count) };
                 above(7)";
        assert_eq!(planned_and_agreeing(q).1, [[Value::Long(3)]]);
        let q = "let listed = (n:long) { let small = range y from 1 to n step 1; \
                 T | where x in (small) | count };
                 listed(2)";
        assert_eq!(planned_and_agreeing(q).1, [[Value::Long(2)]]);
        // Named like the catalog's `T` (of five rows): its own rows, not the catalog's.
        let q = "let T = range x from 1 to 3 step 1; print n = toscalar(T | count)";
        assert_eq!(planned_and_agreeing(q).1, [[Value::Long(3)]]);
        // Called twice, over different tables: the second call stays on the row engine.
        let q = format!(
            "{clipped} union (range x from 1 to 100 step 1 | invoke clipped(5, 95)), \
             (range x from 1 to 10 step 1 | invoke clipped(5, 95))"
        );
        let catalog = Catalog::new();
        assert!(crate::explain(&catalog, &q, &crate::ExecOptions::default()).is_err());
    }
}
