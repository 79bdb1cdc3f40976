//! Tabular operators and statements on the row engine.

use super::*;

#[test]
fn where_filters_with_case_insensitive_string_operators() {
    assert_eq!(
        run("SigninLogs | where UserPrincipalName has 'ALICE'")
            .table
            .len(),
        2
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName has_cs 'ALICE'")
            .table
            .len(),
        0
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName contains 'contoso'")
            .table
            .len(),
        4
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName startswith 'B'")
            .table
            .len(),
        1
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName !endswith '.com'")
            .table
            .len(),
        0
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName =~ 'BOB@contoso.com'")
            .table
            .len(),
        1
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName == 'BOB@contoso.com'")
            .table
            .len(),
        0
    );
    assert_eq!(
        run("SigninLogs | where IPAddress matches regex @'^10\\.'")
            .table
            .len(),
        1
    );
    assert_eq!(
        run("SigninLogs | where UserPrincipalName has_any ('bob', 'carol')")
            .table
            .len(),
        2
    );
    assert_eq!(
        run("SigninLogs | where ResultType in (0, 1)").table.len(),
        2
    );
    assert_eq!(run("SigninLogs | where ResultType !in (0)").table.len(), 2);
    assert_eq!(
        run("SigninLogs | where UserPrincipalName in~ ('ALICE@contoso.com')")
            .table
            .len(),
        2
    );
}

#[test]
fn time_filters_use_the_query_clock() {
    assert_eq!(
        run("SigninLogs | where TimeGenerated > ago(1d)")
            .table
            .len(),
        3
    );
    assert_eq!(
        run("SigninLogs | where TimeGenerated between (ago(2h) .. now())")
            .table
            .len(),
        2
    );
    assert_eq!(cell("print now() - 1h"), Value::DateTime(NOW - HOUR));
    assert_eq!(
        cell("print datetime(2024-01-02) + 1d"),
        Value::DateTime(NOW + 24 * HOUR)
    );
    assert_eq!(
        cell("print datetime(2024-01-02 01:00:00) - datetime(2024-01-02)"),
        Value::TimeSpan(HOUR)
    );
}

#[test]
fn timespan_option_hides_rows_outside_the_window() {
    let mut o = opts();
    o.timespan = Some((NOW - 5 * HOUR, NOW));
    let r = both(&catalog(), "SigninLogs | count", &o).unwrap();
    assert_eq!(r.table.rows, vec![vec![Value::Long(3)]]);
}

#[test]
fn a_window_holding_every_rows_time_keeps_them_all_and_a_row_without_one_never() {
    let dated = |times: &[Value]| Table {
        columns: vec![
            Column::new("TimeGenerated", ScalarType::DateTime),
            Column::new("x", ScalarType::Long),
        ],
        rows: (times.iter().zip(0..))
            .map(|(t, x)| vec![t.clone(), Value::Long(x)])
            .collect(),
    };
    let mut c = Catalog::new();
    c.insert("T", dated(&[Value::DateTime(10), Value::DateTime(20)]));
    let null = [Value::DateTime(10), Value::Null, Value::DateTime(20)];
    c.insert("WithNull", dated(&null));
    let count = |table: &str, window: (i64, i64)| {
        let mut o = opts();
        o.timespan = Some(window);
        let r = both(&c, &format!("{table} | summarize count(), sum(x)"), &o);
        r.map(|r| r.table.rows).unwrap_or_default()
    };
    let rows = |n: i64, sum: i64| vec![vec![Value::Long(n), Value::Long(sum)]];
    // The window's start is in it, its end is not.
    assert_eq!(count("T", (10, 21)), rows(2, 1));
    assert_eq!(count("T", (0, 20)), rows(1, 0));
    assert_eq!(count("T", (11, 100)), rows(1, 1));
    assert_eq!(count("WithNull", (0, 100)), rows(2, 2));
}

