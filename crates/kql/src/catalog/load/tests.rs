//! The loaders on files written in each format, typed by the table schemas.
use super::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;

fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        let mut f = File::create(dir.path().join(name)).expect("create");
        f.write_all(content).expect("write");
    }
    dir
}

fn types(t: &Table) -> BTreeMap<&str, ScalarType> {
    t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect()
}

fn cell<'a>(t: &'a Table, row: usize, col: &str) -> &'a Value {
    &t.rows[row][t.column_index(col).expect("column")]
}

fn err(files: &[(&str, &[u8])]) -> String {
    let dir = dir_with(files);
    match load_dir(dir.path()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn jsonl_columns_are_the_union_of_keys_with_inferred_types() {
    let dir = dir_with(&[(
        "Events.jsonl",
        br#"{"TimeGenerated":"2024-05-01T12:00:00Z","Count":3,"Ok":true,"Ratio":0.5,"Name":"a","Props":{"x":1}}

{"TimeGenerated":"2024-05-01T12:00:01.1234567Z","Count":4,"Ok":false,"Ratio":2,"Name":"b","When":"2024-05-02","Extra":[1,2]}
"#,
    )]);
    let cat = load_dir(dir.path()).expect("load");
    let t = cat.get("Events").expect("table");
    assert_eq!(t.len(), 2);
    let order: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "TimeGenerated",
            "Count",
            "Ok",
            "Ratio",
            "Name",
            "Props",
            "When",
            "Extra"
        ]
    );
    let ty = types(t);
    assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
    assert_eq!(ty["Count"], ScalarType::Long);
    assert_eq!(ty["Ok"], ScalarType::Bool);
    assert_eq!(ty["Ratio"], ScalarType::Real);
    assert_eq!(ty["Name"], ScalarType::String);
    assert_eq!(ty["Props"], ScalarType::Dynamic);
    assert_eq!(ty["When"], ScalarType::DateTime);
    assert_eq!(ty["Extra"], ScalarType::Dynamic);
    assert_eq!(
        cell(t, 1, "TimeGenerated").to_string(),
        "2024-05-01T12:00:01.1234567Z"
    );
    assert_eq!(cell(t, 0, "When"), &Value::Null);
    assert_eq!(cell(t, 1, "Props"), &Value::Null);
    assert_eq!(cell(t, 0, "Ratio"), &Value::Real(0.5));
}

#[test]
fn mixed_json_kinds_become_dynamic_and_known_sentinel_types_win() {
    let dir = dir_with(&[(
        "SigninLogs.jsonl",
        br#"{"TimeGenerated":"2024-05-01T12:00:00Z","ResultType":0,"Mixed":1,"IsRisky":"false","LocationDetails":"{\"city\":\"Oslo\"}"}
{"TimeGenerated":"2024-05-01T12:00:00Z","ResultType":"50126","Mixed":"x","IsRisky":true,"LocationDetails":{"city":"Rome"}}
"#,
    )]);
    let cat = load_dir(dir.path()).expect("load");
    let t = cat.get("SigninLogs").expect("table");
    let ty = types(t);
    assert_eq!(ty["ResultType"], ScalarType::String);
    assert_eq!(ty["Mixed"], ScalarType::Dynamic);
    assert_eq!(ty["IsRisky"], ScalarType::Bool);
    assert_eq!(ty["LocationDetails"], ScalarType::Dynamic);
    assert_eq!(cell(t, 0, "ResultType"), &Value::str("0"));
    assert_eq!(
        cell(t, 0, "LocationDetails"),
        &Value::dynamic(serde_json::json!({"city": "Oslo"}))
    );
}

