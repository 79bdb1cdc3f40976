//! The DataFusion path through the public API: which queries it plans, Arrow-only tables, the
//! query's timespan, cancellation and the row cap.
#![cfg(feature = "datafusion")]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use kql::{Catalog, Column, ExecOptions, Executor, KqlError, ScalarType, Table, Value};

const HOUR: i64 = 3_600 * kql::value::TICKS_PER_SECOND;

/// `n` sign-ins, one an hour from t=0, user `u{i % 7}`, every third one failed, with 1-2 methods.
fn signins(n: usize) -> Table {
    let mut t = Table::new(vec![
        Column::new("TimeGenerated", ScalarType::DateTime),
        Column::new("UserPrincipalName", ScalarType::String),
        Column::new("ResultType", ScalarType::String),
        Column::new("UserAgent", ScalarType::String),
        Column::new("Methods", ScalarType::Dynamic),
    ]);
    for i in 0..n {
        let methods = if i % 2 == 0 {
            serde_json::json!(["Password"])
        } else {
            serde_json::json!(["Password", "FIDO2"])
        };
        t.rows.push(vec![
            Value::DateTime(i as i64 * HOUR),
            Value::str(format!("u{}", i % 7)),
            Value::str(if i % 3 == 0 { "50126" } else { "0" }),
            Value::str(if i % 5 == 0 {
                "Mozilla/5.0 Firefox/125.0"
            } else {
                "curl/8.0 firefoxish"
            }),
            Value::dynamic(methods),
        ]);
    }
    t
}

fn opts() -> ExecOptions {
    ExecOptions {
        now: 1_000 * HOUR,
        ..ExecOptions::default()
    }
}

fn catalog(n: usize) -> Catalog {
    let mut c = Catalog::new();
    c.insert("SigninLogs", signins(n));
    c
}

/// Runs on DataFusion whatever the table's size (`Executor::Auto` leaves small inputs to the
/// row engine).
fn run(c: &Catalog, q: &str, o: &ExecOptions) -> Result<kql::QueryResult, KqlError> {
    kql::execute_on(Executor::DataFusion, c, q, o)
}

fn long(v: &Value) -> i64 {
    match v {
        Value::Long(n) => *n,
        other => panic!("not a long: {other:?}"),
    }
}

#[test]
fn the_analysts_operators_are_planned_on_datafusion_and_the_rest_falls_back() {
    let c = catalog(10);
    for q in [
        "SigninLogs | where ResultType != '0' | summarize count() by bin(TimeGenerated, 1h), ResultType",
        "SigninLogs | summarize dcount(UserPrincipalName) by ResultType | sort by ResultType asc",
        "SigninLogs | where UserAgent has 'Firefox' | count",
        "SigninLogs | mv-expand m = Methods to typeof(string) | summarize count() by m",
        "SigninLogs | summarize n = count() by UserPrincipalName | join kind=inner (SigninLogs | summarize f = countif(ResultType != '0') by UserPrincipalName) on UserPrincipalName",
        "let T = SigninLogs | where TimeGenerated > ago(1d); T | project UserPrincipalName, Hour = hourofday(TimeGenerated) | take 3",
    ] {
        let plan = kql::explain(&c, q, &opts()).unwrap_or_else(|why| panic!("{q}: {why}"));
        assert!(plan.contains("TableScan"), "{q}: {plan}");
    }
    // Not lowered yet: make-series runs on the row engine, and still answers.
    let q = "SigninLogs | make-series count() on TimeGenerated step 1d";
    assert!(kql::explain(&c, q, &opts()).is_err());
    let r = run(&c, q, &opts()).expect("the row engine runs it");
    assert_eq!(r.table.rows.len(), 1);
}