#[test]
fn extend_and_project_name_and_type_columns() {
    let r = run(
        "SigninLogs | take 1 | extend x = ResultType + 1, y = x * 2, 1.5 | project x, y, Column1, Props.app, b = tostring(Props.app)",
    );
    assert_eq!(names(&r.table), vec!["x", "y", "Column1", "Props_app", "b"]);
    let types: Vec<ScalarType> = r.table.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        vec![
            ScalarType::Long,
            ScalarType::Long,
            ScalarType::Real,
            ScalarType::Dynamic,
            ScalarType::String
        ]
    );
    assert_eq!(r.table.rows[0][1], Value::Long(2));
    assert_eq!(r.table.rows[0][4], Value::str("Teams"));
}

#[test]
fn table_takes_any_constant_name_such_as_a_function_parameter() {
    let r = run(
        "let f = (name: string) { table(name) | count }; let n = 'Signin'; union f('SigninLogs'), (table(strcat(n, 'Logs')) | count)",
    );
    assert_eq!(
        r.table.rows,
        vec![vec![Value::Long(4)], vec![Value::Long(4)]]
    );
    let e = err("table(1)").to_string();
    assert!(e.contains("table() needs a table name as a string"), "{e}");
}

#[test]
fn project_away_rename_reorder_keep() {
    let r = run(
        "SigninLogs | project-away Props, IP* | project-rename User = UserPrincipalName | project-reorder ResultType",
    );
    assert_eq!(names(&r.table), vec!["ResultType", "TimeGenerated", "User"]);
    let r = run("SigninLogs | project-keep Res*, TimeGenerated");
    assert_eq!(names(&r.table), vec!["TimeGenerated", "ResultType"]);
}

#[test]
fn sort_defaults_to_descending_with_nulls_last() {
    let r = run("datatable(a:long)[3, 1, long(null), 2] | sort by a");
    let vals: Vec<Value> = r.table.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        vals,
        vec![Value::Long(3), Value::Long(2), Value::Long(1), Value::Null]
    );
    let r = run("datatable(a:long)[3, 1, long(null), 2] | order by a asc");
    assert_eq!(r.table.rows[0][0], Value::Null);
    let r = run("datatable(a:long)[3, 1, 2] | top 2 by a asc");
    assert_eq!(
        r.table.rows,
        vec![vec![Value::Long(1)], vec![Value::Long(2)]]
    );
}

#[test]
fn joins_follow_kusto_kinds() {
    let base = "SigninLogs | project UPN = UserPrincipalName, ResultType";
    assert_eq!(run(&format!("{base} | join (Users) on UPN")).table.len(), 2);
    assert_eq!(
        run(&format!("{base} | join kind=inner (Users) on UPN"))
            .table
            .len(),
        3
    );
    let r = run(&format!(
        "{base} | join kind=leftouter Users on $left.UPN == $right.UPN"
    ));
    assert_eq!(r.table.len(), 4);
    assert_eq!(names(&r.table), vec!["UPN", "ResultType", "UPN1", "Dept"]);
    assert_eq!(
        run(&format!("{base} | join kind=leftanti Users on UPN"))
            .table
            .len(),
        1
    );
    assert_eq!(
        run(&format!("{base} | join kind=rightanti Users on UPN"))
            .table
            .len(),
        1
    );
    assert_eq!(
        run(&format!("{base} | join kind=leftsemi Users on UPN"))
            .table
            .len(),
        3
    );
    assert_eq!(
        run(&format!("{base} | join kind=fullouter Users on UPN"))
            .table
            .len(),
        5
    );
    let r = run(&format!("{base} | lookup Users on UPN"));
    assert_eq!(names(&r.table), vec!["UPN", "ResultType", "Dept"]);
}