#[test]
fn csv_infers_types_from_text_and_keeps_sentinel_string_columns() {
    let dir = dir_with(&[
        (
            "SigninLogs.csv",
            b"\xef\xbb\xbfTimeGenerated,ResultType,UserPrincipalName,DurationMs,Score,Flag,Details,Seen\n\
              2024-05-01T12:00:00Z,50126,a@contoso.com,12,0.5,true,\"{\"\"a\"\":1}\",\"5/1/2024, 1:02:03.000 PM\"\n\
              2024-05-01 12:00:05,0,\"b, the second\",,1e3,FALSE,[],2024-05-01\n",
        ),
        ("notes.txt", b"ignored"),
        (".hidden.csv", b"x\n1\n"),
    ]);
    let cat = load_dir(dir.path()).expect("load");
    assert_eq!(cat.names().collect::<Vec<_>>(), ["SigninLogs"]);
    let t = cat.get("SigninLogs").expect("table");
    let ty = types(t);
    assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
    assert_eq!(ty["ResultType"], ScalarType::String);
    assert_eq!(ty["DurationMs"], ScalarType::Long);
    assert_eq!(ty["Score"], ScalarType::Real);
    assert_eq!(ty["Flag"], ScalarType::Bool);
    assert_eq!(ty["Details"], ScalarType::Dynamic);
    assert_eq!(ty["Seen"], ScalarType::DateTime);
    assert_eq!(
        cell(t, 1, "UserPrincipalName"),
        &Value::str("b, the second")
    );
    assert_eq!(cell(t, 1, "DurationMs"), &Value::Null);
    assert_eq!(cell(t, 0, "Seen").to_string(), "2024-05-01T13:02:03Z");
    assert_eq!(
        cell(t, 1, "TimeGenerated").to_string(),
        "2024-05-01T12:00:05Z"
    );
}

#[test]
fn empty_columns_are_empty_strings_and_empty_files_are_empty_tables() {
    let cat =
        load_dir(dir_with(&[("A.csv", b"x,y\n1,\n"), ("B.jsonl", b"\n")]).path()).expect("load");
    let a = cat.get("A").expect("A");
    assert_eq!(types(a)["y"], ScalarType::String);
    assert_eq!(cell(a, 0, "y"), &Value::str(""));
    assert!(cat.get("B").expect("B").is_empty());
}

#[test]
fn jsonl_rows_may_differ_in_key_order_and_repeat_a_key() {
    let dir = dir_with(&[(
        "T.jsonl",
        b"{\"a\":1,\"b\":\"x\"}\n{\"b\":\"y\",\"c\":true,\"a\":2,\"a\":3}\n{\"c\":false}\n",
    )]);
    let cat = load_dir(dir.path()).expect("load");
    let t = cat.get("T").expect("T");
    let order: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(cell(t, 1, "a"), &Value::Long(3));
    assert_eq!(cell(t, 1, "b"), &Value::str("y"));
    assert_eq!(cell(t, 2, "a"), &Value::Null);
    assert_eq!(cell(t, 2, "c"), &Value::Bool(false));
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
    let dir = dir_with(&[
        ("J.jsonl", b"\xef\xbb\xbf{\"a\":1}\r\n{\"a\":2}\r\n"),
        ("C.csv", b"\xef\xbb\xbfa,b\r\n1,x\r\n"),
    ]);
    let cat = load_dir(dir.path()).expect("load");
    let j = cat.get("J").expect("J");
    assert_eq!((j.len(), types(j)["a"]), (2, ScalarType::Long));
    let c = cat.get("C").expect("C");
    assert_eq!(types(c)["a"], ScalarType::Long);
    assert_eq!(cell(c, 0, "b"), &Value::str("x"));
}

#[test]
fn malformed_jsonl_names_the_file_and_line() {
    let e = err(&[("T.jsonl", b"{\"a\":1}\n{\"a\":\n")]);
    assert!(e.contains("T.jsonl, line 2: invalid JSON"), "{e}");
    let e = err(&[("T.jsonl", b"{\"a\":1}\n\n[1,2]\n")]);
    assert!(
        e.contains("T.jsonl, line 3: found an array instead of an object"),
        "{e}"
    );
}