#[test]
fn answers_match_the_kusto_semantics_on_both_engines() {
    let c = catalog(30);
    let q = "SigninLogs | where UserAgent has 'firefox' | summarize n = count(), users = dcount(UserPrincipalName) by ResultType | sort by ResultType asc";
    for executor in [Executor::DataFusion, Executor::Rows] {
        let r = kql::execute_on(executor, &c, q, &opts()).expect("runs");
        let names: Vec<&str> = r.table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ResultType", "n", "users"]);
        // `has` matches the whole term only: "firefoxish" does not count; i % 5 == 0 for i < 30.
        let rows: Vec<(String, i64, i64)> = r
            .table
            .rows
            .iter()
            .map(|row| (row[0].to_string(), long(&row[1]), long(&row[2])))
            .collect();
        assert_eq!(
            rows,
            [("0".to_string(), 4, 4), ("50126".to_string(), 2, 2)],
            "{executor:?}"
        );
    }
}

#[test]
fn unnamed_calls_get_kustos_names_on_both_engines() {
    let c = catalog(60);
    let q = "SigninLogs | summarize n = count() by startofday(TimeGenerated), tostring(Methods[1]) | project TimeGenerated, startofday(TimeGenerated), Methods_1, n | sort by TimeGenerated asc, Methods_1 asc";
    for executor in [Executor::DataFusion, Executor::Rows] {
        let r = kql::execute_on(executor, &c, q, &opts()).expect("runs");
        let names: Vec<&str> = r.table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["TimeGenerated", "TimeGenerated1", "Methods_1", "n"]);
        let counts: Vec<i64> = r.table.rows.iter().map(|row| long(&row[3])).collect();
        // 60 hours from midnight: days of 24, 24 and 12 hours, half of each with FIDO2.
        assert_eq!(counts, [12, 12, 12, 12, 6, 6], "{executor:?}");
    }
}

#[test]
fn an_expression_of_no_column_runs_once_a_row_on_datafusion() {
    let c = catalog(30);
    let q = "SigninLogs | extend g = strlen(tostring(new_guid())) | summarize n = count(), g = max(g), d = dcount(tostring(new_guid()))";
    let r = run(&c, q, &opts()).expect("runs");
    assert_eq!(r.executor, Executor::DataFusion);
    let row: Vec<i64> = r.table.rows[0].iter().map(long).collect();
    assert_eq!(row, [30, 36, 30]);
}

#[test]
fn arrow_only_tables_serve_both_engines() {
    let mut c = Catalog::new();
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("SigninLogs.parquet");
    kql::catalog::write_parquet(&signins(20), &file).expect("write");
    let (columns, batches) = kql::catalog::read_arrow(&file).expect("read");
    c.insert_arrow("SigninLogs", columns, batches);
    let q = "SigninLogs | mv-expand Methods | count";
    let fused = run(&c, q, &opts()).expect("datafusion");
    assert_eq!(long(&fused.table.rows[0][0]), 30);
    // The row engine (make-series is not lowered) gets rows made from the batches.
    let series = run(
        &c,
        "SigninLogs | make-series n = count() on TimeGenerated from datetime(1970-01-01) to datetime(1970-01-02) step 1h",
        &opts(),
    )
    .expect("row engine");
    assert_eq!(series.table.rows.len(), 1);
    assert_eq!(c.get("SigninLogs").map(|t| t.rows.len()), Some(20));
}

#[test]
fn small_inputs_run_on_the_row_engine_unless_datafusion_is_asked_for() {
    let q = "SigninLogs | summarize count() by UserPrincipalName";
    for (n, auto_runs_on) in [(100, Executor::Rows), (20_000, Executor::DataFusion)] {
        let c = catalog(n);
        assert!(kql::explain(&c, q, &opts()).is_ok());
        let auto = kql::execute(&c, q, &opts()).expect("auto");
        let fused = run(&c, q, &opts()).expect("datafusion");
        let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
        assert_eq!(auto.executor, auto_runs_on, "{n} rows");
        assert_eq!(fused.executor, Executor::DataFusion);
        assert_eq!(rows.executor, Executor::Rows);
        assert_eq!(auto.table, rows.table);
        assert_eq!(fused.table, rows.table);
    }
    // Not lowered: DataFusion asked for, the row engine answers.
    let c = catalog(100);
    let series = run(
        &c,
        "SigninLogs | make-series n = count() on TimeGenerated step 1d",
        &opts(),
    )
    .expect("row engine");
    assert_eq!(series.executor, Executor::Rows);
}

