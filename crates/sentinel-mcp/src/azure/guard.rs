//! `QueryGuard`: what may be sent to a service. Runs before every Azure query so control commands
//! and network operators never leave the server, even where Kusto itself would run them.

use kql::KqlError;
use kql::lexer::{TokenKind, tokenize};

/// Operators and plugins that reach the network or run code.
const FORBIDDEN: [&str; 11] = [
    "externaldata",
    "http_request",
    "http_request_post",
    "sql_request",
    "cosmosdb_sql_request",
    "azure_digital_twins_query_request",
    "mysql_request",
    "postgresql_request",
    "python",
    "r",
    "ai_embed_text",
];

/// Refuses control commands and network operators; other parse errors are left to the service,
/// whose KQL is the authority (the local parser may not know every construct).
pub fn check(query: &str) -> Result<(), KqlError> {
    let tokens = tokenize(query)?;
    for (i, token) in tokens.iter().enumerate() {
        let TokenKind::Ident(word) = &token.kind else {
            continue;
        };
        let word = word.to_ascii_lowercase();
        let dot_command = i > 0
            && matches!(tokens[i - 1].kind, TokenKind::Punct("."))
            && (i == 1
                || matches!(tokens[i - 2].kind, TokenKind::Punct(";"))
                || tokens[i - 2].location.line < tokens[i - 1].location.line);
        if dot_command {
            return Err(KqlError::Forbidden {
                location: tokens[i - 1].location,
                construct: format!("The control command '.{word}'"),
            });
        }
        let after_evaluate = i > 0
            && matches!(&tokens[i - 1].kind, TokenKind::Ident(w) if w.eq_ignore_ascii_case("evaluate"));
        let called = matches!(
            tokens.get(i + 1).map(|t| &t.kind),
            Some(TokenKind::Punct("("))
        );
        let forbidden = FORBIDDEN.contains(&word.as_str())
            && (word == "externaldata" || after_evaluate || (called && word.len() > 2));
        if forbidden {
            let construct = if word == "externaldata" {
                "externaldata".to_string()
            } else {
                format!("The plugin '{word}'")
            };
            return Err(KqlError::Forbidden {
                location: token.location,
                construct,
            });
        }
    }
    match kql::parse(query) {
        Err(e @ KqlError::Forbidden { .. }) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands_and_network_operators_are_refused() {
        for q in [
            ".show tables",
            "SigninLogs | take 1;\n.drop table SigninLogs",
            "externaldata(a:string)[h'https://x'] | take 1",
            "print 1 | evaluate http_request('http://x')",
            "print 1 | evaluate python(typeof(*), 'x')",
        ] {
            assert!(
                matches!(check(q), Err(KqlError::Forbidden { .. })),
                "{q} was allowed"
            );
        }
    }

    #[test]
    fn ordinary_queries_pass_including_lookalike_strings() {
        for q in [
            "SigninLogs | where ResultType != \"0\" | take 10",
            "print s = 'externaldata http_request'",
            "SigninLogs | extend r = 1 | project r",
            "SigninLogs | where AppDisplayName == \"x\" | summarize count() by bin(TimeGenerated, 1h)",
        ] {
            assert!(check(q).is_ok(), "{q} was refused");
        }
    }
}