#[test]
fn malformed_csv_names_the_file_and_line() {
    let e = err(&[("T.csv", b"a,b\n1,2\n3\n")]);
    assert!(
        e.contains("T.csv, line 3: found 1 fields where the header has 2"),
        "{e}"
    );
    let e = err(&[("T.csv", b"a,a\n1,2\n")]);
    assert!(e.contains("column `a` appears twice"), "{e}");
    let e = err(&[("T.csv", b"a,\n1,2\n")]);
    assert!(e.contains("column 2 has no name"), "{e}");
    let e = err(&[("T.csv", b"a\n\xff\xfe\n")]);
    assert!(
        e.contains("T.csv, line 2: the text is not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn time_generated_must_be_a_datetime() {
    let e = err(&[(
        "T.jsonl",
        b"{\"TimeGenerated\":\"2024-05-01\"}\n{\"TimeGenerated\":\"yesterday\"}\n",
    )]);
    assert!(
        e.contains("T.jsonl, line 2: TimeGenerated \"yesterday\" is not a datetime"),
        "{e}"
    );
    let e = err(&[("T.csv", b"TimeGenerated\n12\n")]);
    assert!(e.contains("T.csv, line 2: TimeGenerated"), "{e}");
}

#[test]
fn one_file_per_table_and_a_missing_dir_is_an_error() {
    let e = err(&[("T.csv", b"a\n1\n"), ("T.jsonl", b"{\"a\":1}\n")]);
    assert!(e.contains("table T is defined by both"), "{e}");
    let missing = std::env::temp_dir().join("sentinel-mcp-no-such-dir-4711");
    let e = load_dir(&missing).map(|_| ()).expect_err("missing dir");
    assert!(
        e.to_string().contains("cannot list the data directory"),
        "{e}"
    );
}

#[test]
fn datetime_forms_parse_to_utc_ticks() {
    let t = |s: &str| parse_file_datetime(s).map(crate::value::format_datetime);
    assert_eq!(
        t("2024-05-01T12:00:00+02:00").as_deref(),
        Some("2024-05-01T10:00:00Z")
    );
    assert_eq!(
        t("2024-05-01T12:00:00.1234567Z").as_deref(),
        Some("2024-05-01T12:00:00.1234567Z")
    );
    assert_eq!(
        t("2024-05-01 12:00").as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    assert_eq!(
        t("12/31/2024, 11:59:59.500 PM").as_deref(),
        Some("2024-12-31T23:59:59.5Z")
    );
    assert_eq!(t("2024"), None);
    assert_eq!(t("hello"), None);
}

#[cfg(not(feature = "parquet"))]
#[test]
fn without_the_parquet_feature_a_parquet_file_is_refused_by_name_and_text_files_still_load() {
    let e = err(&[
        (
            "Events.csv",
            b"TimeGenerated,Name\n2024-05-01T00:00:00Z,a\n",
        ),
        ("T.parquet", b"PAR1"),
    ]);
    assert!(
        e.contains("T.parquet: this build of sentinel-mcp reads no Parquet files"),
        "{e}"
    );
    let dir = dir_with(&[(
        "Events.csv",
        b"TimeGenerated,Name\n2024-05-01T00:00:00Z,a\n",
    )]);
    let options = LoadOptions {
        cache_dir: Some(dir.path().join("cache")),
    };
    let catalog = load_dir_with(dir.path(), &options).expect("a CSV file loads");
    assert_eq!(catalog.get("Events").expect("Events").rows.len(), 1);
    assert!(!dir.path().join("cache").exists(), "no cache is written");
}

/// Parquet files and the Parquet cache: the `parquet` feature.
#[cfg(feature = "parquet")]
mod parquet_files {
    use super::*;
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_schema::DataType;

    #[test]
    fn malformed_parquet_is_an_error_not_a_panic() {
        let e = err(&[("T.parquet", b"PAR1 this is not parquet")]);
        assert!(
            e.contains("T.parquet is not a readable Parquet file"),
            "{e}"
        );
    }

    #[test]
    fn parquet_columns_map_from_arrow_types() {
        use arrow_array::builder::{Int64Builder, ListBuilder};
        use arrow_array::{
            BooleanArray, Date32Array, Decimal128Array, DictionaryArray, DurationSecondArray,
            Float64Array, Int32Array, RecordBatch, StringArray, StructArray,
            TimestampMicrosecondArray, UInt64Array,
        };
        use arrow_schema::{Field, Schema};
        use parquet::arrow::ArrowWriter;

        let mut list = ListBuilder::new(Int64Builder::new());
        list.values().append_value(1);
        list.values().append_value(2);
        list.append(true);
        list.append(false);
        let inner = StructArray::from(vec![(
            Arc::new(Field::new("city", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("Oslo"), None])) as arrow_array::ArrayRef,
        )]);
        let dict: DictionaryArray<Int32Type> = vec!["High", "Low"].into_iter().collect();
        let columns: Vec<(&str, arrow_array::ArrayRef)> = vec![
            (
                "TimeGenerated",
                Arc::new(StringArray::from(vec![
                    "2024-05-01T12:00:00Z",
                    "2024-05-01T12:00:01Z",
                ])),
            ),
            (
                "When",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_714_564_800_000_001), None])
                        .with_timezone("UTC"),
                ),
            ),
            ("Flag", Arc::new(BooleanArray::from(vec![true, false]))),
            ("Small", Arc::new(Int32Array::from(vec![7, -1]))),
            ("Big", Arc::new(UInt64Array::from(vec![Some(5), None]))),
            ("Ratio", Arc::new(Float64Array::from(vec![0.25, 1.0]))),
            (
                "Price",
                Arc::new(
                    Decimal128Array::from(vec![12_345, 1])
                        .with_precision_and_scale(10, 2)
                        .expect("decimal"),
                ),
            ),
            ("Day", Arc::new(Date32Array::from(vec![19_844, 0]))),
            ("Took", Arc::new(DurationSecondArray::from(vec![90, 1]))),
            ("Ids", Arc::new(list.finish())),
            ("Where", Arc::new(inner)),
            ("Severity", Arc::new(dict)),
        ];
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_new(
            schema.clone(),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .expect("batch");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = File::create(dir.path().join("Alerts.parquet")).expect("create");
        let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");

        let cat = load_dir(dir.path()).expect("load");
        let t = cat.get("Alerts").expect("table");
        let ty = types(t);
        assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
        assert_eq!(ty["When"], ScalarType::DateTime);
        assert_eq!(ty["Flag"], ScalarType::Bool);
        assert_eq!(ty["Small"], ScalarType::Int);
        assert_eq!(ty["Big"], ScalarType::Long);
        assert_eq!(ty["Ratio"], ScalarType::Real);
        assert_eq!(ty["Price"], ScalarType::Decimal);
        assert_eq!(ty["Day"], ScalarType::DateTime);
        assert_eq!(ty["Took"], ScalarType::TimeSpan);
        assert_eq!(ty["Ids"], ScalarType::Dynamic);
        assert_eq!(ty["Where"], ScalarType::Dynamic);
        assert_eq!(ty["Severity"], ScalarType::String);
        assert_eq!(
            cell(t, 1, "TimeGenerated").to_string(),
            "2024-05-01T12:00:01Z"
        );
        assert_eq!(
            cell(t, 0, "When").to_string(),
            "2024-05-01T12:00:00.000001Z"
        );
        assert_eq!(cell(t, 1, "When"), &Value::Null);
        assert_eq!(cell(t, 0, "Small"), &Value::Int(7));
        assert_eq!(cell(t, 1, "Big"), &Value::Null);
        assert_eq!(cell(t, 0, "Price"), &Value::decimal(123.45));
        assert_eq!(cell(t, 0, "Day").to_string(), "2024-05-01T00:00:00Z");
        assert_eq!(cell(t, 0, "Took").to_string(), "00:01:30");
        assert_eq!(
            cell(t, 0, "Ids"),
            &Value::dynamic(serde_json::json!([1, 2]))
        );
        assert_eq!(cell(t, 1, "Ids"), &Value::Null);
        assert_eq!(
            cell(t, 0, "Where"),
            &Value::dynamic(serde_json::json!({"city": "Oslo"}))
        );
        assert_eq!(cell(t, 1, "Severity"), &Value::str("Low"));
    }

    #[test]
    fn parquet_time_generated_that_is_not_a_datetime_is_an_error() {
        use arrow_array::{Int64Array, RecordBatch};
        use arrow_schema::{Field, Schema};
        use parquet::arrow::ArrowWriter;

        let schema = Arc::new(Schema::new(vec![Field::new(
            "TimeGenerated",
            DataType::Int64,
            false,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))])
            .expect("batch");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = File::create(dir.path().join("T.parquet")).expect("create");
        let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        let e = load_dir(dir.path())
            .map(|_| ())
            .expect_err("error")
            .to_string();
        assert!(
            e.contains("T.parquet, row 1: TimeGenerated 1 (long) is not a datetime"),
            "{e}"
        );
    }

    /// Every type, nulls and non-ASCII text (every documented table, written from the demo
    /// workspace, is checked the same way in the `sentinel-demo` crate's tests).
    #[test]
    fn written_parquet_reads_back_as_the_same_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut odd = Table::new(vec![
            Column::new("TimeGenerated", ScalarType::DateTime),
            Column::new("Id", ScalarType::Guid),
            Column::new("Took", ScalarType::TimeSpan),
            Column::new("Price", ScalarType::Decimal),
            Column::new("Bag", ScalarType::Dynamic),
            Column::new("Note", ScalarType::String),
        ]);
        odd.rows.push(vec![
            Value::DateTime(-5),
            Value::Guid(uuid::Uuid::from_u128(7)),
            Value::TimeSpan(-36_000_000_001),
            Value::decimal(1.25),
            Value::dynamic(serde_json::json!("just text")),
            Value::str("ünïcode"),
        ]);
        odd.rows.push(vec![
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::str(""),
        ]);
        write_parquet(&odd, &dir.path().join("Odd.parquet")).expect("write");
        let back = load_dir(dir.path()).expect("load");
        assert_eq!(back.get("Odd").map(|t| &**t), Some(&odd));
    }

    #[test]
    fn the_cache_keeps_a_parquet_copy_and_follows_source_changes() {
        let dir = dir_with(&[("Events.csv", b"TimeGenerated,N\n2024-05-01T00:00:00Z,1\n")]);
        let cache = dir.path().join(".cache");
        let options = LoadOptions {
            cache_dir: Some(cache.clone()),
        };
        let first = load_dir_with(dir.path(), &options).expect("load");
        let copy =
            cache_path(&cache, &dir.path().join("Events.csv"), "Events").expect("cache path");
        assert!(copy.is_file(), "no cached copy at {}", copy.display());

        // The next load reads the copy: a doctored copy shows through.
        let mut doctored = (**first.get("Events").expect("Events")).clone();
        doctored.rows[0][1] = Value::Long(42);
        write_parquet(&doctored, &copy).expect("write");
        let second = load_dir_with(dir.path(), &options).expect("load");
        assert_eq!(second.get("Events").map(|t| &**t), Some(&doctored));

        // A changed source is parsed again, and its old copy removed.
        std::fs::write(
            dir.path().join("Events.csv"),
            "TimeGenerated,N\n2024-05-01T00:00:00Z,1\n2024-05-02T00:00:00Z,2\n",
        )
        .expect("rewrite");
        let third = load_dir_with(dir.path(), &options).expect("load");
        assert_eq!(third.get("Events").map(|t| t.len()), Some(2));
        assert!(!copy.exists(), "stale copy kept");
        let copies = std::fs::read_dir(&cache).expect("cache dir").count();
        assert_eq!(copies, 1);

        // A corrupt copy is ignored, and a cache that cannot be written is not an error.
        let fresh =
            cache_path(&cache, &dir.path().join("Events.csv"), "Events").expect("cache path");
        std::fs::write(&fresh, b"garbage").expect("corrupt");
        assert_eq!(
            load_dir_with(dir.path(), &options)
                .expect("load")
                .get("Events")
                .map(|t| t.len()),
            Some(2)
        );
        let blocked = LoadOptions {
            cache_dir: Some(dir.path().join("Events.csv").join("sub")),
        };
        assert!(load_dir_with(dir.path(), &blocked).is_ok());
    }
}
