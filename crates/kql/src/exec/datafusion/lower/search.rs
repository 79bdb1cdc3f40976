//! `search`: the rows of each searched table where the predicate holds (a bare string a term
//! looked up in every column), put together as `union withsource=$table` puts them.
//!
//! The predicate of each table is the row engine's (`Engine::search_predicate`: a part that names
//! a column the table lacks is false there), so both engines keep the same rows.

use crate::exec::rows::ops::wildcard_match;
use crate::syntax::ast::Search;

use super::*;

impl<'a> Lowering<'_, 'a> {
    /// `search` over `input` (piped in) or the tables it names (every catalog table if none).
    pub(super) fn search(&mut self, input: Option<Plan>, s: &'a Search) -> Result<Plan, Fallback> {
        let parts = match input {
            Some(p) => vec![(piped_union_name(None), p)],
            None => self.searched_tables(&s.tables)?,
        };
        let mut kept = Vec::new();
        for (name, p) in parts {
            let pred = self
                .engine
                .search_predicate(&s.predicate, &p.columns, &self.env, s.case_sensitive)
                .map_err(|e| e.to_string())?;
            let e = self.expr(&pred, ScalarType::Bool, &p.columns)?;
            kept.push((
                name,
                self.build(p.columns, p.parallel, |b| b.filter(e), p.plan)?,
            ));
        }
        self.union_of(kept, Some("$table".into()))
    }

    /// The tables `search in (...)` names, by name (wildcards matched against the catalog's
    /// names), every catalog table when it names none.
    fn searched_tables(&mut self, tables: &'a [Expr]) -> Result<Vec<(String, Plan)>, Fallback> {
        if tables.is_empty() {
            return self.catalog_tables(|_| true);
        }
        let mut parts = Vec::new();
        for e in tables {
            match &e.kind {
                ExprKind::Wildcard(w) => parts.extend(self.matching_tables(w)?),
                ExprKind::Name(n) => parts.push((n.clone(), self.tabular(e)?)),
                _ => parts.push((String::new(), self.tabular(e)?)),
            }
        }
        Ok(parts)
    }

    /// The catalog tables whose names `pick` picks, by name, in the catalog's order.
    pub(super) fn catalog_tables(
        &mut self,
        pick: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, Plan)>, Fallback> {
        let catalog = self.engine.catalog;
        let mut parts = Vec::new();
        for n in catalog.names().filter(|n| pick(n)) {
            parts.push((n.to_string(), self.catalog_table(n)?));
        }
        Ok(parts)
    }

    /// The catalog tables a wildcard (`Device*`) matches. On the row engine a `let` table or a
    /// view of a matching name is matched too: such a query stays there.
    pub(super) fn matching_tables(&mut self, w: &str) -> Result<Vec<(String, Plan)>, Fallback> {
        let local = self.lets.keys().chain(self.env.vars.iter().map(|(n, _)| n));
        if local.into_iter().any(|n| wildcard_match(w, n)) {
            return Err(format!("a wildcard '{w}' matching a let or a view"));
        }
        self.catalog_tables(|n| wildcard_match(w, n))
    }
}

#[cfg(test)]
mod tests {
    use crate::value::table::{Column, Table};
    use crate::{Catalog, ExecOptions, Executor, ScalarType, Value};

    #[test]
    fn union_of_star_or_a_wildcard_reads_the_catalog_tables_on_datafusion() {
        let mut catalog = Catalog::new();
        for (name, n) in [("EventsA", 2), ("EventsB", 3), ("Logs", 4)] {
            let mut t = Table::new(vec![Column::new("x", ScalarType::Long)]);
            t.rows = (0..n).map(|i| vec![Value::Long(i)]).collect();
            catalog.insert(name, t);
        }
        let opts = ExecOptions::default();
        for (q, want) in [
            ("union withsource=T * | summarize n = count() by T", 3),
            (
                "union withsource=T Events*, Logs | summarize n = count() by T",
                3,
            ),
            ("union withsource=T Ev* | summarize n = count() by T", 2),
        ] {
            if let Err(why) = crate::explain(&catalog, q, &opts) {
                panic!("{q}: {why}");
            }
            let fused = crate::execute_on(Executor::DataFusion, &catalog, q, &opts).expect("runs");
            assert_eq!(fused.executor, Executor::DataFusion, "{q}");
            let rows = crate::execute_on(Executor::Rows, &catalog, q, &opts).expect("rows");
            let (mut a, mut b) = (fused.table.rows, rows.table.rows);
            a.sort_by_key(|r| format!("{r:?}"));
            b.sort_by_key(|r| format!("{r:?}"));
            assert_eq!(a, b, "{q}");
            assert_eq!(a.len(), want, "{q}");
        }
        // On the row engine a `let` of a matching name is an input too.
        let q = "let EventsC = datatable(x: long) [9]; union Events* | count";
        let why = crate::explain(&catalog, q, &opts).expect_err("left to the row engine");
        assert!(why.contains("matching a let"), "{why}");
    }

    #[test]
    fn search_is_a_union_of_each_tables_matching_rows_on_datafusion() {
        let mut catalog = Catalog::new();
        let mut t = Table::new(vec![
            Column::new("x", ScalarType::Long),
            Column::new("s", ScalarType::String),
        ]);
        t.rows = vec![
            vec![Value::Long(1), Value::str("an ntds.dit copy")],
            vec![Value::Long(2), Value::str("ntds")],
            vec![Value::Long(3), Value::str("other")],
        ];
        catalog.insert("Events", t);
        let mut u = Table::new(vec![Column::new("s", ScalarType::String)]);
        u.rows = vec![vec![Value::str("NTDS.dit")], vec![Value::str("x")]];
        catalog.insert("Logs", u);
        // `x` of another type: the union makes `x_long` and `x_string`, as the row engine does.
        let mut v = Table::new(vec![Column::new("x", ScalarType::String)]);
        v.rows = vec![vec![Value::str("ntds again")]];
        catalog.insert("Other", v);
        let opts = ExecOptions::default();
        let cases = [
            // Every table, a term in any column (case-insensitive).
            ("search 'ntds' | sort by s asc", 4),
            // Named tables and wildcards; `x` is false where a table lacks it.
            ("search in (Events, Lo*) 'dit' and x < 2", 1),
            ("search kind=case_sensitive in (Logs) 'NTDS'", 1),
            ("Events | search 'ntds' or x == 3", 3),
        ];
        for (q, n) in cases {
            let plan =
                crate::explain(&catalog, q, &opts).unwrap_or_else(|why| panic!("{q}: {why}"));
            assert!(plan.contains("Filter"), "{q}: {plan}");
            let fused = crate::execute_on(Executor::DataFusion, &catalog, q, &opts)
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(fused.executor, Executor::DataFusion, "{q}");
            let rows = crate::execute_on(Executor::Rows, &catalog, q, &opts).expect("rows");
            assert_eq!(fused.table.columns, rows.table.columns, "{q}");
            let (mut a, mut b) = (fused.table.rows, rows.table.rows);
            a.sort_by_key(|r| format!("{r:?}"));
            b.sort_by_key(|r| format!("{r:?}"));
            assert_eq!(a, b, "{q}");
            assert_eq!(a.len(), n, "{q}");
            assert_eq!(fused.table.columns[0].name, "$table", "{q}");
        }
        let all = crate::execute_on(Executor::DataFusion, &catalog, "search 'ntds'", &opts);
        let names: Vec<String> = all
            .expect("runs")
            .table
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["$table", "x_long", "s", "x_string"]);
    }
}