#[test]
fn a_filter_on_the_left_side_runs_before_an_innerunique_join_keeps_one_row_per_key() {
    // The docs' example: without the filter the first left row of key 1 is kept; with it Kusto
    // filters the left side first, so val1.2 always reaches the output.
    let tables = "let t1 = datatable(key: long, value: string) [1, 'val1.1', 1, 'val1.2']; \
                  let t2 = datatable(key: long, value: string) [1, 'val1.3', 1, 'val1.4'];";
    let joined = format!("{tables} t1 | join kind = innerunique t2 on key");
    let r = run(&format!("{joined} | sort by value1 asc"));
    assert_eq!(r.table.rows[0][..2], [Value::Long(1), Value::str("val1.1")]);
    let r = run(&format!(
        "{joined} | where value == 'val1.2' | where value1 != 'x' | sort by value1 asc"
    ));
    assert_eq!(names(&r.table), ["key", "value", "key1", "value1"]);
    let cells: Vec<Vec<Value>> = r.table.rows.clone();
    assert_eq!(
        cells,
        [
            [
                Value::Long(1),
                Value::str("val1.2"),
                Value::Long(1),
                Value::str("val1.3")
            ],
            [
                Value::Long(1),
                Value::str("val1.2"),
                Value::Long(1),
                Value::str("val1.4")
            ],
        ]
    );
    // The default kind is innerunique too; a filter reading a right column stays after the join.
    let r = run(&format!(
        "{tables} t1 | join t2 on key | where value == 'val1.2' and key > 0"
    ));
    assert_eq!(r.table.len(), 2);
    let r = run(&format!(
        "{joined} | where value1 == 'val1.4' | project value"
    ));
    assert_eq!(r.table.rows, [[Value::str("val1.1")]]);
}

