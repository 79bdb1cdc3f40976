//! Series functions and time: datetime text, time zones, `datetime_diff`, element-wise series
//! arithmetic and filters, with the documented examples.

use super::*;

#[test]
fn series_functions_work_element_wise() {
    assert_eq!(
        cell("print series_add(dynamic([1, 2, null]), dynamic([10, 20, 30]))"),
        Value::dynamic(serde_json::json!([11.0, 22.0, null]))
    );
    assert_eq!(
        cell("print series_greater(dynamic([1, 5]), 2)"),
        Value::dynamic(serde_json::json!([false, true]))
    );
    assert_eq!(
        cell("print series_sum(dynamic([1, 2, 3]))"),
        Value::Real(6.0)
    );
    assert_eq!(
        cell("print series_fill_forward(dynamic([null, 1, null, 3, null]))"),
        Value::dynamic(serde_json::json!([null, 1, 1, 3, 3]))
    );
    assert_eq!(
        cell("print series_fill_linear(dynamic([1, null, 3]))"),
        Value::dynamic(serde_json::json!([1, 2, 3]))
    );
}

#[test]
fn series_magnitude_is_the_square_root_of_the_sum_of_squares() {
    // Kusto's example: the magnitude of [1,2,3,4] is 5.4772255750516612.
    assert_eq!(
        cell(
            "print arr=dynamic([1,2,3,4]) | extend series_magnitude=series_magnitude(arr) | project series_magnitude"
        ),
        Value::Real(30f64.sqrt())
    );
    assert_eq!(
        cell("print series_magnitude(dynamic([]))"),
        Value::Real(0.0)
    );
    assert_eq!(cell("print series_magnitude('text')"), Value::Null);
}

#[test]
fn series_iir_filters_with_the_documented_recursion() {
    // Kusto's examples: numerators [1] over denominators [1,-1] is a cumulative sum.
    let r = run(
        "let x = range(1.0, 10, 1); print x=x, y = series_iir(x, dynamic([1]), dynamic([1,-1])) | mv-expand x, y | project todouble(y)",
    );
    let ys: Vec<Value> = r.table.rows.iter().map(|row| row[0].clone()).collect();
    let sums: Vec<Value> = (1..=10)
        .map(|n| Value::Real(f64::from(n * (n + 1) / 2)))
        .collect();
    assert_eq!(ys, sums);
    let r = run(
        "let vector_sum=(x: dynamic) { let y=array_length(x) - 1; todouble(series_iir(x, dynamic([1]), dynamic([1, -1]))[y]) }; print d=dynamic([0, 1, 2, 3, 4]) | extend dd=vector_sum(d)",
    );
    assert_eq!(r.table.rows[0][1], Value::Real(10.0));
    // Normalised by a[0]: y[i] = (x[i] + x[i-1] - 0.5 y[i-1]) / 2.
    assert_eq!(
        cell("print series_iir(dynamic([2, 4, 6]), dynamic([1, 1]), dynamic([2, 0.5]))"),
        Value::dynamic(serde_json::json!([1.0, 2.75, 4.3125]))
    );
    assert_eq!(
        cell("print series_iir(dynamic([1, 2]), dynamic([1]), dynamic([0, 1]))"),
        Value::Null
    );
}

