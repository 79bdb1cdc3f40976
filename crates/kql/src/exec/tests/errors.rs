//! Errors, limits and cancellation: what a failing or hostile query gets.

use super::*;

#[test]
fn errors_name_what_went_wrong_and_where() {
    assert!(matches!(
        err("Nope | take 1"),
        KqlError::Resolution {
            location: Location { line: 1, column: 1 },
            ..
        }
    ));
    let e = err("SigninLogs\n| where Nope == 1");
    assert!(
        matches!(
            e,
            KqlError::Resolution {
                location: Location { line: 2, column: 9 },
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("Failed to resolve scalar expression named 'Nope'")
    );
    assert!(matches!(
        err("print nosuchfn(1)"),
        KqlError::Resolution { .. }
    ));
    assert!(matches!(
        err("SigninLogs | where TimeGenerated > 1"),
        KqlError::Type { .. }
    ));
    assert!(matches!(err("print 'a' + 1"), KqlError::Type { .. }));
    assert!(matches!(
        err("workspace('x').SigninLogs | take 1"),
        KqlError::Unsupported { .. }
    ));
    assert_eq!(run("SigninLogs | where ResultType == '0'").table.len(), 2);
    assert!(matches!(
        err("SigninLogs | facet by UserPrincipalName"),
        KqlError::Unsupported { .. }
    ));
    assert!(matches!(
        err("SigninLogs | evaluate autocluster()"),
        KqlError::Unsupported { .. }
    ));
    // The engine refuses the plugins the guard refuses, by the guard's one rule (the engine's
    // own list once lacked these).
    for plugin in [
        "http_request('http://x')",
        "HTTP_REQUEST('http://x')",
        "java('class X {}')",
        "infer_storage_schema(dynamic({}))",
        "external_data('x')",
        "webhook_request('x')",
        "ai_chat_completion('x')",
    ] {
        let e = err(&format!("print 1 | evaluate {plugin}"));
        assert!(matches!(e, KqlError::Forbidden { .. }), "{plugin}: {e:?}");
        assert!(crate::bind::guard::plugin_is_forbidden(
            plugin.split('(').next().expect("a name")
        ));
    }
    assert!(matches!(
        err("externaldata(a:string)[h'https://x'] | take 1"),
        KqlError::Forbidden { .. }
    ));
    assert!(matches!(
        err(".drop table SigninLogs"),
        KqlError::Forbidden { .. }
    ));
    assert!(err(".show tables").to_string().contains("read-only"));
}

#[test]
fn hostile_queries_fail_cleanly() {
    let e = err("let f = (x:long) { f(x) }; print f(1)");
    assert!(e.to_string().contains("recursive"), "{e}");
    let e = err("let T = () { T() }; T()");
    assert!(e.to_string().contains("recursive"), "{e}");
    assert!(matches!(
        err("range x from 1 to 100000000 step 1"),
        KqlError::Runtime { .. }
    ));
    let deep = format!("print {}1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(cell(&deep), Value::Long(1));
    let long = format!("print 0{}", " + 1".repeat(500));
    assert_eq!(cell(&long), Value::Long(500));
    let ors = format!(
        "SigninLogs | where {}",
        vec!["ResultType == 1"; 500].join(" or ")
    );
    assert_eq!(run(&ors).table.len(), 0);
}

#[test]
fn cancellation_stops_the_query() {
    let mut o = opts();
    o.cancel = Some(Arc::new(std::sync::atomic::AtomicBool::new(true)));
    let r = both(&catalog(), "range x from 1 to 100000 step 1 | count", &o);
    assert_eq!(r.unwrap_err(), KqlError::Cancelled);
    let mut o = opts();
    o.deadline = Some(Instant::now());
    assert_eq!(
        both(&catalog(), "range x from 1 to 100000 step 1", &o).unwrap_err(),
        KqlError::Cancelled
    );
}

#[test]
fn a_union_too_wide_to_hold_is_refused_before_it_is_built() {
    // One row of 2,000 columns and 20,000 rows of another: stacked, every row gets every
    // column, 40,020,001 cells, past the cap though the inputs are small.
    let mut c = Catalog::new();
    let wide: Vec<Column> = (0..2000)
        .map(|i| Column::new(format!("c{i}"), ScalarType::Long))
        .collect();
    let wide_row = vec![Value::Long(1); wide.len()];
    c.insert(
        "Wide",
        Table {
            columns: wide,
            rows: vec![wide_row],
        },
    );
    c.insert(
        "Long",
        Table {
            columns: vec![Column::new("n", ScalarType::Long)],
            rows: (0..20_000).map(|i| vec![Value::Long(i)]).collect(),
        },
    );
    let e = both(&c, "union * | count", &opts()).expect_err("too wide");
    let message = e.to_string();
    assert!(matches!(e, KqlError::Runtime { .. }), "{message}");
    assert!(
        message.contains("20001 rows of 2001 columns") && message.contains("name the tables"),
        "{message}"
    );
    // Narrower, the same union runs.
    let r = both(&c, "union Wide, (Long | take 100) | count", &opts()).expect("runs");
    assert_eq!(r.table.rows, vec![vec![Value::Long(101)]]);
}

#[test]
fn a_regex_longer_than_the_cap_is_invalid_not_run() {
    // A search cannot stop at the deadline and costs up to the pattern's length times the
    // text's, so a pattern past MAX_REGEX_BYTES is refused like an invalid one; one at the cap
    // still runs. The long branch never matches: the texts stay short.
    let pattern = |n: usize| format!("(b)|{}", "a".repeat(n - 4));
    let (at_cap, past) = (
        pattern(crate::functions::MAX_REGEX_BYTES),
        pattern(crate::functions::MAX_REGEX_BYTES + 1),
    );
    let extract = |p: &str| cell(&format!("print extract('{p}', 1, 'xb')"));
    assert_eq!(extract(&at_cap), Value::str("b"));
    assert_eq!(extract(&past), extract("("));
    let matching = |p: &str| {
        run(&format!(
            "range x from 1 to 3 step 1 | extend s = 'xb' | where s matches regex '{p}' | count"
        ))
        .table
        .rows[0][0]
            .clone()
    };
    assert_eq!(matching(&at_cap), Value::Long(3));
    assert_eq!(matching(&past), Value::Long(0));
}

#[test]
fn a_regex_search_past_the_work_bound_stops_the_query_and_says_why() {
    // `a{4000}b` spelled out has about 4,000 states; against 300,000 `a`s its worst case is
    // 1.2e9 steps, past MAX_REGEX_WORK (seconds in a release build, minutes in a debug one, and
    // a search cannot stop at the deadline). Every search site refuses it before searching; the
    // same pattern against 1,000 `a`s runs.
    let p = format!("{}b", "a".repeat(4000));
    let sites = [
        format!("print r = extract('{p}', 0, T)"),
        format!("print r = extract_all('({p})', T)"),
        format!("print r = replace_regex(T, '{p}', 'x')"),
        format!("print r = countof(T, '{p}', 'regex')"),
        format!("print r = indexof_regex(T, '{p}')"),
        format!("print r = trim_end('{p}', T)"),
        format!("print r = T | parse kind=regex r with '({p})' x:string"),
        format!("range i from 1 to 3 step 1 | extend s = T | where s matches regex '{p}' | count"),
    ];
    let within = |q: &str, n: usize| q.replace('T', &format!("strcat_array(repeat('a', {n}), '')"));
    for q in &sites {
        for executor in [Executor::Rows, Executor::DataFusion] {
            let big = within(q, 300_000);
            match execute_on(executor, &catalog(), &big, &opts()) {
                Err(KqlError::RegexWork { states, bytes, .. }) => {
                    assert!(states > 4000 && bytes == 300_000, "{q}: {states} {bytes}");
                }
                other => panic!("{q} ({executor:?}): {other:?}"),
            }
            let small = within(q, 1_000);
            execute_on(executor, &catalog(), &small, &opts())
                .unwrap_or_else(|e| panic!("{q} ({executor:?}): {e}"));
        }
    }
    let e = err(&within(&sites[0], 300_000)).to_string();
    assert!(
        e.contains("too complex to search a text of 300000 bytes") && e.contains('…'),
        "{e}"
    );
}