#[test]
fn pattern_statements_map_string_tuples_to_queries() {
    // The docs' examples: a pattern with a path, invoked every way Kusto normalizes alike.
    let country = "declare pattern country = (name:string)[state:string]
        {
          (\"USA\").[\"New York\"] = { print Capital = \"Albany\" };
          (\"USA\").[\"Washington\"] = { print Capital = \"Olympia\" };
          (\"Canada\").[\"Alberta\"] = { print Capital = \"Edmonton\" };
        };";
    for call in [
        "country(\"Canada\").Alberta",
        "country('Canada').['Alberta']",
        "country(\"Canada\").[\"Alberta\"]",
    ] {
        let r = run(&format!("{country}\n{call}"));
        assert_eq!(names(&r.table), ["Capital"], "{call}");
        assert_eq!(r.table.rows, [[Value::str("Edmonton")]], "{call}");
    }
    let r = run("declare pattern map_ip_to_longlat = (address:string)
        {
          (\"10.10.10.10\") = { print Lat=37.405992, Long=-122.078515 };
        };
        map_ip_to_longlat(\"10.10.10.10\")");
    assert_eq!(names(&r.table), ["Lat", "Long"]);
    assert_eq!(
        r.table.rows,
        [[Value::Real(37.405992), Value::Real(-122.078515)]]
    );
    // Invocations are tables anywhere one is expected: in a union, a let, a join.
    let app = "declare pattern App = (applicationId:string)[scope:string]
        {
            ('a1').['Data'] = { range x from 1 to 5 step 1 | project App = 'App #1', Data = x };
            ('a2').['Data'] = { range x from 1 to 5 step 1 | project App = 'App #2', Data = 10 - x };
        };";
    let r = run(&format!(
        "{app}\nlet d = App('a2').Data; union d, App('a1').Data | summarize sum(Data) by App | sort by App asc"
    ));
    assert_eq!(
        r.table.rows,
        [
            [Value::str("App #1"), Value::Long(15)],
            [Value::str("App #2"), Value::Long(35)]
        ]
    );
    // A mapping may hold its own statements.
    assert_eq!(
        cell("declare pattern p = (a:string) { ('x') = { let c = 'y'; print c }; }; p('x')"),
        Value::str("y")
    );
    // A tuple the pattern does not map, and a pattern only declared, name the reference.
    for (q, reference) in [
        (format!("{app}\nApp('a1').['*']"), "App('a1').['*']"),
        (format!("{app}\nApp('a3').Data"), "App('a3').['Data']"),
        (
            "declare pattern map_ip_to_longlat;\nmap_ip_to_longlat('10.10.10.10')".to_string(),
            "map_ip_to_longlat('10.10.10.10')",
        ),
    ] {
        let e = err(&q).to_string();
        assert!(
            e.contains("One or more pattern references were not declared")
                && e.contains(&format!("[\"{reference}\"]")),
            "{q}: {e}"
        );
    }
}

#[test]
fn union_widens_by_name_and_records_the_source() {
    let r = run("union withsource=T SigninLogs, Users | summarize count() by T");
    assert_eq!(r.table.len(), 2);
    let r = run("union (print a = 1), (print a = 'x', b = 2)");
    assert_eq!(names(&r.table), vec!["a_long", "a_string", "b"]);
    let r = run("union Sign* | count");
    assert_eq!(r.table.rows[0][0], Value::Long(4));
}

#[test]
fn mv_expand_and_parse() {
    let r = run("SigninLogs | mv-expand tag = Props.tags to typeof(string) | project tag");
    let vals: Vec<String> = r.table.rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(vals, vec!["a", "b", "c", ""]);
    assert_eq!(r.table.columns[0].ty, ScalarType::String);
    let r =
        run("print s = 'user=alice id=42 ok' | parse s with 'user=' user ' id=' id:long ' ' rest");
    assert_eq!(names(&r.table), vec!["s", "user", "id", "rest"]);
    assert_eq!(
        r.table.rows[0][1..],
        [Value::str("alice"), Value::Long(42), Value::str("ok")]
    );
    let r = run("datatable(s:string)['a=1', 'b'] | parse-where s with 'a=' v:long");
    assert_eq!(r.table.len(), 1);
}

#[test]
fn let_statements_functions_and_materialize() {
    assert_eq!(
        cell("let x = 5; let f = (a:long, b:long = 2) { a * b }; print f(x)"),
        Value::Long(10)
    );
    let r = run(
        "let T = SigninLogs | where ResultType != 0; let n = toscalar(T | count); T | extend n = n | take 1",
    );
    assert_eq!(r.table.rows[0][5], Value::Long(2));
    let r = run(
        "let Failures = (t:(*)) { t | where ResultType != 0 }; SigninLogs | invoke Failures() | count",
    );
    assert_eq!(r.table.rows[0][0], Value::Long(2));
    let r = run(
        "let ips = materialize(SigninLogs | where ResultType != 0 | distinct IPAddress); SigninLogs | where IPAddress in (ips) | count",
    );
    assert_eq!(r.table.rows[0][0], Value::Long(2));
}

#[test]
fn print_range_count_distinct_getschema_serialize() {
    let r = run("print 1, a = 'x'");
    assert_eq!(names(&r.table), vec!["print_0", "a"]);
    assert_eq!(run("range i from 1 to 5 step 2").table.len(), 3);
    assert_eq!(
        run("SigninLogs | distinct UserPrincipalName").table.len(),
        3
    );
    let r = run("SigninLogs | getschema");
    assert_eq!(r.table.rows[0][0], Value::str("TimeGenerated"));
    assert_eq!(r.table.rows[0][3], Value::str("datetime"));
    let r = run("range i from 5 to 7 step 1 | serialize rn = row_number(), p = prev(i)");
    assert_eq!(r.table.rows[2][1..], [Value::Long(3), Value::Long(6)]);
}

/// Kusto's documented example: `row_number(start, restart)` numbers each run of rows anew
/// from `start` where the predicate holds.
#[test]
fn row_number_restarts_at_its_start_where_the_predicate_holds() {
    let r = run(
        "datatable (Airport:string, Airline:string, Departures:long) \
         ['TLV', 'LH', 1, 'TLV', 'LY', 100, 'SEA', 'LH', 1, 'SEA', 'BA', 2, 'SEA', 'LY', 0] \
         | sort by Airport asc, Departures desc \
         | extend Rank = row_number(1, prev(Airport) != Airport), From5 = row_number(5, Departures == 1)",
    );
    let ranks: Vec<(Value, Value)> = r
        .table
        .rows
        .iter()
        .map(|row| (row[3].clone(), row[4].clone()))
        .collect();
    let want = [(1, 5), (2, 5), (3, 6), (1, 7), (2, 5)];
    assert_eq!(ranks, want.map(|(a, b)| (Value::Long(a), Value::Long(b))));
}

#[test]
fn bag_unpack_and_mv_apply() {
    let r = run("SigninLogs | take 1 | evaluate bag_unpack(Props) | project-away TimeGenerated");
    assert_eq!(
        names(&r.table),
        vec![
            "UserPrincipalName",
            "ResultType",
            "IPAddress",
            "app",
            "tags"
        ]
    );
    assert_eq!(r.table.columns[3].ty, ScalarType::String);
    let r = run(
        "SigninLogs | mv-apply t = Props.tags to typeof(string) on (summarize tags = make_list(t)) | project tags",
    );
    assert_eq!(r.table.len(), 4);
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!(["a", "b"]))
    );
    // The docs' geo_h3cell_rings example: a column expanded under its own name belongs to the
    // subquery, so a summarize that drops it drops it from the output; under another name the
    // input column stays.
    let r = run("print rings = geo_h3cell_rings('861f8894fffffff', 1) \
         | mv-apply rings on (summarize cells = make_list(rings))");
    assert_eq!(names(&r.table), ["cells"]);
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!([
            "861f8894fffffff",
            "861f88947ffffff",
            "861f8895fffffff",
            "861f88867ffffff",
            "861f8d497ffffff",
            "861f8d4b7ffffff",
            "861f8896fffffff"
        ]))
    );
    let r = run("print k = 1, a = dynamic([3, 4]) | mv-apply a on (summarize s = sum(toint(a)))");
    assert_eq!(names(&r.table), ["k", "s"]);
    assert_eq!(r.table.rows[0], [Value::Long(1), Value::Long(7)]);
    let r = run("print k = 1, a = dynamic([3, 4]) | mv-apply e = a on (top 1 by toint(e))");
    assert_eq!(names(&r.table), ["k", "a", "e"]);
    let r = run(
        "range x from 1 to 2 step 1 | as A | union withsource=Src (print x = 3 | as B) | project Src",
    );
    assert_eq!(
        r.table.rows,
        vec![
            vec![Value::str("A")],
            vec![Value::str("A")],
            vec![Value::str("B")]
        ]
    );
    let r = run("range x from 1 to 3 step 1 | as T | join (T | extend y = x * 2) on x | count");
    assert_eq!(r.table.rows[0][0], Value::Long(3));
}

#[test]
fn search_finds_terms_in_any_column_of_any_table() {
    let r = run("search 'outlook'");
    assert_eq!(r.table.columns[0].name, "$table");
    assert_eq!(r.table.len(), 1);
    assert_eq!(
        run("search in (Users, SigninLogs) 'sales' or 'bob'")
            .table
            .len(),
        3
    );
    assert_eq!(
        run("SigninLogs | search 'alice' and ResultType == 0")
            .table
            .len(),
        1
    );
    assert_eq!(run("search kind=case_sensitive 'ALICE'").table.len(), 0);
    // `search *` keeps every row of every table, each named in `$table`.
    let r = run("search * | summarize n = count() by $table | sort by $table asc");
    let all = run("SigninLogs | count").table.rows[0][0].clone();
    assert!(r.table.rows.contains(&vec![Value::str("SigninLogs"), all]));
    assert_eq!(
        run("search in (SigninLogs) * | count").table.rows[0][0],
        Value::Long(4)
    );
    assert_eq!(
        run("search UserPrincipalName:'carol' or (Dept:'HR')")
            .table
            .len(),
        2
    );
}

#[test]
fn find_returns_the_matching_rows_of_each_table_with_their_source() {
    // project: its columns in its order, null where a table lacks one.
    let r = run(
        "find in (SigninLogs, Users) where UserPrincipalName has 'alice' or UPN has 'alice' project UPN, ResultType, Missing:string",
    );
    assert_eq!(
        names(&r.table),
        vec!["source_", "UPN", "ResultType", "Missing"]
    );
    assert_eq!(r.table.columns[3].ty, ScalarType::String);
    assert_eq!(r.table.len(), 3);
    let users: Vec<&Vec<Value>> = r
        .table
        .rows
        .iter()
        .filter(|row| row[0] == Value::str("Users"))
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0][1], Value::str("alice@contoso.com"));
    assert_eq!(users[0][2], Value::Null);
    // project-smart: the columns the predicate reads, the rest packed into pack_.
    let r = run("find withsource=T in (SigninLogs) where ResultType == 50126");
    assert_eq!(
        names(&r.table),
        vec![
            "T",
            "TimeGenerated",
            "UserPrincipalName",
            "ResultType",
            "IPAddress",
            "Props",
            "pack_"
        ]
    );
    assert_eq!(r.table.len(), 2);
    let r = run("find in (SigninLogs, Users) where UserPrincipalName has 'bob' or UPN has 'bob'");
    assert_eq!(
        names(&r.table),
        vec!["source_", "UserPrincipalName", "UPN", "pack_"]
    );
    let users = r
        .table
        .rows
        .iter()
        .find(|row| row[0] == Value::str("Users"));
    assert_eq!(
        users.map(|row| row[3].clone()),
        Some(Value::dynamic(serde_json::json!({"Dept": "IT"})))
    );
}

