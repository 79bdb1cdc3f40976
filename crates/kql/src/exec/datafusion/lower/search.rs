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
        let catalog = self.engine.catalog;
        let mut parts = Vec::new();
        if tables.is_empty() {
            for n in catalog.names() {
                parts.push((n.to_string(), self.catalog_table(n)?));
            }
        }
        for e in tables {
            match &e.kind {
                ExprKind::Wildcard(w) => {
                    for n in catalog.names().filter(|n| wildcard_match(w, n)) {
                        parts.push((n.to_string(), self.catalog_table(n)?));
                    }
                }
                ExprKind::Name(n) => parts.push((n.clone(), self.tabular(e)?)),
                _ => parts.push((String::new(), self.tabular(e)?)),
            }
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use crate::value::table::{Column, Table};
    use crate::{Catalog, ExecOptions, Executor, ScalarType, Value};

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
