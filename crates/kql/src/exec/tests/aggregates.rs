//! Aggregates and the operators that group: summarize, make-series, top-nested, pivot.

use super::*;

#[test]
fn pivot_turns_values_into_columns_of_counts_or_the_given_aggregate() {
    let data = "datatable(State:string, EventType:string, Deaths:long)[
        'ALABAMA','Strong Wind',1, 'ALASKA','High Wind',2, 'ALABAMA','Strong Wind',3,
        'ALASKA','High Wind',4, 'ALASKA','Strong Wind',5]";
    // The docs' first example: pivot(State) counts per EventType, 0 where a state has none.
    let r = run(&format!(
        "{data} | project State, EventType | evaluate pivot(State)"
    ));
    assert_eq!(names(&r.table), vec!["EventType", "ALABAMA", "ALASKA"]);
    let rows: Vec<Vec<String>> = r
        .table
        .rows
        .iter()
        .map(|row| row.iter().map(|v| v.to_string()).collect())
        .collect();
    assert_eq!(
        rows,
        vec![vec!["Strong Wind", "2", "1"], vec!["High Wind", "0", "2"]]
    );
    // An aggregate's columns are not keys; the keys can be named.
    let r = run(&format!("{data} | evaluate pivot(State, sum(Deaths))"));
    assert_eq!(names(&r.table), vec!["EventType", "ALABAMA", "ALASKA"]);
    assert_eq!(r.table.rows[0][1..], [Value::Long(4), Value::Long(5)]);
    let r = run(&format!(
        "{data} | evaluate pivot(EventType, max(Deaths), State)"
    ));
    assert_eq!(names(&r.table), vec!["State", "Strong Wind", "High Wind"]);
    assert_eq!(r.table.rows[0][1..], [Value::Long(3), Value::Null]);
    for (q, message) in [
        ("pivot(State, Deaths)", "pivot takes one aggregation"),
        (
            "pivot(State, percentiles(Deaths, 5, 50))",
            "pivot takes one aggregation",
        ),
        ("pivot(strlen(State))", "pivot takes column names"),
        ("pivot()", "the column to pivot"),
    ] {
        let e = err(&format!("{data} | evaluate {q}")).to_string();
        assert!(e.contains(message), "{q}: {e}");
    }
}

#[test]
fn summarize_names_aggregates_like_kusto() {
    let r = run(
        "SigninLogs | summarize count(), dcount(IPAddress), sum(ResultType), make_set(IPAddress), countif(ResultType == 0), max(TimeGenerated) by UserPrincipalName | sort by UserPrincipalName asc",
    );
    assert_eq!(
        names(&r.table),
        vec![
            "UserPrincipalName",
            "count_",
            "dcount_IPAddress",
            "sum_ResultType",
            "set_IPAddress",
            "countif_",
            "max_TimeGenerated"
        ]
    );
    assert_eq!(r.table.rows[0][1], Value::Long(2));
    assert_eq!(r.table.rows[0][2], Value::Long(2));
    assert_eq!(r.table.rows[0][3], Value::Long(50126));
    assert_eq!(r.table.rows[0][5], Value::Long(1));
    assert_eq!(r.table.columns[6].ty, ScalarType::DateTime);
}

#[test]
fn summarize_by_bin_keeps_column_name_and_empty_input_counts_zero() {
    let r = run("SigninLogs | summarize n = count() by bin(TimeGenerated, 1d)");
    assert_eq!(names(&r.table), vec!["TimeGenerated", "n"]);
    assert_eq!(r.table.len(), 2);
    let r = run("SigninLogs | where ResultType == 42 | summarize count()");
    assert_eq!(r.table.rows, vec![vec![Value::Long(0)]]);
    let r = run("SigninLogs | summarize avg(ResultType), x = round(avg(ResultType) / 2, 1)");
    assert_eq!(r.table.rows[0][0], Value::Real(25063.0));
    assert_eq!(r.table.rows[0][1], Value::Real(12531.5));
}

#[test]
fn arg_max_star_returns_the_latest_row_per_group() {
    let r = run(
        "SigninLogs | summarize arg_max(TimeGenerated, *) by UserPrincipalName | where UserPrincipalName startswith 'alice'",
    );
    assert_eq!(
        names(&r.table),
        vec![
            "UserPrincipalName",
            "TimeGenerated",
            "ResultType",
            "IPAddress",
            "Props"
        ]
    );
    assert_eq!(r.table.rows[0][2], Value::Long(0));
    let r = run(
        "SigninLogs | summarize arg_min(TimeGenerated, IPAddress) by UserPrincipalName | where UserPrincipalName startswith 'alice'",
    );
    assert_eq!(r.table.rows[0][2], Value::str("203.0.113.5"));
}