#[test]
fn the_query_timespan_hides_rows_outside_it() {
    let c = catalog(48);
    let o = ExecOptions {
        timespan: Some((10 * HOUR, 20 * HOUR)),
        ..opts()
    };
    let r = run(&c, "SigninLogs | count", &o).expect("runs");
    assert_eq!(long(&r.table.rows[0][0]), 10);
}

#[test]
fn a_passed_deadline_or_the_cancel_flag_stops_the_query() {
    let c = catalog(200_000);
    let q = "SigninLogs | extend x = strcat(UserPrincipalName, tostring(TimeGenerated)) | summarize dcount(x)";
    assert!(kql::explain(&c, q, &opts()).is_ok());
    let late = ExecOptions {
        deadline: Some(Instant::now() - Duration::from_millis(1)),
        ..opts()
    };
    assert!(matches!(run(&c, q, &late), Err(KqlError::Cancelled)));
    let flag = Arc::new(AtomicBool::new(true));
    let cancelled = ExecOptions {
        cancel: Some(flag),
        ..opts()
    };
    assert!(matches!(run(&c, q, &cancelled), Err(KqlError::Cancelled)));
}

#[test]
fn results_beyond_the_row_cap_are_an_error_not_an_exhausted_memory() {
    let c = catalog(1);
    // range() stops at 1,048,576 values; twice that, times three, passes the 2,000,000-row cap.
    let q = "print a = range(1, 1048576, 1), b = dynamic([1, 2, 3]) | mv-expand a | mv-expand b";
    assert!(kql::explain(&c, q, &opts()).is_ok());
    let err = match run(&c, q, &opts()) {
        Ok(r) => panic!("{} rows came back", r.table.rows.len()),
        Err(e) => e,
    };
    assert!(err.to_string().contains("more than 2000000 rows"), "{err}");
}

#[test]
fn mv_expand_to_string_agrees_with_the_row_engine_on_every_kind_of_cell() {
    let c = catalog(1);
    let q = r#"datatable(d: dynamic) [
        dynamic(["a", "b\"q", "ü"]), dynamic([1, "x", null, {"k": 2}]), dynamic({"p": 1, "q": "w"}),
        dynamic(null), dynamic([]), dynamic("plain"), dynamic(7)
    ] | mv-expand s = d to typeof(string) | project s"#;
    assert!(kql::explain(&c, q, &opts()).is_ok());
    let fused = kql::execute_on(Executor::DataFusion, &c, q, &opts()).expect("datafusion");
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    assert_eq!(rows.table.rows.len(), 12);
}

#[test]
fn kql_aggregates_merge_across_parallel_partitions_as_the_row_engine_computes_them() {
    // Large enough to be scanned in one partition per core, so partial states are merged.
    let c = catalog(300_000);
    let q = "SigninLogs | extend h = hourofday(TimeGenerated) \
             | summarize users = array_length(make_set(UserPrincipalName)), n = array_length(make_list(h)), \
               sd = round(stdev(h), 6), p50 = percentile(h, 50), firefox = array_length(make_set_if(UserPrincipalName, UserAgent has 'firefox')) \
               by ResultType | sort by ResultType asc";
    let plan = kql::explain(&c, q, &opts()).expect("lowered");
    assert!(plan.contains("make_set"), "{plan}");
    let fused = kql::execute_on(Executor::DataFusion, &c, q, &opts()).expect("datafusion");
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    assert_eq!(long(&rows.table.rows[0][2]), 200_000);
}