#[test]
fn datetime_literals_and_todatetime_take_the_same_documented_texts() {
    // todatetime's example: todatetime('12-02-2022') == datetime('12-02-2022').
    assert_eq!(
        cell("print todatetime('12-02-2022') == datetime('12-02-2022')"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print todatetime('01-01-2022') == datetime(2022-01-01)"),
        Value::Bool(true)
    );
    assert_eq!(
        cell("print datetime(\"01-01-2022\") == datetime(2022-01-01)"),
        Value::Bool(true)
    );
    // The RFC 850 and Sortable forms, as literal and as text.
    assert_eq!(
        cell(
            "print datetime(Saturday, 08-Nov-14 15:05:02 GMT) == todatetime('2014-11-08T15:05:02 GMT')"
        ),
        Value::Bool(true)
    );
    // A date from its parts is make_datetime, not a datetime literal (the error says so).
    let e = err("print d=datetime(2025, 6, 14)").to_string();
    assert!(e.contains("make_datetime(2025, 6, 14)"), "{e}");
    assert_eq!(
        cell("print make_datetime(2025, 6, 14) == datetime(2025-06-14)"),
        Value::Bool(true)
    );
}

#[test]
fn time_zones_convert_with_the_iana_database_and_a_skipped_hour_takes_the_later_offset() {
    let at = |q: &str| cell(&format!("print {q}"));
    // Kusto's examples (datetime-local-to-utc-function.md): winter offsets of three zones.
    for (tz, utc) in [
        ("US/Pacific", "2020-02-03 04:02:20"),
        ("America/Chicago", "2020-02-03 02:02:20"),
        ("Europe/Paris", "2020-02-02 19:02:20"),
    ] {
        assert_eq!(
            at(&format!(
                "datetime_local_to_utc(datetime(2020-02-02 20:02:20), '{tz}')"
            )),
            at(&format!("datetime({utc})")),
            "{tz}"
        );
    }
    // Brussels skips 02:00-03:00 on 2022-03-27: the skipped hour takes summer time's offset, as
    // in Kusto's example, and so does the hour shown twice on 2022-10-30 (winter time's).
    for (local, utc) in [
        ("2022-03-27 01:00", "2022-03-27 00:00"),
        ("2022-03-27 02:00", "2022-03-27 00:00"),
        ("2022-03-27 03:00", "2022-03-27 01:00"),
        ("2022-10-30 02:30", "2022-10-30 01:30"),
    ] {
        assert_eq!(
            at(&format!(
                "datetime_local_to_utc(datetime({local}), 'Europe/Brussels')"
            )),
            at(&format!("datetime({utc})")),
            "{local}"
        );
    }
    assert_eq!(
        at("datetime_utc_to_local(datetime(2022-03-27 00:00), 'Europe/Brussels')"),
        at("datetime(2022-03-27 01:00)")
    );
    assert_eq!(
        at("datetime_utc_to_local(datetime(2026-08-02 23:56:37), 'Australia/Canberra')"),
        at("datetime(2026-08-03 09:56:37)")
    );
    assert_eq!(
        at("datetime_utc_to_local(datetime(2024-01-01), 'Mars/Olympus_Mons')"),
        Value::Null
    );
    // datetime_list_timezones(): every name the conversions take, sorted.
    assert_eq!(
        at("array_length(datetime_list_timezones())"),
        Value::Long(597)
    );
    assert_eq!(
        at("datetime_list_timezones()[0]"),
        Value::dynamic(serde_json::json!("Africa/Abidjan"))
    );
    // Over a table, so the DataFusion run converts a column too.
    let r = run(
        "SigninLogs | project d = datetime_utc_to_local(TimeGenerated, 'Asia/Kolkata') - TimeGenerated | distinct d",
    );
    assert_eq!(
        r.table.rows,
        vec![vec![Value::TimeSpan(5 * HOUR + 30 * 60 * TICKS_PER_SECOND)]]
    );
}

#[test]
fn datetime_diff_counts_weeks_as_a_real_and_other_parts_as_longs() {
    // Kusto's example (datetime-diff-function.md): Sunday-started weeks, typed real.
    let r = run(
        "print week = datetime_diff('week', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59)), day = datetime_diff('day', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59))",
    );
    assert_eq!(r.table.columns[0].ty, ScalarType::Real);
    assert_eq!(r.table.columns[1].ty, ScalarType::Long);
    assert_eq!(r.table.rows[0], vec![Value::Real(5.0), Value::Long(29)]);
}

#[test]
fn series_fill_linear_extends_edges_and_keeps_integers() {
    let j = |v: serde_json::Value| Value::dynamic(v);
    assert_eq!(
        cell("print series_fill_linear(dynamic([null, 1, null, 4, null]))"),
        j(serde_json::json!([1, 1, 2, 4, 4]))
    );
    assert_eq!(
        cell(
            "print series_fill_linear(dynamic([null, 1.0, null, 4.0, null]), double(null), false)"
        ),
        j(serde_json::json!([null, 1.0, 2.5, 4.0, null]))
    );
    assert_eq!(
        cell("print series_fill_linear(dynamic([null, null]), double(null), true, 3.5)"),
        j(serde_json::json!([3.5, 3.5]))
    );
}