#[test]
fn variancepif_is_the_population_variance_of_the_rows_the_predicate_keeps() {
    // Kusto's example: the even numbers of 1..100. Its page shows 850, varianceif's (sample)
    // answer copied from that page; their population variance is 4 * (50² - 1) / 12 = 833.
    let q = "range x from 1 to 100 step 1 | summarize variancepif(x, x%2 == 0), varianceif(x, x%2 == 0)";
    let r = run(q);
    assert_eq!(names(&r.table), ["variancepif_x", "varianceif_x"]);
    assert_eq!(r.table.rows[0][0], Value::Real(833.0));
    assert_eq!(r.table.rows[0][1], Value::Real(850.0));
    let r = run("range x from 1 to 4 step 1 | summarize v = variancepif(x, x > 10)");
    assert_eq!(r.table.rows[0][0], Value::Null);
}

#[test]
fn percentiles_stdev_and_make_list() {
    let r = run("range x from 1 to 4 step 1 | summarize variancep(x), a = avg(x * 1h)");
    assert_eq!(r.table.rows[0][0], Value::Real(1.25));
    assert_eq!(r.table.columns[1].ty, ScalarType::TimeSpan);
    assert_eq!(r.table.rows[0][1], Value::TimeSpan(25 * HOUR / 10));
    let r = run(
        "range x from 1 to 10 step 1 | summarize percentile(x, 50), percentiles(x, 90, 100), stdev(x), make_list(x, 3)",
    );
    assert_eq!(
        names(&r.table),
        vec![
            "percentile_x_50",
            "percentile_x_90",
            "percentile_x_100",
            "stdev_x",
            "list_x"
        ]
    );
    assert_eq!(r.table.rows[0][0], Value::Long(5));
    assert_eq!(r.table.rows[0][2], Value::Long(10));
    assert_eq!(
        r.table.rows[0][4],
        Value::dynamic(serde_json::json!([1, 2, 3]))
    );
}

#[test]
fn make_series_fills_empty_bins_with_the_default() {
    let r = run(
        "SigninLogs | make-series n = count() default = 0 on TimeGenerated from datetime(2024-01-01 20:00) to datetime(2024-01-02) step 1h by UserPrincipalName | where UserPrincipalName startswith 'alice'",
    );
    assert_eq!(
        names(&r.table),
        vec!["UserPrincipalName", "n", "TimeGenerated"]
    );
    assert_eq!(
        r.table.rows[0][1],
        Value::dynamic(serde_json::json!([0, 1, 0, 1]))
    );
    assert_eq!(
        r.table.rows[0][2],
        Value::dynamic(serde_json::json!([
            "2024-01-01T20:00:00.0000000Z",
            "2024-01-01T21:00:00.0000000Z",
            "2024-01-01T22:00:00.0000000Z",
            "2024-01-01T23:00:00.0000000Z"
        ]))
    );
}

#[test]
fn top_nested_keeps_the_top_groups_per_level() {
    let r = run(
        "SigninLogs | top-nested 1 of UserPrincipalName by n = count(), top-nested of IPAddress by max(TimeGenerated) asc",
    );
    assert_eq!(
        names(&r.table),
        vec![
            "UserPrincipalName",
            "n",
            "IPAddress",
            "aggregated_IPAddress"
        ]
    );
    assert_eq!(r.table.len(), 2);
    assert_eq!(r.table.rows[0][0], Value::str("alice@contoso.com"));
    assert_eq!(r.table.rows[0][1], Value::Long(2));
    assert_eq!(r.table.rows[0][2], Value::str("203.0.113.5"));
}

