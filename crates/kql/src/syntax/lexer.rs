//! The KQL lexer: text to tokens, each with its byte span and line/column.

use crate::error::{KqlError, Location};
use crate::value::time::timespan_unit;

/// A half-open byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A name or keyword (`where`, `SigninLogs`, `$left`, `!has`, `in~`, `project-away`).
    Ident(String),
    /// A bracketed name: `['name with spaces']`.
    QuotedIdent(String),
    /// A string literal, escapes decoded.
    Str(String),
    Int(i64),
    Real(f64),
    /// A timespan literal (`1d`, `30m`), in ticks.
    TimeSpan(i64),
    /// Punctuation or an operator symbol (`|`, `==`, `=~`, `..`).
    Punct(&'static str),
    Eof,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    pub location: Location,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Ident(s) => format!("'{s}'"),
            TokenKind::QuotedIdent(s) => format!("['{s}']"),
            TokenKind::Str(s) => format!("string \"{s}\""),
            TokenKind::Int(i) => format!("number {i}"),
            TokenKind::Real(r) => format!("number {r}"),
            TokenKind::TimeSpan(_) => "a timespan literal".into(),
            TokenKind::Punct(p) => format!("'{p}'"),
            TokenKind::Eof => "the end of the query".into(),
        }
    }
}

const PUNCTS: [&str; 30] = [
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "..", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", "=", "<", ">", "+", "-", "*", "/", "%", ".", "!", "?",
];

const HYPHENATED: [&str; 14] = [
    "project-away",
    "project-rename",
    "project-reorder",
    "project-keep",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "parse-where",
    "parse-kv",
    "make-series",
    "top-nested",
    "top-hitters",
    "sample-distinct",
    "make-graph",
];