#[test]
fn partition_runs_its_operators_on_each_values_rows() {
    let r = run(
        "SigninLogs | partition by UserPrincipalName (top 1 by TimeGenerated desc | project UserPrincipalName, ResultType) | sort by UserPrincipalName asc",
    );
    let rows: Vec<(String, Value)> = r
        .table
        .rows
        .iter()
        .map(|row| (row[0].to_string(), row[1].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("alice@contoso.com".into(), Value::Long(0)),
            ("bob@contoso.com".into(), Value::Long(50126)),
            ("carol@contoso.com".into(), Value::Long(0)),
        ]
    );
    let e = err("SigninLogs | partition by Nope (take 1)").to_string();
    assert!(
        e.contains("Failed to resolve column named 'Nope' to partition by"),
        "{e}"
    );
}

#[test]
fn render_is_recorded_with_its_properties() {
    let r = run("SigninLogs | summarize count() by bin(TimeGenerated, 1h) | render timechart");
    let v = r.visualization.unwrap();
    assert_eq!(v.kind, "timechart");
    assert!(v.properties.is_empty());
    let q = "SigninLogs | summarize n = count(), m = dcount(UserPrincipalName) by ResultType \
             | render columnchart with (title='Sign-ins by app', kind=stacked, ycolumns=n, m, ymax=-1.5)";
    let v = run(q).visualization.unwrap();
    assert_eq!(v.kind, "columnchart");
    let props: Vec<(&str, &str)> = v
        .properties
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        props,
        [
            ("title", "Sign-ins by app"),
            ("kind", "stacked"),
            ("ycolumns", "n,m"),
            ("ymax", "-1.5")
        ]
    );
    // The older form without `with`, as Log Analytics' documentation writes it.
    let v = run("SigninLogs | count | render barchart title='24H events'").visualization;
    assert_eq!(
        v.unwrap().properties,
        [("title".into(), "24H events".into())]
    );
    let e = err("SigninLogs | render piechart with (title=)").to_string();
    assert!(e.contains("a property value"), "{e}");
}

