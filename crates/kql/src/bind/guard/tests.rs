use super::*;
use crate::Catalog;

const NOW: i64 = 20_000 * TICKS_PER_DAY;

fn guard() -> QueryGuard {
    QueryGuard {
        allowed_workspaces: vec!["home-ws".into()],
        ..QueryGuard::default()
    }
}

/// Runs `query` on an empty catalog only if the guard lets it through; answers the guard's
/// verdict and how many queries ran, so every refusal also proves nothing was executed.
fn guarded_run(g: &QueryGuard, query: &str) -> (Result<GuardedQuery, GuardError>, usize) {
    let mut ran = 0;
    let verdict = g.check(query, None, NOW);
    if let Ok(ok) = &verdict {
        ran += 1;
        let _ = crate::execute(&Catalog::new(), &ok.query, &crate::ExecOptions::default());
    }
    (verdict, ran)
}

#[track_caller]
fn assert_refused(query: &str, rule: Rule) -> String {
    let (verdict, ran) = guarded_run(&guard(), query);
    match verdict {
        Err(e) => {
            assert_eq!(e.rule(), Some(rule), "{query}: wrong rule in {e}");
            assert_eq!(ran, 0);
            let msg = e.to_string();
            assert!(msg.contains(rule.name()), "{msg} does not name the rule");
            msg
        }
        Ok(_) => panic!("{query} was allowed; expected the '{rule}' rule to refuse it"),
    }
}

#[track_caller]
fn assert_allowed(query: &str) {
    if let Err(e) = guard().check(query, None, NOW) {
        panic!("{query} was refused: {e}");
    }
}

#[test]
fn a_query_over_the_length_limit_is_refused_naming_the_setting() {
    let q = format!("print s = '{}'", "x".repeat(25_301 - 12));
    assert_eq!(q.chars().count(), 25_301);
    let (verdict, ran) = guarded_run(&guard(), &q);
    let msg = verdict.unwrap_err().to_string();
    assert_eq!(ran, 0);
    assert!(
        msg.contains(
            "The query is 25,301 characters; the limit is 20,000 (SENTINEL_MCP_MAX_QUERY_CHARS)"
        ),
        "{msg}"
    );
}

#[test]
fn the_length_limit_counts_characters_not_bytes_and_is_inclusive() {
    let g = QueryGuard {
        max_query_chars: 20,
        ..guard()
    };
    let q = "print s = 'ééééééé'"; // 19 characters, 26 bytes
    assert!(g.check(q, None, NOW).is_ok());
    let q = format!("{q} ");
    assert_eq!(q.chars().count(), 20);
    assert!(g.check(&q, None, NOW).is_ok());
    let q = format!("{q} ");
    assert!(matches!(
        g.check(&q, None, NOW),
        Err(GuardError::TooLong {
            chars: 21,
            limit: 20
        })
    ));
}

#[test]
fn control_commands_are_refused_at_top_level_after_a_query_and_in_function_bodies() {
    let msg = assert_refused(".show tables", Rule::ControlCommand);
    assert!(
        msg.contains("'.show'") && msg.contains("line 1, column 1"),
        "{msg}"
    );
    assert_refused(".drop table SigninLogs", Rule::ControlCommand);
    let msg = assert_refused(
        "SigninLogs | take 1;\n.drop table SigninLogs",
        Rule::ControlCommand,
    );
    assert!(msg.contains("line 2, column 1"), "{msg}");
    assert_refused(
        "let f = () { .show database schema };\nf()",
        Rule::ControlCommand,
    );
}

#[test]
fn ingestion_commands_are_refused_as_ingestion() {
    assert_refused(
        ".ingest inline into table SigninLogs <| a,b",
        Rule::Ingestion,
    );
    assert_refused(".set-or-append Copy <| SigninLogs", Rule::Ingestion);
    assert_refused(".append Copy <| SigninLogs | take 1", Rule::Ingestion);
    assert_refused("print 1;\n.set Copy <| print 2", Rule::Ingestion);
}