#[test]
fn repeated_and_look_alike_expressions_stay_apart() {
    // Two UDFs over the same column, and the same aggregate twice: DataFusion names expressions
    // after their text, so these would clash without distinct names and shared aggregates.
    let c = catalog(50);
    let q = "SigninLogs | summarize a = countif(toint(ResultType) == 0), b = countif(toint(ResultType) != 0), \
             c = countif(toint(ResultType) == 0), d = dcount(bin(TimeGenerated, 1d)), e = dcount(bin(TimeGenerated, 2d)), \
             f = countif(UserAgent has 'firefox'), g = countif(UserAgent has 'curl')";
    kql::explain(&c, q, &opts()).expect("lowered");
    let fused = run(&c, q, &opts()).expect("datafusion");
    assert_eq!(fused.executor, Executor::DataFusion);
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    let cells: Vec<i64> = rows.table.rows[0].iter().map(long).collect();
    assert_eq!(cells, [33, 17, 33, 3, 2, 10, 40]);
}

#[test]
fn the_default_join_keeps_the_first_left_row_of_each_key() {
    let c = catalog(1);
    let q = "datatable(k: string, v: long) ['a', 1, 'b', 2, 'a', 3, 'b', 4, 'c', 5] \
             | join (datatable(k: string, w: long) ['a', 10, 'a', 11, 'b', 20]) on k \
             | project k, v, w | sort by k asc, w asc";
    let fused = run(&c, q, &opts()).expect("datafusion");
    assert_eq!(fused.executor, Executor::DataFusion);
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    let got: Vec<(String, i64, i64)> = rows
        .table
        .rows
        .iter()
        .map(|r| (r[0].to_string(), long(&r[1]), long(&r[2])))
        .collect();
    assert_eq!(
        got,
        [
            ("a".to_string(), 1, 10),
            ("a".to_string(), 1, 11),
            ("b".to_string(), 2, 20)
        ]
    );
}

/// `lookup` is a left outer or inner join planned on DataFusion with Kusto's columns: the keys
/// once, from the left, then the left's columns, then the right's others, a same-named one
/// renamed; a null or unmatched key finds nothing.
#[test]
fn lookup_is_planned_on_datafusion_with_the_row_engines_columns_and_rows() {
    let c = catalog(1);
    let left = "datatable(k: long, name: string, v: long) \
                [1, 'a', 10, 2, 'b', 20, long(null), 'n', 30, 4, 'd', 40, 1, 'e', 50]";
    let cases = [
        (
            "leftouter",
            "on k",
            "datatable(k: long, name: string, w: long) [1, 'A', 100, 2, 'B', 200, 3, 'C', 300]",
            vec!["k", "name", "v", "name1", "w"],
            vec![
                (10, Some(100)),
                (20, Some(200)),
                (30, None),
                (40, None),
                (50, Some(100)),
            ],
        ),
        (
            "inner",
            "on $left.k == $right.id",
            "datatable(id: long, name: string, w: long) [1, 'A', 100, 2, 'B', 200, long(null), 'N', 999]",
            vec!["k", "name", "v", "name1", "w"],
            vec![(10, Some(100)), (20, Some(200)), (50, Some(100))],
        ),
    ];
    for (kind, on, right, names, want) in cases {
        let q = format!("{left} | lookup kind={kind} ({right}) {on} | sort by v asc");
        let plan = kql::explain(&c, &q, &opts()).unwrap_or_else(|why| panic!("{q}: {why}"));
        assert!(plan.contains("Join"), "{q}: {plan}");
        let fused = run(&c, &q, &opts()).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!(fused.executor, Executor::DataFusion, "{q}");
        let rows = kql::execute_on(Executor::Rows, &c, &q, &opts()).expect("rows");
        assert_eq!(fused.table, rows.table, "{q}");
        let got: Vec<&str> = rows.table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, names, "{q}");
        let got: Vec<(i64, Option<i64>)> = rows
            .table
            .rows
            .iter()
            .map(|r| (long(&r[2]), (!r[4].is_null()).then(|| long(&r[4]))))
            .collect();
        assert_eq!(got, want, "{q}");
    }
    // Kusto's lookup has no other kind: the row engine answers it.
    let q = format!("{left} | lookup kind=rightouter (datatable(k: long, w: long) [1, 5]) on k");
    let why = kql::explain(&c, &q, &opts()).expect_err("left to the row engine");
    assert!(why.to_string().contains("lookup kind=rightouter"), "{why}");
}