#[test]
fn bag_unpack_takes_conflict_and_ignored_property_options() {
    let data = "datatable(Name:string, d:dynamic) [\
         'James', dynamic({'Name': 'John', 'Age': 20}), 'David', dynamic({'Age': 40})]";
    let r = run(&format!(
        "{data} | evaluate bag_unpack(d, columnsConflict='replace_source')"
    ));
    assert_eq!(names(&r.table), ["Name", "Age"]);
    assert_eq!(r.table.rows[1], [Value::str(""), Value::Long(40)]);
    let r = run(&format!(
        "{data} | evaluate bag_unpack(d, columnsConflict='keep_source')"
    ));
    assert_eq!(names(&r.table), ["Name", "Age"]);
    assert_eq!(r.table.rows[0][0], Value::str("James"));
    let r = run(&format!(
        "{data} | evaluate bag_unpack(d, ignoredProperties=dynamic(['Age']))"
    ));
    assert_eq!(names(&r.table), ["Name", "Name1"]);
}

#[test]
fn parse_fails_the_row_on_unconvertible_values_unless_relaxed() {
    let data = "datatable(s:string) ['n=1, t=2016-02-17 08:40:00;', 'n=x, t=2016-02-17 08:40:00;', \
         'n=2, t=never;']";
    let r = run(&format!(
        "{data} | parse s with 'n=' n:long ', t=' t:datetime ';'"
    ));
    let got: Vec<(Value, String)> = r
        .table
        .rows
        .iter()
        .map(|r| (r[1].clone(), r[2].to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (Value::Long(1), "2016-02-17T08:40:00Z".to_string()),
            (Value::Null, String::new()),
            (Value::Null, String::new()),
        ]
    );
    let r = run(&format!(
        "{data} | parse-where s with 'n=' n:long ', t=' t:datetime ';'"
    ));
    assert_eq!(r.table.rows.len(), 1);
    // Relaxed mode keeps what converts and nulls the rest.
    let r = run(&format!(
        "{data} | parse kind=relaxed s with 'n=' n:long ', t=' t:datetime ';'"
    ));
    let got: Vec<(Value, String)> = r
        .table
        .rows
        .iter()
        .map(|r| (r[1].clone(), r[2].to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (Value::Long(1), "2016-02-17T08:40:00Z".to_string()),
            (Value::Null, "2016-02-17T08:40:00Z".to_string()),
            (Value::Long(2), String::new()),
        ]
    );
}