#[test]
fn externaldata_is_refused_wherever_it_appears() {
    for q in [
        "externaldata(a:string)[h'https://example.com/x.csv'] | take 1",
        "let x = externaldata(a:string)['https://e/x'];\nx | take 1",
        "let f = (n:long) { let inner = () { externaldata(a:string)['https://e/x'] }; inner() | take n };\nf(1)",
        "union SigninLogs, (externaldata(a:string)['https://e/x'])",
        "SigninLogs | join kind=inner (externaldata(UserPrincipalName:string)['https://e/x']) on UserPrincipalName",
        "SigninLogs | lookup (externaldata(UserPrincipalName:string)['https://e/x']) on UserPrincipalName",
        "SigninLogs | extend n = toscalar(externaldata(a:long)['https://e/x'] | count)",
        "SigninLogs | where UserPrincipalName in ((externaldata(u:string)['https://e/x'] | project u))",
        "ExternalData(a:string)['https://e/x'] | take 1",
        "union SigninLogs, (EXTERNALDATA(a:string)['https://e/x'])",
    ] {
        assert_refused(q, Rule::ExternalData);
    }
}

#[test]
fn a_pattern_mapping_is_checked_even_when_no_query_invokes_it() {
    assert_refused(
        "declare pattern p = (a:string) { ('x') = { externaldata(a:string)['https://e/x'] }; };\nprint 1",
        Rule::ExternalData,
    );
    assert_allowed("declare pattern p = (a:string) { ('x') = { print 1 }; };\np('x')");
}

#[test]
fn network_and_code_plugins_are_refused_in_pipes_sources_and_subqueries() {
    let msg = assert_refused(
        "print 1 | evaluate http_request('https://example.com')",
        Rule::NetworkPlugin,
    );
    assert!(msg.contains("'http_request'"), "{msg}");
    for q in [
        "print 1 | evaluate http_request_post('https://e', dynamic({}), 'x')",
        "evaluate sql_request('Server=tcp:x', 'select 1')",
        "print 1 | evaluate hint.distribution=per_node mysql_request('x', 'select 1')",
        "range x from 1 to 3 step 1 | evaluate python(typeof(*, y:long), 'result = df')",
        "range x from 1 to 3 step 1 | evaluate r(typeof(*), 'result <- df')",
        "print 1 | evaluate postgresql_request('x', 'select 1')",
        "print 1 | evaluate cosmosdb_sql_request('x', 'select 1')",
        "print 1 | evaluate azure_digital_twins_query_request('x', 'q')",
        "print 1 | evaluate some_future_request('x')",
        "print 1 | evaluate ai_embed_text('x', 'https://e')",
        // Deep inside lets, functions, unions, joins, mv-apply and opaque operators.
        "let a = () { let b = () { union (print 1), (print 2 | evaluate http_request('https://e')) }; b() };\na()",
        "SigninLogs | join (SigninLogs | evaluate sql_request('x', 'y')) on UserPrincipalName",
        "print d = dynamic([1,2]) | mv-apply d on (evaluate http_request('https://e'))",
        "SigninLogs | partition hint.strategy=native by UserPrincipalName (evaluate http_request('https://e'))",
        "SigninLogs | fork (evaluate python(typeof(*), 'x')) (take 1)",
        "let T = view () { print 1 | evaluate http_request('https://e') };\nT | invoke f()",
    ] {
        assert_refused(q, Rule::NetworkPlugin);
    }
}

#[test]
fn safe_plugins_and_lookalike_text_pass() {
    for q in [
        "print d = dynamic({'a': 1}) | evaluate bag_unpack(d)",
        "SigninLogs | evaluate autocluster()",
        "print s = 'externaldata http_request cluster( .show'",
        "print s = @\"evaluate http_request('x')\"",
        "datatable(cluster:string, database:string)['a', 'b'] | where cluster == database",
        "SigninLogs | where UserPrincipalName has 'cluster' | project workspace = 1",
        "// .drop table X\nprint 1",
        "print r = 1 | extend python = r",
        "workspace('home-ws').SigninLogs | take 1",
        "union workspace('HOME-WS').SigninLogs, SigninLogs | count",
    ] {
        assert_allowed(q);
    }
}