#[test]
fn a_tabular_let_used_as_a_scalar_runs_first_and_binds_as_the_row_engine_binds_it() {
    let c = catalog(70);
    let q = "let failed = SigninLogs | where ResultType != '0' | distinct UserPrincipalName; \
             let n = toscalar(failed | count); \
             SigninLogs | where UserPrincipalName in (failed) | summarize c = count(), known = max(n)";
    if let Err(why) = kql::explain(&c, q, &opts()) {
        panic!("{why}");
    }
    let fused = run(&c, q, &opts()).expect("datafusion");
    assert_eq!(fused.executor, Executor::DataFusion);
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    // Every third sign-in fails, over users u0..u6: all seven users have a failure.
    assert_eq!(long(&rows.table.rows[0][0]), 70);
    assert_eq!(long(&rows.table.rows[0][1]), 7);
}

#[test]
fn union_withsource_names_each_input_as_the_row_engine_does() {
    let c = catalog(12);
    let q = "SigninLogs | where ResultType != '0' | as Failed \
             | union withsource=Source isfuzzy=true (SigninLogs | take 2), (datatable(x: long) [1] | as Lit) \
             | summarize n = count() by Source | sort by Source asc";
    let fused = run(&c, q, &opts()).expect("datafusion");
    assert_eq!(fused.executor, Executor::DataFusion);
    let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
    assert_eq!(fused.table, rows.table);
    let got: Vec<(String, i64)> = rows
        .table
        .rows
        .iter()
        .map(|r| (r[0].to_string(), long(&r[1])))
        .collect();
    assert_eq!(
        got,
        [
            ("Failed".to_string(), 4),
            ("Lit".to_string(), 1),
            ("union_arg1".to_string(), 2)
        ]
    );
}

#[test]
fn mv_expand_of_several_columns_zips_them_and_honours_limit_and_kind() {
    let c = catalog(1);
    for q in [
        "datatable(a: dynamic, b: dynamic) [dynamic([1, 2, 3]), dynamic(['x']), dynamic([]), dynamic([])] \
         | mv-expand a to typeof(long), b to typeof(string)",
        "datatable(a: dynamic, b: dynamic) [dynamic([1, 2, 3]), dynamic(['x', 'y'])] | mv-expand a, b limit 2",
        "print d = dynamic({'p': 1, 'q': [2]}) | mv-expand kind=array d",
    ] {
        let fused = run(&c, q, &opts()).expect("datafusion");
        assert_eq!(fused.executor, Executor::DataFusion, "{q}");
        let rows = kql::execute_on(Executor::Rows, &c, q, &opts()).expect("rows");
        assert_eq!(fused.table, rows.table, "{q}");
    }
    let r = run(
        &c,
        "datatable(a: dynamic, b: dynamic) [dynamic([1, 2, 3]), dynamic(['x'])] | mv-expand a to typeof(long), b to typeof(string)",
        &opts(),
    )
    .expect("runs");
    let got: Vec<(i64, String)> = r
        .table
        .rows
        .iter()
        .map(|row| (long(&row[0]), row[1].to_string()))
        .collect();
    assert_eq!(
        got,
        [(1, "x".to_string()), (2, String::new()), (3, String::new())]
    );
}

#[test]
fn a_query_past_its_memory_limit_stops_with_an_error_naming_the_limit() {
    let c = catalog(200_000);
    let q = "SigninLogs | extend k = strcat(UserPrincipalName, '-', tostring(TimeGenerated)) | sort by k asc";
    let small = ExecOptions {
        memory_limit: 2 << 20,
        ..opts()
    };
    let err = match run(&c, q, &small) {
        Ok(r) => panic!("{} rows came back under a 2 MiB limit", r.table.rows.len()),
        Err(e) => e,
    };
    assert_eq!(
        err,
        KqlError::Memory(kql::MemoryError::Query { limit: 2 << 20 }),
        "{err}"
    );
    assert!(
        err.to_string().contains("more than 2 MB")
            && err.to_string().contains("SENTINEL_MCP_QUERY_MEMORY_MB"),
        "{err}"
    );
    // The default limit is far above what this needs.
    let r = run(
        &c,
        "SigninLogs | summarize count() by UserPrincipalName",
        &opts(),
    )
    .expect("runs");
    assert_eq!(r.table.rows.len(), 7);
}

