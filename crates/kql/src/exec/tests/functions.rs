//! Scalar functions: results, column names and the documented examples.

use super::*;

#[test]
fn unnamed_calls_are_named_after_their_first_argument_where_kusto_does() {
    // Kusto.Language's ResultNameKind: conversions, startofday, rounding and math take the first
    // argument's name, strlen/gettype prefix it, the rest (startofweek, strcat …) get ColumnN.
    let r = run(
        "SigninLogs | take 1 | project TimeGenerated, startofday(TimeGenerated), tostring(Props.app), round(ResultType), strlen(UserPrincipalName), gettype(IPAddress), startofweek(TimeGenerated), strlen('x')",
    );
    assert_eq!(
        names(&r.table),
        vec![
            "TimeGenerated",
            "TimeGenerated1",
            "Props_app",
            "ResultType",
            "strlen_UserPrincipalName",
            "type_IPAddress",
            "Column1",
            "strlen_"
        ]
    );
    // extend replaces the column its call is named after, as in Kusto.
    let r = run("SigninLogs | take 1 | extend tostring(ResultType) | project ResultType");
    assert_eq!(r.table.columns[0].ty, ScalarType::String);
    let r = run(
        "SigninLogs | summarize n = count() by UserPrincipalName, startofday(TimeGenerated) | sort by TimeGenerated desc, UserPrincipalName asc",
    );
    assert_eq!(
        names(&r.table),
        vec!["UserPrincipalName", "TimeGenerated", "n"]
    );
    assert_eq!(r.table.rows[0][1], Value::DateTime(NOW - 24 * HOUR));
    let r = run("SigninLogs | summarize max(tostring(Props.app)), dcount(tolower(IPAddress))");
    assert_eq!(names(&r.table), vec!["max_Props_app", "dcount_"]);
    // An aggregate inside an expression is named as a bare one; other expressions get ColumnN.
    let r = run("SigninLogs | summarize tostring(make_set(IPAddress)), count() * 2");
    assert_eq!(names(&r.table), vec!["set_IPAddress", "Column1"]);
}

#[test]
fn array_sort_of_several_arrays_spreads_into_sorted_columns() {
    // The docs' example: the first array sorted, the second reordered alike, one column each.
    let j = Value::dynamic;
    let arrays = "let array1 = dynamic([1,3,4,5,2]); let array2 = dynamic(['a','b','c','d','e']);";
    let r = run(&format!("{arrays} print array_sort_asc(array1, array2)"));
    assert_eq!(names(&r.table), ["array1_sorted", "array2_sorted"]);
    assert_eq!(
        r.table.rows[0],
        [
            j(serde_json::json!([1, 2, 3, 4, 5])),
            j(serde_json::json!(["a", "e", "b", "c", "d"]))
        ]
    );
    let r = run(&format!("{arrays} print array_sort_desc(array1, array2)"));
    assert_eq!(names(&r.table), ["array1_sorted", "array2_sorted"]);
    assert_eq!(
        r.table.rows[0][1],
        j(serde_json::json!(["d", "c", "b", "e", "a"]))
    );
    // On rows: `(x, y) =` names them; extend keeps only the named ones, project all; one array
    // and nulls_last stay one column.
    let data = "datatable(k:long, a:dynamic, b:dynamic) [1, dynamic([2, 1]), dynamic(['x', 'y'])]";
    let r = run(&format!("{data} | extend (x, y) = array_sort_asc(a, b)"));
    assert_eq!(names(&r.table), ["k", "a", "b", "x", "y"]);
    assert_eq!(r.table.rows[0][4], j(serde_json::json!(["y", "x"])));
    let r = run(&format!("{data} | extend x = array_sort_desc(a, b, false)"));
    assert_eq!(names(&r.table), ["k", "a", "b", "x"]);
    assert_eq!(r.table.rows[0][3], j(serde_json::json!([2, 1])));
    let r = run(&format!("{data} | project k, array_sort_asc(a, b, true)"));
    assert_eq!(names(&r.table), ["k", "a_sorted", "b_sorted"]);
    let r = run(&format!("{data} | project array_sort_asc(a, false)"));
    assert_eq!(names(&r.table), ["Column1"]);
    assert_eq!(r.table.rows[0][0], j(serde_json::json!([1, 2])));
}

