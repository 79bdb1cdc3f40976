//! Errors of parsing and running KQL; each variant displays as a sentence a user can act on.

use std::fmt;

/// A 1-based position in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The line and column (in characters) of a byte offset in `text`.
    pub fn from_offset(text: &str, offset: usize) -> Location {
        let mut line = 1;
        let mut column = 1;
        for (i, ch) in text.char_indices() {
            if i >= offset {
                break;
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a query could not be parsed or run.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum KqlError {
    #[error("Syntax error at {location}: found {found} but expected {expected}.")]
    Syntax {
        location: Location,
        found: String,
        expected: String,
    },
    #[error("{message} at {location}; check the spelling and that it is defined before use.")]
    Resolution { location: Location, message: String },
    #[error(
        "{construct} at {location} is not supported by the local engine; rewrite the query without it."
    )]
    Unsupported {
        location: Location,
        construct: String,
    },
    #[error(
        "{construct} at {location} is not allowed: this server runs read-only queries and has no network access."
    )]
    Forbidden {
        location: Location,
        construct: String,
    },
    #[error("Type error at {location}: {message}.")]
    Type { location: Location, message: String },
    #[error("The query failed while running: {message}.")]
    Runtime { message: String },
    #[error(
        "The query was cancelled because its time limit passed or the caller cancelled it; narrow the query or raise the limit."
    )]
    Cancelled,
    /// A regular expression too large to search a text this long: a search cannot stop at the
    /// query's deadline, so its worst case (automaton states x text bytes) is bounded.
    #[error(
        "The regular expression {pattern:?} is too complex to search a text of {bytes} bytes: its automaton has {states} states, and a search's worst case ({states} x {bytes} steps) must stay within {limit} steps, since a search cannot be stopped at the time limit; use a simpler pattern or search shorter texts."
    )]
    RegexWork {
        pattern: String,
        states: usize,
        bytes: usize,
        limit: u64,
    },
    /// Stopped at a memory limit (its own or the engine's).
    #[error(transparent)]
    Memory(#[from] crate::budget::MemoryError),
}