#[test]
fn has_and_has_cs_on_the_same_term_stay_two_predicates() {
    // Both compile to one regex over the column; the case is in the pattern, so DataFusion
    // (which names an expression after its function and arguments) keeps them apart.
    let c = catalog(30);
    let q = "SigninLogs | summarize ci = countif(UserAgent has 'FIREFOX'), cs = countif(UserAgent has_cs 'FIREFOX')";
    kql::explain(&c, q, &opts()).unwrap_or_else(|why| panic!("{q}: {why}"));
    for executor in [Executor::DataFusion, Executor::Rows] {
        let r = kql::execute_on(executor, &c, q, &opts()).expect("runs");
        let row: Vec<i64> = r.table.rows[0].iter().map(long).collect();
        assert_eq!(row, [6, 0], "{executor:?}");
    }
}

#[test]
fn a_table_with_one_very_wide_row_is_joined_and_expanded_without_copying_it_into_batches() {
    // With a 64 MB budget DataFusion may copy rows of up to 64 MB / (4 x 8,192) = 2 KiB into a
    // batch. A table's longest values bound its rows without reading them, so narrow tables
    // need no guard; one 100 KB value makes the rows be measured, and the join and mv-expand
    // that would repeat it leave the query to the row engine, which answers the same.
    let opts = ExecOptions {
        memory_limit: 64 << 20,
        ..opts()
    };
    let join = "SigninLogs | join kind=inner (SigninLogs | project UserPrincipalName, Agent = UserAgent) on UserPrincipalName | count";
    let expand = "SigninLogs | mv-expand m = Methods to typeof(string) | summarize count()";
    let narrow = catalog(50);
    let mut wide_table = signins(50);
    wide_table.rows[3][3] = Value::str("x".repeat(100_000));
    let mut wide = Catalog::new();
    wide.insert("SigninLogs", wide_table);
    for (c, guarded, executor) in [
        (&narrow, false, Executor::DataFusion),
        (&wide, true, Executor::Rows),
    ] {
        let plan = kql::explain(c, join, &opts).expect("planned");
        assert_eq!(plan.contains("kql_row_guard"), guarded, "{plan}");
        // u0 holds 8 of the 50 rows and u1-u6 7 each: 64 + 6 x 49 pairs; half the rows have two methods.
        for (q, answer) in [(join, 358), (expand, 75)] {
            let r = run(c, q, &opts).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(r.executor, executor, "{q}");
            let rows = kql::execute_on(Executor::Rows, c, q, &opts).expect("row engine");
            assert_eq!(r.table.rows, rows.table.rows, "{q}");
            assert_eq!(long(&r.table.rows[0][0]), answer as i64, "{q}");
        }
    }
}

