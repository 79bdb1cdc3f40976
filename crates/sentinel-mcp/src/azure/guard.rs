//! The last check before a query leaves the server: the read-only rules of kql's `QueryGuard`
//! (control commands, ingestion, `externaldata`, network and code plugins, other workspaces),
//! applied again here so no path to Azure can skip them. Length and time-window limits are the
//! tools' to enforce; syntax is the service's to judge.

use kql::guard::{GuardError, QueryGuard, SyntaxPolicy};

/// The read-only guard for queries sent to Azure, allowing references to `workspaces`.
pub fn read_only(workspaces: Vec<String>) -> QueryGuard {
    QueryGuard {
        max_query_chars: usize::MAX,
        allowed_workspaces: workspaces,
        syntax: SyntaxPolicy::LeaveToService,
        ..QueryGuard::default()
    }
}

/// Refuses what the read-only rules refuse (no time window: Azure is sent its own).
pub fn check(guard: &QueryGuard, query: &str) -> Result<(), GuardError> {
    guard.check_read_only(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands_and_network_operators_are_refused() {
        let guard = read_only(Vec::new());
        for q in [
            ".show tables",
            "SigninLogs | take 1;\n.drop table SigninLogs",
            "externaldata(a:string)[h'https://x'] | take 1",
            "print 1 | evaluate http_request('http://x')",
            "print 1 | evaluate python(typeof(*), 'x')",
        ] {
            assert!(
                matches!(check(&guard, q), Err(GuardError::Refused { .. })),
                "{q} was allowed"
            );
        }
    }

    #[test]
    fn ordinary_queries_pass_including_lookalike_strings() {
        let guard = read_only(Vec::new());
        for q in [
            "SigninLogs | where ResultType != \"0\" | take 10",
            "print s = 'externaldata http_request'",
            "SigninLogs | extend r = 1 | project r",
            "SigninLogs | where AppDisplayName == \"x\" | summarize count() by bin(TimeGenerated, 1h)",
        ] {
            assert!(check(&guard, q).is_ok(), "{q} was refused");
        }
    }
}