/// Splits `text` into tokens, ending with `Eof`.
pub fn tokenize(text: &str) -> Result<Vec<Token>, KqlError> {
    Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        col: 1,
    }
    .run()
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            let Some(&b) = self.bytes.get(self.pos) else {
                return;
            };
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col += 1;
            }
        }
    }

    fn error(&self, location: Location, found: String, expected: &str) -> KqlError {
        KqlError::Syntax {
            location,
            found,
            expected: expected.into(),
        }
    }

    fn run(mut self) -> Result<Vec<Token>, KqlError> {
        // About a token for every 4 bytes of a typical query: one allocation, not a doubling
        // series of them.
        let mut tokens = Vec::with_capacity(self.bytes.len() / 4 + 1);
        loop {
            self.skip_trivia();
            let start = self.pos;
            let location = Location {
                line: self.line,
                column: self.col,
            };
            if self.pos >= self.bytes.len() {
                tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: Span { start, end: start },
                    location,
                });
                return Ok(tokens);
            }
            let kind = self.token(location)?;
            tokens.push(Token {
                kind,
                span: Span {
                    start,
                    end: self.pos,
                },
                location,
            });
        }
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..)?.chars().next()
    }

    fn ident_start_at(&self, pos: usize) -> bool {
        self.char_at(pos)
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
    }

    /// The end of the name characters starting at `pos`.
    fn ident_end(&self, mut pos: usize) -> usize {
        // ASCII, the common case, a byte at a time; any other character decoded.
        while let Some(&b) = self.bytes.get(pos)
            && b.is_ascii()
        {
            if !(b.is_ascii_alphanumeric() || b == b'_') {
                return pos;
            }
            pos += 1;
        }
        while let Some(c) = self.char_at(pos) {
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            pos += c.len_utf8();
        }
        pos
    }

    fn skip_trivia(&mut self) {
        loop {
            let c = self.char_at(self.pos).unwrap_or('\0');
            let b = self.peek(0);
            // Unicode spaces, the byte-order mark and zero-width spaces pasted from web pages.
            if c.is_whitespace() || matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}') {
                self.advance(c.len_utf8());
            } else if b == b'/' && self.peek(1) == b'/' {
                while self.pos < self.bytes.len() && self.peek(0) != b'\n' {
                    self.advance(1);
                }
            } else {
                return;
            }
        }
    }

    fn token(&mut self, location: Location) -> Result<TokenKind, KqlError> {
        let b = self.peek(0);
        // Strings, including @verbatim and h/H obfuscated forms.
        if b == b'`' && self.peek(1) == b'`' && self.peek(2) == b'`' {
            return self.multiline(location);
        }
        if b == b'\'' || b == b'"' {
            return self.string(location, false);
        }
        if b == b'@' && matches!(self.peek(1), b'\'' | b'"') {
            self.advance(1);
            return self.string(location, true);
        }
        if matches!(b, b'h' | b'H') {
            match self.peek(1) {
                b'\'' | b'"' => {
                    self.advance(1);
                    return self.string(location, false);
                }
                b'@' if matches!(self.peek(2), b'\'' | b'"') => {
                    self.advance(2);
                    return self.string(location, true);
                }
                _ => {}
            }
        }
        if b.is_ascii_digit() || (b == b'.' && self.peek(1).is_ascii_digit() && !self.prev_is_dot())
        {
            return self.number(location);
        }
        if b == b'[' && matches!(self.peek(1), b'\'' | b'"') {
            // `['name']`: a quoted identifier, when the string closes right before `]`.
            let save = (self.pos, self.line, self.col);
            self.advance(1);
            if let Ok(TokenKind::Str(name)) = self.string(location, false) {
                self.skip_trivia();
                if self.peek(0) == b']' {
                    self.advance(1);
                    return Ok(TokenKind::QuotedIdent(name));
                }
            }
            (self.pos, self.line, self.col) = save;
        }
        if b == b'!' && self.ident_start_at(self.pos + 1) && self.peek(1) != b'$' {
            self.advance(1);
            let mut word = format!("!{}", self.word());
            if word == "!in" && self.peek(0) == b'~' {
                self.advance(1);
                word.push('~');
            }
            return Ok(TokenKind::Ident(word));
        }
        if self.ident_start_at(self.pos) {
            let mut word = self.word();
            if self.peek(0) == b'-' && self.ident_start_at(self.pos + 1) {
                let rest_start = self.pos + 1;
                let end = self.ident_end(rest_start);
                let joined = format!("{}-{}", word, &self.text[rest_start..end]);
                if HYPHENATED.contains(&joined.to_ascii_lowercase().as_str()) {
                    self.advance(end - self.pos);
                    word = joined;
                }
            }
            if word == "in" && self.peek(0) == b'~' {
                self.advance(1);
                word.push('~');
            }
            return Ok(TokenKind::Ident(word));
        }
        for p in PUNCTS {
            // The first byte first: most symbols are ruled out without comparing text.
            if p.as_bytes().first() == Some(&b) && self.bytes[self.pos..].starts_with(p.as_bytes())
            {
                self.advance(p.len());
                return Ok(TokenKind::Punct(p));
            }
        }
        let ch = self.text[self.pos..].chars().next().unwrap_or('?');
        Err(self.error(location, format!("the character '{ch}'"), "a KQL token"))
    }

    fn prev_is_dot(&self) -> bool {
        self.pos > 0 && self.bytes.get(self.pos - 1) == Some(&b'.')
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        if self.peek(0) == b'$' {
            self.advance(1);
        }
        let end = self.ident_end(self.pos);
        self.advance(end - self.pos);
        self.text[start..self.pos].to_string()
    }

    fn multiline(&mut self, location: Location) -> Result<TokenKind, KqlError> {
        self.advance(3);
        let start = self.pos;
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos..].starts_with(b"```") {
                let s = self.text[start..self.pos].to_string();
                self.advance(3);
                return Ok(TokenKind::Str(s));
            }
            self.advance(1);
        }
        Err(self.error(location, "an unterminated ``` string".into(), "closing ```"))
    }

    fn string(&mut self, location: Location, verbatim: bool) -> Result<TokenKind, KqlError> {
        let quote = self.peek(0);
        self.advance(1);
        let mut out = String::new();
        loop {
            let Some(ch) = self.text.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err(self.error(
                    location,
                    "an unterminated string".into(),
                    "a closing quote",
                ));
            };
            if ch == '\n' && !verbatim {
                return Err(self.error(
                    location,
                    "an unterminated string".into(),
                    "a closing quote",
                ));
            }
            if ch as u32 == u32::from(quote) {
                if verbatim && self.peek(1) == quote {
                    out.push(ch);
                    self.advance(2);
                    continue;
                }
                self.advance(1);
                return Ok(TokenKind::Str(out));
            }
            if ch == '\\' && !verbatim {
                self.advance(1);
                let esc = self
                    .text
                    .get(self.pos..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\\');
                let l = esc.len_utf8();
                match esc {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'u' => {
                        let hex = self.text.get(self.pos + 1..self.pos + 5).unwrap_or("");
                        if let Some(c) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                        {
                            out.push(c);
                            self.advance(5);
                            continue;
                        }
                        out.push('u');
                    }
                    other => out.push(other),
                }
                self.advance(l);
                continue;
            }
            out.push(ch);
            self.advance(ch.len_utf8());
        }
    }

    fn number(&mut self, location: Location) -> Result<TokenKind, KqlError> {
        let start = self.pos;
        if self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.advance(2);
            while self.peek(0).is_ascii_hexdigit() {
                self.advance(1);
            }
            let v = i64::from_str_radix(&self.text[start + 2..self.pos], 16)
                .map_err(|_| self.error(location, "an invalid hex number".into(), "a number"))?;
            return Ok(TokenKind::Int(v));
        }
        let mut is_real = false;
        while self.peek(0).is_ascii_digit() {
            self.advance(1);
        }
        if self.peek(0) == b'.' && self.peek(1) != b'.' {
            is_real = true;
            self.advance(1);
            while self.peek(0).is_ascii_digit() {
                self.advance(1);
            }
        }
        if matches!(self.peek(0), b'e' | b'E')
            && (self.peek(1).is_ascii_digit()
                || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
        {
            is_real = true;
            self.advance(2);
            while self.peek(0).is_ascii_digit() {
                self.advance(1);
            }
        }
        let num_text = &self.text[start..self.pos];
        if self.ident_start_at(self.pos) && self.peek(0) != b'$' {
            let unit_start = self.pos;
            let end = self.ident_end(unit_start);
            let unit = &self.text[unit_start..end];
            let n: f64 = num_text.parse().unwrap_or(0.0);
            if let Some(mult) = timespan_unit(unit) {
                self.advance(end - unit_start);
                return Ok(TokenKind::TimeSpan((n * mult).round() as i64));
            }
            if unit.eq_ignore_ascii_case("l") {
                self.advance(1);
                return Ok(TokenKind::Int(n as i64));
            }
            // A name that starts with digits (rare, but Kusto allows it in some places).
            self.advance(end - unit_start);
            return Ok(TokenKind::Ident(self.text[start..end].to_string()));
        }
        if is_real {
            let v: f64 = num_text
                .parse()
                .map_err(|_| self.error(location, format!("'{num_text}'"), "a number"))?;
            Ok(TokenKind::Real(v))
        } else {
            match num_text.parse::<i64>() {
                Ok(v) => Ok(TokenKind::Int(v)),
                Err(_) => Ok(TokenKind::Real(num_text.parse().unwrap_or(f64::INFINITY))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn lexes_operators_words_and_literals() {
        assert_eq!(
            kinds("T | where a !has 'x' and b in~ (1, 2.5) // c"),
            vec![
                TokenKind::Ident("T".into()),
                TokenKind::Punct("|"),
                TokenKind::Ident("where".into()),
                TokenKind::Ident("a".into()),
                TokenKind::Ident("!has".into()),
                TokenKind::Str("x".into()),
                TokenKind::Ident("and".into()),
                TokenKind::Ident("b".into()),
                TokenKind::Ident("in~".into()),
                TokenKind::Punct("("),
                TokenKind::Int(1),
                TokenKind::Punct(","),
                TokenKind::Real(2.5),
                TokenKind::Punct(")"),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn lexes_timespans_strings_and_hyphenated_operators() {
        assert_eq!(kinds("1d")[0], TokenKind::TimeSpan(864_000_000_000));
        assert_eq!(kinds("100ms")[0], TokenKind::TimeSpan(1_000_000));
        assert_eq!(kinds("1.5h")[0], TokenKind::TimeSpan(54_000_000_000));
        assert_eq!(kinds(r#"@"C:\x""#)[0], TokenKind::Str(r"C:\x".into()));
        assert_eq!(kinds(r#"'a\'b\n'"#)[0], TokenKind::Str("a'b\n".into()));
        assert_eq!(kinds("h'secret'")[0], TokenKind::Str("secret".into()));
        assert_eq!(kinds("```a\nb```")[0], TokenKind::Str("a\nb".into()));
        assert_eq!(kinds("```é```")[0], TokenKind::Str("é".into()));
        assert_eq!(kinds("['a b']")[0], TokenKind::QuotedIdent("a b".into()));
        assert_eq!(
            kinds("project-away")[0],
            TokenKind::Ident("project-away".into())
        );
        assert_eq!(kinds("a-b")[1], TokenKind::Punct("-"));
        assert_eq!(kinds("1..5")[1], TokenKind::Punct(".."));
    }

    #[test]
    fn names_with_letters_beyond_ascii_are_one_token_and_symbols_end_them() {
        assert_eq!(
            kinds("café_1|Zürich2>=x_é<>ü!=y"),
            vec![
                TokenKind::Ident("café_1".into()),
                TokenKind::Punct("|"),
                TokenKind::Ident("Zürich2".into()),
                TokenKind::Punct(">="),
                TokenKind::Ident("x_é".into()),
                TokenKind::Punct("<>"),
                TokenKind::Ident("ü".into()),
                TokenKind::Punct("!="),
                TokenKind::Ident("y".into()),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn tokens_carry_line_and_column() {
        let toks = tokenize("T\n  | take 1").unwrap();
        assert_eq!(toks[1].location, Location { line: 2, column: 3 });
        assert_eq!(toks[1].span, Span { start: 4, end: 5 });
    }

    #[test]
    fn unterminated_string_is_a_syntax_error() {
        let err = tokenize("print 'abc").unwrap_err();
        assert!(matches!(
            err,
            KqlError::Syntax {
                location: Location { line: 1, column: 7 },
                ..
            }
        ));
    }
}
