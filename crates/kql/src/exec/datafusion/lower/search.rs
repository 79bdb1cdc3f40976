//! `search`: the rows of each searched table where the predicate holds (a bare string a term
//! looked up in every column), put together as `union withsource=$table` puts them; `find`, the
//! same with each table's columns laid out as the row engine lays them out (`FindLayout`).
//!
//! The predicate of each table is the row engine's (`Engine::search_predicate`: a part that names
//! a column the table lacks is false there), so both engines keep the same rows.

use crate::bind::context::Binding;
use crate::exec::rows::ops::wildcard_match;
use crate::syntax::ast::{Find, Function, Search};

use super::*;

/// A name in scope a `union` wildcard matches.
enum Local<'a> {
    /// A table of the query lowered (in `Lowering::lets`).
    Let,
    /// A table the row engine bound.
    Table(Arc<Table>),
    /// A function without parameters.
    View(&'a Function),
}

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

    /// `find in (...) where ...`: each table's matching rows as the row engine's `find_layout`
    /// lays them out, put together under the `source` column.
    pub(super) fn find(&mut self, f: &'a Find) -> Result<Plan, Fallback> {
        let parts = self.searched_tables(&f.tables)?;
        let schemas: Vec<&[Column]> = parts.iter().map(|(_, p)| &p.columns[..]).collect();
        let layout = (self.engine)
            .find_layout(f, &schemas, &self.env)
            .map_err(|e| e.to_string())?;
        let whole: Vec<String> = parts.iter().map(|(n, _)| n.clone()).collect();
        let mut kept = Vec::new();
        for ((name, p), (pred, out)) in parts.into_iter().zip(&layout.parts) {
            let e = self.expr(pred, ScalarType::Bool, &p.columns)?;
            let p = self.build(p.columns, p.parallel, |b| b.filter(e), p.plan)?;
            let mut exprs = Vec::new();
            for (c, x) in out {
                exprs.push(self.expr(x, c.ty, &p.columns)?.alias(c.name.clone()));
            }
            let columns = out.iter().map(|(c, _)| c.clone()).collect();
            kept.push((
                name,
                self.build(columns, p.parallel, |b| b.project(exprs), p.plan)?,
            ));
        }
        self.within_cells(&whole, &kept, Some(&f.source))?;
        let union = self.union_of(kept, Some(f.source.clone()))?;
        let width = union.columns.len();
        let mut columns = union.columns;
        columns.extend(layout.missing(&columns));
        let at = layout.order(&columns);
        // The missing columns are nulls of their type, added here.
        let exprs: Vec<DfExpr> = (at.iter())
            .map(|&i| match i < width {
                true => column(&columns[i].name),
                false => typed_null(columns[i].ty).alias(columns[i].name.clone()),
            })
            .collect();
        let out = at.iter().map(|&i| columns[i].clone()).collect();
        self.build(out, union.parallel, |b| b.project(exprs), union.plan)
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
                // Only catalog tables: on the row engine a `let` does not match here.
                ExprKind::Wildcard(w) => {
                    parts.extend(self.catalog_tables(|n| wildcard_match(w, n))?)
                }
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

    /// The tables a `union` wildcard (`Device*`) matches: the catalog's, then, as on the row
    /// engine, the names in scope bound to a table or a view, in the order they were bound
    /// (a name bound twice matching as it was bound first).
    pub(super) fn matching_tables(
        &mut self,
        w: &'a Expr,
        pattern: &str,
    ) -> Result<Vec<(String, Plan)>, Fallback> {
        let mut parts = self.catalog_tables(|n| wildcard_match(pattern, n))?;
        // Every name in scope, where the row engine's scope would hold it; `None` a let.
        let mut local: Vec<((usize, usize), &str, Option<&Binding<'a>>)> = Vec::new();
        for (name, named) in &self.lets {
            if named.hides && wildcard_match(pattern, name) {
                return Err(format!(
                    "a wildcard '{pattern}' matching a name bound twice"
                ));
            }
            local.push((named.at, name, None));
        }
        for (i, (name, b)) in self.env.vars.iter().enumerate() {
            local.push(((i, usize::MAX), name, Some(b)));
        }
        local.sort_by_key(|(at, ..)| *at);
        let mut seen: Vec<&str> = Vec::new();
        let mut matched = Vec::new();
        for (_, name, b) in local {
            if !wildcard_match(pattern, name) || seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let local = match b {
                None => Local::Let,
                Some(Binding::Table(t)) => Local::Table(Arc::clone(t)),
                Some(Binding::Function(f)) if f.params.is_empty() => Local::View(f),
                Some(_) => continue,
            };
            matched.push((name.to_string(), local));
        }
        for (name, local) in matched {
            let plan = match local {
                Local::Let => (self.lets.get(&name).map(|l| l.plan.clone())).ok_or("no let")?,
                Local::Table(t) => self.scan(&name, &ArrowTable::from_table(&t))?,
                Local::View(f) => self.call(w, f, &[], None)?,
            };
            parts.push((name, plan));
        }
        Ok(parts)
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
    }

    #[test]
    fn union_wildcards_match_lets_and_views_in_the_order_they_were_bound_on_datafusion() {
        let mut catalog = Catalog::new();
        let mut t = Table::new(vec![Column::new("x", ScalarType::Long)]);
        t.rows = vec![vec![Value::Long(1)], vec![Value::Long(2)]];
        catalog.insert("EventsA", t);
        // The catalog's tables first, then the `let`s and views (a scalar is no table).
        let q = "let EventsC = datatable(x: long) [9]; let Events0 = 1; \
                 union withsource=T Events* | summarize n = count() by T";
        let t = agreeing(&catalog, q);
        assert_eq!(t.rows.len(), 2);
        // Columns come in the inputs' order: a let, a view, a let.
        let q = "let V_a = datatable(a: long) [1]; let V_b = view () { print b = 2 }; \
                 let V_c = datatable(c: long) [3]; let W = datatable(w: long) [4]; \
                 union withsource=T V*";
        let t = agreeing(&catalog, q);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["T", "a", "b", "c"]);
        // The corpus's views, a wildcard matching nothing among them.
        let q = "let View_1 = view () { print x = 1 }; let View_2 = view () { print x = 1 }; \
                 let OtherView_1 = view () { print x = 1 }; \
                 union isfuzzy=true View*, SomeView*, OtherView* | count";
        assert_eq!(agreeing(&catalog, q).rows, [[Value::Long(3)]]);
        // A name bound twice matches as first bound on the row engine: left to it.
        let q = "let V1 = datatable(a: long) [1]; let V1 = datatable(b: long) [2]; union V*";
        let why = crate::explain(&catalog, q, &ExecOptions::default()).expect_err("rows");
        assert!(why.contains("bound twice"), "{why}");
    }

    #[test]
    fn a_fuzzy_union_skips_an_input_naming_no_table_on_datafusion() {
        let catalog = find_catalog();
        let q = "let View_1 = view () { print x = 1 }; \
                 union isfuzzy=true (View_1 | where x > 0), (View_3 | where x > 0), Procs \
                 | count";
        assert_eq!(agreeing(&catalog, q).rows, [[Value::Long(4)]]);
        let opts = ExecOptions::default();
        let fused = crate::execute_on(Executor::DataFusion, &catalog, q, &opts).expect("runs");
        let rows = crate::execute_on(Executor::Rows, &catalog, q, &opts).expect("rows");
        assert_eq!(fused.warnings, rows.warnings);
        assert_eq!(fused.warnings.len(), 1, "{:?}", fused.warnings);
        // Not fuzzy: an error on both engines.
        let q = "union (View_3 | where x > 0), Procs";
        assert!(crate::execute_on(Executor::DataFusion, &catalog, q, &opts).is_err());
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

    /// `q` on both engines, DataFusion planning it: the same columns and rows (as multisets).
    fn agreeing(catalog: &Catalog, q: &str) -> Table {
        let (_, mut fused, mut rows) = super::super::plan_and_answers(catalog, q);
        fused.rows.sort_by_key(|r| format!("{r:?}"));
        rows.rows.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(fused.rows, rows.rows, "{q}");
        fused
    }

    /// `Procs(x: long, s: string, d: datetime)` with a null `d`, `Files(s: string, y: real)`
    /// and `Other(x: string)`.
    fn find_catalog() -> Catalog {
        let mut catalog = Catalog::new();
        let mut t = Table::new(vec![
            Column::new("x", ScalarType::Long),
            Column::new("s", ScalarType::String),
            Column::new("d", ScalarType::DateTime),
        ]);
        t.rows = vec![
            vec![Value::Long(1), Value::str("a.exe"), Value::DateTime(0)],
            vec![Value::Long(2), Value::str("b.exe"), Value::Null],
            vec![Value::Long(3), Value::str(""), Value::DateTime(7)],
        ];
        catalog.insert("Procs", t);
        let mut u = Table::new(vec![
            Column::new("s", ScalarType::String),
            Column::new("y", ScalarType::Real),
        ]);
        u.rows = vec![
            vec![Value::str("a.exe"), Value::Real(0.5)],
            vec![Value::str("c.dll"), Value::Null],
        ];
        catalog.insert("Files", u);
        let mut v = Table::new(vec![Column::new("x", ScalarType::String)]);
        v.rows = vec![vec![Value::str("9")]];
        catalog.insert("Other", v);
        catalog
    }

    #[test]
    fn find_packs_the_other_columns_and_names_the_source_on_datafusion() {
        let catalog = find_catalog();
        // The columns every table has and those the predicate reads, then `pack_` of the
        // non-null rest; `x` of another type in `Other` is split by the union and left out.
        let cases: [(&str, &[&str], usize); 5] = [
            (
                "find in (Procs, Files) where s has 'exe' or y > 0",
                &["source_", "s", "y", "pack_"],
                3,
            ),
            (
                "find withsource=T in (Procs, Files) where x > 1",
                &["T", "x", "s", "pack_"],
                2,
            ),
            (
                "find in (Procs, Oth*) where x == 3 or x == '9'",
                &["source_", "pack_"],
                2,
            ),
            ("find where s == 'a.exe'", &["source_", "s", "pack_"], 2),
            // Nothing matches: the columns all the same.
            (
                "find in (Procs, Files) where s == 'none'",
                &["source_", "s", "pack_"],
                0,
            ),
        ];
        for (q, names, n) in cases {
            let t = agreeing(&catalog, q);
            let got: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(got, names, "{q}");
            assert_eq!(t.rows.len(), n, "{q}");
        }
        // A null is not packed; an empty string is.
        let t = agreeing(&catalog, "find in (Procs, Files) where x == 2 or x == 3");
        let packs: Vec<String> = t.rows.iter().map(|r| r[r.len() - 1].to_string()).collect();
        assert!(packs.iter().any(|p| p == "{}"), "{packs:?}");
        assert!(packs.iter().any(|p| p.contains("\"d\"")), "{packs:?}");
    }

    #[test]
    fn find_project_lists_its_columns_null_where_no_table_has_one_on_datafusion() {
        let catalog = find_catalog();
        let t = agreeing(
            &catalog,
            "find in (Procs, Files) where s endswith '.exe' or s == 'c.dll' project y, s, z: long, w",
        );
        let got: Vec<(&str, ScalarType)> =
            t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        assert_eq!(
            got,
            [
                ("source_", ScalarType::String),
                ("y", ScalarType::Real),
                ("s", ScalarType::String),
                ("z", ScalarType::Long),
                ("w", ScalarType::Dynamic),
            ]
        );
        assert_eq!(t.rows.len(), 4);
        // A name the tables hold in two types is split by the union: `project` finds no `x`.
        let t = agreeing(
            &catalog,
            "find in (Procs, Other) where isnotempty(x) project x",
        );
        assert_eq!(t.columns[1], Column::new("x", ScalarType::Dynamic));
        assert_eq!(t.rows.len(), 4);
    }
}