#[test]
fn calls_of_several_results_spread_into_columns_as_kusto_names_them() {
    let y = "print y=dynamic([2, 5, 6, 8, 11, 15, 17, 18, 25, 26, 30, 30])";
    // extend keeps only the named results; project keeps the rest under `f_arg_result`.
    let r = run(&format!(
        "{y} | extend (RSquare, Slope) = series_fit_line(y)"
    ));
    assert_eq!(names(&r.table), vec!["y", "RSquare", "Slope"]);
    assert_eq!(r.table.columns[1].ty, ScalarType::Real);
    let Value::Real(slope) = r.table.rows[0][2] else {
        panic!("{:?}", r.table.rows[0][2]);
    };
    assert!((slope - 2.730_769).abs() < 1e-6);
    let r = run(&format!("{y} | project (rs, si) = series_fit_2lines(y)"));
    assert_eq!(
        names(&r.table)[..4],
        [
            "rs",
            "si",
            "series_fit_2lines_y_variance",
            "series_fit_2lines_y_rvariance"
        ]
    );
    assert_eq!(r.table.columns.len(), 15);
    assert_eq!(r.table.columns[1].ty, ScalarType::Long);
    let r = run(&format!(
        "{y} | extend series_stats(y) | project series_stats_y_max, series_stats_y_max_idx"
    ));
    assert_eq!(r.table.rows[0], vec![Value::Real(30.0), Value::Long(10)]);
    // One name, or a call inside an expression, takes the first result.
    let r = run(&format!(
        "{y} | extend flags = series_decompose_anomalies(y), n = array_length(series_decompose(y))"
    ));
    assert_eq!(names(&r.table), vec!["y", "flags", "n"]);
    assert_eq!(r.table.rows[0][2], Value::Long(12));
    for (q, message) in [
        (
            "extend (a, b, c, d, e, f, g) = series_fit_line(y)",
            "has 6 results, fewer than the 7 names",
        ),
        (
            "extend (a, b) = series_fit_line(y, 2)",
            "takes 1 argument(s): (series), not 2",
        ),
        (
            "extend (a, b) = series_fit_line(1)",
            "series must be a dynamic array",
        ),
        (
            "extend (a, b) = strlen('x')",
            "does not have multiple values",
        ),
        (
            "extend f = series_decompose_forecast(y)",
            "takes 2 to 5 argument(s)",
        ),
    ] {
        let e = err(&format!("{y} | {q}")).to_string();
        assert!(e.contains(message), "{q}: {e}");
    }
}

#[test]
fn a_built_in_functions_named_argument_is_its_value_and_names_its_column() {
    let r = run(
        "SigninLogs | summarize n = count() by bin(Day=TimeGenerated, 1d) | extend k = case(n > 1, strcat='many', strcat='one') | sort by Day asc",
    );
    assert_eq!(names(&r.table), vec!["Day", "n", "k"]);
    assert_eq!(r.table.rows[0][2], Value::str("one"));
    assert_eq!(r.table.rows[1][2], Value::str("many"));
}

#[test]
fn url_encode_writes_a_space_as_plus_and_url_encode_component_as_percent_20() {
    assert_eq!(
        cell("print url_encode('https://a.com/x y?q=1')"),
        Value::str("https%3a%2f%2fa.com%2fx+y%3fq%3d1")
    );
    assert_eq!(
        cell("print url_encode_component('https://a.com/x y?q=1')"),
        Value::str("https%3a%2f%2fa.com%2fx%20y%3fq%3d1")
    );
    assert_eq!(
        cell("print url_decode('x%20y')"),
        Value::str("x y"),
        "what either writes decodes back"
    );
}

#[test]
fn url_path_translate_and_legacy_aggregate_names() {
    assert_eq!(
        cell("print parse_url('https://u:p@host.com:8080/a/b?x=1&y=2#f').Host"),
        Value::dynamic(serde_json::json!("host.com"))
    );
    assert_eq!(
        cell("print parse_url('https://host.com/a?x=1')['Query Parameters'].x"),
        Value::dynamic(serde_json::json!("1"))
    );
    assert_eq!(
        cell(r"print parse_path(@'C:\Temp\evil.ps1').Extension"),
        Value::dynamic(serde_json::json!("ps1"))
    );
    assert_eq!(
        cell("print translate('abc', 'x', 'aabbcc')"),
        Value::str("xxxxxx")
    );
    let r = run("Users | take 1 | extend b = pack_all(), c = bag_pack_columns(Dept)");
    assert_eq!(
        r.table.rows[0][2],
        Value::dynamic(serde_json::json!({"UPN": "alice@contoso.com", "Dept": "Sales"}))
    );
    assert_eq!(
        r.table.rows[0][3],
        Value::dynamic(serde_json::json!({"Dept": "Sales"}))
    );
    let r = run("SigninLogs | summarize makeset(IPAddress), m = makelist(ResultType)");
    assert_eq!(names(&r.table), vec!["set_IPAddress", "m"]);
    let r = run("SigninLogs | where ingestion_time() > ago(1d) | count");
    assert_eq!(r.table.rows[0][0], Value::Long(3));
}