#[test]
fn references_outside_the_workspace_are_refused_naming_the_workspace_setting() {
    let msg = assert_refused(
        "cluster('help').database('Samples').StormEvents | take 1",
        Rule::CrossScope,
    );
    assert!(
        msg.contains("'cluster()'") && msg.contains("SENTINEL_WORKSPACE_ID"),
        "{msg}"
    );
    for q in [
        "database('Other').SigninLogs | take 1",
        "workspace('someone-else').SigninLogs | take 1",
        "app('my-app').requests | take 1",
        "adx('https://help.kusto.windows.net/Samples').StormEvents | take 1",
        "arg('').Resources | take 1",
        "union SigninLogs, workspace('other').SigninLogs",
        "SigninLogs | join (workspace('other').SigninLogs) on UserPrincipalName",
        "let f = (w:string) { workspace(w).SigninLogs };\nf('home-ws')",
        "let a = 1;\nlet g = () { let h = () { range i from 1 to 2 step 1 | join (database('x').T) on i }; h() };\ng()",
        // The names in any case.
        "Cluster('help').Database('Samples').StormEvents | take 1",
        "WORKSPACE('someone-else').SigninLogs | take 1",
        "union SigninLogs, Adx('https://help.kusto.windows.net/Samples').StormEvents",
    ] {
        assert_refused(q, Rule::CrossScope);
    }
}

#[test]
fn a_guard_with_no_workspace_configured_refuses_every_workspace_reference() {
    let g = QueryGuard::default();
    let e = g
        .check("workspace('home-ws').SigninLogs", None, NOW)
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::CrossScope));
}

#[test]
fn forbidden_constructs_nested_hundreds_of_levels_deep_are_found() {
    let mut q = "print 1 | evaluate http_request('https://e')".to_string();
    for _ in 0..100 {
        q = format!("union (print 0), ({q})");
    }
    assert_refused(&q, Rule::NetworkPlugin);
    let mut body = "externaldata(a:string)['https://e']".to_string();
    for i in 0..60 {
        body = format!("let f{i} = () {{ {body} }};\nf{i}()");
    }
    assert_refused(&body, Rule::ExternalData);
    let mut e = "toscalar(database('x').T | count)".to_string();
    for _ in 0..150 {
        e = format!("(1 + {e})");
    }
    assert_refused(&format!("print x = {e}"), Rule::CrossScope);
}

#[test]
fn syntax_errors_pass_through_as_the_parser_reports_them() {
    let q = "SigninLogs\n| where";
    let e = guard().check(q, None, NOW).unwrap_err();
    assert_eq!(e, GuardError::Syntax(crate::parse(q).unwrap_err()));
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = guard().check("print 'unterminated", None, NOW).unwrap_err();
    assert!(
        matches!(e, GuardError::Syntax(KqlError::Syntax { .. })),
        "{e}"
    );
}

#[test]
fn a_remote_backend_gets_unparsed_queries_after_the_token_scan() {
    let g = QueryGuard {
        syntax: SyntaxPolicy::LeaveToService,
        ..guard()
    };
    let q = "SigninLogs | some-future-operator x";
    let ok = g.check(q, None, NOW).unwrap();
    assert!(!ok.parsed);
    let e = g
        .check(
            "SigninLogs | some-future-operator x | evaluate http_request('x')",
            None,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::NetworkPlugin));
    let e = g
        .check("SigninLogs | ???;\n.drop table T", None, NOW)
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::ControlCommand));
}

#[test]
fn the_default_window_ends_now_and_a_longer_window_than_the_maximum_is_refused() {
    let g = guard();
    let ok = g.check("print 1", None, NOW).unwrap();
    assert_eq!(ok.range, (NOW - 30 * TICKS_PER_DAY, NOW + 1));
    assert_eq!(ok.max_rows, 5_000);
    assert_eq!(ok.timeout, Duration::from_secs(60));
    // Exactly the maximum, as a duration window `[now - d, now + 1)`, passes.
    let max = (NOW - 365 * TICKS_PER_DAY, NOW + 1);
    assert_eq!(g.check("print 1", Some(max), NOW).unwrap().range, max);
    let e = g
        .check("print 1", Some((NOW - 400 * TICKS_PER_DAY, NOW)), NOW)
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("400 days; the limit is 365 days (SENTINEL_MCP_MAX_TIMESPAN"),
        "{msg}"
    );
    assert_eq!(
        g.check("print 1", Some((NOW, NOW - 1)), NOW),
        Err(GuardError::EmptyTimespan)
    );
}