#[test]
fn covariance_bitwise_and_weighted_percentile_aggregates() {
    let r = run(
        "datatable(x:real, y:real) [1.0, 14.0, 2.0, 10.0, 3.0, 17.0, 4.0, 20.0, 5.0, 50.0] \
         | summarize covariance(x, y), covariancep(x, y)",
    );
    assert_eq!(names(&r.table), ["covariance_x_y", "covariancep_x_y"]);
    assert_eq!(r.table.rows[0], [Value::Real(20.5), Value::Real(16.4)]);
    let r = run("datatable(n:long) [12, 10, 6] \
         | summarize a = binary_all_and(n), o = binary_all_or(n), x = binary_all_xor(n)");
    assert_eq!(
        r.table.rows[0],
        [Value::Long(0), Value::Long(14), Value::Long(0)]
    );
    // Weighted nearest rank: the weights act as repetition counts.
    let data = "datatable(w:long, v:long) [8, 10, 6, 20, 3, 30, 1, 40]";
    let r = run(&format!("{data} | summarize percentilesw(v, w, 50, 99.9)"));
    assert_eq!(names(&r.table), ["percentile_v_50", "percentile_v_99_9"]);
    assert_eq!(r.table.rows[0], [Value::Long(20), Value::Long(40)]);
    let r = run(&format!(
        "{data} | summarize percentilesw_array(v, w, dynamic([50, 75]))"
    ));
    assert_eq!(names(&r.table), ["percentiles_v"]);
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!([20, 20]))
    );
}

#[test]
fn aggregates_over_no_values_take_kusto_defaults() {
    // Kusto's table of defaults: count/sum/variance/stdev 0, make_* an empty array, others null;
    // but avg divides a sum of 0 by a count of 0, and Kusto answers NaN.
    let r = run(
        "datatable(x:long) [] | summarize count(), sum(x), stdev(x), variance(x), \
         make_list(x), max(x), avg(x)",
    );
    assert_eq!(
        r.table.rows[0][..6],
        [
            Value::Long(0),
            Value::Long(0),
            Value::Real(0.0),
            Value::Real(0.0),
            Value::dynamic(serde_json::json!([])),
            Value::Null,
        ]
    );
    assert_eq!(r.table.rows[0][6].to_json(), serde_json::json!("NaN"));
    // The same over values that are all null, in a group, and for avgif matching nothing; a
    // timespan has no NaN and stays null.
    let r = run(
        "datatable(k:string, x:real) ['a', real(null), 'a', real(null), 'b', 2.0] \
         | summarize avg(x), avgif(x, x > 5) by k | sort by k asc",
    );
    let json: Vec<serde_json::Value> = r.table.rows.iter().flatten().map(Value::to_json).collect();
    assert_eq!(
        serde_json::Value::Array(json),
        serde_json::json!(["a", "NaN", "NaN", "b", 2.0, "NaN"])
    );
    assert_eq!(
        cell("datatable(x:timespan) [timespan(null)] | summarize avg(x)"),
        Value::Null
    );
    // Sketches over no values are null (the docs' summarize example), a set is empty.
    let r = run("datatable(x:long) [] | summarize hll(x), tdigest(x), make_set(x)");
    assert_eq!(
        r.table.rows[0],
        [
            Value::Null,
            Value::Null,
            Value::dynamic(serde_json::json!([]))
        ]
    );
    assert_eq!(
        cell("datatable(x:real) [real(null)] | summarize sum(x)"),
        Value::Real(0.0)
    );
}

#[test]
fn hll_and_tdigest_sketches_merge_and_read_back() {
    let r = run("range x from 1 to 10 step 1 | extend y = x + 5 \
         | summarize hx = hll(x), hy = hll(y) | project m = hll_merge(hx, hy) | project dcount_hll(m)");
    assert_eq!(names(&r.table), ["dcount_hll_m"]);
    assert_eq!(r.table.rows[0][0], Value::Long(15));
    let r = run(
        "range x from 1 to 4 step 1 | summarize h = hll(x) by k = x % 2 \
         | summarize m = hll_merge(h) | project dcount_hll(m)",
    );
    assert_eq!(r.table.rows[0][0], Value::Long(4));
    // Weighted values: 1 (weight 1) and 2 (weight 2); the median is 2.
    let r = run(
        "datatable(v:real, w:long) [1.0, 1, 2.0, 2] | summarize td = tdigest(v, w) \
         | project p = percentile_tdigest(td, 50), q = percentile_tdigest(td, 10, typeof(long))",
    );
    assert_eq!(
        r.table.rows[0],
        [Value::dynamic(serde_json::json!(2.0)), Value::Long(1)]
    );
    let r = run("range x from 1 to 10 step 1 | extend y = x + 10 \
         | summarize a = tdigest(x), b = tdigest(y) | project m = merge_tdigest(a, b) \
         | project percentiles_array_tdigest(m, 50, 100)");
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!([10, 20]))
    );
}