/// Integer arithmetic at the edges (`long` and `int` minimum by -1, by zero) answers null or
/// wraps as Kusto does, the same on both engines, and never panics.
#[test]
fn integer_edge_arithmetic_is_null_or_wraps_the_same_on_both_engines() {
    let mut t = Table::new(vec![
        Column::new("x", ScalarType::Long),
        Column::new("y", ScalarType::Long),
        Column::new("i", ScalarType::Int),
        Column::new("j", ScalarType::Int),
    ]);
    for (x, y, i, j) in [
        (i64::MIN, -1, i32::MIN, -1),
        (i64::MIN, 0, i32::MIN, 0),
        (7, -2, 7, -2),
        (i64::MAX, 1, i32::MAX, 1),
    ] {
        t.rows.push(vec![
            Value::Long(x),
            Value::Long(y),
            Value::Int(i),
            Value::Int(j),
        ]);
    }
    let mut c = Catalog::new();
    c.insert("N", t);
    let o = opts();
    let mut answers = Vec::new();
    for executor in [Executor::Rows, Executor::DataFusion] {
        let q = "N | project rem = x % y, quo = x / y, neg = -x, abs_x = abs(x), \
                 irem = i % j, iquo = i / j, ineg = -i";
        let r =
            kql::execute_on(executor, &c, q, &o).unwrap_or_else(|e| panic!("{executor:?}: {e}"));
        let rows = r.table.rows;
        // long: MIN % -1 and MIN / -1 overflow, and a zero divisor has no answer: null.
        assert_eq!(rows[0][0], Value::Null, "{executor:?} MIN % -1");
        assert_eq!(rows[0][1], Value::Null, "{executor:?} MIN / -1");
        assert_eq!(rows[1][0], Value::Null, "{executor:?} MIN % 0");
        assert_eq!(rows[1][1], Value::Null, "{executor:?} MIN / 0");
        // Negating or taking abs of the minimum wraps to itself, as 64-bit arithmetic does.
        assert_eq!(rows[0][2], Value::Long(i64::MIN), "{executor:?} -MIN");
        assert_eq!(rows[0][3], Value::Long(i64::MIN), "{executor:?} abs(MIN)");
        answers.push(rows);
    }
    assert_eq!(answers[0], answers[1], "the engines disagree");
}

/// `IsCompliant == 0` on a bool column: the same rows on both engines.
#[test]
fn a_bool_column_compared_with_zero_or_one_selects_the_same_rows_on_both_engines() {
    let mut t = Table::new(vec![
        Column::new("Name", ScalarType::String),
        Column::new("IsCompliant", ScalarType::Bool),
    ]);
    for (name, ok) in [("a", true), ("b", false), ("c", false)] {
        t.rows.push(vec![Value::str(name), Value::Bool(ok)]);
    }
    let mut c = Catalog::new();
    c.insert("Assessments", t);
    for executor in [Executor::Rows, Executor::DataFusion] {
        let r = kql::execute_on(
            executor,
            &c,
            "Assessments | where IsCompliant == 0 | order by Name asc | project Name",
            &opts(),
        )
        .unwrap_or_else(|e| panic!("{executor:?}: {e}"));
        assert_eq!(
            r.table.rows,
            vec![vec![Value::str("b")], vec![Value::str("c")]],
            "{executor:?}"
        );
    }
}

/// Both engines' answers to `q`, which DataFusion must plan (not leave to the row engine).
fn on_both(c: &Catalog, q: &str) -> (Table, Table) {
    let plan = kql::explain(c, q, &opts()).unwrap_or_else(|why| panic!("{q}: {why}"));
    let fused = run(c, q, &opts()).unwrap_or_else(|e| panic!("{q}: {e}\n{plan}"));
    assert_eq!(fused.executor, Executor::DataFusion, "{q}");
    let rows = kql::execute_on(Executor::Rows, c, q, &opts()).expect("rows");
    (fused.table, rows.table)
}

