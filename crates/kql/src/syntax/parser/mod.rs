//! Recursive-descent KQL parser with a Pratt loop for scalar expressions.

use crate::error::{KqlError, Location};
use crate::syntax::ast::*;
use crate::syntax::lexer::{Span, Token, TokenKind, tokenize};

/// Maximum nesting of expressions and subqueries; deeper input is rejected, not overflowed.
pub const MAX_DEPTH: usize = 256;

/// Stack for the thread that parses or runs a query: trees may nest hundreds of levels deep.
const DEEP_STACK_BYTES: usize = 64 << 20;

/// The stack a thread needs to parse and run queries on its own stack: threads made with it
/// (the server's) run each query without mapping a stack segment for it.
pub const QUERY_THREAD_STACK_BYTES: usize = DEEP_STACK_BYTES + (2 << 20);

/// Runs `f` with at least [`DEEP_STACK_BYTES`] of stack, so deeply nested (even hostile) input
/// cannot overflow the caller's stack; a panic there becomes `KqlError::Runtime`. A thread with
/// less stack left gets a fresh segment for it (one mmap, not an OS thread and two context
/// switches per query); one made with [`QUERY_THREAD_STACK_BYTES`] needs none.
pub(crate) fn on_deep_stack<T: Send>(
    f: impl FnOnce() -> Result<T, KqlError> + Send,
) -> Result<T, KqlError> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stacker::maybe_grow(DEEP_STACK_BYTES, DEEP_STACK_BYTES, f)
    }));
    outcome.unwrap_or_else(|_| {
        Err(KqlError::Runtime {
            message: "the KQL engine hit an internal error on this query".into(),
        })
    })
}

/// Parses a whole query text (statements separated by `;`).
pub fn parse_script(text: &str) -> Result<Script, KqlError> {
    parse_tokens(text, &tokenize(text)?)
}

/// Parses a whole query text from its tokens (as [`tokenize`] made them from `text`), for a
/// caller that reads the tokens too and so lexes the text once.
pub(crate) fn parse_tokens(text: &str, tokens: &[Token]) -> Result<Script, KqlError> {
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    let statements = p.statements(false)?;
    p.expect_eof()?;
    if statements.is_empty() {
        return Err(p.error("a query, such as a table name"));
    }
    Ok(Script { statements })
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    // ---- token helpers ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.tokens.len().saturating_sub(1));
        &self.tokens[i.min(self.tokens.len() - 1)]
    }

    /// Moves past the current token (staying on `Eof`) and returns it.
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.advance();
        t
    }

    /// Moves past the current token (staying on `Eof`) and returns its span: [`Self::next`]
    /// without copying the token (and the name or string in it).
    fn advance(&mut self) -> Span {
        let span = self.peek().span;
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        span
    }

    fn prev_span(&self) -> Span {
        self.tokens
            .get(self.pos.wrapping_sub(1))
            .map(|t| t.span)
            .unwrap_or_default()
    }

    fn word_at(&self, n: usize) -> Option<&str> {
        match &self.peek_at(n).kind {
            TokenKind::Ident(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        self.word_at(0) == Some(w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn punct_at(&self, n: usize, p: &str) -> bool {
        matches!(&self.peek_at(n).kind, TokenKind::Punct(q) if *q == p)
    }

    fn is_punct(&self, p: &str) -> bool {
        self.punct_at(0, p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> KqlError {
        let t = self.peek();
        KqlError::Syntax {
            location: t.location,
            found: t.describe(),
            expected: expected.into(),
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<Span, KqlError> {
        if self.is_punct(p) {
            Ok(self.advance())
        } else {
            Err(self.error(&format!("'{p}'")))
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), KqlError> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.error(&format!("'{w}'")))
        }
    }

    fn expect_eof(&self) -> Result<(), KqlError> {
        if matches!(self.peek().kind, TokenKind::Eof) {
            Ok(())
        } else {
            Err(self.error("'|', ';' or the end of the query"))
        }
    }

    fn name(&mut self) -> Result<String, KqlError> {
        match &self.peek().kind {
            TokenKind::Ident(s) if !s.starts_with('!') => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            TokenKind::QuotedIdent(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.error("a name")),
        }
    }

    fn enter(&mut self) -> Result<(), KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("less nesting (at most {MAX_DEPTH} levels)")));
        }
        Ok(())
    }

    fn at_end_of_operator(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
            || self.is_punct("|")
            || self.is_punct(";")
            || self.is_punct(")")
            || self.is_punct("}")
    }

    /// Skips balanced tokens up to the next `|`, `;` or closing bracket at this level.
    fn skip_operator_body(&mut self) -> Result<(), KqlError> {
        let mut depth = 0usize;
        loop {
            match &self.peek().kind {
                TokenKind::Eof => return Ok(()),
                TokenKind::Punct(p) => match *p {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        if depth == 0 {
                            return Ok(());
                        }
                        depth -= 1;
                    }
                    "|" | ";" if depth == 0 => return Ok(()),
                    _ => {}
                },
                _ => {}
            }
            self.advance();
        }
    }

    /// The raw text between a `(` and its matching `)`.
    fn paren_raw(&mut self) -> Result<(String, Span), KqlError> {
        let open = self.expect_punct("(")?;
        let mut depth = 0usize;
        loop {
            match &self.peek().kind {
                TokenKind::Eof => return Err(self.error("')'")),
                TokenKind::Punct("(") => depth += 1,
                TokenKind::Punct(")") => {
                    if depth == 0 {
                        let close = self.advance();
                        let raw = self
                            .text
                            .get(open.end..close.start)
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        return Ok((raw, open.to(close)));
                    }
                    depth -= 1;
                }
                _ => {}
            }
            self.advance();
        }
    }
}

mod expressions;
mod literals;
mod operators;
mod statements;

#[cfg(test)]
mod tests;
