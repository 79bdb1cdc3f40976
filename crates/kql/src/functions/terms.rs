//! Kusto's terms: what the `has` family of operators and functions matches.

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Kusto's `has` family: `needle` must sit on term boundaries (start, end or both).
pub(crate) fn has_term(hay: &str, needle: &str, start: bool, end: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    let first_term = needle.chars().next().is_some_and(is_term_char);
    let last_term = needle.chars().last().is_some_and(is_term_char);
    hay.match_indices(needle).any(|(i, m)| {
        let before_ok = !start
            || !first_term
            || hay[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !is_term_char(c));
        let after_ok = !end
            || !last_term
            || hay[i + m.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_term_char(c));
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_whole_terms_only() {
        assert!(has_term("powershell -enc abc", "-enc", true, true));
        assert!(has_term("user logged on", "logged", true, true));
        assert!(!has_term("userloggedon", "logged", true, true));
        assert!(has_term("c:\\windows\\system32", "system32", true, true));
        assert!(has_term("hello world", "wor", true, false));
        assert!(!has_term("hello world", "orld", true, false));
    }
}