#[test]
fn the_length_rule_is_checked_before_parsing() {
    // Unparseable and over-long: the length rule answers, not the parser.
    let q = "|".repeat(20_001);
    assert!(matches!(
        guard().check(&q, None, NOW),
        Err(GuardError::TooLong { .. })
    ));
}

#[test]
fn every_corpus_query_is_either_allowed_or_refused_by_a_named_rule_without_panicking() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/kql-corpus/hunting-queries.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("the corpus is committed under testdata/");
    let g = QueryGuard {
        max_query_chars: usize::MAX,
        ..guard()
    };
    let (mut allowed, mut refused, mut syntax) = (0, 0, 0);
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let q = v["query"].as_str().unwrap_or_default();
        match g.check(q, None, NOW) {
            Ok(_) => allowed += 1,
            Err(GuardError::Refused { .. }) => refused += 1,
            Err(_) => syntax += 1,
        }
    }
    // Most hunting queries are plain reads; externaldata watchlists are the common refusal.
    assert!(
        allowed > 900,
        "allowed {allowed}, refused {refused}, syntax {syntax}"
    );
    assert!(refused > 0);
}

#[test]
fn the_read_only_check_applies_the_rules_and_the_length_but_no_window() {
    let g = QueryGuard {
        max_query_chars: 40,
        ..guard()
    };
    assert!(g.check_read_only("SigninLogs | take 1").is_ok());
    // The full check refuses an empty window; the read-only check has no window to refuse.
    assert!(matches!(
        g.check("SigninLogs | take 1", Some((5, 5)), NOW),
        Err(GuardError::EmptyTimespan)
    ));
    for (query, rule) in [
        (".drop table SigninLogs", Rule::ControlCommand),
        ("print 1 | evaluate python('x')", Rule::NetworkPlugin),
        ("workspace('other-ws').SigninLogs", Rule::CrossScope),
    ] {
        let e = g.check_read_only(query).expect_err(query);
        assert_eq!(e.rule(), Some(rule), "{query}: {e}");
    }
    assert!(matches!(
        g.check_read_only(&"x".repeat(41)),
        Err(GuardError::TooLong {
            chars: 41,
            limit: 40
        })
    ));
}

/// The guard hands on the query as it parsed it, and the engine runs that tree to the same
/// answer as the text; a query the local parser cannot read has none, and is left to the text.
#[test]
fn the_guard_hands_on_its_parse_and_the_engine_runs_it_to_the_same_answer() {
    let catalog = Catalog::new();
    let opts = crate::ExecOptions::default();
    let q =
        "range i from 1 to 1000 step 1 | summarize n = count(), total = sum(i) by bucket = i / 100";
    let ok = guard().check(q, None, NOW).unwrap();
    let prepared = ok.prepared.expect("the guard parsed it");
    assert!(ok.parsed);
    assert_eq!(prepared.text(), q);
    let from_text = crate::execute(&catalog, q, &opts).unwrap();
    let from_tree = crate::execute_prepared(&catalog, &prepared, &opts).unwrap();
    assert_eq!(from_tree.table, from_text.table);
    assert_eq!(from_tree.table.rows.len(), 11);
    let lenient = QueryGuard {
        syntax: SyntaxPolicy::LeaveToService,
        ..guard()
    };
    let unread = lenient
        .check("SigninLogs | some-future-operator x", None, NOW)
        .unwrap();
    assert!(!unread.parsed && unread.prepared.is_none());
}

/// A chain nests as deep as it is long, and a chain can open with a parenthesized chain: the
/// tree below, within the default length limit, is 9,600 levels deep. Handed on by the guard, it
/// is dropped on a deep stack even from a thread with a small one.
#[test]
fn a_handed_on_tree_is_dropped_safely_from_a_small_stack() {
    let mut e = "1".to_string();
    for _ in 0..20 {
        e = format!("({e}){}", "+1".repeat(480));
    }
    let q = format!("print x = {e}");
    let ok = guard().check(&q, None, NOW).unwrap();
    let prepared = ok.prepared.expect("the guard parsed it");
    std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || drop(prepared))
        .unwrap()
        .join()
        .expect("the tree is dropped without overflowing the thread's stack");
}