#[test]
fn union_type_suffixed_columns_never_duplicate_a_name() {
    let r = run("union (print x = 1), (print x = toint(2)), (print x_long = 3)");
    assert_eq!(names(&r.table), ["x_long1", "x_int", "x_long"]);
}

#[test]
fn user_functions_take_named_arguments_and_assert_checks_constants() {
    let q = "let f = (len:long, s:string) { assert(len > 0, 'len must be positive') and strlen(s) > len }; \
         datatable(x:string) ['123', '4567'] | where f(len=3, x)";
    assert_eq!(run(q).table.rows, [[Value::str("4567")]]);
    let q = "let f = (len:long, s:string) { assert(len > 0, 'len must be positive') and strlen(s) > len }; \
         datatable(x:string) ['123'] | where f(s=x, len=0)";
    let e = err(q).to_string();
    assert!(e.contains("len must be positive"), "{e}");
    let q = "let g = (n:long) { print A = '', B = n }; print c = column_names_of(g(1))";
    assert_eq!(cell(q), Value::dynamic(serde_json::json!(["A", "B"])));
}

#[test]
fn datatable_with_one_quoted_value_is_not_a_quoted_identifier() {
    assert_eq!(cell("datatable(x:string) ['a']"), Value::str("a"));
}

#[test]
fn table_takes_any_constant_name_including_a_function_parameter() {
    let direct = run("table('SigninLogs') | count");
    let via_parameter = run("let rows = (name: string) { table(name) | count }; \
         union (rows('SigninLogs')), (rows(strcat('Signin', 'Logs')))");
    assert_eq!(via_parameter.table.rows.len(), 2);
    for row in &via_parameter.table.rows {
        assert_eq!(row, &direct.table.rows[0]);
    }
    assert!(
        err("let f = (name: string) { table(name) }; f('NoSuchTable')")
            .to_string()
            .contains("named 'NoSuchTable'")
    );
    assert!(
        err("print n = 1 | extend t = 2 | take 1 | join (table(42)) on n")
            .to_string()
            .contains("table() needs a table name as a string")
    );
}