#[test]
fn scalar_functions() {
    assert_eq!(cell("print strcat('a', 1, 'b')"), Value::str("a1b"));
    assert_eq!(cell("print strcat_delim('-', 'a', 'b')"), Value::str("a-b"));
    assert_eq!(
        cell("print split('a,b', ',')[1]"),
        Value::dynamic(serde_json::json!("b"))
    );
    assert_eq!(cell("print iff(1 > 2, 'x', 'y')"), Value::str("y"));
    assert_eq!(cell("print case(false, 1, true, 2, 3)"), Value::Long(2));
    assert_eq!(
        cell("print extract(@'id=(\\d+)', 1, 'id=42')"),
        Value::str("42")
    );
    assert_eq!(
        cell("print extract(@'id=(\\d+)', 1, 'id=42', typeof(long))"),
        Value::Long(42)
    );
    assert_eq!(
        cell("print extract_all(@'(\\d)', 'a1b2')"),
        Value::dynamic(serde_json::json!(["1", "2"]))
    );
    assert_eq!(
        cell("print replace_regex('a1b22', @'\\d+', 'N')"),
        Value::str("aNbN")
    );
    assert_eq!(
        cell("print replace_string('aXbX', 'X', '-')"),
        Value::str("a-b-")
    );
    assert_eq!(cell("print trim(' ', '  hi  ')"), Value::str("hi"));
    assert_eq!(cell("print substring('kusto', 1, 3)"), Value::str("ust"));
    assert_eq!(cell("print indexof('kusto', 'st')"), Value::Long(2));
    assert_eq!(cell("print strlen('héllo')"), Value::Long(5));
    assert_eq!(cell("print toupper('a')"), Value::str("A"));
    assert_eq!(cell("print tolong('12')"), Value::Long(12));
    assert_eq!(cell("print toint(2.9)"), Value::Int(2));
    assert_eq!(cell("print todouble('1.5')"), Value::Real(1.5));
    assert_eq!(cell("print tobool('true')"), Value::Bool(true));
    assert_eq!(cell("print todatetime('2024-01-02')"), Value::DateTime(NOW));
    assert_eq!(cell("print totimespan('01:00:00')"), Value::TimeSpan(HOUR));
    assert_eq!(cell("print array_length(dynamic([1,2,3]))"), Value::Long(3));
    assert_eq!(
        cell("print bag_keys(dynamic({'a':1}))"),
        Value::dynamic(serde_json::json!(["a"]))
    );
    assert_eq!(
        cell("print pack('k', 1)"),
        Value::dynamic(serde_json::json!({"k": 1}))
    );
    assert_eq!(
        cell("print parse_json('{\"a\":[1]}').a[0]"),
        Value::dynamic(serde_json::json!(1))
    );
    assert_eq!(
        cell("print startofday(datetime(2024-01-02 10:00))"),
        Value::DateTime(NOW)
    );
    assert_eq!(
        cell("print startofmonth(datetime(2024-01-02 10:00))"),
        Value::DateTime(NOW - 24 * HOUR)
    );
    assert_eq!(
        cell("print endofday(datetime(2024-01-01))"),
        Value::DateTime(NOW - 1)
    );
    assert_eq!(
        cell("print datetime_diff('day', datetime(2024-01-03), datetime(2024-01-01))"),
        Value::Long(2)
    );
    assert_eq!(
        cell("print datetime_add('hour', 1, datetime(2024-01-02))"),
        Value::DateTime(NOW + HOUR)
    );
    assert_eq!(
        cell("print format_datetime(datetime(2024-01-02 03:04:05), 'yyyy-MM-dd HH:mm:ss')"),
        Value::str("2024-01-02 03:04:05")
    );
    assert_eq!(
        cell("print hourofday(datetime(2024-01-02 03:04:05))"),
        Value::Long(3)
    );
    assert_eq!(
        cell("print dayofweek(datetime(2024-01-02))"),
        Value::TimeSpan(48 * HOUR)
    );
    assert_eq!(
        cell("print getyear(datetime(2024-01-02))"),
        Value::Long(2024)
    );
    assert_eq!(cell("print coalesce('', 'b')"), Value::str("b"));
    assert_eq!(cell("print round(2.567, 2)"), Value::Real(2.57));
    assert_eq!(cell("print abs(-3)"), Value::Long(3));
    assert_eq!(cell("print countof('abcabc', 'bc')"), Value::Long(2));
    assert_eq!(
        cell("print ipv4_is_private('192.168.1.1')"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print ipv4_is_in_range('10.1.2.3', '10.0.0.0/8')"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print base64_decode_tostring(base64_encode_tostring('Kusto'))"),
        Value::str("Kusto")
    );
    assert_eq!(
        cell("print hash_sha256('abc')"),
        Value::str("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(cell("print bin(7, 5)"), Value::Long(5));
    assert_eq!(cell("print 7 / 2"), Value::Long(3));
    assert_eq!(cell("print 7 / 2.0"), Value::Real(3.5));
}

#[test]
fn nulls_and_empty_strings() {
    assert_eq!(cell("print isnull(long(null))"), Value::Bool(true));
    assert_eq!(cell("print isempty('')"), Value::Bool(true));
    assert_eq!(cell("print isnull('')"), Value::Bool(false));
    assert_eq!(cell("print isnotempty(dynamic(null))"), Value::Bool(false));
    assert_eq!(
        run("datatable(a:long)[1, long(null)] | where a > 0 or a <= 0")
            .table
            .len(),
        1
    );
    assert_eq!(
        run("datatable(a:long)[1, long(null)] | where a != 1")
            .table
            .len(),
        0
    );
}

#[test]
fn ipv4_lists_take_single_values_or_dynamic_arrays() {
    let q = "print a = has_any_ipv4('from 10.1.2.3 to 8.8.8.8', dynamic(['8.8.8.8', '1.1.1.1'])), \
             b = has_ipv4_prefix('x 10.1.2.3', '10.1.'), \
             c = ipv4_is_in_any_range('192.168.1.7', '10.0.0.0/8', '192.168.0.0/16'), \
             d = ipv4_is_in_any_range('8.8.8.8', dynamic(['10.0.0.0/8'])), \
             e = has_any_ipv4('none here', '8.8.8.8')";
    let t = run(q).table;
    assert_eq!(
        t.rows,
        vec![vec![
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(false)
        ]]
    );
}

#[test]
fn running_row_functions_restart_where_asked() {
    let r = run("datatable(a:long) [2, 4, 6, 8] | serialize cs = row_cumsum(a, a == 6)");
    let cs: Vec<Value> = r.table.rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!(
        cs,
        [
            Value::Long(2),
            Value::Long(6),
            Value::Long(6),
            Value::Long(14)
        ]
    );
    let r = run("datatable(v:long) [2, 3, 3, 3, 100] | sort by v asc \
         | extend d = row_rank_dense(v), m = row_rank_min(v)");
    let ranks: Vec<(Value, Value)> = r
        .table
        .rows
        .iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    let l = Value::Long;
    assert_eq!(
        ranks,
        [
            (l(1), l(1)),
            (l(2), l(2)),
            (l(2), l(2)),
            (l(2), l(2)),
            (l(3), l(5))
        ]
    );
    // A session starts when a row is over 1h from the session's first row or 5m from the last.
    let r = run(
        "datatable(t:datetime) [datetime(2024-01-01 10:00), datetime(2024-01-01 10:04), \
         datetime(2024-01-01 10:30), datetime(2024-01-01 10:33)] | sort by t asc \
         | extend s = row_window_session(t, 1h, 5m)",
    );
    let s: Vec<String> = r.table.rows.iter().map(|r| r[1].to_string()).collect();
    assert_eq!(
        s,
        [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:30:00Z",
            "2024-01-01T10:30:00Z"
        ]
    );
}

#[test]
fn ip_functions_mask_with_the_shortest_prefix_and_map_ipv4_into_ipv6() {
    assert_eq!(
        cell("print ipv4_compare('192.168.1.1/24', '192.168.1.255', 31)"),
        Value::Long(0)
    );
    assert_eq!(
        cell("print ipv4_is_match('192.168.1.1', '192.168.1.0', 31)"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print parse_ipv4('192.168.1.1/24')"),
        Value::Long(3_232_235_776)
    );
    assert_eq!(
        cell("print parse_ipv4_mask('127.0.0.1', 24)"),
        Value::Long(2_130_706_432)
    );
    assert_eq!(
        cell("print format_ipv4_mask('192.168.1.1/24', 32)"),
        Value::str("192.168.1.0/24")
    );
    assert_eq!(cell("print format_ipv4('192.168.1.1', -1)"), Value::str(""));
    assert_eq!(
        cell("print ipv6_compare('192.168.1.1/24', '::ffff:c0a8:01ff')"),
        Value::Long(0)
    );
    // `::a.b.c.d/30` compares as the IPv4 address 192.168.1.1/30.
    assert_eq!(
        cell("print ipv6_compare('::192.168.1.1/30', '192.168.1.255/24')"),
        Value::Long(0)
    );
    assert_eq!(
        cell("print ipv6_is_match('fe80::85d:e82c:9446:7994/120', 'fe80::85d:e82c:9446:7998')"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print parse_ipv6_mask('::192.168.255.255/24', 128)"),
        Value::str("0000:0000:0000:0000:0000:0000:c0a8:ff00")
    );
    assert_eq!(
        cell("print ipv6_is_in_any_range('a5e::abcd', dynamic(['a5e::/112', '::1']))"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print ipv4_netmask_suffix('192.168.1.1/24')"),
        Value::Long(24)
    );
    assert_eq!(
        cell("print ipv4_range_to_cidr_list('1.1.128.0', '1.1.140.255')"),
        Value::dynamic(serde_json::json!([
            "1.1.128.0/21",
            "1.1.136.0/22",
            "1.1.140.0/24"
        ]))
    );
}

#[test]
fn documented_string_and_time_function_forms() {
    let j = |v: serde_json::Value| Value::dynamic(v);
    assert_eq!(
        cell("print format_timespan(time(29.09:00:05.12345), 'dd.hh:mm:ss:FF')"),
        Value::str("29.09:00:05:12")
    );
    assert_eq!(
        cell("print format_timespan(time(29.09:00:05.12345), 'ddd.h:mm:ss [fffffff]')"),
        Value::str("029.9:00:05 [1234500]")
    );
    assert_eq!(
        cell("print make_timespan(1, 12, 30, 55.123)").to_string(),
        "1.12:30:55.1230000"
    );
    // Bytes that are not UTF-8 decode to an empty string.
    assert_eq!(
        cell("print base64_decode_tostring('U3RyaW5n0KHR0tGA0L7Rh9C60LA=')"),
        Value::str("")
    );
    assert_eq!(
        cell(r#"print extract_all(@"(\w)(\w+)(\w)", dynamic([1, 3]), "abcd-efgh")"#),
        j(serde_json::json!([["a", "d"], ["e", "h"]]))
    );
    assert_eq!(
        cell(r#"print indexof_regex("abcabcdefg", @"a.c", 0, 9, 2)"#),
        Value::Long(3)
    );
    assert_eq!(
        cell(r#"print indexof_regex("abcabc", @"a|ab", -1)"#),
        Value::Null
    );
    assert_eq!(
        cell("print range(1h, 3h)"),
        j(serde_json::json!(["01:00:00", "02:00:00", "03:00:00"]))
    );
    assert_eq!(
        cell("print array_sort_asc(dynamic([null, 'b', 'a']))"),
        j(serde_json::json!(["a", "b", null]))
    );
    assert_eq!(
        cell("print array_sort_desc(dynamic([null, 'b', 'a']), false)"),
        j(serde_json::json!([null, "b", "a"]))
    );
    assert_eq!(
        cell("print array_sort_asc(dynamic([3, 1, 2]), dynamic(['c', 'a', 'b']))[1]"),
        j(serde_json::json!(["a", "b", "c"]))
    );
    // An array of another length than the first comes back null, the others still sorted.
    assert_eq!(
        cell(
            "print array_sort_asc(dynamic([3, 1, 2]), dynamic(['c', 'a']), dynamic([0, 1, 2]))[2]"
        ),
        j(serde_json::json!([1, 2, 0]))
    );
    assert_eq!(
        cell("print bag_set_key(dynamic({'k': 1}), '$.a.b', 'x')"),
        j(serde_json::json!({"k": 1, "a": {"b": "x"}}))
    );
    assert_eq!(
        cell(r#"print extractjson("$.a[1].b", '{"a": [{}, {"b": 7}]}', typeof(long))"#),
        Value::Long(7)
    );
    assert_eq!(
        cell(r#"print extract_json("$.name", '{"name": "John"}')"#),
        Value::str("John")
    );
}

#[test]
fn special_functions_match_reference_values() {
    let real = |q: &str| match cell(q) {
        Value::Real(x) => x,
        other => panic!("{q}: {other:?}"),
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    assert!(close(real("print erf(1)"), 0.842_700_792_949_714_9));
    assert!(close(real("print erf(-2)"), -0.995_322_265_018_952_7));
    let tail = real("print erfc(3)");
    assert!((tail - 2.209_049_699_858_544e-5).abs() < 1e-17);
    assert_eq!(real("print gamma(5)"), 24.0);
    assert!(close(real("print gamma(0.5)"), std::f64::consts::PI.sqrt()));
    assert!(close(real("print loggamma(5)"), 24f64.ln()));
    // Beta(2, 2): pdf 6x(1 − x), cdf 3x² − 2x³.
    assert!(close(real("print beta_pdf(0.5, 2.0, 2.0)"), 1.5));
    assert!(close(real("print beta_cdf(0.25, 2.0, 2.0)"), 0.156_25));
    assert!(close(real("print beta_inv(0.15625, 2.0, 2.0)"), 0.25));
    assert!(real("print beta_cdf(1.5, 2.0, 2.0)").is_nan());
    assert_eq!(cell("print beta_inv(1.5, 2.0, 2.0)"), Value::Null);
}

#[test]
fn small_documented_functions() {
    let j = |v: serde_json::Value| Value::dynamic(v);
    assert_eq!(
        cell("print around(datetime(2021-01-01 01:31), datetime(2021-01-01 01:30), 1min)"),
        Value::Bool(true)
    );
    assert_eq!(cell("print around(1.6, 1.0, 0.5)"), Value::Bool(false));
    assert_eq!(
        cell("print base64_encode_fromguid(toguid('ae3133f2-6e22-49ae-b06a-16e6a9b212eb'))"),
        Value::str("8jMxriJurkmwahbmqbIS6w==")
    );
    assert_eq!(
        cell("print base64_decode_toguid('8jMxriJurkmwahbmqbIS6w==')").to_string(),
        "ae3133f2-6e22-49ae-b06a-16e6a9b212eb"
    );
    assert_eq!(cell("print base64_decode_toguid('abcd1231')"), Value::Null);
    assert_eq!(cell("print format_bytes(564)"), Value::str("564 Bytes"));
    assert_eq!(
        cell("print format_bytes(20010332, 2)"),
        Value::str("19.08 MB")
    );
    assert_eq!(
        cell("print format_bytes(20010332, 0, 'KB')"),
        Value::str("19541 KB")
    );
    assert_eq!(
        cell("print has_any_index('this is an example', dynamic(['not', 'example']))"),
        Value::Long(1)
    );
    assert_eq!(
        cell("print has_any_index('this is an example', dynamic([]))"),
        Value::Long(-1)
    );
    assert_eq!(
        cell("print jaccard_index(dynamic([1, 2, 3]), dynamic([1, 2, 3, 4]))"),
        Value::Real(0.75)
    );
    assert_eq!(
        cell("print parse_version('1.2.3') > parse_version('1.2')"),
        Value::Bool(true)
    );
    assert_eq!(cell("print parse_version('1.x')"), Value::Null);
    // Kusto's example (parse-version-function.md): a decimal with every digit, written as text.
    let r = run(
        r#"datatable(v: string)["0.0.0.5", "0.0.7.0", "0.0.3", "0.2", "0.1.2.0", "1.2.3.4", "1"] | extend parsedVersion = parse_version(v)"#,
    );
    assert_eq!(r.table.columns[1].ty, ScalarType::Decimal);
    let parsed: Vec<serde_json::Value> = r.table.rows.iter().map(|row| row[1].to_json()).collect();
    assert_eq!(
        parsed,
        [
            "5",
            "700000000",
            "300000000",
            "20000000000000000",
            "10000000200000000",
            "1000000020000000300000004",
            "1000000000000000000000000"
        ]
        .map(|d| serde_json::json!(d))
    );
    assert_eq!(
        cell("print parse_urlquery('k1=v1&k2=a%20b')"),
        j(serde_json::json!({"Query Parameters": {"k1": "v1", "k2": "a b"}}))
    );
    assert_eq!(
        cell(r#"print parse_csv('aa,"b,b",cc,"say ""hi"""')"#),
        j(serde_json::json!(["aa", "b,b", "cc", "say \"hi\""]))
    );
}

#[test]
fn unit_conversions_follow_the_documented_units() {
    let real = |q: &str| match cell(q) {
        Value::Real(x) => x,
        other => panic!("{q}: {other:?}"),
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    assert!(close(
        real("print convert_angle(1.2, 'Degree', 'Arcminute')"),
        72.0
    ));
    assert!(close(
        real("print convert_length(1.2, 'Meter', 'Foot')"),
        1.2 / 0.3048
    ));
    assert!(close(
        real("print convert_mass(1.2, 'Kilogram', 'Pound')"),
        1.2 / 0.453_592_37
    ));
    assert!(close(
        real("print convert_force(1.2, 'Newton', 'Decanewton')"),
        0.12
    ));
    assert!(close(
        real("print convert_speed(1.2, 'MeterPerSecond', 'CentimeterPerHour')"),
        432_000.0
    ));
    assert!(close(
        real("print convert_temperature(1.2, 'Kelvin', 'DegreeCelsius')"),
        -271.95
    ));
    assert!(close(
        real("print convert_temperature(212, 'DegreeFahrenheit', 'DegreeCelsius')"),
        100.0
    ));
    assert!(close(
        real("print convert_volume(2, 'Liter', 'CubicMeter')"),
        0.002
    ));
    assert_eq!(
        cell("print convert_length(1, 'Meter', 'Furlong')"),
        Value::Null
    );
}

#[test]
fn bitset_repeat_codepoint_aliases_and_percentrank() {
    assert_eq!(cell("print bitset_count_ones(42)"), Value::Long(3));
    assert_eq!(
        cell("print repeat('a', 2)"),
        Value::dynamic(serde_json::json!(["a", "a"]))
    );
    assert_eq!(
        cell("print to_utf8('ab')"),
        Value::dynamic(serde_json::json!([97, 98]))
    );
    assert_eq!(
        cell("print make_string(65, dynamic([66, 67]))"),
        Value::str("ABC")
    );
    assert_eq!(
        cell(
            "range x from 1 to 10 step 1 | summarize t = tdigest(x) | project percentrank_tdigest(t, 5)"
        ),
        Value::Real(50.0)
    );
    // rank_tdigest's example: in 1..1000 the rank of 685 is 685.
    assert_eq!(
        cell(
            "range x from 1 to 1000 step 1 | summarize t_x=tdigest(x) | project rank_of_685=rank_tdigest(t_x, 685)"
        ),
        Value::Long(685)
    );
    assert_eq!(
        cell("range x from 1 to 10 step 1 | summarize t = tdigest(x) | project rank_tdigest(t, 0)"),
        Value::Long(0)
    );
}

#[test]
fn parse_command_line_splits_like_windows() {
    assert_eq!(
        cell(r#"print parse_command_line('echo "hello world!" a\\"b c\\\\"d e"', 'windows')"#),
        Value::dynamic(serde_json::json!([
            "echo",
            "hello world!",
            "a\"b",
            "c\\d e"
        ]))
    );
    assert_eq!(
        cell("print parse_command_line('a b', 'linux')"),
        Value::Null
    );
}

/// `bin` of a value below the lowest multiple of its size inside `i64` wraps, on both engines,
/// instead of overflowing (which panicked in a debug build); `bin_at` too.
#[test]
fn bin_at_the_bottom_of_i64_wraps_without_overflowing() {
    let r = run(
        "datatable(x: long) [-9223372036854775808, -9223372036854775807, -7] \
         | extend b = bin(x, 3), f = floor(x, 10)",
    );
    let got: Vec<&[Value]> = r.table.rows.iter().map(|row| &row[1..]).collect();
    let want = [
        [Value::Long(i64::MAX), Value::Long(i64::MAX - 1)],
        [Value::Long(i64::MAX), Value::Long(i64::MAX - 1)],
        [Value::Long(-9), Value::Long(-10)],
    ];
    assert_eq!(got, want);
    let r = run("print b = bin(timespan(-10675199.02:48:05.4775808), 7d), \
         a = bin_at(timespan(-10675199.02:48:05.4775808), 7d, 1d)");
    assert!(
        matches!(
            r.table.rows[0][..],
            [Value::TimeSpan(_), Value::TimeSpan(_)]
        ),
        "{r:?}"
    );
}

/// Datetime arithmetic past what chrono or `i64` ticks hold gives null, not a panic (chrono's
/// `Duration::days` panicked even in a release build; the tick products overflowed), and a
/// `make_datetime` part out of range is not truncated into it.
#[test]
fn datetime_functions_past_the_range_of_ticks_are_null() {
    for q in [
        "print startofweek(datetime(2020-01-01), 9223372036854775807)",
        "print startofday(datetime(2020-01-01), -9223372036854775807)",
        "print endofday(datetime(2020-01-01), 9223372036854775807)",
        "print startofyear(datetime(2020-01-01), 100000)",
        "print startofyear(datetime(2020-01-01), 4294967296)",
        "print datetime_add('year', 100000, datetime(2020-01-01))",
        "print datetime_add('month', 2000000, datetime(2020-01-01))",
        "print make_datetime(99999, 1, 1)",
        "print make_datetime(4294969320, 1, 1)",
        "print make_datetime(2020, 4294967297, 1)",
        "print make_datetime(2020, 1, 1, 0, 0, 1e300)",
        "print datetime_diff('nanosecond', datetime(9999-12-31), datetime(0001-01-01))",
        "print todatetime('+99999-01-01')",
    ] {
        assert_eq!(cell(q), Value::Null, "{q}");
    }
    // Inside the range they still answer.
    assert_eq!(
        cell(
            "print datetime_diff('nanosecond', datetime(2020-01-01 00:00:01), datetime(2020-01-01))"
        ),
        Value::Long(1_000_000_000)
    );
    assert!(matches!(
        cell("print startofyear(datetime(2020-01-01), 100)"),
        Value::DateTime(_)
    ));
}

#[test]
fn bin_auto_uses_the_query_bin_auto_options() {
    let q = "set query_bin_auto_size = 1h; set query_bin_auto_at = datetime(2017-01-01 00:05); \
         range t from datetime(2017-01-01 00:05) to datetime(2017-01-01 02:00) step 1m \
         | summarize count() by bin_auto(t)";
    let r = run(q);
    assert_eq!(names(&r.table), ["t", "count_"]);
    let counts: Vec<Value> = r.table.rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!(counts, [Value::Long(60), Value::Long(56)]);
    assert!(matches!(err("print bin_auto(1)"), KqlError::Type { .. }));
}

#[test]
fn substring_counts_a_negative_start_from_the_end() {
    // The examples of Kusto's substring() documentation.
    assert_eq!(cell("print substring('123456', 1)"), Value::str("23456"));
    assert_eq!(cell("print substring('123456', 2, 2)"), Value::str("34"));
    assert_eq!(cell("print substring('123456', -2, 2)"), Value::str("56"));
}

#[test]
fn indexof_takes_start_length_and_occurrence_as_documented() {
    // The examples of Kusto's indexof() documentation.
    let r = run(
        "print idx1 = indexof('abcdefg', 'cde'), idx2 = indexof('abcdefg', 'cde', 1, 4), \
         idx3 = indexof('abcdefg', 'cde', 1, 2), idx4 = indexof('abcdefg', 'cde', 3, 4), \
         idx5 = indexof('abcdefg', 'cde', -5), idx6 = indexof(1234567, 5, 1, 4), \
         idx7 = indexof('abcdefg', 'cde', 2, -1), idx8 = indexof('abcdefgabcdefg', 'cde', 1, 10, 2), \
         idx9 = indexof('abcdefgabcdefg', 'cde', 1, -1, 3)",
    );
    let l = Value::Long;
    assert_eq!(
        r.table.rows[0],
        [l(2), l(2), l(-1), l(-1), l(2), l(4), l(2), l(9), l(-1)]
    );
    assert_eq!(cell("print indexof('abc', 'b', 0, -2)"), Value::Null);
}

#[test]
fn countof_counts_overlapping_plain_matches() {
    // The examples of Kusto's countof() documentation.
    let r = run(
        "print countof('aaa', 'a'), countof('aaaa', 'aa'), countof('ababa', 'ab', 'normal'), \
         countof('ababa', 'aba'), countof('ababa', 'aba', 'regex'), countof('abcabc', 'a.c', 'regex')",
    );
    let l = Value::Long;
    assert_eq!(r.table.rows[0], [l(3), l(3), l(2), l(2), l(1), l(2)]);
}

#[test]
fn tohex_gettype_and_parse_json_follow_their_documented_examples() {
    let r = run(
        "print tohex(256) == '100', tohex(-256) == 'ffffffffffffff00', \
         tohex(toint(-256), 8) == 'ffffff00', tohex(256, 8) == '00000100', tohex(256, 2) == '100'",
    );
    assert!(r.table.rows[0].iter().all(|v| *v == Value::Bool(true)));
    let r = run(
        "print gettype(parse_json('1')), gettype(parse_json(' {\"abc\":1} ')), \
         gettype(parse_json(''))",
    );
    assert_eq!(
        r.table.rows[0],
        [
            Value::str("int"),
            Value::str("dictionary"),
            Value::str("null")
        ]
    );
    assert_eq!(cell("print isempty(parse_json(''))"), Value::Bool(true));
}

#[test]
fn array_index_of_treepath_and_pack_all_follow_their_documented_examples() {
    let r = run(
        "let arr = dynamic(['this', 'is', 'an', 'example', 'an', 'example']); \
         print idx1 = array_index_of(arr, 'an'), idx2 = array_index_of(arr, 'example', 1, 3), \
         idx3 = array_index_of(arr, 'example', 1, 2), idx4 = array_index_of(arr, 'is', 2, 4), \
         idx5 = array_index_of(arr, 'example', 2, -1), idx6 = array_index_of(arr, 'an', 1, -1, 2), \
         idx7 = array_index_of(arr, 'an', 1, -1, 3), idx8 = array_index_of(arr, 'an', -3), \
         idx9 = array_index_of(arr, 'is', -4)",
    );
    let l = Value::Long;
    assert_eq!(
        r.table.rows[0],
        [l(2), l(3), l(-1), l(-1), l(3), l(4), l(-1), l(4), l(-1)]
    );
    assert_eq!(
        cell(r#"print treepath(parse_json('{"prop1":[1,2,3,4], "prop2":"value2"}'))"#),
        Value::dynamic(serde_json::json!([
            "['prop1']",
            "['prop1'][0]",
            "['prop2']"
        ]))
    );
    assert_eq!(
        cell(r#"print treepath(parse_json('{"listProperty":[100,200,300,"abcde",{"x":"y"}]}'))"#),
        Value::dynamic(serde_json::json!([
            "['listProperty']",
            "['listProperty'][0]",
            "['listProperty'][0]['x']"
        ]))
    );
    let r = run("datatable(a:string, b:string, n:long) ['x', '', 1] \
         | extend p = pack_all(), q = pack_all(true)");
    assert_eq!(
        r.table.rows[0][3],
        Value::dynamic(serde_json::json!({"a": "x", "b": "", "n": 1}))
    );
    assert_eq!(
        r.table.rows[0][4],
        Value::dynamic(serde_json::json!({"a": "x", "n": 1}))
    );
}

#[test]
fn welch_test_gives_the_two_sided_p_value() {
    // The documentation's samples (from Wikipedia's Welch's t-test article): p ≈ 0.021.
    let q = "range r from 1 to 1 step 1 \
         | extend s1 = dynamic([27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]), \
                  s2 = dynamic([27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]) \
         | mv-expand s1 to typeof(double), s2 to typeof(double) \
         | summarize m1 = avg(s1), v1 = variance(s1), c1 = count(), m2 = avg(s2), v2 = variance(s2), c2 = count() \
         | project p = welch_test(m1, v1, c1, m2, v2, c2)";
    match cell(q) {
        Value::Real(p) => assert!((p - 0.021).abs() < 0.0005, "{p}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deprecated_function_aliases_run_as_their_current_names() {
    let r = run(
        r#"print a = tolong(parsejson('{"n": 7}').n), b = notempty(''), c = notnull(1),
        d = extractall('(\\d)', 'a1b2'), e = pack_dictionary('k', 1)"#,
    );
    assert_eq!(
        r.table.rows[0],
        vec![
            Value::Long(7),
            Value::Bool(false),
            Value::Bool(true),
            Value::dynamic(serde_json::json!(["1", "2"])),
            Value::dynamic(serde_json::json!({"k": 1})),
        ]
    );
    let r = run(
        "SigninLogs | summarize argmax(TimeGenerated, IPAddress), argmin(TimeGenerated, IPAddress)",
    );
    assert_eq!(r.table.rows.len(), 1);
    assert!(
        r.table.rows[0].contains(&Value::str("10.0.0.1")),
        "{:?}",
        r.table.rows
    );
    assert!(
        r.table.rows[0].contains(&Value::str("192.168.1.9")),
        "{:?}",
        r.table.rows
    );
}

#[test]
fn has_any_and_has_all_take_the_elements_of_dynamic_arrays() {
    let q = "let L = dynamic(['enc', 'nothing']); \
             print x = 'powershell.exe -enc SQBFAFgA' \
             | extend a = x has_any (dynamic(['enc'])), b = x has_any (L), \
                      c = x has_all (dynamic(['powershell', 'enc'])), \
                      d = x has_all (L), e = x has_any (dynamic(['nothing']))";
    let row = &run(q).table.rows[0];
    assert_eq!(
        row[1..],
        [
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(false)
        ]
    );
}

#[test]
fn a_bool_compares_with_a_number_as_one_or_zero() {
    let row =
        &run("print a = true == 1, b = false == 0, c = true != 0, d = true == 2, e = 0 == false")
            .table
            .rows[0];
    assert_eq!(
        row[..],
        [
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(true)
        ]
    );
}
