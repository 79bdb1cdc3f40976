use super::*;
use crate::value::{ScalarType, TICKS_PER_SECOND, Value};

fn query(text: &str) -> Expr {
    let script = parse_script(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    match script.statements.into_iter().last() {
        Some(Statement::Query(e)) => e,
        other => panic!("expected a query, got {other:?}"),
    }
}

fn ops(text: &str) -> Vec<OperatorKind> {
    match query(text).kind {
        ExprKind::Pipe { ops, .. } => ops.into_iter().map(|o| o.kind).collect(),
        other => panic!("expected a pipe, got {other:?}"),
    }
}

#[test]
fn misspelt_operator_reports_line_column_found_and_expected() {
    let err = parse_script("SigninLogs | wher x").unwrap_err();
    match err {
        KqlError::Syntax {
            location,
            found,
            expected,
        } => {
            assert_eq!(
                location,
                Location {
                    line: 1,
                    column: 14
                }
            );
            assert_eq!(found, "'wher'");
            assert!(expected.contains("where"), "{expected}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse_script("SigninLogs | wher x")
            .unwrap_err()
            .to_string()
            .contains("line 1, column 14")
    );
}

#[test]
fn empty_query_is_a_syntax_error() {
    for text in ["", "  // only a comment", ";;"] {
        let err = parse_script(text).unwrap_err();
        assert!(
            matches!(err, KqlError::Syntax { ref found, .. } if found == "the end of the query"),
            "{err:?}"
        );
    }
}

#[test]
fn errors_point_at_the_offending_token() {
    let err = parse_script("T\n| where a ==").unwrap_err();
    assert!(
        matches!(
            err,
            KqlError::Syntax {
                location: Location {
                    line: 2,
                    column: 13
                },
                ..
            }
        ),
        "{err:?}"
    );
    let err = parse_script("T | project a,").unwrap_err();
    assert!(matches!(err, KqlError::Syntax { .. }));
    let err = parse_script("print (1").unwrap_err();
    assert!(
        matches!(err, KqlError::Syntax { ref expected, .. } if expected == "')'"),
        "{err:?}"
    );
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    let text = format!("print {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
    let text = format!("print {}1", "-".repeat(5000));
    assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
    let text = format!("print 1{}", " + 1".repeat(5000));
    assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
    let text = format!("print 1{}", " + 1".repeat(500));
    assert!(parse_script(&text).is_ok());
}

#[test]
fn precedence_binds_and_tighter_than_or_and_arithmetic_tighter_than_comparison() {
    let e = query("print a or b and c == 1 + 2 * 3");
    let ExprKind::Print(items) = e.kind else {
        panic!()
    };
    let ExprKind::Binary {
        op: BinOp::Or,
        right,
        ..
    } = &items[0].expr.kind
    else {
        panic!()
    };
    let ExprKind::Binary {
        op: BinOp::And,
        right,
        ..
    } = &right.kind
    else {
        panic!()
    };
    let ExprKind::Binary {
        op: BinOp::Eq,
        right,
        ..
    } = &right.kind
    else {
        panic!()
    };
    assert!(matches!(
        &right.kind,
        ExprKind::Binary { op: BinOp::Add, .. }
    ));
}

#[test]
fn parses_common_operators() {
    let o = ops(
        "T | where x has 'a' and y !in~ ('b') | extend z = x.a[0], w = y['k'] | summarize count(), m = max(z) by bin(t, 1h) \
         | join kind=leftouter hint.strategy=broadcast (U | project k) on $left.a == $right.k, b \
         | mv-expand d = arr to typeof(long) limit 10 | parse s with * 'x=' v:int ' ' rest \
         | project-away a* | sort by z desc nulls first, w asc | top 5 by z | take 3 | render timechart with (title='x')",
    );
    assert_eq!(o.len(), 11);
    assert!(
        matches!(&o[3], OperatorKind::Join { kind: Some(k), on, .. } if k == "leftouter" && on.len() == 2)
    );
    assert!(matches!(&o[9], OperatorKind::Take(_)));
    assert!(matches!(&o[10], OperatorKind::Render(v) if v.kind == "timechart"));
}

#[test]
fn parses_literals() {
    let lit = |t: &str| match query(&format!("print {t}")).kind {
        ExprKind::Print(items) => match &items[0].expr.kind {
            ExprKind::Literal(v) => v.clone(),
            other => panic!("{other:?}"),
        },
        _ => panic!(),
    };
    assert_eq!(
        lit("datetime(2024-01-01)"),
        Value::DateTime(1_704_067_200 * TICKS_PER_SECOND)
    );
    assert_eq!(
        lit("datetime(2024-01-01 10:00:00)"),
        Value::DateTime((1_704_067_200 + 36_000) * TICKS_PER_SECOND)
    );
    let null_of = |t: &str| match query(&format!("print {t}")).kind {
        ExprKind::Print(items) => items[0].expr.kind.clone(),
        _ => panic!(),
    };
    assert_eq!(
        null_of("datetime(null)"),
        ExprKind::NullOf(ScalarType::DateTime)
    );
    assert_eq!(null_of("long(null)"), ExprKind::NullOf(ScalarType::Long));
    assert_eq!(
        lit("time(1.02:00:00)"),
        Value::TimeSpan(26 * 3600 * TICKS_PER_SECOND)
    );
    assert_eq!(lit("1tick"), Value::TimeSpan(1));
    assert_eq!(lit("2microseconds"), Value::TimeSpan(20));
    assert_eq!(lit("decimal(1.5)"), Value::decimal(1.5));
    assert_eq!(
        lit("dynamic({'a': [1, -2.5, null]})"),
        Value::dynamic(serde_json::json!({"a": [1, -2.5, null]}))
    );
    assert_eq!(lit("'a' \"b\""), Value::str("ab"));
    assert!(matches!(
        lit("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
        Value::Guid(_)
    ));
}

#[test]
fn parses_lets_functions_unions_and_tabular_sources() {
    let s = parse_script(
        "let f = (a:string, b:int = 1) { a }; let T = view () { datatable(x:long)[1, 2] }; \
         union withsource=Src isfuzzy=true Device*, (T | take 1), ['My Table']; range i from 1 to 3 step 1",
    )
    .unwrap();
    assert_eq!(s.statements.len(), 4);
    assert!(
        matches!(&s.statements[0], Statement::Let { value: LetValue::Function(f), .. } if f.params.len() == 2)
    );
    let Statement::Query(Expr {
        kind: ExprKind::Union(u),
        ..
    }) = &s.statements[2]
    else {
        panic!()
    };
    assert!(matches!(&u.tables[0].kind, ExprKind::Wildcard(w) if w == "Device*"));
    assert!(matches!(&u.tables[2].kind, ExprKind::Name(n) if n == "My Table"));
}

#[test]
fn parses_pattern_declarations_with_their_mappings() {
    let s = parse_script(
        "declare pattern country = (name:string)[state:string]\n{\n  (\"USA\").[\"New York\"] = { print Capital = \"Albany\" };\n  ('Canada').['Alberta'] = { let c = 'Edmonton'; print Capital = c };\n};\ndeclare pattern empty;\ncountry(\"Canada\").Alberta",
    )
    .unwrap();
    assert_eq!(s.statements.len(), 3);
    let Statement::Pattern(p) = &s.statements[0] else {
        panic!("{:?}", s.statements[0]);
    };
    assert_eq!(
        (p.name.as_str(), p.params.as_slice()),
        ("country", ["name".to_string()].as_slice())
    );
    assert_eq!(p.path.as_deref(), Some("state"));
    assert_eq!(p.cases.len(), 2);
    assert_eq!(p.cases[0].args, ["USA"]);
    assert_eq!(p.cases[0].path.as_deref(), Some("New York"));
    assert_eq!(p.cases[1].body.body.len(), 2);
    assert!(
        matches!(&s.statements[1], Statement::Pattern(p) if p.name == "empty" && p.cases.is_empty())
    );
    for (bad, expected) in [
        (
            "declare pattern p = (a:long) { ('x') = { print 1 }; }; print 1",
            "'string'",
        ),
        (
            "declare pattern p = (a:string) { (1) = { print 1 }; }; print 1",
            "a string literal",
        ),
        (
            "declare pattern p = (a:string) { ('x') { print 1 }; }; print 1",
            "'='",
        ),
    ] {
        let e = parse_script(bad).unwrap_err().to_string();
        assert!(e.contains(expected), "{bad}: {e}");
    }
}

#[test]
fn a_script_names_the_render_its_output_ends_in() {
    let script =
        crate::parse("let t = 1d; SigninLogs | take 5 | render piechart with (title='x')").unwrap();
    let v = script.visualization().unwrap();
    assert_eq!(v.kind, "piechart");
    assert_eq!(v.properties, [("title".to_string(), "x".to_string())]);
    for none in [
        "SigninLogs | take 5",
        "print 1",
        "SigninLogs | render table | take 1",
    ] {
        assert!(
            crate::parse(none).unwrap().visualization().is_none(),
            "{none}"
        );
    }
}