#[test]
fn buildschema_merges_the_shapes_of_dynamic_values() {
    let r = run(
        "datatable(v:dynamic) [dynamic({'x': 1, 'z': [1]}), dynamic({'x': 'a', 'y': {'w': true}})] \
         | summarize buildschema(v)",
    );
    assert_eq!(names(&r.table), ["schema_v"]);
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!({
            "x": ["long", "string"],
            "z": {"`indexer`": "long"},
            "y": {"w": "bool"}
        }))
    );
    assert_eq!(
        cell("datatable(v:dynamic) [] | summarize buildschema(v)"),
        Value::Null
    );
}

#[test]
fn aggregate_names_see_through_type_conversions() {
    let r = run("datatable(x:long) [1, 2] | summarize max(todouble(x)), make_set(tostring(x))");
    assert_eq!(names(&r.table), ["max_x", "set_x"]);
}

#[test]
fn make_list_with_nulls_percentilew_and_weekofyear() {
    let r = run("datatable(x:long) [1, long(null), 2] | summarize make_list_with_nulls(x)");
    assert_eq!(names(&r.table), ["list_x"]);
    assert_eq!(
        r.table.rows[0][0],
        Value::dynamic(serde_json::json!([1, null, 2]))
    );
    let r = run("datatable(x:long, w:long) [1, 2, 3, 1] | summarize percentilew(x, w, 50)");
    assert_eq!(names(&r.table), ["percentile_x_50"]);
    assert_eq!(r.table.rows[0][0], Value::Long(1));
    assert_eq!(
        cell("print weekofyear(datetime(2020-03-01))"),
        Value::Long(9)
    );
}

#[test]
fn aggregates_output_in_their_places_answer_as_computed_outputs() {
    let data =
        "datatable(k:string, x:long, r:real)['a',1,0.5, 'b',long(null),1.5, 'a',-3,real(null),
        '',9223372036854775807,2.0, 'a',9223372036854775807,real(null)]";
    // Each pair: the outputs in their aggregates' places (the row made from them in place), and
    // the same outputs computed (the row made as any other).
    for (placed, computed) in [
        (
            "summarize n = count(), s = sum(x), a = avg(r), m = max(k) by k",
            "summarize n = count() + 0, s = sum(x) + 0, a = avg(r) * 1.0, m = strcat(max(k)) by k",
        ),
        (
            "summarize sum(x), dcount(k)",
            "summarize sum_x = sum(x) + 0, dcount_k = dcount(k) + 0",
        ),
        (
            "where x > 10000000000000000000 | summarize n = count(), s = sum(x)",
            "where x > 10000000000000000000 | summarize n = count() + 0, s = sum(x) + 0",
        ),
        (
            "summarize n = count() by k, x",
            "summarize n = count() + 0 by k, x",
        ),
    ] {
        let placed = run(&format!("{data} | {placed}")).table;
        let computed = run(&format!("{data} | {computed}")).table;
        assert_eq!(names(&placed), names(&computed));
        assert_eq!(placed.rows, computed.rows, "{placed:?}");
        let types = |t: &Table| t.columns.iter().map(|c| c.ty).collect::<Vec<_>>();
        assert_eq!(types(&placed), types(&computed));
    }
}

#[test]
fn the_issues_range_buckets_count_and_sum_each_hundred() {
    let r = run(
        "range i from 1 to 1000 step 1 | summarize n = count(), total = sum(i) by bucket = i / 100",
    );
    assert_eq!(r.table.rows.len(), 11);
    // 1..99, then 100 values a bucket, then 1000 alone, in the order first seen.
    assert_eq!(
        r.table.rows[0],
        vec![Value::Long(0), Value::Long(99), Value::Long(4950)]
    );
    assert_eq!(
        r.table.rows[1],
        vec![Value::Long(1), Value::Long(100), Value::Long(14950)]
    );
    assert_eq!(
        r.table.rows[10],
        vec![Value::Long(10), Value::Long(1), Value::Long(1000)]
    );
    let r = run("range i from 1 to 4 step 1 | summarize s = sum(i * 9223372036854775807)");
    // The sum of longs wraps, as the row fold's always has.
    assert_eq!(
        r.table.rows,
        vec![vec![Value::Long(9223372036854775807i64.wrapping_mul(10))]]
    );
}