#[test]
fn make_series_with_a_range_is_planned_on_datafusion_with_the_row_engines_series() {
    // Large enough for parallel partitions, so each group's bins come from several of them.
    let c = catalog(300_000);
    for q in [
        "SigninLogs | make-series n = count() default = 0, f = countif(ResultType != '0') default = -1 \
         on TimeGenerated from datetime(1970-01-02) to datetime(1970-01-05) step 7h by UserPrincipalName \
         | sort by UserPrincipalName asc",
        "SigninLogs | make-series avg(hourofday(TimeGenerated)) on TimeGenerated in range(datetime(1970-01-01 05:00), datetime(1970-01-03), 1d) \
         by UserPrincipalName, ResultType | sort by UserPrincipalName asc, ResultType asc",
        "SigninLogs | where ResultType == 'none' | make-series count() on TimeGenerated from datetime(1970-01-01) to datetime(1970-01-02) step 1h",
        "SigninLogs | where ResultType == 'none' | make-series kind=nonempty count() on TimeGenerated from datetime(1970-01-01) to datetime(1970-01-02) step 6h",
        "SigninLogs | make-series count() on TimeGenerated from datetime(1970-01-01) to datetime(1970-01-02) step 6h",
        // Every row outside the range (the rows are an hour apart from 1970).
        "SigninLogs | make-series count() on TimeGenerated from datetime(2100-01-01) to datetime(2100-01-02) step 6h",
        "SigninLogs | make-series kind=nonempty count() on TimeGenerated from datetime(2100-01-01) to datetime(2100-01-02) step 6h",
        "SigninLogs | make-series count() default = 7 on TimeGenerated from datetime(2100-01-01) to datetime(2100-01-02) step 6h by ResultType",
    ] {
        let (fused, rows) = on_both(&c, q);
        assert_eq!(fused, rows, "{q}");
    }
    // The values themselves: u0 signs in at hours 0, 7, 14, …; 7h bins from day 2 see one each.
    let (fused, _) = on_both(
        &c,
        "SigninLogs | where UserPrincipalName == 'u0' | make-series count() on TimeGenerated \
         from datetime(1970-01-02 04:00) to datetime(1970-01-03) step 7h",
    );
    assert_eq!(fused.rows.len(), 1);
    assert_eq!(fused.rows[0][0].to_string(), "[1,1,1]");
    // Without `from`/`to` the data decides the range: still the row engine's.
    let why = kql::explain(
        &c,
        "SigninLogs | make-series count() on TimeGenerated step 1d",
        &opts(),
    )
    .expect_err("falls back");
    assert!(why.contains("from and to"), "{why}");
}

#[test]
fn percentiles_of_whole_numbers_are_one_datafusion_aggregate_with_the_row_engines_ranks() {
    let c = catalog(300_000);
    let q = "SigninLogs | extend h = hourofday(TimeGenerated) \
             | summarize percentiles(h, 0, 25, 50, 99.9, 100), p = percentile(TimeGenerated, 90), \
               e = percentile(toint(ResultType), 50) by ResultType | sort by ResultType asc";
    let plan = kql::explain(&c, q, &opts()).expect("lowered");
    assert!(plan.contains("kql_percentiles"), "{plan}");
    let (fused, rows) = on_both(&c, q);
    assert_eq!(fused, rows);
    // ResultType "0" is every hour but the multiples of 3, 12,500 rows each: 16 hours, so 25%
    // is the 4th (5), 50% the 8th (11), and 0% the first.
    let hours: Vec<i64> = rows.rows[0][1..6].iter().map(long).collect();
    assert_eq!(hours, [1, 5, 11, 23, 23]);
}

#[test]
fn has_any_of_constant_terms_is_one_regex_with_the_row_engines_answers() {
    let c = catalog(60);
    for q in [
        "SigninLogs | where UserAgent has_any ('FIREFOX', 'curl', 'nothing') | count",
        "SigninLogs | where UserAgent has_any ('firefoxish', '8.0') | count",
        "SigninLogs | where UserAgent has_any ('fire', 'Mozilla/5') | count",
        "SigninLogs | where UserAgent has_any ('', 'nothing') | count",
    ] {
        let plan = kql::explain(&c, q, &opts()).expect("lowered");
        assert!(plan.contains("kql_match"), "{q}\n{plan}");
        let (fused, rows) = on_both(&c, q);
        assert_eq!(fused, rows, "{q}");
    }
    // Every row has `firefox` or `curl` as a term; `firefoxish` is not `firefox`.
    let counts: Vec<i64> = [
        "SigninLogs | where UserAgent has_any ('FIREFOX', 'nothing') | count",
        "SigninLogs | where UserAgent has_any ('firefox', 'curl') | count",
        "SigninLogs | where UserAgent has_any ('fire', 'Mozilla/5') | count",
    ]
    .iter()
    .map(|q| long(&on_both(&c, q).0.rows[0][0]))
    .collect();
    assert_eq!(counts, [12, 60, 12]);
}