#[test]
fn wheres_and_a_summarize_read_their_source_in_place_with_the_answers_of_a_copy() {
    // `| serialize` first makes the source a table of its own (the engine's usual path); the
    // same query without it reads the catalog table, the `let` table or the range in place.
    let mut o = opts();
    // The window hides the first row, so a row's place in the catalog table is not its place
    // in the query's input.
    o.timespan = Some((NOW - 40 * HOUR, NOW - 90 * 60 * TICKS_PER_SECOND));
    let queries = [
        "SigninLogs{} | summarize n = count(), r = sum(ResultType) by UserPrincipalName",
        "SigninLogs{} | summarize n = count(), m = max(IPAddress)",
        "SigninLogs{} | summarize count() by UserPrincipalName, ResultType",
        "SigninLogs{} | summarize arg_max(TimeGenerated, *) by ResultType",
        "SigninLogs{} | where ResultType != 0 | project UserPrincipalName",
        "SigninLogs{} | where row_number() > 1 | project UserPrincipalName",
        "SigninLogs{} | where ResultType != 0 | where IPAddress startswith '203' | summarize count() by UserPrincipalName",
        "SigninLogs{} | where ResultType != 0 | where row_number() == 2 | project UserPrincipalName",
        "SigninLogs{} | where ResultType == 0 | summarize count(), make_list(UserPrincipalName)",
        "SigninLogs{} | where ResultType == 0",
        "SigninLogs{} | where ResultType != 0 | project UserPrincipalName, r = ResultType + 1 | extend k = r * 2",
        "SigninLogs{} | project UserPrincipalName, ResultType | extend k = strlen(UserPrincipalName)",
        "SigninLogs{} | where ResultType == 0 | project n = row_number(), p = prev(UserPrincipalName)",
        "SigninLogs{} | summarize dcount(IPAddress), max(ResultType), min(TimeGenerated), avg(ResultType) by UserPrincipalName",
        "SigninLogs{} | summarize count() by tostring(ResultType), bin(TimeGenerated, 1d)",
        "range i from 1 to 1000 step 1{} | summarize n = count(), total = sum(i) by bucket = i / 100",
        "SigninLogs{} | summarize s = sum(row_number()) by ResultType",
        "let T = SigninLogs | take 3; T{} | summarize dcount(IPAddress) by ResultType",
        "range i from 1 to 20 step 3{} | summarize s = sum(i), m = max(i) by b = i % 2",
        "range i from 1 to 0 step 1{} | summarize count()",
        "range x from 0.5 to 3 step 0.5{} | summarize sum(x), avg(x)",
        "range t from datetime(2024-01-01) to datetime(2024-01-02) step 6h{} | summarize count() by bin(t, 12h)",
        "range i from 1 to 4 step 1{} | summarize s = sum(row_number()), p = make_list(prev(i))",
    ];
    for q in queries {
        let in_place = both(&catalog(), &q.replace("{}", ""), &o).unwrap();
        let copied = both(&catalog(), &q.replace("{}", " | serialize"), &o).unwrap();
        assert_eq!(in_place.table, copied.table, "{q}");
    }
    let r = both(
        &catalog(),
        "range i from 1 to 4 step 1 | summarize s = sum(row_number())",
        &o,
    )
    .unwrap();
    assert_eq!(r.table.rows, vec![vec![Value::Long(10)]]);
    let r = both(&catalog(), "SigninLogs | summarize count()", &o).unwrap();
    assert_eq!(r.table.rows, vec![vec![Value::Long(3)]]);
}
