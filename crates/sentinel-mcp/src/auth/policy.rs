//! Which app roles or delegated scopes grant which tool classes.

use super::Principal;
use crate::model::ToolClass;

/// Role/scope names that grant each tool class; holding any one of a class's names grants it.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub read: Vec<String>,
    pub hunt: Vec<String>,
    pub write: Vec<String>,
    /// When false (auth off), everyone may use every class.
    pub enforced: bool,
}

impl AccessPolicy {
    /// No checks: authentication is off.
    pub fn open() -> AccessPolicy {
        AccessPolicy {
            read: Vec::new(),
            hunt: Vec::new(),
            write: Vec::new(),
            enforced: false,
        }
    }

    /// The names that grant a class.
    pub fn names(&self, class: ToolClass) -> &[String] {
        match class {
            ToolClass::Read => &self.read,
            ToolClass::Hunt => &self.hunt,
            ToolClass::Write => &self.write,
        }
    }

    /// Whether the principal may use tools of this class (app roles in `roles`, delegated scopes in `scp`).
    pub fn allows(&self, principal: &Principal, class: ToolClass) -> bool {
        if !self.enforced {
            return true;
        }
        let names = self.names(class);
        principal
            .roles
            .iter()
            .chain(&principal.scopes)
            .any(|held| names.iter().any(|n| n.eq_ignore_ascii_case(held)))
    }

    /// Whether the principal may use any tool at all.
    pub fn allows_any(&self, principal: &Principal) -> bool {
        [ToolClass::Read, ToolClass::Hunt, ToolClass::Write]
            .into_iter()
            .any(|c| self.allows(principal, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccessPolicy {
        AccessPolicy {
            read: vec!["SecOps.Read".into()],
            hunt: vec!["SecOps.Hunt".into()],
            write: vec!["SecOps.Write".into()],
            enforced: true,
        }
    }

    fn with(roles: &[&str], scopes: &[&str]) -> Principal {
        Principal {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Principal::anonymous()
        }
    }

    #[test]
    fn roles_and_scopes_both_grant_their_class_only() {
        let p = policy();
        assert!(p.allows(&with(&["SecOps.Read"], &[]), ToolClass::Read));
        assert!(!p.allows(&with(&["SecOps.Read"], &[]), ToolClass::Write));
        assert!(p.allows(&with(&[], &["SecOps.Write"]), ToolClass::Write));
        assert!(!p.allows(&with(&[], &["User.Read"]), ToolClass::Read));
        assert!(!p.allows_any(&with(&[], &["User.Read"])));
        assert!(AccessPolicy::open().allows(&with(&[], &[]), ToolClass::Write));
    }
}
